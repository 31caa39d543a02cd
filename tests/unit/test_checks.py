"""The verify checks (module_utils/checks.py): fixture objects in, check records out, from the roles' own check specs
(``__<role>_checks``, rendered the way Ansible renders them), and what the component_checks module returns."""

import json
from pathlib import Path

import pytest
import urllib3
import yaml
from ansible.module_utils.testing import patch_module_args
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import checks as c
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import nodes as n
from ansible_collections.rhoai.gpu_infra.plugins.modules import component_checks
from tests.unit.role_vars import render, role_vars

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
OLM = "operators.coreos.com/v1alpha1"
RECORD_KEYS = {"component", "check", "status", "evidence", "remedy"}
COMPONENTS = [
    r["name"] for r in yaml.safe_load((ROOT / "playbooks/vars/components.yml").read_text())["__gpu_infra_registry"]
]


# --- fixtures --------------------------------------------------------------------------------------------------------
def spec(role, **overrides):
    """``__<role>_checks`` as a play that imported the role's spec (and Connectivity Link's) sees it."""
    variables = dict(role_vars("connectivity_link"), **role_vars(role, **overrides))
    rendered = render("{{ __%s_checks }}" % role, variables)
    return json.loads(json.dumps(rendered))  # plain types, as the module receives them


def obj(api_version, kind, name, namespace=None, labels=None, **fields):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = labels
    return dict({"apiVersion": api_version, "kind": kind, "metadata": meta}, **fields)


def pod(name, namespace, phase="Running", labels=None, node=None):
    body = obj("v1", "Pod", name, namespace, labels=labels, status={"phase": phase} if phase else {})
    if node:
        body["spec"] = {"nodeName": node}
    return body


def crd(name, established=True):
    return obj(
        CRD_API,
        "CustomResourceDefinition",
        name,
        status={"conditions": [{"type": "Established", "status": "True" if established else "False"}]},
    )


CRD_API = "apiextensions.k8s.io/v1"


def default_subscriptions():
    """Package -> the Subscription spec its role sets by default."""
    specs = {}
    for defaults in ROLES.glob("*/defaults/main.yml"):
        values = yaml.safe_load(defaults.read_text()) or {}
        prefix = defaults.parent.parent.name + "_"
        if prefix + "package" in values:
            specs[values[prefix + "package"]] = {
                "channel": values[prefix + "channel"],
                "source": values[prefix + "source"],
                "sourceNamespace": "openshift-marketplace",
                "installPlanApproval": "Automatic",
            }
    return specs


SUBSCRIPTIONS = default_subscriptions()


def subscription(name, namespace, package=None, csv=None, state="AtLatestKnown"):
    """A Subscription as its role sets it by default (a package no role has: no channel, catalog or approval)."""
    status = {"state": state}
    if csv:
        status["installedCSV"] = csv
    spec = dict(SUBSCRIPTIONS.get(package or name, {}), name=package or name)
    return obj(OLM, "Subscription", name, namespace, spec=spec, status=status)


def csv(name, namespace, phase="Succeeded", copied=False):
    labels = {"olm.copiedFrom": "elsewhere"} if copied else {}
    return obj(OLM, "ClusterServiceVersion", name, namespace, labels=labels, status={"phase": phase})


def namespace(name, labels=None):
    return obj("v1", "Namespace", name, labels=labels or {})


def installed(package, ns, phase="Succeeded", labels=None, sub_name=None):
    """A Subscription with its CSV, and its namespace."""
    return [
        subscription(sub_name or package, ns, package, csv=package + ".v1.0.0"),
        csv(package + ".v1.0.0", ns, phase),
        namespace(ns, labels),
    ]


class FakeK8s:
    """The client facade over a flat list of objects: LISTs filter by namespace and label selector, GETs by name."""

    def __init__(self, objects, host="https://api.test.example.com:6443", fail=None):
        self.objects = list(objects)
        self.host = host
        self.calls = []
        self.fail = fail or {}

    def _kind(self, api_version, kind):
        return [o for o in self.objects if o.get("apiVersion") == api_version and o.get("kind") == kind]

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("list", kind, namespace, label_selector))
        if kind in self.fail:
            raise self.fail[kind]
        terms = c.selector_terms(label_selector)
        assert terms is not None, label_selector
        return [
            o
            for o in self._kind(api_version, kind)
            if (namespace is None or o["metadata"].get("namespace") == namespace)
            and c.selector_matches(o["metadata"].get("labels"), terms)
        ]

    def get(self, api_version, kind, name, namespace=None):
        self.calls.append(("get", kind, namespace, name))
        if kind in self.fail:
            raise self.fail[kind]
        return next(
            (
                o
                for o in self._kind(api_version, kind)
                if o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
            ),
            None,
        )


def run(objects, *specs, **options):
    fake = FakeK8s(objects)
    result = c.collect(fake, list(specs), **options)
    for record in result["checks"]:
        assert set(record) == RECORD_KEYS, record
        assert record["status"] in c.STATUSES, record
        assert record["evidence"], record
    return {r["check"]: r for r in result["checks"]}, result, fake


def assert_remedy_only_when_failed(checks):
    for record in checks.values():
        assert bool(record["remedy"]) == (record["status"] == "failed"), record


# --- every role describes its checks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", COMPONENTS)
def test_every_component_has_a_check_spec_its_verify_entry_point_and_the_playbook_use(role):
    rendered = spec(role)
    assert rendered["component"] == role
    assert set(rendered) <= set(c.SPEC_KEYS)
    assert rendered["namespaces"] and all(isinstance(ns, str) and ns for ns in rendered["namespaces"])
    tasks = yaml.safe_load((ROLES / role / "tasks" / "verify.yml").read_text())
    modules = [t for t in tasks if "rhoai.gpu_infra.component_checks" in t]
    engine = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "verify"]
    member = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "member"]
    if member:  # authorino, limitador, dns: connectivity_link's member.yml hands the member's checks to olm_operator
        assert len(member) == 1 and member[0]["vars"]["connectivity_link_step"] == "verify"
        facts = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())["__%s_member" % role]
        assert facts["checks"] == "{{ __%s_checks }}" % role
        dispatch = yaml.safe_load((ROLES / "connectivity_link" / "tasks" / "member.yml").read_text())
        engine = [
            t for t in dispatch if t.get("ansible.builtin.include_role", {}).get("name", "").endswith(".olm_operator")
        ]
        assert engine[0]["vars"]["olm_operator_checks"] == "{{ connectivity_link_member.checks }}"
    elif engine:
        assert engine[0]["ansible.builtin.include_role"]["name"] == "rhoai.gpu_infra.olm_operator"
        assert engine[0]["vars"] == {"olm_operator_checks": "{{ __%s_checks }}" % role}
    if engine:  # the shared verify of olm_operator, which fails naming each failed check
        assert not modules and len(engine) == 1
        tasks = yaml.safe_load((ROLES / "olm_operator" / "tasks" / "verify.yml").read_text())
        modules = [t for t in tasks if "rhoai.gpu_infra.component_checks" in t]
        assert modules[0]["rhoai.gpu_infra.component_checks"]["components"] == ["{{ olm_operator_checks }}"]
    else:
        assert len(modules) == 1 and modules[0]["rhoai.gpu_infra.component_checks"]["components"] == [
            "{{ __%s_checks }}" % role
        ]
    assert len([t for t in tasks if "ansible.builtin.fail" in t]) == 1
    # data added at the end of the file, after every key the role had
    assert list(yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text()))[-1] == "__%s_checks" % role


def test_the_check_specs_follow_the_users_values():
    assert spec("nfd", nfd_namespace="my-nfd")["operator"]["namespace"] == "my-nfd"
    assert spec("authorino")["connectivity_link"]["namespace"] == "kuadrant-system"
    assert spec("authorino", gpu_infra_connectivity_link=False)["connectivity_link"] == {}
    assert spec("limitador", connectivity_link_namespace="rhcl")["connectivity_link"]["namespace"] == "rhcl"
    assert spec("gpu_operator", gpu_operator_dashboard="false")["gpu_operator"]["dashboard"]["enabled"] is False


# --- the olm_operator shapes -----------------------------------------------------------------------------------------
def test_a_converged_operator_passes_its_csv_label_and_crd_checks():
    objects = installed(
        "kueue-operator", "openshift-kueue-operator", labels={"openshift.io/cluster-monitoring": "true"}
    )
    objects += [crd("kueues.kueue.openshift.io")]
    objects.append(
        obj(
            "kueue.openshift.io/v1",
            "Kueue",
            "cluster",
            spec=spec("kueue")["operands"][0]["desired"]["spec"],
            status={"conditions": [{"type": "Available", "status": "True"}, {"type": "Degraded", "status": "False"}]},
        )
    )
    checks, _, _ = run(objects, spec("kueue"))
    assert list(checks) == [
        "kueue-operator operator CSV Succeeded",
        "Namespace openshift-kueue-operator labelled openshift.io/cluster-monitoring=true",
        "CRD kueues.kueue.openshift.io Established",
        "Kueue cluster Available",
        "Kueue cluster as configured",
    ]
    assert [r["status"] for r in checks.values()] == ["passed"] * 5
    assert checks["kueue-operator operator CSV Succeeded"]["evidence"] == "CSV kueue-operator.v1.0.0 phase Succeeded"
    assert checks["Namespace openshift-kueue-operator labelled openshift.io/cluster-monitoring=true"]["evidence"] == (
        "label value: true"
    )
    assert checks["CRD kueues.kueue.openshift.io Established"]["evidence"] == "Established=True"
    assert checks["Kueue cluster Available"]["evidence"] == "conditions: Available=True, Degraded=False"
    assert_remedy_only_when_failed(checks)


