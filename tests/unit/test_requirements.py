"""What a component requires, left out of the selection, installed and running (module_utils/requirements.py, the
requirements_check module), and the registry as the one source of who requires what: site's preflight, verify, a
role used alone and teardown's warning all read `requires` in playbooks/vars/components.yml."""

import json
import re

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import requirements as r
from ansible_collections.rhoai.gpu_infra.plugins.modules import requirements_check
from tests.unit.role_vars import ROLES, render, role_vars
from tests.unit.test_checks import FakeK8s, crd, obj
from tests.unit.test_registry import COMPONENTS, derived

OLM = "operators.coreos.com/v1alpha1"
ROOT = ROLES.parent


def nfd_csv(phase="Succeeded", namespace="openshift-nfd", copied=False):
    labels = {"olm.copiedFrom": namespace} if copied else {}
    return obj(
        OLM,
        "ClusterServiceVersion",
        "nfd.4.20.0-202511041128",
        namespace,
        labels=labels,
        spec={"customresourcedefinitions": {"owned": [{"name": r.NFD_CRD}]}},
        status={"phase": phase},
    )


def nfd_instance(namespace="openshift-nfd", deleting=False):
    body = obj(r.NFD_API, "NodeFeatureDiscovery", "nfd-instance", namespace)
    if deleting:
        body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return body


@pytest.mark.parametrize(
    ("crd_", "csvs", "instances", "found"),
    [
        (None, [], [], "CRD nodefeaturediscoveries.nfd.openshift.io not found: NFD is not installed"),
        (crd(r.NFD_CRD, established=False), [nfd_csv()], [nfd_instance()], "exists but is not Established"),
        (
            crd(r.NFD_CRD),
            [],
            [],
            "exists but no NFD operator runs (no CSV owns the CRD): left by a teardown that kept the CRDs",
        ),
        (crd(r.NFD_CRD), [nfd_csv(copied=True)], [nfd_instance()], "(no CSV owns the CRD)"),
        (
            crd(r.NFD_CRD),
            [nfd_csv("Installing")],
            [nfd_instance()],
            "(CSV openshift-nfd/nfd.4.20.0-202511041128 in phase",
        ),
        (
            crd(r.NFD_CRD),
            [nfd_csv()],
            [],
            "CSV openshift-nfd/nfd.4.20.0-202511041128 Succeeded but no NodeFeatureDiscovery exists, so no node gets",
        ),
        (
            crd(r.NFD_CRD),
            [nfd_csv()],
            [nfd_instance(deleting=True)],
            "but no NodeFeatureDiscovery other than one being deleted (openshift-nfd/nfd-instance)",
        ),
    ],
)
def test_nfd_is_not_running_without_its_operator_succeeded_and_a_node_feature_discovery(crd_, csvs, instances, found):
    result = r.assess_nfd(crd_, csvs, instances)
    assert result["installed"] is False and result["evidence"] == ""
    assert found in result["found"], result


def test_nfd_installed_by_someone_else_in_another_namespace_counts():
    result = r.assess_nfd(crd(r.NFD_CRD), [nfd_csv(namespace="team-nfd")], [nfd_instance("team-nfd")])
    assert result == {
        "installed": True,
        "evidence": "CSV team-nfd/nfd.4.20.0-202511041128 Succeeded, NodeFeatureDiscovery team-nfd/nfd-instance",
        "found": "",
    }


def test_collect_reads_node_feature_discoveries_only_where_the_kind_is_served():
    fake = FakeK8s([])
    (result,) = r.collect(fake, {"nfd": ["gpu_operator"]}, [])
    assert (result["requirement"], result["required_by"], result["installed"]) == ("nfd", ["gpu_operator"], False)
    assert not [call for call in fake.calls if call[1] == "NodeFeatureDiscovery"]
    with pytest.raises(ValueError, match="no check of whether serverless is installed and running"):
        r.collect(fake, {"serverless": ["kueue"]}, [])


def test_the_message_names_who_requires_what_what_was_found_and_both_ways_out():
    results = [
        {"requirement": "nfd", "required_by": ["gpu_operator"], "installed": False, "found": "F1", "evidence": ""},
        {"requirement": "cert_manager", "required_by": ["lws", "authorino"], "installed": False, "found": "F2"},
        {"requirement": "cert_manager", "required_by": ["kueue"], "installed": True, "found": "", "evidence": "E"},
    ]
    text = r.message(results, {"cert_manager": "or choose the standalone layout"})
    assert text.startswith(
        "gpu_operator requires nfd, which is neither part of this run nor installed and running. Expected NFD "
        "installed and running: CRD nodefeaturediscoveries.nfd.openshift.io Established, "
    )
    assert (
        "Found: F1. Add nfd to gpu_infra_components, or install it first (the rhoai.gpu_infra.nfd role, or an " in text
    )
    assert "and re-run: gpu_operator cannot work without it. lws and authorino require cert_manager, which" in text
    assert text.endswith(
        "lws and authorino cannot work without it; or choose the standalone layout. Nothing was changed."
    )
    assert "kueue" not in text
    assert r.message(results[2:]) == ""


