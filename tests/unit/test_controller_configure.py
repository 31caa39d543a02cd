"""playbooks/controller_configure.yml without a controller: syntax, the argument spec and the checks after it refuse
bad input before any request, plan mode shows the job templates, surveys and workflow it would create (built from
the component registry), and no password or token reaches the output, even at -vvv.

Not tested here: the requests themselves against a live AWX / automation controller (none is available to the tests;
see the README's AWX section for how to run it against one).
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "controller_configure.yml"
SECRETS = {
    "gpu_infra_controller_password": "c0ntroller-passw0rd-must-not-leak",
    "gpu_infra_controller_cluster_token": "sha256~clust3r-t0ken-must-not-leak",
}
VALID = dict(
    SECRETS,
    gpu_infra_controller_host="https://controller.example.com",
    gpu_infra_controller_username="admin",
    gpu_infra_controller_project_url="https://git.example.com/platform/rhoai.gpu_infra.git",
    gpu_infra_controller_ee_image="quay.example.com/platform/rhoai-gpu-infra-ee:0.1.0",
    gpu_infra_controller_cluster_host="https://api.cluster.example.com:6443",
    gpu_infra_controller_cluster_verify_ssl="true",
    gpu_infra_controller_cluster_ca="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
)
NOTHING_SENT = "Invalid input, nothing was sent to the controller:"
FIRST_REQUEST = "Create the execution environment"


def run(extra_vars, *args, callback=None):
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
    )
    if callback:
        env.update(ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars), *args]
    return subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300, check=False)


def flat(proc):
    """stdout and stderr with runs of whitespace made one space (the callback folds long messages)."""
    return " ".join((proc.stdout + proc.stderr).split())


def assert_no_secret(proc):
    for name, value in SECRETS.items():
        assert value not in proc.stdout and value not in proc.stderr, "expected {0} nowhere in the output".format(name)


def registry_names():
    registry = yaml.safe_load((ROOT / "playbooks" / "vars" / "components.yml").read_text())["__gpu_infra_registry"]
    return [c["name"] for c in registry]


def test_syntax_check():
    proc = run(VALID, "--syntax-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def plan():
    proc = run(dict(VALID, gpu_infra_controller_plan="true"), "-vvv", callback="ansible.posix.json")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert_no_secret(proc)
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    tasks = [t for play in report["plays"] for t in play["tasks"]]
    names = [t["task"]["name"] for t in tasks]
    assert not any(FIRST_REQUEST in n for n in names), "plan mode must stop before any request: {0}".format(names)
    (shown,) = [t["hosts"]["localhost"]["msg"] for t in tasks if t["task"]["name"].startswith("Print what would")]
    return shown


def survey(plan, template):
    return {q["variable"]: q for q in plan["surveys"][template]}


def test_plan_creates_four_job_templates_with_the_playbooks_and_masks_the_token(plan):
    templates = {t["name"]: t for t in plan["job_templates"]}
    assert {n: t["playbook"] for n, t in templates.items()} == {
        "RHOAI GPU infra site": "playbooks/site.yml",
        "RHOAI GPU infra verify": "playbooks/verify.yml",
        "RHOAI GPU infra diagnose": "playbooks/diagnose.yml",
        "RHOAI GPU infra teardown": "playbooks/teardown.yml",
    }
    for playbook in templates.values():
        assert (ROOT / playbook["playbook"]).is_file()
    report_dir = "{{ lookup('ansible.builtin.env', 'AWX_ISOLATED_DATA_DIR', default='.') }}/reports"
    assert templates["RHOAI GPU infra verify"]["extra_vars"] == {"gpu_infra_report_dir": report_dir}
    assert templates["RHOAI GPU infra diagnose"]["extra_vars"] == {"gpu_infra_report_dir": report_dir}
    assert plan["credential"] == {
        "name": "RHOAI GPU infra OpenShift API",
        "credential_type": "OpenShift or Kubernetes API Bearer Token",
        "inputs": {
            "host": "https://api.cluster.example.com:6443",
            "bearer_token": "(not shown)",
            "verify_ssl": True,
            "ssl_ca_cert": VALID["gpu_infra_controller_cluster_ca"],
        },
    }
    assert plan["inventory"]["hosts"] == {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    }
    assert plan["execution_environment"]["image"] == VALID["gpu_infra_controller_ee_image"]
    assert plan["project"]["scm_url"] == VALID["gpu_infra_controller_project_url"]


def test_surveys_offer_the_registry_and_default_to_safe_answers(plan):
    names = registry_names()
    for template in ("RHOAI GPU infra site", "RHOAI GPU infra verify", "RHOAI GPU infra teardown"):
        components = survey(plan, template)["gpu_infra_components"]
        assert components["type"] == "multiselect"
        assert components["choices"] == names
        assert components["default"].split("\n") == names
    assert plan["surveys"]["RHOAI GPU infra diagnose"] == []
    teardown = survey(plan, "RHOAI GPU infra teardown")
    for variable in ("gpu_infra_teardown_confirm", "gpu_infra_remove_crds", "gpu_infra_teardown_with_rhoai"):
        assert teardown[variable]["type"] == "multiplechoice"
        assert teardown[variable]["choices"] == ["false", "true"]
        assert teardown[variable]["default"] == "false"
    site = survey(plan, "RHOAI GPU infra site")
    assert site["gpu_infra_connectivity_link"]["choices"] == ["true", "false"]
    assert site["gpu_infra_timeout"]["type"] == "integer"
    for questions in plan["surveys"].values():
        for q in questions:
            if q["type"] == "multiplechoice":
                assert q["default"] in q["choices"], q


def test_site_and_teardown_can_be_launched_as_check_jobs(plan):
    # The teardown survey says a Check job only lists what would go, and the README's preview of site is --check: the
    # controller offers the job type on launch only when the job template asks for it.
    templates = {t["name"]: t for t in plan["job_templates"]}
    assert {n: t.get("ask_job_type") for n, t in templates.items()} == {
        "RHOAI GPU infra site": True,
        "RHOAI GPU infra verify": False,
        "RHOAI GPU infra diagnose": False,
        "RHOAI GPU infra teardown": True,
    }
    assert "Check job" in survey(plan, "RHOAI GPU infra teardown")["gpu_infra_teardown_confirm"]["question_description"]
    tasks = yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]
    (task,) = [t for t in tasks if t["name"] == "Create the job templates with their surveys"]
    assert task["awx.awx.job_template"]["ask_job_type_on_launch"] == "{{ item.ask_job_type }}"


def test_workflow_runs_verify_after_site_and_diagnose_on_either_failure(plan):
    workflow = plan["workflow"]
    nodes = {n["identifier"]: n for n in workflow["workflow_nodes"]}
    assert {i: n["unified_job_template"]["name"] for i, n in nodes.items()} == {
        "site": "RHOAI GPU infra site",
        "verify": "RHOAI GPU infra verify",
        "diagnose": "RHOAI GPU infra diagnose",
    }
    edges = {
        (i, kind, target["identifier"])
        for i, n in nodes.items()
        for kind, targets in (n.get("related") or {}).items()
        for target in targets
    }
    assert edges == {
        ("site", "success_nodes", "verify"),
        ("site", "failure_nodes", "diagnose"),
        ("verify", "failure_nodes", "diagnose"),
    }
    assert [q["variable"] for q in workflow["survey"]] == [
        "gpu_infra_components",
        "gpu_infra_connectivity_link",
        "gpu_infra_timeout",
    ]


BAD = {
    "missing controller host and a bad choice (argument spec)": (
        {"gpu_infra_controller_host": None, "gpu_infra_controller_ee_pull": "sometimes"},
        [
            "missing required arguments: gpu_infra_controller_host",
            "value of gpu_infra_controller_ee_pull must be one of: always, missing, never, got: sometimes",
            "Every input is described in playbooks/vars/controller_configure_spec.yml",
        ],
    ),
    "controller host not a URL, empty organization, bad project URL and image": (
        {
            "gpu_infra_controller_host": "controller.example.com",
            "gpu_infra_controller_organization": "",
            "gpu_infra_controller_project_url": "not a url",
            "gpu_infra_controller_ee_image": "rhoai-gpu-infra-ee",
        },
        [
            "gpu_infra_controller_host must be the controller URL, such as https://controller.example.com; found "
            '"controller.example.com"',
            "gpu_infra_controller_organization must name an existing organization (default: Default); found an "
            "empty name",
            "gpu_infra_controller_project_url must be a Git URL (https://, ssh:// or user@host:path) of a repository "
            'holding the playbooks/ of this collection; found "not a url"',
            "gpu_infra_controller_ee_image must be an image reference such as "
            "quay.example.com/platform/rhoai-gpu-infra-ee:0.1.0 (built from execution-environment.yml); found "
            '"rhoai-gpu-infra-ee"',
        ],
    ),
    "no way to log in, plain-http cluster API": (
        {
            "gpu_infra_controller_password": None,
            "gpu_infra_controller_cluster_host": "http://api.cluster.example.com:6443",
        },
        [
            "log in to the controller with gpu_infra_controller_username and gpu_infra_controller_password, or with "
            "gpu_infra_controller_token; found a username without a password",
            "gpu_infra_controller_cluster_host must be the OpenShift API URL, such as "
            'https://api.cluster.example.com:6443; found "http://api.cluster.example.com:6443"',
        ],
    ),
    "a password that YAML read as a number": (
        {"gpu_infra_controller_password": 98765432},
        [
            "gpu_infra_controller_password must be text; found int (value not shown). Quote it in YAML: an unquoted "
            "number or a list is not a password",
        ],
    ),
    "verify_ssl without a CA": (
        {"gpu_infra_controller_cluster_ca": None},
        [
            "gpu_infra_controller_cluster_verify_ssl is true, so gpu_infra_controller_cluster_ca must be the PEM of "
            "the CA that signed the API certificate",
            "found no CA. Give the CA, or set gpu_infra_controller_cluster_verify_ssl=false",
        ],
    ),
}


@pytest.mark.parametrize("change,expected", list(BAD.values()), ids=list(BAD))
def test_bad_input_is_refused_before_any_request(change, expected):
    extra = {k: v for k, v in dict(VALID, **change).items() if v is not None}
    proc = run(extra)
    assert proc.returncode != 0, proc.stdout
    output = flat(proc)
    for text in [NOTHING_SENT, *expected]:
        assert text in output, "expected {0!r} in the output, found:\n{1}".format(text, proc.stdout[-3000:])
    assert FIRST_REQUEST not in proc.stdout, "a controller request was attempted after invalid input"
    assert_no_secret(proc)


def test_valid_input_passes_validation_and_the_first_request_is_what_fails():
    # A loopback port nothing listens on (bound, then released): the first awx.awx task fails at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run(dict(VALID, gpu_infra_controller_host="http://127.0.0.1:{0}".format(port)))
    assert proc.returncode != 0
    output = flat(proc)
    assert NOTHING_SENT not in output
    assert "TASK [{0}]".format(FIRST_REQUEST) in output and "Connection refused" in output, proc.stdout[-3000:]
    assert_no_secret(proc)


def test_check_mode_prints_the_plan_and_sends_nothing():
    # awx.awx looks up by name the objects that earlier tasks create, which check mode does not: a fresh controller
    # would fail the project task. --check is the plan instead; the closed port proves no request is made.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run(dict(VALID, gpu_infra_controller_host="http://127.0.0.1:{0}".format(port)), "--check")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = flat(proc)
    assert "TASK [Print what would be created on the controller (plan mode)]" in output
    assert FIRST_REQUEST not in output
    assert_no_secret(proc)
