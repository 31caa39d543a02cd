"""The read-only preflight of one operator install (module_utils/olm.preflight and the olm_preflight module) and
what teardown may remove (olm.removal), on objects shaped like the API server's (no cluster)."""

import copy
import functools
import json
from pathlib import Path

import yaml
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.filter.olm import olm_removal
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import olm
from ansible_collections.rhoai.gpu_infra.plugins.modules import olm_preflight
from tests.unit.module_main import run_main

OLM = "operators.coreos.com/v1alpha1"
MANIFESTS = yaml.safe_load((Path(__file__).parent / "fixtures" / "olm" / "packagemanifests.yaml").read_text())
OURS = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "nfd"}
NFD = dict(
    component="nfd",
    package="nfd",
    channel="stable",
    source="redhat-operators",
    source_namespace="openshift-marketplace",
    namespace="openshift-nfd",
    install_mode="OwnNamespace",
    approval="Automatic",
    starting_csv="",
    config={},
    namespace_labels={"openshift.io/cluster-monitoring": "true"},
    subscription_name="nfd",
    operator_group_name="openshift-nfd",
)


def namespace(name="openshift-nfd", labels=None, **meta):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": dict(name=name, labels=labels or {}, **meta)}


def group(name="openshift-nfd", ns="openshift-nfd", spec=None, labels=None):
    spec = {"targetNamespaces": [ns]} if spec is None else spec
    return {"kind": "OperatorGroup", "metadata": dict(name=name, namespace=ns, labels=labels or {}), "spec": spec}


def subscription(name="nfd", ns="openshift-nfd", package="nfd", channel="stable", labels=None, **spec):
    body = dict(
        name=package,
        channel=channel,
        source="redhat-operators",
        sourceNamespace="openshift-marketplace",
        installPlanApproval="Automatic",
    )
    body.update(spec)
    return {
        "apiVersion": OLM,
        "kind": "Subscription",
        "metadata": dict(name=name, namespace=ns, labels=labels or {}),
        "spec": body,
        "status": {"installedCSV": "nfd.4.20.0-202510211040", "state": "AtLatestKnown"},
    }


def csv(name="nfd.4.20.0-202510211040", ns="openshift-nfd", labels=None, phase="Succeeded"):
    return {
        "apiVersion": OLM,
        "kind": "ClusterServiceVersion",
        "metadata": dict(name=name, namespace=ns, labels=labels or {}),
        "status": {"phase": phase},
    }


def check(op=NFD, *, ns=None, groups=(), subs=(), csvs=(), manifests=MANIFESTS, adopt=False):
    return olm.preflight(
        op,
        namespace=ns,
        groups=list(groups),
        subscriptions=list(subs),
        csvs=list(csvs),
        manifests=manifests,
        adopt=adopt,
    )


# --- preflight: what passes ---------------------------------------------------------------------------------------


def test_fresh_cluster_creates_all_three_with_our_labels():
    out = check()
    assert out["problems"] == [] and out["warnings"] == []
    kinds = [o["kind"] for o in out["objects"]]
    assert kinds == ["Namespace", "OperatorGroup", "Subscription"]
    for obj in out["objects"]:
        assert OURS.items() <= obj["metadata"]["labels"].items(), obj
    assert out["subscription"]["action"] == "create" and out["operator_group"]["action"] == "create"
    json.dumps(out)


def test_rerun_on_our_install_is_ours_and_reuses_the_group():
    out = check(
        ns=namespace(labels=OURS),
        groups=[group(labels=OURS)],
        subs=[subscription(labels=OURS)],
        csvs=[csv()],
    )
    assert out["problems"] == []
    assert out["subscription"]["action"] == "ours" and out["subscription"]["owner"] == "ours"
    # the Subscription holds what would be applied, so it is left out; the namespace lacks a requested label, and an
    # existing namespace gets only the requested labels merged, never our mark
    assert [o["kind"] for o in out["objects"]] == ["Namespace"]
    assert out["objects"][0]["metadata"]["labels"] == {"openshift.io/cluster-monitoring": "true"}


