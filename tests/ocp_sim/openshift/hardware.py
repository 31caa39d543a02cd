"""What the simulated cloud knows about machines: instance types and the "hardware facts" a node carries.

A real node's PCI devices, kernel and OS come from the machine itself; NFD's worker reads them. In the simulator a
node carries them as annotations (written by whoever creates the node: the bootstrap for masters, the machine-api
controller for workers), and the simulated NFD turns them into `feature.node.kubernetes.io/*` labels only while its
worker pod really runs on that node.
"""

from __future__ import annotations

# Node annotation keys ("hardware facts")
PCI_VENDORS = "sim.ocp/pci-vendors"  # comma-separated PCI vendor ids, e.g. "8086" or "8086,10de"
GPU_COUNT = "sim.ocp/gpu-count"  # "0", "1", "4", "8"
GPU_PRODUCT = "sim.ocp/gpu-product"  # e.g. "NVIDIA-L4" (absent when no GPU)
KERNEL_VERSION = "sim.ocp/kernel-version"  # uname -r
OSTREE_VERSION = "sim.ocp/ostree-version"  # /etc/os-release OSTREE_VERSION

VENDOR_INTEL = "8086"
VENDOR_AMAZON = "1d0f"  # ENA network adapter / NVMe on every Nitro instance
VENDOR_NVIDIA = "10de"

# RHCOS of OpenShift 4.20 (RHEL 9.6 based)
KERNEL = "5.14.0-570.42.1.el9_6.x86_64"
OSTREE = "9.6.20250925-0"
OS_IMAGE = "Red Hat Enterprise Linux CoreOS 9.6.20250925-0 (Plow)"
KUBELET_VERSION = "v1.33.5"

#: instance type -> {gpus, vcpu, memory_gib, gpu_product}. G6 (NVIDIA L4, 24 GB) per operators.md §3.
INSTANCE_TYPES = {
    "m6i.large": {"gpus": 0, "vcpu": 2, "memory_gib": 8},
    "m6i.xlarge": {"gpus": 0, "vcpu": 4, "memory_gib": 16},
    "m6i.2xlarge": {"gpus": 0, "vcpu": 8, "memory_gib": 32},
    "m6i.4xlarge": {"gpus": 0, "vcpu": 16, "memory_gib": 64},
    "m5.xlarge": {"gpus": 0, "vcpu": 4, "memory_gib": 16},
    "m5.2xlarge": {"gpus": 0, "vcpu": 8, "memory_gib": 32},
    "g6.xlarge": {"gpus": 1, "vcpu": 4, "memory_gib": 16},
    "g6.2xlarge": {"gpus": 1, "vcpu": 8, "memory_gib": 32},
    "g6.4xlarge": {"gpus": 1, "vcpu": 16, "memory_gib": 64},
    "g6.8xlarge": {"gpus": 1, "vcpu": 32, "memory_gib": 128},
    "g6.12xlarge": {"gpus": 4, "vcpu": 48, "memory_gib": 192},
    "g6.16xlarge": {"gpus": 1, "vcpu": 64, "memory_gib": 256},
    "g6.24xlarge": {"gpus": 4, "vcpu": 96, "memory_gib": 384},
    "g6.48xlarge": {"gpus": 8, "vcpu": 192, "memory_gib": 768},
}
for _t, _spec in INSTANCE_TYPES.items():
    _spec["gpu_product"] = "NVIDIA-L4" if _spec["gpus"] else ""
    _spec["gpu_memory_mib"] = 23034 if _spec["gpus"] else 0
del _t, _spec

MAX_PODS = 250  # OpenShift's kubelet default


def instance_type(name):
    """The table entry for `name`, or None when the simulated cloud does not know it."""
    return INSTANCE_TYPES.get(name)


def node_annotations(type_name):
    """Hardware-fact annotations of a node of that instance type (KeyError for an unknown type)."""
    spec = INSTANCE_TYPES[type_name]
    vendors = [VENDOR_INTEL, VENDOR_AMAZON] + ([VENDOR_NVIDIA] if spec["gpus"] else [])
    ann = {
        PCI_VENDORS: ",".join(vendors),
        GPU_COUNT: str(spec["gpus"]),
        KERNEL_VERSION: KERNEL,
        OSTREE_VERSION: OSTREE,
    }
    if spec["gpus"]:
        ann[GPU_PRODUCT] = spec["gpu_product"]
    return ann


def node_capacity(type_name):
    """status.capacity of a node of that type (the kubelet reserves a little; allocatable is computed by callers)."""
    spec = INSTANCE_TYPES[type_name]
    return {
        "cpu": str(spec["vcpu"]),
        "memory": "{0}Ki".format(spec["memory_gib"] * 1024 * 1024),
        "pods": str(MAX_PODS),
        "ephemeral-storage": "125293548Ki",
    }


def machine_annotations(type_name):
    """The `machine.openshift.io/{GPU,vCPU,memoryMb}` annotations the AWS machine controller writes on a MachineSet."""
    spec = INSTANCE_TYPES[type_name]
    return {
        "machine.openshift.io/GPU": str(spec["gpus"]),
        "machine.openshift.io/vCPU": str(spec["vcpu"]),
        "machine.openshift.io/memoryMb": str(spec["memory_gib"] * 1024),
    }
