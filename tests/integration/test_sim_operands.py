"""The simulated operands (NFD, GPU operator, machine-api, monitoring, Kueue/LWS/Knative, cert-manager) against a
real apiserver.

The module runs on its own simulated OpenShift (default scenario; real kube-apiserver, scheduler,
controller-manager and kwok, plus the controllers runner with OLM and the operand controllers), because it creates
cluster singletons (Kueue/cluster, LeaderWorkerSetOperator/cluster, gpu-cluster-policy) that other modules' session
cluster must not see. Scheduling, taints/tolerations, CRD validation, admission and garbage collection are the real
thing; only the operators are simulated.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.cert_manager import WEBHOOK_SELECTOR
from tests.ocp_sim.openshift import catalog, hardware, upstream_crds
from tests.ocp_sim.openshift.controllers import gpu, operands
from tests.ocp_sim.openshift.pytest_fixtures import OcpSim, start

pytestmark = pytest.mark.integration

# installed later by the tests themselves: the LWS operand CRD (made by the LWS controller) and cert-manager's CRD
LATE_CRDS = {"leaderworkersets.leaderworkerset.x-k8s.io", "certificates.cert-manager.io"}
NAMESPACES = (
    "openshift-nfd",
    "nvidia-gpu-operator",
    "openshift-machine-api",
    "openshift-monitoring",
    "openshift-kueue-operator",
    "knative-serving",
    "openshift-serverless",
)
MAPI = "machine.openshift.io/v1beta1"
PCI = "feature.node.kubernetes.io/pci-10de.present"
KERNEL = "feature.node.kubernetes.io/kernel-version.full"
TIMEOUT = 90
NFD_CONFIG = "sources:\n  pci:\n    deviceClassWhitelist: ['0200', '03', '12']\n    deviceLabelFields: ['vendor']\n"


def wait_for(what, predicate, timeout=TIMEOUT):
    """Poll until predicate() is truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (client.exceptions.ApiException, ResourceNotFoundError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.3)
    pytest.fail("timed out waiting for {0}; last seen: {1!r}".format(what, last))


def apply_crd(dyn, name):
    crd = upstream_crds.load_or_local(name)
    res = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    res.server_side_apply(body=crd, name=crd["metadata"]["name"], field_manager="test", force_conflicts=True)
    wait_for(
        "CRD {0} Established".format(crd["metadata"]["name"]),
        lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in (res.get(name=crd["metadata"]["name"]).to_dict().get("status") or {}).get("conditions") or []
        ),
    )


class Sim:
    def __init__(self, api_client):
        self.api = api_client
        self.dyn = DynamicClient(api_client)
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)

    def res(self, api_version, kind):
        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            self.dyn.resources.invalidate_cache()
            return self.dyn.resources.get(api_version=api_version, kind=kind)

    def create(self, obj):
        return self.res(obj["apiVersion"], obj["kind"]).create(body=obj, namespace=obj["metadata"].get("namespace"))

    def get(self, api_version, kind, name, namespace=None):
        try:
            return self.res(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except client.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, api_version, kind, name, body, namespace=None):
        return self.res(api_version, kind).patch(
            body=body, name=name, namespace=namespace, content_type="application/merge-patch+json"
        )

    def delete(self, api_version, kind, name, namespace=None):
        try:
            self.res(api_version, kind).delete(name=name, namespace=namespace)
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise

    def node(self, name):
        return self.core.read_node(name)

    def pods(self, namespace, selector):
        return self.core.list_namespaced_pod(namespace, label_selector=selector).items


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cp = start(tmp_path_factory.mktemp("ocp_sim_operands"))
    ocp = OcpSim(cp.kubeconfig, cp)
    dyn = DynamicClient(ocp.api_client)
    # the operand CRDs OLM would install with each operator; the late ones are the subject of tests below
    for name in sorted({crd for pkg in catalog.load().packages.values() for crd in pkg["ownedCRDs"]} - LATE_CRDS):
        apply_crd(dyn, name)
    core = client.CoreV1Api(ocp.api_client)
    for ns in NAMESPACES:
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise
    try:
        yield Sim(ocp.api_client)
    finally:
        ocp.close()
        cp.stop(remove=False)


