"""The platform roles (cert_manager, serverless, lws, authorino, limitador, dns, kueue): values, specs, input checks.

No cluster: the role files are read as data and the input-check expressions are rendered with Ansible's templar.
"""

from pathlib import Path

import pytest
import yaml
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

from ansible_collections.rhoai.gpu_infra.plugins.filter.kueue import kueue_frameworks
from tests.unit import role_vars

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
ENTRY_POINTS = {"main", "preflight", "subscribe", "configure", "remove", "verify"}
# Task files other entry points import; every other file under tasks/ is an entry point and needs a spec.
HELPERS = {"validate", "spec"}
# Collection-wide variables each role's spec documents (and so checks) beside its own defaults.
CHECKED = {"gpu_infra_adopt", "gpu_infra_catalog_preflight", "gpu_infra_remove_crds"}
COLLECTION_OPTIONS = {
    "authorino": {"gpu_infra_connectivity_link", *CHECKED},
    "limitador": {"gpu_infra_connectivity_link", *CHECKED},
    "dns": {"gpu_infra_connectivity_link", *CHECKED},
    "cert_manager": CHECKED,
    "serverless": CHECKED,
    "lws": CHECKED,
    "kueue": CHECKED,
}
OURS = {"app.kubernetes.io/managed-by": "rhoai.gpu_infra"}

# operators.md §1: package, channel, install namespace, install mode.
EXPECTED = {
    "cert_manager": ("openshift-cert-manager-operator", "stable-v1", "cert-manager-operator", "AllNamespaces"),
    "serverless": ("serverless-operator", "stable-1.37", "openshift-serverless", "AllNamespaces"),
    "lws": ("leader-worker-set", "stable-v1.0", "openshift-lws-operator", "OwnNamespace"),
    "authorino": ("authorino-operator", "stable", "openshift-authorino", "AllNamespaces"),
    "limitador": ("limitador-operator", "stable", "openshift-limitador-operator", "AllNamespaces"),
    "dns": ("dns-operator", "stable", "kuadrant-dns-operator", "AllNamespaces"),
    "kueue": ("kueue-operator", "stable-v1.2", "openshift-kueue-operator", "AllNamespaces"),
}
KUEUE_CRD = ROOT / "tests/ocp_sim/openshift/crds/operands/kueues.kueue.openshift.io.yaml"


def load(role, path):
    return yaml.safe_load((ROLES / role / path).read_text())


def render(role, expression, **overrides):
    """Render `expression` with the role's defaults and vars, as Ansible would inside the role."""
    return role_vars.render(expression, role_vars.role_vars(role, **overrides))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_defaults_match_the_operator_reference(role):
    package, channel, namespace, mode = EXPECTED[role]
    defaults = load(role, "defaults/main.yml")
    assert (defaults[f"{role}_package"], defaults[f"{role}_channel"], defaults[f"{role}_namespace"]) == (
        package,
        channel,
        namespace,
    )
    assert defaults[f"{role}_source"] == "redhat-operators"
    assert defaults[f"{role}_approval"] == "Automatic"
    assert load(role, "vars/main.yml")[f"__{role}_olm_operator"]["install_mode"] == mode


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_entry_point_has_a_spec_covering_every_default(role):
    specs = load(role, "meta/argument_specs.yml")["argument_specs"]
    entry_points = {p.stem for p in (ROLES / role / "tasks").glob("*.yml")} - HELPERS
    assert entry_points >= ENTRY_POINTS
    assert set(specs) == entry_points
    defaults = set(load(role, "defaults/main.yml"))
    for name, spec in specs.items():
        options = spec["options"]
        assert set(options) - COLLECTION_OPTIONS.get(role, set()) == defaults, name
        assert COLLECTION_OPTIONS.get(role, set()) <= set(options), name
        for option, desc in options.items():
            assert desc.get("description") and desc.get("type"), option


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_public_variables_carry_the_role_prefix(role):
    assert all(name.startswith(role + "_") for name in load(role, "defaults/main.yml"))
    assert all(name.startswith("__" + role + "_") for name in load(role, "vars/main.yml"))


def test_dns_namespace_is_not_the_cluster_dns_operators():
    forbidden = load("dns", "vars/main.yml")["__dns_forbidden_namespaces"]
    assert "openshift-dns-operator" in forbidden
    assert load("dns", "defaults/main.yml")["dns_namespace"] not in forbidden


@pytest.fixture(scope="session")
def collection_filters():
    """The role's vars call this collection's filters, which the templar finds only through the plugin loader."""
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader([str(ROOT / ".collections")])


