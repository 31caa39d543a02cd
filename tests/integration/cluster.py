"""What the integration tests read and write on the simulated cluster, as `oc` would.

Reads go through the collection's own client layer (missing objects and kinds come back as None or []); writes are
the few a test needs to stage a user's prior state.
"""

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import K8s


class Cluster(K8s):
    def resource(self, api_version, kind):
        return self._resource(api_version, kind)

    def create(self, body):
        return self.resource(body["apiVersion"], body["kind"]).create(
            body=body, namespace=body["metadata"].get("namespace")
        )
