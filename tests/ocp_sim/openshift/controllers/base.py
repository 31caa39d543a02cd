"""The one pattern every simulated controller follows.

Level-triggered, like real controllers: `reconcile()` looks at the whole current state and moves it one step
towards what the real operator would produce. Watches only *wake* the loop early; a periodic resync runs it anyway,
so a missed event, a kind that does not exist yet (a CRD the simulated OLM installs later) or a restarted
kube-apiserver cost at most one resync period, never correctness.
"""

from __future__ import annotations

import logging
import threading
import time

from kubernetes import watch
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

log = logging.getLogger("ocp_sim")


class Controller:
    #: (api_version, kind) pairs whose changes wake reconcile() early
    watches: tuple = ()
    #: seconds between reconciles when nothing is watched to change
    resync: float = 2.0
    name = "controller"

    def __init__(self, api_client, knobs):
        self.api_client = api_client
        self.knobs = knobs
        self.dyn = DynamicClient(api_client)
        self._wake = threading.Event()
        self.log = logging.getLogger("ocp_sim." + self.name)

    # --- helpers for subclasses -------------------------------------------------------------------------------
    def resource(self, api_version, kind):
        """The dynamic resource, refreshing discovery once when the kind was installed after we started."""
        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            self.dyn.resources.invalidate_cache()
            return self.dyn.resources.get(api_version=api_version, kind=kind)

    def has_kind(self, api_version, kind):
        try:
            self.resource(api_version, kind)
            return True
        except ResourceNotFoundError:
            return False

    def list(self, api_version, kind, namespace=None, label_selector=None):
        try:
            res = self.resource(api_version, kind)
        except ResourceNotFoundError:
            return []
        return res.get(namespace=namespace, label_selector=label_selector).to_dict().get("items", [])

    def get(self, api_version, kind, name, namespace=None):
        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except (NotFoundError, ResourceNotFoundError):
            return None

    def apply(self, obj, field_manager=None):
        """Server-side apply of a whole object (create or update), as the real operator's client would."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        return res.server_side_apply(
            body=obj,
            name=obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace"),
            field_manager=field_manager or "ocp-sim-" + self.name,
            force_conflicts=True,
        ).to_dict()

    def patch_status(self, obj, status):
        """Merge-patch the status subresource (the only way a controller should write status)."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        body = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "metadata": {"name": obj["metadata"]["name"]},
            "status": status,
        }
        if obj["metadata"].get("namespace"):
            body["metadata"]["namespace"] = obj["metadata"]["namespace"]
        return res.status.patch(
            body=body,
            name=obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace"),
            content_type="application/merge-patch+json",
        ).to_dict()

    def delete(self, api_version, kind, name, namespace=None):
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace)
            return True
        except (NotFoundError, ResourceNotFoundError):
            return False

    # --- the loop ---------------------------------------------------------------------------------------------
    def reconcile(self):
        raise NotImplementedError

    def wake(self):
        self._wake.set()

    def _watch(self, api_version, kind, stop):
        while not stop.is_set():
            try:
                res = self.resource(api_version, kind)
                for _event in watch.Watch().stream(res.get, timeout_seconds=30, serialize=False):
                    self._wake.set()
                    if stop.is_set():
                        return
            except Exception:  # kind not installed yet, apiserver restarting: retry, resync covers the gap
                stop.wait(1.0)

    def run(self, stop: threading.Event):
        for api_version, kind in self.watches:
            threading.Thread(
                target=self._watch,
                args=(api_version, kind, stop),
                daemon=True,
                name="watch-{0}-{1}".format(self.name, kind),
            ).start()
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.reconcile()
            except Exception as exc:  # one bad object must not stop the simulation; log and retry next round
                self.log.warning("reconcile failed: %s", exc, exc_info=self.log.isEnabledFor(logging.DEBUG))
            self._wake.wait(max(0.2, self.resync - (time.monotonic() - started)))
            self._wake.clear()
            # coalesce bursts of events into one reconcile
            stop.wait(0.1)
