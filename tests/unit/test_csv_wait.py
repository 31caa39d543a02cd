"""csv_wait's loop against a fake cluster whose objects change over simulated time (no sleeping, no cluster)."""

import copy
import json

import pytest

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import waiter
from ansible_collections.rhoai.gpu_infra.plugins.modules import csv_wait
from tests.unit.module_main import run_main

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


class ApiError(Exception):
    """Shaped like the dynamic client's errors: a status, a reason and summary() with the API's message."""

    def __init__(self, status, reason, message):
        super().__init__("{0}\nReason: {1}\nHTTP response headers: ...\nHTTP response body: ...".format(status, reason))
        self.status = status
        self.reason = reason
        self.message = message

    def summary(self):
        return self.message


FORBIDDEN_CLUSTER_WIDE = ApiError(
    403,
    "Forbidden",
    'subscriptions.operators.coreos.com is forbidden: User "system:serviceaccount:aap:installer" cannot list '
    'resource "subscriptions" in API group "operators.coreos.com" at the cluster scope',
)


def _selected(obj, selector):
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
            continue
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeCluster(object):
    """The facade of client.py over a dict of objects; `timeline` callbacks mutate it as simulated time passes."""

    def __init__(self, clock):
        self.clock = clock
        self.objects = {}
        self.events = []  # (time, function(cluster)) applied once when the clock passes time
        self.patches = []
        self.calls = []  # (method, kind, namespace) of every request
        self.selectors = []  # (kind, namespace, label_selector) of every LIST
        self.timeouts = []  # (clock, request_timeout) at every request
        self.fail_next_reads = 0
        self.errors = {}  # (method, kind, namespace) -> exception raised on every such request
        self.kinds_missing = set()
        self.request_timeout = None

    def has_kind(self, api_version, kind):
        return kind not in self.kinds_missing

    def _request(self, method, kind, namespace):
        self._advance()
        self.calls.append((method, kind, namespace))
        self.timeouts.append((self.clock.now, self.request_timeout))
        error = self.errors.get((method, kind, namespace))
        if error:
            raise error
        if self.fail_next_reads and method in ("get", "list"):
            self.fail_next_reads -= 1
            raise ApiError(503, "Service Unavailable", "the server is currently unable to handle the request")

    def count(self, method=None, kind=None):
        return sum(1 for m, k, _ in self.calls if method in (None, m) and kind in (None, k))

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
        self._request("get", kind, namespace)
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self._request("list", kind, namespace)
        self.selectors.append((kind, namespace, label_selector))
        items = [o for (k, ns, _), o in self.objects.items() if k == kind and (namespace is None or ns == namespace)]
        return copy.deepcopy([o for o in items if _selected(o, label_selector)])

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        assert not dry_run
        self._request("merge_patch", kind, namespace)
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


def operator_group(name, ns, spec=None, conditions=None):
    group = dict(apiVersion="operators.coreos.com/v1", kind="OperatorGroup", metadata=dict(name=name, namespace=ns))
    group["spec"] = {"targetNamespaces": [ns]} if spec is None else spec
    if conditions:
        group["status"] = dict(conditions=conditions)
    return group


def automatic_install(cluster, name, ns, csv_name, *, done_at, start=1.0):
    """A normal Automatic install: resolves at `start`, installs, Succeeded at `done_at`."""
    if not cluster.find("OperatorGroup", ns, ns):
        cluster.put(operator_group(ns, ns))
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
    outcome = csv_wait.wait_all(cluster, refs, timeout, clock=clock, sleep=clock.sleep, **kwargs)
    cluster.outcome = outcome
    return outcome.watches, outcome.timed_out


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


def test_a_succeeded_csv_reports_the_crds_it_owns_for_the_configure_steps(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=5.0)
    automatic_install(cluster, "kueue-operator", "openshift-kueue-operator", "kueue.v1", done_at=600.0)

    def owning(c):
        c.find("ClusterServiceVersion", "nfd.v1", "openshift-nfd")["spec"]["customresourcedefinitions"] = {
            "owned": [
                {"name": "nodefeaturerules.nfd.openshift.io"},
                {"name": "nodefeaturediscoveries.nfd.openshift.io"},
            ]
        }

    cluster.at(5.0, owning)
    watches, timed_out = wait(
        cluster,
        clock,
        [
            dict(name="nfd", namespace="openshift-nfd"),
            dict(name="kueue-operator", namespace="openshift-kueue-operator"),
        ],
        timeout=60,
    )
    reports = by_name(watches)
    assert timed_out
    assert reports["nfd"]["owned_crds"] == [
        "nodefeaturediscoveries.nfd.openshift.io",
        "nodefeaturerules.nfd.openshift.io",
    ]
    # Not Succeeded: OLM has not vouched for its CRDs, so none are named and the configure steps still wait for them.
    assert "owned_crds" not in reports["kueue-operator"]


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


