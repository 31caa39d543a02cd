"""Pure OLM logic: fixtures shaped like the objects OLM really returns, one per case."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.rhoai.gpu_infra.plugins.filter.olm import olm_catalog_check, olm_resources
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
    for key in ("phase", "csv"):
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
    assert objs["namespace"]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "rhoai.gpu_infra"}
    assert objs["operator_group"]["spec"] == {"targetNamespaces": ["openshift-nfd"]}
    assert objs["operator_group"]["metadata"]["name"] == "openshift-nfd"
    assert objs["subscription"]["metadata"] == {"name": "nfd", "namespace": "openshift-nfd"}
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


def test_olm_resources_filter_combines_objects_and_group_decision():
    out = olm_resources(NFD, True, [group("keep-me", {"targetNamespaces": ["openshift-nfd"]})])
    assert out["operator_group_action"] == "reuse" and out["operator_group_name"] == "keep-me" and out["error"] == ""
    out = olm_resources(NFD, True, [group("global", {})])
    assert out["operator_group_action"] == "error" and "global" in out["error"]


# --- Catalog --------------------------------------------------------------------------------------------------------


def test_catalog_check_ok():
    assert olm.catalog_check(MANIFESTS, "nfd", "stable", "redhat-operators") == ""
    assert olm_catalog_check(MANIFESTS, dict(NFD, starting_csv="nfd.4.20.0-202509301512")) == ""


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
    msg = olm_catalog_check(
        MANIFESTS,
        dict(package="kueue-operator", channel="stable-v1.2", source="redhat-operators", install_mode="OwnNamespace"),
    )
    assert "does not support install mode OwnNamespace" in msg and "AllNamespaces" in msg
    assert olm_catalog_check(MANIFESTS, dict(NFD, install_mode="AllNamespaces")).startswith("Package nfd")
