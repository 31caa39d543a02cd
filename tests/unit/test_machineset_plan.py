"""machineset_plan: what the machinesets role would apply, built from one read of a fake cluster."""

import copy
import functools

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.modules import machineset_plan

from .module_main import run_main
from .test_machinesets import INFRA, worker

MS_API = "machine.openshift.io/v1beta1"
G4 = INFRA + "-gpu-g6-4xlarge-us-east-2a"
G12 = INFRA + "-gpu-g6-12xlarge-us-east-2a"
DESIGN_POOLS = [{"instance_type": "g6.4xlarge", "replicas": 1}, {"instance_type": "g6.12xlarge", "replicas": 1}]


def infrastructure(platform="AWS", infra=INFRA):
    return {
        "status": {"infrastructureName": infra, "platformStatus": {"type": platform, "aws": {"region": "us-east-2"}}}
    }


class Fake(object):
    def __init__(self, infra=None, machinesets=None, autoscalers=(), ca=None, error=None):
        self.infra = infra if infra is not None else infrastructure()
        self.machinesets = machinesets if machinesets is not None else [worker(zone="us-east-2b"), worker()]
        self.autoscalers = list(autoscalers)
        self.ca = ca
        self.error = error
        self.reads = []

    def get(self, api_version, kind, name, namespace=None):
        self.reads.append(kind)
        if self.error:
            raise self.error
        return copy.deepcopy({"Infrastructure": self.infra, "ClusterAutoscaler": self.ca}[kind])

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.reads.append(kind)
        return copy.deepcopy({"MachineSet": self.machinesets, "MachineAutoscaler": self.autoscalers}[kind])


def run(monkeypatch, fake, **args):
    main = functools.partial(machineset_plan.main, k8s_factory=lambda module: fake)
    return run_main(monkeypatch, main, dict(dict(pools=DESIGN_POOLS), **args))


def test_design_pools_are_cloned_from_the_first_worker_zone_and_labelled_as_ours(monkeypatch):
    fake = Fake()
    result = run(monkeypatch, fake)
    assert not result["failed"] and not result["changed"]
    assert (result["infra_id"], result["region"]) == (INFRA, "us-east-2")
    assert [ms["metadata"]["name"] for ms in result["machinesets"]] == [G4, G12]
    assert result["machinesets"][0]["metadata"]["labels"]["rhoai.gpu-infra/component"] == "machinesets"
    assert result["plan"][1]["pool"] == dict(
        instance_type="g6.12xlarge", replicas=1, zone="us-east-2a", min_replicas=0, max_replicas=1
    )
    assert result["autoscalers"] == [] and result["cluster_autoscaler"] is None
    assert result["aws_requests"] == [
        dict(instance_type="g6.4xlarge", zone="us-east-2a", count=1),
        dict(instance_type="g6.12xlarge", zone="us-east-2a", count=1),
    ]
    assert [i["kind"] for i in result["ready"]] == ["Machine", "MachineSet", "MachineSet", "Node"]
    assert result["ready"][0]["min_count"] == 2
    assert "ClusterAutoscaler" not in fake.reads


def test_a_pool_in_another_zone_clones_that_zones_worker(monkeypatch):
    result = run(monkeypatch, Fake(), pools=[{"instance_type": "g6.4xlarge", "zone": None}], zone="us-east-2b")
    ms = result["machinesets"][0]
    assert ms["metadata"]["name"] == INFRA + "-gpu-g6-4xlarge-us-east-2b"
    assert ms["spec"]["template"]["spec"]["providerSpec"]["value"]["subnet"]["filters"][0]["values"] == [
        INFRA + "-subnet-private-us-east-2b"
    ]


AUTOSCALED_POOLS = [
    {"instance_type": "g6.4xlarge", "replicas": 1, "max_replicas": 3},
    {"instance_type": "g6.12xlarge", "replicas": 0, "max_replicas": 2},
]
A100 = {"type": "nvidia-a100", "min": 0, "max": 8}
ANNOTATION = "rhoai.gpu-infra/gpu-limits"