def test_budget_allows_a_burst_then_paces_to_the_rate():
    clock = Clock()
    budget = waiter.Budget(rate=2.0, burst=6, clock=clock)
    assert budget.delay(2) == 0
    budget.spend(2)
    budget.spend(2)
    assert budget.delay(2) == 0  # 2 tokens left
    budget.spend(2)
    assert budget.delay(2) == pytest.approx(1.0)  # empty: 2 requests take 1 s to earn at 2/s
    clock.now += 1.0
    assert budget.delay(2) == 0
    clock.now += 100
    budget.spend(0)
    assert budget.delay(7) == pytest.approx(0.5)  # never more than the burst is saved up


def test_poll_waits_at_least_what_pace_asks():
    clock = Clock()
    result = waiter.poll(lambda elapsed: (False, None, elapsed), 10, clock=clock, sleep=clock.sleep, pace=lambda: 3)
    assert result.timed_out
    assert clock.sleeps[:3] == [3, 3, 3] and clock.sleeps[-1] == pytest.approx(1.0)


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


KUADRANT = "kuadrant-system"
# OLM names the Subscriptions it makes for a bundle's required packages itself.
DNS_SUB = "dns-operator-stable-redhat-operators-kuadrant-system"


def dependency_subscription(cluster, at, csv_name, *, done_at):
    """OLM makes the Subscription to package dns-operator at `at`, from the InstallPlan of rhcl-operator."""

    def make(c):
        sub = subscription("dns-operator", KUADRANT)
        sub["metadata"]["name"] = DNS_SUB
        c.put(sub)
        resolve(DNS_SUB, KUADRANT, csv_name, "install-rhcl-operator")(c)

    cluster.at(at, make)
    cluster.at(done_at, csv_phase(csv_name, KUADRANT, "Succeeded", "InstallSucceeded"))


def test_a_subscription_given_by_package_is_waited_for_until_olm_makes_it(cluster, clock):
    automatic_install(cluster, "rhcl-operator", KUADRANT, "rhcl-operator.v1.2.0", done_at=5.0)
    dependency_subscription(cluster, 20.0, "dns-operator.v0.14.0", done_at=25.0)
    refs = [dict(name="rhcl-operator", namespace=KUADRANT), dict(package="dns-operator", namespace=KUADRANT)]
    watches, timed_out = wait(cluster, clock, refs)
    assert not timed_out
    rhcl, dns = [w.report() for w in watches]
    assert rhcl["state"] == "succeeded" and (rhcl["name"], rhcl["package"]) == ("rhcl-operator", "")
    assert dns["state"] == "succeeded" and dns["csv"] == "dns-operator.v0.14.0"
    assert (dns["name"], dns["package"]) == (DNS_SUB, "dns-operator")
    assert 25.0 <= clock.now <= 30.0


def test_each_subscription_is_reported_with_its_labels_so_a_caller_needs_no_second_read(cluster, clock):
    """Connectivity Link's configure labels the Subscriptions OLM made for rhcl-operator's dependencies only when
    rhcl-operator's is this collection's, and only those not labelled yet: it tells both from this result."""
    automatic_install(cluster, "rhcl-operator", KUADRANT, "rhcl-operator.v1.2.0", done_at=5.0)
    ours = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "connectivity_link"}
    cluster.find("Subscription", "rhcl-operator", KUADRANT)["metadata"]["labels"] = dict(ours)
    dependency_subscription(cluster, 2.0, "dns-operator.v0.14.0", done_at=6.0)
    refs = [
        dict(name="rhcl-operator", namespace=KUADRANT),
        dict(package="dns-operator", namespace=KUADRANT),
        dict(package="limitador-operator", namespace=KUADRANT),
    ]
    watches, _ = wait(cluster, clock, refs, timeout=20)
    rhcl, dns, limitador = [w.report() for w in watches]
    assert rhcl["labels"] == ours
    assert dns["labels"] == {} and dns["name"] == DNS_SUB
    # Never made: no name and no labels, so nothing to label.
    assert limitador["labels"] == {} and limitador["name"] == ""


def test_a_package_nobody_subscribes_to_fails_30_s_after_its_namespace_installed_an_operator(cluster, clock):
    automatic_install(cluster, "rhcl-operator", KUADRANT, "rhcl-operator.v1.2.0", done_at=40.0)
    refs = [dict(name="rhcl-operator", namespace=KUADRANT), dict(package="dns-operator", namespace=KUADRANT)]
    watches, timed_out = wait(cluster, clock, refs)
    dns = watches[1].report()
    assert not timed_out and dns["state"] == "failed" and dns["name"] == ""
    # Nothing in the namespace installed yet is no reason to give up: the grace starts once rhcl-operator is in (each
    # change is seen up to a poll late).
    assert 40.0 + csv_wait.STUCK_GRACE <= clock.now < 40.0 + csv_wait.STUCK_GRACE + 12
    assert "No Subscription to package dns-operator exists in namespace kuadrant-system" in dns["diagnosis"]
    assert "rhcl-operator there is installed" in dns["diagnosis"] and "InstallPlan" in dns["diagnosis"]
    assert "(the Subscription to package dns-operator)" in watches[1].expectation()


