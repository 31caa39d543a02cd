"""ready_wait and readiness.py against a fake cluster whose objects change over simulated time (no sleeping)."""

import json

import pytest

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import checks, readiness, waiter
from ansible_collections.rhoai.gpu_infra.plugins.modules import ready_wait
from tests.unit.test_csv_wait import ApiError, Clock, FakeCluster
from tests.unit.module_main import run_main
from tests.unit.role_vars import role_vars


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cluster(clock):
    return FakeCluster(clock)


def obj(kind, name, namespace=None, *, status=None, spec=None, labels=None, generation=1, api_version="v1"):
    meta = dict(name=name, generation=generation)
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return dict(apiVersion=api_version, kind=kind, metadata=meta, spec=spec or {}, status=status or {})


def cond(type_, status, reason="", message=""):
    return dict(type=type_, status=status, reason=reason, message=message)


def item(**kwargs):
    base = dict(description=kwargs.get("kind", "thing"), api_version="v1", namespace=None)
    base.update(kwargs)
    return base


KNATIVE = item(
    description="KnativeServing knative-serving",
    api_version="operator.knative.dev/v1beta1",
    kind="KnativeServing",
    namespace="knative-serving",
    name="knative-serving",
    condition=dict(type="Ready"),
    remedy="Check the pods in knative-serving (the rhoai.gpu_infra.diagnose playbook collects them), then re-run.",
)


def run_wait(cluster, clock, items, timeout=60, *, poll_interval=5, once=False):
    return readiness.wait(cluster, items, timeout, poll_interval, clock=clock, sleep=clock.sleep, once=once)


# --- judging objects --------------------------------------------------------------------------------------------------


def judged(spec, objects):
    return readiness.evaluate(readiness.normalize(spec), objects)


def test_condition_ready_and_what_was_found():
    ks = obj("KnativeServing", "knative-serving", "knative-serving", status=dict(conditions=[cond("Ready", "True")]))
    result = judged(KNATIVE, [ks])
    assert result["state"] == "ready" and result["exists"]
    assert result["found"] == "KnativeServing knative-serving/knative-serving: Ready=True"


def test_condition_not_ready_names_reason_and_message():
    ks = obj(
        "KnativeServing",
        "knative-serving",
        "knative-serving",
        status=dict(conditions=[cond("Ready", "False", "NotReconciled", "Deployment activator\n not ready")]),
    )
    result = judged(KNATIVE, [ks])
    assert result["state"] == "waiting"
    assert "Ready=False (NotReconciled: Deployment activator not ready)" in result["found"]


def test_missing_object_is_not_ready_and_does_not_exist():
    result = judged(KNATIVE, [])
    assert result == dict(state="waiting", found="no KnativeServing knative-serving/knative-serving", exists=False)


def test_a_warn_reason_ends_with_a_warning():
    spec = dict(KNATIVE, condition=dict(type="Ready", warn_reasons=["GatewayAPIProviderNotFound"]))
    ks = obj(
        "Kuadrant",
        "kuadrant",
        "kuadrant-system",
        status=dict(conditions=[cond("Ready", "False", "GatewayAPIProviderNotFound")]),
    )
    assert judged(spec, [ks])["state"] == "warning"
    ks["status"]["conditions"][0]["reason"] = "Other"
    assert judged(spec, [ks])["state"] == "waiting"


def test_a_wait_reason_keeps_waiting_though_the_status_is_the_ready_one():
    # the GPU operator's ClusterPolicy is Ready=True with reason NoGPUNodes while it has found no GPU node
    spec = item(
        kind="ClusterPolicy",
        name="gpu-cluster-policy",
        condition=dict(type="Ready", wait_reasons=["NoGPUNodes", "NFDLabelsMissing"]),
    )
    no_gpu = cond("Ready", "True", "NoGPUNodes", "No GPU node found, watching for new nodes to join the cluster.")
    policy = obj("ClusterPolicy", "gpu-cluster-policy", status=dict(state="ready", conditions=[no_gpu]))
    found = judged(spec, [policy])
    assert found["state"] == "waiting", found
    assert "Ready=True (NoGPUNodes: No GPU node found, watching for new nodes to join the cluster.)" in found["found"]
    policy["status"]["conditions"] = [cond("Ready", "True", "Reconciled")]
    assert judged(spec, [policy])["state"] == "ready"


