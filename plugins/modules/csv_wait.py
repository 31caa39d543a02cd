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
    cannot fix, naming the Subscription, what was expected, what was found, what to do and OLM's own message.
    Such states are a CSV C(Failed), an InstallPlan C(Failed), a package, channel or CatalogSource that does not
    exist, a failure of another Subscription that blocks resolution of the whole namespace, an InstallPlan that
    needs a person's approval (also an upgrade waiting while the installed CSV failed), none or several
    OperatorGroups in the namespace, rejected credentials (HTTP 401), missing permissions (HTTP 403) and an API
    server without OLM.
  - A CSV C(Failed) for a reason OLM often leaves by itself within a second (for example C(ComponentUnhealthy), or
    C(InstallCheckFailed) with message C(install timeout), after which OLM reinstalls) ends the wait only when a
    read at least 5 seconds later still finds it C(Failed). Reasons that hold until someone acts
    (C(UnsupportedOperatorGroup), C(TooManyOperatorGroups), C(RequirementsNotMet), C(InstallCheckFailed) at the
    Deployment's progress deadline, ...) end it at once.
  - With none or two OperatorGroups in a namespace, OLM writes nothing on the Subscription. When a Subscription has
    shown neither a state nor an InstallPlan for I(operator_group_grace) seconds, the module reads the namespace's
    OperatorGroups and fails unless there is exactly one.
  - Follows each Subscription's C(status.installPlanRef) and C(status.currentCSV), so a CSV replaced during the
    install (phase C(Replacing) while OLM walks an upgrade chain) is followed to its successor.
  - A Subscription someone else creates, such as the ones OLM creates in the namespace of an operator for the
    packages its bundle requires, is given by I(package) instead of I(name) and waited for until it appears. OLM
    makes those from the InstallPlan that installs the operator, so once a Subscription of the namespace is installed
    (state C(AtLatestKnown)) and none to the package has appeared for 30 seconds, the wait fails saying so.
  - Approves a Manual InstallPlan only when I(approve_pinned=true) and either the plan installs the Subscription's
    pinned CSV (I(starting_csv) is listed in the plan's C(spec.clusterServiceVersionNames)), or the Subscription and
    every other one in its namespace are C(Automatic) now. OLM gives a plan its approval when it makes it (C(Manual)
    while any Subscription of the namespace is) and never changes it, nor makes another while it waits, so after a
    switch from C(Manual) to C(Automatic) the waiting plan would hold the Subscription forever. Never any other plan.
  - Reads with one LIST per kind per round, whatever the number of Subscriptions; cluster-wide while the
    Subscriptions span several namespaces (one LIST per namespace instead when the credentials may not list
    cluster-wide), and InstallPlans only while a Subscription's CSV does not exist yet. Copies of CSVs that OLM
    places in the namespaces an AllNamespaces operator watches (label C(olm.copiedFrom)) are never read or counted.
  - Polls every 0.5 seconds while something changes, backing off to every 5 seconds while nothing does, and paces
    the polls so that they make at most 2 API requests per second on average.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
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
        description:
          - Name of the Subscription.
          - Exactly one of I(name) and I(package) is required.
        type: str
      package:
        description:
          - Instead of I(name), the package (C(spec.name)) of a Subscription whose name this module is not told, for
            example one OLM creates for a dependency of an operator it installs in the same namespace (OLM names it
            itself). The first, by name, of the namespace's Subscriptions to that package is waited for.
        type: str
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
      - Seconds to wait, overall, for all Subscriptions together, connecting to the API included.
      - Every API request has a timeout of 30 seconds at most, and none that ends more than a second after this
        deadline.
    type: int
    default: 900
  operator_group_grace:
    description:
      - Seconds a Subscription may show neither a state nor an InstallPlan before the module reads the OperatorGroups
        of its namespace and fails if there is not exactly one.
      - OLM usually acts on a new Subscription within seconds; a Subscription it has not touched for longer, with
        exactly one OperatorGroup in its namespace, is waited for until I(timeout).
    type: int
    default: 20
  approve_pinned:
    description:
      - Approve a Manual InstallPlan that installs the pinned I(starting_csv) of its Subscription, or one left
        waiting from an earlier C(Manual) setting once every Subscription of the namespace is C(Automatic).
      - When false, or for any other waiting plan, the module fails with state C(needs-approval) (or, while an
        installed CSV keeps running, succeeds saying the upgrade waits) and tells how to approve the plan by hand.
    type: bool
    default: true
  progress_file:
    description:
      - Path of a file to which one line is appended for every change of state, for example to follow a long wait
        with C(tail -f) in another terminal (a module cannot print while it runs).
    type: path
notes:
  - A blocked state that might still clear by itself (an unhealthy or missing catalog source, a CSV pending on
    requirements, a Subscription that does not exist) fails after it has lasted 30 seconds unchanged, not at the
    overall timeout.
  - Other API errors (timeouts, HTTP 5xx, connection errors) do not end the wait; if they last until the timeout,
    the message quotes the last one.
  - On timeout, the result holds the last observed Subscription, InstallPlan and CSV of every unfinished
    Subscription (phase, conditions, message).
  - Needs permission to list C(subscriptions), C(installplans), C(clusterserviceversions) and C(operatorgroups)
    (C(operators.coreos.com)) in the Subscriptions' namespaces (or cluster-wide, which saves requests), and to patch
    C(installplans) when I(approve_pinned=true).
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

- name: Show where the GPU Operator came from, and what the wait cost
  ansible.builtin.debug:
    msg: >-
      {{ gpu_operator_install.subscriptions[0].csv }} after {{ gpu_operator_install.subscriptions[0].seconds }} s;
      {{ gpu_operator_install.api_requests }} API requests in {{ gpu_operator_install.elapsed }} s

- name: Wait for Subscriptions in namespaces whose OperatorGroups another team manages; fail sooner if OLM ignores one
  rhoai.gpu_infra.csv_wait:
    subscriptions:
      - name: kueue-operator
        namespace: openshift-kueue-operator
    operator_group_grace: 10

- name: Wait for Red Hat Connectivity Link and the three operators OLM subscribes to as its dependencies
  rhoai.gpu_infra.csv_wait:
    subscriptions:
      - name: rhcl-operator
        namespace: kuadrant-system
      - {package: authorino-operator, namespace: kuadrant-system}
      - {package: limitador-operator, namespace: kuadrant-system}
      - {package: dns-operator, namespace: kuadrant-system}
"""

RETURN = r"""
subscriptions:
  description: One entry per Subscription, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the Subscription; for one given by I(package), the name found, empty when none was.
      type: str
      sample: nfd
    package:
      description: The I(package) given for the Subscription, empty when it was given by I(name).
      type: str
      sample: ""
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
      description:
        - Name of the InstallPlan this module approved for the Subscription, empty when none.
        - In check mode, the InstallPlan it would approve (nothing is approved; the C(diagnosis) says so too).
      type: str
      sample: install-7xk2p
    labels:
      description:
        - The Subscription's labels when last read (empty when it was not found), for example to tell whether this
          collection made it (C(app.kubernetes.io/managed-by=rhoai.gpu_infra)).
      type: dict
      sample: {app.kubernetes.io/managed-by: rhoai.gpu_infra, rhoai.gpu-infra/component: nfd}
    owned_crds:
      description:
        - The CRDs the succeeded CSV owns (its C(spec.customresourcedefinitions.owned)). OLM marks a CSV Succeeded only
          once each of them is Established, so a CR of these kinds can be applied right away.
      type: list
      elements: str
      returned: when the Subscription succeeded
      sample: [nodefeaturediscoveries.nfd.openshift.io, nodefeaturerules.nfd.openshift.io]
    observed:
      description:
        - The last observed Subscription, InstallPlan and CSV in compact form (kind, name, phase or state, conditions,
          message); only for Subscriptions that did not succeed.
        - The InstallPlan is read only while the CSV does not exist yet; it is shown as last read.
      type: dict
      returned: when the Subscription did not succeed
      sample:
        subscription: {kind: Subscription, name: nfd, state: UpgradePending, currentCSV: nfd.4.20.0-202510211040}
        installplan: {kind: InstallPlan, name: install-7xk2p, phase: Installing}
        csv: {kind: ClusterServiceVersion, name: nfd.4.20.0-202510211040, phase: Installing}
api_requests:
  description:
    - Number of API requests the module made (API discovery, which the client caches, not counted).
    - With I(elapsed), the request rate of the wait, for example to compare runs in a benchmark.
  returned: always
  type: int
  sample: 84
elapsed:
  description: Seconds the module took, from connecting to the API to the end of the wait.
  returned: always
  type: float
  sample: 61.3
"""

# ansible-test requires the imports below the documentation strings.
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    error_text,
    get_k8s,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.olm import (  # noqa: E402
    FAILED,
    RESOLVING,
    SUCCEEDED,
    Tracker,
    assess,
    compact,
    condition,
    is_copy,
    should_approve,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import waiter  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.waiter import REQUEST_TIMEOUT, Budget, poll  # noqa: E402

OLM = "operators.coreos.com/v1alpha1"
OLM_V1 = "operators.coreos.com/v1"
PACKAGES = "packages.operators.coreos.com/v1"
STUCK_GRACE = 30
FAILED_CONFIRM = 5
OPERATOR_GROUP_GRACE = 20
# Requests per second on average, and the burst allowed right after a change (see waiter.Budget).
REQUEST_RATE = 2.0
REQUEST_BURST = 6
# From this many namespaces on, one cluster-wide LIST per kind costs fewer requests than one LIST per namespace.
CLUSTER_WIDE_FROM = 2
NOT_COPIES = "!olm.copiedFrom"


class ApiFailure(Exception):
    """An API error that waiting cannot fix (credentials, permissions, OLM missing); the message says what to do."""


def refusal(exc, doing, namespaces):
    """ApiFailure for 401/403, None for anything else (anything else may pass: the wait goes on)."""
    status = getattr(exc, "status", None)
    if status == 401:
        return ApiFailure(
            "Could not {0}: the API server rejected the credentials ({1}). Expected credentials the cluster "
            "accepts: log in again (oc login) or renew the token or kubeconfig given to the module (api_key, "
            "kubeconfig, K8S_AUTH_API_KEY, K8S_AUTH_KUBECONFIG); 'oc whoami' must work with the same "
            "credentials.".format(doing, error_text(exc))
        )
    if status == 403:
        where = "namespace {0}".format(", ".join(namespaces)) if namespaces else "all namespaces"
        return ApiFailure(
            "Could not {0}: the credentials lack permission ({1}). Expected permission to list subscriptions, "
            "installplans, clusterserviceversions and operatorgroups (operators.coreos.com) in {2}, and to patch "
            "installplans when approve_pinned is true: grant them to this user or service account, or run as one "
            "that has them (check: oc auth can-i list subscriptions.operators.coreos.com -n {3}).".format(
                doing, error_text(exc), where, namespaces[0] if namespaces else "<namespace>"
            )
        )
    return None


def settle(exc, doing, namespaces):
    """Raise what ends the wait (or, for anything but 401/403, the round); return a refusal scoped to a namespace."""
    failure = refusal(exc, doing, namespaces)
    if failure is None:
        raise exc
    if getattr(exc, "status", None) == 401 or not namespaces:
        raise failure from exc
    return failure


class Api(waiter.Api):
    """The wait's client (waiter.Api), and whether OLM's API is there at all."""

    def missing_olm(self):
        """Why OLM's API is not there, or "" (discovery is cached by the client; not counted as requests)."""
        try:
            missing = [
                kind
                for kind in ("Subscription", "InstallPlan", "ClusterServiceVersion")
                if not self.k8s.has_kind(OLM, kind)
            ]
        except Exception as exc:  # discovery refused: the same causes as any other request
            failure = refusal(exc, "read the API server's list of kinds", [])
            if failure:
                raise failure from exc
            raise
        if not missing:
            return ""
        return (
            "The API server does not serve {0} of {1}. Expected OLM (the Operator Lifecycle Manager, part of every "
            "OpenShift cluster) to be installed; it is not, or its CRDs are missing. Check: oc api-resources "
            "--api-group=operators.coreos.com; oc get pods -n openshift-operator-lifecycle-manager.".format(
                ", ".join(missing), OLM
            )
        )


class Snapshot(object):
    """One round's reads: Subscriptions, CSVs and InstallPlans by (namespace, name), and refusals by namespace."""

    def __init__(self):
        self.subscriptions = {}
        self.csvs = {}
        self.plans = {}
        self.refused = {}
        self.groups = {}

    def siblings(self, namespace, name):
        return [s for (ns, n), s in self.subscriptions.items() if ns == namespace and n != name]


class Reader(object):
    """Reads what every unfinished Subscription needs with as few requests as the namespaces allow.

    Per round: one LIST of Subscriptions and one LIST of CSVs (copies excluded), cluster-wide when the Subscriptions
    span several namespaces, else in their one namespace; InstallPlans only for Subscriptions whose CSV does not
    exist yet (a GET, or a LIST for several in one namespace). A cluster-wide LIST the credentials may not make falls
    back to one LIST per namespace.
    """

    def __init__(self, api):
        self.api = api
        self.cluster_wide = True

    def _list(self, kind, namespaces, api_version=OLM, label_selector=None):
        """Items of ``kind`` in ``namespaces``; refusals of single namespaces are returned, not raised."""
        items, refused = [], {}
        wanted = set(namespaces)
        if self.cluster_wide and len(namespaces) >= CLUSTER_WIDE_FROM:
            try:
                found = self.api.call("list", api_version, kind, label_selector=label_selector)
                return [o for o in found if (o.get("metadata") or {}).get("namespace") in wanted], refused
            except Exception as exc:
                if getattr(exc, "status", None) != 403:
                    failure = refusal(exc, "list {0}s in all namespaces".format(kind), [])
                    if failure:
                        raise failure from exc
                    raise
                self.cluster_wide = False  # namespaced RBAC: ask each namespace instead
        for ns in namespaces:
            try:
                items.extend(self.api.call("list", api_version, kind, namespace=ns, label_selector=label_selector))
            except Exception as exc:
                refused[ns] = settle(exc, "list {0}s in namespace {1}".format(kind, ns), [ns])
        return items, refused

    def read(self, watches):
        snap = Snapshot()
        namespaces = sorted({w.namespace for w in watches})
        subs, snap.refused = self._list("Subscription", namespaces)
        snap.subscriptions = {_key(s): s for s in subs}
        for w in watches:
            w.find(snap.subscriptions)
        named = sorted(
            {
                w.namespace
                for w in watches
                if _names_csv(snap.subscriptions.get((w.namespace, w.name))) and w.namespace not in snap.refused
            }
        )
        if named:
            csvs, refused = self._list("ClusterServiceVersion", named, label_selector=NOT_COPIES)
            snap.csvs = {_key(c): c for c in csvs if not is_copy(c)}
            snap.refused.update(refused)
        self._read_plans(snap, watches)
        return snap

    def _read_plans(self, snap, watches):
        """Only a Subscription whose current CSV does not exist yet needs its InstallPlan."""
        wanted = {}
        for w in watches:
            status = (snap.subscriptions.get((w.namespace, w.name)) or {}).get("status") or {}
            ref = status.get("installPlanRef") or {}
            if not ref.get("name") or (w.namespace, status.get("currentCSV")) in snap.csvs:
                continue
            wanted.setdefault(ref.get("namespace") or w.namespace, set()).add(ref["name"])
        for ns, names in sorted(wanted.items()):
            if ns in snap.refused:
                continue
            try:
                if len(names) == 1:
                    name = next(iter(names))
                    plans = [self.api.call("get", OLM, "InstallPlan", name, ns)]
                else:
                    plans = self.api.call("list", OLM, "InstallPlan", namespace=ns)
            except Exception as exc:
                snap.refused[ns] = settle(exc, "read InstallPlans in namespace {0}".format(ns), [ns])
                continue
            snap.plans.update({_key(p): p for p in plans if p and _key(p)[1] in names})

    def csv(self, namespace, name):
        """One CSV by name, copies included, or None when it does not exist or cannot be read."""
        try:
            return self.api.call("get", OLM, "ClusterServiceVersion", name, namespace)
        except Exception:  # only a diagnosis detail: the next round reads again
            return None

    def operator_groups(self, namespace, snap):
        """The namespace's OperatorGroups, or (None, why) when they cannot be read; read once per round."""
        if namespace not in snap.groups:
            try:
                snap.groups[namespace] = (self.api.call("list", OLM_V1, "OperatorGroup", namespace=namespace), "")
            except Exception as exc:  # only needed to explain an absent InstallPlan: the wait goes on without it
                failure = refusal(exc, "list OperatorGroups in namespace {0}".format(namespace), [namespace])
                if getattr(exc, "status", None) == 401:
                    raise failure from exc
                snap.groups[namespace] = (None, str(failure) if failure else error_text(exc))
        return snap.groups[namespace]

    def manifests(self, sub):
        """The catalog's PackageManifests, to name the channels that exist; None when unknown or unreadable."""
        spec = sub.get("spec") or {}
        try:
            found = self.api.call(
                "list",
                PACKAGES,
                "PackageManifest",
                namespace=spec.get("sourceNamespace") or "openshift-marketplace",
                label_selector="catalog={0}".format(spec.get("source")),
            )
        except Exception as exc:  # only a diagnosis detail: its absence must not end the wait
            if getattr(exc, "status", None) == 401:
                raise refusal(exc, "list PackageManifests", []) from exc
            return None
        return found or None


def _key(obj):
    meta = (obj or {}).get("metadata") or {}
    return meta.get("namespace"), meta.get("name")


def _package(sub):
    return ((sub or {}).get("spec") or {}).get("name")


def _names_csv(sub):
    status = (sub or {}).get("status") or {}
    return bool(status.get("currentCSV") or status.get("installedCSV"))


class Watch(object):
    """What is known about one Subscription while waiting for it."""

    def __init__(self, ref, tracker=None):
        self.name = ref.get("name") or ""
        self.package = ref.get("package") or ""
        self.namespace = ref["namespace"]
        self.starting_csv = ref.get("starting_csv") or ""
        self.component = ref.get("component") or ""
        self.tracker = tracker or Tracker(confirm=FAILED_CONFIRM, stuck_grace=STUCK_GRACE)
        self.result = dict(state=RESOLVING, diagnosis="Not looked at yet.", csv="", phase="", final=False, stuck=False)
        self.objects = {}
        self.approved = ""
        self.owned_crds = []
        self.labels = {}
        self.seconds = 0.0
        self.manifests = None
        self.manifests_read = False
        self.read_error = ""  # the last failed read, until a read succeeds again

    @property
    def done(self):
        return self.result["final"]

    @property
    def label(self):
        return self.name or "(the Subscription to package {0})".format(self.package)

    def find(self, subscriptions):
        """Given by package: take the name of the first Subscription to it in the namespace, once there is one."""
        if self.name:
            return
        found = sorted(
            n for (ns, n), sub in subscriptions.items() if ns == self.namespace and _package(sub) == self.package
        )
        if found:
            self.name = found[0]

    def fail(self, diagnosis, now):
        self.result = dict(self.result, state=FAILED, diagnosis=diagnosis, final=True)
        self.seconds = round(now, 1)

    def observe(self, snap, reader, approve, now, dry_run=False):
        """Assess the Subscription from this round's reads; approve its pinned plan when allowed."""
        if self.namespace in snap.refused:
            self.fail(str(snap.refused[self.namespace]), now)
            return
        sub = snap.subscriptions.get((self.namespace, self.name))
        self.labels = ((sub or {}).get("metadata") or {}).get("labels") or {}
        status = (sub or {}).get("status") or {}
        plan_ref = status.get("installPlanRef") or {}
        plan = snap.plans.get((plan_ref.get("namespace") or self.namespace, plan_ref.get("name")))
        siblings = snap.siblings(self.namespace, self.name)
        if approve and should_approve(plan, self.starting_csv, sub, siblings):
            if not dry_run:
                try:
                    reader.api.call(
                        "merge_patch", OLM, "InstallPlan", _key(plan)[1], {"spec": {"approved": True}}, self.namespace
                    )
                except Exception as exc:
                    failure = settle(exc, "approve InstallPlan {0}".format(_key(plan)[1]), [self.namespace])
                    self.fail("{0} Or approve it by hand, or set approve_pinned to false.".format(failure), now)
                    return
                plan["spec"]["approved"] = True
            self.approved = _key(plan)[1]
        current, installed_name = status.get("currentCSV"), status.get("installedCSV")
        csv = snap.csvs.get((self.namespace, current)) if current else None
        if current and csv is None and ((plan or {}).get("status") or {}).get("phase") == "Complete":
            # Lists leave copies out; a complete plan whose CSV is missing may have found the name taken by one.
            csv = reader.csv(self.namespace, current)
        installed = None
        if installed_name and installed_name != current:
            installed = snap.csvs.get((self.namespace, installed_name))
        if condition(sub, "ResolutionFailed") and not self.manifests_read:
            self.manifests = reader.manifests(sub)
            self.manifests_read = True
        groups, groups_unread = None, ""
        if self.tracker.wants_groups(sub, now):
            groups, groups_unread = reader.operator_groups(self.namespace, snap)
        result = assess(
            sub,
            plan,
            csv,
            installed=installed,
            manifests=self.manifests,
            starting_csv=self.starting_csv,
            groups=groups,
            siblings=siblings,
        )
        if not sub and self.package:
            result = self._absent_package(result, snap)
        if groups_unread:
            result = dict(
                result,
                diagnosis="{0} (Its OperatorGroups could not be read: {1})".format(result["diagnosis"], groups_unread),
            )
        last_plan = self.objects.get("installplan") or {}
        if not plan and last_plan.get("name") == plan_ref.get("name"):
            # Plans are read only until the CSV exists; the last one read still says how the install began.
            observed_plan = last_plan
        else:
            observed_plan = compact(plan)
        self.objects = dict(subscription=compact(sub), installplan=observed_plan, csv=compact(csv or installed))
        owned = (((csv or {}).get("spec") or {}).get("customresourcedefinitions") or {}).get("owned") or []
        self.owned_crds = sorted({crd.get("name") for crd in owned if crd.get("name")})
        self.result = self.tracker.judge(result, now)
        self.read_error = ""
        self.seconds = round(now, 1)

    def _absent_package(self, result, snap):
        """No Subscription to the package yet: waited for while nothing in its namespace is installed, since OLM
        makes the Subscriptions for an operator's dependencies from the same InstallPlan that installs it; once one
        is installed (state AtLatestKnown), the usual 30 seconds of grace."""
        installed = sorted(
            n
            for (ns, n), s in snap.subscriptions.items()
            if ns == self.namespace and ((s.get("status") or {}).get("state")) == "AtLatestKnown"
        )
        if not installed:
            return dict(
                result,
                stuck=False,
                diagnosis="No Subscription to package {0} exists in namespace {1} yet; waiting for one (OLM makes it "
                "when it installs an operator there that requires the package).".format(self.package, self.namespace),
            )
        return dict(
            result,
            diagnosis="No Subscription to package {0} exists in namespace {1}, though Subscription {2} there is "
            "installed. Expected one made by someone else, such as the one OLM makes when an operator installed there "
            "requires the package: check that operator's InstallPlan (oc get installplan -n {1} -o yaml) and that "
            "the catalog has the package.".format(self.package, self.namespace, ", ".join(installed)),
        )

    def fingerprint(self):
        return (self.result["state"], self.result["csv"], self.result["phase"], self.result["diagnosis"])

    def report(self):
        out = dict(
            name=self.name,
            package=self.package,
            namespace=self.namespace,
            component=self.component,
            csv=self.result["csv"],
            phase=self.result["phase"],
            state=self.result["state"],
            seconds=self.seconds,
            diagnosis=self.result["diagnosis"] + self._read_error_note(),
            approved=self.approved,
            labels=self.labels,
        )
        if self.result["state"] == SUCCEEDED:
            out["owned_crds"] = self.owned_crds
        else:
            out["observed"] = self.objects
        return out

    def _read_error_note(self):
        if not self.read_error:
            return ""
        return " The last attempt to read it failed: {0}".format(self.read_error)

    def expectation(self):
        wanted = self.starting_csv or self.result["csv"] or "the channel's CSV"
        return "Subscription {0}/{1}: expected {2} to reach Succeeded, found {3}{4}. {5}{6}".format(
            self.namespace,
            self.label,
            wanted,
            self.result["state"],
            " (CSV {0} {1})".format(self.result["csv"], self.result["phase"]) if self.result["phase"] else "",
            self.result["diagnosis"],
            self._read_error_note(),
        )


class Outcome(object):
    """What a wait ended with: the watches, whether it timed out, the API requests it made and how long it took."""

    def __init__(self, watches, timed_out, requests, elapsed):
        self.watches = watches
        self.timed_out = timed_out
        self.requests = requests
        self.elapsed = elapsed


def _round(reader, watches, approve, now, dry_run=False):
    """One read of every unfinished Subscription; a read error is kept on the watches it hit and the wait goes on."""
    pending = [w for w in watches if not w.done]
    try:
        snap = reader.read(pending)
    except ApiFailure as failure:
        _fail_all(pending, failure, now)
        return
    except Exception as exc:  # a transient API error must not end a long wait; the deadline still holds
        for watch in pending:
            watch.read_error = error_text(exc)
        return
    for watch in pending:
        try:
            watch.observe(snap, reader, approve, now, dry_run=dry_run)
        except ApiFailure as failure:
            _fail_all(pending, failure, now)
            return
        except Exception as exc:
            watch.read_error = error_text(exc)


def _fail_all(watches, failure, now):
    for watch in watches:
        if not watch.done:
            watch.fail(str(failure), now)


def wait_all(
    k8s,
    refs,
    timeout,
    *,
    approve=True,
    progress=None,
    group_grace=OPERATOR_GROUP_GRACE,
    clock=time.monotonic,
    sleep=time.sleep,
):
    """Wait for every Subscription in ``refs`` within ``timeout`` seconds overall; returns an Outcome."""
    start = clock()
    budget = Budget(REQUEST_RATE, REQUEST_BURST, clock=clock)
    api = Api(k8s, start + timeout, clock=clock, budget=budget)
    reader = Reader(api)
    watches = [
        Watch(ref, Tracker(confirm=FAILED_CONFIRM, stuck_grace=STUCK_GRACE, group_grace=group_grace)) for ref in refs
    ]
    try:
        missing = api.missing_olm()
    except ApiFailure as failure:
        missing = str(failure)
    except Exception:  # discovery hiccup: the first round reports it if it persists
        missing = ""
    if missing:
        for watch in watches:
            watch.fail(missing, 0.0)
        return Outcome(watches, False, api.requests, clock() - start)
    cost = [1]

    def probe(elapsed):
        before_requests = api.requests
        before = [w.fingerprint() for w in watches]
        _round(reader, watches, approve, elapsed)
        cost[0] = max(1, api.requests - before_requests)
        for watch, fingerprint in zip(watches, before):
            if progress and watch.fingerprint() != fingerprint:
                progress(
                    "{0:7.1f}s {1}/{2}: {3} {4} {5} {6}".format(
                        elapsed, watch.namespace, watch.label, *watch.fingerprint()
                    )
                )
        failed = any(w.done and w.result["state"] != SUCCEEDED for w in watches)
        done = failed or all(w.done for w in watches)
        return done, None, tuple(w.fingerprint() for w in watches)

    result = poll(probe, timeout, clock=clock, sleep=sleep, pace=lambda: budget.delay(cost[0]))
    return Outcome(watches, result.timed_out, api.requests, clock() - start)


def timeout_remedy(namespaces):
    """What to do when the deadline passed while OLM was still at work: nothing is undone, a re-run picks it up."""
    names = sorted(set(namespaces))
    return (
        "The Subscription(s) stay and OLM goes on installing: re-run with a longer timeout (<component>_timeout, "
        "which defaults to gpu_infra_timeout) to wait again, or find out what holds the install up: {0}; "
        "or run the rhoai.gpu_infra.diagnose playbook.".format(
            "; ".join("oc get csv,installplan,pods -n {0}".format(n) for n in names)
        )
    )


def preview(k8s, refs, timeout, approve, clock=time.monotonic):
    """Check mode: one read-only look, nothing waited for, nothing approved. Returns (reports, would_approve, api)."""
    api = Api(k8s, clock() + min(timeout, REQUEST_TIMEOUT), clock=clock)
    reader = Reader(api)
    watches = [Watch(ref) for ref in refs]
    try:
        missing = api.missing_olm()
    except Exception as exc:  # reported, not failed: check mode never fails for what a real run would find
        missing = error_text(exc)
    if missing:
        for watch in watches:
            watch.result = dict(watch.result, diagnosis=missing)
        return [w.report() for w in watches], False, api
    # Objects a real run creates may be missing, and so may their namespace: report, do not fail.
    _round(reader, watches, approve, 0.0, dry_run=True)
    for watch in watches:
        if watch.read_error or (watch.done and watch.result["state"] == FAILED and not watch.objects):
            continue
        if not watch.objects.get("subscription"):
            watch.result = dict(
                watch.result, diagnosis="Would wait up to {0} s for it; it does not exist yet.".format(timeout)
            )
        elif watch.approved:
            watch.result = dict(
                watch.result,
                diagnosis="Would approve InstallPlan {0}. {1}".format(watch.approved, watch.result["diagnosis"]),
            )
    return [w.report() for w in watches], any(w.approved for w in watches), api


def main():
    argument_spec = dict(
        subscriptions=dict(
            type="list",
            elements="dict",
            required=True,
            required_one_of=[("name", "package")],
            mutually_exclusive=[("name", "package")],
            options=dict(
                name=dict(type="str"),
                package=dict(type="str"),
                namespace=dict(type="str", required=True),
                starting_csv=dict(type="str", default=""),
                component=dict(type="str", default=""),
            ),
        ),
        timeout=dict(type="int", default=900),
        approve_pinned=dict(type="bool", default=True),
        operator_group_grace=dict(type="int", default=OPERATOR_GROUP_GRACE),
        progress_file=dict(type="path"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    # Connecting includes API discovery: it counts against the same deadline as the wait.
    k8s = get_k8s(module, request_timeout=max(1, min(REQUEST_TIMEOUT, params["timeout"])), retries=False)
    refs = params["subscriptions"]

    if module.check_mode:
        reports, would_approve, api = preview(k8s, refs, params["timeout"], params["approve_pinned"])
        module.exit_json(
            changed=would_approve,
            subscriptions=reports,
            api_requests=api.requests,
            elapsed=round(time.monotonic() - started, 1),
            msg="Check mode: waited for nothing.",
        )

    progress = None
    if params["progress_file"]:

        def progress(line):
            with open(params["progress_file"], "a") as handle:
                handle.write(line + "\n")

    setup = time.monotonic() - started
    outcome = wait_all(
        k8s,
        refs,
        max(0, params["timeout"] - setup),
        approve=params["approve_pinned"],
        progress=progress,
        group_grace=params["operator_group_grace"],
    )
    watches = outcome.watches
    stats = dict(api_requests=outcome.requests, elapsed=round(setup + outcome.elapsed, 1))
    reports = [w.report() for w in watches]
    changed = any(w.approved for w in watches)
    bad = [w for w in watches if w.result["state"] != SUCCEEDED]
    if not bad:
        module.exit_json(
            changed=changed,
            subscriptions=reports,
            msg="All {0} Subscription(s) installed their CSV.".format(len(watches)),
            **stats,
        )
    if outcome.timed_out:
        msg = "Timed out after {0} s. {1} {2}".format(
            params["timeout"],
            " | ".join(w.expectation() for w in bad),
            timeout_remedy(w.namespace for w in bad),
        )
    else:
        msg = " | ".join(w.expectation() for w in bad if w.done)
    module.fail_json(msg=msg, changed=changed, subscriptions=reports, **stats)


if __name__ == "__main__":
    main()
