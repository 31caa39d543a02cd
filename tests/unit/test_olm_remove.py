"""olm_remove: what the removal of one OLM install deletes, keeps and says, against a fake cluster."""

import copy
import functools

from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import ownership
from ansible_collections.rhoai.gpu_infra.plugins.modules import olm_remove

from .module_main import run_main

OURS = ownership.labels("nfd")
PACKAGE_LABEL = {"operators.coreos.com/nfd.openshift-nfd": ""}
NFD = dict(component="nfd", package="nfd", namespace="openshift-nfd")
CSV = "nfd.4.20.0-202510211040"


def obj(kind, name, ns="", labels=None, **extra):
    meta = dict(name=name, labels=dict(labels or {}))
    if ns:
        meta["namespace"] = ns
    return dict(kind=kind, metadata=meta, **extra)


def install(sub_labels=OURS, ns_labels=OURS, csv_labels=None):
    return [
        obj("Namespace", "openshift-nfd", labels=ns_labels),
        obj("OperatorGroup", "openshift-nfd", "openshift-nfd", labels=OURS),
        obj("Subscription", "nfd", "openshift-nfd", labels=sub_labels, status=dict(installedCSV=CSV, currentCSV=CSV)),
        obj("ClusterServiceVersion", CSV, "openshift-nfd", labels=dict(PACKAGE_LABEL, **(csv_labels or {}))),
        obj("Operator", "nfd.openshift-nfd"),
        obj("CustomResourceDefinition", "nodefeaturediscoveries.nfd.openshift.io"),
    ]


class Fake(object):
    """Objects by (kind, namespace, name); a deleted object is gone at the next read, unless it is in ``stuck``."""

    def __init__(self, objects, stuck=(), error=None):
        self.objects = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects}
        self.stuck = set(stuck)
        self.error = error
        self.calls = []

    def has_kind(self, api_version, kind):
        return True

    def get(self, api_version, kind, name, namespace=None):
        if self.error:
            raise self.error
        return copy.deepcopy(self.objects.get((kind, namespace or "", name)))

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        key, _, value = (label_selector or "").partition("=")
        return [
            copy.deepcopy(o)
            for (k, ns, _n), o in self.objects.items()
            if k == kind and ns == namespace and (not key or o["metadata"]["labels"].get(key) == value)
        ]

    def merge_patch(self, api_version, kind, name, patch, namespace=None, *, dry_run=False):
        self.calls.append(("patch", kind, name))
        self.objects[(kind, namespace or "", name)]["metadata"]["labels"].update(patch["metadata"]["labels"])

    def delete(self, api_version, kind, name, namespace=None):
        self.calls.append(("delete", kind, name))
        key = (kind, namespace or "", name)
        if key in self.stuck:
            self.objects[key]["metadata"].update(deletionTimestamp="now", finalizers=["operators.coreos.com/csv"])
        else:
            self.objects.pop(key, None)


def run(monkeypatch, fake, **args):
    main = functools.partial(olm_remove.main, k8s_factory=lambda module: fake)
    return run_main(monkeypatch, main, dict(NFD, **args))


def test_our_install_goes_in_order_and_its_csv_is_labelled_before_the_subscription_goes(monkeypatch):
    fake = Fake(install())
    out = run(monkeypatch, fake)
    assert not out["failed"] and out["changed"] and out["owner"] == "ours" and out["left"] == "", out
    assert fake.calls == [
        ("patch", "ClusterServiceVersion", CSV),
        ("delete", "Subscription", "nfd"),
        ("delete", "ClusterServiceVersion", CSV),
        ("delete", "Operator", "nfd.openshift-nfd"),
        ("delete", "OperatorGroup", "openshift-nfd"),
        ("delete", "Namespace", "openshift-nfd"),
    ]
    assert out["removed"][0] == "Subscription openshift-nfd/nfd" and len(out["removed"]) == 5
    assert out["msg"].startswith("nfd: removed Subscription openshift-nfd/nfd, ClusterServiceVersion")
    # the CRDs stay unless asked for
    assert ("CustomResourceDefinition", "", "nodefeaturediscoveries.nfd.openshift.io") in fake.objects


def test_a_rerun_after_the_removal_changes_nothing(monkeypatch):
    fake = Fake(install())
    run(monkeypatch, fake)
    fake.calls.clear()
    out = run(monkeypatch, fake)
    assert not out["failed"] and not out["changed"] and out["removed"] == [] and fake.calls == []
    assert out["msg"] == "nfd: nothing of package nfd to remove"


