"""Ownership of operand objects, on one private test bed (results are the test bed's: a real kube-apiserver and the
real OLM v0.46.0; the Kueue and LeaderWorkerSet operators' reconcile loops are simulated).

The steps share the cluster and run in file order: site labels every operand it creates; a Kueue cluster someone
else made (no label) that differs from what site would apply refuses the run before anything changes; with
gpu_infra_adopt=true it is taken over and labelled; one equal to what site would apply is adopted silently; teardown
(check mode first) deletes the labelled LeaderWorkerSetOperator cluster and leaves someone else's Kueue cluster in
place, saying so.
"""

import time

import pytest

from tests.integration.cluster import Cluster, object_versions, settled_versions
from tests.ocp_sim.openshift.pytest_fixtures import private_sim

pytestmark = pytest.mark.integration

COMPONENTS = ["cert_manager", "lws", "kueue"]
SITE = {"gpu_infra_timeout": 600, "gpu_infra_components": COMPONENTS, "kueue_poll_interval": 2}
CONFIRM = {"gpu_infra_teardown_confirm": True}
KUEUE = ("kueue.openshift.io/v1", "Kueue", "cluster")
LWS = ("operator.openshift.io/v1", "LeaderWorkerSetOperator", "cluster")
MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT = "rhoai.gpu-infra/component"
# what RHOAI would leave in Kueue cluster if it had made it first: not the collection's default list
RHOAI_FRAMEWORKS = ["BatchJob", "RayJob"]
# every namespace the three components write to
CONCERNED = ["cert-manager-operator", "openshift-lws-operator", "openshift-kueue-operator"]
# cluster-scoped kinds a run of these components may write
CLUSTER_KINDS = [KUEUE[:2], LWS[:2], ("operators.coreos.com/v1", "Operator")]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with private_sim(tmp_path_factory.mktemp("ocp_sim_ownership")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster(sim):
    return Cluster(sim.api_client)


def versions(sim):
    return object_versions(sim, CONCERNED, CLUSTER_KINDS)


def settled(sim):
    return settled_versions(sim, CONCERNED, cluster_kinds=CLUSTER_KINDS)


def unchanged(before, after):
    changed = {k: (v, after[0].get(k)) for k, v in before[0].items() if after[0].get(k) != v}
    added = set(after[0]) - set(before[0])
    assert after[1] == before[1], "namespaces created or changed"
    assert not changed and not added, (changed, added)


def flat(run):
    # the output callback folds long messages (compare with runs of whitespace made one space); warnings go to stderr
    return " ".join((run.stdout + run.stderr).split())


def labels(obj):
    return obj["metadata"].get("labels") or {}


def make_foreign(cluster, ref, spec=None):
    """Take the collection's labels off, as if the object had been made by someone else (RHOAI, a user)."""
    patch = {"metadata": {"labels": {MANAGED_BY: None, COMPONENT: None}}}
    if spec:
        patch["spec"] = spec
    return cluster.merge_patch(ref[0], ref[1], ref[2], patch)


def test_site_labels_every_operand_it_creates(sim, cluster, playbook):
    started = time.monotonic()
    run = playbook("site.yml", sim.kubeconfig, extra_vars=SITE)
    print("site.yml, cert_manager + lws + kueue: {0:.0f} s (test bed)".format(time.monotonic() - started))
    assert run.rc == 0, run
    for ref, component in ((KUEUE, "kueue"), (LWS, "lws")):
        obj = cluster.get(ref[0], ref[1], ref[2])
        assert labels(obj).get(MANAGED_BY) == "rhoai.gpu_infra", obj
        assert labels(obj).get(COMPONENT) == component, obj


def test_someone_elses_different_kueue_refuses_the_run_before_any_change(sim, cluster, playbook):
    make_foreign(cluster, KUEUE, {"config": {"integrations": {"frameworks": RHOAI_FRAMEWORKS}}})
    before = settled(sim)
    run = playbook("site.yml", sim.kubeconfig, extra_vars=SITE)
    assert run.rc != 0, run
    output = flat(run)
    for text in (
        "kueue: expected to create or adopt Kueue cluster",
        "spec.config.integrations.frameworks: want",
        "RayJob",
        "gpu_infra_adopt=true",
        "Nothing was changed.",
    ):
        assert text in output, (text, run)
    unchanged(before, versions(sim))
    # the preflight failed: no task after it ran
    assert "Apply the Namespace, OperatorGroup and Subscription of every enabled operator" not in run.stdout, run


def test_gpu_infra_adopt_takes_a_different_kueue_over_and_labels_it(sim, cluster, playbook):
    before = settled(sim)
    preview = playbook("site.yml", sim.kubeconfig, extra_vars=dict(SITE, gpu_infra_adopt=True), check=True, diff=True)
    assert preview.rc == 0, preview
    unchanged(before, versions(sim))
    # --diff shows what the apply would change of someone else's Kueue: their frameworks before, ours after
    diff = preview.stdout.split("+++ after: Kueue cluster")[1].split("TASK [")[0]
    assert [line for line in diff.splitlines() if line.startswith("+") and "Deployment" in line], diff

    run = playbook("site.yml", sim.kubeconfig, extra_vars=dict(SITE, gpu_infra_adopt="true"))  # as a survey sends it
    assert run.rc == 0, run
    assert "taking over Kueue cluster" in flat(run), run
    kueue = cluster.get(*KUEUE)
    assert labels(kueue)[MANAGED_BY] == "rhoai.gpu_infra"
    assert labels(kueue)[COMPONENT] == "kueue"
    frameworks = kueue["spec"]["config"]["integrations"]["frameworks"]
    assert frameworks != RHOAI_FRAMEWORKS and "Deployment" in frameworks, frameworks


def test_someone_elses_kueue_equal_to_ours_is_adopted_silently(sim, cluster, playbook):
    make_foreign(cluster, KUEUE)
    run = playbook("site.yml", sim.kubeconfig, extra_vars=SITE)
    assert run.rc == 0, run
    assert "taking over" not in flat(run), run
    assert labels(cluster.get(*KUEUE))[MANAGED_BY] == "rhoai.gpu_infra"


def test_teardown_deletes_labelled_operands_and_lists_someone_elses_it_left(sim, cluster, playbook):
    make_foreign(cluster, KUEUE, {"config": {"integrations": {"frameworks": RHOAI_FRAMEWORKS}}})
    assert labels(cluster.get(*LWS))[MANAGED_BY] == "rhoai.gpu_infra"

    before = settled(sim)
    dry = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(SITE, **CONFIRM), check=True)
    assert dry.rc == 0, dry
    assert "Would remove (objects carrying app.kubernetes.io/managed-by=rhoai.gpu_infra): LeaderWorkerSetOperator" in (
        flat(dry)
    ), dry
    assert "- lws: Subscription openshift-lws-operator/leader-worker-set, ClusterServiceVersion" in flat(dry), dry
    unchanged(before, versions(sim))

    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(SITE, **CONFIRM))
    assert run.rc == 0, run
    assert cluster.get(*LWS) is None
    kueue = cluster.get(*KUEUE)
    assert kueue is not None and MANAGED_BY not in labels(kueue), kueue
    assert kueue["spec"]["config"]["integrations"]["frameworks"] == RHOAI_FRAMEWORKS
    output = flat(run)
    assert "kueue: left in place Kueue cluster: not created by rhoai.gpu_infra" in output, run
    summary = output[output.index("Summarize what the teardown removed") :]
    assert "kueue: Kueue cluster: not created by rhoai.gpu_infra" in summary, run
    assert "Removed (objects carrying app.kubernetes.io/managed-by=rhoai.gpu_infra): LeaderWorkerSetOperator" in (
        summary
    ), run
    # the operator installs are listed too, each with what went
    removed = summary[summary.index("Removed with the operator installs") : summary.index("Left in place")]
    for component in COMPONENTS:
        assert "- {0}: Subscription ".format(component) in removed, run
    assert "Namespace openshift-lws-operator" in removed, run


