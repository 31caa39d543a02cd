# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU MachineSets cloned from a worker MachineSet, and the AWS capacity arithmetic behind them.

Pure functions over dicts: the ``gpu_machineset`` filter, the ``machinesets`` role and the ``aws_gpu_preflight``
module all call into here, and the unit tests exercise it without a cluster or an AWS account.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership

MANAGED_BY = ("app.kubernetes.io/managed-by", "rhoai.gpu_infra")
COMPONENT = "machinesets"
# On someone else's ClusterAutoscaler default: the GPU types whose resourceLimits.gpus entries this collection added,
# so that remove takes out those and no other.
GPU_LIMITS_ANNOTATION = "rhoai.gpu-infra/gpu-limits"
API_VERSION = "machine.openshift.io/v1beta1"
MACHINESET_LABEL = "machine.openshift.io/cluster-api-machineset"
CLUSTER_LABEL = "machine.openshift.io/cluster-api-cluster"
ROLE_LABELS = ("machine.openshift.io/cluster-api-machine-role", "machine.openshift.io/cluster-api-machine-type")
GPU_ROLE_LABEL = "node-role.kubernetes.io/gpu"
ACCELERATOR_LABEL = "cluster-api/accelerator"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
AUTOSCALER_ANNOTATION_PREFIX = "machine.openshift.io/cluster-api-autoscaler-node-group-"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

# The AWS machine controller writes these from the instance type; copied from a worker they would describe the
# wrong machine. The autoscaler annotations belong to the worker's MachineAutoscaler, not to the clone.
# The capacity.cluster-autoscaler.kubernetes.io/ ones are what a MachineAutoscaler leaves on an autoscaled worker: its
# controller copies them from the machine.openshift.io/ ones only where absent, and the autoscaler prefers them, so a
# copied cpu/memory/gpu-count would make a scale from zero plan with the worker's size (openshift/
# cluster-autoscaler-operator release-4.20 pkg/controller/machineautoscaler/machinetarget.go
# checkScaleFromZeroAnnotations; openshift/kubernetes-autoscaler release-4.20
# cluster-autoscaler/cloudprovider/clusterapi/clusterapi_utils.go parseCPUCapacity). The capacity labels annotation
# stays: the AWS controller merges kubernetes.io/arch into it and keeps the other labels.
CAPACITY_ANNOTATION_PREFIX = "capacity.cluster-autoscaler.kubernetes.io/"
DROPPED_ANNOTATIONS = (
    "machine.openshift.io/GPU",
    "machine.openshift.io/vCPU",
    "machine.openshift.io/memoryMb",
    "machine.openshift.io/maxPods",
    "kubectl.kubernetes.io/last-applied-configuration",
    AUTOSCALER_ANNOTATION_PREFIX + "min-size",
    AUTOSCALER_ANNOTATION_PREFIX + "max-size",
    CAPACITY_ANNOTATION_PREFIX + "cpu",
    CAPACITY_ANNOTATION_PREFIX + "memory",
    CAPACITY_ANNOTATION_PREFIX + "gpu-count",
    CAPACITY_ANNOTATION_PREFIX + "gpu-type",
    CAPACITY_ANNOTATION_PREFIX + "maxPods",
    CAPACITY_ANNOTATION_PREFIX + "ephemeral-disk",
)
DROPPED_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "ownerReferences",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

# instance type -> GPUs, vCPUs, memory GiB, the GPU model used as cluster-api/accelerator label and autoscaler GPU
# type. Adding a family is adding rows. G6 is what the design input uses; G5/G6e/P4d are here for people who
# have quota for them (figures from the AWS instance type pages).
INSTANCE_TYPES = {
    # G6: NVIDIA L4, 24 GB each
    "g6.xlarge": dict(gpus=1, vcpus=4, memory_gib=16, accelerator="nvidia-l4"),
    "g6.2xlarge": dict(gpus=1, vcpus=8, memory_gib=32, accelerator="nvidia-l4"),
    "g6.4xlarge": dict(gpus=1, vcpus=16, memory_gib=64, accelerator="nvidia-l4"),
    "g6.8xlarge": dict(gpus=1, vcpus=32, memory_gib=128, accelerator="nvidia-l4"),
    "g6.12xlarge": dict(gpus=4, vcpus=48, memory_gib=192, accelerator="nvidia-l4"),
    "g6.16xlarge": dict(gpus=1, vcpus=64, memory_gib=256, accelerator="nvidia-l4"),
    "g6.24xlarge": dict(gpus=4, vcpus=96, memory_gib=384, accelerator="nvidia-l4"),
    "g6.48xlarge": dict(gpus=8, vcpus=192, memory_gib=768, accelerator="nvidia-l4"),
    # G6e: NVIDIA L40S, 48 GB each (not part of the design input)
    "g6e.xlarge": dict(gpus=1, vcpus=4, memory_gib=32, accelerator="nvidia-l40s"),
    "g6e.2xlarge": dict(gpus=1, vcpus=8, memory_gib=64, accelerator="nvidia-l40s"),
    "g6e.12xlarge": dict(gpus=4, vcpus=48, memory_gib=384, accelerator="nvidia-l40s"),
    "g6e.48xlarge": dict(gpus=8, vcpus=192, memory_gib=1536, accelerator="nvidia-l40s"),
    # G5: NVIDIA A10G, 24 GB each (not part of the design input)
    "g5.xlarge": dict(gpus=1, vcpus=4, memory_gib=16, accelerator="nvidia-a10g"),
    "g5.2xlarge": dict(gpus=1, vcpus=8, memory_gib=32, accelerator="nvidia-a10g"),
    "g5.4xlarge": dict(gpus=1, vcpus=16, memory_gib=64, accelerator="nvidia-a10g"),
    "g5.12xlarge": dict(gpus=4, vcpus=48, memory_gib=192, accelerator="nvidia-a10g"),
    "g5.48xlarge": dict(gpus=8, vcpus=192, memory_gib=768, accelerator="nvidia-a10g"),
}