def test_an_install_in_place_has_nothing_to_apply_and_any_drift_brings_back_what_drifted():
    monitored = dict(OURS, **{"openshift.io/cluster-monitoring": "true"})
    in_place = dict(ns=namespace(labels=monitored), groups=[group(labels=OURS)], csvs=[csv()])
    out = check(subs=[subscription(labels=OURS)], **in_place)
    assert out["problems"] == [] and out["objects"] == []
    # a changed field, or a label gone, is applied again
    assert [o["kind"] for o in check(subs=[subscription(labels=OURS, channel="beta")], **in_place)["objects"]] == [
        "Subscription"
    ]
    assert [
        o["kind"] for o in check(subs=[subscription(labels={})], **dict(in_place, ns=namespace(labels=OURS)))["objects"]
    ] == ["Namespace", "Subscription"]


def test_our_subscription_loses_a_starting_csv_or_config_no_longer_configured():
    # Unpinning (nfd_starting_csv back to "") or dropping nfd_subscription_config, or a config added by hand: the
    # apply is a merge patch, so what is to go must be sent as null, or it stays on the Subscription for good.
    monitored = dict(OURS, **{"openshift.io/cluster-monitoring": "true"})
    config = {"nodeSelector": {"node-role.kubernetes.io/infra": ""}}
    out = check(
        ns=namespace(labels=monitored),
        groups=[group(labels=OURS)],
        subs=[subscription(labels=OURS, startingCSV="nfd.4.19", config=config)],
        csvs=[csv()],
    )
    assert out["problems"] == [] and out["subscription"]["action"] == "ours"
    (sub,) = out["objects"]
    assert sub["spec"]["startingCSV"] is None and sub["spec"]["config"] is None
    assert sub["spec"]["channel"] == "stable" and sub["spec"]["installPlanApproval"] == "Automatic"


def test_an_unlabelled_subscription_in_a_namespace_we_created_is_ours_from_an_earlier_version():
    legacy = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra"}
    out = check(ns=namespace(labels=legacy), groups=[group(labels=legacy)], subs=[subscription(channel="old")])
    assert out["problems"] == []
    assert out["subscription"]["action"] == "ours" and out["subscription"]["owner"] == "legacy"
    assert out["objects"][-1]["spec"]["channel"] == "stable"


def test_a_foreign_subscription_equal_to_ours_is_adopted_silently():
    out = check(ns=namespace(), groups=[group()], subs=[subscription()])
    assert out["problems"] == []
    assert out["subscription"] == dict(action="adopt", name="nfd", owner="foreign", differences=[])
    assert OURS.items() <= out["objects"][-1]["metadata"]["labels"].items()


def test_a_missing_install_plan_approval_is_olms_automatic():
    foreign = subscription()
    del foreign["spec"]["installPlanApproval"]
    assert check(ns=namespace(), groups=[group()], subs=[foreign])["subscription"]["action"] == "adopt"


def test_copies_and_csvs_with_their_subscription_are_no_orphans():
    copied = csv(ns="default", labels={"olm.copiedFrom": "openshift-nfd"})
    out = check(ns=namespace(labels=OURS), groups=[group()], subs=[subscription(labels=OURS)], csvs=[csv(), copied])
    assert out["problems"] == []


def test_other_subscriptions_in_the_namespace_do_not_count_but_a_manual_one_warns():
    dep = subscription("authorino-operator-stable", package="authorino-operator", installPlanApproval="Manual")
    out = check(ns=namespace(labels=OURS), groups=[group()], subs=[dep])
    assert out["problems"] == []
    assert "authorino-operator-stable" in out["warnings"][0] and "Manual" in out["warnings"][0]


GPU = dict(
    NFD,
    component="gpu_operator",
    package="gpu-operator-certified",
    channel="v25.10",
    source="certified-operators",
    namespace="nvidia-gpu-operator",
    subscription_name="gpu-operator-certified",
    operator_group_name="nvidia-gpu-operator",
)


def _gpu_subscription(channel, state="AtLatestKnown"):
    sub = subscription("gpu-operator-certified", "nvidia-gpu-operator", "gpu-operator-certified", channel, OURS)
    sub["spec"]["source"] = "certified-operators"
    sub["status"].update(installedCSV="gpu-operator-certified.v25.10.0", state=state)
    return sub


def _gpu_check(channel, existing):
    ns, groups = namespace("nvidia-gpu-operator", OURS), [group(ns="nvidia-gpu-operator")]
    return check(dict(GPU, channel=channel), ns=ns, groups=groups, subs=[existing])