def test_transient_api_errors_do_not_end_the_wait(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=5.0)
    cluster.fail_next_reads = 3
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
    reports, would_approve, _ = csv_wait.preview(cluster, refs, 900, True, clock=clock)
    assert would_approve and cluster.patches == []
    assert "Would approve InstallPlan install-1" in reports[0]["diagnosis"]
    assert "does not exist yet" in reports[1]["diagnosis"]


# --- what real OLM v0.46.0 shows (shapes from the trial against the real OLM) -----------------------------------------

MULTIPLE_OG = dict(
    type="MultipleOperatorGroup",
    status="True",
    reason="MultipleOperatorGroupsFound",
    message="Multiple OperatorGroup found in the same namespace",
)
HEALTHY = dict(
    type="CatalogSourcesUnhealthy",
    status="False",
    reason="AllCatalogSourcesHealthy",
    message="all available catalogsources are healthy",
)


def real_install(cluster, name, ns, csv_name, *, start, done_at):
    """Real OLM's sequence (trial 4.a): UpgradePending, then CSV Pending twice, InstallReady, Installing, Succeeded."""
    deployment = name + "-controller"
    if not cluster.find("OperatorGroup", ns, ns):
        cluster.put(operator_group(ns, ns))
    cluster.put(subscription(name, ns))
    cluster.at(start, resolve(name, ns, csv_name, "install-" + name))
    cluster.at(start, lambda c: c.put(plan("install-" + name, ns, [csv_name])))

    def created(c):
        csv_phase(csv_name, ns, "Pending", "RequirementsUnknown", "requirements not yet checked")(c)
        c.find("Subscription", name, ns)["status"]["installedCSV"] = csv_name

    cluster.at(start + 0.6, created)
    steps = [
        (1.0, "Pending", "RequirementsNotMet", "one or more requirements couldn't be found"),
        (2.0, "InstallReady", "AllRequirementsMet", "all requirements found, attempting install"),
        (2.5, "Installing", "InstallSucceeded", "waiting for install components to report healthy"),
        (
            3.0,
            "Installing",
            "InstallWaiting",
            'installing: waiting for deployment {0} to become ready: deployment "{0}" not available: Deployment does '
            "not have minimum availability.".format(deployment),
        ),
    ]
    for offset, phase, reason, message in steps:
        cluster.at(start + offset, csv_phase(csv_name, ns, phase, reason, message))

    def succeeded(c):
        csv_phase(csv_name, ns, "Succeeded", "InstallSucceeded", "install strategy completed with no errors")(c)
        c.find("InstallPlan", "install-" + name, ns)["status"]["phase"] = "Complete"

    cluster.at(done_at, succeeded)


def test_ten_operators_cost_at_most_two_requests_per_second(cluster, clock):
    refs = []
    for i in range(10):
        name, ns = "op{0}".format(i), "ns-{0}".format(i)
        real_install(cluster, name, ns, name + ".v1.0.0", start=0.5 + 0.5 * i, done_at=20.0 + 5.5 * i)
        refs.append(dict(name=name, namespace=ns))
    watches, timed_out = wait(cluster, clock, refs)
    outcome = cluster.outcome
    assert not timed_out and all(r["state"] == "succeeded" for r in by_name(watches).values())
    assert outcome.requests == len(cluster.calls)
    assert outcome.requests / outcome.elapsed <= 2.0, (outcome.requests, outcome.elapsed)
    # One LIST per kind per round (cluster-wide while several namespaces are waited for), never one GET per
    # Subscription or CSV; InstallPlans only in the moment between a plan and its CSV.
    assert cluster.count("get", "Subscription") == cluster.count("get", "ClusterServiceVersion") == 0
    rounds = {}
    for (at, _), (method, kind, ns) in zip(cluster.timeouts, cluster.calls):
        rounds.setdefault(at, []).append((method, kind, ns))
    for calls in rounds.values():
        assert [k for _, k, _ in calls].count("Subscription") == 1
        assert [k for _, k, _ in calls].count("ClusterServiceVersion") <= 1
    assert {ns for _, k, ns in cluster.calls if k == "Subscription"} == {None, "ns-9"}  # ns-9 is last alone
    assert cluster.count("get", "InstallPlan") <= 10 * 2
    # The last install is noticed within a few seconds, pacing or not.
    assert clock.now < 20.0 + 5.5 * 9 + 6


def test_one_namespace_is_read_with_namespaced_lists(cluster, clock):
    real_install(cluster, "a", "shared", "a.v1", start=1.0, done_at=12.0)
    real_install(cluster, "b", "shared", "b.v1", start=1.5, done_at=14.0)
    wait(cluster, clock, [dict(name="a", namespace="shared"), dict(name="b", namespace="shared")])
    assert {ns for _, k, ns in cluster.calls if k in ("Subscription", "ClusterServiceVersion")} == {"shared"}


