#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_evidence
short_description: Read Kubernetes objects and pod logs for support, with credentials removed before they are returned
version_added: 0.1.0
description:
  - Lists the requested kinds in every namespace and returns them, together with the log tails of the pods among them
    that are not healthy, for an evidence bundle that can be handed to support.
  - Everything is redacted B(before) it is returned, because AWX and Ansible Automation Platform store every task
    result as a job event and C(-v) prints it. The M(kubernetes.core.k8s_info) and M(kubernetes.core.k8s_log) results
    a playbook would otherwise register hold the raw objects.
  - "Redacted: C(data) and C(stringData) of Secrets (which are never read unless asked for); the C(value) of every
    C(env) variable whose name contains, in any case, TOKEN, PASS (PASSWORD, PASSWD), SECRET, KEY, CRED (CREDENTIAL,
    CREDS), AUTH, WEBHOOK or PRIVATE, or PAT or DSN as a whole underscore-separated part (C(GITHUB_PAT), C(SENTRY_DSN));
    in C(args) and C(command), the value after a flag whose name ends like a credential (below), such as C(--token) or
    C(--password); any string field whose name, lower-cased and without C(-), C(_) and C(.), ends in C(password),
    C(passwd), C(token), C(secret), C(apikey), C(accesskey), C(secretkey), C(privatekey), C(clientkeydata),
    C(credential) or C(credentials) (C(client-key-data) of kubeconfigs and C(aws_secret_access_key) among them)."
  - "In every other string, event messages and log lines included: PEM private keys, C(Bearer) and C(Basic)
    authorization values, JWTs (service account tokens), AWS access key IDs (C(AKIA...), C(ASIA...)), passwords in
    URLs, tokens whose issuer gave them a recognisable shape (GitHub C(ghp_), C(gho_), C(ghu_), C(ghs_), C(ghr_)
    and C(github_pat_), GitLab C(glpat-), Slack C(xoxa-), C(xoxb-), C(xoxp-), C(xoxo-), C(xoxs-) and C(xoxr-),
    Hugging Face C(hf_), OpenAI-style C(sk-)), Slack incoming webhook URLs, and the value of an assignment or flag
    whose name ends like a credential, such as C(aws_secret_access_key = ...), C(password=...), C(token: ...),
    C(--api-key=...) or C(--password value)."
  - Redaction goes by name and shape; a credential that has neither is not recognised.
  - C(managedFields) and the C(kubectl.kubernetes.io/last-applied-configuration) annotation are dropped.
  - Read-only. Each kind is one cluster-wide LIST; a kind that is not served (its CRD is not installed) lists as
    empty, and a kind that cannot be read (for example HTTP 403) is reported in RV(errors) while the others are still
    collected.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
options:
  resources:
    description: The kinds to list in every namespace.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: API group and version, for example C(operators.coreos.com/v1alpha1) or C(v1).
        type: str
        required: true
      kind:
        description: The kind, for example C(ClusterServiceVersion).
        type: str
        required: true
      label_selectors:
        description: Label selectors the objects must all match, for example C(!olm.copiedFrom).
        type: list
        elements: str
        default: []
  namespaces:
    description:
      - Keep only the namespaced objects of these namespaces (cluster-scoped objects are always kept).
      - Omitted, objects of every namespace are kept.
    type: list
    elements: str
  log_tail_lines:
    description: Lines of each container's log to read for every pod that is not healthy.
    type: int
    default: 100
  max_logs:
    description:
      - Read the logs of at most this many unhealthy pods (those among the C(v1) C(Pod) objects kept), in list order.
      - C(0) reads no logs.
    type: int
    default: 20
  fail_on_error:
    description:
      - Fail when a kind cannot be read, instead of warning and returning it in RV(errors).
      - For a playbook that decides on what it reads, where a missing kind would read as "none there".
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
seealso:
  - module: kubernetes.core.k8s_info
  - module: kubernetes.core.k8s_log
