# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU node readiness: Node, Pod and DaemonSet dicts in, per-node facts and named findings out.

Pure functions, no API access: ``collect`` and ``cluster_identity`` are the only places that read the cluster,
through the facade of ``client.py`` (or a fake in unit tests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import is_api_error

NFD = "feature.node.kubernetes.io/"
PCI_LABEL = NFD + "pci-10de.present"
KERNEL_LABELS = (NFD + "kernel-version.full", NFD + "kernel-version.major", NFD + "kernel-version.minor")
OSTREE_LABEL = NFD + "system-os_release.OSTREE_VERSION"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_ROLE_LABEL = "node-role.kubernetes.io/gpu"
GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_SELECTORS = (PCI_LABEL + "=true", GPU_ROLE_LABEL)

NFD_WORKER_DAEMONSET = "nfd-worker"
NFD_WORKER_SELECTOR = "app.kubernetes.io/component=worker"
DRIVER_DAEMONSET = "nvidia-driver-daemonset"
DRIVER_POD_SELECTOR = "app=nvidia-driver-daemonset"

DTK_ERROR = "FATAL: failed to install elfutils-libelf-devel. RHEL entitlement may be improperly deployed."

# The DaemonSet controller adds these to every DaemonSet pod (pkg/controller/daemon/util), so node conditions
# turned into taints never keep a daemon off a node; without them a NotReady node would be misdiagnosed.
DAEMONSET_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)

# PreferNoSchedule is only a preference: it never keeps a DaemonSet pod off a node.
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def tolerates(toleration, taint):
    """Kubernetes' Toleration.ToleratesTaint (k8s.io/api/core/v1/toleration.go)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taints(taints, tolerations):
    """The taints that keep a DaemonSet pod with ``tolerations`` off the node."""
    tolerations = list(tolerations or []) + list(DAEMONSET_TOLERATIONS)
    return [
        taint
        for taint in taints or []
        if taint.get("effect") in BLOCKING_EFFECTS and not any(tolerates(t, taint) for t in tolerations)
    ]


def format_taint(taint):
    value = taint.get("value")
    return "{0}{1}:{2}".format(taint.get("key", ""), "=" + value if value else "", taint.get("effect", ""))


def daemonset_tolerations(daemonset):
    return (((daemonset or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("tolerations") or []


def _allocatable_gpus(node):
    value = ((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _ready_condition(node):
    """The node's Ready condition as "True", or "<status> (<reason>: <message>)" ("Unknown" when the kubelet has
    stopped posting it, or when there is none yet)."""
    ready = next(
        (c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"),
        {"status": "Unknown", "reason": "NoReadyCondition", "message": "the node has no Ready condition"},
    )
    if ready.get("status") == "True":
        return "True"
    return "{0} ({1}: {2})".format(ready.get("status"), ready.get("reason") or "no reason", ready.get("message") or "")


def _pods_on(pods, node_name):
    return [p for p in pods if (p.get("spec") or {}).get("nodeName") == node_name]


def _running(pods):
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]


def _pod_state(pod):
    """'Running', or the phase plus the reason a container is stuck (CrashLoopBackOff, ImagePullBackOff, ...)."""
    status = pod.get("status") or {}
    reasons = []
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = state.get("waiting") or state.get("terminated") or {}
        if waiting.get("reason"):
            reasons.append("{0}: {1}".format(container.get("name"), waiting["reason"]))
    return "{0} {1}".format(pod["metadata"]["name"], ", ".join([status.get("phase") or "Unknown", *reasons]))


def node_facts(node, nfd_worker_ds, nfd_worker_pods, gpu_daemonsets):
    """What one GPU node looks like to NFD and the GPU operator."""
    metadata = node.get("metadata") or {}
    labels = metadata.get("labels") or {}
    name = metadata["name"]
    taints = (node.get("spec") or {}).get("taints") or []
    workers = _running(_pods_on(nfd_worker_pods, name))
    return {
        "name": name,
        "labels": {
            key: labels[key] for key in (PCI_LABEL, OSTREE_LABEL, GPU_PRESENT_LABEL, *KERNEL_LABELS) if key in labels
        },
        "gpu_role": GPU_ROLE_LABEL in labels,
        "pci_10de_present": labels.get(PCI_LABEL) == "true",
        "kernel_labels": all(key in labels for key in KERNEL_LABELS),
        "ostree_label": OSTREE_LABEL in labels,
        "gpu_present": labels.get(GPU_PRESENT_LABEL) == "true",
        "allocatable_gpus": _allocatable_gpus(node),
        "taints": [format_taint(t) for t in taints],
        "ready": _ready_condition(node),
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        "nfd_worker_pod": workers[0]["metadata"]["name"] if workers else None,
        "nfd_worker_untolerated": [
            format_taint(t) for t in untolerated_taints(taints, daemonset_tolerations(nfd_worker_ds))
        ]
        if nfd_worker_ds
        else [],
        "gpu_operator_untolerated": {
            ds["metadata"]["name"]: [format_taint(t) for t in untolerated_taints(taints, daemonset_tolerations(ds))]
            for ds in gpu_daemonsets
            if untolerated_taints(taints, daemonset_tolerations(ds))
        },
    }


def toleration_for(formatted):
    """The toleration, as YAML flow text, that tolerates a taint written by ``format_taint`` (key=value:Effect)."""
    key_value, effect = formatted.rsplit(":", 1)
    key, value = key_value.split("=", 1) if "=" in key_value else (key_value, "")
    if value:
        return "{{key: {0}, operator: Equal, value: {1}, effect: {2}}}".format(key, value, effect)
    return "{{key: {0}, operator: Exists, effect: {1}}}".format(key, effect)


def gpu_operator_toleration_remedy(untolerated):
    """What to set when GPU operator DaemonSets do not tolerate a node's taints: the variable, with the exact value."""
    taints = sorted({taint for listed in untolerated.values() for taint in listed})
    return (
        "Set gpu_operator_extra_tolerations (a variable of the gpu_operator role) to tolerate {0}, e.g. "
        "gpu_operator_extra_tolerations: [{1}], and re-run the site playbook. The role writes it, after the "
        "nvidia.com/gpu:NoSchedule toleration it always sets, into ClusterPolicy gpu-cluster-policy "
        "spec.daemonsets.tolerations; a NoSchedule taint may instead be listed by its key in "
        "gpu_operator_extra_toleration_keys.".format(", ".join(taints), ", ".join(toleration_for(t) for t in taints))
    )


