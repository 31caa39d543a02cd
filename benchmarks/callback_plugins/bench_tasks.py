# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: append one JSON line per task result to the file named by $BENCH_TASKS_FILE.

Enabled only by benchmarks/converge.py (ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=bench_tasks); the default stdout callback and its recap stay as they are. One line per task
result the host reports (ok, changed, failed, skipped, unreachable), with a looped task reported once and its item
count in `items`. Lines are flushed as they are written, so the file can be read while the playbook runs.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_tasks
type: aggregate
short_description: One JSON line per task result, for benchmarks/converge.py
description:
  - Appends one JSON line per task result to the file named by the environment variable BENCH_TASKS_FILE.
requirements:
  - enabled in callbacks_enabled
"""

CSV_WAIT = "rhoai.gpu_infra.csv_wait"
INCLUDES = {p + n for p in ("", "ansible.builtin.", "ansible.legacy.") for n in ("include_role", "include_tasks")}


def _get(obj, name):
    """ansible-core 2.19 names them task/host/result; older releases only _task/_host/_result."""
    try:
        return getattr(obj, name)
    except AttributeError:
        return getattr(obj, "_" + name)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        path = os.environ.get("BENCH_TASKS_FILE")
        self._out = open(path, "a", encoding="utf-8") if path else None
        self._started = {}

    def _start(self, task):
        self._started[task._uuid] = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _write(self, status, task_result):
        if self._out is None:
            return
        task = _get(task_result, "task")
        result = _get(task_result, "result")
        # _resolved_action: the FQCN the action resolved to (None for includes); reading the public property of an
        # unresolved task makes ansible-core warn.
        action = getattr(task, "_resolved_action", None) or task.action
        role = task._role.get_name() if getattr(task, "_role", None) else ""
        started = self._started.get(task._uuid)
        line = {
            "status": status,
            "task": task.get_name(),
            "role": role,
            "action": action,
            "include": task.action in INCLUDES,
            "loop": bool(task.loop or task.loop_with),
            "items": len(result.get("results", [])) if (task.loop or task.loop_with) else 0,
            "changed": bool(result.get("changed", False)),
            "seconds": round(time.monotonic() - started, 3) if started is not None else None,
            "time": time.time(),
        }
        if action == CSV_WAIT and status == "skipped":
            line["csv_wait"] = {"skipped": True}
        elif action == CSV_WAIT:
            line["csv_wait"] = {
                "api_requests": result.get("api_requests"),
                "elapsed": result.get("elapsed"),
                "subscriptions": [
                    "{0}/{1}".format(s.get("namespace", ""), s.get("name", "")) for s in result.get("subscriptions", [])
                ],
            }
        self._out.write(json.dumps(line) + "\n")
        self._out.flush()

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        if self._out is not None:
            self._out.close()
            self._out = None
