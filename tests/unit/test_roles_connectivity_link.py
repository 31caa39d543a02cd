"""The connectivity_link role and how authorino, limitador and dns choose their layout: values, specs, templates.

No cluster: the role files are read as data and expressions are rendered with Ansible's templar
(tests/integration/test_connectivity_link.py runs both layouts on the test bed).
"""

import pytest
import yaml

from tests.unit.test_roles_platform import ROLES, load, render

ROLE = "connectivity_link"
COMPONENTS = ("authorino", "limitador", "dns")


def test_defaults_match_the_operator_reference():
    defaults = load(ROLE, "defaults/main.yml")
    assert (defaults["connectivity_link_package"], defaults["connectivity_link_channel"]) == ("rhcl-operator", "stable")
    assert defaults["connectivity_link_source"] == "redhat-operators"
    assert defaults["connectivity_link_namespace"] == "kuadrant-system"
    assert defaults["connectivity_link_kuadrant_name"] == "kuadrant"
    assert defaults["connectivity_link_authorino_cert_secret"] == "authorino-server-cert"
    olm = load(ROLE, "vars/main.yml")["__connectivity_link_olm_operator"]
    # operators.md section 1: OperatorGroup kuadrant, spec: {}
    assert (olm["install_mode"], olm["operator_group_name"]) == ("AllNamespaces", "kuadrant")
    deps = {d["package"] for d in load(ROLE, "vars/main.yml")["__connectivity_link_dependencies"]}
    assert deps == {"authorino-operator", "limitador-operator", "dns-operator"}


def test_every_entry_point_has_a_spec_covering_every_default():
    specs = load(ROLE, "meta/argument_specs.yml")["argument_specs"]
    # spec.yml is no entry point: it is empty, for playbooks to import the role's vars (component_facts.yml)
    assert set(specs) == {p.stem for p in (ROLES / ROLE / "tasks").glob("*.yml")} - {"spec"}
    defaults = set(load(ROLE, "defaults/main.yml"))
    for name, spec in specs.items():
        assert set(spec["options"]) == defaults | {"connectivity_link_operator", "gpu_infra_connectivity_link"}, name
    assert all(name.startswith(ROLE + "_") for name in defaults)
    assert all(name.startswith("__" + ROLE + "_") for name in load(ROLE, "vars/main.yml"))


def test_the_catalog_of_the_test_bed_has_rhcl_require_its_three_dependencies():
    catalog = yaml.safe_load((ROLES.parent / "tests/ocp_sim/openshift/catalog.yaml").read_text())
    (rhcl,) = [p for p in catalog["packages"] if p["name"] == "rhcl-operator"]
    assert {r["package"] for r in rhcl["requires"]} == {"authorino-operator", "limitador-operator", "dns-operator"}
    assert "kuadrants.kuadrant.io" in rhcl["ownedCRDs"]


def test_kuadrant_template():
    source = (ROLES / ROLE / "templates/kuadrant.yaml.j2").read_text()
    rendered = yaml.safe_load(render(ROLE, source))
    assert rendered == {
        "apiVersion": "kuadrant.io/v1beta1",
        "kind": "Kuadrant",
        "metadata": {
            "name": "kuadrant",
            "namespace": "kuadrant-system",
            # teardown deletes only a Kuadrant CR with these (or one in a namespace this collection created)
            "labels": {
                "app.kubernetes.io/managed-by": "rhoai.gpu_infra",
                "rhoai.gpu-infra/component": "connectivity_link",
            },
        },
        "spec": {},
    }


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), (True, True), ("true", True), (False, False), ("false", False), ("no", False)]
)
def test_components_read_the_collection_wide_choice_as_a_bool(component, value, expected):
    overrides = {} if value is None else {"gpu_infra_connectivity_link": value}
    assert render(component, "{{ __%s_connectivity_link }}" % component, **overrides) is expected


@pytest.mark.parametrize("component", COMPONENTS)
def test_components_document_the_choice_and_a_ready_entry_point(component):
    specs = load(component, "meta/argument_specs.yml")["argument_specs"]
    assert "ready" in specs
    option = specs["main"]["options"]["gpu_infra_connectivity_link"]
    assert (option["type"], option["default"]) == ("bool", True)
    assert "gpu_infra_connectivity_link" in (ROLES / component / "README.md").read_text()


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_entry_point_of_a_component_takes_one_layout_or_the_other(component):
    """Each task file that installs, checks or removes something does it for Connectivity Link or standalone,
    never both: every include of olm_operator or connectivity_link is conditioned on the layout."""
    for entry in ("subscribe", "configure", "ready", "verify", "remove"):
        tasks = yaml.safe_load((ROLES / component / "tasks" / (entry + ".yml")).read_text())
        for task in tasks:
            include = task.get("ansible.builtin.include_role", {}).get("name", "")
            if include.endswith(".connectivity_link") and entry == "remove":
                # decides itself: removes Connectivity Link only in its layout, reports the other layout in both
                assert "when" not in task, task["name"]
            elif include.endswith(".connectivity_link"):
                assert task["when"] == "__{0}_connectivity_link".format(component), (entry, task["name"])
            elif include.endswith(".olm_operator"):
                assert task["when"] == "not __{0}_connectivity_link".format(component), (entry, task["name"])
