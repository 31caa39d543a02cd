# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API access shared by every module of this collection.

Two layers, so that modules stay thin and the logic above stays testable without a cluster:

* ``resolve_auth`` turns module parameters and ``K8S_AUTH_*`` environment variables into one auth dict, with the
  same option names and fallbacks as kubernetes.core (what an AWX/AAP "OpenShift or Kubernetes API Bearer Token"
  credential injects).
* ``K8s`` is a small dict-in/dict-out facade over the kubernetes dynamic client (get, list, merge patch). Unit tests
  inject a fake with the same four methods instead of a cluster. Every request it sends, API discovery included,
  carries a timeout (``K8s.request_timeout``), so a call against an API server that stops answering cannot outlast
  the module's own deadline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import kubernetes
    import urllib3  # the kubernetes client's HTTP layer: connection errors and timeouts come from it
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

AUTH_ARG_SPEC = dict(
    kubeconfig=dict(type="raw", no_log=True),
    context=dict(type="str"),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
    client_cert=dict(type="path", aliases=["cert_file"]),
    client_key=dict(type="path", aliases=["key_file"], no_log=False),
)

# Option name -> the environment variables that kubernetes.core consults for it, in order. The second name is the
# kubernetes client's own spelling, which kubernetes.core also accepts (K8S_AUTH_VERIFY_SSL is what AWX injects).
AUTH_ENV = dict(
    kubeconfig=("K8S_AUTH_KUBECONFIG",),
    context=("K8S_AUTH_CONTEXT",),
    host=("K8S_AUTH_HOST",),
    api_key=("K8S_AUTH_API_KEY",),
    validate_certs=("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"),
    ca_cert=("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"),
    client_cert=("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE"),
    client_key=("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE"),
)

FALSE_STRINGS = ("0", "false", "no", "off")

# Seconds one request may take. A LIST of every CSV of a large cluster answers well within this; a server that has
# not answered by then will not, and the caller's own deadline decides what happens next.
DEFAULT_REQUEST_TIMEOUT = 30

if HAS_KUBERNETES:

    class _TimedDynamicClient(DynamicClient):
        """The dynamic client with the facade's current timeout on every request.

        Discovery runs inside the constructor and through ``request`` too, so the timeout has to be known before
        ``DynamicClient.__init__`` and read at request time (the caller may shorten it as its deadline nears).
        """

        def __init__(self, api_client, timeout):
            self._timeout = timeout
            super(_TimedDynamicClient, self).__init__(api_client)

        def request(self, method, path, body=None, **params):
            if params.get("_request_timeout") is None:
                params["_request_timeout"] = self._timeout()
            return super(_TimedDynamicClient, self).request(method, path, body=body, **params)


class AuthError(Exception):
    """The auth options cannot produce a usable client configuration."""


def is_api_error(exc):
    """Whether ``exc`` came from the API or the way to it (HTTP status, connection, TLS, timeout), not from our code."""
    if HAS_KUBERNETES and isinstance(exc, (kubernetes.client.exceptions.ApiException, urllib3.exceptions.HTTPError)):
        return True
    return isinstance(exc, OSError)


def error_text(exc):
    """The API's own words for an error, on one line (the dynamic client's str() adds headers and a traceback)."""
    summary = getattr(exc, "summary", None)
    body = getattr(exc, "body", None)
    if callable(summary):
        text = summary()
    elif body:  # a plain ApiException: its str() carries the response headers too
        try:
            text = json.loads(body).get("message") or body
        except (TypeError, ValueError, AttributeError):
            text = body
    else:
        text = str(exc)
    status = getattr(exc, "status", None)
    if status and not str(text).startswith(str(status)):
        text = "{0} {1}: {2}".format(status, getattr(exc, "reason", "") or "", text)
    return " ".join(str(text).split())


def api_failure_message(doing, exc, needs):
    """Expected, found and what to do for an API error while ``doing`` something that ``needs`` a permission."""
    status = getattr(exc, "status", None)
    if status == 401:
        found, remedy = (
            "the API server rejected the credentials",
            "Log in again (oc login) or renew the token or kubeconfig given to the module (api_key, kubeconfig, "
            "K8S_AUTH_API_KEY, K8S_AUTH_KUBECONFIG); 'oc whoami' must work with the same credentials.",
        )
    elif status == 403:
        found, remedy = (
            "the credentials lack permission",
            "Grant this user or service account permission to {0}, or run as one that has it (check with "
            "'oc auth can-i').".format(needs),
        )
    elif status:
        found, remedy = (
            "the API server answered HTTP {0}".format(status),
            "Re-run; if it persists, look at the API server's health (oc get clusteroperators kube-apiserver).",
        )
    else:
        found, remedy = (
            "the API server was unreachable",
            "Check that the API URL is reachable from this host ('oc whoami' with the same kubeconfig or token) and "
            "re-run; during a control-plane upgrade, wait until it finished.",
        )
    return "Could not {0}: {1} ({2}). Expected to be able to {3}. {4}".format(
        doing, found, error_text(exc), needs, remedy
    )


def resolve_auth(params, environ=None):
    """Merge module parameters with K8S_AUTH_* environment variables; parameters win."""
    environ = os.environ if environ is None else environ
    auth = {}
    for name, env_names in AUTH_ENV.items():
        value = params.get(name)
        if value is None:
            value = next((environ[env] for env in env_names if environ.get(env) not in (None, "")), None)
            if value is not None and AUTH_ARG_SPEC[name].get("type") == "bool":
                value = value.strip().lower() not in FALSE_STRINGS
        if value is not None:
            auth[name] = value
    if auth.get("host"):
        auth["host"] = auth["host"].rstrip("/")
    return auth


