"""The deploy engine as Python calls, one per command a person would type; the CLI and CI
pipelines both call these. Each opens the org profile's connection, does the steps in order,
and returns typed reports (exceptions only for what stops a command: bad input, an
unreachable org, a failed preflight)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from toolkit.config import OrgProfile
from toolkit.deploy import ci_reports, coverage, package
from toolkit.deploy.history import DeployHistory, DeployRecord, now
from toolkit.deploy.ledger import (
    PROVING_KINDS,
    Ledger,
    LedgerEntry,
    is_local,
    require_proof,
    who,
)
from toolkit.deploy.package import DeployPackage, PackageStore
from toolkit.deploy.patching import patched
from toolkit.deploy.plan import Plan, absent, find_drift, make_plan
from toolkit.deploy.policy import DEFAULT_WAIT_MINUTES, Outcome
from toolkit.deploy.preflight import PreflightReport, run_preflight
from toolkit.deploy.retrieval import Retriever
from toolkit.deploy.runner import (
    CancelReport,
    Deployer,
    DeployReport,
    ProgressHandler,
    in_the_org,
    options_for,
)
from toolkit.deploy.snapshots import Snapshot, SnapshotOutcome, SnapshotStore
from toolkit.errors import ConfigError, CoverageGateMissed, OrgError, UsageError
from toolkit.fsio import atomic_write_bytes
from toolkit.metadata.manifest import ComponentRef
from toolkit.project import Project
from toolkit.salesforce import local_control, rest
from toolkit.salesforce.auth import find_profile, open_connection
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.metadata_client import MetadataClient
from toolkit.salesforce.org_info import Organization, read_organization
from toolkit.salesforce.results import ClassCoverage


@dataclass(frozen=True)
class DeployRun:
    """A deploy command's whole answer: the preflight (None when skipped), what the package
    changes in the org (committing deploys and --only-changed), the snapshot taken before a
    committing deploy, and the report (None when nothing was sent: a failed preflight, or a
    package the org already has)."""

    preflight: PreflightReport | None
    report: DeployReport | None
    plan: Plan | None = None
    snapshot: Snapshot | None = None
    proof: LedgerEntry | None = None  # nothing sent: the sandbox already held the package
    left_out: tuple[ComponentRef, ...] = ()  # deletes of what the org does not have

    @property
    def unchanged(self) -> bool:
        """Nothing was sent because the org already has every component as packaged."""
        passed = self.preflight is None or self.preflight.passed
        return self.report is None and self.plan is not None and passed


@dataclass
class Session:
    """One org profile, connected, with everything a command does to it."""

    project: Project
    profile: OrgProfile
    connection: OrgConnection
    deployer: Deployer
    retriever: Retriever
    snapshots: SnapshotStore
    ledger: Ledger
    _organization: Organization | None = None

    def organization(self) -> Organization:
        """What the org says it is, asked once per session."""
        if self._organization is None:
            self._organization = read_organization(self.connection)
        return self._organization

    def record(
        self, action: str, package_hash: str, deploy_id: str, **more: str | None
    ) -> LedgerEntry:
        """Put an entry in the ledger, with the org's own word on whether it is a sandbox."""
        entry = LedgerEntry(
            org=self.profile.name,
            org_id=self.connection.org_id,
            kind=self.profile.kind,
            action=action,
            package_hash=package_hash,
            deploy_id=deploy_id,
            at=now(),
            who=who(),
            username=self.connection.username,
            org_is_sandbox=self.organization().is_sandbox,
            local=is_local(self.profile),
            **more,
        )
        self.ledger.add(entry)
        return entry

    def prove_held(self, package_hash: str) -> LedgerEntry | None:
        """The org holds every component of the package as packaged: when it is a sandbox,
        that proves the package as a deploy would (recorded once; None elsewhere)."""
        if self.profile.kind not in PROVING_KINDS or not self.organization().is_sandbox:
            return None
        known = self.ledger.proof(package_hash, self.profile.name)
        return known or self.record("verify", package_hash, "")

    def save_snapshot(self, snapshot: Snapshot, zips: tuple[bytes, ...]) -> Snapshot:
        return self.snapshots.save(snapshot, zips, secrets=[self.connection.access_token])

    def submitted(self, snapshot: Snapshot | None) -> Callable[[str], None]:
        """Ties a snapshot to the deploy that follows it as soon as the org gives an id."""

        def tie(deploy_id: str) -> None:
            if snapshot is not None:
                self.snapshots.record(
                    snapshot.id, SnapshotOutcome((deploy_id,), Outcome.SUBMITTED.value, now())
                )

        return tie

    def settle(
        self,
        report: DeployReport,
        snapshot: Snapshot | None = None,
        *,
        forced_reason: str | None = None,
    ) -> None:
        """Once a deploy's outcome is known: note it with its snapshot (``snapshot``: the one
        taken before it, needed when the org refused the deploy and gave no id), and put a
        success in the promotion ledger (once, whichever command learns of it first)."""
        if not report.deploy_id:
            if snapshot is not None:  # refused at the door: it changed nothing
                self.snapshots.record(snapshot.id, SnapshotOutcome((), report.outcome.value, now()))
            return
        snapshot_id = self.snapshots.by_deploy(report.deploy_id)
        if snapshot_id is not None:
            self.snapshots.record(
                snapshot_id, SnapshotOutcome((report.deploy_id,), report.outcome.value, now())
            )
        record = self.deployer.history.find(self.deployer.org, report.deploy_id)
        if report.outcome is not Outcome.SUCCEEDED or record is None:
            return
        org = self.profile.name
        if any((e.org, e.deploy_id) == (org, report.deploy_id) for e in self.ledger.entries()):
            return
        self.record(
            _action(record),
            record.package_hash,
            report.deploy_id,
            forced_reason=forced_reason,
            validation_id=record.quick_deploy_of,
        )


