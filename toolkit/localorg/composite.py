"""The REST Composite resource: up to 25 subrequests in one call, answered by the org's own
routes in order, later ones reading earlier answers through ``@{referenceId.path}`` references.

Every subrequest runs on the calling thread inside one store transaction (``Store.tentative``),
so allOrNone can undo all of them at the end. Subrequests are neither authenticated nor
counted again: the composite call was, once, as Salesforce counts a composite as one call.
Faults aim at the composite route itself, not at its subrequests, because a fault consumed
inside a transaction that is rolled back would come back.

Subrequests reach the REST data resources (sObjects, collections, query, limits, Tooling
query). Metadata deploys and Bulk API jobs are worked on by other threads, which cannot see the
request's uncommitted writes, and a composite does not nest, so inside a composite those answer
NOT_FOUND.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from toolkit.localorg import identity
from toolkit.localorg.http import Request, Response, Router

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

BASE = r"/services/data/v(?P<version>\d+\.\d)"
DATA_PREFIX = "/services/data/v"
MAX_SUBREQUESTS = 25
ROLLED_BACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)
_STRICT_REFERENCE_IDS_SINCE = 52  # before 52.0 a bad referenceId only breaks references to it
_NULL_REFERENCES_SINCE = 52  # before 52.0 a reference to a null field fails
_RUNNABLE = ("rest.", "tooling.")
_NOT_RUNNABLE = ("rest.composite", "rest.metadata.")
_INHERITED_ONLY = frozenset({"accept", "authorization", "content-type", "content-length"})
_HIDDEN_HEADERS = frozenset({"sforce-limit-info"})
_LOCATION_ROUTES = frozenset({"rest.sobjects.create", "rest.sobjects.upsert"})
_REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"@\{([^{}]*)\}")
_NAME_END = re.compile(r"[.\[]")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_log = logging.getLogger(__name__)


class _Refused(Exception):
    """The whole composite request is malformed: HTTP 400 before any subrequest runs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _BadReference(Exception):
    """A reference without a value: the referenced subrequest is unknown, has not run yet,
    failed, or its answer has nothing at that path."""

    def __init__(self, expression: str, reference_id: str) -> None:
        self.message = (
            f"Invalid reference specified. No value for {expression} found in {reference_id}. "
            f"Provided referenceId ('{expression}') must start with a letter or a number, and it "
            "can contain only letters, numbers and underscores ('_')."
        )
        super().__init__(self.message)


@dataclass(frozen=True)
class _Subrequest:
    method: str
    url: str
    reference_id: str
    body: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def failed(self) -> bool:
        return self.status >= 400

    @property
    def spoils_all_or_none(self) -> bool:
        """A failure, or a collection answer with a failed row: under an allOrNone composite
        either one rolls back everything."""
        if self.failed:
            return True
        rows = self.body if isinstance(self.body, list) else []
        return any(isinstance(row, dict) and row.get("success") is False for row in rows)

    def entry(self, reference_id: str | None) -> dict[str, Any]:
        return {
            "body": self.body,
            "httpHeaders": dict(self.headers),
            "httpStatusCode": self.status,
            "referenceId": reference_id,
        }


def _halted(message: str) -> _Answer:
    return _Answer(400, [{"errorCode": "PROCESSING_HALTED", "message": message}], {})


def _error(status: int, code: str, message: str) -> _Answer:
    return _Answer(status, [{"errorCode": code, "message": message}], {})


# --- references ----------------------------------------------------------------------------------


