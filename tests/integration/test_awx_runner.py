"""The playbooks run the way AWX / Ansible Automation Platform runs a job, on one private test bed (results are the
test bed's: real kube-apiserver and OLM, simulated operators).

What a controller does for a job, and what these tests do instead of it:
- It runs `ansible-runner` on a private data dir: `project/` (here `project_dir` is this checkout, as a project synced
  from this repository), `inventory/hosts` with the inventory's one host (an executable script, as AWX writes it),
  `env/extravars` with the job template's extra vars and the survey answers, and the `awx_*` job variables.
- The survey answers are what AWX sends: the components multi-select as a list, the booleans as the strings of a
  multiple choice. They are derived from the surveys controller_configure.yml would create (its plan mode), so a
  survey that does not fit the playbooks fails here. gpu_infra_timeout goes as a string, as `-e` or a text prompt
  would send it.
- Credentials: the "OpenShift or Kubernetes API Bearer Token" credential's injector (AWX's
  awx/main/models/credential/injectors.py): K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL="True" and
  K8S_AUTH_SSL_CA_CERT naming a file it writes under env/, passed as `envvars` with `suppress_env_files`. The token is
  a real ServiceAccount token of the test bed (TokenRequest API, cluster-admin binding); no kubeconfig anywhere (the
  job's environment has no KUBECONFIG or K8S_AUTH_KUBECONFIG and HOME is the private data dir, as /runner in an EE).
- The execution environment: this collection from its built tarball, installed into a collections dir of its own;
  kubernetes.core and the Python packages from the pinned virtualenv (the image pins the same versions).
- The collections path as AWX sets it for a job (awx/main/tasks/jobs.py, build_env): the project sync's
  requirements_collections, then the project ansible.cfg's collections_path, then the image's. That ansible.cfg
  starts with ./.collections, the project's own checkout, so a job runs the collection of the project's revision, the
  revision its playbooks come from, and the image's copy comes after it.
- Artifacts: verify and diagnose write into the job's artifact dir (the job templates' gpu_infra_report_dir), which
  ansible-runner returns to the controller with the job.

After every job the token must appear in no job event (artifacts/<ident>/job_events/*.json, what AWX stores and shows),
not in stdout and in no other file of the job, except ansible-runner's `command` artifact, which records the job's
environment by design (AWX keeps the private data dir only while the job runs).
"""

import base64
import configparser
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import ansible_runner
import pytest
import yaml
from kubernetes import client

from tests.integration.cluster import Cluster
from tests.ocp_sim.openshift.pytest_fixtures import private_sim

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OLM = "operators.coreos.com/v1alpha1"
COMPONENTS = ["cert_manager", "nfd"]
SUBSCRIPTIONS = {("cert-manager-operator", "openshift-cert-manager-operator"), ("openshift-nfd", "nfd")}
SA_NAMESPACE, SA_NAME = "awx-automation", "rhoai-gpu-infra"
# What the job must not inherit from the shell that runs the tests.
HOST_ENV = re.compile(r"^(KUBECONFIG|K8S_AUTH_|ANSIBLE_)")
PLAN_VARS = {
    "gpu_infra_controller_host": "https://controller.example.com",
    "gpu_infra_controller_token": "plan-only",
    "gpu_infra_controller_project_url": "https://git.example.com/platform/rhoai.gpu_infra.git",
    "gpu_infra_controller_ee_image": "quay.example.com/platform/rhoai-gpu-infra-ee:0.1.0",
    "gpu_infra_controller_cluster_host": "https://api.cluster.example.com:6443",
    "gpu_infra_controller_cluster_token": "plan-only",
    "gpu_infra_controller_cluster_verify_ssl": "false",
    "gpu_infra_controller_plan": "true",
}


@pytest.fixture(scope="module")
def sim(request, tmp_path_factory):
    if os.environ.get("OCP_SIM_KUBECONFIG"):
        yield request.getfixturevalue("ocp_sim")
        return
    with private_sim(tmp_path_factory.mktemp("ocp_sim_awx_runner")) as bed:
        yield bed