def test_a_channel_without_the_installed_csv_warns_that_olm_keeps_it_running():
    # OLM never downgrades: v25.10.0 would keep running under channel v25.3, with nothing saying so.
    out = _gpu_check("v25.3", _gpu_subscription("v25.10"))
    assert out["problems"] == [] and len(out["warnings"]) == 1, out
    assert out["warnings"][0].startswith(
        "Subscription nvidia-gpu-operator/gpu-operator-certified asks for channel v25.3, which does not contain the "
        "installed CSV gpu-operator-certified.v25.10.0 (its CSVs: gpu-operator-certified.v25.3.4)."
    )
    assert "gpu_infra_components: [gpu_operator]" in out["warnings"][0]
    # the Subscription is still applied: the channel is the user's to choose
    assert "Subscription" in [o["kind"] for o in out["objects"]]
    # and every later run says it again while OLM has nothing to move to
    assert len(_gpu_check("v25.3", _gpu_subscription("v25.3"))["warnings"]) == 1


def test_a_channel_that_holds_the_installed_csv_or_an_upgrade_under_way_says_nothing():
    assert _gpu_check("v25.10", _gpu_subscription("v25.3"))["warnings"] == []
    assert _gpu_check("v25.3", _gpu_subscription("v25.3", state="UpgradePending"))["warnings"] == []


def test_a_manual_pin_older_than_the_installed_csv_warns_that_olm_never_installs_it():
    # what verify fails on; site used to warn only about the channel
    pinned = dict(GPU, channel="v25.3", approval="Manual", starting_csv="gpu-operator-certified.v25.3.4")
    ns, groups = namespace("nvidia-gpu-operator", OURS), [group(ns="nvidia-gpu-operator")]
    out = check(pinned, ns=ns, groups=groups, subs=[_gpu_subscription("v25.10")])
    assert out["problems"] == [] and len(out["warnings"]) == 2, out
    assert out["warnings"][1] == (
        "Subscription nvidia-gpu-operator/gpu-operator-certified pins startingCSV gpu-operator-certified.v25.3.4 "
        "(Manual approval), but gpu-operator-certified.v25.10.0 is installed: OLM applies startingCSV only at the "
        "first install and never downgrades, so gpu-operator-certified.v25.10.0 keeps running and verify fails its "
        "CSV check. Set gpu_operator_starting_csv to gpu-operator-certified.v25.10.0 to keep it, or remove the "
        "operator (teardown.yml with gpu_infra_components: [gpu_operator]) and run site.yml again to install "
        "gpu-operator-certified.v25.3.4."
    )
    # a newer pin is an upgrade csv_wait approves; Automatic approval and an unreadable version say nothing of a pin
    for op in (
        dict(pinned, channel="v25.10", starting_csv="gpu-operator-certified.v25.10.1"),
        dict(pinned, approval="Automatic"),
        dict(pinned, starting_csv="gpu-operator-certified.latest"),
    ):
        said = check(op, ns=ns, groups=groups, subs=[_gpu_subscription("v25.10")])["warnings"]
        assert not [w for w in said if "pins startingCSV" in w], (op, said)


# --- preflight: refusals ------------------------------------------------------------------------------------------


def test_a_foreign_subscription_that_differs_is_refused_naming_the_differences_and_gpu_infra_adopt():
    out = check(ns=namespace(), groups=[group()], subs=[subscription(channel="beta", startingCSV="nfd.4.19")])
    assert out["subscription"]["action"] == "conflict"
    (problem,) = out["problems"]
    assert 'spec.channel: want "stable", found "beta"' in problem
    assert 'spec.startingCSV: want nothing, found "nfd.4.19"' in problem
    assert "gpu_infra_adopt=true" in problem and "Nothing was changed" not in problem


def test_the_differences_of_a_foreign_subscription_show_no_credential_of_its_config():
    config = {
        "env": [
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
            {"name": "HTTPS_PROXY", "value": "http://svc:pr0xy-passw0rd@proxy.example.com:3128"},
        ]
    }
    for adopt in (False, True):
        out = check(ns=namespace(), groups=[group()], subs=[subscription(config=config)], adopt=adopt)
        shown = json.dumps([out["problems"], out["subscription"]["differences"]])
        assert "spec.config: want nothing" in shown and "HTTPS_PROXY" in shown
        assert "EXAMPLEKEY" not in shown and "pr0xy-passw0rd" not in shown