def plain_workers(sim):
    """Untainted scenario workers (their MachineSets come from the default scenario)."""
    return sorted(
        n.metadata.name
        for n in sim.core.list_node(label_selector="node-role.kubernetes.io/worker").items
        if not n.spec.taints and "node-role.kubernetes.io/gpu" not in (n.metadata.labels or {})
    )


def machineset(name, instance_type, replicas, taints=(), labels=None):
    sel = {"machine.openshift.io/cluster-api-cluster": "sim-x1", "machine.openshift.io/cluster-api-machineset": name}
    return {
        "apiVersion": MAPI,
        "kind": "MachineSet",
        "metadata": {"name": name, "namespace": "openshift-machine-api", "labels": {k: sel[k] for k in list(sel)[:1]}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": sel},
            "template": {
                "metadata": {"labels": dict(sel, **{"machine.openshift.io/cluster-api-machine-role": "worker"})},
                "spec": {
                    "metadata": {"labels": labels or {}},
                    "taints": list(taints),
                    "providerSpec": {
                        "value": {
                            "apiVersion": "machine.openshift.io/v1beta1",
                            "kind": "AWSMachineProviderConfig",
                            "instanceType": instance_type,
                            "placement": {"region": "us-east-2", "availabilityZone": "us-east-2b"},
                        }
                    },
                },
            },
        },
    }


def machines_of(sim, ms_name):
    res = sim.res(MAPI, "Machine")
    items = res.get(namespace="openshift-machine-api").to_dict()["items"]
    return [m for m in items if m["metadata"]["name"].startswith(ms_name + "-")]


def node_names_of(sim, ms_name):
    return [
        n.metadata.name
        for n in sim.core.list_node().items
        if (n.metadata.annotations or {})
        .get("machine.openshift.io/machine", "")
        .startswith("openshift-machine-api/" + ms_name + "-")
    ]


def running_machines(sim, ms_name, count):
    ms = machines_of(sim, ms_name)
    ok = len(ms) == count and all((m.get("status") or {}).get("phase") == "Running" for m in ms)
    return ms if ok else None


# --------------------------------------------------------------------------------------------------------------------
def test_machineset_scale_creates_and_deletes_machines_and_nodes(sim):
    name = "sim-x1-gpu-g6-12xlarge-us-east-2b"
    taint = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    sim.create(machineset(name, "g6.12xlarge", 0, [taint], {"node-role.kubernetes.io/gpu": ""}))
    ms = wait_for(
        "MachineSet GPU annotations",
        lambda: (
            (sim.get(MAPI, "MachineSet", name, "openshift-machine-api")["metadata"].get("annotations") or {}).get(
                "machine.openshift.io/GPU"
            )
            == "4"
        ),
    )
    assert ms
    assert machines_of(sim, name) == []

    sim.patch(MAPI, "MachineSet", name, {"spec": {"replicas": 2}}, "openshift-machine-api")
    machines = wait_for("2 Running machines", lambda: running_machines(sim, name, 2))
    for m in machines:
        assert m["metadata"]["labels"]["machine.openshift.io/cluster-api-machineset"] == name
        assert m["metadata"]["ownerReferences"][0]["kind"] == "MachineSet"
        assert m["metadata"]["annotations"]["machine.openshift.io/instance-state"] == "running"
        assert m["status"]["providerStatus"]["instanceState"] == "running"
        node = sim.node(m["status"]["nodeRef"]["name"])
        assert node.metadata.name.startswith("ip-10-0-") and node.metadata.name.endswith(".us-east-2.compute.internal")
        assert node.metadata.labels["node-role.kubernetes.io/gpu"] == ""
        assert node.metadata.labels["node-role.kubernetes.io/worker"] == ""
        assert node.metadata.labels["node.kubernetes.io/instance-type"] == "g6.12xlarge"
        assert node.metadata.labels["topology.kubernetes.io/zone"] == "us-east-2b"
        assert [(t.key, t.value, t.effect) for t in node.spec.taints or []] == [
            ("nvidia.com/gpu", "true", "NoSchedule")
        ]
        assert node.status.capacity["cpu"] == "48"
        assert node.metadata.annotations[hardware.GPU_COUNT] == "4"
        assert "10de" in node.metadata.annotations[hardware.PCI_VENDORS]
    wait_for(
        "MachineSet readyReplicas 2",
        lambda: (
            (sim.get(MAPI, "MachineSet", name, "openshift-machine-api").get("status") or {}).get("readyReplicas") == 2
        ),
    )
    status = sim.get(MAPI, "MachineSet", name, "openshift-machine-api")["status"]
    assert status["replicas"] == 2 and status["availableReplicas"] == 2 and status["fullyLabeledReplicas"] == 2
    assert len(node_names_of(sim, name)) == 2

    sim.patch(MAPI, "MachineSet", name, {"spec": {"replicas": 0}}, "openshift-machine-api")
    wait_for("machines gone", lambda: machines_of(sim, name) == [])
    wait_for("nodes gone", lambda: node_names_of(sim, name) == [])
    sim.delete(MAPI, "MachineSet", name, "openshift-machine-api")


