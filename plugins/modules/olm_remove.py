#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: olm_remove
short_description: Remove one OLM operator install, only as far as this collection created or adopted it
version_added: 0.1.0
description:
  - Reads the Subscription, the CSVs of the package in its namespace (by OLM's label
    C(operators.coreos.com/<package>.<namespace>), so that they are found after a partial removal too) and the
    namespace, and decides from them what may go. The Subscription is this collection's when it carries the label
    C(app.kubernetes.io/managed-by=rhoai.gpu_infra), when its namespace does (versions before the ownership labels
    labelled only the namespace), or with I(dependency_of_ours).
  - Then deletes, in this order, the Subscription, its CSVs (labelled as this collection's first, so that a re-run
    after a removal that stopped in between still knows them; each waited for until gone), the C(Operator) object
    C(<package>.<namespace>) when the Subscription or a CSV was there, with I(remove_namespace) the OperatorGroups and
    the namespace that carry the managed-by label (waited for), and with I(remove_crds) the CRDs of I(crds) (waited
    for) and then the C(Operator) object, which OLM recreates for as long as CRDs carrying the package's label remain.
  - Before deleting a namespace of this collection's, and after the CSVs are gone, it lists the namespace's
    ConfigMaps, Secrets, PersistentVolumeClaims, Services, Pods, Deployments, StatefulSets, DaemonSets, Jobs and
    CronJobs, metadata only (Secrets are never read). One that has no ownerReferences, does not carry the managed-by
    label, is not labelled by OLM (C(olm.owner.kind)) and is not one the platform makes in every namespace (ConfigMaps
    C(kube-root-ca.crt) and C(openshift-service-ca.crt); service account token, image pull and serving certificate
    Secrets, which name their ServiceAccount or Service in an annotation) was put there by someone else, for example
    the GPU operator's C(licensing-config) ConfigMap. Then the namespace stays with its OperatorGroup, and RV(left)
    names those objects and the command that deletes the namespace by hand. Check mode decides the same.
  - Someone else's Subscription stays with its CSVs, its OperatorGroup and its namespace, and so do the CRDs; RV(left)
    says what was left, why, and the commands that remove it by hand.
  - Objects already gone are no error, so a removal that stopped in between can be re-run.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads as a real run would and deletes nothing; RV(removed) lists what a real run would delete.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  component:
    description: The collection component (for example C(nfd)), named in every message and in the labels it sets.
    type: str
    required: true
  package:
    description: The OLM package.
    type: str
    required: true
  namespace:
    description: The namespace of the Subscription.
    type: str
    required: true
  subscription_name:
    description: The Subscription's name; empty for the package name.
    type: str
    default: ""
  dependency_of_ours:
    description:
      - The Subscription was created by OLM for a dependency of a Subscription of this collection (Connectivity
        Link's C(authorino-operator), C(limitador-operator) and C(dns-operator)), so it is removed though it carries
        no label.
    type: bool
    default: false
  remove_namespace:
    description:
      - Also delete the OperatorGroups and the namespace when they carry the managed-by label, nothing was left in
        place and the namespace holds nothing someone else put there (see the description). False when other
        Subscriptions of the namespace are removed after this one.
    type: bool
    default: true
  remove_crds:
    description: Also delete I(crds), and with them every object of those kinds, unless the install is someone else's.
    type: bool
    default: false
  crds:
    description: The CRDs of the operator, deleted only with I(remove_crds).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait, overall, for the deleted CSVs, namespace and CRDs to be gone.
    type: int
    default: 900
notes:
  - Delete the operator's operand objects before this, while the operator still runs to release their finalizers.
  - Needs permission to get, list, patch and delete Subscriptions, ClusterServiceVersions, Operators, OperatorGroups,
    Namespaces and CustomResourceDefinitions, and to list ConfigMaps, Secrets, PersistentVolumeClaims, Services, Pods,
    Deployments, StatefulSets, DaemonSets, Jobs and CronJobs in I(namespace).
seealso:
  - module: rhoai.gpu_infra.owned_objects
"""

EXAMPLES = r"""
- name: Remove the NFD operator install this collection made
  rhoai.gpu_infra.olm_remove:
    component: nfd
    package: nfd
    namespace: openshift-nfd
    remove_crds: true
    crds: [nodefeaturediscoveries.nfd.openshift.io]
    timeout: 600
  register: removed

- name: Say what was left in place
  ansible.builtin.debug:
    msg: "{{ removed.left }}"
  when: removed.left | length > 0
"""

RETURN = r"""
owner:
  description: Whose the Subscription was; C(ours), C(legacy) (unlabelled in a namespace this collection created),
    C(dependency), C(foreign) (someone else's) or C(absent).
  returned: always
  type: str
  sample: ours
removed:
  description: The objects deleted (in check mode, that would be deleted), in order.
  returned: always
  type: list
  elements: str
  sample: [Subscription openshift-nfd/nfd, ClusterServiceVersion openshift-nfd/nfd.4.20.0-202510211040]
left:
  description:
    - What was left in place, why, and how to remove it by hand; empty when nothing was.
    - A namespace of this collection's kept because it holds someone else's objects is named with those objects and
      the C(oc delete namespace) command.
  returned: always
  type: str
  sample: ""
msg:
  description: What was removed, and what was left in place.
  returned: always
  type: str
"""

import time  # noqa: E402

# ansible-test requires the imports below the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import olm, ownership  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    get_k8s,
    is_api_error,
)

OLM_V1 = "operators.coreos.com/v1"
OLM_V1ALPHA1 = "operators.coreos.com/v1alpha1"
NEEDS = (
    "get, list, patch and delete Subscriptions, ClusterServiceVersions, Operators, OperatorGroups, Namespaces and "
    "CustomResourceDefinitions, and list ConfigMaps, Secrets, PersistentVolumeClaims, Services, Pods, Deployments, "
    "StatefulSets, DaemonSets, Jobs and CronJobs in the operator's namespace"
)


def _ref(api_version, kind, name, namespace=""):
    return dict(api_version=api_version, kind=kind, name=name, namespace=namespace)


def remove(api, params, *, dry_run=False, clock=time.monotonic):
    """Delete what the removal of the install in ``params`` may delete; return dict(owner, removed, left)."""
    ns, package = params["namespace"], params["package"]
    name = params["subscription_name"] or package
    subscription = api.get(OLM_V1ALPHA1, "Subscription", name, ns)
    csvs = api.list(OLM_V1ALPHA1, "ClusterServiceVersion", ns, label_selector=olm.PACKAGE_LABEL.format(package) + ns)
    namespace = api.get("v1", "Namespace", ns)
    decision = olm.removal(params, subscription, csvs, namespace, dependency_of_ours=params["dependency_of_ours"])
    deadline = clock() + params["timeout"]
    removed = []

    def delete(refs, wait, owned_only=False):
        try:
            found = ownership.remove(
                api,
                refs,
                dry_run=dry_run,
                wait=wait,
                timeout=max(0, deadline - clock()),
                clock=clock,
                owned_only=owned_only,
                # The namespace's content was looked at just before, below, and decided whether it goes.
                look_into_namespaces=False,
            )
        except ownership.RemovalTimeout as exc:
            removed.extend(r["object"] for r in exc.result["removed"])
            exc.result["removed"] = removed
            raise
        removed.extend(r["object"] for r in found["removed"])

    if decision["subscription"] and not dry_run:
        # Once the Subscription is gone only these labels tell a re-run whose the CSVs are.
        for csv in csvs:
            if csv["metadata"]["name"] in decision["csvs"] and not ownership.is_ours(csv):
                patch = {"metadata": {"labels": ownership.labels(params["component"])}}
                api.merge_patch(OLM_V1ALPHA1, "ClusterServiceVersion", csv["metadata"]["name"], patch, ns)
    if decision["subscription"]:
        delete([_ref(OLM_V1ALPHA1, "Subscription", name, ns)], wait=False)
    delete([_ref(OLM_V1ALPHA1, "ClusterServiceVersion", c, ns) for c in decision["csvs"]], wait=True)
    crds = params["remove_crds"] and decision["owner"] != olm.FOREIGN
    # OLM recreates the Operator object for as long as anything carries the package's label, CRDs included: with the
    # CRDs it goes last, and without them only while there was a Subscription or CSV (a re-run would only delete the
    # copy OLM made again).
    operator = [_ref(OLM_V1, "Operator", "{0}.{1}".format(package, ns))]
    if decision["operator"] and not crds:
        delete(operator, wait=False)
    left = decision["left"]
    if params["remove_namespace"] and namespace is not None and not left:
        # Read after the CSVs are gone (in check mode they still run, but all they made has ownerReferences); a
        # namespace already being deleted takes everything in it whatever this says.
        foreign = []
        if ownership.is_ours(namespace) and not namespace["metadata"].get("deletionTimestamp"):
            foreign = ownership.foreign_in(api, ns)
        if foreign:
            left = olm.namespace_kept(ns, foreign)
        else:
            selector = "{0}={1}".format(ownership.MANAGED_BY_KEY, ownership.MANAGED_BY)
            groups = api.list(OLM_V1, "OperatorGroup", ns, label_selector=selector)
            delete([_ref(OLM_V1, "OperatorGroup", g["metadata"]["name"], ns) for g in groups], wait=False)
            # A Subscription left in place keeps its OperatorGroup and namespace (handled by decision["left"] above).
            delete([_ref("v1", "Namespace", ns)], wait=True, owned_only=True)
    if crds:
        delete([_ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", c) for c in params["crds"]], wait=True)
        delete(operator, wait=False)
    return dict(owner=decision["owner"], removed=removed, left=left)


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        component=dict(type="str", required=True),
        package=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        subscription_name=dict(type="str", default=""),
        dependency_of_ours=dict(type="bool", default=False),
        remove_namespace=dict(type="bool", default=True),
        remove_crds=dict(type="bool", default=False),
        crds=dict(type="list", elements="str", default=[]),
        timeout=dict(type="int", default=900),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    component = params["component"]
    api = k8s_factory(module)
    try:
        result = remove(api, params, dry_run=module.check_mode)
    except ownership.RemovalTimeout as exc:
        module.fail_json(msg="{0}: {1}".format(component, exc), changed=True, removed=exc.result["removed"])
    except Exception as exc:
        if not is_api_error(exc):
            raise
        module.fail_json(
            msg="{0}: {1}".format(
                component,
                api_failure_message("remove the install of package {0}".format(params["package"]), exc, NEEDS),
            )
        )
    verb = "would remove" if module.check_mode else "removed"
    lines = ["{0} {1}".format(verb, ", ".join(result["removed"]))] if result["removed"] else []
    lines += [result["left"]] if result["left"] else []
    module.exit_json(
        changed=bool(result["removed"]),
        msg="{0}: {1}".format(
            component, "; ".join(lines) or "nothing of package {0} to remove".format(params["package"])
        ),
        **result,
    )


if __name__ == "__main__":
    main()
