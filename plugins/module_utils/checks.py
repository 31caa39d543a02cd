# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify checks: objects read from the API in, check records ``{component, check, status, evidence, remedy}``
out.

Every check of ``playbooks/verify.yml`` and of the roles' ``tasks/verify.yml`` is made here, from a component's check
spec (``__<role>_checks`` in the role's vars/main.yml, data only). Checks that share a shape are data-driven:

* ``operator``: the OLM operator's CSV has Succeeded (through its Subscription's ``installedCSV``), and its namespace
  carries each of ``namespace_labels``;
* ``crds``: each CRD is Established;
* ``operands``: an object exists, or has condition X=True, and holds what site applies;
* ``pods``: the pods named ``<prefix>-...`` exist and are all Running.

Small functions make the others: the GPU operator (ClusterPolicy, its pods, the DCGM dashboard), user workload
monitoring, the GPU MachineSets, Red Hat Connectivity Link, Service Mesh v2 and the GPU node checks of
``nodes.py``.

Pure functions, except ``Reads`` and ``collect``, which read the cluster through the facade of ``client.py`` (or a
fake in unit tests): one LIST per kind and namespace serves every check that needs objects of that kind there;
single objects nothing else is listed for (a CRD, a ConfigMap of a busy namespace) are one GET each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:
    import yaml

    HAS_YAML = True
except ImportError:  # PyYAML comes with ansible-core; without it the monitoring config is reported unreadable
    HAS_YAML = False

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import kueue, olm
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.kuadrant_layout import kuadrant_layout
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import requirements
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.ownership import differences
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.redaction import redact, redact_text
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.machinesets import is_autoscaled
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import nodes as node_checks
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.service_mesh import service_mesh_v2

OLM = "operators.coreos.com/v1alpha1"
CRD_API = "apiextensions.k8s.io/v1"
MAPI = "machine.openshift.io/v1beta1"

STATUSES = ("passed", "failed", "skipped")
# The keys a component's check spec may have; see the component_checks module's documentation.
SPEC_KEYS = (
    "component",
    "namespaces",
    "operator",
    "crds",
    "connectivity_link",
    "operands",
    "pods",
    "gpu_operator",
    "monitoring",
    "machinesets",
    "kuadrant_layout",
)

GPU_OPERATOR_PODS = (("gpu-operator", False), ("nvidia-driver-daemonset", True), ("nvidia-dcgm-exporter", True))
DASHBOARD_LABEL = "console.openshift.io/dashboard"
DASHBOARD_KEY = "dcgm-exporter-dashboard.json"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
# Ready condition reasons with which the GPU operator (controllers/clusterpolicy_controller.go) writes state ready
# although it manages no GPU node: none found, or no NFD label on any node.
NO_GPU_NODE_REASONS = ("NoGPUNodes", "NFDLabelsMissing")

REMEDY_MACHINES = (
    "oc get machines -n openshift-machine-api -o wide; a machine stuck in Provisioning or Failed usually means AWS "
    "capacity or the 'Running On-Demand G and VT instances' vCPU quota (L-DB2E81BA)."
)
REMEDY_TAINT = (
    "Nodes created before the taint was added keep their old taints: scale the MachineSet down and up, or "
    "oc adm taint nodes <node> nvidia.com/gpu=true:NoSchedule."
)
REMEDY_GPUS = (
    "Check that NFD labels the node (feature.node.kubernetes.io/pci-10de.present) and that the GPU operator driver and "
    "device plugin pods run on it (oc get pods -n nvidia-gpu-operator -o wide)."
)


class SpecError(ValueError):
    """A component's check spec is malformed (a bug of the role's vars or of the caller, not of the cluster)."""


def record(component, check, status, evidence, remedy=""):
    return {"component": component, "check": check, "status": status, "evidence": evidence, "remedy": remedy}


def _passed(ok):
    return "passed" if ok else "failed"


def _dig(obj, path, default=None):
    """``obj`` at a dotted ``path`` (``status.phase``), ``default`` where a step is missing or null."""
    for step in path.split("."):
        if not isinstance(obj, dict) or obj.get(step) is None:
            return default
        obj = obj[step]
    return obj


def _name(obj):
    return _dig(obj, "metadata.name", "")


def _labels(obj):
    return _dig(obj, "metadata.labels", {}) or {}


def _conditions(obj):
    return [c for c in _dig(obj, "status.conditions", []) or [] if isinstance(c, dict)]


def _condition(obj, kind):
    """The first condition of type ``kind``, {} when there is none."""
    return next((c for c in _conditions(obj) if c.get("type") == kind), {})


def _true(value):
    return value is True or str(value).lower() in ("true", "yes", "on", "1")


def _need(spec, key, where):
    value = (spec or {}).get(key)
    if value in (None, ""):
        raise SpecError("{0} has no {1!r}: {2}".format(where, key, json.dumps(spec, sort_keys=True, default=str)))
    return value


# --- label selectors, for serving a selective LIST from a full one ------------------------------------------------
def selector_terms(selector):
    """``[(key, op, value)]`` for an equality-based label selector, None for one this cannot evaluate (set-based)."""
    terms = []
    for raw in (selector or "").split(","):
        term = raw.strip()
        if not term:
            continue
        if "(" in term or " " in term:
            return None
        for op in ("!=", "==", "="):
            if op in term:
                key, value = term.split(op, 1)
                terms.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            terms.append((term[1:], "!", None) if term.startswith("!") else (term, "exists", None))
    return terms


def selector_matches(labels, terms):
    labels = labels or {}
    for key, op, value in terms:
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


# --- shapes shared by many components ------------------------------------------------------------------------------
def _subscription_name(operator):
    return operator.get("subscription_name") or operator["package"]


def _operator_deployments(reads, csv, namespace):
    """The namespace's Deployments when ``csv`` Succeeded and names some in its install strategy (else None: nothing
    to check, nothing read)."""
    named = [d for d in _dig(csv, "spec.install.spec.deployments", None) or [] if d.get("name")]
    if _dig(csv, "status.phase") != "Succeeded" or not named:
        return None
    return reads.list("apps/v1", "Deployment", namespace)


