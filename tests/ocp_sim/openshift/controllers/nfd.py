"""Simulated Node Feature Discovery operator (OpenShift 4.20 `nfd` package) and its operand.

NodeFeatureDiscovery CR (any namespace) -> DaemonSet `nfd-worker` and Deployment `nfd-master` in that namespace,
owned by the CR. The worker tolerates every NoSchedule taint (as on 4.18-4.20) plus `spec.operand.workerTolerations`
(appended); the real scheduler and kwok decide where its pods run. A node gets `feature.node.kubernetes.io/*` labels
only while an nfd-worker pod is Running on it, computed from the node's hardware facts (hardware.py annotations) and
the worker config (`spec.workerConfig.configData`: `core.labelSources`, `sources.pci.deviceClassWhitelist`,
`sources.pci.deviceLabelFields`, with NFD's defaults). As nfd-master does, the labels it owns are listed in the node
annotation `nfd.node.kubernetes.io/feature-labels`; only those are ever removed.
"""

from __future__ import annotations

import yaml

from ..hardware import KERNEL_VERSION, OSTREE_VERSION, PCI_VENDORS
from .operands import OperandController, ensure_object, owner_ref, pod_running, set_conditions

PREFIX = "feature.node.kubernetes.io/"
OWNED_ANNOTATION = "nfd.node.kubernetes.io/feature-labels"
WORKER_LABELS = {"app": "nfd-worker", "app.kubernetes.io/component": "worker"}
MASTER_LABELS = {"app": "nfd-master", "app.kubernetes.io/component": "master"}
DEFAULT_IMAGE = "registry.redhat.io/openshift4/ose-node-feature-discovery-rhel9:v4.20"

# NFD's built-in defaults (sources.pci) when the worker config does not set them
DEFAULT_CLASS_WHITELIST = ["03", "0b40", "12"]
DEFAULT_LABEL_FIELDS = ["class", "vendor"]
# PCI class and device id of the one device the simulator models per vendor
PCI_DEVICES = {
    "10de": {"class": "0302", "device": "27b8"},  # NVIDIA L4, 3D controller
    "1d0f": {"class": "0200", "device": "ec20"},  # Amazon ENA, Ethernet controller
    "8086": {"class": "0600", "device": "1237"},  # Intel host bridge
}


def parse_worker_config(config_data):
    """(config dict, error message or None). An unparsable config leaves NFD on its defaults and degraded."""
    if not config_data:
        return {}, None
    try:
        cfg = yaml.safe_load(config_data)
    except yaml.YAMLError as exc:
        return {}, "workerConfig.configData is not valid YAML: {0}".format(exc)
    if cfg is None:
        return {}, None
    if not isinstance(cfg, dict):
        return {}, "workerConfig.configData must be a YAML mapping"
    return cfg, None


def source_enabled(cfg, source):
    sources = ((cfg.get("core") or {}).get("labelSources")) or ["all"]
    if "-" + source in sources:
        return False
    return "all" in sources or "*" in sources or source in sources


def feature_labels(annotations, cfg):
    """The feature.node.kubernetes.io labels NFD would publish for a node with these hardware-fact annotations."""
    labels = {}
    if source_enabled(cfg, "pci"):
        pci = (cfg.get("sources") or {}).get("pci") or {}
        whitelist = [str(c) for c in pci.get("deviceClassWhitelist") or DEFAULT_CLASS_WHITELIST]
        fields = [str(f) for f in pci.get("deviceLabelFields") or DEFAULT_LABEL_FIELDS]
        for vendor in filter(None, (annotations.get(PCI_VENDORS) or "").split(",")):
            dev = PCI_DEVICES.get(vendor.strip(), {"class": "ff00", "device": "0000"})
            if not any(dev["class"].startswith(c) for c in whitelist):
                continue
            values = {"class": dev["class"], "vendor": vendor.strip(), "device": dev["device"]}
            parts = [values[f] for f in fields if f in values]
            if parts:
                labels["pci-{0}.present".format("_".join(parts))] = "true"
    kernel = annotations.get(KERNEL_VERSION)
    if kernel and source_enabled(cfg, "kernel"):
        numbers = [*kernel.split("-", 1)[0].split("."), "0", "0"]
        labels.update(
            {
                "kernel-version.full": kernel,
                "kernel-version.major": numbers[0],
                "kernel-version.minor": numbers[1],
                "kernel-version.revision": numbers[2],
            }
        )
    ostree = annotations.get(OSTREE_VERSION)
    if ostree and source_enabled(cfg, "system"):
        labels.update(
            {
                "system-os_release.ID": "rhcos",
                "system-os_release.OSTREE_VERSION": ostree,
                "system-os_release.VERSION_ID": "4.20",
                "system-os_release.VERSION_ID.major": "4",
                "system-os_release.VERSION_ID.minor": "20",
            }
        )
    return {PREFIX + k: v for k, v in labels.items()}


