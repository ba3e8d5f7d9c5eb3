"""The REST sObject API over real HTTPS, driven with simple-salesforce and raw requests: describes,
records by Id and by external ID, and sObject Collections. The course catalogue of
test_records is deployed once for the module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)
from test_records import deploy_school

from toolkit.localorg.facts import API_VERSION_MIN, update_facts
from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

V = "/services/data/v63.0"


def table(sf: Salesforce, name: str) -> SFType:
    """simple-salesforce's ``sf.Name`` for an object, typed."""
    return cast(SFType, getattr(sf, name))


@pytest.fixture(scope="module", autouse=True)
def school(local_org: RunningOrg) -> None:
    deploy_school(local_org.org)


def test_global_and_object_describe(sf: Salesforce) -> None:
    described_all = sf.describe()
    assert described_all is not None
    found = {o["name"]: o for o in described_all["sobjects"]}
    assert found["Contact"]["keyPrefix"] == "003"
    assert found["Course__c"]["custom"] is True
    described = table(sf, "Course__c").describe()
    fields = {f["name"]: f for f in described["fields"]}
    key = fields["Catalog_Id__c"]
    assert (key["type"], key["length"], key["externalId"], key["unique"], key["idLookup"]) == (
        "string",
        20,
        True,
        True,
        True,
    )
    assert (fields["Credits__c"]["precision"], fields["Credits__c"]["scale"]) == (3, 1)
    mentor = fields["Mentor__c"]
    assert (mentor["referenceTo"], mentor["relationshipName"]) == (["Contact"], "Mentor__r")
    level = fields["Level__c"]
    assert [v["value"] for v in level["picklistValues"]] == ["Intro", "Advanced"]
    assert level["restrictedPicklist"] is True
    assert fields["Open__c"]["defaultValue"] is True
    assert fields["Id"]["createable"] is False and fields["Id"]["nillable"] is False
    children = {(c["childSObject"], c["field"]): c for c in described["childRelationships"]}
    assert children[("Enrollment__c", "Course__c")]["cascadeDelete"] is True
    assert children[("Enrollment__c", "Course__c")]["relationshipName"] == "Enrollments__r"
    with pytest.raises(SalesforceResourceNotFound):
        table(sf, "Nothing__c").describe()


