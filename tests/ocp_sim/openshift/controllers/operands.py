"""Simulated operands that only need to report readiness, plus helpers the other operand controllers share.

- KnativeServing: Ready (+ DependenciesInstalled, DeploymentsAvailable) after `operand_latency_seconds` (default 1),
  only while the serverless-operator CSV in the cluster has phase Succeeded.
- LeaderWorkerSetOperator `cluster`: Available, and the CRD leaderworkersets.leaderworkerset.x-k8s.io appears
  (the real LWS operator installs the operand CRD itself; OLM does not).
- Kueue `cluster`: Available, Deployment kueue-controller-manager in the operator's namespace and, while Managed, the
  kueue.x-k8s.io CRDs (ClusterQueue, LocalQueue, ...), but only when cert-manager is installed (CRD
  certificates.cert-manager.io); otherwise Degraded with the message the real operator loops on.
  Operand CRDs come from upstream_crds (the upstream project's files at the pinned version).
- cert-manager, once the cert-manager operator's CSV has Succeeded: CertManager `cluster` (when absent), namespace
  `cert-manager` and the Deployments cert-manager, cert-manager-cainjector and cert-manager-webhook, named and
  labelled as the real operator's bindata/cert-manager-deployment/ (kwok runs their pods). As the real operand, they
  outlive an uninstall of the operator: Red Hat's uninstall procedure deletes the Deployments by hand
  (oc delete deployment -n cert-manager -l app.kubernetes.io/instance=cert-manager).
- CertManager `cluster`, Authorino, Limitador: Available / Ready.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import threading
import time

import yaml
from kubernetes.dynamic.exceptions import ConflictError, ResourceNotFoundError

from .. import upstream_crds
from .base import Controller

LWS_CRD = "leaderworkersets.leaderworkerset.x-k8s.io"
KUEUE_CRDS = upstream_crds.group_crds("kueue.x-k8s.io")
CERT_MANAGER_CRD = "certificates.cert-manager.io"
KUEUE_NAMESPACE = "openshift-kueue-operator"
KUEUE_CERT_MANAGER_MESSAGE = (
    "cert-manager is not installed: please make sure that cert-manager is installed on your cluster "
    "(CRD certificates.cert-manager.io not found)"
)
# Confirmed against openshift/cert-manager-operator, branch cert-manager-1.18 (cd6288e6),
# bindata/cert-manager-deployment/cert-manager-namespace.yaml and {controller,cainjector,webhook}/*-deployment.yaml:
# (Deployment name, app.kubernetes.io/component, app.kubernetes.io/name (also the label `app`), image).
CERT_MANAGER_OPERAND_NAMESPACE = "cert-manager"
CERT_MANAGER_VERSION = "v1.18.4"
CERT_MANAGER_DEPLOYMENTS = (
    ("cert-manager", "controller", "cert-manager", "quay.io/jetstack/cert-manager-controller"),
    ("cert-manager-cainjector", "cainjector", "cainjector", "quay.io/jetstack/cert-manager-cainjector"),
    ("cert-manager-webhook", "webhook", "webhook", "quay.io/jetstack/cert-manager-webhook"),
)


# --- helpers shared by the operand controllers --------------------------------------------------------------------
def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_seconds(obj):
    """Seconds since the object was created (0 when unknown)."""
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return 0.0
    created = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return (datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()


def merge_conditions(existing, wanted):
    """`wanted` conditions ({type: (status, reason, message)}) over `existing`, keeping lastTransitionTime of a
    condition whose status did not change (what every real operator does, and what keeps reconciles idempotent)."""
    by_type = {c.get("type"): c for c in existing or []}
    out = []
    for ctype, (status, reason, message) in wanted.items():
        old = by_type.pop(ctype, None) or {}
        out.append(
            {
                "type": ctype,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == status else now(),
            }
        )
    out.extend(by_type.values())
    return out


def conditions_equal(a, b):
    strip = lambda cs: sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in cs or [])  # noqa: E731
    return strip(a) == strip(b)


def owner_ref(obj, controller=True):
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def pod_running(pod):
    """Running, not being deleted, and every container ready: what a person reads as 'the pod is up'."""
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp") or status.get("phase") != "Running":
        return False
    return all(cs.get("ready") for cs in status.get("containerStatuses") or [])


def operator_csv_phase(ctrl, package_prefix):
    """Phase of the first CSV whose name starts with `package_prefix` (None when there is none)."""
    # OLM copies an AllNamespaces operator's CSV into every namespace; the original is enough
    for csv in ctrl.list("operators.coreos.com/v1alpha1", "ClusterServiceVersion", label_selector="!olm.copiedFrom"):
        if csv["metadata"]["name"].startswith(package_prefix + "."):
            return (csv.get("status") or {}).get("phase")
    return None


def set_conditions(ctrl, obj, wanted, extra_status=None):
    """Write conditions (and other status fields) only when something a reader would notice changed."""
    status = obj.get("status") or {}
    conditions = merge_conditions(status.get("conditions"), wanted)
    extra = extra_status or {}
    if conditions_equal(status.get("conditions"), conditions) and all(status.get(k) == v for k, v in extra.items()):
        return False
    body = dict(extra)
    body["conditions"] = conditions
    body["observedGeneration"] = obj["metadata"].get("generation")
    ctrl.patch_status(obj, body)
    return True


def ensure_object(ctrl, obj):
    """Server-side apply `obj` unless an object with the same content hash is already there (keeps resyncs cheap)."""
    desired = copy.deepcopy(obj)
    digest = hashlib.sha256(yaml.safe_dump(desired, sort_keys=True).encode()).hexdigest()[:16]
    desired["metadata"].setdefault("annotations", {})["ocp-sim/spec-hash"] = digest
    current = ctrl.get(
        desired["apiVersion"], desired["kind"], desired["metadata"]["name"], desired["metadata"].get("namespace")
    )
    if current and (current["metadata"].get("annotations") or {}).get("ocp-sim/spec-hash") == digest:
        return current
    return ctrl.apply(desired)


def install_crds(ctrl, names):
    """Create those of the CRDs `names` that are missing, as an operator does with the CRDs in its image.

    Lists CRD names only and creates instead of applying: some of these CRDs are megabytes, too much to read back or
    hash on every resync.
    """
    listing = ctrl.dyn.request(
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        header_params={"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"},
    )
    present = {item.metadata.name for item in listing.items or []}
    for name in names:
        if name not in present:
            try:
                ctrl.resource("apiextensions.k8s.io/v1", "CustomResourceDefinition").create(
                    body=upstream_crds.load_or_local(name)
                )
            except ConflictError:
                pass


class OperandController(Controller):
    """Controller for kinds that may not be installed yet (operand CRDs arrive with their operator).

    Looking up a missing kind refreshes discovery; here at most once per DISCOVERY_REFRESH seconds and under a lock,
    because the reconcile loop and the watch threads share one discovery cache and a refresh racing a lookup fails.
    """

    DISCOVERY_REFRESH = 3.0

    def __init__(self, api_client, knobs):
        super().__init__(api_client, knobs)
        self._discovery_lock = threading.Lock()
        self._refreshed_at = 0.0

    def resource(self, api_version, kind):
        with self._discovery_lock:
            try:
                return self.dyn.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                if time.monotonic() - self._refreshed_at < self.DISCOVERY_REFRESH:
                    raise
                self._refreshed_at = time.monotonic()
                self.dyn.resources.invalidate_cache()
                return self.dyn.resources.get(api_version=api_version, kind=kind)


# --- the controller ---------------------------------------------------------------------------------------------
class OperandStatusController(OperandController):
    name = "operands"
    watches = (
        ("operator.knative.dev/v1beta1", "KnativeServing"),
        ("operator.openshift.io/v1", "LeaderWorkerSetOperator"),
        ("kueue.openshift.io/v1", "Kueue"),
        ("operator.openshift.io/v1alpha1", "CertManager"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("operators.coreos.com/v1alpha1", "ClusterServiceVersion"),
        ("operator.authorino.kuadrant.io/v1beta1", "Authorino"),
        ("limitador.kuadrant.io/v1alpha1", "Limitador"),
        ("apps/v1", "Deployment"),
        ("v1", "Namespace"),
    )
    resync = Controller.poll(1.0)

    def latency(self):
        return self.knobs.float("operand_latency_seconds", 1.0)

    def reconcile(self):
        self.reconcile_knative()
        self.reconcile_lws()
        self.reconcile_kueue()
        self.reconcile_cert_manager()
        for api_version, kind in (
            ("operator.openshift.io/v1alpha1", "CertManager"),
            ("operator.authorino.kuadrant.io/v1beta1", "Authorino"),
            ("limitador.kuadrant.io/v1alpha1", "Limitador"),
        ):
            for obj in self.list(api_version, kind):
                self.reconcile_simple(obj)

    def reconcile_simple(self, obj):
        if age_seconds(obj) < self.latency():
            return
        if obj["kind"] == "CertManager":
            wanted = {
                "Available": ("True", "AsExpected", "cert-manager controller, webhook and cainjector are available"),
                "Progressing": ("False", "AsExpected", ""),
                "Degraded": ("False", "AsExpected", ""),
            }
        else:
            wanted = {"Ready": ("True", "Ready", "{0} is ready".format(obj["kind"]))}
        set_conditions(self, obj, wanted)

    def reconcile_knative(self):
        for ks in self.list("operator.knative.dev/v1beta1", "KnativeServing"):
            phase = operator_csv_phase(self, "serverless-operator")
            if phase != "Succeeded":
                msg = "serverless-operator CSV is {0}".format(phase or "absent")
                wanted = {
                    "DependenciesInstalled": ("Unknown", "Installing", msg),
                    "DeploymentsAvailable": ("Unknown", "Installing", msg),
                    "Ready": ("Unknown", "Installing", msg),
                }
            elif age_seconds(ks) < self.latency():
                continue
            else:
                wanted = {
                    "DependenciesInstalled": ("True", "Installed", ""),
                    "DeploymentsAvailable": ("True", "Available", ""),
                    "InstallSucceeded": ("True", "Installed", ""),
                    "VersionMigrationEligible": ("True", "Eligible", ""),
                    "Ready": ("True", "Ready", ""),
                }
            set_conditions(
                self, ks, wanted, {"version": "1.17.0"} if "Ready" in wanted and wanted["Ready"][0] == "True" else None
            )

    def reconcile_lws(self):
        for lws in self.list("operator.openshift.io/v1", "LeaderWorkerSetOperator"):
            if age_seconds(lws) < self.latency():
                continue
            if lws.get("spec", {}).get("managementState", "Managed") == "Managed":
                install_crds(self, [LWS_CRD])
            set_conditions(
                self,
                lws,
                {
                    "Available": ("True", "AsExpected", "lws-controller-manager is available"),
                    "Progressing": ("False", "AsExpected", ""),
                    "Degraded": ("False", "AsExpected", ""),
                },
            )

    def reconcile_kueue(self):
        for kueue in self.list("kueue.openshift.io/v1", "Kueue"):
            if age_seconds(kueue) < self.latency():
                continue
            if self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CERT_MANAGER_CRD) is None:
                set_conditions(
                    self,
                    kueue,
                    {
                        "Available": ("False", "CertManagerNotInstalled", KUEUE_CERT_MANAGER_MESSAGE),
                        "Degraded": ("True", "CertManagerNotInstalled", KUEUE_CERT_MANAGER_MESSAGE),
                    },
                )
                continue
            # where OLM put the operator (its Deployment), as the real operator deploys next to itself
            deps = self.list("apps/v1", "Deployment", label_selector="name=openshift-kueue-operator")
            namespace = deps[0]["metadata"]["namespace"] if deps else KUEUE_NAMESPACE
            if self.get("v1", "Namespace", namespace) is not None:
                ensure_object(self, kueue_deployment(kueue, namespace))
            if kueue.get("spec", {}).get("managementState", "Managed") == "Managed":
                install_crds(self, KUEUE_CRDS)
            set_conditions(
                self,
                kueue,
                {
                    "Available": ("True", "AsExpected", "kueue-controller-manager is available"),
                    "Degraded": ("False", "AsExpected", ""),
                },
            )

    def reconcile_cert_manager(self):
        phase = operator_csv_phase(self, "cert-manager-operator")
        # no operator (uninstalled: its operand stays as it is), or a crash-looping or upgrading one
        if phase != "Succeeded" or not self.has_kind("operator.openshift.io/v1alpha1", "CertManager"):
            return
        cert_manager = self.get("operator.openshift.io/v1alpha1", "CertManager", "cluster")
        if cert_manager is None:
            # what the operator's DefaultCertManager controller does (pkg/controller/deployment/)
            body = {
                "apiVersion": "operator.openshift.io/v1alpha1",
                "kind": "CertManager",
                "metadata": {"name": "cluster"},
                "spec": {"managementState": "Managed"},
            }
            try:
                self.resource("operator.openshift.io/v1alpha1", "CertManager").create(body=body)
            except ConflictError:
                pass
            self.requeue_after(self.latency())
            return
        wait = self.latency() - age_seconds(cert_manager)
        if wait > 0:
            self.requeue_after(wait)
            return
        if (cert_manager.get("spec") or {}).get("managementState", "Managed") != "Managed":
            return
        namespace = ensure_object(
            self,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": CERT_MANAGER_OPERAND_NAMESPACE,
                    "annotations": {"openshift.io/cluster-monitoring": "true"},
                },
            },
        )
        if namespace["metadata"].get("deletionTimestamp"):  # removed a moment ago: Deployments would be refused
            self.requeue_after(1.0)
            return
        # kind has real kubelets, which cannot pull the real images: the operator_image knob is one they can
        image = self.knobs.get("operator_image")
        for name, component, app, real_image in CERT_MANAGER_DEPLOYMENTS:
            ensure_object(
                self, cert_manager_deployment(name, component, app, image or real_image + ":" + CERT_MANAGER_VERSION)
            )


def cert_manager_deployment(name, component, app, image):
    selector = {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": "cert-manager",
        "app.kubernetes.io/name": app,
    }
    labels = dict(selector, app=app, **{"app.kubernetes.io/version": CERT_MANAGER_VERSION})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": CERT_MANAGER_OPERAND_NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "cert-manager-" + component, "image": image}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                },
            },
        },
    }


def kueue_deployment(kueue, namespace):
    labels = {"app.kubernetes.io/name": "kueue", "control-plane": "controller-manager"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "kueue-controller-manager",
            "namespace": namespace,
            "labels": labels,
            # a cluster-scoped owner of a namespaced object: garbage collection removes it with Kueue/cluster
            "ownerReferences": [owner_ref(kueue)],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "manager", "image": "registry.redhat.io/kueue/kueue-rhel9:v1.2"}],
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


CONTROLLER = OperandStatusController
