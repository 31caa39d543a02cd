#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ready_wait
short_description: Wait for Kubernetes objects to be ready, with one deadline for all of them
version_added: 0.1.0
description:
  - Waits for a list of objects or sets of objects at once until each one is ready, or until I(timeout) seconds have
    passed in total, and fails naming for every item that is not ready what was expected, what was found and what to
    do.
  - Each item says what to read (one object by I(name), or a set by I(label_selectors) or I(name_prefixes)) and what
    ready means for it, one of I(condition), I(field), I(exists), I(absent), I(rollout) or I(replicas); with none,
    ready means the object exists.
  - Reads every unfinished item each round with as few requests as possible; several objects of one kind in one
    namespace share one LIST, and objects of cluster-scoped kinds (CRDs, Nodes) are read one by one, never listed
    whole.
  - Polls every second while something changes, backing off to every I(poll_interval) seconds while nothing does,
    and paces the polls so that they make at most 2 API requests per second on average.
  - A read that fails (timeout, connection refused while the API server restarts, HTTP 5xx) is retried at the next
    round until the deadline; rejected credentials (HTTP 401) and missing permissions (HTTP 403) fail at once.
  - Changes nothing, ever; a failure says so.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads once and never waits; reports for every item whether it is ready and whether it exists, and never
      fails because something is not ready or does not exist yet.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  wait:
    description:
      - The items to wait for.
    type: list
    elements: dict
    required: true
    suboptions:
      description:
        description: What the item is, in words; it starts every message about the item.
        type: str
        required: true
      api_version:
        description: API version of the kind, for example C(apps/v1).
        type: str
        required: true
      kind:
        description: Kind of the objects, for example C(Deployment).
        type: str
        required: true
      namespace:
        description: Namespace of the objects; none for cluster-scoped kinds.
        type: str
      name:
        description: Name of the one object.
        type: str
      label_selectors:
        description:
          - Label selectors that together choose a set of objects.
          - Ready when at least I(min_count) (default 1) objects match and every one of them is ready; with
            I(absent), when none matches.
        type: list
        elements: str
      name_prefixes:
        description:
          - Name prefixes in I(namespace); ready when, for every prefix, at least one object whose name starts with it
            is ready (for example one C(Running) pod per prefix).
        type: list
        elements: str
      min_count:
        description: With I(label_selectors), how many objects must match at least.
        type: int
      condition:
        description: Ready when the object has this condition.
        type: dict
        suboptions:
          type:
            description: The condition type, for example C(Ready).
            type: str
            required: true
          status:
            description: The status that counts as ready.
            type: str
            default: "True"
          warn_reasons:
            description:
              - Reasons of this condition that end the wait with a warning instead of waiting (for example a
                condition that stays false until a later step of another product).
            type: list
            elements: str
            default: []
          wait_reasons:
            description:
              - Reasons with which the condition has the I(status) that counts as ready but proves nothing yet, so the
                wait goes on (the GPU operator's ClusterPolicy is C(Ready=True) with reason C(NoGPUNodes) while it
                has found no GPU node).
            type: list
            elements: str
            default: []
      field:
        description: Ready when a field of the object has a value.
        type: dict
        suboptions:
          path:
            description:
              - The field, as a dotted path (C(status.state)), or as a list of keys where a key contains dots
                (C([status, allocatable, nvidia.com/gpu])).
            type: raw
            required: true
          equals:
            description: The value that counts as ready (compared as strings).
            type: raw
          not_in:
            description: Without I(equals), ready when the value is none of these (C(null) stands for not set).
            type: list
            elements: raw
            default: [null]
      exists:
        description: Ready when the object exists (the default when no other check is given).
        type: bool
      absent:
        description: Ready when the object (or every object of the set) is gone.
        type: bool
      rollout:
        description:
          - Ready when a DaemonSet or Deployment has rolled out, as kubernetes.core judges it; for a DaemonSet,
            every scheduled pod updated and ready; for a Deployment, every replica updated and available; both with
            the status observed for the current generation.
        type: bool
      replicas:
        description: Ready when C(status.readyReplicas) equals C(spec.replicas) (for example a MachineSet).
        type: bool
      remedy:
        description: What to do when the item is not ready in time; appended to its message.
        type: str
      warning:
        description: For an item done with one of the I(warn_reasons), or skipped for want of the objects of
          I(when_exists), what that means and what to do; appended to the warning, or to the item's RV(items[].note).
        type: str
      when_exists:
        description:
          - Wait for the item only when objects of this kind exist, for example GPU nodes before a GPU ClusterPolicy
            can be ready. Looked at once, in the first round; with none, the item is done without waiting (state
            C(skipped), found C(no <kind> labelled ...), and a RV(items[].note)), which is not a warning, since no GPU
            nodes yet is normal right after their MachineSets are made.
        type: dict
        suboptions:
          api_version:
            description: API version of the kind.
            type: str
            required: true
          kind:
            description: Kind of the objects, for example C(Node).
            type: str
            required: true
          namespace:
            description: Namespace of the objects; none for cluster-scoped kinds.
            type: str
          label_selectors:
            description:
              - Label selectors, any one of which is enough (one LIST each); unlike the item's own
                I(label_selectors), which an object must all match.
            type: list
            elements: str
            required: true
  timeout:
    description:
      - Seconds to wait, overall, for all items together, connecting to the API included.
      - Every API request has a timeout of 30 seconds at most, and none that ends more than a second after this
        deadline.
    type: int
    default: 900
  poll_interval:
    description: The longest pause between two rounds of reads while nothing changes.
    type: int
    default: 5
  once:
    description:
      - Read once and return which items are ready (RV(items[].ready)), as check mode does, without waiting and
        without failing for those that are not; for example to skip setup steps that a previous run completed.
    type: bool
    default: false
