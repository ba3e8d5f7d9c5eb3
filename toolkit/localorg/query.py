"""The REST query resources: SOQL over the records store, paged like Salesforce pages.

``/query`` and ``/queryAll`` run the query once; when the answer holds more than a page, the
Ids of the remaining rows wait in a cursor named by ``nextRecordsUrl`` (kept in memory for the
life of the server, as Salesforce keeps cursors for a limited time only). A cursor holds 18
bytes per row, never the rows, and each page reads its records afresh, so memory stays flat
however many records a query pages through. ``columns=true`` answers with the column metadata
of the select list instead of rows, as tools that lay out result grids ask for it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.localorg import records, soql
from toolkit.localorg.http import Request, Response, Router

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

BASE = r"/services/data/v(?P<version>\d+\.\d)"
PAGE_SIZE = 2000
MAX_CURSORS = 100
CURSOR_PREFIX = "01g"
_ID_BYTES = 18
_APEX_TYPES = {  # describe type -> the Apex type of a value of that field
    "boolean": "Boolean",
    "currency": "Decimal",
    "date": "Date",
    "datetime": "Datetime",
    "double": "Decimal",
    "id": "Id",
    "int": "Integer",
    "percent": "Decimal",
    "reference": "Id",
    "time": "Time",
}
_NUMBER_TYPES = frozenset({"currency", "double", "int", "percent"})


@dataclass(frozen=True)
class _Cursor:
    """What a query still has to page through: the Ids of its rows, in order."""

    bound: soql.BoundQuery
    ids: bytes
    resolve: soql.Resolve
    include_deleted: bool

    @property
    def size(self) -> int:
        return len(self.ids) // _ID_BYTES

    def page_ids(self, start: int, end: int) -> list[str]:
        chunk = self.ids[start * _ID_BYTES : end * _ID_BYTES]
        return [chunk[i : i + _ID_BYTES].decode("ascii") for i in range(0, len(chunk), _ID_BYTES)]


_cursors: OrderedDict[str, _Cursor] = OrderedDict()
_cursor_lock = threading.Lock()
_cursor_numbers = itertools.count(1)


def register(router: Router) -> None:
    router.add("GET", BASE + r"/query/?", _query, name="rest.query")
    router.add("GET", BASE + r"/queryAll/?", _query_all, name="rest.queryAll")
    router.add(
        "GET",
        BASE + r"/query(?:All)?/(?P<cursor>\w+)-(?P<start>\d+)",
        _more,
        name="rest.query.more",
    )


def prepare(org: Org) -> None:
    """Queries keep no state across restarts."""


class _Schema:
    """The live schema as the SOQL binder sees it."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._seen: dict[str, soql.ObjectInfo | None] = {}

    def object(self, name: str) -> soql.ObjectInfo | None:
        key = name.lower()
        if key not in self._seen:
            self._seen[key] = _object_info(records.describe(self.org, name))
        return self._seen[key]


def _object_info(info: records.ObjectInfo | None) -> soql.ObjectInfo | None:
    if info is None:
        return None
    fields = {
        f.name.lower(): soql.FieldInfo(f.name, f.type, f.reference_to, f.relationship_name)
        for f in info.fields
    }
    return soql.ObjectInfo(info.name, fields)


_PARSERS: Mapping[str, Callable[[str], Any]] = {
    "date": dt.date.fromisoformat,
    "datetime": lambda text: dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z"),
}


def _typed(
    schema: soql.ObjectInfo, data: dict[str, Any], only: frozenset[str] | None = None
) -> dict[str, Any]:
    """Stored JSON values as SOQL compares them: dates and date-times become Python values.
    ``only`` limits the work to the fields a query compares; the stored text of the others is
    already what a query answer shows."""
    typed = data
    for name in data if only is None else only:
        value = data.get(name)
        field = schema.fields.get(name.lower())
        parse = _PARSERS.get(field.type) if field is not None else None
        if parse is not None and isinstance(value, str):
            if typed is data:
                typed = dict(data)
            typed[name] = parse(value)
    return typed


def _error(code: str, message: str, status: int = 400) -> Response:
    return Response.json([{"message": message, "errorCode": code}], status)


def _query(request: Request, org: Org) -> Response:
    return _run(request, org, include_deleted=False)


def _query_all(request: Request, org: Org) -> Response:
    return _run(request, org, include_deleted=True)


