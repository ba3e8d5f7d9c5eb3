"""Metadata deploys: checked like a real org checks them, run one at a time in the background.

A deploy is read and judged up front (zip, manifest, schema of every file, references against
the org's schema plus the package), then walked component by component with a small delay so
clients polling ``checkDeployStatus`` see the counters move, then committed in one transaction:
all or nothing when rollbackOnError is on (always on a non-sandbox org), only the successes when
it is off, nothing at all for checkOnly or a cancel. Every step is stored, so a restarted org
picks up queued and interrupted deploys where a real org would: from the start, as nothing of
them was committed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.localorg import apex, components
from toolkit.localorg.components import CHILD_BY_TAG, ORG_TYPES, TYPES_BY_FOLDER, ObjectFacts
from toolkit.localorg.facts import OrgFacts
from toolkit.localorg.store import Store, register_schema
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.model import FieldDef, PackageModel, is_custom_name, load_model
from toolkit.metadata.packaging import PACKAGE_LIMITS, read_zip
from toolkit.metadata.reading import read_tree
from toolkit.metadata.schema import MetadataSchema
from toolkit.metadata.standard_objects import SYSTEM_FIELDS, standard_field
from toolkit.metadata.types import MetadataType

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

SCHEMA = """
CREATE TABLE IF NOT EXISTS md_deploys (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    created_date TEXT NOT NULL,
    options TEXT NOT NULL,
    zip BLOB,
    result TEXT NOT NULL,
    done INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    quick_deployed INTEGER NOT NULL DEFAULT 0
);
"""
register_schema(SCHEMA)

DEPLOY_PREFIX = "0Af"
DELAY_KEY = "metadata.component_delay"
DEFAULT_DELAY = 0.02
# Pacing makes progress visible on small deploys; it never adds more than this to a deploy.
PACING_CAP = 2.0
# Progress is written at most this often: a big deploy's result grows with every component.
SAVE_INTERVAL = 0.1
QUICK_DEPLOY_WINDOW = dt.timedelta(days=10)
APEX_TYPES = frozenset({"ApexClass", "ApexTrigger"})
TEST_LEVELS = (
    "NoTestRun",
    "RunSpecifiedTests",
    "RunLocalTests",
    "RunAllTestsInOrg",
    "RunRelevantTests",
)
_UNFILED = "unfiled$public"  # the folder every org has for reports and email templates
DOCTYPE_REFUSED = "DOCTYPE is disallowed: a metadata file may not declare a DTD or entities"
_DESTRUCTIVE = ("destructiveChangesPre.xml", "destructiveChanges.xml", "destructiveChangesPost.xml")
_log = logging.getLogger(__name__)
_APEX_NOTE = (
    "The local org stores Apex as deployed but does not compile or run it; test results and "
    "code coverage come from its coverage profile."
)


class DeployRefused(Exception):
    """A call refused as a whole (a SOAP fault / REST error): Salesforce code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DeployOptions:
    check_only: bool = False
    rollback_on_error: bool = False
    test_level: str | None = None
    run_tests: tuple[str, ...] = ()
    ignore_warnings: bool = False
    purge_on_delete: bool = False
    allow_missing_files: bool = False
    single_package: bool = True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["run_tests"] = list(self.run_tests)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeployOptions:
        return cls(**{**data, "run_tests": tuple(data.get("run_tests", ()))})


def is_production(facts: OrgFacts) -> bool:
    """Production as the deploy docs mean it: neither a sandbox nor a Developer Edition org."""
    return not facts.is_sandbox and facts.organization_type != "Developer Edition"


def check_permission(facts: OrgFacts) -> None:
    if not (facts.has("ModifyMetadata") or facts.has("ModifyAllData")):
        raise DeployRefused(
            "INSUFFICIENT_ACCESS",
            "The Metadata API needs the Modify Metadata Through Metadata API Functions or the "
            "Modify All Data permission, which this user does not have.",
        )


# --- what a deploy holds ------------------------------------------------------------------------


