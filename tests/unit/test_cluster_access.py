"""The permission check before site's first change (module_utils/access.py, modules/cluster_access.py) and the message
when the Python that runs the modules lacks the kubernetes library."""

import re
from pathlib import Path

import yaml
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import access, client
from ansible_collections.rhoai.gpu_infra.plugins.modules import cluster_access

from .module_main import run_main

ROOT = Path(__file__).resolve().parents[2]

SERVED = {("v1", "Namespace"): "namespaces", ("operators.coreos.com/v1alpha1", "Subscription"): "subscriptions"}
NFD = "openshift-nfd"
OPERAND = {
    "apiVersion": "nfd.openshift.io/v1",
    "kind": "NodeFeatureDiscovery",
    "metadata": {"namespace": "openshift-nfd"},
}
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}


class Reviewer:
    """Answers SelfSubjectAccessReviews from a set of (verb, group, resource, namespace) it allows."""

    def __init__(self, allowed=(), admin=False, user="system:serviceaccount:ci:deployer", version="4.20.3"):
        self.allowed = set(allowed)
        self.admin = admin
        self.user = user
        self.version = version
        self.reviews = []

    def resource_name(self, api_version, kind):
        return SERVED.get((api_version, kind))

    def get(self, api_version, kind, name, namespace=None):
        return {"status": {"desired": {"version": self.version}}} if self.version else None

    def create(self, api_version, kind, body, namespace=None):
        if kind == "SelfSubjectReview":
            return {"status": {"userInfo": {"username": self.user}}}
        attrs = body["spec"]["resourceAttributes"]
        self.reviews.append(attrs)
        key = (attrs["verb"], attrs["group"], attrs["resource"], attrs.get("namespace", ""))
        return {"status": {"allowed": self.admin or key in self.allowed}}


def test_a_cluster_admin_costs_one_review():
    k8s = Reviewer(admin=True)
    items = access.wanted([NFD], [OPERAND], ["create", "patch"], [CRD])
    assert access.denied(k8s, items) == []
    assert k8s.reviews == [{"verb": "*", "group": "*", "resource": "*"}]


def test_every_missing_permission_is_named_with_its_namespace():
    allowed = {
        ("create", "", "namespaces", ""),
        ("patch", "", "namespaces", ""),
        ("create", "operators.coreos.com", "subscriptions", "openshift-nfd"),
        ("get", "apiextensions.k8s.io", "customresourcedefinitions", ""),
    }
    items = access.wanted([NFD], [OPERAND], ["create", "patch"], [CRD])
    missing = access.denied(Reviewer(allowed), items)
    assert missing == [
        {"verbs": ["create", "patch"], "resource": "operatorgroups.operators.coreos.com", "namespace": "openshift-nfd"},
        {"verbs": ["patch"], "resource": "subscriptions.operators.coreos.com", "namespace": "openshift-nfd"},
        # not served yet (its operator installs the CRD): the plural is guessed as kubectl does
        {
            "verbs": ["create", "patch"],
            "resource": "nodefeaturediscoveries.nfd.openshift.io",
            "namespace": "openshift-nfd",
        },
        {"verbs": ["list"], "resource": "customresourcedefinitions.apiextensions.k8s.io", "namespace": ""},
    ]


def test_plurals_of_the_kinds_the_collection_writes():
    kinds = {
        "ClusterPolicy": "clusterpolicies",
        "NodeFeatureDiscovery": "nodefeaturediscoveries",
        "KnativeServing": "knativeservings",
        "LeaderWorkerSetOperator": "leaderworkersetoperators",
        "Kueue": "kueues",
        "Kuadrant": "kuadrants",
        "Authorino": "authorinos",
        "ClusterAutoscaler": "clusterautoscalers",
        "Gateway": "gateways",
        "Ingress": "ingresses",
    }
    assert {kind: access.guess_plural(kind) for kind in kinds} == kinds


def test_the_refusal_says_who_what_and_how_to_grant_it():
    items = access.wanted([NFD, "openshift-serverless"], [], ["create"])
    missing = access.denied(Reviewer(), items)
    text = access.message("site.yml with nfd", "system:serviceaccount:ci:deployer", missing)
    assert text == (
        "Expected permission for every read and change of site.yml with nfd (cluster-admin has it); found that "
        "system:serviceaccount:ci:deployer may not: create namespaces (cluster-wide); create "
        "operatorgroups.operators.coreos.com (in namespaces openshift-nfd, openshift-serverless); create "
        "subscriptions.operators.coreos.com (in namespaces openshift-nfd, openshift-serverless). Run as a "
        "cluster-admin login (oc login, or K8S_AUTH_KUBECONFIG / K8S_AUTH_HOST and K8S_AUTH_API_KEY), or grant these "
        "permissions, all at once with 'oc adm policy add-cluster-role-to-user cluster-admin -z deployer -n ci'. "
        "Nothing was changed."
    )
    assert "add-cluster-role-to-user cluster-admin alice'" in access.message("x", "alice", missing)
    assert "these credentials may not" in access.message("x", None, missing)


