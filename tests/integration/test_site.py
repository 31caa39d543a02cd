"""site.yml and teardown.yml on a private simulated cluster (the default scenario plus a cluster-monitoring-config
that already holds the user's retention/storage settings).

The steps share one cluster and run in file order, because each converge costs minutes: check mode on the fresh
cluster, a refused teardown, a site run started past its preflight, the converge, its re-run, check mode on the
converged cluster, verify, a teardown refused under OpenShift AI and one started past its checks, teardown, and a
teardown re-run.
"""

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from kubernetes import dynamic

from tests.ocp_sim.openshift.pytest_fixtures import private_sim

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = ROOT / "tests/ocp_sim/openshift/scenarios/default.yaml"
USER_MONITORING_CONFIG = "prometheusK8s:\n  retention: 15d\n"
OUR_NAMESPACES = [
    "cert-manager-operator",
    "openshift-nfd",
    "nvidia-gpu-operator",
    "openshift-serverless",
    "knative-serving",
    "openshift-lws-operator",
    # authorino, limitador and dns: Red Hat Connectivity Link (the default layout; test_connectivity_link.py has both)
    "kuadrant-system",
    "openshift-kueue-operator",
]
PLATFORM_NAMESPACES = [
    "openshift-monitoring",
    "openshift-marketplace",
    "openshift-machine-api",
    "openshift-dns-operator",
]
CRDS_THAT_STAY = ["kueues.kueue.openshift.io", "knativeservings.operator.knative.dev", "certificates.cert-manager.io"]
# What a check-mode run must not create or delete (names, not resourceVersions: the simulated controllers keep
# updating status).
SNAPSHOT_KINDS = [
    ("v1", "Namespace"),
    ("operators.coreos.com/v1alpha1", "Subscription"),
    ("operators.coreos.com/v1", "OperatorGroup"),
    ("operators.coreos.com/v1alpha1", "ClusterServiceVersion"),
    ("machine.openshift.io/v1beta1", "MachineSet"),
    ("v1", "ConfigMap"),
    ("kueue.openshift.io/v1", "Kueue"),
    ("operator.knative.dev/v1beta1", "KnativeServing"),
    ("operator.openshift.io/v1", "LeaderWorkerSetOperator"),
]
VARS = {"gpu_infra_timeout": 600}
CONFIRM = dict(VARS, gpu_infra_teardown_confirm=True)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("ocp_sim_site")
    scenario = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    scenario["clusterMonitoringConfig"] = USER_MONITORING_CONFIG
    (state_dir / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    with private_sim(state_dir / "cluster", scenario=str(state_dir / "scenario.yaml")) as cluster:
        yield cluster


def client(sim):
    return dynamic.DynamicClient(sim.api_client)


def items(sim, api_version, kind, namespace=None):
    try:
        api = client(sim).resources.get(api_version=api_version, kind=kind)
    except Exception:  # the kind is not served (its CRD is not installed yet)
        return []
    return api.get(namespace=namespace).items if namespace else api.get().items


def snapshot(sim):
    return {
        (kind, o.metadata.namespace or "", o.metadata.name)
        for api_version, kind in SNAPSHOT_KINDS
        for o in items(sim, api_version, kind)
        if (o.status or {}).get("phase") != "Terminating"
    }


def namespaces(sim):
    return {o.metadata.name for o in items(sim, "v1", "Namespace") if o.status.phase != "Terminating"}


def monitoring_config(sim):
    cm = client(sim).resources.get(api_version="v1", kind="ConfigMap")
    return yaml.safe_load(
        cm.get(name="cluster-monitoring-config", namespace="openshift-monitoring").data["config.yaml"]
    )


def conditions(obj):
    return {c["type"]: c["status"] for c in (obj.status or {}).get("conditions") or []}


def test_check_mode_on_a_fresh_cluster_creates_nothing(sim, playbook):
    before = snapshot(sim)
    # One component that needs longer than the others: the one wait for every CSV lasts as long as it may
    slow = {"kueue_timeout": VARS["gpu_infra_timeout"] + 321}
    run = playbook("site.yml", sim.kubeconfig, extra_vars=dict(VARS, **slow), check=True, diff=True)
    assert run.rc == 0, run
    assert "Check mode" in run.stdout, run
    said = " ".join(run.stdout.split())
    assert (
        "a real run waits up to {0} s (the longest timeout of their components)".format(slow["kueue_timeout"]) in said
    )
    assert snapshot(sim) == before
    # with --diff the OLM step applies (here: would create the new Namespaces) one object per item, so that
    # kubernetes.core's diff of each update is printed (it returns none for a create)
    namespace = run.stdout.split("(item=Namespace openshift-nfd)")[0].rsplit("TASK [", 1)[1]
    assert namespace.startswith("Apply the Namespace, OperatorGroup and Subscription"), namespace


def test_teardown_without_confirmation_refuses(sim, playbook):
    before = snapshot(sim)
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=VARS)
    assert run.rc != 0, run
    assert "gpu_infra_teardown_confirm=true" in run.stdout, run
    assert snapshot(sim) == before