notes:
  - Never returns or prints the content of a Secret; for a Secret only its existence is judged and reported.
  - Needs permission to get (or list) the kinds of the items in their namespaces.
  - Warns when reads failed during a wait that then succeeded, for example while the API server restarted.
"""

EXAMPLES = r"""
- name: Wait for KnativeServing to be Ready
  rhoai.gpu_infra.ready_wait:
    wait:
      - description: KnativeServing knative-serving
        api_version: operator.knative.dev/v1beta1
        kind: KnativeServing
        namespace: knative-serving
        name: knative-serving
        condition: {type: Ready}
        remedy: Check the pods in knative-serving (the rhoai.gpu_infra.diagnose playbook collects them), then re-run.
    timeout: 900

- name: Wait for the NFD operands and one Running pod per prefix, with one deadline for all
  rhoai.gpu_infra.ready_wait:
    wait:
      - description: nfd-worker
        api_version: apps/v1
        kind: DaemonSet
        namespace: openshift-nfd
        name: nfd-worker
        rollout: true
      - description: ClusterPolicy gpu-cluster-policy
        api_version: nvidia.com/v1
        kind: ClusterPolicy
        name: gpu-cluster-policy
        field: {path: status.state, equals: ready}
      - description: user workload monitoring
        api_version: v1
        kind: Pod
        namespace: openshift-user-workload-monitoring
        name_prefixes: [prometheus-user-workload-, thanos-ruler-user-workload-]
        field: {path: status.phase, equals: Running}
    timeout: 600
    poll_interval: 5
  register: ready

- name: Wait until the machines of a MachineSet are gone
  rhoai.gpu_infra.ready_wait:
    wait:
      - description: GPU machines
        api_version: machine.openshift.io/v1beta1
        kind: Machine
        namespace: openshift-machine-api
        label_selectors: ["machine.openshift.io/cluster-api-machineset in (gpu-a,gpu-b)"]
        absent: true
"""

RETURN = r"""
items:
  description: One entry per item, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    description:
      description: The item's I(description).
      type: str
      sample: KnativeServing knative-serving
    ready:
      description: Whether the item was ready when last read.
      type: bool
      sample: true
    state:
      description: C(ready), C(warning) (done with a reason listed in I(warn_reasons)), C(skipped) (no object of
        I(when_exists)) or C(waiting).
      type: str
      sample: ready
    exists:
      description: Whether at least one object of the item existed when last read.
      type: bool
      sample: true
    found:
      description: One line on what was last read (conditions, field value or status; for a Secret only its name).
      type: str
      sample: "KnativeServing knative-serving/knative-serving: Ready=True"
    note:
      description: For a C(skipped) item, what was not waited for, why, and the item's I(warning) text.
      type: str
      returned: when the item was skipped
      sample: >-
        gpu_operator: ClusterPolicy gpu-cluster-policy: not waiting for ClusterPolicy gpu-cluster-policy status.state
        'ready'; found no Node labelled node-role.kubernetes.io/gpu. There are no GPU nodes yet; ...
    expected:
      description: What ready means for the item, in words.
      type: str
      sample: KnativeServing knative-serving/knative-serving Ready=True
    seconds:
      description: Seconds after the start of the wait at which the item was found ready.
      type: float
      returned: when the item became ready
      sample: 12.5
    last_error:
      description: The API error of the item's last read, when it failed.
      type: str
      returned: when the last read failed
      sample: "503 Service Unavailable: the server is currently unable to handle the request"
notes:
  description: The RV(items[].note) of every skipped item, in order, for a task to print; empty when none was skipped.
  returned: always
  type: list
  elements: str
  sample: []
elapsed:
  description: Seconds the module took, from connecting to the API to the end of the wait.
  returned: always
  type: float
  sample: 14.2
requests:
  description: Number of API requests the module made (API discovery, which the client caches, not counted).
  returned: always
  type: int
  sample: 9
failed_reads:
  description: Number of reads that failed and were retried (for example while the API server restarted).
  returned: always
  type: int
  sample: 0