POOL_KEYS = ("instance_type", "zone", "replicas", "labels", "taints", "accelerator", "root_volume_size")
# Read by the machinesets role (MachineAutoscaler bounds); accepted here so one pool dict serves both.
ROLE_POOL_KEYS = ("min_replicas", "max_replicas")

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
MAX_LABEL_VALUE = 63

# Service Quotas code of "Running On-Demand G and VT instances" (vCPUs).
G_VT_QUOTA_CODE = "L-DB2E81BA"


class MachineSetError(ValueError):
    """The input cannot become a valid GPU MachineSet; the message says what was expected and what to do."""


def _error(expected, found, todo):
    return MachineSetError("Expected {0}, found {1}. {2}".format(expected, found, todo))


def known_types():
    return ", ".join(sorted(INSTANCE_TYPES))


def gpu_machineset_name(infra_id, instance_type, zone):
    return "{0}-gpu-{1}-{2}".format(infra_id, instance_type.replace(".", "-"), zone)


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def _provider_value(machineset):
    return (((machineset.get("spec") or {}).get("template") or {}).get("spec") or {}).get("providerSpec", {}).get(
        "value"
    ) or {}


# Arm64 workers of a multi-architecture cluster: their AMI cannot boot a G6 (x86_64) instance. The AWS MachineSet
# controller writes the architecture into the capacity labels annotation (openshift/machine-api-provider-aws
# release-4.20 pkg/actuators/machineset/controller.go); before it has, an AWS Graviton instance family (a "g" after the
# generation digit: m6g, c7gn, r8gd, t4g, im4gn; or a1) says the same.
ARCH_LABELS_ANNOTATION = "capacity.cluster-autoscaler.kubernetes.io/labels"
_GRAVITON_FAMILY = re.compile(r"^(?:a1|[a-z]+[0-9]+g[a-z-]*)\.")


def is_arm64(machineset):
    labels = ((machineset.get("metadata") or {}).get("annotations") or {}).get(ARCH_LABELS_ANNOTATION) or ""
    if "kubernetes.io/arch=" in labels:
        return "kubernetes.io/arch=arm64" in labels
    return bool(_GRAVITON_FAMILY.match(str(_provider_value(machineset).get("instanceType") or "")))


def template_zone(machineset):
    return (_provider_value(machineset).get("placement") or {}).get("availabilityZone")


def is_autoscaled(machineset):
    """True when a MachineAutoscaler has claimed this MachineSet (it annotates its target with min/max size)."""
    annotations = (machineset.get("metadata") or {}).get("annotations") or {}
    return any(key.startswith(AUTOSCALER_ANNOTATION_PREFIX) for key in annotations)


def _check_template(template, infra_id):
    if not isinstance(template, dict) or not template:
        raise _error("a MachineSet object (a dict)", repr(template)[:80], "Pass a worker MachineSet from k8s_info.")
    kind_api = (template.get("apiVersion"), template.get("kind"))
    if kind_api != (API_VERSION, "MachineSet"):
        raise _error(
            "apiVersion {0} kind MachineSet".format(API_VERSION),
            "apiVersion {0} kind {1}".format(*kind_api),
            "Pass a worker MachineSet from namespace openshift-machine-api.",
        )
    name = (template.get("metadata") or {}).get("name", "?")
    tmpl_labels = _labels((template.get("spec") or {}).get("template") or {})
    cluster = _labels(template).get(CLUSTER_LABEL) or tmpl_labels.get(CLUSTER_LABEL)
    if cluster != infra_id:
        raise _error(
            "a MachineSet of cluster {0!r} (label {1})".format(infra_id, CLUSTER_LABEL),
            "MachineSet {0} of cluster {1!r}".format(name, cluster),
            "Clone a worker MachineSet of this cluster; the infrastructure ID is status.infrastructureName of "
            "Infrastructure/cluster.",
        )
    roles = [tmpl_labels.get(label) for label in ROLE_LABELS]
    if roles != ["worker", "worker"]:
        raise _error(
            "a worker MachineSet ({0} = worker)".format(" and ".join(ROLE_LABELS)),
            "MachineSet {0} with role/type {1}".format(name, "/".join(str(r) for r in roles)),
            "Pick a MachineSet whose machines are workers (not infra, master or edge).",
        )
    provider = _provider_value(template)
    if provider.get("kind") != "AWSMachineProviderConfig":
        raise _error(
            "an AWS MachineSet (providerSpec kind AWSMachineProviderConfig)",
            "MachineSet {0} with providerSpec kind {1}".format(name, provider.get("kind")),
            "GPU MachineSets are only built for AWS clusters.",
        )