def test_site_started_past_its_preflight_changes_nothing(sim, playbook):
    # --start-at-task skips the checks without a word; an admin resuming a failed run would otherwise apply unchecked
    state = snapshot(sim)
    for task in (
        "Apply the Namespace, OperatorGroup and Subscription of every enabled operator",
        "Wait for every operator CSV to succeed",
        "Configure every enabled component in dependency order",
    ):
        run = playbook("site.yml", sim.kubeconfig, extra_vars=VARS, extra_args=("--start-at-task", task))
        assert run.rc != 0, run
        said = " ".join(run.stdout.split())
        assert "found them skipped, as --start-at-task does. Run site.yml without --start-at-task" in said, run
        assert "Nothing was changed." in said, run
    assert snapshot(sim) == state


def test_site_converges_every_component(sim, playbook):
    user_config = monitoring_config(sim)
    run = playbook("site.yml", sim.kubeconfig, extra_vars=VARS)
    assert run.rc == 0, run
    # a user sees warnings as noise to act on: a converge prints none
    assert "[DEPRECATION WARNING]" not in run.stderr + run.stdout and "[WARNING]" not in run.stderr, run.stderr
    csvs = items(sim, "operators.coreos.com/v1alpha1", "ClusterServiceVersion")
    assert len(csvs) >= 9 and all(c.status.phase == "Succeeded" for c in csvs), [
        (c.metadata.name, c.status.phase) for c in csvs
    ]
    for ns in OUR_NAMESPACES:
        assert ns in namespaces(sim)
    (kueue,) = items(sim, "kueue.openshift.io/v1", "Kueue")
    assert conditions(kueue).get("Available") == "True"
    # Red Hat's list for RHOAI 3.x on the default channel stable-v1.2 (operators.md §2)
    assert kueue.spec.config.integrations.frameworks == [
        "Deployment",
        "Pod",
        "PyTorchJob",
        "RayCluster",
        "RayJob",
        "StatefulSet",
        "TrainJob",
    ]
    (lwso,) = items(sim, "operator.openshift.io/v1", "LeaderWorkerSetOperator")
    assert lwso.metadata.name == "cluster"
    (serving,) = items(sim, "operator.knative.dev/v1beta1", "KnativeServing")
    assert conditions(serving).get("Ready") == "True"
    config = monitoring_config(sim)
    assert config["enableUserWorkload"] is True
    assert config["prometheusK8s"]["retention"] == user_config["prometheusK8s"]["retention"]
    gpu_sets = [m for m in items(sim, "machine.openshift.io/v1beta1", "MachineSet") if "-gpu-" in m.metadata.name]
    assert gpu_sets, "no GPU MachineSet"
    assert "COMPONENT" in run.stdout and "Succeeded" in run.stdout  # the summary table


