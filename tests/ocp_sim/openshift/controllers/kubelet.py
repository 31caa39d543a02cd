"""The one kubelet duty kwok's pod stages miss: report Pods Ready again once their Node is back.

When a Node misses heartbeats (easy on a loaded machine), kube-controller-manager marks its Pods `Ready=False`.
A kubelet sets them Ready again when the node recovers; kwok's `pod-ready` stage only fires for Pods without an IP,
so without this they stay unready forever and every Deployment on that node stays unavailable. Only Pods whose
containers are ready (`ContainersReady=True`) are touched: containers that are failing on purpose (e.g. the
simulated GPU driver) stay unready.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tests.ocp_sim.openshift.controllers.base import Controller


def _status(obj, ctype):
    return next(
        (c.get("status") for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), None
    )


class Kubelet(Controller):
    name = "kubelet"
    resync = 5.0
    watches = (("v1", "Node"),)

    def reconcile(self):
        ready_nodes = {n["metadata"]["name"] for n in self.list("v1", "Node") if _status(n, "Ready") == "True"}
        pods = self.resource("v1", "Pod").get(field_selector="status.phase=Running").to_dict()["items"]
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") or pod["spec"].get("nodeName") not in ready_nodes:
                continue
            if _status(pod, "Ready") == "True" or _status(pod, "ContainersReady") != "True":
                continue
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            conditions = [
                dict(c, status="True", lastTransitionTime=now) if c["type"] == "Ready" else c
                for c in pod["status"]["conditions"]
            ]
            self.patch_status(dict(pod, apiVersion="v1", kind="Pod"), {"conditions": conditions})
            self.log.info(
                "%s/%s: Ready again on %s",
                pod["metadata"]["namespace"],
                pod["metadata"]["name"],
                pod["spec"]["nodeName"],
            )


CONTROLLER = Kubelet
