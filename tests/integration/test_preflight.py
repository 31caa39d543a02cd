"""The preflight is read-only and runs for every enabled component before the first write; OLM objects someone else
made are adopted only when they equal what would be applied, and teardown leaves them in place. On one private test
bed (real kube-apiserver and OLM v0.46.0; the operators themselves are simulated), in file order:

a literal credential in a Subscription config (NFD's, Connectivity Link's) is refused before anything, also in check
mode, and its value is nowhere in the -vvv output;
the GPU operator selected without NFD (and LWS without cert-manager) is refused, also in check mode; a channel that
does not exist for the GPU operator is refused before NFD (earlier in the list) is subscribed; a foreign
OperatorGroup in the LWS namespace and a Subscription of NFD in another namespace are refused; an unlabelled
Subscription in a namespace an earlier version of the collection created counts as ours; a CSV of NFD applied by hand
in another namespace and a foreign cert-manager Subscription on another channel are refused. Each refusal leaves every
object of the namespaces concerned at its resourceVersion and creates no namespace. Teardown leaves that foreign
Subscription in place and says so; gpu_infra_adopt=true takes it over; an LWS Subscription equal to ours is adopted
without being asked; teardown then removes what was adopted and keeps the namespaces and the OperatorGroup it did not
create. Last, cert-manager's CRD that a teardown kept is no install: Kueue is refused before any change; an available
cert-manager webhook Deployment without OLM counts as one, and so does cert-manager installed by an earlier run; NFD
installed by an earlier run lets the GPU operator install alone.
"""

import time

import pytest

# as a module: its fixtures (autouse ones among them) are for its own tests
from tests.integration import test_olm_engine as olm_engine
from tests.integration.cluster import (
    Cluster,
    assert_refused_before_any_change,
    delete_namespaces,
    object_versions,
    settled_versions,
)
from tests.ocp_sim.openshift.pytest_fixtures import private_sim

pytestmark = pytest.mark.integration

