"""python -m tests.ocp_sim up|down|status|env   (run from the repository root)

up      start the control plane (and, unless --bare, the OpenShift layer); the last stdout
        line is the kubeconfig path
down    stop every process recorded in the state dir and remove the state dir
status  say what runs
env     print `export KUBECONFIG=...` lines for eval
restart-apiserver / stop-apiserver / start-apiserver
        fault injection on a running test bed; etcd keeps the data
stop-catalog NAME / start-catalog NAME
        fault injection: stop or start the `opm serve` behind CatalogSource NAME
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shlex
import shutil
import sys
import time
import traceback
from pathlib import Path

from .controlplane import (
    ControlPlane,
    ControlPlaneError,
    default_state_dir,
    read_state,
    running,
    stop_recorded,
)
from .openshift import olm


def _log(msg: str) -> None:
    print(f"ocp_sim: {msg}", file=sys.stderr, flush=True)


def cmd_up(args) -> int:
    state_dir = Path(args.state_dir)
    alive = running(state_dir)
    if alive and all(alive.values()):
        _log(f"already running from {state_dir}")
        print(read_state(state_dir)["kubeconfig"])
        return 0
    if alive and any(alive.values()):
        dead = [n for n, ok in alive.items() if not ok]
        _log(f"partly running (dead: {', '.join(dead)}); stopping the rest and starting anew")
        stop_recorded(state_dir)
    t0 = time.monotonic()
    cp = ControlPlane(state_dir)
    try:
        cp.start()
    except ControlPlaneError as e:
        _log(f"start failed: {e}")
        return 1
    _log(f"control plane ready in {time.monotonic() - t0:.1f}s at {cp.server} (logs: {cp.log_dir})")
    if not args.bare:
        # The OpenShift layer is optional; when its package is there, a failing import is a
        # bug to report, not a reason to quietly run bare.
        bootstrap = None
        try:
            if importlib.util.find_spec("tests.ocp_sim.openshift") is not None:
                bootstrap = getattr(importlib.import_module("tests.ocp_sim.openshift"), "bootstrap", None)
            if bootstrap is None:
                _log("no OpenShift layer (tests.ocp_sim.openshift.bootstrap); bare Kubernetes only")
            else:
                bootstrap(cp, scenario=args.scenario)
                _log(f"OpenShift layer up after {time.monotonic() - t0:.1f}s")
        except BaseException as e:
            traceback.print_exc()
            _log(f"OpenShift bootstrap failed: {e!r}; stopping everything (logs kept in {cp.state_dir})")
            cp.stop(remove=False)
            return 1
    print(cp.kubeconfig, flush=True)
    return 0


def cmd_down(args) -> int:
    state_dir = Path(args.state_dir)
    if not state_dir.exists():
        _log(f"nothing to stop ({state_dir} does not exist)")
        return 0
    stopped = stop_recorded(state_dir)
    _log(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    if not args.keep:
        shutil.rmtree(state_dir, ignore_errors=True)
        _log(f"removed {state_dir}")
    return 0


def cmd_status(args) -> int:
    state_dir = Path(args.state_dir)
    state = read_state(state_dir)
    if not state:
        print(f"not running (no state in {state_dir})")
        return 3
    alive = running(state_dir)
    procs = state.get("processes", {})
    print(f"state dir:  {state_dir}")
    print(f"server:     {state.get('server')}")
    print(f"kubeconfig: {state.get('kubeconfig')}")
    for name, info in procs.items():
        print(f"  {name:26s} pid {info['pid']:<8d} {'running' if alive.get(name) else 'DEAD'}")
    if not procs:
        print("  no processes recorded")
    return 0 if procs and all(alive.values()) else 1


def cmd_env(args) -> int:
    state = read_state(Path(args.state_dir))
    if not state:
        _log(f"not running (no state in {args.state_dir}); run: python -m tests.ocp_sim up")
        return 1
    kc = shlex.quote(state["kubeconfig"])
    print(f"export KUBECONFIG={kc}")
    print(f"export K8S_AUTH_KUBECONFIG={kc}")
    return 0


def _attached(args) -> ControlPlane:
    return ControlPlane.attach(args.state_dir)


def cmd_stop_apiserver(args) -> int:
    _attached(args).stop_apiserver()
    return 0


def cmd_start_apiserver(args) -> int:
    _attached(args).start_apiserver()
    return 0


def cmd_restart_apiserver(args) -> int:
    _attached(args).restart_apiserver()
    return 0


def cmd_stop_catalog(args) -> int:
    olm.stop_catalog(_attached(args), args.name)
    return 0


def cmd_start_catalog(args) -> int:
    print(olm.start_catalog(_attached(args), args.name))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.ocp_sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--state-dir", default=str(default_state_dir()), help="default: $OCP_SIM_STATE_DIR or <repo>/.ocp_sim"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start (idempotent); prints the kubeconfig path last")
    up.add_argument("--bare", action="store_true", help="Kubernetes only, no OpenShift layer")
    up.add_argument("--scenario", default=None, help="scenario file for the OpenShift layer")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop everything and remove the state dir")
    down.add_argument("--keep", action="store_true", help="keep the state dir (logs)")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="what runs").set_defaults(func=cmd_status)
    sub.add_parser("env", help="print export lines for eval").set_defaults(func=cmd_env)
    sub.add_parser("stop-apiserver").set_defaults(func=cmd_stop_apiserver)
    sub.add_parser("start-apiserver").set_defaults(func=cmd_start_apiserver)
    sub.add_parser("restart-apiserver").set_defaults(func=cmd_restart_apiserver)
    for name, func in (("stop-catalog", cmd_stop_catalog), ("start-catalog", cmd_start_catalog)):
        catalog_cmd = sub.add_parser(name, help="fault injection on a catalog server")
        catalog_cmd.add_argument("name", help="CatalogSource name, e.g. redhat-operators")
        catalog_cmd.set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ControlPlaneError as e:
        _log(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
