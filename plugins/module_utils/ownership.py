# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which objects this collection owns, and whether an object someone else made may be taken over.

Every object the collection creates carries ``app.kubernetes.io/managed-by: rhoai.gpu_infra`` and the component that
made it. An object that exists without the label was made by someone else (the console, the RHOAI operator, another
team): it is adopted, i.e. labelled and from then on managed, only when it already holds what the collection would
apply, because applying over it would silently change someone's install. Otherwise the run refuses before any change,
naming each difference and the variable that allows taking the object over. Teardown deletes only labelled objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.redaction import redact

MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY = "rhoai.gpu_infra"
COMPONENT_KEY = "rhoai.gpu-infra/component"
ADOPT_VARIABLE = "gpu_infra_adopt"

# Fields the server or an operator writes, never part of what the collection applies.
_IGNORED_TOP = ("status",)
_IGNORED_METADATA = (
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
)


def labels(component):
    """The labels that mark an object as this collection's, made for ``component``."""
    return {MANAGED_BY_KEY: MANAGED_BY, COMPONENT_KEY: component}


def is_ours(obj):
    return ((obj or {}).get("metadata") or {}).get("labels", {}).get(MANAGED_BY_KEY) == MANAGED_BY


def with_labels(obj, component):
    """A copy of ``obj`` whose metadata.labels also hold the ownership labels (its own labels are kept)."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta["labels"] = dict(meta.get("labels") or {}, **labels(component))
    out["metadata"] = meta
    return out


def _show(value):
    return json.dumps(value, sort_keys=True)


def shown(path, value):
    """``value``, found at ``path`` of an object, as JSON without credentials (redaction.redact's rules, with the
    last key of ``path`` as the field name): a difference line names values of objects someone else made, such as the
    ``env`` of a Subscription's ``spec.config``, and it ends up in messages and task results."""
    key = str(path).rsplit(".", 1)[-1] if path else ""
    return _show(redact({key: value}).get(key) if key else redact(value))


def _same(a, b):
    # True and 1, or "1" and 1, are different to the API server; 1 and 1.0 are not.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def differences(desired, existing, path=""):
    """What ``existing`` lacks of ``desired``, as ``path: want X, found Y`` lines.

    ``desired`` is compared as a subset: fields it does not set (defaults the API server or the operator filled in)
    are no difference. Lists must be equal, because an apply replaces them.
    """
    if isinstance(desired, dict) and isinstance(existing, dict):
        found = []
        for key in sorted(desired):
            if not path and key in _IGNORED_TOP:
                continue
            if path == "metadata" and key in _IGNORED_METADATA:
                continue
            sub = "{0}.{1}".format(path, key) if path else key
            if key not in existing:
                if desired[key] is None:  # a merge patch deletes a field set to null: absent is what it asks for
                    continue
                found.append("{0}: want {1}, found nothing".format(sub, shown(sub, desired[key])))
            else:
                found.extend(differences(desired[key], existing[key], sub))
        return found
    if _same(desired, existing):
        return []
    return ["{0}: want {1}, found {2}".format(path or "(object)", shown(path, desired), shown(path, existing))]


def _ref(obj):
    meta = obj.get("metadata") or {}
    where = "{0}/{1}".format(meta["namespace"], meta.get("name")) if meta.get("namespace") else meta.get("name")
    return "{0} {1}".format(obj.get("kind"), where)


def classify(desired, existing, *, adopt=False):
    """What applying ``desired`` means for ``existing`` (the live object or None).

    Returns a dict: ``action`` is ``create`` (absent), ``ours`` (labelled by this collection), ``adopt`` (someone
    else's and equal to what would be applied, or ``adopt`` is set), or ``conflict`` (someone else's and different);
    ``differences`` lists what differs; ``object`` names it; ``unchanged`` says that the object is ours and already
    holds all of ``desired``, its labels and annotations included, so that applying it would change nothing.
    """
    found = {"object": _ref(desired), "differences": [], "unchanged": False}
    if not existing:
        return dict(found, action="create")
    diffs = differences(desired, existing)
    if is_ours(existing):
        return dict(found, action="ours", differences=diffs, unchanged=not diffs and holds_metadata(desired, existing))
    return dict(found, action="adopt" if adopt or not diffs else "conflict", differences=diffs)


