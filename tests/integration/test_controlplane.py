"""The local control plane (tests/ocp_sim) is real Kubernetes: version, scheduling onto kwok
nodes, taints/tolerations, namespace deletion and an apiserver restart that keeps the data."""

from __future__ import annotations

import time
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.integration

POLL = 0.3


def wait_for(check, timeout: float, what: str):
    """Poll `check()` -> (done, last_seen) until done; fail with the last object seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        done, last = check()
        if done:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last seen:\n{last}", pytrace=False)
        time.sleep(POLL)


def uid() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def core(k8s):
    return client.CoreV1Api(k8s)


@pytest.fixture
def namespace(core):
    name = f"cp-test-{uid()}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # The ServiceAccount admission plugin rejects pods until the namespace's default SA exists.
    wait_for(lambda: _sa_exists(core, name), 60, f"ServiceAccount default in {name}")
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as e:
        if e.status != 404:
            raise


def _sa_exists(core, ns):
    try:
        return True, core.read_namespaced_service_account("default", ns)
    except ApiException as e:
        if e.status == 404:
            return False, f"404 for serviceaccount default in {ns}"
        raise


@pytest.fixture
def make_node(core):
    """Create fake nodes the kwok way; they are deleted afterwards."""
    created = []

    def make(labels=None, taints=None):
        name = f"kwok-node-{uid()}"
        node = client.V1Node(
            metadata=client.V1ObjectMeta(
                name=name,
                labels={"type": "kwok", "kubernetes.io/hostname": name, **(labels or {})},
                annotations={"kwok.x-k8s.io/node": "fake"},
            ),
            spec=client.V1NodeSpec(taints=taints or None),
        )
        core.create_node(node)
        created.append(name)

        def ready():
            n = core.read_node(name)
            conds = {c.type: c.status for c in (n.status.conditions or [])}
            seen = (
                f"node {name}: conditions={conds or 'none (no kwok acting on it?)'} "
                f"taints={[(t.key, t.effect) for t in (n.spec.taints or [])]}"
            )
            return conds.get("Ready") == "True", seen

        wait_for(ready, 60, f"node {name} Ready (kwok)")
        return name

    yield make
    for name in created:
        try:
            core.delete_node(name)
        except ApiException as e:
            if e.status != 404:
                raise


def pod_summary(pods):
    return (
        "\n".join(
            f"{p.metadata.name}: phase={p.status.phase} node={p.spec.node_name} "
            f"conditions={[(c.type, c.status, c.reason) for c in (p.status.conditions or [])]}"
            for p in pods
        )
        or "(no pods)"
    )


def test_version_is_v1_33(k8s, controlplane):
    info = client.VersionApi(k8s).get_code()
    assert info.git_version.startswith("v1.33."), info
    assert (info.major, info.minor) == ("1", "33"), info
    assert controlplane.server.startswith("https://127.0.0.1:")


def test_deployment_gets_two_running_pods_on_kwok_nodes(k8s, core, namespace, make_node):
    group = f"g{uid()}"
    nodes = {make_node(labels={"cp-test/group": group}) for _ in range(2)}
    labels = {"app": "web"}
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    node_selector={"cp-test/group": group},
                    containers=[client.V1Container(name="web", image="example.invalid/web:1")],
                ),
            ),
        ),
    )
    client.AppsV1Api(k8s).create_namespaced_deployment(namespace, dep)

    def two_running():
        pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
        running = [p for p in pods if p.status.phase == "Running" and p.spec.node_name in nodes]
        return len(running) == 2 and len(pods) == 2, pod_summary(pods)

    wait_for(two_running, 90, "2 Running pods of Deployment web on the kwok nodes")

    def deployment_available():
        d = client.AppsV1Api(k8s).read_namespaced_deployment("web", namespace)
        return (d.status.available_replicas or 0) == 2, d.status

    wait_for(deployment_available, 60, "Deployment web availableReplicas=2")


def test_untolerated_taint_keeps_pod_pending(core, namespace, make_node):
    taint = client.V1Taint(key="cp-test/dedicated", value="gpu", effect="NoSchedule")
    node = make_node(labels={"cp-test/taint": "yes"}, taints=[taint])

    def pod(name, tolerations=None):
        return client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(
                node_selector={"kubernetes.io/hostname": node},
                tolerations=tolerations,
                containers=[client.V1Container(name="c", image="example.invalid/c:1")],
            ),
        )

    core.create_namespaced_pod(namespace, pod("intolerant"))
    core.create_namespaced_pod(
        namespace,
        pod(
            "tolerant",
            [client.V1Toleration(key="cp-test/dedicated", operator="Equal", value="gpu", effect="NoSchedule")],
        ),
    )

    def tolerant_running():
        p = core.read_namespaced_pod("tolerant", namespace)
        return p.status.phase == "Running" and p.spec.node_name == node, pod_summary([p])

    wait_for(tolerant_running, 90, f"pod tolerant Running on {node}")

    def intolerant_unschedulable():
        p = core.read_namespaced_pod("intolerant", namespace)
        unsched = any(
            c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
            for c in (p.status.conditions or [])
        )
        return unsched, pod_summary([p])

    wait_for(intolerant_unschedulable, 60, "pod intolerant marked Unschedulable by the scheduler")
    p = core.read_namespaced_pod("intolerant", namespace)
    assert p.status.phase == "Pending" and not p.spec.node_name, pod_summary([p])
    msg = next(c.message for c in p.status.conditions if c.type == "PodScheduled")
    assert "untolerated taint" in msg, msg


def test_namespace_deletion_completes(k8s, core, make_node):
    make_node()
    ns = f"cp-del-{uid()}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    wait_for(lambda: _sa_exists(core, ns), 60, f"ServiceAccount default in {ns}")
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm"), data={"k": "v"}))
    core.create_namespaced_pod(
        ns,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="p"),
            spec=client.V1PodSpec(
                tolerations=[client.V1Toleration(operator="Exists")],
                containers=[client.V1Container(name="c", image="example.invalid/c:1")],
            ),
        ),
    )

    def pod_running():
        p = core.read_namespaced_pod("p", ns)
        return p.status.phase == "Running", pod_summary([p])

    wait_for(pod_running, 90, f"pod p Running in {ns}")
    core.delete_namespace(ns)

    def gone():
        try:
            n = core.read_namespace(ns)
        except ApiException as e:
            if e.status == 404:
                return True, None
            raise
        return False, f"phase={n.status.phase} conditions={n.status.conditions}"

    wait_for(gone, 120, f"namespace {ns} to be deleted")


def test_apiserver_restart_keeps_data(k8s, core, namespace, controlplane):
    token = uuid.uuid4().hex
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="survivor"), data={"token": token})
    )

    controlplane.stop_apiserver()
    with pytest.raises(Exception):  # noqa: B017 - connection refused, whatever the wrapper
        client.VersionApi(k8s).get_code(_request_timeout=3)
    controlplane.start_apiserver()

    cm = core.read_namespaced_config_map("survivor", namespace)
    assert cm.data == {"token": token}
    # And it is writable again.
    core.patch_namespaced_config_map("survivor", namespace, {"data": {"after": "restart"}})
    assert core.read_namespaced_config_map("survivor", namespace).data["after"] == "restart"