def test_gpu_infra_adopt_takes_a_different_subscription_over_and_clears_what_we_do_not_set():
    out = check(
        ns=namespace(), groups=[group()], subs=[subscription(channel="beta", startingCSV="nfd.4.19")], adopt=True
    )
    assert out["problems"] == []
    assert out["subscription"]["action"] == "adopt" and len(out["subscription"]["differences"]) == 2
    spec = out["objects"][-1]["spec"]
    assert spec["channel"] == "stable" and spec["startingCSV"] is None


def test_a_subscription_of_the_package_in_another_namespace_is_refused():
    other = subscription("nfd", ns="my-nfd", labels=OURS)
    (problem,) = check(subs=[other], csvs=[csv(ns="my-nfd")])["problems"]
    assert "Subscription my-nfd/nfd (package nfd, channel stable) already installs package nfd in namespace my-nfd" in (
        problem
    )
    assert "oc delete subscription nfd -n my-nfd; oc delete csv nfd.4.20.0-202510211040 -n my-nfd" in problem
    assert "leave nfd out of gpu_infra_components" in problem


def test_a_subscription_of_the_package_under_another_name_in_the_namespace_is_refused():
    (problem,) = check(ns=namespace(), groups=[group()], subs=[subscription("nfd-by-console")])["problems"]
    assert "Subscription openshift-nfd/nfd-by-console" in problem and "the expected nfd" in problem


def test_a_csv_of_the_package_without_a_subscription_elsewhere_is_refused():
    by_name = csv(ns="hand-made")
    by_label = csv("nfd.custom", ns="other", labels={"operators.coreos.com/nfd.other": ""})
    unrelated = csv("kueue-operator.v1.2.0", ns="other")
    (problem,) = check(csvs=[by_name, by_label, unrelated])["problems"]
    assert "hand-made/nfd.4.20.0-202510211040 (phase Succeeded), other/nfd.custom" in problem
    assert "kueue" not in problem
    assert "oc delete csv nfd.custom -n other" in problem


def test_a_csv_of_the_package_without_a_subscription_in_the_target_namespace_is_refused():
    # What an interrupted teardown leaves (it labels the CSVs, then deletes the Subscription): OLM would not resolve
    # a new Subscription beside it, so the run would only fail later, in csv_wait.
    left = csv(labels=dict(OURS, **{"operators.coreos.com/nfd.openshift-nfd": ""}))
    (problem,) = check(ns=namespace(labels=OURS), groups=[group(labels=OURS)], csvs=[left])["problems"]
    assert "Found CSV nfd.4.20.0-202510211040 (phase Succeeded) of package nfd in namespace openshift-nfd" in problem
    assert (
        "teardown of nfd was interrupted" in problem
        and "oc delete csv nfd.4.20.0-202510211040 -n openshift-nfd" in (problem)
    )
    (problem,) = check(ns=namespace(), groups=[group()], csvs=[csv()])["problems"]
    assert "its Subscription was deleted without it" in problem and "leave nfd out of gpu_infra_components" in problem
    # with its Subscription, or on its way out, it is no obstacle
    assert check(ns=namespace(), groups=[group()], subs=[subscription(labels=OURS)], csvs=[csv()])["problems"] == []
    leaving = csv()
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert check(ns=namespace(), groups=[group()], csvs=[leaving])["problems"] == []


def test_a_group_that_does_not_fit_is_refused():
    (problem,) = check(ns=namespace(), groups=[group("global", spec={})])["problems"]
    assert "OperatorGroup global in namespace openshift-nfd selects AllNamespaces" in problem


def test_a_namespace_being_deleted_is_refused():
    (problem,) = check(ns=namespace(deletionTimestamp="2026-01-01T00:00:00Z"))["problems"]
    assert "Namespace openshift-nfd is being deleted" in problem


def test_catalog_problems_are_refused_and_name_the_switch():
    (problem,) = check(dict(NFD, channel="v99"))["problems"]
    assert "Channel v99 does not exist" in problem and "gpu_infra_catalog_preflight: false" in problem
    assert check(dict(NFD, channel="v99"), manifests=None)["problems"] == []


