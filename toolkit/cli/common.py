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

from toolkit.project import Project, open_project

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Options:
    project_dir: Path | None
    no_plugins: bool

    def project(self) -> Project:
        project = open_project(self.project_dir, no_plugins=self.no_plugins)
        for problem in project.plugins.problems:
            err.print(f"[yellow]warning:[/] {escape(problem)}")
        return project


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def print_lines(lines: Sequence[str], ok: bool) -> None:
    """A report: its first line green or red, the rest plain."""
    colour = "green" if ok else "red"
    out.print(f"[{colour}]{escape(lines[0])}[/]")
    for line in lines[1:]:
        out.print(escape(line))


org_option = click.option("--org", "org", required=True, help="Org profile from sftk.toml.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
