"""verify.yml of monitoring, nfd, gpu_operator and olm_operator: the check records they append, from fake reads."""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLES = Path(__file__).resolve().parents[2] / "roles"
RECORD_KEYS = {"component", "check", "status", "evidence", "remedy"}


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def records(role, registered, **overrides):
    """Render the role's 'Record ...' set_fact the way Ansible would, with ``registered`` as the task results."""
    tasks = yaml.safe_load((ROLES / role / "tasks" / "verify.yml").read_text())
    task = next(t for t in tasks if t["name"].startswith("Record "))
    variables = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    role_vars = ROLES / role / "vars" / "main.yml"
    if role_vars.exists():
        variables.update(yaml.safe_load(role_vars.read_text()))
    variables.update(overrides)
    variables.update(trusted(task.get("vars", {})))
    variables.update(registered)
    variables["__gpu_infra_checks"] = [{"component": "earlier", "check": "kept", "status": "passed"}]
    expression = trust_as_template(task["ansible.builtin.set_fact"]["__gpu_infra_checks"])
    result = Templar(loader=DataLoader(), variables=variables).template(expression)
    assert result[0]["component"] == "earlier", "records must be appended, not replace earlier ones"
    for record in result[1:]:
        assert set(record) == RECORD_KEYS
        assert record["status"] in ("passed", "failed", "skipped")
        assert record["evidence"]
        assert bool(record["remedy"]) == (record["status"] == "failed"), record
    return {r["check"]: r for r in result[1:]}


def pod(name, phase="Running"):
    return {"metadata": {"name": name}, "status": {"phase": phase}}


def test_monitoring_passes_when_enabled_and_pods_run():
    checks = records(
        "monitoring",
        {
            "__monitoring_cm": {"resources": [{"data": {"config.yaml": "enableUserWorkload: true\n"}}]},
            "__monitoring_pods": {
                "resources": [pod("prometheus-user-workload-0"), pod("thanos-ruler-user-workload-0")]
            },
        },
    )
    assert [c["status"] for c in checks.values()] == ["passed", "passed"]


def test_monitoring_fails_without_configmap_or_pods():
    checks = records("monitoring", {"__monitoring_cm": {"resources": []}, "__monitoring_pods": {"resources": []}})
    assert [c["status"] for c in checks.values()] == ["failed", "failed"]
    assert "not found" in checks["User workload monitoring enabled in cluster-monitoring-config"]["evidence"]


def test_nfd_reports_each_pod_group():
    checks = records(
        "nfd",
        {
            "__nfd_crd_info": {"resources": [{}]},
            "__nfd_instance": {"resources": [{}]},
            "__nfd_pods": {
                "resources": [
                    pod("nfd-controller-manager-7d9f"),
                    pod("nfd-master-5c4b"),
                    pod("nfd-worker-a", "Pending"),
                ]
            },
        },
    )
    assert checks["NFD operator pods (nfd-controller-manager) Running"]["status"] == "passed"
    assert checks["NFD master pods (nfd-master) Running"]["status"] == "passed"
    worker = checks["NFD worker pods (nfd-worker) Running"]
    assert worker["status"] == "failed"
    assert "nfd-worker-a" in worker["evidence"]


def test_nfd_without_crd_fails_instance_check():
    checks = records("nfd", {"__nfd_crd_info": {"resources": []}, "__nfd_pods": {"resources": []}})
    assert checks["NodeFeatureDiscovery nfd-instance exists"]["status"] == "failed"
    assert checks["CRD nodefeaturediscoveries.nfd.openshift.io present"]["status"] == "failed"


def gpu_registered(gpu_nodes, state="ready", pods=(), dashboard=True):
    return {
        "__gpu_operator_crd_info": {"resources": [{}]},
        "__gpu_operator_policy": {"resources": [{"status": {"state": state}}]},
        "__gpu_operator_nodes": {
            "results": [{"resources": [{"metadata": {"name": n}} for n in gpu_nodes]}, {"resources": []}]
        },
        "__gpu_operator_pods": {"resources": [pod(p) for p in pods]},
        "__gpu_operator_dashboard_cm": {
            "resources": [
                {
                    "metadata": {"labels": {"console.openshift.io/dashboard": "true"}},
                    "data": {"dcgm-exporter-dashboard.json": "{}"},
                }
            ]
            if dashboard
            else []
        },
    }


