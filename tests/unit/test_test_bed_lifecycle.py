"""How long test beds live and what they cost while idle, without starting one: the limit on test beds running at
once, stop() ending every process a test bed started, and when the simulated controllers reconcile."""

import os
import subprocess
import threading
import time

import pytest

from tests.ocp_sim import controlplane, pytest_plugin
from tests.ocp_sim.controlplane import ControlPlane
from tests.ocp_sim.openshift.controllers import base


@pytest.fixture
def no_running(monkeypatch):
    monkeypatch.setattr(ControlPlane, "_running_here", [])


def test_a_third_test_bed_fails_the_test_and_names_the_running_ones(no_running, tmp_path):
    first, second = ControlPlane(tmp_path / "first"), ControlPlane(tmp_path / "second")
    ControlPlane._running_here.extend([first, second])
    with pytest.raises(pytest.fail.Exception) as failed:
        pytest_plugin.check_test_bed_limit(tmp_path / "third", limit=2)
    assert str(first.state_dir) in str(failed.value) and str(second.state_dir) in str(failed.value)
    first.stop()  # the with-block of the private one ends
    assert ControlPlane.running_here() == [second]
    pytest_plugin.check_test_bed_limit(tmp_path / "third", limit=2)


def test_a_failed_start_leaves_nothing_counted(no_running, tmp_path):
    cp = ControlPlane(tmp_path / "cp", bin_dir=tmp_path / "no-binaries-here")
    with pytest.raises(OSError):
        cp.start()
    assert ControlPlane.running_here() == []


def test_stop_ends_children_that_left_the_process_group(tmp_path):
    (tmp_path / "cp").mkdir()
    cp = ControlPlane(tmp_path / "cp")
    pid_file = tmp_path / "escaped.pid"
    # a registered process whose child moves to a session of its own, out of reach of the group signal
    proc = subprocess.Popen(
        ["sh", "-c", 'setsid sleep 300 & echo $! > "$0"; wait', str(pid_file)], start_new_session=True
    )
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    escaped = int(pid_file.read_text())
    cp.register_process("helper", proc)
    cp.stop()
    assert proc.poll() is not None
    # SIGKILL is delivered asynchronously: on a loaded machine the process may take a moment to be gone
    deadline = time.monotonic() + 5
    while controlplane._pid_alive(escaped) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not controlplane._pid_alive(escaped), "a child of a registered process survived stop()"


@pytest.fixture
def isolated(monkeypatch):
    """Controllers without a cluster: no discovery, no shared watches."""
    monkeypatch.setattr(base, "DynamicClient", lambda api_client: None)
    monkeypatch.setattr(
        base, "_SHARED", type("NoWatches", (), {"join": lambda *a: None, "subscribe": lambda *a: None})()
    )


def test_an_idle_controller_reconciles_once_a_minute(isolated):
    ctrl = base.Controller(None, None)
    now = time.monotonic()
    assert ctrl._next_run(now) == pytest.approx(now + 60)
    ctrl.requeue_after(2)
    assert ctrl._next_run(now) == pytest.approx(time.monotonic() + 2, abs=0.1)


def test_poll_slows_down_as_the_last_change_recedes(isolated):
    class Polling(base.Controller):
        resync = base.Controller.poll(0.5)

    ctrl = Polling(None, None)
    now = time.monotonic()
    ctrl._changed_at = now
    assert ctrl._next_run(now) - now == pytest.approx(0.5)
    ctrl._changed_at = now - 40
    assert ctrl._next_run(now) - now == pytest.approx(10)
    ctrl._changed_at = now - 3600
    assert ctrl._next_run(now) - now == pytest.approx(60)
    assert 2 * Polling.resync == 1.0  # still a number for whoever reads it


def test_requeue_after_drives_time_based_progress_and_stop_is_prompt(isolated):
    runs = []

    class Timed(base.Controller):
        def reconcile(self):
            runs.append(time.monotonic())
            if len(runs) < 4:
                self.requeue_after(0.3)

    stop = threading.Event()
    thread = threading.Thread(target=Timed(None, None).run, args=(stop,))
    thread.start()
    time.sleep(1.6)
    assert len(runs) == 4, "three requeues, then nothing until the minute is up"
    gaps = [b - a for a, b in zip(runs, runs[1:])]
    assert all(0.3 <= g < 0.8 for g in gaps), gaps
    stopped = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - stopped < 1.0


def test_reconcile_errors_are_retried_soon(isolated):
    runs = []

    class Flaky(base.Controller):
        def reconcile(self):
            runs.append(time.monotonic())
            if len(runs) == 1:
                raise RuntimeError("apiserver restarting")

    stop = threading.Event()
    thread = threading.Thread(target=Flaky(None, None).run, args=(stop,))
    thread.start()
    time.sleep(1.6)
    stop.set()
    thread.join(5)
    assert len(runs) == 2 and runs[1] - runs[0] < 1.5


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_descendants_are_found_through_proc():
    proc = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        found = set()
        while not found and time.monotonic() < deadline:
            found = controlplane._descendants([proc.pid])
            time.sleep(0.05)
        assert len(found) == 1
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_the_ports_of_one_control_plane_are_distinct_even_when_the_kernel_reuses_a_released_port(monkeypatch):
    """A kernel may give the port it just released to the next bind(0); the components' ports must still differ."""
    bound = set()

    class ReusingSocket:
        def __init__(self, *args):
            self.port = None

        def bind(self, address):
            self.port = min(p for p in range(40000, 40100) if p not in bound)  # lowest free: a released one first
            bound.add(self.port)

        def getsockname(self):
            return ("127.0.0.1", self.port)

        def close(self):
            bound.discard(self.port)

    monkeypatch.setattr(controlplane.socket, "socket", ReusingSocket)
    assert len(set(controlplane.free_ports(6))) == 6
