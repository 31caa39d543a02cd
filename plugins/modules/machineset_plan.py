#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: machineset_plan
short_description: Plan what the machinesets role applies or removes, changing nothing
version_added: 0.1.0
description:
  - Reads Infrastructure C(cluster), the MachineSets and MachineAutoscalers of C(openshift-machine-api) and, with
    I(autoscaling), ClusterAutoscaler C(default), in one process, and builds from them what the C(machinesets) role
    applies. Nothing is changed, so the result can be checked (ownership, AWS quota) before anything is applied.
  - Each pool's MachineSet is cloned from the cluster's worker MachineSet in the pool's zone (else the first by zone
    and name) as the P(rhoai.gpu_infra.gpu_machineset#filter) filter does; a MachineSet that a MachineAutoscaler
    targets keeps its current replicas. Every pool is built before any is returned, so one bad pool fails the task
    with nothing applied.
  - Fails, saying what was expected, what was found and what to do, on a cluster that is not OpenShift on AWS, without
    a worker MachineSet to clone, for a pool the filter rejects, for autoscaler bounds that are not whole numbers or
    whose C(max_replicas) is below 1 or below C(min_replicas), and for two pools that make the same MachineSet.
  - Someone else's ClusterAutoscaler C(default) gets only the GPU limits of the pools' accelerators, recorded in its
    annotation C(rhoai.gpu-infra/gpu-limits); a limit of such a type that someone else set is left as it is when it
    equals this collection's and fails the plan when it differs (unless I(adopt)). Its other settings and other
    limits are never changed.
  - With I(state=absent) it plans the removal instead, from the MachineSets and MachineAutoscalers that carry the
    label C(app.kubernetes.io/managed-by=rhoai.gpu_infra) and ClusterAutoscaler C(default) (the GPU limits its
    annotation records, or all of it when this collection created it), and reads nothing else, so that it also works
    where the worker MachineSets or the platform would fail a plan for C(present).
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; check mode returns the same plan.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description:
      - C(present) plans what configure applies; C(absent) plans what remove deletes (RV(machinesets) and
        RV(autoscalers) are then those of this collection on the cluster).
    type: str
    choices: [present, absent]
    default: present
  pools:
    description:
      - The GPU pools, one MachineSet each. Keys are those of the P(rhoai.gpu_infra.gpu_machineset#filter) filter's
        I(pool) (C(instance_type) required), and C(min_replicas) (default 0) and C(max_replicas) (default C(replicas),
        at least 1), the bounds of the pool's MachineAutoscaler. Keys whose value is null are ignored.
      - Required with I(state=present); not read with I(state=absent).
    type: list
    elements: dict
  zone:
    description: Zone of the pools that name none; empty for the first zone (by name) that has a worker MachineSet.
    type: str
    default: ""
  autoscaling:
    description: Also build a MachineAutoscaler per pool and the GPU limits of ClusterAutoscaler C(default). Ignored
      with I(state=absent).
    type: bool
    default: false
  adopt:
    description:
      - With I(autoscaling), replace a GPU limit in someone else's ClusterAutoscaler C(default) that has the type of
        a pool's accelerator and differs from this collection's, instead of failing; it is then recorded as this
        collection's, and remove takes it out. The roles pass C(gpu_infra_adopt).
    type: bool
    default: false
  wait_gpu_allocatable:
    description: RV(ready) also requires allocatable C(nvidia.com/gpu) on the GPU nodes.
    type: bool
    default: true
notes:
  - Needs permission to get Infrastructures and ClusterAutoscalers and to list MachineSets and MachineAutoscalers.
seealso:
  - module: rhoai.gpu_infra.aws_gpu_preflight
  - module: rhoai.gpu_infra.owned_objects
  - module: rhoai.gpu_infra.ready_wait
"""

EXAMPLES = r"""
- name: Build the GPU MachineSets of two pools
  rhoai.gpu_infra.machineset_plan:
    pools:
      - instance_type: g6.4xlarge
        replicas: 1
      - instance_type: g6.12xlarge
        replicas: 0
        max_replicas: 2
    autoscaling: true
  register: gpu_plan

- name: Apply them
  kubernetes.core.k8s:
    state: present
    apply: true
    definition: "{{ item }}"
  loop: "{{ gpu_plan.machinesets + gpu_plan.autoscalers }}"

- name: Find what a removal of the GPU pools would delete
  rhoai.gpu_infra.machineset_plan:
    state: absent
  register: gpu_removal
"""

RETURN = r"""
infra_id:
  description: The cluster's infrastructure ID (status.infrastructureName of Infrastructure C(cluster)).
  returned: state is present
  type: str
  sample: mycluster-7x2kq
region:
  description: The cluster's AWS region.
  returned: state is present
  type: str
  sample: us-east-2
plan:
  description: Per pool, in the order of I(pools), the pool with C(zone), C(min_replicas) and C(max_replicas)
    resolved, its MachineSet, and C(current_replicas), the replicas of that MachineSet on the cluster (0 when absent).
  returned: state is present
  type: list
  elements: dict
machinesets:
  description: The MachineSets to apply, labelled as the C(machinesets) component's (RV(plan)'s C(machineset)s); with
    I(state=absent), those of this collection on the cluster.
  returned: always
  type: list
  elements: dict
autoscalers:
  description: One MachineAutoscaler per pool with its bounds, empty without I(autoscaling); with I(state=absent),
    those of this collection on the cluster.
  returned: always
  type: list
  elements: dict
cluster_autoscaler:
  description:
    - With I(autoscaling), what to apply to ClusterAutoscaler C(default) as a merge patch, per accelerator at most the
      GPUs of its pools at their maximum size. When absent, all of it, labelled as this collection's; when present,
      only C(spec.resourceLimits.gpus) (other limits kept), the annotation of the types recorded as ours, and the
      resourceVersion read, so that a change since this read fails the patch instead of being overwritten. Null
      without I(autoscaling) or pools.
    - With I(state=absent), the merge patch that takes the GPU limits recorded as this collection's (and the
      annotation) out of someone else's ClusterAutoscaler C(default); null when none is recorded, or it is this
      collection's.
  returned: always
  type: dict