def test_copied_csvs_are_excluded_from_every_list_and_never_count(cluster, clock):
    # allns-op runs in `operators` with AllNamespaces; OLM copied its CSV into team-a, where another Subscription
    # for the same package waits for a CSV of that very name (trial 4.a: label olm.copiedFrom, reason Copied).
    copied = csv(
        "allns-op.v1.1.0",
        "team-a",
        "Succeeded",
        "Copied",
        "The operator is running in operators but is managing this namespace",
    )
    copied["metadata"]["labels"] = {"olm.copiedFrom": "operators", "olm.managed": "true"}
    cluster.put(copied)
    automatic_install(cluster, "allns-op", "team-a", "allns-op.v1.1.0", done_at=1e6)
    watches, timed_out = wait(cluster, clock, [dict(name="allns-op", namespace="team-a")], timeout=30)
    assert timed_out and by_name(watches)["allns-op"]["state"] == "installing"
    csv_lists = [sel for kind, _, sel in cluster.selectors if kind == "ClusterServiceVersion"]
    assert csv_lists and all(sel == "!olm.copiedFrom" for sel in csv_lists)


def test_copies_that_a_selector_lets_through_still_do_not_count(cluster, clock, monkeypatch):
    monkeypatch.setattr(csv_wait, "NOT_COPIES", None)
    copied = csv(
        "x.v1", "ns-x", "Succeeded", "Copied", "The operator is running in operators but is managing this namespace"
    )
    cluster.put(copied)
    automatic_install(cluster, "x", "ns-x", "x.v1", done_at=1e6)
    watches, _ = wait(cluster, clock, [dict(name="x", namespace="ns-x")], timeout=20)
    assert by_name(watches)["x"]["state"] != "succeeded"


def test_two_operator_groups_fail_after_the_grace_naming_them(cluster, clock):
    ns = "two-og"
    cluster.put(operator_group("og-a", ns, conditions=[MULTIPLE_OG]))
    cluster.put(operator_group("og-b", ns, spec={}, conditions=[MULTIPLE_OG]))
    sub = subscription("simple-op", ns)
    sub["status"] = dict(conditions=[HEALTHY])  # all real OLM writes: no state, no plan, no other condition
    cluster.put(sub)
    watches, timed_out = wait(cluster, clock, [dict(name="simple-op", namespace=ns)])
    report = by_name(watches)["simple-op"]
    assert not timed_out and report["state"] == "failed"
    assert csv_wait.OPERATOR_GROUP_GRACE <= clock.now < csv_wait.OPERATOR_GROUP_GRACE + 6
    assert "expected exactly one OperatorGroup in namespace two-og, found 2 OperatorGroups" in report["diagnosis"]
    assert "og-a, og-b; MultipleOperatorGroupsFound: Multiple OperatorGroup found" in report["diagnosis"]
    # OperatorGroups are read only once the grace has passed.
    first = next(t for (t, _), (m, k, _) in zip(cluster.timeouts, cluster.calls) if k == "OperatorGroup")
    assert first >= csv_wait.OPERATOR_GROUP_GRACE


def test_no_operator_group_fails_after_a_shorter_grace_when_asked(cluster, clock):
    cluster.put(subscription("simple-op", "no-og"))
    watches, _ = wait(cluster, clock, [dict(name="simple-op", namespace="no-og")], group_grace=5)
    report = by_name(watches)["simple-op"]
    assert report["state"] == "failed" and 5 <= clock.now < 11
    assert "found 0 OperatorGroups in namespace no-og" in report["diagnosis"]