def _finding(node, severity, code, message, *, evidence, remedy):
    return {
        "node": node,
        "severity": severity,
        "code": code,
        "message": message,
        "evidence": evidence,
        "remedy": remedy,
    }


def _node_state_findings(facts, evidence):
    """A node that is not Ready, or cordoned."""
    name = facts["name"]
    found = []
    if facts["ready"] != "True":
        found.append(
            _finding(
                name,
                "error",
                "gpu-node-not-ready",
                "{0} is not Ready (condition Ready {1}): its pods stop and no new pod starts there.".format(
                    name, facts["ready"]
                ),
                evidence=evidence,
                remedy="oc describe node {0}; oc get machines -n openshift-machine-api -o wide (the machine behind "
                "it, and whether AWS still runs the instance).".format(name),
            )
        )
    if facts["unschedulable"]:
        found.append(
            _finding(
                name,
                "error",
                "gpu-node-cordoned",
                "{0} is cordoned (spec.unschedulable: true): no new pod is scheduled there, so its GPUs take no new "
                "work.".format(name),
                evidence=evidence,
                remedy="When its maintenance is over: oc adm uncordon {0}.".format(name),
            )
        )
    return found


def node_findings(facts, nfd_worker_ds_found, driver_pods, nfd_namespace, gpu_operator_namespace):
    """Named diagnoses for one node, most fundamental first: NFD, then the GPU operator on top of it."""
    name = facts["name"]
    found = []
    evidence = "taints {0}; labels {1}; NFD worker pod {2}".format(
        facts["taints"] or "none", facts["labels"] or "none", facts["nfd_worker_pod"] or "none"
    )
    # Before NFD: labels and drivers count for nothing on a node that takes no new pod.
    found.extend(_node_state_findings(facts, evidence))
    blocked = facts["nfd_worker_untolerated"] and not facts["nfd_worker_pod"]
    if blocked:
        taint = ", ".join(facts["nfd_worker_untolerated"])
        remedy = (
            "Add a toleration for {0} to NodeFeatureDiscovery nfd-instance spec.operand.workerTolerations in {1} "
            "(the nfd role's nfd_worker_tolerations), e.g. [{{operator: Exists}}].".format(taint, nfd_namespace)
        )
        if facts["kernel_labels"]:
            found.append(
                _finding(
                    name,
                    "warning",
                    "nfd-blocked-stale-labels",
                    "NFD worker cannot run on {0} (taint {1} not tolerated). Its kernel-version labels are left over "
                    "from an earlier run and will not follow a kernel update, after which the GPU driver falls back "
                    "from the Driver Toolkit to dnf and fails.".format(name, taint),
                    evidence=evidence,
                    remedy=remedy,
                )
            )
        else:
            found.append(
                _finding(
                    name,
                    "error",
                    "nfd-blocked-dtk-fallback",
                    "NFD worker cannot run on {0} (taint {1} not tolerated) -> no kernel-version labels -> the GPU "
                    "driver falls back from the Driver Toolkit to dnf and fails with '{2}' This is not an "
                    "entitlement problem.".format(name, taint, DTK_ERROR),
                    evidence=evidence,
                    remedy=remedy,
                )
            )
    elif not nfd_worker_ds_found and not facts["kernel_labels"]:
        found.append(
            _finding(
                name,
                "error",
                "nfd-worker-missing",
                "No NFD worker DaemonSet {0} in {1}, so nothing labels {2} with its kernel version and the GPU "
                "driver cannot use the Driver Toolkit.".format(NFD_WORKER_DAEMONSET, nfd_namespace, name),
                evidence=evidence,
                remedy="Install NFD and create NodeFeatureDiscovery nfd-instance (the nfd role), then re-run verify.",
            )
        )
    elif not facts["nfd_worker_pod"] and not facts["kernel_labels"]:
        found.append(
            _finding(
                name,
                "error",
                "nfd-worker-not-running",
                "The NFD worker tolerates the taints of {0} but no worker pod is Running there, so the node has no "
                "kernel-version labels.".format(name),
                evidence=evidence,
                remedy="Look at the worker pods: oc get pods -n {0} -l {1} -o wide; oc get events -n {0}.".format(
                    nfd_namespace, NFD_WORKER_SELECTOR
                ),
            )
        )
    elif facts["nfd_worker_pod"] and not facts["kernel_labels"]:
        found.append(
            _finding(
                name,
                "error",
                "kernel-labels-missing",
                "NFD worker {0} runs on {1} but the node has no kernel-version labels.".format(
                    facts["nfd_worker_pod"], name
                ),
                evidence=evidence,
                remedy="Check the worker and master logs: oc logs -n {0} {1}; oc logs -n {0} -l "
                "app.kubernetes.io/component=master.".format(nfd_namespace, facts["nfd_worker_pod"]),
            )
        )
    if facts["kernel_labels"] and not facts["ostree_label"]:
        found.append(
            _finding(
                name,
                "warning",
                "ostree-label-missing",
                "{0} has kernel-version labels but no {1}, which the Driver Toolkit image selection also uses.".format(
                    name, OSTREE_LABEL
                ),
                evidence=evidence,
                remedy="Check that the NFD worker config does not disable the system source (workerConfig sources).",
            )
        )
    if facts["nfd_worker_pod"] and not facts["pci_10de_present"]:
        found.append(
            _finding(
                name,
                "error",
                "pci-label-missing",
                "NFD worker {0} runs on GPU node {1} but did not label it {2}=true, so the GPU operator does not "
                "deploy there.".format(facts["nfd_worker_pod"], name, PCI_LABEL),
                evidence=evidence,
                remedy='Set sources.pci.deviceClassWhitelist ["0200", "03", "12"] and deviceLabelFields ["vendor"] in '
                "NodeFeatureDiscovery nfd-instance spec.workerConfig.configData (the nfd role's nfd_worker_config), "
                "and check that the instance type really has an NVIDIA GPU.",
            )
        )
    if facts["gpu_operator_untolerated"]:
        listed = "; ".join(
            "{0} does not tolerate {1}".format(ds, ", ".join(taints))
            for ds, taints in sorted(facts["gpu_operator_untolerated"].items())
        )
        found.append(
            _finding(
                name,
                "error",
                "gpu-operator-taint-not-tolerated",
                "GPU operator DaemonSets cannot run on {0}: {1}. spec.daemonsets.tolerations of the ClusterPolicy "
                "replaces the operator's default tolerations.".format(name, listed),
                evidence=evidence,
                remedy=gpu_operator_toleration_remedy(facts["gpu_operator_untolerated"]),
            )
        )
    if facts["kernel_labels"] and not facts["gpu_present"] and not facts["gpu_operator_untolerated"]:
        pods = _pods_on(driver_pods, name)
        state = "; ".join(_pod_state(p) for p in pods) or "no driver pod on the node"
        found.append(
            _finding(
                name,
                "error",
                "gpu-operator-not-ready",
                "{0} has its kernel-version labels but no {1}=true: the GPU driver is not ready there ({2}).".format(
                    name, GPU_PRESENT_LABEL, state
                ),
                evidence=evidence + "; driver: " + state,
                remedy="Check ClusterPolicy gpu-cluster-policy status.state and the driver pod: oc logs -n {0} -l {1} "
                "--all-containers.".format(gpu_operator_namespace, DRIVER_POD_SELECTOR),
            )
        )
    if facts["gpu_present"] and not facts["allocatable_gpus"]:
        found.append(
            _finding(
                name,
                "error",
                "gpu-allocatable-zero",
                "{0} is labelled {1}=true but has {2} allocatable {3}.".format(
                    name, GPU_PRESENT_LABEL, facts["allocatable_gpus"] or 0, GPU_RESOURCE
                ),
                evidence=evidence,
                remedy="Check the device plugin: oc get pods -n {0} -l app=nvidia-device-plugin-daemonset -o wide "
                "and its logs.".format(gpu_operator_namespace),
            )
        )
    if not found:
        found.append(
            _finding(
                name,
                "info",
                "gpu-node-ready",
                "{0}: labelled by NFD, GPU driver ready, {1} allocatable {2}.".format(
                    name, facts["allocatable_gpus"], GPU_RESOURCE
                ),
                evidence=evidence,
                remedy="",
            )
        )
    return found


