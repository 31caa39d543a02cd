"""The machinesets role's task conditions, rendered with Ansible's templar as they are inside the role (no cluster)."""

import pytest
import yaml

from tests.unit.role_vars import ROLES, render, role_vars, trust

ROLE = ROLES / "machinesets"
FIRST = [{"instance_type": "g6.xlarge", "zone": "us-east-2b", "replicas": 1}]
SECOND = [{"instance_type": "g6.2xlarge", "zone": "us-east-2c", "replicas": 2}]


def builds_a_plan(variables):
    """Whether configure's first task (build and check the plan) runs with these variables."""
    task = yaml.safe_load((ROLE / "tasks/configure.yml").read_text())[0]
    assert task["ansible.builtin.include_tasks"] == "preflight.yml"
    return bool(render("{{ " + task["when"] + " }}", variables))


def plan_built_from(pools):
    """The variables preflight.yml leaves behind after building a plan for ``pools``."""
    remember = yaml.safe_load((ROLE / "tasks/preflight.yml").read_text())[-1]["ansible.builtin.set_fact"]
    built = role_vars("machinesets", machinesets_pools=pools)
    facts = {k: render(v, built) if isinstance(v, str) else v for k, v in trust(remember).items()}
    return dict(facts, __machinesets_plan={"changed": False, "machinesets": [], "region": "us-east-2"})


def test_configure_builds_a_plan_when_none_was_built():
    assert builds_a_plan(role_vars("machinesets", machinesets_pools=FIRST))


def test_configure_applies_the_plan_site_built_from_the_same_input():
    assert not builds_a_plan(role_vars("machinesets", machinesets_pools=FIRST, **plan_built_from(FIRST)))


@pytest.mark.parametrize(
    "change",
    [
        {"machinesets_pools": SECOND},
        {"machinesets_pools": [dict(FIRST[0], replicas=3)]},
        {"machinesets_zone": "us-east-2c"},
        {"machinesets_autoscaling": True},
        {"gpu_infra_adopt": True},
    ],
)
def test_the_role_included_again_with_other_input_builds_its_own_plan(change):
    # The role included twice in one play used to apply the first include's plan again, silently (rc 0), and
    # never create the second include's pools.
    variables = role_vars("machinesets", **dict(dict(machinesets_pools=FIRST, **plan_built_from(FIRST)), **change))
    assert builds_a_plan(variables)
