"""Records of the local org: typed by the live schema, validated as Salesforce validates them.

One generic table holds every record as JSON (``records``), because objects come and go with
deploys and a table per object would need migrations on every field change. Lookups by value
go through ``record_keys``: one row per indexed value (unique and external-ID fields, Contact
and Lead Email), folded to lower case unless the field is case-sensitive, so an upsert by
external ID is one index probe whatever the record count.

Every batch runs in one SQLite transaction and answers one result per row in order, with the
status codes and messages a real org uses, so REST collections, single-record calls and
Bulk API 2.0 can all be thin layers over ``insert_many`` / ``update_many`` / ``upsert_many`` /
``delete_many``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from toolkit.localorg import autonumber, components
from toolkit.localorg.ids import to18
from toolkit.localorg.store import register_schema
from toolkit.metadata import fieldtypes, xmlsafe
from toolkit.metadata.standard_objects import standard_object

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

register_schema(
    """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL COLLATE NOCASE,
    data TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_by_object ON records (object, is_deleted);
CREATE TABLE IF NOT EXISTS record_keys (
    object TEXT NOT NULL COLLATE NOCASE,
    field TEXT NOT NULL COLLATE NOCASE,
    value TEXT NOT NULL,
    id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS record_keys_by_value ON record_keys (object, field, value);
CREATE INDEX IF NOT EXISTS record_keys_by_id ON record_keys (id);
"""
)

SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
_INDEXED_STANDARD = frozenset({("contact", "email"), ("lead", "email")})
# The org keeps one record of each from its facts (system_records); clients cannot write them,
# the facts change through /_sftk/org.
FACT_OBJECTS = ("Organization", "Profile", "User", "UserPermissionAccess")
_FACT_OBJECTS = frozenset(name.lower() for name in FACT_OBJECTS)
_PAST = {"insert": "inserted", "update": "updated", "delete": "deleted"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header"
)


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordError:
    """One error of one row, as in a SaveResult (``statusCode``, ``message``, ``fields``)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


@dataclass(frozen=True)
class SaveResult:
    """One row's outcome; ``created`` is set by upserts only (None elsewhere)."""

    id: str | None
    success: bool
    errors: tuple[RecordError, ...] = ()
    created: bool | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["success"] = self.success
        out["errors"] = [e.to_json() for e in self.errors]
        if self.created is not None:
            out["created"] = self.created
        return out


class RequestRefused(Exception):
    """The whole call is refused (unknown object or external-ID field), not a single row."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class _RowFailed(Exception):
    def __init__(self, *errors: RecordError) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


class _Rollback(Exception):
    """Raised inside the transaction to undo an all-or-none batch."""


# --- schema --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """A field of the live schema with what a write and a describe need."""

    name: str
    label: str
    type: str  # describe type
    field_type: str | None  # metadata type of a custom field (Text, MasterDetail ...)
    length: int | None
    precision: int | None
    scale: int | None
    required: bool
    unique: bool
    external_id: bool
    custom: bool
    createable: bool
    updateable: bool
    reference_to: tuple[str, ...]
    relationship_name: str | None  # as a record names its parent: Course__r, Account
    child_relationship_name: str | None  # a custom reference's name on the parent side
    picklist_values: tuple[str, ...]
    default_value: str | None
    formula: str | None
    restricted: bool
    case_sensitive: bool
    indexed: bool

    @property
    def nillable(self) -> bool:
        return not self.required and self.type != "boolean" and self.name != "Id"

    @property
    def master_detail(self) -> bool:
        return self.field_type == "MasterDetail"

    @property
    def id_lookup(self) -> bool:
        return self.name == "Id" or self.indexed


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    label: str
    plural_label: str
    key_prefix: str
    custom: bool
    fields: tuple[FieldInfo, ...]

    @functools.cached_property
    def _by_name(self) -> dict[str, FieldInfo]:
        return {f.name.lower(): f for f in self.fields}

    @functools.cached_property
    def _by_relationship(self) -> dict[str, FieldInfo]:
        return {
            f.relationship_name.lower(): f
            for f in self.fields
            if f.relationship_name and f.type == "reference"
        }

    def field(self, name: str) -> FieldInfo | None:
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldInfo | None:
        return self._by_relationship.get(name.lower())

    @property
    def indexed_fields(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.fields if f.indexed)


def _field_flags(db: sqlite3.Connection, object_name: str, name: str) -> tuple[bool, bool]:
    """(restricted, caseSensitive) from the field as deployed; the live schema lacks both."""
    stored = components.get(db, "CustomField", f"{object_name}.{name}")
    if stored is None:
        return False, False
    root = xmlsafe.parse(stored.content, f"objects/{object_name}.object")
    texts: dict[str, str] = {}
    for element in root.iter():
        if isinstance(element.tag, str):
            texts.setdefault(etree.QName(element).localname, (element.text or "").strip())
    restricted = texts.get("restricted") == "true" or texts.get("restrictedPicklist") == "true"
    return restricted, texts.get("caseSensitive") == "true"


def load_object(db: sqlite3.Connection, name: str) -> ObjectInfo | None:
    """The live schema of one object (case-insensitive name), None if the org lacks it."""
    row = db.execute("SELECT * FROM schema_objects WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    fields = []
    for f in db.execute(
        "SELECT * FROM schema_fields WHERE object = ? ORDER BY rowid", (row["name"],)
    ):
        restricted = case_sensitive = False
        if f["custom"] and (f["type"] in ("picklist", "multipicklist") or f["is_unique"]):
            restricted, case_sensitive = _field_flags(db, row["name"], f["name"])
        indexed = bool(f["is_unique"] or f["external_id"]) or (
            (row["name"].lower(), f["name"].lower()) in _INDEXED_STANDARD
        )
        fields.append(
            FieldInfo(
                name=f["name"],
                label=f["label"],
                type=f["type"],
                field_type=f["field_type"],
                length=f["length"],
                precision=f["precision"],
                scale=f["scale"],
                required=bool(f["required"]),
                unique=bool(f["is_unique"]),
                external_id=bool(f["external_id"]),
                custom=bool(f["custom"]),
                createable=bool(f["createable"]),
                updateable=bool(f["updateable"]),
                reference_to=tuple(json.loads(f["reference_to"])),
                relationship_name=(
                    f["name"][:-3] + "__r"
                    if f["custom"] and f["type"] == "reference"
                    else f["relationship_name"]
                ),
                child_relationship_name=f["relationship_name"] if f["custom"] else None,
                picklist_values=tuple(json.loads(f["picklist_values"])),
                default_value=f["default_value"],
                formula=f["formula"],
                restricted=restricted,
                case_sensitive=case_sensitive,
                indexed=indexed,
            )
        )
    return ObjectInfo(
        row["name"],
        row["label"],
        row["plural_label"],
        row["key_prefix"],
        bool(row["custom"]),
        tuple(fields),
    )


def describe(org: Org, name: str) -> ObjectInfo | None:
    return load_object(org.store.connection(), name)


def list_objects(org: Org) -> list[sqlite3.Row]:
    """Rows of ``schema_objects`` (name, label, plural_label, key_prefix, custom), by name."""
    return list(org.store.connection().execute("SELECT * FROM schema_objects ORDER BY name"))


def object_of_id(org: Org, record_id: str) -> str | None:
    """The object a record Id belongs to, by its stored record or else its key prefix."""
    db = org.store.connection()
    full = to18(record_id)
    if full is None:
        return None
    row = db.execute("SELECT object FROM records WHERE id = ?", (full,)).fetchone()
    if row is not None:
        return str(row["object"])
    found = db.execute(
        "SELECT name FROM schema_objects WHERE key_prefix = ?", (full[:3],)
    ).fetchone()
    return None if found is None else str(found["name"])


# --- values --------------------------------------------------------------------------------------


def format_datetime(moment: dt.datetime) -> str:
    """Salesforce's REST form of a dateTime: UTC, milliseconds, ``+0000``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _now() -> str:
    return format_datetime(dt.datetime.now(dt.UTC))


def _bad_type(field: FieldInfo, value: Any) -> RecordError:
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{field.label}: value not of required type: {value}",
        (field.name,),
    )