def _action(record: DeployRecord) -> str:
    if record.check_only:
        return "validate"
    return "quick" if record.quick_deploy_of else "deploy"


@contextmanager
def session(
    project: Project, org: str, on_progress: ProgressHandler | None = None
) -> Iterator[Session]:
    state = project.config.state_dir
    with open_connection(project.config, org) as conn:
        client = MetadataClient(conn)
        yield Session(
            project,
            find_profile(project.config, org),
            conn,
            Deployer(
                client, DeployHistory(state), org, project.config.coverage, on_progress=on_progress
            ),
            Retriever(client, conn.api_version),
            SnapshotStore(state),
            Ledger(state),
        )


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
    only_changed: bool = False,
    force: bool = False,
    reason: str | None = None,
    on_progress: ProgressHandler | None = None,
) -> DeployRun:
    """Deploy (or validate, with ``check_only``) the project's package or ``path``;
    ``wait_minutes=None`` submits without waiting.

    A committing deploy first retrieves what the org has of the package and stores it as a
    snapshot; a package the org already has is not sent unless ``force``. A production
    profile takes only a package a sandbox of the project has taken (``force`` with a
    ``reason`` overrides, and the ledger keeps the reason)."""
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
    forced_reason = require_proof(
        Ledger(project.config.state_dir), chosen, pkg.identity, force=force, reason=reason
    )
    with session(project, org, on_progress) as s:
        if allow_partial and not s.organization().is_sandbox:
            raise UsageError(
                "--allow-partial keeps what deployed when some components fail, which "
                f"Salesforce allows only in a sandbox, and the org of {org} is not one "
                f"({s.organization().edition}): it would roll back on any error all the same",
                hint="drop --allow-partial, or deploy to a sandbox (such as rehearsal-sandbox)",
            )
        checked = None
        if not skip_preflight:
            checked = run_preflight(s.connection, chosen, project.config.coverage)
            if not checked.passed:
                return DeployRun(checked, None)
        plan = None
        sent = patched(s.retriever, pkg)  # the org's layouts, with the package's patches
        if not check_only or only_changed:
            plan = make_plan(s.retriever, sent)
            if not plan.effective and (only_changed or not force):
                proof = None if check_only else s.prove_held(pkg.identity)
                return DeployRun(checked, None, plan, proof=proof)
            if only_changed:
                sent = plan.only_effective()
        gone = plan.already_absent if plan is not None else absent(s.retriever, pkg.deletes)
        if gone:
            sent = sent.without_deletes(gone)
        snapshot = None
        if check_only:
            kept = PackageStore(project.config.state_dir)
            kept.save(sent)
            kept.save(pkg)  # the whole package too, so a promotion can compare a sandbox with it
        else:
            assert plan is not None
            taken = plan.snapshot("deploy", s.connection, now(), sent)
            snapshot = s.save_snapshot(taken, plan.retrieved.zips)
        report = s.deployer.deploy(
            sent, options, wait_minutes=wait_minutes, on_submit=s.submitted(snapshot)
        )
        with _recorded(report):
            s.settle(report, snapshot, forced_reason=forced_reason)
        return DeployRun(checked, report, plan, snapshot, left_out=tuple(gone))


