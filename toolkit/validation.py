"""Offline validation: the Metadata API schema first, then the rules the schema cannot express.

Works on a project (its package as it would be deployed) or on any metadata folder, in either
format. Every finding carries a rule id (``schema`` for XSD violations), the file and line, the
component, and a hint; for rendered files the report also names the spec they came from.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from toolkit import fsio
from toolkit.errors import ConfigError
from toolkit.gcpause import gc_paused
from toolkit.metadata import rules, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.model import MANIFEST_NAME, load_model
from toolkit.metadata.reading import SchemaProblem, read_file, read_tree
from toolkit.metadata.rules import Problem
from toolkit.metadata.schema import MetadataSchema, is_xml_metadata
from toolkit.metadata.sfdx import FORCEIGNORE, SFDX_PROJECT, ForceIgnore, parse_sfdx_project
from toolkit.metadata.types import BY_FOLDER
from toolkit.project import Project, build_package

SCHEMA_RULE = "schema"
SCHEMA_HINT = "make the element names and values match the Metadata API schema"


@dataclass(frozen=True)
class ValidationReport:
    problems: tuple[Problem, ...]
    origins: tuple[tuple[str, str], ...]  # (file, where it came from) for rendered files
    files_checked: int
    api_version: str
    schema_version: str
    build_warnings: tuple[str, ...] = ()  # a project's: what its build left out or guessed

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def origin_of(self, path: str) -> str | None:
        return self._origins.get(path)

    @functools.cached_property
    def _origins(self) -> dict[str, str]:
        return dict(self.origins)


@dataclass(frozen=True)
class MetadataFolder:
    """A folder's metadata as a deploy of it would send it: from a Salesforce DX project, the
    package directories' files less what ``.forceignore`` leaves out, with the project's API
    version and namespace; from any other folder, all of it, with package.xml's version."""

    files: tuple[MetadataFile, ...]
    api_version: str | None
    namespace: str = ""


@gc_paused()
def validate_files(
    files: Sequence[MetadataFile],
    api_version: str,
    schema: MetadataSchema,
    *,
    namespace: str = "",
) -> ValidationReport:
    """Run the rules over the model of the package, then schema-check every XML file.

    Each file is parsed once, for both. A file that is not well-formed goes to the schema
    check alone, which reports its line. The schema compiles in the background meanwhile, if
    it is still to be compiled (MetadataSchema.compile_soon).
    """
    schema.compile_soon()
    xml = [f for f in files if is_xml_metadata(f.path)]
    trees = _parse(xml)
    found = rules.check(
        files, api_version=api_version, model=load_model(files, trees), namespace=namespace
    )
    found.extend(_schema_problems(xml, schema, trees, api_version))
    problems = sorted(set(found), key=lambda p: (p.file, p.line, p.rule, p.message))
    origins = tuple(
        (f.path, f.origin)
        for f in files
        if f.origin and f.origin != f.path and f.origin != "generated"
    )
    return ValidationReport(tuple(problems), origins, len(files), api_version, schema.api_version)


def _parse(files: Sequence[MetadataFile]) -> dict[str, etree._Element]:
    """The trees of the files that are well-formed (and declare no DTD), by path."""
    trees: dict[str, etree._Element] = {}
    parser = xmlsafe.parser()
    for file in files:
        try:
            root = etree.fromstring(file.content, parser)
        except etree.XMLSyntaxError:
            continue  # the schema check reports it
        if xmlsafe.doctype_line(root, file.content) is None:
            trees[file.path] = root
    return trees


def _schema_problems(
    files: Sequence[MetadataFile],
    schema: MetadataSchema,
    trees: Mapping[str, etree._Element],
    api_version: str,
) -> list[Problem]:
    """The reader's findings on ``files``; ``trees`` holds those that are well-formed."""
    found: list[Problem] = []
    for file in files:
        tree = trees.get(file.path)
        if tree is None:
            problems = read_file(file, schema, api_version)
        else:
            problems = read_tree(tree, file.path, schema, api_version)
        found.extend(_schema_problem(p) for p in problems)
    return found


def validate_project(project: Project, wsdl: Path | None = None) -> ValidationReport:
    package = build_package(project)
    schema = MetadataSchema.for_version(package.api_version, wsdl)
    report = validate_files(package.files, package.api_version, schema)
    return replace(report, build_warnings=package.warnings)