OLM = "operators.coreos.com/v1alpha1"
OLM_V1 = "operators.coreos.com/v1"
OURS = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra"}
MANAGED_BY = "app.kubernetes.io/managed-by"
TIMEOUT = {"gpu_infra_timeout": 300}
CONFIRM = {"gpu_infra_teardown_confirm": True}
NFD_NS, GPU_NS, LWS_NS, CM_NS = (
    "openshift-nfd",
    "nvidia-gpu-operator",
    "openshift-lws-operator",
    "cert-manager-operator",
)
CM_PACKAGE = "openshift-cert-manager-operator"
# what one test leaves for a later one (the tests run in file order on one test bed)
STASH = {}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with private_sim(tmp_path_factory.mktemp("ocp_sim_preflight")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster(sim):
    return Cluster(sim.api_client)


def components(*names, **extra):
    return dict(TIMEOUT, gpu_infra_components=list(names), **extra)


def namespace(cluster, name):
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def operator_group(cluster, ns, name, targets=None):
    spec = {"targetNamespaces": targets} if targets is not None else {}
    cluster.create(
        {"apiVersion": OLM_V1, "kind": "OperatorGroup", "metadata": {"name": name, "namespace": ns}, "spec": spec}
    )


def subscription(cluster, ns, package, channel, name=None):
    cluster.create(
        {
            "apiVersion": OLM,
            "kind": "Subscription",
            "metadata": {"name": name or package, "namespace": ns},
            "spec": {
                "name": package,
                "channel": channel,
                "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace",
                "installPlanApproval": "Automatic",
            },
        }
    )


def labels(obj):
    return (obj or {}).get("metadata", {}).get("labels") or {}


def wait_installed(sim, ns, name):
    proc = olm_engine.ansible_module(
        sim, "rhoai.gpu_infra.csv_wait", {"subscriptions": [{"name": name, "namespace": ns}], "timeout": 300}
    )
    assert proc.returncode == 0, proc.stdout


def test_a_literal_credential_in_a_subscription_config_is_refused_before_anything_and_never_printed(sim, playbook):
    aws_secret, proxy_password = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "pr0xy-s3cret-Pa55"
    extra = components(
        "cert_manager",
        "nfd",
        "authorino",
        nfd_subscription_config={
            "env": [
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": aws_secret},
            ]
        },
        connectivity_link_subscription_config={
            "env": [{"name": "HTTPS_PROXY", "value": "http://proxyuser:" + proxy_password + "@proxy.example:3128"}]
        },
    )
    expected = [
        "found a literal value in nfd_subscription_config env AWS_SECRET_ACCESS_KEY (its name looks like",
        "; connectivity_link_subscription_config env HTTPS_PROXY (its value looks like a credential",
        "valueFrom.secretKeyRef",
    ]
    concerned = [CM_NS, NFD_NS, "kuadrant-system"]
    for check in (False, True):
        args = ["-vvv"] + (["--check"] if check else [])
        run = assert_refused_before_any_change(playbook, sim, extra, expected, concerned, extra_args=args)
        # refused before the first module call: not even the API was read
        assert "TASK [Read the OpenShift version and check that the credentials" not in run.stdout, run
        assert "DB_PASSWORD" not in run.stdout, run
        for secret in (aws_secret, proxy_password):
            assert secret not in run.stdout + run.stderr, (check, run)


def test_a_subscription_config_that_is_no_subscription_config_is_refused_before_monitoring_is_written(sim, playbook):
    # a misspelt field would be dropped by the API server with a warning; a wrong type refused at the apply
    extra = components(
        "monitoring", "nfd", nfd_subscription_config={"nodeselector": {"a": "b"}, "tolerations": "nvidia.com/gpu"}
    )
    expected = [
        "nfd: expected nfd_subscription_config to hold only fields of an OLM SubscriptionConfig",
        "unknown field nodeselector (did you mean nodeSelector?); field tolerations must be a list, found a string.",
    ]
    run = assert_refused_before_any_change(playbook, sim, extra, expected, [NFD_NS, "openshift-monitoring"])
    assert "Enable user workload monitoring" not in run.stdout, run


def test_the_gpu_operator_without_nfd_is_refused_before_any_change_also_in_check_mode(sim, cluster, playbook):
    # The registry's requires: the Driver Toolkit and GPU feature discovery need NFD's node labels. Checked together
    # with what the other components of the selection require, in one message.
    expected = [
        "gpu_operator requires nfd, which is neither part of this run nor installed and running. Expected NFD "
        "installed and running: CRD nodefeaturediscoveries.nfd.openshift.io Established, a ClusterServiceVersion "
        "(not an OLM copy) that owns it in phase Succeeded, and a NodeFeatureDiscovery (any namespace)",
        "Found: CRD nodefeaturediscoveries.nfd.openshift.io not found: NFD is not installed.",
        "Add nfd to gpu_infra_components, or install it first (the rhoai.gpu_infra.nfd role",
        "lws requires cert_manager, which is neither part of this run nor installed and running.",
        "Add cert_manager to gpu_infra_components",
    ]
    assert_refused_before_any_change(
        playbook, sim, components("machinesets", "gpu_operator", "lws"), expected, [GPU_NS]
    )
    check = playbook("site.yml", sim.kubeconfig, extra_vars=components("gpu_operator"), check=True)
    assert check.rc != 0 and "gpu_operator requires nfd" in " ".join(check.stdout.split()), check
    assert "Apply the Namespace, OperatorGroup and Subscription" not in check.stdout, check
    assert cluster.get("v1", "Namespace", GPU_NS) is None


def test_a_channel_that_does_not_exist_is_refused_before_an_earlier_component_is_subscribed(sim, cluster, playbook):
    assert_refused_before_any_change(
        playbook,
        sim,
        components("nfd", "gpu_operator", gpu_operator_channel="v99.1"),
        [
            "Channel v99.1 does not exist in package gpu-operator-certified of catalog certified-operators",
            "Channels that exist: stable, v25.10, v25.3",
        ],
        [NFD_NS, GPU_NS],
    )
    assert cluster.get(OLM, "Subscription", "nfd", NFD_NS) is None
    assert cluster.get("v1", "Namespace", NFD_NS) is None


def test_a_foreign_operator_group_in_the_lws_namespace_is_refused(sim, cluster, playbook):
    namespace(cluster, LWS_NS)
    operator_group(cluster, LWS_NS, "global")
    assert_refused_before_any_change(
        playbook,
        sim,
        components("cert_manager", "lws"),
        [
            "lws: expected to be able to install package leader-worker-set in namespace openshift-lws-operator",
            "OperatorGroup global in namespace openshift-lws-operator selects AllNamespaces",
        ],
        [CM_NS, LWS_NS],
    )
    # what a later test needs: the namespace stays, with an OperatorGroup that fits (still not ours)
    cluster.resource(OLM_V1, "OperatorGroup").delete(name="global", namespace=LWS_NS)
    operator_group(cluster, LWS_NS, "team-lws", targets=[LWS_NS])


def test_a_subscription_of_the_package_in_another_namespace_is_refused(sim, cluster, playbook):
    # No OperatorGroup there: OLM leaves that Subscription alone, as it would a stuck earlier install.
    namespace(cluster, "team-nfd")
    subscription(cluster, "team-nfd", "nfd", "stable")
    try:
        assert_refused_before_any_change(
            playbook,
            sim,
            components("nfd"),
            [
                "Subscription team-nfd/nfd (package nfd, channel stable) already installs package nfd in namespace "
                "team-nfd; expected no Subscription of nfd outside namespace openshift-nfd",
                "leave nfd out of gpu_infra_components",
                "oc delete subscription nfd -n team-nfd",
            ],
            [NFD_NS, "team-nfd"],
        )
    finally:
        delete_namespaces(cluster, ["team-nfd"])


def test_an_unlabelled_subscription_in_a_namespace_an_earlier_version_created_is_ours(sim, cluster, playbook):
    # what versions before the ownership labels left: only the namespace (and OperatorGroup) carry managed-by
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NFD_NS, "labels": OURS}})
    cluster.create(
        {
            "apiVersion": OLM_V1,
            "kind": "OperatorGroup",
            "metadata": {"name": NFD_NS, "namespace": NFD_NS, "labels": OURS},
            "spec": {"targetNamespaces": [NFD_NS]},
        }
    )
    subscription(cluster, NFD_NS, "nfd", "stable")
    wait_installed(sim, NFD_NS, "nfd")
    installed = cluster.get(OLM, "Subscription", "nfd", NFD_NS)["status"]["installedCSV"]
    STASH["nfd_csv"] = cluster.get(OLM, "ClusterServiceVersion", installed, NFD_NS)
    dry = playbook("site.yml", sim.kubeconfig, extra_vars=components("nfd"), check=True)
    assert dry.rc == 0, dry
    assert "made by someone else" not in dry.stdout, dry
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components("nfd"), **CONFIRM))
    assert run.rc == 0, run
    assert cluster.get(OLM, "Subscription", "nfd", NFD_NS) is None
    assert cluster.get("v1", "Namespace", NFD_NS) is None


