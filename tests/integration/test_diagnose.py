"""diagnose.yml against the OpenShift simulator: an archive with the evidence, the diagnosis, and no Secret data."""

import tarfile
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.integration import cluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MARKER = "s3cr3t-value-that-must-not-leak"


def members(archive):
    with tarfile.open(str(archive), "r:gz") as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}


@pytest.mark.slow
def test_diagnose_archives_the_evidence_without_secrets_in_normal_and_check_mode(request, playbook, tmp_path):
    with request.getfixturevalue("ocp_sim_factory")(scenario="gpu-nodes") as sim:
        core = client.CoreV1Api(sim.api_client)
        assert len(cluster.gpu_nodes(core)) == cluster.GPU_NODES_IN_SCENARIO
        namespace = "openshift-nfd"
        core.create_namespace({"metadata": {"name": namespace}})
        core.create_namespaced_secret(namespace, {"metadata": {"name": "pull-creds"}, "stringData": {"token": MARKER}})
        # A pod that can never be scheduled: unhealthy, with a credential in its env.
        core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": "nfd-worker-stuck"},
                "spec": {
                    "nodeSelector": {"no-such-label": "x"},
                    "containers": [
                        {
                            "name": "worker",
                            "image": "registry.example.com/nfd:4.20",
                            "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": MARKER}, {"name": "LOG", "value": "3"}],
                        }
                    ],
                },
            },
        )
        runs = {}
        for check_mode in (False, True):
            out = tmp_path / ("check" if check_mode else "run")
            runs[check_mode] = playbook(
                "diagnose.yml", sim.kubeconfig, extra_vars={"gpu_infra_report_dir": str(out)}, check=check_mode
            )

    for check_mode, run in runs.items():
        assert run.rc == 0, run
        assert run.changed == 0
        out = tmp_path / ("check" if check_mode else "run")
        (archive,) = out.glob("diagnose-*.tar.gz")
        assert (out / archive.name[: -len(".tar.gz")]).is_dir()
        files = members(archive)
        names = {name.split("/", 1)[1] for name in files}
        assert {"Node.yaml", "Pod.yaml", "Event.yaml", "Subscription.yaml", "ClusterServiceVersion.yaml"} <= names
        assert {"NodeFeatureDiscovery.yaml", "ClusterPolicy.yaml", "node_label_check.json"} <= names
        assert "logs/openshift-nfd_nfd-worker-stuck.log" in names
        assert not any(MARKER in text for text in files.values())
        assert not any("pull-creds" in text for text in files.values())  # Secrets are never read at all

        pod_file = next(text for name, text in files.items() if name.endswith("/Pod.yaml"))
        pods = {p["metadata"]["name"]: p for p in yaml.safe_load(pod_file)}
        env = pods["nfd-worker-stuck"]["spec"]["containers"][0]["env"]
        assert env == [{"name": "AWS_SECRET_ACCESS_KEY", "value": "<redacted>"}, {"name": "LOG", "value": "3"}]
        nodes = yaml.safe_load(next(text for name, text in files.items() if name.endswith("/Node.yaml")))
        assert any("node-role.kubernetes.io/gpu" in n["metadata"]["labels"] for n in nodes)

        stdout = " ".join(run.stdout.split())
        assert "Cluster: sim-7x2kq" in stdout
        assert "nfd-worker-stuck" in stdout and "not healthy" in stdout
        assert "Evidence (no Secrets): {0}".format(archive) in stdout
        # No NFD worker DaemonSet: the GPU nodes cannot get kernel-version labels, and diagnose says so.
        assert "nfd-worker-missing" in stdout