def test_one_operator_group_and_a_slow_olm_keep_the_wait_going(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", start=45.0, done_at=50.0)
    watches, _ = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    assert by_name(watches)["nfd"]["state"] == "succeeded"


def test_a_failed_phase_olm_leaves_within_a_second_does_not_end_the_wait(cluster, clock):
    ns = "stuck-ns"
    automatic_install(cluster, "op", ns, "op.v1", done_at=40.0)
    unhealthy = (
        'installing: waiting for deployment op-controller to become ready: deployment "op-controller" not '
        "available: Deployment does not have minimum availability."
    )
    # Trial 6.1: Succeeded -> Failed ComponentUnhealthy -> Pending NeedsReinstall about a second later.
    cluster.at(3.0, csv_phase("op.v1", ns, "Failed", "ComponentUnhealthy", unhealthy))
    cluster.at(4.0, csv_phase("op.v1", ns, "Pending", "NeedsReinstall", "calculated deployment install is bad"))
    cluster.at(5.0, csv_phase("op.v1", ns, "Installing", "InstallWaiting", unhealthy))
    lines = []
    watches, timed_out = wait(cluster, clock, [dict(name="op", namespace=ns)], progress=lines.append)
    assert any(" failed " in line and "ComponentUnhealthy" in line for line in lines), lines  # it was seen
    assert not timed_out and by_name(watches)["op"]["state"] == "succeeded"


def test_an_owner_conflict_ends_the_wait_though_olm_cycles_through_reinstalls(cluster, clock):
    ns = "shared-ns"
    automatic_install(cluster, "op", ns, "op.v1", done_at=1e6)
    # OLM v0.46: Pending -> Failed OwnerConflict -> Pending NeedsReinstall -> OwnerConflict again, every few seconds,
    # for as long as another CSV of the namespace owns the CRD.
    for start in range(3, 300, 3):
        cluster.at(
            float(start), csv_phase("op.v1", ns, "Failed", "OwnerConflict", "conflicting CRD owner in namespace")
        )
        cluster.at(start + 1.0, csv_phase("op.v1", ns, "Pending", "NeedsReinstall", "install is bad"))
    watches, timed_out = wait(cluster, clock, [dict(name="op", namespace=ns)])
    report = by_name(watches)["op"]
    assert not timed_out and report["state"] == "failed" and clock.now < 10, (clock.now, report)
    assert "conflicting CRD owner" in report["diagnosis"] and "customresourcedefinitions.owned" in report["diagnosis"]


def test_a_transient_looking_failure_that_holds_ends_the_wait_once_confirmed(cluster, clock):
    ns = "stuck-ns"
    automatic_install(cluster, "op", ns, "op.v1", done_at=1e6)
    cluster.at(3.0, csv_phase("op.v1", ns, "Failed", "InstallCheckFailed", "install timeout"))
    watches, timed_out = wait(cluster, clock, [dict(name="op", namespace=ns)])
    report = by_name(watches)["op"]
    assert not timed_out and report["state"] == "failed"
    assert 3.0 + csv_wait.FAILED_CONFIRM <= clock.now < 3.0 + csv_wait.FAILED_CONFIRM + 6
    assert "install timeout" in report["diagnosis"] and "still Failed after" in report["diagnosis"]


def test_a_failure_olm_went_on_from_is_kept_in_the_timeout_message(cluster, clock):
    ns = "stuck-ns"
    automatic_install(cluster, "op", ns, "op.v1", done_at=1e6)
    cluster.at(2.0, csv_phase("op.v1", ns, "Failed", "InstallCheckFailed", "install timeout"))
    cluster.at(3.5, csv_phase("op.v1", ns, "Pending", "NeedsReinstall", "installing: deployment changed"))
    watches, timed_out = wait(cluster, clock, [dict(name="op", namespace=ns)], timeout=60)
    report = by_name(watches)["op"]
    assert timed_out and report["state"] == "installing"
    assert "went on by itself from: CSV op.v1 failed (InstallCheckFailed: install timeout)" in report["diagnosis"]


def test_installed_csv_failed_while_upgrade_waits_is_a_failure_naming_both(cluster, clock):
    # Trial 4.d2: v1.0.0 installed and pinned; the v1.1.0 plan waits; a second OperatorGroup fails v1.0.0.
    ns = "manual-ns"
    sub = subscription("manual-op", ns, "Manual", "manual-op.v1.0.0")
    sub["status"] = dict(
        state="UpgradePending",
        currentCSV="manual-op.v1.1.0",
        installedCSV="manual-op.v1.0.0",
        installPlanRef=dict(apiVersion=OLM, kind="InstallPlan", name="install-k7729", namespace=ns),
    )
    cluster.put(sub)
    cluster.put(plan("install-k7729", ns, ["manual-op.v1.1.0"], "Manual", "RequiresApproval"))
    cluster.put(
        csv(
            "manual-op.v1.0.0",
            ns,
            "Failed",
            "TooManyOperatorGroups",
            "csv created in namespace with multiple operatorgroups, can't pick one automatically",
        )
    )
    watches, _ = wait(cluster, clock, [dict(name="manual-op", namespace=ns, starting_csv="manual-op.v1.0.0")])
    report = by_name(watches)["manual-op"]
    assert report["state"] == "failed" and clock.now < 1 and cluster.patches == []
    assert "TooManyOperatorGroups: csv created in namespace with multiple operatorgroups" in report["diagnosis"]
    assert "the upgrade to manual-op.v1.1.0 waits for manual approval" in report["diagnosis"]


def test_a_broken_sibling_subscription_is_named_first(cluster, clock):
    # Trial 4.h: ghost (no such package) and simple-op in one namespace; OLM writes ghost's failure on both.
    ns = "operators"
    cluster.put(operator_group("global-operators", ns, spec={}))
    message = (
        "constraints not satisfiable: no operators found in package ghost-op in the catalog referenced by "
        "subscription ghost, subscription ghost exists"
    )
    for name, package in (("simple-op", "simple-op"), ("ghost", "ghost-op")):
        sub = subscription(name, ns)
        sub["spec"]["name"] = package
        sub["status"] = dict(
            conditions=[
                HEALTHY,
                dict(type="ResolutionFailed", status="True", reason="ConstraintsNotSatisfiable", message=message),
            ]
        )
        cluster.put(sub)
    watches, _ = wait(cluster, clock, [dict(name="simple-op", namespace=ns)])
    report = by_name(watches)["simple-op"]
    assert report["state"] == "failed" and clock.now < 1
    assert report["diagnosis"].startswith(
        "Resolution of namespace operators fails because of Subscription ghost (package ghost-op, channel stable"
    )
    assert "Check that package simple-op" not in report["diagnosis"]


def test_a_missing_catalog_source_is_named(cluster, clock):
    sub = subscription("simple-op", "olm")
    sub["spec"]["source"] = "missing-catalog"
    sub["status"] = dict(
        conditions=[
            dict(
                type="CatalogSourcesUnhealthy",
                status="True",
                reason="UnhealthyCatalogSourceFound",
                message="targeted catalogsource olm/missing-catalog missing",
            ),
            dict(
                type="ResolutionFailed",
                status="True",
                reason="ConstraintsNotSatisfiable",
                message="constraints not satisfiable: no operators found from catalog missing-catalog in namespace "
                "olm referenced by subscription simple-op, subscription simple-op exists",
            ),
        ]
    )
    cluster.put(sub)
    watches, _ = wait(cluster, clock, [dict(name="simple-op", namespace="olm")])
    assert "CatalogSource missing-catalog in namespace olm does not exist" in by_name(watches)["simple-op"]["diagnosis"]


def test_a_csv_left_without_its_subscription_is_named_not_the_catalog(cluster, clock):
    # A teardown interrupted between deleting the Subscription and its CSV, then site: OLM 0.46's own message.
    sub = subscription("gpu-operator-certified", "nvidia-gpu-operator")
    sub["status"] = dict(
        conditions=[
            HEALTHY,
            dict(
                type="ResolutionFailed",
                status="True",
                reason="ConstraintsNotSatisfiable",
                message="constraints not satisfiable: @existing/nvidia-gpu-operator//gpu-operator-certified.v25.10.0 "
                "and certified-operators/openshift-marketplace/v25.10/gpu-operator-certified.v25.10.0 originate from "
                "package gpu-operator-certified, clusterserviceversion gpu-operator-certified.v25.10.0 exists and is "
                "not referenced by a subscription, subscription gpu-operator-certified exists, subscription "
                "gpu-operator-certified requires certified-operators/openshift-marketplace/v25.10/"
                "gpu-operator-certified.v25.10.0",
            ),
        ]
    )
    cluster.put(sub)
    watches, _ = wait(cluster, clock, [dict(name="gpu-operator-certified", namespace="nvidia-gpu-operator")])
    report = by_name(watches)["gpu-operator-certified"]
    assert report["state"] == "failed" and clock.now < 1
    assert "oc delete csv gpu-operator-certified.v25.10.0 -n nvidia-gpu-operator" in report["diagnosis"]
    assert "Check that package" not in report["diagnosis"]


# --- API errors and the deadline -------------------------------------------------------------------------------------


def test_rejected_credentials_end_the_wait_at_once_keeping_the_api_message(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=5.0)
    cluster.errors[("list", "Subscription", "openshift-nfd")] = ApiError(401, "Unauthorized", "Unauthorized")
    watches, timed_out = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    report = by_name(watches)["nfd"]
    assert not timed_out and report["state"] == "failed" and clock.now < 1
    assert "rejected the credentials (401 Unauthorized: Unauthorized)" in report["diagnosis"]
    assert "oc login" in report["diagnosis"] and "oc whoami" in report["diagnosis"]


def test_forbidden_cluster_wide_lists_fall_back_to_namespaced_ones(cluster, clock):
    automatic_install(cluster, "a", "ns-a", "a.v1", done_at=5.0)
    automatic_install(cluster, "b", "ns-b", "b.v1", done_at=6.0)
    for kind in ("Subscription", "ClusterServiceVersion"):
        cluster.errors[("list", kind, None)] = FORBIDDEN_CLUSTER_WIDE
    watches, timed_out = wait(cluster, clock, [dict(name="a", namespace="ns-a"), dict(name="b", namespace="ns-b")])
    assert not timed_out and all(r["state"] == "succeeded" for r in by_name(watches).values())
    assert cluster.calls.count(("list", "Subscription", None)) == 1  # tried once, then per namespace


def test_forbidden_namespace_is_a_final_failure_with_the_rbac_to_grant(cluster, clock):
    automatic_install(cluster, "a", "ns-a", "a.v1", done_at=8.0)
    automatic_install(cluster, "b", "ns-b", "b.v1", done_at=1e6)
    cluster.errors[("list", "Subscription", None)] = FORBIDDEN_CLUSTER_WIDE
    cluster.errors[("list", "Subscription", "ns-b")] = ApiError(
        403,
        "Forbidden",
        'subscriptions.operators.coreos.com is forbidden: User "installer" cannot list resource "subscriptions" in '
        'API group "operators.coreos.com" in the namespace "ns-b"',
    )
    watches, timed_out = wait(cluster, clock, [dict(name="a", namespace="ns-a"), dict(name="b", namespace="ns-b")])
    reports = by_name(watches)
    assert not timed_out and clock.now < 1
    assert reports["b"]["state"] == "failed"
    assert 'cannot list resource "subscriptions"' in reports["b"]["diagnosis"]
    assert "oc auth can-i list subscriptions.operators.coreos.com -n ns-b" in reports["b"]["diagnosis"]
    assert reports["a"]["state"] != "failed"


def test_missing_olm_api_is_a_final_failure_before_any_request(cluster, clock):
    cluster.put(subscription("nfd", "openshift-nfd"))
    cluster.kinds_missing = {"Subscription", "InstallPlan", "ClusterServiceVersion"}
    watches, timed_out = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")])
    report = by_name(watches)["nfd"]
    assert not timed_out and report["state"] == "failed" and cluster.calls == []
    assert "does not serve Subscription, InstallPlan, ClusterServiceVersion" in report["diagnosis"]
    assert "OLM" in report["diagnosis"] and "oc api-resources --api-group=operators.coreos.com" in report["diagnosis"]


def test_an_api_that_keeps_failing_times_out_naming_the_error(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=5.0)
    cluster.fail_next_reads = 10_000
    watches, timed_out = wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")], timeout=40)
    assert timed_out
    message = watches[0].expectation()
    assert "The last attempt to read it failed: 503 Service Unavailable: the server is currently unable" in message


def test_no_request_may_outlast_the_deadline(cluster, clock):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=1e6)
    wait(cluster, clock, [dict(name="nfd", namespace="openshift-nfd")], timeout=45)
    assert cluster.timeouts
    for at, timeout in cluster.timeouts:
        assert timeout <= csv_wait.REQUEST_TIMEOUT and at + timeout <= 45 + 1.0, (at, timeout)
    assert cluster.timeouts[-1][1] == pytest.approx(1.0)  # the read at the deadline gets the 1 s floor


