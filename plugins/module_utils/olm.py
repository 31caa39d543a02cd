# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator Lifecycle Manager logic as pure functions over the objects the API returns (plain dicts, no I/O).

* ``assess``: Subscription + InstallPlan + CSV(s) -> one state and a diagnosis a person can act on.
* ``Tracker``: the verdict of a wait over successive reads, for what OLM shows only briefly or not at all.
* ``operator_group_plan``: existing OperatorGroups + the install mode a package needs -> reuse / create / error.
* ``build_objects``: the Namespace, OperatorGroup and Subscription an operator install consists of.
* ``catalog_check``: PackageManifests -> why a package/channel cannot be subscribed to, or "".
* ``preflight``: what the cluster holds of one operator install -> the refusals, and the objects to apply.
* ``removal``: what of one operator install teardown may delete, and what it leaves in place and why.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import re

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership

MANAGED_BY = {ownership.MANAGED_BY_KEY: ownership.MANAGED_BY}
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
    "OwnerConflict": "Another CSV in {ns} (an install of another package, or the copy of an operator installed for "
    "all namespaces) owns one of the CRDs this operator owns, or another CSV owns one of its APIServices, and OLM "
    "does not install {csv} while that owner remains. Find it: oc get csv -n {ns} -o custom-columns="
    "NAME:.metadata.name,CRDS:.spec.customresourcedefinitions.owned[*].name; remove that operator if it is not "
    "needed, or install this one into another namespace, then re-run.",
}
GENERIC_ADVICE = "Inspect it with: oc describe csv {csv} -n {ns}; oc get pods -n {ns}."
CSV_FAILURE_ADVICE["ComponentUnhealthy"] = (
    "A component of the operator (usually its Deployment) stopped being ready; OLM reinstalls it by itself and fails "
    "it again the same way while the cause remains. " + GENERIC_ADVICE
)
CSV_FAILURE_ADVICE["InstallCheckFailed"] = (
    "The operator's Deployment did not become ready in time. Find out why its pods do not start (image pull, node "
    "selector, resources): oc get deployments,pods -n {ns}; oc describe csv {csv} -n {ns}."
)

# Failed phases OLM keeps until someone changes something. Any other Failed phase may be one OLM leaves by itself
# within about a second (ComponentUnhealthy, InstallCheckFailed "install timeout", then Pending NeedsReinstall), so a
# wait confirms it on a later read before giving up. The OperatorGroup reasons are those OLM's Failed phase only
# leaves once the OperatorGroup is fixed. OwnerConflict does not hold the phase but comes back: OLM sets it while
# another CSV of the namespace owns one of the CRDs or APIServices outside the replacement chain, then its Failed
# phase moves on to Pending NeedsReinstall and the next sync sets OwnerConflict again, a cycle of a few seconds that
# only the other owner's removal ends (OLM v0.46.0 pkg/controller/operators/olm/operator.go, crdOwnerConflicts and
# apiServiceOwnerConflicts).
FAILURES_THAT_HOLD = frozenset(
    (
        "OwnerConflict",
        "UnsupportedOperatorGroup",
        "TooManyOperatorGroups",
        "NoOperatorGroup",
        "InterOperatorGroupOwnerConflict",
        "InvalidInstallModes",
        "NoTargetNamespaces",
        "RequirementsNotMet",
    )
)
PROGRESS_DEADLINE = "exceeded its progress deadline"


# Kubernetes object names: a namespace is a DNS-1123 label; an OLM package, CatalogSource or Subscription name is
# used as an object name or label value, so the same characters.
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$")


# The fields of an OLM SubscriptionConfig and the JSON type of each (operator-framework/api v0.45.0,
# pkg/operators/v1alpha1/subscription_types.go). The API server drops an unknown field with only a warning, so a
# misspelt nodeSelector would leave the operator where it was, and refuses a wrong type only when the Subscription is
# applied, after the run's first write.
SUBSCRIPTION_CONFIG_FIELDS = {
    "affinity": dict,
    "annotations": dict,
    "env": list,
    "envFrom": list,
    "nodeSelector": dict,
    "resources": dict,
    "selector": dict,
    "tolerations": list,
    "volumeMounts": list,
    "volumes": list,
}
# Fields that map names to strings: Kubernetes refuses any other value.
_STRING_MAPS = ("annotations", "nodeSelector")
_JSON_TYPES = (
    (bool, "a boolean"),
    (dict, "a mapping"),
    (list, "a list"),
    (str, "a string"),
    ((int, float), "a number"),
)


def _json_type(value):
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "null" if value is None else "a value")


def config_problems(config):
    """What is wrong with the shape of a Subscription's ``spec.config``: fields that are not a SubscriptionConfig's,
    and values of the wrong type. Names and types only, never a value, which may be a credential."""
    if config is None or config == {}:
        return []
    if not isinstance(config, dict):
        return ["expected a mapping, found {0}".format(_json_type(config))]
    problems = []
    for key in sorted(config, key=str):
        want, value = SUBSCRIPTION_CONFIG_FIELDS.get(key), config[key]
        if want is None:
            close = [
                f for f in SUBSCRIPTION_CONFIG_FIELDS if f.lower() == str(key).lower()
            ] or difflib.get_close_matches(str(key), list(SUBSCRIPTION_CONFIG_FIELDS), n=1)
            problems.append(
                "unknown field {0}{1}".format(key, " (did you mean {0}?)".format(close[0]) if close else "")
            )
        elif not isinstance(value, want) or isinstance(value, bool):
            problems.append("field {0} must be {1}, found {2}".format(key, _json_type(want()), _json_type(value)))
        elif want is list and not all(isinstance(item, dict) for item in value):
            problems.append("every item of field {0} must be a mapping".format(key))
        elif key in _STRING_MAPS and not all(isinstance(v, str) for v in value.values()):
            problems.append(
                "field {0} must map names to strings, found {1}".format(
                    key,
                    ", ".join("{0}: {1}".format(k, _json_type(v)) for k, v in value.items() if not isinstance(v, str)),
                )
            )
    return problems


