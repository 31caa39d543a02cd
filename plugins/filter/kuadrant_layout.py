# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of each filter is in <filter name>.yml beside this file.
"""Expose the layout check of module_utils/kuadrant_layout.py to the authorino, limitador and dns preflight."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.kuadrant_layout import kuadrant_layout


class FilterModule(object):
    def filters(self):
        return {"kuadrant_layout": kuadrant_layout}