def diagnose(
    gpu_nodes,
    nfd_worker_ds,
    nfd_worker_pods,
    gpu_daemonsets,
    driver_pods,
    *,
    nfd_namespace="openshift-nfd",
    gpu_operator_namespace="nvidia-gpu-operator",
):
    """Per-node facts, findings, health and a one-line summary for the GPU nodes given."""
    nodes = [node_facts(n, nfd_worker_ds, nfd_worker_pods, gpu_daemonsets) for n in gpu_nodes]
    findings = []
    for facts in nodes:
        findings.extend(node_findings(facts, bool(nfd_worker_ds), driver_pods, nfd_namespace, gpu_operator_namespace))
    if not nodes:
        findings.append(
            _finding(
                None,
                "info",
                "no-gpu-nodes",
                "No GPU nodes (label {0}=true or {1}). Have the GPU MachineSets been scaled up yet?".format(
                    PCI_LABEL, GPU_ROLE_LABEL
                ),
                evidence="0 nodes matched",
                remedy="Scale a GPU MachineSet (the machinesets role, or oc scale machineset -n "
                "openshift-machine-api) and wait for its nodes to join.",
            )
        )
    errors = [f for f in findings if f["severity"] == "error"]
    warnings = [f for f in findings if f["severity"] == "warning"]
    ready = len([f for f in findings if f["code"] == "gpu-node-ready"])
    summary = "{0} GPU node(s), {1} ready, {2} allocatable {3}; {4} error(s), {5} warning(s){6}".format(
        len(nodes),
        ready,
        sum(n["allocatable_gpus"] or 0 for n in nodes),
        GPU_RESOURCE,
        len(errors),
        len(warnings),
        ": " + ", ".join(sorted({"{0} on {1}".format(f["code"], f["node"]) for f in errors})) if errors else "",
    )
    return {"nodes": nodes, "findings": findings, "healthy": not errors, "summary": summary}