delete_cluster_autoscaler:
  description: ClusterAutoscaler C(default) was created by this collection, so remove deletes it.
  returned: state is absent
  type: bool
removed:
  description: What remove deletes, as C({object}) records (C(Kind namespace/name)), in order.
  returned: state is absent
  type: list
  elements: dict
kept:
  description: What remove changes but leaves in place, as C({object, reason}) records.
  returned: state is absent
  type: list
  elements: dict
ready:
  description: The P(rhoai.gpu_infra.ready_wait#module) items that mean the pools are up, the machines Running, every
    MachineSet's replicas ready and, with I(wait_gpu_allocatable), allocatable GPUs on as many GPU nodes.
  returned: state is present
  type: list
  elements: dict
aws_requests:
  description: The I(instance_types) of P(rhoai.gpu_infra.aws_gpu_preflight#module), per pool the machines still to
    be started.
  returned: state is present
  type: list
  elements: dict
  sample: [{instance_type: g6.4xlarge, zone: us-east-2a, count: 1}]
"""

# ansible-test requires the imports below the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import machinesets as m  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    get_k8s,
    is_api_error,
)

NEEDS = "get Infrastructures and ClusterAutoscalers and list MachineSets and MachineAutoscalers"


def build(api, params):
    """Read the cluster and return the module's result (raises MachineSetError for input that cannot be built)."""
    if params["state"] == "absent":
        selector = "{0}={1}".format(*m.MANAGED_BY)
        return m.removal(
            api.list(m.API_VERSION, "MachineSet", m.MAPI_NAMESPACE, label_selector=selector),
            api.list(m.AUTOSCALER_API, "MachineAutoscaler", m.MAPI_NAMESPACE, label_selector=selector),
            api.get(m.CLUSTER_AUTOSCALER_API, "ClusterAutoscaler", "default"),
        )
    infrastructure = api.get("config.openshift.io/v1", "Infrastructure", "cluster")
    machinesets = api.list(m.API_VERSION, "MachineSet", m.MAPI_NAMESPACE)
    autoscalers = api.list(m.AUTOSCALER_API, "MachineAutoscaler", m.MAPI_NAMESPACE)
    result = m.plan(infrastructure, machinesets, autoscalers, params["pools"], zone=params["zone"])
    items = result["plan"]
    result.update(
        machinesets=[item["machineset"] for item in items],
        autoscalers=m.machine_autoscalers(items) if params["autoscaling"] else [],
        cluster_autoscaler=None,
        ready=m.ready_items(items, params["wait_gpu_allocatable"]),
        aws_requests=m.aws_requests(items),
    )
    # No pool, no limits: creating a ClusterAutoscaler would turn on cluster autoscaling for nothing of ours.
    if params["autoscaling"] and items:
        existing = api.get(m.CLUSTER_AUTOSCALER_API, "ClusterAutoscaler", "default")
        result["cluster_autoscaler"] = m.cluster_autoscaler(existing, m.gpu_limits(items), adopt=params["adopt"])
    return result


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        pools=dict(type="list", elements="dict"),
        adopt=dict(type="bool", default=False),
        zone=dict(type="str", default=""),
        autoscaling=dict(type="bool", default=False),
        wait_gpu_allocatable=dict(type="bool", default=True),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ("pools",))]
    )
    if module.params["state"] == "present" and module.params["pools"] is None:
        module.fail_json(msg="machinesets: expected pools (a list, [] for none) to plan what to apply, found null.")
    try:
        result = build(k8s_factory(module), module.params)
    except m.MachineSetError as exc:
        module.fail_json(msg="machinesets: {0}".format(exc))
    except Exception as exc:
        if not is_api_error(exc):
            raise
        module.fail_json(msg="machinesets: " + api_failure_message("read the GPU MachineSets", exc, NEEDS))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
