"""The commands of ``sftk`` that make deploys undoable and production safe: plan, snapshots,
backup, rollback, promote and ledger. Thin: parse, call the library, print, exit truthfully."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape

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
from toolkit.cli.deploy import (
    print_preflight,
    progress,
    wait_option,
    wait_or_default,
)
from toolkit.config import FORMATS
from toolkit.deploy import commands, promotion, recovery
from toolkit.deploy.ledger import Ledger
from toolkit.deploy.policy import EXIT_CODES
from toolkit.deploy.undo_text import (
    backup_lines,
    ledger_lines,
    plan_json,
    plan_lines,
    promote_json,
    promote_lines,
    rollback_json,
    rollback_lines,
    snapshot_json,
    snapshot_lines,
    snapshot_row,
)
from toolkit.errors import ExitCode
from toolkit.salesforce.results import TEST_LEVELS


@click.command(name="plan")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@org_option
@click.option("--diff", "with_diff", is_flag=True, help="Show a diff for each changed component.")
@json_option
@click.pass_obj
def plan_command(opts: Options, path: Path | None, org: str, with_diff: bool, as_json: bool) -> int:
    """What deploying the project's package (or PATH) would change in an org: new, changed,
    unchanged and deleted components, compared by meaning (order and layout noise ignored)."""
    found = commands.plan(opts.project(), org, path=path)
    if as_json:
        emit_json(plan_json(found, with_diff))
    else:
        for line in plan_lines(found, with_diff):
            out.print(escape(line))
    return int(ExitCode.OK)


@click.group()
def snapshots() -> None:
    """The snapshots taken before deploys, rollbacks and backups (in .sftk/snapshots/)."""


@snapshots.command(name="list")
@click.option("--org", "org", help="Only this org profile's snapshots.")
@json_option
@click.pass_obj
def list_command(opts: Options, org: str | None, as_json: bool) -> int:
    """Snapshots, newest first."""
    project = opts.project()
    views = recovery.list_snapshots(project, org)
    damaged = recovery.damaged_snapshots(project)
    if as_json:
        emit_json(
            {
                "snapshots": [snapshot_json(v, with_components=False) for v in views],
                "damaged": sorted(damaged),
            }
        )
    else:
        for view in views:
            out.print(escape(snapshot_row(view)))
        if not views and not damaged:
            out.print("no snapshots yet: `sftk deploy` takes one before every deploy")
    for snapshot_id, why in sorted(damaged.items()):
        short = snapshot_id[:12]
        detail = escape(why.removeprefix(f"snapshot {short}: "))
        err.print(f"[yellow]warning:[/] snapshot {short} fails its integrity check: {detail}")
    return int(ExitCode.OK)


@snapshots.command(name="prune")
@click.option(
    "--keep", type=click.IntRange(min=1), required=True, help="Snapshots to keep per org."
)
@click.option("--org", "org", help="Only this org profile's snapshots.")
@json_option
@click.pass_obj
def prune_command(opts: Options, keep: int, org: str | None, as_json: bool) -> int:
    """Remove all but the KEEP newest snapshots of each org profile, and the zips no snapshot
    needs any more. Damaged snapshots are left alone."""
    removed = recovery.prune_snapshots(opts.project(), keep, org)
    if as_json:
        emit_json({"removed": [s.id for s in removed]})
    else:
        for snapshot in removed:
            when = f"{snapshot.created_at}  {snapshot.kind} {snapshot.org}"
            out.print(escape(f"removed {snapshot.short_id}  {when}"))
        out.print(f"{len(removed)} snapshot(s) removed, the {keep} newest of each org kept")
    return int(ExitCode.OK)


@snapshots.command(name="show")
@click.argument("snapshot_id")
@json_option
@click.pass_obj
def show_command(opts: Options, snapshot_id: str, as_json: bool) -> int:
    """One snapshot's components, sizes and what was new; its hashes are checked."""
    view = recovery.show_snapshot(opts.project(), snapshot_id)
    if as_json:
        emit_json(snapshot_json(view))
    else:
        for line in snapshot_lines(view):
            out.print(escape(line))
    return int(ExitCode.OK)


@click.command()
@org_option
@click.option("--types", default="", help="Metadata types to back up, comma-separated (all).")
@json_option
@click.pass_obj
def backup(opts: Options, org: str, types: str, as_json: bool) -> int:
    """Retrieve and keep every component of the org's metadata (of TYPES) as a snapshot."""
    wanted = comma_list(types)
    snapshot = recovery.backup(opts.project(), org, types=wanted)
    if as_json:
        emit_json({"snapshot": snapshot.id, "components": len(snapshot.components)})
    else:
        print_lines(backup_lines(snapshot), True)
    return int(ExitCode.OK)


@click.command(name="retrieve")
@org_option
@click.option("--types", default="", help="Metadata types to retrieve, comma-separated (all).")
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Retrieve what this package.xml names (* members are listed in the org).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write (replaced whole: new, empty, or an earlier retrieve).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="mdapi",
    show_default=True,
    help="Metadata API format or Salesforce DX source format.",
)
@json_option
@click.pass_obj
def retrieve_command(
    opts: Options,
    org: str,
    types: str,
    manifest_file: Path | None,
    out_dir: Path,
    output_format: str,
    as_json: bool,
) -> int:
    """Retrieve the org's metadata into a folder (snapshots keep theirs as zips)."""
    wanted = comma_list(types)
    done = recovery.retrieve(
        opts.project(),
        org,
        out_dir,
        types=wanted,
        manifest_file=manifest_file,
        output_format=output_format,
    )
    if as_json:
        emit_json(
            {
                "output": str(done.out),
                "format": done.format,
                "files": [f.path for f in done.files],
                "components": [str(ref) for ref in done.components],
            }
        )
    else:
        out.print(
            escape(
                f"retrieved {len(done.components)} components from {org} into {done.out} "
                f"({done.format}, {len(done.files)} files)"
            )
        )
    return int(ExitCode.OK)


