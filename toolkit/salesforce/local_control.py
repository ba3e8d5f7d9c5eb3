"""The control endpoints (``/_sftk/``) of sftk's local orgs, over a profile's connection: what a
real org learns by running Apex tests, a local org is told. Thin: one call per endpoint, the
org's refusals as ``OrgError`` with its error code and message."""

from __future__ import annotations

from typing import Any

import requests

from toolkit.errors import OrgError
from toolkit.salesforce.connection import OrgConnection

COVERAGE_PATH = "/_sftk/coverage"


def _call(conn: OrgConnection, method: str, path: str, body: Any = None) -> Any:
    try:
        answer = conn.session.request(
            method,
            conn.instance_url + path,
            json=body,
            headers={"Authorization": f"Bearer {conn.access_token}"},
            timeout=30,
        )
    except requests.RequestException as error:
        raise OrgError(
            f"{method} {path}: cannot reach the org ({type(error).__name__})", code="CONNECTION"
        ) from None
    if answer.status_code >= 300:
        try:
            first = answer.json()[0]
            code, message = str(first["errorCode"]), str(first["message"])
        except (ValueError, LookupError, TypeError):
            code, message = f"HTTP_{answer.status_code}", answer.text[:200]
        raise OrgError(f"{method} {path}: {code}: {message}", code=code, status=answer.status_code)
    return answer.json()


def coverage_profile(conn: OrgConnection) -> dict[str, Any]:
    found: dict[str, Any] = _call(conn, "GET", COVERAGE_PATH)
    return found


def set_coverage_profile(conn: OrgConnection, profile: dict[str, Any]) -> dict[str, Any]:
    """Replace the org's coverage profile; returns it as the org keeps it."""
    kept: dict[str, Any] = _call(conn, "PUT", COVERAGE_PATH, profile)
    return kept
