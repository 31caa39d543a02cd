# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of each filter is in <filter name>.yml beside this file.
"""Find literal credentials in a Subscription's spec.config on the controller: a module that got the config to check
it would already hold the value in its arguments, which -v prints and AWX/AAP keep as job events."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.redaction import literal_env_credentials

REASONS = {
    "name": "its name looks like a credential's",
    "value": "its value looks like a credential: a password in a URL, a token or a key",
}


def literal_credentials(config):
    """[{name, reason}] of the env entries of ``config`` whose literal value is a credential; never the value."""
    return [{"name": name, "reason": REASONS[reason]} for name, reason in literal_env_credentials(config)]


class FilterModule(object):
    def filters(self):
        return {"literal_credentials": literal_credentials}