def operator_deployment_problems(csv, deployments):
    """What is wrong with the operator Deployments of a Succeeded CSV, one ``(text, command)`` each.

    OLM keeps a CSV Succeeded when its Deployment is scaled to 0 (a Deployment of 0 replicas is Available, and OLM
    compares the spec hash it recorded, not the replicas), so the operator is gone while its CSV looks fine.
    """
    namespace = _dig(csv, "metadata.namespace", "")
    live = {_name(d): d for d in deployments or []}
    problems = []
    for entry in _dig(csv, "spec.install.spec.deployments", None) or []:
        name = entry.get("name")
        if not name:
            continue
        want = _int(_dig(entry, "spec.replicas", 1)) or 1
        scale = "oc scale deployment/{0} -n {1} --replicas={2}".format(name, namespace, want)
        found = live.get(name)
        if found is None:
            problems.append(("operator Deployment {0}/{1} missing".format(namespace, name), None))
            continue
        replicas = _int(_dig(found, "spec.replicas", 1))
        available = _int(_dig(found, "status.availableReplicas", 0))
        if replicas == 0:
            problems.append(("operator Deployment {0}/{1} scaled to 0 replicas".format(namespace, name), scale))
        elif available == 0:
            problems.append(
                (
                    "operator Deployment {0}/{1} has 0 of {2} replicas available".format(namespace, name, replicas),
                    None,
                )
            )
    return problems


def _deployment_remedy(problems, namespace):
    commands = [problem[1] for problem in problems if problem[1]]
    if commands:
        return "The operator does not run although OLM reports its CSV Succeeded: {0}".format("; ".join(commands))
    return (
        "The operator does not run although OLM reports its CSV Succeeded: look at its pods and events (oc get "
        "deployment,pods,events -n {0}; the rhoai.gpu_infra.diagnose playbook collects them)".format(namespace)
    )


# The role variable that sets each field of a Subscription's spec (sourceNamespace is no variable).
SUBSCRIPTION_VARIABLES = {
    "source": "source",
    "installPlanApproval": "approval",
    "startingCSV": "starting_csv",
    "config": "subscription_config",
}


def subscription_drift(operator, subscription):
    """How ``subscription``'s spec differs from ``operator``, as ``(text, variable)`` pairs, its channel first.

    Besides the channel, exactly what would make site set the Subscription again (olm.subscription_differences, with
    what the full olm_operator dict builds), both sides redacted: the configuration reaches this module redacted,
    since module arguments are logged, so a credential-looking value is compared on neither side.
    """
    spec = _dig(subscription, "spec", {}) or {}
    found = []
    want, channel = operator.get("channel") or "", spec.get("channel") or ""
    if want and channel != want:
        text = "Subscription channel {0}, configured {1}".format(channel or "(package default)", want)
        found.append((text, "channel"))
    if not (want and operator.get("source")):
        return found  # not the dict site installs from: nothing to compare the rest with
    desired = olm.build_objects(operator, namespace_exists=True)["subscription"]
    live = dict(subscription, spec=redact(spec))
    for line in olm.subscription_differences(desired, live):
        field = line.split(":", 1)[0].split(".")[1]
        if field not in ("channel", "name"):
            found.append((line, SUBSCRIPTION_VARIABLES.get(field)))
    return found


def _csv_reason(csv):
    """`` (<reason>: <message>)`` of a CSV that has not Succeeded: OLM's why (NoOperatorGroup, an install error)."""
    reason, message = _dig(csv, "status.reason", ""), redact_text(_dig(csv, "status.message", ""))
    if not (reason or message):
        return ""
    message = message if len(message) <= 240 else message[:237] + "..."
    return " ({0})".format(": ".join(part for part in (reason, message) if part))


def _drift_remedy(operator, subscription, drift):
    component, namespace, name = operator["component"], operator["namespace"], _subscription_name(operator)
    variables = sorted({variable for _text, variable in drift if variable})
    if variables == ["channel"]:
        return (
            "Set {0}_channel to {1} if that install is the one wanted, or run the site playbook to move "
            "Subscription {2}/{3} to {4} (it refuses one someone else made unless gpu_infra_adopt=true)".format(
                component,
                _dig(subscription, "spec.channel", "") or "the package's default channel",
                namespace,
                name,
                operator["channel"],
            )
        )
    keep = ", ".join("{0}_{1}".format(component, variable) for variable in variables)
    return (
        "Run the site playbook (or the rhoai.gpu_infra.{0} role) to set Subscription {1}/{2} as configured again (it "
        "refuses one someone else made unless gpu_infra_adopt=true){3}".format(
            component,
            namespace,
            name,
            ", or set {0} to what the cluster has if that is the install wanted".format(keep) if keep else "",
        )
    )


def _csv_evidence(operator, subscription, csv, findings):
    installed = _dig(subscription, "status.installedCSV", "")
    phase = _dig(csv, "status.phase", "") if installed else ""
    if not subscription:
        evidence = "Subscription {0}/{1} does not exist".format(operator["namespace"], _subscription_name(operator))
    elif not installed:
        evidence = "Subscription has no installed CSV (state {0})".format(_dig(subscription, "status.state", "unknown"))
    else:
        evidence = "CSV {0} phase {1}".format(installed, phase or "missing")
        if phase and phase != "Succeeded":
            evidence += _csv_reason(csv)
    return "; ".join([evidence] + [text for text in findings if text] + _upgrade_waiting(subscription))


def _upgrade_waiting(subscription):
    """With Manual approval OLM queues the next version at once and waits: said, so that a pinned install that
    passes does not hide an upgrade someone has to approve (or keep unapproved)."""
    current = _dig(subscription, "status.currentCSV", "")
    pending = _condition(subscription, "InstallPlanPending")
    if _dig(subscription, "status.state") != "UpgradePending" or not current:
        return []
    if current == _dig(subscription, "status.installedCSV", ""):
        return []
    if (pending.get("status"), pending.get("reason")) != ("True", "RequiresApproval"):
        return []
    plan = _dig(subscription, "status.installPlanRef.name", "unknown")
    return [
        "the upgrade to {0} waits for approval (InstallPlan {1}; approving it upgrades the operator)".format(
            current, plan
        )
    ]