def test_a_missing_operator_fails_every_check_with_what_to_do():
    checks, _, _ = run([], spec("kueue"))
    assert [r["status"] for r in checks.values()] == ["failed"] * 4 + ["skipped"]
    sub = checks["kueue-operator operator CSV Succeeded"]
    assert sub["evidence"] == "Subscription openshift-kueue-operator/kueue-operator does not exist"
    assert sub["remedy"] == (
        "Run the site playbook (or the rhoai.gpu_infra.kueue role) again, which says what stands in the way if "
        "anything does, or inspect it: oc describe subscription kueue-operator -n openshift-kueue-operator; oc get "
        "csv -n openshift-kueue-operator"
    )
    label = checks["Namespace openshift-kueue-operator labelled openshift.io/cluster-monitoring=true"]
    assert label["evidence"] == "namespace not found"
    assert crd_remedy(checks["CRD kueues.kueue.openshift.io Established"], "kueue", "openshift-kueue-operator")
    assert checks["CRD kueues.kueue.openshift.io Established"]["evidence"] == "CRD not found"
    kueue = checks["Kueue cluster Available"]
    assert kueue["evidence"] == "Kueue cluster not found"
    assert kueue["remedy"] == (
        "Run the site playbook (or the kueue role) to apply Kueue cluster; if it exists, check the operator pods in "
        "openshift-kueue-operator"
    )
    assert_remedy_only_when_failed(checks)


def crd_remedy(record, component, ns):
    return record["remedy"] == (
        "The operator creates it once its CSV has Succeeded: run the site playbook (or the {0} role) and check the CSV "
        "in namespace {1}".format(component, ns)
    )


@pytest.mark.parametrize(
    ("objects", "evidence"),
    [
        (
            [subscription("nfd", "openshift-nfd", state="UpgradePending")],
            "Subscription has no installed CSV (state UpgradePending)",
        ),
        ([subscription("nfd", "openshift-nfd", csv="nfd.4.20.0")], "CSV nfd.4.20.0 phase missing"),
        (
            [subscription("nfd", "openshift-nfd", csv="nfd.4.20.0"), csv("nfd.4.20.0", "openshift-nfd", "Failed")],
            "CSV nfd.4.20.0 phase Failed",
        ),
        # OLM's copy of a CSV in another namespace is not the operator's
        (
            [subscription("nfd", "openshift-nfd", csv="nfd.4.20.0"), csv("nfd.4.20.0", "openshift-nfd", copied=True)],
            "CSV nfd.4.20.0 phase missing",
        ),
    ],
)
def test_the_csv_check_says_how_far_olm_got(objects, evidence):
    record = c.operator_checks(c.Reads(FakeK8s(objects)), dict(spec("nfd")["operator"], component="nfd"))[0]
    assert (record["check"], record["status"], record["evidence"]) == ("nfd operator CSV Succeeded", "failed", evidence)


def test_a_deleted_csv_says_to_recreate_the_subscription_not_to_rerun_the_install():
    # oc delete csv: OLM leaves the Subscription UpgradePending, naming the deleted CSV, and never installs it again
    # (real OLM v0.46.0 on the test bed), so "run the install again" alone cannot help.
    objects = [subscription("nfd", "openshift-nfd", csv="nfd.4.20.0", state="UpgradePending")]
    record = c.operator_checks(c.Reads(FakeK8s(objects)), dict(spec("nfd")["operator"], component="nfd"))[0]
    assert (record["status"], record["evidence"]) == ("failed", "CSV nfd.4.20.0 phase missing")
    assert "oc delete subscription nfd -n openshift-nfd" in record["remedy"], record


@pytest.mark.parametrize(
    ("approval", "installed_csv", "status"),
    [("Manual", "nfd.4.20.1", "failed"), ("Manual", "nfd.4.20.0", "passed"), ("Automatic", "nfd.4.20.1", "passed")],
)
def test_a_pin_that_an_installed_operator_never_took_fails_with_manual_approval(approval, installed_csv, status):
    # nfd_starting_csv set on a converged cluster: OLM never downgrades, so v4.20.1 keeps running; with Automatic
    # approval a starting CSV is only where upgrades start from.
    objects = [subscription("nfd", "openshift-nfd", csv=installed_csv), csv(installed_csv, "openshift-nfd")]
    objects[0]["spec"].update(installPlanApproval=approval, startingCSV="nfd.4.20.0")  # as site set it
    operator = dict(spec("nfd")["operator"], component="nfd", approval=approval, starting_csv="nfd.4.20.0")
    record = c.operator_checks(c.Reads(FakeK8s(objects)), operator)[0]
    assert record["status"] == status, record
    if status == "failed":
        assert record["evidence"] == "CSV nfd.4.20.1 phase Succeeded; pinned nfd.4.20.0 (Manual approval)"
        assert "set nfd_starting_csv to nfd.4.20.1" in record["remedy"] and "never downgrades" in record["remedy"]


@pytest.mark.parametrize(("reason", "said"), [("RequiresApproval", True), ("Installing", False)])
def test_a_pinned_install_that_passes_says_the_upgrade_waiting_for_approval(reason, said):
    # OLM resolves the channel head at once after the pinned install and, with Manual approval, waits for someone.
    objects = [subscription("nfd", "openshift-nfd", csv="nfd.4.20.0", state="UpgradePending")]
    objects.append(csv("nfd.4.20.0", "openshift-nfd"))
    objects[0]["spec"].update(installPlanApproval="Manual", startingCSV="nfd.4.20.0")
    objects[0]["status"].update(
        currentCSV="nfd.4.20.1",
        installPlanRef={"name": "install-x7k2p", "namespace": "openshift-nfd"},
        conditions=[{"type": "InstallPlanPending", "status": "True", "reason": reason}],
    )
    operator = dict(spec("nfd")["operator"], component="nfd", approval="Manual", starting_csv="nfd.4.20.0")
    record = c.operator_checks(c.Reads(FakeK8s(objects)), operator)[0]
    assert record["status"] == "passed", record
    waiting = (
        "; the upgrade to nfd.4.20.1 waits for approval (InstallPlan install-x7k2p; approving it upgrades the operator)"
    )
    assert record["evidence"] == "CSV nfd.4.20.0 phase Succeeded" + (waiting if said else ""), record


def operator_csv(name, namespace, deployment, replicas=None):
    body = csv(name, namespace)
    entry = {"name": deployment, "spec": {} if replicas is None else {"replicas": replicas}}
    body["spec"] = {"install": {"strategy": "deployment", "spec": {"deployments": [entry]}}}
    return body


def deployment(name, namespace, replicas, available):
    return obj(
        "apps/v1",
        "Deployment",
        name,
        namespace,
        spec={"replicas": replicas},
        status={"availableReplicas": available} if available else {},
    )


@pytest.mark.parametrize(
    ("live", "status", "evidence", "remedy"),
    [
        ([deployment("openshift-kueue-operator", "openshift-kueue-operator", 1, 1)], "passed", "", ""),
        # oc scale --replicas=0: OLM keeps the CSV Succeeded (a Deployment of 0 replicas is Available)
        (
            [deployment("openshift-kueue-operator", "openshift-kueue-operator", 0, 0)],
            "failed",
            "; operator Deployment openshift-kueue-operator/openshift-kueue-operator scaled to 0 replicas",
            "oc scale deployment/openshift-kueue-operator -n openshift-kueue-operator --replicas=1",
        ),
        (
            [deployment("openshift-kueue-operator", "openshift-kueue-operator", 1, 0)],
            "failed",
            "; operator Deployment openshift-kueue-operator/openshift-kueue-operator has 0 of 1 replicas available",
            "oc get deployment,pods,events -n openshift-kueue-operator",
        ),
        ([], "failed", "; operator Deployment openshift-kueue-operator/openshift-kueue-operator missing", "oc get"),
    ],
)
def test_a_succeeded_csv_whose_operator_deployment_does_not_run_fails(live, status, evidence, remedy):
    ns = "openshift-kueue-operator"
    objects = [
        subscription("kueue-operator", ns, csv="kueue-operator.v1.2.0"),
        operator_csv("kueue-operator.v1.2.0", ns, "openshift-kueue-operator"),
        namespace(ns, {"openshift.io/cluster-monitoring": "true"}),
        *live,
    ]
    record = c.operator_checks(c.Reads(FakeK8s(objects)), dict(spec("kueue")["operator"], component="kueue"))[0]
    assert (record["status"], record["evidence"]) == (status, "CSV kueue-operator.v1.2.0 phase Succeeded" + evidence)
    assert remedy in record["remedy"] and bool(record["remedy"]) == (status == "failed"), record


def test_a_connectivity_link_dependency_whose_deployment_is_scaled_down_fails():
    dep = operator_csv("authorino-operator.v1.2.2", "kuadrant-system", "authorino-operator")
    record = c.dependency_csv_check(
        "authorino",
        "authorino-operator",
        parent="rhcl-operator",
        namespace="kuadrant-system",
        subscriptions=[subscription("authorino-x", "kuadrant-system", "authorino-operator", csv=_name(dep))],
        csv=dep,
        deployments=[deployment("authorino-operator", "kuadrant-system", 0, 0)],
    )
    assert record["status"] == "failed" and "scaled to 0 replicas" in record["evidence"], record
    assert "oc scale deployment/authorino-operator -n kuadrant-system --replicas=1" in record["remedy"], record


def _name(o):
    return o["metadata"]["name"]


