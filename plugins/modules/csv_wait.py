#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: csv_wait
short_description: Wait for OLM Subscriptions to install their operators
version_added: 0.1.0
description:
  - Waits for one or many OLM Subscriptions at once, with one overall timeout, until the ClusterServiceVersion (CSV)
    each one installs has reached phase C(Succeeded).
  - Waiting for all Subscriptions in one call costs about as long as the slowest install, not the sum of all of them.
  - Returns as soon as every CSV has Succeeded, and fails as soon as any Subscription reaches a state that waiting
    cannot fix (CSV C(Failed), InstallPlan C(Failed), a package or channel that is not in the catalog, an InstallPlan
    that needs a person's approval), naming the Subscription, what was expected, what was found and what to do.
  - Follows each Subscription's C(status.installPlanRef) and C(status.currentCSV), so a CSV replaced during the
    install (phase C(Replacing) while OLM walks an upgrade chain) is followed to its successor.
  - Approves a Manual InstallPlan only when I(approve_pinned=true) and the plan installs the Subscription's pinned
    CSV (I(starting_csv) is listed in the plan's C(spec.clusterServiceVersionNames)); never any other plan.
  - Polls every 0.5 seconds while something changes, backing off to every 5 seconds while nothing does.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
extends_documentation_fragment:
  - rhoai.gpu_infra.auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Waits for nothing and approves nothing; reports the current state of each Subscription, or that it does
      not exist yet, and never fails because of that.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  subscriptions:
    description:
      - The Subscriptions to wait for.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the Subscription.
        type: str
        required: true
      namespace:
        description: Namespace of the Subscription.
        type: str
        required: true
      starting_csv:
        description:
          - The CSV the Subscription pins (its C(spec.startingCSV)); empty when not pinned.
          - Only an InstallPlan that contains this CSV is ever approved.
        type: str
        default: ""
      component:
        description:
          - The collection component the Subscription belongs to (for example C(nfd)); only echoed back, so the
            list the roles collect in C(__gpu_infra_subscriptions) can be passed as it is.
        type: str
        default: ""
  timeout:
    description:
      - Seconds to wait, overall, for all Subscriptions together.
    type: int
    default: 900
  approve_pinned:
    description:
      - Approve a Manual InstallPlan that installs the pinned I(starting_csv) of its Subscription.
      - When false, or for a plan without the pinned CSV, the module fails with state C(needs-approval) and tells how
        to approve the plan by hand.
    type: bool
    default: true
  progress_file:
    description:
      - Path of a file to which one line is appended for every change of state, for example to follow a long wait
        with C(tail -f) in another terminal (a module cannot print while it runs).
    type: path
notes:
  - A blocked state that might still clear by itself (an unhealthy catalog source, a CSV pending on requirements, a
    Subscription that does not exist) fails after it has lasted 30 seconds unchanged, not at the overall timeout.
  - On timeout, the result holds the last observed Subscription, InstallPlan and CSV of every unfinished
    Subscription (phase, conditions, message).
seealso:
  - name: Operator Lifecycle Manager, Subscription status
    description: The conditions and states this module interprets.
    link: https://olm.operatorframework.io/docs/concepts/crds/subscription/
"""

EXAMPLES = r"""
- name: Wait for every Subscription created earlier in the play
  rhoai.gpu_infra.csv_wait:
    subscriptions: "{{ __gpu_infra_subscriptions }}"
    timeout: 900

- name: Wait for the NVIDIA GPU Operator pinned to one version, approving only its InstallPlan
  rhoai.gpu_infra.csv_wait:
    subscriptions:
      - name: gpu-operator-certified
        namespace: nvidia-gpu-operator
        starting_csv: gpu-operator-certified.v25.10.0
    timeout: 600
    progress_file: /tmp/csv_wait.log
  register: gpu_operator_install

- name: Show where the GPU Operator came from
  ansible.builtin.debug:
    msg: "{{ gpu_operator_install.subscriptions[0].csv }} after {{ gpu_operator_install.subscriptions[0].seconds }} s"
"""

RETURN = r"""
subscriptions:
  description: One entry per Subscription, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the Subscription.
      type: str
      sample: nfd
    namespace:
      description: Namespace of the Subscription.
      type: str
      sample: openshift-nfd
    component:
      description: The I(component) given for the Subscription, empty when none was.
      type: str
      sample: nfd
    csv:
      description: The CSV installed (or being installed); empty when OLM has not picked one yet.
      type: str
      sample: nfd.4.20.0-202510211040
    phase:
      description:
        - Phase of that CSV (C(Pending), C(InstallReady), C(Installing), C(Succeeded), C(Failed), C(Replacing)).
      type: str
      sample: Succeeded
    state:
      description: One of C(resolving), C(needs-approval), C(installing), C(upgrading), C(succeeded), C(failed).
      type: str
      sample: succeeded
    seconds:
      description: Seconds waited until this Subscription reached its final state (or until the module returned).
      type: float
      sample: 42.5
    diagnosis:
      description: What was found and, when something is wrong, what to do about it.
      type: str
      sample: CSV nfd.4.20.0-202510211040 Succeeded.
    approved:
      description: Name of the InstallPlan this module approved for the Subscription, empty when none.
      type: str
      sample: install-7xk2p
    observed:
      description:
        - The last observed Subscription, InstallPlan and CSV in compact form (kind, name, phase or state, conditions,
          message); only for Subscriptions that did not succeed.
      type: dict
      returned: when the Subscription did not succeed
      sample:
        subscription: {kind: Subscription, name: nfd, state: UpgradePending, currentCSV: nfd.4.20.0-202510211040}
        installplan: {kind: InstallPlan, name: install-7xk2p, phase: Installing}
        csv: {kind: ClusterServiceVersion, name: nfd.4.20.0-202510211040, phase: Installing}
"""

# ansible-test requires the imports below the documentation strings.
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import AUTH_ARG_SPEC, get_k8s  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.olm import (  # noqa: E402
    FAILED,
    RESOLVING,
    SUCCEEDED,
    assess,
    compact,
    condition,
    should_approve,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.waiter import poll  # noqa: E402

OLM = "operators.coreos.com/v1alpha1"
PACKAGES = "packages.operators.coreos.com/v1"
STUCK_GRACE = 30


class Watch(object):
    """What is known about one Subscription while waiting for it."""

    def __init__(self, ref):
        self.name = ref["name"]
        self.namespace = ref["namespace"]
        self.starting_csv = ref.get("starting_csv") or ""
        self.component = ref.get("component") or ""
        self.result = dict(state=RESOLVING, diagnosis="Not looked at yet.", csv="", phase="", final=False, stuck=False)
        self.objects = {}
        self.approved = ""
        self.seconds = 0.0
        self.stuck_since = None
        self.manifests = None

    @property
    def done(self):
        return self.result["final"]

    def observe(self, k8s, approve, now, dry_run=False):
        """Read the Subscription's objects, approve its pinned plan when allowed, and assess it."""
        sub = k8s.get(OLM, "Subscription", self.name, self.namespace)
        status = (sub or {}).get("status") or {}
        plan_ref = status.get("installPlanRef") or {}
        plan = None
        if plan_ref.get("name"):
            plan = k8s.get(OLM, "InstallPlan", plan_ref["name"], plan_ref.get("namespace") or self.namespace)
        if approve and should_approve(plan, self.starting_csv):
            if not dry_run:
                k8s.merge_patch(
                    OLM, "InstallPlan", plan["metadata"]["name"], {"spec": {"approved": True}}, self.namespace
                )
                plan["spec"]["approved"] = True
            self.approved = plan["metadata"]["name"]
        current, installed_name = status.get("currentCSV"), status.get("installedCSV")
        csv = k8s.get(OLM, "ClusterServiceVersion", current, self.namespace) if current else None
        installed = None
        if installed_name and installed_name != current:
            installed = k8s.get(OLM, "ClusterServiceVersion", installed_name, self.namespace)
        if condition(sub, "ResolutionFailed") and self.manifests is None:
            self.manifests = self._manifests(k8s, sub)
        result = assess(sub, plan, csv, installed=installed, manifests=self.manifests, starting_csv=self.starting_csv)
        self.objects = dict(subscription=compact(sub), installplan=compact(plan), csv=compact(csv or installed))
        self._update(result, now)

    @staticmethod
    def _manifests(k8s, sub):
        """The catalog's PackageManifests, to name the channels that exist; None when unknown."""
        spec = sub.get("spec") or {}
        manifests = k8s.list(
            PACKAGES,
            "PackageManifest",
            namespace=spec.get("sourceNamespace") or "openshift-marketplace",
            label_selector="catalog={0}".format(spec.get("source")),
        )
        return manifests or None

    def _update(self, result, now):
        if (result["state"], result["diagnosis"]) != (self.result["state"], self.result["diagnosis"]):
            self.stuck_since = now if result["stuck"] else None
        elif result["stuck"] and self.stuck_since is None:
            self.stuck_since = now
        if result["stuck"] and not result["final"] and now - self.stuck_since >= STUCK_GRACE:
            result = dict(result, state=FAILED, final=True)
            result["diagnosis"] += " (unchanged for {0:.0f} s)".format(now - self.stuck_since)
        self.result = result
        self.seconds = round(now, 1)

    def fingerprint(self):
        return (self.result["state"], self.result["csv"], self.result["phase"], self.result["diagnosis"])

    def report(self):
        out = dict(
            name=self.name,
            namespace=self.namespace,
            component=self.component,
            csv=self.result["csv"],
            phase=self.result["phase"],
            state=self.result["state"],
            seconds=self.seconds,
            diagnosis=self.result["diagnosis"],
            approved=self.approved,
        )
        if self.result["state"] != SUCCEEDED:
            out["observed"] = self.objects
        return out

    def expectation(self):
        wanted = self.starting_csv or self.result["csv"] or "the channel's CSV"
        return "Subscription {0}/{1}: expected {2} to reach Succeeded, found {3}{4}. {5}".format(
            self.namespace,
            self.name,
            wanted,
            self.result["state"],
            " (CSV {0} {1})".format(self.result["csv"], self.result["phase"]) if self.result["phase"] else "",
            self.result["diagnosis"],
        )


def wait_all(k8s, refs, timeout, *, approve=True, progress=None, clock=time.monotonic, sleep=time.sleep):
    """Wait for every Subscription in ``refs``; returns (watches, timed_out)."""
    watches = [Watch(ref) for ref in refs]

    def probe(elapsed):
        for watch in watches:
            if watch.done:
                continue
            before = watch.fingerprint()
            try:
                watch.observe(k8s, approve, elapsed)
            except Exception as exc:  # a transient API error must not end a long wait; the deadline still holds
                watch.result = dict(watch.result, diagnosis="Could not read it from the API: {0}".format(exc))
            if progress and watch.fingerprint() != before:
                progress(
                    "{0:7.1f}s {1}/{2}: {3} {4} {5} {6}".format(
                        elapsed, watch.namespace, watch.name, *watch.fingerprint()
                    )
                )
        failed = any(w.done and w.result["state"] != SUCCEEDED for w in watches)
        done = failed or all(w.done for w in watches)
        return done, None, tuple(w.fingerprint() for w in watches)

    result = poll(probe, timeout, clock=clock, sleep=sleep)
    return watches, result.timed_out


def preview(k8s, refs, timeout, approve):
    """Check mode: one read-only look, nothing waited for, nothing approved."""
    watches = [Watch(ref) for ref in refs]
    for watch in watches:
        try:
            watch.observe(k8s, approve, 0.0, dry_run=True)
        except Exception as exc:  # objects a real run creates may be missing, and so may their namespace
            watch.result = dict(watch.result, diagnosis="Could not read it: {0}".format(exc))
        if not watch.objects.get("subscription"):
            watch.result = dict(
                watch.result, diagnosis="Would wait up to {0} s for it; it does not exist yet.".format(timeout)
            )
        elif watch.approved:
            watch.result = dict(
                watch.result,
                diagnosis="Would approve InstallPlan {0}. {1}".format(watch.approved, watch.result["diagnosis"]),
            )
    return [w.report() for w in watches], any(w.approved for w in watches)


def main():
    argument_spec = dict(
        subscriptions=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                namespace=dict(type="str", required=True),
                starting_csv=dict(type="str", default=""),
                component=dict(type="str", default=""),
            ),
        ),
        timeout=dict(type="int", default=900),
        approve_pinned=dict(type="bool", default=True),
        progress_file=dict(type="path"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    k8s = get_k8s(module)
    refs = params["subscriptions"]

    if module.check_mode:
        reports, would_approve = preview(k8s, refs, params["timeout"], params["approve_pinned"])
        module.exit_json(changed=would_approve, subscriptions=reports, msg="Check mode: waited for nothing.")

    progress = None
    if params["progress_file"]:

        def progress(line):
            with open(params["progress_file"], "a") as handle:
                handle.write(line + "\n")

    watches, timed_out = wait_all(k8s, refs, params["timeout"], approve=params["approve_pinned"], progress=progress)
    reports = [w.report() for w in watches]
    changed = any(w.approved for w in watches)
    bad = [w for w in watches if w.result["state"] != SUCCEEDED]
    if not bad:
        module.exit_json(
            changed=changed,
            subscriptions=reports,
            msg="All {0} Subscription(s) installed their CSV.".format(len(watches)),
        )
    if timed_out:
        msg = "Timed out after {0} s. {1}".format(params["timeout"], " | ".join(w.expectation() for w in bad))
    else:
        msg = " | ".join(w.expectation() for w in bad if w.done)
    module.fail_json(msg=msg, changed=changed, subscriptions=reports)


if __name__ == "__main__":
    main()
