"""The container runtime for the operator pods OLM creates from the generated catalogs (label `sim.ocp/operator`).

No container runs on the test bed, so how long an operator takes to become ready, and whether it ever does, is what
these knobs say; everything that follows (Deployment availability and progress deadline, OLM's CSV phases and
reasons) is the real controllers' reaction. kwok's pod-ready stage skips these pods
(controlplane.write_kwok_config).

Knobs: `install_latency_seconds` / `latency.<package>`: seconds from pod creation to Ready;
`fail_csv.<package>` (any value): the container crash-loops and never becomes Ready; removing it lets it start.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from tests.ocp_sim.openshift.controllers.base import Controller
from tests.ocp_sim.openshift.fbc import OPERATOR_LABEL

DEFAULT_LATENCY = 2.0


def _now():
    return datetime.now(timezone.utc)


def _stamp(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _pod_ip(uid):
    digest = hashlib.sha256(uid.encode()).digest()
    return "10.245.{0}.{1}".format(digest[0], 1 + digest[1] % 254)


def pod_status(pod, ready, now, restarts=0):
    """The status a kubelet reports for a Running pod whose containers are (not) ready."""
    stamp = _stamp(now)
    previous = pod.get("status") or {}
    started = previous.get("startTime") or stamp
    cond = "True" if ready else "False"
    containers = []
    for container in pod["spec"]["containers"]:
        status = {"name": container["name"], "image": container["image"], "ready": ready, "restartCount": restarts}
        if ready:
            status["state"] = {"running": {"startedAt": stamp}}
        else:
            status["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off restarting failed container {0}".format(container["name"]),
                }
            }
            status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": stamp}}
        containers.append(status)
    conditions = [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
        {"type": "Initialized", "status": "True", "lastTransitionTime": started},
        {"type": "ContainersReady", "status": cond, "lastTransitionTime": stamp},
        {"type": "Ready", "status": cond, "lastTransitionTime": stamp},
    ]
    if not ready:
        for c in conditions[2:]:
            c.update(reason="ContainersNotReady", message="containers with unready status: [manager]")
    return {
        "phase": "Running",
        "conditions": conditions,
        "containerStatuses": containers,
        "hostIP": "127.0.0.1",
        "podIP": previous.get("podIP") or _pod_ip(pod["metadata"]["uid"]),
        "startTime": started,
    }


def _ready(pod):
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or []
    )


def _crashing(pod):
    return any(
        (s.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        for s in (pod.get("status") or {}).get("containerStatuses") or []
    )


class OperatorPods(Controller):
    name = "operator_pods"
    # a knob change wakes every controller (base.Controller), so Pod events and due times are all it waits for
    watches = (("v1", "Pod"),)

    def latency(self, package):
        return self.knobs.float("latency." + package, self.knobs.float("install_latency_seconds", DEFAULT_LATENCY))

    def reconcile(self):
        now = _now()
        pods = self.list("v1", "Pod", label_selector=OPERATOR_LABEL)
        for pod in pods:
            meta, spec = pod["metadata"], pod["spec"]
            if meta.get("deletionTimestamp") or not spec.get("nodeName"):
                continue
            package = meta["labels"][OPERATOR_LABEL]
            if self.knobs.get("fail_csv." + package):
                if not _crashing(pod):
                    self.log.info("%s/%s: crash-looping (knob fail_csv.%s)", meta["namespace"], meta["name"], package)
                    self.patch_status(dict(pod, apiVersion="v1", kind="Pod"), pod_status(pod, False, now, 3))
                continue
            if _ready(pod):
                continue
            due = (_parse(meta["creationTimestamp"]) - now).total_seconds() + self.latency(package)
            if due > 0:
                self.requeue_after(due)
                continue
            self.log.info("%s/%s: ready", meta["namespace"], meta["name"])
            self.patch_status(dict(pod, apiVersion="v1", kind="Pod"), pod_status(pod, True, now))


CONTROLLER = OperatorPods
