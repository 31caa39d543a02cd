"""The permission check before site's and teardown's first change (module_utils/access.py, modules/cluster_access.py)
and the message when the Python that runs the modules lacks the kubernetes library."""

import re
from pathlib import Path

import yaml
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import access, client, ownership
from ansible_collections.rhoai.gpu_infra.plugins.modules import cluster_access, olm_remove

from .module_main import run_main
from .test_olm_remove import Fake, install, obj

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
        {"verbs": ["patch"], "resource": "installplans.operators.coreos.com", "namespace": "openshift-nfd"},
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
        "subscriptions.operators.coreos.com (in namespaces openshift-nfd, openshift-serverless); patch "
        "installplans.operators.coreos.com (in namespaces openshift-nfd, openshift-serverless). Run as a "
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
    # get too: kubernetes.core.k8s and owned_objects read an object before they write it
    assert "may not: get, create, patch namespaces (cluster-wide)" in result["msg"]
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


def test_site_asks_to_approve_the_install_plans_of_its_operators():
    # csv_wait approves a Manual InstallPlan (a merge patch) after the Subscription is written: a namespace admin may
    # subscribe (OLM's aggregated edit role) but not approve, and would fail half way.
    items = access.wanted([NFD], [], ["create"])
    assert ("operators.coreos.com/v1alpha1", "InstallPlan", NFD, ("patch",)) in items


def test_site_checks_access_to_every_object_a_wait_reads_after_the_first_write():
    # What the roles' waits read (ready_wait items in their vars) must be readable: a kind only created by an operator
    # (Limitador) or by service-ca (the Authorino serving certificate Secret) is read, never written, by the run.
    play = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())[0]["vars"]
    doc = yaml.safe_load(cluster_access.DOCUMENTATION)
    default_verbs = doc["options"]["verbs"]["default"]
    missing = []
    for path in sorted((ROOT / "roles").glob("*/vars/main.yml")):
        role = path.parent.parent.name
        listed = play["__gpu_infra_access_objects"].get(role, [])
        stubs = [dict(s, verbs=s.get("verbs") or default_verbs) for s in listed]
        stubs += [dict(s, verbs=list(access.READ_VERBS)) for s in play["__gpu_infra_access_reads"]]
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if not re.search(r"_(ready|ready_items|tls_set)$", key) or not isinstance(value, list):
                continue
            for item in (i for i in value if isinstance(i, dict) and "kind" in i):
                api = item["api_version"]
                ns = item.get("namespace", "")
                if not any(
                    ("{{" in api or s["apiVersion"] == api)
                    and s["kind"] == item["kind"]
                    and (s.get("metadata") or {}).get("namespace", "") in ("", ns)
                    and "get" in s["verbs"]
                    for s in stubs
                ):
                    missing.append("{0} ({1}): get {2} {3} in {4!r}".format(role, key, api, item["kind"], ns))
    assert not missing, "Expected site.yml's access stubs to let the run read {0}".format(missing)


# --- teardown ---------------------------------------------------------------------------------------------------------


class Recording(Fake):
    """test_olm_remove's fake cluster, recording (verb, apiVersion, kind, namespace) of every request."""

    def __init__(self, *args, **kwargs):
        super(Recording, self).__init__(*args, **kwargs)
        self.requests = []

    def get(self, api_version, kind, name, namespace=None):
        self.requests.append(("get", api_version, kind, namespace or ""))
        return super(Recording, self).get(api_version, kind, name, namespace)

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.requests.append(("list", api_version, kind, namespace or ""))
        return super(Recording, self).list(api_version, kind, namespace, label_selector, field_selector)

    def list_metadata(self, api_version, kind, namespace=None, label_selector=None):
        self.requests.append(("list", api_version, kind, namespace or ""))
        return super(Recording, self).list_metadata(api_version, kind, namespace, label_selector)

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        self.requests.append(("patch", api_version, kind, namespace or ""))
        return super(Recording, self).merge_patch(api_version, kind, name, patch, namespace, dry_run=dry_run)

    def delete(self, api_version, kind, name, namespace=None):
        self.requests.append(("delete", api_version, kind, namespace or ""))
        return super(Recording, self).delete(api_version, kind, name, namespace)


