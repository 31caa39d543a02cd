#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_access
short_description: Read the OpenShift version and check, read-only, that the credentials may make a run's changes
version_added: 0.1.0
description:
  - The first cluster step of C(site.yml) and C(teardown.yml). Reads C(ClusterVersion/version) (its
    C(status.desired.version); empty when the cluster has none, as a cluster that is not OpenShift) and asks the API
    server, with SelfSubjectAccessReviews, whether the credentials may get, create and patch every kind of object the
    run writes (or, with an item's own C(verbs), get, patch and delete what a teardown removes), in the namespaces it
    writes them to, patch the InstallPlans of the operators it installs (a Manual one is approved), and get and list
    what it reads after its first change.
  - For a teardown, I(removal_namespaces) names the namespaces of the operator installs M(rhoai.gpu_infra.olm_remove)
    removes; the module knows what that reads and changes of each (Subscription, ClusterServiceVersions, the
    C(Operator) object, OperatorGroups, the Namespace and what is in it, and the CRDs with I(remove_crds)).
  - One review when the credentials may do everything (cluster-admin); otherwise one per kind, namespace and verb.
  - Fails, before anything changes, naming the user (SelfSubjectReview, where the API server has it), every permission
    it lacks and how to grant them, and ending with C(Nothing was changed.)
  - The plural of a kind the API server does not serve yet (a custom resource whose operator the run installs) is
    guessed as kubectl does (lower case, C(s), C(es) or C(ies)).
  - Read-only. Never changes anything, also not outside check mode.
  - Rejected credentials (HTTP 401), missing permission to read ClusterVersion (HTTP 403) and an unreachable API fail
    with the API's own message, the request that failed and what to do.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
options:
  namespaces:
    description:
      - The namespaces of the operators the run installs; each needs its Namespace, OperatorGroup and Subscription
        written and its InstallPlans patched. Names only, since a Subscription's config does not belong in this
        module's arguments, which C(-v) prints and AWX/AAP keep as job events.
    type: list
    elements: str
    default: []
  objects:
    description:
      - Further objects the run writes or removes, stubs of them (C(apiVersion), C(kind), C(metadata.namespace)), or
        references as M(rhoai.gpu_infra.owned_objects) takes them (C(api_version), C(kind), C(namespace), C(name)).
      - An item's own C(verbs) (a list) are the verbs needed on it instead of I(verbs).
      - Deleting a Namespace named in its item (C(name) or C(metadata.name)) also needs listing what is in it, which
        M(rhoai.gpu_infra.owned_objects) and M(rhoai.gpu_infra.olm_remove) look at before they delete one; that is
        checked too.
    type: list
    elements: dict
    default: []
  verbs:
    description:
      - The verbs needed on each of I(objects) that does not name its own, and on the Namespace, OperatorGroup and
        Subscription of I(namespaces).
      - C(get) among them because C(kubernetes.core.k8s) and M(rhoai.gpu_infra.owned_objects) read an object before
        they write it, and the waits read the operands they applied.
    type: list
    elements: str
    default: [get, create, patch]
  removal_namespaces:
    description:
      - The namespaces of the operator installs the run removes with M(rhoai.gpu_infra.olm_remove).
      - That module gets, lists, patches and deletes ClusterServiceVersions, gets and deletes the Subscription, the
        C(Operator) object and the Namespace (and lists what is in the namespace first), and gets, lists and deletes
        OperatorGroups.
    type: list
    elements: str
    default: []
  remove_crds:
    description: Whether the removal deletes CustomResourceDefinitions too (get and delete them, cluster-wide).
    type: bool
    default: false
  reads:
    description:
      - Kinds the run reads (C(get) and C(list)) after its first change, as stubs (C(apiVersion), C(kind),
        C(metadata.namespace); without a namespace, in all namespaces or cluster-wide), so that a login that may
        write but not read them fails here instead of half way.
    type: list
    elements: dict
    default: []
  purpose:
    description: What needs the permissions, the subject of the failure message.
    type: str
    default: this run
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
  - Needs permission to get ClusterVersions; every authenticated user may create SelfSubjectAccessReviews.
  - Each verb is asked for by kind (and namespace), not by object name.
seealso:
  - module: rhoai.gpu_infra.olm_preflight
  - module: rhoai.gpu_infra.olm_remove
"""

EXAMPLES = r"""
- name: Read the OpenShift version and check the permissions of the run
  rhoai.gpu_infra.cluster_access:
    namespaces: ["{{ __nfd_olm_operator.namespace }}"]
    objects: "{{ __nfd_operands }}"
    purpose: site.yml for nfd
  register: access

- name: Check that the credentials may remove the NFD install and its operand
  rhoai.gpu_infra.cluster_access:
    removal_namespaces: [openshift-nfd]
    objects:
      - {api_version: nfd.openshift.io/v1, kind: NodeFeatureDiscovery, name: nfd-instance, namespace: openshift-nfd}
    verbs: [get, delete]
    purpose: teardown.yml with nfd
"""

RETURN = r"""
version:
  description: C(status.desired.version) of C(ClusterVersion/version); empty when there is none.
  returned: always
  type: str
  sample: 4.20.3
user:
  description: Who the credentials are, when the API server says (SelfSubjectReview).
  returned: when a permission is missing
  type: str
  sample: system:serviceaccount:ci:deployer
missing:
  description: The permissions the credentials lack; the module fails when there is any.
  returned: always
  type: list
  elements: dict
  sample: [{verbs: [create, patch], resource: subscriptions.operators.coreos.com, namespace: openshift-nfd}]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import access  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    fail_unless_api_error,
    get_k8s,
)

NEEDS = "get ClusterVersions (config.openshift.io) and create SelfSubjectAccessReviews"


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        namespaces=dict(type="list", elements="str", default=[]),
        objects=dict(type="list", elements="dict", default=[]),
        verbs=dict(type="list", elements="str", default=["get", "create", "patch"]),
        reads=dict(type="list", elements="dict", default=[]),
        removal_namespaces=dict(type="list", elements="str", default=[]),
        remove_crds=dict(type="bool", default=False),
        purpose=dict(type="str", default="this run"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    k8s = k8s_factory(module)
    trace = ["get ClusterVersion version"]
    failure = None
    try:
        cv = k8s.get("config.openshift.io/v1", "ClusterVersion", "version") or {}
        version = ((cv.get("status") or {}).get("desired") or {}).get("version") or ""
        items = access.wanted(
            params["namespaces"],
            params["objects"],
            params["verbs"],
            params["reads"],
            removal_namespaces=params["removal_namespaces"],
            remove_crds=params["remove_crds"],
        )
        missing = access.denied(k8s, items, trace)
    except Exception as exc:  # an API error is the cluster's or the login's; anything else is a bug of this module
        fail_unless_api_error(module, "cluster_access", exc)
        failure = api_failure_message(trace[-1], exc, NEEDS) + " Nothing was changed."
    if failure:
        # Outside the except block: the message explains an API error in full; a traceback would only suggest a bug.
        module.fail_json(msg=failure)
    if missing:
        user = access.username(k8s)
        module.fail_json(
            msg=access.message(params["purpose"], user, missing), version=version, user=user, missing=missing
        )
    module.exit_json(changed=False, version=version, missing=[])


if __name__ == "__main__":
    main()
