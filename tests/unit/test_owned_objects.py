"""owned_objects: the read-only ownership check and the removal of labelled objects only, against a fake cluster."""

import functools
import json

import pytest
from kubernetes.client.exceptions import ApiException
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership as o
from ansible_collections.rhoai.gpu_infra.plugins.modules import owned_objects

from .module_main import run_main

KUEUE_API = "kueue.openshift.io/v1"
OURS = o.labels("kueue")
KUEUE = {
    "apiVersion": KUEUE_API,
    "kind": "Kueue",
    "metadata": {"name": "cluster", "labels": OURS},
    "spec": {"managementState": "Managed", "config": {"integrations": {"frameworks": ["Deployment", "Pod"]}}},
}
KS_API = "operator.knative.dev/v1beta1"


class Fake(object):
    """Objects by (kind, namespace, name); served kinds; deletes that take effect after `linger` reads."""

    def __init__(self, objects=(), kinds=None, linger=0, error=None):
        self.objects = {}
        for obj in objects:
            self.put(obj)
        self.kinds = kinds if kinds is not None else {"Kueue", "KnativeServing", "Namespace", "ConfigMap"}
        self.linger = linger
        self.error = error
        self.deleted = []
        self.pending = {}
        self.metadata_reads = []

    def put(self, obj):
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta.get("namespace") or "", meta["name"])] = obj

    def has_kind(self, api_version, kind):
        return kind in self.kinds

    def get(self, api_version, kind, name, namespace=None):
        if self.error:
            raise self.error
        key = (kind, namespace or "", name)
        if key in self.pending:
            self.pending[key] -= 1
            if self.pending[key] < 0:
                del self.pending[key]
                self.objects.pop(key, None)
        return self.objects.get(key)

    def list_metadata(self, api_version, kind, namespace=None, label_selector=None):
        self.metadata_reads.append(kind)
        return [
            {"apiVersion": api_version, "kind": kind, "metadata": json.loads(json.dumps(obj["metadata"]))}
            for (k, ns, _name), obj in self.objects.items()
            if k == kind and ns == namespace
        ]

    def delete(self, api_version, kind, name, namespace=None):
        key = (kind, namespace or "", name)
        self.deleted.append(key)
        if self.linger is None:  # a finalizer nobody releases
            self.objects[key]["metadata"]["deletionTimestamp"] = "now"
            self.objects[key]["metadata"]["finalizers"] = ["knative.dev/finalizer"]
            return
        self.pending[key] = self.linger


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(seconds, 0.5)


def live(obj, **labels):
    out = json.loads(json.dumps(obj))
    out["metadata"]["labels"] = labels
    out["metadata"]["resourceVersion"] = "42"
    out["status"] = {"conditions": [{"type": "Available", "status": "True"}]}
    return out


def ks(namespace="knative-serving", **labels):
    return {
        "apiVersion": KS_API,
        "kind": "KnativeServing",
        "metadata": {"name": "knative-serving", "namespace": namespace, "labels": labels},
        "spec": {},
    }


