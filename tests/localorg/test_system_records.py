"""The records a preflight reads about the org and its user (Organization, User, Profile,
UserPermissionAccess), answered over real HTTPS from the org's facts and refused to writers.

Every test that changes a fact puts the defaults back, since the module shares one org."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import SalesforceMalformedRequest

from toolkit.localorg import records
from toolkit.localorg.org import RunningOrg
from toolkit.localorg.records import FACT_OBJECTS
from toolkit.localorg.system_records import fact_records

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

V = "/services/data/v63.0"
ORG_QUERY = (
    "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName, TrialExpirationDate "
    "FROM Organization"
)
PERMISSIONS = (
    "PermissionsApiEnabled",
    "PermissionsModifyAllData",
    "PermissionsModifyMetadata",
    "PermissionsCustomizeApplication",
    "PermissionsViewSetup",
    "PermissionsViewAllData",
    "PermissionsManageUsers",
)
ACCESS_QUERY = f"SELECT {', '.join(PERMISSIONS)} FROM UserPermissionAccess"
USER_FIELDS = "Id, Username, Name, Email, FirstName, LastName, IsActive, ProfileId, Profile.Name"


def table(sf: Salesforce, name: str) -> SFType:
    return cast(SFType, getattr(sf, name))


def only(sf: Salesforce, soql: str) -> dict[str, Any]:
    answer = sf.query(soql)
    assert answer["totalSize"] == 1, answer
    record: dict[str, Any] = answer["records"][0]
    return record


def user_query(user_id: str) -> str:
    return f"SELECT {USER_FIELDS} FROM User WHERE Id = '{user_id}'"


@pytest.fixture
def facts(http: OrgHttp) -> Iterator[Callable[..., dict[str, Any]]]:
    """Change org facts through the control endpoint; the defaults come back afterwards."""
    before = http.get("/_sftk/org").json()

    def change(**changes: Any) -> dict[str, Any]:
        response = http.patch("/_sftk/org", json=changes)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    yield change
    restored = {k: v for k, v in before.items() if k not in ("org_id", "user_id")}
    assert http.patch("/_sftk/org", json=restored).status_code == 200


def refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        call()
    content: Any = refused.value.content
    return content[0]["errorCode"], content[0]["message"]


def test_organization_answers_from_the_facts(sf: Salesforce, local_org: RunningOrg) -> None:
    org = only(sf, ORG_QUERY)
    assert org["Id"] == local_org.connection["org_id"]
    assert org["attributes"]["type"] == "Organization"
    assert (org["OrganizationType"], org["IsSandbox"], org["TrialExpirationDate"]) == (
        "Developer Edition",
        False,
        None,
    )
    assert org["Name"] == "sftk Local Org"


def test_changed_facts_change_the_answers_at_once(
    sf: Salesforce, http: OrgHttp, facts: Callable[..., dict[str, Any]]
) -> None:
    facts(
        organization_type="Enterprise Edition",
        is_sandbox=True,
        instance_name="CS42",
        trial_expiration_date="2031-03-25T16:21:17Z",
    )
    org = only(sf, ORG_QUERY)
    assert (org["OrganizationType"], org["IsSandbox"], org["InstanceName"]) == (
        "Enterprise Edition",
        True,
        "CS42",
    )
    assert org["TrialExpirationDate"] == "2031-03-25T16:21:17.000+0000"
    by_id = http.get(f"{V}/sobjects/Organization/{org['Id']}").json()
    assert by_id["IsSandbox"] is True and by_id["OrganizationType"] == "Enterprise Edition"
    assert by_id["attributes"]["url"] == f"{V}/sobjects/Organization/{org['Id']}"
    assert "Phone" in by_id and by_id["Phone"] is None  # every field, nulls kept
    scratch = sf.query(
        "SELECT Id FROM Organization WHERE IsSandbox = true AND TrialExpirationDate != null"
    )
    assert scratch["totalSize"] == 1


def test_user_permission_access_follows_the_permissions(
    sf: Salesforce, facts: Callable[..., dict[str, Any]]
) -> None:
    everything = only(sf, ACCESS_QUERY)
    assert all(everything[name] is True for name in PERMISSIONS)
    facts(permissions=["ApiEnabled", "ViewSetup"])
    reduced = only(sf, ACCESS_QUERY)
    assert {name for name in PERMISSIONS if reduced[name]} == {
        "PermissionsApiEnabled",
        "PermissionsViewSetup",
    }
    assert all(isinstance(reduced[name], bool) for name in PERMISSIONS)
    counted = sf.query(
        "SELECT COUNT() FROM UserPermissionAccess WHERE PermissionsModifyAllData = true"
    )
    assert counted["totalSize"] == 0


def test_current_user_and_profile(
    sf: Salesforce, http: OrgHttp, facts: Callable[..., dict[str, Any]]
) -> None:
    user_id = http.get("/services/oauth2/userinfo").json()["user_id"]
    user = only(sf, user_query(user_id))
    assert (user["Id"], user["Username"], user["Email"]) == (
        user_id,
        "admin@local.sftk",
        "admin@local.sftk",
    )
    assert (user["FirstName"], user["LastName"], user["Name"], user["IsActive"]) == (
        "Local",
        "Admin",
        "Local Admin",
        True,
    )
    assert user["Profile"]["Name"] == "System Administrator"
    assert user["Profile"]["attributes"]["type"] == "Profile"
    old_profile = user["ProfileId"]

    facts(profile="Integration Deployer", first_name="Ada", last_name="Quill", email="ada@x.io")
    changed = only(sf, user_query(user_id[:15]))  # a 15-character Id finds the same user
    assert changed["Profile"]["Name"] == "Integration Deployer"
    assert changed["ProfileId"] != old_profile
    assert (changed["Name"], changed["Email"]) == ("Ada Quill", "ada@x.io")
    profiles = sf.query("SELECT Id, Name, PermissionsModifyMetadata FROM Profile")
    assert [p["Id"] for p in profiles["records"]] == [changed["ProfileId"]]
    assert profiles["records"][0]["PermissionsModifyMetadata"] is True


def test_records_owned_by_the_user_reach_it_through_owner(sf: Salesforce, http: OrgHttp) -> None:
    user_id = http.get("/services/oauth2/userinfo").json()["user_id"]
    made = table(sf, "Contact").create({"LastName": "Owned Ngata", "OwnerId": user_id})
    found = only(sf, f"SELECT Owner.Name, Owner.Email FROM Contact WHERE Id = '{made['id']}'")
    assert (found["Owner"]["Name"], found["Owner"]["Email"]) == ("Local Admin", "admin@local.sftk")


def test_describes_mark_the_fact_fields_read_only(sf: Salesforce) -> None:
    access = {f["name"]: f for f in table(sf, "UserPermissionAccess").describe()["fields"]}
    assert set(PERMISSIONS) <= set(access)
    modify = access["PermissionsModifyMetadata"]
    assert (modify["type"], modify["createable"], modify["updateable"]) == ("boolean", False, False)
    org_fields = {f["name"]: f for f in table(sf, "Organization").describe()["fields"]}
    for name in ("OrganizationType", "IsSandbox", "InstanceName", "TrialExpirationDate"):
        assert org_fields[name]["createable"] is False and org_fields[name]["updateable"] is False
    assert "Enterprise Edition" in [
        v["value"] for v in org_fields["OrganizationType"]["picklistValues"]
    ]
    user_fields = {f["name"]: f for f in table(sf, "User").describe()["fields"]}
    profile = user_fields["ProfileId"]
    assert (profile["referenceTo"], profile["relationshipName"]) == (["Profile"], "Profile")
    assert user_fields["IsActive"]["type"] == "boolean"


def test_writes_to_fact_records_are_refused(
    sf: Salesforce, http: OrgHttp, local_org: RunningOrg
) -> None:
    org_id = local_org.connection["org_id"]
    assert refusal(lambda: table(sf, "Organization").create({"Name": "Second"})) == (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "entity type cannot be inserted: Organization",
    )
    assert refusal(lambda: table(sf, "Organization").update(org_id, {"Phone": "555"})) == (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "entity type cannot be updated: Organization",
    )
    user_id = http.get("/services/oauth2/userinfo").json()["user_id"]
    assert refusal(lambda: table(sf, "User").delete(user_id)) == (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "entity type cannot be deleted: User",
    )
    profile_id = only(sf, user_query(user_id))["ProfileId"]
    assert refusal(lambda: table(sf, "Profile").update(profile_id, {"Description": "x"}))[1] == (
        "entity type cannot be updated: Profile"
    )
    rows = http.post(
        f"{V}/composite/sobjects",
        json={
            "records": [
                {"attributes": {"type": "UserPermissionAccess"}, "PermissionsApiEnabled": False},
                {"attributes": {"type": "Contact"}, "LastName": "Still Works"},
            ]
        },
    ).json()
    assert rows[0]["success"] is False
    assert rows[0]["errors"][0]["message"] == (
        "entity type cannot be inserted: User Permission Access"
    )
    assert rows[1]["success"] is True
    still = only(sf, ORG_QUERY)
    assert still["Name"] == "sftk Local Org"  # nothing changed
    assert only(sf, ACCESS_QUERY)["PermissionsApiEnabled"] is True


def test_standard_objects_that_are_never_created_refuse_inserts(sf: Salesforce) -> None:
    code, message = refusal(
        lambda: table(sf, "RecordType").create({"Name": "Tier", "DeveloperName": "Tier"})
    )
    assert (code, message) == (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "entity type cannot be inserted: Record Type",
    )


def test_a_bad_trial_expiration_date_is_refused(http: OrgHttp) -> None:
    response = http.patch("/_sftk/org", json={"trial_expiration_date": "next spring"})
    assert response.status_code == 400
    assert "trial_expiration_date" in response.json()[0]["message"]


def test_restart_keeps_the_records_and_repairs_an_older_state_folder(
    tmp_path: Path, org_factory: Callable[[Path], OrgHttp]
) -> None:
    first = org_factory(tmp_path)
    assert first.patch("/_sftk/org", json={"is_sandbox": True}).status_code == 200
    before = only(first.salesforce(), ORG_QUERY)
    stamp = first.get(f"{V}/sobjects/Organization/{before['Id']}").json()["SystemModstamp"]
    first.org.stop()
    # an org seeded before UserPermissionAccess existed: no such object, no row
    db = sqlite3.connect(tmp_path / "org.sqlite3")
    with db:
        db.execute("DELETE FROM schema_objects WHERE name = 'UserPermissionAccess'")
        db.execute("DELETE FROM records WHERE object = 'UserPermissionAccess'")
        db.execute("DELETE FROM schema_fields WHERE object = 'Profile' AND name LIKE 'Perm%'")
    db.close()
    again = org_factory(tmp_path)
    sf = again.salesforce()
    after = only(sf, ORG_QUERY)
    assert (after["Id"], after["IsSandbox"]) == (before["Id"], True)
    unchanged = again.get(f"{V}/sobjects/Organization/{after['Id']}").json()["SystemModstamp"]
    assert unchanged == stamp  # nothing rewritten when nothing changed
    assert only(sf, ACCESS_QUERY)["PermissionsModifyMetadata"] is True
    assert only(sf, "SELECT PermissionsApiEnabled FROM Profile")["PermissionsApiEnabled"] is True


def test_every_fact_object_gets_its_record(local_org: RunningOrg) -> None:
    facts = local_org.org.facts
    written = [name for name, _, _ in fact_records(facts)]
    assert sorted(written) == sorted(FACT_OBJECTS)
    for name, record_id, _ in fact_records(facts):
        assert records.get(local_org.org, name, record_id) is not None, name
