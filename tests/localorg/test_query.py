"""SOQL over REST as simple-salesforce uses it: query, queryAll, paging by nextRecordsUrl."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from test_records import deploy_school

from toolkit.localorg import records
from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

COURSES = 4_500


@pytest.fixture(scope="module", autouse=True)
def catalogue(local_org: RunningOrg) -> str:
    org = local_org.org
    deploy_school(org)
    [mentor] = records.insert_many(org, "Contact", [{"LastName": "Okafor", "Email": "o@x.org"}])
    rows = [
        {
            "Name": f"Course {n:05d}",
            "Catalog_Id__c": f"Q-{n:05d}",
            "Credits__c": n % 7,
            "Starts__c": f"2026-{n % 12 + 1:02d}-01",
            **({"Mentor__c": mentor.id} if n % 3 == 0 else {}),
        }
        for n in range(COURSES)
    ]
    for start in range(0, COURSES, 200):
        results = records.insert_many(org, "Course__c", rows[start : start + 200])
        assert all(r.success for r in results)
    assert mentor.id is not None
    return mentor.id


def test_query_all_pages_through_next_records_url(sf: Salesforce, http: OrgHttp) -> None:
    first = http.get("/services/data/v63.0/query", params={"q": "SELECT Id FROM Course__c"})
    body = first.json()
    assert body["totalSize"] >= COURSES and body["done"] is False
    assert len(body["records"]) == 2000 and body["nextRecordsUrl"].endswith("-2000")
    everything = sf.query_all(
        "SELECT Id, Catalog_Id__c FROM Course__c WHERE Catalog_Id__c LIKE 'Q-%'"
    )
    assert everything["totalSize"] == COURSES == len(everything["records"])
    assert len({r["Id"] for r in everything["records"]}) == COURSES


def test_filters_relationships_order_and_limit(sf: Salesforce, catalogue: str) -> None:
    answer = sf.query(
        "SELECT Catalog_Id__c, Credits__c, Mentor__r.LastName FROM Course__c "
        "WHERE Credits__c >= 5 AND Mentor__c != null AND Starts__c < 2026-03-01 "
        "ORDER BY Catalog_Id__c DESC LIMIT 3"
    )
    rows = answer["records"]
    assert [r["Mentor__r"]["LastName"] for r in rows] == ["Okafor"] * 3
    assert [r["Catalog_Id__c"] for r in rows] == sorted(
        (r["Catalog_Id__c"] for r in rows), reverse=True
    )
    assert all(r["Credits__c"] >= 5 for r in rows)
    assert rows[0]["attributes"]["type"] == "Course__c"


def test_count(sf: Salesforce) -> None:
    answer = sf.query("SELECT COUNT() FROM Course__c WHERE Credits__c = 0")
    assert answer["totalSize"] == len([n for n in range(COURSES) if n % 7 == 0])
    assert answer["records"] == []


def test_errors_name_the_problem(http: OrgHttp) -> None:
    bad = http.get("/services/data/v63.0/query", params={"q": "SELECT Id FORM Course__c"})
    assert bad.status_code == 400
    [error] = bad.json()
    assert error["errorCode"] == "MALFORMED_QUERY" and "FORM" in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]
    unknown = http.get(
        "/services/data/v63.0/query", params={"q": "SELECT Colour__c FROM Course__c"}
    )
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"


def test_hostile_queries_answer_as_salesforce_does(http: OrgHttp, sf: Salesforce) -> None:
    """Each of these once took the server down or answered 500 UNKNOWN_EXCEPTION."""
    sf.Course__c.create({"Name": "a" * 80, "Catalog_Id__c": "LONG-A"})
    worst = http.get(
        "/services/data/v63.0/query",
        params={"q": "SELECT Id FROM Course__c WHERE Name LIKE '%a%a%a%a%a%a%a%a%b'"},
        timeout=60,
    )
    assert worst.status_code == 200 and worst.json()["totalSize"] == 0
    answers = {
        "SELECT Id FROM Course__c LIMIT 99999999999999999999999": "MALFORMED_QUERY",
        "SELECT Id FROM Course__c WHERE " + "(" * 3000 + "Credits__c = 1" + ")" * 3000: (
            "QUERY_TOO_COMPLICATED"
        ),
        "SELECT Id FROM Course__c WHERE " + "NOT " * 5000 + "Credits__c = 1": (
            "QUERY_TOO_COMPLICATED"
        ),
        "SELECT Id FROM Course__c WHERE CreatedDate = LAST_N_DAYS:99999999": "MALFORMED_QUERY",
    }
    for text, code in answers.items():
        answer = http.get("/services/data/v63.0/query", params={"q": text})
        assert (answer.status_code, answer.json()[0]["errorCode"]) == (400, code), text[:60]


def test_simple_salesforce_sees_the_error(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        sf.query("SELECT FROM Course__c")


def test_query_all_sees_deleted_records(local_org: RunningOrg, http: OrgHttp) -> None:
    org = local_org.org
    [gone] = records.insert_many(org, "Course__c", [{"Name": "Gone", "Catalog_Id__c": "DEL-1"}])
    assert gone.id is not None
    records.delete_many(org, "Course__c", [gone.id])
    query = {"q": "SELECT Id, IsDeleted FROM Course__c WHERE Catalog_Id__c = 'DEL-1'"}
    assert http.get("/services/data/v63.0/query", params=query).json()["totalSize"] == 0
    found = http.get("/services/data/v63.0/queryAll", params=query).json()
    assert found["totalSize"] == 1 and found["records"][0]["IsDeleted"] is True


def test_ordered_answers_page_in_order(sf: Salesforce) -> None:
    """ORDER BY over several pages: the cursor keeps the sorted order, relationship keys too."""
    answer = sf.query_all(
        "SELECT Catalog_Id__c FROM Course__c WHERE Catalog_Id__c LIKE 'Q-%' "
        "ORDER BY Mentor__r.LastName NULLS LAST, Catalog_Id__c DESC OFFSET 10"
    )
    seen = [r["Catalog_Id__c"] for r in answer["records"]]
    mentored = sorted((f"Q-{n:05d}" for n in range(COURSES) if n % 3 == 0), reverse=True)
    others = sorted((f"Q-{n:05d}" for n in range(COURSES) if n % 3), reverse=True)
    assert seen == (mentored + others)[10:]
    assert answer["totalSize"] == COURSES - 10


def test_a_page_reads_records_as_they_are_now(
    local_org: RunningOrg, sf: Salesforce, http: OrgHttp
) -> None:
    """The cursor holds Ids, not rows: a change made between two pages shows on the later one,
    and a record deleted meanwhile is left out of its page."""
    first = http.get(
        "/services/data/v63.0/query",
        params={"q": "SELECT Id, Credits__c FROM Course__c ORDER BY Catalog_Id__c"},
    ).json()
    later = http.get(first["nextRecordsUrl"]).json()["records"]
    changed, gone = later[0]["Id"], later[1]["Id"]
    sf.Course__c.update(changed, {"Credits__c": 99})
    sf.Course__c.delete(gone)
    again = http.get(first["nextRecordsUrl"]).json()["records"]
    assert again[0]["Id"] == changed and again[0]["Credits__c"] == 99
    assert gone not in {r["Id"] for r in again} and len(again) == len(later) - 1


def test_columns_true_describes_the_select_list(http: OrgHttp) -> None:
    answer = http.get(
        "/services/data/v63.0/query",
        params={
            "q": "SELECT Id, Catalog_Id__c, Credits__c, Mentor__r.LastName, Mentor__r.Email "
            "FROM Course__c",
            "columns": "true",
        },
    ).json()
    assert answer["entityName"] == "Course__c" and answer["idSelected"] is True
    assert answer["keyPrefix"] and "records" not in answer
    columns = answer["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "Catalog_Id__c", "Credits__c", "Mentor__r"]
    ident, catalog, credits, mentor = columns
    assert ident["apexType"] == "Id" and ident["insertable"] is False
    assert catalog["custom"] is True and catalog["textType"] is True
    assert catalog["insertable"] is True and catalog["updatable"] is True
    assert credits["numberType"] is True and credits["apexType"] == "Decimal"
    assert [j["columnName"] for j in mentor["joinColumns"]] == ["LastName", "Email"]
    counted = http.get(
        "/services/data/v63.0/query",
        params={"q": "SELECT COUNT(Mentor__c) total FROM Course__c", "columns": "true"},
    ).json()["columnMetadata"]
    assert counted[0]["aggregate"] is True and counted[0]["columnName"] == "total"


def test_columns_true_reports_query_errors(http: OrgHttp) -> None:
    answer = http.get(
        "/services/data/v63.0/query",
        params={"q": "SELECT Nope__c FROM Course__c", "columns": "true"},
    )
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"