@pytest.mark.parametrize("channel", ["stable-4.19", ""])
def test_an_operator_on_another_channel_than_configured_fails_its_csv_check(channel):
    # Installed by someone else (or by hand) on another channel, or on the package's default: the operator runs, but
    # it is not the install this configuration describes, which site would refuse or move.
    sub = subscription("nfd", "openshift-nfd", csv="nfd.4.19.0")
    sub["spec"]["channel"] = channel
    objects = [sub, csv("nfd.4.19.0", "openshift-nfd")]
    record = c.operator_checks(c.Reads(FakeK8s(objects)), dict(spec("nfd")["operator"], component="nfd"))[0]
    shown = channel or "(package default)"
    assert (record["status"], record["evidence"]) == (
        "failed",
        "CSV nfd.4.19.0 phase Succeeded; Subscription channel {0}, configured stable".format(shown),
    )
    assert record["remedy"] == (
        "Set nfd_channel to {0} if that install is the one wanted, or run the site playbook to move Subscription "
        "openshift-nfd/nfd to stable (it refuses one someone else made unless gpu_infra_adopt=true)"
    ).format(channel or "the package's default channel")
    configured = spec("nfd", nfd_channel=channel or "stable")["operator"]
    if channel:  # configured the same: it passes
        record = c.operator_checks(c.Reads(FakeK8s(objects)), dict(configured, component="nfd"))[0]
        assert record["status"] == "passed", record


@pytest.mark.parametrize(
    ("role", "ns"),
    [
        ("gpu_operator", "nvidia-gpu-operator"),
        ("nfd", "openshift-nfd"),
        ("lws", "openshift-lws-operator"),
        ("kueue", "openshift-kueue-operator"),
    ],
)
def test_operators_with_metrics_label_their_namespace_for_cluster_monitoring(role, ns):
    operator = dict(spec(role)["operator"], component=role)
    assert operator["namespace_labels"] == {"openshift.io/cluster-monitoring": "true"}
    name = "Namespace {0} labelled openshift.io/cluster-monitoring=true".format(ns)

    def label_check(labels):
        ns_obj = namespace(ns, labels) if labels is not None else None
        return {r["check"]: r for r in c.namespace_label_checks(operator, ns_obj)}[name]

    passed = label_check({"openshift.io/cluster-monitoring": "true", "other": "kept"})
    assert (passed["status"], passed["evidence"], passed["remedy"]) == ("passed", "label value: true", "")
    failed = label_check({})
    assert (failed["status"], failed["evidence"]) == ("failed", "label value: absent")
    assert "oc label namespace {0} openshift.io/cluster-monitoring=true --overwrite".format(ns) in failed["remedy"]
    missing = label_check(None)
    assert missing["evidence"] == "namespace not found" and "oc label" not in missing["remedy"]
    assert missing["remedy"].startswith(
        "Run the {0} role (tasks_from: subscribe), which creates namespace".format(role)
    )


def test_operators_without_namespace_labels_get_no_label_check():
    assert (
        c.namespace_label_checks({"component": "dns", "namespace": "x", "namespace_labels": {}}, namespace("x")) == []
    )


def test_a_crd_that_is_not_established_yet():
    record = c.crd_check(
        "lws",
        "openshift-lws-operator",
        "leaderworkersets.leaderworkerset.x-k8s.io",
        crd("leaderworkersets.leaderworkerset.x-k8s.io", established=False),
    )
    assert (record["status"], record["evidence"]) == ("failed", "present, not Established")


# --- operands --------------------------------------------------------------------------------------------------------
def test_serverless_and_lws_operands():
    objects = [
        obj(
            "operator.knative.dev/v1beta1",
            "KnativeServing",
            "knative-serving",
            "knative-serving",
            status={"conditions": [{"type": "Ready", "status": "False", "reason": "Installing"}]},
        ),
        obj("operator.openshift.io/v1", "LeaderWorkerSetOperator", "cluster", spec={"managementState": "Managed"}),
    ]
    checks, _, _ = run(objects, spec("serverless"), spec("lws"))
    serving = checks["KnativeServing knative-serving Ready"]
    assert (serving["status"], serving["evidence"]) == ("failed", "Ready=False")
    assert serving["remedy"] == (
        "Run the site playbook (or the serverless role); if the KnativeServing exists, check the pods in "
        "knative-serving and openshift-serverless"
    )
    lws = checks["LeaderWorkerSetOperator cluster exists"]
    assert (lws["status"], lws["evidence"], lws["remedy"]) == ("passed", "managementState=Managed", "")
    assert "CRD leaderworkersets.leaderworkerset.x-k8s.io Established" in checks

    checks, _, _ = run([], spec("serverless"), spec("lws"))
    assert checks["KnativeServing knative-serving Ready"]["evidence"] == (
        "KnativeServing knative-serving/knative-serving not found"
    )
    lws = checks["LeaderWorkerSetOperator cluster exists"]
    assert (lws["evidence"], lws["remedy"]) == (
        "LeaderWorkerSetOperator cluster not found",
        "Run the site playbook (or the lws role): the operator does nothing without it",
    )


# --- NFD -------------------------------------------------------------------------------------------------------------
def test_nfd_reports_each_pod_group():
    objects = [
        *installed("nfd", "openshift-nfd", labels={"openshift.io/cluster-monitoring": "true"}),
        crd("nodefeaturediscoveries.nfd.openshift.io"),
        obj("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", "openshift-nfd"),
        pod("nfd-controller-manager-7d9f", "openshift-nfd"),
        pod("nfd-master-5c4b", "openshift-nfd"),
        pod("nfd-worker-a", "openshift-nfd", "Pending"),
        pod("nfd-worker-b", "openshift-nfd", phase=None),
    ]
    checks, _, _ = run(objects, spec("nfd"))
    assert checks["CRD nodefeaturediscoveries.nfd.openshift.io present"]["evidence"] == "CRD found"
    assert checks["NodeFeatureDiscovery nfd-instance exists"]["evidence"] == "found in openshift-nfd"
    assert checks["NFD operator pods (nfd-controller-manager) Running"]["evidence"] == "1 pod(s), not Running: none"
    assert checks["NFD master pods (nfd-master) Running"]["status"] == "passed"
    worker = checks["NFD worker pods (nfd-worker) Running"]
    assert (worker["status"], worker["evidence"]) == (
        "failed",
        "2 pod(s), not Running: nfd-worker-a (Pending), nfd-worker-b (no phase)",
    )
    assert worker["remedy"] == (
        "oc -n openshift-nfd describe pod nfd-worker-...; for workers stuck Pending check node taints against "
        "nfd_worker_tolerations."
    )
    assert_remedy_only_when_failed(checks)


def test_a_crash_looping_pod_is_not_running_and_finished_pods_are_left_out():
    # CrashLoopBackOff keeps the phase Running; an evicted pod stays listed (phase Failed) after its replacement runs.
    crashing = pod("nvidia-driver-daemonset-x1", "nvidia-gpu-operator")
    crashing["status"]["containerStatuses"] = [
        {"name": "nvidia-driver-ctr", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "ready": False}
    ]
    evicted = pod("nfd-worker-old", "openshift-nfd", "Failed")
    pods = [crashing, evicted, pod("nfd-worker-new", "openshift-nfd")]
    driver = c.pods_check("gpu_operator", pods, "nvidia-driver-daemonset", check="driver", remedy="look")
    assert (driver["status"], driver["evidence"]) == (
        "failed",
        "1 pod(s), not Running: nvidia-driver-daemonset-x1 (container nvidia-driver-ctr CrashLoopBackOff)",
    )
    worker = c.pods_check("nfd", pods, "nfd-worker", check="workers", remedy="look")
    assert (worker["status"], worker["evidence"]) == (
        "passed",
        "1 pod(s), not Running: none; 1 finished pod(s) left out",
    )
    # with nothing else under the name, a finished pod is what there is
    only = c.pods_check("nfd", [evicted], "nfd-worker", check="workers", remedy="look")
    assert (only["status"], only["evidence"]) == ("failed", "1 pod(s), not Running: nfd-worker-old (Failed)")


def test_nfd_without_its_crd_fails_the_instance_check():
    checks, _, _ = run([], spec("nfd"))
    crd_check = checks["CRD nodefeaturediscoveries.nfd.openshift.io present"]
    assert (crd_check["status"], crd_check["evidence"]) == ("failed", "CRD not found")
    assert (
        crd_check["remedy"]
        == "The NFD operator is not installed: run the nfd role and look at its CSV in openshift-nfd."
    )
    instance = checks["NodeFeatureDiscovery nfd-instance exists"]
    assert (instance["status"], instance["evidence"]) == ("failed", "not found in openshift-nfd")
    assert instance["remedy"] == "Run the nfd role (tasks_from: configure) to apply it."
    assert checks["NFD worker pods (nfd-worker) Running"]["evidence"] == "no pod named nfd-worker-*"


# --- cert-manager ----------------------------------------------------------------------------------------------------
CM_OPERATOR_NS, CM_NS = "cert-manager-operator", "cert-manager"
CM_WEBHOOK = "cert-manager webhook pods (cert-manager-webhook) Running"
CM_CAINJECTOR = "cert-manager cainjector pods (cert-manager-cainjector) Running"


def cert_manager_objects(*pods):
    """The operator installed with its CRD, and ``pods`` in the operand namespace."""
    return [
        *installed("openshift-cert-manager-operator", CM_OPERATOR_NS),
        crd("certificates.cert-manager.io"),
        *pods,
    ]


def crash_looping(name, namespace):
    body = pod(name, namespace)
    body["status"]["containerStatuses"] = [
        {"name": "cert-manager-webhook", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "ready": False}
    ]
    return body