def their_ca(gpus, annotation=None):
    meta = {"name": "default", "resourceVersion": "42", "labels": {"team": "platform"}}
    if annotation is not None:
        meta["annotations"] = {ANNOTATION: annotation}
    return {"metadata": meta, "spec": {"resourceLimits": {"maxNodesTotal": 24, "gpus": gpus}}}


def test_autoscaling_bounds_limits_and_a_merge_into_someone_elses_autoscaler(monkeypatch):
    result = run(monkeypatch, Fake(ca=their_ca([A100])), pools=AUTOSCALED_POOLS, autoscaling=True)
    assert [(a["spec"]["minReplicas"], a["spec"]["maxReplicas"]) for a in result["autoscalers"]] == [(0, 3), (0, 2)]
    assert result["autoscalers"][1]["spec"]["scaleTargetRef"] == {
        "apiVersion": MS_API,
        "kind": "MachineSet",
        "name": G12,
    }
    # 3 x 1 GPU + 2 x 4 GPUs; nothing else of the autoscaler is sent, the type is recorded as ours, and a change since
    # the read fails the patch.
    assert result["cluster_autoscaler"] == {
        "apiVersion": "autoscaling.openshift.io/v1",
        "kind": "ClusterAutoscaler",
        "metadata": {"name": "default", "resourceVersion": "42", "annotations": {ANNOTATION: "nvidia-l4"}},
        "spec": {"resourceLimits": {"gpus": [A100, {"type": "nvidia-l4", "min": 0, "max": 11}]}},
    }
    # No machine of a pool at zero replicas to wait for.
    assert result["ready"][0]["min_count"] == 1
    # A limit recorded as ours is ours to change.
    recorded = their_ca([{"type": "nvidia-l4", "min": 0, "max": 99}, A100], "nvidia-l4")
    again = run(monkeypatch, Fake(ca=recorded), pools=AUTOSCALED_POOLS, autoscaling=True)["cluster_autoscaler"]
    assert again["spec"]["resourceLimits"]["gpus"] == [A100, {"type": "nvidia-l4", "min": 0, "max": 11}]


def test_someone_elses_limit_of_our_type_is_kept_when_equal_and_refused_when_different(monkeypatch):
    equal = their_ca([{"type": "nvidia-l4", "min": 0, "max": 11}])
    kept = run(monkeypatch, Fake(ca=equal), pools=AUTOSCALED_POOLS, autoscaling=True)["cluster_autoscaler"]
    assert kept["spec"]["resourceLimits"]["gpus"] == [{"type": "nvidia-l4", "min": 0, "max": 11}]
    assert kept["metadata"]["annotations"] == {ANNOTATION: None}  # not ours: remove leaves it
    different = their_ca([{"type": "nvidia-l4", "min": 2, "max": 16}, A100])
    refused = run(monkeypatch, Fake(ca=different), pools=AUTOSCALED_POOLS, autoscaling=True)
    assert refused["failed"]
    assert "found nvidia-l4 min 2 max 16 (this collection would set min 0 max 11)" in refused["msg"]
    assert "gpu_infra_adopt=true" in refused["msg"] and "Nothing was changed" in refused["msg"]
    adopted = run(monkeypatch, Fake(ca=different), pools=AUTOSCALED_POOLS, autoscaling=True, adopt=True)
    assert adopted["cluster_autoscaler"]["spec"]["resourceLimits"]["gpus"] == [
        A100,
        {"type": "nvidia-l4", "min": 0, "max": 11},
    ]
    assert adopted["cluster_autoscaler"]["metadata"]["annotations"] == {ANNOTATION: "nvidia-l4"}


def test_an_absent_cluster_autoscaler_is_created_as_ours_when_there_are_pools(monkeypatch):
    assert run(monkeypatch, Fake(), autoscaling=True, pools=[])["cluster_autoscaler"] is None
    result = run(monkeypatch, Fake(), autoscaling=True)
    ca = result["cluster_autoscaler"]
    assert ca["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "rhoai.gpu_infra",
        "rhoai.gpu-infra/component": "machinesets",
    }
    assert ca["spec"]["resourceLimits"]["gpus"] == [{"type": "nvidia-l4", "min": 0, "max": 5}]


