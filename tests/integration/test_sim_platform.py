"""What a freshly installed OpenShift 4.20 cluster on AWS looks like, on the OpenShift simulator."""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from tests.ocp_sim.openshift import PLATFORM_NAMESPACES
from tests.ocp_sim.openshift import catalog as catalog_mod

pytestmark = pytest.mark.integration

INFRA = "sim-7x2kq"
ZONES = ("us-east-2a", "us-east-2b", "us-east-2c")


def objects(sim, api_version, kind, namespace=None, label_selector=None):
    res = DynamicClient(sim.api_client).resources.get(api_version=api_version, kind=kind)
    return res.get(namespace=namespace, label_selector=label_selector).to_dict()["items"]


def one(sim, api_version, kind, name, namespace=None):
    res = DynamicClient(sim.api_client).resources.get(api_version=api_version, kind=kind)
    return res.get(name=name, namespace=namespace).to_dict()


def test_infrastructure_and_cluster_version(ocp_sim):
    infra = one(ocp_sim, "config.openshift.io/v1", "Infrastructure", "cluster")["status"]
    assert infra["infrastructureName"] == INFRA
    assert infra["platform"] == "AWS"
    assert infra["platformStatus"] == {"type": "AWS", "aws": {"region": "us-east-2"}}
    version = one(ocp_sim, "config.openshift.io/v1", "ClusterVersion", "version")["status"]
    assert version["desired"]["version"].startswith("4.20.")
    assert version["history"][0]["state"] == "Completed"


def test_platform_namespaces_exist_and_monitoring_config_is_absent(ocp_sim):
    core = client.CoreV1Api(ocp_sim.api_client)
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert set(PLATFORM_NAMESPACES) <= names
    assert "openshift-nfd" not in names
    with pytest.raises(client.exceptions.ApiException) as err:
        core.read_namespaced_config_map("cluster-monitoring-config", "openshift-monitoring")
    assert err.value.status == 404


def test_worker_machinesets_are_shaped_like_the_installer_makes_them(ocp_sim):
    sets = {
        ms["metadata"]["name"]: ms
        for ms in objects(ocp_sim, "machine.openshift.io/v1beta1", "MachineSet", "openshift-machine-api")
    }
    assert sorted(sets) == ["{0}-worker-{1}".format(INFRA, z) for z in ZONES]
    replicas = [sets["{0}-worker-{1}".format(INFRA, z)]["spec"]["replicas"] for z in ZONES]
    assert replicas == [2, 1, 1]
    for zone in ZONES:
        name = "{0}-worker-{1}".format(INFRA, zone)
        ms = sets[name]
        assert ms["metadata"]["labels"] == {"machine.openshift.io/cluster-api-cluster": INFRA}
        selector = ms["spec"]["selector"]["matchLabels"]
        labels = ms["spec"]["template"]["metadata"]["labels"]
        assert selector["machine.openshift.io/cluster-api-machineset"] == name
        assert labels["machine.openshift.io/cluster-api-machineset"] == name
        assert labels["machine.openshift.io/cluster-api-machine-role"] == "worker"
        assert labels["machine.openshift.io/cluster-api-machine-type"] == "worker"
        value = ms["spec"]["template"]["spec"]["providerSpec"]["value"]
        assert value["kind"] == "AWSMachineProviderConfig"
        assert value["instanceType"] == "m6i.xlarge"
        assert value["ami"]["id"].startswith("ami-")
        assert value["placement"] == {"availabilityZone": zone, "region": "us-east-2"}
        assert value["subnet"] == {
            "filters": [{"name": "tag:Name", "values": ["{0}-subnet-private-{1}".format(INFRA, zone)]}]
        }
        assert value["iamInstanceProfile"] == {"id": INFRA + "-worker-profile"}
        assert {"name": "kubernetes.io/cluster/" + INFRA, "value": "owned"} in value["tags"]
        assert value["userDataSecret"] == {"name": "worker-user-data"}
        assert value["credentialsSecret"] == {"name": "aws-cloud-credentials"}
        assert value["blockDevices"][0]["ebs"]["volumeSize"] == 120
        assert value["blockDevices"][0]["ebs"]["volumeType"] == "gp3"
        annotations = ms["metadata"]["annotations"]
        assert (annotations["machine.openshift.io/vCPU"], annotations["machine.openshift.io/memoryMb"]) == (
            "4",
            "16384",
        )


