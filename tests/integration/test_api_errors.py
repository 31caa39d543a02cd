"""API errors end in a clear failure at once, with their cause and a remedy (issue: errors keep their cause), on the
test bed's real kube-apiserver and RBAC: a token the server rejects (401), and a ServiceAccount without the
permissions a module needs (403), and a login that may read but not change, which site and teardown refuse before
anything changes. No module waits out its timeout, prints a traceback or blames the user's AWS
credentials for either, and no output holds the token."""

import base64
import contextlib
import json
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.ocp_sim.openshift.pytest_fixtures import ocp_sim  # noqa: F401

pytestmark = pytest.mark.integration

NAMESPACE = "api-errors-test"
SA = "no-rights"
BOGUS_TOKEN = "sha256~" + "x" * 43

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait for a Subscription
      rhoai.gpu_infra.csv_wait:
        subscriptions: [{name: nfd, namespace: openshift-nfd}]
        timeout: 300
      ignore_errors: true
      register: wait
    - name: Check the GPU nodes
      rhoai.gpu_infra.node_label_check:
      ignore_errors: true
      register: nodes
    - name: Check an operator install
      rhoai.gpu_infra.olm_preflight:
        operator: {component: nfd, package: nfd, channel: stable, source: redhat-operators, namespace: openshift-nfd}
      ignore_errors: true
      register: preflight
    - name: Read the version and check the permissions of a run
      rhoai.gpu_infra.cluster_access:
        namespaces: [openshift-nfd]
      ignore_errors: true
      register: access
    - name: Keep what each said
      ansible.builtin.copy:
        content: >-
          {{ {'wait': wait.msg, 'nodes': nodes.msg, 'preflight': preflight.msg, 'access': access.msg} | to_json }}
        dest: "{{ said_file }}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def bed(ocp_sim):  # noqa: F811
    """Host, CA file and a token of a ServiceAccount that is bound to nothing."""
    core = client.CoreV1Api(ocp_sim.api_client)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": SA}})
    token = core.create_namespaced_service_account_token(SA, NAMESPACE, {"spec": {"expirationSeconds": 3600}})
    kubeconfig = yaml.safe_load(Path(ocp_sim.kubeconfig).read_text())
    cluster = kubeconfig["clusters"][0]["cluster"]
    try:
        yield ocp_sim, cluster, token.status.token
    finally:
        core.delete_namespace(NAMESPACE)


def run_with_token(playbook, tmp_path, cluster, token):
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    book = tmp_path / "play.yml"
    book.write_text(PLAY)
    started = time.monotonic()
    run = playbook(
        book,
        tmp_path / "no-kubeconfig",
        extra_vars={"said_file": str(tmp_path / "said.json")},
        extra_args=["-vvv"],
        env={
            "K8S_AUTH_KUBECONFIG": "",
            "K8S_AUTH_HOST": cluster["server"],
            "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_SSL_CA_CERT": str(ca),
        },
    )
    return run, time.monotonic() - started


def said(tmp_path):
    return json.loads((tmp_path / "said.json").read_text())


def assert_clear(run, seconds, token):
    assert run.rc == 0, run  # every failure was caught by ignore_errors: the play itself ran through
    assert seconds < 120, "expected the modules to give up at once, they took {0:.0f} s".format(seconds)
    output = run.stdout + run.stderr
    assert "Traceback" not in output and "AWS" not in output, run
    assert token not in output


def test_a_rejected_token_fails_at_once_saying_the_credentials_were_rejected(bed, playbook, tmp_path):
    _, cluster, _ = bed
    run, seconds = run_with_token(playbook, tmp_path, cluster, BOGUS_TOKEN)
    assert_clear(run, seconds, BOGUS_TOKEN)
    for module, text in said(tmp_path).items():
        assert "401" in text and "rejected the credentials" in text, (module, text)


def test_missing_permissions_fail_at_once_naming_what_is_needed(bed, playbook, tmp_path):
    _, cluster, token = bed
    run, seconds = run_with_token(playbook, tmp_path, cluster, token)
    assert_clear(run, seconds, token)
    for module, text in said(tmp_path).items():
        assert "403" in text and "lack permission" in text and "oc auth can-i" in text, (module, text)


@contextlib.contextmanager
def read_only(sim):
    """The ServiceAccount may get and list everything, and change nothing, for the ``with`` block."""
    rbac = client.RbacAuthorizationV1Api(sim.api_client)
    name = "api-errors-test-read-all"
    rbac.create_cluster_role(
        {"metadata": {"name": name}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]}
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": NAMESPACE}],
        }
    )
    try:
        yield
    finally:
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)


