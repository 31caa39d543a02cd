"""monitoring, nfd and gpu_operator roles, each included standalone, against the OpenShift simulator.

The simulator runs a real kube-apiserver with simulated OLM, NFD, GPU operator and monitoring controllers, so these
tests prove what the roles send and how they wait, not the behaviour of the real operators.
"""

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.cluster import Cluster as ClusterBase
from tests.integration.cluster import assert_refused_before_any_change
from tests.ocp_sim.openshift.pytest_fixtures import ocp_sim_factory  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "roles_gpu_run.yml")
ROLES = ["monitoring", "nfd", "gpu_operator"]
NFD_NS = "openshift-nfd"
GPU_NS = "nvidia-gpu-operator"
# Keep waits short: the simulator installs operators in seconds.
FAST = {
    "gpu_infra_timeout": 240,
    "monitoring_poll_interval": 2,
    "nfd_poll_interval": 2,
    "gpu_operator_poll_interval": 2,
}


class Cluster(ClusterBase):
    def monitoring_config(self):
        cm = self.get("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")
        return cm, (yaml.safe_load(cm["data"]["config.yaml"]) if cm else None)


def run(playbook, sim, tasks_from="main", *, roles=ROLES, check=False, checks_file=None):
    extra_vars = dict(FAST, gpu_roles=list(roles), gpu_tasks_from=tasks_from)
    if checks_file:
        extra_vars["gpu_checks_file"] = str(checks_file)
    return playbook(PLAYBOOK, sim.kubeconfig, extra_vars=extra_vars, check=check, diff=check)


