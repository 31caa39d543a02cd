"""Failures keep their cause: every rescue block reports the message of the step that failed, and a wait whose reads
fail (an API server that is down) retries until its deadline and then says why, instead of a template error."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import playbook_command

ROOT = Path(__file__).resolve().parents[2]
TASK_FILES = sorted(
    [p for p in ROOT.glob("roles/*/tasks/*.yml")] + [p for p in ROOT.glob("playbooks/*.yml")],
    key=str,
)


def tasks_in(node):
    """Every task dict in a task file or play list, blocks and rescue/always sections included."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_in(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if isinstance(node.get(key), list):
                yield from tasks_in(node[key])


def rescues():
    for path in TASK_FILES:
        for task in tasks_in(yaml.safe_load(path.read_text()) or []):
            if "rescue" in task:
                yield path.relative_to(ROOT), task


def test_the_collection_has_rescue_blocks_to_check():
    # The waits and removals fail with their own message (ready_wait, owned_objects); rescue blocks remain around the
    # API check, a removal and the controller.
    assert len(list(rescues())) >= 3


@pytest.mark.parametrize(("path", "block"), list(rescues()), ids=lambda x: str(x) if isinstance(x, Path) else "")
def test_every_rescue_fails_with_the_message_of_the_step_that_failed(path, block):
    fails = [t for t in tasks_in(block["rescue"]) if "ansible.builtin.fail" in t]
    assert fails, "{0}: rescue of {1!r} does not fail".format(path, block.get("name"))
    for task in fails:
        msg = task["ansible.builtin.fail"]["msg"]
        assert "ansible_failed_result.msg" in msg, "{0}: {1!r} drops the cause".format(path, task["name"])


PLAYBOOK = """
- name: Run the monitoring wait against an API server that does not answer
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait for the user workload monitoring pods
      ansible.builtin.include_role:
        name: rhoai.gpu_infra.monitoring
        tasks_from: ready
      vars:
        monitoring_timeout: 2
        monitoring_poll_interval: 1
"""


def test_a_wait_against_an_unreachable_api_retries_and_reports_the_connection_error(tmp_path):
    playbook = tmp_path / "wait.yml"
    playbook.write_text(PLAYBOOK)
    # Host and token are complete on their own: no kubeconfig is read.
    cmd, env = playbook_command(
        str(playbook),
        tmp_path / "no-kubeconfig",
        env={
            # port 9 (discard) on the loopback: nothing listens, every connection is refused at once
            "K8S_AUTH_HOST": "https://127.0.0.1:9",
            "K8S_AUTH_API_KEY": "not-a-token",
            "K8S_AUTH_VERIFY_SSL": "false",
        },
    )
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout
    assert proc.returncode == 2, out + proc.stderr
    assert "Error while evaluating conditional" not in out
    # connecting was retried until the deadline (2 s), and the message keeps the cause
    assert "the API server was unreachable" in out and "Connection refused" in out, out
    assert "time(s) until the deadline" in out and "This wait changed nothing on the cluster." in out, out