def holds_metadata(desired, existing):
    """The labels and annotations of ``desired`` are on ``existing`` with the same values (others may be too)."""
    want, have = desired.get("metadata") or {}, existing.get("metadata") or {}
    return all(not differences(want.get(key) or {}, have.get(key) or {}) for key in ("labels", "annotations"))


def conflict_message(component, conflicts, variable=ADOPT_VARIABLE):
    """The refusal for objects someone else made that differ from what ``component`` would apply."""
    them = "it" if len(conflicts) == 1 else "them"
    return (
        "{c}: expected to create or adopt {objects}, but found {them} made by someone else (no label {key}={value}) "
        "and different from what this collection would apply: {diffs}. Applying it would change an install this "
        "collection does not own. Set {var}=true to take {them} over (the differences above are then applied), align "
        "{them} by hand, or leave {c} out of gpu_infra_components. Nothing was changed."
    ).format(
        c=component,
        objects=", ".join(c["object"] for c in conflicts),
        them=them,
        key=MANAGED_BY_KEY,
        value=MANAGED_BY,
        diffs="; ".join("{0} ({1})".format(c["object"], "; ".join(c["differences"])) for c in conflicts),
        var=variable,
    )


# --- On the cluster: what the owned_objects module does with the functions above ----------------------------------
# ``api`` is anything with the client facade's has_kind(api_version, kind), get(api_version, kind, name, namespace)
# and delete(api_version, kind, name, namespace): the module passes the real client, unit tests a fake.

KEPT_FOREIGN = "not created by rhoai.gpu_infra (no label {0}={1}): someone else's, left in place".format(
    MANAGED_BY_KEY, MANAGED_BY
)


class RemovalTimeout(Exception):
    """Labelled objects were deleted but some were still there at the deadline; ``result`` has what was done."""

    def __init__(self, message, result):
        super(RemovalTimeout, self).__init__(message)
        self.result = result


def reference(obj):
    """The api_version, kind, name and namespace of a definition or a reference, with its printable name."""
    meta = obj.get("metadata") or {}
    api_version = obj.get("api_version") or obj.get("apiVersion")
    name = obj.get("name") or meta.get("name")
    namespace = obj.get("namespace") or meta.get("namespace") or ""
    out = dict(api_version=api_version, kind=obj.get("kind"), name=name, namespace=namespace)
    out["object"] = _ref(dict(kind=out["kind"], metadata=dict(name=name, namespace=namespace)))
    return out


def check(api, definitions, *, adopt=False):
    """Classify every definition against the cluster (read-only).

    A kind the API server does not serve yet (its operator, which brings the CRD, is not installed) is ``create``
    with ``served`` false: no object of it can exist.
    """
    results = []
    for desired in definitions:
        ref = reference(desired)
        if not api.has_kind(ref["api_version"], ref["kind"]):
            found = dict(
                classify(desired, None),
                served=False,
                reason="kind {0} ({1}) is not served yet: its operator is not installed".format(
                    ref["kind"], ref["api_version"]
                ),
            )
        else:
            existing = api.get(ref["api_version"], ref["kind"], ref["name"], ref["namespace"] or None)
            found = dict(classify(desired, existing, adopt=adopt), served=True)
            found["reason"] = _reason(found, existing, adopt)
        results.append(dict(ref, **found))
    return results


def _reason(found, existing, adopt):
    if found["action"] == "create":
        return "does not exist"
    if found["action"] == "ours":
        return "carries {0}={1}".format(MANAGED_BY_KEY, MANAGED_BY)
    if found["action"] == "conflict":
        return "made by someone else and different from what would be applied"
    if found["differences"]:
        return "made by someone else and different; taken over because {0} is true".format(ADOPT_VARIABLE)
    return "made by someone else and equal to what would be applied: adopted (labelled when applied)"