# --- the module as Ansible runs it -----------------------------------------------------------------------------------


def run_module(monkeypatch, fake, args):
    monkeypatch.setattr(csv_wait, "get_k8s", lambda module, **kwargs: fake)
    real_wait_all = csv_wait.wait_all
    monkeypatch.setattr(
        csv_wait, "wait_all", lambda *a, **kw: real_wait_all(*a, clock=fake.clock, sleep=fake.clock.sleep, **kw)
    )
    return run_main(monkeypatch, csv_wait.main, args)


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


def test_module_timeout_message_says_what_to_do(monkeypatch, cluster):
    # A slow install is not a failed one: the message says that nothing is undone, and how to go on or look closer.
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=1e6)
    result = run_module(
        monkeypatch, cluster, dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")], timeout=30)
    )
    assert result["failed"]
    assert "re-run with a longer timeout (<component>_timeout" in result["msg"]
    assert "oc get csv,installplan,pods -n openshift-nfd" in result["msg"]


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


def test_module_returns_the_requests_made_and_the_time_taken(monkeypatch, cluster):
    automatic_install(cluster, "nfd", "openshift-nfd", "nfd.v1", done_at=12.0)
    result = run_module(monkeypatch, cluster, dict(subscriptions=[dict(name="nfd", namespace="openshift-nfd")]))
    assert result["api_requests"] == len(cluster.calls) > 0
    assert result["elapsed"] == pytest.approx(cluster.clock.now, abs=0.2)


