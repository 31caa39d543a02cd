"""What the playbooks print, as the default callback shows it without this checkout's ansible.cfg.

An installed collection brings no ansible.cfg, so ``callback_result_format`` is Ansible's default, json, which prints
a string's line breaks as ``\\n``: a table or a summary in one string is one unreadable line (and so is an AWX job's
output). Lines are therefore printed as a list.
"""

import ast
from pathlib import Path

import jinja2
import yaml
from ansible_collections.rhoai.gpu_infra.plugins.filter.gpu_infra_report import verify_report

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_MODULES = ("ansible.builtin.debug", "ansible.builtin.fail", "ansible.builtin.assert")
JSON_RESULTS = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}


def tasks_of(node):
    for task in node or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from tasks_of(task.get(key))


def task_files():
    yield from sorted((ROOT / "playbooks").glob("*.yml"))
    yield from sorted((ROOT / "playbooks" / "tasks").glob("*.yml"))
    yield from sorted((ROOT / "roles").glob("*/tasks/*.yml"))


def named_task(playbook, name):
    tasks = tasks_of(yaml.safe_load((ROOT / "playbooks" / playbook).read_text()))
    (task,) = [t for t in tasks if t.get("name") == name]
    return task


def test_no_message_has_a_line_break_in_its_text():
    # Text between the template's expressions, after its whitespace control: a line break there (a literal block, or
    # a more-indented line of a folded one) is printed as \n.
    lexer = jinja2.Environment()
    broken = []
    for path in task_files():
        for task in tasks_of(yaml.safe_load(path.read_text())):
            for module in MESSAGE_MODULES:
                args = task.get(module) or {}
                for key in ("msg", "fail_msg", "success_msg"):
                    texts = args.get(key) if isinstance(args.get(key), list) else [args.get(key)]
                    for text in (t for t in texts if isinstance(t, str)):
                        if any("\n" in value for _, kind, value in lexer.lex(text) if kind == "data"):
                            broken.append("{0}: {1} ({2})".format(path.relative_to(ROOT), task.get("name"), key))
    assert not broken, broken


def run_task(playbook, tmp_path, task, variables, check=False):
    play = [{"hosts": "localhost", "gather_facts": False, "vars": variables, "tasks": [task]}]
    path = tmp_path / "output.yml"
    path.write_text(yaml.safe_dump(play))
    run = playbook(path, tmp_path / "no-kubeconfig", check=check, env=JSON_RESULTS)
    assert run.rc == 0, run
    assert "\\n" not in run.stdout, run.stdout
    return [line.strip().rstrip(",").strip('"').strip() for line in run.stdout.splitlines()]


def test_verify_prints_its_table_one_row_a_line(playbook, tmp_path):
    checks = [
        {"component": "nfd", "check": "NFD CSV Succeeded", "status": "passed", "evidence": "Succeeded"},
        {"component": "kueue", "check": "Kueue ready", "status": "failed", "evidence": "absent", "remedy": "Re-run"},
    ]
    report = verify_report(checks, {"api_url": "https://api.demo.example.com:6443"}, "2025-11-27T09:00:00Z")
    lines = run_task(
        playbook, tmp_path, named_task("verify.yml", "Show the result"), {"__gpu_infra_verify_report": report}
    )
    assert any(line.startswith("PASSED  nfd: NFD CSV Succeeded") for line in lines), lines
    assert any(line.startswith("FAILED  kueue: Kueue ready") for line in lines), lines
    assert "remedy: Re-run" in lines, lines