def test_a_csv_of_the_package_without_a_subscription_elsewhere_is_refused(sim, cluster, playbook):
    # A CSV applied by hand, as some install guides do: no Subscription, no OperatorGroup (OLM leaves it Failed).
    csv = STASH["nfd_csv"]
    meta = {"name": csv["metadata"]["name"], "namespace": "hand-made"}
    namespace(cluster, "hand-made")
    cluster.create({"apiVersion": OLM, "kind": "ClusterServiceVersion", "metadata": meta, "spec": csv["spec"]})
    try:
        assert_refused_before_any_change(
            playbook,
            sim,
            components("nfd"),
            [
                "Found CSV hand-made/{0} (phase".format(meta["name"]),
                "of package nfd with no Subscription of the package in its namespace",
                "oc delete csv {0} -n hand-made".format(meta["name"]),
            ],
            [NFD_NS],
        )
    finally:
        delete_namespaces(cluster, ["hand-made"])


def test_a_foreign_subscription_on_another_channel_is_refused_naming_gpu_infra_adopt(sim, cluster, playbook):
    namespace(cluster, CM_NS)
    operator_group(cluster, CM_NS, "team-cert-manager")
    subscription(cluster, CM_NS, CM_PACKAGE, "stable-v1.17")
    wait_installed(sim, CM_NS, CM_PACKAGE)
    assert_refused_before_any_change(
        playbook,
        sim,
        components("cert_manager"),
        [
            "cert_manager: expected to create or adopt Subscription "
            "cert-manager-operator/openshift-cert-manager-operator",
            'spec.channel: want "stable-v1", found "stable-v1.17"',
            "Set gpu_infra_adopt=true to take it over",
        ],
        [CM_NS],
    )


