"""The one table of per-channel Kueue facts and the check of a framework list against it (module_utils/kueue.py)."""

import pytest

from ansible_collections.rhoai.gpu_infra.plugins.filter.kueue import kueue_frameworks, kueue_frameworks_check
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import kueue

RED_HAT = ["Deployment", "Pod", "PyTorchJob", "RayCluster", "RayJob", "StatefulSet", "TrainJob"]
BASE = {
    "BatchJob",
    "RayJob",
    "RayCluster",
    "JobSet",
    "MPIJob",
    "PaddleJob",
    "PyTorchJob",
    "TFJob",
    "XGBoostJob",
    "AppWrapper",
    "Pod",
    "Deployment",
    "StatefulSet",
    "LeaderWorkerSet",
}


# operators.md section 2: JaxJob from 1.1, TrainJob from 1.2, RayService and SparkApplication from 1.4; maxItems 14,
# then 18 on 1.4; LeaderWorkerSet supported by Red Hat from 1.3.
@pytest.mark.parametrize(
    ("channel", "added", "max_items", "lws"),
    [
        ("stable-v1.0", set(), 14, False),
        ("stable-v1.1", {"JaxJob"}, 14, False),
        ("stable-v1.2", {"JaxJob", "TrainJob"}, 14, False),
        ("stable-v1.3", {"JaxJob", "TrainJob"}, 14, True),
        ("stable-v1.4", {"JaxJob", "TrainJob", "RayService", "SparkApplication"}, 18, True),
    ],
)
def test_table_has_the_facts_of_each_channel(channel, added, max_items, lws):
    facts = kueue_frameworks(channel)
    assert facts["known"] is True
    assert facts["channel"] == channel
    assert set(facts["frameworks"]) == BASE | added
    assert len(facts["frameworks"]) == len(set(facts["frameworks"]))
    assert facts["max_items"] == max_items
    assert facts["leader_worker_set_supported"] is lws


@pytest.mark.parametrize("channel", ["stable-v1.0", "stable-v1.1"])
def test_default_is_red_hats_list_without_trainjob_before_1_2(channel):
    assert kueue_frameworks(channel)["default"] == [n for n in RED_HAT if n != "TrainJob"]


@pytest.mark.parametrize("channel", ["stable-v1.2", "stable-v1.3", "stable-v1.4"])
def test_default_is_red_hats_list_from_1_2(channel):
    assert kueue_frameworks(channel)["default"] == RED_HAT


@pytest.mark.parametrize("channel", kueue.known_channels())
def test_every_default_passes_its_own_channel(channel):
    assert kueue_frameworks_check(kueue_frameworks(channel)["default"], channel) == {"errors": [], "warnings": []}


def test_the_default_channel_list_has_what_lets_kueue_admit_inference_and_workbenches():
    assert {"Deployment", "StatefulSet"} <= set(kueue_frameworks("stable-v1.2")["default"])


def test_unknown_channel_is_not_known_and_gets_the_newest_default():
    facts = kueue_frameworks("stable-v1.9")
    assert facts["known"] is False
    assert facts["frameworks"] == []
    assert facts["max_items"] is None
    assert facts["default"] == RED_HAT


def test_facts_are_copies_the_caller_cannot_corrupt():
    kueue_frameworks("stable-v1.2")["frameworks"].append("Foo")
    kueue_frameworks("stable-v1.2")["default"].clear()
    assert "Foo" not in kueue_frameworks("stable-v1.2")["frameworks"]
    assert kueue_frameworks("stable-v1.2")["default"] == RED_HAT


@pytest.mark.parametrize(
    ("channel", "frameworks", "found"),
    [
        ("stable-v1.1", ["Pod", "TrainJob"], "TrainJob (from channel stable-v1.2)"),
        ("stable-v1.0", ["JaxJob"], "JaxJob (from channel stable-v1.1)"),
        ("stable-v1.3", ["RayService", "Pod"], "RayService (from channel stable-v1.4)"),
        ("stable-v1.2", ["BatchJob", "Foo"], "Foo (no channel has it)"),
        ("stable-v1.2", ["batchjob"], "batchjob (no channel has it)"),
    ],
)
def test_names_the_channel_does_not_know_are_errors(channel, frameworks, found):
    result = kueue_frameworks_check(frameworks, channel)
    assert len(result["errors"]) == 1
    message = result["errors"][0]
    assert message.startswith("kueue_frameworks: expected names the Kueue CRD of channel " + channel + " accepts (")
    assert "found " + found in message
    assert "choose a kueue_channel that has them" in message


@pytest.mark.parametrize(("channel", "limit"), [("stable-v1.0", 14), ("stable-v1.1", 14), ("stable-v1.2", 14)])
def test_lists_longer_than_max_items_are_errors(channel, limit):
    names = kueue_frameworks(channel)["frameworks"]
    assert kueue_frameworks_check(names[:limit], channel)["errors"] == []
    names = [*names, "JaxJob"] if len(names) == limit else names
    result = kueue_frameworks_check(names[: limit + 1], channel)
    assert (
        "kueue_frameworks: expected at most {0} names on channel {1} (maxItems of the Kueue CRD), found {2}. "
        "Keep only the frameworks Kueue should manage.".format(limit, channel, limit + 1)
    ) in result["errors"]


