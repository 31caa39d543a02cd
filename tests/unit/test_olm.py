"""Pure OLM logic: fixtures shaped like the objects OLM really returns, one per case."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import olm

FIXTURES = Path(__file__).parent / "fixtures" / "olm"
CASES = sorted(p for p in FIXTURES.glob("*.yaml") if not p.name.startswith("_") and p.name != "packagemanifests.yaml")


def load(name):
    return yaml.safe_load((FIXTURES / name).read_text())


MANIFESTS = load("packagemanifests.yaml")


def run_case(case):
    sub = case.get("subscription") or load(case["subscription_file"])
    manifests = load(case["manifests_file"]) if case.get("manifests_file") else None
    return olm.assess(
        sub,
        case.get("installplan"),
        case.get("csv"),
        installed=case.get("installed"),
        manifests=manifests,
        starting_csv=case.get("starting_csv", ""),
        groups=case.get("operatorgroups"),
        siblings=case.get("siblings"),
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_assess_fixture(path):
    case = yaml.safe_load(path.read_text())
    expect = case["expect"]
    result = run_case(case)
    assert result["state"] == expect["state"], result
    assert result["final"] == expect["final"], result
    if "stuck" in expect:
        assert result["stuck"] == expect["stuck"], result
    for key in ("phase", "csv", "transient"):
        if key in expect:
            assert result[key] == expect[key], result
    for text in expect.get("diagnosis_contains", []):
        assert text in result["diagnosis"], (text, result["diagnosis"])
    for text in expect.get("diagnosis_excludes", []):
        assert text not in result["diagnosis"], (text, result["diagnosis"])
    if "approve" in expect:
        assert olm.should_approve(case.get("installplan"), case.get("starting_csv", "")) == expect["approve"]


def test_every_state_is_covered_by_a_fixture():
    states = {yaml.safe_load(p.read_text())["expect"]["state"] for p in CASES}
    assert states == {olm.RESOLVING, olm.NEEDS_APPROVAL, olm.INSTALLING, olm.SUCCEEDED, olm.FAILED, olm.UPGRADING}


def test_missing_subscription_is_stuck_not_final():
    result = olm.assess(None)
    assert (result["state"], result["final"], result["stuck"]) == ("resolving", False, True)


def test_resolution_failure_without_catalog_data_still_says_what_to_check():
    case = load("resolution_failed_channel.yaml")
    result = olm.assess(case["subscription"])
    assert result["state"] == "failed"
    assert "channel stabel" in result["diagnosis"]
    assert "oc get packagemanifests" in result["diagnosis"]


def test_install_plan_failed_condition_without_the_plan_is_final():
    sub = load("installplan_failed.yaml")["subscription"]
    result = olm.assess(sub)
    assert result["state"] == "failed" and result["final"]
    assert "error validating" in result["diagnosis"]


def test_should_approve_only_unapproved_manual_plans_with_the_pinned_csv():
    plan = load("installplan_requires_approval_pinned.yaml")["installplan"]
    assert olm.should_approve(plan, "gpu-operator-certified.v25.10.0")
    assert not olm.should_approve(plan, "")
    assert not olm.should_approve(plan, "gpu-operator-certified.v25.10.1")
    approved = dict(plan, spec=dict(plan["spec"], approved=True))
    assert not olm.should_approve(approved, "gpu-operator-certified.v25.10.0")
    automatic = dict(plan, spec=dict(plan["spec"], approval="Automatic"))
    assert not olm.should_approve(automatic, "gpu-operator-certified.v25.10.0")


def test_compact_keeps_what_a_person_needs():
    case = load("csv_failed_unsupported_operator_group.yaml")
    out = olm.compact(case["csv"])
    assert out["phase"] == "Failed" and out["reason"] == "UnsupportedOperatorGroup"
    assert out["conditions"][-1]["reason"] == "UnsupportedOperatorGroup"
    assert "spec" not in out
    plan = olm.compact(load("installplan_requires_approval_other_csv.yaml")["installplan"])
    assert plan["csvs"] == ["nvidia-network-operator.v25.7.0", "gpu-operator-certified.v25.10.1"]
    assert plan["approved"] is False
    assert olm.compact(None) is None


def test_sibling_failure_checks_the_sibling_package_in_the_same_catalog():
    case = load("real_resolution_failed_sibling.yaml")
    manifests = [dict(m, status=dict(m["status"], catalogSource="spike")) for m in MANIFESTS]
    result = olm.assess(case["subscription"], manifests=manifests, siblings=case["siblings"])
    assert "Package ghost-op is not in catalog spike" in result["diagnosis"]
    # A sibling of another catalog is not judged by this catalog's PackageManifests.
    other = [dict(case["siblings"][0], spec=dict(case["siblings"][0]["spec"], source="elsewhere"))]
    result = olm.assess(case["subscription"], manifests=manifests, siblings=other)
    assert "is not in catalog" not in result["diagnosis"]


def test_sibling_failure_without_the_sibling_object_still_names_it():
    case = load("real_resolution_failed_sibling.yaml")
    result = olm.assess(case["subscription"])
    assert result["diagnosis"].startswith("Resolution of namespace operators fails because of Subscription ghost:")


def test_a_conflict_naming_this_subscription_and_another_names_both_then_checks_this_one():
    sub = load("real_resolution_failed_sibling.yaml")["subscription"]
    sub["status"]["conditions"][1]["message"] = (
        "constraints not satisfiable: subscription simple-op requires @existing/operators//allns-op.v1.1.0, "
        "subscription allns-op exists, subscription simple-op exists"
    )
    result = olm.assess(sub)
    assert "fails because of Subscription allns-op" in result["diagnosis"]
    assert "Check that package simple-op" in result["diagnosis"]


def test_named_subscriptions_reads_olm_messages():
    assert olm.named_subscriptions(
        "constraints not satisfiable: no operators found in package ghost-op in the catalog referenced by "
        "subscription ghost, subscription ghost exists"
    ) == ["ghost"]
    assert olm.named_subscriptions("subscription a.b-c requires x, subscription d exists") == ["a.b-c", "d"]
    assert olm.named_subscriptions("") == []


def test_missing_catalog_of_a_sibling_is_named_with_the_sibling():
    case = load("real_resolution_failed_missing_catalog.yaml")
    sub = case["subscription"]
    sub["status"]["conditions"] = sub["status"]["conditions"][1:]  # the sibling's catalog is not this one's
    sub["metadata"]["name"] = "other-op"
    result = olm.assess(sub)
    assert "fails because of Subscription simple-op" in result["diagnosis"]
    assert "OLM has no operators from CatalogSource missing-catalog in namespace olm" in result["diagnosis"]
    assert "Subscription simple-op to a catalog that exists" in result["diagnosis"]


def test_no_operators_from_a_catalog_that_exists_is_not_called_missing():
    sub = load("real_resolution_failed_missing_catalog.yaml")["subscription"]
    sub["status"]["conditions"] = sub["status"]["conditions"][1:]
    result = olm.assess(sub)
    assert result["state"] == "failed"
    assert "does not exist or has not served its content yet" in result["diagnosis"]


def test_copies_are_recognised_by_label_or_reason():
    assert olm.is_copy({"metadata": {"labels": {"olm.copiedFrom": "operators"}}})
    assert olm.is_copy({"metadata": {}, "status": {"reason": "Copied"}})
    assert not olm.is_copy(load("csv_succeeded.yaml")["csv"])
    assert not olm.is_copy(None)


def test_groups_are_ignored_once_olm_has_acted():
    case = load("csv_installing.yaml")
    sub = load(case["subscription_file"])
    result = olm.assess(sub, None, case["csv"], groups=[])
    assert result["state"] == "installing"


# --- Tracker: verdicts over successive reads (a fake clock: the ``now`` passed in) -----------------------------------


def assessed(name):
    return run_case(load(name))


def test_transient_failure_seen_once_does_not_end_the_wait():
    tracker = olm.Tracker(confirm=5)
    failed = assessed("real_csv_failed_component_unhealthy.yaml")
    first = tracker.judge(failed, 100.0)
    assert first["state"] == "failed" and not first["final"]
    assert "read again" in first["diagnosis"]
    # A second read within the confirmation time still does not decide.
    assert not tracker.judge(failed, 102.0)["final"]
    # OLM reinstalls: the wait goes on, and the failure stays in the diagnosis for whoever reads it at the end.
    installing = tracker.judge(assessed("csv_installing.yaml"), 103.0)
    assert installing["state"] == "installing" and not installing["final"]
    assert "ComponentUnhealthy" in installing["diagnosis"] and "100 s into the wait" in installing["diagnosis"]
    # A success forgets it.
    done = tracker.judge(assessed("csv_succeeded.yaml"), 110.0)
    assert done["final"] and "ComponentUnhealthy" not in done["diagnosis"]


def test_transient_failure_that_holds_across_reads_ends_the_wait():
    tracker = olm.Tracker(confirm=5)
    failed = assessed("real_csv_failed_install_timeout.yaml")
    assert not tracker.judge(failed, 10.0)["final"]
    assert not tracker.judge(failed, 12.0)["final"]
    held = tracker.judge(failed, 15.0)
    assert held["final"] and held["state"] == "failed"
    assert "install timeout" in held["diagnosis"] and "still Failed after 5 s" in held["diagnosis"]


def test_a_break_in_the_failure_restarts_the_confirmation():
    tracker = olm.Tracker(confirm=5)
    failed = assessed("real_csv_failed_component_unhealthy.yaml")
    tracker.judge(failed, 0.0)
    tracker.judge(assessed("csv_installing.yaml"), 3.0)
    assert not tracker.judge(failed, 6.0)["final"]
    assert tracker.judge(failed, 11.0)["final"]


@pytest.mark.parametrize(
    "name",
    [
        "real_csv_failed_progress_deadline.yaml",
        "real_csv_failed_unsupported_operator_group.yaml",
        "csv_failed_too_many_operator_groups.yaml",
        "csv_failed_requirements_not_met.yaml",
        "real_upgrade_waits_installed_failed.yaml",
    ],
)
def test_failures_that_hold_end_the_wait_on_the_first_read(name):
    result = olm.Tracker(confirm=5).judge(assessed(name), 0.0)
    assert result["final"] and result["state"] == "failed"


def test_stuck_state_ends_the_wait_after_the_grace_unless_it_changes():
    tracker = olm.Tracker(stuck_grace=30)
    stuck = assessed("catalog_unhealthy.yaml")
    assert not tracker.judge(stuck, 0.0)["final"]
    assert not tracker.judge(stuck, 29.0)["final"]
    ended = tracker.judge(stuck, 30.0)
    assert ended["final"] and ended["state"] == "failed" and "unchanged for 30 s" in ended["diagnosis"]
    tracker = olm.Tracker(stuck_grace=30)
    tracker.judge(stuck, 0.0)
    tracker.judge(assessed("resolving_new.yaml"), 20.0)
    assert not tracker.judge(stuck, 40.0)["final"]


def test_operator_groups_are_wanted_only_after_the_grace_without_state_or_plan():
    tracker = olm.Tracker(group_grace=20)
    sub = load("real_two_operator_groups.yaml")["subscription"]
    assert not tracker.wants_groups(sub, 3.0)  # first seen at 3 s
    assert not tracker.wants_groups(sub, 22.9)
    assert tracker.wants_groups(sub, 23.0)
    # OLM acts: the clock starts again if it ever shows nothing again.
    resolved = load("_sub_installing.yaml")
    assert not tracker.wants_groups(resolved, 24.0)
    assert not tracker.wants_groups(sub, 25.0)
    assert tracker.wants_groups(sub, 45.0)
    assert not tracker.wants_groups(None, 50.0)


def test_a_subscription_with_a_reason_for_no_plan_is_not_unresolved():
    assert olm.unresolved(load("real_two_operator_groups.yaml")["subscription"])
    assert olm.unresolved(load("resolving_new.yaml")["subscription"])
    assert not olm.unresolved(load("catalog_unhealthy.yaml")["subscription"])
    assert not olm.unresolved(load("real_resolution_failed_missing_catalog.yaml")["subscription"])
    assert not olm.unresolved(load("_sub_installing.yaml"))
    assert not olm.unresolved(None)


# --- OperatorGroups -----------------------------------------------------------------------------------------------


def group(name, spec, namespace="openshift-nfd", **meta):
    return {"metadata": dict(name=name, namespace=namespace, **meta), "spec": spec}


def test_no_group_creates_one():
    assert olm.operator_group_plan([], "openshift-nfd", "OwnNamespace") == dict(
        action="create", name="openshift-nfd", message=""
    )


@pytest.mark.parametrize(
    "spec,mode,action",
    [
        ({"targetNamespaces": ["openshift-nfd"]}, "OwnNamespace", "reuse"),
        ({}, "AllNamespaces", "reuse"),
        ({"targetNamespaces": []}, "AllNamespaces", "reuse"),
        ({}, "OwnNamespace", "error"),
        ({"targetNamespaces": ["openshift-nfd"]}, "AllNamespaces", "error"),
        ({"targetNamespaces": ["other"]}, "OwnNamespace", "error"),
        ({"selector": {"matchLabels": {"a": "b"}}}, "AllNamespaces", "error"),
    ],
)
def test_one_group_is_reused_only_when_compatible(spec, mode, action):
    plan = olm.operator_group_plan([group("existing-og", spec)], "openshift-nfd", mode)
    assert plan["action"] == action
    if action == "reuse":
        assert plan["name"] == "existing-og"
    else:
        assert "existing-og" in plan["message"] and mode in plan["message"]


def test_incompatible_group_message_says_what_to_do():
    plan = olm.operator_group_plan([group("global", {})], "openshift-nfd", "OwnNamespace")
    assert "selects AllNamespaces" in plan["message"]
    assert "spec.targetNamespaces: [openshift-nfd]" in plan["message"]
    assert "UnsupportedOperatorGroup" in plan["message"]


def test_two_groups_are_an_error_naming_both():
    groups = [group("a", {}), group("b", {"targetNamespaces": ["openshift-nfd"]})]
    plan = olm.operator_group_plan(groups, "openshift-nfd", "OwnNamespace")
    assert plan["action"] == "error"
    assert "TooManyOperatorGroups" in plan["message"] and "a, b" in plan["message"]
    assert "keeping one whose install mode is OwnNamespace" in plan["message"]


def test_group_being_deleted_does_not_count():
    groups = [group("old", {}, deletionTimestamp="2025-11-03T09:00:00Z")]
    assert olm.operator_group_plan(groups, "openshift-nfd", "OwnNamespace")["action"] == "create"


# --- Objects --------------------------------------------------------------------------------------------------------

NFD = dict(
    component="nfd",
    package="nfd",
    channel="stable",
    source="redhat-operators",
    namespace="openshift-nfd",
    install_mode="OwnNamespace",
)


def test_build_objects_minimal():
    objs = olm.build_objects(NFD)
    ours = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "nfd"}
    assert objs["namespace"]["metadata"]["labels"] == ours
    assert objs["operator_group"]["spec"] == {"targetNamespaces": ["openshift-nfd"]}
    assert objs["operator_group"]["metadata"]["name"] == "openshift-nfd"
    assert objs["operator_group"]["metadata"]["labels"] == ours
    assert objs["subscription"]["metadata"] == {"name": "nfd", "namespace": "openshift-nfd", "labels": ours}
    assert objs["subscription"]["spec"] == {
        "channel": "stable",
        "name": "nfd",
        "source": "redhat-operators",
        "sourceNamespace": "openshift-marketplace",
        "installPlanApproval": "Automatic",
    }


def test_build_objects_full():
    op = dict(
        NFD,
        install_mode="AllNamespaces",
        approval="Manual",
        starting_csv="nfd.4.20.0-202510211040",
        config={"tolerations": [{"operator": "Exists"}]},
        namespace_labels={"openshift.io/cluster-monitoring": "true"},
        subscription_name="my-nfd",
        operator_group_name="my-og",
    )
    objs = olm.build_objects(op, namespace_exists=True)
    # An existing namespace gets only the requested labels, never the managed-by mark.
    assert objs["namespace"]["metadata"]["labels"] == {"openshift.io/cluster-monitoring": "true"}
    assert objs["operator_group"]["spec"] == {}
    assert objs["operator_group"]["metadata"]["name"] == "my-og"
    spec = objs["subscription"]["spec"]
    assert spec["startingCSV"] == "nfd.4.20.0-202510211040"
    assert spec["installPlanApproval"] == "Manual"
    assert spec["config"] == {"tolerations": [{"operator": "Exists"}]}
    assert objs["subscription"]["metadata"]["name"] == "my-nfd"


def test_existing_namespace_without_requested_labels_gets_no_labels_key():
    objs = olm.build_objects(NFD, namespace_exists=True)
    assert "labels" not in objs["namespace"]["metadata"]


# --- Catalog --------------------------------------------------------------------------------------------------------


def test_catalog_check_ok():
    assert olm.catalog_check(MANIFESTS, "nfd", "stable", "redhat-operators") == ""
    assert olm.catalog_check(MANIFESTS, "nfd", "stable", "redhat-operators", "nfd.4.20.0-202509301512") == ""


def test_catalog_check_wrong_channel_lists_the_channels():
    msg = olm.catalog_check(MANIFESTS, "gpu-operator-certified", "v24.9", "certified-operators")
    assert "Channel v24.9 does not exist" in msg
    assert "v25.10, v25.3" in msg and "default: v25.10" in msg


def test_catalog_check_package_in_another_catalog_names_it():
    msg = olm.catalog_check(MANIFESTS, "gpu-operator-certified", "v25.10", "redhat-operators")
    assert "not in catalog redhat-operators" in msg
    assert "set the source to certified-operators" in msg


def test_catalog_check_unknown_package():
    msg = olm.catalog_check(MANIFESTS, "no-such-operator", "stable", "redhat-operators")
    assert "No catalog on this cluster carries it" in msg


def test_catalog_check_starting_csv_not_in_channel():
    msg = olm.catalog_check(MANIFESTS, "nfd", "stable", "redhat-operators", "nfd.4.19.0-1")
    assert "startingCSV nfd.4.19.0-1 is not in channel stable" in msg and "nfd.4.20.0-202510211040" in msg


def test_catalog_check_install_mode():
    msg = olm.catalog_check(MANIFESTS, "kueue-operator", "stable-v1.2", "redhat-operators", install_mode="OwnNamespace")
    assert "does not support install mode OwnNamespace" in msg and "AllNamespaces" in msg
    assert olm.catalog_check(MANIFESTS, "nfd", "stable", "redhat-operators", install_mode="AllNamespaces").startswith(
        "Package nfd"
    )
