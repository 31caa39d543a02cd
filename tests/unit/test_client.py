"""The auth layer: kubernetes.core's option names, K8S_AUTH_* fallbacks, and what each combination loads."""

import socket
import time

import kubernetes
import pytest
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import client


class FakeLoader:
    """Records which kubernetes.config loader was asked for what, and fills the configuration like the real one."""

    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail

    def _record(self, name, configuration, **kwargs):
        self.calls.append((name, kwargs))
        if self.fail:
            raise self.fail
        configuration.host = "https://from-{0}:6443".format(name)

    def load_kube_config(self, config_file=None, context=None, client_configuration=None):
        self._record("kubeconfig", client_configuration, config_file=config_file, context=context)

    def load_kube_config_from_dict(self, config_dict=None, context=None, client_configuration=None):
        self._record("dict", client_configuration, config_dict=config_dict, context=context)

    def load_incluster_config(self, client_configuration=None):
        self._record("incluster", client_configuration)


def params(**kwargs):
    base = dict.fromkeys(client.AUTH_ARG_SPEC)
    base.update(kwargs)
    return base


def test_parameters_win_over_environment():
    auth = client.resolve_auth(params(host="https://param:6443"), {"K8S_AUTH_HOST": "https://env:6443"})
    assert auth["host"] == "https://param:6443"


def test_aap_bearer_token_credential_is_read_from_environment():
    # What the AWX/AAP "OpenShift or Kubernetes API Bearer Token" credential injects.
    env = {
        "K8S_AUTH_HOST": "https://api.c.example.com:6443/",
        "K8S_AUTH_API_KEY": "sha256~secret",
        "K8S_AUTH_VERIFY_SSL": "False",
        "K8S_AUTH_SSL_CA_CERT": "/run/ca.crt",
    }
    auth = client.resolve_auth(params(), env)
    assert auth == {
        "host": "https://api.c.example.com:6443",
        "api_key": "sha256~secret",
        "validate_certs": False,
        "ca_cert": "/run/ca.crt",
    }


@pytest.mark.parametrize(
    "raw,expected",
    [("true", True), ("yes", True), ("1", True), ("0", False), ("no", False), ("FALSE", False), ("off", False)],
)
def test_boolean_environment_values(raw, expected):
    assert client.resolve_auth(params(), {"K8S_AUTH_VALIDATE_CERTS": raw})["validate_certs"] is expected


def test_empty_environment_values_are_ignored():
    assert client.resolve_auth(params(), {"K8S_AUTH_HOST": "", "K8S_AUTH_KUBECONFIG": ""}) == {}


def test_host_and_token_need_no_kubeconfig():
    loader = FakeLoader()
    cfg = client.build_configuration({"host": "https://api:6443", "api_key": "tok", "validate_certs": False}, loader)
    assert loader.calls == []
    assert cfg.host == "https://api:6443"
    assert cfg.api_key == {"authorization": "Bearer tok"}
    assert cfg.verify_ssl is False


def test_explicit_kubeconfig_and_context_are_loaded():
    loader = FakeLoader()
    cfg = client.build_configuration({"kubeconfig": "/tmp/kc", "context": "admin"}, loader)
    assert loader.calls == [("kubeconfig", {"config_file": "/tmp/kc", "context": "admin"})]
    assert cfg.host == "https://from-kubeconfig:6443"


def test_kubeconfig_given_as_dict():
    loader = FakeLoader()
    client.build_configuration({"kubeconfig": {"clusters": []}}, loader)
    assert loader.calls[0][0] == "dict"


