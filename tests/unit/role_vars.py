"""A role's defaults and vars as Ansible sees them inside the role, and expressions rendered with them (no cluster)."""

import json
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLES = Path(__file__).resolve().parents[2] / "roles"


def trust(value):
    """``value`` with every string marked as a template, as Ansible marks what it loads from a role's files."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trust(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trust(v) for v in value]
    return value


def role_vars(role, **overrides):
    """The role's defaults, then its vars (a missing file is skipped), then ``overrides``; lookups find the role's
    templates, as inside the role."""
    variables = {"ansible_search_path": [str(ROLES / role)]}
    for path in ("defaults/main.yml", "vars/main.yml"):
        file = ROLES / role / path
        if file.exists():
            variables.update(trust(yaml.safe_load(file.read_text()) or {}))
    variables.update(overrides)
    return variables


def render(expression, variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def plain(role, variable, **overrides):
    """``variable`` (a name or expression) rendered with ``role``'s defaults, vars and ``overrides``, as the plain
    types a module receives."""
    return json.loads(json.dumps(render("{{ %s }}" % variable, role_vars(role, **overrides))))
