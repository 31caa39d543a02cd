"""The real OLM on the test bed: its CRDs from the module cache, one `opm serve` per catalog, `catalog` and `olm`.

OLM v0 runs here exactly as shipped (github.com/operator-framework/operator-lifecycle-manager, pinned in
gomod/olm); only its Deployment is replaced by local processes, restarted when they exit (tests/ocp_sim/supervise.py).
Catalogs are generated from catalog.yaml (fbc.py) and served by the real `opm serve`; the CatalogSources point at
them with `spec.address`, so OLM needs no registry pod and unpacks no bundle image.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import sys
import time
from pathlib import Path

from kubernetes import client

from tests.ocp_sim import pki, upstream
from tests.ocp_sim.controlplane import free_port

from . import fbc
from . import upstream_crds

MARKETPLACE = "openshift-marketplace"
OLM_V1ALPHA1 = "operators.coreos.com/v1alpha1"
#: OLM switches to its OpenShift mode when config.openshift.io/v1 is served, then waits for informers on these two
#: kinds forever unless they exist (a real cluster has them)
OPENSHIFT_MODE_CRDS = (("apiservers", "APIServer"), ("proxies", "Proxy"))
CATALOG_TIMEOUT = 120.0
OLM_NAMESPACE = "openshift-operator-lifecycle-manager"
PACKAGES_GROUP = "packages.operators.coreos.com"
PACKAGE_SERVICE = "packageserver-service"
REPO_ROOT = Path(__file__).resolve().parents[3]


class OlmError(RuntimeError):
    pass


def _open_config_crd(plural, kind):
    """A cluster-scoped config.openshift.io/v1 CRD that accepts any spec (fallback when openshift/api is not read)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "{0}.config.openshift.io".format(plural)},
        "spec": {
            "group": "config.openshift.io",
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()},
            "scope": "Cluster",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def openshift_mode_crds():
    out = []
    for plural, kind in OPENSHIFT_MODE_CRDS:
        name = "{0}.config.openshift.io".format(plural)
        out.append(upstream_crds.load(name) or _open_config_crd(plural, kind))
    return out


def crd_paths():
    """OLM's own CRDs (deploy/chart/crds of the pinned module)."""
    return upstream.olm_crd_paths()


def _port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def catalog_dir(cp, name):
    return Path(cp.state_dir) / "catalogs" / name


def write_catalogs(cp, cat, image=None, progress_deadline=fbc.DEFAULT_PROGRESS_DEADLINE):
    return fbc.write(cat, Path(cp.state_dir) / "catalogs", image=image, progress_deadline=progress_deadline)


