"""The nfd role's NodeFeatureDiscovery, rendered as Ansible renders it."""

from pathlib import Path

import yaml

from tests.unit import role_vars

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nfd"


def render(**overrides):
    """``__nfd_operands[0]``, what configure applies, as plain types."""
    return role_vars.plain("nfd", "__nfd_operands[0]", **overrides)


def test_default_instance_matches_the_documented_shape():
    nfd = render()
    assert nfd["apiVersion"] == "nfd.openshift.io/v1"
    assert nfd["kind"] == "NodeFeatureDiscovery"
    assert nfd["metadata"] == {
        "name": "nfd-instance",
        "namespace": "openshift-nfd",
        "labels": {"app.kubernetes.io/managed-by": "rhoai.gpu_infra", "rhoai.gpu-infra/component": "nfd"},
    }
    spec = nfd["spec"]
    assert spec["instance"] == ""
    assert spec["topologyUpdater"] is False
    assert spec["enableTaints"] is False
    assert spec["operand"] == {"servicePort": 12000, "workerTolerations": [{"operator": "Exists"}]}
    assert "image" not in spec["operand"]
    assert "customConfig" not in spec


def test_worker_config_is_a_yaml_string_that_selects_nvidia_by_vendor():
    config_data = render()["spec"]["workerConfig"]["configData"]
    assert isinstance(config_data, str)
    assert yaml.safe_load(config_data) == {
        "sources": {"pci": {"deviceClassWhitelist": ["0200", "03", "12"], "deviceLabelFields": ["vendor"]}}
    }


def test_custom_tolerations_replace_the_default():
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}]
    assert render(nfd_worker_tolerations=tolerations)["spec"]["operand"]["workerTolerations"] == tolerations


def test_olm_operator_dict_is_ownnamespace_in_openshift_nfd():
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    op = role_vars["__nfd_olm_operator"]
    assert op["install_mode"] == "OwnNamespace"
    assert op["component"] == "nfd"
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert (defaults["nfd_package"], defaults["nfd_channel"], defaults["nfd_source"], defaults["nfd_namespace"]) == (
        "nfd",
        "stable",
        "redhat-operators",
        "openshift-nfd",
    )


def test_crds_for_removal_are_the_ones_nfd_ships_on_4_20():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["nfd_crds"] == [
        "nodefeaturediscoveries.nfd.openshift.io",
        "nodefeaturerules.nfd.openshift.io",
        "nodefeatures.nfd.openshift.io",
        "nodefeatures.nfd.k8s-sigs.io",
        "nodefeaturerules.nfd.k8s-sigs.io",
        "nodefeaturegroups.nfd.k8s-sigs.io",
    ]
