# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API access shared by every module of this collection.

Two layers, so that modules stay thin and the logic above stays testable without a cluster:

* Auth is kubernetes.core's: its argument spec, its ``K8S_AUTH_*`` environment fallbacks (what an AWX/AAP "OpenShift
  or Kubernetes API Bearer Token" credential injects), kubeconfig and in-cluster loading, proxy and impersonation.
  One ``module_defaults`` group (meta/runtime.yml extends kubernetes.core's) or one credential serves both
  collections.
* ``K8s`` is a small dict-in/dict-out facade over the kubernetes dynamic client (get, list, merge patch). Unit tests
  inject a fake with the same four methods instead of a cluster. Every request it sends, API discovery included,
  carries a timeout (``K8s.request_timeout``), so a call against an API server that stops answering cannot outlast
  the module's own deadline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys
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

try:
    # kubernetes.core's get_api_client also runs API discovery, eagerly and without a request timeout; these are the
    # steps before that, so the facade below can discover with its own timeout.
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC as _AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
        _create_auth_spec,
        _create_configuration,
        _create_headers,
        _set_header,
    )

    # The modules' auth options, exactly kubernetes.core's (its doc fragment k8s_auth_options documents them).
    AUTH_ARG_SPEC = dict(_AUTH_ARG_SPEC)
    HAS_K8S_CORE = True
    K8S_CORE_IMPORT_ERROR = None
except ImportError:
    AUTH_ARG_SPEC = {}
    HAS_K8S_CORE = False
    K8S_CORE_IMPORT_ERROR = traceback.format_exc()

# Seconds one request may take. A LIST of every CSV of a large cluster answers well within this; a server that has
# not answered by then will not, and the caller's own deadline decides what happens next.
DEFAULT_REQUEST_TIMEOUT = 30
# The Accept header that makes a LIST answer with metadata only (server-side since Kubernetes 1.15).
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

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


def is_api_error(exc):
    """Whether ``exc`` came from the API or the way to it (HTTP status, connection, TLS, timeout), not from our code."""
    if HAS_KUBERNETES and isinstance(exc, (kubernetes.client.exceptions.ApiException, urllib3.exceptions.HTTPError)):
        return True
    return isinstance(exc, OSError)


def fail_unless_api_error(module, name, exc):
    """Fail ``module`` (named ``name``) as a bug of this collection, with the traceback, unless ``exc`` is an API error:
    those are the cluster's or the login's, and the caller explains them (outside its except block, so that no
    traceback suggests a bug)."""
    if not is_api_error(exc):
        module.fail_json(
            msg="{0} failed with an unexpected {1}: {2}. This is a bug in rhoai.gpu_infra, not a problem of the "
            "cluster or the credentials; please report it with the output of ansible-playbook -vvv (which shows the "
            "traceback).".format(name, type(exc).__name__, exc),
            exception=traceback.format_exc(),
        )


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


class K8s(object):
    """Dict-in, dict-out access to any resource by apiVersion and kind."""

    def __init__(self, api_client, request_timeout=DEFAULT_REQUEST_TIMEOUT):
        #: seconds any one request may take; None waits as long as the server keeps the connection open
        self.request_timeout = request_timeout
        self._dynamic = _TimedDynamicClient(api_client, lambda: self.request_timeout)

    @property
    def host(self):
        """The API server URL requests go to."""
        return self._dynamic.client.configuration.host

    def _resource(self, api_version, kind):
        return self._dynamic.resources.get(api_version=api_version, kind=kind)

    def has_kind(self, api_version, kind):
        """Whether the API server serves ``kind`` in ``api_version`` (for a custom resource: its CRD is installed)."""
        try:
            self._resource(api_version, kind)
            return True
        except ResourceNotFoundError:
            return False

    def resource_name(self, api_version, kind):
        """The resource name (plural) of ``kind``, or None when the API server does not serve it."""
        try:
            return self._resource(api_version, kind).name
        except ResourceNotFoundError:
            return None

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
            result = resource.get(namespace=namespace, label_selector=label_selector, field_selector=field_selector)
        except ResourceNotFoundError:
            return []
        except NotFoundError:
            # The kind came from the discovery cache the dynamic client keeps per API URL, but its CRD is gone
            # (removed since, or the cache is another cluster's that had the same URL): refresh it for later calls.
            self._dynamic.resources.invalidate_cache()
            return []
        return list(result.to_dict().get("items", []))

    def list_metadata(self, api_version, kind, namespace=None, label_selector=None):
        """Return the items with metadata only (apiVersion, kind, metadata), as the API server's
        PartialObjectMetadataList; an unknown kind lists as empty.

        What an object holds never leaves the API server: this is how to look at Secrets without reading them.
        """
        try:
            resource = self._resource(api_version, kind)
            result = resource.get(
                namespace=namespace, label_selector=label_selector, header_params={"Accept": METADATA_LIST}
            )
        except ResourceNotFoundError:
            return []
        except NotFoundError:
            self._dynamic.resources.invalidate_cache()
            return []
        found = result.to_dict()
        if found.get("kind") != "PartialObjectMetadataList":
            # A server that ignored the Accept header sent whole objects: this method never returns their content.
            raise ValueError(
                "Expected a PartialObjectMetadataList listing {0} ({1}), found a {2}.".format(
                    kind, api_version, found.get("kind")
                )
            )
        return [dict(item, kind=kind, apiVersion=api_version) for item in found.get("items") or []]

    def create(self, api_version, kind, body, namespace=None, *, dry_run=False):
        """Create the object; with dry_run the API server validates it (admission included) and stores nothing."""
        query = {"dry_run": "All"} if dry_run else {}
        return self._resource(api_version, kind).create(body=body, namespace=namespace, **query).to_dict()

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        """Apply a JSON merge patch; with dry_run the API server validates it and changes nothing."""
        query = {"dry_run": "All"} if dry_run else {}
        return (
            self._resource(api_version, kind)
            .patch(body=patch, name=name, namespace=namespace, content_type="application/merge-patch+json", **query)
            .to_dict()
        )

    def delete(self, api_version, kind, name, namespace=None):
        """Delete the object (the API server may keep it until its finalizers are done); a missing one is no error."""
        try:
            return self._resource(api_version, kind).delete(name=name, namespace=namespace).to_dict()
        except (NotFoundError, ResourceNotFoundError):
            return None

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