def _check_pool(pool):
    if not isinstance(pool, dict):
        raise _error("a pool dict with at least instance_type", repr(pool)[:80], "See the filter documentation.")
    unknown = sorted(set(pool) - set(POOL_KEYS) - set(ROLE_POOL_KEYS))
    if unknown:
        raise _error(
            "pool keys among {0}".format(", ".join(POOL_KEYS + ROLE_POOL_KEYS)),
            "unknown key(s) {0}".format(", ".join(unknown)),
            "Fix the spelling or remove them.",
        )
    zone = pool.get("zone")
    if zone is not None and not isinstance(zone, str):
        raise _error(
            "zone as one availability zone name, such as us-east-2a",
            repr(zone)[:80],
            "Give each pool one zone; for several zones, make one pool per zone.",
        )
    itype = pool.get("instance_type")
    if itype not in INSTANCE_TYPES:
        raise _error(
            "an instance_type among {0}".format(known_types()),
            repr(itype),
            "Use one of those, or add a row to INSTANCE_TYPES in plugins/module_utils/machinesets.py.",
        )
    replicas = pool.get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise _error(
            "replicas as an integer >= 0",
            repr(replicas),
            "Set replicas to 0 or more."
            if isinstance(replicas, int)
            else "Write replicas as a number, without quotes.",
        )
    size = pool.get("root_volume_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise _error("root_volume_size as a whole number of GiB >= 1", repr(size), "Fix root_volume_size.")
    labels = pool.get("labels") or {}
    if not isinstance(labels, dict) or not all(_is_label_value(v) for v in labels.values()):
        raise _error(
            "labels as a dict of label values (at most 63 letters, digits, '-', '_' or '.', starting and ending with "
            "a letter or digit)",
            repr(labels),
            'Quote values, e.g. {"team": "ml"}.',
        )
    bad_keys = [k for k in labels if not _is_label_key(k)]
    if bad_keys:
        raise _error(
            "label keys of the form [prefix/]name (name at most 63 letters, digits, '-', '_' or '.'; prefix a DNS "
            "subdomain)",
            ", ".join(repr(k) for k in bad_keys),
            "Fix the label keys, e.g. team or example.com/team.",
        )
    accelerator = pool.get("accelerator")
    if accelerator is not None and not (_is_label_value(accelerator) and accelerator):
        raise _error(
            "accelerator as a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
            "letter or digit; it becomes the node label {0} and the ClusterAutoscaler GPU type)".format(
                ACCELERATOR_LABEL
            ),
            repr(accelerator),
            "Use a value such as nvidia-l4, or leave accelerator unset for the instance type's GPU model.",
        )
    taints = pool.get("taints") or []
    for taint in taints if isinstance(taints, list) else [taints]:
        if not isinstance(taint, dict) or not taint.get("key") or taint.get("effect") not in TAINT_EFFECTS:
            raise _error(
                "taints as a list of {{key, value, effect}} with effect in {0}".format(", ".join(TAINT_EFFECTS)),
                repr(taint),
                "Fix the taint.",
            )


def _is_zone_of(zone, region):
    """An availability zone of ``region``: the region's name and a letter (us-east-2a), or a Local or Wavelength
    Zone (us-west-2-lax-1a); not the region itself (us-east-2) nor another region's zone (us-east-20a)."""
    if not isinstance(zone, str) or not zone:
        return False
    return not region or bool(re.fullmatch(re.escape(region) + r"([a-z]|-[a-z0-9-]*[a-z])", zone))


def _is_label_value(value):
    return isinstance(value, str) and len(value) <= MAX_LABEL_VALUE and bool(LABEL_VALUE.match(value))


def _is_label_key(key):
    """A Kubernetes qualified name: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters."""
    if not isinstance(key, str):
        return False
    prefix, name = key.rpartition("/")[::2]
    prefix_ok = not prefix or (len(prefix) <= 253 and all(DNS_LABEL.match(part) for part in prefix.split(".")))
    return prefix_ok and bool(name) and _is_label_value(name)


def _subnet_for_zone(subnet, old_zone, new_zone, name):
    """Point the subnet at the new zone, or fail when the installer's naming cannot be followed."""
    todo = (
        "Give a zone that has a worker MachineSet (its subnet is copied), or create a worker MachineSet in {0} "
        "first.".format(new_zone)
    )
    if not subnet:
        raise _error("a subnet in the worker MachineSet's providerSpec", "none in {0}".format(name), todo)
    if subnet.get("id") or subnet.get("arn"):
        raise _error(
            "a subnet given by tag:Name filter (the installer's <infraID>-subnet-private-<zone>)",
            "subnet id/arn {0} in {1}, which cannot be derived for zone {2}".format(
                subnet.get("id") or subnet.get("arn"), name, new_zone
            ),
            todo,
        )
    filters = []
    for flt in subnet.get("filters") or []:
        values = flt.get("values") or []
        if flt.get("name") != "tag:Name" or not all(v.endswith("-" + old_zone) for v in values):
            raise _error(
                "subnet filters on tag:Name ending in the zone ({0})".format(old_zone),
                "filter {0} in {1}".format(flt, name),
                todo,
            )
        filters.append(dict(flt, values=[v[: -len(old_zone)] + new_zone for v in values]))
    if not filters:
        raise _error("a tag:Name subnet filter", "subnet {0} in {1}".format(subnet, name), todo)
    return dict(subnet, filters=filters)


def _merge_taints(existing, extra):
    merged = []
    for given in [*(existing or []), GPU_TAINT, *(extra or [])]:
        taint = {k: v for k, v in given.items() if k in ("key", "value", "effect") and v is not None}
        # Kubernetes identifies a taint by key and effect; a later one replaces an earlier one.
        merged = [t for t in merged if (t["key"], t["effect"]) != (taint["key"], taint["effect"])]
        merged.append(taint)
    return merged


def build_gpu_machineset(template, infra_id, pool, current=None, autoscaled=False):
    """Return a new GPU MachineSet cloned from ``template`` (never modified) for ``pool``.

    ``current`` is the MachineSet of that name on the cluster, if any: when an autoscaler manages it (``autoscaled``
    or its min/max annotations), its ``spec.replicas`` is kept so that a re-run does not undo a scale-up.
    """
    _check_template(template, infra_id)
    _check_pool(pool)
    old_zone = template_zone(template)
    zone = pool.get("zone") or old_zone
    region = (_provider_value(template).get("placement") or {}).get("region")
    if not _is_zone_of(zone, region):
        raise _error(
            "an availability zone of region {0} (the region's name and a letter, or a Local Zone "
            "{0}-<location>)".format(region),
            repr(zone),
            "Use a zone such as {0}a, or leave zone unset to use the worker MachineSet's zone.".format(region),
        )
    itype = pool["instance_type"]
    name = gpu_machineset_name(infra_id, itype, zone)
    if len(name) > MAX_LABEL_VALUE or not DNS_LABEL.match(name):
        raise _error(
            "a MachineSet name of at most {0} lowercase characters (it is also the value of label {1})".format(
                MAX_LABEL_VALUE, MACHINESET_LABEL
            ),
            "{0!r} ({1} characters)".format(name, len(name)),
            "Use a shorter instance type or zone name; the infrastructure ID cannot be changed.",
        )

    ms = copy.deepcopy(template)
    ms.pop("status", None)
    meta = ms["metadata"]
    for key in DROPPED_METADATA:
        meta.pop(key, None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in DROPPED_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    meta["name"] = name
    meta["labels"] = dict(meta.get("labels") or {}, **{MANAGED_BY[0]: MANAGED_BY[1]})

    spec = ms.setdefault("spec", {})
    replicas = pool.get("replicas", 1)
    if current and (autoscaled or is_autoscaled(current)):
        replicas = (current.get("spec") or {}).get("replicas", replicas)
    spec["replicas"] = replicas
    spec.setdefault("selector", {}).setdefault("matchLabels", {})[MACHINESET_LABEL] = name
    tmpl = spec.setdefault("template", {})
    tmpl.setdefault("metadata", {}).setdefault("labels", {})[MACHINESET_LABEL] = name
    tspec = tmpl.setdefault("spec", {})
    node_meta = tspec.get("metadata") or {}
    node_labels = dict(node_meta.get("labels") or {})
    node_labels[GPU_ROLE_LABEL] = ""
    node_labels[ACCELERATOR_LABEL] = pool.get("accelerator") or INSTANCE_TYPES[itype]["accelerator"]
    node_labels.update(pool.get("labels") or {})
    node_meta["labels"] = node_labels
    tspec["metadata"] = node_meta
    tspec["taints"] = _merge_taints(tspec.get("taints"), pool.get("taints"))

    provider = tspec["providerSpec"]["value"]
    provider["instanceType"] = itype
    if zone != old_zone:
        provider["placement"]["availabilityZone"] = zone
        provider["subnet"] = _subnet_for_zone(provider.get("subnet"), old_zone, zone, template["metadata"]["name"])
    if pool.get("root_volume_size"):
        _set_root_volume_size(provider, pool["root_volume_size"])
    return _without_nulls(ms)


def _set_root_volume_size(provider, size):
    """The root volume is the one entry without deviceName; named entries are extra volumes (openshift/
    machine-api-provider-aws release-4.20 pkg/actuators/machine/instances.go getBlockDeviceMappings)."""
    devices = provider.get("blockDevices") or []
    root = next((d for d in devices if not d.get("deviceName")), None)
    if root is None:
        root = {}
        devices.append(root)
    root.setdefault("ebs", {})["volumeSize"] = size
    provider["blockDevices"] = devices


def _without_nulls(value):
    """Drop null fields (the installer writes ``providerSpec.value.metadata.creationTimestamp: null``).

    Applied again, a null reads as "delete this field", so the same MachineSet would report a change on every run.
    """
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


# --- AWS capacity ------------------------------------------------------------------------------------------------


def is_g_or_vt(instance_type):
    """Instance types counted against the "Running On-Demand G and VT instances" quota."""
    return instance_type.startswith(("g", "vt"))


def check_capacity(requests, offered, quota, running, vcpus_of):
    """Compare requested GPU instances with AWS offerings and the G/VT vCPU quota.

    requests: [{instance_type, zone, count}]; offered: set of (instance_type, zone); quota: vCPUs or None (unknown);
    running: instance types currently running; vcpus_of: instance type -> vCPUs.
    Returns (problems, facts): problems is a list of messages, empty when everything fits.
    """
    problems = []
    for req in requests:
        if (req["instance_type"], req["zone"]) not in offered:
            zones = sorted(z for t, z in offered if t == req["instance_type"])
            problems.append(
                "Instance type {0} is not offered in {1} (offered in: {2}). Pick one of those zones for the "
                "pool.".format(req["instance_type"], req["zone"], ", ".join(zones) or "none of the zones asked about")
            )
    used = sum(vcpus_of[t] for t in running if is_g_or_vt(t))
    requested = sum(
        vcpus_of[r["instance_type"]] * r.get("count", 1) for r in requests if is_g_or_vt(r["instance_type"])
    )
    facts = dict(quota_vcpus=quota, running_vcpus=used, requested_vcpus=requested)
    if quota is not None:
        facts["available_vcpus"] = quota - used
        if requested > quota - used:
            problems.append(
                "The pools need {0} vCPUs of G/VT instances but the 'Running On-Demand G and VT instances' quota "
                "({1}) is {2} vCPUs and {3} are already in use, leaving {4}. Request a quota increase in Service "
                "Quotas (ec2 {1}) or ask for fewer/smaller GPU instances.".format(
                    requested, G_VT_QUOTA_CODE, quota, used, quota - used
                )
            )
    return problems, facts


def aws_preflight(ec2, quotas, requests):
    """Run the read-only AWS checks with boto3-style clients; returns (problems, facts, warnings)."""
    warnings = []
    types = sorted({r["instance_type"] for r in requests})
    zones = sorted({r["zone"] for r in requests})
    offered = set()
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    for page in paginator.paginate(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": types}, {"Name": "location", "Values": zones}],
    ):
        for offering in page.get("InstanceTypeOfferings", []):
            offered.add((offering["InstanceType"], offering["Location"]))

    running = []
    paginator = ec2.get_paginator("describe_instances")
    # G/VT is selected here rather than with an instance-type wildcard filter, which not every EC2 endpoint honours.
    for page in paginator.paginate(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]):
        for reservation in page.get("Reservations", []):
            # Spot Instances count against the "All G and VT Spot Instance Requests" quota, not this On-Demand one
            # (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html).
            running.extend(
                i["InstanceType"]
                for i in reservation.get("Instances", [])
                if is_g_or_vt(i["InstanceType"]) and i.get("InstanceLifecycle") != "spot"
            )

    vcpus_of = {t: row["vcpus"] for t, row in INSTANCE_TYPES.items()}
    unknown = sorted(set(running) - set(vcpus_of))
    if unknown:
        for page in ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=unknown):
            for info in page.get("InstanceTypes", []):
                vcpus_of[info["InstanceType"]] = info["VCpuInfo"]["DefaultVCpus"]

    quota = None
    try:
        quota = int(quotas.get_service_quota(ServiceCode="ec2", QuotaCode=G_VT_QUOTA_CODE)["Quota"]["Value"])
    except Exception as exc:  # AccessDenied, or an API that does not know the quota: report, do not guess
        warnings.append(
            "Could not read the 'Running On-Demand G and VT instances' quota ({0}): {1}. The vCPU quota was not "
            "checked; allow servicequotas:GetServiceQuota to check it.".format(G_VT_QUOTA_CODE, exc)
        )
    problems, facts = check_capacity(requests, offered, quota, running, vcpus_of)
    facts["offered"] = sorted("{0}@{1}".format(t, z) for t, z in offered)
    return problems, facts, warnings


