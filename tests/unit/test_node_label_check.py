"""node_label_check's main() with a fake client facade: what a playbook gets back."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import nodes as n
from ansible_collections.rhoai.gpu_infra.plugins.modules import node_label_check

from .test_nodes import GPU_TAINT, ML_TAINT, NFD_WORKER_NARROW, FakeK8s, node, ready_node, worker


def run_module(capsys, objects, **args):
    fake = FakeK8s(objects)
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        node_label_check.main(k8s_factory=lambda module: fake)
    result = json.loads(capsys.readouterr().out)
    return exit_info.value.code, result, fake


INFRA = {
    "apiVersion": "config.openshift.io/v1",
    "kind": "Infrastructure",
    "metadata": {"name": "cluster"},
    "status": {"infrastructureName": "demo-x7k2p", "apiServerURL": "https://api.demo.example.com:6443"},
}


def test_blocked_nfd_worker_returns_the_dtk_diagnosis_and_is_unhealthy(capsys):
    gpu = node("gpu-1", {n.PCI_LABEL: "true"}, taints=(GPU_TAINT, ML_TAINT))
    objects = {
        ("Node", None, n.PCI_LABEL + "=true"): [gpu],
        ("DaemonSet", "openshift-nfd", "nfd-worker"): NFD_WORKER_NARROW,
        ("Infrastructure", None, "cluster"): INFRA,
    }
    rc, result, _ = run_module(capsys, objects, _ansible_check_mode=True)
    assert rc == 0
    assert result["changed"] is False
    assert result["healthy"] is False
    assert next(f["code"] for f in result["findings"] if f["severity"] == "error") == "nfd-blocked-dtk-fallback"
    assert "nfd-blocked-dtk-fallback on gpu-1" in result["summary"]
    assert result["cluster"] == {"api_url": "https://api.demo.example.com:6443", "infrastructure_name": "demo-x7k2p"}
    assert any(c["status"] == "failed" and "elfutils" in c["evidence"] for c in result["checks"])


def test_options_reach_the_api_calls_and_healthy_nodes_pass(capsys):
    objects = {
        ("Node", None, "cluster-api/accelerator=L4"): [ready_node("gpu-1", gpus=4)],
        ("DaemonSet", "my-nfd", "nfd-worker"): NFD_WORKER_NARROW,
        ("Pod", "my-nfd", n.NFD_WORKER_SELECTOR): [worker("gpu-1")],
    }
    rc, result, fake = run_module(
        capsys,
        objects,
        node_selector="cluster-api/accelerator=L4",
        nfd_namespace="my-nfd",
        gpu_operator_namespace="my-gpu",
        host="https://api.other.example.com:6443",
    )
    assert rc == 0
    assert result["healthy"] is True
    assert result["nodes"][0]["allocatable_gpus"] == 4
    assert ("DaemonSet", "my-gpu", None) in fake.calls
    # Without an Infrastructure object the report is still labelled with the API URL the client used.
    assert result["cluster"]["api_url"] == "https://api.other.example.com:6443"
    assert result["cluster"]["infrastructure_name"] is None


def test_unknown_option_is_rejected(capsys):
    with patch_module_args({"node_selectr": "x"}), pytest.raises(SystemExit) as exit_info:
        node_label_check.main(k8s_factory=lambda module: FakeK8s({}))
    assert exit_info.value.code == 1
    assert "node_selectr" in json.loads(capsys.readouterr().out)["msg"]
