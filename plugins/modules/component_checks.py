#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: component_checks
short_description: Check the components of the GPU stack, the GPU nodes and Service Mesh v2 in one read of the cluster
version_added: 0.1.0
description:
  - Makes the checks of C(playbooks/verify.yml) and of the component roles' C(verify) entry points, and returns them
    as check records (C(component), C(check), C(status), C(evidence), C(remedy)) for the report filters
    P(rhoai.gpu_infra.verify_report#filter) and friends.
  - What to check comes from each component's check spec, the C(__<role>_checks) variable of the role's
    C(vars/main.yml), which names the OLM operator (CSV Succeeded through its Subscription's C(installedCSV), with
    the Subscription on the configured channel, namespace labels), CRDs Established, operands that must exist or have
    a condition C(True), pods that must be Running, and the special checks of the GPU operator, user workload
    monitoring, the GPU MachineSets and Red Hat Connectivity Link.
  - Everything is read in this one process. One LIST per kind and namespace serves every check that needs objects of
    that kind there (pods, Subscriptions, CSVs without OLM's copies, Namespaces); a single object nothing else is
    listed for (a CRD, ClusterPolicy, a ConfigMap of a busy namespace) is one GET. A kind the API server does not
    serve (its CRD is not installed) reads as absent.
  - What the three components of Connectivity Link share (the C(rhcl-operator) CSV, the Kuadrant CRD and CR) is
    checked once, with the first of them.
  - Of a Secret (Authorino's serving certificate) only the C(type) is kept; its data is never returned.
  - Read-only. Never changes anything, also not outside check mode.
  - Every API request attempt times out after 30 seconds. Rejected credentials (HTTP 401), missing permissions
    (HTTP 403) and an unreachable API fail at once with the API's own message, the request that failed and what to
    do; any other error is reported as a bug of this module. A failed check is no module failure.
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
options:
  components:
    description:
      - One check spec per component, in the order of the report.
    type: list
    elements: dict
    default: []
    suboptions:
      component:
        description: The component's name, the C(component) of its check records.
        type: str
        required: true
      namespaces:
        description:
          - The namespaces the component's objects live in. Not read by this module; C(playbooks/diagnose.yml)
            collects pods and events there.
        type: list
        elements: str
        default: []
      operator:
        description:
          - The component's OLM operator, as the C(rhoai.gpu_infra.olm_operator) role takes it (C(package),
            C(namespace), C(subscription_name), C(channel), C(source), C(source_namespace), C(approval),
            C(starting_csv), C(config), C(namespace_labels); other keys are ignored). Pass it through
            P(rhoai.gpu_infra.diagnose_redact#filter), since module arguments are logged and C(config) may hold
            credentials.
          - "Checks C(<package> operator CSV Succeeded) and one C(Namespace <ns> labelled <key>=<value>) per
            namespace label. The evidence of a CSV that has not Succeeded gives OLM's reason and message."
          - A Subscription that differs from the configuration fails the CSV check too, even when its CSV has
            Succeeded, and the evidence says how - another C(channel), C(source), C(source_namespace) or C(approval),
            a C(startingCSV) or C(config) that is not configured, or a C(spec.config) without what C(config) sets.
            That is exactly what makes the site playbook set the Subscription again (values that look like credentials
            are compared on neither side). Without C(channel) and C(source), only the channel is compared.
          - So does a Succeeded CSV whose operator Deployment (from the CSV's install strategy) is missing, scaled to
            0 replicas or without an available replica (OLM keeps the CSV Succeeded then); one LIST of the
            namespace's Deployments.
          - With C(approval=Manual) and a C(starting_csv), so does an installed CSV other than that one (OLM takes
            startingCSV only at the first install and never downgrades).
        type: dict
      crds:
        description:
          - CRDs that must be Established (C(CRD <name> Established)), created by the operator (or, with
            I(connectivity_link), by Connectivity Link's dependency that this component is).
        type: list
        elements: str
        default: []
      connectivity_link:
        description:
          - The component is a dependency of Red Hat Connectivity Link (the C(__connectivity_link_checks) variable of
            the connectivity_link role); empty for the standalone layout. Then, instead of I(operator), checks the
            Subscription OLM created for the component's package in C(namespace), its CRDs, its operand (from
            C(operands), keyed by component) Ready and, for authorino with C(authorino_tls), the listener TLS; and
            once per call what the three share, C(operator) (the rhcl-operator), C(crds) and the Kuadrant CR
            C(kuadrant_name) Ready (with a Gateway API remedy for the C(gateway_reasons)).
          - "Keys: C(namespace), C(operator), C(crds), C(kuadrant_name), C(gateway_reasons), C(dependencies) (list of
            C(component), C(package)), C(operands), C(authorino_tls), C(authorino_cert_secret),
            C(authorino_service), C(layout) (as I(kuadrant_layout): checked once, as component C(connectivity_link))."
        type: dict
      operands:
        description:
          - "Objects that must exist, or have condition C(condition) = C(True). Keys: C(api_version), C(kind),
            C(name), C(namespace) (omit for cluster-scoped), C(condition), C(check) (default C(<kind> <name> exists)
            or C(<kind> <name> <condition>)), the evidence when found: C(found) (a text), C(field) (a dotted path,
            shown as C(<last step>=<value>)), C(all_conditions) (every condition) or by default C(<condition>=<status>);
            C(missing) (the evidence when not found, default C(<kind> <name> not found)) and C(remedy) (required)."
          - "With C(desired), the object the site playbook applies, also C(<kind> <name> as configured): the object
            holds what C(desired) sets besides its metadata, compared as the site playbook compares before an apply
            (a subset: what the operator or the API server filled in is no difference); skipped when the object is
            not found. With C(kueue_channel) (a Kueue), Red Hat's frameworks of a later channel to which the installed
            operator belongs stand for that channel's own default list, as the kueue role applies them."
        type: list
        elements: dict
        default: []
      pods:
        description:
          - "Pods C(<prefix>-...) in C(namespace) that must exist and all be Running. Keys: C(namespace), C(prefix),
            C(check), C(remedy)."
        type: list
        elements: dict
        default: []
      gpu_operator:
        description:
          - "The GPU operator's own checks: ClusterPolicy C(cluster_policy) ready (skipped without GPU nodes, the nodes
            matching any of C(gpu_node_selectors)), the DCGM dashboard ConfigMap C(dashboard) (C(name), C(namespace),
            C(enabled)), and the pods C(gpu-operator), C(nvidia-driver-daemonset), C(nvidia-dcgm-exporter) in
            C(namespace) Running (the last two skipped without GPU nodes). With C(desired), the ClusterPolicy the site
            playbook applies, also C(ClusterPolicy <cluster_policy> as configured), as for I(operands)."
        type: dict
      monitoring:
        description:
          - "User workload monitoring: C(enableUserWorkload) in C(config_map) (C(name), C(namespace)) and its
            Prometheus and Thanos Ruler pods Running in C(namespace)."
        type: dict
      kuadrant_layout:
        description:
          - "Check C(No other install of Authorino, Limitador or DNS in the way): what the site playbook's preflight
            refuses (an install of the other layout, or in another namespace, see
            P(rhoai.gpu_infra.kuadrant_layout#filter)), from one LIST of the Subscriptions of every namespace. Keys as
            that filter's C(want): C(connectivity_link), C(rhcl_package), C(rhcl_namespace), C(operators)."
        type: dict
      machinesets:
        description:
          - "GPU MachineSets: those in C(namespace) matching label selector C(selector) have all their machines ready,
            and the nodes matching C(node_selector) carry the C(nvidia.com/gpu=true:NoSchedule) taint and allocatable
            C(nvidia.com/gpu)."
          - "Unless C(autoscaling) is true, the MachineSets of each of C(pools) (the role's C(machinesets_pools): by
            C(instance_type), and C(zone) or the default C(zone) when set) hold its C(replicas) (default 1)."
        type: dict
  required_by:
    description:
      - "What the components of the check require while it is not one of them, each requirement mapped to the components
        that need it (C(playbooks/verify.yml) passes, from C(requires) in C(playbooks/vars/components.yml), each
        requirement of an enabled component that is left out, for example C({nfd: [gpu_operator]})). Then also checks,
        as that requirement's component, that it is installed and running, as the site preflight demands
        (see M(rhoai.gpu_infra.requirements_check)), since a teardown of it alone leaves them without it."
    type: dict
    default: {}
  service_mesh_v2:
    description:
      - Also check that OpenShift Service Mesh v2, which OpenShift AI 3.0's llm-d cannot coexist with, is absent
        (component C(llm_d); see P(rhoai.gpu_infra.service_mesh_v2#filter)). Lists the Subscriptions of every
        namespace.
    type: bool
    default: false
  gpu_nodes:
    description:
      - Also make the GPU node checks of M(rhoai.gpu_infra.node_label_check) (GPU nodes present, kernel-version
        labels for the Driver Toolkit, the NVIDIA PCI label, allocatable C(nvidia.com/gpu)).
    type: bool
    default: false
  node_selector:
    description:
      - With I(gpu_nodes), the label selector of the GPU nodes; by default those labelled
        C(feature.node.kubernetes.io/pci-10de.present=true) or C(node-role.kubernetes.io/gpu).
    type: str
  nfd_namespace:
    description: With I(gpu_nodes), the namespace of NFD and its C(nfd-worker) DaemonSet.
    type: str
    default: openshift-nfd
  gpu_operator_namespace:
    description: With I(gpu_nodes), the namespace of the NVIDIA GPU operator and its DaemonSets.
    type: str
    default: nvidia-gpu-operator
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
  - module: rhoai.gpu_infra.node_label_check
  - module: rhoai.gpu_infra.cluster_evidence
"""

EXAMPLES = r"""
- name: Check the NFD component the way its role's verify entry point does
  rhoai.gpu_infra.component_checks:
    components: ["{{ __nfd_checks }}"]
  register: nfd_checks

- name: Fail with what was found and what to do
  when: nfd_checks.failures | length > 0
  ansible.builtin.fail:
    msg: "{{ nfd_checks.failures | join(' | ') }}"

- name: Check an operator and an operand of your own, the GPU nodes and Service Mesh v2, with another kubeconfig
  rhoai.gpu_infra.component_checks:
    components:
      - component: my_operator
        operator:
          package: my-operator
          namespace: my-operator
          namespace_labels: {openshift.io/cluster-monitoring: "true"}
        crds: [widgets.example.com]
        operands:
          - api_version: example.com/v1
            kind: Widget
            name: cluster
            condition: Available
            remedy: Apply Widget cluster.
    gpu_nodes: true
    service_mesh_v2: true
    kubeconfig: ~/clusters/prod/kubeconfig
  register: checked
"""

RETURN = r"""
checks:
  description:
    - The check records, the components' in the order given, then cert-manager's, then Service Mesh v2's, then the
      GPU nodes'.
  returned: always
  type: list
  elements: dict
  contains:
    component:
      description: The component the check belongs to (C(connectivity_link), C(llm_d) and C(gpu) among them).
      type: str
    check:
      description: What is checked; stable, so that reports can be compared and searched.
      type: str
    status:
      description: C(passed), C(failed) or C(skipped).
      type: str
    evidence:
      description: What was found.
      type: str
    remedy:
      description: What to do when the check failed; empty when there is nothing to do.
      type: str
  sample:
    - component: nfd
      check: nfd operator CSV Succeeded
      status: failed
      evidence: Subscription openshift-nfd/nfd does not exist
      remedy: >-
        Run the site playbook (or the rhoai.gpu_infra.nfd role) again, which says what stands in the way if anything
        does, or inspect it: oc describe subscription nfd -n openshift-nfd; oc get csv -n openshift-nfd
failures:
  description: One line per failed check with what was found and what to do; empty when none failed.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      nfd: nfd operator CSV Succeeded: found Subscription openshift-nfd/nfd does not exist; remedy: Run the install
      ...
cluster:
  description: Which cluster was checked (as M(rhoai.gpu_infra.node_label_check) returns it).
  returned: always
  type: dict
  contains:
    api_url:
      description: The API URL the client connected to.
      type: str
    infrastructure_name:
      description: C(Infrastructure/cluster) C(status.infrastructureName), null when not available.
      type: str
not_installed:
  description:
    - The components whose OLM operator (for Authorino, Limitador and DNS with Connectivity Link, the
      C(rhcl-operator)) has no Subscription at all, in the order given; a component without an operator is never
      listed. C(playbooks/verify.yml) names them in its failure, so that a cluster with nothing installed yet (or
      installed with other variables) reads as such.
  returned: always
  type: list
  elements: str
  sample: [nfd, gpu_operator]
requests:
  description: How many API requests the checks took.
  returned: always
  type: int
  sample: 41
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.checks import (  # noqa: E402
    Reads,
    SpecError,
    collect,
    failures,
)
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.client import (  # noqa: E402
    AUTH_ARG_SPEC,
    api_failure_message,
    fail_unless_api_error,
    get_k8s,
)

COMPONENT_OPTIONS = dict(
    component=dict(type="str", required=True),
    namespaces=dict(type="list", elements="str", default=[]),
    operator=dict(type="dict"),
    crds=dict(type="list", elements="str", default=[]),
    connectivity_link=dict(type="dict"),
    operands=dict(type="list", elements="dict", default=[]),
    pods=dict(type="list", elements="dict", default=[]),
    gpu_operator=dict(type="dict"),
    monitoring=dict(type="dict"),
    machinesets=dict(type="dict"),
    kuadrant_layout=dict(type="dict"),
)


def main(k8s_factory=get_k8s):
    argument_spec = dict(
        components=dict(type="list", elements="dict", default=[], options=COMPONENT_OPTIONS),
        required_by=dict(type="dict", default={}),
        service_mesh_v2=dict(type="bool", default=False),
        gpu_nodes=dict(type="bool", default=False),
        node_selector=dict(type="str"),
        nfd_namespace=dict(type="str", default="openshift-nfd"),
        gpu_operator_namespace=dict(type="str", default="nvidia-gpu-operator"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    reads = Reads(k8s_factory(module))
    failure = None
    try:
        result = collect(
            reads,
            params["components"],
            required_by=params["required_by"],
            service_mesh=params["service_mesh_v2"],
            gpu_nodes=params["gpu_nodes"],
            node_selector=params["node_selector"],
            nfd_namespace=params["nfd_namespace"],
            gpu_operator_namespace=params["gpu_operator_namespace"],
        )
    except SpecError as exc:
        module.fail_json(msg="component_checks: invalid check spec: {0}".format(exc))
    except Exception as exc:  # an API error is the cluster's or the login's; anything else is a bug of this module
        fail_unless_api_error(module, "component_checks", exc)
        failure = api_failure_message(
            "read the cluster for the checks of {0}".format(
                ", ".join(c["component"] for c in params["components"]) or "the GPU nodes"
            ),
            exc,
            reads.doing,
        )
    if failure:
        # Outside the except block: an API error is explained in full by the message; a traceback would only suggest
        # a bug.
        module.fail_json(msg=failure)
    result["failures"] = failures(result["checks"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