def _check(component, check, status, evidence, remedy=""):
    return {"component": component, "check": check, "status": status, "evidence": evidence, "remedy": remedy}


NODES_CHECK = "GPU nodes Ready and schedulable"
NODES_CODES = ("gpu-node-not-ready", "gpu-node-cordoned")
KERNEL_CHECK = "Kernel-version labels on GPU nodes (DTK)"
PCI_CHECK = "NVIDIA PCI label on GPU nodes"
ALLOCATABLE_CHECK = "Allocatable nvidia.com/gpu on GPU nodes"
KERNEL_CODES = ("nfd-blocked-dtk-fallback", "nfd-worker-missing", "nfd-worker-not-running", "kernel-labels-missing")
PCI_CODES = ("pci-label-missing",)
ALLOCATABLE_CODES = ("gpu-operator-taint-not-tolerated", "gpu-operator-not-ready", "gpu-allocatable-zero")


def _remedies(found, codes):
    return [f["remedy"] for f in found if f["code"] in codes]


def _no_nfd_worker(facts, found):
    """Why no NFD worker pod runs on the node, from its facts and its findings."""
    if facts["nfd_worker_untolerated"]:
        return "no NFD worker pod runs there (taint {0} not tolerated)".format(
            ", ".join(facts["nfd_worker_untolerated"])
        )
    if any(f["code"] == "nfd-worker-missing" for f in found):
        return "no NFD worker pod runs there (no {0} DaemonSet)".format(NFD_WORKER_DAEMONSET)
    if any(f["code"] == "nfd-worker-not-running" for f in found):
        return "no NFD worker pod runs there ({0} tolerates its taints, but its pod is not Running)".format(
            NFD_WORKER_DAEMONSET
        )
    return "no NFD worker pod runs there"