def test_cert_manager_passes_when_its_webhook_and_cainjector_run():
    objects = cert_manager_objects(
        pod("cert-manager-7d9f8b8c5-x2x4q", CM_NS),
        pod("cert-manager-cainjector-5c4b7f9d8-k9z7m", CM_NS),
        pod("cert-manager-webhook-6b8f4c5d7-p4lqs", CM_NS),
    )
    checks, _, _ = run(objects, spec("cert_manager"))
    assert list(checks) == [
        "openshift-cert-manager-operator operator CSV Succeeded",
        "CRD certificates.cert-manager.io Established",
        CM_WEBHOOK,
        CM_CAINJECTOR,
    ]
    assert [r["status"] for r in checks.values()] == ["passed"] * 4
    assert checks[CM_WEBHOOK]["evidence"] == "1 pod(s), not Running: none"
    assert_remedy_only_when_failed(checks)


@pytest.mark.parametrize(
    ("webhook", "evidence"),
    [
        # the controller's pods (Deployment cert-manager) are no webhook, though their names share its first word
        (None, "no pod named cert-manager-webhook-*"),
        (
            pod("cert-manager-webhook-6b8f4c5d7-p4lqs", CM_NS, "Pending"),
            "1 pod(s), not Running: cert-manager-webhook-6b8f4c5d7-p4lqs (Pending)",
        ),
        (
            crash_looping("cert-manager-webhook-6b8f4c5d7-p4lqs", CM_NS),
            "1 pod(s), not Running: cert-manager-webhook-6b8f4c5d7-p4lqs (container cert-manager-webhook "
            "CrashLoopBackOff)",
        ),
        # running, but in the operator's namespace, not where the operator runs cert-manager
        (pod("cert-manager-webhook-6b8f4c5d7-p4lqs", CM_OPERATOR_NS), "no pod named cert-manager-webhook-*"),
    ],
)
def test_cert_manager_fails_while_its_webhook_does_not_run_though_the_csv_succeeded(webhook, evidence):
    pods = [pod("cert-manager-7d9f8b8c5-x2x4q", CM_NS), pod("cert-manager-cainjector-5c4b7f9d8-k9z7m", CM_NS)]
    checks, _, _ = run(cert_manager_objects(*pods, *([webhook] if webhook else [])), spec("cert_manager"))
    assert checks["openshift-cert-manager-operator operator CSV Succeeded"]["status"] == "passed"
    assert checks[CM_CAINJECTOR]["status"] == "passed"
    record = checks[CM_WEBHOOK]
    assert (record["component"], record["status"], record["evidence"]) == ("cert_manager", "failed", evidence)
    # what to look at: the pods, the CertManager the operator deploys them from, and the operator's CSV
    for needle in (
        "oc get pods -n cert-manager -o wide",
        "oc get certmanager cluster -o yaml",
        "oc get csv -n cert-manager-operator",
        "rhoai.gpu_infra.diagnose",
    ):
        assert needle in record["remedy"], record["remedy"]
    assert_remedy_only_when_failed(checks)


def test_cert_manager_operand_namespace_is_the_operators_not_the_install_namespace():
    rendered = spec("cert_manager", cert_manager_namespace="team-cert-manager")
    assert rendered["namespaces"] == ["team-cert-manager", CM_NS]
    assert {p["namespace"] for p in rendered["pods"]} == {CM_NS}
    assert "oc get csv -n team-cert-manager" in rendered["pods"][0]["remedy"]


# --- GPU operator ----------------------------------------------------------------------------------------------------
GPU_NS = "nvidia-gpu-operator"


def gpu_objects(gpu_nodes=("gpu-1",), state="ready", pods=(), dashboard=True, ready=None, *, policy_spec=None):
    """``ready``: (reason, message) of the ClusterPolicy's Ready condition, as the GPU operator writes it;
    ``policy_spec``: its spec (default: what site applies)."""
    objects = [obj("v1", "Node", name, labels={n.GPU_ROLE_LABEL: ""}) for name in gpu_nodes]
    status = {"state": state}
    if ready:
        status["conditions"] = [
            {
                "type": "Ready",
                "status": "True" if state == "ready" else "False",
                "reason": ready[0],
                "message": ready[1],
            },
            {"type": "Error", "status": "False" if state == "ready" else "True", "reason": "Ready", "message": ""},
        ]
    if policy_spec is None:
        policy_spec = spec("gpu_operator")["gpu_operator"]["desired"]["spec"]
    objects.append(obj("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy", spec=policy_spec, status=status))
    objects += [pod(p, GPU_NS) for p in pods]
    if dashboard:
        objects.append(
            obj(
                "v1",
                "ConfigMap",
                "nvidia-dcgm-exporter-dashboard",
                "openshift-config-managed",
                labels={"console.openshift.io/dashboard": "true"},
                data={"dcgm-exporter-dashboard.json": "{}"},
            )
        )
    return objects


def test_gpu_operator_without_gpu_nodes_skips_gpu_only_checks_with_a_reason():
    checks, _, _ = run(gpu_objects((), state="notReady", pods=["gpu-operator-abc"]), spec("gpu_operator"))
    policy = checks["ClusterPolicy gpu-cluster-policy ready"]
    assert (policy["status"], policy["remedy"]) == ("skipped", "")
    assert policy["evidence"] == (
        "no GPU nodes (none match feature.node.kubernetes.io/pci-10de.present=true or node-role.kubernetes.io/gpu); "
        "state: notReady"
    )
    assert checks["GPU operator pods nvidia-driver-daemonset Running"]["status"] == "skipped"
    assert checks["GPU operator pods nvidia-dcgm-exporter Running"]["status"] == "skipped"
    assert checks["GPU operator pods gpu-operator Running"]["status"] == "passed"


@pytest.mark.parametrize(("state", "expected"), [("ready", "passed"), ("notReady", "failed")])
def test_gpu_operator_with_gpu_nodes_checks_the_policy_state(state, expected):
    pods = ["gpu-operator-abc", "nvidia-driver-daemonset-x", "nvidia-dcgm-exporter-y"]
    checks, _, _ = run(gpu_objects(state=state, pods=pods), spec("gpu_operator"))
    policy = checks["ClusterPolicy gpu-cluster-policy ready"]
    assert (policy["status"], policy["evidence"]) == (expected, "state: {0}; GPU nodes: gpu-1".format(state))
    assert bool(policy["remedy"]) == (expected == "failed")
    assert checks["GPU operator pods nvidia-driver-daemonset Running"]["status"] == "passed"


def test_a_cluster_policy_changed_by_hand_fails_as_configured_and_what_the_operator_filled_in_does_not():
    desired = spec("gpu_operator")["gpu_operator"]["desired"]["spec"]
    live = json.loads(json.dumps(desired))
    live["cdi"] = {"enabled": True, "default": False}  # a default the operator or the API server fills in
    checks, _, _ = run(gpu_objects(policy_spec=live), spec("gpu_operator"))
    record = checks["ClusterPolicy gpu-cluster-policy as configured"]
    assert (record["status"], record["evidence"]) == ("passed", "holds what site applies")
    live["driver"]["enabled"] = False
    live["daemonsets"]["tolerations"] = []
    checks, _, _ = run(gpu_objects(policy_spec=live), spec("gpu_operator"))
    record = checks["ClusterPolicy gpu-cluster-policy as configured"]
    assert record["status"] == "failed", record
    assert "spec.driver.enabled: want true, found false" in record["evidence"], record
    assert "spec.daemonsets.tolerations" in record["evidence"], record
    assert "which applies ClusterPolicy gpu-cluster-policy as configured again" in record["remedy"]
    checks, _, _ = run([o for o in gpu_objects() if o["kind"] != "ClusterPolicy"], spec("gpu_operator"))
    assert checks["ClusterPolicy gpu-cluster-policy as configured"]["status"] == "skipped"


def test_a_credential_in_the_cluster_policy_overrides_is_compared_redacted_and_never_shown():
    env = [{"name": "HTTPS_PROXY", "value": "http://user:hunter2secret@proxy:3128"}]
    overrides = {"driver": {"env": env}}
    rendered = spec("gpu_operator", gpu_operator_cluster_policy_overrides=overrides)
    assert "hunter2secret" not in json.dumps(rendered)
    live = json.loads(json.dumps(rendered["gpu_operator"]["desired"]["spec"]))
    live["driver"]["env"] = env  # what site applied: the value itself
    checks, _, _ = run(gpu_objects(policy_spec=live), rendered)
    assert checks["ClusterPolicy gpu-cluster-policy as configured"]["status"] == "passed"
    live["driver"]["env"] = [{"name": "HTTPS_PROXY", "value": "http://user:other2secret@proxy:3128"}]
    live["driver"]["enabled"] = False
    checks, _, _ = run(gpu_objects(policy_spec=live), rendered)
    record = checks["ClusterPolicy gpu-cluster-policy as configured"]
    assert record["status"] == "failed" and "spec.driver.enabled" in record["evidence"], record
    assert "secret@" not in json.dumps(checks), checks


NO_GPU_NODES = ("NoGPUNodes", "No GPU node found, watching for new nodes to join the cluster.")
NFD_LABELS_MISSING = ("NFDLabelsMissing", "No NFD labels found")
RECONCILED = ("Reconciled", "ClusterPolicy is ready as all resources have been successfully reconciled")


@pytest.mark.parametrize("ready", [NO_GPU_NODES, NFD_LABELS_MISSING])
def test_a_ready_cluster_policy_that_found_no_gpu_node_fails_while_gpu_nodes_exist(ready):
    # The GPU operator finds GPU nodes by NFD's PCI label; these carry only the GPU MachineSets' role label.
    objects = gpu_objects(("gpu-1", "gpu-2"), ready=ready, pods=["gpu-operator-abc"])
    checks, _, _ = run(objects, spec("gpu_operator"))
    policy = checks["ClusterPolicy gpu-cluster-policy ready"]
    assert policy["status"] == "failed"
    assert policy["evidence"] == (
        "state: ready, but its Ready condition has reason {0} ('{1}'), so the GPU operator manages none of the GPU "
        "nodes: gpu-1, gpu-2".format(*ready)
    )
    assert policy["remedy"].startswith(
        "The GPU operator finds GPU nodes only through NFD's label feature.node.kubernetes.io/pci-10de.present=true, "
        "and found it on no node although gpu-1, gpu-2 match the GPU node selectors"
    )
    assert "the nfd role" in policy["remedy"] and "rhoai.gpu_infra.diagnose playbook" in policy["remedy"]


