"""tests/ocp_sim/upstream.py: where the real OLM's CRDs and binaries are found."""

import shutil

import pytest
import yaml

from tests.ocp_sim import upstream

needs_go = pytest.mark.skipif(
    shutil.which("go") is None, reason="go is not on PATH: OLM's CRDs are read from the Go module cache"
)

OLM_CRDS = {
    "clusterserviceversions",
    "subscriptions",
    "installplans",
    "operatorgroups",
    "catalogsources",
    "operators",
    "operatorconditions",
    "olmconfigs",
}


@needs_go
def test_olm_crd_paths_hold_every_olm_crd():
    paths = upstream.olm_crd_paths()
    assert paths == sorted(paths)
    names = set()
    for path in paths:
        doc = yaml.safe_load(path.read_text())
        assert doc["kind"] == "CustomResourceDefinition", path
        assert doc["spec"]["group"] == "operators.coreos.com", path
        names.add(doc["spec"]["names"]["plural"])
    assert OLM_CRDS <= names


def test_olm_bin_dir_names_the_build_command_when_binaries_are_missing(tmp_path, monkeypatch):
    (tmp_path / "opm").write_text("")
    monkeypatch.setenv("OCP_SIM_OLM_BIN_DIR", str(tmp_path))
    with pytest.raises(upstream.UpstreamError) as exc:
        upstream.olm_bin_dir()
    assert "Run: bash tests/ocp_sim/build.sh" in str(exc.value)
    assert "olm, catalog, package-server, opm" in str(exc.value)


def test_olm_bin_dir_accepts_a_complete_dir(tmp_path, monkeypatch):
    for name in upstream.OLM_COMPONENTS:
        (tmp_path / name).write_text("")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("OCP_SIM_OLM_BIN_DIR", str(tmp_path))
    assert upstream.olm_bin_dir() == tmp_path