def csv_check(operator, subscription, csv, deployments=None):
    """``<package> operator CSV Succeeded``, through the Subscription's installedCSV (the olm_operator role's).

    A Subscription that differs from the configuration (another channel, catalog or approval, a config without what
    is configured) fails it too: the operator runs, but not the install this configuration describes (site would set
    a Subscription of ours again, and refuse someone else's). So does a Succeeded CSV whose operator Deployment
    (``deployments``: the namespace's, when read) is scaled to 0 or has no replica available, and, with Manual
    approval, an installed CSV other than the pinned ``starting_csv``: OLM takes startingCSV only at the first
    install and never downgrades, so pinning an installed operator changes nothing.
    """
    component, namespace = operator["component"], operator["namespace"]
    name = _subscription_name(operator)
    installed = _dig(subscription, "status.installedCSV", "")
    phase = _dig(csv, "status.phase", "") if installed else ""
    drift = subscription_drift(operator, subscription) if subscription else []
    pin = operator.get("starting_csv") or ""
    unpinned = bool(phase and pin and operator.get("approval") == "Manual" and installed != pin)
    problems = (
        operator_deployment_problems(csv, deployments) if phase == "Succeeded" and deployments is not None else []
    )
    evidence = _csv_evidence(
        operator,
        subscription,
        csv,
        [text for text, _variable in drift]
        + (["pinned {0} (Manual approval)".format(pin)] if unpinned else [])
        + [problem[0] for problem in problems],
    )
    ok = phase == "Succeeded" and not drift and not problems and not unpinned
    if ok:
        remedy = ""
    elif problems and not drift:
        remedy = _deployment_remedy(problems, namespace)
    elif drift and phase == "Succeeded":
        remedy = _drift_remedy(operator, subscription, drift)
    elif unpinned and phase == "Succeeded":
        remedy = (
            "OLM applies startingCSV only at the first install and never downgrades: set {0}_starting_csv to {1} to "
            "keep the version that runs, or remove {0} (teardown.yml with gpu_infra_components) and run the site "
            "playbook to install {2}".format(component, installed, pin)
        )
    elif installed and csv is None:
        # The CSV OLM installed was deleted: OLM does not install it again for this Subscription.
        remedy = (
            "CSV {0} is gone while Subscription {1}/{2} still names it, and OLM does not install it again: delete the "
            "Subscription (oc delete subscription {2} -n {1}) and run the site playbook (or the {3} role), which "
            "creates it again".format(installed, namespace, name, component)
        )
    else:
        remedy = (
            "Run the site playbook (or the rhoai.gpu_infra.{0} role) again, which says what stands in the way if "
            "anything does, or inspect it: oc describe subscription {1} -n {2}; oc get csv -n {2}".format(
                component, name, namespace
            )
        )
    return record(component, "{0} operator CSV Succeeded".format(operator["package"]), _passed(ok), evidence, remedy)


def namespace_label_checks(operator, namespace):
    """One record per ``namespace_labels`` entry: ``Namespace <ns> labelled <key>=<value>``."""
    component, name = operator["component"], operator["namespace"]
    labels = _labels(namespace)
    records = []
    for key, value in (operator.get("namespace_labels") or {}).items():
        ok = labels.get(key) == str(value)
        evidence = "label value: {0}".format(labels.get(key, "absent")) if namespace else "namespace not found"
        if ok:
            remedy = ""
        elif namespace:
            remedy = (
                "Run the {0} role (tasks_from: subscribe) or label the namespace: "
                "oc label namespace {1} {2}={3} --overwrite".format(component, name, key, value)
            )
        else:
            # a label command for a namespace that is not there would only fail again
            remedy = "Run the {0} role (tasks_from: subscribe), which creates namespace {1} labelled {2}={3}".format(
                component, name, key, value
            )
        records.append(
            record(component, "Namespace {0} labelled {1}={2}".format(name, key, value), _passed(ok), evidence, remedy)
        )
    return records


def crd_check(component, namespace, name, crd):
    """``CRD <name> Established``; ``namespace`` is where the operator that creates it runs."""
    established = _condition(crd, "Established").get("status") == "True"
    if established:
        evidence = "Established=True"
    else:
        evidence = "present, not Established" if crd else "CRD not found"
    remedy = (
        ""
        if established
        else "The operator creates it once its CSV has Succeeded: run the site playbook (or the {0} role) and check "
        "the CSV in namespace {1}".format(component, namespace)
    )
    return record(component, "CRD {0} Established".format(name), _passed(established), evidence, remedy)


def operand_check(component, operand, obj):
    """An object exists, or has condition ``condition`` = True. Spec keys: api_version, kind, name, namespace,
    condition, check, found (the evidence when found), field (evidence ``<last step>=<value>``), all_conditions
    (evidence: every condition), missing (the evidence when not found) and remedy."""
    where = "an operand of {0}".format(component)
    kind, name = _need(operand, "kind", where), _need(operand, "name", where)
    condition = operand.get("condition")
    if condition:
        status = _condition(obj, condition).get("status")
        ok = bool(obj) and status == "True"
        check = "{0} {1} {2}".format(kind, name, condition)
    else:
        ok = bool(obj)
        check = "{0} {1} exists".format(kind, name)
    if not obj:
        evidence = operand.get("missing") or "{0} {1} not found".format(kind, name)
    elif operand.get("found"):
        evidence = operand["found"]
    elif operand.get("field"):
        evidence = "{0}={1}".format(operand["field"].split(".")[-1], _dig(obj, operand["field"], "unset"))
    elif condition and operand.get("all_conditions"):
        listed = ", ".join("{0}={1}".format(c.get("type"), c.get("status")) for c in _conditions(obj))
        evidence = "conditions: " + (listed or "none")
    elif condition:
        evidence = "{0}={1}".format(condition, status or "absent")
    else:
        evidence = "found"
    return record(
        component, operand.get("check") or check, _passed(ok), evidence, "" if ok else _need(operand, "remedy", where)
    )


def _kueue_frameworks_running(desired, channel, installed_csv):
    """``desired`` (a Kueue) with the frameworks configure applies when the operator that runs is of a later channel
    than ``channel``: Red Hat's list for that channel, where ``desired`` has Red Hat's list for ``channel``."""
    running = kueue.running_channel(channel, installed_csv)
    path = ("spec", "config", "integrations", "frameworks")
    if running == channel or _dig(desired, ".".join(path)) != kueue.channel_facts(channel)["default"]:
        return desired
    result = json.loads(json.dumps(desired))
    _dig(result, ".".join(path[:-1]))[path[-1]] = kueue.channel_facts(running)["default"]
    return result


