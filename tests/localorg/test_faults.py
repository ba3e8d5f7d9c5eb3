"""Faults on demand, each observed by a client over real HTTPS: simple-salesforce for REST, its
SOAP login for SOAP routes, plain requests where a client library would hide the detail."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from lxml import etree
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.login import SalesforceLogin

from toolkit.localorg.identity import DEFAULT_PASSWORD

if TYPE_CHECKING:
    from tests.localorg.conftest import OrgHttp

API_VERSION = "63.0"
LIMITS = f"/services/data/v{API_VERSION}/limits"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture(autouse=True)
def no_faults_left(http: OrgHttp) -> Iterator[None]:
    yield
    assert http.delete("/_sftk/faults").status_code == 204


def _inject(http: OrgHttp, **spec: Any) -> dict[str, Any]:
    answer = http.post("/_sftk/faults", json=spec)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _soap_login(http: OrgHttp) -> tuple[str, str]:
    result: tuple[str, str] = SalesforceLogin(
        username="admin@local.sftk",
        password=DEFAULT_PASSWORD,
        security_token="",
        session=http.session,
        scratch_url=http.org.instance_url,
        sf_version=API_VERSION,
    )
    return result


def _body(error: Exception) -> Any:
    """simple-salesforce keeps the parsed JSON error body on its exceptions."""
    return getattr(error, "content", None)


def _faultcode(answer: requests.Response) -> str:
    root = etree.fromstring(answer.content)
    return root.findtext(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/faultcode") or ""


def test_request_limit_exceeded_for_count_calls_then_normal(http: OrgHttp, sf: Any) -> None:
    _inject(http, route="rest.limits", kind="REQUEST_LIMIT_EXCEEDED", count=2)
    for _ in range(2):
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.limits()
        assert refused.value.status == 403
        assert _body(refused.value) == [
            {
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
                "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            }
        ]
    assert "DailyApiRequests" in sf.limits()
    assert http.get("/_sftk/faults").json() == []


def test_unable_to_lock_row(http: OrgHttp, sf: Any) -> None:
    _inject(http, route="rest.limits", kind="UNABLE_TO_LOCK_ROW")
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.limits()
    assert refused.value.status == 400
    assert _body(refused.value) == [
        {
            "errorCode": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access to this record",
        }
    ]
    sf.limits()


@pytest.mark.parametrize(
    ("status", "code"), [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION"), (502, None)]
)
def test_http_5xx(http: OrgHttp, sf: Any, status: int, code: str | None) -> None:
    _inject(http, route="rest.limits", kind="http_5xx", status=status)
    with pytest.raises(SalesforceGeneralError) as failed:
        sf.limits()
    assert failed.value.status == status
    assert _body(failed.value)[0]["errorCode"] == (code or "UNKNOWN_EXCEPTION")
    sf.limits()


def test_dropped_connection(http: OrgHttp, sf: Any) -> None:
    _inject(http, route="rest.limits", kind="drop")
    with pytest.raises(requests.ConnectionError):
        sf.limits()
    assert "DailyApiRequests" in sf.limits()


def test_latency_delays_then_answers(http: OrgHttp, sf: Any) -> None:
    sf.limits()  # a warm connection, so the timing below is the fault's
    _inject(http, route="rest.limits", kind="latency", seconds=0.4)
    started = time.monotonic()
    assert "DailyApiRequests" in sf.limits()
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    sf.limits()
    assert time.monotonic() - started < 0.4


def test_soap_routes_answer_with_soap_faults(http: OrgHttp) -> None:
    _inject(http, route="soap.partner", kind="REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        _soap_login(http)
    assert failed.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert (
        failed.value.auth_message == "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
    )
    _inject(http, route="soap.partner", kind="UNABLE_TO_LOCK_ROW")
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        _soap_login(http)
    assert failed.value.code == "UNABLE_TO_LOCK_ROW"
    _inject(http, route="soap.partner", kind="http_5xx", status=503)
    answer = http.post(f"/services/Soap/u/{API_VERSION}", auth=False, data=b"<x/>")
    assert answer.status_code == 503
    assert _faultcode(answer) == "sf:SERVER_UNAVAILABLE"
    session_id, _ = _soap_login(http)
    assert session_id


def test_regular_expression_routes_and_listing(http: OrgHttp) -> None:
    created = _inject(http, route=r"rest\..*", kind="UNABLE_TO_LOCK_ROW", count=3)
    assert created["count"] == 3
    assert http.get(LIMITS).status_code == 400
    assert http.get(f"/services/data/v{API_VERSION}").status_code == 400
    assert http.get("/services/oauth2/userinfo").status_code == 200  # oauth.userinfo: no match
    listed = http.get("/_sftk/faults").json()
    assert [(f["route"], f["kind"], f["count"]) for f in listed] == [
        (r"rest\..*", "UNABLE_TO_LOCK_ROW", 1)
    ]
    assert http.get("/services/data", auth=False).status_code == 400  # rest.versions
    assert http.get(LIMITS).status_code == 200


def test_oldest_matching_fault_fires_first(http: OrgHttp) -> None:
    _inject(http, route="rest.limits", kind="UNABLE_TO_LOCK_ROW")
    _inject(http, route="rest.limits", kind="REQUEST_LIMIT_EXCEEDED")
    assert http.get(LIMITS).status_code == 400
    assert http.get(LIMITS).status_code == 403
    assert http.get(LIMITS).status_code == 200


def test_control_routes_are_never_faulted(http: OrgHttp) -> None:
    _inject(http, route=".*", kind="drop", count=100)
    assert http.get("/_sftk/faults").status_code == 200
    assert http.get("/_sftk/org").status_code == 200
    routes = http.get("/_sftk/routes").json()
    names = {route["name"] for route in routes}
    assert {"rest.limits", "rest.versions", "oauth.token", "soap.partner"} <= names
    assert http.delete("/_sftk/faults").status_code == 204
    assert http.get(LIMITS).status_code == 200


def test_faults_are_consumed_exactly_once_under_concurrency(http: OrgHttp) -> None:
    _inject(http, route="rest.limits", kind="REQUEST_LIMIT_EXCEEDED", count=5)
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        session.verify = http.session.verify
        session.trust_env = False
        headers = {"Authorization": f"Bearer {http.org.access_token}"}
        for _ in range(3):
            status = session.get(http.url(LIMITS), headers=headers, timeout=30).status_code
            with lock:
                statuses.append(status)
        session.close()

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 18
    assert statuses.count(403) == 5
    assert statuses.count(200) == 13


@pytest.mark.parametrize(
    "spec",
    [
        {"route": "rest.limits", "kind": "meteor"},
        {"route": "rest.(", "kind": "drop"},
        {"route": "", "kind": "drop"},
        {"kind": "drop"},
        {"route": "rest.limits", "kind": "drop", "count": 0},
        {"route": "rest.limits", "kind": "drop", "count": True},
        {"route": "rest.limits", "kind": "http_5xx", "status": 404},
        {"route": "rest.limits", "kind": "latency", "seconds": -1},
        {"route": "rest.limits", "kind": "latency", "seconds": "1"},
        {"route": "rest.limits", "kind": "drop", "colour": "red"},
        ["not", "an", "object"],
    ],
)
def test_bad_fault_specs_are_refused(http: OrgHttp, spec: Any) -> None:
    answer = http.post("/_sftk/faults", json=spec)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "INVALID_FIELD"
    assert http.get("/_sftk/faults").json() == []


def test_fault_control_needs_the_token(http: OrgHttp) -> None:
    spec = {"route": "rest.limits", "kind": "drop"}
    assert http.post("/_sftk/faults", auth=False, json=spec).status_code == 401
    assert http.post("/_sftk/faults", token="forged", json=spec).status_code == 401
    assert http.post("/_sftk/faults", data=b"{broken", headers={}).status_code == 400
    assert http.get(LIMITS).status_code == 200


def test_faults_survive_a_restart(tmp_path: Path, org_factory: Callable[[Path], OrgHttp]) -> None:
    first = org_factory(tmp_path / "org")
    _inject(first, route="rest.limits", kind="UNABLE_TO_LOCK_ROW", count=2)
    assert first.get(LIMITS).status_code == 400
    first.org.stop()
    second = org_factory(tmp_path / "org")
    assert [f["count"] for f in second.get("/_sftk/faults").json()] == [1]
    assert second.get(LIMITS).status_code == 400
    assert second.get(LIMITS).status_code == 200
