"""CRDs of the test bed taken from the upstream projects' own files, at the versions pinned in gomod/crds.

Hand-written schemas drift from the real ones (a field the real operator accepts is rejected here, or the other way
round) and cover only what someone thought of. Wherever the Go module proxy serves the project that ships a CRD,
`SOURCES` names the file inside that module; the file is read from the Go module cache (tests.ocp_sim.upstream), never
copied into this repository. CRDs without an upstream source stay hand-written in crds/operands/ and crds/openshift/
(README "Where each CRD comes from" says why for each).

    load(name)            the upstream CRD, or None when SOURCES lists none
    load_or_local(name)   the upstream CRD, else the hand-written file
    openshift_crds()      the platform CRDs the bootstrap applies (OLM's own excepted)
    group_crds(group)     the names SOURCES lists for an API group (what an operator installs at once)
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path

import yaml

from tests.ocp_sim import upstream

HERE = Path(__file__).resolve().parent
WRAPPER = "crds"
LOCAL_DIRS = (HERE / "crds" / "operands", HERE / "crds" / "openshift")

OPENSHIFT_API = "github.com/openshift/api"
AUTOSCALER_OPERATOR = "github.com/openshift/cluster-autoscaler-operator"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator"
GPU_OPERATOR = "github.com/NVIDIA/gpu-operator"
NFD = "sigs.k8s.io/node-feature-discovery"
KUEUE = "sigs.k8s.io/kueue"
LWS = "sigs.k8s.io/lws"
KNATIVE_OPERATOR = "knative.dev/operator"
CERT_MANAGER = "github.com/cert-manager/cert-manager"
AUTHORINO_OPERATOR = "github.com/kuadrant/authorino-operator"
LIMITADOR_OPERATOR = "github.com/kuadrant/limitador-operator"
DNS_OPERATOR = "github.com/kuadrant/dns-operator"

_CONFIG = "config/v1/zz_generated.crd-manifests/"
_MACHINE = "machine/v1beta1/zz_generated.crd-manifests/"
_KUEUE = "config/components/crd/bases/kueue.x-k8s.io_{0}.yaml"
_PROMETHEUS = "example/prometheus-operator-crd-full/monitoring.coreos.com_{0}.yaml"
_NFD_API = "deployment/base/nfd-crds/nfd-api-crds.yaml"

#: CRD name -> (Go module, file inside the module). OpenShift API files: the Default feature set, as on a cluster
#: without TechPreviewNoUpgrade.
SOURCES: dict[str, tuple[str, str]] = {
    # platform (config.openshift.io, machine.openshift.io, autoscaling.openshift.io, monitoring.coreos.com)
    "clusterversions.config.openshift.io": (
        OPENSHIFT_API,
        _CONFIG + "0000_00_cluster-version-operator_01_clusterversions-Default.crd.yaml",
    ),
    "clusteroperators.config.openshift.io": (
        OPENSHIFT_API,
        _CONFIG + "0000_00_cluster-version-operator_01_clusteroperators.crd.yaml",
    ),
    "infrastructures.config.openshift.io": (
        OPENSHIFT_API,
        _CONFIG + "0000_10_config-operator_01_infrastructures-Default.crd.yaml",
    ),
    "apiservers.config.openshift.io": (
        OPENSHIFT_API,
        _CONFIG + "0000_10_config-operator_01_apiservers-Default.crd.yaml",
    ),
    "proxies.config.openshift.io": (OPENSHIFT_API, _CONFIG + "0000_03_config-operator_01_proxies.crd.yaml"),
    "featuregates.config.openshift.io": (OPENSHIFT_API, _CONFIG + "0000_10_config-operator_01_featuregates.crd.yaml"),
    "operatorhubs.config.openshift.io": (OPENSHIFT_API, _CONFIG + "0000_03_marketplace_01_operatorhubs.crd.yaml"),
    "machines.machine.openshift.io": (OPENSHIFT_API, _MACHINE + "0000_10_machine-api_01_machines-Default.crd.yaml"),
    "machinesets.machine.openshift.io": (
        OPENSHIFT_API,
        _MACHINE + "0000_10_machine-api_01_machinesets-Default.crd.yaml",
    ),
    "clusterautoscalers.autoscaling.openshift.io": (AUTOSCALER_OPERATOR, "install/01_clusterautoscaler.crd.yaml"),
    "machineautoscalers.autoscaling.openshift.io": (AUTOSCALER_OPERATOR, "install/02_machineautoscaler.crd.yaml"),
    "servicemonitors.monitoring.coreos.com": (PROMETHEUS_OPERATOR, _PROMETHEUS.format("servicemonitors")),
    "prometheusrules.monitoring.coreos.com": (PROMETHEUS_OPERATOR, _PROMETHEUS.format("prometheusrules")),
    "podmonitors.monitoring.coreos.com": (PROMETHEUS_OPERATOR, _PROMETHEUS.format("podmonitors")),
    # NVIDIA GPU operator
    "clusterpolicies.nvidia.com": (GPU_OPERATOR, "config/crd/bases/nvidia.com_clusterpolicies.yaml"),
    "nvidiadrivers.nvidia.com": (GPU_OPERATOR, "config/crd/bases/nvidia.com_nvidiadrivers.yaml"),
    # NFD operand API (one file holds all three)
    "nodefeatures.nfd.k8s-sigs.io": (NFD, _NFD_API),
    "nodefeaturerules.nfd.k8s-sigs.io": (NFD, _NFD_API),
    "nodefeaturegroups.nfd.k8s-sigs.io": (NFD, _NFD_API),
    # Kueue operand API, installed by the Kueue operator
    **{
        "{0}.kueue.x-k8s.io".format(plural): (KUEUE, _KUEUE.format(plural))
        for plural in (
            "admissionchecks",
            "clusterqueues",
            "cohorts",
            "localqueues",
            "multikueueclusters",
            "multikueueconfigs",
            "provisioningrequestconfigs",
            "resourceflavors",
            "topologies",
            "workloadpriorityclasses",
            "workloads",
        )
    },
    # LWS operand API, installed by the LWS operator
    "leaderworkersets.leaderworkerset.x-k8s.io": (
        LWS,
        "config/crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml",
    ),
    # Serverless
    "knativeservings.operator.knative.dev": (
        KNATIVE_OPERATOR,
        "config/crd/bases/operator.knative.dev_knativeservings.yaml",
    ),
    "knativeeventings.operator.knative.dev": (
        KNATIVE_OPERATOR,
        "config/crd/bases/operator.knative.dev_knativeeventings.yaml",
    ),
    # cert-manager (its deploy/crds files are Helm templates; see _untemplate)
    "certificates.cert-manager.io": (CERT_MANAGER, "deploy/crds/crd-certificates.yaml"),
    "certificaterequests.cert-manager.io": (CERT_MANAGER, "deploy/crds/crd-certificaterequests.yaml"),
    "issuers.cert-manager.io": (CERT_MANAGER, "deploy/crds/crd-issuers.yaml"),
    "clusterissuers.cert-manager.io": (CERT_MANAGER, "deploy/crds/crd-clusterissuers.yaml"),
    "orders.acme.cert-manager.io": (CERT_MANAGER, "deploy/crds/crd-orders.yaml"),
    "challenges.acme.cert-manager.io": (CERT_MANAGER, "deploy/crds/crd-challenges.yaml"),
    # Kuadrant components
    "authorinos.operator.authorino.kuadrant.io": (
        AUTHORINO_OPERATOR,
        "config/crd/bases/operator.authorino.kuadrant.io_authorinos.yaml",
    ),
    "limitadors.limitador.kuadrant.io": (LIMITADOR_OPERATOR, "config/crd/bases/limitador.kuadrant.io_limitadors.yaml"),
    "dnsrecords.kuadrant.io": (DNS_OPERATOR, "config/crd/bases/kuadrant.io_dnsrecords.yaml"),
    "dnshealthcheckprobes.kuadrant.io": (DNS_OPERATOR, "config/crd/bases/kuadrant.io_dnshealthcheckprobes.yaml"),
}

_NVIDIA_NLS = (
    "Deprecated: ConfigMapName has been deprecated in favour of SecretName. Please use secrets to handle the licensing "
    "server configuration more securely"
)
#: CRD name -> {dotted field path: schema keys to set}: what the release a channel installs changed over the newest
#: release the module proxy serves. The GPU operator is served only as a release-25.3 branch snapshot; v25.10.0 (the
#: default channel) differs from it by exactly these (its CRD file, compared field by field).
OVERLAYS: dict[str, dict[str, dict]] = {
    "clusterpolicies.nvidia.com": {
        "spec.driver.licensingConfig.configMapName": {"description": _NVIDIA_NLS},
        "spec.driver.licensingConfig.secretName": {
            "description": "SecretName indicates the name of the secret containing the licensing token",
            "type": "string",
        },
        "spec.driver.secretEnv": {
            "description": "Optional: SecretEnv represents the name of the Kubernetes Secret with secret environment "
            "variables for the NVIDIA Driver",
            "type": "string",
        },
        "spec.dcgmExporter.hostPID": {
            "description": "HostPID allows the DCGM-Exporter daemon set to access the host's PID namespace",
            "type": "boolean",
        },
        "spec.cdi.enabled": {
            "default": True,
            "description": "Enabled indicates whether the Container Device Interface (CDI) should be used as the "
            "mechanism for making GPUs accessible to containers.",
        },
        "spec.cdi.default": {
            "description": "Deprecated: This field is no longer used. Setting cdi.enabled=true will configure CDI as "
            "the default mechanism for making GPUs accessible to containers.",
        },
    },
}

#: modules whose CRD files are Helm chart templates that happen to parse as YAML (template actions sit in comments
#: and in quoted label values)
HELM_TEMPLATED = frozenset({CERT_MANAGER})

#: the platform CRDs of a fresh cluster that the bootstrap applies; OLM's operators.coreos.com CRDs come from OLM
#: itself, and apiservers/proxies from olm.openshift_mode_crds()
PLATFORM_CRDS = (
    "clusterversions.config.openshift.io",
    "infrastructures.config.openshift.io",
    "machines.machine.openshift.io",
    "machinesets.machine.openshift.io",
    "clusterautoscalers.autoscaling.openshift.io",
    "machineautoscalers.autoscaling.openshift.io",
    "servicemonitors.monitoring.coreos.com",
    "prometheusrules.monitoring.coreos.com",
)

CRD_KIND = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
# YAML 1.2 (Go's parsers) allows a tab as the separator after "key:"; PyYAML does not. The knative operator's
# generated CRDs have one such line.
_TAB_AFTER_KEY = re.compile(r"(?m)^([^#\n]*?:) *\t+")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UpstreamCrdError(upstream.UpstreamError):
    pass


@lru_cache(maxsize=None)
def _documents(module: str, path: str) -> tuple:
    """The CRD documents of one upstream file (parsed once per process: some are megabytes)."""
    try:
        root = upstream.module_dir(WRAPPER, module)
    except upstream.UpstreamError as exc:
        raise UpstreamCrdError("cannot read {0} from {1}: {2}".format(path, module, exc)) from exc
    file = root / path
    try:
        text = file.read_text()
    except OSError as exc:
        raise UpstreamCrdError(
            "{0} (pinned in gomod/{1}) has no readable {2}: {3}".format(module, WRAPPER, path, exc)
        ) from exc
    docs = []
    for doc in yaml.load_all(_TAB_AFTER_KEY.sub(r"\1 ", text), Loader=_Loader):
        if isinstance(doc, dict) and (doc.get("apiVersion"), doc.get("kind")) == CRD_KIND:
            docs.append(_untemplate(doc, module, path) if module in HELM_TEMPLATED else doc)
    return tuple(docs)


def _untemplate(doc, module, path):
    """A CRD of a Helm-templated file with its templated labels removed (they hold `{{ ... }}`, not label values).

    Everything else is the file as it is; a template action left anywhere else means the file is not what this code
    expects, and guessing its rendering would hide that.
    """
    labels = doc.get("metadata", {}).get("labels") or {}
    kept = {k: v for k, v in labels.items() if "{{" not in str(v)}
    if kept:
        doc["metadata"]["labels"] = kept
    else:
        doc["metadata"].pop("labels", None)
    if "{{" in yaml.safe_dump(doc):
        raise UpstreamCrdError(
            "{0}/{1}: a Helm template action outside metadata.labels; this CRD needs rendering".format(module, path)
        )
    return doc


def load(name: str) -> dict | None:
    """The upstream CRD document `name` (a fresh copy), or None when SOURCES lists no upstream source for it.

    Raises UpstreamCrdError when a source is listed but cannot be read (no `go`, module not downloadable, file or
    CRD missing at the pinned version).
    """
    source = SOURCES.get(name)
    if source is None:
        return None
    module, path = source
    for doc in _documents(module, path):
        if doc.get("metadata", {}).get("name") == name:
            return _overlay(copy.deepcopy(doc), OVERLAYS.get(name, {}))
    raise UpstreamCrdError("{0}/{1} (pinned in gomod/{2}) holds no CRD named {3}".format(module, path, WRAPPER, name))


def _overlay(crd, changes):
    for dotted, keys in changes.items():
        *parents, leaf = dotted.split(".")
        for version in crd["spec"]["versions"]:
            schema = version["schema"]["openAPIV3Schema"]
            for part in parents:
                try:
                    schema = schema["properties"][part]
                except KeyError:
                    raise UpstreamCrdError(
                        "overlay {0} of {1}: the pinned CRD has no {2}".format(dotted, crd["metadata"]["name"], part)
                    ) from None
            schema.setdefault("properties", {}).setdefault(leaf, {}).update(copy.deepcopy(keys))
    return crd


def local_path(name: str) -> Path | None:
    for directory in LOCAL_DIRS:
        path = directory / "{0}.yaml".format(name)
        if path.is_file():
            return path
    return None


def load_or_local(name: str) -> dict:
    """The upstream CRD when SOURCES lists one, else the hand-written crds/operands/ or crds/openshift/ file."""
    doc = load(name)
    if doc is not None:
        return doc
    path = local_path(name)
    if path is None:
        raise FileNotFoundError(
            "CRD {0}: no upstream source in upstream_crds.SOURCES and no hand-written file in {1}".format(
                name, " or ".join(str(d) for d in LOCAL_DIRS)
            )
        )
    return yaml.load(path.read_text(), Loader=_Loader)


def openshift_crds() -> list[dict]:
    """The platform CRD documents (config, machine, autoscaling, monitoring, PackageManifest), upstream where
    possible, for the bootstrap's apply_crds()."""
    return [load_or_local(name) for name in PLATFORM_CRDS]


def group_crds(group: str) -> list[str]:
    """The CRD names SOURCES lists for API group `group`, sorted."""
    return sorted(name for name in SOURCES if name.split(".", 1)[1] == group)
