"""The HTTP(S) plumbing of the local org: requests in, responses out, routed by path.

Handlers are plain functions ``(Request, Org) -> Response`` registered on a ``Router`` with a
method and a path pattern; the server does threading, TLS, size limits and error containment,
so a handler never has to think about sockets and a bad request never takes the server down.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

MAX_BODY = 200 * 1024 * 1024  # a 39 MB zip is ~52 MB in base64 inside SOAP; leave room
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)  # named groups of the route

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def query_value(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass(frozen=True)
class Response:
    """An answer; ``stream``, when given, replaces ``body`` and goes out chunked, so a large
    download (bulk results) is produced piece by piece instead of held in memory."""

    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: tuple[tuple[str, str], ...] = ()
    stream: Iterable[bytes] | None = None

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
    ) -> Response:
        body = json.dumps(data, indent=None, separators=(",", ":")).encode("utf-8")
        return cls(status, body, "application/json;charset=UTF-8", headers)

    @classmethod
    def xml(cls, body: bytes, status: int = 200) -> Response:
        return cls(status, body, "text/xml;charset=UTF-8")


class DropConnection(Exception):
    """Raised by fault injection: close the socket without answering."""


Handler = Callable[[Request, "Org"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    authenticated: bool


class Router:
    """Method + regular-expression routes; the first match wins, named groups become params."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, pattern: str, handler: Handler, *, name: str, authenticated: bool = True
    ) -> None:
        self.routes.append(Route(method, re.compile(pattern + r"\Z"), handler, name, authenticated))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, found.groupdict()
        return None

    def allows(self, path: str) -> bool:
        return any(route.pattern.match(path) for route in self.routes)


def make_handler_class(org: Org) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes
        server_version = "sftk-localorg"

        def log_message(self, format: str, *args: Any) -> None:
            _log.debug("%s " + format, self.address_string(), *args)

        def _serve(self) -> None:
            try:
                request = self._read_request()
            except ValueError as exc:
                self._send(Response.json([{"errorCode": "BAD_REQUEST", "message": str(exc)}], 400))
                return
            try:
                response = org.dispatch(request)
            except DropConnection:
                self.close_connection = True
                self.connection.close()
                return
            self._send(response)

        def _read_request(self) -> Request:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY:
                raise ValueError(f"request body of {length} bytes is over the {MAX_BODY} limit")
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            return Request(self.command, parts.path, parse_qs(parts.query), headers, body)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            if response.stream is None:
                self.send_header("Content-Length", str(len(response.body)))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return
            if response.stream is None:
                self.wfile.write(response.body)
                return
            try:
                for piece in response.stream:
                    if piece:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            except Exception:
                _log.exception("local org: streaming %s failed", self.path)
                self.close_connection = True  # no closing chunk: the client sees a cut answer
                return
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished or spoke nonsense is its own problem, not the server's."""
        _log.debug("connection from %s failed", client_address, exc_info=True)


class _TlsServer(_Server):
    """TLS with the handshake done on the connection's own thread, so a silent client cannot
    stall the accept loop."""

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext
    ) -> None:
        self.tls = tls
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        wrapped = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(30)
        request.do_handshake()
        request.settimeout(None)
        super().finish_request(request, client_address)


@dataclass
class Listener:
    """One listening socket (HTTPS or plain HTTP) served on a background thread."""

    server: _Server
    thread: threading.Thread
    scheme: str

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def listen(org: Org, host: str, port: int, tls: ssl.SSLContext | None) -> Listener:
    handler = make_handler_class(org)
    server = (
        _Server((host, port), handler) if tls is None else _TlsServer((host, port), handler, tls)
    )
    thread = threading.Thread(
        target=server.serve_forever, name=f"localorg-{'https' if tls else 'http'}", daemon=True
    )
    thread.start()
    return Listener(server, thread, "https" if tls else "http")
