#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cert_manager_check
short_description: Check, read-only, that cert-manager is installed and running
version_added: 0.1.0
description:
  - The preflight check of the components that need cert-manager (Kueue, LeaderWorkerSet, Red Hat Connectivity Link).
  - "Passes when the CRD C(certificates.cert-manager.io) is Established and either a ClusterServiceVersion that owns
    it is in phase C(Succeeded) (an OLM install; OLM's copies of the CSV in other namespaces are not counted) or a
    Deployment labelled C(app.kubernetes.io/name=webhook) and C(app.kubernetes.io/component=webhook), the cert-manager
    webhook of the Red Hat operator's operand and of the upstream Helm chart and manifests, has an available replica."
  - The CRD alone is not enough, since a teardown keeps the CRDs unless asked to delete them.
  - Otherwise fails saying what was expected, what was found and what to do, ending with C(Nothing was changed.)
  - Read-only. Never changes anything, also not outside check mode.
  - Rejected credentials (HTTP 401), missing permissions (HTTP 403) and an unreachable API fail with the API's own
    message, the request that failed and what to do.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
options:
  required_by:
    description: Who needs cert-manager, the subject of the failure message, for example C(The Kueue operator).
    type: str
    required: true
  alternative:
    description: Another way out than installing cert-manager, appended to what to do in the failure message.
    type: str
    default: ""
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Needs permission to get CustomResourceDefinitions and to list ClusterServiceVersions and Deployments in all
    namespaces.
seealso:
  - module: rhoai.gpu_infra.component_checks
"""

EXAMPLES = r"""
- name: Fail before anything changes when cert-manager is not installed and running
  rhoai.gpu_infra.cert_manager_check:
    required_by: The Kueue operator
"""

RETURN = r"""
installed:
  description: Whether cert-manager is installed and running; the module fails when it is not.
  returned: always
  type: bool
  sample: true
evidence:
  description: What shows that cert-manager runs; empty when it does not.
  returned: always
  type: str
  sample: CSV cert-manager-operator/cert-manager-operator.v1.18.0 Succeeded
found:
  description: What was found instead of a running cert-manager; empty when it runs.
  returned: always
  type: str
  sample: >-
    CRD certificates.cert-manager.io exists but no cert-manager operator/webhook runs (no CSV owns the CRD and no
    webhook Deployment): left by a teardown that kept the CRDs (gpu_infra_remove_crds=false, the default), or an
    incomplete install
"""

import traceback  # noqa: E402 (ansible-test wants imports below the docs)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.cert_manager import collect, message  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    get_k8s,
    is_api_error,
)

NEEDS = "get CustomResourceDefinitions and list ClusterServiceVersions and Deployments in all namespaces"


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        required_by=dict(type="str", required=True),
        alternative=dict(type="str", default=""),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    trace = []
    failure = None
    try:
        result = collect(k8s_factory(module), trace)
    except Exception as exc:  # an API error is the cluster's or the login's; anything else is a bug of this module
        if not is_api_error(exc):
            module.fail_json(
                msg="cert_manager_check failed with an unexpected {0}: {1}. This is a bug in rhoai.gpu_infra, not a "
                "problem of the cluster or the credentials; please report it with the output of ansible-playbook "
                "-vvv (which shows the traceback).".format(type(exc).__name__, exc),
                exception=traceback.format_exc(),
            )
        failure = api_failure_message(trace[-1] if trace else "read the cluster", exc, NEEDS)
    if failure:
        # Outside the except block: the message explains an API error in full; a traceback would only suggest a bug.
        module.fail_json(msg=failure)
    if not result["installed"]:
        module.fail_json(
            msg=message(module.params["required_by"], result["found"], module.params["alternative"]), **result
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