def test_teardown_leaves_a_foreign_subscription_in_place_and_says_so(sim, cluster, playbook):
    before = settled_versions(sim, [CM_NS])
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components("cert_manager"), **CONFIRM))
    assert run.rc == 0, run
    output = " ".join(run.stdout.split())
    assert (
        "Left Subscription cert-manager-operator/openshift-cert-manager-operator (package "
        "openshift-cert-manager-operator, channel stable-v1.17) and its CSV cert-manager-operator.v1.17.0 in place"
    ) in output, run
    assert "oc delete subscription openshift-cert-manager-operator -n cert-manager-operator" in output, run
    # the operator stays, and so does cert-manager itself, without a word: it is managed
    assert "left in place Deployments" not in output, run
    assert object_versions(sim, [CM_NS]) == before


def test_gpu_infra_adopt_takes_the_foreign_subscription_over(sim, cluster, playbook):
    run = playbook("site.yml", sim.kubeconfig, extra_vars=components("cert_manager", gpu_infra_adopt="true"))
    assert run.rc == 0, run
    assert "it is taken over because gpu_infra_adopt is true" in " ".join(run.stdout.split()), run
    sub = cluster.get(OLM, "Subscription", CM_PACKAGE, CM_NS)
    assert sub["spec"]["channel"] == "stable-v1"
    assert labels(sub)[MANAGED_BY] == "rhoai.gpu_infra" and labels(sub)["rhoai.gpu-infra/component"] == "cert_manager"
    # what it did not create stays someone else's: the OperatorGroup was reused, the namespace is not marked
    (group,) = cluster.list(OLM_V1, "OperatorGroup", CM_NS)
    assert group["metadata"]["name"] == "team-cert-manager" and MANAGED_BY not in labels(group)
    assert MANAGED_BY not in labels(cluster.get("v1", "Namespace", CM_NS))


def test_a_foreign_subscription_equal_to_ours_is_adopted_silently(sim, cluster, playbook):
    subscription(cluster, LWS_NS, "leader-worker-set", "stable-v1.0")
    run = playbook("site.yml", sim.kubeconfig, extra_vars=components("cert_manager", "lws"))
    assert run.rc == 0, run
    sub = cluster.get(OLM, "Subscription", "leader-worker-set", LWS_NS)
    assert labels(sub)[MANAGED_BY] == "rhoai.gpu_infra" and labels(sub)["rhoai.gpu-infra/component"] == "lws"
    assert sub["status"]["installedCSV"] == "leader-worker-set.v1.0.0"
    assert [g["metadata"]["name"] for g in cluster.list(OLM_V1, "OperatorGroup", LWS_NS)] == ["team-lws"]
    again = playbook("site.yml", sim.kubeconfig, extra_vars=components("cert_manager", "lws"))
    assert again.rc == 0, again
    assert again.changed == 0, again


