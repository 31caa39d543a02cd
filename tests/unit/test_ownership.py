"""Ownership: which objects the collection may change or delete, and the refusal when it may not."""

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership as o

KUEUE = {
    "apiVersion": "kueue.openshift.io/v1",
    "kind": "Kueue",
    "metadata": {"name": "cluster"},
    "spec": {"managementState": "Managed", "config": {"integrations": {"frameworks": ["BatchJob", "Pod"]}}},
}


def live(obj, **labels):
    out = {k: v for k, v in obj.items()}
    out["metadata"] = dict(obj["metadata"], labels=labels, resourceVersion="7", uid="u")
    out["status"] = {"conditions": []}
    return out


def test_absent_object_is_created():
    assert o.classify(KUEUE, None)["action"] == "create"


def test_labelled_object_is_ours_whatever_it_holds():
    theirs = live(dict(KUEUE, spec={"managementState": "Removed"}), **{o.MANAGED_BY_KEY: o.MANAGED_BY})
    assert o.classify(KUEUE, theirs)["action"] == "ours"


def test_foreign_object_equal_to_ours_is_adopted_server_defaults_and_metadata_ignored():
    theirs = live(KUEUE, app="rhoai")
    theirs["spec"] = dict(theirs["spec"], logLevel="Normal")  # a default the operator filled in
    assert o.classify(KUEUE, theirs) == {
        "object": "Kueue cluster",
        "differences": [],
        "action": "adopt",
        "unchanged": False,  # applying it labels it
    }


def test_our_object_that_holds_everything_is_unchanged_and_applying_it_can_be_skipped():
    ours = {o.MANAGED_BY_KEY: o.MANAGED_BY, o.COMPONENT_KEY: "kueue"}
    desired = o.with_labels(KUEUE, "kueue")
    current = live(desired, **ours, extra="kept")
    current["spec"] = dict(current["spec"], logLevel="Normal")  # a default the operator filled in
    assert o.classify(desired, current) == {
        "object": "Kueue cluster",
        "differences": [],
        "action": "ours",
        "unchanged": True,
    }
    # a changed variable: ours still, with the difference an apply makes
    edited = live(dict(desired, spec={"managementState": "Removed"}), **ours)
    found = o.classify(desired, edited)
    assert found["action"] == "ours" and found["unchanged"] is False
    assert (
        found["differences"][0]
        == 'spec.config: want {"integrations": {"frameworks": ["BatchJob", "Pod"]}}, found nothing'
    )
    # a label or an annotation the definition sets, and the object lacks, is a change too
    annotated = o.with_labels(dict(KUEUE, metadata=dict(KUEUE["metadata"], annotations={"a": "1"})), "kueue")
    assert o.classify(annotated, current)["unchanged"] is False
    assert o.classify(o.with_labels(KUEUE, "lws"), current)["unchanged"] is False


def test_foreign_object_that_differs_is_a_conflict_naming_each_difference():
    theirs = live(dict(KUEUE, spec={"managementState": "Managed", "config": {"integrations": {"frameworks": ["Pod"]}}}))
    found = o.classify(KUEUE, theirs)
    assert found["action"] == "conflict"
    assert found["differences"] == [
        'spec.config.integrations.frameworks: want ["BatchJob", "Pod"], found ["Pod"]',
    ]
    message = o.conflict_message("kueue", [found])
    for text in ("Kueue cluster", "gpu_infra_adopt=true", 'found ["Pod"]', "Nothing was changed."):
        assert text in message


def test_differences_show_no_credential_of_the_objects_compared():
    want = {"spec": {"validator": {"env": [{"name": "WITH_WORKLOAD", "value": "false"}]}, "password": "ours-pw-123"}}
    have = {"spec": {"validator": {"env": [{"name": "API_TOKEN", "value": "their-t0ken-value"}]}, "password": "x-pw"}}
    shown = " ".join(o.differences(want, have))
    assert "spec.validator.env" in shown and "WITH_WORKLOAD" in shown and "API_TOKEN" in shown
    for secret in ("their-t0ken-value", "ours-pw-123", "x-pw"):
        assert secret not in shown


def test_adopt_takes_over_a_differing_object():
    theirs = live(dict(KUEUE, spec={"managementState": "Removed"}))
    assert o.classify(KUEUE, theirs, adopt=True)["action"] == "adopt"


def test_missing_field_and_type_differences_count_but_int_float_do_not():
    assert o.differences({"spec": {"a": 1}}, {"spec": {}}) == ["spec.a: want 1, found nothing"]
    assert o.differences({"spec": {"a": "1"}}, {"spec": {"a": 1}}) == ['spec.a: want "1", found 1']
    assert o.differences({"spec": {"a": 1}}, {"spec": {"a": 1.0}}) == []
    assert o.differences({"spec": {"a": True}}, {"spec": {"a": 1}}) != []


def test_a_null_in_the_definition_asks_for_the_field_to_be_absent():
    # A JSON merge patch deletes the fields it sets to null (RFC 7386): an object without them already holds it.
    assert o.differences({"spec": {"a": None, "b": 1}}, {"spec": {"b": 1}}) == []
    assert o.differences({"spec": {"a": None}}, {"spec": {"a": "x"}}) == ['spec.a: want null, found "x"']


def test_with_labels_keeps_the_objects_own_labels():
    obj = o.with_labels({"kind": "ConfigMap", "metadata": {"name": "x", "labels": {"grafana": "yes"}}}, "gpu_operator")
    assert obj["metadata"]["labels"] == {
        "grafana": "yes",
        o.MANAGED_BY_KEY: o.MANAGED_BY,
        o.COMPONENT_KEY: "gpu_operator",
    }
    assert o.is_ours(obj)
