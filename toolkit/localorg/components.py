"""The org's metadata: every deployed component kept as deployed, and objects as live schema.

Two views of the same deploys live here. ``md_components`` keeps each component's file exactly
as it arrived (bytes), so a retrieve gives back what was deployed; an object is kept as its
whole file plus one row per child (field, list view, ...), because later deploys may add or
delete single fields and a retrieve must then recompose the file. ``schema_objects`` and
``schema_fields`` are the live schema the data APIs read: one row per object and per field,
with the facts a describe and a record write need.

A bundle (``lwc/name/...``) or the folder of an in-folder type (``reports/F-meta.xml``) is not
one file plus a meta file: its files are kept, path and bytes, in ``md_component_files``.
Which types exist, and where their files go, comes from the one table in metadata.types.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

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
    StandardObject,
)
from toolkit.metadata.types import BY_FOLDER, BY_FOLDER_TYPE, BY_NAME, OBJECT_CHILDREN, MetadataType

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
CREATE TABLE IF NOT EXISTS md_component_files (
    type TEXT NOT NULL,
    full_name TEXT NOT NULL COLLATE NOCASE,
    path TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (type, full_name, path)
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
AUTO_NUMBER_LENGTH = 30  # what a describe reports for an auto-number field, name field included


ORG_TYPES: Mapping[str, MetadataType] = BY_NAME
TYPES_BY_FOLDER: Mapping[str, MetadataType] = BY_FOLDER
FOLDER_TYPES: Mapping[str, MetadataType] = BY_FOLDER_TYPE  # ReportFolder -> Report
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
_TEXT_NAME_LENGTH = next(f.length for f in CUSTOM_OBJECT_FIELDS if f.name == "Name")
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
    files: tuple[tuple[str, bytes], ...] = ()  # a bundle's or a folder's files, by path


def stored_type(type_name: str, member: str) -> str:
    """The type a package.xml member is stored under: ``Report: F`` names the ReportFolder F."""
    mtype = ORG_TYPES.get(type_name)
    if mtype is not None and mtype.in_folder and "/" not in member:
        return mtype.folder_type
    return type_name


def is_known(type_name: str) -> bool:
    return type_name in ORG_TYPES or type_name in CHILD_BY_TYPE


def _has_files(type_name: str) -> bool:
    mtype = ORG_TYPES.get(type_name)
    return type_name in FOLDER_TYPES or (mtype is not None and mtype.is_bundle)


def _files_of(
    db: sqlite3.Connection, type_name: str, full_name: str
) -> tuple[tuple[str, bytes], ...]:
    rows = db.execute(
        "SELECT path, content FROM md_component_files WHERE type = ? AND full_name = ? "
        "ORDER BY path",
        (type_name, full_name),
    ).fetchall()
    return tuple((str(row["path"]), bytes(row["content"])) for row in rows)


def _stored(row: sqlite3.Row, db: sqlite3.Connection | None = None) -> StoredComponent:
    files = () if db is None else _files_of(db, row["type"], row["full_name"])
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
        files,
    )


def get(db: sqlite3.Connection, type_name: str, full_name: str) -> StoredComponent | None:
    row = db.execute(
        "SELECT * FROM md_components WHERE type = ? AND full_name = ?", (type_name, full_name)
    ).fetchone()
    if row is None:
        return None
    return _stored(row, db if _has_files(type_name) else None)


def list_type(db: sqlite3.Connection, type_name: str) -> list[StoredComponent]:
    rows = db.execute(
        "SELECT * FROM md_components WHERE type = ? ORDER BY full_name", (type_name,)
    ).fetchall()
    with_files = db if _has_files(type_name) else None
    return [_stored(row, with_files) for row in rows]


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
    files: Sequence[tuple[str, bytes]] = (),
) -> bool:
    """Store a component as deployed; returns whether it is new (created) or replaced.

    ``files`` are the files of a bundle or folder, replacing all it had before."""
    existing = get(db, type_name, full_name)
    stamp = now()
    stored_name = full_name if existing is None else existing.full_name
    db.execute(
        "DELETE FROM md_component_files WHERE type = ? AND full_name = ?", (type_name, stored_name)
    )
    db.executemany(
        "INSERT INTO md_component_files (type, full_name, path, content) VALUES (?, ?, ?, ?)",
        [(type_name, stored_name, path, content) for path, content in files],
    )
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
    for table in ("md_components", "md_component_files"):
        db.execute(
            f"DELETE FROM {table} WHERE type = ? AND full_name = ?", (type_name, found.full_name)
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
        db.executemany(
            "DELETE FROM schema_fields WHERE object = ? AND name = ?",
            [
                (live, name)
                for live in _live_objects(object_name)
                for name in (field_name, *_location_parts(field_name))
            ],
        )
    return True


def _location_parts(field_name: str) -> tuple[str, str]:
    """The latitude and longitude fields Salesforce gives a geolocation field ``X__c``."""
    base = field_name.removesuffix("__c")
    return f"{base}__Latitude__s", f"{base}__Longitude__s"


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
        auto = facts.name_field_type == "AutoNumber"
        db.execute(
            "UPDATE schema_fields SET label = ?, updateable = ?, createable = ?, field_type = ?, "
            "length = ? WHERE object = ? AND name = 'Name'",
            (
                facts.name_field_label,
                int(not auto),
                int(not auto),
                "AutoNumber" if auto else None,
                AUTO_NUMBER_LENGTH if auto else _TEXT_NAME_LENGTH,
                facts.name,
            ),
        )


# Custom fields of events and tasks are deployed on Activity; Salesforce shows them on both.
ACTIVITY_RECORDS = ("Event", "Task")


def _live_objects(object_name: str) -> tuple[str, ...]:
    """The objects whose records carry a custom field deployed on ``object_name``."""
    return (object_name, *ACTIVITY_RECORDS) if object_name == "Activity" else (object_name,)


def save_field(db: sqlite3.Connection, field: FieldDef) -> None:
    """Create or replace a custom field in the live schema (its object must exist); one
    deployed on Activity goes on Event and Task too.

    Formula and roll-up summary fields are calculated: read-only, described as such. A
    roll-up is described as what it sums up (a count as a double); a geolocation field
    brings its latitude and longitude fields; a picklist of a global value set takes that
    set's values as the org has them (deploys save fields after the other components).
    """
    for object_name in _live_objects(field.object)[1:]:
        _save_field(db, replace(field, object=object_name))
    _save_field(db, field)


def _save_field(db: sqlite3.Connection, field: FieldDef) -> None:
    ftype = fieldtypes.field_type(field.type)
    describe_type = ftype.describe_type if ftype is not None else field.type.lower()
    if field.type == "Summary":
        describe_type = _summary_type(db, field)
    computed = field.formula is not None or (ftype is not None and ftype.read_only)
    required = field.required or (ftype is not None and ftype.implicitly_required)
    values = [v.name for v in field.values]
    if field.value_set_name is not None and not values:
        values = global_values(db, field.value_set_name)
    length = AUTO_NUMBER_LENGTH if field.type == "AutoNumber" else field.length
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
            # A master-detail field takes updates only when it allows reparenting.
            int(not computed and (field.type != "MasterDetail" or field.reparentable)),
            json.dumps([field.reference_to] if field.reference_to else []),
            field.relationship_name,
            json.dumps(values),
            field.default_value,
            field.formula,
        ),
    )
    if field.type == "Location":
        for part, which in zip(_location_parts(field.name), ("Latitude", "Longitude"), strict=True):
            db.execute(
                "INSERT OR REPLACE INTO schema_fields (object, name, label, type, field_type, "
                "length, precision, scale, required, is_unique, external_id, custom, createable, "
                "updateable, reference_to, relationship_name, picklist_values, default_value, "
                "formula) VALUES (?, ?, ?, 'double', NULL, NULL, ?, ?, ?, 0, 0, 1, 1, 1, '[]', "
                "NULL, '[]', NULL, NULL)",
                (
                    field.object,
                    part,
                    f"{field.label or field.name} ({which})",
                    _LOCATION_DIGITS[which] + (field.scale or 0),
                    field.scale,
                    int(field.required),
                ),
            )
    if field.type == "MasterDetail":
        # The detail side of a master-detail relationship is owned through its master.
        db.execute(
            "DELETE FROM schema_fields WHERE object = ? AND name = 'OwnerId'", (field.object,)
        )


# Digits before the decimal point of a latitude (-90..90) and a longitude (-180..180).
_LOCATION_DIGITS = {"Latitude": 2, "Longitude": 3}


def _summary_type(db: sqlite3.Connection, field: FieldDef) -> str:
    """What a roll-up summary is described as: a count is a double, a sum, minimum or maximum
    is of the type of the field it takes (as the org's schema has it)."""
    child, _, name = (field.summarized_field or "").partition(".")
    if field.summary_operation == "count" or not name:
        return "double"
    row = db.execute(
        "SELECT type FROM schema_fields WHERE object = ? AND name = ?", (child, name)
    ).fetchone()
    return "double" if row is None else str(row["type"])


def global_values(db: sqlite3.Connection, name: str) -> list[str]:
    """The values of a global value set the org has (none when it has no such set)."""
    stored = get(db, "GlobalValueSet", name)
    if stored is None:
        return []
    root = xmlsafe.parse(stored.content, f"globalValueSets/{name}.globalValueSet")
    return [
        (value.findtext(f"{{{METADATA_NS}}}fullName") or "").strip()
        for value in root.iterchildren(f"{{{METADATA_NS}}}customValue")
    ]


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


def _save_standard_object(db: sqlite3.Connection, obj: StandardObject) -> None:
    db.execute(
        "INSERT INTO schema_objects (name, label, plural_label, key_prefix, custom) "
        "VALUES (?, ?, ?, ?, 0)",
        (obj.name, obj.label, obj.plural_label, obj.key_prefix),
    )
    for field in obj.fields:
        _save_standard_field(db, obj.name, field)


def _add_missing_standard(db: sqlite3.Connection) -> None:
    """Bring a state folder seeded by an older version up to the standard table: objects and
    fields added to the table since are created, whatever exists is left as it is."""
    objects = {str(r["name"]).lower() for r in db.execute("SELECT name FROM schema_objects")}
    fields = {
        (str(r["object"]).lower(), str(r["name"]).lower())
        for r in db.execute("SELECT object, name FROM schema_fields")
    }
    for obj in STANDARD_OBJECTS.values():
        if obj.name.lower() not in objects:
            _save_standard_object(db, obj)
            continue
        for field in obj.fields:
            if (obj.name.lower(), field.name.lower()) not in fields:
                _save_standard_field(db, obj.name, field)


def seed(store: Store) -> None:
    """Give a new org its standard objects, their fields and standard layouts (idempotent)."""
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM schema_objects LIMIT 1").fetchone() is not None:
            _add_missing_standard(db)
            return
        for obj in STANDARD_OBJECTS.values():
            _save_standard_object(db, obj)
        empty_object = formats.serialize(etree.Element(etree.QName(METADATA_NS, "CustomObject")))
        for name in _STANDARD_LAYOUTS:
            put(db, "CustomObject", name, f"objects/{name}.object", empty_object, SEED_DEPLOY)
            layout = f"{name}-{name} Layout"
            put(db, "Layout", layout, f"layouts/{layout}.layout", _layout_xml(name), SEED_DEPLOY)
