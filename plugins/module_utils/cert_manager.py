# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether cert-manager is installed and running, the prerequisite of Kueue, LeaderWorkerSet and Connectivity Link.

The CRD alone proves nothing: a teardown keeps the CRDs unless told otherwise, and so does an uninstall through the
console. Installed and running means the CRD ``certificates.cert-manager.io`` is Established and one of

* a ClusterServiceVersion that owns that CRD is in phase Succeeded (an OLM install, such as the cert-manager Operator
  for Red Hat OpenShift); OLM's copies of an AllNamespaces CSV in other namespaces are not counted, or
* a cert-manager webhook Deployment has an available replica. Both the Red Hat operator's operand (namespace
  ``cert-manager``) and the upstream Helm chart or static manifests (any namespace, any release name) label it
  ``app.kubernetes.io/name=webhook`` and ``app.kubernetes.io/component=webhook``. Issuing a certificate needs the
  webhook, so it stands for the whole of cert-manager.

``assess`` is a pure function; ``collect`` reads the cluster through the facade of ``client.py`` (or a fake).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import olm
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.readiness import field_value

CRD = "certificates.cert-manager.io"
CRD_API = "apiextensions.k8s.io/v1"
OLM = "operators.coreos.com/v1alpha1"
WEBHOOK_SELECTOR = "app.kubernetes.io/name=webhook,app.kubernetes.io/component=webhook"
# OLM labels its copies of an AllNamespaces CSV with the namespace they were copied from.
NOT_COPIED = "!olm.copiedFrom"

EXPECTED = (
    "cert-manager installed and running: CRD {0} Established and either a ClusterServiceVersion (not an OLM copy) "
    "that owns it in phase Succeeded, or a webhook Deployment labelled {1} with an available replica".format(
        CRD, WEBHOOK_SELECTOR
    )
)


def dig(obj, path, default=None):
    value = field_value(obj, path)
    return default if value is None else value


def where(obj):
    return "{0}/{1}".format(dig(obj, "metadata.namespace", ""), dig(obj, "metadata.name", ""))


def established(crd):
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in dig(crd, "status.conditions", []) or []
        if isinstance(c, dict)
    )


def owns_crd(csv, crd=CRD):
    owned = dig(csv, "spec.customresourcedefinitions.owned", []) or []
    return any(isinstance(o, dict) and o.get("name") == crd for o in owned)


def _available(deployment):
    """Available=True with at least one available replica (a webhook scaled to 0 is Available and serves nothing)."""
    condition = any(
        c.get("type") == "Available" and c.get("status") == "True"
        for c in dig(deployment, "status.conditions", []) or []
        if isinstance(c, dict)
    )
    return condition and (dig(deployment, "status.availableReplicas", 0) or 0) > 0


def assess(crd, csvs, webhooks):
    """``{installed, evidence, found}`` from the CRD (or None), the CSVs of every namespace and the Deployments
    labelled ``WEBHOOK_SELECTOR``. ``evidence`` says what proves cert-manager runs, ``found`` what was found instead
    (empty when installed)."""
    owners = [c for c in csvs or [] if owns_crd(c) and not olm.is_copy(c)]
    succeeded = [c for c in owners if dig(c, "status.phase") == "Succeeded"]
    available = [d for d in webhooks or [] if _available(d)]
    running = ["CSV {0} Succeeded".format(where(c)) for c in succeeded] + [
        "webhook Deployment {0} available".format(where(d)) for d in available
    ]
    if crd is None:
        found = "CRD {0} not found: cert-manager is not installed".format(CRD)
    elif not established(crd):
        found = "CRD {0} exists but is not Established".format(CRD)
    elif not running:
        others = ["CSV {0} in phase {1}".format(where(c), dig(c, "status.phase", "unknown")) for c in owners] + [
            "webhook Deployment {0} not available ({1} of {2} replicas)".format(
                where(d), dig(d, "status.availableReplicas", 0) or 0, dig(d, "spec.replicas", 1)
            )
            for d in webhooks or []
        ]
        found = (
            "CRD {0} exists but no cert-manager operator/webhook runs ({1}): left by a teardown that kept the CRDs "
            "(gpu_infra_remove_crds=false, the default), or an incomplete install".format(
                CRD, "; ".join(others) or "no CSV owns the CRD and no webhook Deployment"
            )
        )
    else:
        found = ""
    if found and running:  # CRD missing or not Established while something runs: say so, it explains the state
        found += "; running: " + ", ".join(running)
    return {"installed": not found, "evidence": ", ".join(running) if not found else "", "found": found}


def collect(k8s, trace):
    """Read the CRD, the CSVs that are not OLM's copies, and the webhook Deployments, and ``assess`` them. Each read
    is named in ``trace`` (a list) before it is made, so that an API error can say which one failed."""
    trace.append("get CustomResourceDefinition " + CRD)
    crd = k8s.get(CRD_API, "CustomResourceDefinition", CRD)
    trace.append("list ClusterServiceVersions in all namespaces")
    csvs = k8s.list(OLM, "ClusterServiceVersion", label_selector=NOT_COPIED)
    trace.append("list Deployments in all namespaces with label selector " + WEBHOOK_SELECTOR)
    webhooks = k8s.list("apps/v1", "Deployment", label_selector=WEBHOOK_SELECTOR)
    return assess(crd, csvs, webhooks)