def test_the_gpu_operator_waits_past_a_cluster_policy_that_found_no_gpu_node():
    # the wait and verify's ClusterPolicy check (checks.NO_GPU_NODE_REASONS) hold the same reasons as no proof
    (wait,) = role_vars("gpu_operator")["__gpu_operator_ready_items"]
    assert wait["condition"] == {"type": "Ready", "wait_reasons": ["NoGPUNodes", "NFDLabelsMissing"]}
    assert wait["condition"]["wait_reasons"] == list(checks.NO_GPU_NODE_REASONS)


def test_field_equals_and_a_key_with_dots():
    policy = item(kind="ClusterPolicy", name="gpu-cluster-policy", field=dict(path="status.state", equals="ready"))
    found = judged(policy, [obj("ClusterPolicy", "gpu-cluster-policy", status=dict(state="notReady"))])
    assert found["state"] == "waiting" and "status.state = 'notReady'" in found["found"]
    assert judged(policy, [obj("ClusterPolicy", "gpu-cluster-policy", status=dict(state="ready"))])["state"] == "ready"
    gpus = item(
        kind="Node",
        label_selectors=["node-role.kubernetes.io/gpu"],
        min_count=2,
        field=dict(path=["status", "allocatable", "nvidia.com/gpu"], not_in=[None, "0"]),
    )
    with_gpu = obj("Node", "a", status=dict(allocatable={"nvidia.com/gpu": "1"}))
    without = obj("Node", "b", status=dict(allocatable={"nvidia.com/gpu": "0"}))
    assert judged(gpus, [with_gpu])["state"] == "waiting"  # fewer than min_count
    assert "(want at least 2)" in judged(gpus, [with_gpu])["found"]
    assert judged(gpus, [with_gpu, without])["state"] == "waiting"
    assert judged(gpus, [with_gpu, dict(with_gpu, metadata=dict(name="b"))])["state"] == "ready"


def test_condition_of_an_older_generation_is_not_ready():
    # metav1.Condition.observedGeneration below metadata.generation: the condition is out of date for the new spec.
    stale = dict(cond("Ready", "True"), observedGeneration=1)
    ks = obj("KnativeServing", "knative-serving", "knative-serving", status=dict(conditions=[stale]), generation=2)
    assert judged(KNATIVE, [ks])["state"] == "waiting"
    stale["observedGeneration"] = 2
    assert judged(KNATIVE, [ks])["state"] == "ready"


def test_daemonset_and_deployment_rollout():
    ds_item = item(kind="DaemonSet", namespace="openshift-nfd", name="nfd-worker", rollout=True)
    status = dict(desiredNumberScheduled=3, numberReady=2, updatedNumberScheduled=3, observedGeneration=1)
    waiting = judged(ds_item, [obj("DaemonSet", "nfd-worker", "openshift-nfd", status=status)])
    assert waiting["state"] == "waiting" and "2 of 3 scheduled pods ready" in waiting["found"]
    status["numberReady"] = 3
    assert judged(ds_item, [obj("DaemonSet", "nfd-worker", "openshift-nfd", status=status)])["state"] == "ready"
    # the status of an older generation proves nothing
    assert (
        judged(ds_item, [obj("DaemonSet", "nfd-worker", "openshift-nfd", status=status, generation=2)])["state"]
        == "waiting"
    )
    dep_item = item(kind="Deployment", namespace="openshift-nfd", name="nfd-master", rollout=True)
    status = dict(replicas=1, availableReplicas=1, updatedReplicas=1, observedGeneration=1)
    assert (
        judged(dep_item, [obj("Deployment", "nfd-master", "openshift-nfd", spec=dict(replicas=1), status=status)])[
            "state"
        ]
        == "ready"
    )
    status["availableReplicas"] = 0
    found = judged(dep_item, [obj("Deployment", "nfd-master", "openshift-nfd", spec=dict(replicas=1), status=status)])
    assert found["state"] == "waiting" and "0 of 1 replicas available" in found["found"]


def test_daemonset_on_no_node_is_rolled_out():
    # A DaemonSet whose node selector matches no node: the API server omits the zero updatedNumberScheduled
    # (omitempty), as kubectl rollout status and kubernetes.core judge it, this is rolled out.
    ds_item = item(kind="DaemonSet", namespace="openshift-nfd", name="nfd-worker", rollout=True)
    status = dict(currentNumberScheduled=0, desiredNumberScheduled=0, numberMisscheduled=0, numberReady=0)
    status["observedGeneration"] = 1
    assert judged(ds_item, [obj("DaemonSet", "nfd-worker", "openshift-nfd", status=status)])["state"] == "ready"


