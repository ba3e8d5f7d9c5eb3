"""Orchestration of a project: gather specs, render, add carried metadata, write, validate.

Reads as the steps a consultant takes: read the project's specs and the enabled plugins'
specs, render them through the templates, add the hand-written metadata folders, generate the
manifests, then write the package or check it.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from toolkit import fsio
from toolkit.config import ProjectConfig, find_config, load_config
from toolkit.errors import ConfigError, SftkError
from toolkit.forking import Helper
from toolkit.gcpause import gc_paused
from toolkit.metadata import formats, manifest, objectmerge
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.render import (
    Grant,
    LayoutAssignment,
    ProjectExtras,
    Renderer,
    Rendering,
    grants_of,
    layout_assignments_of,
)
from toolkit.metadata.schema import bundled_wsdl_path, wsdl_api_version
from toolkit.metadata.spec_loader import load_object_files, project_spec_paths, reject_duplicates
from toolkit.metadata.specs import LayoutPatch, ObjectSpec, PermissionSetSpec
from toolkit.metadata.standard_objects import is_standard_object
from toolkit.metadata.types import MANIFEST_NAMES
from toolkit.plugins import Plugins, load_plugins


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    plugins: Plugins

    @property
    def api_version(self) -> str:
        """The configured API version, else the one of the schema sftk validates against."""
        return self.config.api_version or wsdl_api_version(bundled_wsdl_path())


@dataclass(frozen=True)
class Package:
    """A package ready to write or validate: Metadata API files, manifests included."""

    files: tuple[MetadataFile, ...]
    api_version: str
    # What package.xml lists, sorted: kept, as reading it back out of the files means parsing
    # every object file again.
    components: tuple[manifest.ComponentRef, ...]
    # What the build left out or guessed, for a person to check (the file named in each).
    warnings: tuple[str, ...] = ()


def open_project(start: Path | None = None, *, no_plugins: bool = False) -> Project:
    config = load_config(find_config((start or Path.cwd()).resolve()))
    return Project(config, load_plugins(config.plugins.enabled, disabled=no_plugins))


# From this many spec files on, a build loads and renders part of them in a helper process
# (toolkit.forking); below it, forking costs about what it saves.
SPLIT_FROM = 64
# The share of the spec files (by size) the helper takes: more than half, as this process has
# the rest of the build to do besides (plugins, standard objects, permission sets, manifest).
HELPER_SHARE = 0.55


@gc_paused()
def build_package(project: Project, *, split: bool | None = None) -> Package:
    """Render the project's specs and its plugins' into a package, with its manifests.

    ``split`` (default: from SPLIT_FROM spec files on) has a helper process load and render
    part of the spec files. Should that build fail, the build runs again in one part, so that
    a project with several problems always reports the same one first.
    """
    config = project.config
    project.plugins.check_settings(config.plugins, config.root)
    renderer = Renderer([config.templates_dir, *project.plugins.template_dirs()])
    paths, warnings = _spec_paths(config)
    if split if split is not None else len(paths) >= SPLIT_FROM:
        sizes = list(itertools.accumulate(_size(path) for path in paths))
        mine = bisect.bisect_left(sizes, sizes[-1] * (1 - HELPER_SHARE)) if sizes else 0
        try:
            with Helper(functools.partial(_part, config, renderer, paths[mine:])) as helper:
                own = _part(config, renderer, paths[:mine])
                return _package(project, renderer, warnings, own, helper)
        except SftkError:
            pass  # the one-part build below raises it, or the first of several
    return _package(project, renderer, warnings, _part(config, renderer, paths))


def _spec_paths(config: ProjectConfig) -> tuple[list[Path], list[str]]:
    folder = config.objects_dir
    return project_spec_paths(folder, config.display(folder), config.objects_dir_setting)


def _size(path: Path) -> int:
    """For sharing the work out: a spec that cannot be read is reported when it is loaded."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class _Loaded:
    """A part's spec files loaded: what the rest of the build needs of them, which is little,
    as no other spec or plugin changes a custom object (only standard objects merge)."""

    # In file order: standard objects' specs whole, custom ones reduced to name and source.
    specs: tuple[ObjectSpec, ...]
    grants: tuple[Grant, ...]
    assignments: tuple[LayoutAssignment, ...]