def input_problems(op):
    """What is wrong with the names and the Subscription config of operator ``op`` (the olm_operator dictionary), before
    anything is read.

    An empty or malformed name would otherwise reach the API server as "namespace ''" (a cluster-wide list) or as an
    invalid object, after other operators were subscribed.
    """
    problems = []
    fields = (
        ("namespace", _DNS_LABEL, "a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)"),
        ("package", _NAME, "an OLM package name (lower-case letters, digits, '-' and '.')"),
        ("channel", re.compile(r"^\S+$"), "a channel name (not empty, no spaces)"),
        ("source", _DNS_LABEL, "a CatalogSource name (lower-case letters, digits and '-')"),
        ("source_namespace", _DNS_LABEL, "a namespace name"),
    )
    for field, pattern, wanted in fields:
        value = op.get(field)
        if not isinstance(value, str) or not pattern.match(value):
            problems.append(
                "expected the operator {0} to be {1}, found {2}; set {3}_{0} (or leave it unset for the "
                "default)".format(field, wanted, json.dumps(value), op.get("component"))
            )
    found = config_problems(op.get("config"))
    if found:
        problems.append(
            "expected {0}_subscription_config to hold only fields of an OLM SubscriptionConfig ({1}), each of its "
            "type; found {2}. The API server would drop an unknown field with only a warning, and refuse a wrong type "
            "after the run's first write. Fix it and re-run.".format(
                op.get("component"), ", ".join(SUBSCRIPTION_CONFIG_FIELDS), "; ".join(found)
            )
        )
    return problems


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


def _approval(sub):
    return ((sub or {}).get("spec") or {}).get("installPlanApproval") or "Automatic"


def should_approve(plan, starting_csv, sub=None, siblings=()):
    """Approve a Manual plan still waiting for approval when it installs the pinned CSV, or when it is left over.

    Left over: ``sub`` and every other Subscription of its namespace (``siblings``) are Automatic now. OLM gives a
    plan the approval of the namespace's Subscriptions when it makes it (Manual when one of them is) and never changes
    it; while the plan waits it makes no new one, so a Subscription switched from Manual to Automatic would never
    install again. An Automatic plan is what OLM would make now, and approving is what it would do.
    """
    spec = (plan or {}).get("spec") or {}
    if spec.get("approval") != "Manual" or spec.get("approved"):
        return False
    if _status(plan).get("phase", "RequiresApproval") != "RequiresApproval":
        return False
    if starting_csv and starting_csv in plan_csv_names(plan):
        return True
    return bool(sub) and _approval(sub) == "Automatic" and all(_approval(s) == "Automatic" for s in siblings)


def _plan_waits_for_approval(plan):
    spec = (plan or {}).get("spec") or {}
    return bool(plan) and spec.get("approval") == "Manual" and not spec.get("approved")


def _approve_hint(plan, ns):
    return 'oc patch installplan {0} -n {1} --type merge -p \'{{"spec":{{"approved":true}}}}\''.format(_name(plan), ns)


def _result(state, diagnosis, *, csv_name="", phase="", final=False, stuck=False, transient=False):
    return dict(
        state=state, diagnosis=diagnosis, csv=csv_name, phase=phase, final=final, stuck=stuck, transient=transient
    )


def is_copy(csv):
    """Whether ``csv`` is a copy OLM placed in a namespace an AllNamespaces (or multi-namespace) operator watches.

    A copy mirrors the original's phase, so counting it would report an install in a namespace that has none.
    """
    labels = ((csv or {}).get("metadata") or {}).get("labels") or {}
    return "olm.copiedFrom" in labels or _status(csv).get("reason") == "Copied"


def failure_holds(csv):
    """Whether OLM keeps this Failed CSV Failed until someone acts (see FAILURES_THAT_HOLD)."""
    status = _status(csv)
    reason = status.get("reason") or ""
    if reason in FAILURES_THAT_HOLD:
        return True
    return reason == "InstallCheckFailed" and PROGRESS_DEADLINE in (status.get("message") or "")


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
    if phase == "Succeeded" and installed_name == csv_name:
        return _result(SUCCEEDED, "CSV {0} Succeeded.".format(csv_name), csv_name=csv_name, phase=phase, final=True)
    if phase == "Succeeded":
        # OLM's catalog operator records the install on the Subscription in a sync of its own, often after the CSV
        # already Succeeded: done means the Subscription says so too, as `oc get subscription` will show.
        msg = "CSV {0} Succeeded; waiting for OLM to record it as the Subscription's installedCSV (now {1!r}).".format(
            csv_name, installed_name
        )
        return _result(INSTALLING, msg, csv_name=csv_name, phase=phase)
    if phase == "Failed":
        return _result(
            FAILED, _csv_failure(csv, ns), csv_name=csv_name, phase=phase, final=True, transient=not failure_holds(csv)
        )
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
# OLM resolves every Subscription of a namespace together and writes the one ResolutionFailed message on all of them;
# the message names the Subscription(s) it is about.
NAMED_SUBSCRIPTION = re.compile(r"\bsubscription ([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)")
# ResolutionFailed "no operators found from catalog X in namespace Y referenced by subscription Z, ...": OLM has no
# content of that CatalogSource, because it does not exist or has not served anything yet.
FROM_CATALOG = re.compile(
    r"no operators found from catalog (\S+) in namespace (\S+) referenced by subscription "
    r"([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)"
)
# ResolutionFailed "... clusterserviceversion X exists and is not referenced by a subscription ...": a CSV of the
# package is left without its Subscription, and no catalog content can fix that.
UNREFERENCED_CSV = re.compile(r"clusterserviceversion (\S+) exists and is not referenced by a subscription")
# CatalogSourcesUnhealthy "targeted catalogsource Y/X missing": it does not exist.
CATALOG_MISSING = re.compile(r"targeted catalogsource ([^/\s]+)/(\S+) missing")


def named_subscriptions(message):
    """The Subscription names a ResolutionFailed message mentions, in order of appearance."""
    names = []
    for name in NAMED_SUBSCRIPTION.findall(message or ""):
        if name not in names:
            names.append(name)
    return names


def catalog_without_content(sub, subscription=None):
    """The CatalogSource OLM has nothing from for ``subscription`` (default: this one), or None.

    Returns dict(namespace, name, missing): ``missing`` when CatalogSourcesUnhealthy says the CatalogSource does not
    exist (real OLM writes that together with ResolutionFailed "no operators found from catalog ...").
    """
    subscription = subscription or _name(sub)
    missing = None
    unhealthy = condition(sub, "CatalogSourcesUnhealthy") or {}
    match = CATALOG_MISSING.search(unhealthy.get("message") or "")
    if match and subscription == _name(sub):
        missing = dict(namespace=match.group(1), name=match.group(2), missing=True)
    failed = condition(sub, "ResolutionFailed") or {}
    for name, namespace, named in FROM_CATALOG.findall(failed.get("message") or ""):
        if named == subscription:
            found = (missing or {}).get("namespace") == namespace and missing.get("name") == name
            return dict(namespace=namespace, name=name, missing=found)
    return missing