def test_the_module_refuses_before_anything_changes(monkeypatch):
    k8s = Reviewer()
    result = run_main(
        monkeypatch,
        lambda: cluster_access.main(k8s_factory=lambda module: k8s),
        {"namespaces": [NFD], "objects": [OPERAND], "reads": [CRD], "purpose": "site.yml with nfd"},
    )
    assert result["failed"]
    assert result["version"] == "4.20.3"
    assert result["user"] == "system:serviceaccount:ci:deployer"
    assert "may not: create, patch namespaces (cluster-wide)" in result["msg"]
    assert result["msg"].endswith("Nothing was changed.")
    assert {r["verb"] for r in k8s.reviews} == {"*", "create", "patch", "get", "list"}


def test_the_module_returns_the_version_for_a_cluster_admin(monkeypatch):
    result = run_main(
        monkeypatch, lambda: cluster_access.main(k8s_factory=lambda module: Reviewer(admin=True, version="")), {}
    )
    assert result == {"changed": False, "version": "", "missing": [], "failed": False}


def test_a_forbidden_clusterversion_is_a_message_not_a_traceback(monkeypatch):
    class Forbidden(Reviewer):
        def get(self, api_version, kind, name, namespace=None):
            exc = ApiException(status=403, reason="Forbidden")
            exc.body = '{"message": "clusterversions.config.openshift.io \\"version\\" is forbidden"}'
            raise exc

    result = run_main(monkeypatch, lambda: cluster_access.main(k8s_factory=lambda module: Forbidden()), {})
    assert result["failed"]
    assert "exception" not in result
    assert result["msg"].startswith(
        "Could not get ClusterVersion version: the credentials lack permission (403 Forbidden: "
        'clusterversions.config.openshift.io "version" is forbidden).'
    )
    assert "Traceback" not in result["msg"]
    assert result["msg"].endswith("Nothing was changed.")


def test_a_python_without_kubernetes_is_named_with_the_fix():
    text = client.missing_kubernetes_message("/usr/bin/python3", "ModuleNotFoundError: No module named 'kubernetes'")
    assert "in /usr/bin/python3, the Python that runs this collection's modules" in text
    assert "found: ModuleNotFoundError: No module named 'kubernetes'" in text
    assert "'/usr/bin/python3 -m pip install -r requirements.txt'" in text
    assert 'ansible_python_interpreter="{{ ansible_playbook_python }}"' in text


def test_get_k8s_says_which_python_lacks_kubernetes(monkeypatch):
    failures = []

    class Module:
        params = {}

        def fail_json(self, **kwargs):
            failures.append(kwargs)
            raise SystemExit(1)

    monkeypatch.setattr(client, "HAS_KUBERNETES", False)
    monkeypatch.setattr(client, "KUBERNETES_IMPORT_ERROR", "Traceback ...\nModuleNotFoundError: No module named 'x'\n")
    try:
        client.get_k8s(Module())
    except SystemExit:
        pass
    assert "found: ModuleNotFoundError: No module named 'x'" in failures[0]["msg"]
    assert "ansible_playbook_python" in failures[0]["msg"]


def test_site_checks_access_to_every_operand_kind_a_role_applies():
    # site.yml lists the kinds each component writes (its operands render only inside the roles): an operand kind
    # added to a role without being listed there would pass cluster_access and fail at its first write.
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())[0]["vars"]["__gpu_infra_access_objects"]
    missing = []
    for template in sorted((ROOT / "roles").glob("*/templates/*.j2")):
        text = template.read_text()
        api_version = re.search(r"^apiVersion: (\S+)", text, re.M).group(1)
        kind = re.search(r"^kind: (\S+)", text, re.M).group(1)
        listed = site.get(template.parent.parent.name) or []
        if not any(s["apiVersion"] == api_version and s["kind"] == kind for s in listed):
            missing.append("{0}: {1} {2}".format(template.parent.parent.name, api_version, kind))
    assert not missing, "Expected site.yml's __gpu_infra_access_objects to list every operand kind; missing {0}".format(
        missing
    )