def test_kueue_frameworks_have_one_source_the_crd_of_the_test_bed_agrees_with():
    crd = yaml.safe_load(KUEUE_CRD.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    frameworks = schema["properties"]["spec"]["properties"]["config"]["properties"]["integrations"]["properties"]
    enum = frameworks["frameworks"]["items"]["enum"]
    assert sorted(kueue_frameworks("stable-v1.2")["frameworks"]) == sorted(enum)
    options = load("kueue", "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    # The table in module_utils/kueue.py is the one list of names; a second one in the spec would drift.
    assert "choices" not in options["kueue_frameworks"]
    assert "__kueue_frameworks_enum" not in load("kueue", "vars/main.yml")


@pytest.mark.usefixtures("collection_filters")
@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("stable-v1.1", ["Deployment", "Pod", "PyTorchJob", "RayCluster", "RayJob", "StatefulSet"]),
        ("stable-v1.2", ["Deployment", "Pod", "PyTorchJob", "RayCluster", "RayJob", "StatefulSet", "TrainJob"]),
    ],
)
def test_kueue_default_frameworks_are_red_hats_list_for_the_channel(channel, expected):
    assert load("kueue", "defaults/main.yml")["kueue_channel"] == "stable-v1.2"
    assert render("kueue", "{{ kueue_frameworks }}", kueue_channel=channel) == expected
    assert render("kueue", "{{ __kueue_frameworks_check }}", kueue_channel=channel) == {"errors": [], "warnings": []}


@pytest.mark.usefixtures("collection_filters")
@pytest.mark.parametrize(
    ("channel", "frameworks", "errors", "warnings"),
    [
        ("stable-v1.2", ["Pod", "TrainJob"], 0, 0),
        ("stable-v1.3", ["TrainJob", "LeaderWorkerSet"], 0, 0),
        ("stable-v1.1", ["Pod", "TrainJob"], 1, 0),
        ("stable-v1.2", ["BatchJob", "Foo"], 1, 0),
        ("stable-v1.2", ["Pod", "LeaderWorkerSet"], 0, 1),
        ("stable-v1.10", ["Pod"], 1, 0),
    ],
)
def test_kueue_role_checks_the_frameworks_against_the_channel(channel, frameworks, errors, warnings):
    result = render("kueue", "{{ __kueue_frameworks_check }}", kueue_channel=channel, kueue_frameworks=frameworks)
    assert (len(result["errors"]), len(result["warnings"])) == (errors, warnings)


@pytest.mark.usefixtures("collection_filters")
def test_kueue_role_accepts_an_unknown_channel_only_when_asked():
    result = render(
        "kueue", "{{ __kueue_frameworks_check }}", kueue_channel="stable-v1.9", kueue_allow_unknown_channel="true"
    )
    assert result["errors"] == []
    assert len(result["warnings"]) == 1


def test_kueue_validate_fails_with_the_errors_and_warns_with_the_warnings():
    check, warn = yaml.safe_load((ROLES / "kueue/tasks/validate.yml").read_text())
    assert check["ansible.builtin.assert"]["that"] == "__kueue_frameworks_check.errors | length == 0"
    assert warn["loop"] == "{{ __kueue_frameworks_check.warnings }}"
    # first in preflight, before any cluster read; in configure after reading which operator is installed
    preflight = yaml.safe_load((ROLES / "kueue/tasks/preflight.yml").read_text())
    assert preflight[0]["ansible.builtin.import_tasks"] == "validate.yml"
    read, validate = yaml.safe_load((ROLES / "kueue/tasks/configure.yml").read_text())[:2]
    assert read["register"] == "__kueue_subscription" and read["kubernetes.core.k8s_info"]["kind"] == "Subscription"
    assert validate["ansible.builtin.import_tasks"] == "validate.yml"


def operand(role, **overrides):
    """``__<role>_operands[0]``, what configure applies, as rendered in the role."""
    return render(role, "{{ __%s_operands[0] }}" % role, **overrides)


def test_kueue_operand_puts_frameworks_under_spec_config():
    rendered = operand("kueue", kueue_frameworks=["Pod", "JobSet"])
    assert rendered["metadata"] == {"name": "cluster", "labels": dict(OURS, **{"rhoai.gpu-infra/component": "kueue"})}
    frameworks = {"integrations": {"frameworks": ["Pod", "JobSet"]}}
    assert rendered["spec"] == {"managementState": "Managed", "config": frameworks}


def test_lws_operand_is_the_cluster_singleton():
    rendered = operand("lws")
    assert (rendered["apiVersion"], rendered["kind"], rendered["metadata"]["name"]) == (
        "operator.openshift.io/v1",
        "LeaderWorkerSetOperator",
        "cluster",
    )
    assert rendered["metadata"]["labels"] == dict(OURS, **{"rhoai.gpu-infra/component": "lws"})
    assert rendered["spec"] == {"managementState": "Managed", "logLevel": "Normal", "operatorLogLevel": "Normal"}


def test_knativeserving_operand():
    rendered = operand("serverless")
    assert rendered["apiVersion"] == "operator.knative.dev/v1beta1"
    assert rendered["metadata"] == {
        "name": "knative-serving",
        "namespace": "knative-serving",
        "labels": dict(OURS, **{"rhoai.gpu-infra/component": "serverless"}),
    }
    assert rendered["spec"] == {}