def test_a_cluster_policy_that_reconciled_its_gpu_nodes_passes():
    pods = ["gpu-operator-abc", "nvidia-driver-daemonset-x", "nvidia-dcgm-exporter-y"]
    checks, _, _ = run(gpu_objects(ready=RECONCILED, pods=pods), spec("gpu_operator"))
    policy = checks["ClusterPolicy gpu-cluster-policy ready"]
    assert (policy["status"], policy["evidence"], policy["remedy"]) == ("passed", "state: ready; GPU nodes: gpu-1", "")


def test_a_cluster_policy_without_gpu_nodes_to_find_stays_skipped():
    checks, _, _ = run(gpu_objects((), ready=NO_GPU_NODES, pods=["gpu-operator-abc"]), spec("gpu_operator"))
    policy = checks["ClusterPolicy gpu-cluster-policy ready"]
    assert (policy["status"], policy["remedy"]) == ("skipped", "")
    assert policy["evidence"].endswith("; state: ready")


def test_gpu_operator_without_cluster_policy_or_pods():
    objects = [o for o in gpu_objects() if o["kind"] != "ClusterPolicy"]
    checks, _, _ = run(objects, spec("gpu_operator"))
    assert checks["ClusterPolicy gpu-cluster-policy ready"]["evidence"] == "state: no ClusterPolicy; GPU nodes: gpu-1"
    driver = checks["GPU operator pods nvidia-driver-daemonset Running"]
    assert (driver["status"], driver["evidence"]) == ("failed", "no pod named nvidia-driver-daemonset-*")
    assert (
        driver["remedy"] == "oc -n nvidia-gpu-operator describe pod nvidia-driver-daemonset-...; "
        "or run the rhoai.gpu_infra.diagnose playbook."
    )


def test_gpu_operator_flags_a_missing_or_unlabelled_dashboard():
    checks, _, _ = run(gpu_objects(dashboard=False), spec("gpu_operator"))
    dash = checks["DCGM dashboard ConfigMap openshift-config-managed/nvidia-dcgm-exporter-dashboard present"]
    assert (dash["status"], dash["evidence"]) == ("failed", "not found")
    assert dash["remedy"] == "Run the gpu_operator role (tasks_from: configure) with gpu_operator_dashboard: true."
    checks, _, _ = run(gpu_objects(dashboard=False), spec("gpu_operator", gpu_operator_dashboard=False))
    assert checks[dash["check"]]["status"] == "skipped"
    unlabelled = [o for o in gpu_objects() if o["kind"] != "ConfigMap"] + [
        obj("v1", "ConfigMap", "nvidia-dcgm-exporter-dashboard", "openshift-config-managed", data={})
    ]
    checks, _, _ = run(unlabelled, spec("gpu_operator"))
    assert checks[dash["check"]]["evidence"] == "found without the console label or JSON key"


# --- monitoring ------------------------------------------------------------------------------------------------------
UWM = "openshift-user-workload-monitoring"


def monitoring_cm(text):
    return obj("v1", "ConfigMap", "cluster-monitoring-config", "openshift-monitoring", data={"config.yaml": text})


def test_monitoring_passes_when_enabled_and_pods_run():
    objects = [
        monitoring_cm("enableUserWorkload: true\n"),
        pod("prometheus-user-workload-0", UWM),
        pod("thanos-ruler-user-workload-0", UWM),
    ]
    checks, _, _ = run(objects, spec("monitoring"))
    assert [r["status"] for r in checks.values()] == ["passed", "passed"]
    assert (
        checks["User workload monitoring enabled in cluster-monitoring-config"]["evidence"]
        == "enableUserWorkload: true"
    )
    assert checks["User workload Prometheus and Thanos Ruler pods Running"]["evidence"] == (
        "pods in openshift-user-workload-monitoring: prometheus-user-workload-0=Running, "
        "thanos-ruler-user-workload-0=Running"
    )


@pytest.mark.parametrize(
    ("objects", "evidence"),
    [
        ([], "ConfigMap openshift-monitoring/cluster-monitoring-config not found"),
        ([monitoring_cm("prometheusK8s: {}\n")], 'enableUserWorkload: "absent"'),
        ([monitoring_cm("enableUserWorkload: false\n")], "enableUserWorkload: false"),
        ([monitoring_cm("- a list\n")], "enableUserWorkload: config.yaml unreadable"),
        ([monitoring_cm("{not yaml")], "enableUserWorkload: config.yaml unreadable"),
    ],
)
def test_monitoring_fails_without_user_workload_monitoring(objects, evidence):
    checks, _, _ = run([*objects, pod("prometheus-user-workload-0", UWM, "Pending")], spec("monitoring"))
    enabled = checks["User workload monitoring enabled in cluster-monitoring-config"]
    assert (enabled["status"], enabled["evidence"]) == ("failed", evidence)
    assert "enableUserWorkload: true" in enabled["remedy"]
    pods = checks["User workload Prometheus and Thanos Ruler pods Running"]
    assert (pods["status"], pods["evidence"]) == (
        "failed",
        "pods in openshift-user-workload-monitoring: prometheus-user-workload-0=Pending",
    )
    assert_remedy_only_when_failed(checks)


# --- MachineSets -----------------------------------------------------------------------------------------------------
def machineset(name, replicas, ready, instance_type="g6.4xlarge", zone="us-east-2a"):
    provider = {"instanceType": instance_type, "placement": {"availabilityZone": zone}}
    return obj(
        c.MAPI,
        "MachineSet",
        name,
        "openshift-machine-api",
        labels={"app.kubernetes.io/managed-by": "rhoai.gpu_infra"},
        spec={"replicas": replicas, "template": {"spec": {"providerSpec": {"value": provider}}}},
        status={"readyReplicas": ready} if ready is not None else {},
    )


POOLS = [{"instance_type": "g6.4xlarge", "replicas": 1}, {"instance_type": "g6.12xlarge", "replicas": 2}]
SCALING = "GPU MachineSets have the replicas of their pools"


def gpu_node(name, gpus="1", taints=(c.GPU_TAINT,)):
    return obj(
        "v1",
        "Node",
        name,
        labels={n.GPU_ROLE_LABEL: ""},
        spec={"taints": [dict(t, timeAdded="x") for t in taints]},
        status={"allocatable": {"nvidia.com/gpu": gpus}} if gpus is not None else {},
    )


def test_machinesets_ready_tainted_and_with_gpus():
    objects = [
        machineset("ms-a", 1, 1),
        machineset("ms-b", 2, 2, "g6.12xlarge"),
        gpu_node("n1"),
        gpu_node("n2", "4"),
        obj(c.MAPI, "MachineSet", "worker", "openshift-machine-api", spec={"replicas": 3}),
    ]
    checks, _, _ = run(objects, spec("machinesets", machinesets_pools=POOLS))
    assert [r["status"] for r in checks.values()] == ["passed"] * 4
    assert checks[SCALING]["evidence"] == "every pool's MachineSet has its configured replicas"
    assert checks["GPU MachineSets have all their machines ready"]["evidence"] == "ms-a: 1/1 ready, ms-b: 2/2 ready"
    assert checks["GPU nodes carry the nvidia.com/gpu=true:NoSchedule taint"]["evidence"] == (
        "2 GPU node(s); without the taint: none"
    )
    assert checks["GPU nodes have allocatable nvidia.com/gpu"]["evidence"] == "allocatable nvidia.com/gpu: n1=1, n2=4"


def test_machinesets_not_ready_untainted_and_without_gpus():
    objects = [machineset("ms-a", 2, None), gpu_node("n1", None, taints=()), gpu_node("n2", "4")]
    checks, _, _ = run(objects, spec("machinesets"))
    ready = checks["GPU MachineSets have all their machines ready"]
    assert (ready["status"], ready["evidence"], ready["remedy"]) == ("failed", "ms-a: 0/2 ready", c.REMEDY_MACHINES)
    taint = checks["GPU nodes carry the nvidia.com/gpu=true:NoSchedule taint"]
    assert (taint["status"], taint["evidence"]) == ("failed", "2 GPU node(s); without the taint: n1")
    gpus = checks["GPU nodes have allocatable nvidia.com/gpu"]
    assert (gpus["status"], gpus["evidence"]) == ("failed", "allocatable nvidia.com/gpu: n1=0, n2=4")


def test_machineset_without_ready_machines_is_not_hidden_by_another_scaling_down():
    # ms-a was just scaled from 2 to 1 and its status still counts 2 ready machines; ms-b has no machine (no capacity
    # for the instance type): the total (2 ready of 2 wanted) must not pass.
    objects = [machineset("ms-a", 1, 2), machineset("ms-b", 1, 0, "g6.12xlarge")]
    checks, _, _ = run(objects, spec("machinesets"))
    ready = checks["GPU MachineSets have all their machines ready"]
    assert (ready["status"], ready["evidence"]) == ("failed", "ms-a: 2/1 ready, ms-b: 0/1 ready")


