"""The monitoring role's config.yaml merge: user settings survive, our keys are set once, and removal is exact."""

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.rhoai.gpu_infra.plugins.filter.monitoring_config import (
    FilterModule,
    monitoring_config_error,
    monitoring_config_merge,
    monitoring_config_remove,
)

USER_CONFIG = """\
# retention agreed with the SRE team
prometheusK8s:
  retention: 15d
  volumeClaimTemplate:
    spec:
      storageClassName: gp3-csi
      resources:
        requests:
          storage: 100Gi
alertmanagerMain:
  nodeSelector:
    node-role.kubernetes.io/infra: ""
"""


def test_merge_keeps_user_settings_and_sets_both_keys_in_the_right_place():
    result = monitoring_config_merge(USER_CONFIG)
    data = yaml.safe_load(result["config"])
    assert result["changed"] is True
    assert data["enableUserWorkload"] is True
    assert data["alertmanagerMain"]["enableUserAlertmanagerConfig"] is True
    assert "enableUserAlertmanagerConfig" not in data
    assert data["prometheusK8s"] == yaml.safe_load(USER_CONFIG)["prometheusK8s"]
    assert data["alertmanagerMain"]["nodeSelector"] == {"node-role.kubernetes.io/infra": ""}
    assert result["managed_keys"] == ["alertmanagerMain.enableUserAlertmanagerConfig", "enableUserWorkload"]


def test_merge_of_merged_config_changes_nothing_and_keeps_the_string():
    first = monitoring_config_merge(USER_CONFIG)
    second = monitoring_config_merge(first["config"], first["managed_keys"])
    assert second["changed"] is False
    assert second["config"] == first["config"]
    assert second["managed_keys"] == first["managed_keys"]


def test_already_enabled_config_is_returned_byte_for_byte_with_comments():
    config = "# keep me\nenableUserWorkload: true\nalertmanagerMain:\n  enableUserAlertmanagerConfig: true\n"
    result = monitoring_config_merge(config)
    assert result == {"config": config, "changed": False, "managed_keys": [], "moved": False}


@pytest.mark.parametrize("config", [None, "", "   \n"])
def test_absent_config_is_created(config):
    result = monitoring_config_merge(config)
    assert yaml.safe_load(result["config"]) == {
        "enableUserWorkload": True,
        "alertmanagerMain": {"enableUserAlertmanagerConfig": True},
    }


def test_misplaced_top_level_key_moves_under_alertmanager_main():
    config = "enableUserWorkload: true\nenableUserAlertmanagerConfig: true\nprometheusK8s:\n  retention: 7d\n"
    result = monitoring_config_merge(config)
    data = yaml.safe_load(result["config"])
    assert result["moved"] is True
    assert result["changed"] is True
    assert "enableUserAlertmanagerConfig" not in data
    assert data["alertmanagerMain"] == {"enableUserAlertmanagerConfig": True}
    assert data["prometheusK8s"] == {"retention": "7d"}
    # The user asked for both already, so neither belongs to us on removal.
    assert result["managed_keys"] == []


def test_false_value_is_turned_on_and_recorded():
    result = monitoring_config_merge("enableUserWorkload: false\n", user_alertmanager=False)
    assert yaml.safe_load(result["config"]) == {"enableUserWorkload": True}
    assert result["managed_keys"] == ["enableUserWorkload"]


def test_previous_managed_keys_are_kept_from_an_annotation_string():
    result = monitoring_config_merge("enableUserWorkload: false\n", "alertmanagerMain.enableUserAlertmanagerConfig")
    assert result["managed_keys"] == ["alertmanagerMain.enableUserAlertmanagerConfig", "enableUserWorkload"]


# The ConfigMap of the defect report: the third line is indented by one space.
MALFORMED = "prometheusK8s:\n  retention: 15d\n bad: [\n"
WHERE = "key config.yaml of ConfigMap openshift-monitoring/cluster-monitoring-config"
REMEDY = "Fix or delete the key with `oc edit configmap cluster-monitoring-config -n openshift-monitoring` and re-run"


def assert_says_what_to_do(message):
    assert message.startswith("Expected " + WHERE + " to "), message
    assert REMEDY in message, message
    assert message.endswith("the ConfigMap was left as it is."), message
    # one line: Ansible prints it inside a failure message, and a source excerpt with carets would break it up
    assert "\n" not in message, message


