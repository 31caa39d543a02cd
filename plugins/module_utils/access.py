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


def _stub(obj):
    return (obj.get("apiVersion") or "", obj.get("kind") or "", (obj.get("metadata") or {}).get("namespace") or "")


def wanted(namespaces, objects, verbs, reads=()):
    """(api_version, kind, namespace, verbs) of every object a run may write and every kind it reads after its first
    write, in order, once each (namespace empty: cluster-wide).

    ``namespaces`` are those of the operators (their Namespace, OperatorGroup and Subscription are written); ``objects``
    (written) and ``reads`` (read with get and list) are objects or stubs with apiVersion, kind and
    metadata.namespace.
    """
    out = []
    if namespaces:
        out.append(("v1", "Namespace", ""))
    for ns in namespaces:
        out.append(("operators.coreos.com/v1", "OperatorGroup", ns))
        out.append(("operators.coreos.com/v1alpha1", "Subscription", ns))
    items = [(*stub, tuple(verbs)) for stub in out + [_stub(obj) for obj in objects]]
    items += [(*_stub(obj), READ_VERBS) for obj in reads]
    seen = set()
    unique = []
    for item in items:
        if item[1] and item not in seen:
            seen.add(item)
            unique.append(item)
    return unique


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
