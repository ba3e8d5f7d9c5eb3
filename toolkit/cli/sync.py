"""The sync commands of ``sftk``: sync, runs, deadletters and mappings. Thin: parse, call
``toolkit.sync``, print, exit truthfully (``toolkit.sync.report.EXIT_CODES``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from toolkit.cli.common import (
    Options,
    emit_json,
    err,
    json_option,
    org_option,
    out,
    print_lines,
)
from toolkit.errors import ExitCode, UsageError
from toolkit.project import Project
from toolkit.sync.dryrun import DryRunReport
from toolkit.sync.dryrun import dry_run as run_dry
from toolkit.sync.engine import sync
from toolkit.sync.mappings_view import StreamView, show_mappings
from toolkit.sync.options import StreamProgress, SyncOptions
from toolkit.sync.report import EXIT_CODES, run_lines
from toolkit.sync.state import SyncState

plugin_option = click.option("--plugin", help="Only the streams of this plugin.")
stream_option = click.option("--stream", help="Only this stream (NAME or PLUGIN.NAME).")


class SyncProgressView:
    """On a terminal, a live line per stream; elsewhere (CI logs) one line per stream when
    it is done; nothing with --json."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __call__(self, progress: StreamProgress) -> None:
        if not self.enabled:
            return
        name = f"{progress.plugin}.{progress.stream}"
        counts = (
            f"read {progress.read}, written {progress.written}, unchanged {progress.unchanged}"
            + (f", dead-lettered {progress.dead_lettered}" if progress.dead_lettered else "")
        )
        if not err.is_terminal:
            if progress.done:
                err.print(escape(f"{name}: {counts}"))
            return
        if self.bar is None:
            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            self.bar.start()
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(escape(name), total=None, counts="")
        self.bar.update(self.tasks[name], counts=escape(counts))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command(name="sync")
@org_option
@plugin_option
@stream_option
@click.option("--dry-run", is_flag=True, help="Map and check every record; write nothing.")
@click.option("--full-refresh", is_flag=True, help="Ignore cursors and hashes: send everything.")
@click.option("--historic", is_flag=True, help="Ask sources that can for older records too.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="With --historic: back to this date (YYYY-MM-DD).",
)
@click.option(
    "--reconcile",
    is_flag=True,
    help="Read the org's records back and re-send those edited in Salesforce.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --reason: a plugin's first sync into production without a sandbox run.",
)
@click.option("--reason", help="Why the sandbox-first rule is overridden (kept with the run).")
@json_option
@click.pass_obj
def sync_command(
    opts: Options,
    org: str,
    plugin: str | None,
    stream: str | None,
    dry_run: bool,
    full_refresh: bool,
    historic: bool,
    since: dt.datetime | None,
    reconcile: bool,
    force: bool,
    reason: str | None,
    as_json: bool,
) -> int:
    """Sync records from the enabled plugins' sources into an org: upserts by External ID,
    parents first; unchanged records are not sent again. Exit 13 when records were
    dead-lettered, 14 when the API guard stopped the run, 15 when a source could not be read."""
    if since is not None and not historic:
        raise UsageError("--since goes with --historic", hint="add --historic")
    if force != (reason is not None):
        raise UsageError(
            "--force and --reason go together",
            hint='write --force --reason "why production cannot wait for a sandbox run"',
        )
    options = SyncOptions(
        plugin=plugin,
        stream=stream,
        full_refresh=full_refresh,
        historic=historic,
        since=since.date() if since else None,
        reconcile=reconcile,
        force_reason=reason,
    )
    project = opts.project()
    if dry_run:
        checked = run_dry(project, org, options)
        _print_dry_run(checked, as_json)
        return int(ExitCode.OK if checked.ok else ExitCode.PROBLEMS_FOUND)
    return _synced(project, org, options, as_json)


def _synced(project: Project, org: str, options: SyncOptions, as_json: bool) -> int:
    """Run the sync with progress on stderr, print its report, exit by its status."""
    view = SyncProgressView(not as_json)
    try:
        report = sync(project, org, options, on_progress=view)
    finally:
        view.close()
    if as_json:
        emit_json(report.to_json())
    else:
        print_lines(run_lines(report), report.status == "succeeded")
    return int(EXIT_CODES[report.status])


@contextmanager
def _state(opts: Options) -> Iterator[SyncState]:
    state = SyncState.open(opts.project().config.state_dir)
    try:
        yield state
    finally:
        state.close()


