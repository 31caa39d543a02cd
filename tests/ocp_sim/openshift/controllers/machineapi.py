"""Simulated machine-api (machine-api-operator + the AWS machine controller) in openshift-machine-api.

MachineSet replicas -> Machines `<machineset>-<5 random chars>` (template labels, controller ownerReference, so that
deleting the MachineSet garbage-collects them for real). A Machine goes Provisioning -> Provisioned -> Running, one
step per `machine_latency_seconds` (knob, default 1): at Provisioned a Node joins (kwok makes it Ready) carrying the
template's `spec.metadata.labels` and `taints`, the topology/instance-type labels, capacity from the instance type and
the hardware-fact annotations of hardware.py; Running once the Node is Ready, with `status.nodeRef`. An instance type
the simulated cloud does not know fails the Machine (`phase: Failed`, errorReason/errorMessage) as AWS
RunInstances would. Scale-down deletes the newest Machines; the Node of a Machine that is gone is deleted. The
MachineSet gets the `machine.openshift.io/{GPU,vCPU,memoryMb}` annotations and its status replica counts.
"""

from __future__ import annotations

import datetime
import hashlib
import random

from .. import hardware
from .operands import OperandController, now, owner_ref

NAMESPACE = "openshift-machine-api"
MACHINE_API = "machine.openshift.io/v1beta1"
MACHINE_ANNOTATION = "machine.openshift.io/machine"
MANAGED_ANNOTATION = "sim.ocp/machine-api"
SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of apiserver generateName suffixes


def parse_time(value):
    if not value:
        return None
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def seconds_since(value):
    t = parse_time(value)
    if t is None:
        return 0.0
    return (datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()


def provider(machine):
    return ((machine.get("spec") or {}).get("providerSpec") or {}).get("value") or {}


def placement(machine):
    value = provider(machine)
    place = value.get("placement") or {}
    region = place.get("region") or "us-east-2"
    zone = place.get("availabilityZone") or region + "a"
    return region, zone


def node_name(machine, taken):
    """ip-10-0-<a>-<b>.<region>.compute.internal, stable for a machine name and unique among `taken`."""
    region, _zone = placement(machine)
    seed = int(hashlib.sha256(machine["metadata"]["name"].encode()).hexdigest(), 16)
    for i in range(1000):
        n = seed + i
        ip = "10.0.{0}.{1}".format((n >> 8) % 200 + 10, n % 250 + 2)
        name = "ip-{0}.{1}.compute.internal".format(ip.replace(".", "-"), region)
        if name not in taken:
            return name, ip
    raise RuntimeError("no free node name")


def instance_id(machine):
    return "i-0" + hashlib.sha256(machine["metadata"]["uid"].encode()).hexdigest()[:16]


def node_for(machine, name, ip):
    type_name = provider(machine).get("instanceType")
    region, zone = placement(machine)
    spec = machine.get("spec") or {}
    labels = dict(((spec.get("metadata") or {}).get("labels")) or {})
    labels.update(
        {
            "node-role.kubernetes.io/worker": "",
            "node.kubernetes.io/instance-type": type_name,
            "beta.kubernetes.io/instance-type": type_name,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": zone,
            "failure-domain.beta.kubernetes.io/region": region,
            "failure-domain.beta.kubernetes.io/zone": zone,
            "kubernetes.io/hostname": name.split(".")[0],
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            "node.openshift.io/os_id": "rhcos",
        }
    )
    annotations = dict(((spec.get("metadata") or {}).get("annotations")) or {})
    annotations.update(hardware.node_annotations(type_name))
    annotations.update(
        {
            MACHINE_ANNOTATION: "{0}/{1}".format(NAMESPACE, machine["metadata"]["name"]),
            MANAGED_ANNOTATION: "true",
            "kwok.x-k8s.io/node": "fake",
        }
    )
    capacity = hardware.node_capacity(type_name)
    info = hardware.instance_type(type_name)
    allocatable = dict(capacity)
    allocatable["cpu"] = "{0}m".format(info["vcpu"] * 1000 - 500)
    allocatable["memory"] = "{0}Ki".format(info["memory_gib"] * 1024 * 1024 - 1024 * 1024)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "providerID": "aws:///{0}/{1}".format(zone, instance_id(machine)),
            "taints": [{k: v for k, v in t.items() if k != "timeAdded"} for t in spec.get("taints") or []],
        },
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
                {"type": "InternalDNS", "address": name},
            ],
            "nodeInfo": {
                "kernelVersion": hardware.KERNEL,
                "osImage": hardware.OS_IMAGE,
                "kubeletVersion": hardware.KUBELET_VERSION,
                "containerRuntimeVersion": "cri-o://1.33.5",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kubeProxyVersion": "",
            },
        },
    }


