"""pytest fixtures for the simulated OpenShift cluster (a real control plane + the OpenShift layer).

`ocp_sim` (session): one simulated cluster for the whole run, default scenario, install latency 1 s; also when a
test module imports the fixture (which makes pytest see a second session fixture of that name). With
OCP_SIM_KUBECONFIG set, the simulator behind that kubeconfig (e.g. started by `python -m tests.ocp_sim up`) is used
and nothing is started or stopped.
`ocp_sim_factory`: `with ocp_sim_factory(scenario=None, knobs=None) as sim:` a private, fresh simulated cluster in
its own state dir, for tests that break things; stopped when the `with` block ends.
`start()` is also what a module-scoped fixture calls for a module's own cluster. Every start counts against the
limit of test beds running at once (tests/ocp_sim/pytest_plugin.py, MAX_TEST_BEDS).

Every object yielded has `.kubeconfig`, `.api_client`, `.state_dir`, `.cp`, `.set_knobs(dict)`, `.request_count()`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.ocp_sim.controlplane import BinariesMissing, ControlPlane, ControlPlaneError, read_state
from tests.ocp_sim.openshift import api_client_for, bootstrap, olm
from tests.ocp_sim.openshift.knobs import set_knobs
from tests.ocp_sim.openshift.metrics import request_count
from tests.ocp_sim.pytest_plugin import check_test_bed_limit

TEST_KNOBS = {"install_latency_seconds": "1"}


class OcpSim:
    """A running simulated cluster as tests see it."""

    def __init__(self, kubeconfig, cp=None):
        self.kubeconfig = str(kubeconfig)
        self.cp = cp
        self.state_dir = Path(cp.state_dir) if cp is not None else Path(kubeconfig).resolve().parent
        self.api_client = api_client_for(self.kubeconfig)

    def set_knobs(self, values):
        """Merge knobs (see tests/ocp_sim/openshift/knobs.py); a None value removes the key."""
        set_knobs(self.api_client, values)

    def request_count(self):
        return request_count(self.api_client)

    def stop_catalog(self, name):
        """Fault: stop the `opm serve` behind CatalogSource `name`."""
        olm.stop_catalog(self._control_plane(), name)

    def start_catalog(self, name):
        """Serve catalog `name` again on the address its CatalogSource points at."""
        olm.start_catalog(self._control_plane(), name)

    def _control_plane(self):
        if self.cp is None:
            raise RuntimeError("this test bed was not started by the fixtures and has no control-plane state")
        return self.cp

    def close(self):
        self.api_client.close()


def start(state_dir, scenario=None, knobs=None):
    """Start a control plane in `state_dir` and bootstrap the OpenShift layer; fails the test on error."""
    check_test_bed_limit(state_dir)
    cp = ControlPlane(state_dir, die_with_parent=True)
    try:
        cp.start()
        bootstrap(cp, scenario=scenario, knobs=dict(TEST_KNOBS, **(knobs or {})))
    except BinariesMissing as exc:
        cp.stop()
        pytest.fail("{0}\nRun: bash tests/ocp_sim/build.sh".format(exc), pytrace=False)
    except (ControlPlaneError, RuntimeError) as exc:
        cp.stop()
        pytest.fail("simulated OpenShift did not start: {0}".format(exc), pytrace=False)
    except BaseException:  # anything else (an API error, ^C): no half-started test bed may outlive the attempt
        cp.stop()
        raise
    return cp


#: the session test bed and how many `ocp_sim` fixture definitions currently hold it
_SESSION = {"sim": None, "holders": 0}


@pytest.fixture(scope="session")
def ocp_sim(tmp_path_factory):
    external = os.environ.get("OCP_SIM_KUBECONFIG")
    if external:
        state_dir = Path(external).resolve().parent
        cp = ControlPlane.attach(state_dir) if read_state(state_dir) else None
        sim = OcpSim(external, cp)
        try:
            yield sim
        finally:
            sim.close()
        return
    if _SESSION["sim"] is None:
        cp = start(tmp_path_factory.mktemp("ocp_sim"))
        _SESSION["sim"] = OcpSim(cp.kubeconfig, cp)
    _SESSION["holders"] += 1
    sim = _SESSION["sim"]
    try:
        yield sim
    finally:
        _SESSION["holders"] -= 1
        if not _SESSION["holders"]:
            _SESSION["sim"] = None
            sim.close()
            sim.cp.stop(remove=False)  # logs stay under pytest's tmp dir for post-mortems


@contextlib.contextmanager
def private_sim(state_dir, scenario=None, knobs=None):
    """A fresh test bed in `state_dir` for the `with` block; stopped at its end (logs stay for post-mortems)."""
    cp = start(state_dir, scenario=scenario, knobs=knobs)
    sim = OcpSim(cp.kubeconfig, cp)
    try:
        yield sim
    finally:
        sim.close()
        cp.stop(remove=False)


@pytest.fixture
def ocp_sim_factory(tmp_path_factory):
    def factory(scenario=None, knobs=None):
        return private_sim(tmp_path_factory.mktemp("ocp_sim_private"), scenario=scenario, knobs=knobs)

    return factory
