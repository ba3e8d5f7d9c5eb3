"""Bulk API 2.0 ingest jobs over real HTTPS, driven with simple-salesforce's bulk2 client and
raw requests, on the course catalogue of test_records (deployed once for the module)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import ColumnDelimiter, LineEnding, SFBulk2Type
from test_records import deploy_school

from toolkit.localorg import records
from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

JOBS = "/services/data/v63.0/jobs/ingest"


@pytest.fixture(scope="module", autouse=True)
def school(local_org: RunningOrg) -> None:
    deploy_school(local_org.org)


def bulk(sf: Salesforce, name: str) -> SFBulk2Type:
    handler: Any = sf.bulk2
    found: SFBulk2Type = getattr(handler, name)
    return found


def write(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def course(local_org: RunningOrg, catalog_id: str) -> dict[str, Any]:
    ids = records.find_ids(local_org.org, "Course__c", "Catalog_Id__c", catalog_id)
    assert len(ids) == 1, ids
    found = records.get(local_org.org, "Course__c", ids[0])
    assert found is not None
    return dict(found)


def wait_for(http: OrgHttp, job_id: str, states: tuple[str, ...]) -> dict[str, Any]:
    for _ in range(500):
        info: dict[str, Any] = http.get(f"{JOBS}/{job_id}").json()
        if info["state"] in states:
            return info
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} never reached {states}")


def open_job(http: OrgHttp, **body: Any) -> dict[str, Any]:
    response = http.post(JOBS, json={"contentType": "CSV", **body})
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()
    return info


def upload(http: OrgHttp, job_id: str, data: str) -> None:
    response = http.request(
        "PUT",
        f"{JOBS}/{job_id}/batches",
        data=data.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert (response.status_code, response.content) == (201, b"")


def test_insert_with_a_bad_row(sf: Salesforce, local_org: RunningOrg, tmp_path: Path) -> None:
    data = (
        "Name,Catalog_Id__c,Credits__c,Starts__c,Level__c,Open__c\n"
        "Algebra,B-1,2.5,2025-09-01,Intro,false\n"
        '"Poetry, modern",B-2,1,2025-10-01,Expert,true\n'
        "Geology,B-3,,,Advanced,\n"
    )
    [outcome] = bulk(sf, "Course__c").insert(csv_file=write(tmp_path, data), wait=0)
    assert (outcome["numberRecordsProcessed"], outcome["numberRecordsFailed"]) == (3, 1)
    job_id = str(outcome["job_id"])
    assert job_id.startswith("750")
    good = table(bulk(sf, "Course__c").get_successful_records(job_id))
    assert [(r["Catalog_Id__c"], r["sf__Created"]) for r in good] == [
        ("B-1", "true"),
        ("B-3", "true"),
    ]
    algebra = course(local_org, "B-1")
    assert algebra["Id"] == good[0]["sf__Id"]
    assert (algebra["Credits__c"], algebra["Starts__c"], algebra["Open__c"]) == (
        2.5,
        "2025-09-01",
        False,
    )
    assert course(local_org, "B-3")["Open__c"] is True  # a blank cell leaves the default
    [bad] = table(bulk(sf, "Course__c").get_failed_records(job_id))
    assert bad["sf__Id"] == ""
    assert bad["Name"] == "Poetry, modern"
    assert bad["sf__Error"].startswith(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Level: bad value for restricted picklist "
        "field: Expert:Level__c"
    )


def test_upsert_crlf_semicolon_creates_and_updates(
    sf: Salesforce, local_org: RunningOrg, tmp_path: Path
) -> None:
    records.insert_many(local_org.org, "Course__c", [{"Name": "Old", "Catalog_Id__c": "U-1"}])
    data = "Catalog_Id__c;Name;Credits__c\r\nU-1;Renamed;3\r\nU-2;Fresh;4\r\n"
    [outcome] = bulk(sf, "Course__c").upsert(
        csv_file=write(tmp_path, data),
        external_id_field="Catalog_Id__c",
        column_delimiter=ColumnDelimiter.SEMICOLON,
        line_ending=LineEnding.CRLF,
        wait=0,
    )
    assert (outcome["numberRecordsProcessed"], outcome["numberRecordsFailed"]) == (2, 0)
    good = table(bulk(sf, "Course__c").get_successful_records(str(outcome["job_id"])))
    assert {r["Catalog_Id__c"]: r["sf__Created"] for r in good} == {"U-1": "false", "U-2": "true"}
    assert (course(local_org, "U-1")["Name"], course(local_org, "U-1")["Credits__c"]) == (
        "Renamed",
        3.0,
    )
    assert course(local_org, "U-2")["Name"] == "Fresh"


def test_relationship_column_null_marker_and_delete(
    sf: Salesforce, http: OrgHttp, local_org: RunningOrg, tmp_path: Path
) -> None:
    records.insert_many(local_org.org, "Course__c", [{"Name": "Chem", "Catalog_Id__c": "R-1"}])
    chem = course(local_org, "R-1")
    data = "Name,Grade__c,Course__r.Catalog_Id__c\nAda,A,R-1\nBob,B,NOPE\n"
    [outcome] = bulk(sf, "Enrollment__c").insert(csv_file=write(tmp_path, data), wait=0)
    assert outcome["numberRecordsFailed"] == 1
    job_id = str(outcome["job_id"])
    [ada] = table(bulk(sf, "Enrollment__c").get_successful_records(job_id))
    stored = records.get(local_org.org, "Enrollment__c", ada["sf__Id"])
    assert stored is not None and stored["Course__c"] == chem["Id"]
    [bob] = table(bulk(sf, "Enrollment__c").get_failed_records(job_id))
    assert bob["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: NOPE not found")

    records.insert_many(
        local_org.org, "Course__c", [{"Name": "Art", "Catalog_Id__c": "R-2", "Code__c": "X"}]
    )
    art = course(local_org, "R-2")
    update = f"Id,Code__c\n{art['Id']},#N/A\n"
    [outcome] = bulk(sf, "Course__c").update(csv_file=write(tmp_path, update, "u.csv"), wait=0)
    assert outcome["numberRecordsFailed"] == 0
    assert "Code__c" not in course(local_org, "R-2")

    removal = f"Id\n{art['Id']}\n{art['Id'][:3]}000000000ZZZ\n"
    [outcome] = bulk(sf, "Course__c").delete(csv_file=write(tmp_path, removal, "d.csv"), wait=0)
    assert (outcome["numberRecordsProcessed"], outcome["numberRecordsFailed"]) == (2, 1)
    assert records.find_ids(local_org.org, "Course__c", "Catalog_Id__c", "R-2") == []
    [missing] = table(bulk(sf, "Course__c").get_failed_records(str(outcome["job_id"])))
    assert missing["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY:")
    assert missing["sf__Id"] == missing["Id"]


def test_job_lifecycle_over_raw_requests(http: OrgHttp) -> None:
    job = open_job(http, object="Course__c", operation="insert", columnDelimiter="PIPE")
    assert (job["state"], job["jobType"], job["concurrencyMode"], job["columnDelimiter"]) == (
        "Open",
        "V2Ingest",
        "Parallel",
        "PIPE",
    )
    assert job["contentUrl"] == f"services/data/v63.0/jobs/ingest/{job['id']}/batches"
    upload(http, job["id"], "Name|Catalog_Id__c\nOne|L-1\n")
    upload(http, job["id"], "Name|Catalog_Id__c\nTwo|L-2\nThree|L-3\n")
    closed = http.patch(f"{JOBS}/{job['id']}", json={"state": "UploadComplete"})
    assert closed.status_code == 200
    assert closed.json()["state"] in ("UploadComplete", "InProgress", "JobComplete")
    done = wait_for(http, job["id"], ("JobComplete",))
    assert (done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (3, 0)
    results = http.get(f"{JOBS}/{job['id']}/successfulResults/")
    assert results.headers["Content-Type"].startswith("text/csv")
    assert results.text.splitlines()[0] == '"sf__Id","sf__Created",Name,Catalog_Id__c'
    assert len(results.text.splitlines()) == 4
    listed = http.get(JOBS).json()
    assert job["id"] in [j["id"] for j in listed["records"]] and listed["done"] is True
    assert http.request("PUT", f"{JOBS}/{job['id']}/batches", data=b"x").status_code == 400
    assert http.delete(f"{JOBS}/{job['id']}").status_code == 204
    gone = http.get(f"{JOBS}/{job['id']}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"


def test_abort_leaves_rows_unprocessed(http: OrgHttp, local_org: RunningOrg) -> None:
    job = open_job(http, object="Course__c", operation="insert")
    upload(http, job["id"], "Name,Catalog_Id__c\nX,A-1\nY,A-2\n")
    assert http.delete(f"{JOBS}/{job['id']}").status_code == 400  # still Open
    aborted = http.patch(f"{JOBS}/{job['id']}", json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    again = http.patch(f"{JOBS}/{job['id']}", json={"state": "UploadComplete"})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOB"
    left = http.get(f"{JOBS}/{job['id']}/unprocessedrecords/")
    assert left.text.splitlines() == ["Name,Catalog_Id__c", '"X","A-1"', '"Y","A-2"']
    assert records.find_ids(local_org.org, "Course__c", "Catalog_Id__c", "A-1") == []


def test_unknown_column_fails_the_job(http: OrgHttp) -> None:
    job = open_job(http, object="Course__c", operation="insert")
    upload(http, job["id"], "Name,Nope__c\nX,1\n")
    http.patch(f"{JOBS}/{job['id']}", json={"state": "UploadComplete"})
    failed = wait_for(http, job["id"], ("Failed", "JobComplete"))
    assert failed["state"] == "Failed"
    assert failed["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    left = http.get(f"{JOBS}/{job['id']}/unprocessedrecords/").text.splitlines()
    assert left == ["Name,Nope__c", '"X","1"']


def test_a_column_named_twice_fails_the_job(http: OrgHttp, local_org: RunningOrg) -> None:
    job = open_job(http, object="Course__c", operation="insert")
    upload(http, job["id"], "Name,Catalog_Id__c,catalog_id__c\nTwice,D-1,D-2\n")
    http.patch(f"{JOBS}/{job['id']}", json={"state": "UploadComplete"})
    failed = wait_for(http, job["id"], ("Failed", "JobComplete"))
    assert failed["state"] == "Failed"
    assert failed["errorMessage"] == (
        "InvalidBatch : Duplicate field name in the header : catalog_id__c"
    )
    assert records.find_ids(local_org.org, "Course__c", "Catalog_Id__c", "D-1") == []
    assert records.find_ids(local_org.org, "Course__c", "Catalog_Id__c", "D-2") == []


def test_a_row_with_more_values_than_columns_fails_alone(
    http: OrgHttp, local_org: RunningOrg
) -> None:
    job = open_job(http, object="Course__c", operation="insert")
    upload(http, job["id"], "Name,Catalog_Id__c\nFits,W-1\nSpills,W-2,Extra\nAlso fits,W-3\n")
    http.patch(f"{JOBS}/{job['id']}", json={"state": "UploadComplete"})
    done = wait_for(http, job["id"], ("Failed", "JobComplete"))
    assert (done["state"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (
        "JobComplete",
        3,
        1,
    )
    failed = table(http.get(f"{JOBS}/{job['id']}/failedResults/").text)
    assert [(row["Name"], row["sf__Error"]) for row in failed] == [
        ("Spills", "INVALID_FIELD:The row has 3 values but the header names 2 columns:--")
    ]
    saved = table(http.get(f"{JOBS}/{job['id']}/successfulResults/").text)
    assert [row["Name"] for row in saved] == ["Fits", "Also fits"]
    assert records.find_ids(local_org.org, "Course__c", "Catalog_Id__c", "W-2") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"object": "Nope__c", "operation": "insert"},
            "InvalidJob : Unable to find object: Nope__c",
        ),
        (
            {"object": "Course__c", "operation": "upsert"},
            "InvalidJob : External ID was blank for Course__c. An External ID must be specified "
            "for upsert.",
        ),
        (
            {"object": "Course__c", "operation": "upsert", "externalIdFieldName": "Credits__c"},
            "InvalidJob : Invalid field for upsert, must be an External Id custom or standard "
            "indexed field: Credits__c",
        ),
        ({"object": "Course__c", "operation": "merge"}, "InvalidJob : Invalid operation: merge"),
        (
            {"object": "Course__c", "operation": "insert", "columnDelimiter": "COLON"},
            "InvalidJob : Invalid columnDelimiter: COLON",
        ),
    ],
)
def test_bad_jobs_are_refused(http: OrgHttp, body: dict[str, Any], message: str) -> None:
    response = http.post(JOBS, json=body)
    assert response.status_code == 400
    assert response.json() == [{"errorCode": "INVALIDJOB", "message": message}]