def test_deployment_with_old_replicas_is_not_rolled_out():
    # Mid-rollout, between the new ReplicaSet's pod becoming available and the next scale step: 4 replicas, all
    # available, but 3 of the old template (kubectl rollout status: "3 out of 4 new replicas have been updated").
    dep_item = item(kind="Deployment", namespace="openshift-nfd", name="nfd-master", rollout=True)
    status = dict(replicas=4, availableReplicas=4, updatedReplicas=1, readyReplicas=4, observedGeneration=2)
    dep = obj("Deployment", "nfd-master", "openshift-nfd", spec=dict(replicas=4), status=status, generation=2)
    assert judged(dep_item, [dep])["state"] == "waiting"
    status["updatedReplicas"] = 4
    assert judged(dep_item, [dep])["state"] == "ready"


def test_machineset_replicas():
    ms_item = item(kind="MachineSet", namespace="openshift-machine-api", name="gpu-a", replicas=True)
    ms = obj("MachineSet", "gpu-a", "openshift-machine-api", spec=dict(replicas=2), status=dict(readyReplicas=1))
    assert judged(ms_item, [ms])["found"].endswith("1 of 2 replicas ready")
    ms["status"]["readyReplicas"] = 2
    assert judged(ms_item, [ms])["state"] == "ready"


def test_one_running_pod_per_prefix():
    pods = item(
        kind="Pod",
        namespace="openshift-user-workload-monitoring",
        name_prefixes=["prometheus-user-workload-", "thanos-ruler-user-workload-"],
        field=dict(path="status.phase", equals="Running"),
    )
    prom = obj("Pod", "prometheus-user-workload-0", "openshift-user-workload-monitoring", status=dict(phase="Running"))
    thanos = obj(
        "Pod", "thanos-ruler-user-workload-0", "openshift-user-workload-monitoring", status=dict(phase="Pending")
    )
    result = judged(pods, [prom, thanos])
    assert result["state"] == "waiting" and "status.phase = 'Pending'" in result["found"]
    assert "no Pods named thanos" in judged(pods, [prom])["found"]
    thanos["status"]["phase"] = "Running"
    assert judged(pods, [prom, thanos])["state"] == "ready"


def test_absent_set():
    machines = item(kind="Machine", namespace="openshift-machine-api", label_selectors=["a in (x)"], absent=True)
    assert judged(machines, [obj("Machine", "x-1", "openshift-machine-api")])["found"] == "1 left: x-1"
    assert judged(machines, [])["state"] == "ready"


