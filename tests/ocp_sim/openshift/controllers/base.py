"""The one pattern every simulated controller follows.

Level-triggered, like real controllers: `reconcile()` looks at the whole current state and moves it one step
towards what the real operator would produce. Nothing polls, so an idle test bed costs next to no CPU; a controller
reconciles

- when an object of a kind in `watches` changes. A watch resumes from the last resourceVersion it saw (bookmarks
  included), so an idle kind costs one open connection and no requests. A kind that is not installed yet (a CRD
  that comes with an operator) is watched once CRD or APIService changes make it appear in discovery;
- when the knobs ConfigMap changes (knobs are read at run time);
- at a time it asked for from reconcile(): `requeue_after(seconds)` or `wake_at(monotonic deadline)`. This is how
  time-driven progress ("Ready N s after creation") is made: compute when the next step is due and ask for it;
- on `wake()`;
- otherwise every `resync` seconds (default 60): a safety net, so a missed event costs at most that, never
  correctness. A failed reconcile or watch is retried after 0.5, 1, 2, 4, 4 ... s, so a kube-apiserver that was
  away costs at most about 4 s more than its absence (a longer backoff would stretch a 20 s outage to a minute).

`resync = Controller.poll(seconds)` is for a controller with time-driven progress that does not schedule it yet:
it reconciles every `seconds` right after a change and less often the longer nothing changed (a step due T s after
the last change is seen by about 1.25 T), down to once a minute. Prefer requeue_after().
"""

from __future__ import annotations

import json
import logging
import threading
import time

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger("ocp_sim")

#: the longest pause between retries of a failed reconcile or watch (kube-apiserver away)
RETRY_CAP = 4.0
#: seconds between reconciles when nothing happens (the safety net; also the slowest a poll() gets)
IDLE_RESYNC = 60.0
#: a poll() reconciles again after at most this share of the time since the last change
POLL_SLOWDOWN = 0.25
#: seconds a watch request stays open before it is resumed from its resourceVersion
WATCH_TIMEOUT = 300
#: after a CRD or APIService change, discovery may lag behind for this long: lookups of a missing kind retry
DISCOVERY_SETTLE = 10.0
KNOBS = ("v1", "ConfigMap", "ocp-sim", "ocp-sim-knobs")


def retry_pause(failures):
    """Seconds to wait after the ``failures``-th failure in a row: 0.5, 1, 2, 4, 4 ..."""
    return min(RETRY_CAP, 0.5 * 2 ** (min(failures, 6) - 1))


class Poll(float):
    """A `resync` that marks time-driven progress nobody schedules: see Controller.poll()."""


def follow(get_resource, stop, on_change, on_missing, *, namespace=None, field_selector=None):
    """Call on_change() for every change of the kind `get_resource()` returns, until `stop` is set.

    One LIST (limit 1, for its resourceVersion; on_change() then covers whatever happened while nobody watched),
    then watches resumed from the last resourceVersion seen. A fresh LIST only after an error or an expired
    resourceVersion (410). on_missing() is called (and must block for a while) while the kind does not exist.
    """
    rv = None
    failures = 0
    while not stop.is_set():
        try:
            res = get_resource()
        except ResourceNotFoundError:
            on_missing()
            continue
        except Exception:  # apiserver restarting
            failures += 1
            stop.wait(retry_pause(failures))
            continue
        try:
            if rv is None:
                rv = res.get(namespace=namespace, field_selector=field_selector, limit=1).metadata.resourceVersion
                on_change()
            resp = res.get(
                namespace=namespace,
                field_selector=field_selector,
                watch=True,
                resource_version=rv,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_TIMEOUT,
                serialize=False,
                # a connection that died without a FIN still ends; bookmarks arrive about once a minute
                _request_timeout=(10, WATCH_TIMEOUT + 60),
            )
            try:
                for line in iter_resp_lines(resp):
                    if stop.is_set():
                        return
                    if not line:
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        if obj.get("code") != 410:
                            raise RuntimeError(obj.get("message") or "watch error")
                        rv = None  # compacted away: list again
                        break
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if event.get("type") != "BOOKMARK":
                        on_change()
            finally:
                resp.close()
                resp.release_conn()
            failures = 0
        except Exception:  # apiserver restarting, connection reset: list again, changes meanwhile count
            rv = None
            failures += 1
            stop.wait(retry_pause(failures))


