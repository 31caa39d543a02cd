"""Scenario file (scenarios/*.yaml) -> the objects a freshly installed OpenShift 4.20 cluster on AWS has.

Worker MachineSets are shaped the way openshift-install makes them on AWS; their Machines and Nodes are created by the
simulated machine-api controller. Control-plane nodes have no MachineSet, so they are created here (with their
Machines, as the installer leaves them).
"""

from __future__ import annotations

from . import hardware

MACHINE_API = "openshift-machine-api"
MARKETPLACE = "openshift-marketplace"
NOW = "2026-01-05T09:12:44Z"  # the simulated installation time


def _meta(name, namespace=None, labels=None, annotations=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return meta


def infrastructure(data):
    infra, region = data["infrastructureName"], data["region"]
    return {
        "apiVersion": "config.openshift.io/v1",
        "kind": "Infrastructure",
        "metadata": _meta("cluster"),
        "spec": {"cloudConfig": {"name": ""}, "platformSpec": {"type": "AWS", "aws": {}}},
        "status": {
            "apiServerURL": "https://api.{0}.sim.example.com:6443".format(infra),
            "apiServerInternalURI": "https://api-int.{0}.sim.example.com:6443".format(infra),
            "controlPlaneTopology": "HighlyAvailable",
            "infrastructureTopology": "HighlyAvailable",
            "cpuPartitioning": "None",
            "etcdDiscoveryDomain": "",
            "infrastructureName": infra,
            "platform": "AWS",
            "platformStatus": {"type": "AWS", "aws": {"region": region}},
        },
    }


def cluster_version(data):
    version = data["version"]
    image = "quay.io/openshift-release-dev/ocp-release@sha256:" + "4d" * 32
    minor = ".".join(version.split(".")[:2])
    return {
        "apiVersion": "config.openshift.io/v1",
        "kind": "ClusterVersion",
        "metadata": _meta("version"),
        "spec": {"clusterID": data["clusterID"], "channel": "stable-" + minor},
        "status": {
            "desired": {
                "version": version,
                "image": image,
                "channels": ["candidate-" + minor, "fast-" + minor, "stable-" + minor],
            },
            "history": [
                {
                    "state": "Completed",
                    "startedTime": NOW,
                    "completionTime": NOW,
                    "version": version,
                    "image": image,
                    "verified": False,
                }
            ],
            "observedGeneration": 1,
            "versionHash": "Sx3vJ0-Ltz0=",
            "availableUpdates": [],  # required by the schema; a merge patch would drop a null
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "lastTransitionTime": NOW,
                    "message": "Done applying " + version,
                },
                {"type": "Failing", "status": "False", "lastTransitionTime": NOW},
                {
                    "type": "Progressing",
                    "status": "False",
                    "lastTransitionTime": NOW,
                    "message": "Cluster version is " + version,
                },
                {"type": "RetrievedUpdates", "status": "True", "lastTransitionTime": NOW},
            ],
        },
    }


def provider_spec(data, zone, instance_type, role="worker"):
    infra = data["infrastructureName"]
    return {
        "apiVersion": "machine.openshift.io/v1beta1",
        "kind": "AWSMachineProviderConfig",
        "ami": {"id": data["amiId"]},
        "blockDevices": [
            {"ebs": {"encrypted": True, "iops": 0, "kmsKey": {"arn": ""}, "volumeSize": 120, "volumeType": "gp3"}}
        ],
        "capacityReservationId": "",
        "credentialsSecret": {"name": "aws-cloud-credentials"},
        "deviceIndex": 0,
        "iamInstanceProfile": {"id": "{0}-{1}-profile".format(infra, role)},
        "instanceType": instance_type,
        "metadata": {"creationTimestamp": None},
        "metadataServiceOptions": {},
        "placement": {"availabilityZone": zone, "region": data["region"]},
        "securityGroups": [
            {"filters": [{"name": "tag:Name", "values": ["{0}-node".format(infra)]}]},
            {"filters": [{"name": "tag:Name", "values": ["{0}-lb".format(infra)]}]},
        ],
        "subnet": {"filters": [{"name": "tag:Name", "values": ["{0}-subnet-private-{1}".format(infra, zone)]}]},
        "tags": [{"name": "kubernetes.io/cluster/" + infra, "value": "owned"}],
        "userDataSecret": {"name": "{0}-user-data".format(role)},
    }