def validate_folder(
    folder: Path, api_version: str | None = None, wsdl: Path | None = None
) -> ValidationReport:
    """Validate a metadata folder in either format, or a Salesforce DX project's root.

    The API version is ``api_version`` if given, else the project's ``sourceApiVersion`` or
    package.xml's ``<version>``, else the newest schema's; the schema is picked for it.
    """
    found = read_metadata_folder(folder)
    if not any(is_xml_metadata(f.path) for f in found.files):
        what = f"{len(found.files)} files, none of them metadata" if found.files else "no files"
        raise ConfigError(
            f"{folder}: nothing to check ({what})",
            hint="give a Metadata API folder (with package.xml), a source-format folder or a "
            "Salesforce DX project",
        )
    version = api_version or found.api_version
    schema = MetadataSchema.for_version(version, wsdl)
    return validate_files(
        found.files, version or schema.api_version, schema, namespace=found.namespace
    )


def read_metadata_folder(folder: Path) -> MetadataFolder:
    """What a deploy of ``folder`` would send, with the API version and the namespace it
    would go with: a Salesforce DX project is read as the sf CLI reads it."""
    project_file = _sfdx_project_file(folder)
    if project_file is None:
        files = fsio.read_tree(folder)
        manifest = next((f for f in files if f.path == MANIFEST_NAME), None)
        version = None if manifest is None else _manifest_version(manifest)
        return MetadataFolder(tuple(files), version)
    root = project_file.parent
    project = parse_sfdx_project(_read(project_file), str(project_file))
    ignore_file = root / FORCEIGNORE
    ignore = ForceIgnore.parse(_read(ignore_file)) if ignore_file.is_file() else ForceIgnore()
    inside = folder.resolve().relative_to(root.resolve()).as_posix()
    if inside == ".":
        # From the root, the package directories are the metadata (not node_modules, scripts).
        by_path = {
            f.path: f
            for directory in project.package_directories
            for f in _read_package_directory(root, directory)
        }
        kept = tuple(f for path, f in sorted(by_path.items()) if not ignore.ignores(path))
    else:  # a folder named inside the project is metadata as a whole
        kept = tuple(f for f in fsio.read_tree(folder) if not ignore.ignores(f"{inside}/{f.path}"))
    return MetadataFolder(kept, project.source_api_version, project.namespace)


def _sfdx_project_file(folder: Path) -> Path | None:
    """The sfdx-project.json of the Salesforce DX project ``folder`` is in, if any."""
    for candidate in (folder, *folder.resolve().parents):
        if (candidate / SFDX_PROJECT).is_file():
            return candidate / SFDX_PROJECT
    return None


def _read_package_directory(root: Path, directory: str) -> list[MetadataFile]:
    if directory in ("", "."):
        return fsio.read_tree(root)
    return [
        MetadataFile(f"{directory}/{f.path}", f.content, f.origin)
        for f in fsio.read_tree(root / directory)
    ]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror})", hint="check its permissions"
        ) from None


def _manifest_version(manifest: MetadataFile) -> str | None:
    """package.xml's ``<version>``, which decides the API version of a deploy."""
    try:
        root = xmlsafe.parse(manifest.content, manifest.path)
    except ConfigError:
        return None  # the reader reports the file
    version = next(root.iterchildren("{*}version"), None)
    text = None if version is None else (version.text or "").strip()
    return text or None


def _schema_problem(problem: SchemaProblem) -> Problem:
    return Problem(
        rule=SCHEMA_RULE,
        file=problem.path,
        line=problem.line,
        component=_component_of(problem.path),
        message=problem.message,
        hint=problem.hint or SCHEMA_HINT,
        severity=problem.severity,
    )


def _component_of(path: str) -> str:
    """``objects/Course__c.object`` -> ``CustomObject Course__c``, best effort, for messages."""
    parts = path.split("/")
    name = parts[-1].removesuffix("-meta.xml")
    for index in range(len(parts) - 2, -1, -1):
        mtype = BY_FOLDER.get(parts[index])
        if mtype is None:
            continue
        if index < len(parts) - 2:
            child = mtype.child_by_folder(parts[index + 2]) if len(parts) > index + 3 else None
            if child is not None:
                return f"{child.type} {parts[index + 1]}.{name.rsplit('.', 1)[0]}"
            return f"{mtype.name} {parts[index + 1]}"
        return f"{mtype.name} {name.rsplit('.', 1)[0]}"
    return name
