"""The Salesforce CLI (``sf``), unmodified, against ``sftk org serve``: log in with an access
token, deploy (metadata and source format, check-only, quick, REST, failing), retrieve, load
records with Bulk API 2.0 and query them. Each step checks sf's exit status and what the org
then holds."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import HERE, PACKAGES, LocalOrg

if TYPE_CHECKING:
    from conftest import SfRun


@pytest.fixture(scope="module")
def logged_in(sf: SfRun, local_org: LocalOrg) -> Any:
    """``sf org login access-token`` as a user of a real org runs it (the token from
    SF_ACCESS_TOKEN), under the alias the other steps use."""
    answer = sf(
        "org", "login", "access-token", "--instance-url", local_org.url, "--alias", "local",
        "--no-prompt",
    )  # fmt: skip
    assert answer.status == 0, answer.stderr or answer.data
    return answer.data["result"]


@pytest.fixture(scope="module")
def courses(sf: SfRun, logged_in: Any) -> Any:
    """The metadata-format package deployed over SOAP, the way most pipelines deploy."""
    return sf("project", "deploy", "start", "--metadata-dir", str(PACKAGES / "courses"),
              "--wait", "5")  # fmt: skip


def test_login_reads_the_orgs_identity(logged_in: Any, local_org: LocalOrg) -> None:
    assert logged_in["orgId"] == local_org.connection["org_id"]
    assert logged_in["username"] == local_org.connection["username"]
    assert logged_in["instanceUrl"].rstrip("/") == local_org.url


def test_deploy_metadata_format(courses: Any, local_org: LocalOrg) -> None:
    assert courses.status == 0, courses.data
    result = courses.data["result"]
    assert (result["status"], result["success"]) == ("Succeeded", True)
    assert result["numberComponentsDeployed"] == result["numberComponentsTotal"] == 6
    fields = local_org.fields("Course__c")
    assert fields["Code__c"]["externalId"] is True and fields["Code__c"]["length"] == 20
    assert fields["Credits__c"]["type"] == "double"
    contact = local_org.get("/services/data/v63.0/sobjects/Contact/describe")
    assert (contact["label"], contact["labelPlural"]) == ("Contact", "Contacts")
    assert "Learner_Number__c" in {f["name"] for f in contact["fields"]}
    assert "Course_Admin" in local_org.components("PermissionSet")


def test_deploy_source_format(sf: SfRun, logged_in: Any, local_org: LocalOrg) -> None:
    answer = sf("project", "deploy", "start", "--source-dir", "force-app", "--wait", "5")
    assert answer.status == 0, answer.data
    states = {(f["fullName"], f["state"]) for f in answer.data["result"]["files"]}
    assert states == {("Contact.Mentor_Email__c", "Created"), ("Mentors", "Created")}
    assert local_org.fields("Contact")["Mentor_Email__c"]["type"] == "email"
    assert "Mentors" in local_org.components("PermissionSet")


def test_validate_then_quick_deploy(sf: SfRun, courses: Any, local_org: LocalOrg) -> None:
    validated = sf("project", "deploy", "validate", "--metadata-dir",
                   str(PACKAGES / "course_level"), "--test-level", "RunLocalTests",
                   "--wait", "5")  # fmt: skip
    assert validated.status == 0, validated.data
    result = validated.data["result"]
    assert (result["status"], result["checkOnly"]) == ("Succeeded", True)
    assert "Level__c" not in local_org.fields("Course__c")  # a validation commits nothing
    quick = sf("project", "deploy", "quick", "--job-id", result["id"], "--wait", "5")
    assert quick.status == 0, quick.data
    assert quick.data["result"]["status"] == "Succeeded"
    level = local_org.fields("Course__c")["Level__c"]
    assert [v["value"] for v in level["picklistValues"]] == ["Introductory", "Advanced"]


def test_deploy_over_rest(sf: SfRun, courses: Any, local_org: LocalOrg) -> None:
    """SF_ORG_METADATA_REST_DEPLOY sends the zip to metadata/deployRequest (multipart)."""
    marker = {"route": "rest.metadata.deploy", "kind": "latency", "count": 1, "seconds": 0}
    assert local_org.session.post(local_org.url + "/_sftk/faults", json=marker).ok
    answer = sf("project", "deploy", "start", "--metadata-dir", str(PACKAGES / "course_layout"),
                "--wait", "5", env={"SF_ORG_METADATA_REST_DEPLOY": "true"})  # fmt: skip
    assert answer.status == 0, answer.data
    assert answer.data["result"]["status"] == "Succeeded"
    left = [f for f in local_org.get("/_sftk/faults") if f["route"] == "rest.metadata.deploy"]
    assert all(f["remaining"] == 0 for f in left)  # the REST resource took the deploy
    assert "Course__c-Course Layout" in local_org.components("Layout")


def test_a_failing_deploy_fails_and_commits_nothing(
    sf: SfRun, logged_in: Any, local_org: LocalOrg
) -> None:
    answer = sf("project", "deploy", "start", "--metadata-dir", str(PACKAGES / "failing"),
                "--wait", "5")  # fmt: skip
    assert answer.status == 1, answer.data
    result = answer.data["result"]
    assert (result["status"], result["success"]) == ("Failed", False)
    problems = [f["problem"] for f in result["details"]["componentFailures"]]
    assert problems == ["Field Venue__c does not exist. Check spelling."]
    assert "Workshop__c" not in local_org.components("CustomObject")


def test_retrieve_into_the_project(sf: SfRun, courses: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(HERE / "project", project)
    answer = sf("project", "retrieve", "start", "--metadata", "CustomObject:Course__c",
                "--metadata", "PermissionSet:Course_Admin", "--wait", "5",
                cwd=project)  # fmt: skip
    assert answer.status == 0, answer.data
    assert answer.data["result"]["status"] == "Succeeded"
    objects = project / "force-app" / "main" / "default" / "objects" / "Course__c"
    assert "<label>Course</label>" in (objects / "Course__c.object-meta.xml").read_text()
    code = (objects / "fields" / "Code__c.field-meta.xml").read_text()
    assert "<externalId>true</externalId>" in code and "<length>20</length>" in code
    permissions = project / "force-app/main/default/permissionsets"
    assert (
        "Course__c.Credits__c" in (permissions / "Course_Admin.permissionset-meta.xml").read_text()
    )


def test_bulk_upsert_then_query(sf: SfRun, courses: Any, local_org: LocalOrg) -> None:
    loaded = sf("data", "upsert", "bulk", "--sobject", "Course__c", "--file",
                str(HERE / "data" / "courses.csv"), "--external-id", "Code__c",
                "--wait", "5")  # fmt: skip
    assert loaded.status == 0, loaded.data
    job = loaded.data["result"]["jobInfo"]
    assert (job["state"], job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (
        "JobComplete",
        3,
        0,
    )
    stored = local_org.query("SELECT Code__c, Name, Credits__c FROM Course__c ORDER BY Code__c")
    assert stored == [
        {"Code__c": "C-101", "Name": "Algebra", "Credits__c": 5},
        {"Code__c": "C-102", "Name": "Botany", "Credits__c": 3},
        {"Code__c": "C-103", "Name": "Chemistry", "Credits__c": 4},
    ]
    soql = "SELECT Code__c, Name FROM Course__c WHERE Credits__c > 3 ORDER BY Code__c"
    queried = sf("data", "query", "--query", soql)
    assert queried.status == 0, queried.data
    rows = [
        {k: v for k, v in r.items() if k != "attributes"} for r in queried.data["result"]["records"]
    ]
    assert rows == [
        {"Code__c": "C-101", "Name": "Algebra"},
        {"Code__c": "C-103", "Name": "Chemistry"},
    ]
    assert queried.data["result"]["totalSize"] == 2
