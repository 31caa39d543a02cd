"""What the integration tests read and write on the simulated cluster, as `oc` would.

Reads go through the collection's own client layer (missing objects and kinds come back as None or []); writes are
the few a test needs to stage a user's prior state.
"""

import time

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import K8s

# The gpu-nodes scenario's GPU MachineSets: one g6.4xlarge and one g6.12xlarge.
GPU_NODES_IN_SCENARIO = 2


class Cluster(K8s):
    def resource(self, api_version, kind):
        return self._resource(api_version, kind)

    def create(self, body):
        return self.resource(body["apiVersion"], body["kind"]).create(
            body=body, namespace=body["metadata"].get("namespace")
        )


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
