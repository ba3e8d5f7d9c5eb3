"""The offline commands of ``sftk``: init, render, validate, rules and destructive. They need no
org, so they import neither the deploy engine nor the Salesforce clients."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from toolkit.cli.common import Options, emit_json, err, out, warn
from toolkit.errors import ExitCode, UsageError
from toolkit.fsio import atomic_write_bytes
from toolkit.metadata import manifest, rules
from toolkit.metadata.schema import bundled_wsdl_path, wsdl_api_version
from toolkit.plugins import load_plugins
from toolkit.project import render_project
from toolkit.scaffold import init_project
from toolkit.validation import ValidationReport, validate_folder, validate_project


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the starter files if they exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def init(opts: Options, directory: Path, force: bool, as_json: bool) -> int:
    """Create a project: sftk.toml, an example object spec and a .gitignore keeping the local
    orgs' secrets out of git. Installed plugins are listed, not enabled."""
    found = [] if opts.no_plugins else load_plugins(()).found
    installed = [p.name for p in found if not p.builtin]
    written = init_project(
        directory,
        api_version=wsdl_api_version(bundled_wsdl_path()),
        installed_plugins=installed,
        force=force,
    )
    if as_json:
        emit_json(
            {
                "created": [str(p) for p in written],
                "plugins_enabled": [],
                "plugins_installed": installed,
            }
        )
    else:
        for path in written:
            out.print(f"created {escape(str(path))}")
        if installed:
            names = ", ".join(installed)
            example = ", ".join(f'"{name}"' for name in installed)
            out.print(
                f"plugins installed, none enabled: {escape(names)}; to use them, list them in "
                f"sftk.toml: \\[plugins] enabled = \\[{escape(example)}]"
            )
        out.print(
            f"next: cd {escape(str(directory))} && sftk render && sftk validate && "
            "sftk deploy --org local && sftk sync --org local"
        )
    return ExitCode.OK


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: [project] output_dir).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mdapi", "source"]),
    help="Metadata API format or Salesforce DX source format.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def render(opts: Options, out_dir: Path | None, output_format: str | None, as_json: bool) -> int:
    """Render specs, plugin metadata and carried folders into a package."""
    result = render_project(opts.project(), out_dir, output_format)
    counts = Counter(ref.type for ref in result.components)
    if as_json:
        emit_json(
            {
                "output": str(result.output),
                "format": result.format,
                "files": [f.path for f in result.files],
                "components": {kind: counts[kind] for kind in sorted(counts)},
                "warnings": list(result.package.warnings),
            }
        )
    else:
        for warning in result.package.warnings:
            warn(warning)
        summary = ", ".join(f"{counts[kind]} {kind}" for kind in sorted(counts))
        out.print(
            f"rendered {len(result.files)} files ({result.format}) to "
            f"{escape(str(result.output))}: {summary}"
        )
    return ExitCode.OK


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--wsdl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Validate against this Metadata WSDL (downloaded from your org).",
)
@click.option(
    "--api-version",
    help="API version the package deploys with (default: the project's, sfdx-project.json's "
    "sourceApiVersion or package.xml's version); it picks the schema.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def validate(
    opts: Options, path: Path | None, wsdl: Path | None, api_version: str | None, as_json: bool
) -> int:
    """Check a project's package, a metadata folder or a Salesforce DX project against the
    schema and the rules, as a deploy would read them.

    Exit 0 when clean (warnings allowed), 1 when errors were found, 2 on usage or
    configuration errors.
    """
    if path is None:
        report = validate_project(opts.project(), wsdl)
        target = "project"
    else:
        if not path.is_dir():
            raise UsageError(f"{path} is not a folder", hint="pass a metadata folder")
        report = validate_folder(path, api_version, wsdl)
        target = str(path)
    if as_json:
        emit_json(_report_json(report, target))
    else:
        for warning in report.build_warnings:
            warn(warning)
        _print_report(report, target)
    return ExitCode.OK if report.ok else ExitCode.PROBLEMS_FOUND


def _report_json(report: ValidationReport, target: str) -> dict[str, Any]:
    return {
        "target": target,
        "ok": report.ok,
        "api_version": report.api_version,
        "schema_api_version": report.schema_version,
        "files_checked": report.files_checked,
        "build_warnings": list(report.build_warnings),
        "problems": [
            {
                "rule": p.rule,
                "severity": p.severity,
                "file": p.file,
                "line": p.line,
                "component": p.component,
                "message": p.message,
                "hint": p.hint,
                "origin": report.origin_of(p.file),
            }
            for p in report.problems
        ],
    }


# Colours of the human report, written as ANSI codes: a report of 20,000 problems printed
# through rich's markup took longer than finding them.
_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[1m", "\x1b[0m"


def _print_report(report: ValidationReport, target: str) -> None:
    colour = out.color_system is not None  # None on a pipe, a file, or with NO_COLOR set
    red, yellow, green, bold, reset = (
        (_RED, _YELLOW, _GREEN, _BOLD, _RESET) if colour else ("", "", "", "", "")
    )
    lines: list[str] = []
    errors = 0
    for p in report.problems:
        if p.severity == "error":
            errors += 1
            severity = f"{red}error{reset}"
        else:
            severity = f"{yellow}warning{reset}"
        origin = report.origin_of(p.file)
        from_note = f" (from {origin})" if origin else ""
        lines.append(
            f"{p.file}:{p.line}: {severity} {bold}{p.rule}{reset} {p.component}: "
            f"{p.message}{from_note}\n    hint: {p.hint}"
        )
    warnings = len(report.problems) - errors
    verdict = f"{green}clean{reset}" if report.ok else f"{red}{errors} error(s){reset}"
    lines.append(
        f"{target}: {report.files_checked} files checked against the API "
        f"{report.schema_version} schema and {len(rules.RULES)} rules: {verdict}"
        + (f", {warnings} warning(s)" if warnings else "")
    )
    click.echo("\n".join(lines), color=colour)


@click.command(name="rules")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_rules(as_json: bool) -> int:
    """List the offline validation rules and their ids."""
    if as_json:
        emit_json(dict(rules.RULES))
    else:
        for rule_id, description in rules.RULES.items():
            out.print(f"[bold]{rule_id}[/]  {escape(description)}")
    return ExitCode.OK


@click.command(name="destructive")
@click.argument("components", nargs=-1, required=True)
@click.option(
    "--when",
    type=click.Choice(sorted(manifest.DESTRUCTIVE_FILE)),
    default="default",
    help="Delete before (pre) or after (post) the deploy's additions.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the manifest into this folder instead of printing it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def destructive(components: Sequence[str], when: str, out_dir: Path | None, as_json: bool) -> int:
    """Write a destructive changes manifest for TYPE:NAME components, for a metadata folder
    you deploy yourself (`sftk deploy FOLDER`). A project's own deploys are built from its
    specs: list what they delete in [deletions] of sftk.toml instead."""
    refs = [manifest.ComponentRef.parse(text) for text in components]
    data = manifest.destructive_xml(refs)
    name = manifest.DESTRUCTIVE_FILE[when]
    target = None if out_dir is None else out_dir / name
    if target is not None:
        atomic_write_bytes(target, data)
    if as_json:
        emit_json(
            {
                "manifest": name,
                "components": [str(ref) for ref in sorted(set(refs), key=str)],
                "written_to": None if target is None else str(target),
                "xml": data.decode("utf-8"),
            }
        )
    elif target is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        err.print(f"wrote {escape(str(target))}")
    return ExitCode.OK


COMMANDS = (init, render, validate, list_rules, destructive)