"""

EXAMPLES = r"""
- name: Read the OLM objects of every namespace
  rhoai.gpu_infra.cluster_evidence:
    resources:
      - {api_version: operators.coreos.com/v1alpha1, kind: Subscription}
      # OLM copies AllNamespaces CSVs into every namespace; the copies add volume, not evidence.
      - {api_version: operators.coreos.com/v1alpha1, kind: ClusterServiceVersion, label_selectors: ["!olm.copiedFrom"]}
  register: olm

- name: Read the pods and events of the operator namespaces, and the logs of the pods that are not healthy
  rhoai.gpu_infra.cluster_evidence:
    resources:
      - {api_version: v1, kind: Pod}
      - {api_version: v1, kind: Event}
    namespaces: [openshift-nfd, nvidia-gpu-operator]
    log_tail_lines: 50
  register: pods

- name: Save the pods without credentials
  ansible.builtin.copy:
    content: "{{ pods.kinds[0].resources | to_nice_yaml }}"
    dest: evidence/Pod.yaml
    mode: "0600"
"""

RETURN = r"""
kinds:
  description: One entry per requested kind, in the order requested.
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: As requested.
      type: str
    kind:
      description: As requested.
      type: str
    resources:
      description: The redacted objects (named as in M(kubernetes.core.k8s_info)).
      type: list
      elements: dict
  sample:
    - api_version: v1
      kind: Pod
      resources:
        - metadata: {name: nfd-worker-abc12, namespace: openshift-nfd}
          spec:
            containers:
              - name: worker
                env: [{name: AWS_SECRET_ACCESS_KEY, value: "<redacted>"}]
                args: ["--token", "<redacted>"]
          status: {phase: Pending}
unhealthy_pods:
  description:
    - The pods among the C(v1) C(Pod) objects kept whose phase is neither C(Running) nor C(Succeeded), or that are
      C(Running) with a container that is not ready.
  returned: always
  type: list
  elements: dict
  sample: [{name: nfd-worker-abc12, namespace: openshift-nfd, phase: Pending}]
logs:
  description:
    - "The redacted log tail of each of the first I(max_logs) unhealthy pods (all containers; a header per container
      when there are several). Empty for a pod that was never scheduled; C((no log: <reason>)) when it cannot be read."
  returned: always
  type: list
  elements: dict
  sample: [{name: nfd-worker-abc12, namespace: openshift-nfd, log: "E1124 10:00:01 token=<redacted> rejected"}]
errors:
  description: The kinds that could not be read, with the (redacted) reason; their RV(kinds) entry is empty.
  returned: always
  type: list
  elements: dict
  sample: [{api_version: v1, kind: Event, error: "(403) Reason: Forbidden"}]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 (ansible-test wants imports below the docs)

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import AUTH_ARG_SPEC, get_k8s  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.evidence import collect  # noqa: E402


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        resources=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                api_version=dict(type="str", required=True),
                kind=dict(type="str", required=True),
                label_selectors=dict(type="list", elements="str", default=[]),
            ),
        ),
        namespaces=dict(type="list", elements="str"),
        log_tail_lines=dict(type="int", default=100),
        max_logs=dict(type="int", default=20),
        fail_on_error=dict(type="bool", default=False),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    k8s = k8s_factory(module)
    result = collect(
        k8s,
        module.params["resources"],
        namespaces=module.params["namespaces"],
        log_tail_lines=module.params["log_tail_lines"],
        max_logs=module.params["max_logs"],
    )
    if module.params["fail_on_error"] and result["errors"]:
        module.fail_json(
            msg="Expected to list {0}; could not: {1}. Allow this login to list them cluster-wide (or fix the "
            "cause above), then re-run.".format(
                ", ".join("{0} {1}".format(e["api_version"], e["kind"]) for e in result["errors"]),
                "; ".join("{0}: {1}".format(e["kind"], e["error"]) for e in result["errors"]),
            ),
            **result,
        )
    for error in result["errors"]:
        module.warn(
            "Could not read {0} {1}: {2}. The evidence lacks them; allow this login to list them cluster-wide, or "
            "collect them with 'oc get {1} -A -o yaml'.".format(error["api_version"], error["kind"], error["error"])
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