def operand_drift_check(component, operand, obj):
    """``<Kind> <name> as configured``: the object holds ``desired``, what site applies, compared as site compares
    before an apply (a subset: what the operator or the API server filled in is no difference). Metadata is left out:
    site refuses, rather than sets, an object whose labels say it is someone else's."""
    kind, name = operand["kind"], operand["name"]
    check = "{0} {1} as configured".format(kind, name)
    if not obj:
        return record(component, check, "skipped", "{0} {1} not found (its check above fails)".format(kind, name))
    desired = {k: v for k, v in operand["desired"].items() if k not in ("apiVersion", "kind", "metadata")}
    # Both sides redacted: a desired value arrives redacted (module arguments are logged), and the evidence shows
    # what the cluster holds.
    found = differences(redact(desired), redact(obj))
    if not found:
        return record(component, check, "passed", "holds what site applies")
    evidence = "; ".join(found[:3]) + ("; and {0} more".format(len(found) - 3) if len(found) > 3 else "")
    return record(
        component,
        check,
        "failed",
        evidence,
        "Changed since site applied it: run the site playbook (or the rhoai.gpu_infra.{0} role), which applies {1} {2} "
        "as configured again, or set the {0} role's variables to what the cluster has if that is wanted".format(
            component, kind, name
        ),
    )


def pods_check(component, pods, prefix, *, check, remedy, skip=None):
    """The pods named ``<prefix>-...`` exist and are all Running, none with a container waiting; ``skip``: the evidence
    of a check that does not apply (then skipped)."""
    if skip:
        return record(component, check, "skipped", skip, "")
    named = [p for p in pods if _name(p).startswith(prefix + "-")]
    # A finished pod (evicted, or a failed one its controller replaced) stays listed until garbage-collected; it is
    # judged only when nothing else runs under the name.
    live = [p for p in named if _dig(p, "status.phase") not in FINISHED_PHASES]
    mine = live or named
    problems = [(p, _pod_problem(p)) for p in mine]
    not_running = ["{0} ({1})".format(_name(p), why) for p, why in problems if why]
    ok = bool(mine) and not not_running
    if not mine:
        evidence = "no pod named {0}-*".format(prefix)
    else:
        evidence = "{0} pod(s), not Running: {1}".format(len(mine), ", ".join(not_running) or "none")
        if len(named) > len(mine):
            evidence += "; {0} finished pod(s) left out".format(len(named) - len(mine))
    return record(component, check, _passed(ok), evidence, "" if ok else remedy)


FINISHED_PHASES = ("Succeeded", "Failed")


def _pod_problem(pod):
    """Why ``pod`` does not run, or "": its phase, or, while Running, a container that waits (CrashLoopBackOff keeps
    the phase Running)."""
    phase = _dig(pod, "status.phase")
    if phase != "Running":
        return phase or "no phase"
    for status in _dig(pod, "status.containerStatuses", []) or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting is not None:
            return "container {0} {1}".format(status.get("name"), waiting.get("reason") or "waiting")
    return ""


# --- the special ones ------------------------------------------------------------------------------------------------
def gpu_operator_checks(spec, gpu_nodes, policy, dashboard, pods):
    """ClusterPolicy ready (when there are GPU nodes, and the operator found them), the DCGM dashboard ConfigMap, and
    the operator's pods.

    ``gpu_nodes``: the names of the nodes matching ``spec['gpu_node_selectors']``; ``policy`` and ``dashboard``: the
    objects or None; ``pods``: the pods of the operator's namespace.
    """
    component, namespace = "gpu_operator", spec["namespace"]
    selectors = spec.get("gpu_node_selectors") or list(node_checks.DEFAULT_SELECTORS)
    no_gpu = "no GPU nodes (none match {0})".format(" or ".join(selectors))
    state = (_dig(policy, "status.state", "") or "") if policy else "no ClusterPolicy"
    ready = _condition(policy, "Ready")
    # The operator writes state ready also when it found no GPU node to manage: ready then proves nothing.
    if gpu_nodes and ready.get("reason") in NO_GPU_NODE_REASONS:
        status = "failed"
        evidence = (
            "state: {0}, but its Ready condition has reason {1} ('{2}'), so the GPU operator manages none of the GPU "
            "nodes: {3}".format(state or "none", ready.get("reason"), ready.get("message") or "", ", ".join(gpu_nodes))
        )
        policy_remedy = (
            "The GPU operator finds GPU nodes only through NFD's label {0}=true, and found it on no node although "
            "{1} match the GPU node selectors: check that NFD runs (the nfd role installs and configures it) and "
            "that it labels these nodes (oc get nodes -L {0}); the rhoai.gpu_infra.diagnose playbook shows NFD and the "
            "node labels.".format(node_checks.PCI_LABEL, ", ".join(gpu_nodes))
        )
    elif gpu_nodes:
        status = _passed(state == "ready")
        evidence = "state: {0}; GPU nodes: {1}".format(state or "none", ", ".join(gpu_nodes) or "none")
        policy_remedy = (
            ""
            if state == "ready"
            else "Run the rhoai.gpu_infra.diagnose playbook: check NFD kernel-version labels on the GPU nodes and the "
            "driver DaemonSet logs."
        )
    else:
        status = "skipped"
        evidence = "{0}; state: {1}".format(no_gpu, state or "none")
        policy_remedy = ""
    records = [
        record(component, "ClusterPolicy {0} ready".format(spec["cluster_policy"]), status, evidence, policy_remedy)
    ]
    if spec.get("desired"):
        operand = {"kind": "ClusterPolicy", "name": spec["cluster_policy"], "desired": spec["desired"]}
        records.append(operand_drift_check(component, operand, policy))
    board = spec.get("dashboard") or {}
    dash_ok = (
        bool(dashboard)
        and _labels(dashboard).get(DASHBOARD_LABEL) == "true"
        and DASHBOARD_KEY in (dashboard.get("data") or {})
    )
    if dash_ok:
        dash_status, dash_evidence = "passed", "found with console dashboard label"
    else:
        dash_status = "skipped" if not _true(board.get("enabled", True)) and not dashboard else "failed"
        dash_evidence = "found without the console label or JSON key" if dashboard else "not found"
    records.append(
        record(
            component,
            "DCGM dashboard ConfigMap {0}/{1} present".format(board.get("namespace"), board.get("name")),
            dash_status,
            dash_evidence,
            "" if dash_ok else "Run the gpu_operator role (tasks_from: configure) with gpu_operator_dashboard: true.",
        )
    )
    for prefix, gpu_only in GPU_OPERATOR_PODS:
        records.append(
            pods_check(
                component,
                pods,
                prefix,
                check="GPU operator pods {0} Running".format(prefix),
                remedy="oc -n {0} describe pod {1}-...; or run the rhoai.gpu_infra.diagnose playbook.".format(
                    namespace, prefix
                ),
                skip=no_gpu if gpu_only and not gpu_nodes else None,
            )
        )
    return records


