#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: owned_objects
short_description: Apply objects without overwriting anyone else's, or delete only the objects this collection created
version_added: 0.1.0
description:
  - Objects this collection creates carry the label C(app.kubernetes.io/managed-by=rhoai.gpu_infra) and
    C(rhoai.gpu-infra/component=<component>). An object without the label was made by someone else (the console,
    the OpenShift AI operator, another team).
  - With I(check), read-only; classifies each definition that a role would apply as C(create) (absent, or its kind is
    not served yet because the operator that brings its CRD is not installed), C(ours) (labelled), C(adopt) (someone
    else's and equal to the definition, or I(adopt=true)) or C(conflict) (someone else's and different).
  - Equality is a subset comparison. Fields the definition does not set (defaults filled in by the API server or the
    operator), C(status) and server-written metadata are no difference; lists must be equal.
  - With I(check), fails before anything changes when any object is a C(conflict), naming each difference and the
    variable C(gpu_infra_adopt) that allows taking the objects over.
  - With I(apply), the same classification right before writing, then creates each absent object and merges the
    definition into each one of ours or adoptable (a JSON merge patch, as M(kubernetes.core.k8s) does with
    C(state=present)), labelled as I(component)'s; an object of ours that already holds all of it is not written. A
    conflict fails the task before any write. The roles' configure steps apply their operand CRs this way.
  - Refuses a Secret in I(check) or I(apply) before reading anything, since what this module returns (differences,
    C(--diff)) would hold its data. Apply Secrets with M(kubernetes.core.k8s) and C(no_log).
  - With I(remove), deletes, in the order given, the objects that carry the managed-by label and keeps every other
    one, returning what it removed, what it kept and why. A Namespace is kept too when it holds an object this same
    call keeps, or one that someone else put there (as M(rhoai.gpu_infra.olm_remove) decides), since deleting the
    namespace would delete it.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: With I(check), the same read-only classification. With I(apply), every create and patch is a server-side
      dry run (validated by the API server, stored nowhere), and an object whose kind is not served yet is reported as
      C(not served). With I(remove), deletes nothing and reports in RV(removed) what a real run would delete.
  diff_mode:
    support: partial
    details: With I(apply), for each object written, what it held at the paths the definition sets, and the
      definition.
  platform:
    platforms: posix
options:
  component:
    description: The collection component the objects belong to (for example C(kueue)); named in every message.
    type: str
    required: true
  check:
    description:
      - The definitions (full objects, as the role would apply them) to classify.
      - Exactly one of I(check), I(apply) and I(remove) is given.
    type: list
    elements: dict
  apply:
    description:
      - The definitions to apply (full objects); this collection's labels for I(component) are added to each.
    type: list
    elements: dict
  adopt:
    description:
      - With I(check) or I(apply), take over objects someone else made even when they differ from the definition
        (they are then labelled and changed to it when applied), instead of failing.
      - The roles pass C(gpu_infra_adopt).
    type: bool
    default: false
  remove:
    description:
      - References of the objects to delete when, and only when, they carry the managed-by label.
    type: list
    elements: dict
    suboptions:
      api_version:
        description: API group and version, for example C(kueue.openshift.io/v1).
        type: str
        required: true
      kind:
        description: The kind, for example C(Kueue).
        type: str
        required: true
      name:
        description: Name of the object.
        type: str
        required: true
      namespace:
        description: Namespace of the object; empty for a cluster-scoped one.
        type: str
        default: ""
  wait:
    description:
      - With I(remove), wait until each deleted object is gone (its finalizers released) before deleting the next.
    type: bool
    default: true
  timeout:
    description:
      - With I(remove) and I(wait), seconds to wait for all of the objects together.
    type: int
    default: 300
notes:
  - Needs permission to get the kinds concerned and, with I(remove), to delete them and, for a Namespace, to list
    the objects in it that M(rhoai.gpu_infra.olm_remove) names.
  - An object whose kind is not served (CRD not installed) is reported as absent by I(remove).
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Refuse before any change when Kueue cluster was made by someone else and differs
  rhoai.gpu_infra.owned_objects:
    component: kueue
    check:
      - "{{ lookup('ansible.builtin.template', 'kueue.yaml.j2') | from_yaml }}"
    adopt: "{{ gpu_infra_adopt | default(false) | bool }}"

- name: Apply Kueue cluster unless someone else made it differently, and skip the write when it is current
  rhoai.gpu_infra.owned_objects:
    component: kueue
    apply:
      - "{{ lookup('ansible.builtin.template', 'kueue.yaml.j2') | from_yaml }}"
    adopt: "{{ gpu_infra_adopt | default(false) | bool }}"