def _number(field: FieldInfo, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _RowFailed(_bad_type(field, value))
    try:
        number = fieldtypes.coerce_value(field.type, value)
    except ValueError:
        raise _RowFailed(_bad_type(field, value)) from None
    assert isinstance(number, decimal.Decimal)
    if not number.is_finite():
        raise _RowFailed(_bad_type(field, value))
    if field.type == "int":
        if number != number.to_integral_value():
            raise _RowFailed(_bad_type(field, value))
        return int(number)
    scale = field.scale or 0
    rounded = number.quantize(decimal.Decimal(1).scaleb(-scale), decimal.ROUND_HALF_UP)
    precision = field.precision or fieldtypes.NUMERIC_MAX_PRECISION
    if abs(rounded) >= decimal.Decimal(10) ** (precision - scale):
        raise _RowFailed(
            RecordError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{field.label}: value outside of valid range on numeric field: {value}",
                (field.name,),
            )
        )
    return float(rounded)


def _text_value(field: FieldInfo, value: Any) -> str:
    if isinstance(value, (dict, list)) and field.type != "multipicklist":
        raise _RowFailed(_bad_type(field, value))
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(fieldtypes.coerce_value(field.type, value))
    if field.length is not None and len(text) > field.length:
        raise _RowFailed(
            RecordError(
                "STRING_TOO_LONG",
                f"{field.label}: data value too large: {text} (max length={field.length})",
                (field.name,),
            )
        )
    if field.type == "email" and not _EMAIL.fullmatch(text):
        raise _RowFailed(
            RecordError(
                "INVALID_EMAIL_ADDRESS",
                f"{field.label}: invalid email address: {text}",
                (field.name,),
            )
        )
    if field.restricted and field.picklist_values:
        allowed = set(field.picklist_values)
        chosen = text.split(";") if field.type == "multipicklist" else [text]
        for item in chosen:
            if item not in allowed:
                raise _RowFailed(
                    RecordError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{field.label}: bad value for restricted picklist field: {item}",
                        (field.name,),
                    )
                )
    return text