def monitoring_checks(spec, config_map, pods):
    """User workload monitoring enabled in cluster-monitoring-config, and its Prometheus and Thanos Ruler Running."""
    component = "monitoring"
    where = spec.get("config_map") or {}
    text = ((config_map or {}).get("data") or {}).get("config.yaml") or ""
    try:
        config = (yaml.safe_load(text) or {}) if HAS_YAML else None
    except yaml.YAMLError:
        config = None
    mapping = isinstance(config, dict)
    enabled = mapping and config.get("enableUserWorkload") is True
    if not config_map:
        evidence = "ConfigMap {0}/{1} not found".format(where.get("namespace"), where.get("name"))
    elif mapping:
        evidence = "enableUserWorkload: " + json.dumps(config.get("enableUserWorkload", "absent"), default=str)
    else:
        evidence = "enableUserWorkload: config.yaml unreadable"
    listed = ["{0}={1}".format(_name(p), _dig(p, "status.phase", "Unknown")) for p in pods]
    running = [_name(p) for p in pods if _dig(p, "status.phase") == "Running"]
    pods_ok = any(n.startswith("prometheus-user-workload-") for n in running) and any(
        n.startswith("thanos-ruler-user-workload-") for n in running
    )
    return [
        record(
            component,
            "User workload monitoring enabled in cluster-monitoring-config",
            _passed(enabled),
            evidence,
            ""
            if enabled
            else "Run the monitoring role (rhoai.gpu_infra.monitoring) to merge enableUserWorkload: true into "
            "config.yaml.",
        ),
        record(
            component,
            "User workload Prometheus and Thanos Ruler pods Running",
            _passed(pods_ok),
            "pods in {0}: {1}".format(spec["namespace"], ", ".join(listed) if listed else "none"),
            ""
            if pods_ok
            else "Check that enableUserWorkload is true and look at the cluster-monitoring-operator logs in "
            "openshift-monitoring.",
        ),
    ]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _scaling_problems(spec, machinesets):
    """Pools whose MachineSets do not hold the configured replicas: scaled by hand, or left at 0 by a removal that
    stopped before deleting them. Not judged where a MachineAutoscaler sets the replicas (site keeps them then)."""
    problems = []
    for pool in spec.get("pools") or []:
        zone = pool.get("zone") or spec.get("zone") or ""
        mine = [
            ms
            for ms in machinesets
            if _dig(ms, "spec.template.spec.providerSpec.value.instanceType") == pool.get("instance_type")
            and (not zone or _dig(ms, "spec.template.spec.providerSpec.value.placement.availabilityZone") == zone)
        ]
        want = _int(pool.get("replicas", 1))
        have = sum(_int(_dig(ms, "spec.replicas", 0)) for ms in mine)
        where = "{0}{1}".format(pool.get("instance_type"), " in " + zone if zone else "")
        if not mine:
            problems.append("no MachineSet of pool {0}".format(where))
        elif have != want and not any(is_autoscaled(ms) for ms in mine):
            problems.append("pool {0}: {1} replica(s), configured {2}".format(where, have, want))
    return problems


def machineset_checks(spec, machinesets, gpu_nodes):
    """The GPU MachineSets have their machines ready and the replicas of their pools; their nodes carry the GPU taint
    and allocatable GPUs."""
    component = "machinesets"
    scaling = [] if spec.get("autoscaling") else _scaling_problems(spec, machinesets)
    # Per MachineSet: the status of one just scaled down still counts the machines it is about to delete, which must
    # not make up for another one's missing machines.
    short = [ms for ms in machinesets if _int(_dig(ms, "status.readyReplicas", 0)) < _int(_dig(ms, "spec.replicas", 0))]
    states = ", ".join(
        "{0}: {1}/{2} ready".format(_name(ms), _dig(ms, "status.readyReplicas", 0), _dig(ms, "spec.replicas", 0))
        for ms in machinesets
    )
    untainted = [
        _name(n)
        for n in gpu_nodes
        if GPU_TAINT
        not in [{k: t[k] for k in ("key", "value", "effect") if k in t} for t in _dig(n, "spec.taints", []) or []]
    ]
    counts = [(_name(n), _int(_dig(n, "status.allocatable", {}).get("nvidia.com/gpu", "0"))) for n in gpu_nodes]
    no_nodes = "no node labelled {0}".format(spec.get("node_selector"))
    return [
        record(
            component,
            "GPU MachineSets have all their machines ready",
            "failed" if not machinesets or short else "passed",
            states or "no MachineSet labelled {0} in {1}".format(spec.get("selector"), spec.get("namespace")),
            REMEDY_MACHINES if machinesets else "Run site.yml with machinesets in gpu_infra_components.",
        ),
        record(
            component,
            "GPU MachineSets have the replicas of their pools",
            "skipped" if spec.get("autoscaling") or not spec.get("pools") else _passed(not scaling),
            "the MachineAutoscalers set the replicas"
            if spec.get("autoscaling")
            else "; ".join(scaling) or "every pool's MachineSet has its configured replicas",
            "Run site.yml with machinesets in gpu_infra_components: it scales each pool's MachineSet back to its "
            "replicas in machinesets_pools (set them there to keep another size).",
        ),
        record(
            component,
            "GPU nodes carry the nvidia.com/gpu=true:NoSchedule taint",
            "skipped" if not gpu_nodes else _passed(not untainted),
            no_nodes
            if not gpu_nodes
            else "{0} GPU node(s); without the taint: {1}".format(len(gpu_nodes), ", ".join(untainted) or "none"),
            REMEDY_TAINT,
        ),
        record(
            component,
            "GPU nodes have allocatable nvidia.com/gpu",
            "skipped" if not gpu_nodes else _passed(all(entry[1] >= 1 for entry in counts)),
            no_nodes
            if not gpu_nodes
            else "allocatable nvidia.com/gpu: " + ", ".join("{0}={1}".format(n, c) for n, c in counts),
            REMEDY_GPUS,
        ),
    ]


