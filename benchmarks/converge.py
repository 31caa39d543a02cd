"""Time site.yml against installing the same operator roles one after another, on the OpenShift simulator.

    .venv/bin/python -m benchmarks.converge [--latency 60] [--operand-latency 1] [--components cert_manager,...]

Three measurements, each on a fresh simulated cluster with the same per-operator install latency
(knob install_latency_seconds) and operand latency (knob operand_latency_seconds):
  site    playbooks/site.yml (subscribe all, one csv_wait, configure in order, then wait for the operands)
  serial  a generated playbook that includes each role's main.yml in turn (subscribe, wait for the CSV, configure,
          wait for the operands, component by component), the way most existing automation installs operators
  no-op   a second site.yml run on the converged cluster
Prints the three wall-clock times, the ratio site/serial, and the API requests each run made (from the apiserver's
apiserver_request_total, which also counts the simulated controllers' own requests). A script, not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import run_playbook  # noqa: E402
from tests.ocp_sim.controlplane import ControlPlane  # noqa: E402
from tests.ocp_sim.openshift import api_client_for, bootstrap  # noqa: E402
from tests.ocp_sim.openshift.metrics import request_count  # noqa: E402

# The ten components site.yml converges on any cluster: user workload monitoring and the nine OLM operators.
# machinesets is left out: it clones MachineSets of the AWS cluster and installs no operator.
COMPONENTS = [
    "monitoring",
    "cert_manager",
    "nfd",
    "gpu_operator",
    "serverless",
    "lws",
    "authorino",
    "limitador",
    "dns",
    "kueue",
]

SERIAL_PLAY = """---
- name: Install the operators one after another
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
{tasks}
"""
SERIAL_TASK = """    - name: Install {role}
      ansible.builtin.include_role:
        name: rhoai.gpu_infra.{role}
"""


def fresh_cluster(workdir, label, latency, operand_latency):
    cp = ControlPlane(Path(workdir) / label, die_with_parent=True)
    cp.start()
    bootstrap(cp, knobs={"install_latency_seconds": str(latency), "operand_latency_seconds": str(operand_latency)})
    return cp


def measure(label, playbook, cp, components):
    """Run `playbook` against `cp`; return (seconds, API requests, PlaybookRun)."""
    api = api_client_for(cp.kubeconfig)
    before = request_count(api)
    started = time.monotonic()
    run = run_playbook(
        playbook, cp.kubeconfig, extra_vars={"gpu_infra_components": components, "gpu_infra_timeout": 900}
    )
    seconds = time.monotonic() - started
    requests = request_count(api) - before
    api.close()
    if run.rc != 0:
        print(run, file=sys.stderr)
        raise SystemExit(f"{label}: the playbook failed (rc={run.rc})")
    print(f"{label:<7} {seconds:8.1f} s  {requests:7d} API requests  changed={run.changed}", flush=True)
    return seconds, requests, run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # On a real cluster an operator install (bundle unpack, InstallPlan, image pulls, rollout) takes a minute or more.
    parser.add_argument("--latency", type=float, default=60, help="seconds each operator install takes (default 60)")
    parser.add_argument(
        "--operand-latency",
        type=float,
        default=1,
        help="seconds KnativeServing, LeaderWorkerSetOperator and Kueue take to become ready (default 1)",
    )
    parser.add_argument("--components", default=",".join(COMPONENTS), help="comma-separated roles to install")
    args = parser.parse_args(argv)
    components = [c for c in args.components.split(",") if c]
    operators = len([c for c in components if c != "monitoring"])
    print(
        f"On the OpenShift simulator: {len(components)} components ({operators} operators),"
        f" install latency {args.latency:g} s each, operand latency {args.operand_latency:g} s."
    )
    with tempfile.TemporaryDirectory(prefix="converge-bench-") as workdir:
        serial_play = Path(workdir) / "serial.yml"
        serial_play.write_text(SERIAL_PLAY.format(tasks="\n".join(SERIAL_TASK.format(role=r) for r in components)))
        clusters = []
        try:
            clusters.append(fresh_cluster(workdir, "serial", args.latency, args.operand_latency))
            serial = measure("serial", serial_play, clusters[-1], components)
            clusters.append(fresh_cluster(workdir, "site", args.latency, args.operand_latency))
            site = measure("site", "site.yml", clusters[-1], components)
            noop = measure("no-op", "site.yml", clusters[-1], components)
        finally:
            for cp in clusters:
                cp.stop()
    print(f"site/serial = {site[0] / serial[0]:.2f}  (target <= 0.4 with ten operators)")
    print(f"API requests: serial {serial[1]}, site {site[1]}, no-op {noop[1]} (the simulated controllers' included)")
    print(f"second site run: {noop[0]:.1f} s, changed={noop[2].changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
