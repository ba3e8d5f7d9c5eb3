"""What every command module of the CLI shares: the two consoles, JSON output, and the
options given before the command."""

from __future__ import annotations

import json
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
