"""Records of the local org through the Python API the REST and Bulk routes call: typing,
validation codes, upserts by external ID, all-or-none batches, cascades, persistence.

The schema comes from a real deploy of a small course catalogue (written here): a course with a
unique external ID, a second non-unique key, a restricted picklist, a lookup to Contact; and an
enrollment that is a master-detail child of a course."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from toolkit.localorg import deploys, records
from toolkit.localorg.ids import make_id
from toolkit.localorg.org import Org

MD = "http://soap.sforce.com/2006/04/metadata"


def _xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body.strip()}\n'.encode()


def _text(
    name: str, length: int, *, key: bool = False, unique: bool = False, required: bool = False
) -> str:
    """A Text field, its elements in the order the Metadata API schema wants."""
    return (
        f"<fields><fullName>{name}</fullName>"
        + ("<externalId>true</externalId>" if key else "")
        + f"<label>{name[:-3]}</label><length>{length}</length>"
        + ("<required>true</required>" if required else "")
        + "<type>Text</type>"
        + ("<unique>true</unique>" if unique else "")
        + "</fields>"
    )


COURSE = _xml(f"""
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    {_text("Catalog_Id__c", 20, key=True, unique=True)}
    {_text("Code__c", 10, key=True)}
    <fields><fullName>Credits__c</fullName><label>Credits</label><precision>3</precision>
        <scale>1</scale><type>Number</type></fields>
    <fields><fullName>Starts__c</fullName><label>Starts</label><type>Date</type></fields>
    <fields><fullName>Open__c</fullName><defaultValue>true</defaultValue><label>Open</label>
        <type>Checkbox</type></fields>
    <fields><fullName>Level__c</fullName><label>Level</label><type>Picklist</type>
        <valueSet><restricted>true</restricted><valueSetDefinition><sorted>false</sorted>
            <value><fullName>Intro</fullName><default>false</default><label>Intro</label></value>
            <value><fullName>Advanced</fullName><default>false</default><label>Advanced</label>
            </value>
        </valueSetDefinition></valueSet></fields>
    <fields><fullName>Mentor__c</fullName><label>Mentor</label><referenceTo>Contact</referenceTo>
        <relationshipName>Mentored_Courses</relationshipName><type>Lookup</type></fields>
    <label>Course</label>
    <nameField><label>Course Name</label><type>Text</type></nameField>
    <pluralLabel>Courses</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""")

ENROLLMENT = _xml(f"""
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields><fullName>Course__c</fullName><label>Course</label><referenceTo>Course__c</referenceTo>
        <relationshipName>Enrollments</relationshipName><type>MasterDetail</type></fields>
    <fields><fullName>Student__c</fullName><label>Student</label><referenceTo>Contact</referenceTo>
        <relationshipName>Enrollments</relationshipName><type>Lookup</type></fields>
    {_text("Grade__c", 2, required=True)}
    <label>Enrollment</label>
    <nameField><label>Enrollment Name</label><type>Text</type></nameField>
    <pluralLabel>Enrollments</pluralLabel>
    <sharingModel>ControlledByParent</sharingModel>
</CustomObject>
""")

PACKAGE = _xml(
    f'<Package xmlns="{MD}"><types><members>Course__c</members><members>Enrollment__c</members>'
    "<name>CustomObject</name></types><version>63.0</version></Package>"
)


def school_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", PACKAGE)
        archive.writestr("objects/Course__c.object", COURSE)
        archive.writestr("objects/Enrollment__c.object", ENROLLMENT)
    return buffer.getvalue()


def deploy_school(org: Org) -> None:
    """Deploy the catalogue through the org's own deploy engine and wait for it."""
    deploys.set_component_delay(org, 0)
    engine = deploys.engine(org)
    deploy_id = engine.submit(school_zip(), deploys.DeployOptions())
    for _ in range(500):
        status = engine.status(deploy_id)
        if status["done"]:
            assert status["status"] == "Succeeded", status
            return
        time.sleep(0.01)
    raise AssertionError("the school package did not deploy")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    made = Org(tmp_path_factory.mktemp("records"))
    deploy_school(made)
    return made


def one(results: list[records.SaveResult]) -> records.SaveResult:
    assert len(results) == 1
    return results[0]


def error_of(result: records.SaveResult) -> tuple[str, str, tuple[str, ...]]:
    assert not result.success
    first = result.errors[0]
    return first.code, first.message, first.fields


def contact(org: Org, last_name: str = "Okafor") -> str:
    result = one(records.insert_many(org, "Contact", [{"LastName": last_name}]))
    assert result.success and result.id is not None
    return result.id


