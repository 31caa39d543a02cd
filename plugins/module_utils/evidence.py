# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence for support, without credentials: the reads diagnose needs, redacted (redaction.py) before they return.

AWX/AAP stores every task result as a job event, and ``-vvv`` prints it: redacting when files are written is too late.
``collect`` therefore redacts what it read before it returns, with the ``redact`` that the ``diagnose_redact`` filter
uses too, so there is one implementation of what counts as a credential.

Pure functions except ``collect``, which reads through the facade of ``client.py`` (or a fake in unit tests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import error_text
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.redaction import redact, redact_text


def unhealthy_pods(pods):
    """Pods that are neither Succeeded nor Running with every container ready, as {name, namespace, phase}."""
    found = []
    for pod in pods:
        status = pod.get("status") or {}
        phase = status.get("phase") or "Unknown"
        unready = [c for c in status.get("containerStatuses") or [] if not c.get("ready")]
        if phase not in ("Running", "Succeeded") or (phase == "Running" and unready):
            metadata = pod.get("metadata") or {}
            found.append({"name": metadata.get("name"), "namespace": metadata.get("namespace"), "phase": phase})
    return found


def pod_log(k8s, pod, tail_lines):
    """The tail of every container's log of ``pod``, redacted; an explanation where there is none."""
    containers = [c.get("name") for c in ((pod.get("spec") or {}).get("containers") or [])] or [None]
    metadata = pod.get("metadata") or {}
    parts = []
    for container in containers:
        try:
            text = k8s.log(metadata.get("name"), metadata.get("namespace"), container=container, tail_lines=tail_lines)
        except Exception as exc:  # the log is one piece of evidence; its absence is evidence too
            text = "(no log: {0})".format(error_text(exc))
        if len(containers) > 1:
            text = "==> container {0} <==\n{1}".format(container, text)
        # The API server answers an empty body (the client's None) for a pod that was never scheduled.
        parts.append("" if text is None else text if isinstance(text, str) else str(text))
    return redact_text("\n".join(parts))


def _in_namespaces(obj, namespaces):
    namespace = (obj.get("metadata") or {}).get("namespace")
    return namespaces is None or not namespace or namespace in namespaces


def collect(k8s, resources, namespaces=None, log_tail_lines=100, max_logs=20):
    """Read ``resources`` ({api_version, kind, label_selectors}) from every namespace and return them redacted.

    Each kind is one cluster-wide LIST (faster than one per namespace), then only objects of ``namespaces`` (all when
    None) and cluster-scoped ones are kept. For the Pods read, the log tails of up to ``max_logs`` unhealthy ones are
    read too. A kind that cannot be read is reported in ``errors`` and the others are still collected.
    Returns {kinds: [{api_version, kind, resources}], unhealthy_pods, logs: [{namespace, name, log}], errors}; the
    objects are under ``resources`` as in kubernetes.core.k8s_info (``items`` would be a dict method in Jinja).
    """
    wanted = set(namespaces) if namespaces is not None else None
    result = {"kinds": [], "unhealthy_pods": [], "logs": [], "errors": []}
    pods = []
    for spec in resources:
        api_version, kind = spec["api_version"], spec["kind"]
        selector = ",".join(spec.get("label_selectors") or []) or None
        try:
            items = [o for o in k8s.list(api_version, kind, label_selector=selector) if _in_namespaces(o, wanted)]
        except Exception as exc:  # one unreadable kind (403, a broken aggregated API) must not hide the others
            result["errors"].append({"api_version": api_version, "kind": kind, "error": redact_text(str(exc)).strip()})
            items = []
        if kind == "Pod" and api_version == "v1":
            pods.extend(items)
        result["kinds"].append({"api_version": api_version, "kind": kind, "resources": redact(items)})
    result["unhealthy_pods"] = unhealthy_pods(pods)
    by_key = {((p.get("metadata") or {}).get("namespace"), (p.get("metadata") or {}).get("name")): p for p in pods}
    for bad in result["unhealthy_pods"][: max(0, max_logs)]:
        pod = by_key[(bad["namespace"], bad["name"])]
        result["logs"].append(
            {"namespace": bad["namespace"], "name": bad["name"], "log": pod_log(k8s, pod, log_tail_lines)}
        )
    return result