def ns(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def ref(obj):
    meta = obj["metadata"]
    return {
        "api_version": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
    }


# --- check ---------------------------------------------------------------------------------------------------------
def test_check_classifies_absent_ours_equal_and_different_objects():
    rhoai = live(KUEUE, **{"app.kubernetes.io/part-of": "rhoai"})
    rhoai["spec"]["config"]["integrations"]["frameworks"] = ["BatchJob"]
    fake = Fake([rhoai])
    (found,) = o.check(fake, [KUEUE])
    assert found["action"] == "conflict"
    assert found["object"] == "Kueue cluster"
    assert found["differences"] == [
        'spec.config.integrations.frameworks: want ["Deployment", "Pod"], found ["BatchJob"]'
    ]
    assert o.check(fake, [KUEUE], adopt=True)[0]["action"] == "adopt"

    fake = Fake([live(KUEUE, app="someone")])  # equal: the label we would add is no difference
    assert [f["action"] for f in o.check(fake, [KUEUE])] == ["adopt"]
    assert [f["action"] for f in o.check(Fake([live(KUEUE, **OURS)]), [KUEUE])] == ["ours"]
    assert [f["action"] for f in o.check(Fake(), [KUEUE])] == ["create"]


def test_check_treats_a_kind_that_is_not_served_as_create():
    (found,) = o.check(Fake(kinds=set()), [KUEUE])
    assert found["action"] == "create"
    assert "not served yet" in found["reason"]


# --- remove --------------------------------------------------------------------------------------------------------
def test_remove_deletes_only_labelled_objects_and_says_why_it_kept_the_rest():
    fake = Fake([live(KUEUE), live(ks(), **OURS)], linger=2)
    clock = Clock()
    found = o.remove(fake, [ref(KUEUE), ref(ks())], wait=True, timeout=30, clock=clock, sleep=clock.sleep)
    assert [r["object"] for r in found["removed"]] == ["KnativeServing knative-serving/knative-serving"]
    assert [(k["object"], k["reason"]) for k in found["kept"]] == [("Kueue cluster", o.KEPT_FOREIGN)]
    assert fake.deleted == [("KnativeServing", "knative-serving", "knative-serving")]
    assert ("KnativeServing", "knative-serving", "knative-serving") not in fake.objects  # waited until gone
    assert ("Kueue", "", "cluster") in fake.objects


def test_remove_keeps_our_namespace_while_it_holds_a_kept_object():
    fake = Fake([live(ks()), ns("knative-serving", **OURS)])
    found = o.remove(fake, [ref(ks()), ref(ns("knative-serving"))])
    assert fake.deleted == []
    assert [k["object"] for k in found["kept"]] == [
        "KnativeServing knative-serving/knative-serving",
        "Namespace knative-serving",
    ]
    assert "holds KnativeServing knative-serving/knative-serving" in found["kept"][1]["reason"]


def configmap(name, namespace="knative-serving", **meta):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(name=name, namespace=namespace, **meta)}


def test_remove_keeps_our_namespace_while_it_holds_something_someone_else_put_there():
    theirs = configmap("team-settings")
    fake = Fake([live(ks(), **OURS), ns("knative-serving", **OURS), theirs, configmap("kube-root-ca.crt")])
    found = o.remove(fake, [ref(ks()), ref(ns("knative-serving"))], dry_run=True)
    assert [r["object"] for r in found["removed"]] == ["KnativeServing knative-serving/knative-serving"]
    assert [k["object"] for k in found["kept"]] == ["Namespace knative-serving"]
    assert "holds ConfigMap knative-serving/team-settings, which someone else put there" in found["kept"][0]["reason"]
    assert "oc delete namespace knative-serving" in found["kept"][0]["reason"]
    assert "Secret" in fake.metadata_reads  # listed, as metadata only

    # Made by a controller for its owner, by OLM, or by the platform: none of these keeps the namespace.
    fake.objects.pop(("ConfigMap", "knative-serving", "team-settings"))
    fake.put(configmap("operator-state", ownerReferences=[{"kind": "KnativeServing", "name": "knative-serving"}]))
    fake.put(configmap("olm-made", labels={"olm.owner.kind": "ClusterServiceVersion"}))
    found = o.remove(fake, [ref(ks()), ref(ns("knative-serving"))])
    assert [r["object"] for r in found["removed"]] == [
        "KnativeServing knative-serving/knative-serving",
        "Namespace knative-serving",
    ]


def test_remove_reports_absent_objects_and_kinds_that_are_not_served():
    fake = Fake(kinds={"Namespace"})
    found = o.remove(fake, [ref(KUEUE), ref(ns("knative-serving"))])
    assert [(a["object"], a["reason"]) for a in found["absent"]] == [
        ("Kueue cluster", "kind not served (its CRD is not installed)"),
        ("Namespace knative-serving", "does not exist"),
    ]
    assert found["removed"] == found["kept"] == []


