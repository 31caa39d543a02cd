#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: requirements_check
short_description: Check, read-only, that what components require runs, and that OpenShift AI does not run on a removal
version_added: 0.1.0
description:
  - The preflight check of components whose requirement (C(requires) in the collection's
    C(playbooks/vars/components.yml)) is not part of the run, as C(site.yml) and a role used alone make it.
  - "C(cert_manager): the CRD C(certificates.cert-manager.io) Established and either a ClusterServiceVersion (not an
    OLM copy) that owns it in phase C(Succeeded) or a webhook Deployment labelled
    C(app.kubernetes.io/name=webhook,app.kubernetes.io/component=webhook) with an available replica (as the Red Hat
    operator and the upstream Helm chart label it)."
  - "C(nfd): the CRD C(nodefeaturediscoveries.nfd.openshift.io) Established, a ClusterServiceVersion (not an OLM copy)
    that owns it in phase C(Succeeded), and a C(NodeFeatureDiscovery) in any namespace that is not being deleted
    (without one, no node gets the labels the GPU operator's Driver Toolkit and GPU feature discovery need)."
  - A CRD alone is not enough, since a teardown keeps the CRDs unless asked to delete them.
  - "With I(removing), the other way round, before a teardown: fails when a C(DataScienceCluster) exists (CRD
    C(datascienceclusters.datasciencecluster.opendatahub.io), read in the version the CRD stores), since Red Hat
    OpenShift AI (or Open Data Hub) then runs its components on what would be removed."
  - Otherwise fails saying, for each requirement, which components need it, what was expected, what was found and what
    to do, ending with C(Nothing was changed.)
  - Read-only. Never changes anything, also not outside check mode.
  - Rejected credentials (HTTP 401), missing permissions (HTTP 403) and an unreachable API fail with the API's own
    message, the request that failed and what to do.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
options:
  required_by:
    description:
      - "Each requirement (C(cert_manager), C(nfd)) and the components that need it, for example
        C({nfd: [gpu_operator]}). Empty checks nothing."
    type: dict
    default: {}
  removing:
    description:
      - The components a teardown is about to remove. When a C(DataScienceCluster) exists, fails naming it, the
        components and the two ways on (remove OpenShift AI first, or C(gpu_infra_teardown_with_rhoai=true), with
        which C(teardown.yml) skips this check). Empty reads no C(DataScienceCluster).
    type: list
    elements: str
    default: []
  alternatives:
    description:
      - "Another way out than installing a requirement, by requirement, appended to what to do in the failure message,
        for example C({cert_manager: or choose the standalone layout with gpu_infra_connectivity_link=false})."
    type: dict
    default: {}
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Needs permission to get CustomResourceDefinitions and to list ClusterServiceVersions, and for C(cert_manager)
    Deployments, for C(nfd) NodeFeatureDiscoveries, in all namespaces; with I(removing), to list
    DataScienceClusters.
seealso:
  - module: rhoai.gpu_infra.component_checks
"""

EXAMPLES = r"""
- name: Fail before anything changes when NFD is not installed and running
  rhoai.gpu_infra.requirements_check:
    required_by:
      nfd: [gpu_operator]

- name: Fail before a teardown while OpenShift AI runs on what it would remove
  rhoai.gpu_infra.requirements_check:
    removing: [kueue, serverless]
"""

RETURN = r"""
requirements:
  description: One result per requirement, in the order given; the module fails when one is not installed and running.
  returned: always
  type: list
  elements: dict
  sample:
    - requirement: nfd
      required_by: [gpu_operator]
      installed: true
      evidence: CSV openshift-nfd/nfd.4.20.0-202511041128 Succeeded, NodeFeatureDiscovery openshift-nfd/nfd-instance
      found: ""
data_science_clusters:
  description: With I(removing), the DataScienceClusters found (cluster-scoped), each with whether it is being deleted.
  returned: always
  type: list
  elements: dict
  sample:
    - name: default-dsc
      deleting: false
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    fail_unless_api_error,
    get_k8s,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.requirements import (  # noqa: E402
    ASSESS,
    collect,
    collect_data_science_clusters,
    in_use_message,
    message,
)

NEEDS = (
    "get CustomResourceDefinitions and list ClusterServiceVersions, Deployments, NodeFeatureDiscoveries and "
    "DataScienceClusters"
)


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        required_by=dict(type="dict", default={}),
        removing=dict(type="list", elements="str", default=[]),
        alternatives=dict(type="dict", default={}),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    required_by = module.params["required_by"]
    unknown = sorted(set(required_by) - set(ASSESS))
    bad = sorted(k for k, v in required_by.items() if not isinstance(v, list) or not all(isinstance(c, str) for c in v))
    if unknown or bad:
        module.fail_json(
            msg="requirements_check: expected required_by to map {0} to lists of component names; found {1}".format(
                " or ".join(sorted(ASSESS)),
                "; ".join(
                    (["unknown requirement " + ", ".join(unknown)] if unknown else [])
                    + (["not a list of names for " + ", ".join(bad)] if bad else [])
                ),
            )
        )
    trace = []
    failure = None
    removing = module.params["removing"]
    try:
        k8s = k8s_factory(module) if required_by or removing else None
        results = collect(k8s, required_by, trace) if required_by else []
        clusters = collect_data_science_clusters(k8s, trace) if removing else []
    except Exception as exc:  # an API error is the cluster's or the login's; anything else is a bug of this module
        fail_unless_api_error(module, "requirements_check", exc)
        failure = api_failure_message(trace[-1] if trace else "read the cluster", exc, NEEDS)
    if failure:
        # Outside the except block: the message explains an API error in full; a traceback would only suggest a bug.
        module.fail_json(msg=failure)
    failed = " ".join(
        m for m in (message(results, module.params["alternatives"]), in_use_message(clusters, removing)) if m
    )
    if failed:
        module.fail_json(msg=failed, requirements=results, data_science_clusters=clusters)
    module.exit_json(changed=False, requirements=results, data_science_clusters=clusters)


if __name__ == "__main__":
    main()
