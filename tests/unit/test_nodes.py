"""GPU node diagnosis from realistic Node/Pod/DaemonSet dicts (as the API server returns them)."""

import pytest
import yaml

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import nodes as n

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
ML_TAINT = {"key": "dedicated", "value": "ml", "effect": "NoExecute"}
LABELLED = {
    n.PCI_LABEL: "true",
    n.KERNEL_LABELS[0]: "5.14.0-570.42.1.el9_6.x86_64",
    n.KERNEL_LABELS[1]: "5",
    n.KERNEL_LABELS[2]: "14",
    n.OSTREE_LABEL: "9.6.20250925-0",
}


def node(name="gpu-1", labels=None, taints=(GPU_TAINT,), gpus=None):
    base = {
        "kubernetes.io/hostname": name,
        "node-role.kubernetes.io/worker": "",
        n.GPU_ROLE_LABEL: "",
        "node.kubernetes.io/instance-type": "g6.4xlarge",
    }
    base.update(labels or {})
    allocatable = {"cpu": "15500m", "memory": "63Gi", "pods": "250"}
    if gpus is not None:
        allocatable[n.GPU_RESOURCE] = str(gpus)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": base, "uid": "u-" + name},
        "spec": {"taints": list(taints), "providerID": "aws:///us-east-2b/i-0abc"},
        "status": {"allocatable": allocatable, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def ready_node(name="gpu-1", taints=(GPU_TAINT,), gpus=1):
    return node(name, dict(LABELLED, **{n.GPU_PRESENT_LABEL: "true"}), taints, gpus)


def daemonset(name, namespace, tolerations):
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"tolerations": tolerations, "containers": [{"name": name, "image": "img"}]},
            },
        },
    }


# What NFD 4.20 renders: every NoSchedule taint tolerated, plus workerTolerations appended.
NFD_DEFAULT_TOLERATIONS = [{"operator": "Exists", "effect": "NoSchedule"}]
NFD_WORKER = daemonset("nfd-worker", "openshift-nfd", [*NFD_DEFAULT_TOLERATIONS, {"operator": "Exists"}])
NFD_WORKER_NARROW = daemonset(
    "nfd-worker", "openshift-nfd", [*NFD_DEFAULT_TOLERATIONS, {"key": "nvidia.com/gpu", "operator": "Exists"}]
)
GPU_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
DRIVER = daemonset("nvidia-driver-daemonset", "nvidia-gpu-operator", GPU_TOLERATIONS)
PLUGIN = daemonset("nvidia-device-plugin-daemonset", "nvidia-gpu-operator", GPU_TOLERATIONS)


def pod(name, node_name, phase="Running", waiting=None, labels=None):
    status = {"phase": phase, "containerStatuses": []}
    if waiting:
        status["containerStatuses"].append({"name": "main", "state": {"waiting": {"reason": waiting}}})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"nodeName": node_name, "containers": [{"name": "main"}]},
        "status": status,
    }


def worker(node_name, phase="Running"):
    return pod("nfd-worker-" + node_name, node_name, phase, labels={"app.kubernetes.io/component": "worker"})


def run(gpu_nodes, nfd_ds=NFD_WORKER, workers=None, gpu_ds=(DRIVER, PLUGIN), driver_pods=()):
    workers = [worker(x["metadata"]["name"]) for x in gpu_nodes] if workers is None else workers
    return n.diagnose(gpu_nodes, nfd_ds, workers, list(gpu_ds), list(driver_pods))


