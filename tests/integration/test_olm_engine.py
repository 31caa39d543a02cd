"""The olm_operator role and csv_wait against the test bed's real OLM (v0.46.0, catalogs served by opm).

What is simulated is only what needs a container runtime: how long an operator pod takes to become Ready and whether
it ever does (knobs). Every test installs into namespaces of its own, so tests do not see each other's Subscriptions
(OLM resolves a namespace as a whole).
"""

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster, delete_namespaces, wait_copies_gone


pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "olm_run.yml")
OLM = "operators.coreos.com/v1alpha1"
NAMESPACE_PREFIX = "olm-test-"
NFD_OLD = "nfd.4.20.0-202510142335"
NFD_HEAD = "nfd.4.20.0-202511041128"


def operator(package, namespace, channel="stable", source="redhat-operators", mode="OwnNamespace", **extra):
    return dict(
        component=package,
        package=package,
        channel=channel,
        source=source,
        namespace=namespace,
        install_mode=mode,
        **extra,
    )


@pytest.fixture
def sim(request):
    """The shared simulated cluster (imported above so that pytest finds the fixture)."""
    return request.getfixturevalue("ocp_sim")


@pytest.fixture
def cluster(sim):
    return Cluster(sim.api_client)


@pytest.fixture(autouse=True)
def remove_test_namespaces(sim):
    """Each test installs in namespaces of its own (olm-test-*) on the shared test bed; they go afterwards, because
    the preflight refuses an install of a package that another namespace already holds."""
    yield
    cluster = Cluster(sim.api_client)
    names = [n["metadata"]["name"] for n in cluster.list("v1", "Namespace")]
    delete_namespaces(cluster, [n for n in names if n.startswith(NAMESPACE_PREFIX)])


@pytest.fixture
def knobs(sim):
    """Set knobs for one test and remove them afterwards (the session cluster is shared)."""
    touched = set()

    def set_knobs(values):
        touched.update(values)
        sim.set_knobs(values)

    yield set_knobs
    if touched:
        sim.set_knobs(dict.fromkeys(touched))


def run(playbook, sim, operators, tmp_path, *, tasks_from="main", check=False, **extra):
    result_file = tmp_path / "result-{0}-{1}.json".format(tasks_from, time.monotonic_ns())
    extra_vars = dict(
        olm_operators=operators, olm_tasks_from=tasks_from, olm_result_file=str(result_file), gpu_infra_timeout=120
    )
    extra_vars.update(extra)
    started = time.monotonic()
    outcome = playbook(PLAYBOOK, sim.kubeconfig, extra_vars=extra_vars, check=check)
    outcome.seconds = time.monotonic() - started
    outcome.result = json.loads(result_file.read_text()) if result_file.exists() else None
    return outcome


def test_automatic_install_rerun_verify_check_mode_and_remove(playbook, sim, cluster, tmp_path):
    ns = "olm-test-auto"
    op = operator("nfd", ns, namespace_labels={"example.com/team": "gpu"})

    dry = run(playbook, sim, [op], tmp_path, check=True)
    assert dry.rc == 0, dry
    assert cluster.get("v1", "Namespace", ns) is None
    assert "Would create OperatorGroup" in dry.stdout

    first = run(playbook, sim, [op], tmp_path)
    assert first.rc == 0, first
    print("automatic install of nfd took {0:.1f} s (playbook)".format(first.seconds))
    assert "Waiting up to 120 s for Subscription {0}/nfd".format(ns) in first.stdout
    namespace = cluster.get("v1", "Namespace", ns)
    assert namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rhoai.gpu_infra"
    assert namespace["metadata"]["labels"]["example.com/team"] == "gpu"
    groups = cluster.list("operators.coreos.com/v1", "OperatorGroup", ns)
    assert [g["spec"].get("targetNamespaces") for g in groups] == [[ns]]
    sub = cluster.get(OLM, "Subscription", "nfd", ns)
    # what teardown deletes, and only that: the Namespace, OperatorGroup and Subscription this role created
    ours = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "nfd"}
    for obj in (namespace, *groups, sub):
        assert ours.items() <= obj["metadata"]["labels"].items(), obj["metadata"]
    assert "startingCSV" not in sub["spec"] and "config" not in sub["spec"]
    assert sub["spec"]["installPlanApproval"] == "Automatic"
    installed = sub["status"]["installedCSV"]
    assert cluster.get(OLM, "ClusterServiceVersion", installed, ns)["status"]["phase"] == "Succeeded"

    again = run(playbook, sim, [op], tmp_path)
    assert again.rc == 0, again
    assert again.changed == 0, again

    verify = run(playbook, sim, [op], tmp_path, tasks_from="verify")
    assert verify.rc == 0, verify
    checks = {c["check"]: c for c in verify.result["checks"]}
    check = checks["nfd operator CSV Succeeded"]
    assert check["status"] == "passed" and installed in check["evidence"], check
    assert checks["Namespace {0} labelled example.com/team=gpu".format(ns)]["status"] == "passed", checks

    removed = run(playbook, sim, [op], tmp_path, tasks_from="remove")
    assert removed.rc == 0, removed
    assert cluster.get(OLM, "Subscription", "nfd", ns) is None
    assert cluster.get(OLM, "ClusterServiceVersion", installed, ns) is None
    # The real OLM keeps (and recreates) its Operator object while anything carries the package's label: the CRDs,
    # which stay unless asked. Nothing else of the operator may be left.
    leftover = cluster.get("operators.coreos.com/v1", "Operator", "nfd." + ns)
    refs = ((leftover or {}).get("status") or {}).get("components", {}).get("refs") or []
    assert {r["kind"] for r in refs} <= {"CustomResourceDefinition"}, refs
    namespace = cluster.get("v1", "Namespace", ns)
    assert namespace is None or namespace["status"].get("phase") == "Terminating"

    again = run(playbook, sim, [op], tmp_path, tasks_from="remove")
    assert again.rc == 0, again

    verify = run(playbook, sim, [op], tmp_path, tasks_from="verify")
    check = next(c for c in verify.result["checks"] if c["check"] == "nfd operator CSV Succeeded")
    assert check["status"] == "failed" and "does not exist" in check["evidence"]


