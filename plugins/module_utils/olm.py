# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator Lifecycle Manager logic as pure functions over the objects the API returns (plain dicts, no I/O).

* ``assess``: Subscription + InstallPlan + CSV(s) -> one state and a diagnosis a person can act on.
* ``operator_group_plan``: existing OperatorGroups + the install mode a package needs -> reuse / create / error.
* ``build_objects``: the Namespace, OperatorGroup and Subscription an operator install consists of.
* ``catalog_check``: PackageManifests -> why a package/channel cannot be subscribed to, or "".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MANAGED_BY = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra"}
INSTALL_MODES = ("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces")

# States. "succeeded" and every final state end a wait early. A plan the caller may approve is approved before
# assessing, so "needs-approval" is always final: nothing moves until a person decides.
RESOLVING = "resolving"
NEEDS_APPROVAL = "needs-approval"
INSTALLING = "installing"
SUCCEEDED = "succeeded"
FAILED = "failed"
UPGRADING = "upgrading"

CSV_FAILURE_ADVICE = {
    "UnsupportedOperatorGroup": "The namespace's OperatorGroup selects an install mode this operator does not support. "
    "Replace the OperatorGroup (OwnNamespace: spec.targetNamespaces: [{ns}]; AllNamespaces: spec: {{}}), "
    "then delete the CSV so OLM retries: oc delete csv {csv} -n {ns}.",
    "TooManyOperatorGroups": "Namespace {ns} holds more than one OperatorGroup and OLM installs nothing there. "
    "Keep exactly one (oc get operatorgroups -n {ns}; oc delete operatorgroup <extra> -n {ns}).",
    "NoOperatorGroup": "Namespace {ns} has no OperatorGroup. Create one matching the operator's install mode.",
    "RequirementsNotMet": "Requirements of the CSV are missing (see above). Check that the operator's CRDs and "
    "service accounts exist and that no other CSV owns the same CRDs: oc describe csv {csv} -n {ns}.",
    "InstallComponentFailed": "OLM could not create a component of the operator. "
    "Look at the CSV's message and the operator pods: oc describe csv {csv} -n {ns}; oc get pods -n {ns}.",
}
GENERIC_ADVICE = "Inspect it with: oc describe csv {csv} -n {ns}; oc get pods -n {ns}."


def _conditions(obj):
    return ((obj or {}).get("status") or {}).get("conditions") or []


def condition(obj, ctype):
    """The condition of type ``ctype`` whose status is "True", or None."""
    for cond in _conditions(obj):
        if cond.get("type") == ctype and str(cond.get("status")) == "True":
            return cond
    return None


def _status(obj):
    return (obj or {}).get("status") or {}


def _name(obj):
    return ((obj or {}).get("metadata") or {}).get("name", "")


def plan_csv_names(plan):
    return list(((plan or {}).get("spec") or {}).get("clusterServiceVersionNames") or [])


def should_approve(plan, starting_csv):
    """Approve only a Manual plan still waiting for approval that installs the pinned CSV."""
    spec = (plan or {}).get("spec") or {}
    return bool(
        starting_csv
        and spec.get("approval") == "Manual"
        and not spec.get("approved")
        and _status(plan).get("phase", "RequiresApproval") == "RequiresApproval"
        and starting_csv in plan_csv_names(plan)
    )


def _plan_waits_for_approval(plan):
    spec = (plan or {}).get("spec") or {}
    return bool(plan) and spec.get("approval") == "Manual" and not spec.get("approved")


def _approve_hint(plan, ns):
    return 'oc patch installplan {0} -n {1} --type merge -p \'{{"spec":{{"approved":true}}}}\''.format(_name(plan), ns)


def _result(state, diagnosis, *, csv_name="", phase="", final=False, stuck=False):
    return dict(state=state, diagnosis=diagnosis, csv=csv_name, phase=phase, final=final, stuck=stuck)


def supported_install_modes(csv):
    modes = ((csv or {}).get("spec") or {}).get("installModes") or []
    return [m.get("type") for m in modes if m.get("supported")]


def missing_requirements(csv):
    return [
        "{0} {1} ({2})".format(r.get("kind"), r.get("name"), r.get("message") or r.get("status"))
        for r in _status(csv).get("requirementStatus") or []
        if r.get("status") != "Present"
    ]


def _csv_failure(csv, ns):
    status = _status(csv)
    reason = status.get("reason") or "Unknown"
    advice = CSV_FAILURE_ADVICE.get(reason, GENERIC_ADVICE).format(ns=ns, csv=_name(csv))
    details = ""
    if reason == "UnsupportedOperatorGroup" and supported_install_modes(csv):
        details = " The operator supports: {0}.".format(", ".join(supported_install_modes(csv)))
    missing = missing_requirements(csv)
    if missing:
        details += " Missing: {0}.".format("; ".join(missing))
    return "CSV {0} failed ({1}: {2}).{3} {4}".format(_name(csv), reason, status.get("message", ""), details, advice)


