"""The verify report as a user and a CI system see it, and the redaction of diagnose's evidence."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from ansible_collections.rhoai.gpu_infra.plugins.filter.gpu_infra_report import (
    FilterModule,
    diagnose_redact,
    verify_report,
    verify_report_junit,
    verify_report_table,
)

CLUSTER = {"api_url": "https://api.demo.example.com:6443", "infrastructure_name": "demo-x7k2p"}
DTK = (
    "NFD worker cannot run on gpu-1 (taint dedicated=ml:NoExecute not tolerated) -> no kernel-version labels -> the "
    "GPU driver falls back from the Driver Toolkit to dnf and fails with 'FATAL: failed to install "
    "elfutils-libelf-devel. RHEL entitlement may be improperly deployed.' This is not an entitlement problem."
)
CHECKS = [
    {"component": "nfd", "check": "NFD CSV Succeeded", "status": "passed", "evidence": "nfd.4.20.0-202510 Succeeded"},
    {
        "component": "nfd",
        "check": "Kernel-version labels on GPU nodes (DTK)",
        "status": "failed",
        "evidence": DTK,
        "remedy": "Add a toleration for dedicated=ml:NoExecute to NodeFeatureDiscovery nfd-instance",
    },
    {"component": "gpu", "check": "GPU nodes present", "status": "skipped", "evidence": "no GPU nodes & <none>"},
    {"component": "kueue", "check": "Kueue cluster Ready", "status": "pased", "evidence": "typo in status"},
]


def report():
    return verify_report(CHECKS, CLUSTER, "2025-11-27T09:00:00Z")


def test_report_counts_and_an_unknown_status_fails():
    r = report()
    assert r["passed"] is False
    assert r["counts"] == {"passed": 1, "failed": 2, "skipped": 1, "total": 4}
    assert r["failed_checks"] == [
        "nfd: Kernel-version labels on GPU nodes (DTK)",
        "kueue: Kueue cluster Ready",
    ]
    assert verify_report(CHECKS[:1], CLUSTER)["passed"] is True
    assert verify_report([], None)["counts"]["total"] == 0


def test_table_names_the_cluster_fits_a_screen_and_gives_remedies_for_failures():
    table = verify_report_table(report())
    lines = table.splitlines()
    assert lines[0] == (
        "rhoai.gpu_infra verify of demo-x7k2p (https://api.demo.example.com:6443) at 2025-11-27T09:00:00Z: "
        "1 passed, 2 failed, 1 skipped"
    )
    assert lines[2].startswith("PASSED  nfd: NFD CSV Succeeded")
    assert lines[3].startswith("FAILED  nfd: Kernel-version labels") and lines[3].endswith("...")
    assert all(len(line) <= 120 for line in lines[1:])
    assert "elfutils-libelf-devel" in table.split("FAILED nfd: Kernel-version")[1]
    assert "  remedy: Add a toleration for dedicated=ml:NoExecute" in table
    assert table.count("  remedy:") == 2  # one per failed check, none for passed/skipped ones


def test_junit_has_one_testcase_per_check_with_failures_marked():
    root = ET.fromstring(verify_report_junit(report()))
    (suite,) = root.findall("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "2" and suite.get("skipped") == "1"
    assert suite.get("timestamp") == "2025-11-27T09:00:00"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["check"] for c in CHECKS]
    assert cases[0].get("classname") == "rhoai.gpu_infra.nfd"
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert "elfutils-libelf-devel" in failure.text and "remedy: Add a toleration" in failure.text
    assert cases[2].find("skipped").get("message") == "no GPU nodes & <none>"
    assert cases[3].find("failure") is not None
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["cluster.infrastructure_name"] == "demo-x7k2p"


def test_redaction_removes_secret_data_and_credential_env_values():
    secret = {"kind": "Secret", "metadata": {"name": "pull"}, "data": {".dockerconfigjson": "c2VjcmV0"}}
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "gpu-operator-1",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"},
        },
        "spec": {
            "containers": [
                {
                    "name": "op",
                    "env": [
                        {"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"},
                        {"name": "api_token", "value": "xyz"},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                        {"name": "OPERATOR_NAMESPACE", "value": "nvidia-gpu-operator"},
                    ],
                }
            ]
        },
    }
    redacted = diagnose_redact([secret, pod])
    assert "data" not in redacted[0] and redacted[0]["metadata"]["name"] == "pull"
    env = redacted[1]["spec"]["containers"][0]["env"]
    assert [e.get("value") for e in env] == ["<redacted>", "<redacted>", None, "nvidia-gpu-operator"]
    assert env[2]["valueFrom"]["secretKeyRef"]["name"] == "db"
    assert redacted[1]["metadata"]["annotations"] == {"keep": "me"}
    assert "managedFields" not in redacted[1]["metadata"]
    assert pod["spec"]["containers"][0]["env"][0]["value"] == "abc"  # the input is not modified
    assert "abc" not in repr(redacted) and "c2VjcmV0" not in repr(redacted)


def test_filters_are_exported_under_their_documented_names():
    assert set(FilterModule().filters()) == {
        "verify_report",
        "verify_report_table",
        "verify_report_junit",
        "diagnose_redact",
    }


def test_the_filters_import_no_kubernetes_client():
    """A task that uses any of this collection's filters imports every filter file in its own worker process: the
    kubernetes client among their imports cost each such task about 0.25 s (six times a plain filter's task)."""
    root = Path(__file__).resolve().parents[2]
    names = sorted(p.stem for p in (root / "plugins" / "filter").glob("*.py"))
    script = (
        "import importlib, sys\n"
        "sys.path.insert(0, {0!r})\n"
        "for name in {1!r}:\n"
        "    importlib.import_module('ansible_collections.rhoai.gpu_infra.plugins.filter.' + name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))\n"
    ).format(str(root / ".collections"), names)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert len(names) >= 7 and out.stdout.strip() == "[]", out.stdout