def test_site_prints_its_summary_one_component_a_line(playbook, tmp_path):
    variables = {
        "__gpu_infra_enabled": ["monitoring", "nfd"],
        "__gpu_infra_connectivity_link": True,
        "__gpu_infra_kuadrant_components": ["authorino", "limitador", "dns"],
        "__gpu_infra_no_olm": ["monitoring", "machinesets"],
        "__gpu_infra_olm": {"subscriptions": [{"component": "nfd", "name": "nfd", "namespace": "openshift-nfd"}]},
        "__gpu_infra_wait": {
            "subscriptions": [{"name": "nfd", "namespace": "openshift-nfd", "csv": "nfd.4.20.0", "phase": "Succeeded"}]
        },
    }
    lines = run_task(playbook, tmp_path, named_task("site.yml", "Summarize the converge"), variables)
    assert any(line.split() == ["COMPONENT", "CSV", "STATE"] for line in lines), lines
    assert any(line.split() == ["monitoring", "(no", "operator)", "configured"] for line in lines), lines
    assert any(line.split() == ["nfd", "nfd.4.20.0", "Succeeded"] for line in lines), lines


def test_site_summary_names_an_install_plan_it_approved(playbook, tmp_path):
    # A pinned plan, or one left waiting after a switch to Automatic: the operator installs or upgrades because of it.
    variables = {
        "__gpu_infra_enabled": ["nfd"],
        "__gpu_infra_connectivity_link": True,
        "__gpu_infra_kuadrant_components": [],
        "__gpu_infra_no_olm": [],
        "__gpu_infra_olm": {"subscriptions": [{"component": "nfd", "name": "nfd", "namespace": "openshift-nfd"}]},
        "__gpu_infra_wait": {
            "subscriptions": [
                {
                    "name": "nfd",
                    "namespace": "openshift-nfd",
                    "csv": "nfd.4.20.1",
                    "phase": "Succeeded",
                    "approved": "install-x7k2p",
                }
            ]
        },
    }
    lines = run_task(playbook, tmp_path, named_task("site.yml", "Summarize the converge"), variables)
    assert any(
        line.split() == ["nfd", "nfd.4.20.1", "Succeeded", "(approved", "InstallPlan", "install-x7k2p)"]
        for line in lines
    ), lines


def test_teardown_prints_its_summary_one_item_a_line(playbook, tmp_path):
    variables = {
        "__gpu_infra_olm_removals": [
            {"component": "nfd", "removed": ["Subscription openshift-nfd/nfd"], "left": "", "operands": {}},
        ],
        "__kueue_owned": {
            "removed": [{"object": "Kueue cluster"}],
            "kept": [{"object": "ConfigMap x/y", "reason": "not labelled"}],
            "component": "kueue",
        },
    }
    task = named_task("teardown.yml", "Summarize what the teardown removed and what it left in place")
    lines = run_task(playbook, tmp_path, task, variables, check=True)
    assert "Would remove (objects carrying app.kubernetes.io/managed-by=rhoai.gpu_infra): Kueue cluster." in lines
    assert "- nfd: Subscription openshift-nfd/nfd" in lines, lines
    assert "- kueue: ConfigMap x/y: not labelled" in lines, lines


def strings_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_in(value)


def test_messages_name_the_playbooks_as_an_installed_collection_runs_them():
    # A path such as playbooks/diagnose.yml exists only in a checkout; ansible-playbook rhoai.gpu_infra.diagnose runs
    # the playbook from an installed collection and from a checkout alike.
    found = []
    for path in [*sorted((ROOT / "roles").glob("*/vars/*.yml")), *sorted((ROOT / "roles").glob("*/tasks/*.yml"))]:
        texts = strings_in(yaml.safe_load(path.read_text()))
        found += [str(path.relative_to(ROOT)) for text in texts if "playbooks/" in text]
    documentation = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    for path in sorted((ROOT / "plugins").glob("module*/*.py")):
        tree = ast.parse(path.read_text())
        docs = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and {getattr(t, "id", "") for t in node.targets} & documentation
        }
        docs |= {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None
        }
        found += [
            "{0}:{1}".format(path.name, node.lineno)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "playbooks/" in node.value
            if id(node) not in docs
        ]
    assert not found, found
