"""The deploy commands of ``sftk``: preflight, deploy (validate, quick, report, resume,
cancel) and coverage. Thin: parse, call ``toolkit.deploy.commands``, print, exit truthfully."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from toolkit.cli.common import (
    Options,
    comma_list,
    emit_json,
    err,
    json_option,
    org_option,
    out,
    print_lines,
)
from toolkit.deploy import commands, coverage
from toolkit.deploy.policy import DEFAULT_WAIT_MINUTES, EXIT_CODES
from toolkit.deploy.preflight import PreflightReport
from toolkit.deploy.report_text import (
    preflight_json,
    preflight_lines,
    report_json,
    report_lines,
)
from toolkit.deploy.runner import DeployReport
from toolkit.deploy.undo_text import deploy_run_json, deploy_run_lines
from toolkit.errors import ExitCode
from toolkit.salesforce.results import TEST_LEVELS, DeployResult

_STYLES = {"pass": "green", "warn": "yellow", "fail": "red"}


class ProgressView:
    """A live bar on a terminal; elsewhere (CI logs) one line whenever the state changes, so
    a long deploy never looks hung and a log never fills with repeats."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.live = enabled and err.is_terminal
        self.last: tuple[Any, ...] | None = None
        self.bar: Progress | None = None
        self.task: Any = None

    def __call__(self, result: DeployResult) -> None:
        if not self.enabled:
            return
        components = f"{result.number_components_deployed}/{result.number_components_total}"
        tests = f"{result.number_tests_completed}/{result.number_tests_total}"
        stage = result.state_detail or result.status
        if self.live:
            self._draw(result, stage)
            return
        state = (result.status, stage, components, tests, result.number_component_errors)
        if state != self.last:
            self.last = state
            line = f"{result.id} {result.status}: {stage}; components {components}"
            if result.number_tests_total:
                line += f"; tests {tests} ({result.number_test_errors} failed)"
            err.print(escape(line))

    def _draw(self, result: DeployResult, stage: str) -> None:
        if self.bar is None:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[tests]}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("deploy", total=None, tests="")
        tests = ""
        if result.number_tests_total:
            tests = f"tests {result.number_tests_completed}/{result.number_tests_total}"
        self.bar.update(
            self.task,
            description=escape(stage),
            total=result.number_components_total or None,
            completed=result.number_components_deployed,
            tests=tests,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def progress(as_json: bool) -> Iterator[ProgressView]:
    """Progress on stderr while a command waits on the org (none with --json)."""
    view = ProgressView(not as_json)
    try:
        yield view
    finally:
        view.close()


@dataclass(frozen=True)
class Reports:
    """The CI files a command was asked for, and where the package's Apex lives."""

    junit: Path | None = None
    cobertura: Path | None = None
    sources: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, opts: Options, junit: Path | None, cobertura: Path | None, path: Path | None = None
    ) -> Reports:
        sources = commands.apex_files(opts.project(), path) if cobertura else {}
        return cls(junit, cobertura, sources)

    def write(self, report: DeployReport | commands.CoverageRun) -> None:
        if self.junit or self.cobertura:
            commands.write_ci_reports(
                report, junit=self.junit, cobertura=self.cobertura, sources=self.sources
            )


def _finish(report: DeployReport, as_json: bool, reports: Reports) -> int:
    reports.write(report)
    if as_json:
        emit_json(report_json(report))
    else:
        print_lines(report_lines(report), EXIT_CODES[report.outcome] == ExitCode.OK)
    return int(EXIT_CODES[report.outcome])


def _finish_run(run: commands.DeployRun, as_json: bool, reports: Reports) -> int:
    """A deploy that may have taken a snapshot, or found nothing to send."""
    if run.report is not None:
        reports.write(run.report)
    code = ExitCode.OK if run.report is None else EXIT_CODES[run.report.outcome]
    if as_json:
        emit_json(deploy_run_json(run))
    else:
        print_lines(deploy_run_lines(run), code == ExitCode.OK)
    return int(code)


def wait_or_default(minutes: float | None) -> float:
    return DEFAULT_WAIT_MINUTES if minutes is None else minutes


wait_option = click.option(
    "--wait",
    "wait_minutes",
    type=click.FloatRange(min=0),
    help=f"Minutes to wait for the deploy (default {DEFAULT_WAIT_MINUTES:g}).",
)
junit_option = click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the Apex test results as JUnit XML here.",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="Deploy even when the org already has the package; on production, with --reason, "
    "deploy a package no sandbox has taken.",
)
reason_option = click.option(
    "--reason", help="Why a production deploy is forced (kept in the ledger)."
)
cobertura_option = click.option(
    "--cobertura",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the Apex coverage as Cobertura XML here.",
)