def machineset(data, name, zone, instance_type, replicas, *, node_labels=None, taints=None):
    infra = data["infrastructureName"]
    selector = {
        "machine.openshift.io/cluster-api-cluster": infra,
        "machine.openshift.io/cluster-api-machineset": name,
    }
    template_labels = dict(selector)
    template_labels.update(
        {
            "machine.openshift.io/cluster-api-machine-role": "worker",
            "machine.openshift.io/cluster-api-machine-type": "worker",
        }
    )
    annotations = {"capacity.cluster-autoscaler.kubernetes.io/labels": "kubernetes.io/arch=amd64"}
    annotations.update(hardware.machine_annotations(instance_type))
    spec_template = {
        "lifecycleHooks": {},
        "metadata": {"labels": node_labels} if node_labels else {},
        "providerSpec": {"value": provider_spec(data, zone, instance_type)},
    }
    if taints:
        spec_template["taints"] = taints
    return {
        "apiVersion": "machine.openshift.io/v1beta1",
        "kind": "MachineSet",
        "metadata": _meta(name, MACHINE_API, {"machine.openshift.io/cluster-api-cluster": infra}, annotations),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": template_labels}, "spec": spec_template},
        },
    }


def worker_machinesets(data):
    infra = data["infrastructureName"]
    out = []
    for ms in data.get("workerMachineSets") or []:
        name = "{0}-worker-{1}".format(infra, ms["zone"])
        out.append(
            machineset(data, name, ms["zone"], ms.get("instanceType", data["workerInstanceType"]), ms["replicas"])
        )
    for ms in data.get("gpuMachineSets") or []:
        itype = ms["instanceType"]
        name = "{0}-gpu-{1}-{2}".format(infra, itype.replace(".", "-"), ms["zone"])
        out.append(
            machineset(
                data,
                name,
                ms["zone"],
                itype,
                ms["replicas"],
                node_labels={"node-role.kubernetes.io/gpu": "", "cluster-api/accelerator": "nvidia-l4"},
                taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            )
        )
    return out


def node_name(region, index, subnet_octet):
    return "ip-10-0-{0}-{1}.{2}.compute.internal".format(subnet_octet, 10 + 17 * index, region)


