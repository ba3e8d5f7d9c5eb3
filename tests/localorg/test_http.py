"""Request framing: chunked bodies as undici (sf) and jsforce send them, and bodies that cannot be
read cleanly refused with the connection closed, so nothing left of them becomes a request."""

from __future__ import annotations

import io
import json
import socket
import ssl
from http.client import parse_headers
from typing import TYPE_CHECKING

import pytest

from toolkit.localorg.http import BodyRefused, read_body

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py


def framed(head: str, body: bytes, limit: int = 1000) -> bytes:
    stream = io.BytesIO(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return read_body(parse_headers(stream), stream, limit)


def test_chunked_bodies_are_read_with_extensions_and_trailers() -> None:
    body = b"5;name=value\r\nId,Na\r\n4\r\nme\r\n\r\n0\r\nX-Checksum: 1\r\n\r\n"
    assert framed("Transfer-Encoding: chunked\n", body) == b"Id,Name\r\n"
    assert framed("Transfer-Encoding: Chunked\n", b"A\r\n0123456789\r\n0\r\n\r\n") == (
        b"0123456789"
    )
    assert framed("Content-Length: 3\n", b"abcdef") == b"abc"
    assert framed("", b"") == b""


@pytest.mark.parametrize(
    ("head", "body", "status", "words"),
    [
        ("Transfer-Encoding: chunked\n", b"zz\r\nab\r\n0\r\n\r\n", 400, "not a chunk size"),
        ("Transfer-Encoding: chunked\n", b"\r\n", 400, "not a chunk size"),
        ("Transfer-Encoding: chunked\n", b"5\r\nabc", 400, "inside a chunk"),
        ("Transfer-Encoding: chunked\n", b"2\r\nabc\r\n0\r\n\r\n", 400, "longer than its size"),
        ("Transfer-Encoding: chunked\n", b"3\r\nabc\r\n", 400, "inside a chunk-size line"),
        ("Transfer-Encoding: chunked\n", b"7d0\r\n" + b"x" * 2000, 413, "over the 1000"),
        ("Transfer-Encoding: chunked\n", b"1" * 5000 + b"\r\n", 400, "longer than 4096"),
        ("Transfer-Encoding: gzip\n", b"", 501, "not supported"),
        ("Transfer-Encoding: gzip, chunked\n", b"", 501, "not supported"),
        ("Transfer-Encoding: chunked\nContent-Length: 3\n", b"", 400, "both"),
        ("Content-Length: 3\nContent-Length: 4\n", b"abcd", 400, "more than one"),
        ("Content-Length: -1\n", b"", 400, "not a number"),
        ("Content-Length: 2000\n", b"", 413, "over the 1000"),
        ("Content-Length: 9\n", b"abc", 400, "ended before"),
    ],
)
def test_bodies_that_cannot_be_read_cleanly_are_refused(
    head: str, body: bytes, status: int, words: str
) -> None:
    with pytest.raises(BodyRefused) as refused:
        framed(head, body)
    assert refused.value.status == status and words in refused.value.message


def _connect(http: OrgHttp) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=http.org.ca_bundle)
    port = int(http.org.instance_url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def _answers(connection: ssl.SSLSocket) -> list[tuple[int, bytes]]:
    """Every response the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    answers = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(
            parse_headers(io.BytesIO(head.partition(b"\r\n")[2] + b"\r\n\r\n"))["Content-Length"]
        )
        answers.append((status, rest[:length]))
        received = rest[length:]
    return answers


def _request(http: OrgHttp, method: str, path: str, extra: str = "", body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {http.org.access_token}\r\n{extra}\r\n"
    ).encode() + body


def test_a_chunked_upload_then_another_request_on_the_same_connection(http: OrgHttp) -> None:
    record = json.dumps({"Name": "Chunked Campus"}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (record[:7], record[7:]))
    with _connect(http) as connection:
        connection.sendall(
            _request(
                http,
                "POST",
                "/services/data/v63.0/sobjects/Account",
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                chunked + b"0\r\n\r\n",
            )
            + _request(
                http,
                "GET",
                "/services/data/v63.0/query?q=SELECT+Name+FROM+Account+WHERE+Name='Chunked+Campus'",
                "Connection: close\r\n",
            )
        )
        (created, made), (queried, found) = _answers(connection)
    assert created == 201 and json.loads(made)["success"] is True
    assert queried == 200 and json.loads(found)["totalSize"] == 1


def test_a_broken_chunked_body_is_refused_and_the_connection_closed(http: OrgHttp) -> None:
    """What follows a bad chunk is never read as a request: here, a delete that must not run."""
    sf = http.salesforce()
    account = sf.Account.create({"Name": "Survivor"})["id"]
    with _connect(http) as connection:
        connection.sendall(
            _request(
                http,
                "POST",
                "/services/data/v63.0/sobjects/Account",
                "Transfer-Encoding: chunked\r\n",
                b"4\r\nabcdefgh\r\n0\r\n\r\n",
            )
            + _request(http, "DELETE", f"/services/data/v63.0/sobjects/Account/{account}")
        )
        answers = _answers(connection)
    assert [status for status, _ in answers] == [400]
    assert json.loads(answers[0][1])[0]["errorCode"] == "BAD_REQUEST"
    assert sf.Account.get(account)["Name"] == "Survivor"
