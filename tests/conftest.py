"""Shared pytest wiring: the simulator's fixtures and a way to run this collection's playbooks."""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `import ansible_collections.rhoai.gpu_infra...` in unit tests resolves through the committed .collections symlink.
sys.path.insert(0, str(ROOT / ".collections"))

pytest_plugins = ["tests.ocp_sim.pytest_plugin", "tests.ocp_sim.openshift.pytest_fixtures"]

RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)",
    re.M,
)


@dataclass(repr=False)
class PlaybookRun:
    """What a person sees after running ansible-playbook: exit code, output, and the recap numbers."""

    rc: int
    stdout: str
    stderr: str
    recap: dict = field(default_factory=dict)

    @property
    def changed(self):
        return sum(int(r["changed"]) for r in self.recap.values())

    @property
    def failed(self):
        return sum(int(r["failed"]) for r in self.recap.values())

    def __repr__(self):
        return "rc={0}\n--- stdout (tail) ---\n{1}\n--- stderr (tail) ---\n{2}".format(
            self.rc, self.stdout[-6000:], self.stderr[-3000:]
        )


def playbook_command(playbook, kubeconfig, extra_vars=None, *, check=False, diff=False, extra_args=(), env=None):
    """The command line and environment that run a playbook of this collection against a cluster from a checkout."""
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        str(ROOT / "playbooks" / playbook) if not os.path.isabs(str(playbook)) else str(playbook),
    ]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(extra_args)
    full_env = dict(os.environ)
    full_env.update(
        {
            "K8S_AUTH_KUBECONFIG": str(kubeconfig),
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        }
    )
    # The dynamic client caches discovery in the temp dir per API URL and trusts it: a cache that an earlier test
    # cluster on the same port left would skip requests and show kinds this cluster does not serve. One per cluster.
    tmp = Path(kubeconfig).parent / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    full_env["TMPDIR"] = str(tmp)
    full_env.update(env or {})
    return cmd, full_env


def run_playbook(
    playbook, kubeconfig, extra_vars=None, *, check=False, diff=False, extra_args=(), env=None, timeout=1800
):
    """Run a playbook of this collection against a cluster, as a user would from a checkout."""
    cmd, full_env = playbook_command(
        playbook, kubeconfig, extra_vars, check=check, diff=diff, extra_args=extra_args, env=env
    )
    proc = subprocess.run(
        cmd, cwd=str(ROOT), env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    recap = {m.group("host"): m.groupdict() for m in RECAP.finditer(proc.stdout)}
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, recap)


@pytest.fixture(scope="session")
def playbook():
    """`playbook("site.yml", kubeconfig, extra_vars={...}, check=True)` -> PlaybookRun."""
    return run_playbook