def course(org: Org, catalog_id: str, **fields: Any) -> str:
    row = {"Name": f"Course {catalog_id}", "Catalog_Id__c": catalog_id, **fields}
    result = one(records.insert_many(org, "Course__c", [row]))
    assert result.success, result
    assert result.id is not None
    return result.id


def test_insert_types_values_and_keeps_system_fields(org: Org) -> None:
    mentor = contact(org)
    result = one(
        records.insert_many(
            org,
            "Course__c",
            [
                {
                    "attributes": {"type": "Course__c"},
                    "catalog_id__c": "T-100",  # field names are case-insensitive
                    "Credits__c": "2.25",
                    "Starts__c": "2025-09-01",
                    "Level__c": "Intro",
                    "Mentor__c": mentor[:15],  # 15-character Ids are accepted
                }
            ],
        )
    )
    assert result.success and result.id is not None
    prefix = (
        org.store.connection()
        .execute("SELECT key_prefix FROM schema_objects WHERE name = 'Course__c'")
        .fetchone()[0]
    )
    assert result.id.startswith(prefix) and len(result.id) == 18
    stored = records.get(org, "Course__c", result.id)
    assert stored is not None
    assert stored["Catalog_Id__c"] == "T-100"
    assert stored["Credits__c"] == 2.3  # rounded to the field's scale of 1
    assert stored["Starts__c"] == "2025-09-01"
    assert stored["Open__c"] is True  # the checkbox default
    assert stored["Mentor__c"] == mentor
    assert stored["Name"] == result.id  # a custom object's Name defaults to the Id
    user = org.facts.user_id
    assert stored["OwnerId"] == stored["CreatedById"] == stored["LastModifiedById"] == user
    assert stored["IsDeleted"] is False
    assert stored["CreatedDate"] == stored["SystemModstamp"]
    assert stored["CreatedDate"].endswith("+0000")
    assert records.get(org, "Contact", mentor)["LastName"] == "Okafor"  # type: ignore[index]
    assert records.get(org, "Contact", mentor)["Id"].startswith("003")  # type: ignore[index]


@pytest.mark.parametrize(
    ("object_name", "row", "expected"),
    [
        (
            "Contact",
            {"FirstName": "Ada"},
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ("LastName",)),
        ),
        (
            "Course__c",
            {"Catalog_Id__c": "X" * 21},
            (
                "STRING_TOO_LONG",
                f"Catalog_Id: data value too large: {'X' * 21} (max length=20)",
                ("Catalog_Id__c",),
            ),
        ),
        (
            "Course__c",
            {"Colour__c": "red"},
            (
                "INVALID_FIELD",
                "No such column 'Colour__c' on sobject of type Course__c",
                ("Colour__c",),
            ),
        ),
        (
            "Course__c",
            {"Credits__c": "lots"},
            (
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                "Credits: value not of required type: lots",
                ("Credits__c",),
            ),
        ),
        (
            "Course__c",
            {"Starts__c": "next week"},
            (
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                "Starts: value not of required type: next week",
                ("Starts__c",),
            ),
        ),
        (
            "Course__c",
            {"Mentor__c": "not-an-id"},
            ("MALFORMED_ID", "Mentor: id value of incorrect type: not-an-id", ("Mentor__c",)),
        ),
        (
            "Course__c",
            {"Mentor__c": make_id("003", 987_654)},
            ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("Mentor__c",)),
        ),
        (
            "Course__c",
            {"Level__c": "Expert"},
            (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Level: bad value for restricted picklist field: Expert",
                ("Level__c",),
            ),
        ),
        (
            "Course__c",
            {"CreatedDate": "2020-01-01T00:00:00Z"},
            ("INVALID_FIELD_FOR_INSERT_UPDATE", None, ("CreatedDate",)),
        ),
        (
            "Course__c",
            {"Credits__c": 1000},
            (
                "NUMBER_OUTSIDE_VALID_RANGE",
                "Credits: value outside of valid range on numeric field: 1000",
                ("Credits__c",),
            ),
        ),
    ],
)
def test_a_bad_row_gets_salesforce_code_and_message(
    org: Org, object_name: str, row: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    before = records.count(org, object_name)
    code, message, fields = error_of(one(records.insert_many(org, object_name, [row])))
    assert code == expected[0]
    if expected[1] is not None:
        assert message == expected[1]
    assert fields == expected[2]
    assert records.count(org, object_name) == before


def test_a_lookup_to_another_object_is_refused(org: Org) -> None:
    account = one(records.insert_many(org, "Account", [{"Name": "Riverside"}]))
    assert account.id is not None and account.id.startswith("001")
    code, message, _ = error_of(
        one(records.insert_many(org, "Course__c", [{"Mentor__c": account.id}]))
    )
    assert (code, message) == (
        "FIELD_INTEGRITY_EXCEPTION",
        f"Mentor: id value of incorrect type: {account.id}",
    )


def test_unique_external_id_is_case_insensitive(org: Org) -> None:
    first = course(org, "U-1")
    code, message, fields = error_of(
        one(records.insert_many(org, "Course__c", [{"Catalog_Id__c": "u-1"}]))
    )
    assert code == "DUPLICATE_VALUE"
    assert (
        message
        == f"duplicate value found: Catalog_Id__c duplicates value on record with id: {first}"
    )
    assert fields == ("Catalog_Id__c",)


def test_master_detail_needs_a_live_master(org: Org) -> None:
    missing = make_id(org_prefix(org, "Course__c"), 999_999)
    code, _, fields = error_of(
        one(records.insert_many(org, "Enrollment__c", [{"Course__c": missing, "Grade__c": "A"}]))
    )
    assert (code, fields) == ("FIELD_INTEGRITY_EXCEPTION", ("Course__c",))
    code, message, _ = error_of(one(records.insert_many(org, "Enrollment__c", [{"Grade__c": "A"}])))
    assert (code, message) == ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Course__c]")