def test_remove_in_dry_run_deletes_nothing_and_reports_what_it_would():
    fake = Fake([live(KUEUE, **OURS)])
    found = o.remove(fake, [ref(KUEUE)], dry_run=True, wait=True)
    assert fake.deleted == []
    assert [r["object"] for r in found["removed"]] == ["Kueue cluster"]


def test_remove_times_out_naming_the_finalizers_with_what_it_did_so_far():
    fake = Fake([live(KUEUE, **OURS)], linger=None)
    clock = Clock()
    with pytest.raises(o.RemovalTimeout) as info:
        o.remove(fake, [ref(KUEUE)], wait=True, timeout=10, clock=clock, sleep=clock.sleep)
    assert 'finalizers: ["knative.dev/finalizer"]' in str(info.value)
    assert "within 10 s" in str(info.value)
    assert clock.now <= 11
    assert [r["object"] for r in info.value.result["removed"]] == ["Kueue cluster"]


def test_remove_does_not_delete_again_an_object_already_being_deleted():
    obj = live(KUEUE, **OURS)
    obj["metadata"]["deletionTimestamp"] = "2026-11-29T00:00:00Z"
    fake = Fake([obj])
    found = o.remove(fake, [ref(KUEUE)])
    assert fake.deleted == []
    assert [r["object"] for r in found["removed"]] == ["Kueue cluster"]