def test_machinesets_scaled_away_from_their_pools_fail_unless_an_autoscaler_sets_the_replicas():
    # Scaled to 0 by hand, or left at 0 by a removal that stopped before deleting them: every machine was ready.
    objects = [machineset("ms-a", 0, 0), machineset("ms-b", 2, 2, "g6.12xlarge", "us-east-2b")]
    checks, _, _ = run(objects, spec("machinesets", machinesets_pools=POOLS))
    assert checks["GPU MachineSets have all their machines ready"]["status"] == "passed"
    scaling = checks[SCALING]
    assert (scaling["status"], scaling["evidence"]) == ("failed", "pool g6.4xlarge: 0 replica(s), configured 1")
    assert "scales each pool's MachineSet back to its replicas in machinesets_pools" in scaling["remedy"]
    # a zone, the pool's or the role's, picks the MachineSet of that zone
    checks, _, _ = run(objects, spec("machinesets", machinesets_pools=POOLS, machinesets_zone="us-east-2a"))
    assert checks[SCALING]["evidence"] == (
        "pool g6.4xlarge in us-east-2a: 0 replica(s), configured 1; no MachineSet of pool g6.12xlarge in us-east-2a"
    )
    claimed = machineset("ms-a", 0, 0)
    claimed["metadata"]["annotations"] = {"machine.openshift.io/cluster-api-autoscaler-node-group-min-size": "0"}
    checks, _, _ = run([claimed, objects[1]], spec("machinesets", machinesets_pools=POOLS))
    assert checks[SCALING]["status"] == "passed"  # someone's MachineAutoscaler sets it, and site keeps it
    checks, _, _ = run(objects, spec("machinesets", machinesets_pools=POOLS, machinesets_autoscaling=True))
    assert (checks[SCALING]["status"], checks[SCALING]["evidence"]) == (
        "skipped",
        "the MachineAutoscalers set the replicas",
    )


def test_no_machinesets_and_no_gpu_nodes():
    checks, _, _ = run([], spec("machinesets"))
    ready = checks["GPU MachineSets have all their machines ready"]
    assert (ready["status"], ready["remedy"]) == ("failed", "Run site.yml with machinesets in gpu_infra_components.")
    assert ready["evidence"] == (
        "no MachineSet labelled app.kubernetes.io/managed-by=rhoai.gpu_infra in openshift-machine-api"
    )
    for name in (
        "GPU nodes carry the nvidia.com/gpu=true:NoSchedule taint",
        "GPU nodes have allocatable nvidia.com/gpu",
    ):
        assert (checks[name]["status"], checks[name]["evidence"]) == (
            "skipped",
            "no node labelled node-role.kubernetes.io/gpu",
        )


# --- Connectivity Link -----------------------------------------------------------------------------------------------
KS = "kuadrant-system"


def ready_cr(api_version, kind, name, *, status="True", reason="Ready", message=None, **fields):
    condition = {"type": "Ready", "status": status, "reason": reason}
    if message:
        condition["message"] = message
    return obj(api_version, kind, name, KS, status={"conditions": [condition]}, **fields)


def connectivity_link_objects(kuadrant_reason="Ready", kuadrant_status="True", tls=True):
    objects = [namespace(KS)]
    objects += [subscription("rhcl-operator", KS, csv="rhcl-operator.v1.2.0"), csv("rhcl-operator.v1.2.0", KS)]
    for package in ("authorino-operator", "limitador-operator", "dns-operator"):
        objects += [
            subscription(package + "-stable-redhat-operators", KS, package, csv=package + ".v1.2.0"),
            csv(package + ".v1.2.0", KS),
        ]
    objects += [
        crd(name)
        for name in (
            "kuadrants.kuadrant.io",
            "authorinos.operator.authorino.kuadrant.io",
            "limitadors.limitador.kuadrant.io",
            "dnsrecords.kuadrant.io",
        )
    ]
    listener = {"tls": {"enabled": True, "certSecretRef": {"name": "authorino-server-cert"}}} if tls else {}
    objects += [
        ready_cr("operator.authorino.kuadrant.io/v1beta1", "Authorino", "authorino", spec={"listener": listener}),
        ready_cr("limitador.kuadrant.io/v1alpha1", "Limitador", "limitador"),
        ready_cr(
            "kuadrant.io/v1beta1",
            "Kuadrant",
            "kuadrant",
            status=kuadrant_status,
            reason=kuadrant_reason,
            message="Kuadrant is ready",
        ),
        obj("v1", "Secret", "authorino-server-cert", KS, type="kubernetes.io/tls", data={"tls.key": "UFJJVkFURQ=="}),
    ]
    return objects


def test_connectivity_link_checks_each_dependency_and_what_they_share_once():
    checks, result, _ = run(connectivity_link_objects(), spec("authorino"), spec("limitador"), spec("dns"))
    records = result["checks"]
    assert [(r["component"], r["check"]) for r in records] == [
        ("authorino", "authorino-operator operator CSV Succeeded in kuadrant-system (Connectivity Link)"),
        ("authorino", "CRD authorinos.operator.authorino.kuadrant.io Established"),
        ("authorino", "Authorino kuadrant-system/authorino Ready"),
        ("authorino", "Authorino listener TLS uses Secret authorino-server-cert"),
        ("connectivity_link", "rhcl-operator operator CSV Succeeded"),
        ("connectivity_link", "CRD kuadrants.kuadrant.io Established"),
        ("connectivity_link", "Kuadrant kuadrant-system/kuadrant Ready"),
        ("connectivity_link", "No other install of Authorino, Limitador or DNS in the way"),
        ("limitador", "limitador-operator operator CSV Succeeded in kuadrant-system (Connectivity Link)"),
        ("limitador", "CRD limitadors.limitador.kuadrant.io Established"),
        ("limitador", "Limitador kuadrant-system/limitador Ready"),
        ("dns", "dns-operator operator CSV Succeeded in kuadrant-system (Connectivity Link)"),
        ("dns", "CRD dnsrecords.kuadrant.io Established"),
    ]
    assert [r["status"] for r in records] == ["passed"] * len(records)
    assert checks["Authorino kuadrant-system/authorino Ready"]["evidence"] == "Ready=True (Ready)"
    assert checks["Kuadrant kuadrant-system/kuadrant Ready"]["evidence"] == "Ready=True (Ready: Kuadrant is ready)"
    assert checks["Authorino listener TLS uses Secret authorino-server-cert"]["evidence"] == (
        'spec.listener.tls: {"certSecretRef": {"name": "authorino-server-cert"}, "enabled": true}; '
        "Secret authorino-server-cert: kubernetes.io/tls"
    )
    # the private key never reaches the result
    assert "UFJJVkFURQ" not in json.dumps(result)


def test_connectivity_link_without_its_dependencies():
    checks, _result, _ = run([namespace(KS)], spec("limitador"))
    csv_check = checks["limitador-operator operator CSV Succeeded in kuadrant-system (Connectivity Link)"]
    assert (csv_check["status"], csv_check["evidence"]) == (
        "failed",
        "no Subscription of package limitador-operator in kuadrant-system",
    )
    assert csv_check["remedy"] == (
        "OLM installs it as a dependency of rhcl-operator: run the site playbook (or the limitador role) and inspect "
        "oc get subscription,installplan,csv -n kuadrant-system"
    )
    operand = checks["Limitador kuadrant-system/limitador Ready"]
    assert (operand["evidence"], operand["remedy"]) == (
        "not found",
        "The Kuadrant operator creates it from Kuadrant/kuadrant: run the site playbook and check the pods in "
        "kuadrant-system",
    )
    kuadrant = checks["Kuadrant kuadrant-system/kuadrant Ready"]
    assert (kuadrant["evidence"], kuadrant["remedy"]) == (
        "Kuadrant not found",
        "Run the site playbook (or the authorino, limitador or dns role) and check the kuadrant-operator pod in "
        "kuadrant-system",
    )
    assert crd_remedy(checks["CRD kuadrants.kuadrant.io Established"], "connectivity_link", KS)
    assert_remedy_only_when_failed(checks)


def test_kuadrant_waiting_for_a_gateway_api_provider_says_it_is_rhoais_step():
    objects = connectivity_link_objects(kuadrant_reason="GatewayAPIProviderNotFound", kuadrant_status="False")
    checks, _, _ = run(objects, spec("dns"))
    kuadrant = checks["Kuadrant kuadrant-system/kuadrant Ready"]
    assert kuadrant["evidence"] == "Ready=False (GatewayAPIProviderNotFound: Kuadrant is ready)"
    assert kuadrant["remedy"].startswith("Kuadrant needs a Gateway API provider: create the GatewayClass and Gateway")


def test_authorino_without_tls_on_its_listener():
    objects = [o for o in connectivity_link_objects(tls=False) if o["kind"] != "Secret"]
    checks, _, _ = run(objects, spec("authorino"))
    tls = checks["Authorino listener TLS uses Secret authorino-server-cert"]
    assert (tls["status"], tls["evidence"]) == ("failed", "spec.listener.tls: {}; Secret authorino-server-cert: absent")
    assert "annotates Service authorino-authorino-authorization" in tls["remedy"]
    checks, _, _ = run(objects, spec("authorino", connectivity_link_authorino_tls=False))
    assert "Authorino listener TLS uses Secret authorino-server-cert" not in checks


def test_the_standalone_layout_checks_the_operator_in_its_own_namespace():
    objects = [
        *installed("authorino-operator", "openshift-authorino"),
        crd("authorinos.operator.authorino.kuadrant.io"),
    ]
    checks, result, _ = run(objects, spec("authorino", gpu_infra_connectivity_link=False))
    assert list(checks) == [
        "authorino-operator operator CSV Succeeded",
        "CRD authorinos.operator.authorino.kuadrant.io Established",
        "No other install of Authorino, Limitador or DNS in the way",
    ]
    assert [r["status"] for r in result["checks"]] == ["passed"] * 3


