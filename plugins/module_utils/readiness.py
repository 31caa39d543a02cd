# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What "ready" means for a Kubernetes object, and one bounded wait for many of them at once (ready_wait's logic).

A wait item names one object (``name``) or a set (``label_selectors``, ``name_prefixes``) of one kind and says what
ready is: a ``condition``, a ``field`` value, ``exists``, ``absent``, a finished ``rollout`` (DaemonSet, Deployment)
or ``replicas`` (all of a MachineSet's replicas ready). ``evaluate`` judges the objects read for an item and says, in
one line, what it found; ``wait`` reads every unfinished item each round with as few requests as their kinds and
namespaces allow, until all are ready or the deadline passes. The client, the clock and the sleep are injected, so
that unit tests run on simulated time against a fake cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import api_failure_message, error_text
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.waiter import Api, Backoff, Budget, poll

CHECKS = ("condition", "field", "exists", "absent", "rollout", "replicas")
# Requests per second on average, and the burst allowed right after a change (see waiter.Budget).
REQUEST_RATE = 2.0
REQUEST_BURST = 6
# Kinds whose objects carry data that must never leave the module: only their metadata is ever summarised.
SECRET_KINDS = ("Secret",)


class ApiFailure(Exception):
    """An API error that waiting cannot fix (HTTP 401 or 403); the message says what to do."""


class InvalidItem(ValueError):
    """A wait item that does not say what to read or what ready means."""


# --- judging one object -----------------------------------------------------------------------------------------------


def _path(path):
    if isinstance(path, (list, tuple)):
        return list(path)
    return str(path).split(".")


def field_value(obj, path):
    """The value at ``path`` (a dotted string, or a list of keys for keys that contain dots), or None."""
    value = obj
    for key in _path(path):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _conditions(obj):
    return (obj.get("status") or {}).get("conditions") or []


def _ref(obj):
    meta = obj.get("metadata") or {}
    where = meta.get("namespace")
    return "{0} {1}".format(
        obj.get("kind") or "object", "{0}/{1}".format(where, meta.get("name")) if where else meta.get("name")
    )


def describe_conditions(obj):
    parts = []
    for cond in _conditions(obj):
        text = "{0}={1}".format(cond.get("type"), cond.get("status"))
        detail = ": ".join(x for x in (cond.get("reason"), " ".join(str(cond.get("message") or "").split())) if x)
        parts.append("{0} ({1})".format(text, detail) if detail else text)
    return ", ".join(parts) or "no conditions"


def _judge_condition(item, obj, ref):
    want = item["condition"]
    found = [c for c in _conditions(obj) if c.get("type") == want["type"]]
    text = "{0}: {1}".format(ref, describe_conditions(obj))
    generation = (obj.get("metadata") or {}).get("generation")
    if found and found[0].get("observedGeneration") is not None and generation is not None:
        if found[0]["observedGeneration"] < generation:  # set for an older spec (metav1.Condition)
            return "waiting", "{0} (condition {1} observed generation {2}, not {3})".format(
                text, want["type"], found[0]["observedGeneration"], generation
            )
    if found and str(found[0].get("status")) == str(want.get("status", "True")):
        if found[0].get("reason") in (want.get("wait_reasons") or []):
            return "waiting", text
        return "ready", text
    if found and found[0].get("reason") in (want.get("warn_reasons") or []):
        return "warning", text
    return "waiting", text


def _judge_field(item, obj, ref):
    want = item["field"]
    value = field_value(obj, want["path"])
    path = want["path"] if isinstance(want["path"], str) else ".".join(want["path"])
    text = "{0}: {1} = {2}".format(ref, path, "(not set)" if value is None else repr(value))
    if want.get("equals") is not None:
        return ("ready" if str(value) == str(want["equals"]) else "waiting"), text
    return ("ready" if value not in want.get("not_in", [None]) else "waiting"), text


def _judge_replicas(item, obj, ref):
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    ready = (obj.get("status") or {}).get("readyReplicas") or 0
    return ("ready" if ready == wanted else "waiting"), "{0}: {1} of {2} replicas ready".format(ref, ready, wanted)


def _judge_exists(item, obj, ref):
    return "ready", "{0} exists".format(ref)


def judge(item, obj):
    """(state, text) for one object: state "ready", "warning" (done, with a reason that only warns) or "waiting"."""
    ref = _ref(dict(obj, kind=obj.get("kind") or item["kind"]))
    if item["kind"] in SECRET_KINDS:  # its data never leaves this function
        return _judge_exists(item, obj, ref)
    judges = dict(condition=_judge_condition, field=_judge_field, rollout=_rollout, replicas=_judge_replicas)
    return judges.get(item["check"], _judge_exists)(item, obj, ref)


def _rollout(item, obj, ref):
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    current = status.get("observedGeneration") == meta.get("generation")
    if obj.get("kind") == "DaemonSet":
        desired = status.get("desiredNumberScheduled")
        ready = (
            desired is not None
            # updatedNumberScheduled is omitted when zero: a DaemonSet on no node has rolled out
            and (status.get("updatedNumberScheduled") or 0) == desired
            and status.get("numberReady") == desired
            and not status.get("numberUnavailable")
            and current
        )
        text = "{0}: {1} of {2} scheduled pods ready, {3} updated{4}".format(
            ref,
            status.get("numberReady", 0),
            desired if desired is not None else "?",
            status.get("updatedNumberScheduled", 0),
            "" if current else " (status not yet observed for generation {0})".format(meta.get("generation")),
        )
        return ("ready" if ready else "waiting"), text
    wanted = spec.get("replicas", 1)
    ready = (
        wanted == (status.get("replicas") or 0)
        and status.get("availableReplicas") == status.get("replicas")
        and (status.get("updatedReplicas") or 0) == (status.get("replicas") or 0)
        and not status.get("unavailableReplicas")
        and current
    )
    if wanted == 0 and current and not status.get("replicas"):
        ready = True
    text = "{0}: {1} of {2} replicas available, {3} updated{4}".format(
        ref,
        status.get("availableReplicas") or 0,
        wanted,
        status.get("updatedReplicas") or 0,
        "" if current else " (status not yet observed for generation {0})".format(meta.get("generation")),
    )
    return ("ready" if ready else "waiting"), text


# --- judging an item --------------------------------------------------------------------------------------------------


def normalize(item):
    """The item with its ``check`` (the one kind of readiness it asks for) and its target, or InvalidItem."""
    item = dict(item)
    checks = [c for c in CHECKS if item.get(c) not in (None, False, {}, "")]
    if len(checks) > 1:
        raise InvalidItem("{0}: give one of {1}, not {2}".format(item.get("description"), ", ".join(CHECKS), checks))
    item["check"] = checks[0] if checks else "exists"
    targets = [t for t in ("name", "label_selectors", "name_prefixes") if item.get(t)]
    if len(targets) != 1:
        raise InvalidItem(
            "{0}: give exactly one of name, label_selectors, name_prefixes".format(item.get("description"))
        )
    if item["check"] == "condition" and not (item["condition"] or {}).get("type"):
        raise InvalidItem("{0}: condition needs a type".format(item.get("description")))
    if item["check"] == "field" and not (item["field"] or {}).get("path"):
        raise InvalidItem("{0}: field needs a path".format(item.get("description")))
    if item["kind"] in SECRET_KINDS and item["check"] not in ("exists", "absent"):
        raise InvalidItem(
            "{0}: a {1} can only be waited for to exist or be absent".format(item["description"], item["kind"])
        )
    gate = item.get("when_exists")
    if gate and not (gate.get("api_version") and gate.get("kind") and gate.get("label_selectors")):
        raise InvalidItem(
            "{0}: when_exists needs api_version, kind and label_selectors".format(item.get("description"))
        )
    item.setdefault("min_count", None)
    return item


def _gate_reads(item):
    """when_exists as items to read: one per label selector, any of which is enough."""
    gate = item["when_exists"]
    return [
        dict(gate, label_selectors=[selector], name=None, name_prefixes=None, description=item["description"])
        for selector in gate["label_selectors"]
    ]


def where(item):
    ns = item.get("namespace")
    if item.get("name"):
        return "{0} {1}".format(item["kind"], "{0}/{1}".format(ns, item["name"]) if ns else item["name"])
    if item.get("label_selectors"):
        what = "{0}s labelled {1}".format(item["kind"], ",".join(item["label_selectors"]))
    else:
        what = "{0}s named {1}".format(item["kind"], " or ".join(p + "*" for p in item["name_prefixes"]))
    return "{0} in namespace {1}".format(what, ns) if ns else what


def expectation(item):
    """What ready means for the item, in words."""
    check = item["check"]
    if check == "absent":
        return "{0} to be gone".format(where(item))
    if check == "exists":
        return "{0} to exist".format(where(item))
    if check == "condition":
        want = item["condition"]
        what = "{0}={1}".format(want["type"], want.get("status", "True"))
        if want.get("wait_reasons"):
            what += " with a reason other than " + " or ".join(want["wait_reasons"])
    elif check == "field":
        want = item["field"]
        path = want["path"] if isinstance(want["path"], str) else ".".join(want["path"])
        if want.get("equals") is not None:
            what = "{0} {1!r}".format(path, want["equals"])
        else:
            others = [repr(v) for v in want.get("not_in", [None]) if v is not None]
            what = "{0} set{1}".format(path, " and not " + " or ".join(others) if others else "")
    elif check == "rollout":
        what = "rolled out (every pod updated and ready)"
    else:
        what = "all replicas ready"
    if item.get("name"):
        return "{0} {1}".format(where(item), what)
    if item.get("name_prefixes"):
        return "{0}: at least one per prefix {1}".format(where(item), what)
    least = item.get("min_count")
    return "{0}: {1}every one {2}".format(where(item), "at least {0}, ".format(least) if least else "", what)


def _named(obj, prefix):
    return ((obj.get("metadata") or {}).get("name") or "").startswith(prefix)


def evaluate(item, objects):
    """Judge the objects read for ``item``: a dict with state ("ready", "warning", "waiting"), found and exists."""
    objects = [o for o in objects if o]
    exists = bool(objects)
    if item.get("name_prefixes"):
        groups = [(p, [o for o in objects if _named(o, p)]) for p in item["name_prefixes"]]
    else:
        groups = [(None, objects)]
    if item["check"] == "absent":
        names = sorted((o.get("metadata") or {}).get("name") for o in objects)
        if not objects:
            return dict(state="ready", found="none left", exists=False)
        found = "{0} left: {1}".format(len(names), ", ".join(names[:10]) + (", ..." if len(names) > 10 else ""))
        return dict(state="waiting", found=found, exists=True)
    states, texts = [], []
    for prefix, group in groups:
        if not group:
            states.append("waiting")
            texts.append("no {0}".format(where(dict(item, name_prefixes=[prefix])) if prefix else where(item)))
            continue
        judged = [judge(item, o) for o in group]
        if prefix:  # at least one per prefix
            best = next((j for j in judged if j[0] == "ready"), None) or next(
                (j for j in judged if j[0] == "warning"), judged[0]
            )
            states.append(best[0])
            texts.append("; ".join(j[1] for j in judged))
            continue
        least = item.get("min_count") or 1
        bad = [j for j in judged if j[0] != "ready"]
        if len(group) < least:
            states.append("waiting")
        else:
            states.append("waiting" if any(j[0] == "waiting" for j in bad) else bad[0][0] if bad else "ready")
        texts.append(
            "; ".join(j[1] for j in judged) + (" (want at least {0})".format(least) if len(group) < least else "")
        )
    if all(s == "ready" for s in states):
        state = "ready"
    elif all(s in ("ready", "warning") for s in states):
        state = "warning"
    else:
        state = "waiting"
    return dict(state=state, found="; ".join(texts), exists=exists)


# --- reading ----------------------------------------------------------------------------------------------------------


def plan_reads(items):
    """The requests one round needs: a GET per named object, except that several objects (names or name prefixes)
    of one kind in one namespace share one LIST; a LIST per label selector. Cluster-scoped kinds (CRDs, Nodes) are
    never listed whole: a cluster has hundreds of CRDs."""
    groups = {}
    for index, item in enumerate(items):
        if item.get("label_selectors"):
            groups[("selector", index)] = [index]
        else:
            groups.setdefault((item["api_version"], item["kind"], item.get("namespace")), []).append(index)
    reads = []
    for key, indexes in groups.items():
        if key[0] == "selector":
            item = items[indexes[0]]
            reads.append(("list", item, indexes, ",".join(item["label_selectors"])))
            continue
        prefixed = any(items[i].get("name_prefixes") for i in indexes)
        if key[2] and (prefixed or len(indexes) > 1):
            reads.append(("list", items[indexes[0]], indexes, None))
        else:
            reads.extend(("get", items[i], [i], None) for i in indexes)
    return reads


def _doing(method, item, selector):
    if method == "get":
        return "read {0}".format(where(item))
    scope = "namespace {0}".format(item["namespace"]) if item.get("namespace") else "the cluster"
    return "list {0}s in {1}{2}".format(item["kind"], scope, " labelled " + selector if selector else "")


def _needs(method, item):
    scope = "in namespace {0}".format(item["namespace"]) if item.get("namespace") else "cluster-wide"
    return "{0} {1} ({2}) {3}".format(method, item["kind"], item["api_version"], scope)


def read_round(api, items):
    """Objects by item index, and read errors by item index; a 401 or 403 raises ApiFailure."""
    objects, errors = {}, {}
    for method, item, indexes, selector in plan_reads(items):
        try:
            if method == "get":
                found = api.call(
                    "get", item["api_version"], item["kind"], item["name"], namespace=item.get("namespace")
                )
                results = {indexes[0]: [found] if found else []}
            else:
                listed = api.call(
                    "list", item["api_version"], item["kind"], namespace=item.get("namespace"), label_selector=selector
                )
                results = {}
                for i in indexes:
                    if items[i].get("name"):
                        results[i] = [o for o in listed if (o.get("metadata") or {}).get("name") == items[i]["name"]]
                    else:
                        results[i] = listed
        except Exception as exc:
            if getattr(exc, "status", None) in (401, 403):
                raise ApiFailure(
                    api_failure_message(_doing(method, item, selector), exc, _needs(method, item))
                ) from exc
            for i in indexes:
                errors[i] = exc
            continue
        objects.update(results)
    return objects, errors


# --- waiting ----------------------------------------------------------------------------------------------------------


class Watch(object):
    def __init__(self, item):
        self.item = item
        self.result = dict(state="waiting", found="not read yet", exists=False)
        self.error = None
        self.seconds = None
        self.gated = bool(item.get("when_exists"))  # its when_exists not looked at yet

    @property
    def done(self):
        return self.result["state"] in ("ready", "warning", "skipped")

    def report(self):
        report = dict(
            description=self.item["description"],
            ready=self.result["state"] == "ready",
            state=self.result["state"],
            exists=self.result["exists"],
            found=self.result["found"],
            expected=expectation(self.item),
        )
        if self.error is not None:
            report["last_error"] = error_text(self.error)
        if self.result["state"] == "skipped":
            report["note"] = self.warning()
        if self.seconds is not None:
            report["seconds"] = round(self.seconds, 1)
        return report

    def explanation(self):
        """Expected, found and remedy for an item that is not ready."""
        found = self.result["found"]
        if self.error is not None:
            found = "{0}; the last attempt to read it failed: {1}".format(found, error_text(self.error))
        text = "{0}: expected {1}; found {2}.".format(self.item["description"], expectation(self.item), found)
        if self.item.get("remedy"):
            text += " " + " ".join(str(self.item["remedy"]).split())
        return text

    def warning(self):
        """For an item done with a warning or skipped: what was not reached, what was found, and what it means."""
        return "{0}: not waiting for {1}; found {2}. {3}".format(
            self.item["description"],
            expectation(self.item),
            self.result["found"],
            " ".join(str(self.item.get("warning") or "").split()),
        ).strip()


class Outcome(object):
    def __init__(self, watches, elapsed, requests, failed_reads, last_error):
        self.watches = watches
        self.elapsed = elapsed
        self.requests = requests
        self.failed_reads = failed_reads
        self.last_error = last_error

    @property
    def pending(self):
        return [w for w in self.watches if not w.done]


def _open_gates(api, watches, now):
    """Settle each item that waits only while some objects exist: gone through, or skipped when none do.

    Read once per item, in the first round: nodes that join later are for the next run to wait for. Skipped is not a
    warning: no GPU nodes yet is the normal state right after their MachineSets are made, or while they scale at zero.
    """
    gated = [w for w in watches if w.gated]
    reads = [(watch, read) for watch in gated for read in _gate_reads(watch.item)]
    objects, errors = read_round(api, [pair[1] for pair in reads])
    found = {}
    for index, (watch, _read) in enumerate(reads):
        if index in errors:
            watch.error = errors[index]
        found[watch] = found.get(watch, False) or bool(objects.get(index))
    for watch in gated:
        if watch.error is not None and not found[watch]:
            continue  # read again next round
        watch.gated = False
        watch.error = None
        if not found[watch]:
            gate = watch.item["when_exists"]
            watch.result = dict(
                state="skipped",
                found="no {0} labelled {1}".format(gate["kind"], " or ".join(gate["label_selectors"])),
                exists=False,
            )
            watch.seconds = now
    return errors


def _round(api, watches, now):
    """Read every unfinished item once; the read errors of this round, in a list."""
    gate_errors = _open_gates(api, [w for w in watches if not w.done], now)
    pending = [w for w in watches if not w.done and not w.gated]
    objects, errors = read_round(api, [w.item for w in pending])
    for index, watch in enumerate(pending):
        if index in errors:
            watch.error = errors[index]
            continue
        watch.error = None
        watch.result = evaluate(watch.item, objects.get(index, []))
        if watch.done:
            watch.seconds = now
    return list(gate_errors.values()) + list(errors.values())


def wait(k8s, items, timeout, poll_interval=5, *, clock=time.monotonic, sleep=time.sleep, once=False):
    """Wait until every item is ready (or done with a warning), for ``timeout`` seconds at most, in total.

    ``once`` reads one round and returns (check mode). A read that fails for any reason but 401 and 403 is retried
    at the next round; those two raise ApiFailure at once.
    """
    watches = [Watch(normalize(item)) for item in items]
    start = clock()
    api = Api(k8s, start + timeout, clock=clock, budget=Budget(REQUEST_RATE, REQUEST_BURST, clock=clock))
    failed = dict(reads=0, last=None)

    def probe(elapsed):
        errors = _round(api, watches, elapsed)
        if errors:
            failed["reads"] += len({id(e) for e in errors})
            failed["last"] = error_text(errors[-1])
        done = all(w.done for w in watches)
        fingerprint = tuple((w.result["state"], w.result["found"]) for w in watches)
        return done, None, fingerprint

    def pace():
        pending = [w.item for w in watches if not w.done]
        return api.budget.delay(len(plan_reads(pending)))

    if once:
        probe(0)
    else:
        backoff = Backoff(initial=min(1.0, poll_interval), maximum=max(poll_interval, 0.1))
        poll(probe, timeout, clock=clock, sleep=sleep, backoff=backoff, pace=pace)
    return Outcome(watches, clock() - start, api.requests, failed["reads"], failed["last"])