def test_every_refusal_is_reported_at_once():
    out = check(
        ns=namespace(),
        groups=[group("a"), group("b")],
        subs=[subscription(channel="beta"), subscription("nfd", ns="elsewhere")],
        manifests=None,
    )
    assert len(out["problems"]) == 3


# --- removal ------------------------------------------------------------------------------------------------------


def test_removal_of_our_subscription_deletes_it_its_csvs_and_the_operator():
    out = olm.removal(NFD, subscription(labels=OURS), [csv(), csv("nfd.old")], namespace())
    assert out == dict(
        owner="ours", subscription=True, csvs=["nfd.4.20.0-202510211040", "nfd.old"], operator=True, left=""
    )


def test_removal_leaves_a_foreign_subscription_and_says_why_and_how():
    out = olm.removal(NFD, subscription(), [csv()], namespace())
    assert out["owner"] == "foreign" and not out["subscription"] and out["csvs"] == [] and not out["operator"]
    assert "Left Subscription openshift-nfd/nfd (package nfd, channel stable)" in out["left"]
    assert "oc delete subscription nfd -n openshift-nfd" in out["left"]


def test_removal_of_a_dependency_olm_created_for_our_subscription():
    out = olm.removal(NFD, subscription("nfd-stable-x"), [csv()], namespace(), dependency_of_ours=True)
    assert out["owner"] == "dependency" and out["subscription"] and out["csvs"] == ["nfd.4.20.0-202510211040"]


def test_removal_after_a_partial_run_deletes_only_labelled_csvs():
    labelled = csv(labels=OURS)
    other = csv("nfd.by-hand")
    out = olm.removal(NFD, None, [labelled, other], namespace())
    assert out["owner"] == "absent" and out["csvs"] == ["nfd.4.20.0-202510211040"] and out["operator"]
    assert "Left CSV nfd.by-hand" in out["left"]
    # in a namespace this collection created, everything of the package is ours
    assert olm.removal(NFD, None, [other], namespace(labels=OURS))["csvs"] == ["nfd.by-hand"]
    assert olm.removal(NFD, None, [], namespace()) == dict(
        owner="absent", subscription=False, csvs=[], operator=False, left=""
    )


def test_removal_filter_takes_what_k8s_info_returns():
    out = olm_removal(NFD, [subscription(labels=OURS)], [csv()], [namespace()])
    assert out["subscription"] and out["csvs"] == ["nfd.4.20.0-202510211040"]
    assert olm_removal(NFD, [], [], [])["owner"] == "absent"


# --- the module, against a fake cluster ---------------------------------------------------------------------------


class ApiError(ApiException):
    """Shaped like the dynamic client's errors: an ApiException with summary() holding the API's message."""

    def __init__(self, status, reason, message):
        super().__init__(status=status, reason=reason)
        self.message = message

    def summary(self):
        return self.message


class Fake(object):
    def __init__(self, objects=(), missing=()):
        self.objects = [copy.deepcopy(o) for o in objects]
        self.calls = []
        self.errors = {}
        self.missing = set(missing)
        self.request_timeout = 30

    def has_kind(self, api_version, kind):
        return kind not in self.missing

    def get(self, api_version, kind, name, namespace=None):
        self.calls.append(("get", kind, namespace, None))
        if kind in self.errors:
            raise self.errors[kind]
        return next((o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name), None)

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("list", kind, namespace, label_selector))
        if kind in self.errors:
            raise self.errors[kind]
        found = [o for o in self.objects if o["kind"] == kind and namespace in (None, o["metadata"].get("namespace"))]
        if label_selector and label_selector.startswith("catalog="):
            found = [o for o in found if o["status"]["catalogSource"] == label_selector[len("catalog=") :]]
        if label_selector == "!olm.copiedFrom":
            found = [o for o in found if "olm.copiedFrom" not in o["metadata"]["labels"]]
        return copy.deepcopy(found)


def run(monkeypatch, fake, base=None, **args):
    """The module's result against ``fake``; ``base`` is the operator option(s), one NFD operator by default."""
    main = functools.partial(olm_preflight.main, k8s_factory=lambda module: fake)
    return run_main(monkeypatch, main, dict(base or {"operator": NFD}, **args))


def manifests():
    return [dict(m, kind="PackageManifest") for m in MANIFESTS]


