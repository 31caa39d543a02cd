#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_label_check
short_description: Diagnose why GPU nodes are not ready (NFD labels, taints, tolerations, GPU capacity)
version_added: 0.1.0
description:
  - Reads the GPU nodes, the NFD worker DaemonSet and pods, and the NVIDIA GPU operator DaemonSets, and reports per node
    the NFD labels the Driver Toolkit needs, C(nvidia.com/gpu.present), the allocatable C(nvidia.com/gpu), and which
    node taints the NFD worker and the GPU operator DaemonSets do not tolerate (Kubernetes' own toleration matching).
  - >-
    Known failure modes get a named diagnosis. The most important one, C(nfd-blocked-dtk-fallback), explains the
    misleading driver error C(FATAL: failed to install elfutils-libelf-devel. RHEL entitlement may be improperly
    deployed.), whose cause is an NFD worker kept off a tainted GPU node, not entitlements.
  - Read-only. Never changes anything, also not outside check mode.
  - Every API request attempt times out after 30 seconds. Rejected credentials (HTTP 401), missing permissions
    (HTTP 403) and an unreachable API fail with the API's own message, what was expected and what to do; any other
    error is reported as a bug of this module.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
options:
  node_selector:
    description:
      - Label selector for the GPU nodes.
      - By default the nodes labelled C(feature.node.kubernetes.io/pci-10de.present=true) or
        C(node-role.kubernetes.io/gpu) (the label the GPU MachineSets put on their nodes), merged.
    type: str
  nfd_namespace:
    description:
      - Namespace of the NFD operator and its C(nfd-worker) DaemonSet.
    type: str
    default: openshift-nfd
  gpu_operator_namespace:
    description:
      - Namespace of the NVIDIA GPU operator and its DaemonSets (C(nvidia-driver-daemonset) and the others).
    type: str
    default: nvidia-gpu-operator
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
seealso:
  - name: NVIDIA GPU Operator on OpenShift
    description: Installing the GPU operator with the Driver Toolkit.
    link: https://docs.nvidia.com/datacenter/cloud-native/openshift/latest/index.html
"""

EXAMPLES = r"""
- name: Diagnose the GPU nodes
  rhoai.gpu_infra.node_label_check:
  register: gpu_nodes

- name: Fail with the diagnosis when a GPU node is not ready
  ansible.builtin.assert:
    that: gpu_nodes.healthy
    fail_msg: "{{ gpu_nodes.findings | selectattr('severity', 'equalto', 'error') | map(attribute='message') | list }}"

- name: Check only the g6.12xlarge nodes, with the NFD operator in a custom namespace
  rhoai.gpu_infra.node_label_check:
    node_selector: node.kubernetes.io/instance-type=g6.12xlarge
    nfd_namespace: my-nfd
    kubeconfig: ~/clusters/prod/kubeconfig
"""

RETURN = r"""
nodes:
  description: What each GPU node looks like to NFD and the GPU operator.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    labels:
      description:
        - The NFD and GPU labels the node has (pci-10de.present, kernel-version.*, OSTREE_VERSION,
          nvidia.com/gpu.present).
      type: dict
    gpu_role:
      description: Whether the node has the C(node-role.kubernetes.io/gpu) label.
      type: bool
    pci_10de_present:
      description: Whether NFD labelled the node as having an NVIDIA PCI device.
      type: bool
    kernel_labels:
      description: Whether all of C(kernel-version.full), C(.major) and C(.minor) are present.
      type: bool
    ostree_label:
      description: Whether C(system-os_release.OSTREE_VERSION) is present.
      type: bool
    gpu_present:
      description: Whether the GPU operator labelled the node C(nvidia.com/gpu.present=true).
      type: bool
    allocatable_gpus:
      description: Allocatable C(nvidia.com/gpu), null when the node does not advertise the resource.
      type: int
    taints:
      description: The node's taints as C(key=value:Effect).
      type: list
      elements: str
    nfd_worker_pod:
      description: The Running NFD worker pod on the node, null when there is none.
      type: str
    nfd_worker_untolerated:
      description: NoSchedule/NoExecute taints the C(nfd-worker) DaemonSet does not tolerate.
      type: list
      elements: str
    gpu_operator_untolerated:
      description: GPU operator DaemonSet name -> the taints it does not tolerate (only DaemonSets that are blocked).
      type: dict
  sample:
    - name: ip-10-0-1-5.us-east-2.compute.internal
      labels:
        feature.node.kubernetes.io/pci-10de.present: "true"
      gpu_role: true
      pci_10de_present: true
      kernel_labels: false
      ostree_label: false
      gpu_present: false
      allocatable_gpus: null
      taints: ["nvidia.com/gpu=true:NoSchedule", "dedicated=ml:NoExecute"]
      nfd_worker_pod: null
      nfd_worker_untolerated: ["dedicated=ml:NoExecute"]
      gpu_operator_untolerated: {}
findings:
  description: Diagnoses per node in node order, the most fundamental cause first (NFD before the GPU operator).
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: The node, null for cluster-wide findings.
      type: str
    severity:
      description: C(error), C(warning) or C(info).
      type: str
    code:
      description:
        - Name of the diagnosis, for example C(gpu-node-not-ready) (the node's Ready condition is not True),
          C(gpu-node-cordoned) (C(spec.unschedulable), as C(oc adm cordon) sets it), C(nfd-blocked-dtk-fallback),
          C(nfd-worker-missing), C(nfd-worker-not-running), C(kernel-labels-missing), C(pci-label-missing),
          C(gpu-operator-taint-not-tolerated), C(gpu-operator-not-ready), C(gpu-allocatable-zero),
          C(ostree-label-missing), C(nfd-blocked-stale-labels), C(no-gpu-nodes), C(gpu-node-ready).
      type: str
    message:
      description: What is wrong and what it causes.
      type: str
    evidence:
      description: What was observed.
      type: str
    remedy:
      description: What to do next.
      type: str
  sample:
    - node: ip-10-0-1-5.us-east-2.compute.internal
      severity: error
      code: nfd-blocked-dtk-fallback
      message: >-
        NFD worker cannot run on ip-10-0-1-5.us-east-2.compute.internal (taint dedicated=ml:NoExecute not tolerated)
        -> no kernel-version labels -> the GPU driver falls back from the Driver Toolkit to dnf and fails with
        'FATAL: failed to install elfutils-libelf-devel. RHEL entitlement may be improperly deployed.' This is not an
        entitlement problem.
      evidence: "taints ['dedicated=ml:NoExecute']; labels none; NFD worker pod none"
      remedy: >-
        Add a toleration for dedicated=ml:NoExecute to NodeFeatureDiscovery nfd-instance
        spec.operand.workerTolerations in openshift-nfd (the nfd role's nfd_worker_tolerations).
checks:
  description:
    - The findings as check records of the verify report (C(component), C(check), C(status), C(evidence),
      C(remedy)).
    - A check passes only when what it states holds on every GPU node. A node whose missing label or GPU is explained
      by a more fundamental finding (no NFD worker on it, say) fails the check too, and its remedy names the check to
      fix first.
  returned: always
  type: list
  elements: dict
healthy:
  description: True when there is no finding of severity C(error).
  returned: always
  type: bool
summary:
  description: One line for humans.
  returned: always
  type: str
  sample: >-
    2 GPU node(s), 1 ready, 4 allocatable nvidia.com/gpu; 1 error(s), 0 warning(s): nfd-blocked-dtk-fallback on
    ip-10-0-1-5.us-east-2.compute.internal
cluster:
  description: Which cluster was checked.
  returned: always
  type: dict
  contains:
    api_url:
      description: The API URL the client connected to.
      type: str
    infrastructure_name:
      description: C(Infrastructure/cluster) C(status.infrastructureName), null when not available.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    fail_unless_api_error,
    get_k8s,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.nodes import (  # noqa: E402
    checks,
    cluster_identity,
    collect,
)


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        node_selector=dict(type="str"),
        nfd_namespace=dict(type="str", default="openshift-nfd"),
        gpu_operator_namespace=dict(type="str", default="nvidia-gpu-operator"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    k8s = k8s_factory(module)
    nfd_namespace, gpu_namespace = module.params["nfd_namespace"], module.params["gpu_operator_namespace"]
    failure = None
    try:
        result = collect(
            k8s,
            node_selector=module.params["node_selector"],
            nfd_namespace=nfd_namespace,
            gpu_operator_namespace=gpu_namespace,
        )
        result["checks"] = checks(result)
        result["cluster"] = cluster_identity(k8s)
    except Exception as exc:  # an API error is the cluster's or the login's; anything else is a bug of this module
        fail_unless_api_error(module, "node_label_check", exc)
        failure = api_failure_message(
            "read the GPU nodes and the NFD and GPU operator DaemonSets",
            exc,
            "list nodes, and list daemonsets and pods in namespaces {0} and {1}".format(nfd_namespace, gpu_namespace),
        )
    if failure:
        # Outside the except block: an API error is explained in full by the message; a traceback would only suggest
        # a bug.
        module.fail_json(msg=failure)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