def test_module_returns_the_requests_made_and_the_time_taken_also_on_failure(monkeypatch, cluster):
    args = dict(subscriptions=[dict(name="absent", namespace="openshift-nfd")], timeout=40)
    result = run_module(monkeypatch, cluster, args)
    assert result["failed"] and result["api_requests"] == len(cluster.calls) > 0
    assert result["elapsed"] == pytest.approx(csv_wait.STUCK_GRACE, abs=6)


def test_module_operator_group_grace_option(monkeypatch, cluster):
    cluster.put(subscription("simple-op", "no-og"))
    args = dict(subscriptions=[dict(name="simple-op", namespace="no-og")], operator_group_grace=3)
    result = run_module(monkeypatch, cluster, args)
    assert result["failed"] and "found 0 OperatorGroups in namespace no-og" in result["msg"]
    assert cluster.clock.now < 10


def test_operator_groups_that_cannot_be_read_leave_the_wait_going_with_a_note(cluster, clock):
    for name in ("a", "b"):
        cluster.put(subscription(name, "locked"))
    cluster.errors[("list", "OperatorGroup", "locked")] = ApiError(
        403, "Forbidden", 'operatorgroups.operators.coreos.com is forbidden: User "installer" cannot list resource'
    )
    refs = [dict(name="a", namespace="locked"), dict(name="b", namespace="locked")]
    watches, timed_out = wait(cluster, clock, refs, timeout=40)
    assert timed_out and by_name(watches)["a"]["state"] == "resolving"
    assert "Its OperatorGroups could not be read" in by_name(watches)["a"]["diagnosis"]
    # Both Subscriptions share one read per round.
    og_rounds = {at for (at, _), (_, kind, _) in zip(cluster.timeouts, cluster.calls) if kind == "OperatorGroup"}
    assert cluster.count("list", "OperatorGroup") == len(og_rounds)