def test_unknown_instance_type_fails_the_machine(sim):
    name = "sim-x1-bogus-us-east-2b"
    sim.create(machineset(name, "g6.bogus", 1))
    machine = wait_for(
        "Failed machine",
        lambda: next((m for m in machines_of(sim, name) if (m.get("status") or {}).get("phase") == "Failed"), None),
    )
    assert "g6.bogus" in machine["status"]["errorMessage"]
    assert node_names_of(sim, name) == []
    sim.delete(MAPI, "MachineSet", name, "openshift-machine-api")
    wait_for("machines garbage-collected", lambda: machines_of(sim, name) == [])


def nfd_instance(tolerations, config=None):
    return {
        "apiVersion": "nfd.openshift.io/v1",
        "kind": "NodeFeatureDiscovery",
        "metadata": {"name": "nfd-instance", "namespace": "openshift-nfd"},
        "spec": {
            "instance": "",
            "topologyUpdater": False,
            "enableTaints": False,
            "operand": {"servicePort": 12000, "workerTolerations": tolerations},
            "workerConfig": {"configData": config or NFD_CONFIG},
            "customConfig": {"configData": "ignored"},
        },
    }


def cluster_policy(tolerations):
    return {
        "apiVersion": "nvidia.com/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "gpu-cluster-policy"},
        "spec": {
            "operator": {"defaultRuntime": "crio", "use_ocp_driver_toolkit": True},
            "daemonsets": {"tolerations": tolerations},
            "driver": {"enabled": True},
            "toolkit": {"enabled": True},
            "devicePlugin": {"enabled": True},
            "dcgm": {"enabled": True},
            "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": True}},
            "gfd": {"enabled": True},
            "nodeStatusExporter": {"enabled": True},
        },
    }


def cp_state(sim):
    return ((sim.get("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy") or {}).get("status") or {}).get("state")