@pytest.mark.parametrize("merge", [monitoring_config_merge, monitoring_config_remove])
def test_config_that_does_not_parse_is_refused_quoting_the_parser(merge):
    with pytest.raises(AnsibleFilterError) as refused:
        merge(MALFORMED, "enableUserWorkload")
    message = str(refused.value)
    assert_says_what_to_do(message)
    assert (
        "to be valid YAML, found: while parsing a block mapping (line 1, column 1); expected <block end>, "
        "but found '<block mapping start>' (line 3, column 2)." in message
    ), message
    # the parser's exception stays the cause, for -vvv
    assert isinstance(refused.value.__cause__, yaml.YAMLError)


@pytest.mark.parametrize(
    "config, found",
    [("- a\n- b\n", "found a list: ['a', 'b']."), ("just a string", "found a string: 'just a string'.")],
)
def test_config_that_is_not_a_mapping_is_refused_saying_what_it_is(config, found):
    with pytest.raises(AnsibleFilterError) as refused:
        monitoring_config_merge(config)
    message = str(refused.value)
    assert_says_what_to_do(message)
    assert "to be a YAML mapping of settings (such as prometheusK8s), " + found in message, message


@pytest.mark.parametrize(
    "config",
    [
        "alertmanagerMain: [nodeSelector]\n",
        "alertmanagerMain: true\n",
        # the misplaced key is moved into the same section
        "enableUserAlertmanagerConfig: true\nalertmanagerMain: on-infra-nodes\n",
    ],
)
def test_alertmanager_main_that_is_not_a_mapping_is_refused_not_replaced(config):
    with pytest.raises(AnsibleFilterError) as refused:
        monitoring_config_merge(config)
    message = str(refused.value)
    assert_says_what_to_do(message)
    assert "to hold a mapping (or nothing) under alertmanagerMain, found a " in message, message


def test_alertmanager_main_that_is_not_a_mapping_is_left_alone_when_not_merged_into():
    result = monitoring_config_merge("alertmanagerMain: [nodeSelector]\n", user_alertmanager=False)
    assert yaml.safe_load(result["config"]) == {"alertmanagerMain": ["nodeSelector"], "enableUserWorkload": True}


def test_empty_alertmanager_main_is_filled():
    result = monitoring_config_merge("alertmanagerMain:\n")
    assert yaml.safe_load(result["config"])["alertmanagerMain"] == {"enableUserAlertmanagerConfig": True}


@pytest.mark.parametrize("config", [MALFORMED, "- a\n", "alertmanagerMain: 1\n"])
def test_error_filter_returns_the_message_the_merge_fails_with(config):
    with pytest.raises(AnsibleFilterError) as refused:
        monitoring_config_merge(config)
    assert monitoring_config_error(config) == str(refused.value)


@pytest.mark.parametrize("config", [None, "", USER_CONFIG, "alertmanagerMain: 1\n"])
def test_error_filter_returns_nothing_for_a_config_the_merge_takes(config):
    user_alertmanager = config != "alertmanagerMain: 1\n"
    monitoring_config_merge(config, user_alertmanager=user_alertmanager)
    assert monitoring_config_error(config, user_alertmanager) == ""


def test_remove_takes_out_only_managed_keys_and_the_section_it_emptied():
    merged = monitoring_config_merge("prometheusK8s:\n  retention: 15d\n")
    result = monitoring_config_remove(merged["config"], ",".join(merged["managed_keys"]))
    assert result["changed"] is True
    assert yaml.safe_load(result["config"]) == {"prometheusK8s": {"retention": "15d"}}


def test_remove_keeps_a_section_the_user_filled():
    merged = monitoring_config_merge(USER_CONFIG)
    data = yaml.safe_load(monitoring_config_remove(merged["config"], merged["managed_keys"])["config"])
    assert data == yaml.safe_load(USER_CONFIG)


def test_remove_without_managed_keys_leaves_user_enabled_monitoring_alone():
    config = "enableUserWorkload: true\n"
    assert monitoring_config_remove(config, "") == {"config": config, "changed": False, "managed_keys": []}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "monitoring_config_error",
        "monitoring_config_merge",
        "monitoring_config_remove",
    }