def test_existing_namespace_keeps_its_labels_and_is_not_removed(playbook, sim, cluster, tmp_path):
    ns = "olm-test-existing-ns"
    cluster.create(dict(apiVersion="v1", kind="Namespace", metadata=dict(name=ns, labels={"owner": "someone"})))
    op = operator("nfd", ns)
    first = run(playbook, sim, [op], tmp_path)
    assert first.rc == 0, first
    labels = cluster.get("v1", "Namespace", ns)["metadata"]["labels"]
    assert labels["owner"] == "someone" and "app.kubernetes.io/managed-by" not in labels

    removed = run(playbook, sim, [op], tmp_path, tasks_from="remove")
    assert removed.rc == 0, removed
    assert cluster.get("v1", "Namespace", ns)["status"]["phase"] == "Active"
    assert cluster.get(OLM, "Subscription", "nfd", ns) is None


def test_manual_pinned_install_approves_only_the_pinned_plan(playbook, sim, cluster, tmp_path):
    ns = "olm-test-manual"
    op = operator("nfd", ns, approval="Manual", starting_csv=NFD_OLD)
    first = run(playbook, sim, [op], tmp_path)
    assert first.rc == 0, first
    sub = cluster.get(OLM, "Subscription", "nfd", ns)
    assert sub["spec"]["startingCSV"] == NFD_OLD
    assert sub["status"]["installedCSV"] == NFD_OLD
    plans = cluster.list(OLM, "InstallPlan", ns)
    approved = [p["spec"]["clusterServiceVersionNames"] for p in plans if p["spec"]["approved"]]
    assert approved == [[NFD_OLD]], plans
    # OLM queues the upgrade to the channel head; nobody approved it.
    pending = [p["spec"]["clusterServiceVersionNames"] for p in plans if not p["spec"]["approved"]]
    assert all(NFD_OLD not in names for names in pending)
    assert cluster.get(OLM, "ClusterServiceVersion", NFD_HEAD, ns) is None

    again = run(playbook, sim, [op], tmp_path)
    assert again.rc == 0, again
    assert again.changed == 0, again

    # The pinned install passes verify, which says what waits for approval.
    verify = run(playbook, sim, [op], tmp_path, tasks_from="verify")
    assert verify.rc == 0, verify
    check = {c["check"]: c for c in verify.result["checks"]}["nfd operator CSV Succeeded"]
    assert "; the upgrade to {0} waits for approval (InstallPlan install-".format(NFD_HEAD) in check["evidence"], check

    # Switched to Automatic: OLM keeps the waiting plan Manual and makes no other, so the wait approves it, as OLM
    # would a plan it made now, and the operator upgrades.
    automatic = run(playbook, sim, [dict(op, approval="Automatic")], tmp_path)
    assert automatic.rc == 0, automatic
    sub = cluster.get(OLM, "Subscription", "nfd", ns)
    assert sub["status"]["installedCSV"] == NFD_HEAD, sub["status"]
    assert cluster.get(OLM, "ClusterServiceVersion", NFD_HEAD, ns)["status"]["phase"] == "Succeeded"