def test_roles_on_gpu_nodes_converge_keep_monitoring_settings_and_clean_up(playbook, request, tmp_path):
    with request.getfixturevalue("ocp_sim_factory")(scenario="gpu-nodes") as sim:
        cluster = Cluster(sim.api_client)

        first = run(playbook, sim)
        assert first.rc == 0, first
        assert first.changed > 0

        _, config = cluster.monitoring_config()
        assert config["enableUserWorkload"] is True
        assert config["alertmanagerMain"] == {"enableUserAlertmanagerConfig": True}
        # The scenario's existing settings survive the merge.
        assert config["prometheusK8s"]["retention"] == "15d"
        assert config["prometheusK8s"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "100Gi"
        pods = {p["metadata"]["name"] for p in cluster.list("v1", "Pod", "openshift-user-workload-monitoring")}
        assert {"prometheus-user-workload-0", "thanos-ruler-user-workload-0"} <= pods

        nfd = cluster.get("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", NFD_NS)
        assert nfd["spec"]["operand"]["workerTolerations"] == [{"operator": "Exists"}]
        policy = cluster.get("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy")
        assert policy["status"]["state"] == "ready"
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in policy["spec"]["daemonsets"][
            "tolerations"
        ]
        gpu_nodes = cluster.list("v1", "Node", label_selector="node-role.kubernetes.io/gpu")
        allocatable = sorted(int(n["status"]["allocatable"].get("nvidia.com/gpu", 0)) for n in gpu_nodes)
        assert allocatable == [1, 4]  # g6.xlarge and g6.12xlarge
        for node in gpu_nodes:
            assert node["metadata"]["labels"].get("feature.node.kubernetes.io/pci-10de.present") == "true"
        namespace = cluster.get("v1", "Namespace", GPU_NS)
        assert namespace["metadata"]["labels"]["openshift.io/cluster-monitoring"] == "true"
        dashboard = cluster.get("v1", "ConfigMap", "nvidia-dcgm-exporter-dashboard", "openshift-config-managed")
        assert dashboard["metadata"]["labels"]["console.openshift.io/dashboard"] == "true"
        assert len(json.loads(dashboard["data"]["dcgm-exporter-dashboard.json"])["panels"]) == 6

        second = run(playbook, sim)
        assert second.rc == 0, second
        assert second.changed == 0, second

        checks_file = tmp_path / "checks.json"
        verify = run(playbook, sim, tasks_from="verify", checks_file=checks_file)
        assert verify.rc == 0, verify
        checks = json.loads(checks_file.read_text())
        assert {c["component"] for c in checks} == set(ROLES)
        not_passed = [c for c in checks if c["status"] != "passed"]
        assert not_passed == [], not_passed

        # A role's remove used alone says, object by object, what it would remove; in check mode nothing goes.
        dry = run(playbook, sim, tasks_from="remove", roles=["nfd"], check=True)
        assert dry.rc == 0, dry
        said = " ".join(dry.stdout.split())
        assert "nfd: would remove Subscription {0}/nfd, ClusterServiceVersion {0}/nfd.".format(NFD_NS) in said, dry
        assert cluster.get("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", NFD_NS) is not None

        removed = run(playbook, sim, tasks_from="remove", roles=list(reversed(ROLES)))
        assert removed.rc == 0, removed
        said = " ".join(removed.stdout.split())
        assert "nfd: removed Subscription {0}/nfd, ClusterServiceVersion {0}/nfd.".format(NFD_NS) in said, removed
        assert cluster.get("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy") is None
        assert cluster.get("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", NFD_NS) is None
        assert cluster.get("v1", "ConfigMap", "nvidia-dcgm-exporter-dashboard", "openshift-config-managed") is None
        for ns in (NFD_NS, GPU_NS):
            assert cluster.list("operators.coreos.com/v1alpha1", "Subscription", ns) == []
        cm, config = cluster.monitoring_config()
        assert "rhoai-gpu-infra/managed-keys" not in (cm["metadata"].get("annotations") or {})
        assert config == {
            "prometheusK8s": {
                "retention": "15d",
                "volumeClaimTemplate": {
                    "spec": {"storageClassName": "gp3-csi", "resources": {"requests": {"storage": "100Gi"}}}
                },
            }
        }

        again = run(playbook, sim, tasks_from="remove", roles=list(reversed(ROLES)))
        assert again.rc == 0, again
        assert again.changed == 0, again


def test_roles_without_gpu_nodes_check_mode_converge_and_user_owned_keys(playbook, request):
    with request.getfixturevalue("ocp_sim_factory")() as sim:
        cluster = Cluster(sim.api_client)

        dry = run(playbook, sim, check=True)
        assert dry.rc == 0, dry
        assert cluster.get("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring") is None
        for ns in (NFD_NS, GPU_NS):
            assert cluster.get("v1", "Namespace", ns) is None
        assert cluster.get("v1", "ConfigMap", "nvidia-dcgm-exporter-dashboard", "openshift-config-managed") is None

        # Where there was no ConfigMap, monitoring creates it as its own, and its remove deletes it again: the cluster
        # is left as it was found. Once someone else put a setting in it, it stays with that setting.
        cm_name = "ConfigMap openshift-monitoring/cluster-monitoring-config"
        for user_setting in (None, {"prometheusK8s": {"retention": "7d"}}):
            created = run(playbook, sim, roles=["monitoring"])
            assert created.rc == 0, created
            cm, config = cluster.monitoring_config()
            assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rhoai.gpu_infra", cm
            if user_setting:
                config.update(user_setting)
                cluster.merge_patch(
                    "v1",
                    "ConfigMap",
                    cm["metadata"]["name"],
                    {"data": {"config.yaml": yaml.safe_dump(config)}},
                    "openshift-monitoring",
                )
            dry = run(playbook, sim, tasks_from="remove", roles=["monitoring"], check=True)
            assert dry.rc == 0, dry
            assert cluster.monitoring_config()[1] == config
            removed = run(playbook, sim, tasks_from="remove", roles=["monitoring"])
            assert removed.rc == 0, removed
            if user_setting:
                dry_said = " ".join(dry.stdout.split())
                assert "were taken out" not in dry_said and "would be taken out" in dry_said, dry
                said = " ".join(removed.stdout.split())
                assert (
                    "left in place {0}: created by this collection, but it holds settings someone else".format(cm_name)
                    in said
                ), said
                assert cluster.monitoring_config()[1] == user_setting
                cluster.delete("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")
            else:
                assert "monitoring: would delete {0}".format(cm_name) in " ".join(dry.stdout.split()), dry
                assert "monitoring: deleted {0}".format(cm_name) in " ".join(removed.stdout.split()), removed
                assert cluster.monitoring_config() == (None, None)

        # The user enabled user workload monitoring before (a misplaced top-level enableUserAlertmanagerConfig, which
        # the unit tests cover, is rejected by the config's admission policy, so it cannot be created here).
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cluster-monitoring-config", "namespace": "openshift-monitoring"},
                "data": {"config.yaml": "enableUserWorkload: true\n"},
            }
        )
        first = run(playbook, sim)
        assert first.rc == 0, first
        # A warning of the wait (on stderr); the YAML callback wraps lines
        assert "There are no GPU nodes yet" in " ".join((first.stdout + first.stderr).split())
        cm, config = cluster.monitoring_config()
        assert config == {"enableUserWorkload": True, "alertmanagerMain": {"enableUserAlertmanagerConfig": True}}
        assert (
            cm["metadata"]["annotations"]["rhoai-gpu-infra/managed-keys"]
            == "alertmanagerMain.enableUserAlertmanagerConfig"
        )
        # Applied without waiting; the operator may still call it ready (it does when it finds no GPU node).
        assert cluster.get("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy") is not None

        dry_again = run(playbook, sim, check=True)
        assert dry_again.rc == 0, dry_again
        assert dry_again.changed == 0, dry_again

        removed = run(playbook, sim, tasks_from="remove", roles=list(reversed(ROLES)))
        assert removed.rc == 0, removed
        for ns in (NFD_NS, GPU_NS):
            namespace = cluster.get("v1", "Namespace", ns)
            assert namespace is None or namespace["status"].get("phase") == "Terminating", namespace
        # Only the key this role added goes; the user's own enableUserWorkload stays.
        _, config = cluster.monitoring_config()
        assert config == {"enableUserWorkload": True}


