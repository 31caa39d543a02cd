# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of each filter is in <filter name>.yml beside this file.
"""Expose the per-channel Kueue facts of module_utils/kueue.py to the kueue role, so the table exists once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.kueue import (
    channel_facts,
    check_frameworks,
    running_channel,
)


def kueue_frameworks(channel, installed_csv=""):
    """The table row of ``channel`` (or of the later channel of ``installed_csv``): allowed names, max_items,
    leader_worker_set_supported, default, known."""
    return channel_facts(running_channel(str(channel), installed_csv))


def kueue_frameworks_check(frameworks, channel, allow_unknown_channel=False, installed_csv=""):
    """``{errors, warnings}`` for ``frameworks`` on ``channel`` (or on the later channel of ``installed_csv``)."""
    return check_frameworks(frameworks, str(channel), boolean(allow_unknown_channel, strict=False), installed_csv)


class FilterModule(object):
    def filters(self):
        return {"kueue_frameworks": kueue_frameworks, "kueue_frameworks_check": kueue_frameworks_check}
