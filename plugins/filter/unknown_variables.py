# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of each filter is in <filter name>.yml beside this file.
"""Name the variables that look like this collection's but that nothing reads: Ansible ignores a misspelt variable,
so -e gpu_operator_chanel=v25.3 would install the default channel without a word."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os

import yaml

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")


def documented(roles_dir):
    """Every option of every entry point of every role's meta/argument_specs.yml, and the roles' names."""
    names, roles = set(), sorted(os.listdir(roles_dir))
    for role in roles:
        with open(os.path.join(roles_dir, role, "meta", "argument_specs.yml")) as spec:
            for entry in (yaml.safe_load(spec) or {}).get("argument_specs", {}).values():
                names.update((entry or {}).get("options") or {})
    return names, roles


def unknown_variables(names, known=()):
    """Those of ``names`` that start with a role's name or gpu_infra and an underscore, and that neither an argument
    spec nor ``known`` (the playbooks' own variables) documents, each as "name (did you mean X?)" when one is close."""
    options, roles = documented(ROLES)
    options.update(known)
    prefixes = tuple(r + "_" for r in [*roles, "gpu_infra"])
    found = []
    for name in sorted(set(names)):
        if not name.startswith(prefixes) or name in options:
            continue
        close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.8)
        found.append("{0} (did you mean {1}?)".format(name, close[0]) if close else name)
    return found


class FilterModule(object):
    def filters(self):
        return {"unknown_variables": unknown_variables}
