"""Offline validation: the Metadata API schema first, then the rules the schema cannot express.

Works on a project (its package as it would be deployed) or on any metadata folder, in either
format. Every finding carries a rule id (``schema`` for XSD violations), the file and line, the
component, and a hint; for rendered files the report also names the spec they came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from toolkit import fsio
from toolkit.gcpause import gc_paused
from toolkit.metadata import rules, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.model import load_model
from toolkit.metadata.reading import SchemaProblem, read_file, read_tree
from toolkit.metadata.rules import Problem
from toolkit.metadata.schema import MetadataSchema, is_xml_metadata
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

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def origin_of(self, path: str) -> str | None:
        return dict(self.origins).get(path)


@gc_paused()
def validate_files(
    files: Sequence[MetadataFile], api_version: str, schema: MetadataSchema
) -> ValidationReport:
    """Run the rules over the model of the package, then schema-check every XML file.

    Each file is parsed once, for both. A file that is not well-formed goes to the schema
    check alone, which reports its line. The schema compiles in the background meanwhile, if
    it is still to be compiled (MetadataSchema.compile_soon).
    """
    schema.compile_soon()
    xml = [f for f in files if is_xml_metadata(f.path)]
    trees = _parse(xml)
    found = rules.check(files, api_version=api_version, model=load_model(files, trees))
    found.extend(_schema_problems(xml, schema, trees, api_version))
    problems = sorted(set(found), key=lambda p: (p.file, p.line, p.rule, p.message))
    origins = tuple(
        (f.path, f.origin)
        for f in files
        if f.origin and f.origin != f.path and f.origin != "generated"
    )
    return ValidationReport(tuple(problems), origins, len(files), api_version, schema.api_version)


def _parse(files: Sequence[MetadataFile]) -> dict[str, etree._Element]:
    """The trees of the files that are well-formed, by path."""
    trees: dict[str, etree._Element] = {}
    parser = xmlsafe.parser()
    for file in files:
        try:
            trees[file.path] = etree.fromstring(file.content, parser)
        except etree.XMLSyntaxError:
            continue  # the schema check reports it
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
    return validate_files(package.files, package.api_version, schema)


def validate_folder(
    folder: Path, api_version: str | None, wsdl: Path | None = None
) -> ValidationReport:
    schema = MetadataSchema.load(wsdl)
    files = fsio.read_tree(folder)
    return validate_files(files, api_version or schema.api_version, schema)


def _schema_problem(problem: SchemaProblem) -> Problem:
    return Problem(
        rule=SCHEMA_RULE,
        file=problem.path,
        line=problem.line,
        component=_component_of(problem.path),
        message=problem.message,
        hint=SCHEMA_HINT,
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