def test_an_install_of_the_other_layout_fails_verify_saying_what_site_would_say():
    # Installed standalone, verified with the default Connectivity Link layout: the Subscription of rhcl-operator
    # does not exist, and the layout check says why, as site's preflight would.
    standalone = [*installed("authorino-operator", "openshift-authorino"), namespace(KS)]
    checks, _, _ = run(standalone, spec("authorino"))
    layout = checks["No other install of Authorino, Limitador or DNS in the way"]
    assert (layout["component"], layout["status"]) == ("connectivity_link", "failed")
    assert layout["evidence"] == (
        "Subscription openshift-authorino/authorino-operator (package authorino-operator, channel stable): a "
        "standalone install of authorino-operator (the layout of gpu_infra_connectivity_link: false)"
    )
    assert layout["remedy"].startswith("Expected the Connectivity Link layout (gpu_infra_connectivity_link: true)")
    assert "set gpu_infra_connectivity_link: false" in layout["remedy"]
    # and the other way round
    rhcl = [*installed("rhcl-operator", KS), namespace("openshift-authorino")]
    checks, _, _ = run(rhcl, spec("authorino", gpu_infra_connectivity_link=False))
    layout = checks["No other install of Authorino, Limitador or DNS in the way"]
    assert (layout["component"], layout["status"]) == ("authorino", "failed")
    assert "set gpu_infra_connectivity_link: true" in layout["remedy"], layout


# --- Service Mesh v2, GPU nodes, the cluster, the reads --------------------------------------------------------------
def test_service_mesh_v2_check():
    mesh = [
        subscription("servicemeshoperator", "openshift-operators", csv="servicemeshoperator.v2.6.5"),
        obj("maistra.io/v2", "ServiceMeshControlPlane", "basic", "istio-system", spec={"version": "v2.6"}),
    ]
    checks, _, _ = run(mesh, service_mesh=True)
    check = checks["OpenShift Service Mesh v2 not installed"]
    assert (check["component"], check["status"]) == ("llm_d", "failed")
    assert check["evidence"] == (
        "Subscription openshift-operators/servicemeshoperator of package servicemeshoperator "
        "(CSV servicemeshoperator.v2.6.5); ServiceMeshControlPlane istio-system/basic (v2.6)"
    )
    assert "Service Mesh 3" in check["remedy"]
    checks, _, _ = run([subscription("nfd", "openshift-nfd", csv="nfd.4.20.0")], service_mesh=True)
    check = checks["OpenShift Service Mesh v2 not installed"]
    assert (check["status"], check["remedy"]) == ("passed", "")
    assert check["evidence"] == "no servicemeshoperator Subscription below v3 and no ServiceMeshControlPlane"


def test_a_requirement_left_out_is_checked_for_the_components_that_need_it():
    # After a teardown of cert_manager alone its CRD stays; site refuses LWS then, and so must verify.
    check_name = "cert_manager installed and running (required by lws, kueue)"
    checks, _, _ = run([crd("certificates.cert-manager.io")], required_by={"cert_manager": ["lws", "kueue"]})
    check = checks[check_name]
    assert (check["component"], check["status"]) == ("cert_manager", "failed")
    assert "exists but no cert-manager operator/webhook runs" in check["evidence"]
    assert check["remedy"] == (
        "Add cert_manager to gpu_infra_components, or install it first (the rhoai.gpu_infra.cert_manager role, or an "
        "install of your own), and re-run: lws and kueue cannot work without it."
    )
    owner = csv("cert-manager-operator.v1.18.0", "cert-manager-operator")
    owner["spec"] = {"customresourcedefinitions": {"owned": [{"name": "certificates.cert-manager.io"}]}}
    checks, _, _ = run([crd("certificates.cert-manager.io"), owner], required_by={"cert_manager": ["lws", "kueue"]})
    assert (checks[check_name]["status"], checks[check_name]["remedy"]) == ("passed", "")
    assert checks[check_name]["evidence"] == "CSV cert-manager-operator/cert-manager-operator.v1.18.0 Succeeded"
    assert run([])[1]["checks"] == []
    # NFD, which the GPU operator requires: the same record under its name
    checks, _, _ = run([], required_by={"nfd": ["gpu_operator"]})
    check = checks["nfd installed and running (required by gpu_operator)"]
    assert (check["component"], check["status"]) == ("nfd", "failed")
    assert check["evidence"] == "CRD nodefeaturediscoveries.nfd.openshift.io not found: NFD is not installed"


def test_verify_and_diagnose_check_what_the_selection_leaves_out_of_the_registry():
    playbooks = Path(__file__).parents[2] / "playbooks"
    for name in ("verify.yml", "diagnose.yml"):
        tasks = [t for play in yaml.safe_load((playbooks / name).read_text()) for t in play.get("tasks", [])]
        (task,) = [t for t in tasks if "rhoai.gpu_infra.component_checks" in t]
        assert task["rhoai.gpu_infra.component_checks"]["required_by"] == ("{{ __gpu_infra_requirements_left_out }}"), (
            name
        )


def test_gpu_node_checks_come_last_and_the_cluster_is_identified():
    infra = obj(
        "config.openshift.io/v1",
        "Infrastructure",
        "cluster",
        status={"infrastructureName": "demo-x7k2p", "apiServerURL": "https://api.demo.example.com:6443"},
    )
    _, result, _ = run([infra], spec("monitoring"), gpu_nodes=True)
    assert [r["check"] for r in result["checks"]][-1] == "GPU nodes present"
    assert result["checks"][-1]["status"] == "skipped"
    assert result["cluster"] == {"api_url": "https://api.demo.example.com:6443", "infrastructure_name": "demo-x7k2p"}
    _, result, _ = run([], gpu_nodes=False)
    assert result["checks"] == []
    assert result["cluster"] == {"api_url": "https://api.test.example.com:6443", "infrastructure_name": None}


def test_one_list_per_kind_and_namespace_serves_every_check():
    objects = (
        connectivity_link_objects() + installed("nfd", "openshift-nfd") + installed("gpu-operator-certified", GPU_NS)
    )
    objects += [
        pod("nfd-worker-1", "openshift-nfd", labels={"app.kubernetes.io/component": "worker"}, node="gpu-1"),
        pod("nvidia-driver-daemonset-1", GPU_NS, labels={"app": "nvidia-driver-daemonset"}, node="gpu-1"),
    ]
    objects += gpu_objects()
    specs = [spec(r) for r in COMPONENTS]
    _, result, fake = run(objects, *specs, service_mesh=True, gpu_nodes=True)
    lists = [call for call in fake.calls if call[0] == "list"]
    assert len(lists) == len(set(lists)), "a LIST was repeated"
    # every Subscription comes from the one cluster-wide LIST that Service Mesh v2's check needs
    assert [call for call in lists if call[1] == "Subscription"] == [("list", "Subscription", None, None)]
    # the node checks' pods come from the namespaces' LISTs that the components' checks made
    assert [call for call in lists if call[1] == "Pod" and call[3]] == []
    gets = [call for call in fake.calls if call[0] == "get"]
    assert len(gets) == len(set(gets)), "a GET was repeated"
    assert not [g for g in gets if g[1] in ("Pod", "Subscription", "ClusterServiceVersion", "Namespace")]
    assert result["requests"] == len(fake.calls)


def test_label_selectors_are_evaluated_like_the_api_server():
    terms = c.selector_terms("app=x, tier!=db,gpu,!spot")
    assert c.selector_matches({"app": "x", "gpu": ""}, terms)
    assert not c.selector_matches({"app": "x", "gpu": "", "spot": "1"}, terms)
    assert not c.selector_matches({"app": "x", "tier": "db", "gpu": ""}, terms)
    assert not c.selector_matches({"app": "y", "gpu": ""}, terms)
    assert c.selector_terms("env in (a, b)") is None
    assert c.selector_terms("") == []


def test_a_malformed_spec_names_what_is_wrong():
    with pytest.raises(c.SpecError, match="unknown keys operators"):
        c.collect(FakeK8s([]), [{"component": "x", "operators": []}])
    with pytest.raises(c.SpecError, match="has no 'remedy'"):
        c.collect(
            FakeK8s([]), [{"component": "x", "operands": [{"api_version": "v1", "kind": "ConfigMap", "name": "y"}]}]
        )
    with pytest.raises(c.SpecError, match="crds need the operator"):
        c.collect(FakeK8s([]), [{"component": "x", "crds": ["a.b"]}])


def test_failures_say_what_was_found_and_what_to_do():
    checks = [c.record("a", "one", "passed", "fine"), c.record("b", "two", "failed", "broken", "fix it")]
    assert c.failures(checks) == ["b: two: found broken; remedy: fix it"]


# --- the module ------------------------------------------------------------------------------------------------------
def run_module(capsys, objects, fake=None, **args):
    fake = fake or FakeK8s(objects)

    def factory(module):
        return fake

    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        component_checks.main(k8s_factory=factory)
    return exit_info.value.code, json.loads(capsys.readouterr().out), fake


def test_the_module_returns_checks_failures_and_the_cluster_in_check_mode_too(capsys):
    rc, result, _ = run_module(capsys, [], components=[spec("kueue")], service_mesh_v2=True, _ansible_check_mode=True)
    assert rc == 0 and result["changed"] is False
    assert len(result["checks"]) == 6 and result["checks"][-1]["component"] == "llm_d"
    assert result["failures"][0] == (
        "kueue: kueue-operator operator CSV Succeeded: found Subscription openshift-kueue-operator/kueue-operator does "
        "not exist; remedy: Run the site playbook (or the rhoai.gpu_infra.kueue role) again, which says what stands "
        "in the way if anything does, or inspect it: oc describe subscription kueue-operator -n "
        "openshift-kueue-operator; oc get csv -n openshift-kueue-operator"
    )
    assert result["cluster"]["api_url"] == "https://api.test.example.com:6443"


