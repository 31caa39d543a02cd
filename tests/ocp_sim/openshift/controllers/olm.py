"""Simulated OLM: Subscription -> InstallPlan -> ClusterServiceVersion -> operator Deployment (+ owned CRDs).

Resolution runs against catalog.yaml. What is modelled, as OLM does it (operators.md §6):
- Subscription status: state "" -> UpgradePending -> AtLatestKnown, currentCSV, installedCSV (set once the CSV
  object exists), installPlanRef, installPlanGeneration, typed conditions (CatalogSourcesUnhealthy, ResolutionFailed,
  InstallPlanPending, InstallPlanFailed).
- InstallPlan `install-xxxxx` owned by the Subscription; Manual approval when any Subscription in the namespace is
  Manual; RequiresApproval -> Installing -> Complete, or Failed without an OperatorGroup.
- CSV phases Pending -> InstallReady -> Installing -> Succeeded, Failed for OperatorGroup problems
  (TooManyOperatorGroups, UnsupportedOperatorGroup) or the fault knob, Replacing while the next CSV of an upgrade
  installs; the old CSV is deleted once the new one Succeeded. Phases leave `status.conditions` entries
  {phase, reason, message, lastTransitionTime, lastUpdateTime}.
- The operator Deployment is owned by the CSV (the garbage collector deletes it with the CSV); deleting a
  Subscription leaves the CSV; deleting the CSV of a live Subscription makes OLM install it again.
- Cluster-scoped `Operator` `<package>.<namespace>` while a Subscription for it exists.
Not modelled: dependency resolution between packages, CSV copies into every namespace of an AllNamespaces group,
RBAC the CSV asks for, webhooks, skipRange.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import yaml
from kubernetes.dynamic.exceptions import ConflictError

from tests.ocp_sim.openshift import catalog as catalog_mod
from tests.ocp_sim.openshift.controllers.base import Controller

OLM_V1ALPHA1 = "operators.coreos.com/v1alpha1"
OLM_V1 = "operators.coreos.com/v1"
CRD_API = "apiextensions.k8s.io/v1"
DEFAULT_LATENCY = 2.0
IDLE_RESYNC = 3.0
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
CHANNEL_ANNOTATION = "sim.ocp/channel"
PACKAGE_ANNOTATION = "sim.ocp/package"
FAULT_PREFIX = "install failed: simulated fault"

# CSV Failed reasons OLM leaves again by itself once the cause is gone
RECOVERABLE = {"NoOperatorGroup", "TooManyOperatorGroups", "UnsupportedOperatorGroup"}
WATCH_SCOPE = {
    "AllNamespaces": "all namespaces",
    "OwnNamespace": "own namespace",
    "SingleNamespace": "targeted namespace",
    "MultiNamespace": "multiple namespaces",
}


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_seconds(timestamp):
    if not timestamp:
        return 0.0
    then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - then).total_seconds()


def component_label(package, namespace):
    """`operators.coreos.com/<package>.<namespace>`, truncated to 63 characters as OLM does."""
    return "operators.coreos.com/" + "{0}.{1}".format(package, namespace)[:63].rstrip(".-_")


def set_condition(conditions, ctype, status, reason="", message=""):
    """Subscription/InstallPlan style typed condition; keeps lastTransitionTime while the status does not change."""
    out = [c for c in conditions or [] if c.get("type") != ctype]
    old = next((c for c in conditions or [] if c.get("type") == ctype), None)
    cond = {"type": ctype, "status": status, "reason": reason, "message": message}
    cond["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == status else now()
    out.append(cond)
    return out


def drop_condition(conditions, ctype):
    return [c for c in conditions or [] if c.get("type") != ctype]


def same_conditions(a, b):
    strip = lambda cs: sorted(  # noqa: E731
        (c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in cs or []
    )
    return strip(a) == strip(b)


def install_mode(operator_group, namespace):
    spec = operator_group.get("spec") or {}
    targets = [t for t in spec.get("targetNamespaces") or [] if t]
    if not targets:
        return "MultiNamespace" if spec.get("selector") else "AllNamespaces"
    if targets == [namespace]:
        return "OwnNamespace"
    return "SingleNamespace" if len(targets) == 1 else "MultiNamespace"


def operator_group_problem(groups, namespace, supported):
    """(reason, message) of why a CSV cannot install under the namespace's OperatorGroups, or None."""
    if not groups:
        return "NoOperatorGroup", "csv in namespace with no operatorgroups"
    if len(groups) > 1:
        return (
            "TooManyOperatorGroups",
            "csv created in namespace with multiple operatorgroups, can't pick one automatically",
        )
    mode = install_mode(groups[0], namespace)
    if not supported.get(mode):
        return (
            "UnsupportedOperatorGroup",
            "{0} InstallModeType not supported, cannot configure to watch {1}".format(mode, WATCH_SCOPE[mode]),
        )
    return None


