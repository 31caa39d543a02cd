"""The component registry (playbooks/vars/components.yml): one list, read by every playbook, in a valid order."""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_FILE = ROOT / "playbooks" / "vars" / "components.yml"
REGISTRY = yaml.safe_load(REGISTRY_FILE.read_text())
COMPONENTS = REGISTRY["__gpu_infra_registry"]
NAMES = [c["name"] for c in COMPONENTS]


def derived(name, **extra):
    """A registry variable as a play sees it, with ``extra`` as extra vars."""
    variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in REGISTRY.items()}
    variables.update(extra)
    return Templar(loader=DataLoader(), variables=variables).template(variables[name])


def test_every_requirement_comes_earlier_in_install_order():
    for position, component in enumerate(COMPONENTS):
        for required in component["requires"]:
            assert required in NAMES[:position], "{0} requires {1}, which is not before it".format(
                component["name"], required
            )
    assert NAMES.index("cert_manager") < min(NAMES.index(c) for c in ("kueue", "lws", "authorino"))
    assert NAMES.index("nfd") < NAMES.index("gpu_operator")


def test_every_component_is_a_role_with_the_entry_points_the_registry_promises():
    for component in COMPONENTS:
        tasks = ROOT / "roles" / component["name"] / "tasks"
        assert (tasks / "main.yml").is_file(), component
        # preflight: checks of the role's own; site.yml checks every OLM operator itself, in one call.
        assert (tasks / "preflight.yml").is_file() or not component["preflight"], component
        assert (tasks / "spec.yml").is_file(), component
        assert (tasks / "ready.yml").is_file() == component["ready"], component
        assert (tasks / "subscribe.yml").is_file() or not component["operator"], component


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("site.yml", "nfd", 'found "nfd"; pass a list as JSON'),
        ("verify.yml", [], "found an empty list"),
        ("teardown.yml", ["nfd", "gpu"], "found unknown gpu."),
        ("diagnose.yml", ["nfdd"], "found unknown nfdd."),
    ],
)
def test_playbooks_refuse_a_component_selection_they_cannot_use_before_reading_the_cluster(
    playbook, tmp_path, name, value, needle
):
    # No cluster: a playbook that got as far as reading one would fail differently.
    run = playbook(name, tmp_path / "no-kubeconfig", extra_vars={"gpu_infra_components": value})
    message = " ".join(run.stdout.split())
    assert run.rc == 2 and needle in message, run
    assert "Known components: monitoring, cert_manager, nfd" in message and "Nothing was changed." in message


@pytest.mark.parametrize(
    ("name", "extra_vars", "needle"),
    [
        ("site.yml", {"gpu_infra_catalog_preflight": "nope"}, "argument 'gpu_infra_catalog_preflight' is of type str"),
        ("teardown.yml", {"gpu_infra_remove_crds": "treu"}, "argument 'gpu_infra_remove_crds' is of type str"),
        ("site.yml", {"gpu_infra_timeout": -5}, "found gpu_infra_timeout=-5, monitoring_timeout=-5"),
        ("verify.yml", {"gpu_infra_components": ["kueue"], "kueue_poll_interval": 0}, "found kueue_poll_interval=0 ("),
        # Connectivity Link's own (authorino, limitador and dns are one install of it, bounded by its timeout)
        (
            "site.yml",
            {"gpu_infra_components": ["dns"], "connectivity_link_timeout": 0},
            "found connectivity_link_timeout=0",
        ),
        ("site.yml", {"lws_log_level": "Loud"}, "found: value of lws_log_level must be one of: Normal, Debug, Trace"),
    ],
)
def test_playbooks_refuse_a_boolean_they_cannot_read_or_a_timeout_below_one_before_reading_the_cluster(
    playbook, tmp_path, name, extra_vars, needle
):
    run = playbook(name, tmp_path / "no-kubeconfig", extra_vars=extra_vars)
    message = " ".join(run.stdout.replace("''", "'").split())
    assert run.rc == 2 and needle in message, run
    assert "Read the OpenShift version" not in run.stdout