# --- The machinesets role's plan ---------------------------------------------------------------------------------

MAPI_NAMESPACE = "openshift-machine-api"
AUTOSCALER_API = "autoscaling.openshift.io/v1beta1"
CLUSTER_AUTOSCALER_API = "autoscaling.openshift.io/v1"
CAPACITY_REMEDY = (
    "A machine stuck in Provisioning or Failed usually means AWS capacity or the G/VT vCPU quota ({0}): see "
    "'oc describe machine -n openshift-machine-api' (its status.errorMessage) or run the rhoai.gpu_infra.diagnose "
    "playbook, then re-run.".format(G_VT_QUOTA_CODE)
)


def _infrastructure(infrastructure):
    """(infrastructure ID, region) of an OpenShift cluster on AWS, from Infrastructure/cluster."""
    status = (infrastructure or {}).get("status") or {}
    platform = status.get("platformStatus") or {}
    infra_id, region = status.get("infrastructureName"), (platform.get("aws") or {}).get("region")
    if not (infra_id and platform.get("type") == "AWS" and region):
        raise _error(
            "Infrastructure/cluster with status.infrastructureName and platformStatus type AWS with a region",
            "no Infrastructure/cluster"
            if not infrastructure
            else "infrastructureName={0!r} platform={1!r}".format(infra_id or "", platform.get("type") or ""),
            "GPU MachineSets are built for OpenShift on AWS only; leave machinesets out of gpu_infra_components "
            "elsewhere. Nothing was changed.",
        )
    return infra_id, region


