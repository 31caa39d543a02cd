"""What an idle test bed costs: CPU of every one of its processes while nothing happens, in % of one core.

    .venv/bin/python -m benchmarks.idle [--seconds 60] [--settle 30] [--scenario default | --bare] [--attach DIR]

Starts a fresh OpenShift simulator (tests/ocp_sim, default scenario, the pytest fixtures' knobs), waits until it has
settled (every MachineSet fully ready, every Node and Pod Ready, then --settle seconds more), and samples
utime+stime from /proc/<pid>/stat of every process recorded in its state.json (the control plane and every
registered process, whatever their names) over --seconds, each counted with all its descendants (alive ones, plus
the children it has already reaped). Prints per-process and total % of one core, and the API requests served in the
window by verb and resource (kube-apiserver's apiserver_request_total). --bare measures the control plane alone
(no OpenShift layer, no nodes): the floor set by the upstream components. With --attach the test bed already running
from DIR is measured instead (nothing is started or stopped). A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubernetes import client  # noqa: E402

from tests.ocp_sim.controlplane import ControlPlane, read_state  # noqa: E402
from tests.ocp_sim.openshift import api_client_for, bootstrap  # noqa: E402
from tests.ocp_sim.openshift.pytest_fixtures import TEST_KNOBS  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
_REQUEST = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _stat(pid):
    """(ppid, own ticks, reaped children's ticks) of a live process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is the state (field 3 of stat(5)); utime, stime, cutime, cstime are fields 14-17
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def tree_ticks(roots):
    """{root pid: CPU ticks of it and every descendant} from one pass over /proc."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st:
                stats[int(entry)] = st
    children = {}
    for pid, (ppid, _own, _reaped) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for root in roots:
        total, todo = 0, [root] if root in stats else []
        while todo:
            pid = todo.pop()
            total += stats[pid][1] + stats[pid][2]
            todo.extend(children.get(pid, ()))
        out[root] = total
    return out


def recorded_processes(state_dir):
    """{name: pid} of every live process the test bed recorded (components and registered processes alike)."""
    state = read_state(state_dir) or {}
    found = {}
    for name, info in (state.get("processes") or {}).items():
        if os.path.exists(f"/proc/{info['pid']}"):
            found[name] = info["pid"]
    return found


def requests_by_kind(api):
    """Counter of apiserver_request_total by (verb, resource)."""
    headers = {"Accept": "text/plain"}
    api.update_params_for_auth(headers, None, ["BearerToken"], "GET", "/metrics", None)
    response = api.call_api("GET", api.configuration.host + "/metrics", header_params=headers)
    response.read()
    counts = Counter()
    for m in _REQUEST.finditer(response.data.decode()):
        labels = dict(_LABEL.findall(m.group("labels")))
        resource = "/".join(x for x in (labels.get("group"), labels.get("resource"), labels.get("subresource")) if x)
        counts["{0} {1}".format(labels.get("verb", "?"), resource)] += int(float(m.group("value")))
    return counts


def _ready(obj):
    return any(c.type == "Ready" and c.status == "True" for c in (obj.status.conditions or []))


def wait_settled(api, timeout):
    """Until every MachineSet reports all replicas ready and every Node and Pod is Ready; False on timeout."""
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sets = custom.list_cluster_custom_object("machine.openshift.io", "v1beta1", "machinesets")["items"]
        except client.exceptions.ApiException:
            sets = []
        nodes = core.list_node().items
        pods = core.list_pod_for_all_namespaces().items
        if (
            nodes
            and all((ms.get("status") or {}).get("readyReplicas", 0) == ms["spec"].get("replicas", 1) for ms in sets)
            and all(_ready(n) for n in nodes)
            and all(_ready(p) or p.status.phase == "Succeeded" for p in pods)
        ):
            return True
        time.sleep(1)
    return False


def sample(state_dir, seconds):
    """{name: % of one core} over `seconds` for every process recorded in state_dir."""
    procs = recorded_processes(state_dir)
    before = tree_ticks(procs.values())
    started = time.monotonic()
    time.sleep(seconds)
    after = tree_ticks(procs.values())
    elapsed = time.monotonic() - started
    alive = recorded_processes(state_dir)
    return {
        name: (100.0 * (after.get(pid, 0) - before.get(pid, 0)) / TICKS / elapsed if alive.get(name) == pid else None)
        for name, pid in procs.items()
    }, elapsed


def report(state_dir, seconds):
    api = api_client_for(str(Path(state_dir) / "kubeconfig"))
    try:
        requests_before = requests_by_kind(api)
        usage, elapsed = sample(state_dir, seconds)
        requests = requests_by_kind(api) - requests_before
    finally:
        api.close()
    load = os.getloadavg()
    print(f"idle CPU over {elapsed:.0f} s, % of one core (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):")
    total = 0.0
    for name, pct in sorted(usage.items(), key=lambda kv: -(kv[1] or 0)):
        if pct is None:
            print(f"  {name:<26} exited during the sample")
            continue
        total += pct
        print(f"  {name:<26} {pct:6.2f}")
    print(f"  {'total':<26} {total:6.2f}")
    # one request in the window is our own /metrics read
    count = sum(requests.values())
    print(f"API requests in the window: {count} ({count / elapsed:.2f}/s); most frequent:")
    for key, n in requests.most_common(12):
        print(f"  {n:6d}  {key}")
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the sample (default 60)")
    parser.add_argument("--settle", type=float, default=30, help="seconds to wait after the cluster is ready")
    parser.add_argument("--scenario", default=None, help="scenario name or file (default: default)")
    parser.add_argument("--bare", action="store_true", help="the control plane without the OpenShift layer")
    parser.add_argument("--attach", metavar="DIR", help="measure the test bed running from state dir DIR")
    args = parser.parse_args(argv)
    if args.attach:
        report(args.attach, args.seconds)
        return 0
    with tempfile.TemporaryDirectory(prefix="ocp-sim-idle-") as workdir:
        cp = ControlPlane(Path(workdir) / "sim", die_with_parent=True)
        try:
            started = time.monotonic()
            cp.start()
            settled = True
            if not args.bare:
                bootstrap(cp, scenario=args.scenario, knobs=dict(TEST_KNOBS))
                api = api_client_for(cp.kubeconfig)
                try:
                    settled = wait_settled(api, timeout=300)
                finally:
                    api.close()
            print(
                f"test bed {'settled' if settled else 'NOT settled (timeout)'} after "
                f"{time.monotonic() - started:.0f} s; waiting {args.settle:g} s more",
                flush=True,
            )
            time.sleep(args.settle)
            report(cp.state_dir, args.seconds)
        finally:
            cp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
