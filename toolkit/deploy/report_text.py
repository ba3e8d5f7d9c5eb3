"""Deploy and preflight reports as JSON (stable keys, for machines) and as plain lines (for
people; the CLI adds colour). Every failed component names its file, line and column; every
failed test its class, method, message and stack trace."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from toolkit.deploy import coverage
from toolkit.deploy.policy import EXIT_CODES
from toolkit.deploy.preflight import PreflightReport
from toolkit.deploy.runner import DeployReport
from toolkit.salesforce.results import ComponentMessage, DeployResult

_HEADLINES = {
    "succeeded": "succeeded",
    "failed": "FAILED",
    "partial": "PARTLY succeeded (some components were not deployed)",
    "coverage_miss": "succeeded in the org, but coverage is below the gate",
    "timed_out": "is still running (sftk stopped waiting)",
    "canceled": "was canceled",
    "submitted": "was submitted",
    "running": "is still running",
    "interrupted": "is still running (sftk was interrupted)",
}


def _place(message: ComponentMessage) -> str:
    where = message.file_name
    if message.line is not None:
        where += f":{message.line}"
        if message.column is not None:
            where += f":{message.column}"
    return where


def report_json(report: DeployReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "deploy_id": report.deploy_id,
        "org": report.org,
        "outcome": report.outcome.value,
        "exit_code": int(EXIT_CODES[report.outcome]),
        "check_only": report.check_only,
        "note": report.note,
        "result": None if report.result is None else asdict(report.result),
        "coverage_gate": None if report.gate is None else asdict(report.gate),
    }
    return data


def _result_lines(result: DeployResult) -> list[str]:
    lines = [
        f"components: {result.number_components_deployed}/{result.number_components_total} "
        f"deployed, {result.number_component_errors} errors",
    ]
    if result.number_tests_total:
        lines.append(
            f"tests: {result.number_tests_completed}/{result.number_tests_total} run, "
            f"{result.number_test_errors} failed"
        )
    if result.error_message:
        code = f"{result.error_status_code}: " if result.error_status_code else ""
        lines.append(f"error: {code}{result.error_message}")
    for failure in result.component_failures:
        kind = "warning" if failure.problem_type == "Warning" else "error"
        lines.append(
            f"{kind}: {failure.component_type} {failure.full_name} ({_place(failure)}): "
            f"{failure.problem or 'failed'}"
        )
    for test in result.tests.failures:
        lines.append(f"test failed: {test.class_name}.{test.method_name}: {test.message}")
        lines.extend(f"    {line}" for line in test.stack_trace.splitlines() if line.strip())
    for warning in result.tests.coverage_warnings:
        lines.append(f"coverage warning: {warning.name or 'org-wide'}: {warning.message}")
    return lines


def report_lines(report: DeployReport) -> list[str]:
    action = "validation" if report.check_only else "deploy"
    if not report.deploy_id:
        return [f"{action} on {report.org} FAILED: the org refused it", report.note or ""]
    lines = [f"{action} {report.deploy_id} on {report.org} {_HEADLINES[report.outcome.value]}"]
    if report.result is not None:
        lines.extend(_result_lines(report.result))
    if report.gate is not None:
        lines.extend(coverage.summary_lines(report.gate))
    if report.note:
        lines.append(report.note)
    return lines


def preflight_json(report: PreflightReport) -> dict[str, Any]:
    return {
        "org": report.org,
        "passed": report.passed,
        "checks": [asdict(c) for c in report.checks],
    }


def preflight_lines(report: PreflightReport) -> list[str]:
    lines = []
    for check in report.checks:
        lines.append(f"{check.status.upper():4}  {check.title}: {check.detail}")
        if check.hint and check.status != "pass":
            lines.append(f"      fix: {check.hint}")
    verdict = "passed" if report.passed else "FAILED"
    lines.append(f"preflight of {report.org} {verdict}")
    return lines
