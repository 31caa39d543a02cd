# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of each filter is in <filter name>.yml beside this file.
"""Verify report rendering (summary, table, JUnit XML) and redaction of evidence collected by diagnose."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import textwrap
import xml.etree.ElementTree as ET

from ansible_collections.rhoai.gpu_infra.plugins.module_utils.redaction import redact

STATUSES = ("passed", "failed", "skipped")
TABLE_WIDTH = 118


def _status(check):
    # A record with a status nobody planned for must not pass silently.
    status = check.get("status")
    return status if status in STATUSES else "failed"


def verify_report(checks, cluster=None, timestamp=""):
    """Checks + where and when -> the report dict that is written as JSON and rendered as table and JUnit."""
    checks = [dict(c, status=_status(c)) for c in checks or []]
    counts = {status: len([c for c in checks if c["status"] == status]) for status in STATUSES}
    return {
        "cluster": dict(cluster or {}),
        "timestamp": timestamp,
        "passed": counts["failed"] == 0,
        "counts": dict(counts, total=len(checks)),
        "failed_checks": [
            "{0}: {1}".format(c.get("component"), c.get("check")) for c in checks if c["status"] == "failed"
        ],
        "checks": checks,
    }


def _cluster_label(cluster):
    name, url = cluster.get("infrastructure_name"), cluster.get("api_url")
    if name and url:
        return "{0} ({1})".format(name, url)
    return name or url or "unknown cluster"


def _cut(text, width):
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def verify_report_table(report):
    """One screen: a header, one row per check, then each failed check's full evidence and remedy."""
    counts = report["counts"]
    lines = [
        "rhoai.gpu_infra verify of {0} at {1}: {2} passed, {3} failed, {4} skipped".format(
            _cluster_label(report["cluster"]),
            report["timestamp"],
            counts["passed"],
            counts["failed"],
            counts["skipped"],
        ),
        "{0:<7} {1:<56} {2}".format("STATUS", "CHECK", "EVIDENCE"),
    ]
    for check in report["checks"]:
        name = "{0}: {1}".format(check.get("component"), check.get("check"))
        lines.append(
            "{0:<7} {1:<56} {2}".format(check["status"].upper(), _cut(name, 56), _cut(check.get("evidence"), 53))
        )
    failed = [c for c in report["checks"] if c["status"] == "failed"]
    for check in failed:
        lines.append("")
        lines.append("FAILED {0}: {1}".format(check.get("component"), check.get("check")))
        for label, text in (("found", check.get("evidence")), ("remedy", check.get("remedy"))):
            wrapped = textwrap.wrap(
                " ".join(str(text or "-").split()),
                TABLE_WIDTH,
                initial_indent="  {0}: ".format(label),
                subsequent_indent="    ",
                break_on_hyphens=False,
                break_long_words=False,
            )
            lines.extend(wrapped)
    return "\n".join(lines)


def verify_report_junit(report):
    """JUnit XML, one testcase per check, so CI systems and AAP show the checks like tests."""
    counts = report["counts"]
    suites = ET.Element("testsuites", name="rhoai.gpu_infra verify")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="verify {0}".format(_cluster_label(report["cluster"])),
        tests=str(counts["total"]),
        failures=str(counts["failed"]),
        skipped=str(counts["skipped"]),
        errors="0",
        # The JUnit schema's timestamp is an xs:dateTime without a zone.
        timestamp=str(report["timestamp"] or "")[:19],
    )
    properties = ET.SubElement(suite, "properties")
    for key in sorted(report["cluster"]):
        ET.SubElement(properties, "property", name="cluster." + key, value=str(report["cluster"][key] or ""))
    for check in report["checks"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="rhoai.gpu_infra.{0}".format(check.get("component")),
            name=str(check.get("check")),
        )
        evidence = str(check.get("evidence") or "")
        if check["status"] == "failed":
            failure = ET.SubElement(case, "failure", message=_cut(evidence, 500), type="failed")
            failure.text = "found: {0}\nremedy: {1}".format(evidence, check.get("remedy") or "-")
        elif check["status"] == "skipped":
            ET.SubElement(case, "skipped", message=_cut(evidence, 500))
        else:
            ET.SubElement(case, "system-out").text = evidence
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def diagnose_redact(obj):
    """A copy of an API object (or list of them) that is safe to hand to someone else (see module_utils.evidence)."""
    return redact(obj)


class FilterModule(object):
    def filters(self):
        return {
            "verify_report": verify_report,
            "verify_report_table": verify_report_table,
            "verify_report_junit": verify_report_junit,
            "diagnose_redact": diagnose_redact,
        }