def typed_value(field: FieldInfo, value: Any) -> Any:
    """A client's value as stored (JSON-ready) for ``field``; raises on a bad value.

    Dates are ``YYYY-MM-DD``, dateTimes ``…T…+0000`` in UTC, numbers JSON numbers rounded to
    the field's scale; references are checked by the caller (they need the store)."""
    if field.type in ("double", "currency", "percent", "int"):
        return _number(field, value)
    if field.type == "boolean":
        try:
            return bool(fieldtypes.coerce_value("boolean", value))
        except ValueError:
            raise _RowFailed(_bad_type(field, value)) from None
    if field.type in ("date", "datetime", "time"):
        if not isinstance(value, str):
            raise _RowFailed(_bad_type(field, value))
        try:
            parsed = fieldtypes.coerce_value(field.type, value)
        except ValueError:
            raise _RowFailed(_bad_type(field, value)) from None
        if isinstance(parsed, dt.datetime):
            return format_datetime(parsed)
        if isinstance(parsed, dt.date):
            return parsed.isoformat()
        assert isinstance(parsed, dt.time)
        return parsed.strftime("%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
    return _text_value(field, value)


def _key(field: FieldInfo, value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if field.case_sensitive else text.lower()


def _default(field: FieldInfo) -> Any:
    """A field's default when a new record leaves it out: literals only, not formulas."""
    if field.type == "boolean":
        return (field.default_value or "false").strip().lower() == "true"
    raw = (field.default_value or "").strip()
    if not raw:
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    try:
        return typed_value(field, raw)
    except _RowFailed:
        return None


# --- the batch -----------------------------------------------------------------------------------


def _rolled_back(result: SaveResult) -> SaveResult:
    """A row that would have succeeded, undone with the rest; a new record loses its Id."""
    keep_id = result.id if result.created is False else None
    error = RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK)
    return SaveResult(keep_id, False, (error,), result.created)


class _Batch:
    """One transaction's worth of writes; rows see the rows written before them."""

    def __init__(self, org: Org, db: sqlite3.Connection) -> None:
        self.db = db
        self.user_id = org.facts.user_id
        self.now = _now()
        self._objects: dict[str, ObjectInfo | None] = {}
        self._prefixes: dict[str, str] | None = None
        self._numbering: dict[tuple[str, str], autonumber.AutoNumber] = {}

    def object(self, name: str) -> ObjectInfo:
        key = name.lower()
        if key not in self._objects:
            self._objects[key] = load_object(self.db, name)
        found = self._objects[key]
        if found is None:
            raise _RowFailed(
                RecordError("INVALID_TYPE", f"sObject type '{name}' is not supported.")
            )
        return found

    def prefix_object(self, prefix: str) -> str | None:
        if self._prefixes is None:
            self._prefixes = {
                str(r["key_prefix"]): str(r["name"])
                for r in self.db.execute("SELECT name, key_prefix FROM schema_objects")
            }
        return self._prefixes.get(prefix)

    # -- lookups --

    def find(self, obj: ObjectInfo, field: FieldInfo, value: Any) -> list[str]:
        """Ids of live records of ``obj`` whose ``field`` equals ``value`` (typed already)."""
        if field.name == "Id":
            found = self.db.execute(
                "SELECT id FROM records WHERE id = ? AND is_deleted = 0", (value,)
            ).fetchone()
            return [] if found is None else [str(found["id"])]
        if field.indexed:
            rows = self.db.execute(
                "SELECT id FROM record_keys WHERE object = ? AND field = ? AND value = ? "
                "ORDER BY rowid",
                (obj.name, field.name, _key(field, value)),
            )
            return [str(r["id"]) for r in rows]
        wanted = _key(field, value)
        rows = self.db.execute(
            "SELECT id, json_extract(data, ?) AS v FROM records WHERE object = ? AND "
            "is_deleted = 0 ORDER BY rowid",
            (f'$."{field.name}"', obj.name),
        )
        return [str(r["id"]) for r in rows if r["v"] is not None and _key(field, r["v"]) == wanted]

    def _stored(self, record_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT object, data, is_deleted FROM records WHERE id = ?", (record_id,)
        ).fetchone()
        return row

    # -- checks --

    def _reference(self, field: FieldInfo, value: Any) -> str:
        if not isinstance(value, str) or to18(value) is None:
            raise _RowFailed(
                RecordError(
                    "MALFORMED_ID",
                    f"{field.label}: id value of incorrect type: {value}",
                    (field.name,),
                )
            )
        full = to18(value)
        assert full is not None
        target = self.prefix_object(full[:3])
        allowed = {t.lower() for t in field.reference_to}
        if target is None or target.lower() not in allowed:
            raise _RowFailed(
                RecordError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{field.label}: id value of incorrect type: {value}",
                    (field.name,),
                )
            )
        stored = self._stored(full)
        if stored is not None and stored["is_deleted"]:
            raise _RowFailed(RecordError("ENTITY_IS_DELETED", "entity is deleted", (field.name,)))
        if stored is None:
            if field.master_detail:
                raise _RowFailed(
                    RecordError(
                        "FIELD_INTEGRITY_EXCEPTION",
                        f"field integrity exception: unknown (no {target} record with Id {full})",
                        (field.name,),
                    )
                )
            raise _RowFailed(
                RecordError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field.name,)
                )
            )
        return full

    def _parent_by_key(self, field: FieldInfo, value: Any) -> str:
        """``"Course__r": {"Catalog_Id__c": "C-1"}``: the parent's Id by one of its keys."""
        if not isinstance(value, dict):
            raise _RowFailed(_bad_type(field, value))
        attributes = value.get("attributes") or {}
        keys = [k for k in value if k != "attributes"]
        target_name = attributes.get("type") if isinstance(attributes, dict) else None
        target_name = target_name or (field.reference_to[0] if field.reference_to else "")
        if len(keys) != 1:
            raise _RowFailed(
                RecordError(
                    "INVALID_FIELD",
                    f"A relationship reference names exactly one field of {target_name}",
                    (field.name,),
                )
            )
        target = self.object(target_name)
        key_field = target.field(keys[0])
        if key_field is None or not key_field.id_lookup:
            raise _RowFailed(
                RecordError(
                    "INVALID_FIELD",
                    f"Field name provided, {keys[0]} is not an External ID or indexed field "
                    f"for {target.name}",
                    (field.name,),
                )
            )
        raw = value[keys[0]]
        typed = to18(str(raw)) if key_field.name == "Id" else typed_value(key_field, raw)
        matches = self.find(target, key_field, typed) if typed is not None else []
        if not matches:
            raise _RowFailed(
                RecordError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {raw} not found for field {key_field.name} in "
                    f"entity {target.name}",
                    (field.name,),
                )
            )
        if len(matches) > 1:
            raise _RowFailed(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Foreign key external ID: {raw} matched more than one record for field "
                    f"{key_field.name} in entity {target.name}: [{', '.join(matches)}]",
                    (field.name,),
                )
            )
        return self._reference(field, matches[0])

    def _values(self, obj: ObjectInfo, row: Mapping[str, Any], creating: bool) -> dict[str, Any]:
        """The row's fields typed and checked; errors of every field are reported together."""
        values: dict[str, Any] = {}
        errors: list[RecordError] = []
        readonly: list[str] = []
        for name, raw in row.items():
            if name == "attributes" or name.lower() == "id":
                continue
            try:
                field = obj.field(name)
                if field is None:
                    parent = obj.relationship(name)
                    if parent is None:
                        raise _RowFailed(
                            RecordError(
                                "INVALID_FIELD",
                                f"No such column '{name}' on sobject of type {obj.name}",
                                (name,),
                            )
                        )
                    if not (parent.createable if creating else parent.updateable):
                        readonly.append(parent.name)
                        continue
                    values[parent.name] = None if raw is None else self._parent_by_key(parent, raw)
                    continue
                if not (field.createable if creating else field.updateable):
                    readonly.append(field.name)
                    continue
                if raw is None or raw == "":
                    values[field.name] = False if field.type == "boolean" else None
                elif field.type == "reference":
                    values[field.name] = self._reference(field, raw)
                else:
                    values[field.name] = typed_value(field, raw)
            except _RowFailed as failed:
                errors.extend(failed.errors)
        if readonly:
            errors.append(
                RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {', '.join(readonly)}. Please check the "
                    "security settings of this field and verify that it is read/write for your "
                    "profile or permission set.",
                    tuple(readonly),
                )
            )
        if errors:
            raise _RowFailed(*errors)
        return values

    def _required(self, obj: ObjectInfo, data: Mapping[str, Any]) -> None:
        missing = [
            f.name
            for f in obj.fields
            if f.required and f.createable and f.type != "boolean" and data.get(f.name) is None
        ]
        if missing:
            raise _RowFailed(
                RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    tuple(missing),
                )
            )

    def _unique(self, obj: ObjectInfo, data: Mapping[str, Any], record_id: str) -> None:
        for field in obj.fields:
            value = data.get(field.name)
            if not field.unique or value is None:
                continue
            others = [i for i in self.find(obj, field, value) if i != record_id]
            if others:
                raise _RowFailed(
                    RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {field.name} duplicates value on record with "
                        f"id: {others[0]}",
                        (field.name,),
                    )
                )

    def _write_keys(self, obj: ObjectInfo, record_id: str, data: Mapping[str, Any]) -> None:
        self.db.execute("DELETE FROM record_keys WHERE id = ?", (record_id,))
        self.db.executemany(
            "INSERT INTO record_keys (object, field, value, id) VALUES (?, ?, ?, ?)",
            [
                (obj.name, f.name, _key(f, data[f.name]), record_id)
                for f in obj.indexed_fields
                if data.get(f.name) is not None
            ],
        )

    # -- operations --

    def _writable(self, obj: ObjectInfo, operation: str) -> None:
        """Refuse the whole row, before its fields, when the object cannot be written so:
        records kept from the org's facts, and standard objects that are never created."""
        standard = None if obj.custom else standard_object(obj.name)
        never_created = operation == "insert" and standard is not None and not standard.createable
        if obj.name.lower() in _FACT_OBJECTS or never_created:
            raise _RowFailed(
                RecordError(
                    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    f"entity type cannot be {_PAST[operation]}: {obj.label}",
                )
            )

    def _auto_number(self, obj: ObjectInfo, field: FieldInfo) -> str:
        key = (obj.name.lower(), field.name.lower())
        numbering = self._numbering.get(key)
        if numbering is None:
            numbering = autonumber.settings(self.db, obj.name, field.name)
            self._numbering[key] = numbering
        number = autonumber.take(self.db, obj.name, field.name, numbering)
        return numbering.render(number, dt.date.fromisoformat(self.now[:10]))

    def insert(self, obj: ObjectInfo, row: Mapping[str, Any]) -> SaveResult:
        self._writable(obj, "insert")
        if any(k.lower() == "id" and v not in (None, "") for k, v in row.items()):
            raise _RowFailed(
                RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "cannot specify Id in an insert call",
                    ("Id",),
                )
            )
        values = self._values(obj, row, creating=True)
        data: dict[str, Any] = {}
        for field in obj.fields:
            if field.name in values:
                data[field.name] = values[field.name]
            elif field.createable and (field.default_value is not None or field.type == "boolean"):
                data[field.name] = _default(field)
        if obj.field("OwnerId") is not None and data.get("OwnerId") is None:
            data["OwnerId"] = self.user_id
        self._required(obj, data)
        record_id = components.next_id(self.db, obj.key_prefix)
        self._unique(obj, data, record_id)
        name = obj.field("Name")
        if obj.custom and name is not None and name.createable and data.get("Name") is None:
            data["Name"] = record_id
        for field in obj.fields:
            # numbered last, once every check has passed: a failing row takes no number
            if field.field_type == "AutoNumber":
                data[field.name] = self._auto_number(obj, field)
        stamped = self._stamp(obj, record_id, data, created=True)
        self.db.execute(
            "INSERT INTO records (id, object, data, is_deleted) VALUES (?, ?, ?, 0)",
            (record_id, obj.name, json.dumps(stamped, separators=(",", ":"))),
        )
        self._write_keys(obj, record_id, stamped)
        return SaveResult(record_id, True)

    def _stamp(
        self, obj: ObjectInfo, record_id: str, data: dict[str, Any], *, created: bool
    ) -> dict[str, Any]:
        stamps: dict[str, Any] = {"Id": record_id, "IsDeleted": False}
        if created:
            stamps["CreatedDate"] = self.now
            stamps["CreatedById"] = self.user_id
        stamps.update(
            {
                "LastModifiedDate": self.now,
                "LastModifiedById": self.user_id,
                "SystemModstamp": self.now,
            }
        )
        out = {k: v for k, v in data.items() if v is not None}
        for name, value in stamps.items():
            if obj.field(name) is not None or name == "Id":
                out[name] = value
        return out

    def _existing(self, obj: ObjectInfo | None, raw_id: Any) -> tuple[str, sqlite3.Row]:
        label = f"{obj.label} ID" if obj is not None else "Record ID"
        full = to18(raw_id) if isinstance(raw_id, str) else None
        if full is None or (obj is not None and full[:3] != obj.key_prefix):
            raise _RowFailed(
                RecordError(
                    "MALFORMED_ID", f"{label}: id value of incorrect type: {raw_id}", ("Id",)
                )
            )
        stored = self._stored(full)
        if stored is not None and stored["is_deleted"]:
            raise _RowFailed(RecordError("ENTITY_IS_DELETED", "entity is deleted"))
        if stored is None:
            raise _RowFailed(
                RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            )
        return full, stored

    def update(self, obj: ObjectInfo, row: Mapping[str, Any]) -> SaveResult:
        raw_id = next((v for k, v in row.items() if k.lower() == "id"), None)
        if raw_id in (None, ""):
            raise _RowFailed(RecordError("MISSING_ARGUMENT", "Id not specified in an update call"))
        self._writable(obj, "update")
        record_id, stored = self._existing(obj, raw_id)
        values = self._values(obj, row, creating=False)
        data = dict(json.loads(stored["data"]))
        data.update(values)
        self._required(obj, data)
        self._unique(obj, data, record_id)
        stamped = self._stamp(obj, record_id, data, created=False)
        self.db.execute(
            "UPDATE records SET data = ? WHERE id = ?",
            (json.dumps(stamped, separators=(",", ":")), record_id),
        )
        self._write_keys(obj, record_id, stamped)
        return SaveResult(record_id, True)

    def upsert_key(self, obj: ObjectInfo, field: FieldInfo, row: Mapping[str, Any]) -> Any:
        raw = next((v for k, v in row.items() if k.lower() == field.name.lower()), None)
        if raw in (None, ""):
            raise _RowFailed(
                RecordError("MISSING_ARGUMENT", f"{field.name} not specified", (field.name,))
            )
        if field.name == "Id":
            return raw
        return typed_value(field, raw)

    def upsert(self, obj: ObjectInfo, field: FieldInfo, row: Mapping[str, Any]) -> SaveResult:
        key = self.upsert_key(obj, field, row)
        if field.name == "Id":
            record_id, _ = self._existing(obj, key)
            matches = [record_id]
        else:
            matches = self.find(obj, field, key)
        if len(matches) > 1:
            raise _RowFailed(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field.label}: more than one record found for external id field: "
                    f"[{', '.join(matches)}]",
                    (field.name,),
                )
            )
        if not matches:
            inserted = self.insert(obj, row)
            return SaveResult(inserted.id, True, (), True)
        body = {k: v for k, v in row.items() if k.lower() not in ("id", field.name.lower())}
        body["Id"] = matches[0]
        updated = self.update(obj, body)
        return SaveResult(updated.id, True, (), False)

    def delete(self, obj: ObjectInfo | None, raw_id: Any) -> SaveResult:
        record_id, stored = self._existing(obj, raw_id)
        self._writable(obj or self.object(str(stored["object"])), "delete")
        self._delete(record_id, stored)
        return SaveResult(record_id, True)

    def _delete(self, record_id: str, stored: sqlite3.Row) -> None:
        """Delete a record and, through master-detail relationships, its details."""
        data = dict(json.loads(stored["data"]))
        data.update(
            {
                "IsDeleted": True,
                "LastModifiedDate": self.now,
                "LastModifiedById": self.user_id,
                "SystemModstamp": self.now,
            }
        )
        self.db.execute(
            "UPDATE records SET data = ?, is_deleted = 1 WHERE id = ?",
            (json.dumps(data, separators=(",", ":")), record_id),
        )
        self.db.execute("DELETE FROM record_keys WHERE id = ?", (record_id,))
        details = self.db.execute(
            "SELECT object, name FROM schema_fields WHERE field_type = 'MasterDetail' AND "
            "reference_to LIKE ?",
            (f'%"{stored["object"]}"%',),
        ).fetchall()
        for detail in details:
            for child in self.db.execute(
                "SELECT id, object, data, is_deleted FROM records WHERE object = ? AND "
                "is_deleted = 0 AND json_extract(data, ?) = ?",
                (detail["object"], f'$."{detail["name"]}"', record_id),
            ).fetchall():
                self._delete(str(child["id"]), child)


