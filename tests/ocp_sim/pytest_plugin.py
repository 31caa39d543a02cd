"""pytest fixtures for the local control plane.

`controlplane` (session): a started, bare ControlPlane (no OpenShift layer). If the env var
OCP_SIM_KUBECONFIG is set, the cluster behind that kubeconfig is used instead and nothing is
started or stopped. `k8s` (session): a kubernetes.client.ApiClient for it.

Enabled from tests/conftest.py with `pytest_plugins = ["tests.ocp_sim.pytest_plugin"]`.
"""

from __future__ import annotations

import atexit
import os
import signal
from pathlib import Path

import pytest
import yaml
from kubernetes import config as k8s_config

from .controlplane import BinariesMissing, ControlPlane, ControlPlaneError, read_state


class ExternalCluster:
    """A cluster someone else runs (OCP_SIM_KUBECONFIG). It cannot be restarted from here
    unless its kubeconfig sits in a simulator state dir."""

    def __init__(self, kubeconfig: str):
        self.kubeconfig = kubeconfig
        self.state_dir = Path(kubeconfig).parent
        doc = yaml.safe_load(Path(kubeconfig).read_text())
        ctx_name = doc.get("current-context")
        ctx = next((c["context"] for c in doc.get("contexts", []) if c["name"] == ctx_name), {})
        cluster = next(
            (c["cluster"] for c in doc.get("clusters", []) if c["name"] == ctx.get("cluster")),
            doc["clusters"][0]["cluster"],
        )
        self.server = cluster["server"]

    def _unsupported(self, *a, **kw):
        pytest.skip("the cluster from OCP_SIM_KUBECONFIG is not managed by this run")

    stop_apiserver = start_apiserver = restart_apiserver = register_process = _unsupported


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs the local control plane (tests/ocp_sim)")


def _install_cleanup(cp: ControlPlane):
    done = []

    def cleanup():
        if not done:
            done.append(True)
            cp.stop(remove=False)  # keep logs/state for post-mortems under pytest's tmp dir

    atexit.register(cleanup)
    previous = {}

    def on_signal(signum, frame):
        cleanup()
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not in the main thread
            pass
    return cleanup


@pytest.fixture(scope="session")
def controlplane(tmp_path_factory):
    external = os.environ.get("OCP_SIM_KUBECONFIG")
    if external:
        state_dir = Path(external).resolve().parent
        if read_state(state_dir):
            yield ControlPlane.attach(state_dir)
        else:
            yield ExternalCluster(external)
        return
    state_dir = tmp_path_factory.mktemp("ocp_sim")
    # die_with_parent: a SIGKILLed pytest still takes the control plane down with it.
    cp = ControlPlane(state_dir, die_with_parent=True)
    try:
        cp.start()
    except BinariesMissing as e:
        pytest.fail(f"{e}\nRun: bash tests/ocp_sim/build.sh", pytrace=False)
    except ControlPlaneError as e:
        pytest.fail(f"control plane did not start: {e}", pytrace=False)
    cleanup = _install_cleanup(cp)
    try:
        yield cp
    finally:
        cleanup()


@pytest.fixture(scope="session")
def k8s(controlplane):
    client = k8s_config.new_client_from_config(config_file=controlplane.kubeconfig)
    try:
        yield client
    finally:
        client.close()