def _assess_csv(csv, installed_name, ns):
    csv_name = _name(csv)
    status = _status(csv)
    phase = status.get("phase", "")
    if phase == "Succeeded":
        return _result(SUCCEEDED, "CSV {0} Succeeded.".format(csv_name), csv_name=csv_name, phase=phase, final=True)
    if phase == "Failed":
        return _result(FAILED, _csv_failure(csv, ns), csv_name=csv_name, phase=phase, final=True)
    msg = "CSV {0} is {1} ({2}: {3}).".format(
        csv_name, phase or "being created", status.get("reason", ""), status.get("message", "")
    )
    if phase in ("Replacing", "Deleting") or (installed_name and installed_name != csv_name):
        return _result(UPGRADING, msg, csv_name=csv_name, phase=phase)
    # Pending on requirements usually clears within seconds (OLM creates service accounts); if it does not, the
    # caller gives up after a grace period instead of waiting out the whole timeout.
    stuck = status.get("reason") == "RequirementsNotMet"
    if stuck and missing_requirements(csv):
        msg += " Missing: {0}.".format("; ".join(missing_requirements(csv)))
    return _result(INSTALLING, msg, csv_name=csv_name, phase=phase, stuck=stuck)


NO_OPERATORS = re.compile(r"no operators found")


def _resolution_failure(sub, cond, manifests):
    spec = (sub or {}).get("spec") or {}
    text = "Subscription {0} cannot be resolved ({1}: {2}).".format(_name(sub), cond.get("reason"), cond.get("message"))
    check = ""
    if manifests is not None:
        check = catalog_check(
            manifests, spec.get("name", ""), spec.get("channel", ""), spec.get("source", ""), spec.get("startingCSV")
        )
    if check:
        return text + " " + check
    return (
        text
        + " Check that package {0}, channel {1} and startingCSV {2} exist in catalog {3} "
        "(oc get packagemanifests -n openshift-marketplace -l catalog={3} -o yaml); another Subscription in the "
        "namespace can also conflict with this one.".format(
            spec.get("name"), spec.get("channel"), spec.get("startingCSV") or "(none)", spec.get("source")
        )
    )


def _assess_conditions(sub, manifests, plan):
    """Subscription conditions that block resolution, or None."""
    current = _status(sub).get("currentCSV") or ""
    failed = condition(sub, "ResolutionFailed")
    if failed:
        # ConstraintsNotSatisfiable (package/channel/CSV not in the catalog, conflicts) stays until someone changes
        # something; ErrorPreventedResolution (catalog unreachable) can clear by itself.
        final = failed.get("reason") == "ConstraintsNotSatisfiable" or bool(
            NO_OPERATORS.search(failed.get("message", ""))
        )
        diagnosis = _resolution_failure(sub, failed, manifests)
        return _result(FAILED if final else RESOLVING, diagnosis, csv_name=current, final=final, stuck=True)
    plan_failed = condition(sub, "InstallPlanFailed")
    if plan_failed and not plan:  # the plan itself says more, when it still exists
        return _result(
            FAILED,
            "The InstallPlan of Subscription {0} failed ({1}: {2}). Fix the cause, then delete the Subscription and "
            "subscribe again.".format(_name(sub), plan_failed.get("reason"), plan_failed.get("message", "")),
            csv_name=current,
            final=True,
        )
    unhealthy = condition(sub, "CatalogSourcesUnhealthy")
    if unhealthy:
        refs = [
            h.get("catalogSourceRef") or {} for h in _status(sub).get("catalogHealth") or [] if not h.get("healthy")
        ]
        bad = ", ".join("{0}/{1}".format(r.get("namespace"), r.get("name")) for r in refs) or "(unknown)"
        return _result(
            RESOLVING,
            "Catalog source {0} is unhealthy ({1}), so OLM cannot resolve Subscription {2}. Check the catalog pod: "
            "oc get catalogsource,pods -n openshift-marketplace.".format(bad, unhealthy.get("message", ""), _name(sub)),
            csv_name=current,
            stuck=True,
        )
    return None