def test_teardown_removes_what_was_adopted_and_keeps_what_it_did_not_create(sim, cluster, playbook):
    run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components("cert_manager", "lws"), **CONFIRM))
    assert run.rc == 0, run
    for ns, package in ((CM_NS, CM_PACKAGE), (LWS_NS, "leader-worker-set")):
        assert cluster.get(OLM, "Subscription", package, ns) is None, ns
        assert [c for c in cluster.list(OLM, "ClusterServiceVersion", ns) if not labels(c).get("olm.copiedFrom")] == []
        assert cluster.get("v1", "Namespace", ns)["status"]["phase"] == "Active", ns
    assert [g["metadata"]["name"] for g in cluster.list(OLM_V1, "OperatorGroup", LWS_NS)] == ["team-lws"]
    # cert-manager itself outlives its operator, as on a real cluster: left running and reported, with the way out
    summary = " ".join(run.stdout[run.stdout.index("Summarize what the teardown removed") :].split())
    assert (
        "cert_manager: Deployments cert-manager, cert-manager-cainjector, cert-manager-webhook in namespace "
        "cert-manager: cert-manager itself, which the operator deployed and which outlives it, unmanaged"
    ) in summary, run
    assert CM_OPERAND_REMOVAL in summary, run
    assert sorted(d["metadata"]["name"] for d in cluster.list("apps/v1", "Deployment", CM_OPERAND_NS)) == [
        "cert-manager",
        "cert-manager-cainjector",
        "cert-manager-webhook",
    ]
    again = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components("cert_manager", "lws"), **CONFIRM))
    assert again.rc == 0, again
    assert again.changed == 0, again


# --- cert-manager, the prerequisite of Kueue, LWS and Connectivity Link: its CRD alone is not an install -----------
KUEUE_NS = "openshift-kueue-operator"
CM_OPERAND_NS = "cert-manager"
CM_OPERAND_REMOVAL = "oc delete deployment -n cert-manager -l app.kubernetes.io/instance=cert-manager"
CM_CRD = "certificates.cert-manager.io"
WEBHOOK_LABELS = {"app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook"}
CERT_MANAGER_FOR_KUEUE = {"required_by": {"cert_manager": ["kueue"]}}


def test_kueue_is_refused_when_a_teardown_left_only_the_cert_manager_crds(sim, cluster, playbook):
    # The teardowns above kept cert-manager's CRDs (gpu_infra_remove_crds=false, the default) and left cert-manager
    # itself running, as reported; run alone, this test makes that state itself: cert-manager installed, then torn
    # down. Then cert-manager itself goes as the report says (Red Hat's procedure), which leaves only the CRDs.
    if cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CM_CRD) is None:
        assert playbook("site.yml", sim.kubeconfig, extra_vars=components("cert_manager")).rc == 0
        run = playbook("teardown.yml", sim.kubeconfig, extra_vars=dict(components("cert_manager"), **CONFIRM))
        assert run.rc == 0, run
        assert CM_OPERAND_REMOVAL in " ".join(run.stdout.split()), run
    assert cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CM_CRD) is not None
    deployments = cluster.resource("apps/v1", "Deployment")
    deployments.delete(namespace=CM_OPERAND_NS, label_selector="app.kubernetes.io/instance=cert-manager")
    deadline = time.monotonic() + 60
    while cluster.list("apps/v1", "Deployment", CM_OPERAND_NS) and time.monotonic() < deadline:
        time.sleep(1)
    assert not cluster.list("apps/v1", "Deployment", CM_OPERAND_NS), "cert-manager's Deployments still there after 60 s"
    assert not [
        c for c in cluster.list(OLM, "ClusterServiceVersion") if c["metadata"]["name"].startswith("cert-manager")
    ]
    assert_refused_before_any_change(
        playbook,
        sim,
        components("kueue"),
        [
            "kueue requires cert_manager, which is neither part of this run nor installed and running. Expected "
            "cert-manager installed and running: CRD certificates.cert-manager.io Established and either a "
            "ClusterServiceVersion (not an OLM copy) that owns it in phase Succeeded, or a webhook Deployment labelled "
            "app.kubernetes.io/name=webhook,app.kubernetes.io/component=webhook with an available replica.",
            "Found: CRD certificates.cert-manager.io exists but no cert-manager operator/webhook runs",
            "left by a teardown that kept the CRDs",
            "Add cert_manager to gpu_infra_components, or install it first (the rhoai.gpu_infra.cert_manager role, or "
            "an install of your own), and re-run: kueue cannot work without it.",
        ],
        [KUEUE_NS, CM_NS],
    )
    assert cluster.get(OLM, "Subscription", "kueue-operator", KUEUE_NS) is None