@dataclass
class Unit:
    """One component of a deploy, with the outcome it will report."""

    type: str
    full_name: str
    file_name: str  # as the client sees it, root folder included
    content: bytes = b""
    meta: bytes | None = None
    files: tuple[tuple[str, bytes], ...] = ()  # a bundle's or a folder's files
    path: str = ""  # where it is stored in the package, when not folder/name.suffix
    delete: bool = False
    parent: str | None = None  # object of an object child
    phase: int = 1  # deletes: 0 before the other components, 2 after
    facts: ObjectFacts | None = None
    field_def: FieldDef | None = None
    problems: list[tuple[str, str, int | None, int | None]] = field(default_factory=list)
    created: bool = False
    changed: bool = False
    exists: bool = False

    @property
    def failed(self) -> bool:
        return any(kind == "Error" for kind, _, _, _ in self.problems)

    def fail(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        self.problems.append(("Error", problem, line, column))

    def reported_type(self) -> str:
        return f"{self.full_name}Settings" if self.type == "Settings" else self.type


@dataclass
class Plan:
    units: list[Unit]
    package_messages: list[dict[str, Any]]  # package.xml itself and problems with it
    has_apex: bool
    error: str | None = None
    prefix: str = ""


def _message(
    file_name: str,
    full_name: str,
    component_type: str,
    *,
    success: bool,
    problem: tuple[str, str, int | None, int | None] | None = None,
    created: bool = False,
    changed: bool = False,
    deleted: bool = False,
    component_id: str | None = None,
) -> dict[str, Any]:
    kind, text, line, column = problem if problem else (None, None, None, None)
    return {
        "changed": changed,
        "columnNumber": column,
        "componentType": component_type,
        "created": created,
        "createdDate": components.now(),
        "deleted": deleted,
        "fileName": file_name,
        "fullName": full_name,
        "id": component_id,
        "lineNumber": line,
        "problem": text,
        "problemType": kind,
        "success": success,
    }


def _line(element: etree._Element) -> int | None:
    return cast("int | None", element.sourceline)


# What a custom metadata type's Metadata Relationship field may point at besides another type:
# the org's objects, their fields and their entity particles (Salesforce Help, "Create a
# Relationship to a Field Definition or Entity Particle").
_METADATA_RELATIONSHIP_TARGETS = frozenset(
    {"entitydefinition", "fielddefinition", "entityparticle"}
)


def _names_metadata(field: FieldDef) -> bool:
    return (
        field.type == "MetadataRelationship"
        and (field.reference_to or "").lower() in _METADATA_RELATIONSHIP_TARGETS
    )


def _column(content: bytes, line: int, tag: str, lines: list[bytes] | None = None) -> int | None:
    """The column of ``<tag`` on a 1-based line, so a problem points at the element itself."""
    lines = content.split(b"\n") if lines is None else lines
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    opening = b"<" + tag.encode()
    found = text.find(opening)
    while found >= 0:
        after = text[found + len(opening) : found + len(opening) + 1]
        if after in (b">", b" ", b"/", b"\t", b""):
            return found + 1
        found = text.find(opening, found + 1)
    return None


def _locate(content: bytes, line: int, tag: str) -> tuple[int, int | None]:
    """Line and column of the first ``<tag`` at or after ``line``: an entry of a layout or a
    permission set starts a few lines above the element that names the missing thing."""
    lines = content.split(b"\n")
    for number in range(max(line, 1), min(line + 20, len(lines)) + 1):
        column = _column(content, number, tag, lines)
        if column is not None:
            return number, column
    return line, None


def _read_files(zip_bytes: bytes) -> tuple[list[MetadataFile], str]:
    """The package files and the folder they sit in inside the zip (``''`` when flat)."""
    files = read_zip(zip_bytes, source="zip")
    prefix = ""
    if files:
        origin = files[0].origin.partition("!")[2]
        prefix = origin[: len(origin) - len(files[0].path)]
    return files, prefix


class _Planner:
    """Turns the files of one deploy into units with their problems, against the org's schema."""

    def __init__(
        self, db: sqlite3.Connection, schema: MetadataSchema, options: DeployOptions, prefix: str
    ) -> None:
        self.db = db
        self.schema = schema
        self.options = options
        self.prefix = prefix
        self.units: list[Unit] = []
        self.package: list[dict[str, Any]] = []
        self.trees: dict[str, etree._Element] = {}

    def fail_package(self, file_name: str, problem: str, line: int | None = None) -> None:
        self.package.append(
            _message(
                self.prefix + file_name,
                file_name,
                "",
                success=False,
                problem=("Error", problem, line, None),
            )
        )

    def parse(self, file: MetadataFile) -> tuple[etree._Element | None, list[tuple[str, int, str]]]:
        """The parsed file and its schema problems (line, element, message)."""
        try:
            root = etree.fromstring(file.content, xmlsafe.parser())
        except etree.XMLSyntaxError as exc:
            return None, [(f"Error parsing file: {exc.msg}", exc.lineno or 0, "")]
        if root.getroottree().docinfo.internalDTD is not None:
            # Entities are never resolved; a file declaring them is refused, not half-read.
            line = file.content.count(b"\n", 0, max(file.content.find(b"<!DOCTYPE"), 0)) + 1
            return None, [(f"Error parsing file: {DOCTYPE_REFUSED}", line, "")]
        self.trees[file.path] = root
        found = read_tree(root, file.path, self.schema)
        return root, [
            (f"Error parsing file: {p.message}", p.line, p.element)
            for p in found
            if p.severity == "error"  # what a real org passes over in silence
        ]

    def plan(self, files: Sequence[MetadataFile]) -> None:
        by_path = {f.path: f for f in files}
        manifest = by_path.get("package.xml")
        if manifest is None:
            self.fail_package("package.xml", "No package.xml found")
            return
        listed = self._manifest(manifest)
        if listed is None:
            return
        for name in _DESTRUCTIVE:
            if name in by_path:
                self._destructive(by_path[name], name)
        held = self._files(files, listed)
        for type_name, members in sorted(listed.items()):
            for member in sorted(members - {"*"}):
                if (type_name, member.lower()) in held or self.options.allow_missing_files:
                    continue
                self.fail_package(
                    "package.xml",
                    f"An object '{member}' of type {type_name} was named in package.xml, but "
                    "was not found in zipped directory",
                )
        self._references(files)

    def _manifest(self, file: MetadataFile) -> dict[str, set[str]] | None:
        root, problems = self.parse(file)
        for message, line, _ in problems:
            self.fail_package(file.path, message, line or None)
        if root is None or problems:
            return None
        listed: dict[str, set[str]] = {}
        for types in root.iterchildren(f"{{{METADATA_NS}}}types"):
            name = (types.findtext(f"{{{METADATA_NS}}}name") or "").strip()
            members = {
                (m.text or "").strip() for m in types.iterchildren(f"{{{METADATA_NS}}}members")
            }
            if not components.is_known(name):
                self.fail_package(
                    file.path,
                    f"Unknown type name '{name}' specified in package.xml",
                    _line(types),
                )
                continue
            listed.setdefault(name, set()).update(members)
        return listed

    def _destructive(self, file: MetadataFile, name: str) -> None:
        root, problems = self.parse(file)
        for message, line, _ in problems:
            self.fail_package(name, message, line or None)
        if root is None or problems:
            return
        phase = 2 if name == "destructiveChangesPost.xml" else 0
        for types in root.iterchildren(f"{{{METADATA_NS}}}types"):
            type_name = (types.findtext(f"{{{METADATA_NS}}}name") or "").strip()
            for member in types.iterchildren(f"{{{METADATA_NS}}}members"):
                full_name = (member.text or "").strip()
                kind = components.stored_type(type_name, full_name)
                unit = Unit(kind, full_name, self.prefix + name, delete=True, phase=phase)
                if not components.is_known(type_name):
                    unit.fail(f"Unknown type name '{type_name}' specified in {name}", _line(member))
                elif "*" in full_name:
                    unit.fail(f"Wildcards are not allowed in {name}", _line(member))
                else:
                    stored = components.get(self.db, kind, full_name)
                    if stored is None:
                        unit.problems.append(
                            ("Warning", f"No {type_name} named: {full_name} found", None, None)
                        )
                    else:
                        unit.full_name = stored.full_name
                        unit.file_name = self.prefix + stored.file_name
                        unit.exists = True
                self.units.append(unit)

    def _wanted(self, listed: dict[str, set[str]], type_name: str, name: str) -> bool:
        members = listed.get(type_name, set())
        return "*" in members or name.lower() in {m.lower() for m in members}

    def _files(
        self, files: Sequence[MetadataFile], listed: dict[str, set[str]]
    ) -> set[tuple[str, str]]:
        """Units for every listed component the files hold; returns (type, lower name) held."""
        held: set[tuple[str, str]] = set()
        metas = {f.path for f in files if f.path.endswith("-meta.xml")}
        by_path = {f.path: f for f in files}
        bundles: dict[tuple[str, str], list[MetadataFile]] = {}
        for file in files:
            folder, _, file_name = file.path.partition("/")
            mtype = TYPES_BY_FOLDER.get(folder)
            if mtype is not None and mtype.is_bundle:
                name, sep, inner = file_name.partition("/")
                if name and sep and inner:
                    bundles.setdefault((mtype.name, name), []).append(file)
                continue
            if mtype is not None and mtype.in_folder:
                held.update(self._in_folder(file, mtype, file_name, by_path, listed))
                continue
            if mtype is None or "/" in file_name or not file_name.endswith("." + mtype.suffix):
                continue
            name = file_name[: -len(mtype.suffix) - 1]
            if mtype.name == "CustomObject":
                held.update(self._object(file, name, listed))
                continue
            held.add((mtype.name, name.lower()))
            if not self._wanted(listed, mtype.name, name):
                continue
            unit = Unit(mtype.name, name, self.prefix + file.path, content=file.content)
            xml_file = file
            if mtype.has_content:
                meta_path = file.path + "-meta.xml"
                if meta_path not in metas:
                    unit.fail(f"The -meta.xml file {self.prefix + meta_path} is missing")
                    self._add(unit)
                    continue
                xml_file = by_path[meta_path]
                unit.meta = xml_file.content
            expected = f"{name}Settings" if mtype.name == "Settings" else mtype.name
            self._check_xml(unit, xml_file, expected)
            if mtype.name in APEX_TYPES and not unit.failed:
                unit.problems.append(("Info", _APEX_NOTE, None, None))
            self._add(unit)
        for (type_name, name), parts in sorted(bundles.items()):
            held.add((type_name, name.lower()))
            if not self._wanted(listed, type_name, name):
                continue
            path = f"{ORG_TYPES[type_name].folder}/{name}"
            unit = Unit(type_name, name, self.prefix + path, path=path)
            unit.files = tuple(sorted((f.path, f.content) for f in parts))
            for part in parts:
                if part.path.endswith("-meta.xml"):
                    self._check_xml(unit, part, type_name)
            self._add(unit)
        return held

    def _check_xml(self, unit: Unit, xml_file: MetadataFile, expected: str) -> None:
        """Schema problems of a component's XML, and a root element of the wrong type."""
        root, problems = self.parse(xml_file)
        for message, line, element in problems:
            unit.fail(message, line or None, _column(xml_file.content, line, element))
        if root is not None and not problems:
            found = etree.QName(root).localname
            if found != expected:
                unit.fail(
                    f"Error parsing file: the root element is <{found}>, expected <{expected}>",
                    _line(root),
                )

    def _in_folder(
        self,
        file: MetadataFile,
        mtype: MetadataType,
        rest: str,
        by_path: dict[str, MetadataFile],
        listed: dict[str, set[str]],
    ) -> set[tuple[str, str]]:
        """A unit for a file of an in-folder type: a folder (``reports/F-meta.xml``) or a
        component in one (``reports/F/R.report``); returns the (type, lower name) it holds."""
        folder, sep, file_name = rest.partition("/")
        if not sep:
            name = folder.removesuffix("-meta.xml")
            if name == folder or not name:
                return set()
            if self._wanted(listed, mtype.name, name):
                path = f"{mtype.folder}/{name}"
                unit = Unit(mtype.folder_type, name, self.prefix + path, path=path)
                unit.files = ((file.path, file.content),)
                self._check_xml(unit, file, mtype.folder_type)
                self._add(unit)
            return {(mtype.name, name.lower())}
        suffix = "." + mtype.suffix
        any_name = mtype.name == "Document"  # a document keeps its own file name
        if not folder or "/" in file_name or file_name.endswith("-meta.xml"):
            return set()
        if not any_name and not file_name.endswith(suffix):
            return set()
        name = f"{folder}/{file_name if any_name else file_name[: -len(suffix)]}"
        if not self._wanted(listed, mtype.name, name):
            return {(mtype.name, name.lower())}
        unit = Unit(mtype.name, name, self.prefix + file.path, content=file.content, path=file.path)
        xml_file: MetadataFile | None = file
        if mtype.has_content:
            xml_file = by_path.get(file.path + "-meta.xml")
            if xml_file is None:
                unit.fail(f"The -meta.xml file {self.prefix + file.path}-meta.xml is missing")
            else:
                unit.meta = xml_file.content
        if xml_file is not None:
            self._check_xml(unit, xml_file, mtype.name)
        folder_file = f"{mtype.folder}/{folder}-meta.xml"
        known = folder == _UNFILED or folder_file in by_path
        if not known and components.get(self.db, mtype.folder_type, folder) is None:
            unit.fail(f"Cannot find folder:{folder}")
        self._add(unit)
        return {(mtype.name, name.lower())}

    def _add(self, unit: Unit) -> None:
        stored = components.get(self.db, unit.type, unit.full_name)
        unit.exists = stored is not None
        unit.created = stored is None
        unit.changed = stored is not None and (stored.content, stored.meta, stored.files) != (
            unit.content,
            unit.meta,
            unit.files,
        )
        self.units.append(unit)

    def _object(
        self, file: MetadataFile, name: str, listed: dict[str, set[str]]
    ) -> set[tuple[str, str]]:
        held: set[tuple[str, str]] = set()
        root, problems = self.parse(file)
        file_name = self.prefix + file.path
        whole = self._wanted(listed, "CustomObject", name)
        if root is None:
            if whole:
                unit = Unit("CustomObject", name, file_name, content=file.content)
                for message, line, _ in problems:
                    unit.fail(message, line or None)
                self._add(unit)
            return {("CustomObject", name.lower())}
        children: list[Unit] = []
        starts: list[tuple[int, Unit]] = []
        own = False
        for element in root:
            if not isinstance(element.tag, str):
                continue
            tag = etree.QName(element).localname
            child = CHILD_BY_TAG.get(tag)
            if child is None:
                own = own or tag != "fullName"
                continue
            child_name = (element.findtext(f"{{{METADATA_NS}}}fullName") or "").strip()
            full_name = f"{name}.{child_name}"
            held.add((child.type, full_name.lower()))
            if not (whole or self._wanted(listed, child.type, full_name)):
                continue
            unit = Unit(
                child.type,
                full_name,
                file_name,
                content=components.element_bytes(element),
                parent=name,
            )
            children.append(unit)
            starts.append((_line(element) or 0, unit))
        object_unit: Unit | None = None
        if own or whole:
            # A package may list an object whose file holds only children: that is how fields
            # are added to a standard object (Contact), and the file is there all the same.
            held.add(("CustomObject", name.lower()))
        exists = components.object_exists(self.db, name)
        if whole:
            object_unit = Unit("CustomObject", name, file_name, content=file.content)
        elif children and not exists:
            object_unit = Unit("CustomObject", name, file_name, content=file.content)
            object_unit.fail("Must specify a non-empty label for the CustomObject")
        for message, line, tag in problems:
            target = object_unit
            for start, unit in starts:
                if start <= line:
                    target = unit
            if target is None:
                target = children[0] if children else None
            if target is not None:
                target.fail(message, line or None, _column(file.content, line, tag))
        if object_unit is not None:
            self._add(object_unit)
            if object_unit.failed and not exists:
                for unit in children:
                    if not unit.failed:
                        unit.fail(f"CustomObject {name} is not in the org and did not deploy")
        for unit in children:
            self._add(unit)
        return held

    def _references(self, files: Sequence[MetadataFile]) -> None:
        """The checks a real org makes against its schema, worded as it words them."""
        model = load_model(files, self.trees)
        new_objects = {
            u.full_name.lower(): u
            for u in self.units
            if u.type == "CustomObject" and not u.delete and not u.failed
        }
        new_fields = {
            u.full_name.lower(): u
            for u in self.units
            if u.type == "CustomField" and not u.delete and not u.failed
        }

        def object_ok(obj: str) -> bool:
            return obj.lower() in new_objects or components.object_exists(self.db, obj)

        def field_ok(obj: str, name: str) -> bool:
            """A field of the package, of the org, or one Salesforce gives every object."""
            return (
                f"{obj}.{name}".lower() in new_fields
                or components.field_exists(self.db, obj, name)
                or standard_field(obj, name) is not None
            )

        fields = {f.full_name.lower(): f for obj in model.objects.values() for f in obj.fields}
        for unit in self.units:
            if unit.delete or unit.failed:
                continue
            if unit.type == "CustomObject":
                self._check_object(unit, model, fields)
            elif unit.type == "CustomField":
                field_def = fields.get(unit.full_name.lower())
                unit.field_def = field_def
                refused = _standard_field_refusal(unit.full_name)
                if refused is not None:
                    unit.fail(refused, field_def.line if field_def is not None else None)
                elif (
                    field_def is not None
                    and field_def.reference_to
                    and not object_ok(field_def.reference_to)
                    and not _names_metadata(field_def)
                ):
                    unit.fail(
                        f"referenceTo value of '{field_def.reference_to}' does not resolve to a "
                        "valid sObject type",
                        field_def.line_of("referenceTo"),
                        _column(unit.content, 1, "referenceTo"),
                    )
            elif unit.type == "Layout":
                self._check_layout(unit, model, object_ok, field_ok)
            elif unit.type == "PermissionSet":
                self._check_permission_set(unit, model, object_ok, field_ok, fields)
        for unit in self.units:
            if unit.type == "CustomField" and unit.field_def is not None:
                unit.field_def = replace(unit.field_def, element=None)

    def _check_object(self, unit: Unit, model: PackageModel, fields: dict[str, FieldDef]) -> None:
        obj = model.find_object(unit.full_name)
        if obj is None or not is_custom_name(unit.full_name):
            return  # a standard object's label and name field are Salesforce's, not the file's
        if not obj.label:
            # a file without a label (only fields, say) does not redefine an existing object
            if not unit.exists:
                unit.fail("Must specify a non-empty label for the CustomObject")
            return
        root = obj.element
        sharing = None if root is None else root.findtext(f"{{{METADATA_NS}}}sharingModel")
        name_field = obj.name_field
        unit.facts = ObjectFacts(
            name=unit.full_name,
            label=obj.label,
            plural_label=obj.plural_label or obj.label,
            sharing_model=sharing,
            name_field_type=name_field.type if name_field else None,
            name_field_label=name_field.label if name_field else None,
        )
        if sharing == "ControlledByParent":
            in_package = any(f.type == "MasterDetail" for f in obj.fields)
            in_org = any(
                components.field_type_of(self.db, unit.full_name, name) == "MasterDetail"
                for name in self._org_fields(unit.full_name)
            )
            if not (in_package or in_org):
                unit.fail(
                    "Cannot set sharingModel to ControlledByParent on a CustomObject without a "
                    "MasterDetail relationship field",
                    obj.line_of("sharingModel"),
                )

    def _org_fields(self, object_name: str) -> list[str]:
        rows = self.db.execute(
            "SELECT name FROM schema_fields WHERE object = ? AND field_type = 'MasterDetail'",
            (object_name,),
        ).fetchall()
        return [row["name"] for row in rows]

    def _check_layout(self, unit: Unit, model: PackageModel, object_ok: Any, field_ok: Any) -> None:
        layout = next((lay for lay in model.layouts if lay.name == unit.full_name), None)
        if layout is None:
            return
        if not object_ok(layout.object):
            unit.fail(f"There is no object named {layout.object} for this layout", layout.line)
            return
        for item in layout.items:
            if not field_ok(layout.object, item.field):
                unit.fail(
                    f"Field {item.field} does not exist. Check spelling.",
                    *_locate(unit.content, item.line, "field"),
                )

    def _check_permission_set(
        self,
        unit: Unit,
        model: PackageModel,
        object_ok: Any,
        field_ok: Any,
        fields: dict[str, FieldDef],
    ) -> None:
        perm_set = next((p for p in model.permission_sets if p.name == unit.full_name), None)
        if perm_set is None:
            return
        for obj_perm in perm_set.object_permissions:
            if not object_ok(obj_perm.object):
                unit.fail(
                    f"In field: object - no CustomObject named {obj_perm.object} found",
                    *_locate(unit.content, obj_perm.line, "object"),
                )
        for field_perm in perm_set.field_permissions:
            obj, _, name = field_perm.field.partition(".")
            if not name or not field_ok(obj, name):
                unit.fail(
                    f"In field: field - no CustomField named {field_perm.field} found",
                    *_locate(unit.content, field_perm.line, "field"),
                )
                continue
            package_field = fields.get(field_perm.field.lower())
            std = standard_field(obj, name)
            required = (
                package_field.required or package_field.type == "MasterDetail"
                if package_field is not None
                else std is not None and std.required
            )
            if required:
                unit.fail(
                    f"You cannot deploy to a required field: {field_perm.field}",
                    *_locate(unit.content, field_perm.line, "field"),
                )


# --- the engine ---------------------------------------------------------------------------------


# How a real org words a field whose name has no custom suffix: one it has but lets nobody
# define (Id, CreatedDate...), and one it does not have at all.
_SUFFIX_REQUIRED = (
    "fullName must end with: __c or __kav or __x or __b or __e or __p or __mdt or __dll or __dlm"
)
_NO_SUCH_STANDARD_FIELD = "Could not resolve standard field's name."


def _standard_field_refusal(full_name: str) -> str | None:
    """Why the org refuses a CustomField named without a custom suffix, if it does: a system
    field is no package's to define, and a name no standard field has must be custom."""
    object_name, _, name = full_name.partition(".")
    if is_custom_name(name):
        return None
    if name.lower() in SYSTEM_FIELDS:
        return _SUFFIX_REQUIRED
    return None if standard_field(object_name, name) is not None else _NO_SUCH_STANDARD_FIELD


def _base_result(deploy_id: str, options: DeployOptions, facts: OrgFacts) -> dict[str, Any]:
    stamp = components.now()
    return {
        "canceledBy": None,
        "canceledByName": None,
        "checkOnly": options.check_only,
        "completedDate": None,
        "createdBy": facts.user_id[:15],
        "createdByName": f"{facts.first_name} {facts.last_name}",
        "createdDate": stamp,
        "details": {
            "componentFailures": [],
            "componentSuccesses": [],
            "runTestResult": {"numFailures": 0, "numTestsRun": 0, "totalTime": 0.0},
        },
        "done": False,
        "errorMessage": None,
        "errorStatusCode": None,
        "id": deploy_id,
        "ignoreWarnings": options.ignore_warnings,
        "lastModifiedDate": stamp,
        "numberComponentErrors": 0,
        "numberComponentsDeployed": 0,
        "numberComponentsTotal": 0,
        "numberTestErrors": 0,
        "numberTestsCompleted": 0,
        "numberTestsTotal": 0,
        "rollbackOnError": options.rollback_on_error,
        "runTestsEnabled": False,
        "startDate": None,
        "stateDetail": None,
        "status": "Pending",
        "success": False,
    }


def strip_details(result: dict[str, Any]) -> dict[str, Any]:
    """What checkDeployStatus shows without includeDetails: the counters, empty details."""
    return {**result, "details": {}}


class DeployEngine:
    """The org's deploy queue: one deploy at a time, on a worker thread started on demand."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    @property
    def store(self) -> Store:
        return self.org.store

    def delay(self) -> float:
        return float(self.store.get(DELAY_KEY, DEFAULT_DELAY))

    def submit(self, zip_bytes: bytes, options: DeployOptions) -> str:
        facts = self.org.facts
        check_permission(facts)
        if len(zip_bytes) > PACKAGE_LIMITS.max_zipped_bytes:
            raise DeployRefused(
                "EXCEEDED_MAX_SIZE_REQUEST",
                f"The zip file is {len(zip_bytes):,} bytes; a deploy takes at most "
                f"{PACKAGE_LIMITS.max_zipped_bytes:,} bytes (39 MB) zipped",
            )
        if options.purge_on_delete and is_production(facts):
            raise DeployRefused(
                "INVALID_OPERATION", "purgeOnDelete option can only be used on a non-active org"
            )
        if not facts.is_sandbox:
            options = replace(options, rollback_on_error=True)
        if options.test_level is not None and options.test_level not in TEST_LEVELS:
            raise DeployRefused(
                "INVALID_OPERATION",
                f"'{options.test_level}' is not a test level; use one of {', '.join(TEST_LEVELS)}",
            )
        if options.test_level == "NoTestRun" and is_production(facts):
            raise DeployRefused(
                "INVALID_OPERATION",
                "testLevel of NoTestRun cannot be used in production organizations",
            )
        if options.test_level == "RunSpecifiedTests" and not options.run_tests:
            raise DeployRefused(
                "INVALID_OPERATION",
                "runTests must not be empty when a testLevel of RunSpecifiedTests is used",
            )
        return self._insert(zip_bytes, options)

    def _insert(self, zip_bytes: bytes, options: DeployOptions) -> str:
        with self.store.transaction() as db:
            deploy_id = components.next_id(db, DEPLOY_PREFIX)
            seq = int(db.execute("SELECT COUNT(*) AS n FROM md_deploys").fetchone()["n"])
            result = _base_result(deploy_id, options, self.org.facts)
            db.execute(
                "INSERT INTO md_deploys (id, seq, created_date, options, zip, result, done) "
                "VALUES (?, ?, ?, ?, ?, ?, 0)",
                (
                    deploy_id,
                    seq,
                    result["createdDate"],
                    json.dumps(options.to_json()),
                    zip_bytes,
                    json.dumps(result),
                ),
            )
        self.wake()
        return deploy_id

    def status(self, deploy_id: str) -> dict[str, Any]:
        row = (
            self.store.connection()
            .execute("SELECT result FROM md_deploys WHERE id = ?", (deploy_id,))
            .fetchone()
        )
        if row is None:
            raise DeployRefused("INVALID_ID_FIELD", "Invalid deploy ID")
        result: dict[str, Any] = json.loads(row["result"])
        return result

    def cancel(self, deploy_id: str) -> dict[str, Any]:
        check_permission(self.org.facts)
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT result, done FROM md_deploys WHERE id = ?", (deploy_id,)
            ).fetchone()
            if row is None:
                raise DeployRefused("INVALID_ID_FIELD", "Invalid deploy ID")
            if row["done"]:
                raise DeployRefused("INVALID_ID_FIELD", "Deployment already completed")
            result = json.loads(row["result"])
            facts = self.org.facts
            result["canceledBy"] = facts.user_id[:15]
            result["canceledByName"] = f"{facts.first_name} {facts.last_name}"
            done = result["status"] == "Pending"
            result["status"] = "Canceled" if done else "Canceling"
            result["done"] = done
            if done:
                result["completedDate"] = components.now()
            result["lastModifiedDate"] = components.now()
            db.execute(
                "UPDATE md_deploys SET result = ?, done = ?, cancel_requested = 1 WHERE id = ?",
                (json.dumps(result), int(done), deploy_id),
            )
        return {"done": done, "id": deploy_id}

    def quick_deploy(self, validation_id: str) -> str:
        check_permission(self.org.facts)
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT options, zip, result, quick_deployed FROM md_deploys WHERE id = ?",
                (validation_id,),
            ).fetchone()
            if row is None:
                raise DeployRefused("INVALID_ID_FIELD", "Invalid deploy ID")
            result = json.loads(row["result"])
            options = DeployOptions.from_json(json.loads(row["options"]))
            completed = result.get("completedDate")
            fresh = completed is not None and _parse_time(completed) > (
                dt.datetime.now(dt.UTC) - QUICK_DEPLOY_WINDOW
            )
            eligible = (
                options.check_only
                and result["status"] == "Succeeded"
                and result["runTestsEnabled"]
                and fresh
                and not row["quick_deployed"]
            )
            if not eligible:
                raise DeployRefused(
                    "INVALID_ID_FIELD",
                    f"{validation_id} is not a check-only deploy that succeeded with tests in "
                    "the last 10 days and has not been quick-deployed yet",
                )
            db.execute("UPDATE md_deploys SET quick_deployed = 1 WHERE id = ?", (validation_id,))
        quick = replace(options, check_only=False, test_level="NoTestRun", run_tests=())
        return self._insert(bytes(row["zip"]), quick)

    # -- the worker --

    def wake(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="localorg-deploys", daemon=True
                )
                self._worker.start()

    def _next(self) -> str | None:
        row = (
            self.store.connection()
            .execute("SELECT id FROM md_deploys WHERE done = 0 ORDER BY seq LIMIT 1")
            .fetchone()
        )
        return None if row is None else str(row["id"])

    def _run(self) -> None:
        while True:
            with self._lock:
                deploy_id = self._next()
                if deploy_id is None:
                    self._worker = None
                    return
            try:
                self.run_one(deploy_id)
            except Exception:
                _log.exception("local org: deploy %s failed unexpectedly", deploy_id)
                self._fail_unexpectedly(deploy_id)

    def _save(self, deploy_id: str, result: dict[str, Any], done: bool = False) -> bool:
        """Store progress; returns whether a cancel was asked for meanwhile."""
        result["lastModifiedDate"] = components.now()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT cancel_requested FROM md_deploys WHERE id = ?", (deploy_id,)
            ).fetchone()
            cancel = bool(row["cancel_requested"])
            if cancel and not done:
                result["status"] = "Canceling"
            db.execute(
                "UPDATE md_deploys SET result = ?, done = ? WHERE id = ?",
                (json.dumps(result), int(done), deploy_id),
            )
        return cancel

    def run_one(self, deploy_id: str) -> None:
        row = (
            self.store.connection()
            .execute(
                "SELECT options, zip, result, cancel_requested FROM md_deploys WHERE id = ?",
                (deploy_id,),
            )
            .fetchone()
        )
        options = DeployOptions.from_json(json.loads(row["options"]))
        result: dict[str, Any] = json.loads(row["result"])
        facts = self.org.facts
        fresh = _base_result(deploy_id, options, facts)
        fresh["createdDate"] = result["createdDate"]
        result = fresh
        result["status"] = "InProgress"
        result["startDate"] = components.now()
        result["stateDetail"] = "Processing components"
        if self._save(deploy_id, result):
            self._finish_canceled(deploy_id, result)
            return
        plan = self._plan(bytes(row["zip"]), options)
        level = options.test_level or (
            "RunLocalTests" if plan.has_apex and is_production(facts) else "NoTestRun"
        )
        result["runTestsEnabled"] = level != "NoTestRun"
        counted = plan.units
        result["numberComponentsTotal"] = len(counted)
        details = result["details"]
        details["componentFailures"].extend(plan.package_messages)
        if plan.error is not None:
            result["errorMessage"] = plan.error
        if plan.package_messages:
            result["numberComponentErrors"] = len(plan.package_messages)
        delay = min(self.delay(), PACING_CAP / max(len(counted), 1))
        last_save = time.monotonic()
        for index, unit in enumerate(counted):
            if delay:
                time.sleep(delay)
            failures, successes = self._messages(unit, options)
            details["componentFailures"].extend(failures)
            details["componentSuccesses"].extend(successes)
            if failures:
                result["numberComponentErrors"] += 1
            else:
                result["numberComponentsDeployed"] += 1
            now = time.monotonic()
            if now - last_save < SAVE_INTERVAL and index < len(counted) - 1:
                continue
            last_save = now
            if self._save(deploy_id, result):
                self._finish_canceled(deploy_id, result)
                return
        failed = bool(plan.package_messages) or any(self._is_failure(u, options) for u in counted)
        good = [u for u in counted if not self._is_failure(u, options)]
        keeps = not failed or (not options.rollback_on_error and not plan.package_messages)
        run: apex.TestRun | None = None
        tests_passed = True
        if level != "NoTestRun" and keeps:
            run = apex.plan_run(
                self.store.connection(),
                apex.load_profile(self.store),
                level,
                options.run_tests,
                [
                    apex.PackageApex(u.type, u.full_name, u.content, u.delete)
                    for u in good
                    if u.type in APEX_TYPES
                ],
            )
            if self._run_tests(deploy_id, result, run):
                self._finish_canceled(deploy_id, result)
                return
            tested = apex.outcome(run, facts.org_id)
            details["runTestResult"] = tested.result
            tests_passed = tested.passed
            failed = failed or not tested.passed  # a failing test or coverage rolls all back
        commit = not options.check_only and tests_passed and keeps
        if commit:
            self._commit(deploy_id, good, details["componentSuccesses"])
            if run is not None:
                ids = apex.committed_ids(self.store.connection(), run)
                details["runTestResult"] = apex.replace_ids(details["runTestResult"], ids)
        if failed and not commit:
            result["numberComponentsDeployed"] = 0  # rolled back: nothing of it is in the org
        if not failed:
            status = "Succeeded"
        elif commit and good:
            status = "SucceededPartial"
        else:
            status = "Failed"
        if not plan.package_messages:
            details["componentSuccesses"].append(
                _message(
                    plan.prefix + "package.xml",
                    "package.xml",
                    "",
                    success=True,
                    changed=True,
                )
            )
        result["status"] = status
        result["success"] = status in ("Succeeded", "SucceededPartial")
        result["done"] = True
        result["stateDetail"] = None
        result["completedDate"] = components.now()
        self._save(deploy_id, result, done=True)

    def _run_tests(self, deploy_id: str, result: dict[str, Any], run: apex.TestRun) -> bool:
        """Walk the run's test methods so clients see the test counters move (the outcome
        comes from the coverage profile); returns whether a cancel was asked for."""
        result["numberTestsTotal"] = len(run.methods)
        result["stateDetail"] = "Running Apex tests"
        if self._save(deploy_id, result):
            return True
        delay = min(self.delay(), PACING_CAP / max(len(run.methods), 1))
        last_save = time.monotonic()
        for index, test in enumerate(run.methods):
            if delay:
                time.sleep(delay)
            result["numberTestsCompleted" if test.failure is None else "numberTestErrors"] += 1
            now = time.monotonic()
            if now - last_save < SAVE_INTERVAL and index < len(run.methods) - 1:
                continue
            last_save = now
            if self._save(deploy_id, result):
                return True
        return False

    def _fail_unexpectedly(self, deploy_id: str) -> None:
        """A bug must not leave a deploy running forever or stop the queue."""
        result = self.status(deploy_id)
        result.update(
            status="Failed",
            done=True,
            success=False,
            stateDetail=None,
            completedDate=components.now(),
            errorMessage="An unexpected error occurred in the local org; see its log.",
        )
        self._save(deploy_id, result, done=True)

    def _finish_canceled(self, deploy_id: str, result: dict[str, Any]) -> None:
        result["status"] = "Canceled"
        result["done"] = True
        result["success"] = False
        result["stateDetail"] = None
        result["completedDate"] = components.now()
        self._save(deploy_id, result, done=True)

    @staticmethod
    def _is_failure(unit: Unit, options: DeployOptions) -> bool:
        return unit.failed or (
            not options.ignore_warnings and any(k == "Warning" for k, _, _, _ in unit.problems)
        )

    def _messages(
        self, unit: Unit, options: DeployOptions
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        failed = self._is_failure(unit, options)
        names = (unit.file_name, unit.full_name, unit.reported_type())
        if failed:
            shown = [p for p in unit.problems if p[0] in ("Error", "Warning")]
            return [_message(*names, success=False, problem=p) for p in shown], []
        problem = unit.problems[0] if unit.problems else None
        return [], [
            _message(
                *names,
                success=True,
                problem=problem,
                created=unit.created and not unit.delete,
                changed=unit.changed,
                deleted=unit.delete and unit.exists,
            )
        ]

    def _plan(self, zip_bytes: bytes, options: DeployOptions) -> Plan:
        try:
            files, prefix = _read_files(zip_bytes)
        except ConfigError as exc:
            failure = _message(
                "package.xml",
                "package.xml",
                "",
                success=False,
                problem=("Error", exc.message, None, None),
            )
            return Plan([], [failure], False, exc.message)
        schema = load_schema(self.org.state_dir)
        planner = _Planner(self.store.connection(), schema, options, prefix)
        planner.plan(files)
        units = sorted(planner.units, key=lambda u: u.phase)
        has_apex = any(u.type in APEX_TYPES and not u.delete for u in units)
        return Plan(units, planner.package, has_apex, prefix=prefix)

    def _commit(
        self, deploy_id: str, units: Iterable[Unit], successes: list[dict[str, Any]]
    ) -> None:
        units = list(units)
        with self.store.transaction() as db:
            for unit in units:
                if unit.delete:
                    components.delete(db, unit.type, unit.full_name)
                    continue
                components.put(
                    db,
                    unit.type,
                    unit.full_name,
                    _package_path(unit),
                    unit.content,
                    deploy_id,
                    unit.meta,
                    unit.files,
                )
                if unit.type == "CustomObject" and unit.facts is not None:
                    components.save_object(db, unit.facts)
            # Fields last, roll-ups after what they sum up: a field's describe may take
            # facts from another component of the same deploy (a global value set's values).
            fields = [
                u.field_def
                for u in units
                if u.type == "CustomField" and not u.delete and u.field_def is not None
            ]
            for field_def in sorted(fields, key=lambda f: f.type == "Summary"):
                components.save_field(db, field_def)
            for message in successes:
                if message["componentType"] and not message["deleted"]:
                    stored = components.get(db, _stored_type(message), message["fullName"])
                    if stored is not None:
                        message["id"] = stored.id


def _stored_type(message: dict[str, Any]) -> str:
    kind = str(message["componentType"])
    return "Settings" if kind.endswith("Settings") and kind not in ORG_TYPES else kind


def _package_path(unit: Unit) -> str:
    """The path of a component's file inside the package (without any root folder)."""
    if unit.parent is not None and not unit.delete:
        return f"objects/{unit.parent}.object"
    if unit.path:
        return unit.path
    mtype = ORG_TYPES[unit.type]
    return f"{mtype.folder}/{unit.full_name}.{mtype.suffix}"