def _assess_plan(plan, ns, current, starting_csv):
    names = ", ".join(plan_csv_names(plan))
    phase = _status(plan).get("phase", "")
    if phase == "Failed":
        why = "; ".join(
            "{0}: {1}".format(c.get("reason"), c.get("message")) for c in _conditions(plan) if c.get("message")
        )
        return _result(
            FAILED,
            "InstallPlan {0} for {1} failed ({2}). Fix the cause, then delete the InstallPlan and the Subscription and "
            "subscribe again.".format(_name(plan), names, why or "no message"),
            csv_name=current,
            final=True,
        )
    if _plan_waits_for_approval(plan):
        pinned = bool(starting_csv) and starting_csv in plan_csv_names(plan)
        return _result(
            NEEDS_APPROVAL,
            "InstallPlan {0} waits for manual approval to install {1}{2}. Approve it by hand if that is wanted: "
            "{3}".format(
                _name(plan),
                names,
                "" if pinned else " (not the pinned CSV {0})".format(starting_csv) if starting_csv else "",
                _approve_hint(plan, ns),
            ),
            csv_name=current,
            final=True,
        )
    return _result(
        INSTALLING, "InstallPlan {0} is {1} ({2}).".format(_name(plan), phase or "new", names), csv_name=current
    )


def assess(sub, plan=None, csv=None, *, installed=None, manifests=None, starting_csv=""):
    """Derive one state from what OLM shows for one Subscription.

    ``plan`` is the InstallPlan of ``status.installPlanRef``; ``csv`` the CSV named by ``status.currentCSV``;
    ``installed`` the one named by ``status.installedCSV`` when different; ``manifests`` the catalog's
    PackageManifests (optional: they let a resolution failure list the channels that exist).
    Returns dict(state, diagnosis, csv, phase, final, stuck): ``final`` means waiting longer cannot help, ``stuck``
    that progress is blocked by something that might still clear by itself.
    """
    if not sub:
        return _result(RESOLVING, "The Subscription does not exist.", stuck=True)
    ns = (sub.get("metadata") or {}).get("namespace", "")
    status = _status(sub)
    current = status.get("currentCSV") or ""
    installed_name = status.get("installedCSV") or ""
    # An upgrade left for manual approval does not undo what is installed.
    if installed and _status(installed).get("phase") == "Succeeded" and not csv and _plan_waits_for_approval(plan):
        return _result(
            SUCCEEDED,
            "CSV {0} is installed; the upgrade to {1} waits for manual approval ({2}).".format(
                installed_name, current, _approve_hint(plan, ns)
            ),
            csv_name=installed_name,
            phase="Succeeded",
            final=True,
        )
    if csv:
        return _assess_csv(csv, installed_name, ns)
    blocked = _assess_conditions(sub, manifests, plan)
    if blocked:
        return blocked
    if plan:
        return _assess_plan(plan, ns, current, starting_csv)
    waiting = "OLM to create CSV {0}".format(current) if current else "OLM to resolve the Subscription"
    return _result(
        RESOLVING, "Waiting for {0} (state {1!r}).".format(waiting, status.get("state", "")), csv_name=current
    )


def compact(obj):
    """What a person needs from an object to see where it stands: kind, name, phase/state, conditions, message."""
    if not obj:
        return None
    status = _status(obj)
    out = dict(kind=obj.get("kind"), name=_name(obj))
    for key in ("phase", "state", "reason", "message", "currentCSV", "installedCSV"):
        if status.get(key):
            out[key] = status[key]
    conds = [
        {k: c[k] for k in ("type", "phase", "status", "reason", "message") if c.get(k)} for c in _conditions(obj)[-4:]
    ]
    if conds:
        out["conditions"] = conds
    if obj.get("kind") == "InstallPlan":
        out["approval"] = (obj.get("spec") or {}).get("approval")
        out["approved"] = (obj.get("spec") or {}).get("approved")
        out["csvs"] = plan_csv_names(obj)
    return out


# --- OperatorGroups -----------------------------------------------------------------------------------------------


def group_mode(group, namespace):
    """The install mode an existing OperatorGroup gives its members."""
    spec = group.get("spec") or {}
    targets = [t for t in spec.get("targetNamespaces") or [] if t]
    if spec.get("selector"):
        return "MultiNamespace"
    if not targets:
        return "AllNamespaces"
    if targets == [namespace]:
        return "OwnNamespace"
    return "SingleNamespace" if len(targets) == 1 else "MultiNamespace"


