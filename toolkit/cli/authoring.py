"""The commands for plugin authors: ``sftk plugin new`` scaffolds a source plugin whose tests
pass as generated."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from toolkit.cli.common import emit_json, json_option, out
from toolkit.errors import ExitCode
from toolkit.plugin_scaffold import new_plugin


@click.group()
def plugin() -> None:
    """Write a source plugin of your own (docs/plugin-guide.md)."""


@plugin.command()
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to create for the plugin's distribution (default: ./NAME).",
)
@json_option
def new(name: str, folder: Path | None, as_json: bool) -> int:
    """Create a plugin distribution: pyproject.toml with the sftk.plugins entry point, a
    source with one stream reading a sample file, an object spec, default mappings, a README
    and tests using sftk's pytest plugin and contract suite."""
    target = folder if folder is not None else Path(name)
    written = new_plugin(name, target)
    shown = target.as_posix() if target.is_absolute() else f"./{target.as_posix()}"
    steps = [
        f"pip install -e '{shown}[test]'",
        f"pytest {shown}",
        "sftk init demo && cd demo",
        "sftk deploy --org local && sftk sync --org local",
    ]
    if as_json:
        emit_json(
            {
                "plugin": name,
                "folder": str(target),
                "created": [str(path) for path in written],
                "next": steps,
            }
        )
    else:
        for path in written:
            out.print(f"created {escape(str(path))}")
        out.print("next:")
        for step in steps:
            out.print(f"  {escape(step)}")
    return ExitCode.OK


COMMANDS = (plugin,)
