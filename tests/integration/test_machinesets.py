"""The machinesets role against the OpenShift simulator.

The simulator's machine-api turns MachineSets into Machines and kwok Nodes with the instance type's capacity and the
template's labels and taints; the AWS side (AMIs, subnets, quota) is not simulated. These tests prove what the role
sends, how it waits and what it leaves alone, not the behaviour of AWS.
"""

import json
import time
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster as ClusterBase

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "machinesets_run.yml")
NS = "openshift-machine-api"
MAPI = "machine.openshift.io/v1beta1"
AS_API = "autoscaling.openshift.io/v1beta1"
CA_API = "autoscaling.openshift.io/v1"
INFRA = "sim-7x2kq"  # the default scenario's infrastructureName
G4 = INFRA + "-gpu-g6-4xlarge-us-east-2a"
G12 = INFRA + "-gpu-g6-12xlarge-us-east-2a"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
FAST = {"machinesets_timeout": 180, "machinesets_poll_interval": 2}


class Cluster(ClusterBase):
    def machinesets(self):
        return {ms["metadata"]["name"]: ms for ms in self.list(MAPI, "MachineSet", NS)}

    def workers(self):
        """What a user would compare: name -> (replicas, template spec) of the worker MachineSets."""
        return {
            name: (ms["spec"].get("replicas"), ms["spec"]["template"])
            for name, ms in self.machinesets().items()
            if "-worker-" in name
        }


def wait_for_available(cluster, name, replicas, timeout=180):
    """Until the MachineSet's status settles at `replicas` available (its status churns while machines come up)."""
    deadline = time.monotonic() + timeout
    while True:
        status = cluster.machinesets()[name].get("status") or {}
        if status.get("availableReplicas") == replicas or time.monotonic() > deadline:
            return status
        time.sleep(1)


def run(playbook, sim, tasks_from="main", check=False, **extra):
    extra_vars = dict(FAST, ms_tasks_from=tasks_from, **extra)
    return playbook(PLAYBOOK, sim.kubeconfig, extra_vars=extra_vars, check=check, diff=check)


