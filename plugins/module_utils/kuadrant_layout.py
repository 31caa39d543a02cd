# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find installs of Authorino, Limitador and the DNS operator that the chosen layout would collide with.

The collection installs these three operators in one of two layouts (operators.md section 4):

- Connectivity Link (``gpu_infra_connectivity_link: true``): one ``rhcl-operator`` Subscription in its namespace
  (``kuadrant-system``); its bundle requires ``authorino-operator``, ``limitador-operator`` and ``dns-operator``, and
  OLM installs them into the same namespace.
- standalone (``false``, the design document's layout): one Subscription per package in the component's namespace.

All four operators support only the AllNamespaces install mode, and OLM allows one owner of an API across
OperatorGroups: an install of the same package in another namespace, or of the other layout, makes the run fail
late (``InterOperatorGroupOwnerConflict``, or a CSV whose name OLM's copy already holds). An Authorino Subscription
on channel ``tech-preview-v1`` blocks Connectivity Link too. This module turns the cluster's Subscriptions into
what was found and what to do, before anything is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

AUTHORINO_PACKAGE = "authorino-operator"
TECH_PREVIEW_CHANNEL = "tech-preview-v1"


def _meta(obj):
    return obj.get("metadata") or {}


def _spec(obj):
    return obj.get("spec") or {}


def describe(sub):
    """``Subscription <namespace>/<name> (package <package>, channel <channel>)``."""
    spec = _spec(sub)
    return "Subscription {0}/{1} (package {2}, channel {3})".format(
        _meta(sub).get("namespace", ""),
        _meta(sub).get("name", ""),
        spec.get("name", ""),
        spec.get("channel") or "the package's default",
    )


def _add(findings, sub, reason, remedy):
    """Record `reason` for `sub`; `remedy` is a sentence, or ("standalone", (component, namespace, hint)) for the
    standalone installs Connectivity Link finds, which one sentence covers together."""
    key = (_meta(sub).get("namespace", ""), _meta(sub).get("name", ""))
    entry = findings.setdefault(key, {"sub": sub, "reasons": [], "remedies": []})
    if reason not in entry["reasons"]:
        entry["reasons"].append(reason)
    if remedy not in entry["remedies"]:
        entry["remedies"].append(remedy)


def _standalone_remedy(installs):
    namespaces = ", ".join("{0}_namespace: {1}".format(install[0], install[1]) for install in installs)
    return (
        "To keep the standalone layout, set gpu_infra_connectivity_link: false (with {0}); otherwise remove {1} "
        "first (teardown.yml -e gpu_infra_teardown_confirm=true with gpu_infra_connectivity_link: false, or {2}) and "
        "re-run.".format(
            namespaces,
            "that install" if len(installs) == 1 else "those installs",
            "; ".join(install[2] for install in installs),
        )
    )


def _remedies(entries):
    sentences, installs = [], []
    for entry in entries:
        for remedy in entry["remedies"]:
            if isinstance(remedy, tuple):
                installs.append(remedy[1])
                if len(installs) == 1:
                    sentences.append(None)  # where the grouped sentence goes
            elif remedy not in sentences:
                sentences.append(remedy)
    return [_standalone_remedy(installs) if s is None else s for s in sentences]


def _remove_hint(sub):
    meta = _meta(sub)
    csv = (sub.get("status") or {}).get("installedCSV") or "<its CSV>"
    return "oc delete subscription {0} -n {1}; oc delete csv {2} -n {1}".format(
        meta.get("name", ""), meta.get("namespace", ""), csv
    )


def _rhcl_findings(findings, subs, cl, rhcl_package, rhcl_namespace):
    for sub in subs:
        ns = _meta(sub).get("namespace", "")
        if _spec(sub)["name"] != rhcl_package or (cl and ns == rhcl_namespace):
            continue
        if cl:
            _add(
                findings,
                sub,
                "Red Hat Connectivity Link installed in {0}, not in {1}".format(ns, rhcl_namespace),
                "To use that install, set connectivity_link_namespace: {0}; otherwise remove it first ({1}, and the "
                "authorino-operator, limitador-operator and dns-operator Subscriptions and CSVs OLM added in "
                "{0}).".format(ns, _remove_hint(sub)),
            )
        else:
            _add(
                findings,
                sub,
                "Red Hat Connectivity Link, which installs its own authorino-operator, limitador-operator and "
                "dns-operator in {0}".format(ns),
                "To use it, set gpu_infra_connectivity_link: true (the default){0}; otherwise remove it first "
                "(teardown.yml -e gpu_infra_teardown_confirm=true with gpu_infra_connectivity_link: true removes "
                "what the site playbook installed) and re-run.".format(
                    "" if ns == rhcl_namespace else " and connectivity_link_namespace: " + ns
                ),
            )


def _operator_findings(findings, subs, cl, op, *, expected, rhcl_namespaces):
    for sub in subs:
        ns = _meta(sub).get("namespace", "")
        # in the namespace this run installs to (ours, or adoptable), or part of a Connectivity Link install that
        # _rhcl_findings reports
        if _spec(sub)["name"] != op.get("package") or ns == expected or ns in rhcl_namespaces:
            continue
        if cl:
            _add(
                findings,
                sub,
                "a standalone install of {0} (the layout of gpu_infra_connectivity_link: false)".format(
                    op.get("package")
                ),
                ("standalone", (op.get("component"), ns, _remove_hint(sub))),
            )
        else:
            _add(
                findings,
                sub,
                "{0} already installed in {1}; an AllNamespaces operator is installed once per cluster, and this run "
                "would install it in {2}".format(op.get("package"), ns, expected),
                "To adopt that install, set {0}_namespace: {1}; otherwise remove it first ({2}) and re-run.".format(
                    op.get("component"), ns, _remove_hint(sub)
                ),
            )


def _tech_preview_findings(findings, subs):
    for sub in subs:
        if _spec(sub)["name"] == AUTHORINO_PACKAGE and _spec(sub).get("channel") == TECH_PREVIEW_CHANNEL:
            _add(
                findings,
                sub,
                "Authorino on channel {0}, which blocks Red Hat Connectivity Link and does not upgrade to channel "
                "stable".format(TECH_PREVIEW_CHANNEL),
                "Remove that Authorino first ({0}) and re-run.".format(_remove_hint(sub)),
            )


def kuadrant_layout(subscriptions, want):
    """What in ``subscriptions`` (every namespace's) collides with the layout ``want`` asks for.

    ``want``: ``connectivity_link`` (bool), ``rhcl_package`` and ``rhcl_namespace`` (where Connectivity Link goes),
    ``operators``: ``[{component, package, namespace}]``, the packages to look for and, in the standalone layout, the
    namespace each goes to (in the Connectivity Link layout they all go to ``rhcl_namespace``).

    Returns ``{ok, found, message}``: ``found`` holds one sentence per Subscription (namespace/name, package, channel
    and why it is in the way), ``message`` what was expected, what was found and how to proceed ("" when ok).
    """
    cl = bool(want.get("connectivity_link"))
    rhcl_package = want.get("rhcl_package") or "rhcl-operator"
    rhcl_namespace = want.get("rhcl_namespace") or "kuadrant-system"
    operators = list(want.get("operators") or [])
    subs = [s for s in subscriptions or [] if _spec(s).get("name")]
    rhcl_namespaces = {_meta(s).get("namespace") for s in subs if _spec(s)["name"] == rhcl_package}
    findings = {}
    _rhcl_findings(findings, subs, cl, rhcl_package, rhcl_namespace)
    for op in operators:
        _operator_findings(
            findings,
            subs,
            cl,
            op,
            expected=rhcl_namespace if cl else op.get("namespace"),
            rhcl_namespaces=rhcl_namespaces,
        )
    if cl or any(op.get("package") == AUTHORINO_PACKAGE for op in operators):
        _tech_preview_findings(findings, subs)
    if not findings:
        return {"ok": True, "found": [], "message": ""}

    entries = [findings[key] for key in sorted(findings)]
    found = ["{0}: {1}".format(describe(e["sub"]), "; ".join(e["reasons"])) for e in entries]
    remedies = _remedies(entries)
    if cl:
        expected = (
            "Expected the Connectivity Link layout (gpu_infra_connectivity_link: true): {0} in {1}, with "
            "authorino-operator, limitador-operator and dns-operator installed beside it by OLM, and no other install "
            "of them."
        ).format(rhcl_package, rhcl_namespace)
    else:
        expected = (
            "Expected the standalone layout (gpu_infra_connectivity_link: false): {0}, and no Red Hat Connectivity "
            "Link."
        ).format(", ".join("{0} in {1}".format(op.get("package"), op.get("namespace")) for op in operators))
    message = "{0} Found: {1}. {2} Nothing was changed.".format(expected, "; ".join(found), " ".join(remedies))
    return {"ok": False, "found": found, "message": message}
