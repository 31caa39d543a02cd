"""One module_defaults group reaches this collection's modules and kubernetes.core's (meta/runtime.yml extend_group)."""

import socket
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def closed_port():
    """A local port nothing listens on: every connection is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_group_defaults_reach_both_collections(playbook, tmp_path, closed_port):
    host = "https://127.0.0.1:{0}".format(closed_port)
    book = tmp_path / "defaults.yml"
    book.write_text(
        """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/rhoai.gpu_infra.gpu_infra:
      host: {host}
      api_key: sha256~not-a-real-token
      validate_certs: false
  tasks:
    - name: kubernetes.core through the group
      kubernetes.core.k8s_info: {{kind: Namespace}}
      ignore_errors: true
    - name: this collection through the group
      rhoai.gpu_infra.node_label_check:
""".format(host=host)
    )
    # An empty kubeconfig path would be used instead of the group's host if the defaults did not arrive. (The run's
    # temp dir is its own, so no discovery cache an earlier server on this port left skips the refused request.)
    run = playbook(book, tmp_path / "no-kubeconfig", env={"K8S_AUTH_KUBECONFIG": ""})
    assert run.rc != 0, run
    tasks = {part.split("]", 1)[0]: part for part in run.stdout.split("TASK [")[1:]}
    # each task tried the group's host (connection refused there), not a kubeconfig
    for task in ("kubernetes.core through the group", "this collection through the group"):
        assert ":{0}".format(closed_port) in tasks[task] or "port={0}".format(closed_port) in tasks[task], run
    assert "Could not reach the Kubernetes API" in tasks["this collection through the group"], run
    assert "not-a-real-token" not in run.stdout + run.stderr


def test_every_kubernetes_module_is_in_the_group():
    root = Path(__file__).resolve().parents[2]
    group = yaml.safe_load((root / "meta" / "runtime.yml").read_text())["action_groups"]["gpu_infra"]
    members = {m for m in group if isinstance(m, str)}
    uses_k8s = {
        p.stem
        for p in (root / "plugins" / "modules").glob("*.py")
        if "kubernetes.core.k8s_auth_options" in p.read_text()
    }
    assert uses_k8s and uses_k8s == members, (uses_k8s, members)