@pytest.fixture(scope="module")
def cluster(sim):
    return Cluster(sim.api_client)


class Credential:
    """What an "OpenShift or Kubernetes API Bearer Token" credential holds."""

    def __init__(self, host, token, ca_pem):
        self.host, self.token, self.ca_pem = host, token, ca_pem

    def __repr__(self):  # a failing assertion may print the fixture value: never the token
        return "Credential(host={0!r}, token=<not shown>)".format(self.host)


@pytest.fixture(scope="module")
def credential(sim):
    """A cluster-admin ServiceAccount of the test bed and a token for it from the TokenRequest API."""
    core = client.CoreV1Api(sim.api_client)
    rbac = client.RbacAuthorizationV1Api(sim.api_client)
    core.create_namespace({"metadata": {"name": SA_NAMESPACE}})
    core.create_namespaced_service_account(SA_NAMESPACE, {"metadata": {"name": SA_NAME}})
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": SA_NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": SA_NAME, "namespace": SA_NAMESPACE}],
        }
    )
    request = core.create_namespaced_service_account_token(SA_NAME, SA_NAMESPACE, {"spec": {"expirationSeconds": 3600}})
    kubeconfig = yaml.safe_load(Path(sim.kubeconfig).read_text())
    cluster = kubeconfig["clusters"][0]["cluster"]
    cred = Credential(
        cluster["server"], request.status.token, base64.b64decode(cluster["certificate-authority-data"]).decode()
    )

    # The token alone authenticates, as that ServiceAccount, with the CA alone verifying the API server.
    with tempfile.NamedTemporaryFile("w", suffix=".crt") as ca:
        ca.write(cred.ca_pem)
        ca.flush()
        config = client.Configuration()
        config.host, config.ssl_ca_cert = cred.host, ca.name
        config.api_key = {"authorization": "Bearer " + cred.token}
        with client.ApiClient(config) as api:
            review = client.AuthenticationV1Api(api).create_self_subject_review(
                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
            )
    assert review.status.user_info.username == "system:serviceaccount:{0}:{1}".format(SA_NAMESPACE, SA_NAME)
    try:
        yield cred
    finally:
        rbac.delete_cluster_role_binding(SA_NAME)
        core.delete_namespace(SA_NAMESPACE)


def project_collections_path():
    """collections_path of the project's ansible.cfg, which AWX puts into a job's collections path."""
    config = configparser.ConfigParser()
    config.read(str(ROOT / "ansible.cfg"))
    return config.get("defaults", "collections_path")


@pytest.fixture(scope="module")
def collections_dir(tmp_path_factory):
    """This collection as an execution environment holds it: built, then installed from the tarball."""
    work = tmp_path_factory.mktemp("ee")
    env = {k: v for k, v in os.environ.items() if not HOST_ENV.match(k)}
    galaxy = str(BIN / "ansible-galaxy")

    def run(*cmd):
        # cwd outside the checkout: its ansible.cfg would make the checkout (.collections) count as installed
        proc = subprocess.run(cmd, cwd=str(work), env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, "expected `{0}` to succeed, found:\n{1}{2}".format(
            " ".join(cmd), proc.stdout, proc.stderr
        )

    run(galaxy, "collection", "build", "--output-path", str(work), str(ROOT))
    (tarball,) = work.glob("*.tar.gz")
    run(galaxy, "collection", "install", "--no-deps", "-p", str(work / "collections"), str(tarball))
    assert (work / "collections" / "ansible_collections" / "rhoai" / "gpu_infra" / "MANIFEST.json").is_file()
    return work / "collections"


@pytest.fixture(scope="module")
def plan():
    """The job templates and surveys controller_configure.yml would create (its plan mode, no controller)."""
    env = {k: v for k, v in os.environ.items() if not HOST_ENV.match(k)}
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "playbooks/controller_configure.yml", "-e", json.dumps(PLAN_VARS)],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    (shown,) = [
        t["hosts"]["localhost"]["msg"]
        for play in report["plays"]
        for t in play["tasks"]
        if t["task"]["name"].startswith("Print what would")
    ]
    return shown


