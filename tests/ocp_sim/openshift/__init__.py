"""The OpenShift layer of the test bed: OpenShift's APIs as CRDs, the real OLM, a scenario's objects, and simulated
operators.

`bootstrap(cp, scenario=None)` turns a running Kubernetes control plane (tests/ocp_sim/controlplane.py) into an
OpenShift 4.20 cluster on AWS as far as this collection can tell: it applies the CRDs (OLM's own from its module),
creates the platform namespaces, serves the catalogs with `opm serve`, starts OLM's `catalog` and `olm`, applies the
scenario's objects (Infrastructure, ClusterVersion, control-plane nodes, worker MachineSets, CatalogSources,
PackageManifests) and starts the controllers runner (NFD, GPU operator, machine-api, monitoring, operands, operator
pods) as a child process of `cp`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import yaml
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError

from . import catalog, fbc, olm, scenario as scenario_mod, upstream_crds
from . import knobs as knobs_mod

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent.parent
OPERAND_CRDS = HERE / "crds" / "operands"
SCENARIOS = HERE / "scenarios"
DEFAULT_SCENARIO = SCENARIOS / "default.yaml"
READY_LINE = "ocp-sim controllers ready"
FIELD_MANAGER = "ocp-sim-bootstrap"

# Namespaces a fresh OpenShift 4.20 cluster has that this collection or the simulator touches (the real list is longer).
PLATFORM_NAMESPACES = (
    "openshift",
    "openshift-config",
    "openshift-config-managed",
    "openshift-cluster-version",
    "openshift-monitoring",
    "openshift-user-workload-monitoring",
    "openshift-marketplace",
    "openshift-machine-api",
    "openshift-operators",
    "openshift-operator-lifecycle-manager",
    "openshift-dns-operator",
    "openshift-dns",
    "openshift-ingress",
    "openshift-ingress-operator",
    "openshift-cloud-credential-operator",
    "openshift-console",
)
KNOBS_NAMESPACE = "ocp-sim"


class BootstrapError(RuntimeError):
    pass


def api_client_for(kubeconfig):
    return config.new_client_from_config(config_file=str(kubeconfig))


def load_docs(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def apply_crds(api_client, paths, timeout=60.0):
    """Create or update the CRDs in the YAML files `paths` and wait until every one is Established; returns names."""
    return apply_crd_docs(api_client, [doc for path in paths for doc in load_docs(path)], timeout)


def apply_crd_docs(api_client, docs, timeout=60.0):
    """Create or update the CRD documents `docs` (create/replace, not apply: OLM's CSV CRD is too large for the
    last-applied annotation) and wait until every one is Established; returns their names."""
    ext = client.ApiextensionsV1Api(api_client)
    names = []
    for doc in docs:
        name = doc["metadata"]["name"]
        names.append(name)
        try:
            ext.create_custom_resource_definition(doc)
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise BootstrapError("CRD {0} rejected: {1}".format(name, exc.body)) from exc
            current = ext.read_custom_resource_definition(name)
            doc["metadata"]["resourceVersion"] = current.metadata.resource_version
            ext.replace_custom_resource_definition(name, doc)
    wait_established(api_client, names, timeout)
    return names


def wait_established(api_client, names, timeout=60.0):
    ext = client.ApiextensionsV1Api(api_client)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            crd = ext.read_custom_resource_definition(name)
            conditions = {c.type: c.status for c in (crd.status.conditions or [])}
            if conditions.get("Established") == "True":
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise BootstrapError("CRDs not Established after {0:.0f}s: {1}".format(timeout, ", ".join(sorted(pending))))
        if pending:
            time.sleep(0.2)


def apply_objects(api_client, objects):
    """Create each object (or server-side apply it when it exists), then write its `status`.

    Created with status in the body first: a Node keeps it (kwok only fills in what is missing), which avoids
    racing kwok's first status write. Custom resources get status through their status subresource.
    """
    dyn = DynamicClient(api_client)
    for obj in objects:
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace")
        status = obj.get("status")
        try:
            res.create(body=obj, namespace=namespace)
            if obj["kind"] == "Node":
                continue
        except ConflictError:
            body = {k: v for k, v in obj.items() if k != "status"}
            res.server_side_apply(
                body=body, name=name, namespace=namespace, field_manager=FIELD_MANAGER, force_conflicts=True
            )
        if status is not None:
            target = res.subresources["status"] if "status" in res.subresources else res
            target.patch(
                body={"metadata": {"name": name}, "status": status},
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
            )


def load_scenario(scenario=None):
    path = Path(scenario) if scenario else DEFAULT_SCENARIO
    if not path.exists() and (SCENARIOS / "{0}.yaml".format(scenario)).exists():
        path = SCENARIOS / "{0}.yaml".format(scenario)
    data = yaml.safe_load(path.read_text())
    data["_path"] = str(path)
    return data


def start_controllers(cp, timeout=60.0):
    """Start the controllers runner as a child of `cp`, logging to <state_dir>/logs/controllers.log; wait for ready."""
    log_path = Path(cp.state_dir) / "logs" / "controllers.log"
    env = {
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        "PYTHONUNBUFFERED": "1",
    }
    proc = cp.spawn(
        "controllers",
        [sys.executable, "-m", "tests.ocp_sim.openshift.controllers", "--kubeconfig", str(cp.kubeconfig)],
        env=env,
        cwd=REPO_ROOT,
    )
    deadline = time.monotonic() + timeout
    while True:
        text = log_path.read_text(errors="replace")
        if READY_LINE in text:
            return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BootstrapError(
                "controllers runner {0}; last lines of {1}:\n{2}".format(
                    "exited with code {0}".format(proc.returncode) if proc.poll() is not None else "not ready in time",
                    log_path,
                    "\n".join(text.splitlines()[-30:]),
                )
            )
        time.sleep(0.2)


def progress_deadline(knobs):
    """Seconds an operator Deployment may take before it counts as failed (see fbc.DEFAULT_PROGRESS_DEADLINE)."""
    if knobs.get("progress_deadline_seconds"):
        return int(float(knobs["progress_deadline_seconds"]))
    latency = float(knobs.get("install_latency_seconds") or 0)
    return max(fbc.DEFAULT_PROGRESS_DEADLINE, int(2 * latency + 30))


def bootstrap(cp, scenario=None, knobs=None, controllers=True):
    """Make the control plane `cp` look like OpenShift: CRDs, namespaces, catalogs and OLM, scenario objects,
    controllers."""
    started = time.monotonic()
    data = load_scenario(scenario)
    api_client = api_client_for(cp.kubeconfig)
    try:
        apply_crds(api_client, olm.crd_paths())
        apply_crd_docs(api_client, [*upstream_crds.openshift_crds(), *olm.openshift_mode_crds()])
        core = client.CoreV1Api(api_client)
        for name in (*PLATFORM_NAMESPACES, KNOBS_NAMESPACE):
            try:
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
            except client.exceptions.ApiException as exc:
                if exc.status != 409:
                    raise
        initial_knobs = dict(data.get("knobs") or {})
        initial_knobs.update(knobs or {})
        knobs_mod.set_knobs(api_client, initial_knobs)
        cat = catalog.load()
        olm.write_catalogs(
            cp,
            cat,
            image=initial_knobs.get("operator_image"),
            progress_deadline=progress_deadline(initial_knobs),
        )
        addresses = {name: olm.start_catalog(cp, name) for name in cat.catalogs}
        apply_objects(api_client, scenario_mod.objects(data, cat, addresses))
        olm.start_operators(cp)
        if controllers:
            start_controllers(cp)
        olm.wait_catalogs_ready(api_client, list(addresses))
        # after READY: the package server lists what the catalog operator has connected to
        olm.start_package_server(cp, api_client)
    finally:
        api_client.close()
    return time.monotonic() - started
