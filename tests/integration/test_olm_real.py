"""The test bed's OLM is the real one: what it does with the generated catalogs, and how csv_wait reads it.

Real here: OLM v0.46.0 (`catalog`, `olm`), `opm serve` v1.73.0, the kube-apiserver, scheduler and controller-manager.
Simulated: only the operator pods' container runtime (they become Ready after the install latency knob).
"""

import subprocess
import sys
import time

import pytest

from tests.integration.cluster import Cluster, wait_copies_gone
from tests.integration.test_olm_engine import OLM, ROOT, ansible_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OLM_V1 = "operators.coreos.com/v1"


@pytest.fixture
def sim(request):
    return request.getfixturevalue("ocp_sim")


@pytest.fixture
def cluster(sim):
    """The shared test bed; every namespace a test creates is deleted afterwards, and the wait lasts until OLM
    removed the copies of its CSVs: an AllNamespaces install is visible in every namespace of the cluster."""
    cluster = Cluster(sim.api_client)
    yield cluster
    created = [ns for ns in CREATED if cluster.get("v1", "Namespace", ns)]
    for ns in created:
        cluster.resource("v1", "Namespace").delete(name=ns)
    CREATED.clear()
    wait_copies_gone(cluster, created)


CREATED = []


def namespace_with_group(cluster, ns, targets=None):
    cluster.create(dict(apiVersion="v1", kind="Namespace", metadata=dict(name=ns)))
    CREATED.append(ns)
    spec = {"targetNamespaces": targets} if targets is not None else {}
    cluster.create(dict(apiVersion=OLM_V1, kind="OperatorGroup", metadata=dict(name=ns, namespace=ns), spec=spec))


def subscribe(cluster, ns, package, channel, name=None):
    cluster.create(
        dict(
            apiVersion=OLM,
            kind="Subscription",
            metadata=dict(name=name or package, namespace=ns),
            spec=dict(
                channel=channel, name=package, source="redhat-operators", sourceNamespace="openshift-marketplace"
            ),
        )
    )


def wait_for(sim, subs, timeout=180):
    started = time.monotonic()
    proc = ansible_module(sim, "rhoai.gpu_infra.csv_wait", {"subscriptions": subs, "timeout": timeout})
    return proc, time.monotonic() - started


def test_status_lists_the_olm_processes(sim):
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ocp_sim", "--state-dir", str(sim.state_dir), "status"],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("olm", "catalog", "package-server", "opm-redhat-operators", "opm-certified-operators"):
        assert " {0} ".format(name) in proc.stdout, proc.stdout


def test_catalog_sources_are_ready_and_served_by_address(cluster):
    sources = {c["metadata"]["name"]: c for c in cluster.list(OLM, "CatalogSource", "openshift-marketplace")}
    assert {"redhat-operators", "certified-operators"} <= set(sources)
    for source in sources.values():
        assert source["spec"]["address"].startswith("127.0.0.1:")
        assert source["status"]["connectionState"]["lastObservedState"] == "READY", source["status"]
    # an address catalog needs no registry pod
    assert cluster.list("v1", "Pod", "openshift-marketplace") == []