# --- the public API ------------------------------------------------------------------------------

Operation = Callable[[_Batch, Any], SaveResult]


def _run(
    org: Org, items: Sequence[Any], operation: Operation, all_or_none: bool
) -> list[SaveResult]:
    results: list[SaveResult] = []
    try:
        with org.store.transaction() as db:
            batch = _Batch(org, db)
            for item in items:
                try:
                    results.append(operation(batch, item))
                except _RowFailed as failed:
                    results.append(SaveResult(None, False, failed.errors))
            if all_or_none and not all(r.success for r in results):
                raise _Rollback
    except _Rollback:
        return [r if not r.success else _rolled_back(r) for r in results]
    return results


def _object_of(batch: _Batch, object_name: str | None, row: Mapping[str, Any]) -> ObjectInfo:
    attributes = row.get("attributes")
    typed = attributes.get("type") if isinstance(attributes, dict) else None
    if object_name is None:
        if not typed:
            raise _RowFailed(
                RecordError("INVALID_FIELD", "No type defined for the record in attributes")
            )
        return batch.object(str(typed))
    return batch.object(object_name)


def _require_object(org: Org, object_name: str) -> ObjectInfo:
    found = describe(org, object_name)
    if found is None:
        raise RequestRefused("NOT_FOUND", "The requested resource does not exist", 404)
    return found