- name: Delete Kueue cluster if this collection created it, and say why it stays otherwise
  rhoai.gpu_infra.owned_objects:
    component: kueue
    remove:
      - {api_version: kueue.openshift.io/v1, kind: Kueue, name: cluster}
    timeout: 600
  register: kueue_removal

- name: Show what was left in place
  ansible.builtin.debug:
    msg: "{{ kueue_removal.kept | map(attribute='object') | list }}"
"""

RETURN = r"""
objects:
  description: With I(check) or I(apply), one entry per definition, in the order given.
  returned: with check or apply
  type: list
  elements: dict
  contains:
    object:
      description: Kind, namespace and name, printable.
      type: str
      sample: Kueue cluster
    api_version:
      description: The apiVersion.
      type: str
      sample: kueue.openshift.io/v1
    kind:
      description: The kind.
      type: str
      sample: Kueue
    name:
      description: The name.
      type: str
      sample: cluster
    namespace:
      description: The namespace, empty for a cluster-scoped object.
      type: str
      sample: ""
    action:
      description: C(create), C(ours), C(adopt) or C(conflict).
      type: str
      sample: conflict
    differences:
      description: "What the existing object lacks of the definition, as C(path: want X, found Y)."
      type: list
      elements: str
      sample: ['spec.config.integrations.frameworks: want ["Deployment", "Pod"], found ["BatchJob"]']
    unchanged:
      description:
        - The object is ours and already holds every field, label and annotation of the definition, so applying the
          definition would change nothing; I(apply) does not write it.
      type: bool
      sample: true
    served:
      description:
        - The API server serves the object's kind. When false, its CRD is not installed yet (the operator that
          brings it is not), so no such object can exist.
      type: bool
      sample: true
    applied:
      description:
        - With I(apply), what was written, C(created), C(updated) or C(unchanged) (not written); in check mode also
          C(not served) (its CRD is not installed yet) or C(no namespace) (its namespace does not exist yet).
      type: str
      returned: with apply
      sample: created
    reason:
      description: Why the object got its action.
      type: str
      sample: made by someone else and different from what would be applied
conflicts:
  description: With I(check) or I(apply), the entries of RV(objects) whose action is C(conflict).
  returned: with check or apply
  type: list
  elements: dict
removed:
  description: With I(remove), the objects deleted (in check mode, that would be deleted).
  returned: with remove
  type: list
  elements: dict
  sample: [{object: Kueue cluster, api_version: kueue.openshift.io/v1, kind: Kueue, name: cluster, namespace: ""}]
kept:
  description: With I(remove), the objects that exist and were left in place, each with its C(reason).
  returned: with remove
  type: list
  elements: dict
  sample:
    - object: Kueue cluster
      api_version: kueue.openshift.io/v1
      kind: Kueue
      name: cluster
      namespace: ""
      reason: "not created by rhoai.gpu_infra (no label app.kubernetes.io/managed-by=rhoai.gpu_infra): someone else's,
        left in place"
absent:
  description: With I(remove), the objects that did not exist (or whose kind is not served), each with its C(reason).
  returned: with remove
  type: list
  elements: dict
component:
  description: The I(component) given.
  returned: always
  type: str
  sample: kueue
msg:
  description: One line per object saying what happened to it.
  returned: always
  type: str