def test_nfd_and_gpu_operator_follow_real_scheduling(sim):
    ms_name = "sim-x1-gpu-g6-4xlarge-us-east-2b"
    taints = [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "gpu", "effect": "NoExecute"},
    ]
    sim.create(machineset(ms_name, "g6.4xlarge", 1, taints, {"node-role.kubernetes.io/gpu": ""}))
    gpu_node = wait_for("GPU machine Running", lambda: running_machines(sim, ms_name, 1))[0]["status"]["nodeRef"][
        "name"
    ]
    workers = plain_workers(sim)
    assert workers, "the default scenario has untainted workers"
    plain = workers[0]

    # NFD with no extra tolerations: its worker cannot run on the GPU node (NoExecute taint), so it stays unlabelled
    created = sim.create(nfd_instance([])).to_dict()
    assert "customConfig" not in created["spec"], "unknown fields must be pruned as on OpenShift"
    wait_for("plain node labelled", lambda: (sim.node(plain).metadata.labels or {}).get(KERNEL) == hardware.KERNEL)
    wait_for(
        "every untainted worker labelled",
        lambda: all((sim.node(n).metadata.labels or {}).get(KERNEL) for n in workers),
    )
    nfd_pods = sim.pods("openshift-nfd", "app.kubernetes.io/component=worker")
    assert gpu_node not in {p.spec.node_name for p in nfd_pods if p.status.phase == "Running"}
    assert not any(k.startswith("feature.node.kubernetes.io/") for k in sim.node(gpu_node).metadata.labels)
    assert PCI not in sim.node(plain).metadata.labels  # no NVIDIA device there
    ds = sim.apps.read_namespaced_daemon_set("nfd-worker", "openshift-nfd")
    assert {"operator": "Exists", "effect": "NoSchedule"} in [
        {k: v for k, v in t.to_dict().items() if v is not None} for t in ds.spec.template.spec.tolerations
    ]

    # A PCI label left by an earlier NFD run: the GPU operator targets the node, but the Driver Toolkit needs the
    # kernel/OSTREE labels only a running NFD worker provides -> the design input's "RHEL entitlement" failure
    sim.patch("v1", "Node", gpu_node, {"metadata": {"labels": {PCI: "true"}}})
    gpu_tolerations = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"},
    ]
    sim.create(cluster_policy(gpu_tolerations))

    def failed_driver():
        for pod in sim.pods("nvidia-gpu-operator", "app=nvidia-driver-daemonset"):
            for cs in pod.status.container_statuses or []:
                if cs.state.waiting and cs.state.waiting.reason == "CrashLoopBackOff":
                    return pod
        return None

    pod = wait_for("driver pod in CrashLoopBackOff", failed_driver)
    assert pod.spec.node_name == gpu_node
    assert gpu.DRIVER_TOOLKIT_FAILURE in pod.status.container_statuses[0].last_state.terminated.message

    # The Event is a write of its own, after the pod status: on a loaded machine it can trail the CrashLoopBackOff.
    def entitlement_event():
        events = sim.core.list_namespaced_event(
            "nvidia-gpu-operator", field_selector="involvedObject.name={0}".format(pod.metadata.name)
        ).items
        return [e for e in events if "RHEL entitlement may be improperly deployed" in (e.message or "")]

    wait_for("the driver pod's RHEL entitlement Event", entitlement_event)
    wait_for("ClusterPolicy notReady", lambda: cp_state(sim) == "notReady")
    assert "nvidia.com/gpu" not in (sim.node(gpu_node).status.allocatable or {})
    ds = sim.apps.read_namespaced_daemon_set("nvidia-driver-daemonset", "nvidia-gpu-operator")
    assert ds.spec.template.spec.node_selector == {PCI: "true"}
    assert len(ds.spec.template.spec.tolerations) == 2  # REPLACES the default
    assert sim.get("monitoring.coreos.com/v1", "ServiceMonitor", "nvidia-dcgm-exporter", "nvidia-gpu-operator")

    # Fix NFD's tolerations: its worker now runs on the GPU node, labels it, the driver comes up, GPUs appear
    sim.patch(
        "nfd.openshift.io/v1",
        "NodeFeatureDiscovery",
        "nfd-instance",
        {"spec": {"operand": {"workerTolerations": [{"operator": "Exists"}]}}},
        "openshift-nfd",
    )
    wait_for("GPU node NFD labels", lambda: (sim.node(gpu_node).metadata.labels or {}).get(KERNEL) == hardware.KERNEL)
    labels = sim.node(gpu_node).metadata.labels
    assert labels["feature.node.kubernetes.io/system-os_release.OSTREE_VERSION"] == hardware.OSTREE
    assert labels["feature.node.kubernetes.io/system-os_release.ID"] == "rhcos"
    wait_for(
        "allocatable nvidia.com/gpu", lambda: (sim.node(gpu_node).status.allocatable or {}).get("nvidia.com/gpu") == "1"
    )
    labels = sim.node(gpu_node).metadata.labels
    assert labels["nvidia.com/gpu.present"] == "true" and labels["nvidia.com/gpu.product"] == "NVIDIA-L4"
    wait_for("ClusterPolicy ready", lambda: cp_state(sim) == "ready")
    wait_for(
        "NFD Available",
        lambda: (
            conditions(sim.get("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", "openshift-nfd"))
            .get("Available", {})
            .get("status")
            == "True"
        ),
    )

    # Deleting the ClusterPolicy takes the GPUs away; deleting NFD takes its labels away
    sim.delete("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy")
    wait_for("GPU capacity removed", lambda: "nvidia.com/gpu" not in (sim.node(gpu_node).status.capacity or {}))
    assert "nvidia.com/gpu.present" not in sim.node(gpu_node).metadata.labels
    sim.delete("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", "openshift-nfd")
    wait_for("NFD labels removed", lambda: KERNEL not in (sim.node(plain).metadata.labels or {}))
    sim.delete(MAPI, "MachineSet", ms_name, "openshift-machine-api")
    wait_for("GPU node gone", lambda: node_names_of(sim, ms_name) == [])


