"""Nothing a user could set disappears silently: every role variable documented in a meta/argument_specs.yml (role,
entry point, name, default) is still documented, with the same default, as recorded in
tests/unit/fixtures/documented_variables.json. A variable removed or a default changed on purpose is recorded by
re-running with --update (python -m tests.unit.test_documented_variables --update) and reviewed in the diff."""

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "unit" / "fixtures" / "documented_variables.json"


def documented(root=ROOT):
    """{"role:entry_point:variable": default} for every option of every role's argument spec."""
    found = {}
    for spec in sorted((root / "roles").glob("*/meta/argument_specs.yml")):
        role = spec.parent.parent.name
        for entry, body in (yaml.safe_load(spec.read_text())["argument_specs"] or {}).items():
            for name, option in (body.get("options") or {}).items():
                found["{0}:{1}:{2}".format(role, entry, name)] = option.get("default")
    return found


def test_no_documented_variable_is_gone_or_changed_its_default():
    recorded = json.loads(SNAPSHOT.read_text())
    now = documented()
    gone = sorted(set(recorded) - set(now))
    changed = {k: (recorded[k], now[k]) for k in recorded if k in now and now[k] != recorded[k]}
    assert not gone and not changed, (
        "Expected every variable of {0} to stay documented with its default; gone: {1}; default changed "
        "(recorded, now): {2}. Restore them, or record the change on purpose with "
        "python -m tests.unit.test_documented_variables --update.".format(SNAPSHOT.name, gone, changed)
    )


def test_the_snapshot_is_not_empty():
    # a glob that found no roles would make the comparison above pass vacuously
    assert len(json.loads(SNAPSHOT.read_text())) > 100
    assert len(documented()) >= len(json.loads(SNAPSHOT.read_text()))


def test_argument_spec_defaults_equal_the_role_defaults():
    # ansible-doc shows the spec's default, the role uses defaults/main.yml: a default changed in one file only
    # documents a value the role does not use.
    differ = []
    for spec in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        defaults = yaml.safe_load((spec.parent.parent / "defaults" / "main.yml").read_text()) or {}
        for entry, body in (yaml.safe_load(spec.read_text())["argument_specs"] or {}).items():
            for name, option in (body.get("options") or {}).items():
                if name in defaults and "default" in option and option["default"] != defaults[name]:
                    differ.append("{0}:{1}:{2}".format(spec.parent.parent.name, entry, name))
    assert not differ, "Expected each argument spec default to equal defaults/main.yml; differ: {0}".format(differ)


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    SNAPSHOT.write_text(json.dumps(documented(), indent=1, sort_keys=True) + "\n")
