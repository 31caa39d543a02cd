# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether what a component requires is installed and running, when the run (or the verify) leaves it out.

Who requires what is the registry's (``requires`` in playbooks/vars/components.yml); this file only knows, for each
component that some other one requires, what "installed and running" means:

* ``cert_manager``: see cert_manager.py (its CRD Established and an owning CSV Succeeded or an available webhook).
* ``nfd``: the CRD ``nodefeaturediscoveries.nfd.openshift.io`` Established, a ClusterServiceVersion (not an OLM copy)
  that owns it in phase Succeeded, and a NodeFeatureDiscovery in any namespace that is not being deleted. The CRD
  alone is what a teardown that kept the CRDs leaves; a Succeeded operator without a NodeFeatureDiscovery labels no
  node, and the Driver Toolkit and GPU feature discovery need those labels. The node labels themselves are not asked
  for: a cluster without GPU nodes yet is a valid start, and verify's GPU node checks look at them where they count.

The other way round, before a teardown: OpenShift AI (or Open Data Hub) runs on the components this collection
installs once a DataScienceCluster exists; ``collect_data_science_clusters`` finds them, whatever API version the
installed operator serves, and ``in_use_message`` says what removing the components would do.

``required_by`` is ``{requirement: [components that need it]}``. ``collect`` reads the cluster through the facade of
``client.py`` (or a fake); ``assess_nfd``, ``message`` and ``in_use_message`` are pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import cert_manager, olm

NFD_CRD = "nodefeaturediscoveries.nfd.openshift.io"
NFD_API = "nfd.openshift.io/v1"

NFD_EXPECTED = (
    "NFD installed and running: CRD {0} Established, a ClusterServiceVersion (not an OLM copy) that owns it in phase "
    "Succeeded, and a NodeFeatureDiscovery (any namespace), without which no node gets NFD's labels".format(NFD_CRD)
)


def assess_nfd(crd, csvs, instances):
    """``{installed, evidence, found}`` from the CRD (or None), the CSVs of every namespace and the
    NodeFeatureDiscoveries of every namespace."""
    owners = [c for c in csvs or [] if cert_manager.owns_crd(c, NFD_CRD) and not olm.is_copy(c)]
    succeeded = [c for c in owners if cert_manager.dig(c, "status.phase") == "Succeeded"]
    live = [i for i in instances or [] if not cert_manager.dig(i, "metadata.deletionTimestamp")]
    if crd is None:
        found = "CRD {0} not found: NFD is not installed".format(NFD_CRD)
    elif not cert_manager.established(crd):
        found = "CRD {0} exists but is not Established".format(NFD_CRD)
    elif not succeeded:
        found = (
            "CRD {0} exists but no NFD operator runs ({1}): left by a teardown that kept the CRDs "
            "(gpu_infra_remove_crds=false, the default), or an incomplete install".format(
                NFD_CRD,
                "; ".join(
                    "CSV {0} in phase {1}".format(cert_manager.where(c), cert_manager.dig(c, "status.phase", "unknown"))
                    for c in owners
                )
                or "no CSV owns the CRD",
            )
        )
    elif not live:
        found = "CSV {0} Succeeded but no NodeFeatureDiscovery{1}, so no node gets NFD's labels".format(
            cert_manager.where(succeeded[0]),
            " other than one being deleted ({0})".format(", ".join(cert_manager.where(i) for i in instances))
            if instances
            else " exists",
        )
    else:
        found = ""
    evidence = (
        "CSV {0} Succeeded, NodeFeatureDiscovery {1}".format(
            cert_manager.where(succeeded[0]), ", ".join(cert_manager.where(i) for i in live)
        )
        if not found
        else ""
    )
    return {"installed": not found, "evidence": evidence, "found": found}


def collect_nfd(k8s, trace):
    """Read the CRD, the CSVs that are not OLM's copies and the NodeFeatureDiscoveries, and ``assess_nfd`` them."""
    trace.append("get CustomResourceDefinition " + NFD_CRD)
    crd = k8s.get(cert_manager.CRD_API, "CustomResourceDefinition", NFD_CRD)
    trace.append("list ClusterServiceVersions in all namespaces")
    csvs = k8s.list(cert_manager.OLM, "ClusterServiceVersion", label_selector=cert_manager.NOT_COPIED)
    instances = []
    if crd is not None:  # without the CRD the kind is not served
        trace.append("list NodeFeatureDiscoveries in all namespaces")
        instances = k8s.list(NFD_API, "NodeFeatureDiscovery")
    return assess_nfd(crd, csvs, instances)