def test_users_can_create_kueue_queues_once_kueue_is_installed(sim):
    """The Kueue operator installs kueue.x-k8s.io (the upstream CRDs): what a user creates next is accepted."""
    dyn = dynamic.DynamicClient(sim.api_client)
    api = "kueue.x-k8s.io/v1beta1"
    flavor = {"apiVersion": api, "kind": "ResourceFlavor", "metadata": {"name": "gpu-l4"}, "spec": {}}
    cluster_queue = {
        "apiVersion": api,
        "kind": "ClusterQueue",
        "metadata": {"name": "team-a"},
        "spec": {
            "namespaceSelector": {},
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "nvidia.com/gpu"],
                    "flavors": [
                        {
                            "name": "gpu-l4",
                            "resources": [
                                {"name": "cpu", "nominalQuota": 8},
                                {"name": "nvidia.com/gpu", "nominalQuota": 2},
                            ],
                        }
                    ],
                }
            ],
        },
    }
    local_queue = {
        "apiVersion": api,
        "kind": "LocalQueue",
        "metadata": {"name": "team-a", "namespace": "default"},
        "spec": {"clusterQueue": "team-a"},
    }
    for obj in (flavor, cluster_queue, local_queue):
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        created = res.create(body=obj, namespace=obj["metadata"].get("namespace"))
        assert created.metadata.name == obj["metadata"]["name"]
        # user objects: teardown must leave their CRDs alone, so remove them here
        res.delete(name=obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"))


def test_second_site_run_changes_nothing(sim, playbook):
    run = playbook("site.yml", sim.kubeconfig, extra_vars=VARS)
    assert run.rc == 0, run
    assert run.changed == 0, run


def test_check_mode_on_the_converged_cluster_reports_no_change(sim, playbook):
    run = playbook("site.yml", sim.kubeconfig, extra_vars=VARS, check=True)
    assert run.rc == 0, run
    assert run.changed == 0, run


def test_verify_passes_after_site_also_in_check_mode(sim, playbook, tmp_path):
    run = playbook("verify.yml", sim.kubeconfig, extra_vars=dict(VARS, gpu_infra_report_dir=str(tmp_path)))
    assert run.rc == 0, run
    assert run.changed == 0, run
    data = json.loads((tmp_path / "verify-latest.json").read_text())
    assert data["passed"] is True, [c for c in data["checks"] if c["status"] == "failed"]
    assert data["cluster"]["api_url"]
    assert "rhoai.gpu_infra verify of " in run.stdout and " 0 failed" in run.stdout, run
    junit = ET.parse(str(tmp_path / "verify-latest.xml")).getroot()
    cases = junit.findall("./testsuite/testcase")
    assert len(cases) == data["counts"]["total"] >= 10
    assert not junit.findall(".//failure")

    check = playbook(
        "verify.yml", sim.kubeconfig, extra_vars=dict(VARS, gpu_infra_report_dir=str(tmp_path)), check=True
    )
    assert check.rc == 0, check
    assert check.changed == 0, check


def test_verify_fails_on_hand_edits_that_site_sets_back(sim, playbook, tmp_path):
    """What a cluster admin changed by hand, and the next site run would undo, fails verify, which names it."""
    dyn = dynamic.DynamicClient(sim.api_client)
    kueue = dyn.resources.get(api_version="kueue.openshift.io/v1", kind="Kueue")
    subscriptions = dyn.resources.get(api_version="operators.coreos.com/v1alpha1", kind="Subscription")
    merge = {"content_type": "application/merge-patch+json"}
    kueue.patch(name="cluster", body={"spec": {"config": {"integrations": {"frameworks": ["Pod"]}}}}, **merge)
    policies = dyn.resources.get(api_version="nvidia.com/v1", kind="ClusterPolicy")
    policies.patch(name="gpu-cluster-policy", body={"spec": {"mig": {"strategy": "mixed"}}}, **merge)
    subscriptions.patch(
        name="kueue-operator",
        namespace="openshift-kueue-operator",
        body={"spec": {"installPlanApproval": "Manual"}},
        **merge,
    )
    run = playbook("verify.yml", sim.kubeconfig, extra_vars=dict(VARS, gpu_infra_report_dir=str(tmp_path)))
    assert run.rc != 0, run
    data = json.loads((tmp_path / "verify-latest.json").read_text())
    failed = {c["check"]: c for c in data["checks"] if c["status"] == "failed"}
    assert sorted(failed) == [
        "ClusterPolicy gpu-cluster-policy as configured",
        "Kueue cluster as configured",
        "kueue-operator operator CSV Succeeded",
    ], failed
    assert 'frameworks: want ["Deployment", "Pod",' in failed["Kueue cluster as configured"]["evidence"]
    assert failed["ClusterPolicy gpu-cluster-policy as configured"]["evidence"] == (
        'spec.mig.strategy: want "single", found "mixed"'
    )
    assert failed["kueue-operator operator CSV Succeeded"]["evidence"].endswith(
        '; spec.installPlanApproval: want "Automatic", found "Manual"'
    )

    converge = playbook("site.yml", sim.kubeconfig, extra_vars=VARS)
    assert converge.rc == 0 and converge.changed >= 2, converge
    said = " ".join((converge.stdout + converge.stderr).split()).replace("''", "'")
    sets = 'and the subscribe phase sets: spec.installPlanApproval: want "Automatic", found "Manual"'
    assert "Subscription openshift-kueue-operator/kueue-operator differs from the configuration, " + sets in said
    assert "kueue: Kueue cluster differs from the configuration, and applying it sets: " in said, converge
    assert "ClusterPolicy gpu-cluster-policy differs from the configuration, and applying it sets: " in said, converge
    run = playbook("verify.yml", sim.kubeconfig, extra_vars=dict(VARS, gpu_infra_report_dir=str(tmp_path)))
    assert run.rc == 0, run


def data_science_cluster_crd():
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "datascienceclusters.datasciencecluster.opendatahub.io"},
        "spec": {
            "group": "datasciencecluster.opendatahub.io",
            "names": {
                "kind": "DataScienceCluster",
                "listKind": "DataScienceClusterList",
                "plural": "datascienceclusters",
            },
            "scope": "Cluster",
            # as the operator's 3.x releases serve it: v1 still served, v2 stored
            "versions": [
                {"name": "v1", "served": True, "storage": False, "schema": schema},
                {"name": "v2", "served": True, "storage": True, "schema": schema},
            ],
        },
    }