def unchecked(requests, items):
    """The requests no item of ``items`` (from access.wanted) allows; a cluster-wide item allows every namespace."""
    return sorted(
        {
            r
            for r in requests
            if not any((api, kind) == r[1:3] and ns in ("", r[3]) and r[0] in verbs for api, kind, ns, verbs in items)
        }
    )


def test_a_teardown_names_each_missing_removal_with_its_verbs():
    operand = {"api_version": "nfd.openshift.io/v1", "kind": "NodeFeatureDiscovery", "name": "i"}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "mon"}}
    refs = [dict(operand, namespace="openshift-nfd"), dict(config, verbs=["get", "patch", "delete"])]
    items = access.wanted([], refs, ["get", "delete"], removal_namespaces=[NFD], remove_crds=True)
    # Only what a login with cluster-wide read lacks: every deletion, and the CSV label.
    allowed = {(verb, "", "", "") for verb in ("get", "list")}

    class Reader(Reviewer):
        def create(self, api_version, kind, body, namespace=None):
            if kind == "SelfSubjectAccessReview":
                attrs = body["spec"]["resourceAttributes"]
                self.reviews.append(attrs)
                return {"status": {"allowed": attrs["verb"] in ("get", "list")}}
            return super(Reader, self).create(api_version, kind, body, namespace)

    reader = Reader(allowed)
    missing = access.denied(reader, items)
    assert missing == [
        {"verbs": ["delete"], "resource": "subscriptions.operators.coreos.com", "namespace": "openshift-nfd"},
        {
            "verbs": ["patch", "delete"],
            "resource": "clusterserviceversions.operators.coreos.com",
            "namespace": "openshift-nfd",
        },
        {"verbs": ["delete"], "resource": "operators.operators.coreos.com", "namespace": ""},
        {"verbs": ["delete"], "resource": "operatorgroups.operators.coreos.com", "namespace": "openshift-nfd"},
        {"verbs": ["delete"], "resource": "namespaces", "namespace": ""},
        {"verbs": ["delete"], "resource": "customresourcedefinitions.apiextensions.k8s.io", "namespace": ""},
        {"verbs": ["delete"], "resource": "nodefeaturediscoveries.nfd.openshift.io", "namespace": "openshift-nfd"},
        {"verbs": ["patch", "delete"], "resource": "configmaps", "namespace": "mon"},
    ]
    text = access.message("teardown.yml with nfd", "system:serviceaccount:ci:deployer", missing)
    assert "may not: delete subscriptions.operators.coreos.com (in namespace openshift-nfd); patch, delete " in text
    assert text.endswith("Nothing was changed.")
    # one review a kind, namespace and verb, never one asked twice
    asked = [tuple(sorted(r.items())) for r in reader.reviews]
    assert len(asked) == len(set(asked))
    # a cluster-admin still costs one review
    admin = Reviewer(admin=True)
    assert access.denied(admin, items) == [] and len(admin.reviews) == 1


def test_a_deleted_namespace_needs_its_content_listed_first():
    namespace = {"api_version": "v1", "kind": "Namespace", "name": "knative-serving"}
    items = access.wanted([], [namespace], ["get", "delete"])
    assert items[0] == ("v1", "Namespace", "", ("get", "delete"))
    assert {(api, kind) for api, kind, ns, verbs in items[1:] if ns == "knative-serving" and verbs == ("list",)} == set(
        ownership.CONTENT_KINDS
    )
    # written, not deleted: nothing to look into
    assert access.wanted([], [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}], ["create"]) == [
        ("v1", "Namespace", "", ("create",))
    ]