@click.command()
@click.argument("snapshot_id", required=False)
@org_option
@click.option(
    "--dry-run", is_flag=True, help="Show the steps and what they would delete; change nothing."
)
@click.option(
    "--delete-data",
    is_flag=True,
    help="Delete objects and fields even though they hold records (counted first).",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Also undo the later deploys a rollback to an older snapshot undoes.",
)
@wait_option
@json_option
@click.pass_obj
def rollback(
    opts: Options,
    snapshot_id: str | None,
    org: str,
    dry_run: bool,
    delete_data: bool,
    yes: bool,
    wait_minutes: float | None,
    as_json: bool,
) -> int:
    """Undo a deploy from its snapshot (by default the latest deploy still in effect), then
    verify that the org matches the snapshot again.

    Deletes that would take records with them, and undoing later deploys too, are asked about
    on a terminal and refused elsewhere unless --delete-data and --yes say so."""
    with progress(as_json) as view:
        report = recovery.rollback(
            opts.project(),
            org,
            snapshot_id,
            wait_minutes=wait_or_default(wait_minutes),
            on_progress=view,
            dry_run=dry_run,
            delete_data=delete_data,
            yes=yes,
            confirm=_ask,
        )
    failed = next((s.report for s in report.steps if s.report and not s.succeeded), None)
    if failed is not None:
        code = EXIT_CODES[failed.outcome]
    elif report.verified or report.dry_run:
        code = ExitCode.OK
    else:
        code = ExitCode.ROLLBACK_UNVERIFIED
    if as_json:
        emit_json(rollback_json(report))
    else:
        print_lines(rollback_lines(report), code == ExitCode.OK)
    return int(code)


def _ask(asked: recovery.Confirmation) -> bool:
    """On a terminal, say what the rollback would take and let the person decide."""
    if not (sys.stdin.isatty() and err.is_terminal):
        return False
    for risk in asked.at_risk:
        err.print(
            f"[yellow]data:[/] {escape(str(risk.ref))}: {escape(risk.detail)} would be deleted"
        )
    for later in asked.undone_too:
        err.print(
            f"[yellow]also undone:[/] the {later.kind} of {later.created_at} "
            f"(snapshot {later.short_id})"
        )
    return click.confirm("Roll back anyway?", default=False, err=True)


@click.command()
@click.option("--from", "source", required=True, help="The sandbox profile the package went to.")
@click.option("--to", "target", required=True, help="The production profile to promote to.")
@click.option(
    "--check-only", is_flag=True, help="Only validate on the target (promote it later by id)."
)
@click.option("--validation-id", help="Promote this earlier validation instead of validating.")
@click.option(
    "--test-level",
    type=click.Choice(TEST_LEVELS),
    help=f"Tests of the validation (default {promotion.PROMOTION_TEST_LEVEL}).",
)
@click.option("--tests", default="", help="Test classes for RunSpecifiedTests, comma-separated.")
@click.option("--skip-preflight", is_flag=True, help="Validate without the preflight checks.")
@wait_option
@json_option
@click.pass_obj
def promote(
    opts: Options,
    source: str,
    target: str,
    check_only: bool,
    validation_id: str | None,
    test_level: str | None,
    tests: str,
    skip_preflight: bool,
    wait_minutes: float | None,
    as_json: bool,
) -> int:
    """Validate on production what a sandbox already took, with tests, then quick deploy
    that validation (snapshot first)."""
    with progress(as_json) as view:
        run = promotion.promote(
            opts.project(),
            source,
            target,
            validation_id=validation_id,
            check_only=check_only,
            test_level=test_level,
            tests=comma_list(tests),
            skip_preflight=skip_preflight,
            wait_minutes=wait_or_default(wait_minutes),
            on_progress=view,
        )
    last = run.deploy or run.validation
    code = ExitCode.OK
    if last is not None and last.report is not None:
        code = EXIT_CODES[last.report.outcome]
    elif last is not None and last.preflight is not None and not last.preflight.passed:
        code = ExitCode.PREFLIGHT_FAILED
    if as_json:
        emit_json(promote_json(run))
        return int(code)
    if code == ExitCode.PREFLIGHT_FAILED:
        assert last is not None and last.preflight is not None
        print_preflight(last.preflight, False)
        err.print("[red]nothing was validated[/]: fix the failed checks or --skip-preflight")
    print_lines(promote_lines(run), code == ExitCode.OK)
    return int(code)


@click.command()
@json_option
@click.pass_obj
def ledger(opts: Options, as_json: bool) -> int:
    """Every successful validation, deploy, quick deploy and rollback of this project."""
    entries = Ledger(opts.project().config.state_dir).entries()
    if as_json:
        emit_json({"entries": [asdict(e) for e in entries]})
    else:
        for line in ledger_lines(entries):
            out.print(escape(line))
    return int(ExitCode.OK)


COMMANDS: Sequence[click.Command] = (
    plan_command,
    snapshots,
    backup,
    retrieve_command,
    rollback,
    promote,
    ledger,
)
