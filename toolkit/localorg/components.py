"""The org's metadata: every deployed component kept as deployed, and objects as live schema.

Two views of the same deploys live here. ``md_components`` keeps each component's file exactly
as it arrived (bytes), so a retrieve gives back what was deployed; an object is kept as its
whole file plus one row per child (field, list view, ...), because later deploys may add or
delete single fields and a retrieve must then recompose the file. ``schema_objects`` and
``schema_fields`` are the live schema the data APIs read: one row per object and per field,
with the facts a describe and a record write need.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from toolkit.localorg.ids import make_id
from toolkit.localorg.store import Store, register_schema
from toolkit.metadata import fieldtypes, formats, xmlsafe
from toolkit.metadata.files import METADATA_NS
from toolkit.metadata.model import FieldDef
from toolkit.metadata.standard_objects import (
    CUSTOM_OBJECT_FIELDS,
    STANDARD_OBJECTS,
    StandardField,
)
from toolkit.metadata.types import METADATA_TYPES, OBJECT_CHILDREN

SCHEMA = """
CREATE TABLE IF NOT EXISTS md_components (
    type TEXT NOT NULL,
    full_name TEXT NOT NULL COLLATE NOCASE,
    file_name TEXT NOT NULL,
    id TEXT NOT NULL,
    content BLOB NOT NULL,
    meta BLOB,
    deploy_id TEXT NOT NULL,
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    PRIMARY KEY (type, full_name)
);
CREATE TABLE IF NOT EXISTS md_sequences (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schema_objects (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    label TEXT NOT NULL,
    plural_label TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    custom INTEGER NOT NULL,
    sharing_model TEXT,
    name_field_type TEXT,
    name_field_label TEXT
);
CREATE TABLE IF NOT EXISTS schema_fields (
    object TEXT NOT NULL COLLATE NOCASE REFERENCES schema_objects(name) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE NOCASE,
    label TEXT NOT NULL,
    type TEXT NOT NULL,
    field_type TEXT,
    length INTEGER,
    precision INTEGER,
    scale INTEGER,
    required INTEGER NOT NULL,
    is_unique INTEGER NOT NULL,
    external_id INTEGER NOT NULL,
    custom INTEGER NOT NULL,
    createable INTEGER NOT NULL,
    updateable INTEGER NOT NULL,
    reference_to TEXT NOT NULL,
    relationship_name TEXT,
    picklist_values TEXT NOT NULL,
    default_value TEXT,
    formula TEXT,
    PRIMARY KEY (object, name)
);
"""
register_schema(SCHEMA)

SEED_DEPLOY = ""  # deploy id of what the org was born with


@dataclass(frozen=True)
class OrgType:
    """A metadata type as describeMetadata reports it: folder, suffix, companion -meta.xml."""

    name: str
    folder: str
    suffix: str
    meta_file: bool = False
    children: tuple[str, ...] = ()


_EXTRA_TYPES = (
    OrgType("ApexTestSuite", "testSuites", "testSuite"),
    OrgType("AssignmentRules", "assignmentRules", "assignmentRules"),
    OrgType("AutoResponseRules", "autoResponseRules", "autoResponseRules"),
    OrgType("ConnectedApp", "connectedApps", "connectedApp"),
    OrgType("ContentAsset", "contentassets", "asset", meta_file=True),
    OrgType("CustomObjectTranslation", "objectTranslations", "objectTranslation"),
    OrgType("CustomPageWebLink", "weblinks", "weblink"),
    OrgType("DuplicateRule", "duplicateRules", "duplicateRule"),
    OrgType("EscalationRules", "escalationRules", "escalationRules"),
    OrgType("ExternalDataSource", "dataSources", "dataSource"),
    OrgType("Group", "groups", "group"),
    OrgType("HomePageLayout", "homePageLayouts", "homePageLayout"),
    OrgType("LightningMessageChannel", "messageChannels", "messageChannel"),
    OrgType("NamedCredential", "namedCredentials", "namedCredential"),
    OrgType("PathAssistant", "pathAssistants", "pathAssistant"),
    OrgType("Queue", "queues", "queue"),
    OrgType("ReportType", "reportTypes", "reportType"),
    OrgType("Role", "roles", "role"),
    OrgType("Settings", "settings", "settings"),
    OrgType("SharingRules", "sharingRules", "sharingRules"),
    OrgType("StandardValueSet", "standardValueSets", "standardValueSet"),
    OrgType("Translations", "translations", "translation"),
    OrgType("Workflow", "workflows", "workflow"),
)

ORG_TYPES: Mapping[str, OrgType] = {
    t.name: t
    for t in sorted(
        (
            *(
                OrgType(
                    m.name, m.folder, m.suffix, m.has_content, tuple(c.type for c in m.children)
                )
                for m in METADATA_TYPES
            ),
            *_EXTRA_TYPES,
        ),
        key=lambda t: t.name,
    )
}
TYPES_BY_FOLDER: Mapping[str, OrgType] = {t.folder: t for t in ORG_TYPES.values()}
CHILD_BY_TAG = {c.tag: c for c in OBJECT_CHILDREN}
CHILD_BY_TYPE = {c.type: c for c in OBJECT_CHILDREN}

# Key prefixes of the Ids the org gives components, as Salesforce's own for those types.
_ID_PREFIXES = {
    "ApexClass": "01p",
    "ApexPage": "066",
    "ApexTrigger": "01q",
    "CustomField": "00N",
    "CustomObject": "01I",
    "CustomTab": "01r",
    "Layout": "00h",
    "PermissionSet": "0PS",
    "Profile": "00e",
    "StaticResource": "081",
    "WebLink": "00b",
}
_GENERIC_PREFIX = "0Md"
_STANDARD_LAYOUTS = ("Account", "Contact", "Event", "Lead", "Task", "User")
_SYSTEM_FIELDS = frozenset(
    {
        "Id",
        "IsDeleted",
        "CreatedById",
        "CreatedDate",
        "LastModifiedById",
        "LastModifiedDate",
        "SystemModstamp",
    }
)


def now() -> str:
    """A dateTime as Salesforce writes them: UTC, milliseconds, Z."""
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def next_id(db: sqlite3.Connection, prefix: str) -> str:
    """A fresh Id with ``prefix``; call inside a transaction."""
    db.execute(
        "INSERT INTO md_sequences (prefix, n) VALUES (?, 1) "
        "ON CONFLICT(prefix) DO UPDATE SET n = n + 1",
        (prefix,),
    )
    row = db.execute("SELECT n FROM md_sequences WHERE prefix = ?", (prefix,)).fetchone()
    return make_id(prefix, int(row["n"]))


def id_prefix(type_name: str) -> str:
    return _ID_PREFIXES.get(type_name, _GENERIC_PREFIX)


@dataclass(frozen=True)
class StoredComponent:
    type: str
    full_name: str
    file_name: str
    id: str
    content: bytes
    meta: bytes | None
    deploy_id: str
    created_date: str
    last_modified_date: str


def _stored(row: sqlite3.Row) -> StoredComponent:
    return StoredComponent(
        row["type"],
        row["full_name"],
        row["file_name"],
        row["id"],
        bytes(row["content"]),
        None if row["meta"] is None else bytes(row["meta"]),
        row["deploy_id"],
        row["created_date"],
        row["last_modified_date"],
    )


def get(db: sqlite3.Connection, type_name: str, full_name: str) -> StoredComponent | None:
    row = db.execute(
        "SELECT * FROM md_components WHERE type = ? AND full_name = ?", (type_name, full_name)
    ).fetchone()
    return None if row is None else _stored(row)


def list_type(db: sqlite3.Connection, type_name: str) -> list[StoredComponent]:
    rows = db.execute(
        "SELECT * FROM md_components WHERE type = ? ORDER BY full_name", (type_name,)
    ).fetchall()
    return [_stored(row) for row in rows]


def children_of(db: sqlite3.Connection, object_name: str) -> list[StoredComponent]:
    """Every stored child (field, list view ...) of an object."""
    types = [c.type for c in OBJECT_CHILDREN]
    marks = ",".join("?" for _ in types)
    rows = db.execute(
        f"SELECT * FROM md_components WHERE type IN ({marks}) AND full_name LIKE ? ESCAPE '\\' "
        "ORDER BY type, full_name",
        (*types, _like_prefix(object_name)),
    ).fetchall()
    return [_stored(row) for row in rows]


def _like_prefix(object_name: str) -> str:
    escaped = object_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}.%"


def put(
    db: sqlite3.Connection,
    type_name: str,
    full_name: str,
    file_name: str,
    content: bytes,
    deploy_id: str,
    meta: bytes | None = None,
) -> bool:
    """Store a component as deployed; returns whether it is new (created) or replaced."""
    existing = get(db, type_name, full_name)
    stamp = now()
    if existing is None:
        db.execute(
            "INSERT INTO md_components (type, full_name, file_name, id, content, meta, deploy_id,"
            " created_date, last_modified_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                type_name,
                full_name,
                file_name,
                next_id(db, id_prefix(type_name)),
                content,
                meta,
                deploy_id,
                stamp,
                stamp,
            ),
        )
        return True
    db.execute(
        "UPDATE md_components SET file_name = ?, content = ?, meta = ?, deploy_id = ?, "
        "last_modified_date = ? WHERE type = ? AND full_name = ?",
        (file_name, content, meta, deploy_id, stamp, type_name, existing.full_name),
    )
    return False


def delete(db: sqlite3.Connection, type_name: str, full_name: str) -> bool:
    """Remove a component; an object takes its children and its schema with it."""
    found = get(db, type_name, full_name)
    if found is None:
        return False
    db.execute(
        "DELETE FROM md_components WHERE type = ? AND full_name = ?", (type_name, found.full_name)
    )
    if type_name == "CustomObject":
        for child in children_of(db, found.full_name):
            db.execute(
                "DELETE FROM md_components WHERE type = ? AND full_name = ?",
                (child.type, child.full_name),
            )
        db.execute("DELETE FROM schema_objects WHERE name = ?", (found.full_name,))
    elif type_name == "CustomField":
        object_name, _, field_name = found.full_name.partition(".")
        db.execute(
            "DELETE FROM schema_fields WHERE object = ? AND name = ?", (object_name, field_name)
        )
    return True


# --- objects: one file, many rows ---------------------------------------------------------------


def child_element(content: bytes, where: str) -> etree._Element:
    return xmlsafe.parse(content, where)


def element_bytes(element: etree._Element) -> bytes:
    """A child of an object file stored on its own (namespace kept, tail dropped)."""
    copy = etree.fromstring(etree.tostring(element), xmlsafe.parser())
    copy.tail = None
    return bytes(etree.tostring(copy, encoding="UTF-8"))


def object_file(
    db: sqlite3.Connection, object_name: str, only: Iterable[tuple[str, str]] | None = None
) -> bytes:
    """The ``.object`` file of an object as the org holds it now.

    With ``only`` ((type, full name) of children), a container holding just those children, as
    a retrieve of single fields gives. Otherwise the whole object: the file exactly as last
    deployed when no later deploy touched its children, else recomposed from its parts.
    """
    children = children_of(db, object_name)
    if only is not None:
        wanted = {(t, n.lower()) for t, n in only}
        chosen = [c for c in children if (c.type, c.full_name.lower()) in wanted]
        return _compose(None, chosen, object_name)
    stored = get(db, "CustomObject", object_name)
    own = stored.content if stored is not None else None
    if stored is not None and all(c.deploy_id == stored.deploy_id for c in children):
        root = xmlsafe.parse(stored.content, f"objects/{object_name}.object")
        names = {
            (CHILD_BY_TAG[etree.QName(e).localname].type, _child_name(e))
            for e in root
            if isinstance(e.tag, str) and etree.QName(e).localname in CHILD_BY_TAG
        }
        if names == {(c.type, c.full_name.partition(".")[2]) for c in children}:
            return stored.content
    return _compose(own, children, object_name)


def _child_name(element: etree._Element) -> str:
    found = element.find(f"{{{METADATA_NS}}}fullName")
    return "" if found is None else (found.text or "").strip()


def _compose(own: bytes | None, children: Sequence[StoredComponent], object_name: str) -> bytes:
    where = f"objects/{object_name}.object"
    root = etree.Element(etree.QName(METADATA_NS, "CustomObject"))
    entries: list[tuple[bool, str, str, etree._Element]] = []
    if own is not None:
        for element in xmlsafe.parse(own, where):
            if not isinstance(element.tag, str):
                continue
            tag = etree.QName(element).localname
            if tag not in CHILD_BY_TAG:
                entries.append((tag != "fullName", tag, "", element))
    for stored in children:
        element = xmlsafe.parse(stored.content, where)
        tag = etree.QName(element).localname
        entries.append((True, tag, stored.full_name.partition(".")[2], element))
    for _, _, _, element in sorted(entries, key=lambda e: (e[0], e[1], e[2])):
        element.tail = None
        root.append(element)
    return formats.serialize(root, where)


# --- live schema --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectFacts:
    """What the live schema records about an object defined in a deploy."""

    name: str
    label: str
    plural_label: str
    sharing_model: str | None
    name_field_type: str | None
    name_field_label: str | None


def object_exists(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM schema_objects WHERE name = ?", (name,)).fetchone()
    return found is not None


def field_exists(db: sqlite3.Connection, object_name: str, field_name: str) -> bool:
    found = db.execute(
        "SELECT 1 FROM schema_fields WHERE object = ? AND name = ?", (object_name, field_name)
    ).fetchone()
    return found is not None


def field_type_of(db: sqlite3.Connection, object_name: str, field_name: str) -> str | None:
    row = db.execute(
        "SELECT field_type FROM schema_fields WHERE object = ? AND name = ?",
        (object_name, field_name),
    ).fetchone()
    return None if row is None else row["field_type"]


def _key_prefix(db: sqlite3.Connection) -> str:
    """Custom objects get a00, a01 ... as Salesforce hands them out in a new org."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    db.execute(
        "INSERT INTO md_sequences (prefix, n) VALUES ('keyprefix', 0) "
        "ON CONFLICT(prefix) DO UPDATE SET n = n + 1"
    )
    n = int(db.execute("SELECT n FROM md_sequences WHERE prefix = 'keyprefix'").fetchone()["n"])
    return "a" + alphabet[(n // 62) % 62] + alphabet[n % 62]


def save_object(db: sqlite3.Connection, facts: ObjectFacts) -> None:
    """Create or update an object in the live schema; a new one gets the system fields."""
    if object_exists(db, facts.name):
        db.execute(
            "UPDATE schema_objects SET label = ?, plural_label = ?, sharing_model = ?, "
            "name_field_type = ?, name_field_label = ? WHERE name = ?",
            (
                facts.label,
                facts.plural_label,
                facts.sharing_model,
                facts.name_field_type,
                facts.name_field_label,
                facts.name,
            ),
        )
    else:
        db.execute(
            "INSERT INTO schema_objects (name, label, plural_label, key_prefix, custom, "
            "sharing_model, name_field_type, name_field_label) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
            (
                facts.name,
                facts.label,
                facts.plural_label,
                _key_prefix(db),
                facts.sharing_model,
                facts.name_field_type,
                facts.name_field_label,
            ),
        )
        for field in CUSTOM_OBJECT_FIELDS:
            _save_standard_field(db, facts.name, field)
    if facts.name_field_label is not None:
        db.execute(
            "UPDATE schema_fields SET label = ?, updateable = ?, createable = ? "
            "WHERE object = ? AND name = 'Name'",
            (
                facts.name_field_label,
                int(facts.name_field_type != "AutoNumber"),
                int(facts.name_field_type != "AutoNumber"),
                facts.name,
            ),
        )


def save_field(db: sqlite3.Connection, field: FieldDef) -> None:
    """Create or replace a custom field in the live schema (its object must exist)."""
    ftype = fieldtypes.field_type(field.type)
    describe_type = ftype.describe_type if ftype is not None else field.type.lower()
    if field.formula is not None:
        describe_type = {"Checkbox": "boolean", "Number": "double"}.get(field.type, describe_type)
    computed = field.formula is not None or (ftype is not None and ftype.read_only)
    required = field.required or (ftype is not None and ftype.implicitly_required)
    length = field.length
    if length is None and describe_type in ("string", "email", "phone", "url", "picklist"):
        length = {"email": 80, "phone": 40, "url": 255, "picklist": 255}.get(describe_type, 255)
    db.execute(
        "INSERT OR REPLACE INTO schema_fields (object, name, label, type, field_type, length, "
        "precision, scale, required, is_unique, external_id, custom, createable, updateable, "
        "reference_to, relationship_name, picklist_values, default_value, formula) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
        (
            field.object,
            field.name,
            field.label or field.name,
            describe_type,
            field.type,
            length,
            field.precision,
            field.scale,
            int(required),
            int(field.unique),
            int(field.external_id),
            int(not computed),
            int(not computed and field.type != "MasterDetail"),
            json.dumps([field.reference_to] if field.reference_to else []),
            field.relationship_name,
            json.dumps([v.name for v in field.values]),
            field.default_value,
            field.formula,
        ),
    )
    if field.type == "MasterDetail":
        # The detail side of a master-detail relationship is owned through its master.
        db.execute(
            "DELETE FROM schema_fields WHERE object = ? AND name = 'OwnerId'", (field.object,)
        )


def _save_standard_field(db: sqlite3.Connection, object_name: str, field: StandardField) -> None:
    db.execute(
        "INSERT OR REPLACE INTO schema_fields (object, name, label, type, field_type, length, "
        "precision, scale, required, is_unique, external_id, custom, createable, updateable, "
        "reference_to, relationship_name, picklist_values, default_value, formula) "
        "VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, NULL, NULL)",
        (
            object_name,
            field.name,
            field.label,
            field.type,
            field.length or None,
            field.precision or field.digits or None,
            field.scale or None,
            int(field.required),
            int(field.createable),
            int(field.updateable),
            json.dumps(list(field.reference_to)),
            field.relationship_name,
            json.dumps(list(field.picklist_values)),
        ),
    )


# --- a new org ----------------------------------------------------------------------------------


def _layout_xml(object_name: str) -> bytes:
    """A standard page layout showing the object's editable standard fields, two columns."""
    obj = STANDARD_OBJECTS[object_name]
    shown = [
        f
        for f in obj.fields
        if f.createable and f.name not in _SYSTEM_FIELDS and f.type not in ("address", "location")
    ]
    root = etree.Element(etree.QName(METADATA_NS, "Layout"))
    section = etree.SubElement(root, etree.QName(METADATA_NS, "layoutSections"))
    etree.SubElement(section, etree.QName(METADATA_NS, "customLabel")).text = "false"
    etree.SubElement(section, etree.QName(METADATA_NS, "detailHeading")).text = "false"
    etree.SubElement(section, etree.QName(METADATA_NS, "editHeading")).text = "true"
    etree.SubElement(section, etree.QName(METADATA_NS, "label")).text = f"{obj.label} Information"
    half = (len(shown) + 1) // 2
    for column_fields in (shown[:half], shown[half:]):
        column = etree.SubElement(section, etree.QName(METADATA_NS, "layoutColumns"))
        for field in column_fields:
            item = etree.SubElement(column, etree.QName(METADATA_NS, "layoutItems"))
            behavior = "Required" if field.required else "Edit"
            etree.SubElement(item, etree.QName(METADATA_NS, "behavior")).text = behavior
            etree.SubElement(item, etree.QName(METADATA_NS, "field")).text = field.name
    etree.SubElement(section, etree.QName(METADATA_NS, "style")).text = "TwoColumnsTopToBottom"
    return formats.serialize(root, f"layouts/{object_name}-{object_name} Layout.layout")


def seed(store: Store) -> None:
    """Give a new org its standard objects, their fields and standard layouts (idempotent)."""
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM schema_objects LIMIT 1").fetchone() is not None:
            return
        for obj in STANDARD_OBJECTS.values():
            db.execute(
                "INSERT INTO schema_objects (name, label, plural_label, key_prefix, custom) "
                "VALUES (?, ?, ?, ?, 0)",
                (obj.name, obj.label, obj.plural_label, obj.key_prefix),
            )
            for field in obj.fields:
                _save_standard_field(db, obj.name, field)
        empty_object = formats.serialize(etree.Element(etree.QName(METADATA_NS, "CustomObject")))
        for name in _STANDARD_LAYOUTS:
            put(db, "CustomObject", name, f"objects/{name}.object", empty_object, SEED_DEPLOY)
            layout = f"{name}-{name} Layout"
            put(db, "Layout", layout, f"layouts/{layout}.layout", _layout_xml(name), SEED_DEPLOY)