def codes(result, severity=None):
    return [f["code"] for f in result["findings"] if severity in (None, f["severity"])]


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        ({"operator": "Exists"}, ML_TAINT, True),  # empty key + Exists tolerates everything
        ({"operator": "Exists", "effect": "NoSchedule"}, ML_TAINT, False),  # effect must match when given
        ({"operator": "Exists", "effect": "NoExecute"}, ML_TAINT, True),
        ({"key": "dedicated", "operator": "Exists"}, ML_TAINT, True),  # empty effect matches every effect
        ({"key": "other", "operator": "Exists"}, ML_TAINT, False),
        ({"key": "dedicated", "operator": "Equal", "value": "ml"}, ML_TAINT, True),
        ({"key": "dedicated", "operator": "Equal", "value": "db"}, ML_TAINT, False),
        ({"key": "dedicated", "value": "ml", "effect": "NoExecute"}, ML_TAINT, True),  # empty operator is Equal
        ({"key": "dedicated", "value": "ml", "effect": "NoSchedule"}, ML_TAINT, False),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, GPU_TAINT, True),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "effect": "NoSchedule"}, GPU_TAINT, False),  # value "" != true
        ({"key": "k", "operator": "Equal"}, {"key": "k", "effect": "PreferNoSchedule"}, True),  # both values empty
        ({"key": "dedicated", "operator": "Gt", "value": "1"}, ML_TAINT, False),  # unknown operator
    ],
)
def test_toleration_matching_follows_kubernetes(toleration, taint, expected):
    assert n.tolerates(toleration, taint) is expected


def test_only_scheduling_taints_block_a_daemonset():
    prefer = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}
    not_ready = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
    assert n.untolerated_taints([prefer, not_ready, GPU_TAINT, ML_TAINT], GPU_TOLERATIONS) == [ML_TAINT]


def test_healthy_gpu_nodes_pass():
    result = run([ready_node("gpu-1"), ready_node("gpu-2", gpus=4)])
    assert result["healthy"] is True
    assert codes(result) == ["gpu-node-ready", "gpu-node-ready"]
    assert result["summary"].startswith("2 GPU node(s), 2 ready, 5 allocatable nvidia.com/gpu; 0 error(s)")
    assert result["nodes"][0]["nfd_worker_pod"] == "nfd-worker-gpu-1"
    assert result["nodes"][1]["allocatable_gpus"] == 4


def test_no_gpu_nodes_is_information_not_failure():
    result = run([])
    assert result["healthy"] is True
    assert codes(result, "info") == ["no-gpu-nodes"]
    assert "MachineSets" in result["findings"][0]["message"]
    assert n.checks(result)[0]["status"] == "skipped"


def test_untolerated_noexecute_taint_is_diagnosed_as_dtk_fallback_not_entitlement():
    gpu = node("gpu-1", {n.PCI_LABEL: "true"}, taints=(GPU_TAINT, ML_TAINT))
    result = run([gpu], nfd_ds=NFD_WORKER_NARROW, workers=[])
    assert result["healthy"] is False
    (finding,) = [f for f in result["findings"] if f["code"] == "nfd-blocked-dtk-fallback"]
    assert finding["severity"] == "error"
    assert finding["node"] == "gpu-1"
    assert "taint dedicated=ml:NoExecute not tolerated" in finding["message"]
    assert n.DTK_ERROR in finding["message"]
    assert "not an entitlement problem" in finding["message"]
    assert "dedicated=ml:NoExecute" in finding["remedy"]
    assert "workerTolerations" in finding["remedy"] and "nfd_worker_tolerations" in finding["remedy"]
    assert result["nodes"][0]["nfd_worker_untolerated"] == ["dedicated=ml:NoExecute"]
    assert "nfd-blocked-dtk-fallback on gpu-1" in result["summary"]
    kernel = next(c for c in n.checks(result) if c["check"].startswith("Kernel-version"))
    assert kernel["status"] == "failed"
    assert "elfutils-libelf-devel" in kernel["evidence"] and "workerTolerations" in kernel["remedy"]


def test_blocked_worker_with_leftover_labels_is_a_warning():
    gpu = ready_node("gpu-1", taints=(GPU_TAINT, ML_TAINT))
    tolerant_driver = daemonset("nvidia-driver-daemonset", "nvidia-gpu-operator", [{"operator": "Exists"}])
    result = run([gpu], nfd_ds=NFD_WORKER_NARROW, workers=[], gpu_ds=[tolerant_driver])
    assert codes(result) == ["nfd-blocked-stale-labels"]
    assert result["healthy"] is True


