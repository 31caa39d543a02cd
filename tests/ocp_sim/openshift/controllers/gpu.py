"""Simulated NVIDIA GPU Operator (package gpu-operator-certified, v25.10) acting on ClusterPolicy.

ClusterPolicy -> DaemonSets in the operator's namespace (where Deployment `gpu-operator` runs; nvidia-gpu-operator
when it is not found), all with nodeSelector `feature.node.kubernetes.io/pci-10de.present: "true"` and tolerations
= `spec.daemonsets.tolerations` when set (it REPLACES the default), else the operator default
`[{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]`. The scheduler and kwok decide where pods run.

Driver Toolkit (`spec.operator.use_ocp_driver_toolkit: true`): the driver needs the NFD labels
`feature.node.kubernetes.io/kernel-version.full` and `.../system-os_release.OSTREE_VERSION` on its node. Without them
the real driver container falls back to `dnf install` and dies with DRIVER_TOOLKIT_FAILURE below. kwok serves no
container logs (no kubelet; the control plane does not wire kwok's debugging server), so the simulator puts that line
where `oc describe pod` shows it: the container's `lastState.terminated.message` (what
terminationMessagePolicy FallbackToLogsOnError does with the log tail), the pod's `status.message`, and a Warning
Event `BackOff` on the pod. The container waits in CrashLoopBackOff, the pod is not Ready. Once the labels appear the
failed pod is deleted (the real operator rolls the DaemonSet to the DTK image) and the new pod comes up.

A node with the pci-10de label, a healthy driver pod and a Running device-plugin pod gets `nvidia.com/gpu.present`,
`nvidia.com/gpu.count`, `nvidia.com/gpu.product` and capacity/allocatable `nvidia.com/gpu` (its hardware GPU count).

`status.state`: `ready` when every node labelled pci-10de.present has allocatable GPUs; `notReady` otherwise.
With no such node at all the real operator reports `ready` with condition Ready reason `NoGPUNodes` ("No GPU node
found, watching for new nodes to join the cluster."), and so does the simulator: `ready` alone does not prove a GPU
is usable. A second ClusterPolicy is `ignored`. Deleting the ClusterPolicy removes the GPU labels and capacity.
"""

from __future__ import annotations

import hashlib

from kubernetes import client

from ..hardware import GPU_COUNT, GPU_PRODUCT
from .operands import OperandController, ensure_object, merge_conditions, now, owner_ref, pod_running

DEFAULT_NAMESPACE = "nvidia-gpu-operator"
PCI_LABEL = "feature.node.kubernetes.io/pci-10de.present"
DTK_LABELS = (
    "feature.node.kubernetes.io/kernel-version.full",
    "feature.node.kubernetes.io/system-os_release.OSTREE_VERSION",
)
DEFAULT_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
DRIVER_TOOLKIT_FAILURE = "FATAL: failed to install elfutils-libelf-devel. RHEL entitlement may be improperly deployed."
DRIVER_CONTAINER = "nvidia-driver-ctr"
GPU_LABELS = ("nvidia.com/gpu.present", "nvidia.com/gpu.count", "nvidia.com/gpu.product")
RESOURCE = "nvidia.com/gpu"

#: (ClusterPolicy spec key, DaemonSet name, enabled when the key says nothing, extra nodeSelector)
OPERANDS = (
    ("driver", "nvidia-driver-daemonset", True, {}),
    ("toolkit", "nvidia-container-toolkit-daemonset", True, {}),
    ("devicePlugin", "nvidia-device-plugin-daemonset", True, {}),
    ("dcgm", "nvidia-dcgm", True, {}),
    ("dcgmExporter", "nvidia-dcgm-exporter", True, {}),
    ("gfd", "gpu-feature-discovery", True, {}),
    ("migManager", "nvidia-mig-manager", True, {"nvidia.com/mig.capable": "true"}),  # L4 is not MIG-capable
    ("nodeStatusExporter", "nvidia-node-status-exporter", False, {}),
    ("validator", "nvidia-operator-validator", True, {}),
)


