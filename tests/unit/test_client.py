"""The client layer: kubernetes.core's auth (options, K8S_AUTH_* fallbacks, proxy, impersonation), request timeouts."""

import os
import socket
import time

import kubernetes
import pytest
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import client


def params(**kwargs):
    base = dict.fromkeys(client.AUTH_ARG_SPEC)
    base.update(kwargs)
    return base


class FailingModule:
    def __init__(self, module_params):
        self.params = module_params

    def fail_json(self, **kwargs):
        raise RuntimeError(kwargs["msg"])


@pytest.fixture
def connect(monkeypatch):
    """get_k8s with discovery replaced: returns the ApiClient the facade would have been built on."""
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name == "KUBECONFIG":
            monkeypatch.delenv(name)
    monkeypatch.setattr(client, "K8s", lambda api_client, request_timeout=None: api_client)

    def connect(**kwargs):
        return client.get_k8s(FailingModule(params(**kwargs)))

    return connect


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://from-kubeconfig:6443"}
- name: other
  cluster: {server: "https://other:6443"}
users:
- name: u
  user: {token: kubeconfig-token}
contexts:
- name: admin
  context: {cluster: c, user: u}
- name: second
  context: {cluster: other, user: u}
current-context: admin
"""


def test_aap_bearer_token_credential_is_read_from_the_environment(connect, monkeypatch, tmp_path):
    # What the AWX/AAP "OpenShift or Kubernetes API Bearer Token" credential injects; no kubeconfig anywhere.
    (tmp_path / "ca.crt").write_text("x")
    monkeypatch.setenv("K8S_AUTH_HOST", "https://api.c.example.com:6443/")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "sha256~secret")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "False")
    monkeypatch.setenv("K8S_AUTH_SSL_CA_CERT", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = connect().configuration
    assert cfg.host == "https://api.c.example.com:6443"
    assert cfg.api_key == {"authorization": "Bearer sha256~secret"}
    assert cfg.verify_ssl is False
    assert cfg.ssl_ca_cert == str(tmp_path / "ca.crt")


def test_parameters_win_over_the_environment(connect, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_HOST", "https://env:6443")
    assert connect(host="https://param:6443", api_key="t").configuration.host == "https://param:6443"


def test_kubeconfig_and_context_are_loaded(connect, tmp_path):
    (tmp_path / "kc").write_text(KUBECONFIG)
    assert connect(kubeconfig=str(tmp_path / "kc")).configuration.host == "https://from-kubeconfig:6443"
    assert connect(kubeconfig=str(tmp_path / "kc"), context="second").configuration.host == "https://other:6443"


def test_proxy_and_impersonation_reach_the_client(connect):
    api = connect(host="https://api:6443", api_key="t", proxy="http://proxy:3128", impersonate_user="alice")
    assert api.configuration.proxy == "http://proxy:3128"
    assert api.default_headers["Impersonate-User"] == "alice"


def test_unusable_credentials_say_what_to_do(connect, tmp_path):
    with pytest.raises(RuntimeError) as err:
        connect(kubeconfig=str(tmp_path / "missing"))
    assert "Could not load Kubernetes credentials" in str(err.value)
    assert "K8S_AUTH_HOST + K8S_AUTH_API_KEY" in str(err.value)


def test_token_is_no_log_in_the_argument_spec():
    assert client.AUTH_ARG_SPEC["api_key"]["no_log"] is True
    assert client.AUTH_ARG_SPEC["kubeconfig"]["no_log"] is True


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


def test_delete_of_an_object_already_gone_is_no_error(monkeypatch):
    class Gone:
        def delete(self, name, namespace=None):
            raise client.NotFoundError(kubernetes.client.exceptions.ApiException(status=404, reason="Not Found"))

    monkeypatch.setattr(client.DynamicClient, "__init__", lambda self, api_client: None)
    k8s = client.K8s(object())
    monkeypatch.setattr(k8s, "_resource", lambda api_version, kind: Gone())
    assert k8s.delete("v1", "ConfigMap", "x", "ns") is None


def test_a_kind_whose_crd_is_gone_lists_as_empty_and_refreshes_discovery(monkeypatch):
    """Discovery cached (per API URL, across runs) a kind whose CRD has been deleted since: the list answers 404."""
    refreshed = []

    class Gone:
        def get(self, **_):
            raise client.NotFoundError(kubernetes.client.exceptions.ApiException(status=404, reason="Not Found"))

    class Resources:
        def get(self, api_version, kind):
            return Gone()

        def invalidate_cache(self):
            refreshed.append(True)

    monkeypatch.setattr(client.DynamicClient, "__init__", lambda self, api_client: None)
    k8s = client.K8s(object())
    monkeypatch.setattr(client._TimedDynamicClient, "resources", property(lambda self: Resources()))
    assert k8s.list("maistra.io/v2", "ServiceMeshControlPlane") == []
    assert refreshed == [True]


class Recorded:
    """A resource that records the keyword arguments of its get and answers ``answer``."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def get(self, **kwargs):
        self.calls.append(kwargs)
        return kubernetes.dynamic.ResourceInstance(None, self.answer)


def test_list_metadata_asks_for_metadata_only_and_names_the_kind_of_each_item(monkeypatch):
    answer = {
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "s"}}],
    }
    resource = Recorded(answer)
    monkeypatch.setattr(client.DynamicClient, "__init__", lambda self, api_client: None)
    k8s = client.K8s(object())
    monkeypatch.setattr(k8s, "_resource", lambda api_version, kind: resource)
    assert k8s.list_metadata("v1", "Secret", "ns") == [
        {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}}
    ]
    assert resource.calls == [
        {
            "namespace": "ns",
            "label_selector": None,
            "header_params": {"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"},
        }
    ]


def test_list_metadata_refuses_whole_objects_from_a_server_that_ignored_the_accept_header(monkeypatch):
    answer = {"kind": "SecretList", "apiVersion": "v1", "items": [{"metadata": {"name": "s"}, "data": {"k": "dg=="}}]}
    monkeypatch.setattr(client.DynamicClient, "__init__", lambda self, api_client: None)
    k8s = client.K8s(object())
    monkeypatch.setattr(k8s, "_resource", lambda api_version, kind: Recorded(answer))
    with pytest.raises(ValueError) as err:
        k8s.list_metadata("v1", "Secret", "ns")
    assert "Expected a PartialObjectMetadataList listing Secret (v1), found a SecretList" in str(err.value)
    assert "dg==" not in str(err.value)