def load_crd(name):
    path = Path(catalog_mod.OPERAND_CRDS) / "{0}.yaml".format(name)
    return yaml.safe_load(path.read_text())


class OLM(Controller):
    name = "olm"
    resync = 1.0
    watches = (
        (OLM_V1ALPHA1, "Subscription"),
        (OLM_V1ALPHA1, "InstallPlan"),
        (OLM_V1ALPHA1, "ClusterServiceVersion"),
        (OLM_V1, "OperatorGroup"),
        ("apps/v1", "Deployment"),
    )

    def __init__(self, api_client, knobs):
        super().__init__(api_client, knobs)
        self.catalog = catalog_mod.load()
        self._crd_info = {}
        self._catalog_states = {}
        self._operators = set()

    # ---------------------------------------------------------------------------------------------------- loop
    def reconcile(self):
        self._catalog_states = {
            (c["metadata"]["namespace"], c["metadata"]["name"]): (
                ((c.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
            )
            for c in self.list(OLM_V1ALPHA1, "CatalogSource")
        }
        self._operators = {o["metadata"]["name"] for o in self.list(OLM_V1, "Operator")}
        groups = self.list(OLM_V1, "OperatorGroup")
        for sub in self.list(OLM_V1ALPHA1, "Subscription"):
            self.sync_subscription(sub)
        for plan in self.list(OLM_V1ALPHA1, "InstallPlan"):
            self.sync_plan(plan, groups)
        csvs = self.list(OLM_V1ALPHA1, "ClusterServiceVersion")
        for csv in csvs:
            self.sync_csv(csv, groups, csvs)
        # poll fast only while an install is under way (its latency is time-driven); watches cover the rest
        busy = any((c.get("status") or {}).get("phase") not in ("Succeeded", "Failed") for c in csvs)
        self.resync = 1.0 if busy else IDLE_RESYNC

    def latency(self, package):
        return self.knobs.float("latency." + package, self.knobs.float("install_latency_seconds", DEFAULT_LATENCY))

    # ------------------------------------------------------------------------------------------- subscription
    def catalog_healthy(self, source, source_namespace):
        if self.knobs.flag("catalog_unhealthy." + source):
            return False
        return self._catalog_states.get((source_namespace, source)) == "READY"

    def resolve(self, sub):
        """(package, channel, entries, error message) for the Subscription's spec."""
        spec, name = sub["spec"], sub["metadata"]["name"]
        pkg = self.catalog.package(spec["name"], spec["source"])
        if pkg is None:
            return (
                None,
                None,
                None,
                (
                    "constraints not satisfiable: no operators found in package {0} in the catalog referenced by "
                    "subscription {1}, subscription {1} exists".format(spec["name"], name)
                ),
            )
        channel = spec.get("channel") or pkg["defaultChannel"]
        entries = self.catalog.channel(pkg, channel)
        if entries is None:
            return (
                pkg,
                channel,
                None,
                (
                    "constraints not satisfiable: no operators found in channel {0} of package {1} in the catalog "
                    "referenced by subscription {2}, subscription {2} exists".format(channel, spec["name"], name)
                ),
            )
        starting = spec.get("startingCSV")
        if starting and starting not in entries and not (sub.get("status") or {}).get("currentCSV"):
            return (
                pkg,
                channel,
                entries,
                (
                    "constraints not satisfiable: no operators found with name {0} in channel {1} of package {2} "
                    "in the catalog referenced by subscription {3}, subscription {3} exists".format(
                        starting, channel, spec["name"], name
                    )
                ),
            )
        return pkg, channel, entries, None

    def namespace_approval(self, namespace):
        subs = self.list(OLM_V1ALPHA1, "Subscription", namespace=namespace)
        manual = any((s["spec"].get("installPlanApproval") or "Automatic") == "Manual" for s in subs)
        return "Manual" if manual else "Automatic"

    def sync_subscription(self, sub):
        meta, spec = sub["metadata"], sub["spec"]
        ns = meta["namespace"]
        old = sub.get("status") or {}
        status = dict(old)
        conditions = list(old.get("conditions") or [])
        source_ns = spec.get("sourceNamespace") or catalog_mod.MARKETPLACE
        healthy = self.catalog_healthy(spec["source"], source_ns)
        status["catalogHealth"] = [
            {
                "catalogSourceRef": {
                    "apiVersion": OLM_V1ALPHA1,
                    "kind": "CatalogSource",
                    "name": spec["source"],
                    "namespace": source_ns,
                },
                "healthy": healthy,
                "lastUpdated": (old.get("catalogHealth") or [{}])[0].get("lastUpdated") or now(),
            }
        ]
        if not healthy:
            conditions = set_condition(
                conditions,
                "CatalogSourcesUnhealthy",
                "True",
                "UnhealthyCatalogSourceFound",
                "targeted catalogsource {0}/{1} unhealthy".format(source_ns, spec["source"]),
            )
            return self.write_subscription(sub, status, conditions)
        conditions = set_condition(
            conditions,
            "CatalogSourcesUnhealthy",
            "False",
            "AllCatalogSourcesHealthy",
            "all available catalogsources are healthy",
        )
        pkg, channel, entries, error = self.resolve(sub)
        if error:
            conditions = set_condition(conditions, "ResolutionFailed", "True", "ConstraintsNotSatisfiable", error)
            return self.write_subscription(sub, status, conditions)
        conditions = drop_condition(conditions, "ResolutionFailed")
        self.ensure_operator(pkg["name"], ns)
        self.ensure_label(sub, component_label(pkg["name"], ns))

        current = old.get("currentCSV")
        target = None
        if not current:
            target = spec.get("startingCSV") or entries[-1]
        else:
            csv = self.get(OLM_V1ALPHA1, "ClusterServiceVersion", current, ns)
            plan = self.referenced_plan(old)
            if csv is not None:
                status["installedCSV"] = current
                if (csv.get("status") or {}).get("phase") == "Succeeded":
                    target = self.catalog.successor(pkg, channel, current)
            elif plan is None or (plan.get("status") or {}).get("phase") == "Complete":
                # the CSV was deleted under a live Subscription: OLM installs it again
                target = current
        if target:
            plan = self.create_plan(sub, pkg, channel, target)
            status["currentCSV"] = target
            status["installPlanRef"] = {
                "apiVersion": OLM_V1ALPHA1,
                "kind": "InstallPlan",
                "name": plan["metadata"]["name"],
                "namespace": ns,
                "uid": plan["metadata"]["uid"],
                "resourceVersion": plan["metadata"]["resourceVersion"],
            }
            status["installplan"] = {
                "apiVersion": OLM_V1ALPHA1,
                "kind": "InstallPlan",
                "name": plan["metadata"]["name"],
                "uuid": plan["metadata"]["uid"],
            }
            status["installPlanGeneration"] = plan["spec"]["generation"]
        current = status.get("currentCSV")
        status["state"] = "AtLatestKnown" if current and status.get("installedCSV") == current else "UpgradePending"
        plan = self.referenced_plan(status)
        phase = ((plan or {}).get("status") or {}).get("phase")
        if phase in ("RequiresApproval", "Installing"):
            conditions = set_condition(conditions, "InstallPlanPending", "True", phase, "")
        else:
            conditions = drop_condition(conditions, "InstallPlanPending")
        if phase == "Failed":
            failed = next((c for c in plan["status"].get("conditions") or [] if c.get("status") == "False"), {})
            conditions = set_condition(
                conditions,
                "InstallPlanFailed",
                "True",
                failed.get("reason", "InstallComponentFailed"),
                failed.get("message", ""),
            )
        else:
            conditions = drop_condition(conditions, "InstallPlanFailed")
        return self.write_subscription(sub, status, conditions)

    def write_subscription(self, sub, status, conditions):
        old = sub.get("status") or {}
        status["conditions"] = conditions
        keys = ("state", "currentCSV", "installedCSV", "installPlanRef", "installPlanGeneration")
        changed = any(old.get(k) != status.get(k) for k in keys) or not same_conditions(
            old.get("conditions"), conditions
        )
        changed = changed or [h.get("healthy") for h in old.get("catalogHealth") or []] != [
            h["healthy"] for h in status["catalogHealth"]
        ]
        if changed or not old.get("lastUpdated"):
            status["lastUpdated"] = now()
            self.patch_status(sub, status)

    def referenced_plan(self, status):
        ref = status.get("installPlanRef")
        if not ref:
            return None
        return self.get(OLM_V1ALPHA1, "InstallPlan", ref["name"], ref["namespace"])

    def ensure_label(self, obj, label):
        if label in (obj["metadata"].get("labels") or {}):
            return
        res = self.resource(obj["apiVersion"], obj["kind"])
        res.patch(
            body={"metadata": {"labels": {label: ""}}},
            name=obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace"),
            content_type="application/merge-patch+json",
        )

    def ensure_operator(self, package, namespace):
        name = "{0}.{1}".format(package, namespace)
        if name in self._operators:
            return
        operator = {"apiVersion": OLM_V1, "kind": "Operator", "metadata": {"name": name}, "spec": {}}
        try:
            created = self.resource(OLM_V1, "Operator").create(body=operator).to_dict()
        except ConflictError:
            return
        label = component_label(package, namespace)
        self.patch_status(
            created,
            {
                "components": {
                    "labelSelector": {"matchExpressions": [{"key": label, "operator": "Exists"}]},
                }
            },
        )

    # --------------------------------------------------------------------------------------------- installplan
    def create_plan(self, sub, pkg, channel, csv_name):
        ns = sub["metadata"]["namespace"]
        plans = self.list(OLM_V1ALPHA1, "InstallPlan", namespace=ns)
        generation = max([p["spec"].get("generation") or 0 for p in plans] + [0]) + 1
        approval = self.namespace_approval(ns)
        body = {
            "apiVersion": OLM_V1ALPHA1,
            "kind": "InstallPlan",
            "metadata": {
                "name": "install-" + "".join(random.choice(NAME_CHARS) for _ in range(5)),
                "namespace": ns,
                "labels": {component_label(pkg["name"], ns): ""},
                "annotations": {PACKAGE_ANNOTATION: pkg["name"], CHANNEL_ANNOTATION: channel},
                "ownerReferences": [
                    {
                        "apiVersion": OLM_V1ALPHA1,
                        "kind": "Subscription",
                        "name": sub["metadata"]["name"],
                        "uid": sub["metadata"]["uid"],
                        "controller": False,
                        "blockOwnerDeletion": False,
                    }
                ],
            },
            "spec": {
                "approval": approval,
                "approved": approval == "Automatic",
                "clusterServiceVersionNames": [csv_name],
                "generation": generation,
            },
        }
        plan = self.resource(OLM_V1ALPHA1, "InstallPlan").create(body=body, namespace=ns).to_dict()
        status = {
            "phase": "Installing" if approval == "Automatic" else "RequiresApproval",
            "catalogSources": [sub["spec"]["source"]],
            "startTime": now(),
            "plan": [
                {
                    "resolving": csv_name,
                    "status": "Unknown",
                    "resource": {
                        "group": "operators.coreos.com",
                        "version": "v1alpha1",
                        "kind": "ClusterServiceVersion",
                        "name": csv_name,
                        "sourceName": sub["spec"]["source"],
                        "sourceNamespace": sub["spec"].get("sourceNamespace") or catalog_mod.MARKETPLACE,
                    },
                }
            ],
        }
        self.log.info(
            "%s/%s: InstallPlan %s for %s (%s)",
            ns,
            sub["metadata"]["name"],
            body["metadata"]["name"],
            csv_name,
            approval,
        )
        return self.patch_status(plan, status)

    def sync_plan(self, plan, groups):
        status = plan.get("status") or {}
        phase = status.get("phase")
        if phase in ("Complete", "Failed"):
            return
        if phase == "RequiresApproval":
            if plan["spec"].get("approved"):
                self.patch_status(plan, {"phase": "Installing"})
            return
        if phase != "Installing":
            return
        ns = plan["metadata"]["namespace"]
        annotations = plan["metadata"].get("annotations") or {}
        if not any(g["metadata"]["namespace"] == ns for g in groups):
            message = "invalid operator group - no operator group found that is managing this namespace"
            self.patch_status(
                plan,
                {
                    "phase": "Failed",
                    "message": message,
                    "conditions": set_condition(
                        status.get("conditions"), "Installed", "False", "InstallCheckFailed", message
                    ),
                },
            )
            return
        for csv_name in plan["spec"]["clusterServiceVersionNames"]:
            pkg = self.catalog.package(annotations.get(PACKAGE_ANNOTATION)) or self.catalog.package_of_csv(csv_name)
            channel = annotations.get(CHANNEL_ANNOTATION) or pkg["defaultChannel"]
            for crd in pkg["ownedCRDs"]:
                if not self.knobs.float("crd_delay_seconds." + crd, 0):
                    self.ensure_crd(crd, pkg["name"], ns)
            if self.get(OLM_V1ALPHA1, "ClusterServiceVersion", csv_name, ns) is None:
                self.create_csv(csv_name, pkg, channel, ns, groups)
        steps = [dict(step, status="Created") for step in status.get("plan") or []]
        self.patch_status(
            plan,
            {
                "phase": "Complete",
                "plan": steps,
                "conditions": set_condition(status.get("conditions"), "Installed", "True"),
            },
        )

    # ------------------------------------------------------------------------------------------------ CRDs
    def crd_info(self, name):
        if name not in self._crd_info:
            doc = load_crd(name)
            version = next(v["name"] for v in doc["spec"]["versions"] if v.get("storage"))
            self._crd_info[name] = (doc["spec"]["names"]["kind"], version)
        return self._crd_info[name]

    def ensure_crd(self, name, package, namespace):
        if self.get(CRD_API, "CustomResourceDefinition", name) is not None:
            return
        doc = load_crd(name)
        doc["metadata"].setdefault("labels", {})[component_label(package, namespace)] = ""
        doc["metadata"]["labels"]["olm.managed"] = "true"
        try:
            self.resource(CRD_API, "CustomResourceDefinition").create(body=doc)
            self.log.info("created CRD %s for %s", name, package)
        except ConflictError:
            pass

    # ------------------------------------------------------------------------------------------------- CSV
    def create_csv(self, csv_name, pkg, channel, ns, groups):
        own_groups = [g for g in groups if g["metadata"]["namespace"] == ns]
        group = own_groups[0] if len(own_groups) == 1 else None
        targets = ((group or {}).get("spec") or {}).get("targetNamespaces") or []
        deployment = pkg["deployment"]
        annotations = {
            "olm.operatorNamespace": ns,
            "olm.operatorGroup": group["metadata"]["name"] if group else "",
            "olm.targetNamespaces": ",".join(targets),
            "operatorframework.io/suggested-namespace": ns,
            "containerImage": self.image(pkg, csv_name),
            CHANNEL_ANNOTATION: channel,
        }
        owned = []
        for crd in pkg["ownedCRDs"]:
            kind, version = self.crd_info(crd)
            owned.append({"name": crd, "kind": kind, "version": version, "displayName": kind})
        body = {
            "apiVersion": OLM_V1ALPHA1,
            "kind": "ClusterServiceVersion",
            "metadata": {
                "name": csv_name,
                "namespace": ns,
                "labels": {component_label(pkg["name"], ns): "", "olm.managed": "true"},
                "annotations": annotations,
            },
            "spec": {
                "displayName": pkg["displayName"],
                "version": catalog_mod.csv_version(csv_name),
                "provider": {"name": pkg["provider"]},
                "maturity": "stable",
                "installModes": [
                    {"type": m, "supported": bool(pkg["installModes"].get(m))} for m in catalog_mod.INSTALL_MODES
                ],
                "customresourcedefinitions": {"owned": owned},
                "install": {
                    "strategy": "deployment",
                    "spec": {
                        "deployments": [
                            {
                                "name": deployment["name"],
                                "label": dict(deployment["labels"]),
                                "spec": self.deployment_spec(pkg, csv_name, None),
                            }
                        ]
                    },
                },
            },
        }
        replaces = self.catalog.replaces(pkg, channel, csv_name)
        if replaces:
            body["spec"]["replaces"] = replaces
        csv = self.resource(OLM_V1ALPHA1, "ClusterServiceVersion").create(body=body, namespace=ns).to_dict()
        self.log.info("%s: created CSV %s", ns, csv_name)
        return csv

    def image(self, pkg, csv_name):
        # on a cluster with real kubelets (kind) the image must exist: knob operator_image names a pullable one
        return self.knobs.get("operator_image") or "registry.redhat.io/sim/{0}:v{1}".format(
            pkg["deployment"]["name"], catalog_mod.csv_version(csv_name)
        )

    def subscription_config(self, package, ns):
        for sub in self.list(OLM_V1ALPHA1, "Subscription", namespace=ns):
            if sub["spec"].get("name") == package:
                return sub["spec"].get("config") or {}
        return {}

    def deployment_spec(self, pkg, csv_name, config):
        labels = dict(pkg["deployment"]["labels"])
        config = config or {}
        container = {
            "name": "manager",
            "image": self.image(pkg, csv_name),
            "resources": config.get("resources") or {"requests": {"cpu": "10m", "memory": "64Mi"}},
        }
        if config.get("env"):
            container["env"] = config["env"]
        pod = {
            "containers": [container],
            # these operators run on any node, control-plane nodes included
            "tolerations": [
                {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                *(config.get("tolerations") or []),
            ],
        }
        if config.get("nodeSelector"):
            pod["nodeSelector"] = config["nodeSelector"]
        return {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        }

    def ensure_deployment(self, csv, pkg):
        meta = csv["metadata"]
        ns, name = meta["namespace"], pkg["deployment"]["name"]
        existing = self.get("apps/v1", "Deployment", name, ns)
        if existing is not None and (existing["metadata"].get("labels") or {}).get("olm.owner") == meta["name"]:
            return existing
        labels = dict(pkg["deployment"]["labels"])
        labels.update(
            {
                component_label(pkg["name"], ns): "",
                "olm.owner": meta["name"],
                "olm.owner.kind": "ClusterServiceVersion",
                "olm.owner.namespace": ns,
            }
        )
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": OLM_V1ALPHA1,
                        "kind": "ClusterServiceVersion",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": False,
                        "blockOwnerDeletion": False,
                    }
                ],
            },
            "spec": self.deployment_spec(pkg, meta["name"], self.subscription_config(pkg["name"], ns)),
        }
        res = self.resource("apps/v1", "Deployment")
        if existing is not None:
            # an upgrade: the new CSV takes the Deployment over (new owner, new image), as OLM does
            return res.patch(body=body, name=name, namespace=ns, content_type="application/merge-patch+json").to_dict()
        try:
            return res.create(body=body, namespace=ns).to_dict()
        except ConflictError:
            return self.get("apps/v1", "Deployment", name, ns)

    def set_phase(self, csv, phase, reason, message):
        status = csv.get("status") or {}
        stamp = now()
        conditions = list(status.get("conditions") or [])
        conditions.append(
            {"phase": phase, "reason": reason, "message": message, "lastTransitionTime": stamp, "lastUpdateTime": stamp}
        )
        self.log.info(
            "%s/%s: %s (%s) %s", csv["metadata"]["namespace"], csv["metadata"]["name"], phase, reason, message
        )
        self.patch_status(
            csv,
            {
                "phase": phase,
                "reason": reason,
                "message": message,
                "lastTransitionTime": stamp,
                "lastUpdateTime": stamp,
                "conditions": conditions[-20:],
                "requirementStatus": status.get("requirementStatus") or [],
            },
        )

    def sync_csv(self, csv, groups, csvs):
        meta = csv["metadata"]
        ns, name = meta["namespace"], meta["name"]
        pkg = self.catalog.package_of_csv(name)
        if pkg is None or (meta.get("annotations") or {}).get("olm.operatorNamespace") != ns:
            return  # not installed by this OLM (or a copy): leave it alone
        if meta.get("deletionTimestamp") or self.replaced(csv, csvs):
            return
        status = csv.get("status") or {}
        phase = status.get("phase") or ""
        if phase == "":
            self.set_phase(csv, "Pending", "RequirementsUnknown", "requirements not yet checked")
        elif phase in ("Pending", "Failed", "InstallReady", "Installing") and self.blocked(csv, pkg, groups):
            pass
        elif phase == "Failed":
            self.set_phase(csv, "Pending", "RequirementsUnknown", "requirements not yet checked")
        elif phase == "Pending":
            self.set_phase(csv, "InstallReady", "RequirementsMet", "all requirements found, attempting install")
        elif phase == "InstallReady":
            deployment = self.ensure_deployment(csv, pkg)
            self.set_phase(
                csv,
                "Installing",
                "InstallWaiting",
                'installing: waiting for deployment {0} to become ready: deployment "{0}" not available: '
                "Deployment does not have minimum availability.".format(deployment["metadata"]["name"]),
            )
        elif phase == "Installing":
            deployment = self.ensure_deployment(csv, pkg)
            available = ((deployment or {}).get("status") or {}).get("availableReplicas") or 0
            if available >= 1 and age_seconds(status.get("lastTransitionTime")) >= self.latency(pkg["name"]):
                self.set_phase(csv, "Succeeded", "InstallSucceeded", "install strategy completed with no errors")
        elif phase == "Succeeded":
            if self.get("apps/v1", "Deployment", pkg["deployment"]["name"], ns) is None:
                self.ensure_deployment(csv, pkg)
                self.set_phase(csv, "Installing", "NeedsReinstall", "calculated deployment install is bad")
                return
            for crd in pkg["ownedCRDs"]:
                delay = self.knobs.float("crd_delay_seconds." + crd, 0)
                if delay and age_seconds(status.get("lastTransitionTime")) >= delay:
                    self.ensure_crd(crd, pkg["name"], ns)

    def replaced(self, csv, csvs):
        """Walk the upgrade: Replacing while the CSV that replaces this one installs, deleted once it Succeeded."""
        ns, name = csv["metadata"]["namespace"], csv["metadata"]["name"]
        phase = (csv.get("status") or {}).get("phase")
        successor = next(
            (c for c in csvs if c["metadata"]["namespace"] == ns and (c.get("spec") or {}).get("replaces") == name),
            None,
        )
        if successor is None or phase not in ("Succeeded", "Replacing"):
            return False
        if (successor.get("status") or {}).get("phase") == "Succeeded":
            self.log.info("%s: deleting replaced CSV %s", ns, name)
            self.delete(OLM_V1ALPHA1, "ClusterServiceVersion", name, ns)
        elif phase != "Replacing":
            self.set_phase(csv, "Replacing", "BeingReplaced", "being replaced by csv: " + successor["metadata"]["name"])
        return True

    def blocked(self, csv, pkg, groups):
        """Fail the CSV for an OperatorGroup problem or the fault knob; True while such a problem exists."""
        ns = csv["metadata"]["namespace"]
        status = csv.get("status") or {}
        problem = operator_group_problem(
            [g for g in groups if g["metadata"]["namespace"] == ns], ns, pkg["installModes"]
        )
        fault = self.knobs.get("fail_csv." + pkg["name"])
        if problem is None and fault:
            problem = (fault, FAULT_PREFIX + " (knob fail_csv.{0}={1})".format(pkg["name"], fault))
        if problem is None:
            # a Failed CSV whose cause is gone is retried, as OLM does for OperatorGroup problems
            return status.get("phase") == "Failed" and not (
                status.get("reason") in RECOVERABLE or (status.get("message") or "").startswith(FAULT_PREFIX)
            )
        if (status.get("phase"), status.get("reason")) != ("Failed", problem[0]):
            self.set_phase(csv, "Failed", problem[0], problem[1])
        return True


CONTROLLER = OLM
