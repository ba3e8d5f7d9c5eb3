"""sftk.toml -> a typed ProjectConfig.

The file is found by walking up from the working folder, as git finds its repository, so every
command works from any folder inside a project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from toolkit.errors import ConfigError
from toolkit.metadata.specs import PermissionSetSpec
from toolkit.tomlread import Document, Table

CONFIG_NAME = "sftk.toml"
ORG_KINDS = ("production", "sandbox", "developer", "local")
FORMATS = ("mdapi", "source")
DELETION_TIMINGS = ("default", "pre", "post")
_API_VERSION = re.compile(r"^\d{2,3}\.0$")


@dataclass(frozen=True)
class OrgProfile:
    name: str
    kind: str
    login_url: str | None = None


@dataclass(frozen=True)
class PluginSettings:
    """Which plugins this project enables, and each one's own settings table."""

    enabled: tuple[str, ...] = ()
    settings: MappingProxyType[str, MappingProxyType[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def for_plugin(self, name: str) -> MappingProxyType[str, Any]:
        return self.settings.get(name, MappingProxyType({}))


@dataclass(frozen=True)
class ProjectConfig:
    """Paths are absolute; ``root`` is the folder holding sftk.toml."""

    root: Path
    name: str
    api_version: str | None
    objects_dir: Path
    templates_dir: Path
    output_dir: Path
    output_format: str
    metadata_dirs: tuple[Path, ...]
    permission_sets: tuple[PermissionSetSpec, ...]
    deletions: tuple[str, ...]
    deletion_timing: str
    orgs: tuple[OrgProfile, ...]
    plugins: PluginSettings

    @property
    def state_dir(self) -> Path:
        return self.root / ".sftk"

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the project when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def find_config(start: Path) -> Path:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} found in {start} or any folder above it",
        hint="run `sftk init` to create a project, or pass --project DIR",
    )


def load_config(path: Path) -> ProjectConfig:
    doc = Document.read(path, CONFIG_NAME)
    root_table = doc.root()
    root = path.parent.resolve()
    project = root_table.table("project") or Table(doc, ("project",), {})
    api_version = project.string("api_version")
    if api_version is not None and not _API_VERSION.match(api_version):
        raise project.error(
            "api_version", f"{api_version!r} is not an API version", hint='write it like "63.0"'
        )
    config = ProjectConfig(
        root=root,
        name=project.string("name", root.name) or root.name,
        api_version=api_version,
        objects_dir=_path(root, project, "objects_dir", "objects"),
        templates_dir=_path(root, project, "templates_dir", "templates"),
        output_dir=_path(root, project, "output_dir", "build/metadata"),
        output_format=project.choice("format", FORMATS, "mdapi") or "mdapi",
        metadata_dirs=tuple(root / p for p in project.strings("metadata_dirs")),
        permission_sets=_permission_sets(root_table),
        deletions=(),
        deletion_timing="default",
        orgs=_orgs(root_table),
        plugins=_plugins(root_table),
    )
    project.finish()
    deletions = root_table.table("deletions")
    if deletions is not None:
        config = _with_deletions(config, deletions)
    root_table.finish()
    return config


def _with_deletions(config: ProjectConfig, table: Table) -> ProjectConfig:
    components = table.strings("components")
    timing = table.choice("when", DELETION_TIMINGS, "default") or "default"
    table.finish()
    return replace(config, deletions=components, deletion_timing=timing)


def _path(root: Path, table: Table, key: str, default: str) -> Path:
    return root / (table.string(key, default) or default)


def _permission_sets(root: Table) -> tuple[PermissionSetSpec, ...]:
    specs = []
    for name, table in root.tables("permission_sets"):
        specs.append(
            PermissionSetSpec(
                name=name,
                label=table.string("label", name.replace("_", " ")) or name,
                description=table.string("description"),
            )
        )
        table.finish()
    return tuple(sorted(specs, key=lambda s: s.name))


def _orgs(root: Table) -> tuple[OrgProfile, ...]:
    orgs = []
    for name, table in root.tables("orgs"):
        kind = table.choice("kind", ORG_KINDS)
        if kind is None:
            raise table.error("kind", "is required", hint="choose one of: " + ", ".join(ORG_KINDS))
        orgs.append(OrgProfile(name=name, kind=kind, login_url=table.string("login_url")))
        table.finish()
    return tuple(orgs)


def _plugins(root: Table) -> PluginSettings:
    table = root.table("plugins")
    if table is None:
        return PluginSettings()
    enabled = table.strings("enabled")
    settings = {}
    for name in [key for key in table.data if key != "enabled"]:
        sub = table.table(name)
        assert sub is not None
        settings[name] = MappingProxyType(dict(sub.data))
    return PluginSettings(enabled=enabled, settings=MappingProxyType(settings))
