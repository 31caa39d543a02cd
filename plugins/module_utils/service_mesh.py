# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find OpenShift Service Mesh v2 on a cluster, which OpenShift AI 3.0's llm-d cannot share a cluster with.

RHOAI 3.0's Distributed Inference with llm-d runs on the Istio of the Sail operator (Service Mesh 3); Service Mesh v2
(Maistra) conflicts with it (operators.md section 4). Service Mesh v2 is OLM package ``servicemeshoperator``; Service
Mesh 3 is a different package (``servicemeshoperator3``), so the package name alone separates them, and the CSV
version confirms it where the Subscription has one. A ``ServiceMeshControlPlane`` (maistra.io) is a v2 mesh in use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

V2_PACKAGE = "servicemeshoperator"
_CSV_MAJOR = re.compile(r"\.v(\d+)\.")

REMEDY = (
    "OpenShift AI 3.0's llm-d (Distributed Inference) cannot run beside OpenShift Service Mesh v2: it uses the Sail "
    "operator's Istio (Service Mesh 3). Move the meshes to Service Mesh 3, then remove Service Mesh v2 (its "
    "ServiceMeshControlPlanes first, then the servicemeshoperator Subscription and CSV) before deploying llm-d."
)


def _meta(obj):
    return obj.get("metadata") or {}


def _where(obj):
    meta = _meta(obj)
    return "{0}/{1}".format(meta.get("namespace", ""), meta.get("name", ""))


def _v2_subscription(sub):
    """The CSV of a Service Mesh v2 (or older) Subscription, "" when the Subscription names none, None otherwise."""
    if (sub.get("spec") or {}).get("name") != V2_PACKAGE:
        return None
    status = sub.get("status") or {}
    csv = status.get("installedCSV") or status.get("currentCSV") or (sub.get("spec") or {}).get("startingCSV") or ""
    match = _CSV_MAJOR.search(csv)
    if match and int(match.group(1)) >= 3:
        return None
    return csv


def service_mesh_v2(subscriptions, control_planes=None):
    """``{installed, found, message, remedy}``: whether Service Mesh v2 is installed, the objects that show it, a
    sentence saying what was found and what to do, and the what-to-do part alone (both "" when nothing was found)."""
    found = []
    for sub in subscriptions or []:
        csv = _v2_subscription(sub)
        if csv is not None:
            found.append(
                "Subscription {0} of package {1} ({2})".format(
                    _where(sub), V2_PACKAGE, "CSV " + csv if csv else "no CSV installed yet"
                )
            )
    for smcp in control_planes or []:
        version = (smcp.get("spec") or {}).get("version") or "version not set"
        found.append("ServiceMeshControlPlane {0} ({1})".format(_where(smcp), version))
    message = "OpenShift Service Mesh v2 is installed: {0}. {1}".format("; ".join(found), REMEDY) if found else ""
    return {"installed": bool(found), "found": found, "message": message, "remedy": REMEDY if found else ""}
