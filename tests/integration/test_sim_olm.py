"""The simulated OLM against a real kube-apiserver: what a user of OLM on OpenShift would see.

Each test works in its own namespace of the shared simulated cluster; results are "on the OpenShift simulator".
"""

from __future__ import annotations

import time
import uuid

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from tests.ocp_sim.openshift import catalog as catalog_mod

pytestmark = pytest.mark.integration

OLM = "operators.coreos.com/v1alpha1"
CATALOG = catalog_mod.load()
WAIT = 240  # seconds; bounded waits for state (generous: a loaded 2-core machine), not timing assertions


def head(package, channel):
    return CATALOG.head(CATALOG.package(package), channel)


class Olm:
    """Small helpers over the dynamic client, in OLM's vocabulary."""

    def __init__(self, sim):
        self.dyn = DynamicClient(sim.api_client)
        self.core = client.CoreV1Api(sim.api_client)
        self.sim = sim

    def res(self, api_version, kind):
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def namespace(self, prefix):
        name = "{0}-{1}".format(prefix, uuid.uuid4().hex[:6])
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        return name

    def operator_group(self, ns, name=None, targets=None):
        spec = {} if targets is None else {"targetNamespaces": targets}
        body = {
            "apiVersion": "operators.coreos.com/v1",
            "kind": "OperatorGroup",
            "metadata": {"name": name or ns, "namespace": ns},
            "spec": spec,
        }
        return self.res("operators.coreos.com/v1", "OperatorGroup").create(body=body, namespace=ns).to_dict()

    def subscribe(self, ns, package, channel, *, approval="Automatic", starting_csv=None, source=None, name=None):
        spec = {
            "name": package,
            "channel": channel,
            "source": source or (CATALOG.package(package) or {}).get("catalog", "redhat-operators"),
            "sourceNamespace": "openshift-marketplace",
            "installPlanApproval": approval,
        }
        if starting_csv:
            spec["startingCSV"] = starting_csv
        body = {"apiVersion": OLM, "kind": "Subscription", "metadata": {"name": name or package, "namespace": ns}}
        body["spec"] = spec
        return self.res(OLM, "Subscription").create(body=body, namespace=ns).to_dict()

    def get(self, api_version, kind, name, ns=None):
        try:
            return self.res(api_version, kind).get(name=name, namespace=ns).to_dict()
        except NotFoundError:
            return None

    def wait(self, what, fn, timeout=WAIT):
        """Poll fn() until it returns something truthy; fail with the last value seen."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.5)
        pytest.fail("on the OpenShift simulator: {0} not reached in {1}s; last seen: {2!r}".format(what, timeout, last))

    def sub(self, ns, name):
        return self.get(OLM, "Subscription", name, ns)

    def csv(self, ns, name):
        return self.get(OLM, "ClusterServiceVersion", name, ns)

    def csv_phase(self, ns, name, phase):
        def check():
            csv = self.csv(ns, name)
            return csv if csv and (csv.get("status") or {}).get("phase") == phase else None

        return self.wait("CSV {0}/{1} phase {2}".format(ns, name, phase), check)

    def condition(self, ns, sub_name, ctype):
        def check():
            sub = self.sub(ns, sub_name) or {}
            return next(
                (
                    c
                    for c in (sub.get("status") or {}).get("conditions") or []
                    if c["type"] == ctype and c["status"] == "True"
                ),
                None,
            )

        return self.wait("Subscription {0}/{1} condition {2}".format(ns, sub_name, ctype), check)


@pytest.fixture
def olm(ocp_sim):
    return Olm(ocp_sim)


def test_automatic_install_succeeds_with_running_operator_and_crds(olm):
    ns = olm.namespace("nfd")
    olm.operator_group(ns, targets=[ns])
    olm.subscribe(ns, "nfd", "stable")
    expected = head("nfd", "stable")

    csv = olm.csv_phase(ns, expected, "Succeeded")
    phases = [c["phase"] for c in csv["status"]["conditions"]]
    assert phases[:4] == ["Pending", "InstallReady", "Installing", "Succeeded"]

    sub = olm.wait(
        "AtLatestKnown", lambda: (olm.sub(ns, "nfd")["status"].get("state") == "AtLatestKnown") and olm.sub(ns, "nfd")
    )
    assert sub["status"]["installedCSV"] == expected
    assert sub["status"]["currentCSV"] == expected
    ref = sub["status"]["installPlanRef"]
    plan = olm.get(OLM, "InstallPlan", ref["name"], ns)
    assert plan["metadata"]["name"].startswith("install-")
    assert plan["spec"]["clusterServiceVersionNames"] == [expected]
    assert plan["status"]["phase"] == "Complete"
    assert plan["metadata"]["ownerReferences"][0]["kind"] == "Subscription"

    deployment = olm.get("apps/v1", "Deployment", "nfd-controller-manager", ns)
    assert deployment["metadata"]["ownerReferences"][0]["name"] == expected
    pods = olm.core.list_namespaced_pod(ns, label_selector="control-plane=controller-manager").items
    assert [p.status.phase for p in pods] == ["Running"]
    assert olm.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "nodefeaturediscoveries.nfd.openshift.io")
    assert olm.get("operators.coreos.com/v1", "Operator", "nfd." + ns)


def test_manual_approval_waits_then_installs_the_starting_csv_only(olm):
    ns = olm.namespace("gpu")
    olm.operator_group(ns, targets=[ns])
    olm.subscribe(
        ns, "gpu-operator-certified", "v25.3", approval="Manual", starting_csv="gpu-operator-certified.v25.3.2"
    )

    pending = olm.condition(ns, "gpu-operator-certified", "InstallPlanPending")
    assert pending["reason"] == "RequiresApproval"
    sub = olm.sub(ns, "gpu-operator-certified")
    assert sub["status"]["state"] == "UpgradePending"
    plan_name = sub["status"]["installPlanRef"]["name"]
    plan = olm.get(OLM, "InstallPlan", plan_name, ns)
    assert plan["spec"]["approved"] is False
    assert plan["status"]["phase"] == "RequiresApproval"
    time.sleep(2)  # give a wrong implementation the chance to install anyway
    assert olm.csv(ns, "gpu-operator-certified.v25.3.2") is None

    olm.res(OLM, "InstallPlan").patch(
        body={"spec": {"approved": True}}, name=plan_name, namespace=ns, content_type="application/merge-patch+json"
    )
    olm.csv_phase(ns, "gpu-operator-certified.v25.3.2", "Succeeded")

    # OLM then offers the next CSV of the channel, again waiting for approval; the pinned one stays installed
    def next_plan():
        status = olm.sub(ns, "gpu-operator-certified")["status"]
        return status if status.get("currentCSV") == "gpu-operator-certified.v25.3.4" else None

    status = olm.wait("upgrade InstallPlan", next_plan)
    assert status["installedCSV"] == "gpu-operator-certified.v25.3.2"
    assert status["state"] == "UpgradePending"
    upgrade = olm.get(OLM, "InstallPlan", status["installPlanRef"]["name"], ns)
    assert upgrade["spec"]["approved"] is False
    assert olm.csv(ns, "gpu-operator-certified.v25.3.4") is None


def test_automatic_subscription_walks_the_upgrade_chain_to_the_channel_head(olm):
    ns = olm.namespace("certmgr")
    olm.operator_group(ns)
    olm.subscribe(ns, "openshift-cert-manager-operator", "stable-v1", starting_csv="cert-manager-operator.v1.16.1")
    final = head("openshift-cert-manager-operator", "stable-v1")
    olm.csv_phase(ns, final, "Succeeded")

    def only_head():
        names = [
            c["metadata"]["name"] for c in olm.res(OLM, "ClusterServiceVersion").get(namespace=ns).to_dict()["items"]
        ]
        return names if names == [final] else None

    olm.wait("replaced CSVs deleted", only_head)
    status = olm.sub(ns, "openshift-cert-manager-operator")["status"]
    assert (status["currentCSV"], status["installedCSV"], status["state"]) == (final, final, "AtLatestKnown")
    deployment = olm.get("apps/v1", "Deployment", "cert-manager-operator-controller-manager", ns)
    assert deployment["metadata"]["labels"]["olm.owner"] == final


def test_wrong_channel_is_a_resolution_failure_naming_the_channel(olm):
    ns = olm.namespace("badchan")
    olm.operator_group(ns, targets=[ns])
    olm.subscribe(ns, "nfd", "stable-4.99")
    cond = olm.condition(ns, "nfd", "ResolutionFailed")
    assert cond["reason"] == "ConstraintsNotSatisfiable"
    assert "no operators found in channel stable-4.99 of package nfd" in cond["message"]
    assert olm.sub(ns, "nfd")["status"].get("installPlanRef") is None


def test_unknown_package_is_a_resolution_failure(olm):
    ns = olm.namespace("badpkg")
    olm.operator_group(ns, targets=[ns])
    olm.subscribe(ns, "nfd-typo", "stable", source="redhat-operators")
    cond = olm.condition(ns, "nfd-typo", "ResolutionFailed")
    assert "no operators found in package nfd-typo" in cond["message"]


def test_own_namespace_operator_under_all_namespaces_group_fails_until_fixed(olm):
    ns = olm.namespace("lws")
    olm.operator_group(ns)  # AllNamespaces
    olm.subscribe(ns, "leader-worker-set", "stable-v1.0")
    csv = olm.csv_phase(ns, head("leader-worker-set", "stable-v1.0"), "Failed")
    assert csv["status"]["reason"] == "UnsupportedOperatorGroup"
    assert "AllNamespaces InstallModeType not supported" in csv["status"]["message"]
    assert olm.get("apps/v1", "Deployment", "openshift-lws-operator", ns) is None

    olm.res("operators.coreos.com/v1", "OperatorGroup").patch(
        body={"spec": {"targetNamespaces": [ns]}}, name=ns, namespace=ns, content_type="application/merge-patch+json"
    )
    olm.csv_phase(ns, head("leader-worker-set", "stable-v1.0"), "Succeeded")


def test_two_operator_groups_fail_the_csv(olm):
    ns = olm.namespace("twoog")
    olm.operator_group(ns, name="first", targets=[ns])
    olm.operator_group(ns, name="second", targets=[ns])
    olm.subscribe(ns, "nfd", "stable")
    csv = olm.csv_phase(ns, head("nfd", "stable"), "Failed")
    assert csv["status"]["reason"] == "TooManyOperatorGroups"


def test_no_operator_group_fails_the_install_plan(olm):
    ns = olm.namespace("noog")
    olm.subscribe(ns, "nfd", "stable")
    cond = olm.condition(ns, "nfd", "InstallPlanFailed")
    assert "no operator group found that is managing this namespace" in cond["message"]
    assert olm.csv(ns, head("nfd", "stable")) is None


def test_fault_knob_fails_the_csv_with_its_reason(olm, ocp_sim):
    ocp_sim.set_knobs({"fail_csv.limitador-operator": "InstallComponentFailed"})
    try:
        ns = olm.namespace("fault")
        olm.operator_group(ns)
        olm.subscribe(ns, "limitador-operator", "stable")
        csv = olm.csv_phase(ns, head("limitador-operator", "stable"), "Failed")
        assert csv["status"]["reason"] == "InstallComponentFailed"
    finally:
        ocp_sim.set_knobs({"fail_csv.limitador-operator": None})
    olm.csv_phase(ns, head("limitador-operator", "stable"), "Succeeded")


def test_unhealthy_catalog_is_reported_on_the_subscription(olm, ocp_sim):
    ocp_sim.set_knobs({"catalog_unhealthy.community-operators": "true"})
    try:
        ns = olm.namespace("unhealthy")
        olm.operator_group(ns)
        olm.subscribe(ns, "some-community-operator", "stable", source="community-operators")
        cond = olm.condition(ns, "some-community-operator", "CatalogSourcesUnhealthy")
        assert "openshift-marketplace/community-operators" in cond["message"]
    finally:
        ocp_sim.set_knobs({"catalog_unhealthy.community-operators": None})


def test_one_manual_subscription_makes_every_plan_in_the_namespace_manual(olm):
    ns = olm.namespace("mixed")
    olm.operator_group(ns)
    olm.subscribe(ns, "limitador-operator", "stable", approval="Manual")
    olm.subscribe(ns, "authorino-operator", "stable", approval="Automatic")
    olm.condition(ns, "authorino-operator", "InstallPlanPending")
    plan = olm.get(OLM, "InstallPlan", olm.sub(ns, "authorino-operator")["status"]["installPlanRef"]["name"], ns)
    assert (plan["spec"]["approval"], plan["spec"]["approved"]) == ("Manual", False)


def test_deleting_subscription_keeps_csv_and_deleting_csv_removes_deployment(olm):
    ns = olm.namespace("gc")
    olm.operator_group(ns)
    olm.subscribe(ns, "dns-operator", "stable")
    name = head("dns-operator", "stable")
    olm.csv_phase(ns, name, "Succeeded")

    olm.res(OLM, "Subscription").delete(name="dns-operator", namespace=ns)
    time.sleep(2)
    assert olm.csv(ns, name)["status"]["phase"] == "Succeeded"

    olm.res(OLM, "ClusterServiceVersion").delete(name=name, namespace=ns)
    olm.wait(
        "operator Deployment garbage-collected",
        lambda: olm.get("apps/v1", "Deployment", "dns-operator-controller-manager", ns) is None,
    )
    assert olm.csv(ns, name) is None


def test_schemas_reject_what_openshift_rejects(olm, ocp_sim):
    custom = client.CustomObjectsApi(ocp_sim.api_client)
    ns = olm.namespace("schema")

    def rejected(group, version, plural, body, **kwargs):
        with pytest.raises(client.exceptions.ApiException) as err:
            custom.create_namespaced_custom_object(group, version, ns, plural, body, **kwargs)
        assert err.value.status in (400, 422), err.value.body  # 400: strict decoding, 422: schema validation
        return err.value.body

    og = {"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup", "metadata": {"name": "og"}}
    body = rejected(
        "operators.coreos.com", "v1", "operatorgroups", dict(og, spec={"upgradeStrategy": {"name": "Fast"}})
    )
    assert "upgradeStrategy.name" in body
    body = rejected(
        "operators.coreos.com",
        "v1",
        "operatorgroups",
        dict(og, spec={"targetNamespace": [ns]}),
        field_validation="Strict",
    )
    assert "targetNamespace" in body
    sub = {"apiVersion": OLM, "kind": "Subscription", "metadata": {"name": "s"}}
    body = rejected(
        "operators.coreos.com",
        "v1alpha1",
        "subscriptions",
        dict(sub, spec={"channel": "stable", "source": "redhat-operators", "sourceNamespace": "openshift-marketplace"}),
    )
    assert "spec.name" in body
    ms = {"apiVersion": "machine.openshift.io/v1beta1", "kind": "MachineSet", "metadata": {"name": "m"}}
    taint = {"key": "nvidia.com/gpu", "effect": "NoScheduleTypo"}
    body = rejected(
        "machine.openshift.io", "v1beta1", "machinesets", dict(ms, spec={"template": {"spec": {"taints": [taint]}}})
    )
    assert "effect" in body