def _catalog_advice(sub_name, where):
    if where["missing"]:
        found = "CatalogSource {0} in namespace {1} does not exist.".format(where["name"], where["namespace"])
    else:
        found = (
            "OLM has no operators from CatalogSource {0} in namespace {1}: it does not exist or has not served its "
            "content yet (oc get catalogsource {0} -n {1} -o yaml).".format(where["name"], where["namespace"])
        )
    return found + (
        " Create it, or point spec.source and spec.sourceNamespace of Subscription {0} to a catalog that exists "
        "(oc get catalogsources -A).".format(sub_name)
    )


def _package_advice(spec, manifests):
    """What to check about one Subscription's package, channel and startingCSV."""
    check = ""
    if manifests is not None:
        check = catalog_check(
            manifests, spec.get("name", ""), spec.get("channel", ""), spec.get("source", ""), spec.get("startingCSV")
        )
    if check:
        return check
    return (
        "Check that package {0}, channel {1} and startingCSV {2} exist in catalog {3} "
        "(oc get packagemanifests -n openshift-marketplace -l catalog={3} -o yaml); another Subscription in the "
        "namespace can also conflict with this one.".format(
            spec.get("name"), spec.get("channel"), spec.get("startingCSV") or "(none)", spec.get("source")
        )
    )


def _sibling_failure(sub, cond, others, siblings, manifests):
    """ResolutionFailed caused by other Subscriptions of the namespace: name them before anything about this one."""
    ns = ((sub or {}).get("metadata") or {}).get("namespace", "")
    found = {_name(s): s for s in siblings or []}
    parts = []
    for other in others:
        sibling = found.get(other)
        if not sibling:
            parts.append("Subscription {0}".format(other))
            continue
        spec = sibling.get("spec") or {}
        parts.append(
            "Subscription {0} (package {1}, channel {2}, catalog {3})".format(
                other, spec.get("name"), spec.get("channel"), spec.get("source")
            )
        )
    text = "Resolution of namespace {0} fails because of {1}: {2}: {3}.".format(
        ns, " and ".join(parts), cond.get("reason"), cond.get("message")
    )
    if _name(sub) in named_subscriptions(cond.get("message")):
        return text + " " + _package_advice((sub or {}).get("spec") or {}, manifests)
    advice = (
        " OLM resolves all Subscriptions of a namespace together, so Subscription {0} installs nothing until that is "
        "fixed. Correct or delete {1} (oc get subscription {2} -n {3} -o yaml).".format(
            _name(sub), "it" if len(others) == 1 else "them", " ".join(others), ns
        )
    )
    sibling = found.get(others[0])
    where = catalog_without_content(sub, others[0])
    if where:
        advice += " " + _catalog_advice(others[0], where)
    elif sibling and manifests is not None:
        spec = sibling.get("spec") or {}
        mine = (sub or {}).get("spec") or {}
        # The PackageManifests were read for this Subscription's catalog: they only judge a sibling of the same one.
        if (spec.get("source"), spec.get("sourceNamespace")) == (mine.get("source"), mine.get("sourceNamespace")):
            check = catalog_check(
                manifests,
                spec.get("name", ""),
                spec.get("channel", ""),
                spec.get("source", ""),
                spec.get("startingCSV"),
            )
            if check:
                advice += " " + check
    return text + advice


def _resolution_failure(sub, cond, manifests, siblings=None):
    spec = (sub or {}).get("spec") or {}
    others = [n for n in named_subscriptions(cond.get("message")) if n != _name(sub)]
    if others:
        return _sibling_failure(sub, cond, others, siblings, manifests)
    text = "Subscription {0} cannot be resolved ({1}: {2}).".format(_name(sub), cond.get("reason"), cond.get("message"))
    where = catalog_without_content(sub)
    if where:
        return text + " " + _catalog_advice(_name(sub), where)
    unreferenced = UNREFERENCED_CSV.findall(cond.get("message") or "")
    if unreferenced:
        ns = _ns(sub)
        return text + (
            " CSV {0} in namespace {1} belongs to no Subscription (a Subscription deleted without its CSV, or a "
            "teardown interrupted after deleting the Subscription), and OLM installs nothing beside it. Delete it "
            "({2}); OLM then installs the package afresh for Subscription {3}.".format(
                ", ".join(unreferenced),
                ns,
                "; ".join("oc delete csv {0} -n {1}".format(c, ns) for c in unreferenced),
                _name(sub),
            )
        )
    return text + " " + _package_advice(spec, manifests)


def _assess_conditions(sub, manifests, plan, siblings=None):
    """Subscription conditions that block resolution, or None."""
    current = _status(sub).get("currentCSV") or ""
    failed = condition(sub, "ResolutionFailed")
    if failed:
        # ConstraintsNotSatisfiable (package/channel/CSV not in the catalog, conflicts) stays until someone changes
        # something; ErrorPreventedResolution (catalog unreachable) can clear by itself.
        final = failed.get("reason") == "ConstraintsNotSatisfiable" or bool(
            NO_OPERATORS.search(failed.get("message", ""))
        )
        diagnosis = _resolution_failure(sub, failed, manifests, siblings)
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
    where = catalog_without_content(sub)
    if unhealthy and where:
        # Not final: the CatalogSource may be created a moment later; the caller's grace for stuck states applies.
        return _result(
            RESOLVING,
            "Subscription {0} cannot be resolved ({1}: {2}). {3}".format(
                _name(sub),
                unhealthy.get("reason"),
                unhealthy.get("message"),
                _catalog_advice(_name(sub), where),
            ),
            csv_name=current,
            stuck=True,
        )
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


def _assess_plan(sub, plan, ns, current, starting_csv):
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
    if phase == "Complete" and current and current in plan_csv_names(plan):
        # The plan made the CSV, and the CSV is gone: someone deleted it (oc delete csv, to "reinstall" the operator).
        # OLM v0 does not install it again for this Subscription (it stays UpgradePending), so waiting cannot help;
        # stuck, not final, in case the CSV was only not visible yet.
        return _result(
            INSTALLING,
            "InstallPlan {0} is Complete, but CSV {1} it installed no longer exists in namespace {2} (deleted after "
            "the install?). OLM does not install it again for this Subscription. Delete the Subscription (oc delete "
            "subscription {3} -n {2}) and re-run: the site playbook creates it again and OLM installs the operator "
            "anew.".format(_name(plan), current, ns, _name(sub)),
            csv_name=current,
            stuck=True,
        )
    return _result(
        INSTALLING, "InstallPlan {0} is {1} ({2}).".format(_name(plan), phase or "new", names), csv_name=current
    )


