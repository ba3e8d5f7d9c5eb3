"""The plugin commands of ``sftk``: which plugins are installed, enabled or broken."""

from __future__ import annotations

import click
from rich.markup import escape

from toolkit.cli.common import Options, emit_json, out
from toolkit.errors import ExitCode, SftkError
from toolkit.plugins import load_plugins


@click.command()
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


COMMANDS = (plugins,)
