"""Authorino, Limitador and the DNS operator in both layouts, on one private test bed (results are the test bed's:
the real OLM v0.46.0 resolves RHCL's package dependencies; the operators' reconcile loops and OpenShift's service-ca
are simulated, see tests/ocp_sim/openshift/controllers/kuadrant.py).

The steps share the cluster and run in file order: Connectivity Link (the default) converges, verifies and is
idempotent; the standalone layout is refused on top of it before anything changes; Connectivity Link is torn down;
the standalone layout converges, verifies and is idempotent; Connectivity Link and an old Authorino on
tech-preview-v1 are refused on top of it; a teardown of Connectivity Link leaves it in place and says so; the
standalone layout is torn down.
"""

import json
import time

import pytest
from tests.integration.cluster import Cluster
from tests.integration.cluster import assert_refused_before_any_change as refused_before_any_change
from tests.integration.cluster import object_versions as versions_of
from tests.integration.cluster import said
from tests.ocp_sim.openshift.pytest_fixtures import private_sim

pytestmark = pytest.mark.integration

OLM = "operators.coreos.com/v1alpha1"
COMPONENTS = ["cert_manager", "authorino", "limitador", "dns"]
CL = {"gpu_infra_timeout": 600, "gpu_infra_components": COMPONENTS}
STANDALONE = dict(CL, gpu_infra_connectivity_link=False)
CONFIRM = {"gpu_infra_teardown_confirm": True}
KUADRANT_NS = "kuadrant-system"
DEPENDENCIES = {"authorino-operator", "limitador-operator", "dns-operator"}
STANDALONE_NS = {
    "authorino-operator": "openshift-authorino",
    "limitador-operator": "openshift-limitador-operator",
    "dns-operator": "kuadrant-dns-operator",
}
# every namespace either layout writes to, and cert-manager's (the same run installs it)
CONCERNED = [KUADRANT_NS, *STANDALONE_NS.values(), "cert-manager-operator"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with private_sim(tmp_path_factory.mktemp("ocp_sim_connectivity_link")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster(sim):
    return Cluster(sim.api_client)


def subscriptions(cluster, namespace=None):
    return {(s["metadata"]["namespace"], s["spec"]["name"]): s for s in cluster.list(OLM, "Subscription", namespace)}


def csv_phases(cluster, namespace):
    return {
        c["metadata"]["name"].split(".v")[0]: (c.get("status") or {}).get("phase")
        for c in cluster.list(OLM, "ClusterServiceVersion", namespace)
        if "olm.copiedFrom" not in (c["metadata"].get("labels") or {})
    }


def ready(obj):
    return {c["type"]: c["status"] for c in (obj or {}).get("status", {}).get("conditions") or []}.get("Ready")


def verify_report(playbook, sim, tmp_path, extra):
    run = playbook("verify.yml", sim.kubeconfig, extra_vars=dict(extra, gpu_infra_report_dir=str(tmp_path)))
    return run, json.loads((tmp_path / "verify-latest.json").read_text())


def assert_refused_before_any_change(playbook, sim, extra, expected):
    return refused_before_any_change(playbook, sim, extra, expected, CONCERNED)


def object_versions(sim):
    return versions_of(sim, CONCERNED)


# --- Connectivity Link (the default) ------------------------------------------------------------------------------
def test_connectivity_link_converges_through_olms_dependency_resolution(sim, cluster, playbook):
    started = time.monotonic()
    run = playbook("site.yml", sim.kubeconfig, extra_vars=CL)
    print("site.yml, Connectivity Link: {0:.0f} s (test bed)".format(time.monotonic() - started))
    assert run.rc == 0, run
    subs = subscriptions(cluster, KUADRANT_NS)
    assert {p for _, p in subs} == {"rhcl-operator"} | DEPENDENCIES
    # one Subscription made by the collection; OLM named the three it added for RHCL's dependencies itself
    assert subs[(KUADRANT_NS, "rhcl-operator")]["metadata"]["name"] == "rhcl-operator"
    assert all(subs[(KUADRANT_NS, p)]["metadata"]["name"] != p for p in DEPENDENCIES), subs
    # and labelled them as this collection's, so that a teardown interrupted after rhcl-operator still removes them
    for key, sub in subs.items():
        assert sub["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "rhoai.gpu_infra", key
    # one install for the three components: one apply of every Subscription, the Kuadrant CR applied once
    assert run.stdout.count("TASK [Apply the Namespace, OperatorGroup and Subscription of every enabled operator]") == 1
    assert run.stdout.count("TASK [rhoai.gpu_infra.connectivity_link : Apply the Kuadrant CR]") == 1, run
    for ns in STANDALONE_NS.values():
        assert cluster.get("v1", "Namespace", ns) is None, ns
    (group,) = cluster.list("operators.coreos.com/v1", "OperatorGroup", KUADRANT_NS)
    assert (group["metadata"]["name"], group["spec"].get("targetNamespaces")) == ("kuadrant", None)
    phases = csv_phases(cluster, KUADRANT_NS)
    assert all(phases.get(p) == "Succeeded" for p in {"rhcl-operator"} | DEPENDENCIES), phases

    kuadrant = cluster.get("kuadrant.io/v1beta1", "Kuadrant", "kuadrant", KUADRANT_NS)
    assert ready(kuadrant) == "True", kuadrant
    authorino = cluster.get("operator.authorino.kuadrant.io/v1beta1", "Authorino", "authorino", KUADRANT_NS)
    assert authorino["spec"]["listener"]["tls"] == {"enabled": True, "certSecretRef": {"name": "authorino-server-cert"}}
    assert ready(cluster.get("limitador.kuadrant.io/v1alpha1", "Limitador", "limitador", KUADRANT_NS)) == "True"
    service = cluster.get("v1", "Service", "authorino-authorino-authorization", KUADRANT_NS)
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.openshift.io/serving-cert-secret-name"] == "authorino-server-cert"
    secret = cluster.get("v1", "Secret", "authorino-server-cert", KUADRANT_NS)
    assert secret["type"] == "kubernetes.io/tls" and {"tls.crt", "tls.key"} <= set(secret["data"])
    summary = run.stdout[run.stdout.index("COMPONENT") :]
    for component in ("authorino", "limitador", "dns"):
        assert "{0} ".format(component) in summary and "rhcl-operator.v1.2.0" in summary, summary


def test_connectivity_link_rerun_changes_nothing(sim, playbook):
    run = playbook("site.yml", sim.kubeconfig, extra_vars=CL)
    assert run.rc == 0, run
    assert run.changed == 0, run


def test_a_kuadrant_someone_else_made_is_adopted_with_a_warning(sim, cluster, playbook):
    # spec {} is all the collection applies, so one made by someone else always holds it: adopted, never refused.
    labels = {"app.kubernetes.io/managed-by": None, "rhoai.gpu-infra/component": None}
    cluster.merge_patch("kuadrant.io/v1beta1", "Kuadrant", "kuadrant", {"metadata": {"labels": labels}}, KUADRANT_NS)
    run = playbook("site.yml", sim.kubeconfig, extra_vars=CL)
    assert run.rc == 0, run
    assert "WARNING: connectivity_link: adopted Kuadrant {0}/kuadrant, made by someone else".format(
        KUADRANT_NS
    ) in said(run.stdout), run
    kuadrant = cluster.get("kuadrant.io/v1beta1", "Kuadrant", "kuadrant", KUADRANT_NS)
    assert kuadrant["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rhoai.gpu_infra"


def test_connectivity_link_verifies_each_operator_where_the_layout_puts_it(sim, playbook, tmp_path):
    run, report = verify_report(playbook, sim, tmp_path, CL)
    assert run.rc == 0, run
    assert report["passed"], [c for c in report["checks"] if c["status"] == "failed"]
    checks = {(c["component"], c["check"]): c for c in report["checks"]}
    for component, package in (
        ("authorino", "authorino-operator"),
        ("limitador", "limitador-operator"),
        ("dns", "dns-operator"),
    ):
        assert (
            component,
            "{0} operator CSV Succeeded in kuadrant-system (Connectivity Link)".format(package),
        ) in checks
    assert ("connectivity_link", "Kuadrant kuadrant-system/kuadrant Ready") in checks
    assert ("connectivity_link", "rhcl-operator operator CSV Succeeded") in checks
    assert ("authorino", "Authorino listener TLS uses Secret authorino-server-cert") in checks
    assert ("limitador", "Limitador kuadrant-system/limitador Ready") in checks
    assert ("connectivity_link", "No other install of Authorino, Limitador or DNS in the way") in checks
    # what the three share is checked once, not once per component
    assert len([c for c in report["checks"] if c["component"] == "connectivity_link"]) == 4


def test_standalone_is_refused_while_connectivity_link_is_installed(sim, playbook):
    assert_refused_before_any_change(
        playbook,
        sim,
        STANDALONE,
        [
            "Expected the standalone layout (gpu_infra_connectivity_link: false)",
            "Subscription kuadrant-system/rhcl-operator (package rhcl-operator, channel stable)",
            "set gpu_infra_connectivity_link: true",
        ],
    )


def test_a_standalone_teardown_says_once_that_connectivity_link_stays(sim, playbook):
    extra = dict(STANDALONE, gpu_infra_components=["authorino", "limitador", "dns"], **CONFIRM)
    before = object_versions(sim)
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=extra, check=True)
    assert run.rc == 0, run
    assert object_versions(sim) == before
    output = " ".join(run.stdout.split())
    assert output.count("WARNING: left in place, because the standalone layout") == 1, run
    assert "Subscription kuadrant-system/rhcl-operator (package rhcl-operator, channel stable)" in output, run


def test_connectivity_link_teardown_removes_what_it_created(sim, cluster, playbook):
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(CL, **CONFIRM))
    assert run.rc == 0, run
    removed = " ".join(run.stdout.split()).split("Removed (objects carrying")[1].split("Removed with the operator")[0]
    assert "Kuadrant {0}/kuadrant".format(KUADRANT_NS) in removed, run
    assert cluster.get("v1", "Namespace", KUADRANT_NS) is None
    assert cluster.list(OLM, "Subscription") == []
    assert cluster.list(OLM, "ClusterServiceVersion") == []
    assert cluster.list("kuadrant.io/v1beta1", "Kuadrant") == []
    for package in {"rhcl-operator"} | DEPENDENCIES:
        operator = cluster.get("operators.coreos.com/v1", "Operator", "{0}.{1}".format(package, KUADRANT_NS))
        # OLM recreates the Operator object for as long as the CRDs (which stay) carry the package's label
        refs = (((operator or {}).get("status") or {}).get("components") or {}).get("refs") or []
        assert {r["kind"] for r in refs} <= {"CustomResourceDefinition"}, refs
    again = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(CL, **CONFIRM))
    assert again.rc == 0, again
    assert again.changed == 0, again


# --- the standalone layout ----------------------------------------------------------------------------------------
def test_standalone_converges_verifies_and_reruns_unchanged(sim, cluster, playbook, tmp_path):
    run = playbook("site.yml", sim.kubeconfig, extra_vars=STANDALONE)
    assert run.rc == 0, run
    subs = subscriptions(cluster)
    for package, ns in STANDALONE_NS.items():
        assert (ns, package) in subs, sorted(subs)
        assert csv_phases(cluster, ns).get(package) == "Succeeded"
    assert not any(p == "rhcl-operator" for _, p in subs)
    assert cluster.get("v1", "Namespace", KUADRANT_NS) is None

    again = playbook("site.yml", sim.kubeconfig, extra_vars=STANDALONE)
    assert again.rc == 0, again
    assert again.changed == 0, again

    verify, report = verify_report(playbook, sim, tmp_path, STANDALONE)
    assert verify.rc == 0, verify
    assert report["passed"], [c for c in report["checks"] if c["status"] == "failed"]
    assert ("authorino", "authorino-operator operator CSV Succeeded") in {
        (c["component"], c["check"]) for c in report["checks"]
    }
    assert not [c for c in report["checks"] if c["component"] == "connectivity_link"]


def test_connectivity_link_is_refused_while_the_standalone_layout_is_installed(sim, playbook):
    assert_refused_before_any_change(
        playbook,
        sim,
        CL,
        [
            "Expected the Connectivity Link layout (gpu_infra_connectivity_link: true)",
            "Subscription openshift-authorino/authorino-operator (package authorino-operator, channel stable): "
            "a standalone install of authorino-operator",
            "Subscription openshift-limitador-operator/limitador-operator (package limitador-operator, channel stable)",
            "Subscription kuadrant-dns-operator/dns-operator (package dns-operator, channel stable)",
            "set gpu_infra_connectivity_link: false",
        ],
    )


def test_verify_of_the_other_layout_says_which_install_is_there(sim, playbook, tmp_path):
    run, report = verify_report(playbook, sim, tmp_path, CL)
    assert run.rc != 0, run
    layout = {c["check"]: c for c in report["checks"] if c["component"] == "connectivity_link"}[
        "No other install of Authorino, Limitador or DNS in the way"
    ]
    assert layout["status"] == "failed", layout
    assert "openshift-authorino/authorino-operator" in layout["evidence"], layout
    assert "set gpu_infra_connectivity_link: false" in layout["remedy"], layout
    said = " ".join(run.stdout.split())
    assert "(no Subscription of their operator there): authorino, limitador, dns." in said, run


def test_an_authorino_on_tech_preview_is_refused(sim, cluster, playbook):
    # No OperatorGroup in the namespace: OLM leaves the Subscription alone, as it would a stuck old install.
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "old-authorino"}})
    cluster.create(
        {
            "apiVersion": OLM,
            "kind": "Subscription",
            "metadata": {"name": "authorino-operator", "namespace": "old-authorino"},
            "spec": {
                "name": "authorino-operator",
                "channel": "tech-preview-v1",
                "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace",
            },
        }
    )
    try:
        assert_refused_before_any_change(
            playbook,
            sim,
            STANDALONE,
            [
                "Subscription old-authorino/authorino-operator (package authorino-operator, channel tech-preview-v1)",
                "Authorino on channel tech-preview-v1, which blocks Red Hat Connectivity Link",
            ],
        )
    finally:
        cluster.resource("v1", "Namespace").delete(name="old-authorino")


def test_connectivity_link_teardown_leaves_the_standalone_layout_and_says_so(sim, playbook):
    extra = dict(CL, gpu_infra_components=["authorino", "limitador", "dns"], **CONFIRM)
    before = object_versions(sim)
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=extra)
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert object_versions(sim) == before
    output = " ".join(run.stdout.split())
    assert "WARNING: left in place, because the Connectivity Link layout" in output, run
    assert "Subscription openshift-authorino/authorino-operator (package authorino-operator, channel stable)" in output
    assert "run teardown.yml again with gpu_infra_connectivity_link: false" in output, run


def test_standalone_teardown_removes_what_it_created(sim, cluster, playbook):
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(STANDALONE, **CONFIRM))
    assert run.rc == 0, run
    for ns in STANDALONE_NS.values():
        assert cluster.get("v1", "Namespace", ns) is None, ns
    assert [s for s in cluster.list(OLM, "Subscription") if s["metadata"]["namespace"] != "old-authorino"] == []
    again = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(STANDALONE, **CONFIRM))
    assert again.rc == 0, again
    assert again.changed == 0, again
