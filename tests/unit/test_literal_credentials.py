"""A literal credential in a <role>_subscription_config is refused before any module gets it: the rule
(redaction.literal_env_credentials, filter literal_credentials) and the shared check (roles/olm_operator/tasks/
subscription_config.yml) as a role used alone and site.yml run it, without a cluster."""

import json
import re

import pytest
import yaml

from ansible_collections.rhoai.gpu_infra.plugins.filter.literal_credentials import literal_credentials
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.redaction import literal_env_credentials, redact
from tests.unit import role_vars
from tests.unit.role_vars import ROLES

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PROXY_PASSWORD = "pr0xy-s3cret-Pa55"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6eCJ9.c2lnbmF0dXJlLXBhcnQ"
SECRET_REF = {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "aws", "key": "secret"}}}
CHECK = "Check that no Subscription config holds a literal credential"


def env(*entries):
    return {"env": list(entries)}


# What a user would write, and what is refused with which reason.
REFUSED = [
    ({"name": "AWS_SECRET_ACCESS_KEY", "value": AWS_SECRET}, "name"),
    ({"name": "DB_PASS", "value": "hunter2"}, "name"),
    ({"name": "api_token", "value": "abc123def456"}, "name"),
    ({"name": "GITHUB_PAT", "value": "not-a-known-shape"}, "name"),
    ({"name": "SLACK_WEBHOOK", "value": "https://example.com/hooks/abcdef"}, "name"),
    ({"name": "SLACK_WEBHOOK_URL", "value": "https://hooks.example.com/services/T0/B0/abcdef"}, "name"),
    ({"name": "DBPASSWORD", "value": "hunter2"}, "name"),
    ({"name": "azure-client-secret", "value": "s3cr3t-value"}, "name"),
    ({"name": "clientSecret", "value": "s3cr3t-value"}, "name"),
    ({"name": "REGISTRY_CREDS", "value": "robot:s3cr3t"}, "name"),
    ({"name": "SSH_KEYS", "value": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"}, "name"),
    # a password or token in a value refuses it whatever the variable's name
    ({"name": "HTTPS_PROXY", "value": "http://proxyuser:" + PROXY_PASSWORD + "@proxy.example.com:3128"}, "value"),
    ({"name": "OIDC_ID", "value": JWT}, "value"),
    ({"name": "AWS_ACCESS_KEY_ID_FILE", "value": "AKIAIOSFODNN7EXAMPLE"}, "value"),
    ({"name": "EXTRA_ARGS", "value": "--v=2 --password hunter2"}, "value"),
    ({"name": "DB_URL_PARAMS", "value": "sslmode=require password=hunter2"}, "value"),
    (
        {"name": "RELATED_IMAGE_AUTH_PROXY", "value": "https://user:" + PROXY_PASSWORD + "@mirror.example.com/p"},
        "value",
    ),
    ({"name": "HF_HOME_MIRROR", "value": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz123456"}, "value"),
]

ACCEPTED = [
    SECRET_REF,
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "AUTH_MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
    # values that cannot be a credential, though the name looks like a credential's
    {"name": "API_TOKEN", "value": ""},
    {"name": "ENABLE_AUTH", "value": "true"},
    {"name": "PASSTHROUGH", "value": "False"},
    {"name": "TOKEN_TTL_SECONDS", "value": "3600"},
    {"name": "KEY_ROTATION_DAYS", "value": 30},
    {"name": "SKIP_AUTH", "value": True},
    # names that say the value points at the credential (the cert-manager Operator's documented AWS STS setting)
    {"name": "CLOUD_CREDENTIALS_SECRET_NAME", "value": "aws-creds"},
    {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db/password"},
    # an operand image override (AUTH in AUTHORINO), the operator-framework's RELATED_IMAGE_ convention
    {"name": "RELATED_IMAGE_AUTHORINO", "value": "mirror.example.com/rhcl-1/authorino-rhel9@sha256:" + "a" * 64},
    # names and values that are no credential
    {"name": "HTTPS_PROXY", "value": "http://proxy.example.com:3128"},
    {"name": "NO_PROXY", "value": ".cluster.local,.svc,10.0.0.0/16"},
    {"name": "LOG_LEVEL", "value": "debug"},
    # names that hold a credential's word only inside another word, or say what a setting is about
    {"name": "AUTH_SERVER_URL", "value": "https://sso.example.com/realms/ai"},
    {"name": "KEYCLOAK_URL", "value": "https://keycloak.example.com"},
    {"name": "OAUTH_ISSUER", "value": "https://oauth-openshift.apps.example.com"},
    {"name": "AUTHORINO_LOG_LEVEL", "value": "debug"},
    {"name": "BYPASS_PROXY_FOR", "value": "internal.example.com"},
    {"name": "PASSTHROUGH_HEADERS", "value": "x-request-id"},
    {"name": "PRIVATE_REGISTRY", "value": "registry.example.com:5000"},
    {"name": "TOKENIZER_PARALLELISM", "value": "auto"},
]


@pytest.mark.parametrize(("entry", "reason"), REFUSED, ids=[e["name"] for e, _ in REFUSED])
def test_a_literal_credential_is_found_by_name_or_shape(entry, reason):
    assert literal_env_credentials(env(entry)) == [(entry["name"], reason)]


@pytest.mark.parametrize("entry", ACCEPTED, ids=["{0}={1}".format(e["name"], e.get("value", "ref")) for e in ACCEPTED])
def test_references_and_values_that_cannot_be_credentials_pass(entry):
    assert literal_env_credentials(env(entry)) == []


@pytest.mark.parametrize(("entry", "_reason"), REFUSED, ids=[e["name"] for e, _ in REFUSED])
def test_everything_refused_is_what_diagnose_would_hide(entry, _reason):
    # one definition: the refusal goes no further than the redaction of the evidence diagnose collects
    assert redact(env(entry))["env"][0]["value"] != entry["value"]


def test_envfrom_and_other_fields_are_not_looked_at():
    config = {
        "envFrom": [{"secretRef": {"name": "aws"}}],
        "nodeSelector": {"node-role.kubernetes.io/infra": ""},
        "tolerations": [{"key": "node-role.kubernetes.io/infra", "operator": "Exists"}],
        "resources": {"limits": {"memory": "1Gi"}},
    }
    assert literal_env_credentials(config) == []


@pytest.mark.parametrize("config", [None, {}, "env", {"env": None}, {"env": "API_TOKEN=x"}, {"env": ["x", None]}])
def test_what_is_not_a_config_finds_nothing(config):
    assert literal_env_credentials(config) == []


def test_an_entry_without_a_name_is_named_by_its_place():
    assert literal_env_credentials(env({"name": "A", "value": "b"}, {"value": "u:" + JWT})) == [("#1", "value")]


def test_the_filter_names_entries_and_reasons_never_values():
    found = literal_credentials(env(*(e for e, _ in REFUSED), *ACCEPTED))
    assert [f["name"] for f in found] == [e["name"] for e, _ in REFUSED]
    assert found[0] == {"name": "AWS_SECRET_ACCESS_KEY", "reason": "its name looks like a credential's"}
    proxy = next(f for f in found if f["name"] == "HTTPS_PROXY")
    assert proxy["reason"].startswith("its value looks like a credential")
    text = json.dumps(found)
    for entry, _ in REFUSED:
        assert entry["value"] not in text, entry["name"]


# The shared check as it runs: a role used alone (include_role, its main, preflight and subscribe entry points) and
# site.yml. No cluster: the check comes before the first module, so a refusal never reaches the API, and a config
# that passes goes on to the first module call, which fails for want of a cluster.

LITERAL = {
    "env": [
        {"name": "AWS_SECRET_ACCESS_KEY", "value": AWS_SECRET},
        {"name": "HTTPS_PROXY", "value": "http://proxyuser:" + PROXY_PASSWORD + "@proxy.example.com:3128"},
        {"name": "LOG_LEVEL", "value": "debug"},
    ]
}
BY_REFERENCE = {"env": [SECRET_REF, {"name": "LOG_LEVEL", "value": "debug"}], "envFrom": [{"secretRef": {"name": "x"}}]}


def role_alone(playbook, tmp_path, tasks_from, config, check=False):
    book = tmp_path / "role.yml"
    include = {"name": "rhoai.gpu_infra.nfd"}
    if tasks_from:
        include["tasks_from"] = tasks_from
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Use the nfd role alone",
                    "ansible.builtin.include_role": include,
                    "vars": {"nfd_subscription_config": config},
                }
            ],
        }
    ]
    book.write_text(yaml.safe_dump(play))
    return playbook(book, tmp_path / "no-kubeconfig", check=check, extra_args=["-vvv"])


def failed_task(run):
    names = re.findall(r"^TASK \[(?:[\w.]+ : )?(.*?)\] \*+$", run.stdout, re.M)
    return names[-1] if names else None


def assert_refused(run, variable, names):
    output = run.stdout + run.stderr
    assert run.rc != 0, run
    assert failed_task(run) == CHECK, run
    flat = " ".join(run.stdout.split())
    for name in names:
        assert "{0} env {1} (".format(variable, name) in flat, run
    assert "valueFrom.secretKeyRef" in flat and "Nothing was changed." in flat, run
    assert "LOG_LEVEL" not in flat.split("found a literal value in", 1)[1], run
    for secret in (AWS_SECRET, PROXY_PASSWORD):
        assert secret not in output, run


@pytest.mark.parametrize(
    ("tasks_from", "check"), [(None, False), (None, True), ("preflight", False), ("subscribe", False)]
)
def test_a_role_used_alone_refuses_a_literal_credential_before_any_module(playbook, tmp_path, tasks_from, check):
    run = role_alone(playbook, tmp_path, tasks_from, LITERAL, check=check)
    assert_refused(run, "nfd_subscription_config", ["AWS_SECRET_ACCESS_KEY", "HTTPS_PROXY"])


@pytest.mark.parametrize("tasks_from", [None, "subscribe"])
def test_a_role_used_alone_passes_a_secret_reference_on_to_its_modules(playbook, tmp_path, tasks_from):
    run = role_alone(playbook, tmp_path, tasks_from, BY_REFERENCE)
    assert run.rc != 0, run  # no cluster
    assert "TASK [rhoai.gpu_infra.olm_operator : {0}]".format(CHECK) in run.stdout, run
    assert failed_task(run) != CHECK, run
    assert "found a literal value" not in run.stdout, run


def test_site_refuses_connectivity_links_config_too_and_passes_references(playbook, tmp_path):
    components = {"gpu_infra_components": ["nfd", "authorino"]}
    run = playbook(
        "site.yml",
        tmp_path / "no-kubeconfig",
        extra_vars=dict(
            components, nfd_subscription_config=BY_REFERENCE, connectivity_link_subscription_config=LITERAL
        ),
        extra_args=["-vvv"],
    )
    assert_refused(run, "connectivity_link_subscription_config", ["AWS_SECRET_ACCESS_KEY", "HTTPS_PROXY"])
    assert "nfd_subscription_config" not in run.stdout.split("found a literal value in", 1)[1], run
    # references only: the check passes and the run goes on to its first API read, which finds no cluster
    run = playbook(
        "site.yml",
        tmp_path / "no-kubeconfig",
        extra_vars=dict(components, nfd_subscription_config=BY_REFERENCE),
        check=True,
    )
    assert run.rc != 0, run
    assert "TASK [rhoai.gpu_infra.olm_operator : {0}]".format(CHECK) in run.stdout, run
    assert (
        failed_task(run) == "Read the OpenShift version and check that the credentials may make every change of the run"
    ), run
    assert "found a literal value" not in run.stdout, run


@pytest.mark.parametrize(
    "role", sorted(p.parent.parent.name for p in ROLES.glob("*/vars/main.yml") if "_olm_operator:" in p.read_text())
)
def test_the_verify_checks_carry_the_subscription_config_only_redacted(role):
    # verify, diagnose and a role's verify hand __<role>_checks to component_checks, whose arguments -v prints and
    # AWX/AAP keep as job events; no literal-credential check runs before them. What is no credential stays, so that
    # verify sees a config removed by hand.
    config = {"env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": AWS_SECRET}], "nodeSelector": {"infra": "true"}}
    variables = role_vars.role_vars(role, **{role + "_subscription_config": config})
    if role == "connectivity_link":
        variables["connectivity_link_operator"] = {"component": "authorino"}
    operator = role_vars.render("{{ __%s_checks.operator }}" % role, variables)
    assert operator.get("package") and AWS_SECRET not in json.dumps(operator), operator
    assert operator["config"]["nodeSelector"] == {"infra": "true"}, operator
