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
                found.append("{0}: want {1}, found nothing".format(sub, _show(desired[key])))
            else:
                found.extend(differences(desired[key], existing[key], sub))
        return found
    if _same(desired, existing):
        return []
    return ["{0}: want {1}, found {2}".format(path or "(object)", _show(desired), _show(existing))]


def _ref(obj):
    meta = obj.get("metadata") or {}
    where = "{0}/{1}".format(meta["namespace"], meta.get("name")) if meta.get("namespace") else meta.get("name")
    return "{0} {1}".format(obj.get("kind"), where)


def classify(desired, existing, *, adopt=False):
    """What applying ``desired`` means for ``existing`` (the live object or None).

    Returns a dict: ``action`` is ``create`` (absent), ``ours`` (labelled by this collection), ``adopt`` (someone
    else's and equal to what would be applied, or ``adopt`` is set), or ``conflict`` (someone else's and different);
    ``differences`` lists what differs; ``object`` names it.
    """
    found = {"object": _ref(desired), "differences": []}
    if not existing:
        return dict(found, action="create")
    if is_ours(existing):
        return dict(found, action="ours")
    diffs = differences(desired, existing)
    return dict(found, action="adopt" if adopt or not diffs else "conflict", differences=diffs)


def conflict_message(component, conflicts, variable=ADOPT_VARIABLE):
    """The refusal for objects someone else made that differ from what ``component`` would apply."""
    parts = []
    for c in conflicts:
        parts.append("{0} ({1})".format(c["object"], "; ".join(c["differences"])))
    return (
        "{0}: expected to create or adopt {1}, but found {2} made by someone else (no label {3}={4}) and different "
        "from what this collection would apply: {5}. Applying it would change an install this collection does not "
        "own. Set {6}=true to take {7} over (the differences above are then applied), align {8} by hand, or leave "
        "{0} out of gpu_infra_components. Nothing was changed."
    ).format(
        component,
        ", ".join(c["object"] for c in conflicts),
        "it" if len(conflicts) == 1 else "them",
        MANAGED_BY_KEY,
        MANAGED_BY,
        "; ".join(parts),
        variable,
        "it" if len(conflicts) == 1 else "them",
        "it" if len(conflicts) == 1 else "them",
    )