def insert_many(
    org: Org, object_name: str | None, rows: Sequence[Mapping[str, Any]], all_or_none: bool = False
) -> list[SaveResult]:
    """Create records; ``object_name`` None takes each row's ``attributes.type``."""
    if object_name is not None:
        _require_object(org, object_name)
    return _run(
        org, rows, lambda b, row: b.insert(_object_of(b, object_name, row), row), all_or_none
    )


def update_many(
    org: Org, object_name: str | None, rows: Sequence[Mapping[str, Any]], all_or_none: bool = False
) -> list[SaveResult]:
    """Update records by their ``Id`` (or ``id``) key; other keys are the fields to change."""
    if object_name is not None:
        _require_object(org, object_name)

    def update(batch: _Batch, row: Mapping[str, Any]) -> SaveResult:
        if object_name is not None:
            return batch.update(batch.object(object_name), row)
        attributes = row.get("attributes")
        typed = attributes.get("type") if isinstance(attributes, dict) else None
        raw_id = next((v for k, v in row.items() if k.lower() == "id"), None)
        full = to18(raw_id) if isinstance(raw_id, str) else None
        by_prefix = None if full is None else batch.prefix_object(full[:3])
        name = typed or by_prefix
        if name is None:
            raise _RowFailed(
                RecordError(
                    "MALFORMED_ID", f"Record ID: id value of incorrect type: {raw_id}", ("Id",)
                )
            )
        return batch.update(batch.object(str(name)), row)

    return _run(org, rows, update, all_or_none)