def test_a_config_yaml_that_cannot_be_merged_is_refused_before_anything_changes(playbook, request):
    # The defect report's ConfigMap: its third line is indented by one space, so config.yaml does not parse (the
    # simulated admission policy, which only looks at top-level keys, lets it in, as CMO's webhook may).
    malformed = "prometheusK8s:\n  retention: 15d\n bad: [\n"
    expected = [
        "monitoring: Expected key config.yaml of ConfigMap openshift-monitoring/cluster-monitoring-config to be valid "
        "YAML, found: while parsing a block mapping (line 1, column 1); expected <block end>",
        "(line 3, column 2). Fix or delete the key with "
        "`oc edit configmap cluster-monitoring-config -n openshift-monitoring` and re-run",
    ]
    with request.getfixturevalue("ocp_sim_factory")() as sim:
        cluster = Cluster(sim.api_client)
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cluster-monitoring-config", "namespace": "openshift-monitoring"},
                "data": {"config.yaml": malformed},
            }
        )

        # monitoring comes first in the registry, but it used to be checked only in its configure step, after NFD's
        # Namespace, OperatorGroup and Subscription were applied
        assert_refused_before_any_change(
            playbook,
            sim,
            {"gpu_infra_components": ["monitoring", "nfd"], "gpu_infra_timeout": FAST["gpu_infra_timeout"]},
            expected,
            [NFD_NS, "openshift-monitoring"],
        )
        assert cluster.get("v1", "Namespace", NFD_NS) is None
        assert [
            s for s in cluster.list("operators.coreos.com/v1alpha1", "Subscription") if s["spec"]["name"] == "nfd"
        ] == []

        # The role alone checks before it writes, with the same words.
        alone = run(playbook, sim, roles=["monitoring"])
        assert alone.rc != 0, alone
        output = " ".join(alone.stdout.split())
        for text in [*expected, "Nothing was changed."]:
            assert text in output, (text, alone)
        cm = cluster.get("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")
        assert cm["data"] == {"config.yaml": malformed}
        assert "rhoai-gpu-infra/managed-keys" not in (cm["metadata"].get("annotations") or {})

        # A teardown that finds the keys this role added in a config.yaml that no longer parses says so in the same
        # words (not inside Ansible's wrapper of a failed filter) and leaves the ConfigMap as it is.
        annotations = {"rhoai-gpu-infra/managed-keys": "enableUserWorkload"}
        cluster.merge_patch(
            "v1",
            "ConfigMap",
            "cluster-monitoring-config",
            {"metadata": {"annotations": annotations}},
            "openshift-monitoring",
        )
        removal = run(playbook, sim, tasks_from="remove", roles=["monitoring"])
        assert removal.rc != 0, removal
        output = " ".join(removal.stdout.split())
        for text in expected:
            assert text in output, (text, removal)
        # the check's own refusal, not a filter failing inside a task that Ansible wraps in lines of its own
        assert "Action failed: monitoring: Expected key config.yaml" in output, removal
        assert "filter plugin" not in output and "Error while resolving" not in output, removal
        cm = cluster.get("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")
        assert cm["data"] == {"config.yaml": malformed}
        assert cm["metadata"]["annotations"]["rhoai-gpu-infra/managed-keys"] == "enableUserWorkload"