def _workers(machinesets, infra_id):
    """The cluster's own x86_64 worker MachineSets, by zone and then name (the first is the default template)."""
    workers = [
        ms
        for ms in machinesets
        if not ownership.is_ours(ms)
        and _labels((ms.get("spec") or {}).get("template") or {}).get(CLUSTER_LABEL) == infra_id
        and [_labels(ms["spec"]["template"]).get(label) for label in ROLE_LABELS] == ["worker", "worker"]
    ]
    arm64 = sorted(ms["metadata"]["name"] for ms in workers if is_arm64(ms))
    if arm64 and len(arm64) == len(workers):
        raise _error(
            "an x86_64 worker MachineSet of cluster {0} to clone (G6 instances are x86_64, and a clone keeps its "
            "template's AMI)".format(infra_id),
            "only arm64 ones: {0}".format(", ".join(arm64)),
            "Add an x86_64 worker MachineSet to the cluster (multi-architecture compute), then re-run. Nothing was "
            "changed.",
        )
    workers = [ms for ms in workers if not is_arm64(ms)]
    if not workers:
        raise _error(
            "at least one worker MachineSet of cluster {0} in {1} to clone (AMI, subnet, security groups and IAM "
            "profile come from it)".format(infra_id, MAPI_NAMESPACE),
            ", ".join(sorted(ms["metadata"]["name"] for ms in machinesets)) or "no MachineSets",
            "Create a worker MachineSet first (installer-provisioned clusters have one per zone). Nothing was changed.",
        )
    return sorted(workers, key=lambda ms: (template_zone(ms) or "", ms["metadata"]["name"]))


