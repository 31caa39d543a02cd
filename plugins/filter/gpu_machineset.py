# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of the filters is in gpu_machineset.yml and gpu_instance_types.yml beside this file.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.machinesets import (
    INSTANCE_TYPES,
    MachineSetError,
    build_gpu_machineset,
)


def gpu_machineset(template, infra_id, pool, current=None, autoscaled=False):
    try:
        return build_gpu_machineset(template, infra_id, pool, current=current, autoscaled=autoscaled)
    except MachineSetError as exc:
        raise AnsibleFilterError("gpu_machineset: {0}".format(exc)) from None


def gpu_instance_types(_input=None):
    return {name: dict(row) for name, row in INSTANCE_TYPES.items()}


class FilterModule(object):
    def filters(self):
        return {"gpu_machineset": gpu_machineset, "gpu_instance_types": gpu_instance_types}
