"""The HTTP(S) plumbing of the local org: requests in, responses out, routed by path.

Handlers are plain functions ``(Request, Org) -> Response`` registered on a ``Router`` with a
method and a path pattern; the server does threading, TLS, size limits and error containment,
so a handler never has to think about sockets and a bad request never takes the server down.
"""

from __future__ import annotations

import io
import json
import logging
import re
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
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


class BodyRefused(Exception):
    """A request body the server cannot read cleanly: answered with ``status``, and the
    connection closed, since whatever is left of the body would be read as the next request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_MAX_LINE = 4096  # a chunk-size line (with extensions) or a trailer line
_MAX_TRAILERS = 100


def _line(stream: io.BufferedIOBase, what: str) -> bytes:
    line = stream.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise BodyRefused(400, f"the {what} line is longer than {_MAX_LINE} bytes")
    if not line.endswith(b"\n"):
        raise BodyRefused(400, f"the request ended inside a {what} line")
    return line.rstrip(b"\r\n")


def read_chunked(stream: io.BufferedIOBase, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 §7.1), as undici and jsforce upload:
    chunks up to the zero-size one, then trailer lines (read and dropped) up to a blank line."""
    body = bytearray()
    while True:
        size_text = _line(stream, "chunk-size").partition(b";")[0].strip()
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            shown = size_text[:40].decode("ascii", "replace")
            raise BodyRefused(400, f"'{shown}' is not a chunk size (hexadecimal digits)")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyRefused(413, f"the chunked request body is over the {limit} byte limit")
        data = stream.read(size)
        if len(data) != size:
            raise BodyRefused(400, "the request ended inside a chunk")
        body += data
        if stream.read(2) != b"\r\n":
            raise BodyRefused(400, "a chunk is longer than its size says (no CRLF after it)")
    for _ in range(_MAX_TRAILERS):
        if not _line(stream, "trailer"):
            return bytes(body)
    raise BodyRefused(400, f"the chunked body has more than {_MAX_TRAILERS} trailer lines")


def read_body(headers: Message, stream: io.BufferedIOBase, limit: int = MAX_BODY) -> bytes:
    """The body a request's framing headers announce: chunked, a Content-Length, or none.

    Two framings at once (both headers, or two Content-Lengths) is how requests are smuggled
    past proxies, so it is refused (RFC 9112 §6.3), as is a transfer coding other than chunked,
    which this server does not decode."""
    encodings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if len(lengths) > 1:
        raise BodyRefused(400, "the request has more than one Content-Length")
    length = lengths[0] if lengths else None
    if encodings:
        if length is not None:
            raise BodyRefused(400, "the request has both Transfer-Encoding and Content-Length")
        encoding = ", ".join(encodings)
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise BodyRefused(501, f"Transfer-Encoding '{encoding}' is not supported; use chunked")
        return read_chunked(stream, limit)
    if length is None:
        return b""
    if not length.strip().isdigit():
        raise BodyRefused(400, f"Content-Length '{length[:40]}' is not a number of bytes")
    size = int(length)
    if size > limit:
        raise BodyRefused(413, f"request body of {size} bytes is over the {limit} limit")
    body = stream.read(size) if size else b""
    if len(body) != size:
        raise BodyRefused(400, "the request ended before its Content-Length")
    return body


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
            except BodyRefused as exc:
                self.close_connection = True
                answer = [{"errorCode": "BAD_REQUEST", "message": exc.message}]
                self._send(Response.json(answer, exc.status, headers=(("Connection", "close"),)))
                return
            try:
                response = org.dispatch(request)
            except DropConnection:
                self.close_connection = True
                self.connection.close()
                return
            self._send(response)

        def _read_request(self) -> Request:
            body = read_body(self.headers, self.rfile)
            headers = {k.lower(): v for k, v in self.headers.items()}
            parts = urlsplit(self.path)
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
