"""The operand CRDs of the test bed and the roles' operand templates checked against them.

(a) every upstream source in upstream_crds.SOURCES loads from the pinned Go module and is the CRD it names;
(b) each role's operand template, rendered with the role's defaults as Ansible renders it, holds no field the CRD's
    openAPIV3Schema does not know and no value outside an enum, the two things a cluster rejects (strict field
    validation) or silently drops (pruning).
"""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import yaml

from tests.ocp_sim.openshift import upstream_crds
from tests.unit import role_vars

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
NO_GO = shutil.which("go") is None
needs_go = pytest.mark.skipif(NO_GO, reason="go is not on PATH: upstream CRDs are read from the Go module cache")

# role, the variable of the operand configure applies, CRD of that object
OPERANDS = {
    "clusterpolicy": ("gpu_operator", "__gpu_operator_cluster_policy", "clusterpolicies.nvidia.com"),
    "nodefeaturediscovery": ("nfd", "__nfd_operands[0]", "nodefeaturediscoveries.nfd.openshift.io"),
    "kueue": ("kueue", "__kueue_operands[0]", "kueues.kueue.openshift.io"),
    "knativeserving": ("serverless", "__serverless_operands[0]", "knativeservings.operator.knative.dev"),
    "leaderworkersetoperator": ("lws", "__lws_operands[0]", "leaderworkersetoperators.operator.openshift.io"),
}
TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def render(role, variable):
    """The operand rendered with the role's defaults and vars, as plain types."""
    return role_vars.plain(role, variable)


# --- the schema walk ----------------------------------------------------------------------------------------------
def version_schema(crd, api_version):
    version = api_version.split("/")[-1]
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            assert entry.get("served"), "{0} {1} is not served".format(crd["metadata"]["name"], version)
            return entry["schema"]["openAPIV3Schema"]
    raise AssertionError("{0} has no version {1}".format(crd["metadata"]["name"], version))


