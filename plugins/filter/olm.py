# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expose the removal decision of module_utils/olm.py to the connectivity_link role, which decides from it whose the
rhcl-operator Subscription is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.olm import removal


def olm_removal(olm_operator, subscriptions=None, csvs=None, namespaces=None, dependency_of_ours=False):
    """What teardown of ``olm_operator`` may delete, from what ``kubernetes.core.k8s_info`` returned (lists)."""
    return removal(
        olm_operator,
        (subscriptions or [None])[0],
        csvs or [],
        (namespaces or [None])[0],
        dependency_of_ours=bool(dependency_of_ours),
    )


class FilterModule(object):
    def filters(self):
        return {"olm_removal": olm_removal}
