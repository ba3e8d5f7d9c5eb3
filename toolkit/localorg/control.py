"""The local org's own control endpoints under ``/_sftk/``: what a real org configures in Setup
(edition, sandbox flag, the user and their permissions, passwords, connected apps), reachable
with the org's token so tests and users can reproduce any org a tool may meet.

None of these count as API calls or can be faulted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from toolkit.errors import ConfigError
from toolkit.localorg import identity, system_records
from toolkit.localorg.facts import update_facts
from toolkit.localorg.http import Request, Response, Router

if TYPE_CHECKING:
    from toolkit.localorg.org import Org


class _BadRequest(Exception):
    pass


def _bad_request(message: str) -> Response:
    return Response.json([{"errorCode": "INVALID_FIELD", "message": message}], 400)


def _object(request: Request) -> dict[str, Any]:
    try:
        value = request.json()
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _BadRequest("the body must be a JSON object")
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _BadRequest(f"'{name}' must be a string")
    return value


def _get_org(request: Request, org: Org) -> Response:
    return Response.json(org.facts.to_json())


def _patch_org(request: Request, org: Org) -> Response:
    try:
        facts = update_facts(org.store, _object(request))
    except (_BadRequest, ValueError) as exc:
        return _bad_request(str(exc))
    system_records.sync(org)
    return Response.json(facts.to_json())


def _set_credentials(request: Request, org: Org) -> Response:
    try:
        body = _object(request)
        password = _optional_text(body, "password")
        identity.set_credentials(org, password or "", _optional_text(body, "security_token") or "")
    except _BadRequest as exc:
        return _bad_request(str(exc))
    except ConfigError as exc:
        return _bad_request(exc.message)
    return Response(204)


def _list_apps(request: Request, org: Org) -> Response:
    return Response.json([app.to_json() for app in identity.connected_apps(org)])


def _add_app(request: Request, org: Org) -> Response:
    try:
        body = _object(request)
        app = identity.register_app(
            org,
            _optional_text(body, "consumer_key") or "",
            certificate=_optional_text(body, "certificate"),
            consumer_secret=_optional_text(body, "consumer_secret"),
            name=_optional_text(body, "name"),
        )
    except _BadRequest as exc:
        return _bad_request(str(exc))
    except ConfigError as exc:
        return _bad_request(exc.message)
    return Response.json(app.to_json(), 201)


def _remove_app(request: Request, org: Org) -> Response:
    if identity.remove_app(org, unquote(request.params["key"])):
        return Response(204)
    return identity.not_found()


def _refresh_token(request: Request, org: Org) -> Response:
    """Stands in for a user approving an app in the web-server flow: a refresh token for it."""
    try:
        body = _object(request) if request.body.strip() else {}
        client_id = _optional_text(body, "client_id") or identity.DEFAULT_CLIENT_ID
        token = identity.issue_refresh_token(org, client_id)
    except _BadRequest as exc:
        return _bad_request(str(exc))
    except ConfigError as exc:
        return _bad_request(exc.message)
    return Response.json({"client_id": client_id, "refresh_token": token}, 201)


def _routes(request: Request, org: Org) -> Response:
    return Response.json(
        [
            {
                "authenticated": route.authenticated,
                "method": route.method,
                "name": route.name,
                "path": route.pattern.pattern.removesuffix(r"\Z"),
            }
            for route in org.router.routes
        ]
    )


def prepare(org: Org) -> None:
    """Nothing to make: control state lives with the modules it configures."""


def register(router: Router) -> None:
    router.add("GET", r"/_sftk/org/?", _get_org, name="control.org.get")
    router.add("PATCH", r"/_sftk/org/?", _patch_org, name="control.org.update")
    router.add("POST", r"/_sftk/credentials/?", _set_credentials, name="control.credentials")
    router.add("GET", r"/_sftk/connected-apps/?", _list_apps, name="control.apps.list")
    router.add("POST", r"/_sftk/connected-apps/?", _add_app, name="control.apps.add")
    router.add(
        "DELETE", r"/_sftk/connected-apps/(?P<key>[^/]+)", _remove_app, name="control.apps.remove"
    )
    router.add("POST", r"/_sftk/refresh-tokens/?", _refresh_token, name="control.refresh_token")
    router.add("GET", r"/_sftk/routes/?", _routes, name="control.routes")
