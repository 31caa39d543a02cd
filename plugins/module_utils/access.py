# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the credentials may make the changes a run makes, asked of the API server before the first of them.

A login without cluster-admin otherwise passes the read-only preflight and fails at its first write (or, with
permissions for some kinds and not others, half way through). SelfSubjectAccessReviews answer for the API server's
own authorizer, whatever grants the permission (RBAC, a webhook, system:masters), and change nothing.

``k8s`` is the client facade: ``create`` (the reviews), ``get`` and ``resource_name`` (the plural of a served kind).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership

REVIEW_API = "authorization.k8s.io/v1"
WHOAMI_API = "authentication.k8s.io/v1"


def guess_plural(kind):
    """The resource name of a kind the API server does not serve yet (its operator installs the CRD later): what
    kubectl guesses (UnsafeGuessKindToResource), right for every kind this collection writes."""
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


READ_VERBS = ("get", "list")

# What olm_remove reads and changes of one operator install, by kind: (api_version, kind, in the install's namespace
# (else cluster-wide), verbs). Its CSVs are labelled (patch) before the Subscription goes; every deletion is read
# first and waited for with get; the namespace's content is listed before it goes (CONTENT_KINDS, added for every
# Namespace deleted). A unit test runs olm_remove against a client that records each call and holds it to this.
OLM_REMOVAL = (
    ("operators.coreos.com/v1alpha1", "Subscription", True, ("get", "delete")),
    ("operators.coreos.com/v1alpha1", "ClusterServiceVersion", True, ("get", "list", "patch", "delete")),
    ("operators.coreos.com/v1", "Operator", False, ("get", "delete")),
    ("operators.coreos.com/v1", "OperatorGroup", True, ("get", "list", "delete")),
    ("v1", "Namespace", False, ("get", "delete")),
)
CRD_REMOVAL = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", False, ("get", "delete"))
# What is listed in a namespace before it is deleted, to keep it when someone else put something there
# (ownership.foreign_in); the same list, so that the check cannot drift from what is read.
CONTENT_KINDS = ownership.CONTENT_KINDS


def _stub(obj, verbs):
    """(api_version, kind, namespace, verbs) of an object, a stub of one (apiVersion, kind, metadata.namespace) or a
    reference (api_version, kind, namespace) as owned_objects takes it; its own ``verbs`` win over ``verbs``."""
    meta = obj.get("metadata") or {}
    return (
        obj.get("apiVersion") or obj.get("api_version") or "",
        obj.get("kind") or "",
        obj.get("namespace") or meta.get("namespace") or "",
        tuple(obj.get("verbs") or verbs),
    )


def _content(obj):
    """The lists that deleting Namespace ``obj`` (with a name) makes first: what is in it (ownership.remove and
    olm_remove look before they delete a namespace of this collection's)."""
    name = obj.get("name") or (obj.get("metadata") or {}).get("name") or ""
    if obj.get("kind") != "Namespace" or not name or "delete" not in (obj.get("verbs") or ()):
        return []
    return [(api_version, kind, name, ("list",)) for api_version, kind in CONTENT_KINDS]


def removal_objects(namespaces, remove_crds=False):
    """Stubs, with their verbs, of what olm_remove reads and changes of the operator installs in ``namespaces``, and
    of the CRDs when ``remove_crds``."""
    out = []
    for ns in namespaces:
        for api_version, kind, namespaced, verbs in OLM_REMOVAL:
            meta = {"namespace": ns} if namespaced else ({"name": ns} if kind == "Namespace" else {})
            out.append({"apiVersion": api_version, "kind": kind, "metadata": meta, "verbs": list(verbs)})
    if remove_crds and namespaces:
        api_version, kind, _namespaced, verbs = CRD_REMOVAL
        out.append({"apiVersion": api_version, "kind": kind, "verbs": list(verbs)})
    return out


