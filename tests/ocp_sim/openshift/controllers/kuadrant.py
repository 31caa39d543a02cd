"""Red Hat Connectivity Link's operators and OpenShift's service-ca, as far as this collection sees them.

Each part acts only while the real OLM reports the CSV of the operator it stands for as Succeeded (no container runs
on the test bed, so the operator's reconcile loop is simulated; the install itself is OLM's):

- kuadrant-operator (package rhcl-operator), for each `Kuadrant` in the namespace of a Succeeded rhcl-operator CSV:
  creates `Authorino/authorino` and `Limitador/limitador` beside it when they are missing (owned by the Kuadrant, so
  garbage collection removes them with it; never updated afterwards, which is why a user's TLS settings on Authorino
  stay), and sets the Kuadrant's `Ready` condition from theirs (reasons `LimitadorNotReady`, `AuthorinoNotReady`, then
  `Ready`, in the real operator's order). Not simulated: the real operator's Gateway API provider check, which
  reports `Ready=False` (`GatewayAPIProviderNotFound`) on a cluster without Istio or Envoy Gateway.
- authorino-operator (any Succeeded authorino-operator CSV: it watches every namespace): creates the Service
  `<name>-authorino-authorization` (gRPC 50051, HTTP 5001) of each Authorino, owned by it. Authorino's and Limitador's
  own `Ready` condition comes from operands.py.
- service-ca: every Service annotated `service.beta.openshift.io/serving-cert-secret-name: X` gets a
  `kubernetes.io/tls` Secret X in its namespace (a self-signed certificate for `<service>.<namespace>.svc`, owned by
  the Service, with the originating-service and expiry annotations the real controller writes), and the Service gets
  the `serving-cert-signed-by` annotations. A Secret that already exists is left alone.
"""

from __future__ import annotations

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes.dynamic.exceptions import ConflictError

from .operands import OperandController, owner_ref, set_conditions

OLM = "operators.coreos.com/v1alpha1"
KUADRANT = ("kuadrant.io/v1beta1", "Kuadrant")
AUTHORINO = ("operator.authorino.kuadrant.io/v1beta1", "Authorino")
LIMITADOR = ("limitador.kuadrant.io/v1alpha1", "Limitador")
SERVING_CERT_SECRET = "service.beta.openshift.io/serving-cert-secret-name"
SIGNED_BY = ("service.beta.openshift.io/serving-cert-signed-by", "service.alpha.openshift.io/serving-cert-signed-by")
SIGNER = "openshift-service-serving-signer@1730000000"
CERT_VALIDITY = datetime.timedelta(days=730)


def ready_condition(obj):
    for cond in (obj or {}).get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return {}


def authorino_for(kuadrant):
    """What the kuadrant-operator creates (kuadrant-operator's authorino reconciler: cluster-wide, TLS off)."""
    return {
        "apiVersion": AUTHORINO[0],
        "kind": AUTHORINO[1],
        "metadata": {
            "name": "authorino",
            "namespace": kuadrant["metadata"]["namespace"],
            "ownerReferences": [owner_ref(kuadrant)],
        },
        "spec": {
            "clusterWide": True,
            "supersedingHostSubsets": True,
            "listener": {"tls": {"enabled": False}},
            "oidcServer": {"tls": {"enabled": False}},
        },
    }


def limitador_for(kuadrant):
    return {
        "apiVersion": LIMITADOR[0],
        "kind": LIMITADOR[1],
        "metadata": {
            "name": "limitador",
            "namespace": kuadrant["metadata"]["namespace"],
            "ownerReferences": [owner_ref(kuadrant)],
        },
        "spec": {},
    }


def authorization_service(authorino):
    name = authorino["metadata"]["name"]
    labels = {"authorino-resource": name, "control-plane": "controller-manager"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name + "-authorino-authorization",
            "namespace": authorino["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_ref(authorino)],
        },
        "spec": {
            "selector": labels,
            "ports": [
                {"name": "grpc", "port": 50051, "protocol": "TCP", "targetPort": 50051},
                {"name": "http", "port": 5001, "protocol": "TCP", "targetPort": 5001},
            ],
        },
    }