def test_all_namespaces_and_own_namespace_operators_install(sim, cluster):
    namespace_with_group(cluster, "real-olm-all")
    namespace_with_group(cluster, "real-olm-own", targets=["real-olm-own"])
    subscribe(cluster, "real-olm-all", "serverless-operator", "stable-1.37")
    subscribe(cluster, "real-olm-own", "nfd", "stable")
    subs = [{"name": "serverless-operator", "namespace": "real-olm-all"}, {"name": "nfd", "namespace": "real-olm-own"}]
    proc, seconds = wait_for(sim, subs)
    print("two installs through the real OLM: {0:.1f} s".format(seconds))
    assert proc.returncode == 0, proc.stdout
    csv = cluster.get(OLM, "ClusterServiceVersion", "serverless-operator.v1.37.0", "real-olm-all")
    assert csv["status"]["phase"] == "Succeeded"
    # OLM made the Deployment, the RBAC the CSV asks for, and copied the AllNamespaces CSV into other namespaces
    assert cluster.get("apps/v1", "Deployment", "knative-openshift", "real-olm-all") is not None
    assert cluster.get("v1", "ServiceAccount", "knative-openshift", "real-olm-all") is not None
    copy = cluster.get(OLM, "ClusterServiceVersion", "serverless-operator.v1.37.0", "real-olm-own")
    assert copy["metadata"]["labels"]["olm.copiedFrom"] == "real-olm-all"
    assert copy["status"]["reason"] == "Copied"
    # OLM rewrites the Subscription's status while it finishes; currentCSV is there once the plan was made
    own = cluster.get(OLM, "Subscription", "nfd", "real-olm-own")["status"]["currentCSV"]
    assert cluster.get(OLM, "ClusterServiceVersion", own, "real-olm-own")["status"]["phase"] == "Succeeded"
    # the Operator object OLM keeps per installed package
    assert cluster.get(OLM_V1, "Operator", "nfd.real-olm-own") is not None


def test_package_dependencies_are_resolved_by_olm(sim, cluster):
    """rhcl-operator requires authorino-, limitador- and dns-operator: OLM installs all four from one Subscription."""
    namespace_with_group(cluster, "real-olm-deps")
    subscribe(cluster, "real-olm-deps", "rhcl-operator", "stable")
    proc, _ = wait_for(sim, [{"name": "rhcl-operator", "namespace": "real-olm-deps"}])
    assert proc.returncode == 0, proc.stdout
    deadline = time.monotonic() + 120
    while True:
        csvs = {
            c["metadata"]["name"].split(".v")[0]: c["status"].get("phase")
            for c in cluster.list(OLM, "ClusterServiceVersion", "real-olm-deps")
            if "olm.copiedFrom" not in c["metadata"].get("labels", {})
        }
        if all(csvs.get(p) == "Succeeded" for p in ("authorino-operator", "limitador-operator", "dns-operator")):
            break
        assert time.monotonic() < deadline, csvs
        time.sleep(1)
    subs = {s["spec"]["name"] for s in cluster.list(OLM, "Subscription", "real-olm-deps")}
    assert subs == {"rhcl-operator", "authorino-operator", "limitador-operator", "dns-operator"}


def test_two_operator_groups_fail_fast_naming_them(sim, cluster):
    """The real OLM writes nothing on the Subscription here; csv_wait must look at the OperatorGroups itself."""
    ns = "real-olm-two-groups"
    namespace_with_group(cluster, ns, targets=[ns])
    cluster.create(dict(apiVersion=OLM_V1, kind="OperatorGroup", metadata=dict(name="second", namespace=ns), spec={}))
    subscribe(cluster, ns, "nfd", "stable")
    proc, seconds = wait_for(sim, [{"name": "nfd", "namespace": ns}], timeout=300)
    print("two OperatorGroups reported after {0:.1f} s (timeout 300 s)".format(seconds))
    assert proc.returncode != 0
    assert "second" in proc.stdout and "OperatorGroup" in proc.stdout
    assert "Timed out" not in proc.stdout
    assert seconds < 150


def test_stopped_catalog_server_shows_on_its_catalog_source(sim, cluster):
    """community-operators carries no package the tests use, so stopping its server disturbs nobody."""
    name = "community-operators"
    sim.stop_catalog(name)
    try:
        deadline = time.monotonic() + 120
        while True:
            source = cluster.get(OLM, "CatalogSource", name, "openshift-marketplace")
            state = source["status"]["connectionState"]["lastObservedState"]
            if state != "READY":
                break
            assert time.monotonic() < deadline, "CatalogSource still READY 120 s after its server stopped"
            time.sleep(1)
        print("CatalogSource {0} went {1} after its server stopped".format(name, state))
    finally:
        sim.start_catalog(name)
