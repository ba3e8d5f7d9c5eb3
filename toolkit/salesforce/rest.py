"""REST reads (SOQL, Tooling SOQL, limits) through simple-salesforce, and ``calling``, which
turns its exceptions and transport failures into ``OrgError`` carrying Salesforce's code, for
every REST call sftk makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from simple_salesforce.exceptions import SalesforceError

from toolkit.errors import OrgError
from toolkit.salesforce.connection import OrgConnection

T = TypeVar("T")


def calling(what: str, call: Callable[[], T]) -> T:
    """``call()``, with a refusal named by Salesforce's error code (``UNABLE_TO_LOCK_ROW``,
    ``HTTP_503`` when the body has none) and a transport failure as ``CONNECTION`` or
    ``TIMEOUT``, so callers decide from ``salesforce.retry`` whether to try again."""
    try:
        return call()
    except SalesforceError as error:
        content: Any = error.content
        first = content[0] if isinstance(content, list) and content else {}
        code = str(first.get("errorCode", f"HTTP_{error.status}"))
        message = str(first.get("message", error))
        raise OrgError(f"{what}: {code}: {message}", code=code, status=error.status) from None
    except requests.Timeout:
        raise OrgError(f"{what}: the org did not answer in time", code="TIMEOUT") from None
    except requests.RequestException as error:  # reset, refused, an answer cut short
        raise OrgError(
            f"{what}: cannot reach the org ({type(error).__name__})", code="CONNECTION"
        ) from None


def query(conn: OrgConnection, soql: str) -> list[dict[str, Any]]:
    """Every row of a SOQL query (all pages)."""
    answer = calling(f"query {soql!r}", lambda: conn.rest().query_all(soql))
    return list(answer["records"])


def tooling_query(conn: OrgConnection, soql: str) -> list[dict[str, Any]]:
    answer = calling(
        f"Tooling query {soql!r}", lambda: conn.rest().toolingexecute(f"query/?q={quote(soql)}")
    )
    return list(answer.get("records", []))


def limits(conn: OrgConnection) -> dict[str, Any]:
    answer: dict[str, Any] = calling("read the org's limits", lambda: conn.rest().limits())
    return answer


def count(conn: OrgConnection, soql: str) -> int:
    """The total a ``SELECT COUNT() ...`` query answers."""
    answer = calling(f"query {soql!r}", lambda: conn.rest().query(soql))
    return int(answer["totalSize"])
