"""File-based catalogs (FBC) generated from catalog.yaml, one directory per CatalogSource, for `opm serve`.

Every bundle carries its objects inline (`olm.bundle.object`: the CSV with its install modes, operator Deployment and
RBAC, and the CRDs it owns) and has no `image`: the registry then hands OLM the embedded objects, while a bundle with
an image makes OLM start an unpack Job, which never completes without a container runtime. Dependencies between
packages are `olm.package.required` properties, resolved by OLM itself.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from . import catalog as catalog_mod
from . import upstream_crds

OLM_V1ALPHA1 = "operators.coreos.com/v1alpha1"
#: pods of operator Deployments carry this label (value: package); the operator-pods controller runs them
OPERATOR_LABEL = "sim.ocp/operator"
DEFAULT_IMAGE = "registry.redhat.io/sim/{name}:v{version}"
#: the progress deadline of every operator Deployment, so that a Deployment that never becomes available fails its
#: CSV (InstallCheckFailed) the way it does on a cluster, instead of OLM's 5-minute "install timeout" loop
DEFAULT_PROGRESS_DEADLINE = 45


def load_crd(name):
    """The CRD `name`: its upstream schema where a pinned Go module ships it, else the hand-written file."""
    return upstream_crds.load_or_local(name)


def _storage_version(crd):
    versions = crd["spec"]["versions"]
    return next((v["name"] for v in versions if v.get("storage")), versions[0]["name"])


def _property(kind, value):
    return {"type": kind, "value": value}


def _object(obj):
    data = base64.b64encode(json.dumps(obj, sort_keys=True).encode()).decode()
    return _property("olm.bundle.object", {"data": data})


def deployment_spec(pkg, image, progress_deadline):
    labels = dict(pkg["deployment"]["labels"])
    return {
        "replicas": 1,
        "progressDeadlineSeconds": int(progress_deadline),
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": dict(labels, **{OPERATOR_LABEL: pkg["name"]})},
            "spec": {
                "serviceAccountName": pkg["deployment"]["name"],
                "containers": [
                    {
                        "name": "manager",
                        "image": image,
                        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
                    }
                ],
                # the operators of these packages run on any node, control-plane nodes included
                "tolerations": [
                    {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"}
                ],
            },
        },
    }


def csv_object(cat, pkg, channel, csv_name, *, crds, image, progress_deadline):
    """The ClusterServiceVersion of one bundle, as an operator's bundle ships it."""
    owned = [
        {
            "name": crd["metadata"]["name"],
            "kind": crd["spec"]["names"]["kind"],
            "version": _storage_version(crd),
            "displayName": crd["spec"]["names"]["kind"],
        }
        for crd in crds
    ]
    groups = sorted({crd["spec"]["group"] for crd in crds})
    account = pkg["deployment"]["name"]
    spec = {
        "displayName": pkg["displayName"],
        "version": catalog_mod.csv_version(csv_name),
        "provider": {"name": pkg["provider"]},
        "maturity": "stable",
        "minKubeVersion": "1.27.0",
        "installModes": [{"type": m, "supported": bool(pkg["installModes"].get(m))} for m in catalog_mod.INSTALL_MODES],
        "customresourcedefinitions": {"owned": owned},
        "install": {
            "strategy": "deployment",
            "spec": {
                "deployments": [
                    {
                        "name": pkg["deployment"]["name"],
                        "label": dict(pkg["deployment"]["labels"]),
                        "spec": deployment_spec(pkg, image, progress_deadline),
                    }
                ],
                # OLM creates the ServiceAccount, Role(Binding)s and ClusterRole(Binding)s from these
                "permissions": [
                    {
                        "serviceAccountName": account,
                        "rules": [
                            {
                                "apiGroups": ["", "coordination.k8s.io"],
                                "resources": ["configmaps", "leases", "events"],
                                "verbs": ["get", "list", "watch", "create", "update", "patch"],
                            }
                        ],
                    }
                ],
                "clusterPermissions": [
                    {
                        "serviceAccountName": account,
                        "rules": [{"apiGroups": groups or [""], "resources": ["*"], "verbs": ["*"]}],
                    }
                ],
            },
        },
    }
    replaces = cat.replaces(pkg, channel, csv_name)
    if replaces:
        spec["replaces"] = replaces
    return {
        "apiVersion": OLM_V1ALPHA1,
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": csv_name,
            "annotations": {"containerImage": image, "capabilities": "Basic Install"},
        },
        "spec": spec,
    }


def bundle(cat, pkg, channel, csv_name, *, load, image_template, progress_deadline):
    version = catalog_mod.csv_version(csv_name)
    image = image_template.format(name=pkg["deployment"]["name"], version=version)
    crds = [load(name) for name in pkg["ownedCRDs"]]
    properties = [_property("olm.package", {"packageName": pkg["name"], "version": version})]
    for crd in crds:
        for served in crd["spec"]["versions"]:
            if served.get("served", True):
                gvk = {"group": crd["spec"]["group"], "kind": crd["spec"]["names"]["kind"], "version": served["name"]}
                properties.append(_property("olm.gvk", gvk))
    for dep in pkg.get("requires") or []:
        properties.append(
            _property("olm.package.required", {"packageName": dep["package"], "versionRange": dep["versionRange"]})
        )
    properties.append(
        _object(csv_object(cat, pkg, channel, csv_name, crds=crds, image=image, progress_deadline=progress_deadline))
    )
    properties.extend(_object(crd) for crd in crds)
    return {"schema": "olm.bundle", "name": csv_name, "package": pkg["name"], "properties": properties}


def render(cat, image=None, progress_deadline=DEFAULT_PROGRESS_DEADLINE, load=load_crd):
    """{catalog name: [FBC blobs]} for every catalog of `cat`, packages in file order."""
    image_template = image or DEFAULT_IMAGE
    out = {name: [] for name in cat.catalogs}
    for pkg in cat.packages.values():
        blobs = out[pkg["catalog"]]
        blobs.append({"schema": "olm.package", "name": pkg["name"], "defaultChannel": pkg["defaultChannel"]})
        seen = set()
        for channel in pkg["channels"]:
            entries = []
            for index, csv_name in enumerate(channel["entries"]):
                entry = {"name": csv_name}
                if index:
                    entry["replaces"] = channel["entries"][index - 1]
                entries.append(entry)
                if csv_name not in seen:
                    seen.add(csv_name)
                    blobs.append(
                        bundle(
                            cat,
                            pkg,
                            channel["name"],
                            csv_name,
                            load=load,
                            image_template=image_template,
                            progress_deadline=progress_deadline,
                        )
                    )
            blobs.append({"schema": "olm.channel", "package": pkg["name"], "name": channel["name"], "entries": entries})
    return out


def write(cat, root, **kwargs):
    """Write one FBC directory per catalog under `root`; returns {catalog name: directory}."""
    dirs = {}
    for name, blobs in render(cat, **kwargs).items():
        directory = Path(root) / name
        directory.mkdir(parents=True, exist_ok=True)
        if blobs:  # opm serves an empty directory, but not an empty file
            (directory / "catalog.json").write_text("\n".join(json.dumps(b, sort_keys=True) for b in blobs) + "\n")
        dirs[name] = directory
    return dirs