def test_a_secret_is_judged_and_reported_by_its_name_only():
    secret = obj("Secret", "authorino-server-cert", "kuadrant-system")
    secret["data"] = {"tls.key": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"}
    result = judged(item(kind="Secret", namespace="kuadrant-system", name="authorino-server-cert"), [secret])
    assert result["state"] == "ready" and "LS0t" not in json.dumps(result)
    with pytest.raises(readiness.InvalidItem):
        readiness.normalize(item(kind="Secret", name="s", field=dict(path="data.tls\\.key", equals="x")))


def test_an_item_needs_one_target_and_at_most_one_check():
    with pytest.raises(readiness.InvalidItem):
        readiness.normalize(item(kind="Pod", namespace="x"))
    with pytest.raises(readiness.InvalidItem):
        readiness.normalize(item(kind="Pod", name="x", exists=True, absent=True))
    assert readiness.normalize(item(kind="Pod", name="x"))["check"] == "exists"


# --- reading and waiting ----------------------------------------------------------------------------------------------


def test_objects_of_one_kind_in_one_namespace_share_one_list_and_crds_are_read_one_by_one(cluster, clock):
    ops = "operator.authorino.kuadrant.io/v1beta1"
    items = [
        item(
            description="Limitador",
            kind="Limitador",
            namespace="kuadrant-system",
            name="limitador",
            condition=dict(type="Ready"),
        ),
        item(
            description="Authorino",
            kind="Limitador",
            namespace="kuadrant-system",
            name="other",
            condition=dict(type="Ready"),
        ),
        item(description="CRD a", api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition", name="a.x"),
        item(description="CRD b", api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition", name="b.x"),
        item(
            description="Authorino CR", api_version=ops, kind="Authorino", namespace="kuadrant-system", name="authorino"
        ),
    ]
    run_wait(cluster, clock, items, timeout=0, once=True)
    assert sorted(cluster.calls) == sorted(
        [
            ("list", "Limitador", "kuadrant-system"),
            ("get", "CustomResourceDefinition", None),
            ("get", "CustomResourceDefinition", None),
            ("get", "Authorino", "kuadrant-system"),
        ]
    )


def test_waits_until_ready_reading_only_what_is_not_ready_yet(cluster, clock):
    ks = obj("KnativeServing", "knative-serving", "knative-serving", status=dict(conditions=[cond("Ready", "False")]))
    cluster.put(ks)
    cluster.put(obj("Namespace", "x"))
    cluster.at(
        20.0,
        lambda c: c.find("KnativeServing", "knative-serving", "knative-serving")["status"].update(
            conditions=[cond("Ready", "True")]
        ),
    )
    outcome = run_wait(cluster, clock, [KNATIVE, item(description="ns", kind="Namespace", name="x")], timeout=60)
    assert not outcome.pending and 20 <= clock.now < 26
    assert cluster.count("get", "Namespace") == 1  # ready at once, never read again
    report = outcome.watches[0].report()
    assert report["ready"] and report["seconds"] >= 20
    # at most ~2 requests per second on average
    assert outcome.requests <= 6 + 2 * clock.now


def test_timeout_keeps_the_last_object_seen(cluster, clock):
    cluster.put(
        obj(
            "KnativeServing",
            "knative-serving",
            "knative-serving",
            status=dict(conditions=[cond("Ready", "False", "Waiting")]),
        )
    )
    outcome = run_wait(cluster, clock, [KNATIVE], timeout=30)
    assert outcome.pending and clock.now == pytest.approx(30)
    text = outcome.pending[0].explanation()
    assert text.startswith(
        "KnativeServing knative-serving: expected KnativeServing knative-serving/knative-serving Ready=True"
    )
    assert "found KnativeServing knative-serving/knative-serving: Ready=False (Waiting)" in text
    assert text.endswith("(the rhoai.gpu_infra.diagnose playbook collects them), then re-run.")


def test_failed_reads_are_retried_until_the_deadline(cluster, clock):
    cluster.put(
        obj("KnativeServing", "knative-serving", "knative-serving", status=dict(conditions=[cond("Ready", "True")]))
    )
    cluster.fail_next_reads = 4
    outcome = run_wait(cluster, clock, [KNATIVE], timeout=60)
    assert not outcome.pending and outcome.failed_reads == 4
    assert "503 Service Unavailable" in outcome.last_error


def test_a_read_failing_at_the_deadline_says_so(cluster, clock):
    cluster.fail_next_reads = 10_000
    outcome = run_wait(cluster, clock, [KNATIVE], timeout=20)
    assert "the last attempt to read it failed: 503 Service Unavailable" in outcome.pending[0].explanation()


@pytest.mark.parametrize(("status", "needle"), [(401, "oc login"), (403, "oc auth can-i")])
def test_401_and_403_end_the_wait_at_once(cluster, clock, status, needle):
    cluster.errors[("get", "KnativeServing", "knative-serving")] = ApiError(status, "Nope", "denied by policy")
    with pytest.raises(readiness.ApiFailure) as failure:
        run_wait(cluster, clock, [KNATIVE], timeout=60)
    assert clock.now < 1 and needle in str(failure.value) and "denied by policy" in str(failure.value)
    assert "get KnativeServing (operator.knative.dev/v1beta1) in namespace knative-serving" in str(failure.value)


def test_no_request_outlasts_the_deadline(cluster, clock):
    run_wait(cluster, clock, [KNATIVE], timeout=45)
    for at, timeout in cluster.timeouts:
        assert timeout <= waiter.REQUEST_TIMEOUT and at + timeout <= 45 + 1.0


# --- the module as Ansible runs it ------------------------------------------------------------------------------------


def run_module(monkeypatch, fake, args):
    monkeypatch.setattr(ready_wait, "get_k8s", lambda module, **kwargs: fake)
    real = ready_wait.wait
    monkeypatch.setattr(ready_wait, "wait", lambda *a, **kw: real(*a, clock=fake.clock, sleep=fake.clock.sleep, **kw))
    return run_main(monkeypatch, ready_wait.main, args, warnings=True)


def module_item(spec):
    return {k: v for k, v in spec.items() if v is not None}


def test_module_success(monkeypatch, cluster):
    cluster.put(
        obj("KnativeServing", "knative-serving", "knative-serving", status=dict(conditions=[cond("Ready", "True")]))
    )
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(KNATIVE)]))
    assert not result["failed"] and result["changed"] is False and result["warnings"] == []
    assert result["items"][0]["ready"] and result["requests"] == 1
    json.dumps(result)