def dependency_csv_check(component, package, *, parent, namespace, subscriptions, csv, deployments=None):
    """``<package> operator CSV Succeeded in <ns> (Connectivity Link)``: a Subscription OLM created (and named) for
    a dependency of ``parent``, found by its package; failed too when its operator Deployment does not run (see
    csv_check)."""
    sub = next((s for s in subscriptions if _dig(s, "spec.name") == package), None)
    installed = _dig(sub, "status.installedCSV", "")
    phase = _dig(csv, "status.phase", "") if installed else ""
    problems = (
        operator_deployment_problems(csv, deployments) if phase == "Succeeded" and deployments is not None else []
    )
    if not sub:
        evidence = "no Subscription of package {0} in {1}".format(package, namespace)
    elif not installed:
        evidence = "Subscription {0} has no installed CSV".format(_name(sub))
    else:
        evidence = "CSV {0} phase {1}".format(installed, phase or "missing")
    if problems:
        evidence += "; " + "; ".join(problem[0] for problem in problems)
    ok = phase == "Succeeded" and not problems
    if ok:
        remedy = ""
    elif problems:
        remedy = _deployment_remedy(problems, namespace)
    else:
        remedy = (
            "OLM installs it as a dependency of {0}: run the site playbook (or the {1} role) and inspect oc get "
            "subscription,installplan,csv -n {2}".format(parent, component, namespace)
        )
    return record(
        component,
        "{0} operator CSV Succeeded in {1} (Connectivity Link)".format(package, namespace),
        _passed(ok),
        evidence,
        remedy,
    )


def connectivity_link_operand_check(component, operand, namespace, kuadrant_name, obj):
    """``<Kind> <ns>/<name> Ready``: what the Kuadrant operator creates from the Kuadrant CR."""
    ready = _condition(obj, "Ready")
    ok = ready.get("status") == "True"
    if not obj:
        evidence = "not found"
    else:
        evidence = "Ready={0}{1}".format(
            ready.get("status") or "absent", " ({0})".format(ready["reason"]) if ready.get("reason") else ""
        )
    return record(
        component,
        "{0} {1}/{2} Ready".format(operand["kind"], namespace, operand["name"]),
        _passed(ok),
        evidence,
        ""
        if ok
        else "The Kuadrant operator creates it from Kuadrant/{0}: run the site playbook and check the pods in "
        "{1}".format(kuadrant_name, namespace),
    )


def authorino_tls_check(secret_name, service, authorino, secret_type):
    """Authorino serves its authorization listener with the service-ca certificate of ``secret_name``.

    ``secret_type``: the Secret's ``type`` or None; the Secret itself (a private key) never reaches this function.
    """
    tls = _dig(authorino, "spec.listener.tls", {}) or {}
    cert_type = secret_type or "absent"
    ok = (
        _true(tls.get("enabled", False))
        and (tls.get("certSecretRef") or {}).get("name") == secret_name
        and cert_type == "kubernetes.io/tls"
    )
    return record(
        "authorino",
        "Authorino listener TLS uses Secret {0}".format(secret_name),
        _passed(ok),
        "spec.listener.tls: {0}; Secret {1}: {2}".format(json.dumps(tls, sort_keys=True), secret_name, cert_type),
        ""
        if ok
        else "Run the site playbook (or the authorino role): it annotates Service {0} for a service-ca certificate in "
        "Secret {1} and sets spec.listener.tls of Authorino/authorino".format(service, secret_name),
    )


def kuadrant_check(namespace, name, kuadrant, gateway_reasons):
    """``Kuadrant <ns>/<name> Ready``, with what to do when it waits for a Gateway API provider (RHOAI's step)."""
    ready = _condition(kuadrant, "Ready")
    ok = ready.get("status") == "True"
    if not kuadrant:
        evidence = "Kuadrant not found"
    else:
        evidence = "Ready={0}{1}".format(
            ready.get("status") or "absent",
            " ({0}: {1})".format(ready["reason"], ready.get("message") or "") if ready.get("reason") else "",
        )
    if ok:
        remedy = ""
    elif (ready.get("reason") or "") in (gateway_reasons or []):
        remedy = (
            "Kuadrant needs a Gateway API provider: create the GatewayClass and Gateway of the RHOAI inference gateway "
            "(RHOAI's own step); if it stays not Ready afterwards, restart the kuadrant-operator pod in "
            "{0}".format(namespace)
        )
    else:
        remedy = (
            "Run the site playbook (or the authorino, limitador or dns role) and check the kuadrant-operator pod in "
            "{0}".format(namespace)
        )
    return record("connectivity_link", "Kuadrant {0}/{1} Ready".format(namespace, name), _passed(ok), evidence, remedy)


def layout_check(component, subscriptions, want):
    """``No other install of Authorino, Limitador or DNS in the way``: site's preflight refuses what kuadrant_layout
    finds, and without this check verify would only say that the Subscription of the chosen layout does not exist."""
    layout = kuadrant_layout(subscriptions, want)
    evidence = "; ".join(layout["found"]) or "no install of the other layout or in another namespace"
    return record(
        component,
        "No other install of Authorino, Limitador or DNS in the way",
        _passed(layout["ok"]),
        evidence,
        layout["message"],
    )


def service_mesh_check(subscriptions, control_planes):
    """llm-d's check: no OpenShift Service Mesh v2 (module_utils/service_mesh.py)."""
    mesh = service_mesh_v2(subscriptions, control_planes)
    return record(
        "llm_d",
        "OpenShift Service Mesh v2 not installed",
        "failed" if mesh["installed"] else "passed",
        "; ".join(mesh["found"])
        if mesh["installed"]
        else "no servicemeshoperator Subscription below v3 and no ServiceMeshControlPlane",
        mesh["remedy"],
    )


def failures(checks):
    """One line per failed check: what it is, what was found and what to do."""
    return [
        "{0}: {1}: found {2}; remedy: {3}".format(
            c.get("component"), c.get("check"), c.get("evidence") or "-", c.get("remedy") or "-"
        )
        for c in checks
        if c.get("status") == "failed"
    ]