def test_every_requirement_the_registry_names_has_a_check():
    named = {req for c in COMPONENTS for req in c["requires"]}
    assert named == set(r.ASSESS) == set(r.EXPECTED)


@pytest.mark.parametrize(
    ("selected", "extra", "left_out"),
    [
        (["gpu_operator"], {}, {"nfd": ["gpu_operator"]}),
        (["machinesets", "gpu_operator"], {}, {"nfd": ["gpu_operator"]}),
        (["nfd", "gpu_operator"], {}, {}),
        (
            ["kueue", "dns", "gpu_operator", "lws"],
            {},
            {"nfd": ["gpu_operator"], "cert_manager": ["lws", "dns", "kueue"]},
        ),
        (["cert_manager", "kueue", "authorino"], {}, {}),
        # the standalone Authorino, Limitador and DNS need no cert-manager; Kueue still does
        (["authorino", "kueue"], {"gpu_infra_connectivity_link": False}, {"cert_manager": ["kueue"]}),
        (None, {}, {}),
    ],
)
def test_what_the_selection_leaves_out_comes_from_the_registry(selected, extra, left_out):
    if selected is not None:
        extra = dict(extra, gpu_infra_components=selected)
    assert derived("__gpu_infra_requirements_left_out", **extra) == left_out


@pytest.mark.parametrize(
    ("component", "requires"),
    [("gpu_operator", ["nfd"]), ("kueue", ["cert_manager"]), ("nfd", []), ("connectivity_link", [])],
)
def test_a_role_used_alone_reads_what_it_requires_from_the_registry(component, requires):
    variables = role_vars("olm_operator", olm_operator={"component": component}, role_path=str(ROLES / "olm_operator"))
    assert render("{{ olm_operator_requires }}", variables) == requires
    link = role_vars("connectivity_link", connectivity_link_operator={"component": "dns"}, role_path=str(ROLES / "x"))
    assert render("{{ __connectivity_link_requires }}", link) == ["cert_manager"]