def test_olm_remove_makes_no_request_the_teardown_check_does_not_ask_for():
    # Everything olm_remove can do to one install: an unlabelled CSV labelled, the Subscription, CSV, Operator object,
    # OperatorGroup, namespace (its content listed first) and CRDs deleted; and a namespace kept for someone's object.
    crd = "nodefeaturediscoveries.nfd.openshift.io"
    params = dict(
        component="nfd",
        namespace=NFD,
        package="nfd",
        subscription_name="",
        dependency_of_ours=False,
        remove_namespace=True,
    )
    params.update(remove_crds=True, crds=[crd], timeout=60)
    full = Recording(install(csv_labels={}))
    olm_remove.remove(full, params)
    kept = Recording([*install(), obj("ConfigMap", "licensing-config", "openshift-nfd")])
    olm_remove.remove(kept, params)
    requests = full.requests + kept.requests
    assert {r[0] for r in requests} == {"get", "list", "patch", "delete"}
    items = access.wanted([], [], [], removal_namespaces=[NFD], remove_crds=True)
    assert unchecked(requests, items) == []
    # without remove_crds the check asks nothing of CRDs
    assert not [i for i in access.wanted([], [], [], removal_namespaces=[NFD]) if i[1] == "CustomResourceDefinition"]


def test_owned_objects_makes_no_request_the_teardown_check_does_not_ask_for():
    refs = [
        {"api_version": "operator.knative.dev/v1beta1", "kind": "KnativeServing", "name": "ks", "namespace": "ksv"},
        {"api_version": "v1", "kind": "Namespace", "name": "ksv"},
    ]
    fake = Recording(
        [
            obj("KnativeServing", "ks", "ksv", labels=ownership.labels("serverless")),
            obj("Namespace", "ksv", labels=ownership.labels("serverless")),
        ]
    )
    result = ownership.remove(fake, refs, wait=True, timeout=60, sleep=lambda s: None)
    assert [r["object"] for r in result["removed"]] == ["KnativeServing ksv/ks", "Namespace ksv"]
    assert unchecked(fake.requests, access.wanted([], refs, ["get", "delete"])) == []


# What the modules of the remove entry points read beyond their arguments, by module: (apiVersion, kind, namespace,
# verb) as the module's NEEDS says (machineset_plan with state absent).
MODULE_READS = {
    "rhoai.gpu_infra.machineset_plan": [
        ("machine.openshift.io/v1beta1", "MachineSet", "openshift-machine-api", "list"),
        ("autoscaling.openshift.io/v1beta1", "MachineAutoscaler", "openshift-machine-api", "list"),
        ("autoscaling.openshift.io/v1", "ClusterAutoscaler", "", "get"),
    ],
}
# Tasks whose object is a variable: what they change, by task name.
VARIABLE_OBJECTS = {
    "Take the GPU limits of the pools out of the existing ClusterAutoscaler default": [
        ("autoscaling.openshift.io/v1", "ClusterAutoscaler", "", "get"),
        ("autoscaling.openshift.io/v1", "ClusterAutoscaler", "", "patch"),
    ],
}
# Where the removal of operator installs (olm_remove) and of operands (owned_objects) is handed its objects: only
# ever the role's __<role>_removes, which teardown.yml checks, or olm_operator's pass-through of it.
OPERANDS = re.compile(r"^\{\{ (__[a-z_]+_removes|olm_operator_owned) \}\}$")