def test_missing_nfd_worker_daemonset():
    result = run([node("gpu-1")], nfd_ds=None, workers=[])
    assert codes(result, "error") == ["nfd-worker-missing"]
    assert "NodeFeatureDiscovery" in result["findings"][0]["remedy"]


def test_tolerated_but_not_running_worker():
    result = run([node("gpu-1")], workers=[worker("gpu-1", phase="Pending")])
    assert codes(result, "error") == ["nfd-worker-not-running"]


def test_worker_running_but_no_kernel_labels():
    result = run([node("gpu-1", {n.PCI_LABEL: "true"})])
    assert codes(result, "error") == ["kernel-labels-missing"]


def test_gpu_node_without_pci_label_while_worker_runs_points_at_the_pci_whitelist():
    labels = {k: v for k, v in LABELLED.items() if k != n.PCI_LABEL}
    result = run([node("gpu-1", labels)], driver_pods=[pod("nvidia-driver-daemonset-x", "gpu-1")])
    assert "pci-label-missing" in codes(result, "error")
    finding = next(f for f in result["findings"] if f["code"] == "pci-label-missing")
    assert "deviceClassWhitelist" in finding["remedy"]


def test_kernel_labels_but_driver_not_ready_reports_the_driver_pod_state():
    driver = pod("nvidia-driver-daemonset-abc", "gpu-1", phase="Running", waiting="CrashLoopBackOff")
    result = run([node("gpu-1", LABELLED)], driver_pods=[driver, pod("nvidia-driver-daemonset-zzz", "other")])
    assert codes(result, "error") == ["gpu-operator-not-ready"]
    message = result["findings"][0]["message"]
    assert "nvidia-driver-daemonset-abc Running, main: CrashLoopBackOff" in message
    assert "zzz" not in message


def test_driver_daemonset_not_tolerating_a_custom_taint_blames_the_clusterpolicy_tolerations():
    result = run([node("gpu-1", LABELLED, taints=(GPU_TAINT, ML_TAINT))], nfd_ds=NFD_WORKER)
    assert codes(result, "error") == ["gpu-operator-taint-not-tolerated"]
    finding = result["findings"][0]
    assert "nvidia-driver-daemonset does not tolerate dedicated=ml:NoExecute" in finding["message"]
    assert "spec.daemonsets.tolerations" in finding["remedy"]
    assert result["nodes"][0]["gpu_operator_untolerated"] == {
        "nvidia-device-plugin-daemonset": ["dedicated=ml:NoExecute"],
        "nvidia-driver-daemonset": ["dedicated=ml:NoExecute"],
    }


@pytest.mark.parametrize("gpus", [0, None])
def test_gpu_present_but_nothing_allocatable(gpus):
    result = run([ready_node("gpu-1", gpus=gpus)])
    assert codes(result, "error") == ["gpu-allocatable-zero"]
    capacity = next(c for c in n.checks(result) if c["check"].startswith("Allocatable"))
    assert capacity["status"] == "failed"


def test_ostree_label_missing_is_a_warning():
    labels = dict(LABELLED, **{n.GPU_PRESENT_LABEL: "true"})
    del labels[n.OSTREE_LABEL]
    result = run([node("gpu-1", labels, gpus=1)])
    assert codes(result) == ["ostree-label-missing"]
    assert result["healthy"] is True


def test_checks_pass_with_evidence_for_a_ready_cluster():
    records = n.checks(run([ready_node("gpu-1", gpus=4)]))
    assert [r["status"] for r in records] == ["passed"] * 5
    assert {r["component"] for r in records} == {"gpu", "nfd", "gpu_operator"}
    assert "gpu-1=4" in records[-1]["evidence"]
    assert records[1]["evidence"] == "gpu-1 Ready, schedulable"
    assert "5.14.0-570" in records[2]["evidence"]