def run_module(capsys, objects, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        requirements_check.main(k8s_factory=lambda module: FakeK8s(objects))
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_the_module_fails_before_anything_changes_and_passes_on_a_running_install(capsys):
    rc, result = run_module(capsys, [crd(r.NFD_CRD)], required_by={"nfd": ["gpu_operator"]})
    assert rc == 1 and result["msg"].startswith("gpu_operator requires nfd, which is neither part of this run"), result
    assert result["msg"].endswith("Nothing was changed.") and result["requirements"][0]["installed"] is False
    running = [crd(r.NFD_CRD), nfd_csv(), nfd_instance()]
    rc, result = run_module(capsys, running, required_by={"nfd": ["gpu_operator"]}, _ansible_check_mode=True)
    assert rc == 0 and result["changed"] is False and result["requirements"][0]["installed"] is True, result
    rc, result = run_module(capsys, [], required_by={})
    assert rc == 0 and result["requirements"] == []


def test_the_module_refuses_a_requirement_it_cannot_check(capsys):
    rc, result = run_module(capsys, [], required_by={"serverless": ["kueue"], "nfd": "gpu_operator"})
    assert rc == 1
    assert result["msg"] == (
        "requirements_check: expected required_by to map cert_manager or nfd to lists of component names; found "
        "unknown requirement serverless; not a list of names for nfd"
    )


REQUIREMENT_TASK = "Fail when a requirement is not installed and running, of gpu_operator"


@pytest.mark.parametrize("nfd_earlier", [False, True])
def test_a_role_used_alone_counts_a_requirement_an_earlier_role_of_the_play_subscribed_to(
    playbook, tmp_path, nfd_earlier
):
    # nfd then gpu_operator, each included alone in one play: in check mode NFD cannot be installed yet, and in a real
    # run it is part of the run, as a selection of both is in site.yml. No cluster: the first module call fails.
    earlier = [{"component": "nfd", "name": "nfd", "namespace": "openshift-nfd", "starting_csv": ""}]
    tasks = [{"name": "Record what an earlier role subscribed to", "ansible.builtin.set_fact": {}}]
    tasks[0]["ansible.builtin.set_fact"]["__gpu_infra_subscriptions"] = earlier if nfd_earlier else []
    tasks.append(
        {
            "name": "Use the gpu_operator role alone",
            "ansible.builtin.include_role": {"name": "rhoai.gpu_infra.gpu_operator", "tasks_from": "preflight"},
        }
    )
    book = tmp_path / "role.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    run = playbook(book, tmp_path / "no-kubeconfig", check=True)
    assert run.rc != 0, run
    blocks = dict(
        re.findall(r"^TASK \[(?:[\w.]+ : )?(.*?)\] \*+\n(.*?)(?=^TASK \[|^PLAY RECAP)", run.stdout, re.M | re.S)
    )
    assert REQUIREMENT_TASK in blocks, run
    assert ("skipping:" if nfd_earlier else "fatal:") in blocks[REQUIREMENT_TASK], run


def dsc_crd(*versions, storage=None):
    body = crd(r.DSC_CRD)
    body["spec"] = {
        "group": r.DSC_GROUP,
        "versions": [{"name": v, "served": True, "storage": v == storage} for v in versions],
    }
    return body


def dsc(name, version, deleting=False):
    body = obj(r.DSC_GROUP + "/" + version, "DataScienceCluster", name)
    if deleting:
        body["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    return body


@pytest.mark.parametrize(
    ("versions", "storage", "listed"),
    [(("v1",), "v1", "v1"), (("v1", "v2"), "v2", "v2"), (("v1", "v2", "v3"), None, "v1")],
    ids=["v1 only", "v2 stored beside v1", "none marked stored: the first served"],
)
def test_data_science_clusters_are_listed_in_a_version_the_crd_serves(versions, storage, listed):
    fake = FakeK8s([dsc_crd(*versions, storage=storage), dsc("default-dsc", listed)])
    assert r.collect_data_science_clusters(fake, []) == [{"name": "default-dsc", "deleting": False}]


def test_without_the_crd_or_a_served_version_no_data_science_cluster_is_read():
    fake = FakeK8s([])
    assert r.collect_data_science_clusters(fake, []) == []
    assert [c[1] for c in fake.calls] == ["CustomResourceDefinition"]
    unserved = dsc_crd("v1")
    unserved["spec"]["versions"][0]["served"] = False
    assert r.collect_data_science_clusters(FakeK8s([unserved, dsc("x", "v1")]), []) == []


def test_a_teardown_under_a_data_science_cluster_is_refused_with_both_ways_on(capsys):
    objects = [dsc_crd("v1", "v2", storage="v2"), dsc("default-dsc", "v2"), dsc("old", "v2", deleting=True)]
    rc, result = run_module(capsys, objects, removing=["serverless", "kueue"], _ansible_check_mode=True)
    assert rc == 1, result
    assert result["msg"] == (
        "Expected no DataScienceCluster before removing serverless, kueue: OpenShift AI (or Open Data Hub) runs its "
        "components on them, and its model servers, workbenches and queued jobs would stop working. Found "
        "DataScienceCluster default-dsc, old (being deleted). Remove OpenShift AI first (oc delete datasciencecluster "
        "default-dsc old, then its operator), or, to remove these anyway, re-run with "
        "-e gpu_infra_teardown_with_rhoai=true. Nothing was changed."
    )
    assert result["data_science_clusters"] == [
        {"name": "default-dsc", "deleting": False},
        {"name": "old", "deleting": True},
    ]


def test_a_teardown_without_a_data_science_cluster_passes_and_nothing_is_read_without_removing(capsys):
    rc, result = run_module(capsys, [dsc_crd("v1", storage="v1")], removing=["nfd"])
    assert rc == 0 and result["data_science_clusters"] == [] and result["changed"] is False, result
    with patch_module_args({}), pytest.raises(SystemExit) as exit_info:
        requirements_check.main(k8s_factory=lambda module: pytest.fail("no cluster read without anything to check"))
    assert exit_info.value.code == 0


def test_teardown_asks_before_its_first_removal_unless_told_to_go_on():
    tasks = yaml.safe_load((ROOT / "playbooks" / "teardown.yml").read_text())[0]["tasks"]
    names = [t["name"] for t in tasks]
    check = names.index("Check that OpenShift AI does not run on what the teardown removes")
    assert check < names.index("Remove every enabled component in reverse install order")
    task = tasks[check]
    assert task["rhoai.gpu_infra.requirements_check"] == {"removing": "{{ __gpu_infra_enabled }}"}
    assert task["when"] == "not gpu_infra_teardown_with_rhoai | default(false) | bool"
    switches = yaml.safe_load((ROOT / "playbooks" / "vars" / "components.yml").read_text())["__gpu_infra_switches"]
    assert switches["gpu_infra_teardown_with_rhoai"] == {"type": "bool"}