def node_ready(node):
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in ((selector or {}).get("matchLabels") or {}).items())


class MachineAPIController(OperandController):
    name = "machineapi"
    watches = (
        (MACHINE_API, "MachineSet"),
        (MACHINE_API, "Machine"),
        ("v1", "Node"),
    )
    resync = OperandController.poll(0.5)

    def latency(self):
        return self.knobs.float("machine_latency_seconds", 1.0)

    def reconcile(self):
        if not self.has_kind(MACHINE_API, "Machine"):
            return
        machinesets = self.list(MACHINE_API, "MachineSet", NAMESPACE)
        machines = self.list(MACHINE_API, "Machine", NAMESPACE)
        for ms in machinesets:
            if not ms["metadata"].get("deletionTimestamp"):
                machines = self.scale(ms, machines)
        nodes = {n["metadata"]["name"]: n for n in self.list("v1", "Node")}
        for machine in machines:
            if not machine["metadata"].get("deletionTimestamp"):
                self.step(machine, nodes)
        self.delete_orphan_nodes(machines, nodes)
        machines = self.list(MACHINE_API, "Machine", NAMESPACE)
        for ms in machinesets:
            self.report(ms, machines, nodes)

    def scale(self, ms, machines):
        uid = ms["metadata"]["uid"]
        owned = [
            m
            for m in machines
            if any(o.get("uid") == uid for o in m["metadata"].get("ownerReferences") or [])
            and not m["metadata"].get("deletionTimestamp")
        ]
        want = (ms.get("spec") or {}).get("replicas", 1)
        template = (ms.get("spec") or {}).get("template") or {}
        for _ in range(want - len(owned)):
            suffix = "".join(random.choice(SUFFIX_CHARS) for _ in range(5))
            meta = template.get("metadata") or {}
            machine = {
                "apiVersion": MACHINE_API,
                "kind": "Machine",
                "metadata": {
                    "name": "{0}-{1}".format(ms["metadata"]["name"], suffix),
                    "namespace": NAMESPACE,
                    "labels": dict(meta.get("labels") or {}),
                    "annotations": dict(meta.get("annotations") or {}),
                    "ownerReferences": [owner_ref(ms)],
                },
                "spec": template.get("spec") or {},
            }
            created = self.resource(MACHINE_API, "Machine").create(body=machine, namespace=NAMESPACE).to_dict()
            machines = [*machines, created]
        if len(owned) > want:
            newest = sorted(
                owned, key=lambda m: (m["metadata"].get("creationTimestamp") or "", m["metadata"]["name"]), reverse=True
            )
            for m in newest[: len(owned) - want]:
                self.delete(MACHINE_API, "Machine", m["metadata"]["name"], NAMESPACE)
        return machines

    def step(self, machine, nodes):
        status = machine.get("status") or {}
        phase = status.get("phase")
        type_name = provider(machine).get("instanceType")
        if phase in ("Failed", "Running"):
            return
        if not phase:
            if hardware.instance_type(type_name) is None:
                self.patch_status(
                    machine,
                    {
                        "phase": "Failed",
                        "errorReason": "InvalidConfiguration",
                        "errorMessage": "error launching instance: InvalidParameterValue: "
                        "Invalid value '{0}' for InstanceType.".format(type_name),
                        "lastUpdated": now(),
                        "providerStatus": {"instanceState": "unknown"},
                    },
                )
                return
            self.patch_status(
                machine,
                {
                    "phase": "Provisioning",
                    "lastUpdated": now(),
                    "providerStatus": {"instanceState": "pending", "instanceId": instance_id(machine)},
                },
            )
            return
        if seconds_since(status.get("lastUpdated")) < self.latency():
            return
        if phase == "Provisioning":
            name, ip = node_name(machine, set(nodes))
            node = node_for(machine, name, ip)
            if name not in nodes:
                self.resource("v1", "Node").create(body=node)
            self.resource(MACHINE_API, "Machine").patch(
                body={"metadata": {"annotations": {"machine.openshift.io/instance-state": "running"}}},
                name=machine["metadata"]["name"],
                namespace=NAMESPACE,
                content_type="application/merge-patch+json",
            )
            self.patch_status(
                machine,
                {
                    "phase": "Provisioned",
                    "lastUpdated": now(),
                    "addresses": node["status"]["addresses"],
                    "providerStatus": {"instanceState": "running", "instanceId": instance_id(machine)},
                    "nodeRef": {"kind": "Node", "name": name},
                },
            )
            return
        node = nodes.get((status.get("nodeRef") or {}).get("name"))
        if phase == "Provisioned" and node is not None and node_ready(node):
            self.patch_status(
                machine,
                {
                    "phase": "Running",
                    "lastUpdated": now(),
                    "nodeRef": {"kind": "Node", "name": node["metadata"]["name"], "uid": node["metadata"]["uid"]},
                },
            )

    def delete_orphan_nodes(self, machines, nodes):
        alive = {"{0}/{1}".format(NAMESPACE, m["metadata"]["name"]) for m in machines}
        for name, node in nodes.items():
            ann = node["metadata"].get("annotations") or {}
            ref = ann.get(MACHINE_ANNOTATION)
            if not ref or ref in alive:
                continue
            # a node someone else registered before its Machine exists gets a grace period
            if ann.get(MANAGED_ANNOTATION) == "true" or seconds_since(node["metadata"].get("creationTimestamp")) > 30:
                self.delete("v1", "Node", name)

    def report(self, ms, machines, nodes):
        uid = ms["metadata"]["uid"]
        owned = [m for m in machines if any(o.get("uid") == uid for o in m["metadata"].get("ownerReferences") or [])]
        ready = [
            m
            for m in owned
            if (m.get("status") or {}).get("phase") == "Running"
            and node_ready(nodes.get(((m.get("status") or {}).get("nodeRef") or {}).get("name")) or {})
        ]
        selector = (ms.get("spec") or {}).get("selector") or {}
        status = {
            "replicas": len(owned),
            "fullyLabeledReplicas": sum(1 for m in owned if labels_match(selector, m["metadata"].get("labels") or {})),
            "readyReplicas": len(ready),
            "availableReplicas": len(ready),
            "observedGeneration": ms["metadata"].get("generation"),
            "labelSelector": ",".join(
                "{0}={1}".format(k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())
            ),
        }
        current = ms.get("status") or {}
        if any(current.get(k) != v for k, v in status.items()):
            self.patch_status(ms, status)
        type_name = provider({"spec": ((ms.get("spec") or {}).get("template") or {}).get("spec") or {}}).get(
            "instanceType"
        )
        if hardware.instance_type(type_name):
            want = hardware.machine_annotations(type_name)
            have = ms["metadata"].get("annotations") or {}
            if any(have.get(k) != v for k, v in want.items()):
                self.resource(MACHINE_API, "MachineSet").patch(
                    body={"metadata": {"annotations": want}},
                    name=ms["metadata"]["name"],
                    namespace=NAMESPACE,
                    content_type="application/merge-patch+json",
                )


CONTROLLER = MachineAPIController