def test_an_autoscaled_machineset_keeps_its_replicas_and_only_missing_machines_need_quota(monkeypatch):
    pools = [dict(DESIGN_POOLS[0], labels={"team": "ml"}), DESIGN_POOLS[1]]
    first = run(monkeypatch, Fake(), pools=pools)["machinesets"][0]
    current = dict(first, spec=dict(first["spec"], replicas=3))
    autoscaler = {"spec": {"scaleTargetRef": {"name": G4}}}
    result = run(monkeypatch, Fake(machinesets=[worker(), current], autoscalers=[autoscaler]), pools=pools)
    assert result["machinesets"][0]["spec"]["replicas"] == 3
    assert result["plan"][0]["current_replicas"] == 3
    assert result["aws_requests"] == [
        dict(instance_type="g6.4xlarge", zone="us-east-2a", count=0),
        dict(instance_type="g6.12xlarge", zone="us-east-2a", count=1),
    ]
    # Our own GPU MachineSet (sorted before the worker) is never the template of another pool.
    assert result["machinesets"][1]["spec"]["template"]["spec"]["metadata"]["labels"] == {
        "node-role.kubernetes.io/gpu": "",
        "cluster-api/accelerator": "nvidia-l4",
    }


@pytest.mark.parametrize(
    ("fake", "pools", "needle"),
    [
        (Fake(), [*DESIGN_POOLS, {"instance_type": "g6.12xlarge", "replicas": -1}], "replicas as an integer >= 0"),
        (Fake(), [{"instance_type": "p9.huge"}], "'p9.huge'"),
        (Fake(), [{"instance_type": "g6.4xlarge", "zone": "eu-west-1a"}], "zone of region us-east-2"),
        (Fake(), [{"instance_type": "g6.4xlarge"}, {"instance_type": "g6.4xlarge"}], "one pool per instance type"),
        (Fake(), [{"instance_type": "g6.4xlarge", "min_replicas": 2, "max_replicas": 1}], "min_replicas <= max"),
        (Fake(), [{"instance_type": "g6.4xlarge", "max_replicas": "3"}], "max_replicas as an integer"),
        (Fake(infra=infrastructure(platform="GCP")), DESIGN_POOLS, "platform='GCP'"),
        (Fake(infra={}), DESIGN_POOLS, "found no Infrastructure/cluster"),
        (Fake(machinesets=[worker(infra="other")]), DESIGN_POOLS, "found {0}-worker-us-east-2a".format("other")),
    ],
)
def test_input_that_cannot_be_built_fails_saying_what_was_expected(monkeypatch, fake, pools, needle):
    result = run(monkeypatch, fake, pools=pools)
    assert result["failed"]
    assert result["msg"].startswith("machinesets: Expected ")
    assert needle in result["msg"]
    assert "machinesets" not in result or result.get("machinesets") is None


def test_an_api_error_keeps_its_cause_and_names_the_permission(monkeypatch):
    result = run(monkeypatch, Fake(error=ApiException(status=403, reason="Forbidden")))
    assert result["failed"]
    assert "the credentials lack permission" in result["msg"] and "Forbidden" in result["msg"]
    assert "get Infrastructures" in result["msg"]


def ours(ms):
    return dict(ms, metadata=dict(ms["metadata"], labels=dict(ms["metadata"]["labels"], **OURS)))


OURS = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra"}


class Labelled(Fake):
    """Lists by the managed-by label, as the API server does with the selector removal uses."""

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        assert label_selector == "app.kubernetes.io/managed-by=rhoai.gpu_infra"
        items = super().list(api_version, kind, namespace)
        return [o for o in items if o["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by")]