def org_prefix(org: Org, object_name: str) -> str:
    info = records.describe(org, object_name)
    assert info is not None
    return info.key_prefix


def test_parent_reference_by_external_id(org: Org) -> None:
    parent = course(org, "P-7")
    result = one(
        records.insert_many(
            org,
            "Enrollment__c",
            [{"Course__r": {"Catalog_Id__c": "p-7"}, "Grade__c": "B"}],
        )
    )
    assert result.success and result.id is not None
    assert records.get(org, "Enrollment__c", result.id)["Course__c"] == parent  # type: ignore[index]
    code, message, _ = error_of(
        one(
            records.insert_many(
                org, "Enrollment__c", [{"Course__r": {"Catalog_Id__c": "nope"}, "Grade__c": "B"}]
            )
        )
    )
    assert code == "INVALID_FIELD"
    assert message == (
        "Foreign key external ID: nope not found for field Catalog_Id__c in entity Course__c"
    )


def test_upsert_creates_then_updates_and_flags_duplicates(org: Org) -> None:
    created = one(
        records.upsert_many(org, "Course__c", "Catalog_Id__c", [{"Catalog_Id__c": "V-1"}])
    )
    assert created.success and created.created is True
    updated = one(
        records.upsert_many(
            org, "Course__c", "catalog_id__c", [{"Catalog_Id__c": "v-1", "Credits__c": 4}]
        )
    )
    assert (updated.success, updated.created, updated.id) == (True, False, created.id)
    assert records.get(org, "Course__c", str(created.id))["Credits__c"] == 4.0  # type: ignore[index]
    pair = records.upsert_many(
        org,
        "Course__c",
        "Catalog_Id__c",
        [{"Catalog_Id__c": "V-2"}, {"Catalog_Id__c": "V-3"}, {"Catalog_Id__c": "V-2"}],
    )
    assert [r.success for r in pair] == [False, True, False]
    assert error_of(pair[0])[:2] == (
        "DUPLICATE_EXTERNAL_ID",
        "Duplicate external id specified: V-2",
    )
    with pytest.raises(records.RequestRefused) as refused:
        records.upsert_many(org, "Course__c", "Credits__c", [{"Credits__c": 1}])
    assert refused.value.code == "NOT_FOUND" and refused.value.status == 404


def test_upsert_with_several_matches_is_an_error(org: Org) -> None:
    course(org, "M-1", Code__c="SHARED")
    course(org, "M-2", Code__c="shared")
    assert len(records.find_ids(org, "Course__c", "Code__c", "Shared")) == 2
    code, message, _ = error_of(
        one(records.upsert_many(org, "Course__c", "Code__c", [{"Code__c": "SHARED"}]))
    )
    assert code == "DUPLICATE_EXTERNAL_ID"
    assert "more than one record found for external id field" in message


def test_all_or_none_rolls_the_whole_batch_back(org: Org) -> None:
    before = records.count(org, "Course__c")
    results = records.insert_many(
        org,
        "Course__c",
        [{"Catalog_Id__c": "A-1"}, {"Level__c": "Expert"}, {"Catalog_Id__c": "A-2"}],
        all_or_none=True,
    )
    assert [r.errors[0].code for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    ]
    assert all(r.id is None for r in results)
    assert records.count(org, "Course__c") == before
    assert records.find_ids(org, "Course__c", "Catalog_Id__c", "A-1") == []
    partial = records.insert_many(
        org, "Course__c", [{"Catalog_Id__c": "A-1"}, {"Level__c": "Expert"}]
    )
    assert [r.success for r in partial] == [True, False]
    assert records.count(org, "Course__c") == before + 1