class _Shared:
    """What the controllers of one process share: one watch per kind, however many controllers watch it (each
    is one connection and one watcher in kube-apiserver), CRD/APIService changes (kinds appearing in discovery),
    and the knobs ConfigMap. Started by the first controller that runs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds_changed = threading.Condition()
        self.kinds_changed_at = float("-inf")
        self.running = False
        self.controllers = []
        self.subscribers = {}

    def join(self, controller, stop):
        with self.lock:
            self.controllers.append(controller)
            first = not self.running
            self.running = True
        if first:
            self.subscribe(controller, ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), stop, self.on_kinds)
            self.subscribe(controller, ("apiregistration.k8s.io/v1", "APIService"), stop, self.on_kinds)
            self.subscribe(controller, KNOBS, stop, self.on_knobs)

    def subscribe(self, controller, what, stop, callback):
        """Call `callback()` on every change of `what`: (api_version, kind) or (api_version, kind, namespace, name)."""
        with self.lock:
            callbacks = self.subscribers.setdefault(what, [])
            callbacks.append(callback)
            if len(callbacks) > 1:
                return
        api_version, kind = what[:2]
        kwargs = {"namespace": what[2], "field_selector": "metadata.name=" + what[3]} if len(what) > 2 else {}
        threading.Thread(
            target=follow,
            args=(
                lambda: controller.resource(api_version, kind),
                stop,
                lambda: self.notify(what),
                lambda: self.wait_for_kinds(stop, IDLE_RESYNC),
            ),
            kwargs=kwargs,
            daemon=True,
            name="watch-" + kind,
        ).start()

    def notify(self, what):
        with self.lock:
            callbacks = list(self.subscribers.get(what, ()))
        for callback in callbacks:
            callback()

    def on_kinds(self):
        with self.kinds_changed:
            self.kinds_changed_at = time.monotonic()
            self.kinds_changed.notify_all()

    def wait_for_kinds(self, stop, timeout):
        """Until the kinds the API serves may have changed (at most `timeout`); soon while discovery settles."""
        if time.monotonic() - self.kinds_changed_at < DISCOVERY_SETTLE:
            stop.wait(1.0)
            return
        with self.kinds_changed:
            self.kinds_changed.wait(timeout)

    def on_knobs(self):
        with self.lock:
            controllers = list(self.controllers)
        for knobs in {id(c.knobs): c.knobs for c in controllers}.values():
            # Knobs caches a read for half a second; the reconcile this wakes must see the new values
            if hasattr(knobs, "_read_at"):
                knobs._read_at = float("-inf")
        for c in controllers:
            c.wake()


_SHARED = _Shared()


class Controller:
    #: (api_version, kind) pairs whose changes run reconcile()
    watches: tuple = ()
    #: the longest the controller goes without a reconcile when nothing happens (a safety net, not a poll)
    resync: float = IDLE_RESYNC
    name = "controller"

    @staticmethod
    def poll(seconds):
        """`resync = Controller.poll(seconds)`, see the module docstring; requeue_after() is better."""
        return Poll(seconds)

    def __init__(self, api_client, knobs):
        self.api_client = api_client
        self.knobs = knobs
        self.dyn = DynamicClient(api_client)
        self._wake = threading.Event()
        self._due_lock = threading.Lock()
        self._due = None
        self._changed_at = time.monotonic()
        self._discovery_refreshed_at = float("-inf")
        self.log = logging.getLogger("ocp_sim." + self.name)

    # --- helpers for subclasses -------------------------------------------------------------------------------
    def resource(self, api_version, kind):
        """The dynamic resource, refreshing discovery when the kind may have been installed after we looked."""
        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            if not self._may_refresh_discovery():
                raise
            self._discovery_refreshed_at = time.monotonic()
            self.dyn.resources.invalidate_cache()
            return self.dyn.resources.get(api_version=api_version, kind=kind)

    def _may_refresh_discovery(self):
        """Refreshing discovery costs several requests: only when CRDs or APIServices changed since the last refresh
        (or are still settling), at most once a second, or always when nothing tells us about such changes."""
        if not _SHARED.running:
            return True
        if time.monotonic() - self._discovery_refreshed_at < 1.0:
            return False
        return self._discovery_refreshed_at < _SHARED.kinds_changed_at + DISCOVERY_SETTLE

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
        """Reconcile soon (something changed that no watch reports)."""
        self._changed_at = time.monotonic()
        self._wake.set()

    def wake_at(self, deadline):
        """Reconcile again at `deadline` (time.monotonic()) at the latest; the earliest requested deadline wins.

        Call it from reconcile() for a step that is due later ("Ready N s after creation"); each reconcile asks
        again for what it still waits for, so a deadline need not be cancelled."""
        with self._due_lock:
            if self._due is None or deadline < self._due:
                self._due = deadline
        if threading.current_thread() is not getattr(self, "_loop_thread", None):
            self._wake.set()  # from another thread: the loop may be sleeping towards a later time

    def requeue_after(self, seconds):
        """Reconcile again in `seconds` at the latest (see wake_at())."""
        self.wake_at(time.monotonic() + max(0.0, seconds))

    def _wake_when(self, event):
        event.wait()
        self._wake.set()

    def _on_change(self):
        self._changed_at = time.monotonic()
        self._wake.set()

    def _next_run(self, started):
        """Monotonic time of the next reconcile when nothing wakes us earlier."""
        resync = self.resync
        if isinstance(resync, Poll):
            gap = min(IDLE_RESYNC, max(float(resync), POLL_SLOWDOWN * (started - self._changed_at)))
        else:
            gap = resync
        with self._due_lock:
            due = self._due
        return min(started + gap, due) if due is not None else started + gap

    def run(self, stop: threading.Event):
        self._loop_thread = threading.current_thread()
        # the loop sleeps on _wake for up to a minute; stopping must not wait for that
        threading.Thread(target=self._wake_when, args=(stop,), daemon=True, name="stop-" + self.name).start()
        _SHARED.join(self, stop)
        for api_version, kind in self.watches:
            _SHARED.subscribe(self, (api_version, kind), stop, self._on_change)
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            with self._due_lock:  # reconcile() asks again for what it still waits for
                if self._due is not None and self._due <= started:
                    self._due = None
            try:
                self.reconcile()
                failures = 0
            except Exception as exc:  # one bad object must not stop the simulation; log and retry soon
                failures += 1
                self.log.warning("reconcile failed: %s", exc, exc_info=self.log.isEnabledFor(logging.DEBUG))
                self.requeue_after(min(float(self.resync), retry_pause(failures)))
            self._wake.wait(max(0.0, self._next_run(started) - time.monotonic()))
            self._wake.clear()
            # coalesce bursts of events into one reconcile
            stop.wait(0.1)