def test_module_reads_everything_in_five_requests_and_returns_the_objects(monkeypatch):
    fake = Fake([*manifests(), namespace(labels=OURS), group(), subscription(labels=OURS), csv()])
    out = run(monkeypatch, fake)
    assert not out["failed"] and out["changed"] is False, out
    assert out["api_requests"] == 5 == len(fake.calls)
    assert ("list", "ClusterServiceVersion", None, "!olm.copiedFrom") in fake.calls
    assert ("list", "Subscription", None, None) in fake.calls
    assert [o["kind"] for o in out["objects"]] == ["Namespace"]
    json.dumps(out)


def test_module_namespace_scope_reads_only_the_namespace_and_no_catalog(monkeypatch):
    fake = Fake([namespace(labels=OURS), group(), subscription(labels=OURS)])
    out = run(monkeypatch, fake, scope="namespace")
    assert not out["failed"], out
    assert {c[1] for c in fake.calls} == {"Namespace", "OperatorGroup", "Subscription"}
    assert all(c[2] == "openshift-nfd" or c[1] == "Namespace" for c in fake.calls)


def test_module_on_a_fresh_cluster_reads_no_operator_groups(monkeypatch):
    out = run(monkeypatch, Fake(manifests()))
    assert not out["failed"] and out["api_requests"] == 4, out
    assert [o["kind"] for o in out["objects"]] == ["Namespace", "OperatorGroup", "Subscription"]


def test_module_refuses_empty_or_malformed_names_before_reading_anything(monkeypatch):
    fake = Fake(manifests())
    out = run(
        monkeypatch, fake, base={"operators": [dict(NFD, namespace=""), dict(NFD, component="kueue", channel="a b")]}
    )
    assert out["failed"] and fake.calls == [], out
    assert out["msg"] == (
        "nfd: expected the operator namespace to be a DNS-1123 label (lower-case letters, digits and '-', at most 63 "
        'characters), found ""; set nfd_namespace (or leave it unset for the default) kueue: expected the operator '
        'channel to be a channel name (not empty, no spaces), found "a b"; set kueue_channel (or leave it unset for '
        "the default) Nothing was changed."
    )
    assert olm.input_problems(dict(NFD, namespace="Openshift_NFD"))
    assert olm.input_problems(NFD) == []


def test_module_refuses_a_subscription_config_that_is_no_subscription_config_before_reading_anything(monkeypatch):
    # the API server drops a misspelt field with a warning (the operator stays where it was) and refuses a wrong type
    # only at the apply, after the run's first write
    fake = Fake(manifests())
    config = {
        "nodeselector": {"node-role.kubernetes.io/infra": ""},
        "tolerations": "nvidia.com/gpu",
        "nodeSelector": {"gpu": True},
        "env": ["HTTP_PROXY=http://proxy:3128"],
        "resources": {"limits": {"cpu": "1"}},
    }
    out = run(monkeypatch, fake, base={"operators": [dict(NFD, component="kueue", config=config)]})
    assert out["failed"] and fake.calls == [], out
    assert out["msg"] == (
        "kueue: expected kueue_subscription_config to hold only fields of an OLM SubscriptionConfig (affinity, "
        "annotations, env, envFrom, nodeSelector, resources, selector, tolerations, volumeMounts, volumes), each of "
        "its type; found every item of field env must be a mapping; field nodeSelector must map names to strings, "
        "found gpu: a boolean; unknown field nodeselector (did you mean nodeSelector?); field tolerations must be a "
        "list, found a string. The API server would drop an unknown field with only a warning, and refuse a wrong "
        "type after the run's first write. Fix it and re-run. Nothing was changed."
    )
    # never a value: they may be credentials
    assert "proxy" not in out["msg"] and "infra" not in out["msg"]
    good = {"nodeSelector": {"node-role.kubernetes.io/infra": ""}, "tolerations": [{"operator": "Exists"}], "env": []}
    assert olm.config_problems(good) == [] and olm.config_problems({}) == [] and olm.config_problems(None) == []
    assert olm.config_problems("nodeSelector: x") == ["expected a mapping, found a string"]
    assert olm.config_problems({"NodeSelector": {}}) == ["unknown field NodeSelector (did you mean nodeSelector?)"]
    assert olm.config_problems({"priorityClassName": "x"}) == ["unknown field priorityClassName"]


