"""The ``sftk`` command: parse, call the library, print. No business rules live here.

Results go to stdout (``--json`` for machines, with sorted keys), messages and warnings to
stderr. Exit codes come from ``toolkit.errors.ExitCode`` only.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from toolkit import __version__
from toolkit.cliutil import Options, emit_json, err, out
from toolkit.errors import ExitCode, SftkError, UsageError, exit_code_for
from toolkit.fsio import atomic_write_bytes
from toolkit.metadata import manifest, rules
from toolkit.metadata.schema import bundled_wsdl_path, wsdl_api_version
from toolkit.plugins import load_plugins
from toolkit.project import open_project, render_project
from toolkit.scaffold import init_project
from toolkit.validation import ValidationReport, validate_folder, validate_project

# The commands that talk to orgs, by the module that holds them (as its COMMANDS). They are
# imported when one of them runs or help lists them: importing the deploy engine and its
# Salesforce clients costs more than rendering a small project.
LAZY_COMMANDS: dict[str, str] = {
    **dict.fromkeys(("preflight", "deploy", "coverage"), "toolkit.cli_deploy"),
    **dict.fromkeys(
        ("plan", "snapshots", "backup", "rollback", "promote", "ledger"), "toolkit.cli_recovery"
    ),
}


class _Group(click.Group):
    """The ``sftk`` group, with the commands of LAZY_COMMANDS loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = LAZY_COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        commands: Sequence[click.Command] = importlib.import_module(module).COMMANDS
        return next(command for command in commands if command.name == cmd_name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sftk")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (default: the nearest folder holding sftk.toml).",
)
@click.option("--no-plugins", is_flag=True, help="Load no plugins (deterministic CI runs).")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, no_plugins: bool) -> None:
    """sftk: Salesforce metadata from templates, validated offline, deployed with a preflight,
    a coverage gate and truthful exit codes; every deploy snapshotted and undoable, production
    only after a sandbox; a local org on loopback."""
    ctx.obj = Options(project_dir, no_plugins)


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the starter files if they exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def init(opts: Options, directory: Path, force: bool, as_json: bool) -> int:
    """Create a project: sftk.toml and an example object spec."""
    installed = [] if opts.no_plugins else [p.name for p in load_plugins(()).found]
    written = init_project(
        directory,
        api_version=wsdl_api_version(bundled_wsdl_path()),
        installed_plugins=installed,
        force=force,
    )
    if as_json:
        emit_json({"created": [str(p) for p in written], "plugins_enabled": installed})
    else:
        for path in written:
            out.print(f"created {escape(str(path))}")
        out.print(f"next: cd {escape(str(directory))} && sftk render && sftk validate")
    return ExitCode.OK


@cli.command()
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
            }
        )
    else:
        summary = ", ".join(f"{counts[kind]} {kind}" for kind in sorted(counts))
        out.print(
            f"rendered {len(result.files)} files ({result.format}) to "
            f"{escape(str(result.output))}: {summary}"
        )
    return ExitCode.OK