def test_update_and_delete(org: Org) -> None:
    target = course(org, "D-1", Credits__c=1)
    created = records.get(org, "Course__c", target)
    assert created is not None
    updated = one(records.update_many(org, "Course__c", [{"Id": target, "Credits__c": None}]))
    assert updated.success
    after = records.get(org, "Course__c", target)
    assert after is not None and "Credits__c" not in after
    assert after["CreatedDate"] == created["CreatedDate"]
    detail = one(
        records.insert_many(org, "Enrollment__c", [{"Course__c": target, "Grade__c": "C"}])
    )
    assert one(records.delete_many(org, "Course__c", [target])).success
    assert records.get(org, "Course__c", target) is None
    deleted = records.get(org, "Course__c", target, include_deleted=True)
    assert deleted is not None and deleted["IsDeleted"] is True
    assert records.get(org, "Enrollment__c", str(detail.id)) is None  # cascaded to the detail
    for result in (
        one(records.update_many(org, "Course__c", [{"Id": target, "Credits__c": 2}])),
        one(records.delete_many(org, "Course__c", [target])),
    ):
        assert error_of(result)[:2] == ("ENTITY_IS_DELETED", "entity is deleted")
    assert error_of(one(records.update_many(org, "Course__c", [{"Id": "001bogus"}])))[0] == (
        "MALFORMED_ID"
    )
    # the external ID of a deleted record is free again
    assert course(org, "D-1")


def test_records_stream_in_order_and_survive_a_restart(tmp_path: Path) -> None:
    first = Org(tmp_path)
    deploy_school(first)
    rows = [{"Catalog_Id__c": f"S-{n:05d}", "Credits__c": n % 50} for n in range(3000)]
    started = time.perf_counter()
    for start in range(0, len(rows), 200):
        results = records.upsert_many(
            first, "Course__c", "Catalog_Id__c", rows[start : start + 200]
        )
        assert all(r.success and r.created for r in results)
    assert time.perf_counter() - started < 10
    again = Org(tmp_path)
    streamed = [r["Catalog_Id__c"] for r in records.iter_records(again, "Course__c")]
    assert streamed == [r["Catalog_Id__c"] for r in rows]
    results = records.upsert_many(again, "Course__c", "Catalog_Id__c", rows[:200])
    assert {r.created for r in results} == {False}
    assert records.count(again, "Course__c") == 3000


REVIEW = _xml(f"""
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields><fullName>Course__c</fullName><label>Course</label><referenceTo>Course__c</referenceTo>
        <relationshipName>Reviews</relationshipName>
        <reparentableMasterDetail>true</reparentableMasterDetail><type>MasterDetail</type></fields>
    <label>Review</label>
    <nameField><label>Review Name</label><type>Text</type></nameField>
    <pluralLabel>Reviews</pluralLabel>
    <sharingModel>ControlledByParent</sharingModel>
</CustomObject>
""")


def test_only_a_master_detail_that_allows_reparenting_takes_updates(org: Org) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "package.xml",
            f'<Package xmlns="{MD}"><types><members>Review__c</members>'
            "<name>CustomObject</name></types><version>63.0</version></Package>",
        )
        archive.writestr("objects/Review__c.object", REVIEW)
    engine = deploys.engine(org)
    deploy_id = engine.submit(buffer.getvalue(), deploys.DeployOptions())
    for _ in range(500):
        if engine.status(deploy_id)["done"]:
            break
        time.sleep(0.01)
    first, second = course(org, "R-1"), course(org, "R-2")
    review = one(records.insert_many(org, "Review__c", [{"Course__c": first}]))
    moved = one(records.update_many(org, "Review__c", [{"Id": review.id, "Course__c": second}]))
    assert moved.success
    assert records.get(org, "Review__c", str(review.id))["Course__c"] == second  # type: ignore[index]
    enrollment = one(
        records.insert_many(org, "Enrollment__c", [{"Course__c": first, "Grade__c": "A"}])
    )
    refused = one(
        records.update_many(org, "Enrollment__c", [{"Id": enrollment.id, "Course__c": first}])
    )
    assert error_of(refused)[0] == "INVALID_FIELD_FOR_INSERT_UPDATE"