def test_module_failure_lists_every_problem_and_ends_with_nothing_was_changed(monkeypatch):
    fake = Fake([*manifests(), namespace(), group("global", spec={}), subscription(channel="beta")])
    out = run(monkeypatch, fake, operator=dict(NFD, channel="v99"))
    assert out["failed"]
    msg = out["msg"]
    assert msg.startswith(
        "nfd: expected to be able to install package nfd in namespace openshift-nfd; found 3 problems"
    )
    assert (
        "(1) Channel v99" in msg and "(2) OperatorGroup global" in msg and "(3) nfd: expected to create or adopt" in msg
    )
    assert msg.endswith("Nothing was changed.") and msg.count("Nothing was changed.") == 1
    assert "objects" not in out and len(out["problems"]) == 3


def test_module_adopt_option_takes_the_subscription_over(monkeypatch):
    fake = Fake([*manifests(), namespace(), group(), subscription(channel="beta")])
    out = run(monkeypatch, fake, adopt=True)
    assert not out["failed"] and out["subscription"]["action"] == "adopt", out


def test_module_keeps_the_cause_of_an_api_error(monkeypatch):
    fake = Fake(manifests())
    fake.errors["Subscription"] = ApiError(403, "Forbidden", 'User "dev" cannot list resource "subscriptions"')
    out = run(monkeypatch, fake)
    assert out["failed"]
    assert (
        'the credentials lack permission (403 Forbidden: User "dev" cannot list resource "subscriptions")'
        in (out["msg"])
    )
    assert "list subscriptions (operators.coreos.com) in all namespaces" in out["msg"]
    assert out["msg"].endswith("Nothing was changed.")


def test_module_without_the_package_server_says_how_to_skip_the_catalog(monkeypatch):
    out = run(monkeypatch, Fake(missing={"PackageManifest"}))
    assert out["failed"] and "gpu_infra_catalog_preflight to false" in out["msg"]
    assert not run(monkeypatch, Fake(missing={"PackageManifest"}), catalog=False)["failed"]


def test_module_without_olm_fails_before_reading(monkeypatch):
    fake = Fake(missing={"Subscription"})
    out = run(monkeypatch, fake)
    assert out["failed"] and "expected OLM" in out["msg"] and fake.calls == []


def test_module_names_the_catalog_that_carries_a_missing_package(monkeypatch):
    fake = Fake(manifests())
    out = run(monkeypatch, fake, operator=dict(NFD, package="gpu-operator-certified", channel="v25.10"))
    assert out["failed"] and "set the source to certified-operators" in out["msg"]
    assert [c for c in fake.calls if c[1] == "PackageManifest"] == [
        ("list", "PackageManifest", "openshift-marketplace", "catalog=redhat-operators"),
        ("list", "PackageManifest", "openshift-marketplace", None),
    ]


# --- several operators in one call (site.yml's preflight and subscribe phases) ------------------------------------


def run_many(monkeypatch, fake, operators, **args):
    return run(monkeypatch, fake, {"operators": operators}, **args)


def test_many_operators_read_each_cluster_wide_list_once_and_return_objects_in_apply_order(monkeypatch):
    fake = Fake([*manifests(), namespace(labels=OURS), group(), subscription(labels=OURS), csv()])
    out = run_many(monkeypatch, fake, [NFD, GPU])
    assert not out["failed"], out
    assert fake.calls.count(("list", "Subscription", None, None)) == 1
    assert fake.calls.count(("list", "ClusterServiceVersion", None, "!olm.copiedFrom")) == 1
    assert out["api_requests"] == len(fake.calls) == 7  # 2 catalogs, 2 namespaces, 1 group list, subs, csvs
    kinds = [o["kind"] for o in out["objects"]]
    # nfd's Subscription is in place; its namespace lacks a requested label
    assert kinds == ["Namespace", "Namespace", "OperatorGroup", "Subscription"]
    assert out["new_namespaces"] == ["nvidia-gpu-operator"]
    assert out["subscriptions"] == [
        dict(name="nfd", namespace="openshift-nfd", starting_csv="", component="nfd"),
        dict(name="gpu-operator-certified", namespace="nvidia-gpu-operator", starting_csv="", component="gpu_operator"),
    ]
    assert [o["component"] for o in out["operators"]] == ["nfd", "gpu_operator"]