def test_cluster_policy_without_gpu_nodes_reports_ready_like_the_operator(sim):
    sim.create(cluster_policy([]))
    wait_for("ClusterPolicy ready", lambda: cp_state(sim) == "ready")
    cp = sim.get("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy")
    ready = next(c for c in cp["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "NoGPUNodes"
    with pytest.raises(client.exceptions.ApiException) as err:
        sim.patch("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy", {"spec": {"driver": None}})
    assert "driver" in str(err.value.body)
    sim.delete("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy")


def uwm_config(text):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cluster-monitoring-config", "namespace": "openshift-monitoring"},
        "data": {"config.yaml": text},
    }


def test_user_workload_monitoring_follows_the_config(sim):
    # the admission policy is installed by the controller: wait until the apiserver enforces it
    def rejected():
        try:
            sim.create(uwm_config("enableUserWorkload: true\nenableUserAlertmanagerConfig: true\n"))
        except client.exceptions.ApiException as exc:
            return exc
        sim.delete("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")
        return None

    exc = wait_for("misplaced enableUserAlertmanagerConfig rejected", rejected)
    assert "enableUserAlertmanagerConfig" in exc.body

    sim.create(uwm_config("enableUserWorkload: true\nalertmanagerMain:\n  enableUserAlertmanagerConfig: true\n"))
    for pod in ("prometheus-user-workload-0", "thanos-ruler-user-workload-0"):
        wait_for(
            pod + " Running",
            lambda pod=pod: (
                sim.core.read_namespaced_pod(pod, "openshift-user-workload-monitoring").status.phase == "Running"
            ),
        )
    status = sim.core.read_namespaced_config_map("cluster-monitoring-operator-status", "openshift-monitoring")
    assert status.data["degraded"] == "false"

    sim.patch(
        "v1",
        "ConfigMap",
        "cluster-monitoring-config",
        {"data": {"config.yaml": "enableUserWorkload: false\n"}},
        "openshift-monitoring",
    )
    wait_for(
        "user-workload StatefulSets removed",
        lambda: not sim.apps.list_namespaced_stateful_set("openshift-user-workload-monitoring").items,
    )
    # malformed YAML slips past the top-level key check: the operator reports it instead
    sim.patch(
        "v1",
        "ConfigMap",
        "cluster-monitoring-config",
        {"data": {"config.yaml": "enableUserWorkload: [true\n"}},
        "openshift-monitoring",
    )
    wait_for(
        "monitoring degraded",
        lambda: (
            sim.core.read_namespaced_config_map("cluster-monitoring-operator-status", "openshift-monitoring").data[
                "degraded"
            ]
            == "true"
        ),
    )
    sim.delete("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")


def kueue(name, frameworks):
    return {
        "apiVersion": "kueue.openshift.io/v1",
        "kind": "Kueue",
        "metadata": {"name": name},
        "spec": {"managementState": "Managed", "config": {"integrations": {"frameworks": frameworks}}},
    }


def conditions(obj):
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def test_kueue_validation_and_cert_manager_dependency(sim):
    with pytest.raises(client.exceptions.ApiException) as err:
        sim.create(kueue("cluster", ["BatchJob", "Batchjob"]))
    assert err.value.status == 422 and "Batchjob" in err.value.body
    with pytest.raises(client.exceptions.ApiException) as err:
        sim.create(kueue("my-kueue", ["BatchJob"]))
    assert err.value.status == 422 and "cluster" in err.value.body

    sim.create(kueue("cluster", ["BatchJob", "RayJob", "RayCluster", "PyTorchJob", "Pod", "LeaderWorkerSet"]))
    degraded = wait_for(
        "Kueue Degraded without cert-manager",
        lambda: (
            conditions(sim.get("kueue.openshift.io/v1", "Kueue", "cluster")).get("Degraded", {}).get("status") == "True"
        ),
    )
    assert degraded
    message = conditions(sim.get("kueue.openshift.io/v1", "Kueue", "cluster"))["Degraded"]["message"]
    assert "please make sure that cert-manager is installed" in message
    assert sim.get("apps/v1", "Deployment", "kueue-controller-manager", "openshift-kueue-operator") is None

    apply_crd(sim.dyn, "certificates.cert-manager.io")
    wait_for(
        "Kueue Available",
        lambda: (
            conditions(sim.get("kueue.openshift.io/v1", "Kueue", "cluster")).get("Available", {}).get("status")
            == "True"
        ),
    )
    assert sim.get("apps/v1", "Deployment", "kueue-controller-manager", "openshift-kueue-operator")
    sim.delete("kueue.openshift.io/v1", "Kueue", "cluster")


def test_lws_crd_appears_after_the_operator_cr(sim):
    lws_op = {
        "apiVersion": "operator.openshift.io/v1",
        "kind": "LeaderWorkerSetOperator",
        "metadata": {"name": "lws"},
        "spec": {"managementState": "Managed", "logLevel": "Normal", "operatorLogLevel": "Normal"},
    }
    with pytest.raises(client.exceptions.ApiException) as err:
        sim.create(lws_op)
    assert err.value.status == 422
    assert (
        sim.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "leaderworkersets.leaderworkerset.x-k8s.io")
        is None
    )
    lws_op["metadata"]["name"] = "cluster"
    lws_op["spec"]["logLevel"] = "Verbose"
    with pytest.raises(client.exceptions.ApiException) as err:
        sim.create(lws_op)
    assert "Verbose" in err.value.body
    lws_op["spec"]["logLevel"] = "Normal"
    sim.create(lws_op)
    wait_for(
        "LWS CRD",
        lambda: sim.get(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "leaderworkersets.leaderworkerset.x-k8s.io"
        ),
    )
    wait_for(
        "LWS operator Available",
        lambda: (
            conditions(sim.get("operator.openshift.io/v1", "LeaderWorkerSetOperator", "cluster"))
            .get("Available", {})
            .get("status")
            == "True"
        ),
    )