def walk(value, schema, path="", problems=None, deprecated=None):
    """Problems (unknown fields, values outside an enum, wrong types) of `value` under a structural schema, and the
    paths whose schema description says they are deprecated."""
    problems = [] if problems is None else problems
    deprecated = [] if deprecated is None else deprecated
    if "deprecated" in (schema.get("description") or "").lower():
        deprecated.append(path)
    if value is None:
        if not schema.get("nullable"):
            problems.append("{0}: null where the schema does not allow it".format(path))
        return problems, deprecated
    if "enum" in schema and value not in schema["enum"]:
        problems.append("{0}: {1!r} is not one of {2}".format(path, value, schema["enum"]))
    kind = schema.get("type")
    if kind and not schema.get("x-kubernetes-int-or-string"):
        wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
        if not isinstance(value, TYPES[kind]) or wrong_bool:
            problems.append("{0}: {1!r} is not of type {2}".format(path, value, kind))
            return problems, deprecated
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            where = "{0}.{1}".format(path, key) if path else key
            if key in properties:
                walk(item, properties[key], where, problems, deprecated)
            elif isinstance(additional, dict):
                walk(item, additional, where, problems, deprecated)
            elif additional is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            else:
                problems.append('{0}: unknown field "{1}"'.format(path or "<root>", key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            walk(item, schema["items"], "{0}[{1}]".format(path, index), problems, deprecated)
    return problems, deprecated


def check_object(obj, crd):
    schema = version_schema(crd, obj["apiVersion"])
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    return walk(body, schema)


# --- (a) the upstream sources -------------------------------------------------------------------------------------
@needs_go
@pytest.mark.parametrize("name", sorted(upstream_crds.SOURCES))
def test_upstream_source_is_the_crd_it_names(name):
    crd = upstream_crds.load(name)
    assert (crd["apiVersion"], crd["kind"]) == upstream_crds.CRD_KIND
    assert crd["metadata"]["name"] == name
    assert "{0}.{1}".format(crd["spec"]["names"]["plural"], crd["spec"]["group"]) == name
    assert any(v.get("storage") for v in crd["spec"]["versions"])
    assert all(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"])
    json.dumps(crd)  # what the API client sends: no YAML-only types (dates) left
    assert upstream_crds.load(name) is not crd  # callers may change their copy


@pytest.mark.parametrize("name", sorted(upstream_crds.SOURCES))
def test_no_hand_written_copy_of_an_upstream_crd(name):
    assert upstream_crds.local_path(name) is None, "remove the hand-written file; SOURCES serves {0}".format(name)


def test_unlisted_crd_is_none_upstream_and_hand_written_locally():
    assert upstream_crds.load("kueues.kueue.openshift.io") is None
    crd = upstream_crds.load_or_local("kueues.kueue.openshift.io")
    assert crd["metadata"]["name"] == "kueues.kueue.openshift.io"
    with pytest.raises(FileNotFoundError):
        upstream_crds.load_or_local("nothings.example.com")


@needs_go
def test_helm_templated_cert_manager_crds_lose_only_their_template_labels():
    crd = upstream_crds.load("certificates.cert-manager.io")
    assert "{{" not in json.dumps(crd)
    assert "labels" not in crd["metadata"] or all("{{" not in v for v in crd["metadata"]["labels"].values())
    assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["secretName"]


@needs_go
def test_openshift_crds_are_the_platform_apis():
    names = [crd["metadata"]["name"] for crd in upstream_crds.openshift_crds()]
    assert names == list(upstream_crds.PLATFORM_CRDS)
    assert not [n for n in names if n.split(".", 1)[1] == "operators.coreos.com"]  # OLM brings its own


def test_kueue_group_has_what_users_create_first():
    names = upstream_crds.group_crds("kueue.x-k8s.io")
    assert {"clusterqueues.kueue.x-k8s.io", "localqueues.kueue.x-k8s.io", "resourceflavors.kueue.x-k8s.io"} <= set(
        names
    )


def test_kueue_remove_crds_takes_every_crd_the_operator_installs():
    # gpu_infra_remove_crds promises to delete the operator's CRDs; one missing here stays with all its objects.
    defaults = yaml.safe_load((ROLES / "kueue" / "defaults" / "main.yml").read_text())
    wanted = [*upstream_crds.group_crds("kueue.x-k8s.io"), "kueues.kueue.openshift.io"]
    assert sorted(set(wanted) - set(defaults["kueue_crds"])) == []


@needs_go
def test_kueue_crds_serve_v1beta1_for_localqueues():
    crd = upstream_crds.load("localqueues.kueue.x-k8s.io")
    queue = {"apiVersion": "kueue.x-k8s.io/v1beta1", "spec": {"clusterQueue": "cluster-queue"}}
    assert check_object(queue, crd) == ([], [])


# --- (b) the roles' operand templates -----------------------------------------------------------------------------
def test_walk_finds_unknown_fields_enums_and_types():
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "mode": {"type": "string", "enum": ["a", "b"]},
                    "count": {"type": "integer"},
                    "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "old": {"type": "string", "description": "Deprecated: use mode."},
                },
            }
        },
    }
    value = {
        "spec": {"mode": "c", "count": True, "open": {"x": 1}, "labels": {"k": 1}, "old": "", "extra": 1},
    }
    problems, deprecated = walk(value, schema)
    assert problems == [
        "spec.mode: 'c' is not one of ['a', 'b']",
        "spec.count: True is not of type integer",
        "spec.labels.k: 1 is not of type string",
        'spec: unknown field "extra"',
    ]
    assert deprecated == ["spec.old"]


@pytest.mark.parametrize("operand", sorted(OPERANDS))
def test_operand_fits_the_crd_schema(operand):
    role, file, crd_name = OPERANDS[operand]
    if crd_name in upstream_crds.SOURCES and NO_GO:
        pytest.skip("go is not on PATH: {0} is read from the Go module cache".format(crd_name))
    crd = upstream_crds.load_or_local(crd_name)
    obj = render(role, file)
    assert obj["apiVersion"].split("/")[0] == crd["spec"]["group"]
    assert obj["kind"] == crd["spec"]["names"]["kind"]
    problems, deprecated = check_object(obj, crd)
    assert problems == []
    for path in deprecated:
        warnings.warn("{0} sets {1}, deprecated in the {2} schema".format(file, path, crd_name), stacklevel=1)