def test_control_plane_nodes_are_tainted_masters(ocp_sim):
    core = client.CoreV1Api(ocp_sim.api_client)
    masters = core.list_node(label_selector="node-role.kubernetes.io/master").items
    assert len(masters) == 3
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in masters) == list(ZONES)
    for node in masters:
        assert [(t.key, t.effect) for t in node.spec.taints] == [("node-role.kubernetes.io/master", "NoSchedule")]
        assert node.metadata.annotations["sim.ocp/gpu-count"] == "0"


def test_catalogs_are_ready_and_every_package_has_a_package_manifest(ocp_sim):
    sources = objects(ocp_sim, "operators.coreos.com/v1alpha1", "CatalogSource", "openshift-marketplace")
    assert sorted(s["metadata"]["name"] for s in sources) == [
        "certified-operators",
        "community-operators",
        "redhat-marketplace",
        "redhat-operators",
    ]
    assert {s["status"]["connectionState"]["lastObservedState"] for s in sources} == {"READY"}

    cat = catalog_mod.load()
    manifests = {
        m["metadata"]["name"]: m
        for m in objects(ocp_sim, "packages.operators.coreos.com/v1", "PackageManifest", "openshift-marketplace")
    }
    assert set(cat.packages) <= set(manifests)
    # the way the collection's preflight looks packages up
    certified = objects(
        ocp_sim,
        "packages.operators.coreos.com/v1",
        "PackageManifest",
        "openshift-marketplace",
        label_selector="catalog=certified-operators",
    )
    assert [m["metadata"]["name"] for m in certified] == ["gpu-operator-certified"]
    gpu = manifests["gpu-operator-certified"]
    assert gpu["metadata"]["labels"]["catalog-namespace"] == "openshift-marketplace"
    assert gpu["status"]["catalogSource"] == "certified-operators"
    channels = {c["name"]: c["currentCSV"] for c in gpu["status"]["channels"]}
    assert channels["v25.10"].startswith("gpu-operator-certified.v25.10.")
    assert "v25.3" in channels
    # operators.md §1 channels
    expected = {
        "openshift-cert-manager-operator": "stable-v1",
        "nfd": "stable",
        "serverless-operator": "stable-1.37",
        "leader-worker-set": "stable-v1.0",
        "authorino-operator": "stable",
        "limitador-operator": "stable",
        "dns-operator": "stable",
        "kueue-operator": "stable-v1.2",
    }
    for package, channel in expected.items():
        assert manifests[package]["status"]["catalogSource"] == "redhat-operators"
        assert channel in [c["name"] for c in manifests[package]["status"]["channels"]], package


def test_worker_machines_become_nodes(ocp_sim):
    core = client.CoreV1Api(ocp_sim.api_client)
    deadline = time.monotonic() + 60
    workers = []
    while time.monotonic() < deadline:
        workers = core.list_node(label_selector="node-role.kubernetes.io/worker").items
        if len(workers) >= 4:
            break
        time.sleep(0.5)
    assert len(workers) == 4, "on the OpenShift simulator: expected 4 worker nodes from the MachineSets"
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in workers) == [
        "us-east-2a",
        "us-east-2a",
        "us-east-2b",
        "us-east-2c",
    ]


def test_gpu_nodes_scenario(ocp_sim_factory):
    with ocp_sim_factory(scenario="gpu-nodes") as sim:
        sets = {
            ms["metadata"]["name"]: ms
            for ms in objects(sim, "machine.openshift.io/v1beta1", "MachineSet", "openshift-machine-api")
        }
        gpu = sets[INFRA + "-gpu-g6-12xlarge-us-east-2b"]
        template = gpu["spec"]["template"]["spec"]
        assert template["metadata"]["labels"]["node-role.kubernetes.io/gpu"] == ""
        assert template["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
        assert template["providerSpec"]["value"]["instanceType"] == "g6.12xlarge"
        assert gpu["metadata"]["annotations"]["machine.openshift.io/GPU"] == "4"
        config = client.CoreV1Api(sim.api_client).read_namespaced_config_map(
            "cluster-monitoring-config", "openshift-monitoring"
        )
        assert "retention: 15d" in config.data["config.yaml"]

        core = client.CoreV1Api(sim.api_client)
        deadline = time.monotonic() + 60
        nodes = []
        while time.monotonic() < deadline and len(nodes) < 2:
            nodes = core.list_node(label_selector="node-role.kubernetes.io/gpu").items
            time.sleep(0.5)
        assert sorted(n.metadata.annotations["sim.ocp/gpu-count"] for n in nodes) == ["1", "4"]
