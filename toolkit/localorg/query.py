"""The REST query resources: SOQL over the records store, paged like Salesforce pages.

``/query`` and ``/queryAll`` run the query once; when the answer holds more than a page, the
remaining rows wait in a cursor named by ``nextRecordsUrl`` (kept in memory for the life of
the server, as Salesforce keeps cursors for a limited time only).
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
from toolkit.localorg.identity import with_limit_info

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

BASE = r"/services/data/v(?P<version>\d+\.\d)"
PAGE_SIZE = 2000
MAX_CURSORS = 100
CURSOR_PREFIX = "01g"


@dataclass(frozen=True)
class _Cursor:
    bound: soql.BoundQuery
    rows: list[soql.Record]
    resolve: soql.Resolve


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


def _typed(schema: soql.ObjectInfo, data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored JSON values as SOQL compares them: dates and date-times become Python values."""
    typed = dict(data)
    for name, value in data.items():
        field = schema.fields.get(name.lower())
        parse = _PARSERS.get(field.type) if field is not None else None
        if parse is not None and isinstance(value, str):
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
    version = request.params["version"]
    sobject = schema.object(bound.sobject)
    assert sobject is not None  # bind checked it

    def resolve(object_name: str, record_id: str) -> soql.Record | None:
        parent = schema.object(object_name)
        found = records.get(org, object_name, record_id)
        return None if found is None or parent is None else _typed(parent, found)

    stored = records.iter_records(org, bound.sobject, include_deleted=include_deleted)
    rows = (_typed(sobject, data) for data in stored)
    now = dt.datetime.now(dt.UTC)
    if bound.is_count or bound.count_field is not None:
        result = soql.execute(bound, rows, resolve, now, version)
        body = {"totalSize": result.total_size, "done": True, "records": result.records}
        return with_limit_info(org, Response.json(body))
    chosen = soql.select(bound, rows, resolve, now)
    return with_limit_info(org, _page(_Cursor(bound, chosen, resolve), "", 0, version, request))


def _more(request: Request, org: Org) -> Response:
    with _cursor_lock:
        cursor = _cursors.get(request.params["cursor"])
    if cursor is None:
        return _error("INVALID_QUERY_LOCATOR", "invalid query locator", 400)
    start = int(request.params["start"])
    response = _page(cursor, request.params["cursor"], start, request.params["version"], request)
    return with_limit_info(org, response)


def _page(cursor: _Cursor, name: str, start: int, version: str, request: Request) -> Response:
    end = min(start + PAGE_SIZE, len(cursor.rows))
    page = [cursor.bound.project(r, cursor.resolve, version) for r in cursor.rows[start:end]]
    body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
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