def test_contact_create_get_update_delete(sf: Salesforce, http: OrgHttp) -> None:
    created = table(sf, "Contact").create(
        {"LastName": "Nakamura", "Email": "k.nakamura@example.org"}
    )
    assert created["success"] is True and created["id"].startswith("003")
    record = table(sf, "Contact").get(created["id"])
    assert record["attributes"]["type"] == "Contact"
    assert (record["LastName"], record["FirstName"]) == ("Nakamura", None)
    assert table(sf, "Contact").update(created["id"], {"FirstName": "Kei"}) == 204
    assert table(sf, "Contact").get(created["id"][:15])["FirstName"] == "Kei"
    assert table(sf, "Contact").delete(created["id"]) == 204
    gone = http.get(f"{V}/sobjects/Contact/{created['id']}")
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    unknown = http.get(f"{V}/sobjects/Contact/{created['id'][:-6]}zzzzzz")
    assert unknown.status_code == 404
    wrong_type = http.get(f"{V}/sobjects/Account/{created['id']}")
    assert wrong_type.status_code == 400 and wrong_type.json()[0]["errorCode"] == "MALFORMED_ID"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"FirstName": "Solo"}, "REQUIRED_FIELD_MISSING"),
        ({"LastName": "X" * 81}, "STRING_TOO_LONG"),
        ({"LastName": "Ok", "Shoe_Size__c": 9}, "INVALID_FIELD"),
        ({"LastName": "Ok", "Birthdate": "soon"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"LastName": "Ok", "AccountId": "001"}, "MALFORMED_ID"),
        ({"LastName": "Ok", "AccountId": "001000000000999AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    ],
)
def test_single_record_errors_come_back_with_their_code(
    http: OrgHttp, body: dict[str, Any], code: str
) -> None:
    answer = http.post(f"{V}/sobjects/Contact", json=body)
    assert answer.status_code == 400
    (error,) = answer.json()
    assert error["errorCode"] == code
    assert error["message"] and isinstance(error["fields"], list)


def test_upsert_by_external_id(sf: Salesforce, http: OrgHttp) -> None:
    created = http.patch(f"{V}/sobjects/Course__c/Catalog_Id__c/R-1", json={"Name": "Rivers"})
    assert created.status_code == 201
    assert created.json()["created"] is True
    assert table(sf, "Course__c").upsert("Catalog_Id__c/R-1", {"Credits__c": 3}) == 200
    updated = http.patch(f"{V}/sobjects/Course__c/Catalog_Id__c/r-1", json={"Level__c": "Intro"})
    assert updated.status_code == 200
    assert updated.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    update_facts(http.org.org.store, {"api_version_min": "45.0"})
    try:
        old_api = http.patch("/services/data/v45.0/sobjects/Course__c/Catalog_Id__c/R-1", json={})
    finally:
        update_facts(http.org.org.store, {"api_version_min": API_VERSION_MIN})
    assert (old_api.status_code, old_api.content) == (204, b"")  # before 46.0: no body
    record = table(sf, "Course__c").get_by_custom_id("Catalog_Id__c", "R-1")
    assert (record["Name"], record["Credits__c"], record["Level__c"]) == ("Rivers", 3.0, "Intro")
    for catalog_id in ("R-2", "R-3"):
        table(sf, "Course__c").create({"Catalog_Id__c": catalog_id, "Code__c": "TWIN"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        table(sf, "Course__c").upsert("Code__c/TWIN", {"Name": "Twin"})
    several = http.patch(f"{V}/sobjects/Course__c/Code__c/TWIN", json={})
    assert several.status_code == 300 and len(several.json()) == 2
    unknown = http.patch(f"{V}/sobjects/Course__c/Credits__c/3", json={})
    assert unknown.status_code == 404
    assert unknown.json()[0]["message"] == (
        "Provided external ID field does not exist or is not accessible: Credits__c"
    )
    with pytest.raises(SalesforceMalformedRequest) as bad:
        table(sf, "Course__c").upsert("Catalog_Id__c/R-9", {"Level__c": "Expert"})
    content: Any = bad.value.content
    assert content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_parent_by_external_id_and_master_detail_integrity(sf: Salesforce, http: OrgHttp) -> None:
    parent = table(sf, "Course__c").create({"Catalog_Id__c": "G-1"})["id"]
    child = table(sf, "Enrollment__c").create(
        {"Course__r": {"Catalog_Id__c": "G-1"}, "Grade__c": "A"}
    )
    assert table(sf, "Enrollment__c").get(child["id"])["Course__c"] == parent
    orphan = http.post(
        f"{V}/sobjects/Enrollment__c",
        json={"Course__c": parent[:3] + "000000999999", "Grade__c": "A"},
    )
    assert orphan.status_code == 400
    assert orphan.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    table(sf, "Course__c").delete(parent)
    assert http.get(f"{V}/sobjects/Enrollment__c/{child['id']}").json()[0]["errorCode"] == (
        "ENTITY_IS_DELETED"
    )


def test_collections_create_update_delete(http: OrgHttp) -> None:
    rows = [
        {"attributes": {"type": "Account"}, "Name": "Harbour School"},
        {"attributes": {"type": "Contact"}, "LastName": "Osei"},
    ]
    created = http.post(f"{V}/composite/sobjects", json={"allOrNone": False, "records": rows})
    assert created.status_code == 200
    ids = [r["id"] for r in created.json()]
    assert [i[:3] for i in ids] == ["001", "003"]
    changes = [
        {"attributes": {"type": "Account"}, "id": ids[0], "Phone": "555-0100"},
        {"attributes": {"type": "Contact"}, "id": ids[1], "LastName": None},
    ]
    updated = http.patch(f"{V}/composite/sobjects", json={"allOrNone": True, "records": changes})
    assert [r["success"] for r in updated.json()] == [False, False]
    assert updated.json()[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert updated.json()[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert http.get(f"{V}/sobjects/Account/{ids[0]}").json()["Phone"] is None
    partly = http.patch(f"{V}/composite/sobjects", json={"allOrNone": False, "records": changes})
    assert [r["success"] for r in partly.json()] == [True, False]
    assert http.get(f"{V}/sobjects/Account/{ids[0]}").json()["Phone"] == "555-0100"
    deleted = http.delete(f"{V}/composite/sobjects", params={"ids": ",".join(ids)})
    assert [r["success"] for r in deleted.json()] == [True, True]
    too_many = http.post(
        f"{V}/composite/sobjects",
        json={"records": [{"attributes": {"type": "Contact"}, "LastName": "N"}] * 201},
    )
    assert too_many.status_code == 400


def test_collections_upsert_all_or_none_both_ways(http: OrgHttp) -> None:
    url = f"{V}/composite/sobjects/Course__c/Catalog_Id__c"
    good = [{"attributes": {"type": "Course__c"}, "Catalog_Id__c": f"K-{n}"} for n in range(3)]
    first = http.patch(url, json={"allOrNone": True, "records": good})
    assert [(r["success"], r["created"]) for r in first.json()] == [(True, True)] * 3
    bad = [*good, {"attributes": {"type": "Course__c"}, "Catalog_Id__c": "K-9", "Credits__c": "x"}]
    undone = http.patch(url, json={"allOrNone": True, "records": bad})
    codes = [r["errors"][0]["statusCode"] for r in undone.json()]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"] * 3 + ["INVALID_TYPE_ON_FIELD_IN_RECORD"]
    assert [r.get("id") for r in undone.json()[:3]] == [r["id"] for r in first.json()]
    partial = http.patch(url, json={"allOrNone": False, "records": bad})
    assert [(r["success"], r.get("created")) for r in partial.json()] == [
        (True, False),
        (True, False),
        (True, False),
        (False, None),
    ]
    unknown = http.patch(f"{V}/composite/sobjects/Course__c/Nope__c", json={"records": good})
    assert unknown.status_code == 404
