"""Issue 4's acceptance, walked as a user of simple-salesforce would walk it over HTTPS:
deploy objects with an external ID, a lookup and a master-detail; upsert one by one, by
collections and by Bulk 2.0; query back with relationship fields across pages; meet each
record error with its code; read a bulk job's failed rows; restart and find the data."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from test_records import school_zip

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

COURSES = 2_600  # more than one 2,000-record page


def _deploy(sf: Salesforce) -> None:
    deploy_id = str(sf.deploy(io.BytesIO(school_zip()), sandbox=True)["asyncId"])
    for _ in range(600):
        status = sf.checkDeployStatus(deploy_id)
        if status["state"] in ("Succeeded", "Failed"):
            assert status["state"] == "Succeeded", status
            return
        time.sleep(0.05)
    raise AssertionError("the deploy did not finish")


def _error_code(call: Callable[[], Any]) -> str:
    try:
        call()
    except SalesforceError as error:
        content: Any = error.content
        return str(content[0]["errorCode"])
    raise AssertionError("the call was expected to fail")


def _load(sf: Salesforce, tmp_path: Path) -> str:
    """Courses one by one, by collections and by Bulk 2.0; returns the mentor's Id."""
    mentor = sf.Contact.create({"LastName": "Adeyemi", "Email": "adeyemi@example.org"})["id"]
    assert (
        sf.Course__c.upsert("Catalog_Id__c/A-0001", {"Name": "Soil 1", "Mentor__c": mentor}) == 201
    )
    assert sf.Course__c.upsert("Catalog_Id__c/A-0001", {"Credits__c": 3}) == 200
    batch = [
        {"attributes": {"type": "Course__c"}, "Catalog_Id__c": f"A-{n:04d}", "Name": f"Soil {n}"}
        for n in range(2, 202)
    ]
    results = sf.restful(
        "composite/sobjects/Course__c/Catalog_Id__c",
        method="PATCH",
        json={"allOrNone": True, "records": batch},
    )
    assert results is not None and all(r["success"] and r["created"] for r in results)
    data = tmp_path / "courses.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Catalog_Id__c", "Name", "Credits__c", "Mentor__c"])
        for n in range(150, COURSES + 1):
            writer.writerow([f"A-{n:04d}", f"Soil {n}", n % 5, mentor if n % 2 else ""])
    jobs = sf.bulk2.Course__c.upsert(  # type: ignore[union-attr]
        csv_file=str(data), external_id_field="Catalog_Id__c", wait=0.1
    )
    assert sum(int(j["numberRecordsProcessed"]) for j in jobs) == COURSES - 149
    assert sum(int(j["numberRecordsFailed"]) for j in jobs) == 0
    return str(mentor)


def test_data_side_end_to_end(tmp_path: Path, org_factory: Callable[[Path], OrgHttp]) -> None:
    state = tmp_path / "org"
    first = org_factory(state)
    sf = first.salesforce()
    _deploy(sf)
    mentor = _load(sf, tmp_path)

    answer = sf.query_all(
        "SELECT Catalog_Id__c, Credits__c, Mentor__r.LastName, Mentor__r.Email FROM Course__c "
        "WHERE Catalog_Id__c LIKE 'A-%' ORDER BY Catalog_Id__c"
    )
    rows = answer["records"]
    assert answer["totalSize"] == COURSES == len(rows)
    assert [r["Catalog_Id__c"] for r in rows[:2]] == ["A-0001", "A-0002"]
    assert rows[0]["Mentor__r"]["Email"] == "adeyemi@example.org"
    assert rows[150]["Mentor__r"]["LastName"] == "Adeyemi"  # A-0151, from the bulk load
    assert rows[149]["Mentor__r"] is None and rows[149]["Credits__c"] == 0

    course = rows[0]["attributes"]["url"].rsplit("/", 1)[1]
    enrollment = sf.Enrollment__c.create(
        {"Course__r": {"Catalog_Id__c": "A-0002"}, "Student__c": mentor, "Grade__c": "B"}
    )
    gone = sf.Course__c.create({"Name": "Retired", "Catalog_Id__c": "Z-1"})["id"]
    sf.Course__c.delete(gone)
    bad_calls: dict[str, Callable[[], Any]] = {
        "REQUIRED_FIELD_MISSING": lambda: sf.Enrollment__c.create({"Course__c": course}),
        "STRING_TOO_LONG": lambda: sf.Course__c.create({"Catalog_Id__c": "X" * 21}),
        "INVALID_FIELD": lambda: sf.Course__c.create({"Nope__c": 1}),
        "INVALID_TYPE_ON_FIELD_IN_RECORD": lambda: sf.Course__c.create({"Credits__c": "lots"}),
        "DUPLICATE_VALUE": lambda: sf.Course__c.create({"Catalog_Id__c": "A-0001"}),
        "MALFORMED_ID": lambda: sf.Course__c.create({"Mentor__c": "not-an-id"}),
        "INVALID_CROSS_REFERENCE_KEY": lambda: sf.Course__c.create(
            {"Mentor__c": mentor[:3] + "000000999999"}
        ),
        "FIELD_INTEGRITY_EXCEPTION": lambda: sf.Enrollment__c.create(
            {"Course__c": course[:3] + "000000999999", "Grade__c": "A"}
        ),
        "ENTITY_IS_DELETED": lambda: sf.Course__c.update(gone, {"Name": "Back"}),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": lambda: sf.Course__c.create(
            {"Level__c": "Expert"}
        ),
    }
    seen = {expected: _error_code(call) for expected, call in bad_calls.items()}
    assert seen == {code: code for code in bad_calls}

    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_text(
        "Catalog_Id__c,Name,Credits__c\nB-1,Fine,1\nB-2,Bad number,many\n"
        + "B-3,Too long id,2\n".replace("B-3", "B-" + "3" * 30),
        encoding="utf-8",
    )
    [job] = sf.bulk2.Course__c.upsert(  # type: ignore[union-attr]
        csv_file=str(bad_rows), external_id_field="Catalog_Id__c", wait=0.1
    )
    assert (int(job["numberRecordsProcessed"]), int(job["numberRecordsFailed"])) == (3, 2)
    failed = sf.bulk2.Course__c.get_failed_records(job["job_id"])  # type: ignore[union-attr]
    failures = list(csv.DictReader(io.StringIO(failed)))
    assert sorted(f["sf__Error"].split(":")[0] for f in failures) == [
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "STRING_TOO_LONG",
    ]

    first.org.stop()
    again = org_factory(state).salesforce()
    after = again.query("SELECT COUNT() FROM Course__c WHERE Catalog_Id__c LIKE 'A-%'")
    assert after["totalSize"] == COURSES
    kept = again.Enrollment__c.get(enrollment["id"])
    assert kept["Grade__c"] == "B" and kept["Course__c"] == rows[1]["attributes"]["url"][-18:]