def test_create_rerun_verify_and_remove(playbook, ocp_sim_factory, tmp_path):
    with ocp_sim_factory() as sim:
        cluster = Cluster(sim.api_client)
        workers = cluster.workers()
        assert workers, "the default scenario has worker MachineSets"

        dry = run(playbook, sim, check=True)
        assert dry.rc == 0, dry
        assert set(cluster.machinesets()) == set(workers), "check mode created a MachineSet"

        first = run(playbook, sim, machinesets_wait=True, machinesets_wait_gpu_allocatable=False)
        assert first.rc == 0, first
        assert "waiting up to 180 s" in first.stdout
        sets = cluster.machinesets()
        for name, itype in ((G4, "g6.4xlarge"), (G12, "g6.12xlarge")):
            ms = sets[name]
            assert ms["spec"]["replicas"] == 1
            assert ms["spec"]["selector"]["matchLabels"]["machine.openshift.io/cluster-api-machineset"] == name
            template = ms["spec"]["template"]
            assert template["metadata"]["labels"]["machine.openshift.io/cluster-api-machineset"] == name
            assert template["spec"]["providerSpec"]["value"]["instanceType"] == itype
            assert template["spec"]["metadata"]["labels"] == {
                "node-role.kubernetes.io/gpu": "",
                "cluster-api/accelerator": "nvidia-l4",
            }
            assert template["spec"]["taints"] == [GPU_TAINT]
            machines = cluster.list(MAPI, "Machine", NS, "machine.openshift.io/cluster-api-machineset=" + name)
            assert [m["status"]["phase"] for m in machines] == ["Running"]
            node = cluster.get("v1", "Node", machines[0]["status"]["nodeRef"]["name"])
            assert node["metadata"]["labels"]["node-role.kubernetes.io/gpu"] == ""
            assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == itype
            assert GPU_TAINT in [{k: t[k] for k in ("key", "value", "effect")} for t in node["spec"]["taints"]]
        assert cluster.workers() == workers

        again = run(playbook, sim, machinesets_wait=True, machinesets_wait_gpu_allocatable=False)
        assert again.rc == 0, again
        assert again.changed == 0, again

        checks_file = tmp_path / "checks.json"
        verify = run(playbook, sim, tasks_from="verify", ms_checks_file=str(checks_file))
        checks = {c["check"]: c for c in json.loads(checks_file.read_text())}
        assert checks["GPU MachineSets have all their machines ready"]["status"] == "passed", checks
        assert checks["GPU nodes carry the nvidia.com/gpu=true:NoSchedule taint"]["status"] == "passed", checks
        assert checks["GPU MachineSets have the replicas of their pools"]["status"] == "passed", checks
        # No GPU operator in this test, so no allocatable GPUs: verify must say so, and fail with what to do.
        assert checks["GPU nodes have allocatable nvidia.com/gpu"]["status"] == "failed", checks
        assert verify.rc != 0, verify
        message = " ".join(verify.stdout.split())
        assert "1 of 4 checks of machinesets failed: machinesets: GPU nodes have allocatable nvidia.com/gpu" in message
        assert "remedy: Check that NFD labels the node" in message
        assert verify.changed == 0, verify

        dry_remove = run(playbook, sim, tasks_from="remove", check=True)
        assert dry_remove.rc == 0, dry_remove
        assert {G4, G12} <= set(cluster.machinesets())
        assert cluster.machinesets()[G4]["spec"]["replicas"] == 1

        removed = run(playbook, sim, tasks_from="remove")
        assert removed.rc == 0, removed
        assert set(cluster.machinesets()) == set(workers)
        assert cluster.workers() == workers
        assert cluster.list("v1", "Node", label_selector="node-role.kubernetes.io/gpu") == []
        assert run(playbook, sim, tasks_from="remove").changed == 0


@pytest.mark.parametrize(
    ("pools", "needle"),
    [
        # the second pool is bad: the first must not be created either
        ([{"instance_type": "g6.4xlarge"}, {"instance_type": "g6.12xlarge", "replicas": -1}], "replicas as an integer"),
        ([{"instance_type": "p9.huge"}], "p9.huge"),
        ([{"instance_type": "g6.4xlarge", "zone": "eu-west-1a"}], "zone of region us-east-2"),
    ],
)
def test_bad_input_fails_before_anything_changes(playbook, ocp_sim, pools, needle):
    cluster = Cluster(ocp_sim.api_client)
    before = set(cluster.machinesets())
    result = run(playbook, ocp_sim, machinesets_pools=pools)
    assert result.rc != 0
    assert needle in result.stdout, result
    assert set(cluster.machinesets()) == before