def test_gpu_operator_without_gpu_nodes_skips_gpu_only_checks_with_a_reason():
    checks = records("gpu_operator", gpu_registered([], state="notReady", pods=["gpu-operator-abc"]))
    policy = checks["ClusterPolicy gpu-cluster-policy ready"]
    assert policy["status"] == "skipped"
    assert "no GPU nodes" in policy["evidence"]
    assert checks["GPU operator pods nvidia-driver-daemonset Running"]["status"] == "skipped"
    assert checks["GPU operator pods nvidia-dcgm-exporter Running"]["status"] == "skipped"
    assert checks["GPU operator pods gpu-operator Running"]["status"] == "passed"


@pytest.mark.parametrize(("state", "expected"), [("ready", "passed"), ("notReady", "failed")])
def test_gpu_operator_with_gpu_nodes_checks_the_policy_state(state, expected):
    pods = ["gpu-operator-abc", "nvidia-driver-daemonset-x", "nvidia-dcgm-exporter-y"]
    checks = records("gpu_operator", gpu_registered(["gpu-1"], state=state, pods=pods))
    assert checks["ClusterPolicy gpu-cluster-policy ready"]["status"] == expected
    assert checks["GPU operator pods nvidia-driver-daemonset Running"]["status"] == "passed"


def test_gpu_operator_flags_a_missing_dashboard():
    checks = records("gpu_operator", gpu_registered(["gpu-1"], dashboard=False))
    dash = checks["DCGM dashboard ConfigMap openshift-config-managed/nvidia-dcgm-exporter-dashboard present"]
    assert dash["status"] == "failed"
    assert dash["evidence"] == "not found"


def label_records(olm_operator, namespace):
    """Render olm_operator's namespace label check once per label, as its loop would."""
    tasks = yaml.safe_load((ROLES / "olm_operator" / "tasks" / "verify.yml").read_text())
    task = next(t for t in tasks if t["name"].startswith("Record the namespace label checks"))
    registered = {"resources": [namespace] if namespace is not None else []}
    result = []
    for key, value in olm_operator["namespace_labels"].items():
        variables = {"olm_operator": olm_operator, "__olm_operator_verify_namespace": registered}
        variables["item"] = {"key": key, "value": value}
        variables.update(trusted(task.get("vars", {})))
        variables["__gpu_infra_checks"] = result
        expression = trust_as_template(task["ansible.builtin.set_fact"]["__gpu_infra_checks"])
        result = Templar(loader=DataLoader(), variables=variables).template(expression)
    for record in result:
        assert set(record) == RECORD_KEYS
        assert bool(record["remedy"]) == (record["status"] == "failed"), record
    return {r["check"]: r for r in result}


MONITORED = {"openshift.io/cluster-monitoring": "true"}


@pytest.mark.parametrize(
    ("role", "namespace"),
    [
        ("gpu_operator", "nvidia-gpu-operator"),
        ("nfd", "openshift-nfd"),
        ("lws", "openshift-lws-operator"),
        ("kueue", "openshift-kueue-operator"),
    ],
)
def test_operators_with_metrics_label_their_namespace_for_cluster_monitoring(role, namespace):
    olm_operator = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())["__{0}_olm_operator".format(role)]
    assert olm_operator["namespace_labels"] == MONITORED
    op = dict(olm_operator, component=role, namespace=namespace)
    name = "Namespace {0} labelled openshift.io/cluster-monitoring=true".format(namespace)
    passed = label_records(op, {"metadata": {"labels": dict(MONITORED, other="kept")}})[name]
    assert (passed["status"], passed["evidence"]) == ("passed", "label value: true")
    failed = label_records(op, {"metadata": {"labels": {}}})[name]
    assert (failed["status"], failed["evidence"]) == ("failed", "label value: absent")
    command = "oc label namespace {0} openshift.io/cluster-monitoring=true --overwrite".format(namespace)
    assert command in failed["remedy"]
    assert label_records(op, None)[name]["evidence"] == "namespace not found"


def test_operators_without_namespace_labels_get_no_label_check():
    assert label_records({"component": "dns", "namespace": "x", "namespace_labels": {}}, {"metadata": {}}) == {}
