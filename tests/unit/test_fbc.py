"""The file-based catalogs the test bed generates from catalog.yaml, checked by the real `opm validate`."""

import base64
import json
import subprocess

import pytest

from tests.ocp_sim import upstream
from tests.ocp_sim.openshift import catalog, fbc


@pytest.fixture(scope="module")
def rendered():
    return fbc.render(catalog.load())


def bundles(blobs):
    return {b["name"]: b for b in blobs if b["schema"] == "olm.bundle"}


def objects(bundle):
    return [
        json.loads(base64.b64decode(p["value"]["data"]))
        for p in bundle["properties"]
        if p["type"] == "olm.bundle.object"
    ]


def test_bundles_carry_their_objects_and_no_image(rendered):
    for blobs in rendered.values():
        for bundle in bundles(blobs).values():
            # an image would make OLM start an unpack Job, which never completes without a container runtime
            assert "image" not in bundle
            kinds = [o["kind"] for o in objects(bundle)]
            assert kinds[0] == "ClusterServiceVersion"


def test_csv_has_install_modes_deployment_and_owned_crds(rendered):
    nfd = bundles(rendered["redhat-operators"])["nfd.4.20.0-202511041128"]
    csv, *crds = objects(nfd)
    modes = {m["type"]: m["supported"] for m in csv["spec"]["installModes"]}
    assert modes == {"OwnNamespace": True, "SingleNamespace": True, "MultiNamespace": False, "AllNamespaces": False}
    [deployment] = csv["spec"]["install"]["spec"]["deployments"]
    assert deployment["name"] == "nfd-controller-manager"
    assert deployment["spec"]["template"]["metadata"]["labels"][fbc.OPERATOR_LABEL] == "nfd"
    owned = [o["name"] for o in csv["spec"]["customresourcedefinitions"]["owned"]]
    assert [c["metadata"]["name"] for c in crds] == owned


def test_channels_chain_their_entries_with_replaces(rendered):
    channels = {
        (b["package"], b["name"]): b["entries"] for b in rendered["redhat-operators"] if b["schema"] == "olm.channel"
    }
    assert channels[("nfd", "stable")] == [
        {"name": "nfd.4.20.0-202510142335"},
        {"name": "nfd.4.20.0-202511041128", "replaces": "nfd.4.20.0-202510142335"},
    ]


def test_connectivity_link_requires_its_three_packages(rendered):
    rhcl = bundles(rendered["redhat-operators"])["rhcl-operator.v1.2.0"]
    required = {p["value"]["packageName"] for p in rhcl["properties"] if p["type"] == "olm.package.required"}
    assert required == {"authorino-operator", "limitador-operator", "dns-operator"}


def test_gpu_operator_is_in_the_certified_catalog_only(rendered):
    assert "gpu-operator-certified.v25.10.0" in bundles(rendered["certified-operators"])
    assert not any(n.startswith("gpu-operator") for n in bundles(rendered["redhat-operators"]))


def test_opm_validate_accepts_every_generated_catalog(tmp_path):
    try:
        opm = upstream.olm_bin_dir() / "opm"
    except upstream.UpstreamError as exc:
        pytest.skip("opm is not built: {0}".format(exc))
    for name, directory in fbc.write(catalog.load(), tmp_path).items():
        proc = subprocess.run([str(opm), "validate", str(directory)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, "{0}: {1}".format(name, proc.stderr)