def test_autoscaling_merges_limits_and_does_not_fight_the_autoscaler(playbook, ocp_sim_factory):
    with ocp_sim_factory() as sim:
        cluster = Cluster(sim.api_client)
        cluster.resource(CA_API, "ClusterAutoscaler").create(
            body={
                "apiVersion": CA_API,
                "kind": "ClusterAutoscaler",
                "metadata": {"name": "default"},
                "spec": {
                    "resourceLimits": {"maxNodesTotal": 24, "gpus": [{"type": "nvidia-a100", "min": 0, "max": 8}]},
                    "scaleDown": {"enabled": True},
                },
            }
        )
        pools = [
            {"instance_type": "g6.4xlarge", "replicas": 1, "min_replicas": 0, "max_replicas": 3},
            {"instance_type": "g6.12xlarge", "replicas": 0, "max_replicas": 2},
        ]
        first = run(playbook, sim, machinesets_pools=pools, machinesets_autoscaling=True)
        assert first.rc == 0, first
        autoscalers = {a["metadata"]["name"]: a["spec"] for a in cluster.list(AS_API, "MachineAutoscaler", NS)}
        assert autoscalers[G4]["minReplicas"] == 0 and autoscalers[G4]["maxReplicas"] == 3
        assert autoscalers[G12]["scaleTargetRef"] == {"apiVersion": MAPI, "kind": "MachineSet", "name": G12}
        ca = cluster.get(CA_API, "ClusterAutoscaler", "default")["spec"]
        assert ca["scaleDown"] == {"enabled": True} and ca["resourceLimits"]["maxNodesTotal"] == 24
        # 3 x 1 GPU + 2 x 4 GPUs of nvidia-l4; the other GPU type stays
        assert sorted(ca["resourceLimits"]["gpus"], key=lambda g: g["type"]) == [
            {"type": "nvidia-a100", "min": 0, "max": 8},
            {"type": "nvidia-l4", "min": 0, "max": 11},
        ]

        # The cluster autoscaler scales the pool up and marks its target, as on OpenShift.
        cluster.resource(MAPI, "MachineSet").patch(
            name=G4,
            namespace=NS,
            body={
                "metadata": {
                    "annotations": {
                        "machine.openshift.io/cluster-api-autoscaler-node-group-min-size": "0",
                        "machine.openshift.io/cluster-api-autoscaler-node-group-max-size": "3",
                    }
                },
                "spec": {"replicas": 2},
            },
            content_type="application/merge-patch+json",
        )
        # Re-run once the new machine is up: while it comes up the MachineSet's status changes under any apply, and
        # kubernetes.core reports a status change as a change.
        assert wait_for_available(cluster, G4, 2).get("availableReplicas") == 2
        again = run(playbook, sim, machinesets_pools=pools, machinesets_autoscaling=True)
        assert again.rc == 0, again
        assert cluster.machinesets()[G4]["spec"]["replicas"] == 2
        # That first run after the scale-up records replicas 2 in kubectl's last-applied-configuration (client-side
        # apply bookkeeping, reported as one change); from then on nothing changes and the replicas stay.
        third = run(playbook, sim, machinesets_pools=pools, machinesets_autoscaling=True)
        assert third.rc == 0, third
        assert third.changed == 0, third
        assert cluster.machinesets()[G4]["spec"]["replicas"] == 2

        removed = run(playbook, sim, tasks_from="remove", machinesets_pools=pools)
        assert removed.rc == 0, removed
        assert cluster.list(AS_API, "MachineAutoscaler", NS) == []
        ca = cluster.get(CA_API, "ClusterAutoscaler", "default")
        assert ca["spec"]["resourceLimits"] == {
            "maxNodesTotal": 24,
            "gpus": [{"type": "nvidia-a100", "min": 0, "max": 8}],
        }
        assert "rhoai.gpu-infra/gpu-limits" not in (ca["metadata"].get("annotations") or {})
        assert not any("-gpu-" in name for name in cluster.machinesets())

        # Someone else now sets a limit for the pools' accelerator: configure refuses to change it, remove leaves it.
        theirs = [{"type": "nvidia-a100", "min": 0, "max": 8}, {"type": "nvidia-l4", "min": 2, "max": 16}]
        cluster.resource(CA_API, "ClusterAutoscaler").patch(
            name="default",
            body={"spec": {"resourceLimits": {"gpus": theirs}}},
            content_type="application/merge-patch+json",
        )
        refused = run(playbook, sim, machinesets_pools=pools, machinesets_autoscaling=True)
        assert refused.rc != 0, refused
        assert "found nvidia-l4 min 2 max 16 (this collection would set min 0 max 11)" in " ".join(
            refused.stdout.split()
        )
        assert not any("-gpu-" in name for name in cluster.machinesets())
        assert run(playbook, sim, tasks_from="remove", machinesets_pools=pools).rc == 0
        assert cluster.get(CA_API, "ClusterAutoscaler", "default")["spec"]["resourceLimits"]["gpus"] == theirs