def label_patch(node, desired):
    """Merge-patch body moving the node from the NFD labels it has to `desired` (None when nothing changes)."""
    meta = node["metadata"]
    current = meta.get("labels") or {}
    owned = [n for n in ((meta.get("annotations") or {}).get(OWNED_ANNOTATION) or "").split(",") if n]
    changes = {k: v for k, v in desired.items() if current.get(k) != v}
    for name in owned:
        if PREFIX + name not in desired and PREFIX + name in current:
            changes[PREFIX + name] = None
    owned_value = ",".join(sorted(k[len(PREFIX) :] for k in desired))
    if not changes and owned_value == ",".join(sorted(owned)):
        return None
    annotations = {OWNED_ANNOTATION: owned_value or None}
    return {"metadata": {"labels": changes, "annotations": annotations}}


def worker_daemonset(cr):
    spec = cr.get("spec") or {}
    operand = spec.get("operand") or {}
    # 4.18+: the worker tolerates all NoSchedule taints; NoExecute needs workerTolerations (appended)
    tolerations = [{"operator": "Exists", "effect": "NoSchedule"}, *list(operand.get("workerTolerations") or [])]
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "nfd-worker",
            "namespace": cr["metadata"]["namespace"],
            "labels": dict(WORKER_LABELS),
            "ownerReferences": [owner_ref(cr)],
        },
        "spec": {
            "selector": {"matchLabels": dict(WORKER_LABELS)},
            "template": {
                "metadata": {"labels": dict(WORKER_LABELS)},
                "spec": {
                    "containers": [
                        {
                            "name": "nfd-worker",
                            "image": operand.get("image") or DEFAULT_IMAGE,
                            "command": ["nfd-worker"],
                            "args": ["-server=nfd-master:{0}".format(operand.get("servicePort") or 12000)],
                        }
                    ],
                    "tolerations": tolerations,
                },
            },
        },
    }


def master_deployment(cr):
    operand = (cr.get("spec") or {}).get("operand") or {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "nfd-master",
            "namespace": cr["metadata"]["namespace"],
            "labels": dict(MASTER_LABELS),
            "ownerReferences": [owner_ref(cr)],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(MASTER_LABELS)},
            "template": {
                "metadata": {"labels": dict(MASTER_LABELS)},
                "spec": {
                    "containers": [
                        {
                            "name": "nfd-master",
                            "image": operand.get("image") or DEFAULT_IMAGE,
                            "command": ["nfd-master"],
                        }
                    ],
                    "tolerations": [
                        {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
                    ],
                },
            },
        },
    }


class NFDController(OperandController):
    name = "nfd"
    watches = (
        ("nfd.openshift.io/v1", "NodeFeatureDiscovery"),
        ("v1", "Pod"),
        ("v1", "Node"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "Deployment"),
    )

    def reconcile(self):
        crs = self.list("nfd.openshift.io/v1", "NodeFeatureDiscovery")
        configs = {}
        for cr in crs:
            if cr["metadata"].get("deletionTimestamp"):
                continue
            ns = cr["metadata"]["namespace"]
            cfg, error = parse_worker_config(((cr.get("spec") or {}).get("workerConfig") or {}).get("configData"))
            configs[ns] = cfg
            ensure_object(self, worker_daemonset(cr))
            ensure_object(self, master_deployment(cr))
            self.report(cr, error)

        # node -> worker config of the nfd-worker pod Running there (only pods of a live CR count)
        running = {}
        for pod in self.list("v1", "Pod", label_selector="app=nfd-worker"):
            ns = pod["metadata"]["namespace"]
            node = (pod.get("spec") or {}).get("nodeName")
            if ns in configs and node and pod_running(pod):
                running[node] = configs[ns]

        nodes = self.resource("v1", "Node")
        for node in self.list("v1", "Node"):
            name = node["metadata"]["name"]
            desired = (
                feature_labels(node["metadata"].get("annotations") or {}, running[name]) if name in running else {}
            )
            patch = label_patch(node, desired)
            if patch:
                nodes.patch(body=patch, name=name, content_type="application/merge-patch+json")

    def report(self, cr, error):
        ns = cr["metadata"]["namespace"]
        ds = self.get("apps/v1", "DaemonSet", "nfd-worker", ns) or {}
        master = self.get("apps/v1", "Deployment", "nfd-master", ns) or {}
        ds_status = ds.get("status") or {}
        desired = ds_status.get("desiredNumberScheduled", 0)
        ready = ds_status.get("numberReady", 0)
        master_ready = (master.get("status") or {}).get("readyReplicas", 0) >= 1
        available = master_ready and desired > 0 and ready == desired
        progress = "nfd-worker {0}/{1} ready, nfd-master {2}".format(
            ready, desired, "ready" if master_ready else "not ready"
        )
        wanted = {
            "Available": ("True", "AsExpected", progress) if available else ("False", "Progressing", progress),
            "Progressing": ("False", "AsExpected", progress) if available else ("True", "Progressing", progress),
            "Degraded": ("True", "InvalidWorkerConfig", error) if error else ("False", "AsExpected", ""),
        }
        set_conditions(self, cr, wanted)


CONTROLLER = NFDController