def test_approval_the_credentials_may_not_make_is_a_final_failure(cluster, clock):
    ns = "nvidia-gpu-operator"
    cluster.put(subscription("gpu", ns, "Manual", "gpu.v1"))
    resolve("gpu", ns, "gpu.v1", "install-1")(cluster)
    cluster.put(plan("install-1", ns, ["gpu.v1"], "Manual", "RequiresApproval"))
    cluster.errors[("merge_patch", "InstallPlan", ns)] = ApiError(
        403, "Forbidden", 'installplans.operators.coreos.com "install-1" is forbidden: User "viewer" cannot patch'
    )
    watches, _ = wait(cluster, clock, [dict(name="gpu", namespace=ns, starting_csv="gpu.v1")])
    report = by_name(watches)["gpu"]
    assert report["state"] == "failed" and clock.now < 1 and report["approved"] == ""
    assert report["diagnosis"].startswith("Could not approve InstallPlan install-1: the credentials lack permission")
    assert "cannot patch" in report["diagnosis"] and "approve it by hand" in report["diagnosis"]


@pytest.mark.parametrize(
    "ref",
    [dict(namespace="openshift-nfd"), dict(name="nfd", package="nfd", namespace="openshift-nfd")],
    ids=["neither", "both"],
)
def test_module_wants_exactly_one_of_name_and_package(monkeypatch, cluster, ref):
    result = run_module(monkeypatch, cluster, dict(subscriptions=[ref]))
    assert result["failed"] and "name" in result["msg"] and "package" in result["msg"], result
    assert cluster.calls == []


KUEUE_NS = "openshift-kueue-operator"


def _waiting_upgrade(cluster, approval):
    """An installed operator whose upgrade plan OLM made while the namespace was Manual, and still waits."""
    name, ns, installed, upgrade, plan_name = "kueue-operator", KUEUE_NS, "kueue.v1.0.0", "kueue.v1.1.0", "install-up"
    sub = subscription(name, ns, approval)
    sub["status"] = dict(
        state="UpgradePending",
        currentCSV=upgrade,
        installedCSV=installed,
        installPlanRef=dict(apiVersion=OLM, kind="InstallPlan", name=plan_name, namespace=ns),
    )
    cluster.put(sub)
    cluster.put(plan(plan_name, ns, [upgrade], "Manual", "RequiresApproval"))
    cluster.put(csv(installed, ns, "Succeeded"))

    def upgrade_when_approved(c):
        if c.find("InstallPlan", plan_name, ns)["spec"]["approved"]:
            csv_phase(upgrade, ns, "Succeeded")(c)
        else:
            c.at(c.clock.now + 1, upgrade_when_approved)

    cluster.at(1.0, upgrade_when_approved)


def test_a_plan_left_waiting_by_manual_approval_is_approved_once_the_namespace_is_automatic(cluster, clock):
    # Switched from Manual to Automatic: OLM keeps the waiting plan Manual and makes no other, so nothing would move.
    ns = KUEUE_NS
    _waiting_upgrade(cluster, "Automatic")
    watches, timed_out = wait(cluster, clock, [dict(name="kueue-operator", namespace=ns)])
    report = by_name(watches)["kueue-operator"]
    assert not timed_out and report["state"] == "succeeded" and report["csv"] == "kueue.v1.1.0"
    assert report["approved"] == "install-up"
    assert cluster.patches == [("InstallPlan", ns, "install-up", {"spec": {"approved": True}})]


def test_a_waiting_plan_stays_unapproved_while_a_subscription_of_the_namespace_is_manual(cluster, clock):
    ns = KUEUE_NS
    _waiting_upgrade(cluster, "Automatic")
    cluster.put(subscription("someone-elses", ns, "Manual"))
    watches, _ = wait(cluster, clock, [dict(name="kueue-operator", namespace=ns)])
    report = by_name(watches)["kueue-operator"]
    assert cluster.patches == [] and report["approved"] == ""
    assert report["state"] == "succeeded" and report["csv"] == "kueue.v1.0.0"
    assert "the upgrade to kueue.v1.1.0 waits for manual approval" in report["diagnosis"]


def test_a_manual_subscription_keeps_its_upgrade_waiting(cluster, clock):
    ns = KUEUE_NS
    _waiting_upgrade(cluster, "Manual")
    watches, _ = wait(cluster, clock, [dict(name="kueue-operator", namespace=ns)])
    assert cluster.patches == [] and by_name(watches)["kueue-operator"]["csv"] == "kueue.v1.0.0"


def test_check_mode_says_it_would_approve_a_left_over_plan_and_approves_nothing(cluster, clock):
    ns = KUEUE_NS
    _waiting_upgrade(cluster, "Automatic")
    reports, would_approve, _ = csv_wait.preview(cluster, [dict(name="kueue-operator", namespace=ns)], 900, True)
    assert would_approve and cluster.patches == []
    assert reports[0]["diagnosis"].startswith("Would approve InstallPlan install-up.")