def run_as(playbook, tmp_path, bed, name, extra_vars, *, check=False):
    """``playbook`` run with the ServiceAccount's token (from ``bed``) and no kubeconfig."""
    _, cluster, token = bed
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return playbook(
        name,
        tmp_path / "no-kubeconfig",
        extra_vars=extra_vars,
        check=check,
        env={
            "K8S_AUTH_KUBECONFIG": "",
            "K8S_AUTH_HOST": cluster["server"],
            "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_SSL_CA_CERT": str(ca),
        },
    )


def test_a_login_that_may_only_read_is_refused_by_site_before_anything_changes(bed, playbook, tmp_path):
    sim, _, token = bed
    core = client.CoreV1Api(sim.api_client)
    with read_only(sim):
        run = run_as(playbook, tmp_path, bed, "site.yml", {"gpu_infra_components": ["cert_manager", "nfd"]})
    text = " ".join(run.stdout.replace("''", "'").split())
    assert run.rc == 2, run
    assert (
        "found that system:serviceaccount:{0}:{1} may not: create, patch namespaces (cluster-wide); create, patch "
        "operatorgroups.operators.coreos.com (in namespaces cert-manager-operator, openshift-nfd)".format(NAMESPACE, SA)
    ) in text, run
    assert "create, patch nodefeaturediscoveries.nfd.openshift.io (in namespace openshift-nfd)" in text, run
    assert "-z {0} -n {1}".format(SA, NAMESPACE) in text and "Nothing was changed." in text, run
    assert "Traceback" not in run.stdout + run.stderr and token not in run.stdout + run.stderr
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert not {"openshift-nfd", "cert-manager-operator"} & names


# A namespace of NFD's own for the teardown tests, so that no other test of the session sees it.
TEARDOWN_NFD = "api-errors-nfd"


@pytest.fixture(scope="module")
def partly_converged(bed):
    """What a site run that stopped after its first write leaves: NFD's namespace, labelled as this collection's."""
    sim = bed[0]
    core = client.CoreV1Api(sim.api_client)
    labels = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "nfd"}
    core.create_namespace({"metadata": {"name": TEARDOWN_NFD, "labels": labels}})
    try:
        yield core.read_namespace(TEARDOWN_NFD).metadata.resource_version
    finally:
        core.delete_namespace(TEARDOWN_NFD)


@pytest.mark.parametrize("check", [False, True], ids=["confirmed", "check-mode"])
def test_a_login_that_may_only_read_is_refused_by_teardown_before_anything_changes(
    bed, partly_converged, playbook, tmp_path, check
):
    # Without the check, a confirmed run fails at its first deletion with only the API's 403, and --check (how a
    # teardown is previewed) passes, though the real run could not remove anything.
    sim, _, token = bed
    core = client.CoreV1Api(sim.api_client)
    extra_vars = {"gpu_infra_components": ["nfd"], "nfd_namespace": TEARDOWN_NFD}
    if not check:
        extra_vars["gpu_infra_teardown_confirm"] = True
    started = time.monotonic()
    with read_only(sim):
        run = run_as(playbook, tmp_path, bed, "teardown.yml", extra_vars, check=check)
    seconds = time.monotonic() - started
    text = " ".join(run.stdout.replace("''", "'").split())
    assert run.rc == 2, run
    assert (
        "Expected permission for every read and change of teardown.yml with nfd (cluster-admin has it); found that "
        "system:serviceaccount:{0}:{1} may not: delete subscriptions.operators.coreos.com (in namespace {2}); patch, "
        "delete clusterserviceversions.operators.coreos.com (in namespace {2}); delete operators.operators.coreos.com "
        "(cluster-wide); delete operatorgroups.operators.coreos.com (in namespace {2}); delete namespaces "
        "(cluster-wide); delete nodefeaturediscoveries.nfd.openshift.io (in namespace {2}).".format(
            NAMESPACE, SA, TEARDOWN_NFD
        )
    ) in text, run
    assert "-z {0} -n {1}".format(SA, NAMESPACE) in text and "Nothing was changed." in text, run
    assert "Remove every enabled component" not in run.stdout, run
    assert "Traceback" not in run.stdout + run.stderr and token not in run.stdout + run.stderr
    namespace = core.read_namespace(TEARDOWN_NFD)
    assert namespace.metadata.resource_version == partly_converged and not namespace.metadata.deletion_timestamp
    assert seconds < 120, "expected the refusal at once, it took {0:.0f} s".format(seconds)
