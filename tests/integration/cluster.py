"""What the integration tests read and write on the simulated cluster, as `oc` would.

Reads go through the collection's own client layer (missing objects and kinds come back as None or []); writes are
the few a test needs to stage a user's prior state.
"""

import time

from kubernetes import dynamic

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import K8s

# The gpu-nodes scenario's GPU MachineSets: one g6.4xlarge and one g6.12xlarge.
GPU_NODES_IN_SCENARIO = 2
# kinds whose objects change without anyone acting on them
CHURN = {"Event", "Lease", "EndpointSlice", "Endpoints"}


class Cluster(K8s):
    def resource(self, api_version, kind):
        return self._resource(api_version, kind)

    def create(self, body):
        return self.resource(body["apiVersion"], body["kind"]).create(
            body=body, namespace=body["metadata"].get("namespace")
        )


def said(*outputs):
    """What a reader follows of playbook output: runs of whitespace made one space, and the lines of a message printed
    as a list (one line an item) joined again, without the quotes the YAML result format puts around an item."""
    flat = " ".join(" ".join(outputs).split())
    return " ".join(flat.replace("' - '", " ").replace("''", "'").split())


def gpu_nodes(core, count=GPU_NODES_IN_SCENARIO, timeout=180):
    """The GPU nodes once `count` of them have joined.

    The simulated machine-api makes them from the scenario's MachineSets after bootstrap returns, as machines join a
    real cluster after install; a test that looks at once can find none.
    """
    deadline = time.monotonic() + timeout
    while True:
        nodes = core.list_node(label_selector="node-role.kubernetes.io/gpu").items
        if len(nodes) >= count or time.monotonic() > deadline:
            return nodes
        time.sleep(1)


def wait_copies_gone(cluster, namespaces, timeout=180):
    """Wait until OLM removed the copies of the CSVs installed in `namespaces` (an AllNamespaces install is copied
    into every namespace, so until then the same operator cannot be installed anywhere else)."""
    deadline = time.monotonic() + timeout
    while True:
        copies = sorted(
            c["metadata"]["namespace"]
            for c in cluster.list(
                "operators.coreos.com/v1alpha1", "ClusterServiceVersion", label_selector="olm.copiedFrom"
            )
            if c["metadata"]["labels"]["olm.copiedFrom"] in namespaces
        )
        if not copies:
            return
        assert time.monotonic() < deadline, "copies of CSVs from {0} still in {1}".format(sorted(namespaces), copies)
        time.sleep(1)


def delete_namespaces(cluster, names, timeout=180):
    """Delete `names` and wait until they are gone with everything in them (and OLM removed the copies of their
    CSVs), so that the next test finds no install of theirs anywhere in the cluster."""
    names = [ns for ns in names if cluster.get("v1", "Namespace", ns)]
    for ns in names:
        cluster.resource("v1", "Namespace").delete(name=ns)
    deadline = time.monotonic() + timeout
    while True:
        left = [ns for ns in names if cluster.get("v1", "Namespace", ns)]
        if not left:
            break
        assert time.monotonic() < deadline, "namespaces {0} still there after {1} s".format(left, timeout)
        time.sleep(1)
    wait_copies_gone(cluster, names, timeout=timeout)


def namespaced_kinds(api_client):
    dyn = dynamic.DynamicClient(api_client)
    seen = set()
    for res in dyn.resources.search():
        if (
            getattr(res, "namespaced", False)
            and "list" in (getattr(res, "verbs", None) or [])
            and "/" not in res.name
            and res.kind not in CHURN
            and (res.group, res.kind) not in seen
        ):
            seen.add((res.group, res.kind))
            yield res


def object_versions(sim, concerned, cluster_kinds=()):
    """(kind, namespace, name) -> resourceVersion of every object in the namespaces `concerned` and of every object of
    the cluster-scoped `cluster_kinds` ((api_version, kind) pairs), and which of those namespaces exist with their
    resourceVersion (a refused run must neither change an object there nor create a namespace)."""
    versions = {}
    for api_version, kind in cluster_kinds:
        for obj in Cluster(sim.api_client).list(api_version, kind):
            versions[(kind, "", obj["metadata"]["name"])] = obj["metadata"]["resourceVersion"]
    for res in namespaced_kinds(sim.api_client):
        for ns in concerned:
            try:
                listing = res.get(namespace=ns)
            except Exception:  # a kind that cannot be listed in a namespace that does not exist
                continue
            for obj in listing.items:
                versions[(res.kind, ns, obj.metadata.name)] = obj.metadata.resourceVersion
    core = dynamic.DynamicClient(sim.api_client).resources.get(api_version="v1", kind="Namespace")
    namespaces = {n.metadata.name: n.metadata.resourceVersion for n in core.get().items if n.metadata.name in concerned}
    return versions, namespaces


def settled_versions(sim, concerned, quiet=5.0, timeout=120, cluster_kinds=()):
    """object_versions once nothing in `concerned` has changed for `quiet` seconds: OLM goes on writing for a while
    after a CSV Succeeded (RBAC, InstallPlan, Subscription status), which is not what a test of a run measures."""
    deadline = time.monotonic() + timeout
    last = object_versions(sim, concerned, cluster_kinds)
    while True:
        time.sleep(quiet)
        now = object_versions(sim, concerned, cluster_kinds)
        if now == last:
            return now
        assert time.monotonic() < deadline, "namespaces {0} still changing after {1} s".format(concerned, timeout)
        last = now


def assert_refused_before_any_change(playbook, sim, extra, expected, concerned, *, extra_args=()):
    """Run site.yml and assert that it failed in the preflight, saying each of `expected` and "Nothing was changed.",
    and that no object in the namespaces `concerned` changed and none of them was created. Returns the run."""
    before = settled_versions(sim, concerned)
    run = playbook("site.yml", sim.kubeconfig, extra_vars=extra, extra_args=extra_args)
    assert run.rc != 0, run
    # the output callback folds long messages: compare with runs of whitespace made one space
    output = " ".join(run.stdout.split())
    for text in [*expected, "Nothing was changed."]:
        assert text in output, (text, run)
    after = object_versions(sim, concerned)
    assert after[1] == before[1], ("namespaces created or changed", before[1], after[1])
    changed = {k: (v, after[0].get(k)) for k, v in before[0].items() if after[0].get(k) != v}
    added = set(after[0]) - set(before[0])
    assert not changed and not added, (changed, added)
    # the preflight failed: no task after it ran
    assert "Apply the Namespace, OperatorGroup and Subscription of every enabled operator" not in run.stdout, run
    return run
    return run