def external_id_field(org: Org, object_name: str, field_name: str) -> FieldInfo:
    """The field an upsert matches on; refused as Salesforce refuses an unknown one."""
    obj = _require_object(org, object_name)
    field = obj.field(field_name)
    if field is None or not field.id_lookup:
        raise RequestRefused(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name}",
            404,
        )
    return field


def upsert_many(
    org: Org,
    object_name: str,
    ext_field: str,
    rows: Sequence[Mapping[str, Any]],
    all_or_none: bool = False,
) -> list[SaveResult]:
    """Insert or update by ``ext_field``; rows sharing one key all fail DUPLICATE_EXTERNAL_ID."""
    field = external_id_field(org, object_name, ext_field)
    seen: dict[str, int] = {}
    for row in rows:
        raw = next((v for k, v in row.items() if k.lower() == field.name.lower()), None)
        if raw not in (None, ""):
            key = _key(field, raw if isinstance(raw, str) else str(raw))
            seen[key] = seen.get(key, 0) + 1

    def upsert(batch: _Batch, row: Mapping[str, Any]) -> SaveResult:
        raw = next((v for k, v in row.items() if k.lower() == field.name.lower()), None)
        if (
            raw not in (None, "")
            and seen[_key(field, raw if isinstance(raw, str) else str(raw))] > 1
        ):
            raise _RowFailed(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {raw}",
                    (field.name,),
                )
            )
        return batch.upsert(batch.object(object_name), field, row)

    return _run(org, rows, upsert, all_or_none)