def test_the_module_refuses_an_unknown_key_of_a_component(capsys):
    rc, result, _ = run_module(capsys, [], components=[{"component": "x", "operatr": {}}])
    assert rc == 1 and "operatr" in result["msg"]


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (ApiException(status=403, reason="Forbidden"), "the credentials lack permission"),
        (ApiException(status=401, reason="Unauthorized"), "the API server rejected the credentials"),
        (urllib3.exceptions.MaxRetryError(None, "/api", "refused"), "the API server was unreachable"),
    ],
)
def test_an_api_error_fails_at_once_with_the_request_that_failed(capsys, error, needle):
    fake = FakeK8s([], fail={"Pod": error})
    rc, result, fake = run_module(capsys, [], fake=fake, components=[spec("monitoring")])
    assert rc == 1
    assert needle in result["msg"]
    assert "Expected to be able to list v1 Pod in namespace openshift-user-workload-monitoring" in result["msg"]
    assert "Traceback" not in result["msg"] and "exception" not in result
    assert len([call for call in fake.calls if call[1] == "Pod"]) == 1


def test_a_bug_is_reported_as_one(capsys):
    fake = FakeK8s([], fail={"Pod": KeyError("boom")})
    rc, result, _ = run_module(capsys, [], fake=fake, components=[spec("monitoring")])
    assert rc == 1 and "This is a bug in rhoai.gpu_infra" in result["msg"]


def test_verify_and_diagnose_import_the_facts_of_every_component_and_check_in_one_call():
    imports = yaml.safe_load((ROOT / "playbooks/tasks/component_facts.yml").read_text())
    imported = [t["ansible.builtin.import_role"]["name"].rsplit(".", 1)[1] for t in imports]
    assert sorted(imported) == sorted([*COMPONENTS, "connectivity_link"])
    assert all(t["ansible.builtin.import_role"]["tasks_from"] == "spec" for t in imports)
    for playbook in ("verify.yml", "diagnose.yml"):
        tasks = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())[0]["tasks"]
        assert tasks[0] == {
            "name": "Read every component role's facts without running a task",
            "ansible.builtin.import_tasks": "tasks/component_facts.yml",
        }
    tasks = yaml.safe_load((ROOT / "playbooks/verify.yml").read_text())[0]["tasks"]
    (call,) = [t["rhoai.gpu_infra.component_checks"] for t in tasks if "rhoai.gpu_infra.component_checks" in t]
    assert "__gpu_infra_enabled | map('regex_replace', '^(.*)$', '__\\1_checks')" in call["components"]
    assert len(tasks) <= 15


# --- what differs from the configuration ----------------------------------------------------------------------------
KUEUE = "kueue.openshift.io/v1"
APPROVAL_DRIFT = 'spec.installPlanApproval: want "Automatic", found "Manual"'


def kueue_objects(frameworks=None, **subscription_spec):
    labels = {"openshift.io/cluster-monitoring": "true"}
    objects = installed("kueue-operator", "openshift-kueue-operator", labels=labels)
    objects[0]["spec"].update(subscription_spec)
    desired = spec("kueue")["operands"][0]["desired"]
    live = json.loads(json.dumps(desired["spec"]))
    if frameworks is not None:
        live["config"]["integrations"]["frameworks"] = frameworks
    available = {"conditions": [{"type": "Available", "status": "True"}]}
    return [*objects, crd("kueues.kueue.openshift.io"), obj(KUEUE, "Kueue", "cluster", spec=live, status=available)]


@pytest.mark.parametrize(
    ("subscription_spec", "evidence", "variable"),
    [
        ({"installPlanApproval": "Manual"}, APPROVAL_DRIFT, "approval"),
        ({"source": "my-mirror"}, 'spec.source: want "redhat-operators", found "my-mirror"', "source"),
        (
            {"startingCSV": "kueue-operator.v1.0.0"},
            'spec.startingCSV: want nothing, found "kueue-operator.v1.0.0"',
            "starting_csv",
        ),
        (
            {"config": {"env": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}]}},
            'spec.config.nodeSelector: want {"node-role.kubernetes.io/infra": ""}, found nothing',
            "subscription_config",
        ),
    ],
)
def test_a_subscription_changed_by_hand_fails_its_csv_check_naming_what_differs(subscription_spec, evidence, variable):
    # site sets a config without what it configures, and removes what it does not configure (a pin, a whole config)
    configured = {"nodeSelector": {"node-role.kubernetes.io/infra": ""}}
    checked = spec("kueue", kueue_subscription_config=configured)
    if variable != "subscription_config":
        subscription_spec = dict(subscription_spec, config=configured)
    checks, _, _ = run(kueue_objects(**subscription_spec), checked)
    record = checks["kueue-operator operator CSV Succeeded"]
    assert record["status"] == "failed", record
    assert record["evidence"] == "CSV kueue-operator.v1.0.0 phase Succeeded; " + evidence
    assert record["remedy"].startswith(
        "Run the site playbook (or the rhoai.gpu_infra.kueue role) to set Subscription "
        "openshift-kueue-operator/kueue-operator as configured again"
    ), record
    assert "set kueue_{0} to what the cluster has".format(variable) in record["remedy"], record


def test_a_subscription_config_is_compared_as_site_compares_it_without_credentials():
    # What someone added to the config is kept by site, and so passes; a credential's value is compared by neither
    # side, and never shown.
    configured = {"env": [{"name": "API_TOKEN", "value": "configured-token-1"}], "nodeSelector": {"infra": "true"}}
    live = {
        "env": [{"name": "API_TOKEN", "value": "another-token-22"}],
        "nodeSelector": {"infra": "true"},
        "tolerations": [{"key": "infra", "operator": "Exists"}],
    }
    checks, _, _ = run(kueue_objects(config=live), spec("kueue", kueue_subscription_config=configured))
    assert checks["kueue-operator operator CSV Succeeded"]["status"] == "passed"
    live["nodeSelector"] = {"infra": "false"}
    checks, _, _ = run(kueue_objects(config=live), spec("kueue", kueue_subscription_config=configured))
    record = checks["kueue-operator operator CSV Succeeded"]
    assert (
        record["status"] == "failed"
        and 'spec.config.nodeSelector.infra: want "true", found "false"' in record["evidence"]
    ), record
    assert "token-" not in json.dumps(checks), checks


def test_a_csv_that_has_not_succeeded_shows_olms_reason():
    objects = installed("kueue-operator", "openshift-kueue-operator", phase="Failed")
    objects[1]["status"].update(reason="NoOperatorGroup", message="csv in namespace with no operatorgroups")
    checks, _, _ = run(objects, spec("kueue"))
    assert checks["kueue-operator operator CSV Succeeded"]["evidence"] == (
        "CSV kueue-operator.v1.0.0 phase Failed (NoOperatorGroup: csv in namespace with no operatorgroups)"
    )


def test_kueue_frameworks_changed_by_hand_fail_as_configured():
    checks, _, _ = run(kueue_objects(["Pod"]), spec("kueue"))
    assert checks["Kueue cluster Available"]["status"] == "passed"
    record = checks["Kueue cluster as configured"]
    assert record["status"] == "failed", record
    assert record["evidence"] == (
        'spec.config.integrations.frameworks: want ["Deployment", "Pod", "PyTorchJob", "RayCluster", "RayJob", '
        '"StatefulSet", "TrainJob"], found ["Pod"]'
    )
    assert "run the site playbook (or the rhoai.gpu_infra.kueue role), which applies Kueue cluster" in record["remedy"]


@pytest.mark.parametrize(
    ("installed_csv", "status"),
    [("kueue-operator.v1.2.0", "passed"), ("kueue-operator.v1.1.0", "failed")],
)
def test_kueue_frameworks_follow_an_operator_olm_kept_after_a_move_to_an_earlier_channel(installed_csv, status):
    # configure applies stable-v1.2's list while the 1.2 operator runs on channel stable-v1.1 (OLM never downgrades).
    objects = kueue_objects(spec("kueue")["operands"][0]["desired"]["spec"]["config"]["integrations"]["frameworks"])
    objects[0]["status"]["installedCSV"] = installed_csv
    objects[0]["spec"]["channel"] = "stable-v1.1"
    objects[1]["metadata"]["name"] = installed_csv
    checks, _, _ = run(objects, spec("kueue", kueue_channel="stable-v1.1"))
    assert checks["Kueue cluster as configured"]["status"] == status, checks["Kueue cluster as configured"]


def test_an_operand_changed_by_hand_fails_but_what_the_operator_filled_in_does_not():
    operand = spec("lws")["operands"][0]
    live = json.loads(json.dumps(operand["desired"]["spec"]))
    live["unsupportedConfigOverrides"] = None  # filled in by the operator: no difference
    lws = obj("operator.openshift.io/v1", "LeaderWorkerSetOperator", "cluster", spec=live, status={})
    assert c.operand_drift_check("lws", operand, lws)["status"] == "passed"
    live["logLevel"] = "TraceAll"
    record = c.operand_drift_check("lws", operand, lws)
    assert record["status"] == "failed", record
    assert record["evidence"] == 'spec.logLevel: want "Normal", found "TraceAll"', record
    assert c.operand_drift_check("lws", operand, None)["status"] == "skipped"


def test_components_whose_operator_has_no_subscription_are_named_once_for_the_whole_report():
    specs = [spec("kueue"), spec("authorino"), spec("monitoring")]
    _, result, _ = run([], *specs)
    assert result["not_installed"] == ["kueue", "authorino"]  # monitoring has no operator
    _, result, fake = run(kueue_objects(), *specs)
    assert result["not_installed"] == ["authorino"]
    subscription_lists = [call for call in fake.calls if call[1] == "Subscription"]
    assert len(subscription_lists) == len(set(subscription_lists)), subscription_lists  # no request more
