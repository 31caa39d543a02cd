"""Time site.yml against installing the same operator roles one after another, on the OpenShift simulator.

    .venv/bin/python -m benchmarks.converge [--latency 60] [--operand-latency 1] [--components cert_manager,...]
                                            [--task-log-dir DIR]

Five runs, on two fresh simulated clusters with the same per-operator install latency (knob install_latency_seconds)
and operand latency (knob operand_latency_seconds):
  serial  a generated playbook that includes each role's main.yml in turn (subscribe, wait for the CSV, configure,
          wait for the operands, component by component), the way most existing automation installs operators
          (cluster 1)
  site    playbooks/site.yml (subscribe all, one csv_wait, configure in order, then wait for the operands) (cluster 2)
  no-op   a second site.yml run on the converged cluster 2
  verify  playbooks/verify.yml on the converged cluster 2
  teardown  playbooks/teardown.yml on cluster 2 (CRDs kept)
Prints the commit and the load average first, then for each run the wall-clock time, the API requests (from the
apiserver's apiserver_request_total, which also counts the simulated controllers' own requests) and the tasks
executed, then the ratios site/serial and no-op/site, and the request rate and Subscriptions of every csv_wait.

Tasks executed are read from a small callback (benchmarks/callback_plugins/bench_tasks.py, one JSON line per task
result), not from the printed output; see TASKS_DEFINITION. csv_wait calls are found by module name
(rhoai.gpu_infra.csv_wait), wherever they are in the playbook. A script, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import run_playbook  # noqa: E402
from tests.ocp_sim.controlplane import ControlPlane  # noqa: E402
from tests.ocp_sim.openshift import api_client_for, bootstrap  # noqa: E402
from tests.ocp_sim.openshift.metrics import request_count  # noqa: E402

CALLBACK_DIR = Path(__file__).resolve().parent / "callback_plugins"
CSV_WAIT = "rhoai.gpu_infra.csv_wait"
# Actions the controller runs itself, without starting a module process on the host.
NO_MODULE = {
    "ansible.builtin." + name
    for name in ("set_fact", "assert", "debug", "fail", "meta", "include_vars", "set_stats", "add_host", "group_by")
}
TASKS_DEFINITION = (
    "Tasks executed = task results the host reported ok, changed or failed, a looped task counted once whatever its "
    "number of items (column 'loop items' sums those); include_role/include_tasks are not counted (column "
    "'includes'), skipped tasks neither (column 'skipped'). 'no module' = executed tasks the controller runs itself "
    "(set_fact, assert, debug, fail, meta, include_vars, ...), which start no module process."
)
NOOP_TARGET = 0.20

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


@dataclass
class Tasks:
    """What the bench_tasks callback recorded for one run."""

    executed: int = 0
    no_module: int = 0
    loop_items: int = 0
    includes: int = 0
    skipped: int = 0
    failed: int = 0
    csv_waits: list = field(default_factory=list)

    @classmethod
    def read(cls, path):
        tasks = cls()
        lines = path.read_text().splitlines() if path.exists() else []
        for line in lines:
            entry = json.loads(line)
            if entry["status"] == "skipped":
                tasks.skipped += 1
            elif entry["include"]:
                tasks.includes += 1
            else:
                tasks.executed += 1
                tasks.no_module += entry["action"] in NO_MODULE
                tasks.loop_items += entry["items"]
                tasks.failed += entry["status"] in ("failed", "unreachable")
            if entry.get("csv_wait"):
                tasks.csv_waits.append(dict(entry["csv_wait"], task=entry["task"], role=entry["role"]))
        return tasks


@dataclass
class Run:
    label: str
    seconds: float
    requests: int
    rc: int
    changed: int
    tasks: Tasks


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def commit():
    """Short HEAD, with +dirty when the working tree (untracked files included) differs from it."""
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain") else "")


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fresh_cluster(workdir, label, latency, operand_latency):
    cp = ControlPlane(Path(workdir) / label, die_with_parent=True)
    cp.start()
    bootstrap(cp, knobs={"install_latency_seconds": str(latency), "operand_latency_seconds": str(operand_latency)})
    return cp


def measure(label, playbook, cp, extra_vars, task_log, *, must_pass=True):
    """Run `playbook` against `cp`, recording every task result in `task_log`; return a Run."""
    env = {
        "BENCH_TASKS_FILE": str(task_log),
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(
            p for p in (str(CALLBACK_DIR), os.environ.get("ANSIBLE_CALLBACK_PLUGINS", "")) if p
        ),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join(
            p for p in ("bench_tasks", os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "")) if p
        ),
    }
    api = api_client_for(cp.kubeconfig)
    before = request_count(api)
    started = time.monotonic()
    run = run_playbook(playbook, cp.kubeconfig, extra_vars=extra_vars, env=env)
    seconds = time.monotonic() - started
    requests = request_count(api) - before
    api.close()
    if run.rc != 0:
        print(run, file=sys.stderr)
        if must_pass:
            raise SystemExit(f"{label}: the playbook failed (rc={run.rc})")
    result = Run(label, seconds, requests, run.rc, run.changed, Tasks.read(Path(task_log)))
    t = result.tasks
    print(
        f"{label:<8} {seconds:8.1f} s  {requests:7d} API requests  changed={run.changed}  rc={run.rc}"
        f"  tasks executed {t.executed} (no module {t.no_module}, loop items {t.loop_items}),"
        f" includes {t.includes}, skipped {t.skipped}  [load {load()}]",
        flush=True,
    )
    return result


def rate(requests, seconds):
    return f"{requests / seconds:.2f} requests/s" if seconds >= 0.1 else "(too short for a rate)"


def csv_wait_line(run):
    waits = [w for w in run.tasks.csv_waits if not w.get("skipped")]
    skipped = len(run.tasks.csv_waits) - len(waits)
    if not waits:
        return f"  {run.label:<7} no csv_wait ran ({skipped} skipped)"
    subs = sum(len(w["subscriptions"]) for w in waits)
    requests = sum(w["api_requests"] or 0 for w in waits)
    elapsed = sum(w["elapsed"] or 0 for w in waits)
    text = (
        f"  {run.label:<7} {len(waits)} call(s), {subs} Subscriptions waited for, {requests} requests in"
        f" {elapsed:.1f} s = {rate(requests, elapsed)}" + (f" ({skipped} more skipped)" if skipped else "")
    )
    if len(waits) <= 3:
        for w in waits:
            n, seconds = w["api_requests"] or 0, w["elapsed"] or 0
            text += (
                f"\n          task {w['task']!r}: {len(w['subscriptions'])} Subscriptions,"
                f" {n} requests in {seconds:.1f} s = {rate(n, seconds)}"
            )
    return text


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
    parser.add_argument(
        "--task-log-dir", help="keep each run's task results (one JSON line per task) here instead of a temp dir"
    )
    args = parser.parse_args(argv)
    components = [c for c in args.components.split(",") if c]
    operators = len([c for c in components if c != "monitoring"])
    head = commit()
    print(
        f"commit {head}  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  load average {load()}"
        f" ({os.cpu_count()} cores)"
    )
    print(
        f"On the OpenShift simulator: {len(components)} components ({operators} operators),"
        f" install latency {args.latency:g} s each, operand latency {args.operand_latency:g} s."
    )
    print(textwrap.fill(TASKS_DEFINITION, width=118), flush=True)
    converge_vars = {"gpu_infra_components": components, "gpu_infra_timeout": 900}
    with tempfile.TemporaryDirectory(prefix="converge-bench-") as workdir:
        logs = Path(args.task_log_dir or workdir)
        logs.mkdir(parents=True, exist_ok=True)
        for name in ("serial", "site", "no-op", "verify", "teardown"):
            (logs / f"{name}.jsonl").unlink(missing_ok=True)
        serial_play = Path(workdir) / "serial.yml"
        serial_play.write_text(SERIAL_PLAY.format(tasks="\n".join(SERIAL_TASK.format(role=r) for r in components)))
        verify_vars = {"gpu_infra_components": components, "gpu_infra_report_dir": str(Path(workdir) / "reports")}
        clusters = []
        try:
            clusters.append(fresh_cluster(workdir, "serial", args.latency, args.operand_latency))
            serial = measure("serial", serial_play, clusters[-1], converge_vars, logs / "serial.jsonl")
            clusters[-1].stop()
            clusters.append(fresh_cluster(workdir, "site", args.latency, args.operand_latency))
            site = measure("site", "site.yml", clusters[-1], converge_vars, logs / "site.jsonl")
            noop = measure("no-op", "site.yml", clusters[-1], converge_vars, logs / "no-op.jsonl")
            verify = measure("verify", "verify.yml", clusters[-1], verify_vars, logs / "verify.jsonl", must_pass=False)
            teardown_vars = dict(converge_vars, gpu_infra_teardown_confirm=True)
            teardown = measure("teardown", "teardown.yml", clusters[-1], teardown_vars, logs / "teardown.jsonl")
        finally:
            for cp in clusters:
                cp.stop()
    print()
    print("| run | wall time | tasks executed | no module | loop items | includes | skipped | API requests | changed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in (serial, site, noop, verify, teardown):
        t = r.tasks
        print(
            f"| {r.label}{'' if r.rc == 0 else f' (rc={r.rc})'} | {r.seconds:.1f} s | {t.executed} | {t.no_module}"
            f" | {t.loop_items} | {t.includes} | {t.skipped} | {r.requests} | {r.changed} |"
        )
    print()
    print(f"site/serial = {site.seconds / serial.seconds:.2f}  (issue 15: at most 0.3 at 60 s)")
    print(
        f"no-op/site  = {noop.seconds / site.seconds:.0%}  (target <= {NOOP_TARGET:.0%}): no-op re-run"
        f" {noop.seconds:.1f} s, changed={noop.changed}, against the first converge's {site.seconds:.1f} s"
    )
    print(
        f"verify.yml on the converged cluster: {verify.seconds:.1f} s, {verify.tasks.executed} tasks executed"
        f" (rc={verify.rc}); the no-op converge: {noop.seconds:.1f} s, {noop.tasks.executed} tasks executed"
    )
    print(
        f"API requests: serial {serial.requests}, site {site.requests}, no-op {noop.requests},"
        f" verify {verify.requests}, teardown {teardown.requests}"
        " (kube-apiserver's count, the simulated controllers' requests included)"
    )
    print(f"csv_wait (module {CSV_WAIT}; its own requests and time, from its result's api_requests and elapsed):")
    for r in (site, serial, noop):
        print(csv_wait_line(r))
    end = commit()
    print(f"load average at the end {load()}" + ("" if end == head else f"; HEAD moved to {end} during the run"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