def test_knative_serving_ready_only_after_the_serverless_csv(sim):
    sim.create(
        {
            "apiVersion": "operator.knative.dev/v1beta1",
            "kind": "KnativeServing",
            "metadata": {"name": "knative-serving", "namespace": "knative-serving"},
            "spec": {},
        }
    )

    def ready():
        ks = sim.get("operator.knative.dev/v1beta1", "KnativeServing", "knative-serving", "knative-serving")
        return conditions(ks).get("Ready", {}).get("status")

    wait_for("Ready reported", lambda: ready() == "Unknown")
    time.sleep(2 * operands.OperandStatusController.resync)  # it must not turn Ready while the CSV is missing
    assert ready() == "Unknown"
    # install the serverless operator through the simulated OLM, as the serverless role does
    sim.create(
        {
            "apiVersion": "operators.coreos.com/v1",
            "kind": "OperatorGroup",
            "metadata": {"name": "openshift-serverless", "namespace": "openshift-serverless"},
            "spec": {},
        }
    )
    sim.create(
        {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "Subscription",
            "metadata": {"name": "serverless-operator", "namespace": "openshift-serverless"},
            "spec": {
                "channel": "stable-1.37",
                "name": "serverless-operator",
                "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace",
                "installPlanApproval": "Automatic",
            },
        }
    )
    wait_for("KnativeServing Ready", lambda: ready() == "True")