def delete_many(
    org: Org, object_name: str | None, ids: Sequence[str], all_or_none: bool = False
) -> list[SaveResult]:
    """Delete records by Id; with ``object_name`` every Id must be one of that object's."""

    def delete(batch: _Batch, raw_id: Any) -> SaveResult:
        obj = batch.object(object_name) if object_name is not None else None
        return batch.delete(obj, raw_id)

    return _run(org, ids, delete, all_or_none)


def write_fact_record(
    db: sqlite3.Connection,
    object_name: str,
    record_id: str,
    values: Mapping[str, Any],
    *,
    user_id: str,
    stamped: Sequence[str] = (),
) -> None:
    """Keep the one record of a FACT_OBJECTS object: ``values`` as given (typed already),
    replacing any other record of the object (a new profile is a new record). Nothing is
    written when the values are those stored, so audit dates move only on a real change;
    ``stamped`` names further fields set to the time of the write.
    """
    obj = load_object(db, object_name)
    if obj is None:
        raise ValueError(f"the org has no {object_name} object")
    row = db.execute(
        "SELECT data FROM records WHERE id = ? AND object = ?", (record_id, obj.name)
    ).fetchone()
    old: dict[str, Any] = {} if row is None else json.loads(row["data"])
    kept = set(SYSTEM_FIELDS) | set(stamped)
    data = {k: v for k, v in values.items() if v is not None and k not in kept}
    others = db.execute(
        "SELECT id FROM records WHERE object = ? AND id != ?", (obj.name, record_id)
    ).fetchall()
    if data == {k: v for k, v in old.items() if k not in kept} and not others:
        return
    now = _now()
    stamps = {
        "Id": record_id,
        "IsDeleted": False,
        "CreatedDate": old.get("CreatedDate", now),
        "CreatedById": old.get("CreatedById", user_id),
        "LastModifiedDate": now,
        "LastModifiedById": user_id,
        "SystemModstamp": now,
        **{name: now for name in stamped},
    }
    data.update({k: v for k, v in stamps.items() if k == "Id" or obj.field(k) is not None})
    for other in others:
        db.execute("DELETE FROM record_keys WHERE id = ?", (other["id"],))
        db.execute("DELETE FROM records WHERE id = ?", (other["id"],))
    db.execute(
        "INSERT INTO records (id, object, data, is_deleted) VALUES (?, ?, ?, 0) "
        "ON CONFLICT(id) DO UPDATE SET data = excluded.data, is_deleted = 0",
        (record_id, obj.name, json.dumps(data, separators=(",", ":"))),
    )


