"""The kube-apiserver goes away for about 20 s while a converge waits (as during a control-plane upgrade): the wait
rides it out within its deadline, and a re-run changes nothing and duplicates nothing.

Two waits are interrupted: csv_wait (the olm_operator role through tests/integration/playbooks/olm_run.yml: Namespace,
OperatorGroup and Subscription of NFD, then one csv_wait) and a role's operand wait (site.yml with cert_manager and
kueue, during the wait for Kueue cluster to be Available).

On a private simulated cluster (test bed) each: the kube-apiserver, etcd, controller-manager, scheduler and OLM are
the real programs and the outage is a real stop and start of kube-apiserver's process; how long the operator pods and
the operands take to become ready is simulated (latency knobs).
"""

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import RECAP, playbook_command
from tests.integration.cluster import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OLM_RUN = str(Path(__file__).resolve().parent / "playbooks" / "olm_run.yml")
OLM = "operators.coreos.com/v1alpha1"
NAMESPACE = "outage-nfd"
OUTAGE_SECONDS = 20
TIMEOUT = 300


def olm_run_vars():
    nfd = dict(
        component="nfd",
        package="nfd",
        channel="stable",
        source="redhat-operators",
        namespace=NAMESPACE,
        install_mode="OwnNamespace",
    )
    return dict(olm_operators=[nfd], olm_tasks_from="subscribe", olm_wait_all=True, olm_timeout=TIMEOUT)


SITE_VARS = {"gpu_infra_components": ["cert_manager", "kueue"], "gpu_infra_timeout": TIMEOUT}


def start_playbook(sim, playbook, extra_vars):
    # Line-buffered output, so that the test sees the wait's task header as it is printed.
    cmd, env = playbook_command(playbook, sim.kubeconfig, extra_vars, env={"PYTHONUNBUFFERED": "1"})
    return subprocess.Popen(
        cmd, cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )


def converge_through_outage(sim, playbook, extra_vars, wait_task):
    """Run ``playbook``; 5 s after ``wait_task`` starts, stop kube-apiserver for OUTAGE_SECONDS; return (rc, output)."""
    proc = start_playbook(sim, playbook, extra_vars)
    lines, outage = [], {}
    waiting = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("TASK [{0}]".format(wait_task)):
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert waiting.wait(TIMEOUT), "".join(lines)
        # The outage is meant for the wait, not for the start of its module: let it read once first.
        time.sleep(5)
        outage["stopped"] = time.monotonic()
        sim.cp.stop_apiserver()
        time.sleep(OUTAGE_SECONDS)
        sim.cp.start_apiserver()
        outage["started"] = time.monotonic()
        rc = proc.wait(timeout=TIMEOUT + 120)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
    out = "".join(lines)
    print(
        "{0}: apiserver down for {1:.0f} s during '{2}' (stop and start included); the playbook finished {3:.0f} s "
        "after it was back".format(
            Path(playbook).name, outage["started"] - outage["stopped"], wait_task, time.monotonic() - outage["started"]
        )
    )
    assert outage["started"] - outage["stopped"] >= OUTAGE_SECONDS
    return rc, out


def count(cluster, api_version, kind, namespace=None, **match):
    items = cluster.list(api_version, kind, namespace)
    return [
        o
        for o in items
        if all(o.get("spec", {}).get(k) == v for k, v in match.items())
        and "olm.copiedFrom" not in (o["metadata"].get("labels") or {})
    ]


def test_csv_wait_rides_out_an_apiserver_outage_and_a_rerun_changes_nothing(request, playbook):
    # Install latency 30 s: the CSV cannot succeed before the outage; the wait's deadline leaves room for it on top.
    # The operator Deployment's progress deadline must too (Kubernetes' default is 600 s; the test bed's default of
    # 2 x latency + 30 s is meant for quick failures and does not count an outage): otherwise the real deployment
    # controller, not csv_wait, decides the test.
    knobs = {"install_latency_seconds": "30", "progress_deadline_seconds": str(TIMEOUT)}
    with request.getfixturevalue("ocp_sim_factory")(knobs=knobs) as sim:
        rc, out = converge_through_outage(sim, OLM_RUN, olm_run_vars(), "Wait for every Subscription at once")
        assert rc == 0, out[-6000:]
        recap = [m.groupdict() for m in RECAP.finditer(out)]
        assert recap and recap[0]["failed"] == "0", out[-3000:]

        cluster = Cluster(sim.api_client)
        sub = cluster.get(OLM, "Subscription", "nfd", NAMESPACE)
        installed = sub["status"]["installedCSV"]
        assert cluster.get(OLM, "ClusterServiceVersion", installed, NAMESPACE)["status"]["phase"] == "Succeeded"

        again = playbook(OLM_RUN, sim.kubeconfig, extra_vars=olm_run_vars())
        assert again.rc == 0, again
        assert again.changed == 0, again

        # Nothing is duplicated: one of each object the role creates, one Subscription and one CSV of the package,
        # and the operator Deployments the CSV asks for, once each.
        assert cluster.get("v1", "Namespace", NAMESPACE) is not None
        assert len(cluster.list("operators.coreos.com/v1", "OperatorGroup", NAMESPACE)) == 1
        assert len(count(cluster, OLM, "Subscription", None, name="nfd")) == 1
        csvs = count(cluster, OLM, "ClusterServiceVersion", NAMESPACE)
        assert [c["metadata"]["name"] for c in csvs] == [installed], csvs
        wanted = sorted(d["name"] for d in csvs[0]["spec"]["install"]["spec"]["deployments"])
        assert sorted(d["metadata"]["name"] for d in cluster.list("apps/v1", "Deployment", NAMESPACE)) == wanted
        plans = cluster.list(OLM, "InstallPlan", NAMESPACE)
        print(
            "InstallPlans in {0}: {1}".format(
                NAMESPACE, [(p["metadata"]["name"], p["spec"].get("clusterServiceVersionNames")) for p in plans]
            )
        )


def test_a_role_wait_rides_out_an_apiserver_outage_and_a_rerun_changes_nothing(request, playbook):
    # Kueue cluster becomes Available 60 s after it was created: the outage falls into site.yml's one ready_wait for
    # the operands (tasks_from: ready of the kueue role is the same call over the same items).
    with request.getfixturevalue("ocp_sim_factory")(knobs={"operand_latency_seconds": "60"}) as sim:
        wait_task = "Wait at once for the operands of cert_manager, kueue"
        rc, out = converge_through_outage(sim, "site.yml", SITE_VARS, wait_task)
        assert rc == 0, out[-6000:]
        # reads failed during the outage and the wait went on (ready_wait says so in a warning)
        assert "read(s) failed during the wait and were retried" in out, out[-6000:]
        cluster = Cluster(sim.api_client)
        kueue = cluster.get("kueue.openshift.io/v1", "Kueue", "cluster")
        assert {c["type"]: c["status"] for c in kueue["status"]["conditions"]}["Available"] == "True"

        again = playbook("site.yml", sim.kubeconfig, extra_vars=SITE_VARS)
        assert again.rc == 0, again
        assert again.changed == 0, again
        for package in ("openshift-cert-manager-operator", "kueue-operator"):
            subs = count(cluster, OLM, "Subscription", None, name=package)
            assert len(subs) == 1, subs
            namespace = subs[0]["metadata"]["namespace"]
            assert len(cluster.list("operators.coreos.com/v1", "OperatorGroup", namespace)) == 1
            assert len(count(cluster, OLM, "ClusterServiceVersion", namespace)) == 1
        assert [k["metadata"]["name"] for k in cluster.list("kueue.openshift.io/v1", "Kueue")] == ["cluster"]
