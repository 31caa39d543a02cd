# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of each filter is in <filter name>.yml beside this file.
"""Expose the Service Mesh v2 detection of module_utils/service_mesh.py to the site and verify playbooks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.service_mesh import service_mesh_v2


class FilterModule(object):
    def filters(self):
        return {"service_mesh_v2": service_mesh_v2}