def test_a_channel_without_the_installed_csv_keeps_it_running_and_says_so(playbook, sim, cluster, tmp_path):
    ns = "olm-test-channel-switch"
    op = operator("gpu-operator-certified", ns, channel="v25.10", source="certified-operators")
    assert run(playbook, sim, [op], tmp_path).rc == 0
    back = run(playbook, sim, [dict(op, channel="v25.3")], tmp_path)
    assert back.rc == 0, back
    # Ansible wraps warnings, at hyphens too.
    said = " ".join((back.stdout + back.stderr).split())
    assert "asks for channel v25.3, which does not contain the installed CSV" in said, said
    assert "OLM never downgrades" in said, said
    sub = cluster.get(OLM, "Subscription", "gpu-operator-certified", ns)
    assert sub["spec"]["channel"] == "v25.3"
    assert sub["status"]["installedCSV"] == "gpu-operator-certified.v25.10.0", sub["status"]


def test_wrong_channel_fails_in_preflight_naming_the_channels(playbook, sim, cluster, tmp_path):
    ns = "olm-test-channel-preflight"
    outcome = run(playbook, sim, [operator("nfd", ns, channel="stabel")], tmp_path)
    assert outcome.rc != 0
    assert "Channel stabel does not exist in package nfd of catalog redhat-operators" in outcome.stdout
    assert "Channels that exist: stable" in outcome.stdout
    assert cluster.get(OLM, "Subscription", "nfd", ns) is None


def test_package_from_the_wrong_catalog_names_the_right_one(playbook, sim, tmp_path):
    op = operator("gpu-operator-certified", "olm-test-catalog", channel="v25.10", source="redhat-operators")
    outcome = run(playbook, sim, [op], tmp_path, tasks_from="preflight")
    assert outcome.rc != 0
    assert "not in catalog redhat-operators" in outcome.stdout
    assert "set the source to certified-operators" in outcome.stdout


def test_wrong_channel_without_preflight_fails_within_seconds_in_csv_wait(playbook, sim, tmp_path):
    op = operator("nfd", "olm-test-channel-wait", channel="stabel")
    outcome = run(playbook, sim, [op], tmp_path, gpu_infra_catalog_preflight=False, olm_timeout=120)
    assert outcome.rc != 0
    assert "Subscription olm-test-channel-wait/nfd: expected" in outcome.stdout
    assert "no operators found in channel stabel" in outcome.stdout
    assert "Channels that exist: stable" in outcome.stdout
    print("wrong channel reported after {0:.1f} s (whole playbook, timeout 120 s)".format(outcome.seconds))
    # Failing on the cause rather than at the deadline is the property; playbook wall time on a loaded machine is not.
    assert "Timed out" not in outcome.stdout


def test_own_namespace_package_under_all_namespaces_group_is_refused(playbook, sim, cluster, tmp_path):
    ns = "olm-test-og-mismatch"
    cluster.create(dict(apiVersion="v1", kind="Namespace", metadata=dict(name=ns)))
    cluster.create(
        dict(apiVersion="operators.coreos.com/v1", kind="OperatorGroup", metadata=dict(name="global", namespace=ns))
    )
    outcome = run(playbook, sim, [operator("nfd", ns)], tmp_path)
    assert outcome.rc != 0
    assert "OperatorGroup global in namespace {0} selects AllNamespaces".format(ns) in outcome.stdout
    assert cluster.get(OLM, "Subscription", "nfd", ns) is None
    assert len(cluster.list("operators.coreos.com/v1", "OperatorGroup", ns)) == 1


def test_compatible_existing_group_is_reused(playbook, sim, cluster, tmp_path):
    ns = "olm-test-og-reuse"
    cluster.create(dict(apiVersion="v1", kind="Namespace", metadata=dict(name=ns)))
    cluster.create(
        dict(
            apiVersion="operators.coreos.com/v1",
            kind="OperatorGroup",
            metadata=dict(name="mine", namespace=ns),
            spec=dict(targetNamespaces=[ns]),
        )
    )
    outcome = run(playbook, sim, [operator("nfd", ns)], tmp_path)
    assert outcome.rc == 0, outcome
    assert [g["metadata"]["name"] for g in cluster.list("operators.coreos.com/v1", "OperatorGroup", ns)] == ["mine"]


