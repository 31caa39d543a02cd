# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge user workload monitoring settings into (and out of) the config.yaml of cluster-monitoring-config.

The ConfigMap often already holds settings someone else relies on (retention, storage, node selectors), so these
filters edit only the keys this collection owns and return the original string untouched when nothing needs to
change, which keeps re-runs at changed=0 and preserves the user's formatting until a real change is needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml
from ansible.errors import AnsibleFilterError

USER_WORKLOAD = ("enableUserWorkload",)
USER_ALERTMANAGER = ("alertmanagerMain", "enableUserAlertmanagerConfig")
# The old manifests put this key at the top level, where the monitoring operator ignores it.
MISPLACED = "enableUserAlertmanagerConfig"
WHERE = "key config.yaml of ConfigMap openshift-monitoring/cluster-monitoring-config"
REMEDY = (
    "Fix or delete the key with `oc edit configmap cluster-monitoring-config -n openshift-monitoring` and re-run; "
    "the ConfigMap was left as it is."
)
# bool first: it is an int too
KINDS = ((bool, "a boolean"), (list, "a list"), (str, "a string"), ((int, float), "a number"))


class MonitoringConfigError(AnsibleFilterError):
    """A config.yaml the merge cannot work with; the message already quotes the parser's cause, on one line."""

    # ansible-core 2.19 appends the message of the cause (PyYAML's, several lines with a source excerpt) after ours,
    # that is after what to do; the cause stays chained for -vvv.
    _include_cause_message = False


def _error(found):
    return MonitoringConfigError("Expected {0} to {1}. {2}".format(WHERE, found, REMEDY))


def _kind(value):
    return next((name for kind, name in KINDS if isinstance(value, kind)), type(value).__name__)


def _excerpt(value, width=60):
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _yaml_cause(exc):
    """PyYAML's own words on one line, each with the line and column it points at."""
    parts = []
    for text, mark in (
        (getattr(exc, "context", None), getattr(exc, "context_mark", None)),
        (getattr(exc, "problem", None), getattr(exc, "problem_mark", None)),
    ):
        if text:
            parts.append(text + (" (line {0}, column {1})".format(mark.line + 1, mark.column + 1) if mark else ""))
    return "; ".join(parts) or " ".join(str(exc).split())


def _key(path):
    return ".".join(path)


def _managed_list(managed):
    if not managed:
        return []
    if isinstance(managed, str):
        managed = managed.split(",")
    return [m.strip() for m in managed if m and m.strip()]


def _load(config):
    if config is None or not str(config).strip():
        return {}
    try:
        data = yaml.safe_load(str(config))
    except yaml.YAMLError as exc:
        raise _error("be valid YAML, found: {0}".format(_yaml_cause(exc))) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _error(
            "be a YAML mapping of settings (such as prometheusK8s), found {0}: {1}".format(_kind(data), _excerpt(data))
        )
    return data


def _dump(data):
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False) if data else ""


def _section(data, name):
    """Return data[name] as a dict, made one when it is absent or null. Any other value is refused rather than
    replaced: the monitoring operator rejects it too, but it may hold settings the user meant to keep."""
    if data.get(name) is None:
        data[name] = {}
    elif not isinstance(data[name], dict):
        raise _error(
            "hold a mapping (or nothing) under {0}, found {1}: {2}".format(
                name, _kind(data[name]), _excerpt(data[name])
            )
        )
    return data[name]


def monitoring_config_merge(config, managed=None, user_alertmanager=True):
    """Return {config, changed, managed_keys, moved} with the user workload keys set in ``config``."""
    data = _load(config)
    managed_keys = _managed_list(managed)
    changed = False
    moved = False
    if MISPLACED in data:
        value = data.pop(MISPLACED)
        _section(data, "alertmanagerMain").setdefault(USER_ALERTMANAGER[1], value)
        changed = moved = True
    wanted = [USER_WORKLOAD] + ([USER_ALERTMANAGER] if user_alertmanager else [])
    for path in wanted:
        parent = data
        for name in path[:-1]:
            parent = _section(parent, name)
        if parent.get(path[-1]) is not True:
            parent[path[-1]] = True
            changed = True
            if _key(path) not in managed_keys:
                managed_keys.append(_key(path))
    return {
        "config": _dump(data) if changed else ("" if config is None else str(config)),
        "changed": changed,
        "managed_keys": sorted(managed_keys),
        "moved": moved,
    }


def monitoring_config_remove(config, managed=None):
    """Return {config, changed, managed_keys} with only the keys listed in ``managed`` taken out of ``config``."""
    data = _load(config)
    changed = False
    for key in _managed_list(managed):
        path = key.split(".")
        parent = data
        for name in path[:-1]:
            parent = parent.get(name) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and path[-1] in parent:
            del parent[path[-1]]
            changed = True
            if len(path) > 1 and not parent:
                # An empty section left behind by us is noise; a section the user filled stays.
                data.pop(path[0], None)
    return {
        "config": _dump(data) if changed else ("" if config is None else str(config)),
        "changed": changed,
        "managed_keys": [],
    }


def monitoring_config_error(config, user_alertmanager=True):
    """Return the message monitoring_config_merge would fail with on ``config``, or "" when it would not fail."""
    try:
        monitoring_config_merge(config, None, user_alertmanager)
    except MonitoringConfigError as exc:
        return str(exc)
    return ""


class FilterModule(object):
    def filters(self):
        return {
            "monitoring_config_error": monitoring_config_error,
            "monitoring_config_merge": monitoring_config_merge,
            "monitoring_config_remove": monitoring_config_remove,
        }