def test_teardown_is_refused_while_openshift_ai_runs_on_the_components(sim, playbook):
    crds = client(sim).resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=data_science_cluster_crd())
    for _ in range(50):
        if conditions(crds.get(name="datascienceclusters.datasciencecluster.opendatahub.io")).get("Established"):
            break
        time.sleep(0.2)
    dscs = client(sim).resources.get(api_version="datasciencecluster.opendatahub.io/v2", kind="DataScienceCluster")
    dscs.create(
        body={
            "apiVersion": "datasciencecluster.opendatahub.io/v2",
            "kind": "DataScienceCluster",
            "metadata": {"name": "default-dsc"},
            "spec": {},
        }
    )
    state = snapshot(sim)
    for check in (False, True):
        run = playbook("teardown.yml", sim.kubeconfig, extra_vars=CONFIRM, check=check)
        assert run.rc != 0, run
        said = " ".join(run.stdout.split())
        assert "Expected no DataScienceCluster before removing monitoring, cert_manager, nfd" in said, run
        assert "Found DataScienceCluster default-dsc." in said and "gpu_infra_teardown_with_rhoai=true" in said, run
        assert "Nothing was changed." in said, run
        assert snapshot(sim) == state
    # told to go on, the preview lists what would go (the removal itself is the next test's, after the DSC is gone)
    preview = playbook(
        "teardown.yml", sim.kubeconfig, extra_vars=dict(VARS, gpu_infra_teardown_with_rhoai=True), check=True
    )
    assert preview.rc == 0, preview
    assert "Would remove (objects carrying app.kubernetes.io/managed-by=rhoai.gpu_infra): " in preview.stdout, preview
    dscs.delete(name="default-dsc")
    assert snapshot(sim) == state