@pytest.fixture(scope="module")
def controller(collections_dir, credential):
    """What a job gets from the controller: the execution environment's collections and the credential."""
    return collections_dir, credential


def job_template(plan, short_name):
    (template,) = [t for t in plan["job_templates"] if t["name"].endswith(" " + short_name)]
    return template


def answers(plan, short_name, **given):
    """The extra vars of a job launched from the job template with these survey answers (others: the defaults), as
    AWX validates and sends them."""
    template = job_template(plan, short_name)
    questions = {q["variable"]: q for q in plan["surveys"][template["name"]]}
    unknown = set(given) - set(questions) - {"gpu_infra_timeout"}
    assert not unknown, "the {0} survey has no question for {1}".format(short_name, sorted(unknown))
    extra = dict(template["extra_vars"])
    for variable, q in questions.items():
        value = given.get(variable, q["default"])
        if q["type"] == "multiselect":
            value = value.split("\n") if isinstance(value, str) else value
            assert set(value) <= set(q["choices"]), (variable, value)
        elif q["type"] == "multiplechoice":
            assert value in q["choices"], (variable, value)
        extra[variable] = value
    if "gpu_infra_timeout" in given:  # a string, as `-e` or a text prompt sends it
        extra["gpu_infra_timeout"] = given["gpu_infra_timeout"]
    return extra


class Job:
    _next_id = [100]

    def __init__(self, private_data_dir, runner, ident):
        self.dir = Path(private_data_dir)
        self.rc, self.status = runner.rc, runner.status
        self.artifacts = self.dir / "artifacts" / ident
        self.stdout = (self.artifacts / "stdout").read_text()
        self.events = [json.loads(p.read_text()) for p in sorted((self.artifacts / "job_events").glob("*.json"))]
        self.env = json.loads((self.artifacts / "command").read_text())["env"]

    @property
    def flat_stdout(self):
        return " ".join(self.stdout.split())

    def __repr__(self):
        return "status={0} rc={1}\n--- stdout (tail) ---\n{2}".format(self.status, self.rc, self.stdout[-6000:])