def test_teardown_keeps_a_namespace_of_ours_that_holds_someone_elses_configmap_and_says_so(sim, cluster, playbook):
    # The Kueue cluster the test above left is someone else's and differs from ours: these components do not touch it.
    components = dict(SITE, gpu_infra_components=["cert_manager", "lws"])
    run = playbook("site.yml", sim.kubeconfig, extra_vars=components)
    assert run.rc == 0, run
    ns = "openshift-lws-operator"
    # what a person puts next to an operator: no label of ours, no owner
    planted = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "team-settings", "namespace": ns}}
    cluster.create(dict(planted, data={"replicas": "3"}))

    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components, **CONFIRM))
    assert run.rc == 0, run
    assert cluster.get("v1", "Namespace", ns) is not None
    assert cluster.get("v1", "ConfigMap", "team-settings", ns) is not None
    assert cluster.get("operators.coreos.com/v1alpha1", "Subscription", "leader-worker-set", ns) is None
    output = flat(run)
    summary = output[output.index("Summarize what the teardown removed") :]
    left = summary[summary.index("Left in place") :]
    assert "Left namespace {0} and its OperatorGroup in place".format(ns) in left, run
    assert "ConfigMap {0}/team-settings".format(ns) in left and "oc delete namespace {0}".format(ns) in left, run
    assert "Namespace {0}".format(ns) not in summary[: summary.index("Left in place")], run
    # the other namespace of ours holds nothing of anyone else's: it went
    assert cluster.get("v1", "Namespace", "cert-manager-operator") is None

    cluster.delete("v1", "ConfigMap", "team-settings", ns)
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components, **CONFIRM))
    assert run.rc == 0, run
    assert cluster.get("v1", "Namespace", ns) is None
    summary = flat(run)[flat(run).index("Summarize what the teardown removed") :]
    assert "- lws: OperatorGroup {0}/{0}, Namespace {0}".format(ns) in summary, run
