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
        assert (tasks / "preflight.yml").is_file() == component["preflight"], component
        assert (tasks / "ready.yml").is_file() == component["ready"], component
        assert (tasks / "subscribe.yml").is_file() or not component["operator"], component


@pytest.mark.parametrize("playbook", ["site.yml", "verify.yml", "teardown.yml"])
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
    assert derived("__gpu_infra_with_ready") == [n for n in NAMES if n not in ("cert_manager", "nfd", "machinesets")]