"""

# ansible-test requires the imports below the documentation strings.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    get_k8s,
    is_api_error,
)


def run_check(module, api):
    params = module.params
    try:
        objects = ownership.check(api, params["check"], adopt=params["adopt"])
    except Exception as exc:
        fail_on_api_error(module, exc, "read the objects it would apply", "get", params["check"])
    for taken in (o for o in objects if o["action"] == "adopt" and o["differences"]):
        module.warn(
            "{0}: taking over {1}, made by someone else, because adopt (gpu_infra_adopt) is true; applying it will "
            "change: {2}".format(params["component"], taken["object"], "; ".join(taken["differences"]))
        )
    for taken in (o for o in objects if o["action"] == "adopt" and not o["differences"]):
        # Adoption changes who removes it: say so, or a teardown that deletes it would come as a surprise.
        module.warn(
            "{0}: adopting {1}, made by someone else and already holding what would be applied: it gets this "
            "collection's labels when applied, and teardown deletes it from then on.".format(
                params["component"], taken["object"]
            )
        )
    for ours in (o for o in objects if o["action"] == "ours" and o["differences"]):
        # Without it, a hand edit that the apply undoes goes unnoticed.
        module.warn(
            "{0}: {1} differs from the configuration, and applying it sets: {2} (a hand edit is undone; a changed "
            "variable takes effect).".format(params["component"], ours["object"], "; ".join(ours["differences"]))
        )
    conflicts = [o for o in objects if o["action"] == "conflict"]
    lines = ["{0}: {1} ({2})".format(o["object"], o["action"], o["reason"]) for o in objects]
    result = dict(changed=False, component=params["component"], objects=objects, conflicts=conflicts)
    if conflicts:
        module.fail_json(msg=ownership.conflict_message(params["component"], conflicts), **result)
    module.exit_json(msg="; ".join(lines) or "Nothing to check.", **result)


def run_apply(module, api):
    params = module.params
    try:
        objects = ownership.apply(
            api,
            params["apply"],
            params["component"],
            adopt=params["adopt"],
            dry_run=module.check_mode,
            diff=module._diff,
        )
    except ownership.Conflict as exc:
        conflicts = [o for o in exc.objects if o["action"] == "conflict"]
        module.fail_json(
            msg=str(exc), changed=False, component=params["component"], objects=exc.objects, conflicts=conflicts
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False, component=params["component"])
    except Exception as exc:
        fail_on_api_error(module, exc, "apply its objects", "get, create and patch", params["apply"])
    would = "would be " if module.check_mode else ""
    lines = []
    for found in objects:
        if found["applied"] == "unchanged":
            lines.append("{0}: unchanged".format(found["object"]))
        elif found["applied"] == "no namespace":
            lines.append("{0}: would be created once namespace {1} exists".format(found["object"], found["namespace"]))
        elif found["applied"] == "not served":
            lines.append(
                "{0}: would be created once its operator is installed (its kind is not served yet)".format(
                    found["object"]
                )
            )
        else:
            lines.append(
                "{0}: {1}{2}{3}".format(
                    found["object"], would, found["applied"], " (adopted)" if found["action"] == "adopt" else ""
                )
            )
    # Ansible prints a list of diffs one after another (dicts as indented JSON).
    diffs = [dict(o.pop("diff"), before_header=o["object"], after_header=o["object"]) for o in objects if "diff" in o]
    module.exit_json(
        diff=diffs,
        changed=any(o["applied"] != "unchanged" for o in objects),
        component=params["component"],
        objects=objects,
        conflicts=[],
        msg="; ".join(lines) or "Nothing to apply.",
    )


def run_remove(module, api):
    params = module.params
    try:
        found = ownership.remove(
            api, params["remove"], dry_run=module.check_mode, wait=params["wait"], timeout=params["timeout"]
        )
    except ownership.RemovalTimeout as exc:
        module.fail_json(
            msg="{0}: {1}".format(params["component"], exc),
            changed=bool(exc.result["removed"]),
            component=params["component"],
            **exc.result,
        )
    except Exception as exc:
        fail_on_api_error(module, exc, "remove the objects it created", "get and delete", params["remove"])
    lines = ownership.summary(found)
    if module.check_mode:
        lines = [line.replace("removed ", "would remove ", 1) for line in lines]
    module.exit_json(
        changed=bool(found["removed"]),
        component=params["component"],
        msg="; ".join(lines) or "Nothing of {0} to remove.".format(params["component"]),
        **found,
    )


def fail_on_api_error(module, exc, doing, verbs, items):
    """Fail naming the component, what it was doing and the permission it needs; anything but an API error is a bug
    and goes on up."""
    if not is_api_error(exc):
        raise exc
    needs = "{0} {1}".format(verbs, _kinds(items))
    module.fail_json(msg="{0}: {1}".format(module.params["component"], api_failure_message(doing, exc, needs)))


def _kinds(items):
    return ", ".join(sorted({str(ownership.reference(i)["kind"]) for i in items})) or "the objects"


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        component=dict(type="str", required=True),
        check=dict(type="list", elements="dict"),
        apply=dict(type="list", elements="dict"),
        adopt=dict(type="bool", default=False),
        remove=dict(
            type="list",
            elements="dict",
            options=dict(
                api_version=dict(type="str", required=True),
                kind=dict(type="str", required=True),
                name=dict(type="str", required=True),
                namespace=dict(type="str", default=""),
            ),
        ),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("check", "apply", "remove")],
        required_one_of=[("check", "apply", "remove")],
    )
    secrets = [d for d in module.params["check"] or module.params["apply"] or [] if d.get("kind") == "Secret"]
    if secrets:
        module.fail_json(
            msg="{0}: expected definitions without Secrets, found {1}: the differences and diff this module returns "
            "would hold their data. Apply Secrets with kubernetes.core.k8s and no_log: true; nothing was read or "
            "changed.".format(module.params["component"], ", ".join(ownership.reference(d)["object"] for d in secrets)),
            changed=False,
        )
    api = k8s_factory(module)
    if module.params["check"] is not None:
        run_check(module, api)
    if module.params["apply"] is not None:
        run_apply(module, api)
    run_remove(module, api)


if __name__ == "__main__":
    main()
