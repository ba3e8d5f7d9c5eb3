"""Record calls over REST, through simple-salesforce: describes, sObject Collections upserts
and deletes, and SOQL. Thin: each function is one kind of call and its answer as typed values;
what to send and what a failure means is the sync engine's business."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from simple_salesforce.api import Salesforce

from toolkit.salesforce.rest import calling

COLLECTION_SIZE = 200  # records per sObject Collections call (Salesforce's limit)


@dataclass(frozen=True)
class FieldDescribe:
    """What the sync engine needs of a field's describe."""

    name: str
    type: str
    length: int
    nillable: bool
    createable: bool
    updateable: bool
    defaulted_on_create: bool
    external_id: bool
    id_lookup: bool
    calculated: bool
    restricted_picklist: bool
    picklist_values: tuple[str, ...]
    reference_to: tuple[str, ...]
    relationship_name: str | None

    @property
    def required_on_create(self) -> bool:
        """A value is needed when the record is new: not nillable, not defaulted, writable."""
        return (
            not self.nillable
            and not self.defaulted_on_create
            and self.createable
            and self.type != "boolean"
        )


@dataclass(frozen=True)
class ObjectDescribe:
    name: str
    fields: dict[str, FieldDescribe]

    def field(self, name: str) -> FieldDescribe | None:
        found = self.fields.get(name)
        if found is not None:
            return found
        lowered = name.lower()  # Salesforce field names are case-insensitive
        return next((f for key, f in self.fields.items() if key.lower() == lowered), None)


@dataclass(frozen=True)
class RowError:
    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowResult:
    """One row of a collections answer: ``created`` is None when the call does not say."""

    success: bool
    id: str | None = None
    created: bool | None = None
    errors: tuple[RowError, ...] = ()


def describe(sf: Salesforce, object_name: str) -> ObjectDescribe:
    answer: Any = calling(
        f"describe {object_name}",
        lambda: sf.restful(f"sobjects/{quote(object_name, safe='')}/describe"),
    )
    fields = {}
    for raw in answer["fields"]:
        fields[raw["name"]] = FieldDescribe(
            name=raw["name"],
            type=raw["type"],
            length=int(raw.get("length") or 0),
            nillable=bool(raw.get("nillable")),
            createable=bool(raw.get("createable")),
            updateable=bool(raw.get("updateable")),
            defaulted_on_create=bool(raw.get("defaultedOnCreate")),
            external_id=bool(raw.get("externalId")),
            id_lookup=bool(raw.get("idLookup")),
            calculated=bool(raw.get("calculated")),
            restricted_picklist=bool(raw.get("restrictedPicklist")),
            picklist_values=tuple(
                str(v["value"]) for v in raw.get("picklistValues") or () if v.get("active", True)
            ),
            reference_to=tuple(raw.get("referenceTo") or ()),
            relationship_name=raw.get("relationshipName"),
        )
    return ObjectDescribe(str(answer["name"]), fields)


def _row_results(answer: Any) -> list[RowResult]:
    results = []
    for row in answer:
        errors = tuple(
            RowError(
                str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN_EXCEPTION"),
                str(e.get("message", "")),
                tuple(e.get("fields") or ()),
            )
            for e in row.get("errors") or ()
        )
        results.append(
            RowResult(bool(row.get("success")), row.get("id"), row.get("created"), errors)
        )
    return results


def upsert_collection(
    sf: Salesforce, object_name: str, key_field: str, records: Sequence[dict[str, Any]]
) -> list[RowResult]:
    """Upsert up to 200 records by External ID in one call, each row succeeding or failing on
    its own (allOrNone false); results in the order sent."""
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": object_name}, **record} for record in records],
    }
    answer: Any = calling(
        f"upsert {len(records)} {object_name} records",
        lambda: sf.restful(
            f"composite/sobjects/{object_name}/{key_field}",
            method="PATCH",
            data=json.dumps(body, ensure_ascii=False),
        ),
    )
    return _row_results(answer)


def update_collection(
    sf: Salesforce, object_name: str, records: Sequence[dict[str, Any]]
) -> list[RowResult]:
    """Update up to 200 records by Id (each record holds its ``Id``) in one call, each row on
    its own; results in the order sent."""
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": object_name}, **record} for record in records],
    }
    answer: Any = calling(
        f"update {len(records)} {object_name} records",
        lambda: sf.restful(
            "composite/sobjects", method="PATCH", data=json.dumps(body, ensure_ascii=False)
        ),
    )
    return _row_results(answer)


def delete_collection(sf: Salesforce, ids: Sequence[str]) -> list[RowResult]:
    """Delete up to 200 records by Id, each on its own."""
    answer: Any = calling(
        f"delete {len(ids)} records",
        lambda: sf.restful(
            "composite/sobjects",
            method="DELETE",
            params={"ids": ",".join(ids), "allOrNone": "false"},
        ),
    )
    return _row_results(answer)


def query(sf: Salesforce, soql: str) -> list[dict[str, Any]]:
    """Every row of a SOQL query, every page."""
    answer = calling(f"query {soql[:80]!r}", lambda: sf.query_all(soql))
    return [{k: v for k, v in row.items() if k != "attributes"} for row in answer["records"]]


def soql_literal(value: str) -> str:
    """A string as a SOQL literal: quoted, with backslash and quote escaped."""
    escaped = value.translate(_SOQL_ESCAPES)
    return f"'{escaped}'"


_SOQL_ESCAPES = str.maketrans(
    {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
)