def serving_cert(service_name, namespace):
    """A self-signed certificate and key (PEM) for the Service's in-cluster DNS names."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    host = "{0}.{1}.svc".format(service_name, namespace)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SIGNER)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host), x509.DNSName(host + ".cluster.local")]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, now + CERT_VALIDITY


def serving_cert_secret(service, secret_name):
    meta = service["metadata"]
    cert, key, expiry = serving_cert(meta["name"], meta["namespace"])
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": secret_name,
            "namespace": meta["namespace"],
            "annotations": {
                "service.beta.openshift.io/originating-service-name": meta["name"],
                "service.beta.openshift.io/originating-service-uid": meta["uid"],
                "service.beta.openshift.io/expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta["uid"]}],
        },
        "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
    }


class KuadrantController(OperandController):
    name = "kuadrant"
    watches = (
        KUADRANT,
        AUTHORINO,
        LIMITADOR,
        (OLM, "ClusterServiceVersion"),
        ("v1", "Service"),
    )

    def csv_succeeded(self, package, namespace=None):
        """A Succeeded CSV of `package` (OLM's copies of AllNamespaces CSVs in other namespaces do not count)."""
        for csv in self.list(OLM, "ClusterServiceVersion", namespace=namespace, label_selector="!olm.copiedFrom"):
            phase = (csv.get("status") or {}).get("phase")
            if csv["metadata"]["name"].startswith(package + ".") and phase == "Succeeded":
                return True
        return False

    def create_missing(self, obj):
        """Create `obj` unless it exists; never update it (what kuadrant- and authorino-operator do for these)."""
        meta = obj["metadata"]
        current = self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if current is not None:
            return current
        try:
            created = self.resource(obj["apiVersion"], obj["kind"]).create(body=obj, namespace=meta.get("namespace"))
            self.log.info("created %s %s/%s", obj["kind"], meta.get("namespace"), meta["name"])
            return created.to_dict()
        except ConflictError:
            return self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))

    def reconcile(self):
        self.reconcile_kuadrant()
        self.reconcile_authorino_services()
        self.reconcile_service_ca()

    def reconcile_kuadrant(self):
        for kuadrant in self.list(*KUADRANT):
            meta = kuadrant["metadata"]
            if meta.get("deletionTimestamp") or not self.csv_succeeded("rhcl-operator", meta["namespace"]):
                continue
            limitador = self.create_missing(limitador_for(kuadrant))
            authorino = self.create_missing(authorino_for(kuadrant))
            limitador_ready, authorino_ready = ready_condition(limitador), ready_condition(authorino)
            if limitador_ready.get("status") != "True":
                wanted = ("False", "LimitadorNotReady", limitador_ready.get("message") or "Limitador is not ready")
            elif authorino_ready.get("status") != "True":
                wanted = ("False", "AuthorinoNotReady", authorino_ready.get("message") or "Authorino is not ready")
            else:
                wanted = ("True", "Ready", "Kuadrant is ready")
            set_conditions(self, kuadrant, {"Ready": wanted})

    def reconcile_authorino_services(self):
        authorinos = self.list(*AUTHORINO)
        if not authorinos or not self.csv_succeeded("authorino-operator"):
            return
        for authorino in authorinos:
            if not authorino["metadata"].get("deletionTimestamp"):
                self.create_missing(authorization_service(authorino))

    def reconcile_service_ca(self):
        for service in self.list("v1", "Service"):
            meta = service["metadata"]
            secret_name = (meta.get("annotations") or {}).get(SERVING_CERT_SECRET)
            if not secret_name or meta.get("deletionTimestamp"):
                continue
            if self.get("v1", "Secret", secret_name, meta["namespace"]) is None:
                self.create_missing(serving_cert_secret(service, secret_name))
            if any((meta.get("annotations") or {}).get(a) != SIGNER for a in SIGNED_BY):
                self.resource("v1", "Service").patch(
                    body={"metadata": {"annotations": {a: SIGNER for a in SIGNED_BY}}},
                    name=meta["name"],
                    namespace=meta["namespace"],
                    content_type="application/merge-patch+json",
                )


CONTROLLER = KuadrantController
