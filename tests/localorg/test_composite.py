"""The REST Composite resource over real HTTPS with simple-salesforce: subrequests answered by the
org's own routes, ``@{referenceId.path}`` references in URLs and bodies, allOrNone rollback
through one store transaction, and the refusals of a malformed request. The course catalogue
of test_records is deployed once for the module."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from test_records import deploy_school

from toolkit.localorg.composite import ROLLED_BACK
from toolkit.localorg.org import RunningOrg
from toolkit.localorg.store import Store

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

V = "/services/data/v63.0"


@pytest.fixture(scope="module", autouse=True)
def school(local_org: RunningOrg) -> None:
    deploy_school(local_org.org)


def composite(sf: Salesforce, subrequests: list[dict[str, Any]], **options: Any) -> list[Any]:
    """POST the subrequests; the compositeResponse entries, checked to come back in order."""
    answer = sf.restful(
        "composite", method="POST", json={"compositeRequest": subrequests, **options}
    )
    assert answer is not None
    entries: list[Any] = answer["compositeResponse"]
    assert [e["referenceId"] for e in entries] == [s["referenceId"] for s in subrequests]
    return entries


def refused(sf: Salesforce, body: dict[str, Any]) -> Any:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite", method="POST", json=body)
    assert caught.value.status == 400
    return caught.value.content


def create(obj: str, reference_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{V}/sobjects/{obj}",
        "referenceId": reference_id,
        "body": body,
    }


def count(sf: Salesforce, soql: str) -> int:
    return int(sf.query(soql)["totalSize"])


def test_parent_then_child_through_references(sf: Salesforce) -> None:
    entries = composite(
        sf,
        [
            create("Contact", "mentor", {"LastName": "Varga-Composite"}),
            create(
                "Course__c",
                "course",
                {"Catalog_Id__c": "CMP-100", "Name": "Ceramics", "Mentor__c": "@{mentor.id}"},
            ),
            create("Enrollment__c", "enrollment", {"Course__c": "@{course.id}", "Grade__c": "B"}),
            {
                "method": "GET",
                "url": f"{V}/sobjects/Course__c/@{{course.id}}?fields=Name,Mentor__c",
                "referenceId": "readBack",
            },
        ],
        allOrNone=True,
    )
    mentor, course, enrollment, read_back = entries
    assert [e["httpStatusCode"] for e in entries] == [201, 201, 201, 200]
    assert mentor["body"]["success"] is True and mentor["body"]["id"].startswith("003")
    assert course["httpHeaders"] == {"Location": f"{V}/sobjects/Course__c/{course['body']['id']}"}
    assert read_back["body"]["Mentor__c"] == mentor["body"]["id"]
    assert read_back["body"]["Name"] == "Ceramics"
    stored = sf.query(
        f"SELECT Grade__c, Course__c FROM Enrollment__c WHERE Id = '{enrollment['body']['id']}'"
    )["records"]
    assert [(r["Grade__c"], r["Course__c"]) for r in stored] == [("B", course["body"]["id"])]


def test_query_results_feed_urls_and_bodies(sf: Salesforce) -> None:
    name = "Ames & Berg+Co #2"  # only survives a query string percent-encoded
    entries = composite(
        sf,
        [
            create("Contact", "person", {"LastName": name, "FirstName": None}),
            {
                "method": "GET",
                "url": f"{V}/sobjects/Contact/@{{person.id}}?fields=LastName,FirstName",
                "referenceId": "read",
            },
            {
                "method": "GET",
                "url": f"{V}/query?q=SELECT+Id,LastName+FROM+Contact+WHERE+LastName="
                "'@{read.LastName}'",
                "referenceId": "found",
            },
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Contact/@{{found.records[0].Id}}",
                "referenceId": "rename",
                "body": {"Title": "Alias of @{found.records[0].LastName}"},
            },
            # a null value is referenceable from API 52.0 on and stays null
            create("Contact", "twin", {"LastName": "Twin", "FirstName": "@{read.FirstName}"}),
        ],
    )
    assert [e["httpStatusCode"] for e in entries] == [201, 200, 200, 204, 201]
    found = entries[2]["body"]
    assert found["totalSize"] == 1
    assert found["records"][0]["Id"] == entries[0]["body"]["id"]
    assert entries[3]["body"] is None
    assert "Sforce-Limit-Info" not in entries[2]["httpHeaders"]
    titles = sf.query(f"SELECT Title FROM Contact WHERE LastName = '{name}'")["records"]
    assert [r["Title"] for r in titles] == [f"Alias of {name}"]
    twin = sf.query(f"SELECT FirstName FROM Contact WHERE Id = '{entries[4]['body']['id']}'")
    assert [r["FirstName"] for r in twin["records"]] == [None]


def test_upsert_by_external_id_creates_then_updates(sf: Salesforce) -> None:
    url = f"{V}/sobjects/Course__c/Catalog_Id__c/CMP-200"
    entries = composite(
        sf,
        [
            {"method": "PATCH", "url": url, "referenceId": "first", "body": {"Name": "Glass"}},
            {"method": "PATCH", "url": url, "referenceId": "again", "body": {"Name": "Glass II"}},
            {
                "method": "GET",
                "url": f"{V}/sobjects/Course__c/Catalog_Id__c/CMP-200",
                "referenceId": "byKey",
            },
        ],
        allOrNone=True,
    )
    first, again, by_key = entries
    assert (first["httpStatusCode"], first["body"]["created"]) == (201, True)
    assert first["httpHeaders"]["Location"] == f"{V}/sobjects/Course__c/{first['body']['id']}"
    assert (again["httpStatusCode"], again["body"]["created"]) == (200, False)
    assert again["body"]["id"] == first["body"]["id"] == by_key["body"]["Id"]
    assert by_key["body"]["Name"] == "Glass II"
    assert count(sf, "SELECT Id FROM Course__c WHERE Catalog_Id__c = 'CMP-200'") == 1


def test_all_or_none_rolls_every_change_back(sf: Salesforce) -> None:
    entries = composite(
        sf,
        [
            create("Contact", "keeper", {"LastName": "Rollback-Keeper"}),
            create(
                "Course__c", "course", {"Catalog_Id__c": "CMP-300", "Mentor__c": "@{keeper.id}"}
            ),
            create("Enrollment__c", "noGrade", {"Course__c": "@{course.id}"}),
            create("Contact", "after", {"LastName": "Rollback-After"}),
        ],
        allOrNone=True,
    )
    failing = entries[2]
    assert failing["httpStatusCode"] == 400
    assert failing["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert failing["body"][0]["fields"] == ["Grade__c"]
    for index in (0, 1, 3):
        assert entries[index]["httpStatusCode"] == 400
        assert entries[index]["httpHeaders"] == {}
        assert entries[index]["body"] == [
            {"errorCode": "PROCESSING_HALTED", "message": ROLLED_BACK}
        ]
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Rollback-%'") == 0
    assert count(sf, "SELECT Id FROM Course__c WHERE Catalog_Id__c = 'CMP-300'") == 0


def test_all_or_none_counts_a_failed_collection_row(sf: Salesforce) -> None:
    """The collection's own allOrNone is false, so it answers 200 with one failed row; the
    composite's allOrNone still undoes the row that succeeded."""
    entries = composite(
        sf,
        [
            {
                "method": "POST",
                "url": f"{V}/composite/sobjects",
                "referenceId": "pair",
                "body": {
                    "allOrNone": False,
                    "records": [
                        {"attributes": {"type": "Contact"}, "LastName": "Collection-Good"},
                        {"attributes": {"type": "Contact"}, "FirstName": "NoLastName"},
                    ],
                },
            },
            create("Contact", "single", {"LastName": "Collection-Single"}),
        ],
        allOrNone=True,
    )
    pair, single = entries
    assert pair["httpStatusCode"] == 200
    assert [r["success"] for r in pair["body"]] == [True, False]
    assert single["body"] == [{"errorCode": "PROCESSING_HALTED", "message": ROLLED_BACK}]
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Collection-%'") == 0


