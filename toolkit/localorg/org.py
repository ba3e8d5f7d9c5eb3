"""The local org itself: state, routes, and the running servers.

``Org`` answers requests (``dispatch``); ``start`` puts it on loopback over HTTPS (and plain
HTTP when asked), writes ``connection.json`` for clients, and returns a handle to stop it.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import sqlite3
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import ConfigError, UsageError
from toolkit.localorg import (
    apex,
    bulk,
    composite,
    control,
    faults,
    identity,
    metadata_api,
    query,
    rest_data,
    system_records,
    tooling,
)
from toolkit.localorg.certs import ensure_certificate
from toolkit.localorg.facts import OrgFacts, load_facts, update_facts
from toolkit.localorg.http import Listener, Request, Response, Router, listen
from toolkit.localorg.store import Store

CONNECTION_FILE = "connection.json"
DATABASE_FILE = "org.sqlite3"
DEFAULT_HOST = "127.0.0.1"
_log = logging.getLogger(__name__)

ROUTE_MODULES = (
    identity,
    control,
    faults,
    metadata_api,
    apex,
    tooling,
    rest_data,
    query,
    bulk,
    composite,
    system_records,
)


class Org:
    """Everything the org knows and how it answers; shared by all server threads."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir = state_dir.resolve()
        database = self.state_dir / DATABASE_FILE
        # SQLite gives the -wal and -shm files the database's own mode, so it is made first.
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        self.store = Store(database)
        make_private(self.state_dir)
        self.router = Router()
        self.instance_url = ""
        for module in ROUTE_MODULES:
            module.register(self.router)
        for module in ROUTE_MODULES:
            module.prepare(self)

    @property
    def facts(self) -> OrgFacts:
        return load_facts(self.store)

    def dispatch(self, request: Request) -> Response:
        """Route, authenticate, count, answer; any bug becomes a Salesforce-style 500."""
        found = self.router.match(request.method, request.path)
        if found is None:
            if self.router.allows(request.path):
                return Response.json(
                    [
                        {
                            "errorCode": "METHOD_NOT_ALLOWED",
                            "message": f"HTTP Method '{request.method}' not allowed.",
                        }
                    ],
                    405,
                )
            return Response.json(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                404,
            )
        route, params = found
        unsupported = identity.unsupported_version(self, route.name, params)
        if unsupported is not None:
            return unsupported
        if route.authenticated and not identity.bearer_is_valid(self, request):
            return Response.json(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
            )
        request = Request(
            request.method, request.path, request.query, request.headers, request.body, params
        )
        injected = faults.apply(self, route.name, request)
        if injected is not None:
            return injected
        try:
            response = route.handler(request, self)
        except Exception:
            _log.exception("local org: %s %s failed", request.method, request.path)
            return Response.json(
                [
                    {
                        "errorCode": "UNKNOWN_EXCEPTION",
                        "message": "An unexpected error occurred in the local org.",
                    }
                ],
                500,
            )
        if route.authenticated and request.path.startswith("/services/data/"):
            return identity.with_limit_info(self, response)
        return response

    def today(self) -> str:
        return dt.datetime.now(dt.UTC).date().isoformat()


def make_private(state_dir: Path) -> None:
    """Only the owner may enter the state folder or read anything in it: it holds the org's
    never-expiring default token, its signing key and its TLS key. Folders an older version
    left readable are tightened too."""
    for folder, _, files in os.walk(state_dir):
        os.chmod(folder, 0o700)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                os.chmod(path, 0o600)


@dataclass
class RunningOrg:
    """A started org: its URLs and credentials (as written to connection.json), and stop()."""

    org: Org
    listeners: list[Listener]
    connection: dict[str, str]

    @property
    def instance_url(self) -> str:
        return self.connection["instance_url"]

    @property
    def access_token(self) -> str:
        return self.connection["access_token"]

    @property
    def ca_bundle(self) -> str:
        return self.connection["ca_bundle"]

    def stop(self) -> None:
        for listener in self.listeners:
            listener.stop()


def start(
    state_dir: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    http_port: int | None = None,
    facts: Mapping[str, object] | None = None,
) -> RunningOrg:
    """Serve the org in background threads of this process until ``stop()``. ``facts``
    (as ``PATCH /_sftk/org`` takes them) are set before the first request is answered, so
    every client sees the org as the kind it stands in for."""
    try:
        org = Org(state_dir)
        if facts:
            update_facts(org.store, dict(facts))
            system_records.sync(org)
        tls = ensure_certificate(org.state_dir / "tls")
    except (OSError, sqlite3.Error) as exc:
        raise _unusable_state(state_dir, exc) from None
    listeners = [_listen(org, host, port, tls.server_context())]
    if http_port is not None:
        try:
            listeners.append(_listen(org, host, http_port, None))
        except UsageError:
            listeners[0].stop()
            raise
    shown_host = "localhost" if host in ("127.0.0.1", "localhost") else host
    org.instance_url = f"https://{shown_host}:{listeners[0].port}"
    known = org.facts
    connection = {
        "instance_url": org.instance_url,
        "access_token": identity.default_token(org),
        "ca_bundle": str(tls.cert),
        "org_id": known.org_id,
        "username": known.username,
    }
    if http_port is not None:
        connection["http_url"] = f"http://{shown_host}:{listeners[1].port}"
    path = org.state_dir / CONNECTION_FILE
    temp = path.with_suffix(".tmp")
    try:
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(connection, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temp, path)
        make_private(org.state_dir)  # the TLS folder is new on a first start
    except OSError as exc:
        for listener in listeners:
            listener.stop()
        raise _unusable_state(state_dir, exc) from None
    return RunningOrg(org, listeners, connection)


def _unusable_state(state_dir: Path, exc: OSError | sqlite3.Error) -> ConfigError:
    """The state folder or database cannot be used: said with the file and what to do."""
    database = state_dir / DATABASE_FILE
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return ConfigError(
            f"{database}: not a local org database ({exc})",
            hint="move the file away, and the local org starts empty next time (deploy the "
            "project to it again)",
        )
    where = getattr(exc, "filename", None) or database
    reason = exc.strerror if isinstance(exc, OSError) else str(exc)
    return ConfigError(
        f"{state_dir}: the local org's state cannot be used ({reason}: {where})",
        hint="make the folder and its files writable (and free disk space), then run the "
        "command again",
    )


def _listen(org: Org, host: str, port: int, tls: ssl.SSLContext | None) -> Listener:
    try:
        return listen(org, host, port, tls)
    except OSError as exc:
        hint = "choose another port (0 takes any free one)"
        if exc.errno == errno.EADDRNOTAVAIL:
            hint = "bind an address of this machine, such as 127.0.0.1"
        elif exc.errno == errno.EACCES:
            hint = "ports below 1024 need privileges: choose a higher one (--port 0: any)"
        raise UsageError(
            f"the local org cannot listen on {host}:{port} ({exc.strerror})", hint=hint
        ) from None