@contextmanager
def _recorded(report: DeployReport) -> Iterator[None]:
    """Recording what the org said of a deploy it has (snapshot outcome, ledger) may fail."""
    if not report.deploy_id:
        yield
        return
    with in_the_org(report.deploy_id, report.org):
        yield


def _package(project: Project, path: Path | None) -> DeployPackage:
    if path is None:
        return package.from_project(project)
    return package.from_path(path, project.api_version)


def plan(project: Project, org: str, *, path: Path | None = None) -> Plan:
    """What deploying the project's package (or ``path``) would change in the org now, and
    what the org has of the project that the package no longer declares (``drift``)."""
    pkg = _package(project, path)
    with session(project, org) as s:
        merged = patched(s.retriever, pkg)  # a patched layout is the package's, not drift
        found = make_plan(s.retriever, merged)
        earlier = s.snapshots.deployed_to(org) if path is None else ()
        return replace(found, drift=find_drift(s.retriever, merged, earlier))


def quick(
    project: Project,
    org: str,
    *,
    validation_id: str | None = None,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    force: bool = False,
    reason: str | None = None,
    on_progress: ProgressHandler | None = None,
) -> DeployRun:
    """Quick-deploy a validation (the given id, else the latest successful validation of the
    project's current package on this org), after taking its snapshot."""
    state = project.config.state_dir
    history = DeployHistory(state)
    if validation_id is None:
        current = package.from_project(project).identity
        found = history.latest_validation(org, current)
        if found is None:
            _refuse_under_gate(history.latest_validation(org, current, "coverage_miss"), org)
            raise UsageError(
                f"no successful validation of the current package on {org} is recorded",
                hint=f"run `sftk deploy --org {org} --check-only` first, or pass --validation-id",
            )
        validation_id = found.id
    record = history.find(org, validation_id)
    _refuse_under_gate(record, org)
    validated = _validated_package(project, record)
    if record is None or validated is None:
        raise UsageError(
            f"sftk does not know which package validation {validation_id} holds, so it cannot "
            "take the snapshot a deploy needs first",
            hint=f"validate through sftk (`sftk deploy --org {org} --check-only`), then quick "
            "deploy that validation",
        )
    forced_reason = require_proof(
        Ledger(state),
        find_profile(project.config, org),
        record.package_hash,
        force=force,
        reason=reason,
    )
    with session(project, org, on_progress) as s:
        plan = make_plan(s.retriever, validated)
        taken = plan.snapshot("quick", s.connection, now(), validated)
        snapshot = s.save_snapshot(taken, plan.retrieved.zips)
        report = s.deployer.quick(
            validation_id, wait_minutes=wait_minutes, on_submit=s.submitted(snapshot)
        )
        with _recorded(report):
            s.settle(report, snapshot, forced_reason=forced_reason)
        return DeployRun(None, report, plan, snapshot)


def _refuse_under_gate(record: DeployRecord | None, org: str) -> None:
    """The org took the validation, the project's coverage gate did not: deploying it would
    put code under the bar in the org, which is what validating first is for."""
    if record is None or record.outcome != Outcome.COVERAGE_MISS.value:
        return
    raise CoverageGateMissed(
        f"validation {record.id} of this package on {org} missed the project's coverage gate, "
        "so it is not quick-deployed",
        hint=f"`sftk deploy report {record.id} --org {org}` names the classes under the bar; "
        f"raise their coverage and validate again (`sftk deploy --org {org} --check-only`), "
        "or change the bars in [coverage] of sftk.toml",
    )


def _validated_package(project: Project, record: DeployRecord | None) -> DeployPackage | None:
    """What a recorded validation sent: kept at validation time, else the project's current
    package when that is still the same."""
    if record is None:
        return None
    kept = PackageStore(project.config.state_dir).load(record.sent_hash or record.package_hash)
    if kept is not None:
        return kept
    current = package.from_project(project)
    return current if current.content_hash == record.package_hash else None


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


