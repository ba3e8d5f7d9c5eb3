"""The data routes under the org's limits and faults: every REST, query and Bulk 2.0 answer
carries Sforce-Limit-Info, a spent daily allowance refuses them, and injected faults reach
them as they reach the metadata routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest
from test_records import deploy_school

from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

V = "/services/data/v63.0"


@pytest.fixture(scope="module", autouse=True)
def school(local_org: RunningOrg) -> None:
    deploy_school(local_org.org)


@pytest.fixture(autouse=True)
def nothing_left(http: OrgHttp) -> Iterator[None]:
    allowance = http.get("/_sftk/org").json()["daily_api_requests"]
    yield
    assert http.delete("/_sftk/faults").status_code == 204
    assert http.patch("/_sftk/org", json={"daily_api_requests": allowance}).status_code == 200


def _used(answer: requests.Response) -> tuple[int, int]:
    used, allowed = answer.headers["Sforce-Limit-Info"].removeprefix("api-usage=").split("/")
    return int(used), int(allowed)


def _bulk_job(http: OrgHttp) -> requests.Response:
    return http.post(
        f"{V}/jobs/ingest",
        json={"object": "Course__c", "operation": "insert", "contentType": "CSV"},
    )


def test_every_data_answer_counts_and_says_so(http: OrgHttp) -> None:
    created = http.post(
        f"{V}/sobjects/Course__c", json={"Name": "Limits 101", "Catalog_Id__c": "LIM-1"}
    )
    record_id = created.json()["id"]
    answers = [
        created,
        http.get(f"{V}/sobjects/Course__c/{record_id}"),
        http.patch(
            f"{V}/composite/sobjects",
            json={
                "allOrNone": False,
                "records": [
                    {"attributes": {"type": "Course__c"}, "id": record_id, "Credits__c": 2}
                ],
            },
        ),
        http.get(f"{V}/query", params={"q": "SELECT Id FROM Course__c"}),
        _bulk_job(http),
        http.get(f"{V}/jobs/ingest"),
    ]
    counts = [_used(a)[0] for a in answers]
    assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
    assert counts == list(range(counts[0], counts[0] + len(answers)))


def test_spent_allowance_refuses_data_calls(http: OrgHttp, sf: Salesforce) -> None:
    used, _ = _used(http.get(f"{V}/limits"))
    assert http.patch("/_sftk/org", json={"daily_api_requests": used}).status_code == 200
    refused = [
        http.get(f"{V}/query", params={"q": "SELECT Id FROM Course__c"}),
        http.post(f"{V}/sobjects/Course__c", json={"Name": "Too late"}),
        _bulk_job(http),
    ]
    for answer in refused:
        assert answer.status_code == 403
        assert answer.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Course__c")
    assert http.patch("/_sftk/org", json={"daily_api_requests": used + 100}).status_code == 200
    assert sf.query("SELECT COUNT() FROM Course__c WHERE Name = 'Too late'")["totalSize"] == 0


@pytest.mark.parametrize(
    ("route", "call"),
    [
        ("rest.query", lambda sf: sf.query("SELECT Id FROM Course__c")),
        ("rest.sobjects.create", lambda sf: sf.Course__c.create({"Name": "Locked"})),
        ("bulk2.ingest.list", lambda sf: sf.restful("jobs/ingest")),
    ],
)
def test_injected_faults_reach_data_routes(
    http: OrgHttp, sf: Salesforce, route: str, call: Any
) -> None:
    routes = {r["name"] for r in http.get("/_sftk/routes").json()}
    assert route in routes
    assert http.post("/_sftk/faults", json={"route": route, "kind": "UNABLE_TO_LOCK_ROW"}).ok
    with pytest.raises(SalesforceMalformedRequest) as refused:
        call(sf)
    assert refused.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    call(sf)
