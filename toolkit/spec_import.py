"""``sftk import``: a project's specs from objects an org or a metadata folder already has.

The steps a consultant takes with a customer's org: fetch the objects (a retrieve of the
objects, their layouts and tabs, and the permission sets, profiles and global value sets that
speak of them; or the same read from a folder in Metadata API or source format, or from a
Salesforce DX project's package directories), turn them into specs (``brownfield``, which
proves every spec by rendering it back), then write the specs into ``objects/``, what specs
cannot say into a hand-written metadata folder of the project (source format, one file per
field), and the permission sets' and global value sets' sections into sftk.toml.

Nothing is written until everything is known: existing spec files and hand-written files are
never overwritten unless asked (``force``), each file is written whole (temp file, then
renamed), and sftk.toml is checked after its edit and put back if it no longer loads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.config import CONFIG_NAME, load_config
from toolkit.errors import SftkError, UsageError
from toolkit.fsio import atomic_write_bytes
from toolkit.metadata import brownfield, formats, spec_writer
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.importing import Existing, Kept
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.metadata.types import BY_FOLDER, BY_NAME, MANIFEST_NAMES, SOURCE_ROOT
from toolkit.project import Project
from toolkit.validation import read_metadata_folder

# The types an import reads: the objects and what speaks of them.
IMPORT_TYPES = ("CustomObject", "Layout", "CustomTab", "PermissionSet", "GlobalValueSet", "Profile")
_IMPORT_FOLDERS = frozenset(BY_NAME[name].folder for name in IMPORT_TYPES)
DEFAULT_KEEP_DIR = "metadata"


@dataclass(frozen=True)
class ImportReport:
    """What an import read and wrote; paths are relative to the project."""

    source: str
    objects: tuple[str, ...]
    spec_files: tuple[str, ...]
    kept_dir: str
    kept_files: tuple[str, ...]
    kept: tuple[Kept, ...]
    specced: tuple[str, ...]
    left_out: tuple[str, ...]
    config_sections: tuple[str, ...]  # [permission_sets.X] ... added to sftk.toml
    notes: tuple[str, ...]
    differences: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def read_folder(path: Path) -> tuple[list[MetadataFile], str | None, list[str]]:
    """The object metadata of a folder (Metadata API or source format, or a Salesforce DX
    project read from its package directories) in Metadata API format, its API version,
    and notes about what was read leniently."""
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder", hint="pass a metadata folder or a DX project")
    folder = read_metadata_folder(path)
    wanted = [f for f in folder.files if _imported_folder(f.path)]
    cleaned, notes = brownfield.without_stray_text(wanted)
    files = formats.convert(cleaned, "mdapi", folder.api_version or "66.0")
    return [f for f in files if f.path not in MANIFEST_NAMES], folder.api_version, notes


def _imported_folder(path: str) -> bool:
    folder = next((part for part in path.split("/")[:-1] if part in BY_FOLDER), None)
    return folder in _IMPORT_FOLDERS


def retrieve_objects(project: Project, org: str, objects: Sequence[str]) -> list[MetadataFile]:
    """The objects, with their layouts and tabs and every permission set, profile and global
    value set of the org, retrieved together (so that the permission sets and profiles say
    what they grant on the objects)."""
    from toolkit.deploy.commands import session  # the deploy engine only when an org is used

    with session(project, org) as s:
        listed = s.retriever.listed(
            ["Layout", "CustomTab", "PermissionSet", "GlobalValueSet", "Profile"]
        )
        names = {name.lower() for name in objects}
        refs = [ComponentRef("CustomObject", name) for name in objects]
        for ref in listed:
            owner = ref.full_name.partition("-")[0] if ref.type == "Layout" else ref.full_name
            if ref.type in ("Layout", "CustomTab") and owner.lower() not in names:
                continue
            refs.append(ref)
        return list(s.retriever.components(refs).files)


def import_specs(
    project: Project,
    files: Sequence[MetadataFile],
    objects: Sequence[str] | None,
    source: str,
    *,
    keep_dir: str | None = None,
    force: bool = False,
    notes: Sequence[str] = (),
) -> ImportReport:
    """Turn ``files`` (Metadata API format) into the project's specs and hand-written files."""
    config = project.config
    renderer = Renderer([config.templates_dir, *project.plugins.template_dirs()])
    schema = MetadataSchema.for_version(project.api_version)
    existing = Existing(config.permission_sets, config.global_value_sets)
    result = brownfield.import_metadata(files, objects, renderer, schema, existing)
    kept_root = _keep_dir(project, keep_dir)
    kept_sources = _as_source(result.kept_files, project.api_version)
    spec_writes = [
        (config.objects_dir / f"{name}.toml", text.encode("utf-8")) for name, text in result.specs
    ]
    kept_writes = [(config.root / kept_root / f.path, f.content) for f in kept_sources]
    if not force:
        _refuse_existing([path for path, _ in (*spec_writes, *kept_writes)], config.root)
    config_path = config.root / CONFIG_NAME
    config_text = _config_text(project, result.config_sections, kept_root if kept_writes else None)
    _write_all([*kept_writes, *spec_writes, (config_path, config_text)], config_path)
    sections = [line for line in result.config_sections.splitlines() if line.startswith("[")]
    return ImportReport(
        source=source,
        objects=tuple(name for name, _ in result.specs),
        spec_files=tuple(config.display(path) for path, _ in spec_writes),
        kept_dir=kept_root,
        kept_files=tuple(f"{kept_root}/{f.path}" for f in kept_sources),
        kept=result.kept,
        specced=result.specced,
        left_out=result.left_out,
        config_sections=tuple(sections),
        notes=tuple(notes),
        differences=result.differences,
    )