@contextmanager
def _watching(deploy_id: str, org: str) -> Iterator[None]:
    """A deploy named by id: one the org does not know is a usage error; any other failure
    leaves the deploy where it is, and the error says how to pick it up."""
    try:
        with in_the_org(deploy_id, org):
            yield
    except OrgError as error:
        if error.code != "INVALID_ID_FIELD":
            raise
        raise UsageError(
            f"the org of profile {org} knows no deploy {deploy_id}",
            hint=f"check the id; without one, the command takes the latest deploy to {org} "
            "this project recorded",
        ) from None


def resume(
    project: Project,
    org: str,
    deploy_id: str | None = None,
    *,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> DeployReport:
    chosen = _deploy_id(project, org, deploy_id)
    with session(project, org, on_progress) as s, _watching(chosen, org):
        report = s.deployer.wait(chosen, wait_minutes)
        s.settle(report)
        return report


def report(project: Project, org: str, deploy_id: str | None = None) -> DeployReport:
    chosen = _deploy_id(project, org, deploy_id)
    with session(project, org) as s, _watching(chosen, org):
        found = s.deployer.report(chosen)
        s.settle(found)
        return found


def cancel(
    project: Project,
    org: str,
    deploy_id: str | None = None,
    *,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> CancelReport:
    chosen = _deploy_id(project, org, deploy_id)
    with session(project, org, on_progress) as s, _watching(chosen, org):
        found = s.deployer.cancel(chosen, wait_minutes=wait_minutes)
        s.settle(found.report)
        return found


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


def coverage_profile(project: Project, org: str) -> dict[str, Any]:
    """The coverage profile of a local org: what stands in for its Apex test runs."""
    with open_connection(project.config, _local(project, org)) as conn:
        return local_control.coverage_profile(conn)


def set_coverage_profile(
    project: Project, org: str, profile: dict[str, Any], *, source: str
) -> dict[str, Any]:
    """Give a local org the coverage its deploys' test runs report (``source`` names where
    the profile came from, for messages). A real org measures coverage by running tests."""
    with open_connection(project.config, _local(project, org)) as conn:
        try:
            return local_control.set_coverage_profile(conn, profile)
        except OrgError as error:
            if error.code != "INVALID_FIELD":
                raise
            message = error.message.partition(": INVALID_FIELD: ")[2] or error.message
            raise ConfigError(
                f"{source}: {message}",
                hint="docs/localorg.md shows the profile: classes and triggers with covered and "
                "uncovered lines, test classes with their methods and failures",
            ) from None


def _local(project: Project, org: str) -> str:
    chosen = find_profile(project.config, org)
    if not is_local(chosen):
        raise UsageError(
            f"org profile {org} is a real org (auth = {chosen.auth}): it measures coverage by "
            "running Apex tests, and nobody tells it what they cover",
            hint='coverage profiles are for sftk\'s local orgs (auth = "local")',
        )
    return org


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


def apex_files(project: Project, path: Path | None = None) -> dict[tuple[str, str], str]:
    """Where the Apex classes and triggers of the package (of ``path`` when given) live, by
    ("Class" or "Trigger", lower-case name), relative to the project folder, so that coverage
    reports name the files a person edits, wherever the project keeps them."""
    found: dict[tuple[str, str], str] = {}
    for folder in [path] if path is not None else project.config.metadata_dirs:
        for file in sorted(folder.rglob("*")) if folder.is_dir() else ():
            kind = _APEX_SUFFIXES.get(file.suffix)
            if kind is not None and file.is_file():
                found.setdefault((kind, file.stem.lower()), project.config.display(file.resolve()))
    return found


_APEX_SUFFIXES = {".cls": "Class", ".trigger": "Trigger"}


def write_ci_reports(
    report: DeployReport | CoverageRun,
    *,
    junit: Path | None,
    cobertura: Path | None,
    sources: Mapping[tuple[str, str], str] | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """JUnit (tests) and Cobertura (coverage) files for CI systems, written atomically.
    ``sources`` (``apex_files``) gives each class's file for Cobertura."""
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
        data = ci_reports.cobertura_xml(
            classes, int(moment.timestamp() * 1000), files=sources or {}
        )
        atomic_write_bytes(cobertura, data)