def operator_group_plan(groups, namespace, install_mode, name=None):
    """Decide what to do about the namespace's OperatorGroup.

    Returns dict(action=create|reuse|error, name, message).
    """
    name = name or namespace
    groups = [g for g in groups or [] if not (g.get("metadata") or {}).get("deletionTimestamp")]
    if not groups:
        return dict(action="create", name=name, message="")
    if len(groups) > 1:
        names = ", ".join(sorted(_name(g) for g in groups))
        return dict(
            action="error",
            name="",
            message="Namespace {0} already has {1} OperatorGroups ({2}); OLM installs nothing in a namespace with "
            "more than one (TooManyOperatorGroups). Delete all but one, keeping one whose install mode is {3}.".format(
                namespace, len(groups), names, install_mode
            ),
        )
    group = groups[0]
    mode = group_mode(group, namespace)
    if mode == install_mode:
        return dict(action="reuse", name=_name(group), message="")
    wanted = "spec.targetNamespaces: [{0}]".format(namespace) if install_mode == "OwnNamespace" else "spec: {}"
    return dict(
        action="error",
        name=_name(group),
        message="OperatorGroup {0} in namespace {1} selects {2} (targetNamespaces {3}), but this package is installed "
        "with install mode {4}; OLM would fail its CSV with UnsupportedOperatorGroup. Change that OperatorGroup to "
        "{5}, or delete it so that one is created, or install into another namespace.".format(
            _name(group), namespace, mode, (group.get("spec") or {}).get("targetNamespaces") or [], install_mode, wanted
        ),
    )


# --- Objects --------------------------------------------------------------------------------------------------------


def build_objects(op, namespace_exists=False):
    """The Namespace, OperatorGroup and Subscription for one ``olm_operator`` dict (see the role's argument spec).

    The managed-by label marks what this collection created, so removal deletes only that; on an existing namespace
    only the requested labels are merged.
    """
    ns = op["namespace"]
    labels = dict(op.get("namespace_labels") or {})
    if not namespace_exists:
        labels.update(MANAGED_BY)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    if labels:
        namespace["metadata"]["labels"] = labels
    group_spec = {"targetNamespaces": [ns]} if op.get("install_mode", "OwnNamespace") == "OwnNamespace" else {}
    group = {
        "apiVersion": "operators.coreos.com/v1",
        "kind": "OperatorGroup",
        "metadata": {"name": op.get("operator_group_name") or ns, "namespace": ns, "labels": dict(MANAGED_BY)},
        "spec": group_spec,
    }
    spec = {
        "channel": op["channel"],
        "name": op["package"],
        "source": op["source"],
        "sourceNamespace": op.get("source_namespace") or "openshift-marketplace",
        "installPlanApproval": op.get("approval") or "Automatic",
    }
    if op.get("starting_csv"):
        spec["startingCSV"] = op["starting_csv"]
    if op.get("config"):
        spec["config"] = op["config"]
    subscription = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": op.get("subscription_name") or op["package"], "namespace": ns},
        "spec": spec,
    }
    return dict(namespace=namespace, operator_group=group, subscription=subscription)


# --- Catalog --------------------------------------------------------------------------------------------------------


def _manifest_catalog(manifest):
    return _status(manifest).get("catalogSource") or ((manifest.get("metadata") or {}).get("labels") or {}).get(
        "catalog", ""
    )


def catalog_check(manifests, package, channel, source, starting_csv="", *, install_mode=""):
    """Why ``package``/``channel`` cannot be installed from catalog ``source``, or "" when it can.

    ``manifests`` are PackageManifests: those of ``source`` suffice when the package is there; pass the PackageManifests
    of every catalog to have the message name the catalogs that do carry a missing package.
    """
    manifests = manifests or []
    mine = [m for m in manifests if _name(m) == package and _manifest_catalog(m) == source]
    if not mine:
        elsewhere = sorted({_manifest_catalog(m) for m in manifests if _name(m) == package} - {source})
        where = (
            " It is in catalog(s) {0}: set the source to {1}.".format(", ".join(elsewhere), elsewhere[0])
            if elsewhere
            else " No catalog on this cluster carries it (oc get packagemanifests -n openshift-marketplace | grep {0};"
            " on a disconnected cluster, mirror it into your catalog).".format(package)
        )
        return "Package {0} is not in catalog {1}.{2}".format(package, source, where)
    status = _status(mine[0])
    channels = status.get("channels") or []
    names = [c.get("name") for c in channels]
    if channel not in names:
        return (
            "Channel {0} does not exist in package {1} of catalog {2}. Channels that exist: {3} (default: {4}).".format(
                channel, package, source, ", ".join(names) or "(none)", status.get("defaultChannel") or "(none)"
            )
        )
    head = next(c for c in channels if c.get("name") == channel)
    entries = [e.get("name") for e in head.get("entries") or []]
    if starting_csv and entries and starting_csv not in entries:
        return "startingCSV {0} is not in channel {1} of package {2}. CSVs in that channel: {3}.".format(
            starting_csv, channel, package, ", ".join(entries)
        )
    modes = (head.get("currentCSVDesc") or {}).get("installModes") or []
    supported = [m.get("type") for m in modes if m.get("supported")]
    if install_mode and modes and install_mode not in supported:
        return (
            "Package {0} (channel {1}) does not support install mode {2}; it supports {3}. Set install_mode to one "
            "of those.".format(package, channel, install_mode, ", ".join(supported))
        )
    return ""