def launch(tmp_path, controller, template, extra_vars, *, verbosity=0):
    """Run one job of `template` (from the plan) as AWX does (see the module docstring) and check that the token
    leaked nowhere."""
    collections_dir, credential = controller
    Job._next_id[0] += 1
    job_id = Job._next_id[0]
    pdd = tmp_path / "job-{0}".format(job_id)
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    # The inventory as AWX writes it for a job (awx/main/tasks/jobs.py, build_inventory): an executable script, which
    # only the script inventory plugin reads; the project's ansible.cfg applies to the job.
    hostvars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    script = {"all": {"hosts": ["localhost"]}, "_meta": {"hostvars": {"localhost": hostvars}}}
    hosts = pdd / "inventory" / "hosts"
    hosts.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(script))
    hosts.chmod(0o700)
    extra = dict(extra_vars, awx_job_id=job_id, tower_job_id=job_id, awx_job_template_name=template["name"])
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extra))
    # The credential type's injector: the CA into a file of its own under env/, VERIFY_SSL "True" with a CA.
    handle, ca_path = tempfile.mkstemp(dir=str(pdd / "env"))
    with os.fdopen(handle, "w") as ca:
        ca.write(credential.ca_pem)
    envvars = {
        "K8S_AUTH_HOST": credential.host,
        "K8S_AUTH_API_KEY": credential.token,
        "K8S_AUTH_VERIFY_SSL": "True",
        "K8S_AUTH_SSL_CA_CERT": ca_path,
        # the execution environment
        "HOME": str(pdd),
        "PATH": os.pathsep.join([str(BIN), "/usr/bin", "/bin"]),
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
            [str(pdd / "requirements_collections"), project_collections_path(), str(collections_dir)]
        ),
        "ANSIBLE_NOCOLOR": "1",
        # AWX passes its ANSIBLE_* settings to every job (awx/settings/defaults.py)
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    }
    # ansible-runner starts from this process's environment: nothing of the shell's kubeconfig or Ansible settings.
    host = {k: v for k, v in os.environ.items() if not HOST_ENV.match(k)}
    with mock.patch.dict(os.environ, host, clear=True):
        runner = ansible_runner.run(
            private_data_dir=str(pdd),
            project_dir=str(ROOT),
            playbook=template["playbook"],
            ident=str(job_id),
            envvars=envvars,
            suppress_env_files=True,
            verbosity=verbosity,
            quiet=True,
        )
    job = Job(pdd, runner, str(job_id))

    assert job.events, "expected job events under {0}, found none".format(job.artifacts / "job_events")
    assert not [k for k in job.env if k in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG")], "the job must not see a kubeconfig"
    # the one place it is expected: ansible-runner's `command` record of the job's environment
    injected = job.env.get("K8S_AUTH_API_KEY") == credential.token
    assert injected, "expected the token in the job's environment as K8S_AUTH_API_KEY (value not shown)"
    leaks = [
        str(p.relative_to(pdd))
        for p in pdd.rglob("*")
        if p.is_file() and p != job.artifacts / "command" and credential.token.encode() in p.read_bytes()
    ]
    assert not leaks, (
        "expected the ServiceAccount token in no job event or other file of the job, found it in {0}".format(leaks)
    )
    in_stdout = credential.token in job.stdout
    assert not in_stdout, "expected the ServiceAccount token not in the job's stdout, found it there (not shown)"
    return job


#: set by the site test; the tests after it need the converged components
CONVERGED = {}


@pytest.fixture
def converged():
    if not CONVERGED:
        pytest.skip("site.yml did not converge in this module (see the first test's failure)")


def subscriptions(cluster):
    return {(s["metadata"]["namespace"], s["spec"]["name"]) for s in cluster.list(OLM, "Subscription")}


def task_paths(job):
    return {e["event_data"].get("task_path", "").split(":")[0] for e in job.events if e["event"] == "runner_on_ok"}


def test_site_with_survey_answers_and_a_serviceaccount_token(tmp_path, plan, cluster, controller):
    extra = answers(plan, "site", gpu_infra_components=COMPONENTS, gpu_infra_timeout="600")
    assert extra["gpu_infra_connectivity_link"] == "true" and extra["gpu_infra_timeout"] == "600"
    job = launch(tmp_path, controller, job_template(plan, "site"), extra)
    assert job.rc == 0 and job.status == "successful", job
    assert SUBSCRIPTIONS <= subscriptions(cluster), "expected the Subscriptions {0} after site, found {1}".format(
        sorted(SUBSCRIPTIONS), sorted(subscriptions(cluster))
    )
    # the roles came from the project's checkout (its ansible.cfg's collections_path), as the playbook did
    paths = task_paths(job)
    assert any(p.startswith(str(ROOT / ".collections")) for p in paths), sorted(paths)[:5]
    assert str(ROOT / "playbooks" / "site.yml") in paths
    CONVERGED["site"] = job


def test_verify_reports_are_among_the_job_artifacts(tmp_path, plan, controller, converged):
    job = launch(
        tmp_path, controller, job_template(plan, "verify"), answers(plan, "verify", gpu_infra_components=COMPONENTS)
    )
    assert job.rc == 0 and job.status == "successful", job
    reports = job.artifacts / "reports"
    assert {"verify-latest.json", "verify-latest.xml"} <= {p.name for p in reports.iterdir()}, sorted(reports.iterdir())
    assert len(list(reports.glob("verify-2*.json"))) == 1 and len(list(reports.glob("verify-2*.xml"))) == 1
    report = json.loads((reports / "verify-latest.json").read_text())
    assert report["passed"] is True, report
    assert {c["component"] for c in report["checks"]} >= set(COMPONENTS)
    suites = ET.parse(str(reports / "verify-latest.xml")).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == report["counts"]["total"] and not suites.findall(".//failure")


def test_diagnose_archive_is_among_the_job_artifacts(tmp_path, plan, controller, converged):
    # -vvv: every module result in the job events, the most a job template's verbosity can show
    job = launch(tmp_path, controller, job_template(plan, "diagnose"), answers(plan, "diagnose"), verbosity=3)
    assert job.rc == 0 and job.status == "successful", job
    (archive,) = (job.artifacts / "reports").glob("diagnose-*.tar.gz")
    with tarfile.open(str(archive)) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}
    assert {"Subscription.yaml", "ClusterServiceVersion.yaml", "NodeFeatureDiscovery.yaml"} <= names, names
    assert "Evidence (no Secrets): {0}".format(archive) in job.flat_stdout


