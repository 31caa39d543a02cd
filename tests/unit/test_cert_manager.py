"""cert-manager installed and running (module_utils/cert_manager.py), as requirements_check asks it."""

import json

import pytest
import urllib3
from ansible.module_utils.testing import patch_module_args
from kubernetes.client.exceptions import ApiException

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import cert_manager as cm
from ansible_collections.rhoai.gpu_infra.plugins.modules import requirements_check

from .test_nodes import FakeK8s

ESTABLISHED = {
    "metadata": {"name": cm.CRD},
    "status": {"conditions": [{"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}]},
}
NOT_ESTABLISHED = {"metadata": {"name": cm.CRD}, "status": {"conditions": [{"type": "Established", "status": "False"}]}}


def csv(phase="Succeeded", namespace="cert-manager-operator", owned=(cm.CRD,), copied=False):
    labels = {"olm.copiedFrom": "cert-manager-operator"} if copied else {}
    return {
        "metadata": {"name": "cert-manager-operator.v1.18.0", "namespace": namespace, "labels": labels},
        "spec": {"customresourcedefinitions": {"owned": [{"name": n, "kind": "X", "version": "v1"} for n in owned]}},
        "status": {"phase": phase, "reason": "Copied" if copied else "InstallSucceeded"},
    }


def webhook(available=1, replicas=1, namespace="cert-manager", name="cert-manager-webhook"):
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
        "status": {
            "availableReplicas": available,
            "conditions": [{"type": "Available", "status": "True" if available >= replicas else "False"}],
        },
    }


def test_the_crd_kept_by_a_teardown_is_not_an_install():
    result = cm.assess(ESTABLISHED, [], [])
    assert result["installed"] is False
    assert result["found"].startswith(
        "CRD certificates.cert-manager.io exists but no cert-manager operator/webhook runs (no CSV owns the CRD and no "
        "webhook Deployment): left by a teardown that kept the CRDs"
    )
    assert "incomplete install" in result["found"]


def test_a_succeeded_csv_that_owns_the_crd_is_an_install():
    result = cm.assess(ESTABLISHED, [csv()], [])
    assert result == {
        "installed": True,
        "evidence": "CSV cert-manager-operator/cert-manager-operator.v1.18.0 Succeeded",
        "found": "",
    }


def test_an_available_webhook_is_an_install_without_olm():
    result = cm.assess(ESTABLISHED, [], [webhook(namespace="security", name="cm-webhook")])
    assert result["installed"] is True
    assert result["evidence"] == "webhook Deployment security/cm-webhook available"


@pytest.mark.parametrize(
    "csvs, webhooks, named",
    [
        ([csv(phase="Installing")], [], "CSV cert-manager-operator/cert-manager-operator.v1.18.0 in phase Installing"),
        ([csv(phase="Failed")], [], "in phase Failed"),
        # a webhook scaled to zero reports Available=True and serves nothing
        ([], [webhook(available=0, replicas=0)], "webhook Deployment cert-manager/cert-manager-webhook not available"),
        ([], [webhook(available=0, replicas=1)], "(0 of 1 replicas)"),
        # another operator's CSV, or OLM's copy of cert-manager's in another namespace, proves nothing
        ([csv(owned=("widgets.example.com",))], [], "no CSV owns the CRD"),
        ([csv(namespace="openshift-kueue-operator", copied=True)], [], "no CSV owns the CRD"),
    ],
)
def test_what_does_not_run_is_named(csvs, webhooks, named):
    result = cm.assess(ESTABLISHED, csvs, webhooks)
    assert result["installed"] is False and result["evidence"] == ""
    assert named in result["found"], result


def test_without_an_established_crd_nothing_else_counts():
    missing = cm.assess(None, [], [])
    assert missing["installed"] is False
    assert missing["found"] == "CRD certificates.cert-manager.io not found: cert-manager is not installed"
    pending = cm.assess(NOT_ESTABLISHED, [csv()], [])
    assert pending["installed"] is False
    assert pending["found"] == (
        "CRD certificates.cert-manager.io exists but is not Established; running: CSV "
        "cert-manager-operator/cert-manager-operator.v1.18.0 Succeeded"
    )


# --- the module ---------------------------------------------------------------------------------------------------
KUEUE = {"required_by": {"cert_manager": ["kueue"]}}


def run_module(capsys, objects, **args):
    fake = FakeK8s(objects)
    with patch_module_args(dict(KUEUE, **args)), pytest.raises(SystemExit) as info:
        requirements_check.main(k8s_factory=lambda module: fake)
    return info.value.code, json.loads(capsys.readouterr().out), fake


def objects(crd=ESTABLISHED, csvs=(), webhooks=()):
    return {
        ("CustomResourceDefinition", None, cm.CRD): crd,
        ("ClusterServiceVersion", None, "!olm.copiedFrom"): list(csvs),
        ("Deployment", None, cm.WEBHOOK_SELECTOR): list(webhooks),
    }


def test_module_passes_on_an_operator_install_reading_three_times(capsys):
    rc, result, fake = run_module(capsys, objects(csvs=[csv()]), _ansible_check_mode=True)
    assert rc == 0, result
    (found,) = result["requirements"]
    assert result["changed"] is False and found["installed"] is True
    assert found["evidence"] == "CSV cert-manager-operator/cert-manager-operator.v1.18.0 Succeeded"
    assert fake.calls == [
        ("CustomResourceDefinition", None, cm.CRD),
        ("ClusterServiceVersion", None, "!olm.copiedFrom"),
        ("Deployment", None, cm.WEBHOOK_SELECTOR),
    ]


def test_module_fails_on_the_crd_alone_with_the_whole_message(capsys):
    rc, result, _ = run_module(
        capsys,
        objects(),
        required_by={"cert_manager": ["authorino"]},
        alternatives={"cert_manager": "or choose the standalone layout"},
    )
    assert rc == 1
    assert result["requirements"][0]["installed"] is False
    assert result["msg"].startswith("authorino requires cert_manager, which is neither part of this run nor installed")
    assert "Expected cert-manager installed and running: CRD certificates.cert-manager.io Established" in result["msg"]
    assert "Found: CRD certificates.cert-manager.io exists but no cert-manager operator/webhook runs" in result["msg"]
    assert "Add cert_manager to gpu_infra_components" in result["msg"]
    assert "; or choose the standalone layout." in result["msg"]
    assert result["msg"].endswith("Nothing was changed.")


class Refusing(FakeK8s):
    def __init__(self, objects, exc, kind):
        super().__init__(objects)
        self.exc, self.kind = exc, kind

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        if kind == self.kind:
            raise self.exc
        return super().list(api_version, kind, namespace, label_selector, field_selector)


@pytest.mark.parametrize(
    "exc, said",
    [
        (ApiException(status=403, reason="Forbidden"), "the credentials lack permission"),
        (urllib3.exceptions.MaxRetryError(None, "/apis", "refused"), "the API server was unreachable"),
    ],
)
def test_module_names_the_read_an_api_error_stopped(capsys, exc, said):
    fake = Refusing(objects(), exc, "Deployment")
    with patch_module_args(KUEUE), pytest.raises(SystemExit) as info:
        requirements_check.main(k8s_factory=lambda module: fake)
    result = json.loads(capsys.readouterr().out)
    assert info.value.code == 1
    assert result["msg"].startswith(
        "Could not list Deployments in all namespaces with label selector " + cm.WEBHOOK_SELECTOR
    )
    assert said in result["msg"]
    assert "exception" not in result


def test_module_reports_its_own_bug_as_one(capsys):
    fake = Refusing(objects(), KeyError("oops"), "ClusterServiceVersion")
    with patch_module_args(KUEUE), pytest.raises(SystemExit) as info:
        requirements_check.main(k8s_factory=lambda module: fake)
    result = json.loads(capsys.readouterr().out)
    assert info.value.code == 1
    assert "unexpected KeyError" in result["msg"] and "This is a bug in rhoai.gpu_infra" in result["msg"]