def _installed_while_upgrade_waits(installed, current, plan, ns):
    """The installed CSV decides while the next version waits for a person's approval."""
    waiting = "the upgrade to {0} waits for manual approval ({1})".format(current, _approve_hint(plan, ns))
    if _status(installed).get("phase") == "Succeeded":
        return _result(
            SUCCEEDED,
            "CSV {0} is installed; {1}.".format(_name(installed), waiting),
            csv_name=_name(installed),
            phase="Succeeded",
            final=True,
        )
    result = _assess_csv(installed, "", ns)
    result["diagnosis"] += " Meanwhile {0}.".format(waiting)
    return result


BLOCKING_CONDITIONS = ("ResolutionFailed", "CatalogSourcesUnhealthy", "InstallPlanFailed")


def unresolved(sub):
    """Whether OLM has shown nothing for an existing Subscription: no state, no InstallPlan, no CSV, no reason why."""
    status = _status(sub)
    if not sub or status.get("state") or status.get("installPlanRef") or status.get("currentCSV"):
        return False
    return not any(condition(sub, ctype) for ctype in BLOCKING_CONDITIONS)


def _live(groups):
    return [g for g in groups or [] if not (g.get("metadata") or {}).get("deletionTimestamp")]


def _group_conditions(groups):
    seen = []
    for group in groups:
        for cond in _conditions(group):
            if str(cond.get("status")) == "True":
                text = "{0}: {1}".format(cond.get("reason") or cond.get("type"), cond.get("message", ""))
                if text not in seen:
                    seen.append(text)
    return "; ".join(seen)


def _keep_one_group(namespace, which):
    return (
        "OLM installs nothing in a namespace with more than one (TooManyOperatorGroups). Delete all but one, keeping "
        "one whose install mode {1}: oc get operatorgroups -n {0}; oc delete operatorgroup <extra> -n {0}.".format(
            namespace, which
        )
    )


def _too_many_groups(namespace, groups, install_mode):
    return "Namespace {0} has {1} OperatorGroups ({2}); {3}".format(
        namespace,
        len(groups),
        ", ".join(sorted(_name(g) for g in groups)),
        _keep_one_group(namespace, "is " + install_mode),
    )


def _assess_groups(sub, groups):
    """The Subscription OLM has not touched, judged by its namespace's OperatorGroups (see Tracker.wants_groups).

    With none or several OperatorGroups, OLM's catalog operator only logs "found N operatorGroups, expected 1" and
    writes nothing on the Subscription; the OperatorGroups carry a MultipleOperatorGroup condition at most.
    """
    ns = (sub.get("metadata") or {}).get("namespace", "")
    live = _live(groups)
    state = _status(sub).get("state", "")
    if len(live) == 1:
        return _result(
            RESOLVING,
            "Waiting for OLM to resolve the Subscription (state {0!r}). Namespace {1} has exactly one "
            "OperatorGroup ({2}), as OLM needs, yet OLM has written neither a state nor an InstallPlan on the "
            "Subscription: check that OLM's catalog operator runs and what it logs "
            "(oc get pods -n openshift-operator-lifecycle-manager).".format(state, ns, _name(live[0])),
        )
    found = "found {0} OperatorGroups in namespace {1}".format(len(live), ns)
    conds = _group_conditions(live)
    if live:
        found += " ({0}{1})".format(", ".join(sorted(_name(g) for g in live)), "; " + conds if conds else "")
        advice = _keep_one_group(ns, "the operator supports")
    else:
        advice = CSV_FAILURE_ADVICE["NoOperatorGroup"].format(ns=ns) + (
            " OwnNamespace: spec.targetNamespaces: [{0}]; AllNamespaces: spec: {{}}.".format(ns)
        )
    return _result(
        FAILED,
        "Subscription {0}: expected exactly one OperatorGroup in namespace {1}, {2}. OLM resolves nothing in such a "
        "namespace and writes no condition on the Subscription (state {3!r}, no InstallPlan). {4}".format(
            _name(sub), ns, found, state, advice
        ),
        final=True,
    )


def assess(sub, plan=None, csv=None, *, installed=None, manifests=None, starting_csv="", groups=None, siblings=None):
    """Derive one state from what OLM shows for one Subscription.

    ``plan`` is the InstallPlan of ``status.installPlanRef``; ``csv`` the CSV named by ``status.currentCSV``;
    ``installed`` the one named by ``status.installedCSV`` when different (copied CSVs count as absent);
    ``manifests`` the catalog's PackageManifests (optional: they let a resolution failure list the channels that
    exist); ``groups`` the namespace's OperatorGroups, given once the Subscription has shown nothing for a while;
    ``siblings`` the other Subscriptions of the namespace (optional: they let a namespace-wide resolution failure
    describe the Subscription it is about).
    Returns dict(state, diagnosis, csv, phase, final, stuck, transient): ``final`` means waiting longer cannot help,
    ``stuck`` that progress is blocked by something that might still clear by itself, ``transient`` that a final
    failure is one OLM often leaves by itself within seconds (see Tracker).
    """
    early = _absent_or_elsewhere(sub, plan, csv)
    if early:
        return early
    csv = None if is_copy(csv) else csv
    installed = None if is_copy(installed) else installed
    ns = (sub.get("metadata") or {}).get("namespace", "")
    status = _status(sub)
    current = status.get("currentCSV") or ""
    # An upgrade left for manual approval does not undo what is installed, nor hide what happened to it.
    if installed and not csv and _plan_waits_for_approval(plan):
        return _installed_while_upgrade_waits(installed, current, plan, ns)
    if csv:
        return _assess_csv(csv, status.get("installedCSV") or "", ns)
    blocked = _assess_conditions(sub, manifests, plan, siblings)
    if blocked:
        return blocked
    if plan:
        return _assess_plan(sub, plan, ns, current, starting_csv)
    return _waiting(sub, groups)


def _absent_or_elsewhere(sub, plan, csv):
    if not sub:
        return _result(RESOLVING, "The Subscription does not exist.", stuck=True)
    if is_copy(csv) and _status(plan).get("phase") == "Complete":
        return _installed_elsewhere(sub, csv)
    return None


def _installed_elsewhere(sub, copy):
    """The plan is Complete, but the CSV of that name in this namespace is OLM's copy of an install elsewhere."""
    ns, name = (sub.get("metadata") or {}).get("namespace", ""), (sub.get("metadata") or {}).get("name", "")
    origin = ((copy.get("metadata") or {}).get("labels") or {}).get("olm.copiedFrom", "another namespace")
    return _result(
        FAILED,
        "CSV {0} in namespace {1} is OLM's copy of the same operator installed in namespace {2} (label "
        "olm.copiedFrom): that install already watches {1}, so OLM cannot install it here a second time. Use the "
        "install in {2} and remove this one (oc delete subscription {3} -n {1}), or uninstall the one in {2} "
        "first.".format(_name(copy), ns, origin, name),
        csv_name=_name(copy),
        phase=_status(copy).get("phase", ""),
        final=True,
    )


