"""Simulated cluster-monitoring-operator (CMO), user-workload part only.

Reads ConfigMap openshift-monitoring/cluster-monitoring-config, key `config.yaml`. With top-level
`enableUserWorkload: true` it runs StatefulSets `prometheus-user-workload` and `thanos-ruler-user-workload`
(2 replicas each, as on OpenShift) and Deployment `prometheus-operator` in openshift-user-workload-monitoring; kwok
runs the pods. They are removed again when the setting goes away.

CMO parses config.yaml strictly: malformed YAML or an unknown field (e.g. `enableUserAlertmanagerConfig` at top level,
where 4.20 does not accept it: it belongs under `alertmanagerMain`) is an error. Two signals, as on 4.18+:
- admission: CMO's webhook `monitoringconfigmaps.openshift.io` denies such a ConfigMap. The simulator installs the
  equivalent ValidatingAdmissionPolicy (same name) checking the top-level keys, so the apiserver refuses the write.
- status: the ClusterOperator `monitoring` goes Degraded (reason InvalidConfiguration). ClusterOperator is not served
  here, so the simulator writes ConfigMap openshift-monitoring/cluster-monitoring-operator-status with
  `degraded: "true"|"false"`, `reason`, `message`. An invalid config changes nothing that is running.
"""

from __future__ import annotations

import yaml

from .operands import OperandController, ensure_object

MONITORING_NS = "openshift-monitoring"
UWM_NS = "openshift-user-workload-monitoring"
CONFIG_NAME = "cluster-monitoring-config"
STATUS_NAME = "cluster-monitoring-operator-status"
POLICY_NAME = "monitoringconfigmaps.openshift.io"
#: top-level fields of CMO's ClusterMonitoringConfiguration in 4.20
TOP_LEVEL_KEYS = (
    "alertmanagerMain",
    "enableUserWorkload",
    "userWorkload",
    "kubeStateMetrics",
    "metricsServer",
    "monitoringPlugin",
    "nodeExporter",
    "openshiftStateMetrics",
    "prometheusK8s",
    "prometheusOperator",
    "prometheusOperatorAdmissionWebhook",
    "telemeterClient",
    "thanosQuerier",
)


def parse_config(text):
    """(config dict, error or None) the way CMO's strict unmarshalling sees config.yaml."""
    try:
        cfg = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        return None, 'failed to parse data at key "config.yaml": {0}'.format(str(exc).replace("\n", " "))
    if not isinstance(cfg, dict):
        return None, 'failed to parse data at key "config.yaml": not a mapping'
    unknown = sorted(k for k in cfg if k not in TOP_LEVEL_KEYS)
    if unknown:
        return (
            None,
            'failed to parse data at key "config.yaml": error unmarshaling JSON: json: unknown field "{0}"'.format(
                unknown[0]
            ),
        )
    if "enableUserWorkload" in cfg and not isinstance(cfg["enableUserWorkload"], bool):
        return None, 'failed to parse data at key "config.yaml": enableUserWorkload must be a boolean'
    return cfg, None


def admission_policy():
    keys = ", ".join("'{0}'".format(k) for k in TOP_LEVEL_KEYS)
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": POLICY_NAME},
            "spec": {
                "failurePolicy": "Ignore",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["configmaps"],
                        }
                    ]
                },
                "matchConditions": [
                    {
                        "name": "monitoringconfigmaps",
                        "expression": "request.namespace == '{0}' && request.name == '{1}'".format(
                            MONITORING_NS, CONFIG_NAME
                        ),
                    }
                ],
                "validations": [
                    {
                        "expression": "!has(object.data) || !('config.yaml' in object.data) || "
                        "object.data['config.yaml'].findAll('(?m)^[A-Za-z0-9_]+:')"
                        ".all(k, k.substring(0, k.size() - 1) in [{0}])".format(keys),
                        "messageExpression": "'failed to parse data at key \"config.yaml\": unknown field: ' + "
                        "object.data['config.yaml'].findAll('(?m)^[A-Za-z0-9_]+:')"
                        ".filter(k, !(k.substring(0, k.size() - 1) in [{0}])).join(', ')".format(keys),
                        "reason": "Forbidden",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": POLICY_NAME},
            "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
        },
    ]


def statefulset(name, labels):
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": UWM_NS, "labels": dict(labels)},
        "spec": {
            "replicas": 2,
            "serviceName": name.rsplit("-", 1)[0] + "-operated",
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": labels["app.kubernetes.io/name"], "image": "sim/" + name}]},
            },
        },
    }


UWM_OBJECTS = (
    statefulset(
        "prometheus-user-workload",
        {
            "app.kubernetes.io/name": "prometheus",
            "app.kubernetes.io/instance": "user-workload",
            "prometheus": "user-workload",
        },
    ),
    statefulset(
        "thanos-ruler-user-workload",
        {
            "app.kubernetes.io/name": "thanos-ruler",
            "app.kubernetes.io/instance": "user-workload",
            "thanos-ruler": "user-workload",
        },
    ),
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "prometheus-operator", "namespace": UWM_NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "prometheus-operator"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "prometheus-operator"}},
                "spec": {"containers": [{"name": "prometheus-operator", "image": "sim/prometheus-operator"}]},
            },
        },
    },
)


class MonitoringController(OperandController):
    name = "monitoring"
    watches = (("v1", "ConfigMap"), ("apps/v1", "StatefulSet"), ("apps/v1", "Deployment"), ("v1", "Namespace"))

    def reconcile(self):
        for obj in admission_policy():
            ensure_object(self, obj)
        if self.get("v1", "Namespace", MONITORING_NS) is None:
            return
        cm = self.get("v1", "ConfigMap", CONFIG_NAME, MONITORING_NS)
        cfg, error = parse_config(((cm or {}).get("data") or {}).get("config.yaml")) if cm else ({}, None)
        if error:
            self.write_status("true", "InvalidConfiguration", error)
            return  # CMO stops reconciling; what runs keeps running
        self.write_status("false", "AsExpected", "")
        if cfg.get("enableUserWorkload") is True:
            if self.get("v1", "Namespace", UWM_NS) is None:
                self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": UWM_NS}})
            for obj in UWM_OBJECTS:
                ensure_object(self, obj)
        else:
            for obj in UWM_OBJECTS:
                self.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], UWM_NS)

    def write_status(self, degraded, reason, message):
        data = {"degraded": degraded, "reason": reason, "message": message}
        current = self.get("v1", "ConfigMap", STATUS_NAME, MONITORING_NS)
        if current and (current.get("data") or {}) == data:
            return
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": STATUS_NAME, "namespace": MONITORING_NS},
                "data": data,
            }
        )


CONTROLLER = MonitoringController