def _parse_time(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def decode_zip(text: str) -> bytes:
    """The base64 ZipFile of a deploy call; malformed base64 is the client's fault."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise DeployRefused("Client", "The ZipFile element is not valid base64 data") from None


_SCHEMA_LOCK = threading.Lock()


def load_schema(state_dir: Path) -> MetadataSchema:
    """The Metadata API schema, compiled once per process, cached inside the state folder."""
    with _SCHEMA_LOCK:
        return MetadataSchema.load(cache_dir=state_dir / "cache")


_ENGINES: weakref.WeakKeyDictionary[Org, DeployEngine] = weakref.WeakKeyDictionary()


def engine(org: Org) -> DeployEngine:
    """The deploy engine of ``org`` (one per org object)."""
    found = _ENGINES.get(org)
    if found is None:
        found = _ENGINES[org] = DeployEngine(org)
    return found


def resume(org: Org) -> None:
    """Pick up deploys a stopped org left queued or half-run (none of them was committed)."""
    row = org.store.connection().execute("SELECT 1 FROM md_deploys WHERE done = 0").fetchone()
    if row is not None:
        engine(org).wake()


def set_component_delay(org: Org, seconds: float) -> None:
    """How long each component takes to deploy, so clients can watch the counters move."""
    org.store.put(DELAY_KEY, max(0.0, float(seconds)))
