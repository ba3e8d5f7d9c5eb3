"""Before a rollback deletes objects or fields, how many records hold data there: deleting a
field deletes its values, deleting an object its records, and no rollback brings them back.

Counted with SOQL: an object's records; a field's records with a value (``!= null``; a
checkbox counts when true). Text areas cannot be filtered in SOQL, so for them every record of
the object counts. Formula and roll-up summary fields hold nothing of their own and are not
counted. A count the org refuses is reported as unknown, which a caller treats as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from toolkit.errors import OrgError
from toolkit.metadata import xmlsafe
from toolkit.metadata.fieldtypes import field_type
from toolkit.metadata.files import METADATA_NS
from toolkit.metadata.manifest import ComponentRef
from toolkit.salesforce import rest
from toolkit.salesforce.connection import OrgConnection

_DERIVED = ("formula", "summaryOperation")  # elements of fields that store no values


@dataclass(frozen=True)
class RecordsAtRisk:
    ref: ComponentRef
    records: int | None  # None: the org would not say
    detail: str

    @property
    def holds_data(self) -> bool:
        return self.records != 0


def records_at_risk(
    conn: OrgConnection, deletes: Iterable[ComponentRef], bodies: Mapping[ComponentRef, bytes]
) -> tuple[RecordsAtRisk, ...]:
    """One count per object or field in ``deletes`` that can hold data (``bodies``: the org's
    current definitions, to read a field's type)."""
    found = []
    for ref in sorted(set(deletes)):
        query = _query(ref, bodies.get(ref))
        if query is None:
            continue
        soql, what = query
        try:
            records = rest.count(conn, soql)
        except OrgError as error:
            found.append(RecordsAtRisk(ref, None, f"could not be counted ({error.message})"))
            continue
        noun = "record" if records == 1 else "records"
        found.append(RecordsAtRisk(ref, records, f"{records:,} {noun}{what}"))
    return tuple(found)


def _query(ref: ComponentRef, body: bytes | None) -> tuple[str, str] | None:
    if ref.type == "CustomObject":
        return f"SELECT COUNT() FROM {ref.full_name}", ""
    if ref.type != "CustomField":
        return None
    table, _, name = ref.full_name.partition(".")
    root = xmlsafe.parse(body, str(ref)) if body is not None else None
    if root is not None and any(_has(root, element) for element in _DERIVED):
        return None
    kind = field_type(root.findtext(_tag("type")) or "") if root is not None else None
    if kind is not None and kind.describe_type == "boolean":
        return f"SELECT COUNT() FROM {table} WHERE {name} = true", " with the box ticked"
    if kind is not None and kind.describe_type == "textarea":
        return f"SELECT COUNT() FROM {table}", f" of {table} (text areas cannot be filtered)"
    return f"SELECT COUNT() FROM {table} WHERE {name} != null", " with a value"


def _has(root: etree._Element, element: str) -> bool:
    return root.find(_tag(element)) is not None


def _tag(element: str) -> str:
    return f"{{{METADATA_NS}}}{element}"
