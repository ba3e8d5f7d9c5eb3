"""Auto-number name fields and custom auto-number fields over real HTTPS: values assigned on
insert from the deployed display format and starting number, refused to writers, queryable,
kept across restarts, and given back by a rolled-back batch.

The schema is a ticket desk written here: a Ticket whose name is ``T-{0000}`` from 7, with a
receipt number ``R{YY}{MM}-{00}`` that is also an external ID."""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import SalesforceMalformedRequest

from toolkit.localorg import deploys, records
from toolkit.localorg.autonumber import AutoNumber
from toolkit.localorg.org import Org, RunningOrg

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

MD = "http://soap.sforce.com/2006/04/metadata"
V = "/services/data/v63.0"


def ticket_object(start: int) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields><fullName>Receipt_No__c</fullName><displayFormat>R{{YY}}{{MM}}-{{00}}</displayFormat>
        <externalId>true</externalId><label>Receipt No</label><startingNumber>1</startingNumber>
        <type>AutoNumber</type></fields>
    <fields><fullName>Topic__c</fullName><label>Topic</label><length>40</length>
        <required>true</required><type>Text</type></fields>
    <label>Ticket</label>
    <nameField><displayFormat>T-{{0000}}</displayFormat><label>Ticket Number</label>
        <startingNumber>{start}</startingNumber><type>AutoNumber</type></nameField>
    <pluralLabel>Tickets</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""".encode()


def desk_zip(start: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "package.xml",
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{MD}"><types>'
            "<members>Ticket__c</members><name>CustomObject</name></types>"
            "<version>63.0</version></Package>\n",
        )
        archive.writestr("objects/Ticket__c.object", ticket_object(start))
    return buffer.getvalue()


def deploy_desk(org: Org, start: int = 7) -> None:
    deploys.set_component_delay(org, 0)
    engine = deploys.engine(org)
    deploy_id = engine.submit(desk_zip(start), deploys.DeployOptions())
    for _ in range(500):
        status = engine.status(deploy_id)
        if status["done"]:
            assert status["status"] == "Succeeded", status
            return
        time.sleep(0.01)
    raise AssertionError("the ticket desk did not deploy")


@pytest.fixture(scope="module", autouse=True)
def desk(local_org: RunningOrg) -> None:
    deploy_desk(local_org.org)


def tickets(sf: Salesforce) -> SFType:
    return cast(SFType, sf.Ticket__c)


def receipt(number: int) -> str:
    today = dt.datetime.now(dt.UTC).date()
    return f"R{today:%y%m}-{number:02d}"


def names(sf: Salesforce, topic: str) -> list[str]:
    found = sf.query(f"SELECT Name FROM Ticket__c WHERE Topic__c = '{topic}' ORDER BY Name")
    return [r["Name"] for r in found["records"]]


def create(sf: Salesforce, topic: str) -> dict[str, Any]:
    made = tickets(sf).create({"Topic__c": topic})
    record: dict[str, Any] = tickets(sf).get(made["id"])
    return record


def test_render_pads_and_fills_date_tokens() -> None:
    numbering = AutoNumber("INV-{YYYY}/{MM}/{DD}-{000}", 1)
    assert numbering.render(42, dt.date(2026, 3, 9)) == "INV-2026/03/09-042"
    assert numbering.render(12345, dt.date(2026, 3, 9)) == "INV-2026/03/09-12345"  # never cut
    assert AutoNumber("{YY}{0}", 1).render(5, dt.date(2031, 1, 1)) == "315"


def test_describe_marks_auto_numbers(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in tickets(sf).describe()["fields"]}
    for name in ("Name", "Receipt_No__c"):
        field = fields[name]
        assert (field["autoNumber"], field["createable"], field["updateable"]) == (
            True,
            False,
            False,
        ), name
        assert (field["type"], field["length"]) == ("string", 30)
    assert fields["Topic__c"]["autoNumber"] is False


def test_inserts_take_the_next_numbers_and_queries_see_them(sf: Salesforce) -> None:
    first = create(sf, "first")
    second = create(sf, "first")
    assert (first["Name"], second["Name"]) == ("T-0007", "T-0008")
    assert (first["Receipt_No__c"], second["Receipt_No__c"]) == (receipt(1), receipt(2))
    assert names(sf, "first") == ["T-0007", "T-0008"]
    by_name = sf.query("SELECT Topic__c FROM Ticket__c WHERE Name = 'T-0008'")
    assert by_name["records"][0]["Topic__c"] == "first"


def test_api_writes_to_auto_numbers_are_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        tickets(sf).create({"Topic__c": "forged", "Name": "T-9999"})
    content: Any = refused.value.content
    assert (content[0]["errorCode"], content[0]["fields"]) == (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ["Name"],
    )
    made = create(sf, "kept")
    with pytest.raises(SalesforceMalformedRequest) as again:
        tickets(sf).update(made["Id"], {"Receipt_No__c": "R-forged"})
    content = again.value.content
    assert (content[0]["errorCode"], content[0]["fields"]) == (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ["Receipt_No__c"],
    )
    assert tickets(sf).get(made["Id"])["Receipt_No__c"] == made["Receipt_No__c"]
    assert names(sf, "forged") == []


def test_failed_rows_and_rolled_back_batches_take_no_numbers(sf: Salesforce, http: OrgHttp) -> None:
    before = create(sf, "edge")["Name"]
    start = int(before.removeprefix("T-"))

    def batch(all_or_none: bool) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {"Topic__c": "batch"},
            {"Topic__c": None},
            {"Topic__c": "batch"},
        ]
        answer = http.post(
            f"{V}/composite/sobjects",
            json={
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": "Ticket__c"}, **row} for row in rows],
            },
        )
        result: list[dict[str, Any]] = answer.json()
        return result

    undone = batch(True)
    assert [r["success"] for r in undone] == [False, False, False]
    assert names(sf, "batch") == []
    partial = batch(False)
    assert [r["success"] for r in partial] == [True, False, True]
    assert partial[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert names(sf, "batch") == [f"T-{start + 1:04d}", f"T-{start + 2:04d}"]


def test_upsert_by_an_auto_number_external_id_updates(sf: Salesforce) -> None:
    made = create(sf, "upsert me")
    answer = tickets(sf).upsert(
        f"Receipt_No__c/{made['Receipt_No__c']}", {"Topic__c": "upserted"}, raw_response=True
    )
    assert (answer.status_code, answer.json()["created"]) == (200, False)
    assert tickets(sf).get(made["Id"])["Topic__c"] == "upserted"


def test_counters_survive_a_restart_and_follow_a_raised_starting_number(
    tmp_path: Path, org_factory: Callable[[Path], OrgHttp]
) -> None:
    first = org_factory(tmp_path)
    deploy_desk(first.org.org, start=7)
    assert create(first.salesforce(), "a")["Name"] == "T-0007"
    first.org.stop()
    again = org_factory(tmp_path)
    sf = again.salesforce()
    assert create(sf, "a")["Name"] == "T-0008"
    deploy_desk(again.org.org, start=500)
    assert create(sf, "a")["Name"] == "T-0500"
    deploy_desk(again.org.org, start=3)  # lowered: numbers never repeat
    assert create(sf, "a")["Name"] == "T-0501"
    assert names(sf, "a") == ["T-0007", "T-0008", "T-0500", "T-0501"]


def test_bulk_style_batches_number_every_row(tmp_path: Path) -> None:
    org = Org(tmp_path)
    deploy_desk(org, start=1)
    results = records.insert_many(org, "Ticket__c", [{"Topic__c": f"row {i}"} for i in range(250)])
    assert all(r.success for r in results)
    stored = [records.get(org, "Ticket__c", str(r.id)) for r in results]
    assert [row["Name"] for row in stored if row] == [f"T-{n:04d}" for n in range(1, 251)]
    assert len({row["Receipt_No__c"] for row in stored if row}) == 250