def test_without_all_or_none_only_dependents_stop(sf: Salesforce) -> None:
    entries = composite(
        sf,
        [
            create("Contact", "fine", {"LastName": "Partial-Fine"}),
            create("Course__c", "badLevel", {"Catalog_Id__c": "CMP-400", "Level__c": "Expert"}),
            create("Enrollment__c", "dependent", {"Course__c": "@{badLevel.id}", "Grade__c": "A"}),
            create("Contact", "independent", {"LastName": "Partial-Independent"}),
        ],
        allOrNone=False,
    )
    assert [e["httpStatusCode"] for e in entries] == [201, 400, 400, 201]
    assert entries[1]["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    halted = entries[2]["body"][0]
    assert halted["errorCode"] == "PROCESSING_HALTED"
    assert halted["message"].startswith(
        "Invalid reference specified. No value for badLevel.id found in badLevel."
    )
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Partial-%'") == 2
    assert count(sf, "SELECT Id FROM Course__c WHERE Catalog_Id__c = 'CMP-400'") == 0


def test_more_than_25_subrequests_are_refused_whole(sf: Salesforce) -> None:
    many = [create("Contact", f"c{i}", {"LastName": f"Many-{i}"}) for i in range(26)]
    content = refused(sf, {"allOrNone": False, "compositeRequest": many})
    (entry,) = content["compositeResponse"]
    assert (entry["httpStatusCode"], entry["referenceId"]) == (400, None)
    assert entry["body"][0]["errorCode"] == "LIMIT_EXCEEDED"
    assert "more than 25 operations" in entry["body"][0]["message"]
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Many-%'") == 0
    entries = composite(sf, many[:25])
    assert {e["httpStatusCode"] for e in entries} == {201}
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Many-%'") == 25


def test_bad_references_halt_their_subrequest(sf: Salesforce) -> None:
    entries = composite(
        sf,
        [
            create("Contact", "early", {"LastName": "Refs-@{later.id}"}),
            create("Contact", "later", {"LastName": "Refs-Later"}),
            create("Contact", "unknown", {"LastName": "@{nobody.id}"}),
            create("Contact", "wrongCase", {"LastName": "@{later.Id}"}),
            {"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Account", "referenceId": "q"},
            create("Contact", "pastEnd", {"LastName": "@{q.records[5].Id}"}),
            create("Contact", "whole", {"LastName": "@{later}"}),
            create("Contact", "good", {"LastName": "Refs-Copy-@{later.success}"}),
        ],
    )
    statuses = [e["httpStatusCode"] for e in entries]
    assert statuses == [400, 201, 400, 400, 200, 400, 400, 201]
    expected = {
        0: ("later.id", "later"),
        2: ("nobody.id", "nobody"),
        3: ("later.Id", "later"),
        5: ("q.records[5].Id", "q"),
        6: ("later", "later"),
    }
    for index, (expression, reference_id) in expected.items():
        error = entries[index]["body"][0]
        assert error["errorCode"] == "PROCESSING_HALTED"
        assert error["message"] == (
            f"Invalid reference specified. No value for {expression} found in {reference_id}. "
            f"Provided referenceId ('{expression}') must start with a letter or a number, and "
            "it can contain only letters, numbers and underscores ('_')."
        )
    assert count(sf, "SELECT Id FROM Contact WHERE LastName = 'Refs-Copy-true'") == 1


def test_subrequest_errors_stay_inside_their_entry(sf: Salesforce) -> None:
    entries = composite(
        sf,
        [
            create("Nothing__c", "noObject", {"Name": "x"}),
            {"method": "PUT", "url": f"{V}/sobjects/Contact", "referenceId": "badMethod"},
            {"method": "POST", "url": f"{V}/composite", "referenceId": "nested", "body": {}},
            {"method": "GET", "url": "/services/oauth2/userinfo", "referenceId": "notData"},
            {"method": "GET", "url": "/services/data/v20.0/limits", "referenceId": "oldVersion"},
            {"method": "GET", "url": f"{V}/limits", "referenceId": "limits"},
        ],
    )
    codes = [(e["httpStatusCode"], e["body"][0]["errorCode"]) for e in entries[:5]]
    assert codes == [
        (404, "NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (404, "NOT_FOUND"),
        (404, "NOT_FOUND"),
        (404, "NOT_FOUND"),
    ]
    assert entries[5]["httpStatusCode"] == 200 and "DailyApiRequests" in entries[5]["body"]


def test_malformed_requests_are_refused_before_running(sf: Salesforce) -> None:
    twice = [
        create("Contact", "same", {"LastName": "Malformed-1"}),
        create("Contact", "same", {"LastName": "Malformed-2"}),
    ]
    assert refused(sf, {"compositeRequest": twice}) == [
        {"message": "Duplicate ReferenceId provided in the request.", "errorCode": "INVALID_INPUT"}
    ]
    bad_id = [create("Contact", "ref[1]", {"LastName": "Malformed-3"})]
    assert refused(sf, {"compositeRequest": bad_id}) == [
        {
            "message": "Provided referenceId ('ref[1]') must start with a letter or a number, "
            "and it can contain only letters, numbers and underscores ('_').",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    missing = [{"method": "GET", "url": f"{V}/limits"}]
    assert refused(sf, {"compositeRequest": missing}) == [
        {"message": "'referenceId' is a required field.", "errorCode": "JSON_PARSER_ERROR"}
    ]
    assert refused(sf, {"allOrNone": True})[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Malformed-%'") == 0


def test_api_51_keeps_the_older_reference_rules(http: OrgHttp, sf: Salesforce) -> None:
    """Before 52.0 a bad referenceId only breaks the references to it, and a reference to a
    null field fails."""
    old = "/services/data/v51.0"
    answer = http.post(
        f"{old}/composite",
        json={
            "compositeRequest": [
                create("Contact", "odd[1]", {"LastName": "Old-Rules"}),
                create("Contact", "child", {"LastName": "Old-@{odd[1].id}"}),
                {
                    "method": "GET",
                    "url": f"{old}/sobjects/Contact/@{{odd[1].id}}?fields=FirstName",
                    "referenceId": "read",
                },
                create("Contact", "plain", {"LastName": "Old-Plain"}),
                {
                    "method": "GET",
                    "url": f"{old}/sobjects/Contact/@{{plain.id}}?fields=FirstName",
                    "referenceId": "plainRead",
                },
                create(
                    "Contact",
                    "copy",
                    {"LastName": "Old-Copy", "FirstName": "@{plainRead.FirstName}"},
                ),
            ]
        },
    )
    assert answer.status_code == 200
    entries = answer.json()["compositeResponse"]
    assert [e["httpStatusCode"] for e in entries] == [201, 400, 400, 201, 200, 400]
    assert entries[1]["body"][0]["message"].startswith(
        "Invalid reference specified. No value for odd[1].id found in odd."
    )
    assert entries[5]["body"][0]["message"].startswith(
        "Invalid reference specified. No value for plainRead.FirstName found in plainRead."
    )
    assert count(sf, "SELECT Id FROM Contact WHERE LastName LIKE 'Old-%'") == 2


def test_a_composite_counts_as_one_api_call(http: OrgHttp) -> None:
    org = http.org.org
    before = org.store.calls(org.today())
    answer = http.post(
        f"{V}/composite",
        json={
            "compositeRequest": [
                create("Contact", "one", {"LastName": "Counted-1"}),
                create("Contact", "two", {"LastName": "Counted-2"}),
                {"method": "GET", "url": f"{V}/limits", "referenceId": "three"},
            ]
        },
    )
    assert answer.status_code == 200
    assert org.store.calls(org.today()) == before + 1
    assert answer.headers["Sforce-Limit-Info"].startswith(f"api-usage={before + 1}/")


def test_an_unauthenticated_composite_runs_nothing(http: OrgHttp, sf: Salesforce) -> None:
    answer = http.post(
        f"{V}/composite",
        token="not-a-session",
        json={"compositeRequest": [create("Contact", "x", {"LastName": "Unauthenticated"})]},
    )
    assert answer.status_code == 401
    assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert count(sf, "SELECT Id FROM Contact WHERE LastName = 'Unauthenticated'") == 0


# --- the store's nested transactions -------------------------------------------------------------


def _keys(store: Store) -> list[str]:
    return [row["key"] for row in store.connection().execute("SELECT key FROM kv ORDER BY key")]


def test_a_nested_failure_undoes_only_its_own_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "nested.sqlite3")
    with store.transaction() as db:
        db.execute("INSERT INTO kv (key, value) VALUES ('outer', '1')")
        with pytest.raises(KeyError), store.transaction() as inner:
            inner.execute("INSERT INTO kv (key, value) VALUES ('inner', '2')")
            raise KeyError("inner fails")
        store.put("sibling", 3)  # a nested transaction of its own, kept
    assert _keys(store) == ["outer", "sibling"]
    with pytest.raises(RuntimeError), store.transaction():
        store.put("lost", 4)
        raise RuntimeError("outer fails")
    assert _keys(store) == ["outer", "sibling"]


def test_a_discarded_tentative_block_undoes_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "tentative.sqlite3")
    with store.tentative() as work:
        store.put("first", 1)
        with store.transaction() as db:
            db.execute("INSERT INTO kv (key, value) VALUES ('second', '2')")
        assert _keys(store) == ["first", "second"]  # visible inside the block
        work.discard()
    assert _keys(store) == []
    with store.tentative():
        store.put("kept", 1)
    assert _keys(store) == ["kept"]
    assert store.get("kept") == 1
