"""The deploy engine as Python calls, one per command a person would type; the CLI and CI
pipelines both call these. Each opens the org profile's connection, does the steps in order,
and returns typed reports (exceptions only for what stops a command: bad input, an
unreachable org, a failed preflight)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from toolkit.deploy import ci_reports, coverage, package
from toolkit.deploy.history import DeployHistory
from toolkit.deploy.policy import DEFAULT_WAIT_MINUTES
from toolkit.deploy.preflight import PreflightReport, run_preflight
from toolkit.deploy.runner import Deployer, DeployReport, ProgressHandler, options_for
from toolkit.errors import UsageError
from toolkit.fsio import atomic_write_bytes
from toolkit.project import Project
from toolkit.salesforce import rest
from toolkit.salesforce.auth import find_profile, open_connection
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.metadata_client import MetadataClient
from toolkit.salesforce.results import ClassCoverage


@dataclass(frozen=True)
class DeployRun:
    """A deploy command's whole answer: the preflight (None when skipped) and the report
    (None when the preflight failed and nothing was sent)."""

    preflight: PreflightReport | None
    report: DeployReport | None


@contextmanager
def _deployer(
    project: Project, org: str, on_progress: ProgressHandler | None
) -> Iterator[tuple[OrgConnection, Deployer]]:
    with open_connection(project.config, org) as conn:
        deployer = Deployer(
            MetadataClient(conn),
            DeployHistory(project.config.state_dir),
            org,
            project.config.coverage,
            on_progress=on_progress,
        )
        yield conn, deployer


def preflight(project: Project, org: str) -> PreflightReport:
    with open_connection(project.config, org) as conn:
        return run_preflight(conn, find_profile(project.config, org), project.config.coverage)


def deploy(
    project: Project,
    org: str,
    *,
    path: Path | None = None,
    check_only: bool = False,
    test_level: str | None = None,
    tests: tuple[str, ...] = (),
    ignore_warnings: bool = False,
    allow_partial: bool = False,
    wait_minutes: float | None = DEFAULT_WAIT_MINUTES,
    skip_preflight: bool = False,
    on_progress: ProgressHandler | None = None,
) -> DeployRun:
    """Deploy (or validate, with ``check_only``) the project's package or ``path``;
    ``wait_minutes=None`` submits without waiting."""
    chosen = find_profile(project.config, org)
    options = options_for(
        chosen.kind,
        check_only=check_only,
        test_level=test_level,
        tests=tests,
        ignore_warnings=ignore_warnings,
        allow_partial=allow_partial,
    )
    pkg = _package(project, path)
    with _deployer(project, org, on_progress) as (conn, deployer):
        checked = None
        if not skip_preflight:
            checked = run_preflight(conn, chosen, project.config.coverage)
            if not checked.passed:
                return DeployRun(checked, None)
        return DeployRun(checked, deployer.deploy(pkg, options, wait_minutes=wait_minutes))


def _package(project: Project, path: Path | None) -> package.DeployPackage:
    if path is None:
        return package.from_project(project)
    return package.from_path(path, project.api_version)


def quick(
    project: Project,
    org: str,
    *,
    validation_id: str | None = None,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> DeployReport:
    """Quick-deploy a validation: the given id, else the latest successful validation of the
    project's current package on this org."""
    history = DeployHistory(project.config.state_dir)
    if validation_id is None:
        current = package.from_project(project).content_hash
        found = history.latest_validation(org, current)
        if found is None:
            raise UsageError(
                f"no successful validation of the current package on {org} is recorded",
                hint=f"run `sftk deploy --org {org} --check-only` first, or pass --validation-id",
            )
        validation_id = found.id
    with _deployer(project, org, on_progress) as (_, deployer):
        return deployer.quick(validation_id, wait_minutes=wait_minutes)


def _deploy_id(project: Project, org: str, deploy_id: str | None) -> str:
    if deploy_id:
        return deploy_id
    latest = DeployHistory(project.config.state_dir).latest(org)
    if latest is None:
        raise UsageError(
            f"no deploy to {org} is recorded in this project",
            hint="pass the deploy id",
        )
    return latest.id


def resume(
    project: Project,
    org: str,
    deploy_id: str | None = None,
    *,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> DeployReport:
    chosen = _deploy_id(project, org, deploy_id)
    with _deployer(project, org, on_progress) as (_, deployer):
        return deployer.wait(chosen, wait_minutes)


def report(project: Project, org: str, deploy_id: str | None = None) -> DeployReport:
    chosen = _deploy_id(project, org, deploy_id)
    with _deployer(project, org, None) as (_, deployer):
        return deployer.report(chosen)


def cancel(
    project: Project,
    org: str,
    deploy_id: str | None = None,
    *,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> DeployReport:
    chosen = _deploy_id(project, org, deploy_id)
    with _deployer(project, org, on_progress) as (_, deployer):
        return deployer.cancel(chosen, wait_minutes=wait_minutes)


@dataclass(frozen=True)
class CoverageRun:
    org: str
    classes: tuple[ClassCoverage, ...]
    gate: coverage.GateResult


def org_coverage(project: Project, org: str) -> CoverageRun:
    """Coverage as the org measured it last (Tooling API), judged by the project's gate."""
    with open_connection(project.config, org) as conn:
        rows = rest.tooling_query(
            conn,
            "SELECT ApexClassOrTriggerId, ApexClassOrTrigger.Name, NumLinesCovered, "
            "NumLinesUncovered, Coverage FROM ApexCodeCoverageAggregate",
        )
    classes = tuple(sorted((_class_coverage(r) for r in rows), key=lambda c: c.name))
    return CoverageRun(org, classes, coverage.evaluate(project.config.coverage, classes))


_TRIGGER_PREFIX = "01q"


def _class_coverage(row: dict[str, object]) -> ClassCoverage:
    covered = int(str(row.get("NumLinesCovered") or 0))
    uncovered = int(str(row.get("NumLinesUncovered") or 0))
    parent = row.get("ApexClassOrTrigger")
    name = str(parent.get("Name")) if isinstance(parent, dict) else "?"
    ident = str(row.get("ApexClassOrTriggerId") or "")
    lines = row.get("Coverage")
    missing = lines.get("uncoveredLines") if isinstance(lines, dict) else None
    return ClassCoverage(
        name=name,
        type="Trigger" if ident.startswith(_TRIGGER_PREFIX) else "Class",
        num_locations=covered + uncovered,
        num_not_covered=uncovered,
        uncovered_lines=tuple(int(n) for n in missing) if isinstance(missing, list) else (),
        id=ident or None,
    )


def write_ci_reports(
    report: DeployReport | CoverageRun,
    *,
    junit: Path | None,
    cobertura: Path | None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """JUnit (tests) and Cobertura (coverage) files for CI systems, written atomically."""
    moment = clock()
    if isinstance(report, CoverageRun):
        classes, tests, suite = report.classes, None, f"coverage {report.org}"
    else:
        result = report.result
        classes = result.tests.coverage if result is not None else ()
        tests = result.tests if result is not None else None
        suite = f"deploy {report.deploy_id}"
    if junit is not None:
        if tests is None:
            raise UsageError("--junit needs test results", hint="run tests with --test-level")
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
        atomic_write_bytes(junit, ci_reports.junit_xml(tests, suite, stamp))
    if cobertura is not None:
        data = ci_reports.cobertura_xml(classes, int(moment.timestamp() * 1000))
        atomic_write_bytes(cobertura, data)