@pytest.mark.parametrize("playbook", ["site.yml", "verify.yml", "teardown.yml", "diagnose.yml"])
def test_playbooks_read_the_registry_and_keep_no_list_of_their_own(playbook):
    play = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())[0]
    assert play["vars_files"] == ["vars/components.yml"]
    for own in ("__gpu_infra_known_components", "__gpu_infra_enabled", "__gpu_infra_llm_d_components"):
        assert own not in (play.get("vars") or {}), own


def test_enabled_components_follow_install_order_whatever_order_they_are_given_in():
    assert derived("__gpu_infra_enabled", gpu_infra_components=["kueue", "cert_manager"]) == ["cert_manager", "kueue"]
    assert derived("__gpu_infra_enabled") == NAMES


def test_derived_lists():
    assert derived("__gpu_infra_no_olm") == ["monitoring", "machinesets"]
    assert derived("__gpu_infra_llm_d_components") == ["lws", "authorino", "limitador", "dns"]
    assert derived("__gpu_infra_kuadrant_components") == ["authorino", "limitador", "dns"]
    assert derived("__gpu_infra_with_ready") == [n for n in NAMES if n not in ("nfd", "machinesets")] + [
        "connectivity_link"
    ]


def test_with_connectivity_link_authorino_limitador_and_dns_are_one_unit_in_the_place_of_the_first():
    assert derived("__gpu_infra_units", gpu_infra_components=["dns", "kueue", "cert_manager", "limitador"]) == [
        "cert_manager",
        "connectivity_link",
        "kueue",
    ]
    components = ["dns", "cert_manager", "limitador"]
    standalone = derived("__gpu_infra_units", gpu_infra_components=components, gpu_infra_connectivity_link=False)
    assert standalone == ["cert_manager", "limitador", "dns"]
    assert derived("__gpu_infra_units", gpu_infra_components=["nfd"]) == ["nfd"]


def test_the_operators_site_checks_and_subscribes_come_from_each_roles_facts():
    facts = {
        "__{0}_olm_operator".format(n): {"component": n} for n in [*NAMES, "connectivity_link"] if n != "monitoring"
    }
    got = derived("__gpu_infra_olm_operators", gpu_infra_components=["monitoring", "nfd", "dns", "authorino"], **facts)
    assert [o["component"] for o in got] == ["nfd", "connectivity_link"]
    got = derived(
        "__gpu_infra_olm_operators",
        gpu_infra_components=["dns", "authorino", "machinesets"],
        gpu_infra_connectivity_link="false",
        **facts,
    )
    assert [o["component"] for o in got] == ["authorino", "dns"]


def test_site_loops_keep_install_order():
    """Ansible's difference/intersect go through a set: their order changes from one process to the next."""
    site = (ROOT / "playbooks" / "site.yml").read_text()
    loops = [line for line in site.splitlines() if line.strip().startswith("loop:")]
    assert loops and not any("difference(" in line or "intersect(" in line for line in loops), loops
    registry = REGISTRY_FILE.read_text()
    ordered = ("__gpu_infra_enabled", "__gpu_infra_units", "__gpu_infra_olm_operators", "__gpu_infra_kuadrant_caller")
    for name in ordered:
        body = registry.split(name + ":", 1)[1].split("\n__", 1)[0]
        assert "difference(" not in body and "intersect(" not in body, name


def test_a_component_site_waits_for_in_one_call_has_a_readiness_that_is_only_its_ready_items():
    """site.yml waits for the `wait` components in one ready_wait call instead of including their ready.yml: that is
    only the same when ready.yml is that one call over __<role>_ready with the role's timeout and poll interval (then
    at most a line of output on what was skipped, which site.yml prints after its call too)."""
    waits = derived("__gpu_infra_waits")
    assert waits == ["monitoring", "cert_manager", "gpu_operator", "serverless", "lws", "kueue"]
    for name in waits:
        wait, *said = yaml.safe_load((ROOT / "roles" / name / "tasks" / "ready.yml").read_text())
        assert set(wait) - {"register"} == {"name", "rhoai.gpu_infra.ready_wait"}, name
        assert all(set(task) == {"name", "ansible.builtin.debug", "when"} for task in said), name
        args = wait["rhoai.gpu_infra.ready_wait"]
        assert args["wait"] == "{{{{ __{0}_ready }}}}".format(name), name
        assert args["timeout"] == "{{{{ {0}_timeout | int }}}}".format(name), name
        assert args["poll_interval"] == "{{{{ {0}_poll_interval | int }}}}".format(name), name


