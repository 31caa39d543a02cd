"""The layout check of Authorino, Limitador and the DNS operator (module_utils/kuadrant_layout.py)."""

import pytest

from ansible_collections.rhoai.gpu_infra.plugins.filter.kuadrant_layout import FilterModule
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.kuadrant_layout import kuadrant_layout

THREE = [
    {"component": "authorino", "package": "authorino-operator", "namespace": "openshift-authorino"},
    {"component": "limitador", "package": "limitador-operator", "namespace": "openshift-limitador-operator"},
    {"component": "dns", "package": "dns-operator", "namespace": "kuadrant-dns-operator"},
]


def sub(package, namespace, channel="stable", name=None, csv=""):
    obj = {"metadata": {"name": name or package, "namespace": namespace}, "spec": {"name": package, "channel": channel}}
    if csv:
        obj["status"] = {"installedCSV": csv}
    return obj


def rhcl_install(namespace="kuadrant-system"):
    """What OLM leaves behind for one rhcl-operator Subscription: the dependency Subscriptions it names itself."""
    deps = [
        sub(p, namespace, name="{0}-stable-redhat-operators-openshift-marketplace".format(p))
        for p in ("authorino-operator", "limitador-operator", "dns-operator")
    ]
    return [sub("rhcl-operator", namespace), *deps]


def standalone_install():
    return [sub(o["package"], o["namespace"]) for o in THREE]


def want(cl, operators=THREE):
    return {
        "connectivity_link": cl,
        "rhcl_package": "rhcl-operator",
        "rhcl_namespace": "kuadrant-system",
        "operators": operators,
    }


@pytest.mark.parametrize("cl", [True, False])
def test_an_empty_cluster_and_the_layouts_own_install_are_fine(cl):
    assert kuadrant_layout([], want(cl)) == {"ok": True, "found": [], "message": ""}
    assert kuadrant_layout(None, want(cl))["ok"]
    own = rhcl_install() if cl else standalone_install()
    unrelated = [sub("nfd", "openshift-nfd"), sub("kueue-operator", "openshift-kueue-operator")]
    assert kuadrant_layout(own + unrelated, want(cl))["ok"]


def test_connectivity_link_refuses_the_standalone_layout_naming_each_install():
    result = kuadrant_layout(standalone_install(), want(True))
    assert not result["ok"]
    assert len(result["found"]) == 3
    assert result["found"][0] == (
        "Subscription kuadrant-dns-operator/dns-operator (package dns-operator, channel stable): a standalone install "
        "of dns-operator (the layout of gpu_infra_connectivity_link: false)"
    )
    message = result["message"]
    assert message.startswith("Expected the Connectivity Link layout (gpu_infra_connectivity_link: true)")
    assert "Subscription openshift-authorino/authorino-operator (package authorino-operator, channel stable)" in message
    # one sentence says what to do about all three
    assert message.count("To keep the standalone layout") == 1
    assert (
        "set gpu_infra_connectivity_link: false (with dns_namespace: kuadrant-dns-operator, authorino_namespace: "
        "openshift-authorino, limitador_namespace: openshift-limitador-operator); otherwise remove those installs first"
    ) in message
    assert "oc delete subscription authorino-operator -n openshift-authorino" in message
    assert message.endswith("Nothing was changed.")


def test_connectivity_link_refuses_one_standalone_package_whichever_component_runs():
    """RHCL brings all three: a standalone Limitador is in the way even when only Authorino is asked for."""
    result = kuadrant_layout([sub("limitador-operator", "my-limitador")], want(True))
    assert not result["ok"]
    assert "my-limitador/limitador-operator" in result["found"][0]
    assert "(with limitador_namespace: my-limitador); otherwise remove that install first" in result["message"]


def test_connectivity_link_refuses_rhcl_in_another_namespace_once_not_per_dependency():
    result = kuadrant_layout(rhcl_install("rhcl-elsewhere"), want(True))
    assert not result["ok"]
    assert result["found"] == [
        "Subscription rhcl-elsewhere/rhcl-operator (package rhcl-operator, channel stable): Red Hat Connectivity "
        "Link installed in rhcl-elsewhere, not in kuadrant-system"
    ]
    assert "connectivity_link_namespace: rhcl-elsewhere" in result["message"]


def test_connectivity_link_accepts_a_dependency_subscribed_by_hand_in_its_own_namespace():
    """OLM satisfies the requirement with a Subscription already in the namespace: nothing collides."""
    assert kuadrant_layout([sub("authorino-operator", "kuadrant-system")], want(True))["ok"]


def test_standalone_refuses_connectivity_link_anywhere():
    result = kuadrant_layout(rhcl_install(), want(False, THREE[:1]))
    assert not result["ok"]
    assert len(result["found"]) == 1, result["found"]
    assert result["found"][0].startswith("Subscription kuadrant-system/rhcl-operator (package rhcl-operator")
    assert "set gpu_infra_connectivity_link: true (the default);" in result["message"]
    assert result["message"].startswith(
        "Expected the standalone layout (gpu_infra_connectivity_link: false): authorino-operator in openshift-authorino"
    )
    elsewhere = kuadrant_layout(rhcl_install("rhcl-elsewhere"), want(False, THREE[1:2]))
    assert "connectivity_link_namespace: rhcl-elsewhere" in elsewhere["message"]


def test_standalone_refuses_its_package_in_another_namespace_only():
    subs = [sub("dns-operator", "someone-elses-dns", csv="dns-operator.v1.2.0"), sub("limitador-operator", "x")]
    result = kuadrant_layout(subs, want(False, THREE[2:]))
    assert len(result["found"]) == 1
    assert "dns-operator already installed in someone-elses-dns" in result["found"][0]
    assert "set dns_namespace: someone-elses-dns" in result["message"]
    assert "oc delete csv dns-operator.v1.2.0 -n someone-elses-dns" in result["message"]


@pytest.mark.parametrize("cl", [True, False])
def test_authorino_on_tech_preview_is_refused_even_in_the_namespace_of_the_layout(cl):
    namespace = "kuadrant-system" if cl else "openshift-authorino"
    result = kuadrant_layout([sub("authorino-operator", namespace, channel="tech-preview-v1")], want(cl))
    assert not result["ok"]
    assert "channel tech-preview-v1): Authorino on channel tech-preview-v1" in result["found"][0]
    assert "Remove that Authorino first" in result["message"]


def test_tech_preview_authorino_matters_to_the_standalone_layout_only_for_authorino():
    subs = [sub("authorino-operator", "openshift-authorino", channel="tech-preview-v1")]
    assert kuadrant_layout(subs, want(False, THREE[1:]))["ok"]


def test_one_subscription_with_two_problems_is_one_finding_with_both_reasons():
    result = kuadrant_layout([sub("authorino-operator", "old-authorino", channel="tech-preview-v1")], want(True))
    assert len(result["found"]) == 1
    assert "a standalone install" in result["found"][0] and "tech-preview-v1, which blocks" in result["found"][0]


def test_the_filter_is_exposed():
    assert FilterModule().filters()["kuadrant_layout"] is kuadrant_layout