_Stage = TypeVar("_Stage", _Loaded, Rendering)


def _part(
    config: ProjectConfig, renderer: Renderer, paths: Sequence[Path]
) -> Iterator[_Loaded | Rendering]:
    """Load spec files, then render their custom objects: a part of the build a helper process
    can do. The two stages come out one at a time, so that the rest of the build can start
    from what was loaded while the rendering goes on."""
    specs = load_object_files(paths, display_root=config.root)
    custom = [spec for spec in specs if spec.describes]
    yield _Loaded(
        tuple(_reduced(spec) if spec in custom else spec for spec in specs),
        tuple(grants_of(custom)),
        tuple(layout_assignments_of(custom)),
    )
    yield renderer.render_objects(custom)


def _reduced(spec: ObjectSpec) -> ObjectSpec:
    """What the rest of the build needs of a custom object rendered in its part: its name,
    source and labels (which tell it from a spec that only adds to a plugin's object)."""
    return ObjectSpec(spec.name, spec.label, spec.plural_label, source=spec.source)


def _next(part: Iterator[_Loaded | Rendering], stage: type[_Stage]) -> _Stage:
    result = next(part)
    assert isinstance(result, stage)
    return result


def _package(
    project: Project,
    renderer: Renderer,
    warnings: Sequence[str],
    own: Iterator[_Loaded | Rendering],
    *helpers: Iterator[_Loaded | Rendering],
) -> Package:
    """Assemble the package from this process's part of the spec files and the helpers' parts
    (the spec files after this process's, in order)."""
    config = project.config
    # Each helper's loaded specs are taken as soon as this process has loaded its own, so
    # that no helper waits for its first result to be read while it could be rendering.
    loaded = [_next(own, _Loaded), *(_next(helper, _Loaded) for helper in helpers)]
    own_rendering = _next(own, Rendering)
    project_specs = [spec for part in loaded for spec in part.specs]
    reject_duplicates(project_specs)
    carried = [f for folder in config.metadata_dirs for f in _carried(config, folder)]
    objects = merge_objects(
        [*project_specs, *_plugin_objects(project)], described=carried_objects(carried)
    )
    rendered = {spec.name for spec in project_specs if spec.describes}
    rest = renderer.rendering(
        [spec for spec in objects if spec.name not in rendered],
        _permission_sets(project),
        [grant for part in loaded for grant in part.grants],
        [assignment for part in loaded for assignment in part.assignments],
        ProjectExtras(config.applications, config.global_value_sets, config.custom_permissions),
    )
    renderings = [own_rendering, *(_next(helper, Rendering) for helper in helpers), rest]
    files, merged = objectmerge.merge_files([*(f for r in renderings for f in r.files), *carried])
    known = {
        path: pairs
        for r in renderings
        for path, pairs in r.components.items()
        if path not in merged
    }
    components = manifest.components_of(files, known)
    files.append(
        MetadataFile(
            "package.xml", manifest.package_xml(components, project.api_version), "generated"
        )
    )
    if config.deletions:
        refs = [manifest.ComponentRef.parse(text) for text in config.deletions]
        name = manifest.DESTRUCTIVE_FILE[config.deletion_timing]
        files.append(MetadataFile(name, manifest.destructive_xml(refs), "sftk.toml [deletions]"))
    return Package(
        tuple(sorted(files, key=lambda f: f.path)),
        project.api_version,
        tuple(components),
        (*warnings, *_unknown_objects(project_specs)),
    )


def _unknown_objects(specs: Iterable[ObjectSpec]) -> list[str]:
    """Specs named neither like a custom object nor like a standard object sftk knows. sftk's
    table of standard objects is not every one an org may have, so they are rendered as
    standard objects; but the name may be a custom object's without its ``__c``."""
    return [
        f"{spec.source}: {spec.name} is not a standard object sftk knows, nor a custom object "
        f"(custom object names end in __c): its fields, links and layouts go to {spec.name} "
        f"as to a standard object; to describe a custom object, name the file "
        f"{spec.name}__c.toml"
        for spec in specs
        if not spec.custom and not is_standard_object(spec.name)
    ]


