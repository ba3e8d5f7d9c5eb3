"""What every command module of the CLI shares: the two consoles, JSON output, and the
options given before the command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from toolkit.config import ORG_ENV
from toolkit.project import Project, open_project

# No emoji codes: ``file.toml:100:`` is a location, not ":100:" (💯). Markup is sftk's own;
# user text goes through rich's ``escape``.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@dataclass
class Options:
    project_dir: Path | None
    no_plugins: bool
    _project: Project | None = None

    def project(self) -> Project:
        """The project, opened once per command (plugin problems are warned about once)."""
        if self._project is None:
            self._project = open_project(self.project_dir, no_plugins=self.no_plugins)
            for problem in self._project.plugins.problems:
                warn(problem)
        return self._project


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


def comma_list(text: str) -> tuple[str, ...]:
    """``--types A,B`` and ``--tests A, B`` as names, blanks dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def print_lines(lines: Sequence[str], ok: bool) -> None:
    """A report: its first line green or red, the rest plain."""
    colour = "green" if ok else "red"
    out.print(f"[{colour}]{escape(lines[0])}[/]")
    for line in lines[1:]:
        out.print(escape(line))


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _org_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    options = ctx.find_object(Options)
    assert options is not None
    return options.project().config.org_name(value)


org_option = click.option(
    "--org",
    "org",
    envvar=ORG_ENV,
    show_envvar=True,
    callback=_org_name,
    help="Org profile from sftk.toml (default: [project] default_org).",
)
