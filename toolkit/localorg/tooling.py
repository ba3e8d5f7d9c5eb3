"""The Tooling API's coverage queries, answered from the coverage profile.

Tools measure coverage outside a deploy with two Tooling queries: ``ApexOrgWideCoverage``
(PercentCovered) and ``ApexCodeCoverageAggregate`` (lines covered and uncovered per class and
trigger). The local org answers those two objects, with the fields, filters (``=``/``IN`` on the
class or trigger name or Id), ``ORDER BY`` and ``LIMIT`` that tools use, in the JSON shape a
real org gives; any other query is refused with Salesforce's error codes and a message that
says what the local org does answer, rather than with a result it cannot back.

Every class and trigger that counts for coverage has an aggregate row, one without a coverage
entry with all its countable lines uncovered, so the rows add up to the org-wide percentage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.localorg import apex
from toolkit.localorg.apex import ComponentCoverage
from toolkit.localorg.http import Request, Response, Router
from toolkit.localorg.ids import make_id, to18

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

AGGREGATE = "ApexCodeCoverageAggregate"
ORG_WIDE = "ApexOrgWideCoverage"
ANSWERED = f"The local org's Tooling API answers only queries of {AGGREGATE} and {ORG_WIDE}."
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_QUERY = re.compile(
    r"\s*select\s+(?P<fields>.+?)\s+from\s+(?P<object>\S+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+order\s+by\s+(?P<order>.+?))?"
    r"(?:\s+limit\s+(?P<limit>\S+))?\s*",
    re.IGNORECASE | re.DOTALL,
)
_LITERAL = r"'(?:\\.|[^'\\])*'"
_CONDITION = re.compile(
    rf"(?P<field>[\w.]+)\s*(?:=\s*(?P<one>{_LITERAL})|in\s*\((?P<many>\s*{_LITERAL}"
    rf"(?:\s*,\s*{_LITERAL})*)\s*\))",
    re.IGNORECASE | re.DOTALL,
)
_ORDER = re.compile(r"(?P<field>[\w.]+)(?:\s+(?P<dir>asc|desc))?", re.IGNORECASE)


class QueryError(Exception):
    """A query refused with a Salesforce error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Row:
    """One aggregate row and the values its queryable fields take."""

    id: str
    coverage: ComponentCoverage

    def value(self, field: str, base: str) -> Any:
        target = "ApexClass" if self.coverage.kind == apex.CLASS else "ApexTrigger"
        values: dict[str, Callable[[], Any]] = {
            "Id": lambda: self.id,
            "ApexClassOrTriggerId": lambda: self.coverage.id,
            "ApexClassOrTrigger.Name": lambda: self.coverage.name,
            "NumLinesCovered": lambda: len(self.coverage.covered),
            "NumLinesUncovered": lambda: len(self.coverage.uncovered),
            "Coverage": lambda: {
                "coveredLines": list(self.coverage.covered),
                "uncoveredLines": list(self.coverage.uncovered),
            },
            "ApexClassOrTrigger": lambda: {
                "attributes": {
                    # the type of a polymorphic lookup's nested record is literally "Name"
                    "type": "Name",
                    "url": f"{base}/{target}/{self.coverage.id}",
                },
                "Name": self.coverage.name,
            },
        }
        return values[field]()


_FIELDS = {
    AGGREGATE: (
        "Id",
        "ApexClassOrTriggerId",
        "ApexClassOrTrigger.Name",
        "NumLinesCovered",
        "NumLinesUncovered",
        "Coverage",
    ),
    ORG_WIDE: ("Id", "PercentCovered"),
}
_FILTERABLE = ("ApexClassOrTrigger.Name", "ApexClassOrTriggerId")
_SORTABLE = (
    "Id",
    "ApexClassOrTriggerId",
    "ApexClassOrTrigger.Name",
    "NumLinesCovered",
    "NumLinesUncovered",
)


def _canonical(name: str, allowed: Sequence[str], entity: str) -> str:
    found = next((a for a in allowed if a.lower() == name.lower()), None)
    if found is None:
        raise QueryError(
            "INVALID_FIELD",
            f"No such column '{name}' on entity '{entity}'. The local org answers {entity} "
            f"queries with the fields {', '.join(allowed)}.",
        )
    return found


def _number(component_id: str) -> int:
    """The sequence number inside a local-org Id (its 12 characters after the key prefix)."""
    value = 0
    for char in component_id[3:15]:
        value = value * 62 + _ALPHABET.index(char)
    return value


