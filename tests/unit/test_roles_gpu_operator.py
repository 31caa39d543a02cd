"""The gpu_operator role's ClusterPolicy and DCGM dashboard, rendered as Ansible renders them."""

import json
from pathlib import Path

import pytest
import yaml

from tests.unit import role_vars

ROLE = Path(__file__).resolve().parents[2] / "roles" / "gpu_operator"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
DASHBOARD_PANELS = {
    "GPU Temperature": {"DCGM_FI_DEV_GPU_TEMP"},
    "GPU Power Usage": {"DCGM_FI_DEV_POWER_USAGE"},
    "GPU SM Clocks": {"DCGM_FI_DEV_SM_CLOCK"},
    "GPU Utilization": {"DCGM_FI_DEV_GPU_UTIL"},
    "GPU Framebuffer Memory Used": {"DCGM_FI_DEV_FB_USED"},
    "Tensor Core Utilization": {"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"},
}
DCGM_METRICS = sorted(set().union(*DASHBOARD_PANELS.values()))


def render_policy(**overrides):
    return role_vars.plain("gpu_operator", "__gpu_operator_cluster_policy", **overrides)


def test_default_policy_uses_driver_toolkit_and_tolerates_the_gpu_taint():
    policy = render_policy()
    assert policy["apiVersion"] == "nvidia.com/v1"
    assert policy["kind"] == "ClusterPolicy"
    assert policy["metadata"] == {
        "name": "gpu-cluster-policy",
        "labels": {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "gpu_operator"},
    }
    spec = policy["spec"]
    assert spec["operator"]["use_ocp_driver_toolkit"] is True
    assert spec["operator"]["defaultRuntime"] == "crio"
    assert spec["daemonsets"]["tolerations"] == [GPU_TOLERATION]
    assert spec["dcgmExporter"]["enabled"] is True
    assert spec["dcgmExporter"]["serviceMonitor"] == {"enabled": True}
    for section in ("driver", "toolkit", "devicePlugin", "dcgm", "gfd", "migManager", "nodeStatusExporter"):
        assert spec[section]["enabled"] is True, section
    assert "validator" in spec


def test_extra_keys_and_tolerations_are_added_once_and_the_gpu_toleration_stays():
    policy = render_policy(
        gpu_operator_extra_toleration_keys=["dedicated", "nvidia.com/gpu", "dedicated"],
        gpu_operator_extra_tolerations=[
            {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoExecute"},
        ],
    )
    assert policy["spec"]["daemonsets"]["tolerations"] == [
        GPU_TOLERATION,
        {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoExecute"},
    ]


def test_an_extra_key_is_quoted_not_pasted_into_the_toleration():
    key = 'example.com/a"b, c'
    tolerations = render_policy(gpu_operator_extra_toleration_keys=[key])["spec"]["daemonsets"]["tolerations"]
    assert tolerations == [GPU_TOLERATION, {"key": key, "operator": "Exists", "effect": "NoSchedule"}]


def test_gpu_toleration_cannot_be_configured_away():
    policy = render_policy(gpu_operator_extra_toleration_keys=[], gpu_operator_extra_tolerations=[])
    assert GPU_TOLERATION in policy["spec"]["daemonsets"]["tolerations"]


def test_knobs_reach_the_policy():
    spec = render_policy(
        gpu_operator_use_driver_toolkit=False, gpu_operator_driver_enabled=False, gpu_operator_mig_strategy="mixed"
    )["spec"]
    assert spec["operator"]["use_ocp_driver_toolkit"] is False
    assert spec["driver"]["enabled"] is False
    assert spec["mig"] == {"strategy": "mixed"}


@pytest.mark.parametrize("secret", ["", "licensing-config"])
def test_licensing_uses_the_secret_not_the_deprecated_configmap(secret):
    overrides = {"gpu_operator_licensing_secret_name": secret} if secret else {}
    licensing = render_policy(**overrides)["spec"]["driver"]["licensingConfig"]
    assert licensing == {"nlsEnabled": True, "secretName": secret}


def load_dashboard():
    return json.loads((ROLE / "files" / "dcgm-dashboard.json").read_text())


def test_dashboard_has_exactly_the_six_panels_and_their_metrics():
    panels = load_dashboard()["panels"]
    found = {}
    for panel in panels:
        metrics = set()
        for target in panel["targets"]:
            metrics.update(m for m in DCGM_METRICS if m in target["expr"])
        found[panel["title"]] = metrics
    assert found == DASHBOARD_PANELS


@pytest.mark.parametrize(("title", "aggregate"), [("GPU Temperature", "avg("), ("GPU Power Usage", "sum(")])
def test_temperature_has_an_average_and_power_a_total(title, aggregate):
    panel = next(p for p in load_dashboard()["panels"] if p["title"] == title)
    assert any(t["expr"].startswith(aggregate) for t in panel["targets"])
    assert len(panel["targets"]) == 2


def test_dashboard_panels_have_unique_ids_and_ref_ids():
    panels = load_dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids)


def test_dashboard_configmap_has_the_console_labels_and_one_key():
    (task,) = yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())
    assert task["vars"]["olm_operator_operands"] == "{{ __gpu_operator_operands }}"
    variables = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert "[__gpu_operator_dashboard] if gpu_operator_dashboard | bool" in variables["__gpu_operator_operands"]
    definition = variables["__gpu_operator_dashboard"]
    assert definition["metadata"]["labels"] == {
        "console.openshift.io/dashboard": "true",
        "console.openshift.io/odc-dashboard": "true",
        "app.kubernetes.io/managed-by": "rhoai.gpu_infra",
        "rhoai.gpu-infra/component": "gpu_operator",
    }
    assert list(definition["data"]) == ["dcgm-exporter-dashboard.json"]
    assert variables["__gpu_operator_dashboard_name"] == "nvidia-dcgm-exporter-dashboard"
    assert variables["__gpu_operator_dashboard_namespace"] == "openshift-config-managed"
    assert variables["__gpu_operator_olm_operator"]["namespace_labels"] == {"openshift.io/cluster-monitoring": "true"}