def test_navigator_runs_verify_from_a_checkout_without_an_execution_environment(tmp_path, credential, converged):
    ca = tmp_path / "ca.crt"
    ca.write_text(credential.ca_pem)
    env = {k: v for k, v in os.environ.items() if not HOST_ENV.match(k)}
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "/usr/bin:/bin")]),
        HOME=str(tmp_path),
        K8S_AUTH_HOST=credential.host,
        K8S_AUTH_API_KEY=credential.token,
        K8S_AUTH_VERIFY_SSL="True",
        K8S_AUTH_SSL_CA_CERT=str(ca),
    )
    artifact, log = tmp_path / "verify-artifact.json", tmp_path / "navigator.log"
    cmd = [
        str(BIN / "ansible-navigator"),
        "run",
        "playbooks/verify.yml",
        "--ee",
        "false",
        "--mode",
        "stdout",
        "--pas",
        str(artifact),
        "--lf",
        str(log),
        "-e",
        json.dumps({"gpu_infra_components": COMPONENTS, "gpu_infra_report_dir": str(tmp_path / "reports")}),
    ]
    proc = subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert json.loads((tmp_path / "reports" / "verify-latest.json").read_text())["passed"] is True
    assert artifact.is_file() and log.is_file()
    # booleans first: a failing `token in text` assertion would print the token
    leaks = [str(p) for p in (artifact, log) if credential.token in p.read_text()]
    assert not leaks, "expected the token in no navigator artifact or log, found it in {0}".format(leaks)
    in_output = credential.token in proc.stdout + proc.stderr
    assert not in_output, "expected the token not in navigator's output, found it there (not shown)"


def test_teardown_is_refused_without_confirmation(tmp_path, plan, cluster, controller, converged):
    extra = answers(plan, "teardown", gpu_infra_components=COMPONENTS)
    assert extra["gpu_infra_teardown_confirm"] == "false"  # the survey's default
    job = launch(tmp_path, controller, job_template(plan, "teardown"), extra)
    assert job.rc != 0 and job.status == "failed", job
    assert "Re-run with -e gpu_infra_teardown_confirm=true to proceed" in job.flat_stdout, job
    assert "Nothing was changed." in job.flat_stdout
    assert SUBSCRIPTIONS <= subscriptions(cluster), "a refused teardown removed Subscriptions: {0} left".format(
        sorted(subscriptions(cluster))
    )


def test_teardown_confirmed_with_the_string_true(tmp_path, plan, cluster, controller, converged):
    extra = answers(plan, "teardown", gpu_infra_components=COMPONENTS, gpu_infra_teardown_confirm="true")
    assert extra["gpu_infra_remove_crds"] == "false"
    job = launch(tmp_path, controller, job_template(plan, "teardown"), extra)
    assert job.rc == 0 and job.status == "successful", job
    left = SUBSCRIPTIONS & subscriptions(cluster)
    assert not left, "expected the teardown to remove the Subscriptions, found {0}; see the job's stdout".format(left)