def _keep_dir(project: Project, given: str | None) -> str:
    """Where the hand-written files go: the folder given, else the project's first metadata
    folder, else ``metadata`` (added to ``[project] metadata_dirs``)."""
    config = project.config
    if given is not None:
        return given.strip("/") or DEFAULT_KEEP_DIR
    if config.metadata_dirs:
        return config.display(config.metadata_dirs[0])
    return DEFAULT_KEEP_DIR


def _as_source(files: Sequence[MetadataFile], api_version: str) -> list[MetadataFile]:
    """The kept files in source format, one file per field, without the DX project's own
    files: a folder of ``objects/``, ``layouts/`` ... as the project's metadata folders take."""
    prefix = SOURCE_ROOT + "/"
    return [
        MetadataFile(f.path.removeprefix(prefix), f.content, f.origin)
        for f in formats.to_source(files, api_version)
        if f.path.startswith(prefix) and not _empty_object(f)
    ]


def _empty_object(file: MetadataFile) -> bool:
    """An object's own file that says nothing: source format writes one for an object whose
    kept parts are only children."""
    if not file.path.endswith(".object-meta.xml"):
        return False
    children, container_only = formats.object_children(file.content, file.path)
    return container_only and not children


def _refuse_existing(paths: Sequence[Path], root: Path) -> None:
    there = [path for path in paths if path.exists()]
    if there:
        shown = ", ".join(str(p.relative_to(root)) for p in there[:5])
        more = f" and {len(there) - 5} more" if len(there) > 5 else ""
        raise UsageError(
            f"the import would overwrite {shown}{more}",
            hint="move them away, import other objects (--objects), or pass --force to replace "
            "them",
        )


_PROJECT_HEADER = re.compile(r"^\[project\]\s*(#.*)?$", re.MULTILINE)
_EMPTY_METADATA_DIRS = re.compile(r"^metadata_dirs\s*=\s*\[\s*\][^\n]*$", re.MULTILINE)


def _config_text(project: Project, sections: str, kept_root: str | None) -> bytes:
    """sftk.toml with the import's sections added, and the hand-written folder (when there
    are hand-written files) in ``[project] metadata_dirs`` when it is not there yet."""
    config = project.config
    text = (config.root / CONFIG_NAME).read_text(encoding="utf-8")
    folder = None if kept_root is None else (config.root / kept_root).resolve()
    if kept_root is not None and folder not in {d.resolve() for d in config.metadata_dirs}:
        if config.metadata_dirs:
            raise UsageError(
                f"{kept_root} is not one of [project] metadata_dirs in {CONFIG_NAME}",
                hint=f'add "{kept_root}" to metadata_dirs, or leave --keep-dir out to use '
                f"{config.display(config.metadata_dirs[0])}",
            )
        line = f"metadata_dirs = [{spec_writer.string(kept_root)}]"
        if _EMPTY_METADATA_DIRS.search(text):
            text = _EMPTY_METADATA_DIRS.sub(line, text, count=1)
        elif (found := _PROJECT_HEADER.search(text)) is not None:
            text = text[: found.end()] + "\n" + line + text[found.end() :]
        else:
            text = f"[project]\n{line}\n\n" + text
    if sections:
        text = text.rstrip("\n") + "\n\n# added by `sftk import`\n" + sections
    return text.encode("utf-8")


def _write_all(writes: Sequence[tuple[Path, bytes]], config_path: Path) -> None:
    """Write every file whole; if one cannot be written, or sftk.toml then does not load, put
    everything back as it was: no import leaves half a project."""
    before = {path: path.read_bytes() if path.exists() else None for path, _ in writes}
    try:
        for path, data in writes:
            if before[path] != data:
                atomic_write_bytes(path, data)
        load_config(config_path)
    except (SftkError, OSError):
        for path, old in before.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write_bytes(path, old)
        raise