def test_teardown_started_past_its_checks_removes_nothing(sim, playbook):
    # --start-at-task skips the confirmation, the permission check and the DataScienceCluster check without a word
    state = snapshot(sim)
    start = ("--start-at-task", "Remove every enabled component in reverse install order")
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=VARS, extra_args=start)
    assert run.rc != 0, run
    said = " ".join(run.stdout.split())
    assert "found them skipped, as --start-at-task does. Run teardown.yml without --start-at-task" in said, run
    assert "Nothing was changed." in said, run
    assert snapshot(sim) == state


def test_teardown_removes_what_site_created_and_nothing_else(sim, playbook):
    before = {m.metadata.name for m in items(sim, "machine.openshift.io/v1beta1", "MachineSet")}
    workers = {name for name in before if "-worker-" in name}
    assert before - workers, before  # the GPU MachineSets site made
    # check mode needs no confirmation: it lists what would go and deletes nothing
    state = snapshot(sim)
    preview = playbook("teardown.yml", sim.kubeconfig, extra_vars=VARS, check=True)
    assert preview.rc == 0, preview
    said = " ".join(preview.stdout[preview.stdout.index("Summarize what the teardown removed") :].split())
    assert "Would remove (objects carrying app.kubernetes.io/managed-by=rhoai.gpu_infra): " in said, preview
    for name in before - workers:
        assert "MachineSet openshift-machine-api/{0}".format(name) in said, preview
    assert snapshot(sim) == state
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=CONFIRM)
    assert run.rc == 0, run
    # the summary names what went: the GPU MachineSets and, per operator, its Subscription and the rest
    summary = " ".join(run.stdout[run.stdout.index("Summarize what the teardown removed") :].split())
    for name in before - workers:
        assert "MachineSet openshift-machine-api/{0}".format(name) in summary, run
    assert "- kueue: Subscription openshift-kueue-operator/kueue-operator, ClusterServiceVersion" in summary, run
    assert "CRDs: kept unless gpu_infra_remove_crds=true" in summary, (
        run
    )  # the YAML output escapes the apostrophe before it
    # cert-manager itself outlives its operator: left running, and said so with Red Hat's way to remove it
    assert "cert_manager: Deployments cert-manager, cert-manager-cainjector, cert-manager-webhook" in summary, run
    assert items(sim, "operators.coreos.com/v1alpha1", "Subscription") == []
    assert items(sim, "operators.coreos.com/v1alpha1", "ClusterServiceVersion") == []
    assert items(sim, "kueue.openshift.io/v1", "Kueue") == []
    assert items(sim, "operator.openshift.io/v1", "LeaderWorkerSetOperator") == []
    assert items(sim, "operator.knative.dev/v1beta1", "KnativeServing") == []
    left = namespaces(sim)
    assert not left & set(OUR_NAMESPACES), left & set(OUR_NAMESPACES)
    assert set(PLATFORM_NAMESPACES) <= left
    crds = {c.metadata.name for c in items(sim, "apiextensions.k8s.io/v1", "CustomResourceDefinition")}
    assert set(CRDS_THAT_STAY) <= crds
    machinesets = {m.metadata.name for m in items(sim, "machine.openshift.io/v1beta1", "MachineSet")}
    assert machinesets == workers
    assert monitoring_config(sim)["prometheusK8s"]["retention"] == "15d"


def test_teardown_runs_again_after_it_finished(sim, playbook):
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=CONFIRM)
    assert run.rc == 0, run
    assert run.changed == 0, run
    # nothing was installed this time: no word of CRDs the operators brought
    summary = " ".join(run.stdout[run.stdout.index("Summarize what the teardown removed") :].split())
    assert "Left in place:" in summary and "CRDs" not in summary, run