def _unique(texts):
    return [t for i, t in enumerate(texts) if t not in texts[:i]]


def _fix_first(titles, remedies, then):
    return "Fix {0} first: {1} {2}".format(
        " and ".join("'{0}'".format(t) for t in titles), " ".join(_unique(remedies)), then
    )


def _kernel_unexplained(facts, found):
    """Evidence and remedy for a node without kernel-version labels that no finding of the kernel check explains.

    node_findings names a cause for every such node; this keeps the check from passing should that ever change.
    """
    worker = facts["nfd_worker_pod"]
    evidence = "{0} has no kernel-version labels ({1}): {2}".format(
        facts["name"],
        ", ".join(KERNEL_LABELS),
        "NFD worker {0} runs there".format(worker) if worker else _no_nfd_worker(facts, found),
    )
    remedy = (
        "NFD labels a node from the NFD worker pod on it: run the rhoai.gpu_infra.diagnose playbook, which shows the "
        "{0} DaemonSet, its pods and the node's labels.".format(NFD_WORKER_DAEMONSET)
    )
    return evidence, remedy


def _pci_unexplained(facts, found):
    """Evidence and remedy for a node without the PCI label that no pci-label-missing finding explains.

    node_findings raises pci-label-missing only where an NFD worker runs, yet only that worker labels the node: the
    cause is whatever keeps the worker off it, which the kernel-version check names.
    """
    name = facts["name"]
    evidence = "{0} has no {1}=true (found {2}): {3}, and only the NFD worker on a node puts that label there".format(
        name, PCI_LABEL, facts["labels"].get(PCI_LABEL, "no such label"), _no_nfd_worker(facts, found)
    )
    kernel = _remedies(found, KERNEL_CODES)
    stale = _remedies(found, ("nfd-blocked-stale-labels",))
    if kernel:
        remedy = _fix_first([KERNEL_CHECK], kernel, "The NFD worker then labels the node {0}=true.".format(PCI_LABEL))
    elif stale:
        # Leftover kernel-version labels pass the kernel-version check (a warning only): nothing to fix first there.
        remedy = "The NFD worker must run on {0} to label it: {1}".format(name, " ".join(stale))
    else:
        remedy = (
            "NFD labels a node only from the NFD worker pod on it: install NFD with NodeFeatureDiscovery nfd-instance "
            "(the nfd role) and find out why no {0} pod runs on {1}; the rhoai.gpu_infra.diagnose playbook shows the "
            "DaemonSet, its pods and the node's labels.".format(NFD_WORKER_DAEMONSET, name)
        )
    return evidence, remedy