def test_csv_wait_reports_unsupported_operator_group(sim, cluster):
    """Objects made by hand (not by the role): csv_wait itself names the OperatorGroup problem, fast."""
    ns = "olm-test-og-csv"
    cluster.create(dict(apiVersion="v1", kind="Namespace", metadata=dict(name=ns)))
    cluster.create(
        dict(apiVersion="operators.coreos.com/v1", kind="OperatorGroup", metadata=dict(name="global", namespace=ns))
    )
    cluster.create(
        dict(
            apiVersion=OLM,
            kind="Subscription",
            metadata=dict(name="nfd", namespace=ns),
            spec=dict(channel="stable", name="nfd", source="redhat-operators", sourceNamespace="openshift-marketplace"),
        )
    )
    started = time.monotonic()
    proc = ansible_module(sim, "rhoai.gpu_infra.csv_wait", {"subscriptions": [{"name": "nfd", "namespace": ns}]})
    seconds = time.monotonic() - started
    print("UnsupportedOperatorGroup reported after {0:.1f} s".format(seconds))
    assert proc.returncode != 0
    assert "UnsupportedOperatorGroup" in proc.stdout and "supports" in proc.stdout
    assert "Timed out" not in proc.stdout


def test_stalled_operator_deployment_fails_at_its_progress_deadline(playbook, sim, knobs, tmp_path):
    """The operator pod never becomes Ready: the real OLM fails the CSV at the Deployment's progress deadline
    (InstallCheckFailed), and csv_wait reports that with its cause instead of waiting out its timeout."""
    knobs({"fail_csv.leader-worker-set": "crash"})
    op = operator("leader-worker-set", "olm-test-fail", channel="stable-v1.0")
    outcome = run(playbook, sim, [op], tmp_path, olm_timeout=300, gpu_infra_timeout=300)
    assert outcome.rc != 0
    assert "Subscription olm-test-fail/leader-worker-set: expected" in outcome.stdout
    assert "InstallCheckFailed" in outcome.stdout
    assert "exceeded its progress deadline" in outcome.stdout
    assert "oc get deployments,pods -n olm-test-fail" in outcome.stdout
    print("stalled Deployment reported after {0:.1f} s (whole playbook, timeout 300 s)".format(outcome.seconds))
    assert "Timed out" not in outcome.stdout


def test_three_subscriptions_in_one_call_take_about_the_slowest(playbook, sim, cluster, knobs, tmp_path):
    latencies = {"authorino-operator": 3, "limitador-operator": 6, "dns-operator": 9}
    knobs({"latency." + pkg: seconds for pkg, seconds in latencies.items()})
    # Slowest last, so that the single wait covers most of its install.
    ops = [operator(pkg, "olm-test-par-" + pkg.split("-")[0], mode="AllNamespaces") for pkg in latencies]
    outcome = run(playbook, sim, ops, tmp_path, tasks_from="subscribe", olm_wait_all=True)
    assert outcome.rc == 0, outcome
    wait = outcome.result["wait"]
    assert [s["state"] for s in wait["subscriptions"]] == ["succeeded"] * 3
    subscribe_s, wait_s = outcome.result["entry_seconds"], outcome.result["wait_seconds"]
    # What each install took by itself on the cluster (Subscription created -> CSV Succeeded), and the span from the
    # first Subscription to the last Succeeded CSV: cluster timestamps, so the playbook's own overhead on a loaded
    # machine does not blur the property (the installs ran side by side, not one after another).
    spans = [install_span(cluster, op["namespace"], op["package"]) for op in ops]
    installs = [(end - start).total_seconds() for start, end in spans]
    together = (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()
    print(
        "three installs with latencies {0}: subscribe phase {1:.1f} s, one csv_wait call {2:.1f} s, per "
        "Subscription {3}; on the cluster each install took {4} s by itself, {5:.0f} s all together".format(
            sorted(latencies.values()),
            subscribe_s,
            wait_s,
            [s["seconds"] for s in wait["subscriptions"]],
            installs,
            together,
        )
    )
    # AllNamespaces installs are copied into every namespace: remove them so other tests can install these again.
    removed = run(playbook, sim, ops, tmp_path, tasks_from="remove")
    assert removed.rc == 0, removed
    wait_copies_gone(cluster, [op["namespace"] for op in ops])
    assert together < sum(installs)
    assert together >= max(latencies.values())


def install_span(cluster, ns, package):
    sub = cluster.get(OLM, "Subscription", package, ns)
    csv = cluster.get(OLM, "ClusterServiceVersion", sub["status"]["installedCSV"], ns)
    succeeded = next(c["lastTransitionTime"] for c in csv["status"]["conditions"] if c["phase"] == "Succeeded")
    return parse_time(sub["metadata"]["creationTimestamp"]), parse_time(succeeded)


def parse_time(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def ansible_module(sim, module, args):
    env = dict(
        os.environ,
        K8S_AUTH_KUBECONFIG=str(sim.kubeconfig),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
    )
    cmd = [
        str(Path(sys.executable).parent / "ansible"),
        "localhost",
        "-c",
        "local",
        "-m",
        module,
        "-a",
        json.dumps(args),
    ]
    return subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
