# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expose the OLM logic of module_utils/olm.py to the olm_operator role, so its tasks hold no object templates."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.olm import (
    build_objects,
    catalog_check,
    operator_group_plan,
    removal,
)


def olm_resources(olm_operator, namespace_exists=False, operator_groups=None):
    """Namespace, OperatorGroup and Subscription for ``olm_operator``, and what to do about the OperatorGroup."""
    objects = build_objects(olm_operator, namespace_exists=bool(namespace_exists))
    plan = operator_group_plan(
        operator_groups or [],
        olm_operator["namespace"],
        olm_operator.get("install_mode") or "OwnNamespace",
        objects["operator_group"]["metadata"]["name"],
    )
    objects.update(operator_group_action=plan["action"], operator_group_name=plan["name"], error=plan["message"])
    return objects


def olm_catalog_check(manifests, olm_operator):
    """Why ``olm_operator`` cannot be installed from its catalog, judged from PackageManifests, or ""."""
    return catalog_check(
        manifests or [],
        olm_operator["package"],
        olm_operator["channel"],
        olm_operator["source"],
        olm_operator.get("starting_csv") or "",
        install_mode=olm_operator.get("install_mode") or "",
    )


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
        return {"olm_resources": olm_resources, "olm_catalog_check": olm_catalog_check, "olm_removal": olm_removal}