def wanted(namespaces, objects, verbs, reads=(), *, removal_namespaces=(), remove_crds=False):
    """(api_version, kind, namespace, verbs) of every object a run may write or delete and every kind it reads after
    its first change, in order, once each (namespace empty: cluster-wide), the verbs of one kind and namespace merged.

    ``namespaces`` are those of the operators installed (their Namespace, OperatorGroup and Subscription are written,
    their InstallPlans patched); ``objects`` are objects, stubs with apiVersion, kind and metadata.namespace, or
    owned_objects references, each needing ``verbs`` unless it has its own ``verbs`` (a Namespace deleted also needs
    its content listed); ``reads`` (get and list) are stubs; ``removal_namespaces`` are those of the operator installs
    olm_remove removes, with their CRDs when ``remove_crds`` (``removal_objects``).
    """
    written = []
    if namespaces:
        written.append({"apiVersion": "v1", "kind": "Namespace"})
    for name in namespaces:
        ns = {"namespace": name}
        written.append({"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup", "metadata": ns})
        written.append({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription", "metadata": ns})
        # csv_wait approves a Manual InstallPlan with a merge patch, after the Subscription is written; OLM's
        # aggregated edit role lets a namespace admin subscribe but not approve.
        written.append(
            {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan", "metadata": ns, "verbs": ["patch"]}
        )
    items = []
    for obj in written + removal_objects(removal_namespaces, remove_crds) + list(objects):
        items.append(_stub(obj, verbs))
        items += _content(dict(obj, verbs=items[-1][3]))
    items += [_stub(obj, READ_VERBS) for obj in reads]
    merged = {}
    for api_version, kind, namespace, item_verbs in items:
        if kind:
            have = merged.setdefault((api_version, kind, namespace), [])
            have.extend(v for v in item_verbs if v not in have)
    return [(*key, tuple(item_verbs)) for key, item_verbs in merged.items()]


def _allowed(k8s, attributes):
    review = {"apiVersion": REVIEW_API, "kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": attributes}}
    return bool((k8s.create(REVIEW_API, "SelfSubjectAccessReview", review).get("status") or {}).get("allowed"))


def username(k8s):
    """Who the credentials are, or None when the API server cannot say (SelfSubjectReview is Kubernetes 1.28+)."""
    try:
        review = k8s.create(WHOAMI_API, "SelfSubjectReview", {"apiVersion": WHOAMI_API, "kind": "SelfSubjectReview"})
    except Exception:  # only a nicety of the message; the reviews below decide
        return None
    return ((review.get("status") or {}).get("userInfo") or {}).get("username") or None


def denied(k8s, items, trace=None):
    """The permissions of ``items`` (from ``wanted``) that the credentials lack, as ``{"verbs": [...], "resource":
    "subscriptions.operators.coreos.com", "namespace": "openshift-nfd"}`` (namespace empty: cluster-wide). One review
    when the credentials may do everything (cluster-admin)."""
    trace = [] if trace is None else trace
    trace.append("ask the API server whether these credentials may do everything (SelfSubjectAccessReview)")
    if _allowed(k8s, {"verb": "*", "group": "*", "resource": "*"}):
        return []
    missing = []
    for api_version, kind, namespace, verbs in items:
        group = api_version.rpartition("/")[0]
        resource = k8s.resource_name(api_version, kind) or guess_plural(kind)
        trace.append("ask the API server whether these credentials may {0} {1}".format("/".join(verbs), resource))
        where = {"namespace": namespace} if namespace else {}
        lacking = [
            verb
            for verb in verbs
            if not _allowed(k8s, dict({"verb": verb, "group": group, "resource": resource}, **where))
        ]
        if lacking:
            missing.append(
                {"verbs": lacking, "resource": resource + ("." + group if group else ""), "namespace": namespace}
            )
    return missing


def describe(missing):
    """``create, patch subscriptions.operators.coreos.com in namespaces a, b; create, patch namespaces (cluster-wide)``:
    one entry a resource and set of verbs, in the order of ``missing``."""
    grouped = {}
    for m in missing:
        grouped.setdefault((tuple(m["verbs"]), m["resource"]), []).append(m["namespace"])
    parts = []
    for (verbs, resource), namespaces in grouped.items():
        named = [ns for ns in namespaces if ns]
        where = []
        if len(named) < len(namespaces):
            where.append("cluster-wide")
        if named:
            where.append(("in namespaces " if len(named) > 1 else "in namespace ") + ", ".join(named))
        parts.append("{0} {1} ({2})".format(", ".join(verbs), resource, "; ".join(where)))
    return "; ".join(parts)


def message(purpose, user, missing):
    """Expected, found and what to do when ``missing`` is not empty."""
    who = user or "these credentials"
    subject = "the user " + user if user and not user.startswith("system:serviceaccount:") else who
    grant = (
        "oc adm policy add-cluster-role-to-user cluster-admin {0}".format(user)
        if user and not user.startswith("system:serviceaccount:")
        else (
            "oc adm policy add-cluster-role-to-user cluster-admin -z {1} -n {0}".format(*user.split(":")[2:4])
            if user and user.count(":") >= 3
            else "oc adm policy add-cluster-role-to-user cluster-admin <user>"
        )
    )
    return (
        "Expected permission for every read and change of {0} (cluster-admin has it); found that {1} may not: {2}. "
        "Run as a cluster-admin login (oc login, or K8S_AUTH_KUBECONFIG / K8S_AUTH_HOST and K8S_AUTH_API_KEY), or "
        "grant these permissions, all at once with '{3}'. Nothing was changed.".format(
            purpose, subject, describe(missing), grant
        )
    )
