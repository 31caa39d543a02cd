"""node_label_check's main() with a fake client facade: what a playbook gets back."""

import json

import pytest
import urllib3
from ansible.module_utils.testing import patch_module_args
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import nodes as n
from ansible_collections.rhoai.gpu_infra.plugins.modules import node_label_check

from .test_nodes import GPU_TAINT, ML_TAINT, NFD_WORKER_NARROW, FakeK8s, node, ready_node, worker


def connect(fake):
    """A k8s factory that hands out ``fake``, talking to the host the module was given, as the real client does."""

    def factory(module):
        fake.host = module.params["host"]
        return fake

    return factory


def run_module(capsys, objects, **args):
    fake = FakeK8s(objects)
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        node_label_check.main(k8s_factory=connect(fake))
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


class FailingK8s(FakeK8s):
    """Lists fail with ``error``; reads of single objects (Infrastructure) succeed."""

    def __init__(self, error, objects=None):
        super().__init__(objects or {})
        self.error = error

    def list(self, *args, **kwargs):
        raise self.error


def api_exception(status, reason, message):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "message": message})
    exc.headers = {"Content-Type": "application/json"}
    return exc


@pytest.mark.parametrize(
    "error, found, remedy",
    [
        (
            api_exception(403, "Forbidden", 'nodes is forbidden: User "dev" cannot list resource "nodes"'),
            "the credentials lack permission",
            "list nodes, and list daemonsets and pods in namespaces openshift-nfd and nvidia-gpu-operator",
        ),
        (api_exception(401, "Unauthorized", "Unauthorized"), "the API server rejected the credentials", "oc login"),
        (
            urllib3.exceptions.MaxRetryError(None, "/api/v1/nodes", "Connection refused"),
            "the API server was unreachable",
            "Check that the API URL is reachable",
        ),
    ],
)
def test_api_errors_fail_with_expected_found_and_next_step_without_traceback(capsys, error, found, remedy):
    fake = FailingK8s(error)
    with patch_module_args({}), pytest.raises(SystemExit) as exit_info:
        node_label_check.main(k8s_factory=lambda module: fake)
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    msg = result["msg"]
    assert msg.startswith("Could not read the GPU nodes and the NFD and GPU operator DaemonSets: " + found)
    assert "Expected to be able to list nodes" in msg and remedy in msg
    assert "exception" not in result and "Traceback" not in msg
    if getattr(error, "status", None) == 403:
        assert 'User "dev" cannot list resource "nodes"' in msg  # the API's own words are kept
    assert "AWS" not in msg


def test_a_bug_of_ours_is_called_one(capsys):
    fake = FailingK8s(KeyError("metadata"))
    with patch_module_args({}), pytest.raises(SystemExit) as exit_info:
        node_label_check.main(k8s_factory=lambda module: fake)
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    assert "unexpected KeyError: 'metadata'" in result["msg"] and "bug in rhoai.gpu_infra" in result["msg"]
    assert "not a problem of the cluster or the credentials" in result["msg"]


def test_an_unreadable_infrastructure_only_leaves_the_cluster_name_unknown(capsys):
    class NoInfrastructure(FakeK8s):
        def get(self, api_version, kind, name, namespace=None):
            if kind == "Infrastructure":
                raise api_exception(403, "Forbidden", "infrastructures.config.openshift.io is forbidden")
            return super().get(api_version, kind, name, namespace)

    fake = NoInfrastructure({})
    with patch_module_args({"host": "https://api.x.example.com:6443"}), pytest.raises(SystemExit) as exit_info:
        node_label_check.main(k8s_factory=connect(fake))
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 0, result
    assert result["cluster"] == {"api_url": "https://api.x.example.com:6443", "infrastructure_name": None}