def _print_dry_run(report: DryRunReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    verdict = "no problems" if report.ok else f"{len(report.problems)} problem(s)"
    lines = [f"dry run against {report.org}: {verdict}; nothing was written"]
    for s in report.streams:
        lines.append(f"  {s.plugin}.{s.stream} -> {s.object}: read {s.read}, problems {s.problems}")
        if s.error:
            lines.append(f"    error: {s.error}")
    for p in report.problems:
        lines.append(f"  {p.where}: {p.stream} {p.key}: {p.field}: {p.code}: {p.message}")
    print_lines(lines, report.ok)


@click.command(name="runs")
@click.argument("run_id", required=False)
@click.option("--limit", default=20, show_default=True, help="How many runs to list.")
@json_option
@click.pass_obj
def runs_command(opts: Options, run_id: str | None, limit: int, as_json: bool) -> int:
    """The sync runs of this project, newest first; with RUN_ID (or its start), that run's
    report."""
    with _state(opts) as state:
        rows = state.runs(run_id, None if run_id else limit)
    if run_id is not None:
        if not rows:
            raise UsageError(f"no sync run {run_id!r}", hint="`sftk runs` lists them")
        if len(rows) > 1:
            raise UsageError(
                f"{run_id!r} starts {len(rows)} run ids",
                hint="give more of it: " + ", ".join(r.id for r in rows[:5]),
            )
        row = rows[0]
        if as_json:
            emit_json(
                row.report.to_json()
                if row.report
                else {"run_id": row.id, "status": row.status, "org": row.org}
            )
        elif row.report is not None:
            print_lines(run_lines(row.report), row.report.status == "succeeded")
        else:
            out.print(escape(f"run {row.id} into {row.org}: {row.status} (no report was kept)"))
        return int(ExitCode.OK)
    if as_json:
        emit_json([_run_row(row) for row in rows])
        return int(ExitCode.OK)
    if not rows:
        out.print("no sync runs yet: `sftk sync --org NAME` runs one")
    for row in rows:
        summary = _run_row(row)
        out.print(
            escape(
                f"{row.id}  {row.org:<18} {row.mode:<12} {row.status:<11} "
                f"written {summary['written']}, dead-lettered {summary['dead_lettered']}"
            )
        )
    return int(ExitCode.OK)


def _run_row(row: Any) -> dict[str, Any]:
    report = row.report
    return {
        "run_id": row.id,
        "org": row.org,
        "org_id": row.org_id,
        "kind": row.kind,
        "mode": row.mode,
        "plugins": list(row.plugins),
        "status": row.status,
        "started": row.started,
        "written": report.total("written") if report else 0,
        "dead_lettered": report.total("dead_lettered") if report else 0,
    }


@click.group(name="deadletters")
def deadletters() -> None:
    """Records Salesforce refused for good (or that could not be read or mapped): list them,
    send them again once the source is fixed, or purge them."""


def _org_ids(state: SyncState, org: str | None) -> list[str | None]:
    """The org Ids ``--org`` means (every one the profile synced into), or all orgs."""
    return [None] if org is None else list(state.org_ids(org))


@deadletters.command(name="list")
@click.option("--org", help="Only those of this org profile.")
@plugin_option
@stream_option
@json_option
@click.pass_obj
def deadletters_list(
    opts: Options, org: str | None, plugin: str | None, stream: str | None, as_json: bool
) -> int:
    """The dead letters, with their error codes, payloads and where they came from."""
    with _state(opts) as state:
        letters = [
            letter
            for org_id in _org_ids(state, org)
            for letter in state.dead_letters(org_id, plugin, stream)
        ]
    if as_json:
        emit_json([letter.to_json() for letter in letters])
        return int(ExitCode.OK)
    if not letters:
        out.print("no dead letters")
    for letter in letters:
        fields = f" [{', '.join(letter.fields)}]" if letter.fields else ""
        out.print(
            escape(
                f"{letter.plugin}.{letter.stream} {letter.key}: {letter.code}: {letter.message}"
                f"{fields} ({letter.location or 'no location'}; {letter.attempts} attempt(s), "
                f"last {letter.last_at})"
            )
        )
    return int(ExitCode.OK)


@deadletters.command(name="retry")
@org_option
@plugin_option
@stream_option
@json_option
@click.pass_obj
def deadletters_retry(
    opts: Options, org: str, plugin: str | None, stream: str | None, as_json: bool
) -> int:
    """Send the dead letters' records again, read afresh from the source (fix it first)."""
    options = SyncOptions(plugin=plugin, stream=stream, retry=True)
    return _synced(opts.project(), org, options, as_json)


@deadletters.command(name="purge")
@click.option("--org", help="Only those of this org profile.")
@plugin_option
@stream_option
@json_option
@click.pass_obj
def deadletters_purge(
    opts: Options, org: str | None, plugin: str | None, stream: str | None, as_json: bool
) -> int:
    """Forget dead letters (the records stay out of Salesforce until they change)."""
    with _state(opts) as state:
        purged = sum(state.purge(org_id, plugin, stream) for org_id in _org_ids(state, org))
    if as_json:
        emit_json({"purged": purged})
    else:
        out.print(f"purged {purged} dead letter(s)")
    return int(ExitCode.OK)


@click.group(name="mappings")
def mappings() -> None:
    """The field mappings of the streams: source field -> Salesforce field."""


@mappings.command(name="show")
@plugin_option
@stream_option
@click.option("--org", help="Check every line against this org's describe.")
@json_option
@click.pass_obj
def mappings_show(
    opts: Options, plugin: str | None, stream: str | None, org: str | None, as_json: bool
) -> int:
    """Each stream's mapping line by line: Salesforce field, source, steps, type, and where
    the line comes from (default, or a line of sftk.toml). Exit 1 when --org finds errors."""
    views = show_mappings(opts.project(), plugin, stream, org)
    errors = sum(view.errors for view in views)
    if as_json:
        emit_json([view.to_json() for view in views])
    else:
        for view in views:
            _print_view(view)
    return int(ExitCode.PROBLEMS_FOUND if errors else ExitCode.OK)


def _print_view(view: StreamView) -> None:
    checked = f", checked against {view.checked_against}" if view.checked_against else ""
    out.print(escape(f"{view.plugin}.{view.stream} -> {view.object}{checked}"))
    width = max((len(row.target) for row in view.rows), default=0)
    for row in view.rows:
        steps = f" [{row.steps}]" if row.steps else ""
        out.print(
            escape(
                f"  {row.target.ljust(width)}  <- {row.source}{steps}  ({row.type}; {row.origin})"
            )
        )
        for problem in row.problems:
            colour = "red" if problem.startswith("error") else "yellow"
            out.print(f"      [{colour}]{escape(problem)}[/]")


COMMANDS = (sync_command, runs_command, deadletters, mappings)