def missing_kubernetes_message(python, cause):
    """Expected, found and what to do when the Python that runs the modules lacks the kubernetes library.

    An inventory that names localhost makes Ansible discover an interpreter (often the system's python3) instead of
    using the one that runs ansible-playbook, which is where the requirements were installed.
    """
    return (
        "Expected the Python library kubernetes (this collection's requirements.txt: kubernetes, boto3) in "
        "{0}, the Python that runs this collection's modules; found: {1}. Install them there ('{0} -m pip install -r "
        "requirements.txt', the file at the root of the installed rhoai.gpu_infra collection), or run the modules with "
        "the Python that has them: an inventory that names localhost makes Ansible pick a Python of its own, so give "
        'localhost ansible_python_interpreter="{{{{ ansible_playbook_python }}}}" (the Python that runs '
        "ansible-playbook) or the path of a Python with those libraries.".format(python, cause)
    )


def get_k8s(module, request_timeout=DEFAULT_REQUEST_TIMEOUT, retries=None):
    """Build the facade from an AnsibleModule's auth options (kubernetes.core's), failing the module with a usable
    message.

    ``retries`` overrides urllib3's retries (3 by default, each with the full request timeout); a caller that polls
    and keeps a deadline passes False, so that one call never takes longer than ``request_timeout``.
    """
    if not HAS_KUBERNETES:
        module.fail_json(
            msg=missing_kubernetes_message(sys.executable, KUBERNETES_IMPORT_ERROR.strip().splitlines()[-1]),
            exception=KUBERNETES_IMPORT_ERROR,
        )
    if not HAS_K8S_CORE:
        module.fail_json(msg=missing_required_lib("the kubernetes.core collection"), exception=K8S_CORE_IMPORT_ERROR)
    try:
        configuration = _create_configuration(_create_auth_spec(module))
    except Exception as exc:  # the loaders raise ConfigException, IOError or yaml errors alike
        module.fail_json(
            msg="Could not load Kubernetes credentials ({0}). Expected a kubeconfig (option kubeconfig, "
            "K8S_AUTH_KUBECONFIG, KUBECONFIG or ~/.kube/config), host + api_key (K8S_AUTH_HOST + K8S_AUTH_API_KEY, as "
            "an AAP bearer-token credential injects) or an in-cluster service account. Log in with 'oc login' or set "
            "one of those.".format(exc)
        )
    if retries is not None:
        configuration.retries = retries
    try:
        api_client = kubernetes.client.ApiClient(configuration)
        for header, value in _create_headers(module).items():  # impersonation
            _set_header(api_client, header, value)
        return K8s(api_client, request_timeout=request_timeout)
    except Exception as exc:  # discovery: connection refused, TLS, 401
        if is_api_error(exc):
            module.fail_json(msg=api_failure_message("reach the Kubernetes API", exc, "read its discovery documents"))
        module.fail_json(
            msg="Could not reach the Kubernetes API: {0}. Check that the API URL is reachable from this host and "
            "that the credentials are valid ('oc whoami' with the same kubeconfig or token).".format(exc)
        )