# --- reading the cluster ---------------------------------------------------------------------------------------------
class Reads(object):
    """The facade of client.py with memory: a LIST already made serves later LISTs and GETs of its kind in its
    namespace (label selectors evaluated here), so every check that needs pods of a namespace shares one request.

    ``doing`` says what the request in flight was, for the error message when it fails.
    """

    def __init__(self, k8s):
        self.k8s = k8s
        self.requests = 0
        self.doing = "read the cluster"
        self._lists = {}
        self._gets = {}

    @property
    def host(self):
        return getattr(self.k8s, "host", None)

    def _listed(self, api_version, kind, namespace):
        """The cached objects of the kind in ``namespace`` (from a LIST of that namespace or of all), or None."""
        if (api_version, kind, namespace, None) in self._lists:
            return self._lists[(api_version, kind, namespace, None)]
        if namespace is not None and (api_version, kind, None, None) in self._lists:
            return [
                o for o in self._lists[(api_version, kind, None, None)] if _dig(o, "metadata.namespace") == namespace
            ]
        return None

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        terms = selector_terms(label_selector)
        cached = self._listed(api_version, kind, namespace) if not field_selector else None
        if cached is not None and terms is not None:
            return [o for o in cached if selector_matches(_labels(o), terms)]
        key = (api_version, kind, namespace, label_selector if not field_selector else (label_selector, field_selector))
        if key not in self._lists:
            self.doing = "list {0} {1}{2}{3}".format(
                api_version,
                kind,
                " in namespace " + namespace if namespace else " in all namespaces",
                " with label selector " + label_selector if label_selector else "",
            )
            self.requests += 1
            self._lists[key] = self.k8s.list(
                api_version, kind, namespace=namespace, label_selector=label_selector, field_selector=field_selector
            )
        return self._lists[key]

    def get(self, api_version, kind, name, namespace=None):
        cached = self._listed(api_version, kind, namespace)
        if cached is not None:
            return next((o for o in cached if _name(o) == name), None)
        key = (api_version, kind, name, namespace)
        if key not in self._gets:
            self.doing = "get {0} {1} {2}{3}".format(
                api_version, kind, name, " in namespace " + namespace if namespace else ""
            )
            self.requests += 1
            self._gets[key] = self.k8s.get(api_version, kind, name, namespace=namespace)
        return self._gets[key]

    def secret_type(self, name, namespace):
        """Only the ``type`` of a Secret: its data (a private key, say) is dropped here and never cached."""
        self.doing = "get v1 Secret {0} in namespace {1}".format(name, namespace)
        self.requests += 1
        return (self.k8s.get("v1", "Secret", name, namespace=namespace) or {}).get("type")

    def namespace(self, name):
        """A Namespace, from one LIST of them all (small objects; every label check shares it)."""
        return next((n for n in self.list("v1", "Namespace") if _name(n) == name), None)

    def subscriptions(self, namespace):
        return self.list(OLM, "Subscription", namespace)

    def csv(self, name, namespace):
        """An operator's own CSV: from the namespace's CSVs without OLM's copies of AllNamespaces operators."""
        if not name:
            return None
        cached = self._listed(OLM, "ClusterServiceVersion", namespace)
        csvs = cached if cached is not None else self.list(OLM, "ClusterServiceVersion", namespace, "!olm.copiedFrom")
        return next((c for c in csvs if _name(c) == name), None)

    def crd(self, name):
        # One GET each: a LIST of every CRD of an OpenShift cluster, schemas included, runs to tens of megabytes.
        return self.get(CRD_API, "CustomResourceDefinition", name)

    def nodes(self, selectors):
        """The names of the nodes matching any of ``selectors`` (a label selector cannot say OR), sorted."""
        names = set()
        for selector in selectors:
            names.update(_name(n) for n in self.list("v1", "Node", label_selector=selector))
        return sorted(names)


def operator_checks(reads, operator):
    """The CSV check and the namespace label checks of one olm_operator dict."""
    namespace = operator["namespace"]
    sub = _subscription(reads, operator)
    installed = _dig(sub, "status.installedCSV", "")
    csv = reads.csv(installed, namespace)
    deployments = _operator_deployments(reads, csv, namespace)
    records = [csv_check(operator, sub, csv, deployments)]
    if operator.get("namespace_labels"):
        records.extend(namespace_label_checks(operator, reads.namespace(namespace)))
    return records


def _subscription(reads, operator):
    """``operator``'s Subscription (from one LIST of its namespace, shared by every check), or None."""
    name = _subscription_name(operator)
    return next((s for s in reads.subscriptions(operator["namespace"]) if _name(s) == name), None)


def _installed_csv(reads, operator):
    """The installedCSV of ``operator``'s Subscription."""
    return _dig(_subscription(reads, operator), "status.installedCSV", "") if operator else ""


def _operator(spec, where):
    operator = dict(spec)
    for key in ("package", "namespace"):
        _need(operator, key, where)
    operator.setdefault("component", None)
    return operator


def connectivity_link_checks(reads, component, crds, link, shared_done):
    """A component's part of Red Hat Connectivity Link, then (unless ``shared_done``) what the three share."""
    where = "the connectivity_link spec of {0}".format(component)
    namespace = _need(link, "namespace", where)
    parent = _operator(dict(_need(link, "operator", where), component="connectivity_link"), where)
    kuadrant_name = link.get("kuadrant_name") or "kuadrant"
    dependency = next((d for d in link.get("dependencies") or [] if d.get("component") == component), None)
    if dependency is None:
        raise SpecError("{0}: {1} is none of its dependencies {2}".format(where, component, link.get("dependencies")))
    package = _need(dependency, "package", where)
    subs = reads.subscriptions(namespace)
    sub = next((s for s in subs if _dig(s, "spec.name") == package), None)
    csv = reads.csv(_dig(sub, "status.installedCSV", ""), namespace)
    deployments = _operator_deployments(reads, csv, namespace)
    records = [
        dependency_csv_check(
            component,
            package,
            parent=parent["package"],
            namespace=namespace,
            subscriptions=subs,
            csv=csv,
            deployments=deployments,
        )
    ]
    records.extend(crd_check(component, namespace, name, reads.crd(name)) for name in crds or [])
    operand = (link.get("operands") or {}).get(component)
    obj = None
    if operand:
        obj = reads.get(operand["api_version"], operand["kind"], operand["name"], namespace)
        records.append(connectivity_link_operand_check(component, operand, namespace, kuadrant_name, obj))
    if component == "authorino" and _true(link.get("authorino_tls", False)):
        secret_name = _need(link, "authorino_cert_secret", where)
        # Only the type is kept: the Secret's data is a private key and never leaves this function.
        secret_type = reads.secret_type(secret_name, namespace)
        records.append(authorino_tls_check(secret_name, link.get("authorino_service", ""), obj, secret_type))
    if not shared_done:
        records.extend(operator_checks(reads, parent))
        records.extend(
            crd_check("connectivity_link", namespace, name, reads.crd(name)) for name in link.get("crds") or []
        )
        kuadrant = reads.get("kuadrant.io/v1beta1", "Kuadrant", kuadrant_name, namespace)
        records.append(kuadrant_check(namespace, kuadrant_name, kuadrant, link.get("gateway_reasons")))
        if link.get("layout"):
            records.append(layout_check("connectivity_link", reads.list(OLM, "Subscription"), link["layout"]))
    return records