@cli.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--wsdl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Validate against this Metadata WSDL (downloaded from your org).",
)
@click.option("--api-version", help="API version for a folder without package.xml.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def validate(
    opts: Options, path: Path | None, wsdl: Path | None, api_version: str | None, as_json: bool
) -> int:
    """Check a project's package (or a metadata folder) against the schema and the rules.

    Exit 0 when clean, 1 when problems were found, 2 on usage or configuration errors.
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
        _print_report(report, target)
    return ExitCode.OK if report.ok else ExitCode.PROBLEMS_FOUND


def _report_json(report: ValidationReport, target: str) -> dict[str, Any]:
    return {
        "target": target,
        "ok": report.ok,
        "api_version": report.api_version,
        "schema_api_version": report.schema_version,
        "files_checked": report.files_checked,
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


def _print_report(report: ValidationReport, target: str) -> None:
    for p in report.problems:
        colour = "red" if p.severity == "error" else "yellow"
        origin = report.origin_of(p.file)
        from_note = f" (from {escape(origin)})" if origin else ""
        out.print(
            f"{escape(p.file)}:{p.line}: [{colour}]{p.severity}[/] [bold]{escape(p.rule)}[/] "
            f"{escape(p.component)}: {escape(p.message)}{from_note}"
        )
        out.print(f"    hint: {escape(p.hint)}")
    errors = sum(1 for p in report.problems if p.severity == "error")
    warnings = len(report.problems) - errors
    verdict = "[green]clean[/]" if report.ok else f"[red]{errors} error(s)[/]"
    out.print(
        f"{escape(target)}: {report.files_checked} files checked against the API "
        f"{report.schema_version} schema and {len(rules.RULES)} rules: {verdict}"
        + (f", {warnings} warning(s)" if warnings else "")
    )


@cli.command(name="rules")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_rules(as_json: bool) -> int:
    """List the offline validation rules and their ids."""
    if as_json:
        emit_json(dict(rules.RULES))
    else:
        for rule_id, description in rules.RULES.items():
            out.print(f"[bold]{rule_id}[/]  {escape(description)}")
    return ExitCode.OK


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def plugins(opts: Options, as_json: bool) -> int:
    """List installed plugins and whether this project enables them."""
    try:
        found = opts.project().plugins.found
    except SftkError:
        found = load_plugins((), disabled=opts.no_plugins).found
    if as_json:
        emit_json(
            [
                {
                    "name": p.name,
                    "distribution": p.distribution,
                    "version": p.version,
                    "status": p.status,
                    "error": p.error,
                }
                for p in found
            ]
        )
    else:
        for p in found:
            note = f" ({escape(p.error)})" if p.error else ""
            out.print(f"{p.name} {p.distribution} {p.version}: {p.status}{note}")
        if not found:
            out.print("no plugins installed")
    return ExitCode.OK


@cli.group()
def org() -> None:
    """Org commands: the org profiles of sftk.toml, and the local org on loopback."""


@org.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def org_list(opts: Options, as_json: bool) -> int:
    """List the org profiles of sftk.toml (and the implicit local one)."""
    profiles = open_project(opts.project_dir, no_plugins=True).config.orgs
    rows = [
        {
            "name": p.name,
            "kind": p.kind,
            "auth": p.auth,
            "login_url": p.login_url,
            "username": p.username,
            "alias": p.alias,
            "api_version": p.api_version,
        }
        for p in profiles
    ]
    if as_json:
        emit_json(rows)
    else:
        width = max(len(p.name) for p in profiles)
        for p in profiles:
            where = p.login_url or (f"sf alias {p.alias}" if p.alias else "-")
            out.print(f"{escape(p.name.ljust(width))}  {p.kind:<10}  {p.auth:<8}  {escape(where)}")
    return ExitCode.OK


@org.command(name="show")
@click.argument("name", default="local")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def org_show(opts: Options, name: str, as_json: bool) -> int:
    """Connect to the org profile NAME (default: local) and describe the org."""
    from toolkit.salesforce.auth import find_profile, open_connection
    from toolkit.salesforce.org_info import describe_org

    config = open_project(opts.project_dir, no_plugins=True).config
    profile = find_profile(config, name)
    with open_connection(config, name) as conn:
        summary = describe_org(conn)
    if as_json:
        emit_json(summary.to_json())
        return ExitCode.OK
    remaining, allowance = summary.api_requests_remaining, summary.api_requests_max
    requests_left = (
        "unknown" if remaining is None else f"{remaining:,} of {allowance or 0:,} left today"
    )
    lines = [
        ("profile", f"{summary.profile} ({summary.kind}, auth {profile.auth})"),
        ("instance", summary.instance_url),
        ("username", summary.username or "-"),
        ("org id", summary.org_id or "-"),
        ("user id", summary.user_id or "-"),
        ("organization", summary.name),
        ("edition", summary.edition),
        ("sandbox", "yes" if summary.is_sandbox else "no"),
        ("instance name", summary.instance_name or "-"),
        ("api version", summary.api_version),
        ("api requests", requests_left),
    ]
    for label, value in lines:
        out.print(f"{label + ':':<15}{escape(value)}")
    return ExitCode.OK


@org.command()
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="State folder (default: the project's .sftk/localorg, else ./.sftk/localorg).",
)
@click.option(
    "--org",
    "profile",
    help='Serve the local org of this profile of sftk.toml (a profile with auth = "local").',
)
@click.option("--port", default=0, show_default=True, help="HTTPS port (0: any free port).")
@click.option("--http-port", type=int, help="Also serve plain HTTP on this port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--json", "as_json", is_flag=True, help="Print the connection as JSON.")
@click.pass_obj
def serve(
    opts: Options,
    state_dir: Path | None,
    profile: str | None,
    port: int,
    http_port: int | None,
    host: str,
    as_json: bool,
) -> int:
    """Run the local org in the foreground until interrupted (Ctrl-C)."""
    from toolkit.localorg.org import CONNECTION_FILE, start

    folder = state_dir or _default_state_dir(opts, profile)
    running = start(folder, host=host, port=port, http_port=http_port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if as_json:
            emit_json(running.connection)
        else:
            for key in sorted(running.connection):
                out.print(f"{key}: {escape(running.connection[key])}")
            err.print(
                f"connection written to {escape(str(folder / CONNECTION_FILE))}; Ctrl-C stops"
            )
        sys.stdout.flush()
        stop.wait()
        err.print("stopping")
    finally:
        running.stop()
    return ExitCode.OK


def _default_state_dir(opts: Options, profile: str | None) -> Path:
    if profile is not None:
        from toolkit.salesforce.auth import find_profile

        config = open_project(opts.project_dir, no_plugins=True).config
        chosen = find_profile(config, profile)
        if chosen.auth != "local":
            raise UsageError(
                f"org profile {profile} is not a local org (auth = {chosen.auth})",
                hint='serve a profile with auth = "local", or pass --state',
            )
        return config.local_state(chosen)
    try:
        return open_project(opts.project_dir, no_plugins=True).config.state_dir / "localorg"
    except SftkError:
        return Path.cwd() / ".sftk" / "localorg"


@cli.command(name="destructive")
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
    """Write a destructive changes manifest for TYPE:NAME components."""
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


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="sftk", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.USAGE
    except click.exceptions.Abort:  # Ctrl-C (sftk asks no questions that could be declined)
        err.print("interrupted")
        code = ExitCode.INTERRUPTED
    except SftkError as exc:
        code = exit_code_for(exc)
        _report_error(exc, code, args)
    except Exception as exc:  # a bug: say so plainly; SFTK_DEBUG=1 shows the traceback
        if os.environ.get("SFTK_DEBUG"):
            raise
        code = exit_code_for(exc)
        wrapped = SftkError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="this is a bug in sftk; rerun with SFTK_DEBUG=1 and report the traceback",
        )
        _report_error(wrapped, code, args)
    sys.exit(int(code or 0))


def _report_error(exc: SftkError, code: int, args: Sequence[str]) -> None:
    if "--json" in args:
        emit_json({"error": {"message": exc.message, "hint": exc.hint, "exit_code": int(code)}})
    else:
        err.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            err.print(f"  hint: {escape(exc.hint)}")
