"""Platform roles on the OpenShift simulator: bad input is rejected before anything changes."""

from pathlib import Path

import pytest
from kubernetes import dynamic

from tests.ocp_sim.openshift.pytest_fixtures import ocp_sim, ocp_sim_factory  # noqa: F401

pytestmark = pytest.mark.integration
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
OLM_KINDS = (("operators.coreos.com/v1alpha1", "Subscription"), ("operators.coreos.com/v1", "OperatorGroup"))


def namespace_exists(sim, name):
    api = dynamic.DynamicClient(sim.api_client).resources.get(api_version="v1", kind="Namespace")
    return any(ns.metadata.name == name for ns in api.get().items)


def operator_objects(sim, namespace):
    client = dynamic.DynamicClient(sim.api_client)
    found = []
    for api_version, kind in OLM_KINDS:
        api = client.resources.get(api_version=api_version, kind=kind)
        found += [(kind, o.metadata.name) for o in api.get(namespace=namespace).items]
    return found


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"kueue_frameworks": ["BatchJob", "SparkJob"]}, ["SparkJob", "BatchJob", "LeaderWorkerSet", "JaxJob"]),
        (
            {"kueue_frameworks": ["Pod", "TrainJob"], "kueue_channel": "stable-v1.1"},
            ["TrainJob", "stable-v1.2", "stable-v1.1", "kueue_channel"],
        ),
        (
            # the 14 names every channel has, plus JaxJob: one more than the stable-v1.2 CRD's maxItems
            {
                "kueue_frameworks": [
                    *("BatchJob", "RayJob", "RayCluster", "JobSet", "MPIJob", "PaddleJob", "PyTorchJob", "TFJob"),
                    *("XGBoostJob", "AppWrapper", "Pod", "Deployment", "StatefulSet", "LeaderWorkerSet", "JaxJob"),
                ],
                "kueue_channel": "stable-v1.2",
            },
            ["at most 14", "found 15", "stable-v1.2"],
        ),
    ],
    ids=["unknown-framework", "trainjob-before-stable-v1.2", "too-long-for-stable-v1.2"],
)
def test_kueue_rejects_bad_frameworks_before_changing_anything(ocp_sim, playbook, extra, expected):  # noqa: F811
    namespace = "kueue-rejected-" + ("a" if "SparkJob" in str(extra) else "b" if "TrainJob" in str(extra) else "c")
    run = playbook(
        PLAYBOOKS / "roles_platform_kueue.yml",
        ocp_sim.kubeconfig,
        extra_vars=dict(extra, kueue_namespace=namespace),
    )
    assert run.rc != 0, run
    for text in expected:
        assert text in run.stdout + run.stderr, run
    assert not namespace_exists(ocp_sim, namespace)


def test_dns_refuses_openshifts_dns_operator_namespace(ocp_sim, playbook):  # noqa: F811
    before = operator_objects(ocp_sim, "openshift-dns-operator")
    run = playbook(
        PLAYBOOKS / "roles_platform_dns.yml",
        ocp_sim.kubeconfig,
        extra_vars={"dns_namespace": "openshift-dns-operator"},
    )
    assert run.rc != 0, run
    assert "OpenShift's own cluster DNS operator" in run.stdout, run
    assert "kuadrant-dns-operator" in run.stdout, run
    assert operator_objects(ocp_sim, "openshift-dns-operator") == before
