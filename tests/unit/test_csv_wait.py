"""csv_wait's loop against a fake cluster whose objects change over simulated time (no sleeping, no cluster)."""

import copy
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import waiter
from ansible_collections.rhoai.gpu_infra.plugins.modules import csv_wait

OLM = "operators.coreos.com/v1alpha1"


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeCluster(object):
    """The facade of client.py over a dict of objects; `timeline` callbacks mutate it as simulated time passes."""

    def __init__(self, clock):
        self.clock = clock
        self.objects = {}
        self.events = []  # (time, function(cluster)) applied once when the clock passes time
        self.patches = []
        self.gets = 0
        self.fail_next_gets = 0

    def at(self, when, change):
        self.events.append((when, change))
        self.events.sort(key=lambda e: e[0])

    def put(self, obj):
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta.get("namespace"), meta["name"])] = obj

    def delete(self, kind, name, namespace):
        self.objects.pop((kind, namespace, name), None)

    def find(self, kind, name, namespace):
        return self.objects.get((kind, namespace, name))

    def _advance(self):
        while self.events and self.events[0][0] <= self.clock.now:
            self.events.pop(0)[1](self)

    def get(self, api_version, kind, name, namespace=None):
        self._advance()
        self.gets += 1
        if self.fail_next_gets:
            self.fail_next_gets -= 1
            raise RuntimeError("503 Service Unavailable")
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self._advance()
        items = [o for (k, ns, _), o in self.objects.items() if k == kind and (namespace is None or ns == namespace)]
        if label_selector:
            key, _, value = label_selector.partition("=")
            items = [o for o in items if (o["metadata"].get("labels") or {}).get(key) == value]
        return copy.deepcopy(items)

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        assert not dry_run
        self.patches.append((kind, namespace, name, patch))
        obj = self.objects[(kind, namespace, name)]
        obj["spec"].update(patch["spec"])
        return copy.deepcopy(obj)


# --- object builders, shaped like OLM's -------------------------------------------------------------------------------


def subscription(name, ns, approval="Automatic", starting_csv="", channel="stable"):
    spec = dict(channel=channel, name=name, source="redhat-operators", sourceNamespace="openshift-marketplace")
    spec["installPlanApproval"] = approval
    if starting_csv:
        spec["startingCSV"] = starting_csv
    return dict(apiVersion=OLM, kind="Subscription", metadata=dict(name=name, namespace=ns), spec=spec, status={})


def plan(name, ns, csvs, approval="Automatic", phase="Installing"):
    return dict(
        apiVersion=OLM,
        kind="InstallPlan",
        metadata=dict(name=name, namespace=ns),
        spec=dict(approval=approval, approved=approval == "Automatic", clusterServiceVersionNames=list(csvs)),
        status=dict(phase=phase),
    )


def csv(name, ns, phase, reason="", message=""):
    return dict(
        apiVersion=OLM,
        kind="ClusterServiceVersion",
        metadata=dict(name=name, namespace=ns),
        spec={},
        status=dict(phase=phase, reason=reason, message=message),
    )


def resolve(name, ns, csv_name, plan_name):
    def change(cluster):
        sub = cluster.find("Subscription", name, ns)
        sub["status"].update(
            state="UpgradePending",
            currentCSV=csv_name,
            installPlanRef=dict(apiVersion=OLM, kind="InstallPlan", name=plan_name, namespace=ns),
        )

    return change


def csv_phase(name, ns, phase, reason="", message=""):
    def change(cluster):
        cluster.put(csv(name, ns, phase, reason, message))
        if phase == "Succeeded":
            for obj in cluster.objects.values():
                if obj["kind"] == "Subscription" and obj["status"].get("currentCSV") == name:
                    obj["status"].update(state="AtLatestKnown", installedCSV=name)

    return change


def automatic_install(cluster, name, ns, csv_name, *, done_at, start=1.0):
    """A normal Automatic install: resolves at `start`, installs, Succeeded at `done_at`."""
    cluster.put(subscription(name, ns))
    cluster.at(start, resolve(name, ns, csv_name, "install-" + name))
    cluster.at(start, lambda c: c.put(plan("install-" + name, ns, [csv_name])))
    cluster.at(start + 0.5, csv_phase(csv_name, ns, "Installing", "InstallWaiting"))
    cluster.at(done_at, csv_phase(csv_name, ns, "Succeeded", "InstallSucceeded"))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cluster(clock):
    return FakeCluster(clock)