def _bounds(pool):
    """The pool's MachineAutoscaler bounds: min_replicas (0) and max_replicas (its replicas, at least 1)."""
    low = pool.get("min_replicas", 0)
    high = pool.get("max_replicas", max(pool.get("replicas", 1), 1))
    for key, value in (("min_replicas", low), ("max_replicas", high)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _error("{0} as an integer >= 0".format(key), repr(value), "Fix {0} of the pool.".format(key))
    if high < max(low, 1):
        raise _error(
            "min_replicas <= max_replicas and max_replicas >= 1",
            "min_replicas {0}, max_replicas {1} for {2}".format(low, high, pool["instance_type"]),
            "Fix the bounds of the pool.",
        )
    return low, high


def plan(infrastructure, machinesets, autoscalers, pools, *, zone=""):
    """Every pool's GPU MachineSet, built before anything is applied, so that one bad pool stops them all.

    ``machinesets`` and ``autoscalers`` are those of openshift-machine-api. Returns dict(infra_id, region, plan) with
    ``plan`` a list of dict(pool, machineset, current_replicas): the pool with its zone and autoscaler bounds
    resolved, the MachineSet to apply (with the ownership labels of the machinesets component), and the replicas it
    has now.
    """
    infra_id, region = _infrastructure(infrastructure)
    workers = _workers(machinesets, infra_id)
    existing = {ms["metadata"]["name"]: ms for ms in machinesets}
    autoscaled = {(a.get("spec") or {}).get("scaleTargetRef", {}).get("name") for a in autoscalers}
    default_zone = zone or template_zone(workers[0])
    out = []
    for given in pools:
        _check_pool(given)
        pool = dict({k: v for k, v in given.items() if v is not None}, zone=given.get("zone") or default_zone)
        template = next((w for w in workers if template_zone(w) == pool["zone"]), workers[0])
        name = gpu_machineset_name(infra_id, pool["instance_type"], pool["zone"])
        current = existing.get(name)
        machineset = build_gpu_machineset(template, infra_id, pool, current=current, autoscaled=name in autoscaled)
        pool["min_replicas"], pool["max_replicas"] = _bounds(pool)
        out.append(
            dict(
                pool=pool,
                machineset=ownership.with_labels(machineset, COMPONENT),
                current_replicas=((current or {}).get("spec") or {}).get("replicas", 0),
            )
        )
    names = [item["machineset"]["metadata"]["name"] for item in out]
    if len(set(names)) != len(names):
        raise _error(
            "one pool per instance type and zone",
            "pools making {0}".format(", ".join(names)),
            "Merge the pools of the same instance type and zone into one with more replicas. Nothing was changed.",
        )
    return dict(infra_id=infra_id, region=region, plan=out)


def machine_autoscalers(items):
    """One MachineAutoscaler per pool of the plan, named as its MachineSet."""
    return [
        {
            "apiVersion": AUTOSCALER_API,
            "kind": "MachineAutoscaler",
            "metadata": {
                "name": item["machineset"]["metadata"]["name"],
                "namespace": MAPI_NAMESPACE,
                "labels": ownership.labels(COMPONENT),
            },
            "spec": {
                "minReplicas": item["pool"]["min_replicas"],
                "maxReplicas": item["pool"]["max_replicas"],
                "scaleTargetRef": {
                    "apiVersion": API_VERSION,
                    "kind": "MachineSet",
                    "name": item["machineset"]["metadata"]["name"],
                },
            },
        }
        for item in items
    ]


def accelerator(machineset):
    return _labels(machineset["spec"]["template"]["spec"]).get(ACCELERATOR_LABEL)


def gpu_limits(items):
    """Per accelerator, at most the GPUs of all its pools at their maximum size (at least 1), sorted by type."""
    totals = {}
    for item in items:
        gpus = item["pool"]["max_replicas"] * INSTANCE_TYPES[item["pool"]["instance_type"]]["gpus"]
        acc = accelerator(item["machineset"])
        totals[acc] = totals.get(acc, 0) + gpus
    return [{"type": acc, "min": 0, "max": max(total, 1)} for acc, total in sorted(totals.items())]


def _recorded(ca):
    """The GPU types this collection put into someone else's ClusterAutoscaler (its annotation says which)."""
    value = ((ca.get("metadata") or {}).get("annotations") or {}).get(GPU_LIMITS_ANNOTATION) or ""
    return {t for t in value.split(",") if t}


def _ca_patch(existing, gpus, annotation=False):
    """A merge patch of ClusterAutoscaler default's GPU limits. It carries the resourceVersion that was read, so that
    limits changed since then fail the patch (409) instead of being overwritten."""
    meta = {"name": "default", "resourceVersion": existing["metadata"]["resourceVersion"]}
    if annotation is not False:
        meta["annotations"] = {GPU_LIMITS_ANNOTATION: annotation}
    return {
        "apiVersion": CLUSTER_AUTOSCALER_API,
        "kind": "ClusterAutoscaler",
        "metadata": meta,
        "spec": {"resourceLimits": {"gpus": gpus}},
    }


def cluster_autoscaler(existing, limits, adopt=False):
    """What to apply to ClusterAutoscaler default: all of it when absent, else a merge patch of its GPU limits.

    In our own autoscaler, ours replace the limits of the same type. In someone else's, only the types recorded in
    its annotation as ours are replaced and new types added (and recorded); a limit of the same type that someone
    else set stays when it equals ours (and is not recorded, so remove leaves it), and fails the plan when it
    differs, unless ``adopt``, which replaces and records it. Every other setting is left alone.
    """
    if not existing:
        return {
            "apiVersion": CLUSTER_AUTOSCALER_API,
            "kind": "ClusterAutoscaler",
            "metadata": {"name": "default", "labels": ownership.labels(COMPONENT)},
            "spec": {"resourceLimits": {"gpus": limits}},
        }
    gpus = _ca_gpus(existing)
    if ownership.is_ours(existing):
        types = {limit["type"] for limit in limits}
        return _ca_patch(existing, [g for g in gpus if g.get("type") not in types] + limits)
    recorded = _recorded(existing)
    theirs = {g.get("type"): g for g in gpus if g.get("type") not in recorded}
    conflicts = [
        (theirs[limit["type"]], limit)
        for limit in limits
        if limit["type"] in theirs
        and (theirs[limit["type"]].get("min", 0), theirs[limit["type"]].get("max")) != (0, limit["max"])
    ]
    if conflicts and not adopt:
        raise _error(
            "no GPU limit of another owner in ClusterAutoscaler default for the accelerator of a pool",
            "; ".join(
                "{0} min {1} max {2} (this collection would set min 0 max {3})".format(
                    g["type"], g.get("min", 0), g.get("max"), ours["max"]
                )
                for g, ours in conflicts
            ),
            "Someone else set that limit (it is not recorded in the annotation {0}). Give the pools another "
            "accelerator, leave machinesets_autoscaling off, or set gpu_infra_adopt=true to replace the limit with "
            "this collection's (remove then takes it out). Nothing was changed.".format(GPU_LIMITS_ANNOTATION),
        )
    taken = {pair[1]["type"] for pair in conflicts} if adopt else set()
    ours = [limit for limit in limits if limit["type"] not in theirs or limit["type"] in taken]
    types = {limit["type"] for limit in ours}
    return _ca_patch(
        existing,
        [g for g in gpus if g.get("type") not in types] + ours,
        ",".join(sorted(recorded | types)) or None,
    )


def _ca_gpus(ca):
    return (((ca or {}).get("spec") or {}).get("resourceLimits") or {}).get("gpus") or []


def ready_items(items, gpu_allocatable=True):
    """rhoai.gpu_infra.ready_wait items: the machines Running, every replica ready and, if asked, allocatable GPUs."""
    names = [item["machineset"]["metadata"]["name"] for item in items]
    total = sum(item["machineset"]["spec"]["replicas"] for item in items)
    machines = dict(api_version=API_VERSION, namespace=MAPI_NAMESPACE)
    out = []
    if total:
        out.append(
            dict(
                machines,
                description="machinesets: machines of " + ", ".join(names),
                kind="Machine",
                label_selectors=["{0} in ({1})".format(MACHINESET_LABEL, ",".join(names))],
                min_count=total,
                field={"path": "status.phase", "equals": "Running"},
                remedy=CAPACITY_REMEDY,
            )
        )
    out += [
        dict(
            machines,
            description="machinesets: MachineSet " + name,
            kind="MachineSet",
            name=name,
            replicas=True,
            remedy=CAPACITY_REMEDY + " A Running machine whose node is not Ready: oc describe node.",
        )
        for name in names
    ]
    if total and gpu_allocatable:
        out.append(
            dict(
                description="machinesets: allocatable nvidia.com/gpu on the GPU nodes",
                api_version="v1",
                kind="Node",
                label_selectors=[GPU_ROLE_LABEL],
                min_count=total,
                field={"path": ["status", "allocatable", "nvidia.com/gpu"], "not_in": [None, "0"]},
                remedy="Ready nodes without nvidia.com/gpu: check NFD and the GPU operator (ClusterPolicy), or run "
                "the rhoai.gpu_infra.diagnose playbook, then re-run.",
            )
        )
    return out


def aws_requests(items):
    """What aws_gpu_preflight checks: per pool, the machines still to be started (running ones hold their quota)."""
    return [
        dict(
            instance_type=item["pool"]["instance_type"],
            zone=item["pool"]["zone"],
            count=max(item["machineset"]["spec"]["replicas"] - item["current_replicas"], 0),
        )
        for item in items
    ]


def removal(machinesets, autoscalers, existing_ca):
    """What the machinesets role's remove deletes: our MachineSets and MachineAutoscalers (as listed by our label),
    ClusterAutoscaler default when ours, or else only the GPU limits its annotation records as ours.

    Returns dict(machinesets, autoscalers, cluster_autoscaler, delete_cluster_autoscaler, removed, kept): the trim
    patch (null when nothing of ours is in it) also drops the annotation; ``removed`` and ``kept`` are what teardown
    reports.
    """
    ca_ours = bool(existing_ca) and ownership.is_ours(existing_ca)
    recorded = set() if ca_ours or not existing_ca else _recorded(existing_ca)
    trim = None
    if recorded:
        trim = _ca_patch(existing_ca, [g for g in _ca_gpus(existing_ca) if g.get("type") not in recorded], None)

    def refs(kind, objects):
        return [{"object": "{0} {1}/{2}".format(kind, MAPI_NAMESPACE, o["metadata"]["name"])} for o in objects]

    return dict(
        machinesets=machinesets,
        autoscalers=autoscalers,
        cluster_autoscaler=trim,
        delete_cluster_autoscaler=ca_ours,
        removed=refs("MachineAutoscaler", autoscalers)
        + refs("MachineSet", machinesets)
        + ([{"object": "ClusterAutoscaler default"}] if ca_ours else []),
        kept=[
            {
                "object": "ClusterAutoscaler default",
                "reason": "someone else's; only the GPU limits this collection added ({0}) were taken out".format(
                    ", ".join(sorted(recorded))
                ),
            }
        ]
        if trim
        else [],
    )
