"""Redaction of evidence and the cluster_evidence module with a fake client: nothing credential-looking comes back."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import evidence as e
from ansible_collections.rhoai.gpu_infra.plugins.modules import cluster_evidence

# Realistic shapes of what must never come back. Each one is unique, so a leak names its source.
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BEARER = "sha256~Xq3pLr9TzW2nVb6Yk1Hs4Df8Gj0Mc5Ra7Ue"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6eCJ9.c2lnbmF0dXJlLXBhcnQ"
PASSWORD = "hunter2-Pa55w0rd"
KEY_DATA = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAnzyis1ZjfNB0bBgKFMSvvkTtwlvBsaJq7S5wA+kzeVOVpVWw\n" + (
    "-----END RSA PRIVATE KEY-----"
)
GITHUB_PAT = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
SLACK_HOOK = "https://hooks.slack.com/services/" + "T0001/B0002/XXXXSECRETXXXX"
HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz123456"
LEAKS = (AWS_KEY_ID, AWS_SECRET, BEARER, JWT, PASSWORD, KEY_DATA, "MIIEowIBAAKCAQEA", GITHUB_PAT, SLACK_HOOK, HF_TOKEN)


def assert_no_leak(value):
    text = json.dumps(value)
    for leak in LEAKS:
        assert leak not in text, leak


@pytest.mark.parametrize(
    "text, kept",
    [
        ("aws_secret_access_key = " + AWS_SECRET, "aws_secret_access_key = <redacted>"),
        ("AWS_SECRET_ACCESS_KEY=" + AWS_SECRET, "AWS_SECRET_ACCESS_KEY=<redacted>"),
        ("using key " + AWS_KEY_ID + " in us-east-2", "using key <redacted> in us-east-2"),
        ("Authorization: Bearer " + BEARER, "Authorization: Bearer <redacted>"),
        ("token " + JWT + " expired", "token <redacted> expired"),
        ("login failed: password=" + PASSWORD + ", retrying", "login failed: password=<redacted>, retrying"),
        ('{"password": "' + PASSWORD + '", "user": "bob"}', '{"password": "<redacted>", "user": "bob"}'),
        ("    client-key-data: " + KEY_DATA, "    client-key-data: <redacted>"),
        ("    token: " + BEARER, "    token: <redacted>"),
        ("--api-key=" + PASSWORD + " --v=2", "--api-key=<redacted> --v=2"),
        ("db at postgres://app:" + PASSWORD + "@db:5432/x", "db at postgres://app:<redacted>@db:5432/x"),
        ("key:\n" + PEM + "\nnext line", "key:\n<redacted>\nnext line"),
        # a log tail may cut a key in half: everything from its start goes
        ("tail of\n" + PEM[:90], "tail of\n<redacted>"),
        ("echo x --password " + PASSWORD + " && run", "echo x --password <redacted> && run"),
        ("clone with " + GITHUB_PAT + " then", "clone with <redacted> then"),
        ("notify " + SLACK_HOOK + " on failure", "notify <redacted> on failure"),
        ("HF " + HF_TOKEN, "HF <redacted>"),
    ],
)
def test_credentials_in_text_are_replaced(text, kept):
    assert e.redact_text(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "0/3 nodes are available: 3 node(s) had untolerated taint {nvidia.com/gpu: true}.",
        "Back-off pulling image registry.example.com/nfd:4.20",
        "install strategy failed: deployment nfd-controller-manager not ready; secretName: nfd-tls",
        "tokenExpirationSeconds: 3600 key=nvidia.com/gpu",
        "bearer tokens are rejected by this endpoint; basic authentication is disabled",
        "",
    ],
)
def test_ordinary_text_is_kept(text):
    assert e.redact_text(text) == text


def test_redaction_is_idempotent():
    once = e.redact_text("password=" + PASSWORD + " Bearer " + BEARER)
    assert e.redact_text(once) == once


def pod(name="op-1", namespace="openshift-nfd", phase="Pending", ready=None, containers=None):
    status = {"phase": phase}
    if ready is not None:
        status["containerStatuses"] = [{"name": "op", "ready": ready}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"password": "x"}', "keep": "me"},
        },
        "spec": {
            "containers": containers
            or [
                {
                    "name": "op",
                    "image": "registry.example.com/op:1",
                    "command": ["/manager", "--token", BEARER, "--password=" + PASSWORD],
                    "args": ["--kubeconfig", "/etc/kube/config", "--v=2"],
                    "env": [
                        {"name": "AWS_SECRET_ACCESS_KEY", "value": AWS_SECRET},
                        {"name": "INNOCENT", "value": AWS_KEY_ID},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                        {"name": "OPERATOR_NAMESPACE", "value": "nvidia-gpu-operator"},
                    ],
                }
            ]
        },
        "status": status,
    }


def test_objects_lose_every_planted_credential_and_keep_the_rest():
    secret = {"kind": "Secret", "metadata": {"name": "pull"}, "data": {"token": "c2VjcmV0"}, "stringData": {"a": "b"}}
    kubeconfig_cm = {
        "kind": "ConfigMap",
        "metadata": {"name": "kc"},
        "data": {"kubeconfig": "users:\n- name: admin\n  user:\n    client-key-data: " + KEY_DATA + "\n"},
    }
    kubeconfig_dict = {"users": [{"name": "admin", "user": {"token": BEARER, "password": PASSWORD}}]}
    event = {"kind": "Event", "message": "pull failed: Authorization: Bearer " + BEARER, "reason": "Failed"}
    original = pod()
    redacted = e.redact([secret, original, kubeconfig_cm, kubeconfig_dict, event])
    assert_no_leak(redacted)
    assert "data" not in redacted[0] and "stringData" not in redacted[0] and redacted[0]["metadata"]["name"] == "pull"
    container = redacted[1]["spec"]["containers"][0]
    assert [v.get("value") for v in container["env"]] == ["<redacted>", "<redacted>", None, "nvidia-gpu-operator"]
    assert container["env"][2]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "pw"}
    assert container["command"] == ["/manager", "--token", "<redacted>", "--password=<redacted>"]
    assert container["args"] == ["--kubeconfig", "/etc/kube/config", "--v=2"]
    assert redacted[1]["metadata"]["annotations"] == {"keep": "me"}
    assert "managedFields" not in redacted[1]["metadata"]
    assert redacted[3]["users"][0]["user"] == {"token": "<redacted>", "password": "<redacted>"}
    assert redacted[4]["message"] == "pull failed: Authorization: Bearer <redacted>"
    # the input is not modified
    assert original["spec"]["containers"][0]["env"][0]["value"] == AWS_SECRET


def test_tolerations_selectors_and_secret_names_are_not_mistaken_for_credentials():
    spec = {
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "volumes": [{"name": "tls", "secret": {"secretName": "nfd-tls"}}],
        "env": [{"name": "LOG", "value": "3"}],
        "serviceAccountToken": {"path": "token", "expirationSeconds": 3600},
    }
    assert e.redact(spec) == spec


def test_unhealthy_pods_are_the_ones_not_running_ready_or_succeeded():
    pods = [
        pod("pending"),
        pod("running-unready", phase="Running", ready=False),
        pod("running-ready", phase="Running", ready=True),
        pod("done", phase="Succeeded"),
        pod("failed", phase="Failed"),
    ]
    assert [p["name"] for p in e.unhealthy_pods(pods)] == ["pending", "running-unready", "failed"]
    assert e.unhealthy_pods([{"metadata": {"name": "x", "namespace": "y"}}])[0]["phase"] == "Unknown"


class FakeK8s:
    """list() by kind and label selector; log() by (namespace, name, container). Errors are raised as given."""

    def __init__(self, objects, logs=None, errors=None):
        self.objects, self.logs, self.errors = objects, logs or {}, errors or {}
        self.calls = []

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("list", kind, namespace, label_selector))
        if kind in self.errors:
            raise self.errors[kind]
        return self.objects.get(kind, [])

    def log(self, name, namespace, container=None, tail_lines=50):
        self.calls.append(("log", namespace, name, container, tail_lines))
        value = self.logs.get((namespace, name, container), "(no log: 400 Bad Request)")
        if isinstance(value, Exception):
            raise value
        return value


LOG_WITH_CREDENTIALS = "\n".join(
    [
        "I1124 10:00:00 starting",
        "E1124 10:00:01 s3 upload failed for " + AWS_KEY_ID + ": aws_secret_access_key=" + AWS_SECRET,
        "E1124 10:00:02 GET https://api:6443/apis failed with Authorization: Bearer " + BEARER,
        "E1124 10:00:03 kubeconfig: client-key-data: " + KEY_DATA,
        PEM,
    ]
)


def test_collect_filters_namespaces_reads_logs_of_unhealthy_pods_and_redacts_all():
    stuck = pod("stuck", "openshift-nfd")
    two = pod(
        "two",
        "nvidia-gpu-operator",
        containers=[{"name": "a", "image": "i"}, {"name": "b", "image": "i"}],
    )
    objects = {
        "Pod": [stuck, pod("elsewhere", "other-team"), two, pod("fine", "openshift-nfd", "Running", True)],
        "Event": [
            {"kind": "Event", "metadata": {"name": "ev", "namespace": "openshift-nfd"}, "message": "token " + JWT},
            {"kind": "Event", "metadata": {"name": "ev2", "namespace": "other-team"}, "message": "x"},
        ],
        "Node": [{"kind": "Node", "metadata": {"name": "n1"}}],
    }
    fake = FakeK8s(
        objects,
        logs={
            ("openshift-nfd", "stuck", "op"): LOG_WITH_CREDENTIALS,
            ("nvidia-gpu-operator", "two", "a"): "password: " + PASSWORD,
            ("nvidia-gpu-operator", "two", "b"): RuntimeError("connection refused"),
        },
    )
    result = e.collect(
        fake,
        [
            {"api_version": "v1", "kind": "Pod"},
            {"api_version": "v1", "kind": "Event", "label_selectors": []},
            {"api_version": "v1", "kind": "Node", "label_selectors": ["a", "!b"]},
        ],
        namespaces=["openshift-nfd", "nvidia-gpu-operator"],
        log_tail_lines=7,
    )
    assert_no_leak(result)
    kinds = {k["kind"]: k["resources"] for k in result["kinds"]}
    assert [p["metadata"]["name"] for p in kinds["Pod"]] == ["stuck", "two", "fine"]
    assert [x["metadata"]["name"] for x in kinds["Event"]] == ["ev"]
    assert kinds["Event"][0]["message"] == "token <redacted>"
    assert kinds["Node"] == [{"kind": "Node", "metadata": {"name": "n1"}}]  # cluster-scoped: always kept
    assert ("list", "Node", None, "a,!b") in fake.calls
    assert [(p["namespace"], p["name"]) for p in result["unhealthy_pods"]] == [
        ("openshift-nfd", "stuck"),
        ("nvidia-gpu-operator", "two"),
    ]
    logs = {x["name"]: x["log"] for x in result["logs"]}
    assert logs["stuck"].startswith("I1124 10:00:00 starting\nE1124 10:00:01 s3 upload failed for <redacted>")
    assert "aws_secret_access_key=<redacted>" in logs["stuck"] and "Bearer <redacted>" in logs["stuck"]
    assert logs["two"] == "==> container a <==\npassword: <redacted>\n==> container b <==\n(no log: connection refused)"
    assert ("log", "openshift-nfd", "stuck", "op", 7) in fake.calls
    assert result["errors"] == []


def test_collect_reads_at_most_max_logs_and_reports_an_unreadable_kind():
    fake = FakeK8s(
        {"Pod": [pod("a"), pod("b"), pod("c")]},
        # the kubernetes client's answer to the empty body of a pod that was never scheduled
        logs={("openshift-nfd", "a", "op"): None},
        errors={"Event": RuntimeError("(403) Reason: Forbidden; token=" + BEARER)},
    )
    result = e.collect(fake, [{"api_version": "v1", "kind": "Pod"}, {"api_version": "v1", "kind": "Event"}], max_logs=2)
    assert result["logs"] == [
        {"namespace": "openshift-nfd", "name": "a", "log": ""},
        {"namespace": "openshift-nfd", "name": "b", "log": "(no log: 400 Bad Request)"},
    ]
    assert result["errors"] == [
        {"api_version": "v1", "kind": "Event", "error": "(403) Reason: Forbidden; token=<redacted>"}
    ]
    assert result["kinds"][1] == {"api_version": "v1", "kind": "Event", "resources": []}
    assert e.collect(fake, [{"api_version": "v1", "kind": "Pod"}], max_logs=0)["logs"] == []


def run_module(capsys, fake, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        cluster_evidence.main(k8s_factory=lambda module: fake)
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out), out


def test_module_returns_only_redacted_data_in_check_mode_too(capsys):
    fake = FakeK8s(
        {
            "Pod": [pod("stuck")],
            "Event": [{"kind": "Event", "metadata": {"name": "e", "namespace": "openshift-nfd"}, "message": PASSWORD}],
        },
        logs={("openshift-nfd", "stuck", "op"): LOG_WITH_CREDENTIALS},
    )
    fake.objects["Event"][0]["message"] = "password=" + PASSWORD
    for check_mode in (False, True):
        rc, result, raw = run_module(
            capsys,
            fake,
            resources=[{"api_version": "v1", "kind": "Pod"}, {"api_version": "v1", "kind": "Event"}],
            namespaces=["openshift-nfd"],
            _ansible_check_mode=check_mode,
        )
        assert rc == 0
        assert result["changed"] is False
        for leak in LEAKS:
            assert leak not in raw, leak  # the whole module output, invocation included
        assert result["logs"][0]["name"] == "stuck"
        assert result["kinds"][1]["resources"][0]["message"] == "password=<redacted>"


def test_module_warns_about_an_unreadable_kind(capsys):
    fake = FakeK8s({}, errors={"Pod": RuntimeError("(403) Reason: Forbidden")})
    with (
        patch_module_args({"resources": [{"api_version": "v1", "kind": "Pod"}]}),
        pytest.raises(SystemExit) as exit_info,
    ):
        cluster_evidence.main(k8s_factory=lambda module: fake)
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert exit_info.value.code == 0
    assert result["errors"][0]["kind"] == "Pod"
    # In a process that has loaded controller code, module warnings go to the display (stderr), not the result.
    warnings = json.dumps(result.get("warnings", [])) + captured.err
    assert "Could not read v1 Pod: (403) Reason: Forbidden" in warnings


def test_module_fails_on_an_unreadable_kind_when_asked_and_keeps_the_redacted_cause(capsys):
    fake = FakeK8s({"Pod": [pod("a")]}, errors={"Subscription": RuntimeError("(403) Forbidden; token=" + BEARER)})
    resources = [
        {"api_version": "v1", "kind": "Pod"},
        {"api_version": "operators.coreos.com/v1alpha1", "kind": "Subscription"},
    ]
    rc, result, raw = run_module(capsys, fake, resources=resources, max_logs=0, fail_on_error=True)
    assert rc == 1
    assert result["msg"].startswith("Expected to list operators.coreos.com/v1alpha1 Subscription; could not:")
    assert "(403) Forbidden" in result["msg"] and "Allow this login to list them" in result["msg"]
    assert BEARER not in raw
    assert result["kinds"][0]["resources"][0]["metadata"]["name"] == "a"
    rc, result, _ = run_module(capsys, FakeK8s({}), resources=resources, fail_on_error=True)
    assert rc == 0 and result["errors"] == []


def test_module_rejects_a_resource_without_kind(capsys):
    with patch_module_args({"resources": [{"api_version": "v1"}]}), pytest.raises(SystemExit) as exit_info:
        cluster_evidence.main(k8s_factory=lambda module: FakeK8s({}))
    assert exit_info.value.code == 1
    assert "kind" in json.loads(capsys.readouterr().out)["msg"]


def test_env_values_of_credential_looking_names_go_and_ordinary_ones_stay():
    env = [
        {"name": "DB_PASS", "value": "DbPassw0rdXYZ"},
        {"name": "GITHUB_PAT", "value": "plain-looking-value"},
        {"name": "SLACK_WEBHOOK", "value": "https://example.com/hook/abc"},
        {"name": "PATH", "value": "/usr/bin"},
        {"name": "WATCH_NAMESPACE", "value": "nvidia-gpu-operator"},
        {"name": "HTTPS_PROXY", "value": "http://proxy:3128"},
    ]
    redacted = e.redact({"env": env})["env"]
    assert [v["value"] for v in redacted] == ["<redacted>"] * 3 + [
        "/usr/bin",
        "nvidia-gpu-operator",
        "http://proxy:3128",
    ]


def test_a_credential_flag_inside_a_shell_command_line_is_hidden():
    args = ["sh", "-c", "echo x --password Hunter2XYZ --v 2 --token=" + BEARER]
    assert e.redact({"args": args})["args"] == ["sh", "-c", "echo x --password <redacted> --v 2 --token=<redacted>"]