def test_a_partial_teardown_warns_about_components_whose_requirement_it_removes(playbook, tmp_path):
    extra = {"gpu_infra_components": ["cert_manager", "nfd"], "gpu_infra_teardown_confirm": True}
    # No cluster: the warning comes before the first removal, which then fails to connect.
    output = " ".join(playbook("teardown.yml", tmp_path / "no-kubeconfig", extra_vars=extra).stdout.split())
    (warning,) = [line for line in output.split("WARNING: ")[1:] if "outside gpu_infra_components" in line]
    for stays in ("gpu_operator (requires nfd)", "lws (requires cert_manager)", "kueue (requires cert_manager)"):
        assert stays in warning
    assert "serverless" not in warning.split("Add them")[0] and "monitoring" not in warning.split("Add them")[0]


@pytest.mark.parametrize(
    ("role", "entry_point", "variable"),
    [
        ("nfd", "preflight", "gpu_infra_catalog_preflight"),
        ("dns", "main", "gpu_infra_catalog_preflight"),
        ("kueue", "remove", "gpu_infra_remove_crds"),
    ],
)
def test_a_role_used_alone_refuses_a_collection_wide_boolean_it_cannot_read(
    playbook, tmp_path, role, entry_point, variable
):
    # The playbooks check these in check_components.yml; a role included on its own checks them in its argument spec
    # instead of letting the bool filter read "treu" as false (the catalog checks off, the CRDs kept).
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.include_role": {
                        "name": "rhoai.gpu_infra." + role,
                        "tasks_from": entry_point,
                    }
                }
            ],
        }
    ]
    path = tmp_path / "role.yml"
    path.write_text(yaml.safe_dump(play))
    run = playbook(path, tmp_path / "no-kubeconfig", extra_vars={variable: "treu"})
    message = " ".join(run.stdout.replace("''", "'").split())
    assert run.rc == 2 and "argument '{0}' is of type str".format(variable) in message, run
    # the include itself, then the refusal: the first task of the entry point never ran
    assert run.recap["localhost"]["ok"] == "1" and "Validating arguments against arg spec" in run.stdout, run


@pytest.mark.parametrize(
    ("role", "extra_vars", "needle"),
    [
        ("kueue", {"kueue_timeout": 0}, "found kueue_timeout=0 ("),
        ("nfd", {"gpu_infra_timeout": -5}, "found gpu_infra_timeout=-5, nfd_timeout=-5 ("),
        ("lws", {"lws_poll_interval": 0}, "found lws_poll_interval=0 ("),
    ],
)
def test_a_role_used_alone_refuses_a_timeout_below_one_before_reading_the_cluster(
    playbook, tmp_path, role, extra_vars, needle
):
    # The playbooks refuse these in check_components.yml; a role included on its own must too, or main subscribes and
    # then fails its first wait at once, leaving a Subscription behind.
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.include_role": {"name": "rhoai.gpu_infra." + role}}],
        }
    ]
    path = tmp_path / "role.yml"
    path.write_text(yaml.safe_dump(play))
    run = playbook(path, tmp_path / "no-kubeconfig", extra_vars=extra_vars)
    message = " ".join(run.stdout.replace("''", "'").split())
    assert run.rc == 2 and needle in message and "Nothing was changed." in message, run
    # the assert is the first task of the preflight: neither the cert-manager check nor the catalog check ran
    assert "Fail when cert-manager is neither" not in run.stdout and "Check, read-only" not in run.stdout, run