class _References:
    """The answers so far by referenceId, and the substitution of ``@{...}`` references."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.answers: dict[str, _Answer] = {}

    def value(self, expression: str) -> Any:
        reference_id = _NAME_END.split(expression, maxsplit=1)[0]
        answer = self.answers.get(reference_id)
        if answer is None or answer.failed:
            raise _BadReference(expression, reference_id)
        current = answer.body
        position = len(reference_id)
        if position == len(expression):
            raise _BadReference(expression, reference_id)
        while position < len(expression):
            step = _STEP.match(expression, position)
            if step is None:
                raise _BadReference(expression, reference_id)
            key, index = step.groups()
            if key is not None and isinstance(current, dict) and key in current:
                current = current[key]
            elif index is not None and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                raise _BadReference(expression, reference_id)
            position = step.end()
        if isinstance(current, (dict, list)):
            raise _BadReference(expression, reference_id)
        if current is None and self.version < _NULL_REFERENCES_SINCE:
            raise _BadReference(expression, reference_id)
        return current

    def _text(self, expression: str) -> str:
        value = self.value(expression)
        return value if isinstance(value, str) else json.dumps(value)

    def in_url(self, url: str) -> str:
        """References inside a URL, percent-encoded as the URL needs them."""
        return _REFERENCE.sub(lambda m: quote(self._text(m.group(1)), safe=""), url)

    def in_body(self, value: Any) -> Any:
        """References anywhere in a body; a string that is one reference takes the referenced
        value with its JSON type, a reference inside longer text is spliced in as text."""
        if isinstance(value, dict):
            return {key: self.in_body(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.in_body(item) for item in value]
        if not isinstance(value, str):
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole is not None:
            return self.value(whole.group(1))
        return _REFERENCE.sub(lambda m: self._text(m.group(1)), value)


# --- the request ---------------------------------------------------------------------------------


def _required_string(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if value is None:
        raise _Refused("JSON_PARSER_ERROR", f"'{name}' is a required field.")
    if not isinstance(value, str):
        raise _Refused("JSON_PARSER_ERROR", f"'{name}' must be a string.")
    return value


def _headers(item: Mapping[str, Any]) -> dict[str, str]:
    given = item.get("httpHeaders")
    if given is None:
        return {}
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise _Refused("JSON_PARSER_ERROR", "'httpHeaders' must map header names to strings.")
    return {str(k).lower(): v for k, v in given.items() if str(k).lower() not in _INHERITED_ONLY}


def _subrequest(item: Any, version: int) -> _Subrequest:
    if not isinstance(item, dict):
        raise _Refused("JSON_PARSER_ERROR", "Each composite subrequest must be a JSON object.")
    reference_id = _required_string(item, "referenceId")
    if version >= _STRICT_REFERENCE_IDS_SINCE and not _REFERENCE_ID.fullmatch(reference_id):
        raise _Refused(
            "JSON_PARSER_ERROR",
            f"Provided referenceId ('{reference_id}') must start with a letter or a number, and "
            "it can contain only letters, numbers and underscores ('_').",
        )
    return _Subrequest(
        _required_string(item, "method"),
        _required_string(item, "url"),
        reference_id,
        item.get("body"),
        _headers(item),
    )


def _read(request: Request, version: int) -> tuple[list[_Subrequest], bool] | Response:
    """The subrequests and allOrNone, or the answer to too many subrequests (which a real org
    words as a subrequest result); a malformed body raises ``_Refused``."""
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Refused("JSON_PARSER_ERROR", f"The request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _Refused("JSON_PARSER_ERROR", "The request body must be a JSON object.")
    items = body.get("compositeRequest")
    if items is None:
        raise _Refused("JSON_PARSER_ERROR", "'compositeRequest' is a required field.")
    if not isinstance(items, list):
        raise _Refused("JSON_PARSER_ERROR", "'compositeRequest' must be a list of subrequests.")
    if len(items) > MAX_SUBREQUESTS:
        over = _error(
            400,
            "LIMIT_EXCEEDED",
            f"The request can\u2019t contain more than {MAX_SUBREQUESTS} operations.",  # as sent
        )
        return Response.json({"compositeResponse": [over.entry(None)]}, 400)
    subrequests = [_subrequest(item, version) for item in items]
    seen: set[str] = set()
    for sub in subrequests:
        if sub.reference_id in seen:
            raise _Refused("INVALID_INPUT", "Duplicate ReferenceId provided in the request.")
        seen.add(sub.reference_id)
    return subrequests, body.get("allOrNone") is True


# --- running subrequests -------------------------------------------------------------------------


def _runnable(route_name: str) -> bool:
    return route_name.startswith(_RUNNABLE) and not route_name.startswith(_NOT_RUNNABLE)


def _answer_of(response: Response, location: str | None) -> _Answer:
    raw = response.body if response.stream is None else b"".join(response.stream)
    body: Any = None
    if raw:
        text = raw.decode("utf-8", errors="replace")
        body = json.loads(text) if response.content_type.startswith("application/json") else text
    headers = {k: v for k, v in response.headers if k.lower() not in _HIDDEN_HEADERS}
    if location is not None and response.status == 201 and isinstance(body, dict) and "id" in body:
        headers["Location"] = f"{location}/{body['id']}"
    return _Answer(response.status, body, headers)


def _dispatch(org: Org, outer: Request, sub: _Subrequest, url: str, body: Any) -> _Answer:
    """One subrequest through the org's router, as ``Org.dispatch`` routes a call."""
    parts = urlsplit(url)
    found = org.router.match(sub.method, parts.path) if parts.path.startswith(DATA_PREFIX) else None
    if found is None and parts.path.startswith(DATA_PREFIX) and org.router.allows(parts.path):
        return _error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{sub.method}' not allowed.")
    if found is None or not _runnable(found[0].name):
        return _error(404, "NOT_FOUND", "The requested resource does not exist")
    route, params = found
    unsupported = identity.unsupported_version(org, route.name, params)
    if unsupported is not None:
        return _answer_of(unsupported, None)
    inherited = {k: v for k, v in outer.headers.items() if k != "content-length"}
    payload = b"" if body is None else json.dumps(body).encode("utf-8")
    request = Request(
        sub.method, parts.path, parse_qs(parts.query), {**inherited, **sub.headers}, payload, params
    )
    try:
        response = route.handler(request, org)
    except Exception:
        _log.exception("local org: composite subrequest %s %s failed", sub.method, parts.path)
        return _error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the local org.")
    location = None
    if route.name in _LOCATION_ROUTES:
        location = f"/services/data/v{params['version']}/sobjects/{params['object']}"
    return _answer_of(response, location)