def test_many_operators_refuse_together_naming_each_and_return_no_objects(monkeypatch):
    fake = Fake([*manifests(), namespace(), group("global", spec={})])
    out = run_many(monkeypatch, fake, [NFD, dict(GPU, channel="v99.1")])
    assert out["failed"]
    msg = out["msg"]
    assert "nfd: expected to be able to install package nfd" in msg and "OperatorGroup global" in msg
    assert "gpu_operator: expected to be able to install package gpu-operator-certified" in msg and "v99.1" in msg
    assert msg.endswith("Nothing was changed.") and msg.count("Nothing was changed.") == 1
    assert "objects" not in out and all("objects" not in o for o in out["operators"])


def test_many_operators_keep_the_cause_of_an_api_error(monkeypatch):
    fake = Fake(manifests())
    fake.errors["Subscription"] = ApiError(403, "Forbidden", 'User "dev" cannot list resource "subscriptions"')
    out = run_many(monkeypatch, fake, [NFD, GPU])
    assert out["failed"] and 'User "dev" cannot list resource "subscriptions"' in out["msg"], out
    assert out["msg"].count("cannot list") == 1 and out["msg"].endswith("Nothing was changed.")
    # the first refusal ends the call: the other operators are not read only to fail the same way
    assert fake.calls.count(("list", "Subscription", None, None)) == 1, fake.calls


def test_many_operators_look_for_service_mesh_v2_in_the_subscriptions_they_read_and_warn(monkeypatch):
    mesh = subscription("servicemeshoperator", "openshift-operators", package="servicemeshoperator")
    plane = {"kind": "ServiceMeshControlPlane", "metadata": dict(name="basic", namespace="istio-system", labels={})}
    fake = Fake([*manifests(), namespace(labels=OURS), group(), subscription(labels=OURS), csv(), mesh, plane])
    main = functools.partial(olm_preflight.main, k8s_factory=lambda module: fake)
    out = run_main(monkeypatch, main, {"operators": [NFD], "service_mesh_v2": True}, warnings=True)
    assert not out["failed"], out
    assert out["service_mesh_v2"]["installed"] is True
    assert "Subscription openshift-operators/servicemeshoperator" in out["service_mesh_v2"]["message"]
    assert "ServiceMeshControlPlane istio-system/basic" in out["service_mesh_v2"]["message"]
    assert len(out["warnings"]) == 1 and out["warnings"][0].endswith(
        "This run continues; verify.yml reports it as a failed check."
    )
    # the Subscriptions of every namespace are read once, for the checks and the mesh together
    assert fake.calls.count(("list", "Subscription", None, None)) == 1
    assert fake.calls.count(("list", "ServiceMeshControlPlane", None, None)) == 1
    assert out["api_requests"] == len(fake.calls) == 6


def test_without_maistra_and_service_mesh_v2_nothing_more_is_read_and_nothing_said(monkeypatch):
    fake = Fake(
        [*manifests(), namespace(labels=OURS), group(), subscription(labels=OURS), csv()],
        missing={"ServiceMeshControlPlane"},
    )
    main = functools.partial(olm_preflight.main, k8s_factory=lambda module: fake)
    out = run_main(monkeypatch, main, {"operators": [NFD], "service_mesh_v2": True}, warnings=True)
    assert not out["failed"] and out["warnings"] == []
    assert out["service_mesh_v2"] == dict(installed=False, found=[], message="", remedy="")
    assert out["api_requests"] == len(fake.calls) == 5


def test_a_refused_look_for_service_mesh_v2_fails_keeping_the_cause_and_the_request_count(monkeypatch):
    fake = Fake([*manifests(), namespace(labels=OURS), group(), subscription(labels=OURS), csv()])
    fake.errors["ServiceMeshControlPlane"] = ApiError(403, "Forbidden", 'cannot list "servicemeshcontrolplanes"')
    main = functools.partial(olm_preflight.main, k8s_factory=lambda module: fake)
    out = run_main(monkeypatch, main, {"operators": [NFD], "service_mesh_v2": True})
    assert out["failed"] and 'cannot list "servicemeshcontrolplanes"' in out["msg"]
    assert out["msg"].endswith("Nothing was changed.") and out["api_requests"] == len(fake.calls) == 6
