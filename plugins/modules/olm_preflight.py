#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: olm_preflight
short_description: Check, read-only, that one OLM operator can be installed, and return what to apply
version_added: 0.1.0
description:
  - Reads what the cluster holds of one operator install in one call and fails, before anything is changed, when
    something is in the way. Each refusal says what was found, what was expected and what to do, and the message ends
    with C(Nothing was changed.)
  - "The checks, with I(scope=cluster): the catalog carries the package, the channel, the pinned C(startingCSV)
    and the install mode (when I(catalog=true)); the target namespace is not being deleted; it holds no
    OperatorGroup, or exactly one whose install mode fits the operator; no Subscription of the package exists in
    another namespace; none exists in the target namespace under another name than the expected one; no CSV of the
    package (OLM's copies excluded) is installed in another namespace without a Subscription, or in the target
    namespace without one there (OLM would install nothing beside it); and a Subscription of
    the expected name that someone else made (no label C(app.kubernetes.io/managed-by=rhoai.gpu_infra)) either
    equals what would be applied (it is then adopted) or I(adopt=true) allows taking it over."
  - Before anything is read, refuses names that cannot be object names and a I(config) that is no OLM
    SubscriptionConfig (a field it does not have, or a value of the wrong type), naming fields and types, never values.
  - With I(scope=namespace) (the subscribe step, right before it applies), only the target namespace is read, and the
    catalog and the CSVs of other namespaces are not checked again.
  - A Subscription without the label in a namespace that carries it was made by a version of this collection before
    the ownership labels existed (they labelled only the namespace they created); it counts as this collection's.
  - Warns (does not fail) when another Subscription of the target namespace approves its InstallPlans manually, since
    OLM then treats every Subscription of the namespace as Manual; and when the channel asked for does not contain the
    CSV installed for the Subscription (said when the channel changes, and after while OLM has nothing to move to),
    since OLM never downgrades and keeps that CSV running; and when, with Manual approval, the pinned C(startingCSV) is
    older than the installed CSV, which OLM therefore never installs.
  - Returns the Namespace, the OperatorGroup (only when one is to be created) and the Subscription to apply, the
    latter two with the labels C(app.kubernetes.io/managed-by=rhoai.gpu_infra) and C(rhoai.gpu-infra/component). The
    Namespace carries them only when it does not exist yet.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
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
options:
  operator:
    description:
      - The operator to check, as the C(olm_operator) dictionary of the C(rhoai.gpu_infra.olm_operator) role.
      - Exactly one of I(operator) and I(operators) is required.
    type: dict
    suboptions: &operator
      component:
        description: The collection component the operator belongs to; named in messages and in the component label.
        type: str
        required: true
      package:
        description: OLM package name (C(spec.name) of the Subscription).
        type: str
        required: true
      channel:
        description: Channel to subscribe to.
        type: str
        required: true
      source:
        description: CatalogSource that carries the package.
        type: str
        required: true
      source_namespace:
        description: Namespace of the CatalogSource.
        type: str
        default: openshift-marketplace
      namespace:
        description: Namespace to install the operator into.
        type: str
        required: true
      install_mode:
        description: C(OwnNamespace) (OperatorGroup targeting its own namespace) or C(AllNamespaces) (C(spec={})).
        type: str
        choices: [OwnNamespace, AllNamespaces]
        default: OwnNamespace
      approval:
        description: C(installPlanApproval) of the Subscription.
        type: str
        choices: [Automatic, Manual]
        default: Automatic
      starting_csv:
        description: CSV to pin (C(spec.startingCSV)); empty for the channel head.
        type: str
        default: ""
      config:
        description: C(spec.config) of the Subscription; omitted when empty.
        type: dict
        default: {}
      namespace_labels:
        description: Labels to set on the namespace.
        type: dict
        default: {}
      subscription_name:
        description: Name of the Subscription; defaults to the package name.
        type: str
        default: ""
      operator_group_name:
        description: Name of the OperatorGroup to create when the namespace has none; defaults to the namespace name.
        type: str
        default: ""
  operators:
    description:
      - Several operators checked in one call (site.yml's preflight and subscribe phases). Each kind is read once for
        all of them, every operator's refusals are reported together, and RV(objects) holds the objects of all of
        them in apply order.
    type: list
    elements: dict
    suboptions: *operator
  scope:
    description:
      - C(cluster) reads the Subscriptions and CSVs of every namespace (the preflight phase); C(namespace) only the
        target namespace (the subscribe step).
    type: str
    choices: [cluster, namespace]
    default: cluster
  catalog:
    description:
      - Check the catalog's PackageManifests for the package, channel, pinned CSV and install mode (only with
        I(scope=cluster)).
      - Set to false for disconnected clusters whose custom catalogs do not serve PackageManifests.
    type: bool
    default: true
  adopt:
    description:
      - Take over a Subscription of the expected name that someone else made and that differs from what would be
        applied; its differences are then applied. Without it, such a Subscription is refused.
    type: bool
    default: false
  service_mesh_v2:
    description:
      - With I(operators), also look for OpenShift Service Mesh v2, which OpenShift AI 3.0's llm-d cannot share a
        cluster with, among the Subscriptions read anyway and the ServiceMeshControlPlanes (C(maistra.io/v2), one
        more request when served). Found, it is a warning and RV(service_mesh_v2) says where; nothing is refused.
    type: bool
    default: false
notes:
  - Needs permission to get namespaces, to list C(operatorgroups) in the target namespace, C(subscriptions) and
    C(clusterserviceversions) (C(operators.coreos.com)) in every namespace, and C(packagemanifests)
    (C(packages.operators.coreos.com)) in the catalog's namespace.
  - For one operator, makes at most five requests (six when the package is missing from its catalog, to name the
    catalogs that carry it); the CSVs are listed without OLM's copies (label selector C(!olm.copiedFrom)).
seealso:
  - module: rhoai.gpu_infra.csv_wait
  - name: Operator Lifecycle Manager, OperatorGroups
    description: Install modes and the one-OperatorGroup-per-namespace rule this module checks.
    link: https://olm.operatorframework.io/docs/concepts/crds/operatorgroup/
"""

EXAMPLES = r"""
- name: Check, read-only, that the NFD operator can be installed
  rhoai.gpu_infra.olm_preflight:
    operator:
      component: nfd
      package: nfd
      channel: stable
      source: redhat-operators
      namespace: openshift-nfd
      install_mode: OwnNamespace
    adopt: "{{ gpu_infra_adopt | default(false) | bool }}"

- name: Re-check the target namespace right before subscribing, and apply what the module returns
  rhoai.gpu_infra.olm_preflight:
    operator: "{{ olm_operator }}"
    scope: namespace
  register: __plan

- name: Apply the Namespace, OperatorGroup and Subscription, unless they are in place already
  kubernetes.core.k8s:
    state: present
    definition: "{{ __plan.objects }}"
  when: __plan.objects | length > 0
"""

RETURN = r"""
objects:
  description:
    - What to apply, in this order (with I(operators), every Namespace first, then the OperatorGroups, then the
      Subscriptions) and each only when applying it would change something, so that a re-run on an install in place
      applies nothing (empty list).
    - The Namespace, unless it exists and already carries every label it would get; the OperatorGroup, when the
      namespace has none; the Subscription, unless it carries this collection's labels, with no field different from
      what would be applied.
    - An adopted Subscription's fields that this collection does not set hold null, so that a merge patch
      removes them.
  returned: success
  type: list
  elements: dict
namespace_exists:
  description:
    - Whether the target namespace exists.
    - With I(operators), not at the top level but in each entry of RV(operators).
  returned: with operator, unless the check itself could not be made (API error, no OLM)
  type: bool
namespace_owner:
  description:
    - C(ours) when the namespace carries the managed-by label, C(foreign) when not, empty when absent.
    - With I(operators), not at the top level but in each entry of RV(operators).
  returned: with operator, unless the check itself could not be made (API error, no OLM)
  type: str
  sample: ours
operator_group:
  description:
    - C(action) (C(create) or C(reuse)) and C(name) of the OperatorGroup.
    - With I(operators), not at the top level but in each entry of RV(operators).
  returned: with operator, unless the check itself could not be made (API error, no OLM)
  type: dict
  sample: {action: reuse, name: openshift-nfd}
subscription:
  description:
    - C(action) is C(create) (absent), C(ours) (labelled, C(owner=ours), or unlabelled in a namespace this
      collection created, C(owner=legacy)), C(adopt) (someone else's, equal to what would be applied or taken over
      with I(adopt=true)) or C(conflict); C(differences) lists what differs from what would be applied.
    - Empty when the check itself could not be made (API error, no OLM).
    - With I(operators), not at the top level but in each entry of RV(operators).
  returned: with operator
  type: dict
  sample: {action: adopt, name: nfd, owner: foreign, differences: []}
operators:
  description:
    - With I(operators), one entry per operator, in the order given, holding what RV(objects), RV(namespace_exists),
      RV(namespace_owner), RV(operator_group), RV(subscription) and RV(problems) hold for a single I(operator), plus
      its C(component), C(package) and C(namespace). On failure the entries have no C(objects).
  returned: with operators
  type: list
  elements: dict
new_namespaces:
  description:
    - With I(operators), the target namespaces that do not exist yet (check mode cannot dry-run objects in them).
  returned: success, with operators
  type: list
  elements: str
subscriptions:
  description:
    - With I(operators), the Subscriptions to wait for, as the I(subscriptions) option of M(rhoai.gpu_infra.csv_wait).
  returned: success, with operators
  type: list
  elements: dict
  sample: [{name: nfd, namespace: openshift-nfd, starting_csv: "", component: nfd}]
service_mesh_v2:
  description:
    - With I(service_mesh_v2), whether Service Mesh v2 is C(installed), the objects that show it (C(found)), and
      C(message) and C(remedy) (empty when nothing was found).
  returned: success, with operators and service_mesh_v2
  type: dict
  sample: {installed: false, found: [], message: "", remedy: ""}
problems:
  description: The refusals, one sentence each; empty on success.
  returned: always
  type: list
  elements: str
api_requests:
  description: Number of API requests made (API discovery not counted).
  returned: always
  type: int
  sample: 5
"""

# ansible-test requires the imports below the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    get_k8s,
    is_api_error,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import olm  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.olm import preflight  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.service_mesh import service_mesh_v2  # noqa: E402

OLM = "operators.coreos.com/v1alpha1"
OLM_V1 = "operators.coreos.com/v1"
PACKAGES = "packages.operators.coreos.com/v1"
MAISTRA = "maistra.io/v2"
NOT_COPIES = "!olm.copiedFrom"

OPERATOR_OPTIONS = dict(
    component=dict(type="str", required=True),
    package=dict(type="str", required=True),
    channel=dict(type="str", required=True),
    source=dict(type="str", required=True),
    source_namespace=dict(type="str", default="openshift-marketplace"),
    namespace=dict(type="str", required=True),
    install_mode=dict(type="str", choices=["OwnNamespace", "AllNamespaces"], default="OwnNamespace"),
    approval=dict(type="str", choices=["Automatic", "Manual"], default="Automatic"),
    starting_csv=dict(type="str", default=""),
    config=dict(type="dict", default={}),
    namespace_labels=dict(type="dict", default={}),
    subscription_name=dict(type="str", default=""),
    operator_group_name=dict(type="str", default=""),
)


class Refusal(Exception):
    """What stops the check itself (API error, OLM missing); the message says what to do."""


class Reader(object):
    """The reads of one preflight, each turned into a Refusal that keeps the API's own words."""

    def __init__(self, k8s):
        self.k8s = k8s
        self.requests = 0
        self._seen = {}

    def cached(self, key, method, *args, **kwargs):
        if key not in self._seen:
            read = self.served if method == "served" else lambda *a, **k: self.call(method, *a, **k)
            self._seen[key] = read(*args, **kwargs)
        return self._seen[key]

    def call(self, method, doing, needs, *args, **kwargs):
        self.requests += 1
        try:
            return getattr(self.k8s, method)(*args, **kwargs)
        except Exception as exc:
            if not is_api_error(exc):
                raise
            raise Refusal(api_failure_message(doing, exc, needs)) from exc

    def served(self, api_version, kind):
        try:
            return self.k8s.has_kind(api_version, kind)
        except Exception as exc:
            if not is_api_error(exc):
                raise
            raise Refusal(api_failure_message("read the API server's list of kinds", exc, "discover APIs")) from exc


def _manifests(reader, op):
    if not reader.served(PACKAGES, "PackageManifest"):
        raise Refusal(
            "The cluster does not serve {0} PackageManifests, so the catalog cannot be checked; expected OLM's "
            "package server. On a cluster without it, set gpu_infra_catalog_preflight to false.".format(PACKAGES)
        )
    ns = op["source_namespace"] or "openshift-marketplace"
    needs = "list packagemanifests (packages.operators.coreos.com) in namespace {0}".format(ns)
    found = reader.cached(
        ("manifests", ns, op["source"]),
        "list",
        "list the PackageManifests of catalog {0}".format(op["source"]),
        needs,
        PACKAGES,
        "PackageManifest",
        namespace=ns,
        label_selector="catalog={0}".format(op["source"]),
    )
    if any((m.get("metadata") or {}).get("name") == op["package"] for m in found):
        return found
    # Only when the package is missing: every catalog's list is large, and it lets the message name the catalog
    # that does carry the package.
    return reader.cached(
        ("manifests", ns),
        "list",
        "list the PackageManifests of every catalog",
        needs,
        PACKAGES,
        "PackageManifest",
        namespace=ns,
    )


def read(reader, op, scope, catalog):
    """Everything the preflight of ``op`` judges, with as few requests as the scope allows.

    Reads go through ``reader.cached``: checking several operators in one call reads each namespace, catalog and
    cluster-wide list once.
    """
    ns = op["namespace"]
    if not reader.cached(("served", OLM), "served", OLM, "Subscription"):
        raise Refusal(
            "The API server does not serve {0} Subscriptions; expected OLM (the Operator Lifecycle Manager, part of "
            "every OpenShift cluster). Check: oc api-resources --api-group=operators.coreos.com.".format(OLM)
        )
    found = dict(manifests=None, csvs=None, groups=[])
    if scope == "cluster" and catalog:
        found["manifests"] = _manifests(reader, op)
    found["namespace"] = reader.cached(
        ("namespace", ns), "get", "read namespace {0}".format(ns), "get namespaces", "v1", "Namespace", ns
    )
    if found["namespace"] is not None:
        found["groups"] = reader.cached(
            ("groups", ns),
            "list",
            "list the OperatorGroups in namespace {0}".format(ns),
            "list operatorgroups (operators.coreos.com) in namespace {0}".format(ns),
            OLM_V1,
            "OperatorGroup",
            namespace=ns,
        )
    if scope == "cluster":
        found["subscriptions"] = _all_subscriptions(reader)
        found["csvs"] = reader.cached(
            ("csvs",),
            "list",
            "list the CSVs of every namespace",
            "list clusterserviceversions (operators.coreos.com) in all namespaces",
            OLM,
            "ClusterServiceVersion",
            label_selector=NOT_COPIES,
        )
    elif found["namespace"] is not None:
        found["subscriptions"] = reader.cached(
            ("subscriptions", ns),
            "list",
            "list the Subscriptions in namespace {0}".format(ns),
            "list subscriptions (operators.coreos.com) in namespace {0}".format(ns),
            OLM,
            "Subscription",
            namespace=ns,
        )
    else:
        found["subscriptions"] = []
    return found


def failure_message(op, problems, scope):
    head = "{0}: expected to be able to install package {1} in namespace {2}; found {3}: ".format(
        op["component"],
        op["package"],
        op["namespace"],
        "a problem" if len(problems) == 1 else "{0} problems".format(len(problems)),
    )
    body = problems[0] if len(problems) == 1 else " ".join("({0}) {1}".format(i, p) for i, p in enumerate(problems, 1))
    tail = " Nothing was changed." if scope == "cluster" else " Nothing of {0} was changed.".format(op["component"])
    return head + body + tail


def check(reader, op, params):
    """The verdict on one operator; a Refusal (the check itself could not be made) becomes its only problem."""
    try:
        found = read(reader, op, params["scope"], params["catalog"])
    except Refusal as exc:
        return dict(problems=[str(exc)], warnings=[], subscription={}, refused=True)
    return preflight(
        op,
        namespace=found["namespace"],
        groups=found["groups"],
        subscriptions=found["subscriptions"],
        csvs=found["csvs"],
        manifests=found["manifests"],
        adopt=params["adopt"],
    )


def _all_subscriptions(reader):
    return reader.cached(
        ("subscriptions",),
        "list",
        "list the Subscriptions of every namespace",
        "list subscriptions (operators.coreos.com) in all namespaces",
        OLM,
        "Subscription",
    )


def _service_mesh_v2(reader):
    """Service Mesh v2 in the Subscriptions the checks read, and the ServiceMeshControlPlanes when maistra is served."""
    planes = []
    if reader.cached(("served", MAISTRA), "served", MAISTRA, "ServiceMeshControlPlane"):
        planes = reader.cached(
            ("control planes",),
            "list",
            "list the ServiceMeshControlPlanes of every namespace",
            "list servicemeshcontrolplanes (maistra.io) in all namespaces",
            MAISTRA,
            "ServiceMeshControlPlane",
        )
    return service_mesh_v2(_all_subscriptions(reader), planes)


def _record(op, verdict):
    return dict(
        name=verdict["subscription"]["name"],
        namespace=op["namespace"],
        starting_csv=op["starting_csv"],
        component=op["component"],
    )


def _batch(module, reader, operators):
    """Several operators in one call: each kind is read once, every refusal is reported, and the objects of all of
    them come back in apply order (every Namespace, then the OperatorGroups, then the Subscriptions)."""
    params = module.params
    verdicts = []
    for op in operators:
        verdict = check(reader, op, params)
        if verdict.get("refused"):
            # The check itself could not be made (API error, no OLM): the others would fail the same way.
            module.fail_json(
                msg="{0}: {1} Nothing was changed.".format(op["component"], verdict["problems"][0]),
                problems=verdict["problems"],
                operators=[],
                api_requests=reader.requests,
            )
        verdicts.append(verdict)
    for verdict in verdicts:
        for warning in verdict.pop("warnings"):
            module.warn(warning)
    failed = [(op, v) for op, v in zip(operators, verdicts) if v["problems"]]
    results = []
    for op, verdict in zip(operators, verdicts):
        results.append(dict(verdict, component=op["component"], package=op["package"], namespace=op["namespace"]))
    if failed:
        for result in results:
            result.pop("objects", None)
        module.fail_json(
            msg=" ".join(
                failure_message(op, v["problems"], "cluster").replace(" Nothing was changed.", "") for op, v in failed
            )
            + " Nothing was changed.",
            problems=[p for pair in failed for p in pair[1]["problems"]],
            operators=results,
            api_requests=reader.requests,
        )
    objects = [o for r in results for o in r["objects"]]
    order = {"Namespace": 0, "OperatorGroup": 1, "Subscription": 2}
    result = dict(
        changed=False,
        operators=results,
        objects=sorted(objects, key=lambda o: order.get(o.get("kind"), 3)),
        new_namespaces=[r["namespace"] for r in results if not r["namespace_exists"]],
        subscriptions=[_record(op, r) for op, r in zip(operators, results)],
        problems=[],
    )
    if params["service_mesh_v2"]:
        try:
            mesh = result["service_mesh_v2"] = _service_mesh_v2(reader)
        except Refusal as exc:
            module.fail_json(
                msg="{0} Nothing was changed.".format(exc),
                problems=[str(exc)],
                operators=results,
                api_requests=reader.requests,
            )
        if mesh["installed"]:
            module.warn("{0} This run continues; verify.yml reports it as a failed check.".format(mesh["message"]))
    module.exit_json(api_requests=reader.requests, **result)


def main(k8s_factory=None):
    module = AnsibleModule(
        argument_spec=dict(
            AUTH_ARG_SPEC,
            operator=dict(type="dict", options=OPERATOR_OPTIONS),
            operators=dict(type="list", elements="dict", options=OPERATOR_OPTIONS),
            scope=dict(type="str", choices=["cluster", "namespace"], default="cluster"),
            catalog=dict(type="bool", default=True),
            adopt=dict(type="bool", default=False),
            service_mesh_v2=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("operator", "operators")],
        required_one_of=[("operator", "operators")],
        supports_check_mode=True,
    )
    given = module.params["operators"] if module.params["operators"] is not None else [module.params["operator"]]
    bad = ["{0}: {1}".format(op["component"], p) for op in given for p in olm.input_problems(op)]
    if bad:
        module.fail_json(msg="{0} Nothing was changed.".format(" ".join(bad)), problems=bad)
    reader = Reader((k8s_factory or get_k8s)(module))
    if module.params["operators"] is not None:
        _batch(module, reader, module.params["operators"])
    op, scope = module.params["operator"], module.params["scope"]
    verdict = check(reader, op, module.params)
    if verdict.pop("refused", False):
        module.fail_json(
            msg="{0}: {1} Nothing was changed.".format(op["component"], verdict["problems"][0]),
            problems=verdict["problems"],
            subscription={},
            api_requests=reader.requests,
        )
    # Ansible shows these as warnings; a "warnings" key in the result is deprecated.
    for warning in verdict.pop("warnings"):
        module.warn(warning)
    result = dict(verdict, changed=False, api_requests=reader.requests)
    if verdict["problems"]:
        result.pop("objects")
        module.fail_json(msg=failure_message(op, verdict["problems"], scope), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
