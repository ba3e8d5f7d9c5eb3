"""jsforce 3, unmodified, against ``sftk org serve``: identity, a Metadata API deploy and
retrieve, describe, upsert, a Bulk API 2.0 load and a query. Each step checks that jsforce
answered (exit status 0 of the step) and what the org then holds."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from support import API_VERSION, HERE, LocalOrg, zip_base64

if TYPE_CHECKING:
    from conftest import JsforceRun


@pytest.fixture(scope="module")
def rooms(jsforce: JsforceRun) -> Any:
    """The rooms package deployed with conn.metadata.deploy(...).complete(true)."""
    return jsforce("deploy", zipBase64=zip_base64("rooms"), options={"singlePackage": True})


def test_identity(jsforce: JsforceRun, local_org: LocalOrg) -> None:
    answer = jsforce("identity")
    assert answer.status == 0, answer.stderr
    assert answer.data["organization_id"] == local_org.connection["org_id"]
    assert answer.data["username"] == local_org.connection["username"]


def test_metadata_deploy(rooms: Any, local_org: LocalOrg) -> None:
    assert rooms.status == 0, rooms.stderr
    assert (rooms.data["status"], rooms.data["success"]) == ("Succeeded", True)
    assert rooms.data["numberComponentsDeployed"] == 5
    assert local_org.fields("Room__c")["Room_Code__c"]["unique"] is True
    assert local_org.fields("Account")["Campus_Code__c"]["externalId"] is True


def test_metadata_retrieve(jsforce: JsforceRun, rooms: Any) -> None:
    request = {
        "apiVersion": API_VERSION,
        "singlePackage": True,
        "unpackaged": {
            "types": [{"name": "CustomObject", "members": ["Room__c"]}],
            "version": API_VERSION,
        },
    }
    answer = jsforce("retrieve", request=request)
    assert answer.status == 0, answer.stderr
    assert (answer.data["status"], answer.data["success"]) == ("Succeeded", True)
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(answer.data["zipFile"])))
    room = archive.read("objects/Room__c.object").decode()
    assert "<fullName>Room_Code__c</fullName>" in room and "<label>Room</label>" in room
    assert "package.xml" in archive.namelist()


def test_describe(jsforce: JsforceRun, rooms: Any) -> None:
    answer = jsforce("describe", sobject="Room__c")
    assert answer.status == 0, answer.stderr
    assert (answer.data["name"], answer.data["labelPlural"], answer.data["custom"]) == (
        "Room__c",
        "Rooms",
        True,
    )
    fields = {f["name"]: f for f in answer.data["fields"]}
    assert fields["Capacity__c"]["type"] == "double" and fields["Room_Code__c"]["externalId"]


def test_upsert(jsforce: JsforceRun, rooms: Any, local_org: LocalOrg) -> None:
    records = [
        {"Room_Code__c": "U-1", "Name": "Seminar", "Capacity__c": 30},
        {"Room_Code__c": "U-2", "Name": "Library", "Capacity__c": 80},
    ]
    first = jsforce("upsert", sobject="Room__c", records=records, externalId="Room_Code__c")
    assert first.status == 0, first.stderr
    assert [(r["success"], r["created"]) for r in first.data] == [(True, True), (True, True)]
    records[1]["Capacity__c"] = 85
    again = jsforce("upsert", sobject="Room__c", records=records, externalId="Room_Code__c")
    assert [(r["success"], r["created"]) for r in again.data] == [(True, False), (True, False)]
    stored = local_org.query(
        "SELECT Room_Code__c, Capacity__c FROM Room__c WHERE Room_Code__c LIKE 'U-%' "
        "ORDER BY Room_Code__c"
    )
    assert stored == [
        {"Room_Code__c": "U-1", "Capacity__c": 30},
        {"Room_Code__c": "U-2", "Capacity__c": 85},
    ]


def test_bulk2_load_then_query(jsforce: JsforceRun, rooms: Any, local_org: LocalOrg) -> None:
    csv = (HERE / "data" / "rooms.csv").read_text()
    loaded = jsforce("bulk2", sobject="Room__c", operation="upsert",
                     externalIdFieldName="Room_Code__c", csv=csv)  # fmt: skip
    assert loaded.status == 0, loaded.stderr
    assert loaded.data["failedResults"] == [] and loaded.data["unprocessedRecords"] == []
    assert sorted(r["Room_Code__c"] for r in loaded.data["successfulResults"]) == [
        "R-1",
        "R-2",
        "R-3",
    ]
    assert len(local_org.query("SELECT Id FROM Room__c WHERE Room_Code__c LIKE 'R-%'")) == 3
    soql = (
        "SELECT Name, Capacity__c FROM Room__c WHERE Capacity__c >= 24 AND Room_Code__c LIKE 'R-%' "
        "ORDER BY Name"
    )
    queried = jsforce("query", soql=soql)
    assert queried.status == 0, queried.stderr
    assert (queried.data["totalSize"], queried.data["done"]) == (2, True)
    assert [(r["Name"], r["Capacity__c"]) for r in queried.data["records"]] == [
        ("Lab", 24),
        ("Lecture Hall", 120),
    ]