def _run(request: Request, org: Org, *, include_deleted: bool) -> Response:
    text = request.query_value("q")
    if not text:
        return _error("MALFORMED_QUERY", "A query string has to be specified")
    schema = _Schema(org)
    try:
        bound = soql.bind(soql.parse(text), schema)
    except soql.SoqlError as exc:
        return _error(exc.code, exc.full_message)
    if (request.query_value("columns") or "").lower() == "true":
        return Response.json(_column_answer(org, bound))
    version = request.params["version"]
    sobject = schema.object(bound.sobject)
    assert sobject is not None  # bind checked it

    def resolve(object_name: str, record_id: str) -> soql.Record | None:
        parent = schema.object(object_name)
        found = records.get(org, object_name, record_id)
        return None if found is None or parent is None else _typed(parent, found)

    cached = soql.caching(resolve)
    stored = records.iter_records(org, bound.sobject, include_deleted=include_deleted)
    compared = bound.compared_fields
    rows = (_typed(sobject, data, compared) for data in stored)
    now = dt.datetime.now(dt.UTC)
    if bound.is_count or bound.count_field is not None:
        result = soql.execute(bound, rows, cached, now, version)
        return Response.json(
            {"totalSize": result.total_size, "done": True, "records": result.records}
        )
    ids = bytearray()
    for record_id in soql.select_ids(bound, rows, cached, now):
        ids += record_id.encode("ascii")
    cursor = _Cursor(bound, bytes(ids), cached, include_deleted)
    return _page(org, schema, cursor, "", 0, version)


def _more(request: Request, org: Org) -> Response:
    with _cursor_lock:
        cursor = _cursors.get(request.params["cursor"])
    if cursor is None:
        return _error("INVALID_QUERY_LOCATOR", "invalid query locator", 400)
    start = int(request.params["start"])
    version = request.params["version"]
    return _page(org, _Schema(org), cursor, request.params["cursor"], start, version)


def _page(
    org: Org, schema: _Schema, cursor: _Cursor, name: str, start: int, version: str
) -> Response:
    end = min(start + PAGE_SIZE, cursor.size)
    wanted = cursor.page_ids(start, end)
    sobject = schema.object(cursor.bound.sobject)
    if sobject is None:
        return _error("INVALID_TYPE", f"sObject type '{cursor.bound.sobject}' is not supported.")
    found = records.get_many(
        org, cursor.bound.sobject, wanted, include_deleted=cursor.include_deleted
    )
    page = [cursor.bound.project(found[i], cursor.resolve, version) for i in wanted if i in found]
    body: dict[str, Any] = {"totalSize": cursor.size, "done": end >= cursor.size}
    if not body["done"]:
        name = name or _remember(cursor)
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{name}-{end}"
    body["records"] = page
    return Response.json(body)


def _remember(cursor: _Cursor) -> str:
    name = f"{CURSOR_PREFIX}{next(_cursor_numbers):012d}"
    with _cursor_lock:
        _cursors[name] = cursor
        while len(_cursors) > MAX_CURSORS:
            _cursors.popitem(last=False)
    return name


# --- columns=true --------------------------------------------------------------------------------


def _column(
    name: str,
    display: str,
    field: records.FieldInfo | None,
    joins: list[dict[str, Any]],
    *,
    aggregate: bool = False,
) -> dict[str, Any]:
    kind = field.type if field is not None else ""
    return {
        "aggregate": aggregate,
        "apexType": "Integer"
        if aggregate
        else (_APEX_TYPES.get(kind, "String") if field else None),
        "booleanType": kind == "boolean",
        "columnName": name,
        "custom": bool(field and field.custom),
        "displayName": display,
        "foreignKeyName": None,
        "insertable": bool(field and field.createable),
        "joinColumns": joins,
        "numberType": aggregate or kind in _NUMBER_TYPES,
        "textType": field is not None and kind not in _APEX_TYPES,
        "updatable": bool(field and field.updateable),
    }


def _column_answer(org: Org, bound: soql.BoundQuery) -> dict[str, Any]:
    """The select list as column metadata; fields through a relationship are join columns of
    one column per relationship, in the order the relationships first appear."""
    top: list[dict[str, Any]] = []
    joins: dict[tuple[str, ...], list[dict[str, Any]]] = {(): top}
    for path in bound.columns:
        trail: tuple[str, ...] = ()
        for hop in path.hops:
            parent_list = joins[trail]
            trail = (*trail, hop.relationship)
            if trail not in joins:
                joins[trail] = []
                parent_list.append(_column(hop.relationship, hop.relationship, None, joins[trail]))
        info = records.describe(org, path.object_name)
        field = info.field(path.field.name) if info is not None else None
        joins[trail].append(_column(path.field.name, path.field.name, field, []))
    if bound.count_field is not None:
        display = f"COUNT({bound.count_field.name})"
        top.append(_column(bound.alias or "expr0", display, None, [], aggregate=True))
    info = records.describe(org, bound.sobject)
    return {
        "columnMetadata": top,
        "entityName": bound.sobject,
        "groupBy": False,
        "idSelected": any(not p.hops and p.field.name == "Id" for p in bound.columns),
        "keyPrefix": info.key_prefix if info is not None else None,
    }