def _tasks(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _k8s(args):
    # a state chosen at run time ('absent' if ... else 'patched') needs the verbs of each
    state = args.get("state", "present")
    verbs = [
        v for word, vs in (("absent", ["get", "delete"]), ("patched", ["get", "patch"])) if word in state for v in vs
    ]
    assert verbs, "teach this test what state {0} does".format(state)
    return [(args["api_version"], args["kind"], args.get("namespace", ""), v) for v in verbs]


def _read(ref):
    return (ref["api_version"], ref["kind"], ref.get("namespace", ""), "get" if "name" in ref else "list")


def _operands(args):
    assert OPERANDS.match(args["remove"]), "owned_objects removes {0}".format(args["remove"])
    return []


# What each module of a remove entry point reads and changes, from its arguments.
REQUESTS = {
    "kubernetes.core.k8s": _k8s,
    "kubernetes.core.k8s_info": lambda args: [_read(args)],
    "rhoai.gpu_infra.cluster_evidence": lambda args: [
        (r["api_version"], r["kind"], ns, "list") for r in args["resources"] for ns in args.get("namespaces") or [""]
    ],
    "rhoai.gpu_infra.ready_wait": lambda args: [_read(w) for w in args["wait"]],
    "rhoai.gpu_infra.owned_objects": _operands,
    # test_olm_remove_makes_no_request_the_teardown_check_does_not_ask_for
    "rhoai.gpu_infra.olm_remove": lambda args: [],
}


def _requests(role, task):
    """(apiVersion, kind, namespace, verb) of each request of ``task``, a task of ``role``'s remove."""
    module = next((k for k in task if "." in k and not k.startswith("ansible.builtin.")), None)
    owned = (task.get("vars") or {}).get("olm_operator_owned")
    assert owned is None or OPERANDS.match(owned), "{0}: {1} removes {2}".format(role, task["name"], owned)
    if task.get("name") in VARIABLE_OBJECTS:
        return VARIABLE_OBJECTS[task["name"]]
    if module in MODULE_READS:
        return MODULE_READS[module]
    assert module is None or module in REQUESTS, "{0}: teach this test what {1} does ({2})".format(
        role, module, task["name"]
    )
    return REQUESTS[module](task[module]) if module else []


def test_teardown_checks_access_to_everything_a_role_removes():
    # teardown.yml lists what the remove entry points read and change besides the operator installs and the operands
    # of __<role>_removes: a request added to a role's remove without being listed there would pass cluster_access
    # and fail half way through the teardown.
    play = yaml.safe_load((ROOT / "playbooks" / "teardown.yml").read_text())[0]
    listed = play["vars"]["__gpu_infra_teardown_access"]
    registry = yaml.safe_load((ROOT / "playbooks" / "vars" / "components.yml").read_text())["__gpu_infra_registry"]
    kuadrant = [c["name"] for c in registry if c["kuadrant"]]
    files = [*sorted((ROOT / "roles").glob("*/tasks/remove.yml")), ROOT / "roles/connectivity_link/tasks/member.yml"]
    olm = [(api, kind, verbs) for api, kind, _ns, verbs in (*access.OLM_REMOVAL, access.CRD_REMOVAL)]
    missing = []
    for path in files:
        role = path.parent.parent.name
        # connectivity_link's remove runs for authorino, limitador and dns
        stubs = [s for key in [role] + (kuadrant if role == "connectivity_link" else []) for s in listed.get(key, [])]
        for task in _tasks(yaml.safe_load(path.read_text())):
            for api, kind, ns, verb in _requests(role, task):
                if any(
                    s["apiVersion"] == api
                    and s["kind"] == kind
                    and (s.get("metadata") or {}).get("namespace", "") in ("", ns)
                    and verb in s["verbs"]
                    for s in stubs
                ) or any((a, k) == (api, kind) and verb in v for a, k, v in olm):
                    continue
                missing.append("{0}: {1} {2} {3} in {4!r}".format(role, verb, api, kind, ns))
    assert not missing, "Expected teardown.yml's __gpu_infra_teardown_access to list {0}".format(missing)
    # and every role's operands go through __<role>_removes, which teardown.yml hands cluster_access
    for role in ("nfd", "gpu_operator", "serverless", "lws", "kueue"):
        assert "__{0}_removes".format(role) in (ROOT / "roles" / role / "tasks" / "remove.yml").read_text()
    assert "'_removes'" in (ROOT / "playbooks" / "teardown.yml").read_text()