# What "installed and running" is, for each component the registry names in a ``requires``; a unit test holds this to
# the registry.
ASSESS = {"cert_manager": cert_manager.collect, "nfd": collect_nfd}
EXPECTED = {"cert_manager": cert_manager.EXPECTED, "nfd": NFD_EXPECTED}


def collect(k8s, required_by, trace):
    """One result per requirement, in the order given: ``{requirement, required_by, installed, evidence, found}``."""
    results = []
    for requirement, components in required_by.items():
        if requirement not in ASSESS:
            raise ValueError("no check of whether {0} is installed and running".format(requirement))
        assessed = ASSESS[requirement](k8s, trace)
        results.append(dict(assessed, requirement=requirement, required_by=list(components)))
    return results


def requirement_text(result):
    """``kueue and lws require cert_manager``: the registry's names, as teardown's warning and verify's check use."""
    components = result["required_by"]
    return "{0} require{1} {2}".format(
        " and ".join(components), "s" if len(components) == 1 else "", result["requirement"]
    )


def remedy(result):
    return (
        "Add {0} to gpu_infra_components, or install it first (the rhoai.gpu_infra.{0} role, or an install of your "
        "own), and re-run: {1} cannot work without it".format(
            result["requirement"], " and ".join(result["required_by"])
        )
    )


def message(results, alternatives=None):
    """Expected, found and what to do for every requirement that is not installed and running, for a preflight that
    changed nothing; empty when all are. ``alternatives``: another way out than installing it, by requirement."""
    alternatives = alternatives or {}
    missing = [r for r in results if not r["installed"]]
    if not missing:
        return ""
    return "{0} Nothing was changed.".format(
        " ".join(
            "{0}, which is neither part of this run nor installed and running. Expected {1}. Found: {2}. "
            "{3}{4}.".format(
                requirement_text(r),
                EXPECTED[r["requirement"]],
                r["found"],
                remedy(r),
                "; " + alternatives[r["requirement"]] if alternatives.get(r["requirement"]) else "",
            )
            for r in missing
        )
    )


DSC_GROUP = "datasciencecluster.opendatahub.io"
DSC_CRD = "datascienceclusters." + DSC_GROUP


def served_version(crd):
    """The version a CRD stores (served), else its first served one: DataScienceCluster went from v1 to v2 and v3 with
    the operator's releases, and any served version lists every object."""
    served = [v for v in cert_manager.dig(crd, "spec.versions", []) or [] if v.get("served")]
    stored = [v for v in served if v.get("storage")]
    return (stored or served or [{}])[0].get("name")


def collect_data_science_clusters(k8s, trace):
    """The DataScienceClusters (cluster-scoped) by name, ``[]`` where the CRD is not installed or serves nothing."""
    trace.append("get CustomResourceDefinition " + DSC_CRD)
    crd = k8s.get(cert_manager.CRD_API, "CustomResourceDefinition", DSC_CRD)
    version = served_version(crd) if crd is not None else None
    if not version:
        return []
    trace.append("list DataScienceClusters")
    return [
        dict(
            name=cert_manager.dig(d, "metadata.name"),
            deleting=bool(cert_manager.dig(d, "metadata.deletionTimestamp")),
        )
        for d in k8s.list("{0}/{1}".format(DSC_GROUP, version), "DataScienceCluster")
    ]


def in_use_message(clusters, removing):
    """Why a teardown of ``removing`` stops while a DataScienceCluster exists, and the ways on; empty without one."""
    if not clusters or not removing:
        return ""
    return (
        "Expected no DataScienceCluster before removing {0}: OpenShift AI (or Open Data Hub) runs its components on "
        "them, and its model servers, workbenches and queued jobs would stop working. Found DataScienceCluster {1}. "
        "Remove OpenShift AI first (oc delete datasciencecluster {2}, then its operator), or, to remove these anyway, "
        "re-run with -e gpu_infra_teardown_with_rhoai=true. Nothing was changed.".format(
            ", ".join(removing),
            ", ".join(c["name"] + (" (being deleted)" if c["deleting"] else "") for c in clusters),
            " ".join(c["name"] for c in clusters),
        )
    )