# --- the module ----------------------------------------------------------------------------------------------------
def run_module(capsys, fake, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        owned_objects.main(k8s_factory=lambda module: fake)
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_module_check_fails_with_the_difference_and_the_adopt_variable(capsys):
    theirs = live(KUEUE)
    theirs["spec"]["managementState"] = "Unmanaged"
    rc, result = run_module(capsys, Fake([theirs]), component="kueue", check=[KUEUE])
    assert rc == 1
    assert result["changed"] is False
    for text in ("kueue:", "Kueue cluster", 'want "Managed", found "Unmanaged"', "gpu_infra_adopt=true"):
        assert text in result["msg"], text
    assert [c["object"] for c in result["conflicts"]] == ["Kueue cluster"]

    rc, result = run_module(capsys, Fake([theirs]), component="kueue", check=[KUEUE], adopt=True)
    assert rc == 0
    assert result["objects"][0]["action"] == "adopt"


def test_module_check_warns_when_it_adopts_an_object(monkeypatch):
    def check(objects, **args):
        main = functools.partial(owned_objects.main, k8s_factory=lambda module: Fake(objects))
        return run_main(monkeypatch, main, dict(component="kueue", check=[KUEUE], **args), warnings=True)

    theirs = live(KUEUE)
    assert check([theirs])["objects"][0]["action"] == "adopt"
    assert check([theirs])["warnings"] == [
        "kueue: adopting Kueue cluster, made by someone else and already holding what would be applied: it gets this "
        "collection's labels when applied, and teardown deletes it from then on."
    ]
    theirs["spec"]["managementState"] = "Unmanaged"
    assert "taking over Kueue cluster" in check([theirs], adopt=True)["warnings"][0]
    assert check([live(KUEUE, **OURS)])["warnings"] == []
    edited = live(KUEUE, **OURS)
    edited["spec"]["config"]["integrations"]["frameworks"] = ["Pod"]
    assert check([edited])["warnings"] == [
        "kueue: Kueue cluster differs from the configuration, and applying it sets: "
        'spec.config.integrations.frameworks: want ["Deployment", "Pod"], found ["Pod"] (a hand edit is undone; a '
        "changed variable takes effect)."
    ]


def test_module_remove_in_check_mode_changes_nothing(capsys):
    fake = Fake([live(KUEUE, **OURS), live(ks())])
    rc, result = run_module(capsys, fake, component="kueue", remove=[ref(KUEUE), ref(ks())], _ansible_check_mode=True)
    assert rc == 0
    assert result["changed"] is True
    assert fake.deleted == []
    assert "would remove Kueue cluster" in result["msg"]
    assert result["kept"][0]["object"] == "KnativeServing knative-serving/knative-serving"


def test_module_remove_deletes_and_reports(capsys):
    fake = Fake([live(KUEUE, **OURS)])
    rc, result = run_module(capsys, fake, component="kueue", remove=[ref(KUEUE)], wait=False)
    assert rc == 0
    assert result["changed"] is True
    assert fake.deleted == [("Kueue", "", "cluster")]
    assert result["msg"] == "removed Kueue cluster"


def test_module_api_errors_keep_their_cause(capsys):
    denied = ApiException(status=403, reason="Forbidden")
    denied.body = json.dumps({"message": 'kueues.kueue.openshift.io "cluster" is forbidden: User "dev" cannot get'})
    rc, result = run_module(capsys, Fake(error=denied), component="kueue", check=[KUEUE])
    assert rc == 1
    assert "is forbidden: User" in result["msg"]
    assert "lack permission" in result["msg"]


def test_module_wants_exactly_one_of_check_apply_and_remove(capsys):
    rc, result = run_module(capsys, Fake(), component="kueue")
    assert rc == 1
    assert "check" in result["msg"] and "remove" in result["msg"]


# --- apply ---------------------------------------------------------------------------------------------------------
class Writer(Fake):
    """A Fake that also records creates and merge patches (and applies them unless they are dry runs)."""

    def __init__(self, *args, **kwargs):
        super(Writer, self).__init__(*args, **kwargs)
        self.writes = []

    def create(self, api_version, kind, body, namespace=None, *, dry_run=False):
        self.writes.append(("create", kind, body["metadata"]["name"], dry_run))
        if not dry_run:
            self.put(json.loads(json.dumps(body)))

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        self.writes.append(("patch", kind, name, dry_run))


UNLABELLED = dict(KUEUE, metadata={"name": "cluster"})


def test_apply_creates_an_absent_object_with_our_labels_then_leaves_it_alone():
    fake = Writer()
    (found,) = o.apply(fake, [UNLABELLED], "kueue")
    assert (found["action"], found["applied"]) == ("create", "created")
    assert fake.objects[("Kueue", "", "cluster")]["metadata"]["labels"] == OURS
    # the re-run finds it holding everything and writes nothing
    fake.put(live(KUEUE, **OURS))
    assert [f["applied"] for f in o.apply(fake, [UNLABELLED], "kueue")] == ["unchanged"]
    assert [w[0] for w in fake.writes] == ["create"]


def test_apply_patches_our_changed_object_and_labels_an_adopted_one():
    changed = live(KUEUE, **OURS)
    changed["spec"]["managementState"] = "Removed"
    fake = Writer([changed])
    assert [f["applied"] for f in o.apply(fake, [UNLABELLED], "kueue")] == ["updated"]
    fake = Writer([live(KUEUE, app="someone")])  # equal but unlabelled: the patch adds our labels
    (found,) = o.apply(fake, [UNLABELLED], "kueue")
    assert (found["action"], found["applied"]) == ("adopt", "updated")
    assert fake.writes == [("patch", "Kueue", "cluster", False)]


def test_apply_refuses_someone_elses_different_object_before_writing_anything():
    theirs = live(KUEUE)
    theirs["spec"]["managementState"] = "Unmanaged"
    fake = Writer([theirs])
    with pytest.raises(o.Conflict) as info:
        o.apply(fake, [ks(), UNLABELLED], "kueue")  # the KnativeServing first: still not created
    assert 'want "Managed", found "Unmanaged"' in str(info.value)
    assert fake.writes == []
    assert [f["applied"] for f in o.apply(fake, [UNLABELLED], "kueue", adopt=True)] == ["updated"]


def test_apply_in_dry_run_writes_nothing_and_names_kinds_not_served_yet():
    fake = Writer([ns("knative-serving")], kinds={"KnativeServing", "Namespace"})
    found = o.apply(fake, [UNLABELLED, ks()], "kueue", dry_run=True)
    assert [f["applied"] for f in found] == ["not served", "created"]
    assert fake.writes == [("create", "KnativeServing", "knative-serving", True)]
    assert list(fake.objects) == [("Namespace", "", "knative-serving")]
    with pytest.raises(ValueError) as info:  # outside a dry run the CRD was waited for: not served is an error
        o.apply(fake, [UNLABELLED], "kueue")
    assert "expected kind Kueue (kueue.openshift.io/v1) to be served" in str(info.value)


def test_module_apply_reports_what_it_did_and_changes_nothing_on_a_re_run(capsys):
    fake = Writer()
    rc, result = run_module(capsys, fake, component="kueue", apply=[UNLABELLED])
    assert (rc, result["changed"], result["msg"]) == (0, True, "Kueue cluster: created")
    fake.put(live(KUEUE, **OURS))
    rc, result = run_module(capsys, fake, component="kueue", apply=[UNLABELLED])
    assert (rc, result["changed"], result["msg"]) == (0, False, "Kueue cluster: unchanged")

    rc, result = run_module(
        capsys, Writer(kinds=set()), component="kueue", apply=[UNLABELLED], _ansible_check_mode=True
    )
    assert rc == 0 and result["changed"] is True
    assert (
        result["msg"] == "Kueue cluster: would be created once its operator is installed (its kind is not served yet)"
    )


def test_module_apply_fails_on_a_conflict_naming_it(capsys):
    theirs = live(KUEUE)
    theirs["spec"]["managementState"] = "Unmanaged"
    fake = Writer([theirs])
    rc, result = run_module(capsys, fake, component="kueue", apply=[UNLABELLED])
    assert rc == 1 and fake.writes == []
    assert "gpu_infra_adopt=true" in result["msg"]
    assert [c["object"] for c in result["conflicts"]] == ["Kueue cluster"]


def test_apply_in_dry_run_names_an_object_whose_namespace_does_not_exist_yet(capsys):
    fake = Writer(kinds={"KnativeServing", "Namespace"})
    assert [f["applied"] for f in o.apply(fake, [ks()], "serverless", dry_run=True)] == ["no namespace"]
    assert fake.writes == []
    fake.put(ns("knative-serving"))
    assert [f["applied"] for f in o.apply(fake, [ks()], "serverless", dry_run=True)] == ["created"]
    rc, result = run_module(capsys, Writer(), component="serverless", apply=[ks()], _ansible_check_mode=True)
    assert (rc, result["changed"]) == (0, True)
    assert result["msg"] == (
        "KnativeServing knative-serving/knative-serving: would be created once namespace knative-serving exists"
    )


def test_module_apply_with_diff_shows_what_the_object_held_where_the_definition_writes(capsys):
    changed = live(KUEUE, **OURS)
    changed["spec"]["managementState"] = "Removed"
    rc, result = run_module(capsys, Writer([changed]), component="kueue", apply=[UNLABELLED], _ansible_diff=True)
    assert rc == 0
    (diff,) = result["diff"]
    assert diff["before_header"] == diff["after_header"] == "Kueue cluster"
    assert (
        diff["before"]["spec"]["managementState"] == "Removed" and diff["after"]["spec"]["managementState"] == "Managed"
    )
    assert "resourceVersion" not in diff["before"]["metadata"] and "status" not in diff["before"]
    assert "diff" not in result["objects"][0]
    rc, result = run_module(capsys, Writer(), component="kueue", apply=[UNLABELLED], _ansible_diff=True)
    assert result["diff"][0]["before"] == {} and result["diff"][0]["after"]["metadata"]["labels"] == OURS


@pytest.mark.parametrize("mode", ["check", "apply"])
def test_a_secret_is_refused_before_anything_is_read(monkeypatch, mode):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pull", "namespace": "openshift-nfd"},
        "stringData": {"token": "s3cr3t-value"},
    }
    connected = []
    main = functools.partial(owned_objects.main, k8s_factory=lambda module: connected.append(module) or Fake())
    result = run_main(monkeypatch, main, {"component": "nfd", mode: [KUEUE, secret]})
    assert result["failed"] and "found Secret openshift-nfd/pull" in result["msg"], result
    assert "kubernetes.core.k8s and no_log: true" in result["msg"]
    assert "s3cr3t-value" not in json.dumps(result) and connected == []