def test_in_cluster_when_nothing_else(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    loader = FakeLoader()
    client.build_configuration({}, loader)
    assert [c[0] for c in loader.calls] == ["incluster"]


def test_default_kubeconfig_when_present(monkeypatch, tmp_path):
    kc = tmp_path / "config"
    kc.write_text("{}")
    monkeypatch.setenv("KUBECONFIG", str(kc))
    loader = FakeLoader()
    client.build_configuration({}, loader)
    assert loader.calls == [("kubeconfig", {"config_file": None, "context": None})]


def test_host_overrides_kubeconfig_server():
    loader = FakeLoader()
    cfg = client.build_configuration({"kubeconfig": "/kc", "host": "https://override:6443"}, loader)
    assert cfg.host == "https://override:6443"


def test_loader_failure_says_what_to_do():
    loader = FakeLoader(fail=IOError("No such file: /nope"))
    with pytest.raises(client.AuthError) as err:
        client.build_configuration({"kubeconfig": "/nope"}, loader)
    message = str(err.value)
    assert "/nope" in message
    assert "K8S_AUTH_HOST" in message
    assert "oc login" in message


def test_token_is_no_log_in_the_argument_spec():
    assert client.AUTH_ARG_SPEC["api_key"]["no_log"] is True
    assert client.AUTH_ARG_SPEC["kubeconfig"]["no_log"] is True


class FailingModule:
    def __init__(self, module_params):
        self.params = module_params

    def fail_json(self, **kwargs):
        raise RuntimeError(kwargs["msg"])


def test_get_k8s_fails_the_module_with_the_auth_message(monkeypatch):
    monkeypatch.setattr(client, "build_configuration", lambda auth: (_ for _ in ()).throw(client.AuthError("bad")))
    with pytest.raises(RuntimeError, match="bad"):
        client.get_k8s(FailingModule(params()))


def test_get_k8s_never_puts_the_token_in_an_unreachable_api_message(monkeypatch):
    def unreachable(api_client, request_timeout=None):
        raise OSError("Connection refused")

    monkeypatch.setattr(client, "K8s", unreachable)
    with pytest.raises(RuntimeError) as err:
        client.get_k8s(FailingModule(params(host="https://api:6443", api_key="sha256~topsecret")))
    assert "Connection refused" in str(err.value)
    assert "topsecret" not in str(err.value)


# --- request timeouts -------------------------------------------------------------------------------------------


@pytest.fixture
def silent_server():
    """A port that accepts connections and never answers, like an API server behind a dead load balancer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield "http://127.0.0.1:{0}".format(server.getsockname()[1])
    server.close()


def test_discovery_of_a_silent_server_gives_up_after_the_request_timeout(silent_server):
    configuration = kubernetes.client.Configuration()
    configuration.host = silent_server
    configuration.retries = False
    start = time.monotonic()
    with pytest.raises(Exception) as err:
        client.K8s(kubernetes.client.ApiClient(configuration), request_timeout=0.3)
    assert time.monotonic() - start < 5
    assert "timed out" in str(err.value).lower()


def test_every_request_reads_the_current_timeout(monkeypatch):
    sent = []

    def request(self, method, path, body=None, **params):
        sent.append((path, params.get("_request_timeout")))

    monkeypatch.setattr(client.DynamicClient, "request", request)
    monkeypatch.setattr(client.DynamicClient, "__init__", lambda self, api_client: None)
    k8s = client.K8s(object(), request_timeout=12)
    k8s._dynamic.request("get", "/version")
    k8s.request_timeout = 2.5  # a caller near its deadline shortens it
    k8s._dynamic.request("get", "/apis")
    k8s._dynamic.request("get", "/api", _request_timeout=1)
    assert sent == [("/version", 12), ("/apis", 2.5), ("/api", 1)]


class FakeResources:
    def __init__(self, known):
        self.known = known

    def get(self, api_version, kind):
        if (api_version, kind) not in self.known:
            raise ResourceNotFoundError("No matches found")
        return object()


def test_has_kind_tells_a_missing_crd_from_a_served_one(monkeypatch):
    monkeypatch.setattr(client.DynamicClient, "__init__", lambda self, api_client: None)
    k8s = client.K8s(object())
    resources = FakeResources({("operators.coreos.com/v1alpha1", "Subscription")})
    monkeypatch.setattr(client._TimedDynamicClient, "resources", property(lambda self: resources))
    assert k8s.has_kind("operators.coreos.com/v1alpha1", "Subscription")
    assert not k8s.has_kind("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
