"""``sftk import``: specs from the objects an org or a metadata folder already has."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from toolkit import spec_import
from toolkit.cli.common import Options, comma_list, emit_json, err, json_option, out
from toolkit.errors import ExitCode, UsageError


@click.command(name="import")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--org", "org", help="Org profile to retrieve the objects from (with --objects).")
@click.option("--objects", default=None, help="Objects to import, comma-separated (all in PATH).")
@click.option(
    "--keep-dir",
    help="Project folder for what specs cannot say (default: the first of [project] "
    f"metadata_dirs, else {spec_import.DEFAULT_KEEP_DIR}).",
)
@click.option("--force", is_flag=True, help="Replace spec files and hand-written files there.")
@json_option
@click.pass_obj
def import_command(
    opts: Options,
    path: Path | None,
    org: str | None,
    objects: str | None,
    keep_dir: str | None,
    force: bool,
    as_json: bool,
) -> int:
    """Write specs for objects that exist: from an org (--org NAME --objects A,B) or from a
    metadata folder, a source folder or a Salesforce DX project (PATH, every object in it
    unless --objects). What specs cannot say is kept as hand-written files, listed here."""
    names = None if objects is None else comma_list(objects)
    if names is not None and not names:
        raise UsageError("--objects names no object", hint="e.g. --objects Course__c,Contact")
    if (path is None) == (org is None):
        raise UsageError(
            "give a folder to import from, or --org",
            hint="sftk import ./force-app, or sftk import --org NAME --objects Course__c",
        )
    project = opts.project()
    if org is not None:
        if names is None:
            raise UsageError(
                "--org needs --objects: an org has too many objects to import them all",
                hint="sftk import --org NAME --objects Course__c,Enrollment__c",
            )
        files = spec_import.retrieve_objects(project, org, names)
        source, notes = f"org {org}", list[str]()
    else:
        assert path is not None
        files, _, notes = spec_import.read_folder(path)
        source = str(path)
    report = spec_import.import_specs(
        project, files, names, source, keep_dir=keep_dir, force=force, notes=notes
    )
    if as_json:
        emit_json(_json(report))
    else:
        _print(report)
    return ExitCode.OK if report.ok else ExitCode.PROBLEMS_FOUND


def _json(report: spec_import.ImportReport) -> dict[str, object]:
    return {
        "source": report.source,
        "objects": list(report.objects),
        "spec_files": list(report.spec_files),
        "specced": list(report.specced),
        "kept_dir": report.kept_dir,
        "kept_files": list(report.kept_files),
        "kept": [{"component": k.component, "reason": k.reason} for k in report.kept],
        "config_sections": list(report.config_sections),
        "left_out": list(report.left_out),
        "notes": list(report.notes),
        "round_trip": {"differences": list(report.differences)},
    }


def _print(report: spec_import.ImportReport) -> None:
    out.print(
        f"imported {len(report.objects)} object(s) from {escape(report.source)}: "
        f"{len(report.specced)} component(s) in specs, {len(report.kept)} kept as "
        f"hand-written files in {escape(report.kept_dir)}"
    )
    for path in report.spec_files:
        out.print(f"  wrote {escape(path)}")
    for section in report.config_sections:
        out.print(f"  added {escape(section)} to sftk.toml")
    if report.kept:
        out.print("kept as written (what specs cannot say):")
        for kept in report.kept:
            out.print(f"  {escape(kept.component)}: {escape(kept.reason)}")
    for note in report.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if report.differences:
        out.print("[red]the round trip differs:[/]")
        for difference in report.differences:
            out.print(f"  {escape(difference)}")
    else:
        out.print("round trip: the specs and kept files render back what was imported")


COMMANDS = (import_command,)