def test_module_check_mode_reads_once_never_waits_never_fails(monkeypatch, cluster):
    args = dict(wait=[module_item(KNATIVE)], timeout=600, _ansible_check_mode=True)
    result = run_module(monkeypatch, cluster, args)
    assert not result["failed"] and cluster.clock.sleeps == [] and len(cluster.calls) == 1
    assert result["items"][0]["exists"] is False
    assert "A real run would wait up to 600 s for: KnativeServing knative-serving" in result["msg"]


def test_module_once_reads_once_in_a_real_run_and_says_which_items_are_ready(monkeypatch, cluster):
    """What a step that a previous run completed uses to skip itself: one read, no wait, no failure."""
    cluster.put(
        obj("KnativeServing", "knative-serving", "knative-serving", status=dict(conditions=[cond("Ready", "True")]))
    )
    missing = dict(module_item(KNATIVE), description="another KnativeServing", name="other")
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(KNATIVE), missing], timeout=600, once=True))
    assert not result["failed"] and cluster.clock.sleeps == [] and len(cluster.calls) == 1  # one list for both
    assert [i["ready"] for i in result["items"]] == [True, False]
    assert result["msg"] == "Read once: 1 of 2 item(s) ready."


def test_module_once_fails_when_it_could_not_read(monkeypatch, cluster):
    cluster.fail_next_reads = 1
    failed = run_module(monkeypatch, cluster, dict(wait=[module_item(KNATIVE)], once=True))
    assert failed["failed"] and failed["msg"].startswith("Could not read the cluster: 503 Service Unavailable")
    assert failed["msg"].endswith("This wait changed nothing on the cluster.")


def test_module_timeout_message_names_expected_found_remedy_and_changes_nothing(monkeypatch, cluster):
    args = dict(wait=[module_item(KNATIVE)], timeout=30, poll_interval=5)
    result = run_module(monkeypatch, cluster, args)
    assert result["failed"] and result["msg"].startswith(
        "Timed out after 30 s: KnativeServing knative-serving: expected"
    )
    assert "found no KnativeServing knative-serving/knative-serving" in result["msg"]
    assert "then re-run." in result["msg"] and result["msg"].endswith("This wait changed nothing on the cluster.")
    assert result["items"][0]["ready"] is False and result["elapsed"] >= 30


def test_module_fails_at_once_on_403(monkeypatch, cluster):
    cluster.errors[("get", "KnativeServing", "knative-serving")] = ApiError(403, "Forbidden", "cannot get")
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(KNATIVE)], timeout=300))
    assert result["failed"] and "the credentials lack permission" in result["msg"] and cluster.clock.now < 1


def test_module_warns_after_failed_reads_and_for_a_warn_reason(monkeypatch, cluster):
    cluster.put(
        obj(
            "Kuadrant",
            "kuadrant",
            "kuadrant-system",
            status=dict(conditions=[cond("Ready", "False", "GatewayAPI", "no provider")]),
        )
    )
    cluster.fail_next_reads = 2
    spec = item(
        description="Kuadrant kuadrant-system/kuadrant",
        api_version="kuadrant.io/v1beta1",
        kind="Kuadrant",
        namespace="kuadrant-system",
        name="kuadrant",
        condition=dict(type="Ready", warn_reasons=["GatewayAPI"]),
        warning="Kuadrant needs a Gateway API provider.",
    )
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(spec)]))
    assert not result["failed"] and result["items"][0]["state"] == "warning"
    assert any(
        "Ready=False (GatewayAPI: no provider). Kuadrant needs a Gateway API provider." in w for w in result["warnings"]
    )
    assert any(w.startswith("2 read(s) failed during the wait and were retried") for w in result["warnings"])


def test_module_rejects_an_item_without_a_target(monkeypatch, cluster):
    spec = dict(description="pods", api_version="v1", kind="Pod", namespace="x")
    result = run_module(monkeypatch, cluster, dict(wait=[spec]))
    assert result["failed"] and "exactly one of name, label_selectors, name_prefixes" in result["msg"]