def wait(cluster, clock, refs, timeout=900, **kwargs):
    return csv_wait.wait_all(cluster, refs, timeout, clock=clock, sleep=clock.sleep, **kwargs)


def by_name(watches):
    return {w.name: w.report() for w in watches}


# --- behaviour ----------------------------------------------------------------------------------------------------


def test_automatic_install_returns_soon_after_success(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.4.20.0-202510211040", done_at=12.0)
    watches, timed_out = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    report = by_name(watches)["nfd"]
    assert not timed_out
    assert report["state"] == "succeeded" and report["phase"] == "Succeeded"
    assert report["csv"] == "nfd.4.20.0-202510211040"
    assert report["approved"] == "" and cluster.patches == []
    # Noticed within one maximum backoff step of the change, and reported with the time it took.
    assert 12.0 <= clock.now <= 12.0 + 5.0
    assert report["seconds"] == pytest.approx(clock.now, abs=0.1)
    assert "observed" not in report


def test_polling_backs_off_while_nothing_changes_and_never_hammers(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=300.0)
    wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    assert clock.sleeps[0] == 0.5
    assert max(clock.sleeps) == 5.0
    assert min(clock.sleeps) >= 0.5
    # ~300 s mostly at the 5 s ceiling: about 60 polls, not 600.
    assert len(clock.sleeps) < 90


def test_backoff_resets_when_something_changes():
    backoff = waiter.Backoff(initial=0.5, maximum=5.0, factor=2.0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_poll_never_sleeps_past_the_deadline_and_probes_once_more_at_it():
    clock = Clock()
    calls = []

    def probe(elapsed):
        calls.append(elapsed)
        return False, elapsed, "same"

    result = waiter.poll(probe, 7, clock=clock, sleep=clock.sleep)
    assert result.timed_out and clock.now == pytest.approx(7.0)
    assert calls[-1] == pytest.approx(7.0)


def test_pinned_manual_plan_is_approved_once_and_nothing_else(cluster, clock):
    ns = "nvidia-gpu-operator"
    pinned = "gpu-operator-certified.v25.10.0"
    cluster.put(subscription("gpu-operator-certified", ns, "Manual", pinned))
    cluster.put(subscription("other", ns, "Manual"))
    cluster.at(1.0, resolve("gpu-operator-certified", ns, pinned, "install-pinned"))
    # Several CSVs in one plan, the pinned one last.
    cluster.at(1.0, lambda c: c.put(plan("install-pinned", ns, ["dep.v1", pinned], "Manual", "RequiresApproval")))

    def install_when_approved(c):
        if c.find("InstallPlan", "install-pinned", ns)["spec"]["approved"]:
            csv_phase(pinned, ns, "Succeeded")(c)
        else:
            c.at(c.clock.now + 1, install_when_approved)

    cluster.at(2.0, install_when_approved)
    watches, timed_out = wait(cluster, clock, [dict(name="gpu-operator-certified", namespace=ns, starting_csv=pinned)])
    report = by_name(watches)["gpu-operator-certified"]
    assert not timed_out and report["state"] == "succeeded"
    assert report["approved"] == "install-pinned"
    assert cluster.patches == [("InstallPlan", ns, "install-pinned", {"spec": {"approved": True}})]


def test_plan_for_another_csv_is_not_approved_and_fails_fast(cluster, clock):
    ns = "nvidia-gpu-operator"
    cluster.put(subscription("gpu-operator-certified", ns, "Manual", "gpu-operator-certified.v25.10.0"))
    cluster.at(1.0, resolve("gpu-operator-certified", ns, "gpu-operator-certified.v25.10.1", "install-x"))
    cluster.at(
        1.0,
        lambda c: c.put(plan("install-x", ns, ["gpu-operator-certified.v25.10.1"], "Manual", "RequiresApproval")),
    )
    refs = [dict(name="gpu-operator-certified", namespace=ns, starting_csv="gpu-operator-certified.v25.10.0")]
    watches, timed_out = wait(cluster, clock, refs)
    report = by_name(watches)["gpu-operator-certified"]
    assert not timed_out and cluster.patches == []
    assert report["state"] == "needs-approval"
    assert clock.now < 5
    assert "oc patch installplan install-x -n nvidia-gpu-operator" in report["diagnosis"]
    assert "gpu-operator-certified.v25.10.1" in report["diagnosis"]
    assert report["observed"]["installplan"]["csvs"] == ["gpu-operator-certified.v25.10.1"]


def test_approve_pinned_false_leaves_the_plan_alone(cluster, clock):
    ns = "openshift-nfd"
    cluster.put(subscription("nfd", ns, "Manual", "nfd.v1"))
    cluster.at(0.0, resolve("nfd", ns, "nfd.v1", "install-1"))
    cluster.at(0.0, lambda c: c.put(plan("install-1", ns, ["nfd.v1"], "Manual", "RequiresApproval")))
    watches, _ = wait(cluster, clock, [dict(name="nfd", namespace=ns, starting_csv="nfd.v1")], approve=False)
    assert cluster.patches == []
    assert by_name(watches)["nfd"]["state"] == "needs-approval"


def test_a_failed_csv_ends_the_wait_at_once_even_while_others_are_still_installing(cluster, clock):
    automatic_install(cluster, "slow", "ns-slow", "slow.v1", done_at=400.0)
    cluster.put(subscription("nfd", "openshift-nfd"))
    cluster.at(1.0, resolve("nfd", "openshift-nfd", "nfd.v1", "install-nfd"))
    cluster.at(2.0, csv_phase("nfd.v1", "openshift-nfd", "Installing"))
    cluster.at(
        6.0,
        csv_phase(
            "nfd.v1",
            "openshift-nfd",
            "Failed",
            "UnsupportedOperatorGroup",
            "AllNamespaces InstallModeType not supported, cannot configure to watch all namespaces",
        ),
    )
    refs = [dict(name="slow", namespace="ns-slow"), dict(name="nfd", namespace="openshift-nfd")]
    watches, timed_out = wait(cluster, clock, refs)
    reports = by_name(watches)
    assert not timed_out
    assert 6.0 <= clock.now < 12.0
    assert reports["nfd"]["state"] == "failed" and "UnsupportedOperatorGroup" in reports["nfd"]["diagnosis"]
    assert reports["slow"]["state"] == "installing"
    failed = next(w for w in watches if w.name == "nfd")
    message = failed.expectation()
    assert message.startswith("Subscription openshift-nfd/nfd: expected nfd.v1 to reach Succeeded, found failed")


def test_several_subscriptions_take_about_as_long_as_the_slowest(cluster, clock):
    for name, done in (("a", 3.0), ("b", 6.0), ("c", 9.0)):
        automatic_install(cluster, name, "ns-" + name, name + ".v1", done_at=done, start=0.2)
    refs = [dict(name=n, namespace="ns-" + n) for n in "abc"]
    watches, timed_out = wait(cluster, clock, refs)
    reports = by_name(watches)
    assert not timed_out
    assert all(r["state"] == "succeeded" for r in reports.values())
    assert 9.0 <= clock.now < 3.0 + 6.0 + 9.0
    assert reports["a"]["seconds"] < reports["b"]["seconds"] < reports["c"]["seconds"]


def test_timeout_reports_the_last_observed_objects(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=10_000.0)
    watches, timed_out = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")], timeout=60)
    report = by_name(watches)["nfd"]
    assert timed_out and clock.now == pytest.approx(60.0)
    assert report["state"] == "installing"
    observed = report["observed"]
    assert observed["csv"]["phase"] == "Installing" and observed["csv"]["reason"] == "InstallWaiting"
    assert observed["subscription"]["currentCSV"] == "nfd.v1"
    assert observed["installplan"]["name"] == "install-nfd"


def test_follows_current_csv_when_the_first_one_is_replaced(cluster, clock):
    ns = "openshift-serverless"
    automatic_install(cluster, "serverless-operator", ns, "serverless-operator.v1.37.0", done_at=1000.0)

    def replaced(c):
        c.delete("ClusterServiceVersion", "serverless-operator.v1.37.0", ns)
        resolve("serverless-operator", ns, "serverless-operator.v1.37.1", "install-2")(c)
        c.put(plan("install-2", ns, ["serverless-operator.v1.37.1"]))

    cluster.at(4.0, replaced)
    cluster.at(5.0, csv_phase("serverless-operator.v1.37.1", ns, "Installing"))
    cluster.at(8.0, csv_phase("serverless-operator.v1.37.1", ns, "Succeeded"))
    watches, timed_out = wait(cluster, clock, [dict(name="serverless-operator", namespace=ns)])
    report = by_name(watches)["serverless-operator"]
    assert not timed_out and report["state"] == "succeeded"
    assert report["csv"] == "serverless-operator.v1.37.1"
    assert clock.now < 20


def test_wrong_channel_fails_fast_listing_the_channels_that_exist(cluster, clock):
    cluster.put(subscription("nfd", "openshift-nfd", channel="stabel"))
    cluster.put(
        dict(
            apiVersion="packages.operators.coreos.com/v1",
            kind="PackageManifest",
            metadata=dict(name="nfd", namespace="openshift-marketplace", labels=dict(catalog="redhat-operators")),
            status=dict(catalogSource="redhat-operators", defaultChannel="stable", channels=[dict(name="stable")]),
        )
    )

    def fail(c):
        c.find("Subscription", "nfd", "openshift-nfd")["status"]["conditions"] = [
            dict(
                type="ResolutionFailed",
                status="True",
                reason="ConstraintsNotSatisfiable",
                message="constraints not satisfiable: no operators found in channel stabel of package nfd in the "
                "catalog referenced by subscription nfd, subscription nfd exists",
            )
        ]

    cluster.at(1.5, fail)
    watches, _ = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    report = by_name(watches)["nfd"]
    assert report["state"] == "failed" and clock.now < 5
    assert "Channels that exist: stable" in report["diagnosis"]


def test_blocked_state_gives_up_after_the_grace_period_not_the_timeout(cluster, clock):
    sub = subscription("kueue-operator", "openshift-kueue-operator")
    sub["status"] = dict(
        conditions=[
            dict(
                type="CatalogSourcesUnhealthy",
                status="True",
                reason="UnhealthyCatalogSourceFound",
                message="targeted catalogsource openshift-marketplace/redhat-operators unhealthy",
            )
        ]
    )
    cluster.put(sub)
    watches, timed_out = wait(cluster, clock, [dict(name="kueue-operator", namespace="openshift-kueue-operator")])
    report = by_name(watches)["kueue-operator"]
    assert not timed_out and report["state"] == "failed"
    assert csv_wait.STUCK_GRACE <= clock.now < csv_wait.STUCK_GRACE + 6
    assert "unhealthy" in report["diagnosis"] and "unchanged for" in report["diagnosis"]


def test_blocked_state_that_clears_does_not_fail(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=50.0, start=25.0)
    cluster.find("Subscription", "nfd", "openshift-nfd")["status"]["conditions"] = [
        dict(type="CatalogSourcesUnhealthy", status="True", reason="UnhealthyCatalogSourceFound", message="x")
    ]
    cluster.at(20.0, lambda c: c.find("Subscription", "nfd", "openshift-nfd")["status"].pop("conditions"))
    watches, _ = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    assert by_name(watches)["nfd"]["state"] == "succeeded"


def test_transient_api_errors_do_not_end_the_wait(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=5.0)
    cluster.fail_next_gets = 3
    watches, timed_out = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    assert not timed_out and by_name(watches)["nfd"]["state"] == "succeeded"


def test_progress_lines_are_written_once_per_change(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=30.0)
    lines = []
    wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")], progress=lines.append)
    states = [line.split()[2] for line in lines]
    assert states == ["resolving", "installing", "installing", "succeeded"]
    assert all("openshift-nfd/nfd:" in line for line in lines)


def test_preview_waits_for_nothing_and_approves_nothing(cluster, clock):
    ns = "nvidia-gpu-operator"
    cluster.put(subscription("gpu", ns, "Manual", "gpu.v1"))
    resolve("gpu", ns, "gpu.v1", "install-1")(cluster)
    cluster.put(plan("install-1", ns, ["gpu.v1"], "Manual", "RequiresApproval"))
    refs = [dict(name="gpu", namespace=ns, starting_csv="gpu.v1"), dict(name="absent", namespace="not-yet")]
    reports, would_approve = csv_wait.preview(cluster, refs, 900, True)
    assert would_approve and cluster.patches == []
    assert "Would approve InstallPlan install-1" in reports[0]["diagnosis"]
    assert "does not exist yet" in reports[1]["diagnosis"]


# --- the module as Ansible runs it -----------------------------------------------------------------------------------


class Exit(Exception):
    pass


def run_module(monkeypatch, fake, args):
    results = {}

    def exit_json(self, **kwargs):
        results.update(kwargs, failed=False)
        raise Exit()

    def fail_json(self, **kwargs):
        results.update(kwargs, failed=True)
        raise Exit()

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(csv_wait, "get_k8s", lambda module: fake)
    real_wait_all = csv_wait.wait_all
    monkeypatch.setattr(
        csv_wait, "wait_all", lambda *a, **kw: real_wait_all(*a, clock=fake.clock, sleep=fake.clock.sleep, **kw)
    )
    with patch_module_args(args), pytest.raises(Exit):
        csv_wait.main()
    return results


def test_module_success_and_changed_only_when_it_approved(monkeypatch, cluster):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=3.0)
    result = run_module(monkeypatch, cluster, dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")]))
    assert not result["failed"] and result["changed"] is False
    assert result["subscriptions"][0]["state"] == "succeeded"
    json.dumps(result)  # everything returned is serialisable


def test_module_accepts_the_list_the_roles_collect_and_echoes_the_component(monkeypatch, cluster):
    # olm_operator's subscribe entry point records {name, namespace, starting_csv, component}; site.yml passes that
    # list to csv_wait unchanged.
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=3.0)
    ref = dict(name="nfd", namespace="openshift-nfd", starting_csv="", component="nfd")
    result = run_module(monkeypatch, cluster, dict(subscriptions=[ref]))
    assert not result["failed"], result
    assert result["subscriptions"][0]["component"] == "nfd"


def test_module_failure_names_subscription_expectation_and_remedy(monkeypatch, cluster):
    cluster.put(subscription("nfd", "openshift-nfd"))
    resolve("nfd", "openshift-nfd", "nfd.v1", "install-nfd")(cluster)
    cluster.put(
        csv(
            "nfd.v1",
            "openshift-nfd",
            "Failed",
            "TooManyOperatorGroups",
            "csv created in namespace with multiple operatorgroups, can't pick one automatically",
        )
    )
    result = run_module(
        monkeypatch, cluster, dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")], timeout=60)
    )
    assert result["failed"]
    assert "Subscription openshift-nfd/nfd: expected nfd.v1 to reach Succeeded, found failed" in result["msg"]
    assert "oc get operatorgroups -n openshift-nfd" in result["msg"]
    assert cluster.clock.now < 1


def test_module_timeout_message(monkeypatch, cluster):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=1e6)
    result = run_module(
        monkeypatch, cluster, dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")], timeout=30)
    )
    assert result["failed"] and result["msg"].startswith("Timed out after 30 s.")
    assert "found installing (CSV nfd.v1 Installing)" in result["msg"]


def test_module_check_mode_does_not_fail_on_missing_objects(monkeypatch, cluster):
    args = dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")], _ansible_check_mode=True)
    result = run_module(monkeypatch, cluster, args)
    assert not result["failed"] and result["changed"] is False
    assert cluster.clock.sleeps == []
    assert "does not exist yet" in result["subscriptions"][0]["diagnosis"]


def test_module_progress_file(monkeypatch, cluster, tmp_path):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=3.0)
    path = tmp_path / "progress.log"
    args = dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")], progress_file=str(path))
    run_module(monkeypatch, cluster, args)
    lines = path.read_text().splitlines()
    assert lines[-1].split()[1:3] == ["openshift-nfd/nfd:", "succeeded"]