def _allocatable_unexplained(facts, found):
    """Evidence and remedy for a node without allocatable GPUs that no GPU operator finding explains.

    node_findings blames the GPU operator only on nodes NFD has labelled: on the others the missing NFD labels are the
    cause, and the NFD checks say what to do.
    """
    causes, titles, remedies = [], [], []
    if not facts["kernel_labels"]:
        causes.append(
            "no kernel-version labels, so the GPU operator does not get its driver running there (the Driver Toolkit "
            "needs them)"
        )
        titles.append(KERNEL_CHECK)
        remedies.extend(_remedies(found, KERNEL_CODES) or [_kernel_unexplained(facts, found)[1]])
    if not facts["pci_10de_present"]:
        causes.append("no {0}=true, so the GPU operator does not take it for a GPU node".format(PCI_LABEL))
        pci = _remedies(found, PCI_CODES)
        # Without a worker on the node, its kernel-version labels and its PCI label have one cause and one fix.
        if pci or not titles:
            titles.append(PCI_CHECK)
            remedies.extend(pci or [_pci_unexplained(facts, found)[1]])
    evidence = "{0} has no allocatable {1} (expected 1 or more, found {2}): {3}".format(
        facts["name"],
        GPU_RESOURCE,
        "none" if facts["allocatable_gpus"] is None else facts["allocatable_gpus"],
        "; ".join(causes) or "no {0}=true, so its GPU driver is not ready".format(GPU_PRESENT_LABEL),
    )
    if titles:
        remedy = _fix_first(
            titles,
            remedies,
            "The GPU operator then runs its driver and device plugin there, and they make {0} allocatable.".format(
                GPU_RESOURCE
            ),
        )
    else:
        remedy = (
            "Check ClusterPolicy gpu-cluster-policy status.state and the GPU operator pods on {0}; the "
            "rhoai.gpu_infra.diagnose playbook shows them.".format(facts["name"])
        )
    return evidence, remedy


def _record(nodes, by_node, component, check, codes, *, holds, unexplained, evidence_of):
    """Failed with the node's findings of ``codes``, or, where there are none and ``holds`` does not, with what
    ``unexplained`` says; passed only when no node failed."""
    evidence, remedies = [], []
    for facts in nodes:
        found = by_node.get(facts["name"], [])
        own = [f for f in found if f["code"] in codes]
        if own:
            evidence.extend(f["message"] for f in own)
            remedies.extend(f["remedy"] for f in own)
        elif not holds(facts):
            text, remedy = unexplained(facts, found)
            evidence.append(text)
            remedies.append(remedy)
    if evidence:
        return _check(component, check, "failed", " | ".join(evidence), " | ".join(_unique(remedies)))
    return _check(component, check, "passed", ", ".join(evidence_of(n) for n in nodes))


