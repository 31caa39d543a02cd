"""The OpenShift layer on any Kubernetes cluster (e.g. kind), without the local control plane.

    python -m tests.ocp_sim.openshift bootstrap --kubeconfig K --state-dir D [--scenario S] [--knob key=value ...]
    python -m tests.ocp_sim.openshift stop --state-dir D

`bootstrap` applies the OpenShift CRDs and the scenario's objects, serves the catalogs and starts OLM and the
controllers runner in the background (pids in D/<name>.pid, logs in D/logs/<name>.log); `stop` stops them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from tests.ocp_sim.controlplane import ControlPlane
from tests.ocp_sim.openshift import bootstrap


class ExternalCluster:
    """The part of ControlPlane that bootstrap() uses, for a cluster someone else runs."""

    die_with_parent = False

    def __init__(self, kubeconfig, state_dir):
        self.kubeconfig = str(Path(kubeconfig).resolve())
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.ports = {}
        self.procs = {}

    # the processes of the OpenShift layer (opm, OLM, controllers) start as they do for a ControlPlane
    spawn = ControlPlane.spawn

    @property
    def log_dir(self):
        return self.state_dir / "logs"

    def log_path(self, name):
        return self.log_dir / "{0}.log".format(name)

    def register_process(self, name, popen):
        self.procs[name] = popen
        (self.state_dir / "{0}.pid".format(name)).write_text(str(popen.pid))

    def _save_state(self):
        """Nothing beyond the pid files to record for a cluster someone else runs."""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.ocp_sim.openshift", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("bootstrap")
    up.add_argument("--kubeconfig", required=True)
    up.add_argument("--state-dir", required=True)
    up.add_argument("--scenario")
    up.add_argument("--knob", action="append", default=[], help="key=value, repeatable")
    down = sub.add_parser("stop")
    down.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "bootstrap":
        knobs = dict(k.split("=", 1) for k in args.knob)
        seconds = bootstrap(ExternalCluster(args.kubeconfig, args.state_dir), scenario=args.scenario, knobs=knobs)
        print("ocp_sim: OpenShift layer up in {0:.1f}s".format(seconds), file=sys.stderr)
        return 0
    stopped = []
    for pid_file in sorted(Path(args.state_dir).glob("*.pid")):
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)  # each leads its own process group
            stopped.append(pid_file.stem)
        except (ProcessLookupError, ValueError):
            pass
        pid_file.unlink()
    print("ocp_sim: stopped {0}".format(", ".join(stopped) or "nothing"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
