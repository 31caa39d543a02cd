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
    # member: the entry points of authorino, limitador and dns, which pass what it needs in one dict
    assert set(specs.pop("member")["options"]) == {"connectivity_link_member", "connectivity_link_step"}
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
def test_every_entry_point_of_a_component_is_the_shared_member_step(component):
    member = load(component, "vars/main.yml")["__%s_member" % component]
    assert member["connectivity_link"] == "{{ __%s_connectivity_link }}" % component
    for path in (ROLES / component / "tasks").glob("*.yml"):
        if path.stem == "spec":
            continue
        (task,) = yaml.safe_load(path.read_text())
        assert task["ansible.builtin.include_role"]["tasks_from"] == "member", path
        assert task["vars"]["connectivity_link_member"] == "{{ __%s_member }}" % component, path
        steps = task["loop"] if path.stem == "main" else [task["vars"]["connectivity_link_step"]]
        assert steps == (
            ["preflight", "subscribe", "wait", "configure", "ready"] if path.stem == "main" else [path.stem]
        )


# Each step installs, checks or removes for Connectivity Link or standalone, never both, but for the layout check
# (preflight, remove: it looks for an install of the other layout in both) and verify (the member's checks name the
# layout's objects).
@pytest.mark.parametrize(
    ("step", "connectivity_link", "standalone"),
    [
        ("preflight", ["connectivity_link"], ["connectivity_link", "olm_operator"]),
        ("subscribe", ["connectivity_link"], ["olm_operator"]),
        ("wait", [], ["olm_operator"]),
        ("configure", ["connectivity_link"], ["olm_operator"]),
        ("ready", ["connectivity_link"], []),
        ("remove", ["connectivity_link"], ["connectivity_link", "olm_operator"]),
        ("verify", ["olm_operator"], ["olm_operator"]),
    ],
)
def test_a_member_step_runs_the_entry_points_of_its_layout(step, connectivity_link, standalone):
    tasks = yaml.safe_load((ROLES / ROLE / "tasks" / "member.yml").read_text())
    includes = [t for t in tasks if "ansible.builtin.include_role" in t]
    for layout, expected in ((True, connectivity_link), (False, standalone)):
        ran = [
            t["ansible.builtin.include_role"]["name"].split(".")[-1]
            for t in includes
            if render(
                ROLE,
                "{{ %s }}" % t["when"],
                connectivity_link_step=step,
                connectivity_link_member={"connectivity_link": layout},
            )
        ]
        assert ran == expected, (step, layout)


@pytest.mark.parametrize("namespace", ["openshift-dns-operator", "openshift-dns", "kuadrant-dns-operator"])
def test_only_dns_refuses_openshifts_dns_namespaces_in_preflight_subscribe_and_remove(namespace):
    (refusal,) = [
        t for t in yaml.safe_load((ROLES / ROLE / "tasks" / "member.yml").read_text()) if "ansible.builtin.assert" in t
    ]
    steps = ["preflight", "subscribe", "wait", "configure", "ready", "remove", "verify"]
    for component in COMPONENTS:
        refuses = "refused_namespaces" in load(component, "vars/main.yml")["__%s_member" % component]
        member = {"refused_namespaces": []} if refuses else {}
        ran = [
            s
            for s in steps
            if all(
                render(ROLE, "{{ %s }}" % w, connectivity_link_step=s, connectivity_link_member=member)
                for w in refusal["when"]
            )
        ]
        assert ran == (["preflight", "subscribe", "remove"] if component == "dns" else []), component
    that = refusal["ansible.builtin.assert"]["that"].replace("connectivity_link_member", "__dns_member")
    assert render("dns", "{{ %s }}" % that, dns_namespace=namespace) is (namespace == "kuadrant-dns-operator")
