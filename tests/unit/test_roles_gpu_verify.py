"""verify.yml of monitoring, nfd and gpu_operator: the check records they append, from fake cluster reads."""

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


def gpu_registered(gpu_nodes, state="ready", pods=(), labels=None, dashboard=True):
    return {
        "__gpu_operator_ns": {
            "resources": [
                {"metadata": {"labels": {"openshift.io/cluster-monitoring": "true"} if labels is None else labels}}
            ]
        },
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


def test_gpu_operator_flags_missing_label_and_dashboard():
    checks = records("gpu_operator", gpu_registered(["gpu-1"], labels={}, dashboard=False))
    assert checks["Namespace nvidia-gpu-operator labelled openshift.io/cluster-monitoring=true"]["status"] == "failed"
    dash = checks["DCGM dashboard ConfigMap openshift-config-managed/nvidia-dcgm-exporter-dashboard present"]
    assert dash["status"] == "failed"
    assert dash["evidence"] == "not found"
