"""What each plugin is and brings to a project, for ``sftk plugins``: version, plugin API
version, status, its streams, and the metadata it contributes (objects, permission sets,
layout patches, template folders). A plugin whose settings or hooks fail is listed with the
reason, never hidden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.errors import SftkError
from toolkit.plugins import PluginInfo
from toolkit.project import Project


@dataclass(frozen=True)
class PluginSummary:
    info: PluginInfo
    streams: tuple[str, ...] = ()  # "name -> Object"
    objects: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()
    layout_patches: tuple[str, ...] = ()
    template_dirs: tuple[str, ...] = ()
    problem: str | None = None  # settings refused, or a hook that failed

    def to_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "api_version": info.api_version,
            "builtin": info.builtin,
            "status": info.status,
            "error": info.error or self.problem,
            "streams": list(self.streams),
            "metadata": {
                "objects": list(self.objects),
                "permission_sets": list(self.permission_sets),
                "layout_patches": list(self.layout_patches),
                "template_dirs": list(self.template_dirs),
            },
        }


def summarize(project: Project) -> list[PluginSummary]:
    return [_summary(project, info) for info in project.plugins.found]


def _summary(project: Project, info: PluginInfo) -> PluginSummary:
    if info.status != "enabled":
        return PluginSummary(info)
    plugins, settings, root = project.plugins, project.config.plugins, project.config.root

    def call(hook: str, **context: Any) -> list[Any]:
        return list(plugins.call_one(info.name, hook, settings, root=root, **context) or ())

    try:
        problems = call("sftk_validate_settings")
        if problems:
            first = problems[0]
            return PluginSummary(
                info, problem=f"settings: {settings.where(info.name, first.key)}: {first.message}"
            )
        streams = tuple(
            f"{stream.name} -> {stream.object}"
            for source in call("sftk_sources")
            for stream in source.streams
        )
        return PluginSummary(
            info,
            streams=streams,
            objects=tuple(sorted({spec.name for spec in call("sftk_object_specs")})),
            permission_sets=tuple(sorted({p.name for p in call("sftk_permission_sets")})),
            layout_patches=tuple(patch.layout for patch in call("sftk_layout_patches")),
            template_dirs=tuple(str(d) for d in call("sftk_template_dirs")),
        )
    except SftkError as exc:
        return PluginSummary(info, problem=exc.message)
