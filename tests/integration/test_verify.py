"""verify.yml against the OpenShift simulator (real control plane, scheduling and taints; simulated operators)."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from kubernetes import client

from tests.integration import cluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DTK_ERROR = "FATAL: failed to install elfutils-libelf-devel. RHEL entitlement may be improperly deployed."


def report(report_dir):
    data = json.loads((report_dir / "verify-latest.json").read_text())
    junit = ET.parse(str(report_dir / "verify-latest.xml")).getroot()
    return data, junit


def failed(data):
    return {(c["component"], c["check"]): c for c in data["checks"] if c["status"] == "failed"}


CONVERGE_NFD = """---
- name: Install and configure NFD only
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: rhoai.gpu_infra.nfd
"""


@pytest.mark.slow
def test_gpu_node_taint_nfd_does_not_tolerate_fails_verify_with_the_dtk_diagnosis(request, playbook, tmp_path):
    with request.getfixturevalue("ocp_sim_factory")(scenario="gpu-nodes") as sim:
        core = client.CoreV1Api(sim.api_client)
        gpu_nodes = cluster.gpu_nodes(core)
        assert len(gpu_nodes) == cluster.GPU_NODES_IN_SCENARIO, gpu_nodes
        blocked = gpu_nodes[0].metadata.name
        taints = [t.to_dict() for t in gpu_nodes[0].spec.taints or []]
        taints.append({"key": "dedicated", "value": "ml", "effect": "NoExecute"})
        core.patch_node(blocked, {"spec": {"taints": taints}})

        converge = tmp_path / "converge_nfd.yml"
        converge.write_text(CONVERGE_NFD)
        # Narrower than the role's default [{operator: Exists}]: the NoExecute taint above is not covered.
        narrow = {"nfd_worker_tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}
        run = playbook(str(converge), sim.kubeconfig, extra_vars=narrow)
        assert run.rc == 0, run

        reports = tmp_path / "reports"
        verify_vars = {"gpu_infra_components": ["nfd"], "gpu_infra_report_dir": str(reports)}
        for check_mode in (False, True):
            run = playbook("verify.yml", sim.kubeconfig, extra_vars=verify_vars, check=check_mode)
            assert run.rc != 0, run
            assert run.changed == 0
            stdout = cluster.said(run.stdout)
            assert "NFD worker cannot run on {0} (taint dedicated=ml:NoExecute not tolerated)".format(blocked) in stdout
            assert DTK_ERROR in stdout and "This is not an entitlement problem." in stdout
            assert "remedy: Add a toleration for dedicated=ml:NoExecute to NodeFeatureDiscovery nfd-instance" in stdout
            assert "Kernel-version labels on GPU nodes (DTK)" in run.stdout.split("Fail when a check failed")[1]

            data, junit = report(reports)
            kernel = failed(data)[("nfd", "Kernel-version labels on GPU nodes (DTK)")]
            assert blocked in kernel["evidence"] and "nfd_worker_tolerations" in kernel["remedy"]
            # The NFD install itself is fine: only the GPU node checks fail.
            assert ("nfd", "nfd operator CSV Succeeded") not in failed(data)
            assert data["cluster"]["infrastructure_name"] == "sim-7x2kq"
            failures = [c for c in junit.iter("testcase") if c.find("failure") is not None]
            assert "Kernel-version labels on GPU nodes (DTK)" in [c.get("name") for c in failures]


@pytest.mark.slow
def test_missing_operator_is_a_failed_check_not_a_crash(request, playbook, tmp_path):
    with request.getfixturevalue("ocp_sim_factory")() as sim:
        run = playbook(
            "verify.yml",
            sim.kubeconfig,
            extra_vars={"gpu_infra_components": ["nfd", "kueue"], "gpu_infra_report_dir": str(tmp_path)},
        )
        not_a_dir = tmp_path / "a-file"
        not_a_dir.write_text("")
        unwritable = playbook(
            "verify.yml",
            sim.kubeconfig,
            extra_vars={"gpu_infra_components": ["nfd"], "gpu_infra_report_dir": str(not_a_dir)},
        )
    # A report directory that cannot be written costs neither the table nor a clear message.
    assert unwritable.rc != 0 and "nfd operator CSV Succeeded" in unwritable.stdout.split("Show the result")[1]
    message = " ".join(unwritable.stdout.split())
    assert "Expected to write the verify reports into the directory {0} (gpu_infra_report_dir)".format(not_a_dir) in (
        message
    )
    assert run.rc != 0, run
    assert "Show the result" in run.stdout, run  # the table was printed: every check ran to the end
    assert "checks failed on sim-" in run.stdout
    assert "(no Subscription of their operator there): nfd, kueue. Install them with the site playbook first" in (
        " ".join(run.stdout.split())
    ), run
    data, _ = report(tmp_path)
    assert ("nfd", "nfd operator CSV Succeeded") in failed(data)
    assert ("kueue", "kueue-operator operator CSV Succeeded") in failed(data)
    assert "does not exist" in failed(data)[("nfd", "nfd operator CSV Succeeded")]["evidence"]
    # kueue without cert_manager in the selection: verify also checks that cert-manager runs, as site's preflight would
    assert ("cert_manager", "cert_manager installed and running (required by kueue)") in failed(data)
    assert {c["component"] for c in data["checks"]} <= {"nfd", "kueue", "gpu", "gpu_operator", "cert_manager"}