"""

# ansible-test requires the imports below the documentation strings.
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import AUTH_ARG_SPEC, get_k8s  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.readiness import ApiFailure, InvalidItem, wait  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.waiter import REQUEST_TIMEOUT  # noqa: E402

HONESTY = "This wait changed nothing on the cluster."
# What client.api_failure_message says for an error that may pass by itself.
PASSING = ("the API server was unreachable", "the API server answered HTTP 5")

ITEM_SPEC = dict(
    description=dict(type="str", required=True),
    api_version=dict(type="str", required=True),
    kind=dict(type="str", required=True),
    namespace=dict(type="str"),
    name=dict(type="str"),
    label_selectors=dict(type="list", elements="str"),
    name_prefixes=dict(type="list", elements="str"),
    min_count=dict(type="int"),
    condition=dict(
        type="dict",
        options=dict(
            type=dict(type="str", required=True),
            status=dict(type="str", default="True"),
            warn_reasons=dict(type="list", elements="str", default=[]),
            wait_reasons=dict(type="list", elements="str", default=[]),
        ),
    ),
    field=dict(
        type="dict",
        options=dict(
            path=dict(type="raw", required=True),
            equals=dict(type="raw"),
            not_in=dict(type="list", elements="raw", default=[None]),
        ),
    ),
    exists=dict(type="bool"),
    absent=dict(type="bool"),
    rollout=dict(type="bool"),
    replicas=dict(type="bool"),
    remedy=dict(type="str"),
    warning=dict(type="str"),
    when_exists=dict(
        type="dict",
        options=dict(
            api_version=dict(type="str", required=True),
            kind=dict(type="str", required=True),
            namespace=dict(type="str"),
            label_selectors=dict(type="list", elements="str", required=True),
        ),
    ),
)


class _Refused(Exception):
    pass


class _Attempt(object):
    """The module as get_k8s sees it, except that a failure comes back here instead of ending the module."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def fail_json(self, msg, **kwargs):
        raise _Refused(msg)


def connect(module, deadline, clock=time.monotonic, sleep=time.sleep):
    """get_k8s, tried again until ``deadline`` while the API server is unreachable or answers HTTP 5xx (it may be
    restarting); bad credentials, 401, 403 and a missing library fail at once. Discovery counts against the deadline.
    """
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - clock()
        try:
            return get_k8s(_Attempt(module), request_timeout=max(1, min(REQUEST_TIMEOUT, remaining)), retries=False)
        except _Refused as exc:
            message = str(exc)
            passing = any(text in message for text in PASSING)
            if not passing or clock() + 1 >= deadline:
                if passing:
                    message = "{0} (tried {1} time(s) until the deadline)".format(message.rstrip("."), attempts)
                module.fail_json(msg="{0} {1}".format(message, HONESTY))
            sleep(1)


def main():
    argument_spec = dict(
        wait=dict(type="list", elements="dict", required=True, options=ITEM_SPEC),
        timeout=dict(type="int", default=900),
        poll_interval=dict(type="int", default=5),
        once=dict(type="bool", default=False),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    k8s = connect(module, started + params["timeout"])
    setup = time.monotonic() - started
    try:
        outcome = wait(
            k8s,
            params["wait"],
            max(0, params["timeout"] - setup),
            poll_interval=max(1, params["poll_interval"]),
            once=module.check_mode or params["once"],
        )
    except InvalidItem as exc:
        module.fail_json(msg="Invalid wait item: {0}.".format(exc))
    except ApiFailure as exc:
        module.fail_json(msg="{0} {1}".format(exc, HONESTY), elapsed=round(time.monotonic() - started, 1))
    result = dict(
        changed=False,
        items=[w.report() for w in outcome.watches],
        notes=[w.warning() for w in outcome.watches if w.result["state"] == "skipped"],
        elapsed=round(setup + outcome.elapsed, 1),
        requests=outcome.requests,
        failed_reads=outcome.failed_reads,
    )
    if params["once"] and outcome.failed_reads:
        module.fail_json(msg="Could not read the cluster: {0}. {1}".format(outcome.last_error, HONESTY), **result)
    if module.check_mode and outcome.failed_reads:
        module.fail_json(
            msg="Check mode: could not read the cluster ({0}); a real run would retry until its deadline.".format(
                outcome.last_error
            ),
            **result,
        )
    for watch in outcome.watches:
        if watch.result["state"] == "warning":
            module.warn(watch.warning())
    if params["once"]:
        ready = len(outcome.watches) - len(outcome.pending)
        module.exit_json(msg="Read once: {0} of {1} item(s) ready.".format(ready, len(outcome.watches)), **result)
    if module.check_mode:
        pending = [w.item["description"] for w in outcome.pending]
        msg = "Check mode: read once, waited for nothing."
        if pending:
            msg += " A real run would wait up to {0} s for: {1}.".format(params["timeout"], "; ".join(pending))
        module.exit_json(msg=msg, **result)
    pending = outcome.pending
    if pending:
        module.fail_json(
            msg="Timed out after {0} s: {1} {2}".format(
                params["timeout"], " | ".join(w.explanation() for w in pending), HONESTY
            ),
            **result,
        )
    if outcome.failed_reads:
        module.warn(
            "{0} read(s) failed during the wait and were retried (the last: {1}); every item became ready within "
            "the deadline.".format(outcome.failed_reads, outcome.last_error)
        )
    module.exit_json(
        msg="All {0} item(s) ready after {1} s.".format(len(outcome.watches), result["elapsed"]),
        **result,
    )


if __name__ == "__main__":
    main()