def test_the_cert_manager_operator_runs_cert_manager_once_its_csv_succeeded(sim):
    # the last test: the operator's CRDs (certificates.cert-manager.io among them) stay installed
    operator_ns = "cert-manager-operator"
    sim.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=operator_ns)))
    sim.create(
        {
            "apiVersion": "operators.coreos.com/v1",
            "kind": "OperatorGroup",
            "metadata": {"name": operator_ns, "namespace": operator_ns},
            "spec": {},
        }
    )
    sim.create(
        {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "Subscription",
            "metadata": {"name": "openshift-cert-manager-operator", "namespace": operator_ns},
            "spec": {
                "channel": "stable-v1",
                "name": "openshift-cert-manager-operator",
                "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace",
                "installPlanApproval": "Automatic",
            },
        }
    )
    namespace = operands.CERT_MANAGER_OPERAND_NAMESPACE
    for name, component, app, _ in operands.CERT_MANAGER_DEPLOYMENTS:
        selector = "app.kubernetes.io/component={0},app.kubernetes.io/name={1}".format(component, app)
        wait_for(
            "a Running pod of Deployment {0}/{1}".format(namespace, name),
            lambda selector=selector, name=name: [
                p.metadata.name
                for p in sim.pods(namespace, selector)
                if p.status.phase == "Running" and p.metadata.name.startswith(name + "-")
            ],
        )
    cert_manager = sim.get("operator.openshift.io/v1alpha1", "CertManager", "cluster")
    assert cert_manager["spec"]["managementState"] == "Managed", cert_manager
    # what the collection's requirement check looks for finds the webhook, and only it
    webhooks = sim.apps.list_deployment_for_all_namespaces(label_selector=WEBHOOK_SELECTOR).items
    assert [(d.metadata.namespace, d.metadata.name) for d in webhooks] == [(namespace, "cert-manager-webhook")]

    # uninstalled, the operator leaves its operand running, as the real one does
    csvs = sim.res("operators.coreos.com/v1alpha1", "ClusterServiceVersion")

    def operator_csvs():  # not the copies of other operators' CSVs, which OLM keeps in every namespace
        return [
            c.metadata.name for c in csvs.get(namespace=operator_ns).items if c.metadata.name.startswith(operator_ns)
        ]

    sim.delete("operators.coreos.com/v1alpha1", "Subscription", "openshift-cert-manager-operator", operator_ns)
    for name in operator_csvs():
        sim.delete("operators.coreos.com/v1alpha1", "ClusterServiceVersion", name, operator_ns)
    wait_for("no cert-manager CSV", lambda: not operator_csvs())
    time.sleep(3)  # a few resyncs of the operand controller (every second)
    webhooks = sim.apps.list_deployment_for_all_namespaces(label_selector=WEBHOOK_SELECTOR).items
    assert [(d.metadata.namespace, d.metadata.name) for d in webhooks] == [(namespace, "cert-manager-webhook")]
