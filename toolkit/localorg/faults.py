"""Faults on demand, and the org refusing calls once the day's API allowance is spent.

A fault names a route (its exact name, or a regular expression over route names; ``GET
/_sftk/routes`` lists them), a kind and a number of calls. Each matching call consumes one
atomically, so concurrent clients see exactly ``count`` faults between them. Faults live in the
store and so survive a restart, as a flaky org would. The control endpoints under ``/_sftk/``
are never faulted, so a test can always clear what it set.

Once the calls counted today pass the ``daily_api_requests`` fact, every route but the logins
(``identity.UNCOUNTED_ROUTES``) answers REQUEST_LIMIT_EXCEEDED, as a capped org does.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from toolkit.localorg import identity
from toolkit.localorg.http import DropConnection, Request, Response, Router
from toolkit.localorg.soap import SoapFault, fault_response
from toolkit.localorg.store import register_schema

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

KINDS = ("latency", "http_5xx", "drop", "REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW")
MAX_COUNT = 1_000_000
MAX_SECONDS = 600.0
LIMIT_MESSAGE = "TotalRequests Limit exceeded."  # the day's allowance is spent
# The injected fault stands for the concurrent-request limit, which clears as calls finish.
CONCURRENT_MESSAGE = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
LOCK_MESSAGE = "unable to obtain exclusive access to this record"

register_schema(
    """
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    kind TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    seconds REAL NOT NULL,
    status INTEGER NOT NULL
);
"""
)


@dataclass(frozen=True)
class Fault:
    id: int
    route: str
    kind: str
    remaining: int
    seconds: float
    status: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "route": self.route,
            "kind": self.kind,
            "count": self.remaining,
            "seconds": self.seconds,
            "status": self.status,
        }


class FaultSpecError(ValueError):
    """A fault request that cannot be stored; the message names the bad field."""


def _fault(row: Any) -> Fault:
    return Fault(
        int(row["id"]),
        row["route"],
        row["kind"],
        int(row["remaining"]),
        float(row["seconds"]),
        int(row["status"]),
    )


def _number(spec: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise FaultSpecError(f"'{name}' must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def add_fault(org: Org, spec: Any) -> Fault:
    """Store a fault from its JSON form (see the module docstring)."""
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault is a JSON object with 'route' and 'kind'")
    unknown = sorted(set(spec) - {"route", "kind", "count", "seconds", "status"})
    if unknown:
        raise FaultSpecError(
            f"unknown fault field {unknown[0]!r}; valid: count, kind, route, seconds, status"
        )
    route = spec.get("route")
    if not isinstance(route, str) or not route or len(route) > 200:
        raise FaultSpecError("'route' must be a route name or a regular expression over names")
    try:
        re.compile(route)
    except re.error as exc:
        raise FaultSpecError(f"'route' {route!r} is not a regular expression: {exc}") from None
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise FaultSpecError(f"'count' must be a whole number from 1 to {MAX_COUNT}, got {count!r}")
    seconds = _number(spec, "seconds", 1.0, 0.0, MAX_SECONDS)
    status = spec.get("status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
        raise FaultSpecError(f"'status' must be an HTTP 5xx code, got {status!r}")
    with org.store.transaction() as db:
        cursor = db.execute(
            "INSERT INTO faults (route, kind, remaining, seconds, status) VALUES (?, ?, ?, ?, ?)",
            (route, kind, count, seconds, status),
        )
        row = db.execute("SELECT * FROM faults WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return _fault(row)


def list_faults(org: Org) -> list[Fault]:
    rows = org.store.connection().execute("SELECT * FROM faults ORDER BY id").fetchall()
    return [_fault(row) for row in rows]


def clear_faults(org: Org) -> int:
    with org.store.transaction() as db:
        return db.execute("DELETE FROM faults").rowcount


def _matches(pattern: str, route_name: str) -> bool:
    if pattern == route_name:
        return True
    try:
        return re.fullmatch(pattern, route_name) is not None
    except re.error:
        return False


def _take(org: Org, route_name: str) -> Fault | None:
    """Consume one call of the oldest fault matching ``route_name``; the conditional update
    makes two threads racing for the last call get one fault between them."""
    candidates = (
        org.store.connection()
        .execute("SELECT id, route FROM faults WHERE remaining > 0 ORDER BY id")
        .fetchall()
    )
    for candidate in candidates:
        if not _matches(candidate["route"], route_name):
            continue
        with org.store.transaction() as db:
            taken = db.execute(
                "UPDATE faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0",
                (candidate["id"],),
            ).rowcount
            if not taken:
                continue
            row = db.execute("SELECT * FROM faults WHERE id = ?", (candidate["id"],)).fetchone()
            db.execute("DELETE FROM faults WHERE id = ? AND remaining <= 0", (candidate["id"],))
        return _fault(row)
    return None


def _refusal(route_name: str, code: str, message: str, status: int) -> Response:
    """Salesforce's error shape for the route: a SOAP fault (always HTTP 500 unless a 5xx was
    asked for) or the REST JSON error list."""
    if route_name.startswith("soap"):
        answer = fault_response(SoapFault(code, message))
        return answer if status < 500 else replace(answer, status=status)
    return Response.json([{"errorCode": code, "message": message}], status)


def over_daily_limit(org: Org) -> bool:
    used, allowance = identity.api_usage(org)
    return used > allowance


def apply(org: Org, route_name: str, request: Request) -> Response | None:
    """The answer that replaces the route's own (None: let the route answer). Latency sleeps
    and then lets it answer; ``drop`` closes the connection without a word."""
    if request.path.startswith(identity.CONTROL_PREFIX):
        return None
    if route_name not in identity.UNCOUNTED_ROUTES and over_daily_limit(org):
        return _refusal(route_name, "REQUEST_LIMIT_EXCEEDED", LIMIT_MESSAGE, 403)
    fault = _take(org, route_name)
    if fault is None:
        return None
    if fault.kind == "latency":
        time.sleep(fault.seconds)
        return None
    if fault.kind == "drop":
        raise DropConnection
    if fault.kind == "REQUEST_LIMIT_EXCEEDED":
        return _refusal(route_name, "REQUEST_LIMIT_EXCEEDED", CONCURRENT_MESSAGE, 403)
    if fault.kind == "UNABLE_TO_LOCK_ROW":
        return _refusal(route_name, "UNABLE_TO_LOCK_ROW", LOCK_MESSAGE, 400)
    if fault.status == 503:
        return _refusal(
            route_name,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable. Please try again later.",
            503,
        )
    return _refusal(
        route_name,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "local-fault",
        fault.status,
    )


# ---------------------------------------------------------------- control endpoints


def _bad_request(message: str) -> Response:
    return Response.json([{"errorCode": "INVALID_FIELD", "message": message}], 400)


def _post(request: Request, org: Org) -> Response:
    try:
        fault = add_fault(org, request.json())
    except (UnicodeDecodeError, ValueError) as exc:  # FaultSpecError and JSON errors
        return _bad_request(str(exc))
    return Response.json(fault.to_json(), 201)


def _get(request: Request, org: Org) -> Response:
    return Response.json([fault.to_json() for fault in list_faults(org)])


def _delete(request: Request, org: Org) -> Response:
    clear_faults(org)
    return Response(204, content_type="application/json;charset=UTF-8")


def prepare(org: Org) -> None:
    """Nothing to make: the table comes with the store."""


def register(router: Router) -> None:
    router.add("POST", r"/_sftk/faults/?", _post, name="control.faults.add")
    router.add("GET", r"/_sftk/faults/?", _get, name="control.faults.list")
    router.add("DELETE", r"/_sftk/faults/?", _delete, name="control.faults.clear")
