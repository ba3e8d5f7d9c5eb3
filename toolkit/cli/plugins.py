"""The plugin commands of ``sftk``: which plugins are installed, enabled or broken, and what
each brings."""

from __future__ import annotations

import click
from rich.markup import escape

from toolkit.cli.common import Options, emit_json, json_option, out
from toolkit.errors import ExitCode, SftkError
from toolkit.plugin_summary import PluginSummary, summarize
from toolkit.plugins import load_plugins


@click.command()
@json_option
@click.pass_obj
def plugins(opts: Options, as_json: bool) -> int:
    """List plugins: version, plugin API version, status (enabled, not enabled, blocked,
    failed and why), their streams and the metadata they contribute."""
    try:
        summaries = summarize(opts.project())
    except SftkError:  # outside a project: what is installed
        summaries = [
            PluginSummary(info) for info in load_plugins((), disabled=opts.no_plugins).found
        ]
    if as_json:
        emit_json([summary.to_json() for summary in summaries])
        return int(ExitCode.OK)
    for summary in summaries:
        _print(summary)
    return int(ExitCode.OK)


def _print(summary: PluginSummary) -> None:
    info = summary.info
    api = f", plugin API {info.api_version}" if info.api_version else ""
    origin = "built in" if info.builtin else f"{info.distribution} {info.version}"
    why = info.error or summary.problem
    status = f"{info.status}: {why}" if why else info.status
    out.print(escape(f"{info.name} ({origin}{api}): {status}"))
    for label, items in (
        ("streams", summary.streams),
        ("objects", summary.objects),
        ("permission sets", summary.permission_sets),
        ("layout patches", summary.layout_patches),
    ):
        if items:
            out.print(escape(f"  {label}: {', '.join(items)}"))


COMMANDS = (plugins,)