def component_checks(reads, spec, shared_done=False):
    """Every check of one component's spec, in the order operator, CRDs (or its part of Connectivity Link),
    operands, special checks, pods."""
    component = _need(spec, "component", "a component's check spec")
    where = "the check spec of {0}".format(component)
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise SpecError("{0} has unknown keys {1}; known: {2}".format(where, ", ".join(unknown), ", ".join(SPEC_KEYS)))
    records = []
    link = spec.get("connectivity_link")
    if link:
        records.extend(connectivity_link_checks(reads, component, spec.get("crds"), link, shared_done))
    elif spec.get("operator"):
        operator = _operator(dict(spec["operator"], component=component), where + " (operator)")
        records.extend(operator_checks(reads, operator))
        records.extend(
            crd_check(component, operator["namespace"], name, reads.crd(name)) for name in spec.get("crds") or []
        )
    elif spec.get("crds"):
        raise SpecError("{0}: crds need the operator (or connectivity_link) whose namespace they name".format(where))
    if spec.get("kuadrant_layout"):
        records.append(layout_check(component, reads.list(OLM, "Subscription"), spec["kuadrant_layout"]))
    for operand in spec.get("operands") or []:
        api_version = _need(operand, "api_version", where + " (operand)")
        obj = reads.get(
            api_version, _need(operand, "kind", where), _need(operand, "name", where), operand.get("namespace")
        )
        records.append(operand_check(component, operand, obj))
        if operand.get("desired"):
            desired = operand["desired"]
            if operand.get("kueue_channel"):
                installed = _installed_csv(reads, spec.get("operator"))
                desired = _kueue_frameworks_running(desired, operand["kueue_channel"], installed)
            records.append(operand_drift_check(component, dict(operand, desired=desired), obj))
    if spec.get("gpu_operator"):
        gpu = dict(spec["gpu_operator"])
        namespace = _need(gpu, "namespace", where + " (gpu_operator)")
        _need(gpu, "cluster_policy", where + " (gpu_operator)")
        selectors = gpu.get("gpu_node_selectors") or list(node_checks.DEFAULT_SELECTORS)
        board = gpu.get("dashboard") or {}
        records.extend(
            gpu_operator_checks(
                gpu,
                reads.nodes(selectors),
                reads.get("nvidia.com/v1", "ClusterPolicy", gpu["cluster_policy"]),
                reads.get("v1", "ConfigMap", board.get("name"), board.get("namespace")) if board.get("name") else None,
                reads.list("v1", "Pod", namespace),
            )
        )
    if spec.get("monitoring"):
        mon = spec["monitoring"]
        where_cm = mon.get("config_map") or {}
        records.extend(
            monitoring_checks(
                mon,
                reads.get("v1", "ConfigMap", _need(where_cm, "name", where), _need(where_cm, "namespace", where)),
                reads.list("v1", "Pod", _need(mon, "namespace", where + " (monitoring)")),
            )
        )
    if spec.get("machinesets"):
        ms = spec["machinesets"]
        records.extend(
            machineset_checks(
                ms,
                reads.list(MAPI, "MachineSet", _need(ms, "namespace", where), _need(ms, "selector", where)),
                reads.list("v1", "Node", label_selector=_need(ms, "node_selector", where)),
            )
        )
    for pod in spec.get("pods") or []:
        namespace = _need(pod, "namespace", where + " (pods)")
        records.append(
            pods_check(
                component,
                reads.list("v1", "Pod", namespace),
                _need(pod, "prefix", where),
                check=_need(pod, "check", where),
                remedy=_need(pod, "remedy", where),
            )
        )
    return records


def requirement_checks(reads, required_by):
    """``<requirement> installed and running (required by ...)``: what site's preflight demands of the enabled
    components' requirements that the selection leaves out (a partial teardown may have removed them), one record each,
    under the requirement's name."""
    return [
        record(
            result["requirement"],
            "{0} installed and running (required by {1})".format(
                result["requirement"], ", ".join(result["required_by"])
            ),
            _passed(result["installed"]),
            result["evidence"] or result["found"],
            "" if result["installed"] else requirements.remedy(result) + ".",
        )
        for result in requirements.collect(reads, required_by, [])
    ]


def _not_subscribed(reads, spec):
    """The component's operator (Connectivity Link's, for its three) has no Subscription."""
    link = spec.get("connectivity_link") or {}
    operator = link.get("operator") if link else spec.get("operator")
    return bool(operator) and _subscription(reads, operator) is None


def collect(
    k8s,
    components,
    *,
    required_by=None,
    service_mesh=False,
    gpu_nodes=False,
    node_selector=None,
    nfd_namespace="openshift-nfd",
    gpu_operator_namespace="nvidia-gpu-operator",
):
    """Read what the checks need and make them: the components' checks in the order given (what Connectivity Link's
    three components share once, with the first of them), then those of each requirement of ``required_by``
    (``{requirement: [components]}``), then Service Mesh v2's, then the GPU nodes'.

    Returns ``{checks, cluster, requests, not_installed}``; ``not_installed`` names the components whose operator has
    no Subscription at all (read with the checks, no request more).
    """
    reads = k8s if isinstance(k8s, Reads) else Reads(k8s)
    if service_mesh:
        reads.list(OLM, "Subscription")  # every namespace: serves the components' Subscriptions too
    checks, shared = [], set()
    for spec in components:
        link = (spec or {}).get("connectivity_link") or {}
        key = (link.get("namespace"), (link.get("operator") or {}).get("package")) if link else None
        checks.extend(component_checks(reads, spec, shared_done=key in shared))
        if key:
            shared.add(key)
    if required_by:
        checks.extend(requirement_checks(reads, required_by))
    if service_mesh:
        # No maistra.io CRD means no control planes: the LIST of an unknown kind is empty.
        checks.append(
            service_mesh_check(reads.list(OLM, "Subscription"), reads.list("maistra.io/v2", "ServiceMeshControlPlane"))
        )
    if gpu_nodes:
        diagnosis = node_checks.collect(
            reads,
            node_selector=node_selector,
            nfd_namespace=nfd_namespace,
            gpu_operator_namespace=gpu_operator_namespace,
        )
        checks.extend(node_checks.checks(diagnosis))
    reads.doing = "get config.openshift.io/v1 Infrastructure cluster"
    cluster = node_checks.cluster_identity(reads)
    for check in checks:
        if check["status"] not in STATUSES:  # a bug of this file; the report would count it failed anyway
            check["status"] = "failed"
    not_installed = [spec["component"] for spec in components if _not_subscribed(reads, spec)]
    return {"checks": checks, "cluster": cluster, "requests": reads.requests, "not_installed": not_installed}