def test_an_available_cert_manager_webhook_counts_as_an_install_without_olm(sim, cluster):
    # what a Helm install of upstream cert-manager leaves: no CSV, a webhook Deployment in a namespace of its choice
    namespace(cluster, "helm-cert-manager")
    cluster.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "cm-webhook", "namespace": "helm-cert-manager", "labels": WEBHOOK_LABELS},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": WEBHOOK_LABELS},
                "template": {
                    "metadata": {"labels": WEBHOOK_LABELS},
                    "spec": {"containers": [{"name": "webhook", "image": "quay.io/jetstack/cert-manager-webhook"}]},
                },
            },
        }
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            proc = olm_engine.ansible_module(sim, "rhoai.gpu_infra.requirements_check", CERT_MANAGER_FOR_KUEUE)
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert proc.returncode == 0, proc.stdout
        assert "webhook Deployment helm-cert-manager/cm-webhook available" in proc.stdout
    finally:
        delete_namespaces(cluster, ["helm-cert-manager"])
    proc = olm_engine.ansible_module(sim, "rhoai.gpu_infra.requirements_check", CERT_MANAGER_FOR_KUEUE)
    assert proc.returncode != 0 and "Nothing was changed." in proc.stdout, proc.stdout


def test_kueue_installs_when_an_earlier_run_installed_cert_manager(sim, cluster, playbook):
    assert playbook("site.yml", sim.kubeconfig, extra_vars=components("cert_manager")).rc == 0
    run = playbook("site.yml", sim.kubeconfig, extra_vars=components("kueue"))
    assert run.rc == 0, run
    assert_requirements_checked(run)
    sub = cluster.get(OLM, "Subscription", "kueue-operator", KUEUE_NS)
    assert sub["status"]["installedCSV"].startswith("kueue-operator."), sub


def test_kueue_keeps_the_frameworks_of_the_operator_that_runs_after_a_move_to_an_earlier_channel(
    sim, cluster, playbook
):
    # OLM never downgrades: Kueue 1.2 keeps running on channel stable-v1.1, and Kueue cluster keeps TrainJob
    installed = cluster.get(OLM, "Subscription", "kueue-operator", KUEUE_NS)["status"]["installedCSV"]
    assert installed == "kueue-operator.v1.2.0"
    run = playbook("site.yml", sim.kubeconfig, extra_vars=components("kueue", kueue_channel="stable-v1.1"))
    assert run.rc == 0, run
    said = " ".join(run.stdout.split())
    assert "kueue_channel is stable-v1.1, but kueue-operator.v1.2.0 is installed and OLM never downgrades" in said, run
    frameworks = cluster.get("kueue.openshift.io/v1", "Kueue", "cluster")["spec"]["config"]["integrations"][
        "frameworks"
    ]
    assert "TrainJob" in frameworks, frameworks


def assert_requirements_checked(run):
    """The requirement check ran (the requirement is not in this run) and passed."""
    (after,) = [t for t in run.stdout.split("TASK [")[1:] if t.startswith("Check that what the enabled components")]
    assert after.split("\n", 1)[1].lstrip().startswith("ok:"), run


def test_the_gpu_operator_installs_when_an_earlier_run_installed_nfd(sim, cluster, playbook, tmp_path):
    assert playbook("site.yml", sim.kubeconfig, extra_vars=components("nfd")).rc == 0
    run = playbook("site.yml", sim.kubeconfig, extra_vars=components("gpu_operator"))
    assert run.rc == 0, run
    assert_requirements_checked(run)
    sub = cluster.get(OLM, "Subscription", "gpu-operator-certified", GPU_NS)
    assert sub["status"]["installedCSV"].startswith("gpu-operator-certified."), sub
    # verify says what site's preflight found: NFD, left out of the selection, installed and running
    verify = playbook(
        "verify.yml",
        sim.kubeconfig,
        extra_vars=components("gpu_operator", gpu_infra_report_dir=str(tmp_path)),
    )
    assert verify.rc == 0, verify
    assert "PASSED  nfd: nfd installed and running (required by gpu_opera" in verify.stdout, verify