class Conflict(Exception):
    """Objects someone else made differ from what would be applied; ``objects`` has every classification."""

    def __init__(self, message, objects):
        super(Conflict, self).__init__(message)
        self.objects = objects


def projection(desired, existing):
    """What ``existing`` holds at the paths ``desired`` sets: the "before" of a diff whose "after" is ``desired``."""
    if not isinstance(desired, dict) or not isinstance(existing, dict):
        return existing
    return {key: projection(value, existing[key]) for key, value in desired.items() if key in existing}


def apply(api, definitions, component, *, adopt=False, dry_run=False, diff=False):
    """Create or update each definition, labelled as ``component``'s, unless that would change nothing.

    Every definition is classified first (``check``), so a conflict raises ``Conflict`` before anything is written.
    Then, in order: an absent object is created; one of ours or an adoptable one gets the definition as a JSON merge
    patch (what kubernetes.core.k8s does with state present: fields it does not set are kept, lists replaced); one of
    ours that holds all of it already is not written. The classification is made here, right before writing, so a
    preflight that ran earlier (or for another input) never decides what is skipped. ``applied`` on each result says
    ``created``, ``updated`` or ``unchanged``; with ``dry_run`` the API server validates every write and stores
    nothing; a kind it does not serve yet (the operator bringing its CRD is not installed, which only a dry run gets
    to) is ``not served``, and an object whose namespace does not exist yet (which would fail a dry run) ``no
    namespace``. With ``diff``, each result written also has ``diff`` (``before``: what the object held at the
    paths the definition sets, ``after``: the definition).
    """
    desired = [with_labels(d, component) for d in definitions]
    results = check(api, desired, adopt=adopt)
    conflicts = [r for r in results if r["action"] == "conflict"]
    if conflicts:
        raise Conflict(conflict_message(component, conflicts), results)
    for want, found in zip(desired, results):
        namespace = found["namespace"] or None
        if found["unchanged"]:
            found["applied"] = "unchanged"
        elif not found["served"]:
            if not dry_run:
                raise ValueError(
                    "{0}: expected kind {1} ({2}) to be served, as its CRD is Established, before applying {3}; "
                    "found it not served. Check the operator's CSV and CRDs (the rhoai.gpu_infra.diagnose playbook "
                    "collects them), then re-run.".format(
                        component, found["kind"], found["api_version"], found["object"]
                    )
                )
            found["applied"] = "not served"
        elif dry_run and found["action"] == "create" and namespace and not api.get("v1", "Namespace", namespace):
            found["applied"] = "no namespace"
        elif found["action"] == "create":
            api.create(found["api_version"], found["kind"], want, namespace, dry_run=dry_run)
            found["applied"] = "created"
        else:
            before = api.get(found["api_version"], found["kind"], found["name"], namespace) if diff else None
            api.merge_patch(found["api_version"], found["kind"], found["name"], want, namespace, dry_run=dry_run)
            found["applied"] = "updated"
            if diff:
                found["diff"] = dict(before=projection(want, before), after=want)
        if diff and found["applied"] in ("created", "not served", "no namespace"):
            found["diff"] = dict(before={}, after=want)
    return results


