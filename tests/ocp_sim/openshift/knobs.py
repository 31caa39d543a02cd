"""Per-test knobs (latency, faults), held in a ConfigMap so tests change them through the API at run time.

ConfigMap `ocp-sim-knobs` in namespace `ocp-sim`; every value is a string. Keys (documented in the README):
  install_latency_seconds          default seconds an operator pod takes to become Ready (so its CSV to Succeed)
  latency.<package>                the same for one package
  fail_csv.<package>               that package's operator pods crash-loop: the real OLM keeps the CSV Installing
                                   until the Deployment's progress deadline, then fails it (InstallCheckFailed)
  progress_deadline_seconds        progressDeadlineSeconds of the operator Deployments (read when the catalogs are
                                   generated, at bootstrap; default max(45, 2 x install latency + 30))
  operator_image                   image of every operator Deployment (read at bootstrap; for real kubelets, e.g. kind)
                                   and of the simulated cert-manager operand's Deployments (read when they are made)
"""

from __future__ import annotations

import time

from kubernetes import client

NAMESPACE = "ocp-sim"
NAME = "ocp-sim-knobs"


class Knobs:
    def __init__(self, api_client, ttl=0.5):
        self._core = client.CoreV1Api(api_client)
        self._ttl = ttl
        self._data = {}
        self._read_at = 0.0

    def _refresh(self):
        if time.monotonic() - self._read_at < self._ttl:
            return
        try:
            cm = self._core.read_namespaced_config_map(NAME, NAMESPACE)
            self._data = dict(cm.data or {})
        except client.exceptions.ApiException:
            self._data = {}
        self._read_at = time.monotonic()

    def get(self, key, default=None):
        self._refresh()
        return self._data.get(key, default)

    def float(self, key, default=0.0):
        value = self.get(key)
        try:
            return float(value) if value is not None else default
        except ValueError:
            return default

    def flag(self, key):
        return str(self.get(key, "")).lower() in ("1", "true", "yes")


def set_knobs(api_client, values: dict):
    """Merge `values` into the knobs ConfigMap (None deletes a key); creates namespace and ConfigMap if needed."""
    core = client.CoreV1Api(api_client)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
    body = {"data": {k: (None if v is None else str(v)) for k, v in values.items()}}
    try:
        core.patch_namespaced_config_map(NAME, NAMESPACE, body)
    except client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise
        core.create_namespaced_config_map(
            NAMESPACE,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=NAME), data={k: str(v) for k, v in values.items() if v is not None}
            ),
        )