def test_every_name_of_1_4_fits_its_max_items():
    assert kueue_frameworks_check(kueue_frameworks("stable-v1.4")["frameworks"], "stable-v1.4")["errors"] == []


def test_empty_and_duplicated_lists_are_errors():
    assert "expected at least one framework" in kueue_frameworks_check([], "stable-v1.2")["errors"][0]
    (message,) = kueue_frameworks_check(["Pod", "Pod", "RayJob"], "stable-v1.2")["errors"]
    assert "expected each name once" in message
    assert "found Pod more than once" in message


def test_a_string_is_not_a_list():
    (message,) = kueue_frameworks_check("Pod", "stable-v1.2")["errors"]
    assert "expected a list of framework names, found 'Pod'" in message


@pytest.mark.parametrize("channel", ["stable-v1.0", "stable-v1.1", "stable-v1.2"])
def test_leader_worker_set_below_1_3_is_a_warning(channel):
    result = kueue_frameworks_check(["Pod", "LeaderWorkerSet"], channel)
    assert result["errors"] == []
    (warning,) = result["warnings"]
    assert "Red Hat supports the LeaderWorkerSet integration from Kueue 1.3" in warning
    assert "channel stable-v1.3 or later" in warning


@pytest.mark.parametrize("channel", ["stable-v1.3", "stable-v1.4"])
def test_leader_worker_set_from_1_3_is_fine(channel):
    assert kueue_frameworks_check(["Pod", "LeaderWorkerSet"], channel) == {"errors": [], "warnings": []}


def test_the_design_inputs_list_passes_on_the_default_channel_with_the_lws_warning():
    result = kueue_frameworks_check(
        ["BatchJob", "RayJob", "RayCluster", "PyTorchJob", "Pod", "LeaderWorkerSet"], "stable-v1.2"
    )
    assert result["errors"] == []
    assert len(result["warnings"]) == 1


def test_unknown_channel_is_an_error_listing_the_known_ones():
    (message,) = kueue_frameworks_check(["Pod"], "candidate")["errors"]
    assert "found 'candidate'" in message
    assert "stable-v1.0, stable-v1.1, stable-v1.2, stable-v1.3, stable-v1.4" in message
    assert "kueue_allow_unknown_channel: true" in message


@pytest.mark.parametrize("allow", [True, "true", "yes"])
def test_unknown_channel_allowed_is_a_warning_and_names_are_left_to_the_crd(allow):
    result = kueue_frameworks_check(["Pod", "SomethingNew"], "stable-v1.9", allow)
    assert result["errors"] == []
    (warning,) = result["warnings"]
    assert "'stable-v1.9' is not in this collection's table" in warning
    assert "set kueue_frameworks explicitly" in warning


def test_unknown_channel_allowed_still_rejects_empty_and_duplicates():
    result = kueue_frameworks_check(["Pod", "Pod"], "stable-v1.9", True)
    assert len(result["errors"]) == 1
    assert "more than once" in result["errors"][0]


# --- after a move to an earlier channel, OLM keeps the installed operator (it never downgrades) --------------------


def test_an_installed_operator_of_a_later_channel_sets_the_frameworks_kueue_cluster_gets():
    # a move from stable-v1.2 to stable-v1.1 used to rewrite Kueue cluster without TrainJob while Kueue 1.2 ran on
    assert kueue.running_channel("stable-v1.1", "kueue-operator.v1.2.0") == "stable-v1.2"
    facts = kueue_frameworks("stable-v1.1", "kueue-operator.v1.2.0")
    assert facts["channel"] == "stable-v1.2" and "TrainJob" in facts["default"]
    result = kueue_frameworks_check(facts["default"], "stable-v1.1", False, "kueue-operator.v1.2.0")
    assert result["errors"] == []
    assert result["warnings"] == [
        "kueue_channel is stable-v1.1, but kueue-operator.v1.2.0 is installed and OLM never downgrades: Kueue cluster "
        "gets the frameworks the Kueue of stable-v1.2 accepts, and kueue_frameworks defaults to Red Hat's list for "
        "stable-v1.2."
    ]


@pytest.mark.parametrize(
    "channel, installed",
    [
        ("stable-v1.2", ""),  # nothing installed yet
        ("stable-v1.2", "kueue-operator.v1.1.0"),  # an upgrade the channel brings
        ("stable-v1.2", "kueue-operator.v1.2.3"),
        ("stable-v1.1", "kueue-operator.v9.9.0"),  # a channel the table does not know
        ("stable-v1.1", "kueue-operator-latest"),  # no version in the name
        ("fast", "kueue-operator.v1.2.0"),  # an unknown channel stays unknown
    ],
)
def test_the_channel_asked_for_counts_otherwise(channel, installed):
    assert kueue.running_channel(channel, installed) == channel
    assert not [w for w in kueue_frameworks_check(["Pod"], channel, True, installed)["warnings"] if "installed" in w]