@click.command()
@org_option
@json_option
@click.pass_obj
def preflight(opts: Options, org: str, as_json: bool) -> int:
    """Check that an org can take a deploy: edition, permissions, API requests, coverage."""
    report = commands.preflight(opts.project(), org)
    print_preflight(report, as_json)
    return int(ExitCode.OK if report.passed else ExitCode.PREFLIGHT_FAILED)


def print_preflight(report: PreflightReport, as_json: bool) -> None:
    if as_json:
        emit_json(preflight_json(report))
        return
    for line in preflight_lines(report):
        status = line.split(" ", 1)[0].lower()
        style = _STYLES.get(status)
        out.print(f"[{style}]{escape(line)}[/]" if style else escape(line))


class _DeployGroup(click.Group):
    """``sftk deploy [PATH]`` deploys; ``sftk deploy quick|report|resume|cancel`` manage
    deploys. A first argument that is not a subcommand goes to the hidden ``run``, and the
    group's help shows run's usage and options with the subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in (*self.commands, "-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        run_command = self.commands["run"]
        run_ctx = click.Context(run_command, info_name=ctx.info_name, parent=ctx.parent)
        run_command.format_usage(run_ctx, formatter)
        formatter.write_usage(ctx.command_path, "quick|report|resume|cancel [ARGS]...", "   or: ")
        self.format_help_text(ctx, formatter)
        run_command.format_options(run_ctx, formatter)
        self.format_commands(ctx, formatter)


@click.group(cls=_DeployGroup)
def deploy() -> None:
    """Deploy the project's package (or PATH) to an org, or with --check-only validate it; the
    subcommands quick-deploy a validation and report on, resume or cancel a deploy.

    A deploy first stores a snapshot of what the org has of the package (`sftk rollback`
    undoes the deploy from it) and sends nothing when the org already has it all."""


@deploy.command(name="run", hidden=True)
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@org_option
@click.option("--check-only", is_flag=True, help="Validate only: nothing is saved in the org.")
@click.option("--test-level", type=click.Choice(TEST_LEVELS), help="Which Apex tests run.")
@click.option("--tests", default="", help="Test classes for RunSpecifiedTests, comma-separated.")
@click.option("--ignore-warnings", is_flag=True, help="Deploy even when there are warnings.")
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Sandboxes only: keep what deployed when some components fail (no rollback).",
)
@wait_option
@click.option("--async", "run_async", is_flag=True, help="Submit and return the deploy id.")
@click.option("--skip-preflight", is_flag=True, help="Deploy without the preflight checks.")
@click.option(
    "--only-changed",
    is_flag=True,
    help="Send only the components the org does not have as packaged.",
)
@force_option
@reason_option
@junit_option
@cobertura_option
@json_option
@click.pass_obj
def run(
    opts: Options,
    path: Path | None,
    org: str,
    check_only: bool,
    test_level: str | None,
    tests: str,
    ignore_warnings: bool,
    allow_partial: bool,
    wait_minutes: float | None,
    run_async: bool,
    skip_preflight: bool,
    only_changed: bool,
    force: bool,
    reason: str | None,
    junit: Path | None,
    cobertura: Path | None,
    as_json: bool,
) -> int:
    """Deploy (or with --check-only, validate) the project's package or PATH.

    A deploy first stores a snapshot of what the org has of the package (`sftk rollback`
    undoes the deploy from it) and sends nothing when the org already has it all."""
    with progress(as_json) as view:
        done = commands.deploy(
            opts.project(),
            org,
            path=path,
            check_only=check_only,
            test_level=test_level,
            tests=comma_list(tests),
            ignore_warnings=ignore_warnings,
            allow_partial=allow_partial,
            wait_minutes=None if run_async else wait_or_default(wait_minutes),
            skip_preflight=skip_preflight,
            only_changed=only_changed,
            force=force,
            reason=reason,
            on_progress=view,
        )
    if done.report is None and not done.unchanged:
        assert done.preflight is not None
        if as_json:
            emit_json({"preflight": preflight_json(done.preflight), "deploy": None})
        else:
            print_preflight(done.preflight, False)
            err.print("[red]nothing was deployed[/]: fix the failed checks or --skip-preflight")
        return int(ExitCode.PREFLIGHT_FAILED)
    if done.preflight is not None and not as_json:
        warned = [c for c in done.preflight.checks if c.status != "pass"]
        for check in warned:
            err.print(
                f"[yellow]preflight warning:[/] {escape(check.title)}: {escape(check.detail)}"
            )
    return _finish_run(done, as_json, Reports.of(opts, junit, cobertura, path))


@deploy.command()
@org_option
@click.option(
    "--validation-id", help="The validation to deploy (default: the latest of this package)."
)
@wait_option
@force_option
@reason_option
@json_option
@click.pass_obj
def quick(
    opts: Options,
    org: str,
    validation_id: str | None,
    wait_minutes: float | None,
    force: bool,
    reason: str | None,
    as_json: bool,
) -> int:
    """Deploy a validated package without running its tests again (snapshot first)."""
    with progress(as_json) as view:
        done = commands.quick(
            opts.project(),
            org,
            validation_id=validation_id,
            wait_minutes=wait_or_default(wait_minutes),
            force=force,
            reason=reason,
            on_progress=view,
        )
    return _finish_run(done, as_json, Reports())


@deploy.command(name="report")
@click.argument("deploy_id", required=False)
@org_option
@junit_option
@cobertura_option
@json_option
@click.pass_obj
def report_command(
    opts: Options,
    deploy_id: str | None,
    org: str,
    junit: Path | None,
    cobertura: Path | None,
    as_json: bool,
) -> int:
    """Where a deploy stands (default: the latest on this org), with its full report."""
    found = commands.report(opts.project(), org, deploy_id)
    return _finish(found, as_json, Reports.of(opts, junit, cobertura))


@deploy.command()
@click.argument("deploy_id", required=False)
@org_option
@wait_option
@junit_option
@cobertura_option
@json_option
@click.pass_obj
def resume(
    opts: Options,
    deploy_id: str | None,
    org: str,
    wait_minutes: float | None,
    junit: Path | None,
    cobertura: Path | None,
    as_json: bool,
) -> int:
    """Wait again for a deploy that is running (default: the latest on this org)."""
    with progress(as_json) as view:
        report = commands.resume(
            opts.project(),
            org,
            deploy_id,
            wait_minutes=wait_or_default(wait_minutes),
            on_progress=view,
        )
    return _finish(report, as_json, Reports.of(opts, junit, cobertura))


@deploy.command()
@click.argument("deploy_id", required=False)
@org_option
@wait_option
@json_option
@click.pass_obj
def cancel(
    opts: Options, deploy_id: str | None, org: str, wait_minutes: float | None, as_json: bool
) -> int:
    """Cancel a running deploy (default: the latest on this org) and wait until it stops.
    One that has already finished is reported as it ended (exit 0: nothing to cancel)."""
    with progress(as_json) as view:
        done = commands.cancel(
            opts.project(),
            org,
            deploy_id,
            wait_minutes=wait_or_default(wait_minutes),
            on_progress=view,
        )
    if not done.already_finished:
        return _finish(done.report, as_json, Reports())
    if as_json:
        emit_json({**report_json(done.report), "already_finished": True})
    else:
        print_lines(report_lines(done.report), True)
    return int(ExitCode.OK)


@click.command(name="coverage")
@org_option
@junit_option
@cobertura_option
@json_option
@click.pass_obj
def coverage_command(
    opts: Options, org: str, junit: Path | None, cobertura: Path | None, as_json: bool
) -> int:
    """Apex coverage as the org measured it (Tooling API), judged by the project's gate."""
    found = commands.org_coverage(opts.project(), org)
    if junit is not None:
        err.print("[yellow]warning:[/] --junit needs a test run; use it with `sftk deploy`")
    if cobertura is not None:
        Reports.of(opts, None, cobertura).write(found)
    if as_json:
        emit_json(
            {
                "org": found.org,
                "classes": [
                    {
                        "name": c.name,
                        "type": c.type,
                        "percent": round(c.percent, 2),
                        "lines": c.num_locations,
                        "uncovered": c.num_not_covered,
                    }
                    for c in found.classes
                ],
                "gate": asdict(found.gate),
            }
        )
    else:
        for c in found.classes:
            out.print(
                escape(
                    f"{c.type:7} {c.name}: {coverage.floored_percent(c.covered, c.num_locations)}"
                    f"% ({c.covered}/{c.num_locations} lines)"
                )
            )
        for line in coverage.summary_lines(found.gate):
            out.print(escape(line))
    return int(ExitCode.OK if found.gate.passed else ExitCode.COVERAGE_BELOW_GATE)


COMMANDS: Sequence[click.Command] = (preflight, deploy, coverage_command)