def _waiting(sub, groups):
    if groups is not None and unresolved(sub):
        return _assess_groups(sub, groups)
    status = _status(sub)
    current = status.get("currentCSV") or ""
    waiting = "OLM to create CSV {0}".format(current) if current else "OLM to resolve the Subscription"
    return _result(
        RESOLVING, "Waiting for {0} (state {1!r}).".format(waiting, status.get("state", "")), csv_name=current
    )


class Tracker(object):
    """The verdict on one Subscription over successive reads, for what one read of OLM cannot tell.

    * A Failed CSV whose reason is not in FAILURES_THAT_HOLD ends the wait only once it has lasted ``confirm``
      seconds across reads: OLM leaves ComponentUnhealthy or "install timeout" within about a second and reinstalls,
      so one read that lands in that second must not decide the outcome.
    * A stuck state (assess's ``stuck``) ends the wait once it has lasted ``stuck_grace`` seconds unchanged.
    * A Subscription that shows neither state nor InstallPlan for ``group_grace`` seconds is worth a look at its
      namespace's OperatorGroups (``wants_groups``): with none or two, OLM writes nothing on it.

    ``now`` is the caller's clock in seconds since its wait began; nothing here reads a clock or the API.
    """

    def __init__(self, confirm=5.0, stuck_grace=30.0, group_grace=20.0):
        self.confirm = confirm
        self.stuck_grace = stuck_grace
        self.group_grace = group_grace
        self._since = {}  # the result last seen -> when it was first seen in an unbroken run of reads
        self._unresolved_since = None
        self._retried = None  # (when, diagnosis) of a failure OLM went on from by itself, kept for the diagnosis

    def wants_groups(self, sub, now):
        """Whether the Subscription has shown nothing for ``group_grace`` seconds, so its OperatorGroups matter."""
        if not unresolved(sub):
            self._unresolved_since = None
            return False
        if self._unresolved_since is None:
            self._unresolved_since = now
        return now - self._unresolved_since >= self.group_grace

    def judge(self, result, now):
        """``result`` from assess(), with ``final`` and ``state`` decided by how long it has lasted."""
        key = (result["state"], result["csv"], result["phase"], result["diagnosis"])
        since = self._since.get(key, now)
        self._since = {key: since}
        lasted = now - since
        if result["final"] and result.get("transient"):
            if lasted < self.confirm:
                note = (
                    " OLM often goes on from this failure by itself within a second, so it is read again before the "
                    "wait ends (Failed since {0:.1f} s into the wait).".format(since)
                )
                self._retried = (since, result["diagnosis"])
                return dict(result, final=False, diagnosis=result["diagnosis"] + note)
            self._retried = None
            return dict(result, diagnosis=result["diagnosis"] + " (still Failed after {0:.0f} s)".format(lasted))
        if result["state"] == SUCCEEDED or result["final"]:
            self._retried = None
            return result
        if result["stuck"] and lasted >= self.stuck_grace:
            return dict(
                result,
                state=FAILED,
                final=True,
                diagnosis=result["diagnosis"] + " (unchanged for {0:.0f} s)".format(lasted),
            )
        if self._retried:
            return dict(
                result,
                diagnosis="{0} Earlier ({1:.0f} s into the wait) OLM went on by itself from: {2}".format(
                    result["diagnosis"], *self._retried
                ),
            )
        return result


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
    groups = _live(groups)
    if not groups:
        return dict(action="create", name=name, message="")
    if len(groups) > 1:
        return dict(action="error", name="", message=_too_many_groups(namespace, groups, install_mode))
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

    What this collection creates carries the ownership labels (managed-by and component), so that removal deletes
    only that; on an existing namespace only the requested labels are merged.
    """
    ns = op["namespace"]
    mine = ownership.labels(op.get("component") or "olm_operator")
    labels = dict(op.get("namespace_labels") or {})
    if not namespace_exists:
        labels.update(mine)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    if labels:
        namespace["metadata"]["labels"] = labels
    group_spec = {"targetNamespaces": [ns]} if op.get("install_mode", "OwnNamespace") == "OwnNamespace" else {}
    group = {
        "apiVersion": "operators.coreos.com/v1",
        "kind": "OperatorGroup",
        "metadata": {"name": op.get("operator_group_name") or ns, "namespace": ns, "labels": dict(mine)},
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
        "metadata": {"name": op.get("subscription_name") or op["package"], "namespace": ns, "labels": dict(mine)},
        "spec": spec,
    }
    return dict(namespace=namespace, operator_group=group, subscription=subscription)


# --- Catalog --------------------------------------------------------------------------------------------------------


def _manifest_catalog(manifest):
    return _status(manifest).get("catalogSource") or ((manifest.get("metadata") or {}).get("labels") or {}).get(
        "catalog", ""
    )


def _catalog_package(manifests, package, source):
    """The PackageManifest of ``package`` in catalog ``source``, or None."""
    return next((m for m in manifests or [] if _name(m) == package and _manifest_catalog(m) == source), None)


def _channel(manifests, package, source, channel):
    """The PackageManifest status entry of ``channel`` ({} when the catalog does not carry it)."""
    channels = _status(_catalog_package(manifests, package, source)).get("channels") or []
    return next((c for c in channels if c.get("name") == channel), {})


def catalog_check(manifests, package, channel, source, starting_csv="", *, install_mode=""):
    """Why ``package``/``channel`` cannot be installed from catalog ``source``, or "" when it can.

    ``manifests`` are PackageManifests: those of ``source`` suffice when the package is there; pass the PackageManifests
    of every catalog to have the message name the catalogs that do carry a missing package.
    """
    manifests = manifests or []
    manifest = _catalog_package(manifests, package, source)
    if manifest is None:
        elsewhere = sorted({_manifest_catalog(m) for m in manifests if _name(m) == package} - {source})
        where = (
            " It is in catalog(s) {0}: set the source to {1}.".format(", ".join(elsewhere), elsewhere[0])
            if elsewhere
            else " No catalog on this cluster carries it (oc get packagemanifests -n openshift-marketplace | grep {0};"
            " on a disconnected cluster, mirror it into your catalog).".format(package)
        )
        return "Package {0} is not in catalog {1}.{2}".format(package, source, where)
    status = _status(manifest)
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
            "Package {0} (channel {1}) does not support install mode {2}; it supports {3}. The install mode is a fact "
            "of the operator's bundle, not a setting: this catalog carries a different build than the one this "
            "collection knows. Check the catalog source and channel (oc get packagemanifest {0} -n "
            "openshift-marketplace -o yaml).".format(package, channel, install_mode, ", ".join(supported))
        )
    return ""


# --- Ownership and preflight -----------------------------------------------------------------------------------------

# What a Subscription's spec holds that this collection sets; anything else (status, OLM's own labels) is not ours.
SUBSCRIPTION_FIELDS = ("name", "channel", "source", "sourceNamespace", "installPlanApproval", "startingCSV", "config")
OURS = "ours"
LEGACY = "legacy"
DEPENDENCY = "dependency"
FOREIGN = "foreign"
PACKAGE_LABEL = "operators.coreos.com/{0}."


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _ns(obj):
    return _meta(obj).get("namespace", "")


def describe_subscription(sub):
    spec = (sub or {}).get("spec") or {}
    return "Subscription {0}/{1} (package {2}, channel {3})".format(
        _ns(sub), _name(sub), spec.get("name", ""), spec.get("channel") or "the package's default"
    )


def owner(obj, namespace=None):
    """Whose ``obj`` is: OURS (labelled), LEGACY (unlabelled, in a namespace this collection created: versions
    before the ownership labels labelled only the namespace, and everything they made in it), or FOREIGN."""
    if ownership.is_ours(obj):
        return OURS
    if ownership.is_ours(namespace):
        return LEGACY
    return FOREIGN


def subscription_differences(desired, existing):
    """``path: want X, found Y`` for each field of SUBSCRIPTION_FIELDS in which ``existing`` differs from ``desired``.

    A field ``desired`` does not set but ``existing`` does (a pinned startingCSV, a config) is a difference too: the
    install would not be the one this collection describes. A missing installPlanApproval is OLM's Automatic.
    """
    want = (desired or {}).get("spec") or {}
    have = dict((existing or {}).get("spec") or {})
    have.setdefault("installPlanApproval", "Automatic")
    found = []
    for key in SUBSCRIPTION_FIELDS:
        path = "spec." + key
        if key in want and have.get(key) in (None, "", {}):
            found.append("{0}: want {1}, found nothing".format(path, ownership.shown(path, want[key])))
        elif key in want:
            found.extend(ownership.differences(want[key], have[key], path))
        elif have.get(key) not in (None, "", {}):
            found.append("{0}: want nothing, found {1}".format(path, ownership.shown(path, have[key])))
    return found


def _adopted(desired, existing):
    """``desired`` with null for what ``existing`` sets beyond it, so a merge patch removes those fields."""
    spec = dict(desired["spec"])
    for key in SUBSCRIPTION_FIELDS:
        if key not in spec and ((existing or {}).get("spec") or {}).get(key) not in (None, "", {}):
            spec[key] = None
    return dict(desired, spec=spec)


def package_csvs(csvs, package, manifests=None):
    """The CSVs (not OLM's copies) that install ``package``: named in one of its catalog channels, or carrying OLM's
    ``operators.coreos.com/<package>.<namespace>`` label."""
    names = set()
    for manifest in manifests or []:
        if _name(manifest) == package:
            for channel in _status(manifest).get("channels") or []:
                names.update(e.get("name") for e in channel.get("entries") or [])
                names.add((channel.get("currentCSV") or ""))
    names.discard("")
    prefix = PACKAGE_LABEL.format(package)
    return [
        c
        for c in csvs or []
        if not is_copy(c) and (_name(c) in names or any(k.startswith(prefix) for k in _meta(c).get("labels") or {}))
    ]


def _remove_hint(sub):
    csv = _status(sub).get("installedCSV") or "<its CSV>"
    return "oc delete subscription {0} -n {1}; oc delete csv {2} -n {1}".format(_name(sub), _ns(sub), csv)


def _elsewhere(op, subs):
    component, package, ns = op.get("component") or "olm_operator", op["package"], op["namespace"]
    return (
        "{0} already installs package {1} in namespace {2}; expected no Subscription of {1} outside namespace {3}. "
        "Two installs of one operator on a cluster compete for the same cluster-wide APIs and operands, and OLM "
        "refuses or breaks one of them. To keep that install, leave {4} out of gpu_infra_components; to have this "
        "collection install it in {3}, remove it first ({5}) and re-run.".format(
            describe_subscription(subs[0]), package, _ns(subs[0]), ns, component, _remove_hint(subs[0])
        )
    )


def _other_name(op, sub, name):
    return (
        "{0} already subscribes namespace {1} to package {2} under another name than the expected {3}. OLM "
        "resolves every Subscription of a namespace together, and two of one package fail that resolution. To keep "
        "it, leave {4} out of gpu_infra_components; otherwise delete it ({5}) and re-run, and this collection "
        "creates {3}.".format(
            describe_subscription(sub), op["namespace"], op["package"], name, op.get("component"), _remove_hint(sub)
        )
    )


def _orphan_csvs(op, csvs):
    listed = ", ".join("{0}/{1} (phase {2})".format(_ns(c), _name(c), _status(c).get("phase") or "none") for c in csvs)
    return (
        "Found CSV {0} of package {1} with no Subscription of the package in its namespace (installed without OLM's "
        "Subscription, or left behind by an uninstall); expected no install of {1} outside namespace {2}. It owns the "
        "operator's APIs, so a second install would fail. Delete it ({3}) and re-run, or leave {4} out of "
        "gpu_infra_components.".format(
            listed,
            op["package"],
            op["namespace"],
            "; ".join("oc delete csv {0} -n {1}".format(_name(c), _ns(c)) for c in csvs),
            op.get("component"),
        )
    )


def _unsubscribed_csvs(op, csvs):
    listed = ", ".join("{0} (phase {1})".format(_name(c), _status(c).get("phase") or "none") for c in csvs)
    delete = "; ".join("oc delete csv {0} -n {1}".format(_name(c), _ns(c)) for c in csvs)
    if any(ownership.is_ours(c) for c in csvs):
        cause = "a teardown of {0} was interrupted after deleting the Subscription".format(op.get("component"))
        remedy = "Finish it (teardown.yml for {0}) or delete the CSV ({1}), then re-run.".format(
            op.get("component"), delete
        )
    else:
        cause = "its Subscription was deleted without it, or it was installed without one"
        remedy = "Delete it ({0}) and re-run, or leave {1} out of gpu_infra_components.".format(
            delete, op.get("component")
        )
    return (
        "Found CSV {0} of package {1} in namespace {2} with no Subscription of the package there ({3}); expected "
        "none, or one with its Subscription. OLM installs nothing for a new Subscription beside a CSV of its package "
        "that no Subscription references (ConstraintsNotSatisfiable). {4}".format(
            listed, op["package"], op["namespace"], cause, remedy
        )
    )


def _terminating(namespace):
    return bool(_meta(namespace).get("deletionTimestamp")) or _status(namespace).get("phase") == "Terminating"


def _others(op, subs, csvs, manifests, name):
    """Refusals for other installs of the package: Subscriptions elsewhere or under another name, orphaned CSVs."""
    ns, package = op["namespace"], op["package"]
    problems = []
    same = [s for s in subs if ((s.get("spec") or {}).get("name")) == package]
    elsewhere = [s for s in same if _ns(s) != ns]
    if elsewhere:
        problems.append(_elsewhere(op, elsewhere))
    problems.extend(_other_name(op, s, name) for s in same if _ns(s) == ns and _name(s) != name)
    if csvs is not None:
        subscribed = {_ns(s) for s in same}
        # A CSV being deleted (its namespace is, or an uninstall is under way) is gone within moments.
        orphans = [
            c
            for c in package_csvs(csvs, package, manifests)
            if _ns(c) != ns and _ns(c) not in subscribed and not _meta(c).get("deletionTimestamp")
        ]
        if orphans:
            problems.append(_orphan_csvs(op, orphans))
        if ns not in subscribed:
            here = [
                c
                for c in package_csvs(csvs, package, manifests)
                if _ns(c) == ns and not _meta(c).get("deletionTimestamp")
            ]
            if here:
                problems.append(_unsubscribed_csvs(op, here))
    return problems


def _manual_warning(op, subs, desired):
    ns, name = op["namespace"], _name(desired)
    manual = [_name(s) for s in subs if _ns(s) == ns and _name(s) != name and _approval(s) == "Manual"]
    if not manual or desired["spec"]["installPlanApproval"] != "Automatic":
        return []
    return [
        "Subscription(s) {0} in namespace {1} approve their InstallPlans manually, and OLM then treats every "
        "Subscription of the namespace as Manual: {2} will wait for an approval (csv_wait fails with needs-approval "
        "and the command to approve).".format(", ".join(manual), ns, name)
    ]


def _channel_warning(op, existing, manifests):
    """The channel asked for does not contain the installed CSV, and OLM will not move to it.

    OLM upgrades an installed operator only to a CSV of its channel that replaces or skips the installed one, and
    never downgrades; with none, the installed CSV keeps running under the new channel and nothing says so. Said when
    the channel changes, and on every run after while the Subscription shows nothing to move to (AtLatestKnown).
    """
    status = _status(existing)
    installed = status.get("installedCSV")
    changes = (existing.get("spec") or {}).get("channel") != op["channel"]
    if not installed or manifests is None or not (changes or status.get("state") == "AtLatestKnown"):
        return []
    entries = [
        e.get("name") for e in _channel(manifests, op["package"], op["source"], op["channel"]).get("entries") or []
    ]
    if not entries or installed in entries:
        return []
    return [
        "Subscription {0}/{1} asks for channel {2}, which does not contain the installed CSV {3} (its CSVs: {4}). OLM "
        "never downgrades: it keeps {3} running until a CSV of {2} replaces or skips it. To run a CSV of {2} now, "
        "remove the operator (teardown.yml with gpu_infra_components: [{5}], or the role's remove) and run site.yml "
        "again; to keep {3}, set the channel back.".format(
            _ns(existing),
            _name(existing),
            op["channel"],
            installed,
            ", ".join(entries),
            op.get("component") or op["package"],
        )
    ]


_CSV_VERSION = re.compile(r"\.v?(\d+(?:\.\d+)*)$")


def csv_version(name):
    """The version of a CSV from its name (``kueue-operator.v1.2.0`` -> ``(1, 2, 0)``), or None."""
    found = _CSV_VERSION.search(name or "")
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def _pin_warning(op, existing):
    """The CSV pinned with Manual approval is older than the one installed, so OLM will never install it.

    OLM applies startingCSV only at the first install and never downgrades; csv_wait finds the installed CSV
    Succeeded, and verify fails its CSV check on the pin. A newer pin is an upgrade csv_wait approves, so not said.
    """
    installed, pin = _status(existing).get("installedCSV"), op.get("starting_csv")
    if op.get("approval") != "Manual" or not installed or not pin or installed == pin:
        return []
    have, want = csv_version(installed), csv_version(pin)
    if have is None or want is None or want >= have:
        return []
    return [
        "Subscription {0}/{1} pins startingCSV {2} (Manual approval), but {3} is installed: OLM applies startingCSV "
        "only at the first install and never downgrades, so {3} keeps running and verify fails its CSV check. Set "
        "{4}_starting_csv to {3} to keep it, or remove the operator (teardown.yml with gpu_infra_components: [{4}]) "
        "and run site.yml again to install {2}.".format(
            _ns(existing), _name(existing), pin, installed, op.get("component") or op["package"]
        )
    ]


def _verdict(op, existing, namespace, objects, adopt):
    """create / ours / adopt / conflict for the Subscription of our name; adopting rewrites objects' Subscription."""
    desired = objects["subscription"]
    verdict = dict(action="create", name=_name(desired), owner="", differences=[])
    if existing is None:
        return verdict
    who = owner(existing, namespace)
    diffs = subscription_differences(desired, existing)
    if who in (OURS, LEGACY):
        # A merge patch leaves what the definition does not name: a startingCSV or config no longer configured (or
        # added by hand) is set to null so that the apply removes it, as for an adopted one.
        objects["subscription"] = _adopted(desired, existing)
        return dict(verdict, action="ours", owner=who, differences=diffs)
    if not diffs or adopt:
        objects["subscription"] = _adopted(desired, existing)
        return dict(verdict, action="adopt", owner=who, differences=diffs)
    return dict(verdict, action="conflict", owner=who, differences=diffs)


def preflight(op, *, namespace=None, groups=None, subscriptions=None, csvs=None, manifests=None, adopt=False):
    """What stands in the way of installing ``op`` (an ``olm_operator`` dict), and what to apply when nothing does.

    ``namespace`` is the target Namespace (None when absent); ``groups`` its OperatorGroups; ``subscriptions`` the
    Subscriptions to judge (every namespace's, or only the target's); ``csvs`` the CSVs of every namespace (None: not
    read, not judged); ``manifests`` the catalog's PackageManifests (None: no catalog check).
    Returns dict(problems, warnings, namespace_exists, namespace_owner, operator_group, subscription, objects):
    ``problems`` are sentences saying found / expected / what to do; ``objects`` what to apply: the Namespace (unless
    it exists with every label it would get), the OperatorGroup (only when one is to be created) and the Subscription
    (unless it is ours with no difference and every label), the latter two with the ownership labels.
    """
    ns = op["namespace"]
    exists = namespace is not None
    objects = build_objects(op, namespace_exists=exists)
    name = _name(objects["subscription"])
    problems = []
    if manifests is not None:
        problem = catalog_check(
            manifests,
            op["package"],
            op["channel"],
            op["source"],
            op.get("starting_csv") or "",
            install_mode=op.get("install_mode") or "",
        )
        if problem:
            problems.append(problem + " (Skip this check with gpu_infra_catalog_preflight: false.)")
    if exists and _terminating(namespace):
        problems.append(
            "Namespace {0} is being deleted; expected it to exist or to be absent. Wait until it is gone (oc get "
            "namespace {0}; a finalizer may hold it) and re-run.".format(ns)
        )
    plan = operator_group_plan(
        groups or [], ns, op.get("install_mode") or "OwnNamespace", _name(objects["operator_group"])
    )
    if plan["action"] == "error":
        problems.append(plan["message"])
    subs = [s for s in subscriptions or [] if not _meta(s).get("deletionTimestamp")]
    problems.extend(_others(op, subs, csvs, manifests, name))
    existing = next((s for s in subs if _ns(s) == ns and _name(s) == name), None)
    verdict = _verdict(op, existing, namespace, objects, adopt)
    if verdict["action"] == "conflict":
        conflict = dict(object="Subscription {0}/{1}".format(ns, name), differences=verdict["differences"])
        message = ownership.conflict_message(op.get("component") or "olm_operator", [conflict])
        problems.append(message.replace(" Nothing was changed.", ""))
    # What already holds everything it would get is left out: a re-run that changes nothing writes nothing.
    apply = [] if exists and ownership.holds_metadata(objects["namespace"], namespace) else [objects["namespace"]]
    if plan["action"] == "create":
        apply.append(objects["operator_group"])
    sub = objects["subscription"]
    if not (verdict["owner"] == OURS and not verdict["differences"] and ownership.holds_metadata(sub, existing)):
        apply.append(sub)
    return dict(
        problems=problems,
        warnings=_manual_warning(op, subs, objects["subscription"])
        + _channel_warning(op, existing or {}, manifests)
        + _pin_warning(op, existing or {}),
        namespace_exists=exists,
        namespace_owner=owner(namespace) if exists else "",
        operator_group=dict(action=plan["action"], name=plan["name"]),
        subscription=verdict,
        objects=apply,
    )


def removal(op, subscription=None, csvs=None, namespace=None, *, dependency_of_ours=False):
    """What teardown of ``op`` may delete: only what this collection created or adopted.

    ``subscription`` is the live Subscription (None after a partial removal); ``csvs`` the CSVs of its package in its
    namespace; ``dependency_of_ours`` marks a Subscription OLM created for a dependency of one of ours.
    Returns dict(owner, subscription, csvs, operator, left): whether to delete the Subscription, the CSV names to
    delete, whether to delete the Operator object, and a sentence on what is left in place and why (or "").
    """
    ns, package = op["namespace"], op["package"]
    csvs = [c for c in csvs or [] if not is_copy(c)]
    if subscription is not None:
        who = owner(subscription, namespace)
        if who == FOREIGN and dependency_of_ours:
            who = DEPENDENCY
    else:
        who = "absent"
    if who in (OURS, LEGACY, DEPENDENCY):
        status = _status(subscription)
        names = [status.get("installedCSV") or "", status.get("currentCSV") or ""] + [_name(c) for c in csvs]
        keep = []
    else:
        # After a partial removal only the CSVs remain: ours when they carry the labels remove puts on them before
        # deleting the Subscription, or sit in a namespace this collection created.
        mine = [c for c in csvs if dependency_of_ours or owner(c, namespace) != FOREIGN]
        names = [_name(c) for c in mine]
        keep = [c for c in csvs if c not in mine]
    unique = []
    for n in names:
        if n and n not in unique:
            unique.append(n)
    left = ""
    if who == FOREIGN:
        left = (
            "Left {0} and its CSV {1} in place: it does not carry the label {2}={3}, so this collection neither "
            "created nor adopted it. Remove it by hand if it should go: {4}.".format(
                describe_subscription(subscription),
                _status(subscription).get("installedCSV") or "(none)",
                ownership.MANAGED_BY_KEY,
                ownership.MANAGED_BY,
                _remove_hint(subscription),
            )
        )
        unique = []
    elif keep:
        left = (
            "Left CSV {0} of package {1} in namespace {2} in place: no Subscription of ours installs it and it does "
            "not carry the label {3}={4}. Remove it by hand if it should go: {5}.".format(
                ", ".join(_name(c) for c in keep),
                package,
                ns,
                ownership.MANAGED_BY_KEY,
                ownership.MANAGED_BY,
                "; ".join("oc delete csv {0} -n {1}".format(_name(c), ns) for c in keep),
            )
        )
    return dict(
        owner=who,
        subscription=who in (OURS, LEGACY, DEPENDENCY),
        csvs=unique,
        operator=who in (OURS, LEGACY, DEPENDENCY) or bool(unique),
        left=left,
    )


# --- Removal: what keeps a namespace of ours -------------------------------------------------------------------------
FOREIGN_SHOWN = 10


def namespace_kept(namespace, foreign):
    """The ``left`` sentence for namespace ``namespace`` kept with its OperatorGroup because it holds ``foreign``."""
    shown = ", ".join(foreign[:FOREIGN_SHOWN])
    if len(foreign) > FOREIGN_SHOWN:
        shown += " and {0} more".format(len(foreign) - FOREIGN_SHOWN)
    return (
        "Left namespace {0} and its OperatorGroup in place, though this collection created them: the namespace holds "
        "{1}, which neither this collection nor the operator created (no label {2}={3}, no ownerReferences), and "
        "deleting the namespace would delete {4} too. Look at {4} (oc get {5} -n {0}); when {6} not needed, delete "
        "the namespace by hand: oc delete namespace {0}.".format(
            namespace,
            shown,
            ownership.MANAGED_BY_KEY,
            ownership.MANAGED_BY,
            "it" if len(foreign) == 1 else "them",
            ",".join(sorted({f.split(" ", 1)[0].lower() for f in foreign})),
            "it is" if len(foreign) == 1 else "they are",
        )
    )