def find_ids(org: Org, object_name: str, field_name: str, value: Any) -> list[str]:
    """Ids of live records whose ``field_name`` equals ``value`` (given as a client would)."""
    field = external_id_field(org, object_name, field_name)
    obj = _require_object(org, object_name)
    batch = _Batch(org, org.store.connection())
    try:
        key = batch.upsert_key(obj, field, {field.name: value})
    except _RowFailed:
        return []
    if field.name == "Id":
        full = to18(str(key))
        return [] if full is None else batch.find(obj, field, full)
    return batch.find(obj, field, key)


def get(
    org: Org, object_name: str, record_id: str, *, include_deleted: bool = False
) -> dict[str, Any] | None:
    """A record's stored fields by Id (15 or 18 characters); absent fields have no value."""
    full = to18(record_id)
    if full is None:
        return None
    row = (
        org.store.connection()
        .execute(
            "SELECT data, is_deleted FROM records WHERE id = ? AND object = ?",
            (full, object_name),
        )
        .fetchone()
    )
    if row is None or (row["is_deleted"] and not include_deleted):
        return None
    data: dict[str, Any] = json.loads(row["data"])
    return data


def iter_records(
    org: Org, object_name: str, *, include_deleted: bool = False
) -> Iterator[dict[str, Any]]:
    """Every record of an object in creation order, streamed from the store; each dict is
    keyed by field API name and lacks the fields without a value."""
    sql = "SELECT data FROM records WHERE object = ?"
    if not include_deleted:
        sql += " AND is_deleted = 0"
    for (data,) in org.store.read(sql + " ORDER BY rowid", (object_name,)):
        yield json.loads(data)


def count(org: Org, object_name: str, *, include_deleted: bool = False) -> int:
    sql = "SELECT COUNT(*) FROM records WHERE object = ?"
    if not include_deleted:
        sql += " AND is_deleted = 0"
    return int(org.store.connection().execute(sql, (object_name,)).fetchone()[0])


def get_many(
    org: Org, object_name: str, record_ids: Sequence[str], *, include_deleted: bool = False
) -> dict[str, dict[str, Any]]:
    """Stored fields of the records among ``record_ids`` (18 characters) that exist, by Id;
    one statement per call, so callers page a few thousand Ids at a time."""
    if not record_ids:
        return {}
    marks = ",".join("?" * len(record_ids))
    sql = f"SELECT id, data FROM records WHERE object = ? AND id IN ({marks})"
    if not include_deleted:
        sql += " AND is_deleted = 0"
    rows = org.store.connection().execute(sql, (object_name, *record_ids))
    return {str(row["id"]): json.loads(row["data"]) for row in rows}