def enabled(spec, key, default):
    value = (spec.get(key) or {}).get("enabled")
    return default if value is None else bool(value)


def tolerations(spec):
    daemonsets = spec.get("daemonsets") or {}
    return list(daemonsets["tolerations"]) if daemonsets.get("tolerations") is not None else list(DEFAULT_TOLERATIONS)


def daemonset(cp, namespace, name, node_selector, tols):
    labels = {"app": name, "app.kubernetes.io/part-of": "gpu-operator"}
    container = DRIVER_CONTAINER if name == "nvidia-driver-daemonset" else name.replace("nvidia-", "") + "-ctr"
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "ownerReferences": [owner_ref(cp)]},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": dict(node_selector),
                    "tolerations": tols,
                    "priorityClassName": "system-node-critical",
                    "containers": [
                        {
                            "name": container,
                            "image": "nvcr.io/nvidia/{0}:sim".format(name),
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                        }
                    ],
                },
            },
        },
    }


def dcgm_service(cp, namespace):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "nvidia-dcgm-exporter",
            "namespace": namespace,
            "labels": {"app": "nvidia-dcgm-exporter"},
            "ownerReferences": [owner_ref(cp)],
        },
        "spec": {
            "selector": {"app": "nvidia-dcgm-exporter"},
            "ports": [{"name": "gpu-metrics", "port": 9400, "targetPort": 9400, "protocol": "TCP"}],
        },
    }


def dcgm_service_monitor(cp, namespace):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": "nvidia-dcgm-exporter",
            "namespace": namespace,
            "labels": {"app": "nvidia-dcgm-exporter"},
            "ownerReferences": [owner_ref(cp)],
        },
        "spec": {
            "selector": {"matchLabels": {"app": "nvidia-dcgm-exporter"}},
            "endpoints": [{"port": "gpu-metrics", "path": "/metrics"}],
        },
    }


def driver_failed(pod):
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
            return True
    return False


def failed_driver_status(pod):
    """Pod status of a driver container that died installing packages and is now backing off."""
    started = (pod.get("status") or {}).get("startTime") or now()
    container = pod["spec"]["containers"][0]
    return {
        "phase": "Running",
        "message": DRIVER_TOOLKIT_FAILURE,
        "conditions": [
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {
                "type": "Ready",
                "status": "False",
                "reason": "ContainersNotReady",
                "lastTransitionTime": now(),
                "message": "containers with unready status: [{0}]".format(container["name"]),
            },
            {
                "type": "ContainersReady",
                "status": "False",
                "reason": "ContainersNotReady",
                "lastTransitionTime": now(),
                "message": "containers with unready status: [{0}]".format(container["name"]),
            },
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
        ],
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 3,
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 40s restarting failed container={0} pod={1}_{2}({3})".format(
                            container["name"],
                            pod["metadata"]["name"],
                            pod["metadata"]["namespace"],
                            pod["metadata"]["uid"],
                        ),
                    }
                },
                "lastState": {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "message": "Installing elfutils...\n" + DRIVER_TOOLKIT_FAILURE + "\n",
                        "startedAt": started,
                        "finishedAt": now(),
                    }
                },
            }
        ],
    }


