"""Service Mesh v2 detection (module_utils/service_mesh.py) and the llm-d check verify.yml records from it."""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
from ansible.utils.collection_loader import AnsibleCollectionConfig

from ansible_collections.rhoai.gpu_infra.plugins.filter.service_mesh import FilterModule
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.service_mesh import service_mesh_v2

ROOT = Path(__file__).resolve().parents[2]


def subscription(package, csv="", namespace="openshift-operators", field="installedCSV"):
    sub = {"metadata": {"name": package, "namespace": namespace}, "spec": {"name": package}}
    if csv:
        sub["status"] = {field: csv}
    return sub


def control_plane(name="basic", namespace="istio-system", version="v2.6"):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"version": version}}


def test_nothing_found_on_a_cluster_without_a_mesh():
    subs = [subscription("nfd", "nfd.4.20.0"), subscription("servicemeshoperator3", "servicemeshoperator3.v3.1.0")]
    assert service_mesh_v2(subs, []) == {"installed": False, "found": [], "message": "", "remedy": ""}
    assert service_mesh_v2(None) == {"installed": False, "found": [], "message": "", "remedy": ""}


@pytest.mark.parametrize(
    ("csv", "field", "shown"),
    [
        ("servicemeshoperator.v2.6.5", "installedCSV", "CSV servicemeshoperator.v2.6.5"),
        ("servicemeshoperator.v2.5.0", "currentCSV", "CSV servicemeshoperator.v2.5.0"),
        ("servicemeshoperator.v1.1.18", "installedCSV", "CSV servicemeshoperator.v1.1.18"),
        ("", "installedCSV", "no CSV installed yet"),
    ],
)
def test_a_servicemeshoperator_subscription_below_v3_is_service_mesh_v2(csv, field, shown):
    result = service_mesh_v2([subscription("servicemeshoperator", csv, field=field)])
    assert result["installed"] is True
    assert result["found"] == [
        "Subscription openshift-operators/servicemeshoperator of package servicemeshoperator ({0})".format(shown)
    ]
    assert result["message"].startswith("OpenShift Service Mesh v2 is installed: Subscription openshift-operators/")
    assert result["message"].endswith(result["remedy"])
    assert "Service Mesh 3" in result["remedy"]


def test_a_v3_csv_under_the_old_package_name_is_not_v2():
    assert service_mesh_v2([subscription("servicemeshoperator", "servicemeshoperator.v3.0.0")])["installed"] is False


def test_a_control_plane_alone_is_service_mesh_v2():
    result = service_mesh_v2([], [control_plane(), control_plane("data", "mesh", version=None)])
    assert result["found"] == [
        "ServiceMeshControlPlane istio-system/basic (v2.6)",
        "ServiceMeshControlPlane mesh/data (version not set)",
    ]


def test_the_filter_is_the_function():
    assert FilterModule().filters()["service_mesh_v2"] is service_mesh_v2


@pytest.fixture(scope="module")
def verify_task():
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader([str(ROOT / ".collections")])
    play = yaml.safe_load((ROOT / "playbooks" / "verify.yml").read_text())[0]
    block = next(t for t in play["tasks"] if t["name"].startswith("Check that OpenShift Service Mesh v2"))
    assert block["when"] == "__gpu_infra_enabled | intersect(__gpu_infra_llm_d_components) | length > 0"
    return next(t for t in block["block"] if t["name"] == "Record the Service Mesh v2 check")


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    return value


def record(task, subscriptions, control_planes):
    variables = {
        "__gpu_infra_checks": [{"component": "earlier", "check": "kept", "status": "passed"}],
        "__gpu_infra_verify_subscriptions": {"resources": subscriptions},
        "__gpu_infra_verify_control_planes": {"resources": control_planes},
    }
    variables.update(trusted(task["vars"]))
    expression = trust_as_template(task["ansible.builtin.set_fact"]["__gpu_infra_checks"])
    checks = Templar(loader=DataLoader(), variables=variables).template(expression)
    assert checks[0]["component"] == "earlier"
    (check,) = checks[1:]
    assert set(check) == {"component", "check", "status", "evidence", "remedy"}
    return check


def test_verify_passes_the_llm_d_check_without_service_mesh_v2(verify_task):
    check = record(verify_task, [subscription("nfd", "nfd.4.20.0")], [])
    assert (check["component"], check["check"], check["status"]) == (
        "llm_d",
        "OpenShift Service Mesh v2 not installed",
        "passed",
    )
    assert check["evidence"] == "no servicemeshoperator Subscription below v3 and no ServiceMeshControlPlane"
    assert check["remedy"] == ""


def test_verify_fails_the_llm_d_check_with_service_mesh_v2(verify_task):
    check = record(verify_task, [subscription("servicemeshoperator", "servicemeshoperator.v2.6.5")], [control_plane()])
    assert check["status"] == "failed"
    assert check["evidence"] == (
        "Subscription openshift-operators/servicemeshoperator of package servicemeshoperator "
        "(CSV servicemeshoperator.v2.6.5); ServiceMeshControlPlane istio-system/basic (v2.6)"
    )
    assert "Service Mesh 3" in check["remedy"]