def test_a_cordoned_or_not_ready_gpu_node_fails_and_is_not_counted_ready():
    cordoned = ready_node("gpu-1", gpus=4)
    cordoned["spec"]["unschedulable"] = True
    lost = ready_node("gpu-2", gpus=4)
    lost["status"]["conditions"] = [
        {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting"}
    ]
    result = run([cordoned, lost, ready_node("gpu-3", gpus=4)])
    assert codes(result, "error") == ["gpu-node-cordoned", "gpu-node-not-ready"]
    assert result["summary"].startswith("3 GPU node(s), 1 ready, 12 allocatable nvidia.com/gpu; 2 error(s)")
    nodes = record(result, "GPU nodes Ready and schedulable")
    assert nodes["status"] == "failed"
    assert nodes["evidence"] == (
        "gpu-1 is cordoned (spec.unschedulable: true): no new pod is scheduled there, so its GPUs take no new work. | "
        "gpu-2 is not Ready (condition Ready Unknown (NodeStatusUnknown: Kubelet stopped posting)): its pods stop and "
        "no new pod starts there."
    )
    assert "oc adm uncordon gpu-1" in nodes["remedy"] and "oc describe node gpu-2" in nodes["remedy"]
    # the other checks judge what they state: the labels and GPUs are there
    assert record(result, ALLOCATABLE)["status"] == "passed"


def record(result, title):
    (found,) = [r for r in n.checks(result) if r["check"] == title]
    return found


KERNEL = "Kernel-version labels on GPU nodes (DTK)"
PCI = "NVIDIA PCI label on GPU nodes"
ALLOCATABLE = "Allocatable nvidia.com/gpu on GPU nodes"
PCI_MISSING = "gpu-2 has no feature.node.kubernetes.io/pci-10de.present=true (found no such label): "


def test_gpu_nodes_without_nfd_fail_the_pci_and_allocatable_checks_pointing_at_the_kernel_label_check():
    # NFD removed: the GPU MachineSets' role label still makes gpu-2 a GPU node; gpu-1 keeps its labels and GPU.
    result = run([ready_node("gpu-1"), node("gpu-2")], nfd_ds=None, workers=[])
    assert codes(result, "error") == ["nfd-worker-missing"]  # the diagnosis itself stays as it was
    assert record(result, KERNEL)["status"] == "failed"
    pci = record(result, PCI)
    assert pci["status"] == "failed"
    assert pci["evidence"] == PCI_MISSING + (
        "no NFD worker pod runs there (no nfd-worker DaemonSet), and only the NFD worker on a node puts that label "
        "there"
    )
    assert pci["remedy"].startswith(
        "Fix 'Kernel-version labels on GPU nodes (DTK)' first: Install NFD and create NodeFeatureDiscovery nfd-instance"
    )
    allocatable = record(result, ALLOCATABLE)
    assert allocatable["status"] == "failed"
    assert allocatable["evidence"].startswith(
        "gpu-2 has no allocatable nvidia.com/gpu (expected 1 or more, found none): no kernel-version labels, so the "
        "GPU operator does not get its driver running there"
    )
    assert "gpu-1" not in allocatable["evidence"]
    assert allocatable["remedy"].startswith(
        "Fix 'Kernel-version labels on GPU nodes (DTK)' first: Install NFD and create NodeFeatureDiscovery nfd-instance"
    )


@pytest.mark.parametrize(
    ("nfd_ds", "workers", "taints", "cause", "fix"),
    [
        (None, [], (GPU_TAINT,), "(no nfd-worker DaemonSet)", "Install NFD"),
        (
            NFD_WORKER_NARROW,
            [],
            (GPU_TAINT, ML_TAINT),
            "(taint dedicated=ml:NoExecute not tolerated)",
            "Add a toleration",
        ),
        (
            NFD_WORKER,
            [worker("gpu-2", phase="Pending")],
            (GPU_TAINT,),
            "(nfd-worker tolerates its taints, but its pod is not Running)",
            "Look at the worker pods",
        ),
    ],
)
def test_a_gpu_node_without_nfd_worker_fails_the_pci_label_check_with_the_workers_cause(
    nfd_ds, workers, taints, cause, fix
):
    result = run([node("gpu-2", taints=taints)], nfd_ds=nfd_ds, workers=workers)
    assert "pci-label-missing" not in codes(result)
    pci = record(result, PCI)
    assert pci["status"] == "failed"
    assert pci["evidence"].startswith(PCI_MISSING + "no NFD worker pod runs there " + cause + ", and only the NFD")
    assert pci["remedy"].startswith("Fix 'Kernel-version labels on GPU nodes (DTK)' first: " + fix)
    assert pci["remedy"].endswith(
        "The NFD worker then labels the node feature.node.kubernetes.io/pci-10de.present=true."
    )
    assert record(result, ALLOCATABLE)["status"] == "failed"


def test_leftover_kernel_labels_on_a_node_the_worker_cannot_reach_fail_the_pci_check_with_the_toleration():
    labels = {k: v for k, v in LABELLED.items() if k != n.PCI_LABEL}
    result = run([node("gpu-2", labels, taints=(GPU_TAINT, ML_TAINT))], nfd_ds=NFD_WORKER_NARROW, workers=[])
    assert record(result, KERNEL)["status"] == "passed"  # stale labels are a warning only
    pci = record(result, PCI)
    assert pci["status"] == "failed"
    assert "(taint dedicated=ml:NoExecute not tolerated)" in pci["evidence"]
    # the kernel-version check passed, so the remedy is the toleration itself, not "fix that check first"
    assert pci["remedy"].startswith("The NFD worker must run on gpu-2 to label it: Add a toleration for dedicated=ml")


def test_leftover_kernel_labels_without_nfd_fail_the_pci_check_with_the_nfd_install():
    labels = {k: v for k, v in LABELLED.items() if k != n.PCI_LABEL}
    result = run([node("gpu-2", labels)], nfd_ds=None, workers=[])
    pci = record(result, PCI)
    assert pci["status"] == "failed"
    assert pci["evidence"].startswith(PCI_MISSING + "no NFD worker pod runs there, and")
    assert "install NFD with NodeFeatureDiscovery nfd-instance (the nfd role)" in pci["remedy"]
    assert "no nfd-worker pod runs on gpu-2" in pci["remedy"]


def test_a_worker_that_labels_nothing_fails_the_allocatable_check_pointing_at_both_nfd_checks():
    result = run([node("gpu-2")])
    assert codes(result, "error") == ["kernel-labels-missing", "pci-label-missing"]
    allocatable = record(result, ALLOCATABLE)
    assert allocatable["status"] == "failed"
    assert "so the GPU operator does not take it for a GPU node" in allocatable["evidence"]
    remedy = allocatable["remedy"]
    assert remedy.startswith(
        "Fix 'Kernel-version labels on GPU nodes (DTK)' and 'NVIDIA PCI label on GPU nodes' first: Check the worker"
    )
    assert "deviceClassWhitelist" in remedy


@pytest.mark.parametrize(
    "result",
    [
        run([ready_node("gpu-1"), node("gpu-2")], nfd_ds=None, workers=[]),
        run([node("gpu-1", taints=(GPU_TAINT, ML_TAINT)), ready_node("gpu-2")], nfd_ds=NFD_WORKER_NARROW, workers=[]),
        run([node("gpu-1")], workers=[worker("gpu-1", phase="Pending")]),
        run([node("gpu-1", {k: v for k, v in LABELLED.items() if k != n.PCI_LABEL})], nfd_ds=None, workers=[]),
        run([node("gpu-1", LABELLED)]),
        run([ready_node("gpu-1", gpus=0), ready_node("gpu-2")]),
        run([ready_node("gpu-1"), ready_node("gpu-2", gpus=4)]),
    ],
)
def test_a_check_passes_only_when_what_it_states_holds_on_every_gpu_node(result):
    statements = {
        KERNEL: lambda facts: facts["kernel_labels"],
        PCI: lambda facts: facts["labels"].get(n.PCI_LABEL) == "true",
        ALLOCATABLE: lambda facts: (facts["allocatable_gpus"] or 0) > 0,
    }
    for title, holds in statements.items():
        checked = record(result, title)
        failing = [facts["name"] for facts in result["nodes"] if not holds(facts)]
        for name in failing:
            assert checked["status"] == "failed" and name in checked["evidence"] and checked["remedy"], checked


class FakeK8s:
    def __init__(self, objects):
        self.objects = objects
        self.calls = []

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append((kind, namespace, label_selector))
        return self.objects.get((kind, namespace, label_selector), [])

    def get(self, api_version, kind, name, namespace=None):
        self.calls.append((kind, namespace, name))
        return self.objects.get((kind, namespace, name))


def test_collect_merges_both_default_selectors_and_reads_the_right_namespaces():
    both = ready_node("gpu-1")
    role_only = node("gpu-2")
    fake = FakeK8s(
        {
            ("Node", None, n.PCI_LABEL + "=true"): [both],
            ("Node", None, n.GPU_ROLE_LABEL): [role_only, both],
            ("DaemonSet", "nfd", "nfd-worker"): NFD_WORKER,
            ("Pod", "nfd", n.NFD_WORKER_SELECTOR): [worker("gpu-1"), worker("gpu-2")],
            ("DaemonSet", "gpu", None): [DRIVER],
        }
    )
    result = n.collect(fake, nfd_namespace="nfd", gpu_operator_namespace="gpu")
    assert [x["name"] for x in result["nodes"]] == ["gpu-1", "gpu-2"]
    assert ("Pod", "gpu", n.DRIVER_POD_SELECTOR) in fake.calls


def test_collect_with_a_node_selector_lists_once():
    fake = FakeK8s({})
    n.collect(fake, node_selector="node.kubernetes.io/instance-type=g6.12xlarge")
    assert [c for c in fake.calls if c[0] == "Node"] == [("Node", None, "node.kubernetes.io/instance-type=g6.12xlarge")]


def test_gpu_operator_taint_remedy_names_the_variable_with_a_toleration_that_works():
    taints = (GPU_TAINT, ML_TAINT, {"key": "example.com/reserved", "effect": "NoSchedule"})
    result = run([node("gpu-1", LABELLED, taints=taints)], nfd_ds=NFD_WORKER)
    (finding,) = [f for f in result["findings"] if f["code"] == "gpu-operator-taint-not-tolerated"]
    remedy = finding["remedy"]
    assert remedy.startswith("Set gpu_operator_extra_tolerations (a variable of the gpu_operator role)")
    assert "{{" not in remedy and "}}" not in remedy
    example = remedy.split("gpu_operator_extra_tolerations: ", 1)[1].split("], ", 1)[0] + "]"
    tolerations = yaml.safe_load(example)
    assert tolerations == [
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoExecute"},
        {"key": "example.com/reserved", "operator": "Exists", "effect": "NoSchedule"},
    ]
    # With the remedy applied (the role puts its nvidia.com/gpu toleration first), nothing is left untolerated.
    applied = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, *tolerations]
    assert n.untolerated_taints(list(taints), applied) == []


def test_no_remedy_or_message_carries_unformatted_braces():
    scenarios = [
        run([node("gpu-1", taints=(GPU_TAINT, ML_TAINT))], nfd_ds=NFD_WORKER_NARROW),
        run([node("gpu-1", LABELLED, taints=(GPU_TAINT, ML_TAINT))], nfd_ds=NFD_WORKER),
        run([node("gpu-1", {n.KERNEL_LABELS[0]: "5", n.KERNEL_LABELS[1]: "5", n.KERNEL_LABELS[2]: "14"})]),
        run([ready_node("gpu-1", gpus=0)]),
        run([]),
    ]
    for result in scenarios:
        for finding in result["findings"]:
            for field in ("message", "remedy", "evidence"):
                assert "{{" not in finding[field] and "}}" not in finding[field], finding


def test_pci_label_remedy_names_the_nfd_variable():
    result = run([node("gpu-1", dict(LABELLED, **{n.PCI_LABEL: "false"}))])
    (finding,) = [f for f in result["findings"] if f["code"] == "pci-label-missing"]
    assert "nfd_worker_config" in finding["remedy"]