# The kinds whose objects keep a namespace of ours: what a person puts in an operator's namespace to configure or run
# something next to the operator (NVIDIA documents ConfigMap licensing-config and the vGPU/NGC pull Secrets in the GPU
# operator's namespace), and what holds data (PersistentVolumeClaim) or runs workloads. Left out: ServiceAccounts and
# RBAC (Kubernetes, OpenShift and OLM create them in every operator namespace, and they hold nothing but grants),
# Events, Leases and Endpoints(Slices) (written by controllers), and custom resources (the operand CRs go before the
# operator; their kinds differ by operator). All of these are core, apps or batch kinds every cluster serves.
CONTENT_KINDS = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Service"),
    ("v1", "Pod"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
)
# ConfigMaps the platform publishes in every namespace, with neither owner nor label to tell them by: kube-root-ca.crt
# from kube-controller-manager's root-ca-cert-publisher (Kubernetes 1.20+, https://kubernetes.io/docs/reference/
# access-authn-authz/service-accounts-admin/#root-ca-certificate-configmap), openshift-service-ca.crt from OpenShift
# 4.8+ (the service CA bundle, https://docs.openshift.com/container-platform/latest/security/certificates/
# service-serving-certificate.html).
PLATFORM_CONFIGMAPS = frozenset(("kube-root-ca.crt", "openshift-service-ca.crt"))
# Annotations of Secrets the platform generates for something else in the namespace, whose content nobody wrote and
# which are useless once the namespace's ServiceAccounts and Services are gone: a service account token Secret names
# its ServiceAccount (https://kubernetes.io/docs/concepts/configuration/secret/#service-account-token-secrets), and so
# do OpenShift's image pull (dockercfg) Secrets of the default, builder and deployer ServiceAccounts of every namespace
# and of the operator's own ones (kubernetes.io/service-account.name up to 4.15, openshift.io/internal-registry-auth-
# token.service-account from 4.16: openshift/openshift-controller-manager's image pull secret controller); the
# service CA's serving certificate Secrets name their Service (service-serving-certificate.html above).
PLATFORM_SECRET_ANNOTATIONS = (
    "kubernetes.io/service-account.name",
    "openshift.io/internal-registry-auth-token.service-account",
    "service.beta.openshift.io/originating-service-name",
)
# What OLM labels an object it made for a CSV or OperatorGroup with (operator-framework/operator-lifecycle-manager
# pkg/lib/ownerutil: OwnerKey, OwnerKind), where it cannot set an ownerReference.
OLM_OWNER_KIND = "olm.owner.kind"


def made_by_someone_else(obj):
    """Whether ``obj`` (metadata suffices) is content neither this collection, the operator nor the platform made.

    Decided conservatively, so that doubt keeps the namespace rather than deleting someone's object: it is someone
    else's unless it shows who made it. Not someone else's: an object being deleted already; one with
    ownerReferences (made by a controller for its owner, the operator's Deployment, ReplicaSets and Pods under its CSV
    included, and garbage-collected with that owner); one with this collection's managed-by label; one OLM labelled as
    its own; the platform's per-namespace ConfigMaps and Secrets above.
    """
    meta = _meta(obj)
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if meta.get("deletionTimestamp") or meta.get("ownerReferences") or is_ours(obj):
        return False
    if OLM_OWNER_KIND in labels:
        return False
    if obj.get("kind") == "ConfigMap" and meta.get("name") in PLATFORM_CONFIGMAPS:
        return False
    if obj.get("kind") == "Secret" and any(a in annotations for a in PLATFORM_SECRET_ANNOTATIONS):
        return False
    return True


def foreign_content(objects):
    """``Kind namespace/name`` of each object of ``objects`` made by someone else (see made_by_someone_else)."""
    return [
        "{0} {1}/{2}".format(o.get("kind"), _meta(o).get("namespace", ""), _meta(o).get("name"))
        for o in objects
        if made_by_someone_else(o)
    ]


def foreign_in(api, namespace):
    """foreign_content of ``namespace``, read as metadata only (the content of its Secrets is never read)."""
    return foreign_content([o for version, kind in CONTENT_KINDS for o in api.list_metadata(version, kind, namespace)])


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _is_live_namespace(obj):
    # A namespace already being deleted goes with everything in it, whatever this call decides.
    return obj.get("kind") == "Namespace" and not _meta(obj).get("deletionTimestamp")


def _gone(api, ref):
    return api.get(ref["api_version"], ref["kind"], ref["name"], ref["namespace"] or None) is None