def test_module_takes_a_field_path_with_dotted_keys_and_null_in_not_in(monkeypatch, cluster):
    cluster.put(obj("Node", "gpu-1", labels={"node-role.kubernetes.io/gpu": ""}, status=dict(allocatable={})))
    cluster.at(12.0, lambda c: c.find("Node", "gpu-1", None)["status"].update(allocatable={"nvidia.com/gpu": "1"}))
    spec = dict(
        description="GPU nodes",
        api_version="v1",
        kind="Node",
        label_selectors=["node-role.kubernetes.io/gpu"],
        min_count=1,
        field=dict(path=["status", "allocatable", "nvidia.com/gpu"], not_in=[None, "0"]),
    )
    result = run_module(monkeypatch, cluster, dict(wait=[spec], timeout=60))
    assert not result["failed"], result
    assert result["items"][0]["found"] == "Node gpu-1: status.allocatable.nvidia.com/gpu = '1'"


def test_module_check_mode_fails_when_it_could_not_read(monkeypatch, cluster):
    cluster.fail_next_reads = 1
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(KNATIVE)], _ansible_check_mode=True))
    assert result["failed"] and "could not read the cluster (503 Service Unavailable" in result["msg"]
    assert cluster.clock.sleeps == []


CLUSTER_POLICY = item(
    description="gpu_operator: ClusterPolicy gpu-cluster-policy",
    api_version="nvidia.com/v1",
    kind="ClusterPolicy",
    name="gpu-cluster-policy",
    field=dict(path="status.state", equals="ready"),
    warning="It becomes ready when GPU nodes join.",
    when_exists=dict(api_version="v1", kind="Node", label_selectors=["node-role.kubernetes.io/gpu", "gpu=true"]),
)


def test_without_the_objects_of_when_exists_the_item_is_skipped_at_once_with_a_note(monkeypatch, cluster):
    cluster.put(obj("Node", "worker-0", labels={"node-role.kubernetes.io/worker": ""}))
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(CLUSTER_POLICY)], timeout=600))
    assert not result["failed"] and cluster.clock.sleeps == []
    assert result["items"][0]["state"] == "skipped" and result["items"][0]["exists"] is False
    # one LIST per selector, and the ClusterPolicy itself is never read
    assert cluster.calls == [("list", "Node", None), ("list", "Node", None)]
    # no GPU nodes yet is normal right after their MachineSets are made: said, but not a warning
    assert result["warnings"] == []
    assert result["items"][0]["note"] == (
        "gpu_operator: ClusterPolicy gpu-cluster-policy: not waiting for ClusterPolicy gpu-cluster-policy "
        "status.state 'ready'; found no Node labelled node-role.kubernetes.io/gpu or gpu=true. "
        "It becomes ready when GPU nodes join."
    )
    assert result["notes"] == [result["items"][0]["note"]]


def test_with_an_object_of_when_exists_the_item_is_waited_for_and_the_gate_read_once(monkeypatch, cluster):
    cluster.put(obj("Node", "gpu-0", labels={"gpu": "true"}))
    cluster.put(obj("ClusterPolicy", "gpu-cluster-policy", api_version="nvidia.com/v1", status=dict(state="notReady")))
    cluster.at(20.0, lambda c: c.find("ClusterPolicy", "gpu-cluster-policy", None)["status"].update(state="ready"))
    result = run_module(monkeypatch, cluster, dict(wait=[module_item(CLUSTER_POLICY)], timeout=600))
    assert not result["failed"] and result["warnings"] == []
    assert result["items"][0]["ready"] and result["items"][0]["seconds"] >= 20 and result["notes"] == []
    assert cluster.count("list", "Node") == 2 and cluster.count("get", "ClusterPolicy") >= 2


def test_check_mode_skips_too_when_the_objects_of_when_exists_are_missing(monkeypatch, cluster):
    args = dict(wait=[module_item(CLUSTER_POLICY)], timeout=600, _ansible_check_mode=True)
    result = run_module(monkeypatch, cluster, args)
    assert not result["failed"] and "would wait" not in result["msg"]
    assert result["items"][0]["state"] == "skipped" and "found no Node labelled" in result["items"][0]["note"]


def test_when_exists_needs_what_to_list():
    with pytest.raises(readiness.InvalidItem, match="when_exists needs api_version, kind and label_selectors"):
        readiness.normalize(dict(CLUSTER_POLICY, when_exists=dict(api_version="v1", kind="Node", label_selectors=[])))
