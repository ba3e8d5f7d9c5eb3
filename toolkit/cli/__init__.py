"""The ``sftk`` command: parse, call the library, print. No business rules live here.

Results go to stdout (``--json`` for machines, with sorted keys), messages and warnings to
stderr. Exit codes come from ``toolkit.errors.ExitCode`` only.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.markup import escape

from toolkit import __version__
from toolkit.cli import org, plugins, project
from toolkit.cli.common import Options, emit_json, err
from toolkit.errors import (
    ConfigProblems,
    ExitCode,
    SftkError,
    environment_error,
    exit_code_for,
)

# The commands that talk to orgs, by the module that holds them (as its COMMANDS). They are
# imported when one of them runs or help lists them: importing the deploy engine and its
# Salesforce clients costs more than rendering a small project.
LAZY_COMMANDS: dict[str, str] = {
    **dict.fromkeys(("preflight", "deploy", "coverage"), "toolkit.cli.deploy"),
    **dict.fromkeys(
        ("plan", "snapshots", "backup", "retrieve", "rollback", "promote", "ledger"),
        "toolkit.cli.recovery",
    ),
    **dict.fromkeys(("sync", "runs", "deadletters", "mappings"), "toolkit.cli.sync"),
    "plugin": "toolkit.cli.authoring",
    "import": "toolkit.cli.importing",
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
@click.option(
    "--no-plugins",
    is_flag=True,
    help="Load no plugins (deterministic CI runs); also taken after the command name.",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, no_plugins: bool) -> None:
    """sftk: Salesforce metadata from templates, validated offline, deployed with a preflight,
    a coverage gate and truthful exit codes; every deploy snapshotted and undoable, production
    only after a sandbox; a local org on loopback."""
    ctx.obj = Options(project_dir, no_plugins)


for _module in (project, plugins, org):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


# Options of sftk itself that people also write after the command name (`sftk render
# --no-plugins`): moved in front of it, where the group reads them.
GLOBAL_FLAGS = ("--no-plugins",)


def _global_flags_first(args: list[str]) -> list[str]:
    end = args.index("--") if "--" in args else len(args)
    head, tail = args[:end], args[end:]
    flags = [arg for arg in GLOBAL_FLAGS if arg in head]
    return [*flags, *(arg for arg in head if arg not in GLOBAL_FLAGS), *tail]


def main(argv: Sequence[str] | None = None) -> None:
    args = _global_flags_first(list(sys.argv[1:] if argv is None else argv))
    try:
        code = cli.main(args=args, prog_name="sftk", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.USAGE
    except click.exceptions.Abort:  # Ctrl-C, at a question too (a "no" is no Abort)
        err.print("interrupted")
        code = ExitCode.INTERRUPTED
    except SftkError as exc:
        code = exit_code_for(exc)
        _report_error(exc, code, args)
    except Exception as exc:  # a bug: say so plainly; SFTK_DEBUG=1 shows the traceback
        if os.environ.get("SFTK_DEBUG"):
            raise
        reported = environment_error(exc) or SftkError(  # the machine refused a file, or a bug
            f"internal error: {type(exc).__name__}: {exc}",
            hint="this is a bug in sftk; rerun with SFTK_DEBUG=1 and report the traceback",
        )
        code = exit_code_for(reported)
        _report_error(reported, code, args)
    sys.exit(int(code or 0))


def _report_error(exc: SftkError, code: int, args: Sequence[str]) -> None:
    if "--json" in args:
        error: dict[str, object] = {
            "message": exc.message,
            "hint": exc.hint,
            "exit_code": int(code),
        }
        if isinstance(exc, ConfigProblems):  # each problem on its own, for machines
            error["problems"] = [{"message": p.message, "hint": p.hint} for p in exc.problems]
        emit_json({"error": error})
    else:
        err.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            err.print(f"  hint: {escape(exc.hint)}")