def remove(
    api,
    refs,
    *,
    dry_run=False,
    wait=False,
    timeout=300,
    clock=None,
    sleep=None,
    interval=2.0,
    owned_only=True,
    look_into_namespaces=True,
):
    """Delete the objects of ``refs`` that carry the managed-by label, in the order given; keep every other one.

    ``owned_only=False`` deletes them whatever their labels, for a caller that decided whose they are (the removal of
    an OLM install, whose Subscription may be ours without the label).

    A Namespace that holds an object kept by this same call is kept too, since deleting the namespace would delete
    that object, and so is one that holds an object someone else put there (see made_by_someone_else; not looked
    for with ``look_into_namespaces=False``, by a caller that has just looked itself). With
    ``wait``, each deletion is waited for before the next one (an operand before its namespace), all within one
    ``timeout``. Returns dict(removed, kept, absent); raises RemovalTimeout at the deadline.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    deadline = clock() + timeout
    result = dict(removed=[], kept=[], absent=[])
    for raw in refs:
        ref = reference(raw)
        if not api.has_kind(ref["api_version"], ref["kind"]):
            result["absent"].append(dict(ref, reason="kind not served (its CRD is not installed)"))
            continue
        obj = api.get(ref["api_version"], ref["kind"], ref["name"], ref["namespace"] or None)
        if obj is None:
            result["absent"].append(dict(ref, reason="does not exist"))
            continue
        if owned_only and not is_ours(obj):
            result["kept"].append(dict(ref, reason=KEPT_FOREIGN))
            continue
        holding = [k["object"] for k in result["kept"] if ref["kind"] == "Namespace" and k["namespace"] == ref["name"]]
        if holding:
            result["kept"].append(
                dict(
                    ref,
                    reason="created by rhoai.gpu_infra, but it holds {0}, which is kept; deleting the namespace "
                    "would delete {1}".format(", ".join(holding), "it" if len(holding) == 1 else "them"),
                )
            )
            continue
        foreign = foreign_in(api, ref["name"]) if look_into_namespaces and _is_live_namespace(obj) else []
        if foreign:
            result["kept"].append(
                dict(
                    ref,
                    reason="created by rhoai.gpu_infra, but it holds {0}, which someone else put there (no label "
                    "{1}={2}, no ownerReferences); deleting the namespace would delete {3} too. When {4} not needed: "
                    "oc delete namespace {5}".format(
                        ", ".join(foreign),
                        MANAGED_BY_KEY,
                        MANAGED_BY,
                        "it" if len(foreign) == 1 else "them",
                        "it is" if len(foreign) == 1 else "they are",
                        ref["name"],
                    ),
                )
            )
            continue
        result["removed"].append(ref)
        if dry_run:
            continue
        if not (obj.get("metadata") or {}).get("deletionTimestamp"):
            api.delete(ref["api_version"], ref["kind"], ref["name"], ref["namespace"] or None)
        if not wait:
            continue
        started = clock()
        while not _gone(api, ref):
            if clock() >= deadline:
                raise RemovalTimeout(_timeout_message(api, ref, timeout, clock() - started), result)
            sleep(max(0.0, min(interval, deadline - clock())))
    return result


def _timeout_message(api, ref, timeout, waited):
    left = api.get(ref["api_version"], ref["kind"], ref["name"], ref["namespace"] or None) or {}
    finalizers = (left.get("metadata") or {}).get("finalizers") or []
    return (
        "Expected {0} to be gone within {1} s of the removal, found it still there {2:.0f} s after it was deleted "
        "(finalizers: {3}). The operator that set a finalizer must be running to release it: check its pod (or run "
        "the rhoai.gpu_infra.diagnose playbook), then re-run the removal, which is safe to re-run.".format(
            ref["object"], timeout, waited, _show(finalizers)
        )
    )


def summary(result):
    """One line per object: what was removed, and what was left in place and why."""
    lines = ["removed {0}".format(r["object"]) for r in result.get("removed", [])]
    lines.extend("left in place {0}: {1}".format(k["object"], k["reason"]) for k in result.get("kept", []))
    return lines