def _aggregate_id(coverage: ComponentCoverage) -> str:
    """A stable aggregate Id per class or trigger: classes even numbers, triggers odd."""
    return make_id("715", 2 * _number(coverage.id) + (coverage.kind == apex.TRIGGER))


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _filter(where: str | None, rows: list[_Row]) -> list[_Row]:
    if where is None:
        return rows
    found = _CONDITION.fullmatch(where.strip())
    if found is None:
        raise QueryError(
            "MALFORMED_QUERY",
            f"The local org cannot read the condition '{where.strip()}': it filters "
            f"{AGGREGATE} with one condition, {' or '.join(_FILTERABLE)} = 'value' or "
            "IN ('value', ...).",
        )
    field = found["field"]
    canonical = next((f for f in _FILTERABLE if f.lower() == field.lower()), None)
    if canonical is None:
        raise QueryError(
            "MALFORMED_QUERY",
            f"The local org filters {AGGREGATE} only on {' or '.join(_FILTERABLE)}, not on "
            f"'{field}'.",
        )
    literals = [found["one"]] if found["one"] else re.findall(_LITERAL, found["many"])
    values = [_unquote(v) for v in literals]
    if canonical == "ApexClassOrTriggerId":
        ids = {to18(v) for v in values}  # an Id may be given with 15 or 18 characters
        return [r for r in rows if r.coverage.id in ids]
    names = {v.lower() for v in values}
    return [r for r in rows if r.coverage.name.lower() in names]


def _order(order: str | None, rows: list[_Row]) -> list[_Row]:
    if order is None:
        return rows
    found = _ORDER.fullmatch(order.strip())
    if found is None:
        raise QueryError(
            "MALFORMED_QUERY",
            f"The local org orders by one field, ASC or DESC; it cannot read '{order.strip()}'.",
        )
    field = _canonical(found["field"], _SORTABLE, AGGREGATE)
    descending = (found["dir"] or "asc").lower() == "desc"

    def key(row: _Row) -> Any:
        value = row.value(field, "")
        return value.lower() if isinstance(value, str) else value

    return sorted(rows, key=key, reverse=descending)


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise QueryError("MALFORMED_QUERY", f"LIMIT must be a whole number, not '{text}'")
    return int(text)


def _fields(text: str, entity: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if any(not name for name in names):
        raise QueryError("MALFORMED_QUERY", "unexpected token: ',' in the SELECT list")
    fields = [_canonical(name, _FIELDS[entity], entity) for name in names]
    twice = next((f for f in fields if fields.count(f) > 1), None)
    if twice is not None:
        raise QueryError("MALFORMED_QUERY", f"duplicate field selected: {twice}")
    return fields


def query(org: Org, soql: str, version: str) -> dict[str, Any]:
    """The Tooling query result for ``soql``, or a QueryError."""
    parsed = _QUERY.fullmatch(soql)
    if parsed is None:
        raise QueryError(
            "MALFORMED_QUERY",
            "The local org reads SELECT <fields> FROM <object> [WHERE ...] [ORDER BY ...] "
            f"[LIMIT n]; it cannot read: {soql.strip()}",
        )
    entity = next((e for e in _FIELDS if e.lower() == parsed["object"].lower()), None)
    if entity is None:
        raise QueryError(
            "INVALID_TYPE", f"sObject type '{parsed['object']}' is not supported. {ANSWERED}"
        )
    fields = _fields(parsed["fields"], entity)
    base = f"/services/data/v{version}/tooling/sobjects"
    limit = _limit(parsed["limit"])
    profile = apex.load_profile(org.store)
    coverage = apex.org_coverage(org.store.connection(), profile)
    records: list[dict[str, Any]] = []
    if entity == ORG_WIDE:
        if parsed["where"] or parsed["order"]:
            raise QueryError(
                "MALFORMED_QUERY", f"The local org answers {ORG_WIDE} without WHERE or ORDER BY."
            )
        record_id = make_id("716", 1)
        values = {"Id": record_id, "PercentCovered": apex.org_wide_percent(coverage)}
        records.append(
            {
                "attributes": {"type": ORG_WIDE, "url": f"{base}/{ORG_WIDE}/{record_id}"},
                **{field: values[field] for field in fields},
            }
        )
    else:
        rows = [_Row(_aggregate_id(c), c) for c in coverage]
        rows = _order(parsed["order"], _filter(parsed["where"], rows))
        for row in rows:
            record: dict[str, Any] = {
                "attributes": {"type": AGGREGATE, "url": f"{base}/{AGGREGATE}/{row.id}"}
            }
            for field in fields:
                if field == "ApexClassOrTrigger.Name":
                    record["ApexClassOrTrigger"] = row.value("ApexClassOrTrigger", base)
                else:
                    record[field] = row.value(field, base)
            records.append(record)
    if limit is not None:
        records = records[:limit]
    return {
        "size": len(records),
        "totalSize": len(records),
        "done": True,
        "queryLocator": None,
        "entityTypeName": entity if records else None,
        "records": records,
    }


def _query(request: Request, org: Org) -> Response:
    soql = request.query_value("q")
    if soql is None or not soql.strip():
        return Response.json(
            [{"errorCode": "MALFORMED_QUERY", "message": "A query (the q parameter) is required."}],
            400,
        )
    try:
        return Response.json(query(org, soql, request.params["version"]))
    except QueryError as error:
        return Response.json([{"errorCode": error.code, "message": error.message}], 400)


def register(router: Router) -> None:
    router.add(
        "GET", r"/services/data/v(?P<version>\d+\.\d)/tooling/query/?", _query, name="tooling.query"
    )


def prepare(org: Org) -> None:
    """Nothing to make: the answers come from the stored Apex and the coverage profile."""
