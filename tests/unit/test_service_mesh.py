"""Service Mesh v2 detection (module_utils/service_mesh.py) and the llm-d check verify makes from it
(module_utils/checks.py)."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.rhoai.gpu_infra.plugins.filter.service_mesh import FilterModule
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.checks import service_mesh_check
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


def verify_task():
    play = yaml.safe_load((ROOT / "playbooks" / "verify.yml").read_text())[0]
    return next(t for t in play["tasks"] if "rhoai.gpu_infra.component_checks" in t)


def test_verify_looks_for_service_mesh_v2_when_an_llm_d_component_is_enabled():
    options = verify_task()["rhoai.gpu_infra.component_checks"]
    assert (
        options["service_mesh_v2"] == "{{ __gpu_infra_enabled | intersect(__gpu_infra_llm_d_components) | length > 0 }}"
    )


def test_verify_passes_the_llm_d_check_without_service_mesh_v2():
    check = service_mesh_check([subscription("nfd", "nfd.4.20.0")], [])
    assert (check["component"], check["check"], check["status"]) == (
        "llm_d",
        "OpenShift Service Mesh v2 not installed",
        "passed",
    )
    assert check["evidence"] == "no servicemeshoperator Subscription below v3 and no ServiceMeshControlPlane"
    assert check["remedy"] == ""


def test_verify_fails_the_llm_d_check_with_service_mesh_v2():
    check = service_mesh_check([subscription("servicemeshoperator", "servicemeshoperator.v2.6.5")], [control_plane()])
    assert check["status"] == "failed"
    assert check["evidence"] == (
        "Subscription openshift-operators/servicemeshoperator of package servicemeshoperator "
        "(CSV servicemeshoperator.v2.6.5); ServiceMeshControlPlane istio-system/basic (v2.6)"
    )
    assert "Service Mesh 3" in check["remedy"]