def package_in_format(package: Package, output_format: str) -> list[MetadataFile]:
    if output_format == "source":
        return formats.to_source(package.files, package.api_version)
    return list(package.files)


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` wrote, and the package it came from (ready to validate as well)."""

    output: Path
    format: str
    files: tuple[MetadataFile, ...]
    components: tuple[manifest.ComponentRef, ...]
    package: Package


def render_project(
    project: Project,
    out: Path | None = None,
    output_format: str | None = None,
    *,
    split: bool | None = None,
) -> RenderResult:
    """Write the package; a failure leaves the previous output untouched. ``split`` as for
    ``build_package``."""
    package = build_package(project, split=split)
    fmt = output_format or project.config.output_format
    files = package_in_format(package, fmt)
    dest = out or project.config.output_dir
    fsio.write_tree_atomically(files, dest)
    return RenderResult(dest, fmt, tuple(files), package.components, package)


def project_objects(project: Project) -> tuple[ObjectSpec, ...]:
    """Every object the project and its plugins specify, merged (no rendering)."""
    config = project.config
    own = load_object_files(_spec_paths(config)[0], display_root=config.root)
    reject_duplicates(own)
    carried = [f for folder in config.metadata_dirs for f in _carried(config, folder)]
    return merge_objects([*own, *_plugin_objects(project)], described=carried_objects(carried))


def layout_patches(project: Project) -> tuple[LayoutPatch, ...]:
    """Every layout patch of the project: its specs' ``[layout_patches]`` and the enabled
    plugins' (``sftk_layout_patches``), in that order. Patches are merged into the org's
    layouts when a deploy or a plan meets the org (toolkit.deploy.patching)."""
    found = [p for spec in project_objects(project) for p in spec.layout_patches]
    for name, result in project.plugins.call("sftk_layout_patches", project.config.plugins):
        for patch in result or ():
            if not isinstance(patch, LayoutPatch):
                raise ConfigError(
                    f"plugin {name}: sftk_layout_patches returned {type(patch).__name__}, "
                    "not LayoutPatch",
                    hint="return toolkit.metadata.specs.LayoutPatch values",
                )
            found.append(replace(patch, source=f"plugin {name}: {patch.source}".rstrip(": ")))
    return tuple(found)


def merge_objects(
    specs: Iterable[ObjectSpec], described: Collection[str] = ()
) -> tuple[ObjectSpec, ...]:
    """Join specs of one object from several sources (project, plugins).

    Standard objects merge freely (two plugins may each add fields to Contact); a custom object
    has one spec that describes it, and any number that add to it (``ObjectSpec.extension``:
    a project adding fields to a plugin's object, or to an object that a hand-written metadata
    file describes, named in ``described``). Fields, links, layouts and the other children
    must not collide.
    """
    merged: dict[str, ObjectSpec] = {}
    for spec in (part for original in specs for part in _activity_split(original)):
        other = merged.get(spec.name)
        if other is None:
            merged[spec.name] = spec
            continue
        if spec.custom and not spec.extension and not other.extension:
            raise _described_twice(other, spec)
        base, addition = (spec, other) if other.extension and not spec.extension else (other, spec)
        _refuse_collisions(base, addition)
        merged[spec.name] = replace(
            base,
            **{kind: getattr(base, kind) + getattr(addition, kind) for kind in _MERGED_PARTS},
            source=f"{base.source}; {addition.source}",
        )
    for spec in merged.values():
        if spec.extension and spec.name not in described:
            raise ConfigError(
                f"{spec.source}: {spec.name} has no label, so the spec only adds to an object "
                "described elsewhere, and neither an enabled plugin nor a metadata folder of "
                "[project] metadata_dirs describes it",
                hint="add label and plural_label to describe the object, enable the plugin "
                "whose object it adds to in [plugins] enabled of sftk.toml, or add the "
                "object's own file to a metadata folder",
            )
    return tuple(sorted(merged.values(), key=lambda s: s.name))


# What specs of one object from several sources add up: their children and access.
_MERGED_PARTS = (
    "fields",
    "web_links",
    "layouts",
    "layout_patches",
    "access",
    "validation_rules",
    "record_types",
    "list_views",
    "compact_layouts",
    "field_sets",
)


def _refuse_collisions(base: ObjectSpec, addition: ObjectSpec) -> None:
    for kind in _MERGED_PARTS:
        if kind in ("access", "layout_patches"):  # grants add up, patches of one layout too
            continue
        mine = {getattr(x, "name", None) for x in getattr(base, kind)}
        for item in getattr(addition, kind):
            if item.name in mine:
                raise ConfigError(
                    f"{addition.name}: {kind[:-1].replace('_', ' ')} {item.name} is defined "
                    f"both in {base.source} and in {addition.source}",
                    hint="keep one definition",
                )


_PLUGIN_SOURCE = re.compile(r"plugin ([^:]+): ")


def _described_twice(first: ObjectSpec, second: ObjectSpec) -> ConfigError:
    """Two specs describe one custom object. When one is a plugin's, say how to add to the
    plugin's object, keep one's own, or do without the plugin, never to edit its files."""
    plugins = [found.group(1) for s in (first, second) if (found := _PLUGIN_SOURCE.match(s.source))]
    own = next((s for s in (first, second) if not _PLUGIN_SOURCE.match(s.source)), None)
    if not plugins or own is None:
        return ConfigError(
            f"custom object {second.name} is described twice: in {first.source} and in "
            f"{second.source}",
            hint="a custom object has one spec; add fields to it there",
        )
    plugin = plugins[0]
    return ConfigError(
        f"{own.source} describes {own.name}, which the enabled plugin {plugin} describes too",
        hint=f"to add fields to the plugin's {own.name}, leave label and plural_label out of "
        f"{own.source} (it then adds fields, links, layouts and access, as for a standard "
        f'object); to keep an object of your own, rename it; or remove "{plugin}" from '
        "[plugins] enabled in sftk.toml",
    )


ACTIVITY_OBJECTS = ("Event", "Task")


def _activity_split(spec: ObjectSpec) -> tuple[ObjectSpec, ...]:
    """Custom fields written for Event or Task go where Salesforce keeps them: on Activity,
    shared by both. Layouts, links and access stay on the object they were written for."""
    if spec.name not in ACTIVITY_OBJECTS or not spec.fields:
        return (spec,)
    activity = ObjectSpec(name="Activity", fields=spec.fields, source=spec.source)
    return (replace(spec, fields=()), activity)


def _plugin_objects(project: Project) -> list[ObjectSpec]:
    specs = []
    for name, result in project.plugins.call("sftk_object_specs", project.config.plugins):
        for spec in result:
            if not isinstance(spec, ObjectSpec):
                raise ConfigError(f"plugin {name} returned {type(spec).__name__}, not ObjectSpec")
            specs.append(replace(spec, source=f"plugin {name}: {spec.source}"))
    return specs


def _permission_sets(project: Project) -> list[PermissionSetSpec]:
    by_name: dict[str, PermissionSetSpec] = {}
    for _, result in project.plugins.call("sftk_permission_sets", project.config.plugins):
        by_name.update({spec.name: spec for spec in result})
    by_name.update({spec.name: spec for spec in project.config.permission_sets})
    return [by_name[name] for name in sorted(by_name)]


def _carried(config: ProjectConfig, folder: Path) -> list[MetadataFile]:
    """A hand-written metadata folder, in Metadata API format whatever it was written in."""
    files = fsio.read_tree(folder)
    shown = config.display(folder)
    files = [replace(f, origin=f"{shown}/{f.path}") for f in files]
    files = [f for f in files if f.path.rsplit("/", 1)[-1] not in MANIFEST_NAMES]
    if not files:
        return []
    if formats.detect_format(files) == "source":
        return [f for f in formats.to_mdapi(files) if f.path not in MANIFEST_NAMES]
    return files


def carried_objects(files: Iterable[MetadataFile]) -> frozenset[str]:
    """The objects whose own part (label, sharing...) hand-written metadata files give."""
    return frozenset(
        path.removeprefix("objects/").removesuffix(".object")
        for path, content in ((f.path, f.content) for f in files)
        if path.startswith("objects/")
        and path.endswith(".object")
        and not objectmerge.container_only(content, path)
    )