def masters(data):
    """Control-plane Nodes and their Machines (`<infra>-master-<n>`), one per zone."""
    infra, region = data["infrastructureName"], data["region"]
    spec = data.get("masters") or {}
    itype = spec.get("instanceType", "m6i.xlarge")
    zones = [ms["zone"] for ms in data.get("workerMachineSets") or []] or [region + "a"]
    out = []
    for i in range(int(spec.get("count", 3))):
        zone = zones[i % len(zones)]
        name = node_name(region, i, 16 * (i % len(zones)))
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "kubernetes.io/hostname": name.split(".")[0],
            "node-role.kubernetes.io/control-plane": "",
            "node-role.kubernetes.io/master": "",
            "node.kubernetes.io/instance-type": itype,
            "node.openshift.io/os_id": "rhcos",
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": zone,
            "topology.ebs.csi.aws.com/zone": zone,
        }
        annotations = {"machine.openshift.io/machine": "{0}/{1}-master-{2}".format(MACHINE_API, infra, i)}
        annotations.update(hardware.node_annotations(itype))
        capacity = hardware.node_capacity(itype)
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": _meta(name, labels=labels, annotations=annotations),
                "spec": {
                    "providerID": "aws:///{0}/i-0{1:016x}".format(zone, 0xA11CE + i),
                    "taints": [{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}],
                },
                "status": {
                    "capacity": capacity,
                    "allocatable": dict(capacity, cpu="{0}m".format(int(capacity["cpu"]) * 1000 - 500)),
                    "nodeInfo": {
                        "architecture": "amd64",
                        "kernelVersion": hardware.KERNEL,
                        "osImage": hardware.OS_IMAGE,
                        "kubeletVersion": hardware.KUBELET_VERSION,
                        "operatingSystem": "linux",
                        "containerRuntimeVersion": "cri-o://1.33.5-2.rhaos4.20.git0c0a0c2.el9",
                        "kubeProxyVersion": "",
                        "bootID": "",
                        "machineID": "",
                        "systemUUID": "",
                    },
                },
            }
        )
        machine_labels = {
            "machine.openshift.io/cluster-api-cluster": infra,
            "machine.openshift.io/cluster-api-machine-role": "master",
            "machine.openshift.io/cluster-api-machine-type": "master",
            "machine.openshift.io/instance-type": itype,
            "machine.openshift.io/region": region,
            "machine.openshift.io/zone": zone,
        }
        out.append(
            {
                "apiVersion": "machine.openshift.io/v1beta1",
                "kind": "Machine",
                "metadata": _meta(
                    "{0}-master-{1}".format(infra, i),
                    MACHINE_API,
                    machine_labels,
                    {"machine.openshift.io/instance-state": "running"},
                ),
                "spec": {
                    "lifecycleHooks": {"preDrain": [{"name": "EtcdQuorumOperator", "owner": "clusteroperator/etcd"}]},
                    "metadata": {},
                    "providerID": "aws:///{0}/i-0{1:016x}".format(zone, 0xA11CE + i),
                    "providerSpec": {"value": provider_spec(data, zone, itype, role="master")},
                },
                "status": {
                    "phase": "Running",
                    "lastUpdated": NOW,
                    "nodeRef": {"kind": "Node", "name": name},
                    "addresses": [
                        {"type": "InternalIP", "address": name.split(".")[0][3:].replace("-", ".")},
                        {"type": "InternalDNS", "address": name},
                    ],
                    "providerStatus": {"instanceId": "i-0{0:016x}".format(0xA11CE + i), "instanceState": "running"},
                },
            }
        )
    return out


def catalog_sources(cat, addresses):
    """CatalogSources pointing at the local `opm serve` of each catalog; OLM writes their status."""
    return [
        {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "CatalogSource",
            "metadata": _meta(name, MARKETPLACE),
            "spec": {
                "displayName": spec["displayName"],
                "publisher": spec["publisher"],
                "sourceType": "grpc",
                "address": addresses[name],
                "priority": -100,
            },
        }
        for name, spec in cat.catalogs.items()
        if name in addresses
    ]


def platform_objects():
    """Objects every OpenShift cluster has that OLM users meet: the global OperatorGroup in openshift-operators."""
    return [
        {
            "apiVersion": "operators.coreos.com/v1",
            "kind": "OperatorGroup",
            "metadata": _meta("global-operators", "openshift-operators"),
            "spec": {"upgradeStrategy": "Default"},
        },
        {
            "apiVersion": "operators.coreos.com/v1",
            "kind": "OperatorGroup",
            "metadata": _meta("olm-operators", "openshift-operator-lifecycle-manager"),
            "spec": {
                "targetNamespaces": ["openshift-operator-lifecycle-manager"],
                "upgradeStrategy": "Default",
            },
        },
    ]


def monitoring_config(data):
    config = data.get("clusterMonitoringConfig")
    if config is None:
        return []
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("cluster-monitoring-config", "openshift-monitoring"),
            "data": {"config.yaml": config},
        }
    ]


def objects(data, cat, addresses):
    """Every object of the scenario, in apply order; `addresses`: {catalog: host:port of its server}."""
    return [
        infrastructure(data),
        cluster_version(data),
        *masters(data),
        *worker_machinesets(data),
        *catalog_sources(cat, addresses),
        *platform_objects(),
        *monitoring_config(data),
        *(data.get("objects") or []),
    ]