def checks(result):
    """The verify playbook's check records (see the collection's check record interface) for a diagnosis.

    A check passes only when what it states holds on every GPU node. node_findings leaves out the findings that a more
    fundamental one explains, so a node that fails the statement without a finding of the check's own codes fails the
    check too, with a remedy that names the check of the cause.
    """
    nodes, findings = result["nodes"], result["findings"]
    if not nodes:
        info = findings[0]
        return [_check("gpu", "GPU nodes present", "skipped", info["message"], info["remedy"])]
    by_node = {}
    for finding in findings:
        by_node.setdefault(finding["node"], []).append(finding)
    return [
        _check("gpu", "GPU nodes present", "passed", ", ".join(n["name"] for n in nodes)),
        _record(
            nodes,
            by_node,
            "gpu",
            NODES_CHECK,
            NODES_CODES,
            holds=lambda n: n["ready"] == "True" and not n["unschedulable"],
            # node_findings raises one of NODES_CODES for every node that fails this
            unexplained=lambda facts, found: ("{0}: Ready {1}".format(facts["name"], facts["ready"]), ""),
            evidence_of=lambda n: "{0} Ready, schedulable".format(n["name"]),
        ),
        _record(
            nodes,
            by_node,
            "nfd",
            KERNEL_CHECK,
            KERNEL_CODES,
            holds=lambda n: n["kernel_labels"],
            unexplained=_kernel_unexplained,
            evidence_of=lambda n: "{0} kernel {1}".format(n["name"], n["labels"].get(KERNEL_LABELS[0])),
        ),
        _record(
            nodes,
            by_node,
            "nfd",
            PCI_CHECK,
            PCI_CODES,
            holds=lambda n: n["pci_10de_present"],
            unexplained=_pci_unexplained,
            evidence_of=lambda n: "{0} {1}={2}".format(n["name"], PCI_LABEL, n["labels"].get(PCI_LABEL)),
        ),
        _record(
            nodes,
            by_node,
            "gpu_operator",
            ALLOCATABLE_CHECK,
            ALLOCATABLE_CODES,
            holds=lambda n: (n["allocatable_gpus"] or 0) > 0,
            unexplained=_allocatable_unexplained,
            evidence_of=lambda n: "{0}={1}".format(n["name"], n["allocatable_gpus"]),
        ),
    ]


def cluster_identity(k8s):
    """``{api_url, infrastructure_name}``: which cluster was read (Infrastructure/cluster, else the client's URL)."""
    try:
        infrastructure = k8s.get("config.openshift.io/v1", "Infrastructure", "cluster") or {}
    except Exception as exc:  # identity only labels the report: without it the API URL still names the cluster
        if not is_api_error(exc):
            raise
        infrastructure = {}
    status = infrastructure.get("status") or {}
    # Without an Infrastructure object the URL the client talks to still names the cluster.
    api_url = status.get("apiServerURL") or getattr(k8s, "host", None)
    return {"api_url": api_url, "infrastructure_name": status.get("infrastructureName")}


def gpu_nodes(k8s, node_selector=None):
    """The GPU nodes: one list per default selector (a label selector cannot express OR), merged by name."""
    selectors = [node_selector] if node_selector else list(DEFAULT_SELECTORS)
    merged = {}
    for selector in selectors:
        for node in k8s.list("v1", "Node", label_selector=selector):
            merged.setdefault(node["metadata"]["name"], node)
    return [merged[name] for name in sorted(merged)]


def collect(k8s, node_selector=None, nfd_namespace="openshift-nfd", gpu_operator_namespace="nvidia-gpu-operator"):
    """Read what ``diagnose`` needs from the cluster and diagnose it."""
    return diagnose(
        gpu_nodes(k8s, node_selector),
        k8s.get("apps/v1", "DaemonSet", NFD_WORKER_DAEMONSET, namespace=nfd_namespace),
        k8s.list("v1", "Pod", namespace=nfd_namespace, label_selector=NFD_WORKER_SELECTOR),
        k8s.list("apps/v1", "DaemonSet", namespace=gpu_operator_namespace),
        k8s.list("v1", "Pod", namespace=gpu_operator_namespace, label_selector=DRIVER_POD_SELECTOR),
        nfd_namespace=nfd_namespace,
        gpu_operator_namespace=gpu_operator_namespace,
    )
