"""pytest fixtures for the local control plane.

`controlplane` (module): a started, bare ControlPlane (no OpenShift layer), stopped when the module's tests are
done. If the env var OCP_SIM_KUBECONFIG is set, the cluster behind that kubeconfig is used instead and nothing is
started or stopped. `k8s` (module): a kubernetes.client.ApiClient for it.

At most MAX_TEST_BEDS test beds run at once in one pytest process (env OCP_SIM_MAX_TEST_BEDS): on 2 cores more
of them only slow each other down. Starting one more fails the test, naming the test beds that are running. Each
pytest-xdist worker is a process of its own: `make integration` runs two.

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

MAX_TEST_BEDS = int(os.environ.get("OCP_SIM_MAX_TEST_BEDS") or 2)


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


def check_test_bed_limit(state_dir, limit=None):
    """Fail the current test when starting a test bed in `state_dir` would exceed the limit; else return."""
    limit = MAX_TEST_BEDS if limit is None else limit
    running = ControlPlane.running_here()
    if len(running) < limit:
        return
    pytest.fail(
        "not starting a test bed in {0}: {1} already run in this pytest process ({2}) and at most {3} may run at "
        "once. A session test bed and one private one (ocp_sim_factory, a module's own) are the most a test should "
        "need; end the `with ocp_sim_factory()` block (or the module) that holds the other one first.".format(
            state_dir, len(running), ", ".join(str(cp.state_dir) for cp in running), limit
        ),
        pytrace=False,
    )


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


# Module scope: a test module that wants a bare control plane should not keep one running for the rest of the session.
@pytest.fixture(scope="module")
def controlplane(tmp_path_factory):
    external = os.environ.get("OCP_SIM_KUBECONFIG")
    if external:
        state_dir = Path(external).resolve().parent
        if read_state(state_dir):
            yield ControlPlane.attach(state_dir)
        else:
            yield ExternalCluster(external)
        return
    state_dir = tmp_path_factory.mktemp("ocp_sim_bare")
    check_test_bed_limit(state_dir)
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


@pytest.fixture(scope="module")
def k8s(controlplane):
    client = k8s_config.new_client_from_config(config_file=controlplane.kubeconfig)
    try:
        yield client
    finally:
        client.close()
