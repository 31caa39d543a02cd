"""diagnose.yml against the OpenShift simulator: an archive with the evidence, the diagnosis, and no credentials.

Credentials are planted in a pod's env and args and in Event messages; none of them may appear in the `-vvv` output
(what AWX/AAP keep as job events) or in any file of the evidence. Pod logs cannot be planted here: the test bed's
nodes are kwok's, without a kubelet to serve `pods/log`, so a log read is empty (pod never scheduled) or fails. The
redaction of log lines is proven by tests/unit/test_evidence.py instead.
"""

import tarfile
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.integration import cluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MARKER = "s3cr3t-value-that-must-not-leak"
# Values that only their shape gives away: an AWS access key ID under an innocent name, a flag's value, a password and a
# bearer token in event messages.
KEY_ID = "AKIAOCPSIMTESTLEAK01"
FLAG_TOKEN = "flag-t0ken-that-must-not-leak"
EVENT_PASSWORD = "ev3nt-passw0rd-that-must-not-leak"
EVENT_BEARER = "sha256~ev3ntB3arerTokenThatMustNotLeak"
PLANTED = (MARKER, KEY_ID, FLAG_TOKEN, EVENT_PASSWORD, EVENT_BEARER)


def members(archive):
    with tarfile.open(str(archive), "r:gz") as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}


def event(namespace, name, message):
    return {
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": "nfd-worker-stuck", "namespace": namespace},
        "reason": "Failed",
        "type": "Warning",
        "message": message,
    }


@pytest.mark.slow
def test_diagnose_archives_the_evidence_without_credentials_in_output_or_files(request, playbook, tmp_path):
    with request.getfixturevalue("ocp_sim_factory")(scenario="gpu-nodes") as sim:
        core = client.CoreV1Api(sim.api_client)
        assert len(cluster.gpu_nodes(core)) == cluster.GPU_NODES_IN_SCENARIO
        namespace = "openshift-nfd"
        core.create_namespace({"metadata": {"name": namespace}})
        core.create_namespaced_secret(namespace, {"metadata": {"name": "pull-creds"}, "stringData": {"token": MARKER}})
        # A pod that can never be scheduled: unhealthy, with credentials in its env and args.
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
                            "env": [
                                {"name": "AWS_SECRET_ACCESS_KEY", "value": MARKER},
                                {"name": "LOG", "value": "3"},
                                {"name": "S3_ACCOUNT", "value": KEY_ID},
                            ],
                            "args": ["--token", FLAG_TOKEN, "--v=2"],
                        }
                    ],
                },
            },
        )
        core.create_namespaced_event(namespace, event(namespace, "login", "login failed: password=" + EVENT_PASSWORD))
        core.create_namespaced_event(
            namespace, event(namespace, "pull", "pull refused: Authorization: Bearer " + EVENT_BEARER)
        )
        runs = {}
        for check_mode in (False, True):
            out = tmp_path / ("check" if check_mode else "run")
            runs[check_mode] = playbook(
                "diagnose.yml",
                sim.kubeconfig,
                extra_vars={"gpu_infra_report_dir": str(out)},
                check=check_mode,
                extra_args=["-vvv"],
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
        assert {"NodeFeatureDiscovery.yaml", "ClusterPolicy.yaml", "node_label_check.json", "checks.json"} <= names
        # nothing is installed: the diagnosis names what verify would find missing, with its remedy
        diagnosis = " ".join(run.stdout.split("Print the diagnosis")[1].split())
        assert "FAILED check nfd: nfd operator CSV Succeeded: Subscription openshift-nfd/nfd does not exist" in (
            diagnosis
        ), diagnosis
        assert "logs/openshift-nfd_nfd-worker-stuck.log" in names
        for planted in PLANTED:
            assert planted not in run.stdout and planted not in run.stderr, planted
            assert not any(planted in text for text in files.values()), planted
            for path in out.rglob("*"):  # the unpacked directory as well as the archive
                assert path.is_dir() or planted.encode() not in path.read_bytes(), (planted, path)
        assert not any("pull-creds" in text for text in files.values())  # Secrets are never read at all
        # -vvv really printed the module results (the redacted objects) that AWX/AAP would store
        assert "<redacted>" in run.stdout and "nfd-worker-stuck" in run.stdout

        pod_file = next(text for name, text in files.items() if name.endswith("/Pod.yaml"))
        pods = {p["metadata"]["name"]: p for p in yaml.safe_load(pod_file)}
        container = pods["nfd-worker-stuck"]["spec"]["containers"][0]
        assert container["env"] == [
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "<redacted>"},
            {"name": "LOG", "value": "3"},
            {"name": "S3_ACCOUNT", "value": "<redacted>"},
        ]
        assert container["args"] == ["--token", "<redacted>", "--v=2"]
        events = yaml.safe_load(next(text for name, text in files.items() if name.endswith("/Event.yaml")))
        messages = {e["metadata"]["name"]: e["message"] for e in events}
        assert messages["login"] == "login failed: password=<redacted>"
        assert messages["pull"] == "pull refused: Authorization: Bearer <redacted>"
        log = next(text for name, text in files.items() if name.endswith("/logs/openshift-nfd_nfd-worker-stuck.log"))
        # Never scheduled: the API server answers an empty log (a scheduled pod's would fail: no kubelet serves it).
        assert log == ""
        nodes = yaml.safe_load(next(text for name, text in files.items() if name.endswith("/Node.yaml")))
        assert any("node-role.kubernetes.io/gpu" in n["metadata"]["labels"] for n in nodes)

        stdout = " ".join(run.stdout.split())
        assert "Cluster: sim-7x2kq" in stdout
        assert "nfd-worker-stuck" in stdout and "not healthy" in stdout
        assert "Evidence (no Secrets): {0}".format(archive) in stdout
        # No NFD worker DaemonSet: the GPU nodes cannot get kernel-version labels, and diagnose says so.
        assert "nfd-worker-missing" in stdout


@pytest.mark.slow
def test_diagnosis_is_printed_when_the_report_directory_cannot_be_written(ocp_sim, playbook, tmp_path):
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    for check_mode in (False, True):  # check mode writes the evidence too, so it fails the same way
        run = playbook("diagnose.yml", ocp_sim.kubeconfig, {"gpu_infra_report_dir": str(not_a_dir)}, check=check_mode)
        assert run.rc != 0 and "Print the diagnosis" in run.stdout, run
        # The diagnosis is what a user in trouble needs most: it comes before the evidence is written.
        diagnosis, _, message = cluster.said(run.stdout).split("Print the diagnosis")[1].partition("Fail naming the")
        assert "Cluster: sim-7x2kq" in diagnosis and "GPU nodes: " in diagnosis, diagnosis
        where = "into the directory {0} (gpu_infra_report_dir), but: There was an issue creating {0}/diagnose-"
        assert "Expected to write the evidence " + where.format(not_a_dir) in message, message
        assert "The evidence archive was not written" in message, message
        assert "Point gpu_infra_report_dir at a directory you can write to and re-run." in message, message
        assert not_a_dir.read_text() == "" and run.changed == 0
