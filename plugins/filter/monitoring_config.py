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
        raise AnsibleFilterError("config.yaml of cluster-monitoring-config is not valid YAML: {0}".format(exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AnsibleFilterError(
            "config.yaml of cluster-monitoring-config must be a YAML mapping, found {0}".format(type(data).__name__)
        )
    return data


def _dump(data):
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False) if data else ""


def _section(data, name):
    """Return data[name] as a dict, replacing a null or scalar value (which the operator would reject anyway)."""
    if not isinstance(data.get(name), dict):
        data[name] = {}
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


class FilterModule(object):
    def filters(self):
        return {
            "monitoring_config_merge": monitoring_config_merge,
            "monitoring_config_remove": monitoring_config_remove,
        }