def start_catalog(cp, name, timeout=60.0):
    """Serve catalog `name` (already written under <state dir>/catalogs/) with `opm serve`; returns its address.

    The port is kept in the test bed's state, so a catalog stopped with stop_catalog() comes back where its
    CatalogSource points."""
    key = "opm-" + name
    port = cp.ports.get(key)
    if not port:
        port = cp.ports[key] = free_port()
    binary = upstream.olm_bin_dir() / "opm"
    proc = cp.spawn(
        key,
        [str(binary), "serve", str(catalog_dir(cp, name)), "--port", str(port), "--pprof-addr=",
         "--termination-log=/dev/null"],
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise OlmError(
                "opm serve for catalog {0} {1}; expected it to listen on 127.0.0.1:{2}. Last lines of {3}:\n{4}".format(
                    name,
                    "exited with code {0}".format(proc.returncode) if proc.poll() is not None else "is not listening",
                    port,
                    cp.log_path(key),
                    _tail(cp.log_path(key)),
                )
            )
        time.sleep(0.2)
    return "127.0.0.1:{0}".format(port)


def stop_catalog(cp, name):
    """Stop the `opm serve` of catalog `name` (fault: a catalog whose server is down)."""
    proc = cp.procs.pop("opm-" + name, None)
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # it leads its own process group (ControlPlane.spawn)
        proc.wait(timeout=10)
    cp._save_state()


def supervised(cp, name, argv, env=None):
    """Start `argv` as process `name` of `cp`, started again whenever it exits, as its Deployment would be."""
    env = dict(env or {}, PYTHONPATH=str(REPO_ROOT))
    return cp.spawn(name, [sys.executable, "-m", "tests.ocp_sim.supervise", name, "--", *argv], env=env)


def start_operators(cp):
    """`catalog` and `olm` as supervised processes of `cp`."""
    bin_dir = upstream.olm_bin_dir()
    env = {"KUBECONFIG": str(cp.kubeconfig)}
    supervised(
        cp,
        "catalog",
        [str(bin_dir / "catalog"), "--kubeconfig", str(cp.kubeconfig),
         "--namespace", MARKETPLACE],
        env=env,
    )  # fmt: skip
    # olm has no kubeconfig flag; it reads KUBECONFIG
    supervised(cp, "olm", [str(bin_dir / "olm")], env=env)


def start_package_server(cp, api_client, timeout=90.0):
    """OLM's package server as the aggregated API `v1.packages.operators.coreos.com`, as on OpenShift.

    kube-apiserver proxies to it through an ExternalName Service that names `localhost` (the test bed runs the
    apiserver without aggregator routing): Endpoints may not hold loopback addresses, and every byte stays on
    127.0.0.1."""
    port = cp.ports.get("package-server") or free_port()
    cp.ports["package-server"] = port
    directory = Path(cp.state_dir) / "pki" / "package-server"
    ca = pki.CA.create(directory, "ca", "ocp-sim-package-server-ca")
    serving = ca.issue(
        directory,
        "serving",
        "package-server",
        server=True,
        dns=("{0}.{1}.svc".format(PACKAGE_SERVICE, OLM_NAMESPACE), "localhost"),
        ips=("127.0.0.1",),
    )
    # it exits 0 by design when the OLMConfig's sync interval changes: restart it like OLM's other processes
    supervised(
        cp,
        "package-server",
        [str(upstream.olm_bin_dir() / "package-server"), "--kubeconfig", str(cp.kubeconfig), "--secure-port", str(port),
         "--tls-cert-file", str(serving.cert), "--tls-private-key-file", str(serving.key),
         "--global-namespace", MARKETPLACE],
    )  # fmt: skip
    core = client.CoreV1Api(api_client)
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name=PACKAGE_SERVICE, namespace=OLM_NAMESPACE),
        spec=client.V1ServiceSpec(type="ExternalName", external_name="localhost"),
    )
    try:
        core.create_namespaced_service(OLM_NAMESPACE, service)
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
    body = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1." + PACKAGES_GROUP},
        "spec": {
            "group": PACKAGES_GROUP,
            "version": "v1",
            "service": {"name": PACKAGE_SERVICE, "namespace": OLM_NAMESPACE, "port": port},
            "caBundle": base64.b64encode(Path(ca.paths.cert).read_bytes()).decode(),
            "groupPriorityMinimum": 2000,
            "versionPriority": 15,
        },
    }
    api = client.ApiregistrationV1Api(api_client)
    try:
        api.create_api_service(body)
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
        body["metadata"]["resourceVersion"] = api.read_api_service(body["metadata"]["name"]).metadata.resource_version
        api.replace_api_service(body["metadata"]["name"], body)
    deadline = time.monotonic() + timeout
    while True:
        found = api.read_api_service("v1." + PACKAGES_GROUP)
        available = next((c for c in found.status.conditions or [] if c.type == "Available"), None)
        if available is not None and available.status == "True":
            return port
        if time.monotonic() > deadline:
            raise OlmError(
                "APIService v1.{0} not Available after {1:.0f}s ({2}: {3}); expected the package server on "
                "127.0.0.1:{4} to answer. Last lines of {5}:\n{6}".format(
                    PACKAGES_GROUP,
                    timeout,
                    getattr(available, "reason", None),
                    getattr(available, "message", None),
                    port,
                    cp.log_path("package-server"),
                    _tail(cp.log_path("package-server")),
                )
            )
        time.sleep(0.5)


def wait_catalogs_ready(api_client, names, timeout=CATALOG_TIMEOUT):
    """Wait until OLM reports every CatalogSource in `names` READY (its gRPC connection is up)."""
    api = client.CustomObjectsApi(api_client)
    deadline = time.monotonic() + timeout
    states = {}
    while True:
        listed = api.list_namespaced_custom_object("operators.coreos.com", "v1alpha1", MARKETPLACE, "catalogsources")
        for item in listed["items"]:
            conn = (item.get("status") or {}).get("connectionState") or {}
            states[item["metadata"]["name"]] = conn.get("lastObservedState")
        pending = sorted(n for n in names if states.get(n) != "READY")
        if not pending:
            return
        if time.monotonic() > deadline:
            raise OlmError(
                "CatalogSources not READY after {0:.0f}s: {1}; expected OLM's catalog operator to connect to the "
                "opm servers. See logs/catalog.log and logs/opm-*.log in the state dir.".format(
                    timeout, ", ".join("{0}={1}".format(n, states.get(n)) for n in pending)
                )
            )
        time.sleep(0.5)


def _tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
