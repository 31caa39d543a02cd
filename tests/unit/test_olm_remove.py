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
        self.reads = []

    def has_kind(self, api_version, kind):
        return True

    def get(self, api_version, kind, name, namespace=None):
        if self.error:
            raise self.error
        self.reads.append(("get", kind))
        return copy.deepcopy(self.objects.get((kind, namespace or "", name)))

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        self.reads.append(("list", kind))
        key, _, value = (label_selector or "").partition("=")
        return [
            copy.deepcopy(o)
            for (k, ns, _n), o in self.objects.items()
            if k == kind and ns == namespace and (not key or o["metadata"]["labels"].get(key) == value)
        ]

    def list_metadata(self, api_version, kind, namespace=None, label_selector=None):
        self.reads.append(("list_metadata", kind))
        return [
            dict(apiVersion=api_version, kind=kind, metadata=copy.deepcopy(o["metadata"]))
            for (k, ns, _n), o in self.objects.items()
            if k == kind and ns == namespace
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


# --- a namespace of ours that holds someone else's objects ------------------------------------------------------------

NS = "openshift-nfd"
OWNED_BY_CSV = [dict(apiVersion="operators.coreos.com/v1alpha1", kind="ClusterServiceVersion", name=CSV, uid="u")]


def platform_and_operator_objects():
    """What Kubernetes, OpenShift, OLM, the operator and this collection leave in an operator namespace."""
    sa_token = {"kubernetes.io/service-account.name": "default"}
    return [
        obj("ConfigMap", "kube-root-ca.crt", NS, data={"ca.crt": "x"}),
        obj("ConfigMap", "openshift-service-ca.crt", NS, data={"service-ca.crt": "x"}),
        obj("Secret", "builder-dockercfg-abcde", NS, data={".dockercfg": "c2VjcmV0"}),
        obj("Secret", "default-token-abcde", NS, data={"token": "c2VjcmV0"}),
        obj("Secret", "deployer-dockercfg-fghij", NS, data={".dockercfg": "c2VjcmV0"}),
        obj("Secret", "nfd-webhook-service-cert", NS, labels={"olm.owner.kind": "ClusterServiceVersion"}),
        obj("ConfigMap", "nfd-worker", NS, labels=OURS),
        obj("Deployment", "nfd-controller-manager", NS),
        obj("Pod", "nfd-controller-manager-5d8c-x", NS),
        obj("Service", "nfd-metrics", NS),
        obj("Pod", "leaving", NS),
    ], {
        ("Secret", "builder-dockercfg-abcde"): dict(
            annotations={"openshift.io/internal-registry-auth-token.service-account": "builder"}
        ),
        ("Secret", "default-token-abcde"): dict(annotations=sa_token),
        ("Secret", "deployer-dockercfg-fghij"): dict(annotations={"kubernetes.io/service-account.name": "deployer"}),
        ("Deployment", "nfd-controller-manager"): dict(ownerReferences=OWNED_BY_CSV),
        ("Pod", "nfd-controller-manager-5d8c-x"): dict(ownerReferences=[dict(kind="ReplicaSet", name="r", uid="r")]),
        ("Service", "nfd-metrics"): dict(ownerReferences=OWNED_BY_CSV),
        ("Pod", "leaving"): dict(deletionTimestamp="2025-01-01T00:00:00Z"),
    }


def with_metadata(objects, extra):
    for o in objects:
        o["metadata"].update(extra.get((o["kind"], o["metadata"]["name"]), {}))
    return objects


def foreign(*objects):
    return install() + with_metadata(*platform_and_operator_objects()) + list(objects)


LICENSING = obj("ConfigMap", "licensing-config", NS, data={"gridd.conf": "FeatureType=1"})


def test_a_configmap_someone_put_in_our_namespace_keeps_it_with_its_operator_group_and_is_named(monkeypatch):
    fake = Fake(foreign(LICENSING))
    out = run(monkeypatch, fake)
    assert not out["failed"] and out["changed"] and out["owner"] == "ours", out
    assert ("delete", "Namespace", NS) not in fake.calls and ("delete", "OperatorGroup", NS) not in fake.calls
    assert ("Namespace", "", NS) in fake.objects and ("ConfigMap", NS, "licensing-config") in fake.objects
    # the operator itself goes
    assert [c for c in fake.calls if c[0] == "delete"] == [
        ("delete", "Subscription", "nfd"),
        ("delete", "ClusterServiceVersion", CSV),
        ("delete", "Operator", "nfd.openshift-nfd"),
    ]
    assert out["left"] == (
        "Left namespace openshift-nfd and its OperatorGroup in place, though this collection created them: the "
        "namespace holds ConfigMap openshift-nfd/licensing-config, which neither this collection nor the operator "
        "created (no label app.kubernetes.io/managed-by=rhoai.gpu_infra, no ownerReferences), and deleting the "
        "namespace would delete it too. Look at it (oc get configmap -n openshift-nfd); when it is not needed, "
        "delete the namespace by hand: oc delete namespace openshift-nfd."
    )
    assert out["msg"].endswith("; " + out["left"])
    # once it is gone, a re-run removes the namespace
    del fake.objects[("ConfigMap", NS, "licensing-config")]
    out = run(monkeypatch, fake)
    assert out["left"] == "" and out["removed"] == [
        "OperatorGroup openshift-nfd/openshift-nfd",
        "Namespace openshift-nfd",
    ]


def test_objects_the_platform_olm_the_operator_or_this_collection_made_do_not_keep_the_namespace(monkeypatch):
    fake = Fake(foreign())
    out = run(monkeypatch, fake)
    assert not out["failed"] and out["left"] == "", out
    assert out["removed"][-2:] == ["OperatorGroup openshift-nfd/openshift-nfd", "Namespace openshift-nfd"]


def test_every_kind_a_person_puts_there_is_looked_at_and_named(monkeypatch):
    planted = [
        obj("Pod", "planted", NS),
        obj("Secret", "ngc-api-key", NS, data={"key": "c2VjcmV0"}),
        obj("PersistentVolumeClaim", "data", NS),
        obj("Job", "once", NS),
    ]
    out = run(monkeypatch, Fake(foreign(*planted)))
    for name in ("Pod openshift-nfd/planted", "Secret openshift-nfd/ngc-api-key", "PersistentVolumeClaim", "Job"):
        assert name in out["left"], out
    assert "would delete them too. Look at them (oc get job,persistentvolumeclaim,pod,secret -n" in out["left"]
    assert "when they are not needed" in out["left"] and "c2VjcmV0" not in out["msg"]


def test_check_mode_says_the_same_and_deletes_nothing(monkeypatch):
    real = run(monkeypatch, Fake(foreign(LICENSING)))
    fake = Fake(foreign(LICENSING))
    out = run(monkeypatch, fake, _ansible_check_mode=True)
    assert not out["failed"] and fake.calls == [], out
    assert out["left"] == real["left"] and out["removed"] == real["removed"]
    assert "Namespace openshift-nfd" not in out["removed"]
    out = run(monkeypatch, Fake(foreign()), _ansible_check_mode=True)
    assert out["left"] == "" and out["removed"][-1] == "Namespace openshift-nfd"


def test_secrets_are_listed_as_metadata_only_never_read(monkeypatch):
    fake = Fake(foreign(LICENSING))
    run(monkeypatch, fake)
    assert ("list_metadata", "Secret") in fake.reads and ("list_metadata", "ConfigMap") in fake.reads
    assert not [r for r in fake.reads if r[1] == "Secret" and r[0] != "list_metadata"], fake.reads


def test_the_namespace_content_is_listed_once_per_removal(monkeypatch):
    fake = Fake(foreign())
    out = run(monkeypatch, fake)
    assert out["removed"][-1] == "Namespace openshift-nfd", out
    listed = [r[1] for r in fake.reads if r[0] == "list_metadata"]
    assert sorted(listed) == sorted(set(listed)) and "Secret" in listed, listed


def test_a_namespace_someone_else_made_or_that_is_being_deleted_is_not_looked_into(monkeypatch):
    fake = Fake(foreign(LICENSING))
    fake.objects[("Namespace", "", NS)]["metadata"]["labels"] = {}
    out = run(monkeypatch, fake)
    assert out["left"] == "" and not [r for r in fake.reads if r[0] == "list_metadata"], out
    fake = Fake(foreign(LICENSING))
    fake.objects[("Namespace", "", NS)]["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    out = run(monkeypatch, fake, _ansible_check_mode=True)
    # it goes with everything in it already: saying it stays would be wrong
    assert out["left"] == "" and "Namespace openshift-nfd" in out["removed"], out