def test_someone_elses_subscription_stays_with_its_namespace_and_crds_and_says_how_to_remove_it(monkeypatch):
    fake = Fake(install(sub_labels={}, ns_labels={}))
    out = run(monkeypatch, fake, remove_crds=True, crds=["nodefeaturediscoveries.nfd.openshift.io"])
    assert not out["failed"] and not out["changed"] and out["owner"] == "foreign" and fake.calls == []
    assert out["left"].startswith("Left Subscription openshift-nfd/nfd") and "oc delete" in out["left"]
    assert out["msg"] == "nfd: " + out["left"]


def test_a_namespace_someone_else_made_stays_and_with_remove_crds_the_operator_object_goes_after_them(monkeypatch):
    fake = Fake(install(ns_labels={}))
    out = run(monkeypatch, fake, remove_crds=True, crds=["nodefeaturediscoveries.nfd.openshift.io"])
    assert not out["failed"], out
    assert ("delete", "Namespace", "openshift-nfd") not in fake.calls
    # OLM recreates the Operator object while the CRDs carry the package's label: deleted before them, a re-run
    # would find it again
    assert fake.calls[-2:] == [
        ("delete", "CustomResourceDefinition", "nodefeaturediscoveries.nfd.openshift.io"),
        ("delete", "Operator", "nfd.openshift-nfd"),
    ]


def test_a_dependency_olm_created_for_ours_goes_though_it_has_no_label(monkeypatch):
    fake = Fake(install(sub_labels={}, ns_labels={}))
    out = run(monkeypatch, fake, dependency_of_ours=True, remove_namespace=False)
    assert not out["failed"] and out["owner"] == "dependency", out
    assert ("delete", "Subscription", "nfd") in fake.calls and (
        "delete",
        "Namespace",
        "openshift-nfd",
    ) not in fake.calls


def test_check_mode_deletes_and_labels_nothing_and_says_what_a_real_run_would_remove(monkeypatch):
    fake = Fake(install())
    out = run(monkeypatch, fake, _ansible_check_mode=True)
    assert not out["failed"] and out["changed"] and fake.calls == [], out
    assert out["msg"].startswith("nfd: would remove Subscription openshift-nfd/nfd") and len(out["removed"]) == 5


def test_a_csv_that_is_not_released_fails_at_the_deadline_naming_its_finalizer(monkeypatch):
    monkeypatch.setattr(ownership.time, "sleep", lambda seconds: None)
    fake = Fake(install(), stuck={("ClusterServiceVersion", "openshift-nfd", CSV)})
    out = run(monkeypatch, fake, timeout=0)
    assert out["failed"] and out["changed"], out
    assert "Expected ClusterServiceVersion openshift-nfd/{0} to be gone within 0 s".format(CSV) in out["msg"]
    assert "operators.coreos.com/csv" in out["msg"] and "safe to re-run" in out["msg"]
    assert out["removed"][0] == "Subscription openshift-nfd/nfd"


class Forbidden(ApiException):
    def __init__(self):
        super().__init__(status=403, reason="Forbidden")

    def summary(self):
        return 'User "dev" cannot get resource "subscriptions"'


def test_an_api_error_keeps_its_cause_and_names_the_permissions(monkeypatch):
    out = run(monkeypatch, Fake(install(), error=Forbidden()))
    assert out["failed"] and 'cannot get resource "subscriptions"' in out["msg"], out
    assert "delete Subscriptions, ClusterServiceVersions" in out["msg"]


def test_after_a_partial_removal_the_operator_object_goes_only_with_the_crds(monkeypatch):
    leftovers = [o for o in install() if o["kind"] in ("Operator", "CustomResourceDefinition")]
    fake = Fake(leftovers)
    out = run(monkeypatch, fake)
    # OLM would recreate it at once while the CRDs carrying the package's label remain
    assert not out["failed"] and not out["changed"] and fake.calls == [], out
    out = run(monkeypatch, fake, remove_crds=True, crds=["nodefeaturediscoveries.nfd.openshift.io"])
    assert fake.calls == [
        ("delete", "CustomResourceDefinition", "nodefeaturediscoveries.nfd.openshift.io"),
        ("delete", "Operator", "nfd.openshift-nfd"),
    ]