class GPUOperatorController(OperandController):
    name = "gpu"
    watches = (
        ("nvidia.com/v1", "ClusterPolicy"),
        ("v1", "Pod"),
        ("v1", "Node"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "DaemonSet"),
        ("v1", "Namespace"),
    )

    def __init__(self, api_client, knobs):
        super().__init__(api_client, knobs)
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)

    def operator_namespace(self):
        deps = self.apps.list_deployment_for_all_namespaces(field_selector="metadata.name=gpu-operator").items
        return deps[0].metadata.namespace if deps else DEFAULT_NAMESPACE

    def reconcile(self):
        policies = [
            cp for cp in self.list("nvidia.com/v1", "ClusterPolicy") if not cp["metadata"].get("deletionTimestamp")
        ]
        policies.sort(key=lambda cp: (cp["metadata"].get("creationTimestamp") or "", cp["metadata"]["name"]))
        nodes = self.list("v1", "Node")
        if not policies:
            for node in nodes:
                self.set_node_gpus(node, 0, None)
            return
        cp, others = policies[0], policies[1:]
        for other in others:
            if (other.get("status") or {}).get("state") != "ignored":
                self.patch_status(other, {"state": "ignored"})
        spec = cp.get("spec") or {}
        namespace = self.operator_namespace()
        if self.get("v1", "Namespace", namespace) is None:
            self.write_state(cp, "notReady", "OperandNamespaceMissing", "namespace {0} not found".format(namespace))
            return
        self.ensure_operands(cp, spec, namespace)

        driver_on = enabled(spec, "driver", True)
        plugin_on = enabled(spec, "devicePlugin", True)
        dtk = bool((spec.get("operator") or {}).get("use_ocp_driver_toolkit"))
        by_name = {n["metadata"]["name"]: n for n in nodes}
        driver_ok, plugin_ok = set(), set()
        for pod in self.list("v1", "Pod", namespace, label_selector="app=nvidia-driver-daemonset"):
            node = by_name.get((pod.get("spec") or {}).get("nodeName"))
            if node is None or pod["metadata"].get("deletionTimestamp"):
                continue
            if self.check_driver_pod(pod, node, dtk):
                driver_ok.add(node["metadata"]["name"])
        for pod in self.list("v1", "Pod", namespace, label_selector="app=nvidia-device-plugin-daemonset"):
            if pod_running(pod):
                plugin_ok.add(pod["spec"].get("nodeName"))

        gpu_nodes = {
            n["metadata"]["name"] for n in nodes if (n["metadata"].get("labels") or {}).get(PCI_LABEL) == "true"
        }
        not_ready = []
        for node in nodes:
            name = node["metadata"]["name"]
            good = name in gpu_nodes and (name in driver_ok or not driver_on) and (name in plugin_ok or not plugin_on)
            annotations = node["metadata"].get("annotations") or {}
            count = int(annotations.get(GPU_COUNT) or 0) if good else 0
            self.set_node_gpus(node, count, annotations.get(GPU_PRODUCT) or "NVIDIA-L4")
            if name in gpu_nodes and not count:
                not_ready.append(name)
        if not gpu_nodes:
            self.write_state(
                cp, "ready", "NoGPUNodes", "No GPU node found, watching for new nodes to join the cluster."
            )
        elif not_ready:
            self.write_state(
                cp, "notReady", "OperandNotReady", "GPU operands not ready on node(s): " + ", ".join(sorted(not_ready))
            )
        else:
            self.write_state(
                cp, "ready", "Reconciled", "ClusterPolicy is ready as all resources have been successfully reconciled"
            )

    def ensure_operands(self, cp, spec, namespace):
        tols = tolerations(spec)
        for key, name, default, extra_selector in OPERANDS:
            if enabled(spec, key, default):
                selector = {PCI_LABEL: "true"}
                selector.update(extra_selector)
                ensure_object(self, daemonset(cp, namespace, name, selector, tols))
            else:
                self.delete("apps/v1", "DaemonSet", name, namespace)
        exporter = spec.get("dcgmExporter") or {}
        monitor_on = enabled(spec, "dcgmExporter", True) and bool((exporter.get("serviceMonitor") or {}).get("enabled"))
        if enabled(spec, "dcgmExporter", True):
            ensure_object(self, dcgm_service(cp, namespace))
        if monitor_on and self.has_kind("monitoring.coreos.com/v1", "ServiceMonitor"):
            ensure_object(self, dcgm_service_monitor(cp, namespace))
        elif not monitor_on:
            self.delete("monitoring.coreos.com/v1", "ServiceMonitor", "nvidia-dcgm-exporter", namespace)

    def check_driver_pod(self, pod, node, dtk):
        """True when this driver pod serves its node; fails it the DTK way when the NFD labels are missing."""
        labels = node["metadata"].get("labels") or {}
        has_dtk_labels = all(labels.get(k) for k in DTK_LABELS)
        if driver_failed(pod):
            if has_dtk_labels or not dtk:
                # the operator re-renders the DaemonSet for the node's RHCOS once NFD labels it: a fresh pod
                self.delete("v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
            return False
        if dtk and not has_dtk_labels:
            if (pod.get("status") or {}).get("podIP"):  # kwok has finished starting it; now it crashes
                self.fail_driver_pod(pod)
            return False
        return pod_running(pod)

    def fail_driver_pod(self, pod):
        meta = pod["metadata"]
        self.resource("v1", "Pod").status.patch(
            body={"status": failed_driver_status(pod)},
            name=meta["name"],
            namespace=meta["namespace"],
            content_type="application/merge-patch+json",
        )
        event_name = "{0}.{1}".format(meta["name"], hashlib.sha256(meta["uid"].encode()).hexdigest()[:12])
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=event_name, namespace=meta["namespace"]),
            involved_object=client.V1ObjectReference(
                kind="Pod",
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta["uid"],
                api_version="v1",
                field_path="spec.containers{{{0}}}".format(DRIVER_CONTAINER),
            ),
            reason="BackOff",
            type="Warning",
            message="Back-off restarting failed container {0}: {1}".format(DRIVER_CONTAINER, DRIVER_TOOLKIT_FAILURE),
            source=client.V1EventSource(component="kubelet", host=pod["spec"].get("nodeName")),
            count=3,
            first_timestamp=now(),
            last_timestamp=now(),
        )
        try:
            self.core.create_namespaced_event(meta["namespace"], event)
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise

    def set_node_gpus(self, node, count, product):
        """Labels + capacity for `count` usable GPUs; count 0 removes what the operator had put there."""
        meta = node["metadata"]
        labels = meta.get("labels") or {}
        capacity = (node.get("status") or {}).get("capacity") or {}
        if count:
            want_labels = {
                "nvidia.com/gpu.present": "true",
                "nvidia.com/gpu.count": str(count),
                "nvidia.com/gpu.product": product,
            }
            label_changes = {k: v for k, v in want_labels.items() if labels.get(k) != v}
            want_capacity = str(count)
        else:
            label_changes = {k: None for k in GPU_LABELS if k in labels}
            want_capacity = None
        nodes = self.resource("v1", "Node")
        if label_changes:
            nodes.patch(
                body={"metadata": {"labels": label_changes}},
                name=meta["name"],
                content_type="application/merge-patch+json",
            )
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        if capacity.get(RESOURCE) != want_capacity or allocatable.get(RESOURCE) != want_capacity:
            nodes.status.patch(
                body={"status": {"capacity": {RESOURCE: want_capacity}, "allocatable": {RESOURCE: want_capacity}}},
                name=meta["name"],
                content_type="application/merge-patch+json",
            )

    def write_state(self, cp, state, reason, message):
        status = cp.get("status") or {}
        ready = "True" if state == "ready" else "False"
        wanted = {
            "Ready": (ready, reason, message),
            "Error": (
                "False" if state == "ready" else "True",
                "Ready" if state == "ready" else reason,
                "" if state == "ready" else message,
            ),
        }
        conditions = merge_conditions(status.get("conditions"), wanted)
        old = {
            (c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in status.get("conditions") or []
        }
        new = {(c["type"], c["status"], c["reason"], c["message"]) for c in conditions}
        if status.get("state") == state and old == new:
            return
        self.patch_status(cp, {"state": state, "conditions": conditions, "namespace": self.operator_namespace()})


CONTROLLER = GPUOperatorController