def _answer(org: Org, outer: Request, sub: _Subrequest, references: _References) -> _Answer:
    try:
        url = references.in_url(sub.url)
        body = references.in_body(sub.body)
    except _BadReference as bad:
        return _halted(bad.message)
    return _dispatch(org, outer, sub, url, body)


def _run(
    org: Org, outer: Request, subrequests: list[_Subrequest], all_or_none: bool, version: int
) -> list[dict[str, Any]]:
    references = _References(version)
    answers: list[_Answer] = []
    failure: int | None = None
    with org.store.tentative() as work:
        for index, sub in enumerate(subrequests):
            if failure is not None:
                answers.append(_halted(ROLLED_BACK))
                continue
            answer = _answer(org, outer, sub, references)
            references.answers[sub.reference_id] = answer
            answers.append(answer)
            if all_or_none and answer.spoils_all_or_none:
                failure = index
        if failure is not None:
            work.discard()
    return [
        (answer if failure is None or index == failure else _halted(ROLLED_BACK)).entry(
            sub.reference_id
        )
        for index, (sub, answer) in enumerate(zip(subrequests, answers, strict=True))
    ]


def _composite(request: Request, org: Org) -> Response:
    version = int(request.params["version"].split(".")[0])
    try:
        read = _read(request, version)
    except _Refused as refused:
        return Response.json([{"message": refused.message, "errorCode": refused.code}], 400)
    if isinstance(read, Response):
        return read
    subrequests, all_or_none = read
    return Response.json(
        {"compositeResponse": _run(org, request, subrequests, all_or_none, version)}
    )


def register(router: Router) -> None:
    router.add("POST", BASE + r"/composite/?", _composite, name="rest.composite")


def prepare(org: Org) -> None:
    """Nothing to make: a composite request keeps no state of its own."""
