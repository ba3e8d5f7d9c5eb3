"""The streams a project syncs: every enabled plugin's settings checked, its sources asked for,
the streams chosen by ``--plugin`` / ``--stream`` and put in load order (parents first)."""

from __future__ import annotations

import graphlib
from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.errors import PluginError, UsageError
from toolkit.project import Project
from toolkit.sync.contract import (
    DELETE_ACTIONS,
    FieldMapping,
    MarkDeleted,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.mapping import match_objects


@dataclass(frozen=True)
class PlannedStream:
    plugin: str
    source: SourceSpec
    stream: StreamSpec

    @property
    def label(self) -> str:
        return f"{self.plugin}.{self.stream.name}"


def all_streams(project: Project) -> list[PlannedStream]:
    """Every stream of every enabled plugin, in load order: parents before children, then by
    plugin and stream name."""
    project.plugins.check_settings(project.config.plugins, project.config.root)
    planned: dict[tuple[str, str], PlannedStream] = {}
    for plugin, sources in project.plugins.call(
        "sftk_sources", project.config.plugins, root=project.config.root
    ):
        for source in sources or ():
            if not isinstance(source, SourceSpec):
                raise PluginError(
                    f"plugin {plugin}: sftk_sources returned {type(source).__name__}, "
                    "not SourceSpec",
                    hint="return toolkit.sync.contract.SourceSpec values",
                )
            for stream in source.streams:
                _check_stream(plugin, stream)
                if (plugin, stream.name) in planned:
                    raise PluginError(
                        f"plugin {plugin} declares stream {stream.name!r} twice",
                        hint="stream names are unique within a plugin",
                    )
                planned[(plugin, stream.name)] = PlannedStream(plugin, source, stream)
    return _in_load_order(planned)


def default_mappings(project: Project, planned: PlannedStream) -> list[FieldMapping]:
    """What the stream's plugin maps by default (its ``sftk_default_mappings``), as a list."""
    found = project.plugins.call_one(
        planned.plugin,
        "sftk_default_mappings",
        project.config.plugins,
        stream=planned.stream,
        root=project.config.root,
    )
    return list(found or ())


def _check_stream(plugin: str, stream: StreamSpec) -> None:
    on_delete = stream.on_delete
    if not isinstance(on_delete, MarkDeleted) and on_delete not in DELETE_ACTIONS:
        raise PluginError(
            f"plugin {plugin}: stream {stream.name} has on_delete = {on_delete!r}",
            hint='use "ignore", "delete" or MarkDeleted(field, value)',
        )


def _in_load_order(planned: dict[tuple[str, str], PlannedStream]) -> list[PlannedStream]:
    """Parents before their children, and a stream that finds records by a field (lookups,
    ``unless_found``) after its plugin's other streams writing the objects it searches, so
    that a Lead created by one stream is there when another looks for it."""
    graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
    writers: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for (plugin, name), item in planned.items():
        writers.setdefault((plugin, item.stream.object), set()).add((plugin, name))
    for (plugin, name), item in sorted(planned.items()):
        parents = {
            writer
            for obj in match_objects(item.stream)
            for writer in writers.get((plugin, obj), ())
            if writer != (plugin, name)
        }
        for ref in item.stream.parents:
            if (plugin, ref.stream) not in planned:
                raise PluginError(
                    f"plugin {plugin}: stream {name} names parent stream {ref.stream!r}, "
                    "which it does not declare",
                    hint="a parent must be a stream of the same plugin",
                )
            if ref.stream != name:
                parents.add((plugin, ref.stream))
        graph[(plugin, name)] = parents
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(f"{p}.{s}" for p, s in exc.args[1])
        raise PluginError(
            f"streams refer to each other as parents in a cycle: {cycle}",
            hint="a record's parent must be loadable before it; break the cycle",
        ) from None
    order: list[PlannedStream] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += [planned[key] for key in ready]
        sorter.done(*ready)
    return order


def select(
    streams: Sequence[PlannedStream], plugin: str | None, stream: str | None
) -> list[PlannedStream]:
    """The streams ``--plugin`` and ``--stream`` (``name`` or ``plugin.name``) choose."""
    if stream is not None and "." in stream and plugin is None:
        plugin, stream = stream.split(".", 1)
    chosen = [
        s
        for s in streams
        if (plugin is None or s.plugin == plugin) and (stream is None or s.stream.name == stream)
    ]
    if not chosen and (plugin is not None or stream is not None):
        known = ", ".join(s.label for s in streams) or "none (enable a plugin or configure "
        "[plugins.files.streams.NAME])"
        wanted = ".".join(part for part in (plugin, stream) if part)
        raise UsageError(f"no stream matches {wanted!r}", hint=f"streams: {known}")
    return chosen