def test_removal_takes_only_the_recorded_limits_out_of_someone_elses_cluster_autoscaler(monkeypatch):
    gpu = run(monkeypatch, Fake())["machinesets"][0]
    autoscaler = {"metadata": {"name": G4, "labels": OURS}, "spec": {"scaleTargetRef": {"name": G4}}}
    foreign_as = {"metadata": {"name": "theirs", "labels": {}}}
    ca = their_ca([A100, {"type": "nvidia-l4", "max": 5}], "nvidia-l4")
    fake = Labelled(machinesets=[worker(), gpu], autoscalers=[autoscaler, foreign_as], ca=ca)
    result = run(monkeypatch, fake, state="absent", pools=None)
    assert not result["failed"] and not result["changed"]
    assert [ms["metadata"]["name"] for ms in result["machinesets"]] == [G4]
    assert [a["metadata"]["name"] for a in result["autoscalers"]] == [G4]
    assert result["cluster_autoscaler"]["metadata"] == {
        "name": "default",
        "resourceVersion": "42",
        "annotations": {ANNOTATION: None},
    }
    assert result["cluster_autoscaler"]["spec"] == {"resourceLimits": {"gpus": [A100]}}
    assert not result["delete_cluster_autoscaler"]
    assert result["removed"] == [
        {"object": "MachineAutoscaler openshift-machine-api/" + G4},
        {"object": "MachineSet openshift-machine-api/" + G4},
    ]
    assert result["kept"] == [
        {
            "object": "ClusterAutoscaler default",
            "reason": "someone else's; only the GPU limits this collection added (nvidia-l4) were taken out",
        }
    ]
    assert "Infrastructure" not in fake.reads


def test_removal_leaves_limits_it_did_not_add_and_deletes_its_own_autoscaler(monkeypatch):
    # A limit of the pools' type that someone else set, with no record of ours: not touched.
    theirs = their_ca([{"type": "nvidia-l4", "min": 2, "max": 16}, A100])
    untouched = run(monkeypatch, Labelled(machinesets=[], ca=theirs), state="absent")
    assert untouched["cluster_autoscaler"] is None and untouched["kept"] == [] and untouched["removed"] == []
    mine = dict(theirs, metadata=dict(theirs["metadata"], labels=OURS))
    deleted = run(monkeypatch, Labelled(machinesets=[], ca=mine), state="absent")
    assert deleted["delete_cluster_autoscaler"] and deleted["cluster_autoscaler"] is None
    assert deleted["removed"] == [{"object": "ClusterAutoscaler default"}]
    assert run(monkeypatch, Labelled(machinesets=[]), state="absent")["removed"] == []


def test_pools_are_required_to_plan_what_to_apply(monkeypatch):
    main = functools.partial(machineset_plan.main, k8s_factory=lambda module: Fake())
    result = run_main(monkeypatch, main, {})
    assert result["failed"] and "pools" in result["msg"]
    assert "found null" in run(monkeypatch, Fake(), pools=None)["msg"]


def arm64_worker(zone, by="annotation"):
    ms = worker(zone=zone)
    ms["metadata"]["name"] = ms["metadata"]["name"].replace("worker", "worker-arm")
    if by == "annotation":
        ms["metadata"]["annotations"]["capacity.cluster-autoscaler.kubernetes.io/labels"] = "kubernetes.io/arch=arm64"
    else:
        del ms["metadata"]["annotations"]["capacity.cluster-autoscaler.kubernetes.io/labels"]
        ms["spec"]["template"]["spec"]["providerSpec"]["value"]["instanceType"] = "m7gd.xlarge"
    ms["spec"]["template"]["spec"]["providerSpec"]["value"]["ami"] = {"id": "ami-arm64"}
    return ms


@pytest.mark.parametrize("by", ["annotation", "instance family"])
def test_an_arm64_worker_of_a_multi_architecture_cluster_is_never_the_template(monkeypatch, by):
    # sorted first (zone us-east-2a before us-east-2b): without the check it would be the template of every pool
    fake = Fake(machinesets=[arm64_worker("us-east-2a", by), worker(zone="us-east-2b")])
    result = run(monkeypatch, fake)
    amis = {ms["spec"]["template"]["spec"]["providerSpec"]["value"]["ami"]["id"] for ms in result["machinesets"]}
    assert amis == {"ami-0abc"}, result
    only_arm = run(monkeypatch, Fake(machinesets=[arm64_worker("us-east-2a", by)]))
    assert only_arm["failed"] and "an x86_64 worker MachineSet" in only_arm["msg"], only_arm
    assert "only arm64 ones: " + INFRA + "-worker-arm-us-east-2a" in only_arm["msg"], only_arm