def build_configuration(auth, loader=None):
    """Return a kubernetes.client.Configuration for ``auth`` without touching the process-wide default.

    A host with a bearer token (the AAP credential) or a client certificate is complete on its own; otherwise the
    kubeconfig (explicit, $KUBECONFIG or ~/.kube/config) is loaded, or the in-cluster service account when running
    in a pod without one.
    """
    loader = loader or kubernetes.config
    configuration = kubernetes.client.Configuration()
    self_sufficient = auth.get("host") and (auth.get("api_key") or (auth.get("client_cert") and auth.get("client_key")))
    if not self_sufficient:
        kubeconfig = auth.get("kubeconfig")
        try:
            if isinstance(kubeconfig, dict):
                loader.load_kube_config_from_dict(
                    config_dict=kubeconfig, context=auth.get("context"), client_configuration=configuration
                )
            elif kubeconfig or auth.get("context") or _default_kubeconfig_exists():
                loader.load_kube_config(
                    config_file=kubeconfig, context=auth.get("context"), client_configuration=configuration
                )
            else:
                loader.load_incluster_config(client_configuration=configuration)
        except Exception as exc:  # the loaders raise ConfigException, IOError or yaml errors alike
            raise AuthError(
                "Could not load Kubernetes credentials ({0}). Expected a kubeconfig (option kubeconfig, "
                "K8S_AUTH_KUBECONFIG, KUBECONFIG or ~/.kube/config) or host + api_key (K8S_AUTH_HOST + "
                "K8S_AUTH_API_KEY, as an AAP bearer-token credential injects). Log in with 'oc login' or set "
                "one of those.".format(exc)
            ) from exc
    if auth.get("host"):
        configuration.host = auth["host"]
    if auth.get("api_key"):
        configuration.api_key = {"authorization": "Bearer {0}".format(auth["api_key"])}
    if auth.get("validate_certs") is not None:
        configuration.verify_ssl = auth["validate_certs"]
    if auth.get("ca_cert"):
        configuration.ssl_ca_cert = auth["ca_cert"]
    if auth.get("client_cert"):
        configuration.cert_file = auth["client_cert"]
    if auth.get("client_key"):
        configuration.key_file = auth["client_key"]
    return configuration


def _default_kubeconfig_exists():
    path = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or os.path.expanduser("~/.kube/config")
    return os.path.exists(path)


class K8s(object):
    """Dict-in, dict-out access to any resource by apiVersion and kind."""

    def __init__(self, api_client, request_timeout=DEFAULT_REQUEST_TIMEOUT):
        #: seconds any one request may take; None waits as long as the server keeps the connection open
        self.request_timeout = request_timeout
        self._dynamic = _TimedDynamicClient(api_client, lambda: self.request_timeout)

    def _resource(self, api_version, kind):
        return self._dynamic.resources.get(api_version=api_version, kind=kind)

    def has_kind(self, api_version, kind):
        """Whether the API server serves ``kind`` in ``api_version`` (for a custom resource: its CRD is installed)."""
        try:
            self._resource(api_version, kind)
            return True
        except ResourceNotFoundError:
            return False

    def get(self, api_version, kind, name, namespace=None):
        """Return the object, or None when it (or its kind) does not exist."""
        try:
            return self._resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except (NotFoundError, ResourceNotFoundError):
            return None

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """Return the items; an unknown kind (CRD not installed yet) lists as empty."""
        try:
            resource = self._resource(api_version, kind)
        except ResourceNotFoundError:
            return []
        result = resource.get(namespace=namespace, label_selector=label_selector, field_selector=field_selector)
        return list(result.to_dict().get("items", []))

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        """Apply a JSON merge patch; with dry_run the API server validates it and changes nothing."""
        query = {"dry_run": "All"} if dry_run else {}
        return (
            self._resource(api_version, kind)
            .patch(body=patch, name=name, namespace=namespace, content_type="application/merge-patch+json", **query)
            .to_dict()
        )

    def log(self, name, namespace, container=None, tail_lines=50):
        """Return the tail of a pod's log, or an explanation of why there is none."""
        core = kubernetes.client.CoreV1Api(self._dynamic.client)
        try:
            return core.read_namespaced_pod_log(
                name=name,
                namespace=namespace,
                container=container,
                tail_lines=tail_lines,
                _request_timeout=self.request_timeout,
            )
        except kubernetes.client.exceptions.ApiException as exc:
            return "(no log: {0} {1})".format(exc.status, exc.reason)


def get_k8s(module, request_timeout=DEFAULT_REQUEST_TIMEOUT, retries=None):
    """Build the facade from an AnsibleModule's auth options, failing the module with a usable message.

    ``retries`` overrides urllib3's retries (3 by default, each with the full request timeout); a caller that polls
    and keeps a deadline passes False, so that one call never takes longer than ``request_timeout``.
    """
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        configuration = build_configuration(resolve_auth(module.params))
        if retries is not None:
            configuration.retries = retries
        return K8s(kubernetes.client.ApiClient(configuration), request_timeout=request_timeout)
    except AuthError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # discovery: connection refused, TLS, 401
        module.fail_json(
            msg="Could not reach the Kubernetes API: {0}. Check that the API URL is reachable from this host and "
            "that the credentials are valid ('oc whoami' with the same kubeconfig or token).".format(exc)
        )
