"""Apex in the local org: a coverage profile set by the user, Salesforce's test and coverage
rules applied to it in deploys, and the Tooling coverage queries, all driven over real HTTPS
with simple-salesforce and raw SOAP/REST. Each test gets a private org, since org-wide
coverage depends on everything an org holds."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lxml import etree

from toolkit.localorg import apex, deploys
from toolkit.metadata.schema import build_xsd, bundled_wsdl_path, read_wsdl

if TYPE_CHECKING:
    from tests.localorg.conftest import OrgHttp

MD = "http://soap.sforce.com/2006/04/metadata"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"m": MD, "s": ENV}
TOOLING = "/services/data/v63.0/tooling/query"


def xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body.strip()}\n'.encode()


def meta(kind: str) -> bytes:
    return xml(
        f'<{kind} xmlns="{MD}"><apiVersion>63.0</apiVersion><status>Active</status></{kind}>'
    )


# Lines:          1 ...
GRADER = b"""public with sharing class Grader {
    // Turns a score into a letter grade.
    public static String letter(Integer score) {
        if (score >= 90) {
            return 'A';
        } else if (score >= 75) {
            return 'B';
        }
        /* anything below
           is a C */
        String fallback = 'C // not a comment';
        return fallback;
    }
}
"""
GRADER_COUNTABLE = (1, 3, 4, 5, 6, 7, 11, 12)

TRIGGER = b"""trigger EnrollmentTrigger on Contact (before insert) {
    for (Contact pupil : Trigger.new) {
        pupil.Description = Grader.letter(80);
    }
}
"""
TRIGGER_COUNTABLE = (1, 2, 3)

GRADER_TEST = b"""@IsTest
private class GraderTest {
    @IsTest
    static void gradesAnA() {
        System.assertEquals('A', Grader.letter(95));
    }
}
"""


def package(types: dict[str, list[str]]) -> bytes:
    entries = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{name}</name>"
        "</types>"
        for name, members in types.items()
    )
    return xml(f'<Package xmlns="{MD}">{entries}<version>63.0</version></Package>')


def apex_zip(classes: dict[str, bytes], triggers: dict[str, bytes] | None = None) -> bytes:
    triggers = triggers or {}
    types = {"ApexClass": sorted(classes)}
    if triggers:
        types["ApexTrigger"] = sorted(triggers)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("src/package.xml", package(types))
        for name, body in classes.items():
            archive.writestr(f"src/classes/{name}.cls", body)
            archive.writestr(f"src/classes/{name}.cls-meta.xml", meta("ApexClass"))
        for name, body in triggers.items():
            archive.writestr(f"src/triggers/{name}.trigger", body)
            archive.writestr(f"src/triggers/{name}.trigger-meta.xml", meta("ApexTrigger"))
    return buffer.getvalue()


SCHOOL = apex_zip({"Grader": GRADER, "GraderTest": GRADER_TEST}, {"EnrollmentTrigger": TRIGGER})


def soap_call(http: OrgHttp, body: str) -> tuple[int, etree._Element]:
    envelope = (
        f'<e:Envelope xmlns:e="{ENV}" xmlns:x="{MD}"><e:Header><x:SessionHeader>'
        f"<x:sessionId>{http.org.access_token}</x:sessionId></x:SessionHeader></e:Header>"
        f"<e:Body>{body}</e:Body></e:Envelope>"
    )
    answer = http.post(
        "/services/Soap/m/63.0",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": "x"},
        auth=False,
    )
    return answer.status_code, etree.fromstring(answer.content)


def start_deploy(http: OrgHttp, data: bytes, **options: Any) -> tuple[int, etree._Element]:
    opts = ""
    for key, value in sorted(options.items()):
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = str(item).lower() if isinstance(item, bool) else item
            opts += f"<x:{key}>{text}</x:{key}>"
    encoded = base64.b64encode(data).decode()
    return soap_call(
        http,
        f"<x:deploy><x:ZipFile>{encoded}</x:ZipFile><x:DeployOptions>{opts}"
        "</x:DeployOptions></x:deploy>",
    )


def deploy(http: OrgHttp, data: bytes, **options: Any) -> str:
    status, root = start_deploy(http, data, **options)
    assert status == 200, etree.tostring(root)
    return str(root.findtext(".//m:result/m:id", namespaces=NS))


def deploy_status(http: OrgHttp, deploy_id: str) -> etree._Element:
    status, root = soap_call(
        http,
        f"<x:checkDeployStatus><x:asyncProcessId>{deploy_id}</x:asyncProcessId>"
        "<x:includeDetails>true</x:includeDetails></x:checkDeployStatus>",
    )
    assert status == 200, etree.tostring(root)
    result = root.find(".//m:checkDeployStatusResponse/m:result", NS)
    assert result is not None
    return result


def wait(http: OrgHttp, deploy_id: str) -> etree._Element:
    for _ in range(500):
        result = deploy_status(http, deploy_id)
        if result.findtext("m:done", namespaces=NS) == "true":
            return result
        time.sleep(0.02)
    raise AssertionError(f"deploy {deploy_id} did not finish")


def text(result: etree._Element, path: str) -> str:
    return str(result.findtext(path, namespaces=NS))


def entries(result: etree._Element, member: str) -> list[dict[str, Any]]:
    """The runTestResult's ``member`` entries as dicts; repeated children become lists."""
    found = []
    for entry in result.findall(f"m:details/m:runTestResult/m:{member}", NS):
        item: dict[str, Any] = {}
        for child in entry:
            name = etree.QName(child).localname
            value: Any = child.text
            if child.get(f"{{{XSI}}}nil") == "true":
                value = None
            elif len(child):
                value = {etree.QName(c).localname: c.text for c in child}
            if name == "locationsNotCovered":
                item.setdefault(name, []).append(value)
            else:
                item[name] = value
        found.append(item)
    return found


def names(http: OrgHttp, type_name: str) -> dict[str, str]:
    _, root = soap_call(
        http,
        f"<x:listMetadata><x:queries><x:type>{type_name}</x:type></x:queries></x:listMetadata>",
    )
    return {
        str(r.findtext("m:fullName", namespaces=NS)): str(r.findtext("m:id", namespaces=NS))
        for r in root.iterfind(".//m:result", NS)
    }


def set_profile(http: OrgHttp, profile: dict[str, Any]) -> None:
    answer = http.request("PUT", "/_sftk/coverage", json=profile)
    assert answer.status_code == 200, answer.text


def lines(covered: int, uncovered: int) -> dict[str, list[int]]:
    return {
        "covered": list(range(1, covered + 1)),
        "uncovered": list(range(covered + 1, covered + uncovered + 1)),
    }


@pytest.fixture
def org(tmp_path: Path, org_factory: Callable[[Path], OrgHttp]) -> OrgHttp:
    """A private org on a production edition, deploying quickly."""
    client = org_factory(tmp_path)
    deploys.set_component_delay(client.org.org, 0.002)
    answer = client.patch("/_sftk/org", json={"organization_type": "Enterprise Edition"})
    assert answer.status_code == 200
    return client


@pytest.fixture(scope="module")
def wsdl_schema() -> etree.XMLSchema:
    xsd = build_xsd(read_wsdl(bundled_wsdl_path()), "metadata.wsdl")
    return etree.XMLSchema(etree.fromstring(xsd))


def assert_valid(result: etree._Element, schema: etree.XMLSchema) -> None:
    response = result.getparent()
    assert response is not None
    assert schema.validate(response), schema.error_log


# --- production deploys -------------------------------------------------------------------------


def test_production_deploy_at_80_percent_passes_and_reports_coverage(
    org: OrgHttp, wsdl_schema: etree.XMLSchema
) -> None:
    set_profile(
        org,
        {
            "classes": {"Grader": {"covered": [1, 3, 4, 5, 6, 7, 11, 12], "uncovered": [8, 9]}},
            "triggers": {"EnrollmentTrigger": {"covered": [1, 2, 3, 4], "uncovered": [5]}},
        },
    )
    sf = org.salesforce()
    started = sf.deploy(io.BytesIO(SCHOOL), sandbox=False)
    for _ in range(500):
        answer = sf.checkDeployStatus(str(started["asyncId"]))
        if answer["state"] in ("Succeeded", "Failed"):
            break
        time.sleep(0.02)
    assert answer["state"] == "Succeeded", answer
    tests = answer["unit_test_detail"]
    assert isinstance(tests, dict)
    assert (tests["total_count"], tests["completed_count"], tests["failed_count"]) == (
        "1",
        "1",
        "0",
    )

    result = deploy_status(org, str(started["asyncId"]))
    assert_valid(result, wsdl_schema)
    assert text(result, "m:runTestsEnabled") == "true"
    assert text(result, "m:details/m:runTestResult/m:numTestsRun") == "1"
    classes, triggers = names(org, "ApexClass"), names(org, "ApexTrigger")
    assert entries(result, "successes") == [
        {
            "id": classes["GraderTest"],
            "methodName": "test",
            "name": "GraderTest",
            "namespace": None,
            "time": "0.0",
        }
    ]
    coverage = {c["name"]: c for c in entries(result, "codeCoverage")}
    assert set(coverage) == {"Grader", "EnrollmentTrigger"}  # test classes are not counted
    grader = coverage["Grader"]
    assert (grader["id"], grader["type"]) == (classes["Grader"], "Class")
    assert (grader["numLocations"], grader["numLocationsNotCovered"]) == ("10", "2")
    assert [(loc["line"], loc["column"]) for loc in grader["locationsNotCovered"]] == [
        ("8", "9"),  # the line's code starts in column 9
        ("9", "9"),
    ]
    trigger = coverage["EnrollmentTrigger"]
    assert (trigger["id"], trigger["type"]) == (triggers["EnrollmentTrigger"], "Trigger")
    assert (trigger["numLocations"], trigger["numLocationsNotCovered"]) == ("5", "1")
    assert entries(result, "codeCoverageWarnings") == []
    note = next(
        m.findtext("m:problem", namespaces=NS)
        for m in result.findall("m:details/m:componentSuccesses", NS)
        if m.findtext("m:fullName", namespaces=NS) == "Grader"
    )
    assert note is not None and "does not compile or run it" in note


def test_production_deploy_at_50_percent_fails_and_commits_nothing(
    org: OrgHttp, wsdl_schema: etree.XMLSchema
) -> None:
    set_profile(
        org,
        {
            "classes": {"Grader": lines(4, 4)},
            "triggers": {"EnrollmentTrigger": lines(2, 2)},
        },
    )
    result = wait(org, deploy(org, SCHOOL, rollbackOnError=True))
    assert_valid(result, wsdl_schema)
    assert (text(result, "m:status"), text(result, "m:success")) == ("Failed", "false")
    assert entries(result, "codeCoverageWarnings") == [
        {
            "id": org.get("/_sftk/org").json()["org_id"],
            "message": "Average test coverage across all Apex Classes and Triggers is 50%, at "
            "least 75% test coverage is required.",
            "name": None,
            "namespace": None,
        }
    ]
    assert text(result, "m:numberTestsCompleted") == "1"
    assert text(result, "m:numberComponentsDeployed") == "0"
    assert names(org, "ApexClass") == {} and names(org, "ApexTrigger") == {}
    quick = soap_call(
        org,
        f"<x:deployRecentValidation><x:validationId>{text(result, 'm:id')}</x:validationId>"
        "</x:deployRecentValidation>",
    )[1]
    assert quick.findtext(".//faultcode") == "sf:INVALID_ID_FIELD"


def test_an_untested_trigger_fails_production(org: OrgHttp) -> None:
    set_profile(org, {"classes": {"Grader": lines(40, 0)}})  # the trigger has no entry
    result = wait(org, deploy(org, SCHOOL))
    assert text(result, "m:status") == "Failed"
    warnings = entries(result, "codeCoverageWarnings")
    assert [(w["name"], w["message"]) for w in warnings] == [
        (
            "EnrollmentTrigger",
            "Test coverage of selected Apex Trigger is 0%, at least 1% test coverage is required",
        )
    ]
    trigger = next(c for c in entries(result, "codeCoverage") if c["name"] == "EnrollmentTrigger")
    assert trigger["numLocations"] == str(len(TRIGGER_COUNTABLE))
    assert [loc["line"] for loc in trigger["locationsNotCovered"]] == [
        str(n) for n in TRIGGER_COUNTABLE
    ]
    assert names(org, "ApexTrigger") == {}


def test_a_failing_test_method_fails_the_deploy_with_its_failure_listed(
    org: OrgHttp, wsdl_schema: etree.XMLSchema
) -> None:
    set_profile(
        org,
        {
            "classes": {"Grader": lines(10, 0)},
            "triggers": {"EnrollmentTrigger": lines(5, 0)},
            "tests": {
                "GraderTest": {
                    "methods": ["gradesAnA", "gradesAB"],
                    "failures": {
                        "gradesAB": {
                            "message": "System.AssertException: Assertion Failed: Expected: B",
                            "stackTrace": "Class.GraderTest.gradesAB: line 9, column 1",
                        }
                    },
                }
            },
        },
    )
    sf = org.salesforce()
    started = sf.deploy(io.BytesIO(SCHOOL), sandbox=False, checkOnly=True)
    for _ in range(500):
        answer = sf.checkDeployStatus(str(started["asyncId"]))
        if answer["state"] in ("Succeeded", "Failed"):
            break
        time.sleep(0.02)
    assert answer["state"] == "Failed"
    tests = answer["unit_test_detail"]
    assert isinstance(tests, dict)
    assert tests["errors"] == [
        {
            "class": "GraderTest",
            "method": "gradesAB",
            "message": "System.AssertException: Assertion Failed: Expected: B",
            "stack_trace": "Class.GraderTest.gradesAB: line 9, column 1",
        }
    ]
    assert (tests["total_count"], tests["completed_count"], tests["failed_count"]) == (
        "2",
        "1",
        "1",
    )
    result = deploy_status(org, str(started["asyncId"]))
    assert_valid(result, wsdl_schema)
    failure = entries(result, "failures")[0]
    assert (failure["type"], failure["packageName"], failure["namespace"]) == (
        "Class",
        "GraderTest",
        None,
    )
    assert [s["methodName"] for s in entries(result, "successes")] == ["gradesAnA"]
    assert text(result, "m:details/m:runTestResult/m:numFailures") == "1"
    assert entries(result, "codeCoverageWarnings") == []
    assert names(org, "ApexClass") == {}


def test_no_test_run_is_refused_on_production_and_the_default_on_a_sandbox(org: OrgHttp) -> None:
    status, root = start_deploy(org, SCHOOL, testLevel="NoTestRun")
    assert status == 500
    assert root.findtext(".//faultstring") == (
        "INVALID_OPERATION: testLevel of NoTestRun cannot be used in production organizations"
    )
    org.patch("/_sftk/org", json={"is_sandbox": True})
    for options in ({}, {"testLevel": "NoTestRun"}):
        result = wait(org, deploy(org, SCHOOL, **options))
        assert text(result, "m:status") == "Succeeded"
        assert text(result, "m:runTestsEnabled") == "false"
        assert text(result, "m:numberTestsTotal") == "0"
        run = result.find("m:details/m:runTestResult", NS)
        assert run is not None
        assert [etree.QName(c).localname for c in run] == [
            "numFailures",
            "numTestsRun",
            "totalTime",
        ]
    assert set(names(org, "ApexClass")) == {"Grader", "GraderTest"}


# --- specified tests ------------------------------------------------------------------------------

HELPER = b"""public class RosterHelper {
    public static Integer size(List<Contact> pupils) {
        return pupils.size();
    }
}
"""


def test_run_specified_tests_needs_75_percent_per_class(
    org: OrgHttp, wsdl_schema: etree.XMLSchema
) -> None:
    org.patch("/_sftk/org", json={"is_sandbox": True})
    set_profile(org, {"classes": {"Grader": lines(100, 0), "RosterHelper": lines(6, 4)}})
    assert text(wait(org, deploy(org, SCHOOL)), "m:status") == "Succeeded"
    helper = apex_zip({"RosterHelper": HELPER})
    # org-wide the org is far above 75%, but the class deployed has 60%
    result = wait(org, deploy(org, helper, testLevel="RunSpecifiedTests", runTests=["GraderTest"]))
    assert text(result, "m:status") == "Failed"
    assert [(w["name"], w["message"]) for w in entries(result, "codeCoverageWarnings")] == [
        ("RosterHelper", "Test coverage of selected Apex Class is 60%, at least 75% required")
    ]
    assert "RosterHelper" not in names(org, "ApexClass")

    set_profile(org, {"classes": {"Grader": lines(100, 0), "RosterHelper": lines(8, 2)}})
    result = wait(
        org,
        deploy(org, helper, testLevel="RunSpecifiedTests", runTests=["GraderTest", "Missing"]),
    )
    assert text(result, "m:status") == "Failed"
    assert_valid(result, wsdl_schema)
    assert [(f["name"], f["methodName"], f["message"]) for f in entries(result, "failures")] == [
        (
            "Missing",
            None,
            "This class name's value is invalid: Missing. Provide the name of an Apex class that "
            "has test methods.",
        )
    ]
    result = wait(org, deploy(org, helper, testLevel="RunSpecifiedTests", runTests=["gradertest"]))
    assert text(result, "m:status") == "Succeeded"
    assert "RosterHelper" in names(org, "ApexClass")
    status, root = start_deploy(org, helper, testLevel="RunSpecifiedTests")
    assert status == 500 and "runTests must not be empty" in str(root.findtext(".//faultstring"))


def test_a_validation_with_tests_can_be_quick_deployed_and_rest_shows_the_run(
    org: OrgHttp,
) -> None:
    set_profile(
        org,
        {
            "classes": {"Grader": lines(9, 1)},
            "triggers": {"EnrollmentTrigger": lines(5, 0)},
            "tests": {"GraderTest": {"methods": ["a", "b", "c", "d"]}},
        },
    )
    deploys.set_component_delay(org.org.org, 0.08)
    validation = deploy(org, SCHOOL, checkOnly=True, testLevel="RunLocalTests")
    seen = []
    for _ in range(300):
        result = deploy_status(org, validation)
        seen.append(int(text(result, "m:numberTestsCompleted")))
        if text(result, "m:done") == "true":
            break
        time.sleep(0.01)
    deploys.set_component_delay(org.org.org, 0.002)
    assert text(result, "m:status") == "Succeeded"
    assert seen == sorted(seen) and seen[-1] == 4 and any(0 < n < 4 for n in seen)
    assert names(org, "ApexClass") == {}

    answer = org.get(
        f"/services/data/v63.0/metadata/deployRequest/{validation}",
        params={"includeDetails": "true"},
    )
    run = answer.json()["deployResult"]["details"]["runTestResult"]
    assert (run["numTestsRun"], run["numFailures"]) == (4, 0)
    assert [s["methodName"] for s in run["successes"]] == ["a", "b", "c", "d"]
    assert {c["name"]: c["numLocationsNotCovered"] for c in run["codeCoverage"]} == {
        "EnrollmentTrigger": 0,
        "Grader": 1,
    }

    _, root = soap_call(
        org,
        f"<x:deployRecentValidation><x:validationId>{validation}</x:validationId>"
        "</x:deployRecentValidation>",
    )
    quick = str(root.findtext(".//m:result", namespaces=NS))
    assert text(wait(org, quick), "m:status") == "Succeeded"
    assert set(names(org, "ApexClass")) == {"Grader", "GraderTest"}


# --- Tooling ------------------------------------------------------------------------------------


def test_tooling_queries_answer_from_the_profile(org: OrgHttp) -> None:
    org.patch("/_sftk/org", json={"is_sandbox": True})
    assert text(wait(org, deploy(org, SCHOOL)), "m:status") == "Succeeded"
    set_profile(
        org,
        {"classes": {"Grader": {"covered": [1, 3, 4, 5, 6], "uncovered": [7, 11, 12]}}},
    )
    sf = org.salesforce()
    wide = sf.toolingexecute("query/?q=SELECT+PercentCovered+FROM+ApexOrgWideCoverage")
    assert wide["records"][0]["PercentCovered"] == 45  # 5 of 8 + 3 countable trigger lines
    assert wide["entityTypeName"] == "ApexOrgWideCoverage" and wide["queryLocator"] is None

    soql = (
        "SELECT ApexClassOrTrigger.Name, ApexClassOrTriggerId, NumLinesCovered, "
        "NumLinesUncovered FROM ApexCodeCoverageAggregate ORDER BY ApexClassOrTrigger.Name ASC"
    )
    answer = org.get(TOOLING, params={"q": soql}).json()
    classes, triggers = names(org, "ApexClass"), names(org, "ApexTrigger")
    assert (answer["size"], answer["totalSize"], answer["done"]) == (2, 2, True)
    first, second = answer["records"]
    sobjects = "/services/data/v63.0/tooling/sobjects"
    assert first["ApexClassOrTrigger"] == {
        "attributes": {
            "type": "Name",
            "url": f"{sobjects}/ApexTrigger/{triggers['EnrollmentTrigger']}",
        },
        "Name": "EnrollmentTrigger",
    }
    assert (first["NumLinesCovered"], first["NumLinesUncovered"]) == (0, 3)
    assert (second["ApexClassOrTriggerId"], second["NumLinesCovered"]) == (classes["Grader"], 5)
    assert list(second) == [
        "attributes",
        "ApexClassOrTrigger",
        "ApexClassOrTriggerId",
        "NumLinesCovered",
        "NumLinesUncovered",
    ]
    url = second["attributes"]["url"]
    assert url.startswith(f"{sobjects}/ApexCodeCoverageAggregate/715")
    assert len(url.rpartition("/")[2]) == 18 and url != first["attributes"]["url"]

    one = org.get(
        TOOLING,
        params={
            "q": "select Coverage from ApexCodeCoverageAggregate "
            "where ApexClassOrTrigger.Name = 'grader'"
        },
    ).json()
    assert [r["Coverage"] for r in one["records"]] == [
        {"coveredLines": [1, 3, 4, 5, 6], "uncoveredLines": [7, 11, 12]}
    ]
    listed = org.get(
        TOOLING,
        params={
            "q": "SELECT NumLinesUncovered FROM ApexCodeCoverageAggregate WHERE "
            "ApexClassOrTrigger.Name IN ('Grader', 'EnrollmentTrigger', 'Nobody') "
            "ORDER BY NumLinesUncovered DESC LIMIT 1"
        },
    ).json()
    assert [r["NumLinesUncovered"] for r in listed["records"]] == [3]
    by_id = org.get(
        TOOLING,
        params={
            "q": "SELECT ApexClassOrTrigger.Name FROM ApexCodeCoverageAggregate "
            f"WHERE ApexClassOrTriggerId = '{classes['Grader'][:15]}'"
        },
    ).json()
    assert [r["ApexClassOrTrigger"]["Name"] for r in by_id["records"]] == ["Grader"]
    none = org.get(
        TOOLING,
        params={"q": "SELECT Id FROM ApexCodeCoverageAggregate WHERE ApexClassOrTriggerId = 'x'"},
    ).json()
    assert (none["size"], none["entityTypeName"], none["records"]) == (0, None, [])


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT Id, Name FROM ApexClass", "INVALID_TYPE", "answers only queries of"),
        ("SELECT Colour FROM ApexOrgWideCoverage", "INVALID_FIELD", "No such column 'Colour'"),
        ("DELETE FROM ApexOrgWideCoverage", "MALFORMED_QUERY", "cannot read"),
        (
            "SELECT Id FROM ApexCodeCoverageAggregate WHERE NumLinesCovered > 3",
            "MALFORMED_QUERY",
            "cannot read the condition",
        ),
        ("", "MALFORMED_QUERY", "q parameter"),
    ],
)
def test_other_tooling_queries_are_refused_honestly(
    http: OrgHttp, soql: str, code: str, words: str
) -> None:
    answer = http.get(TOOLING, params={"q": soql})
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["errorCode"] == code and words in error["message"]


# --- the profile itself -------------------------------------------------------------------------


def test_the_profile_survives_a_restart(
    tmp_path: Path, org_factory: Callable[[Path], OrgHttp]
) -> None:
    first = org_factory(tmp_path)
    profile = {
        "classes": {"Grader": {"covered": [3, 1], "uncovered": [2]}},
        "tests": {"GraderTest": {"methods": ["a"], "failures": {"a": {"message": "boom"}}}},
    }
    set_profile(first, profile)
    expected = {
        "classes": {"Grader": {"covered": [1, 3], "uncovered": [2]}},
        "triggers": {},
        "tests": {
            "GraderTest": {
                "methods": ["a"],
                "failures": {"a": {"message": "boom", "stackTrace": None}},
            }
        },
    }
    assert first.get("/_sftk/coverage").json() == expected
    first.org.stop()
    second = org_factory(tmp_path)
    assert second.get("/_sftk/coverage").json() == expected
    assert second.get("/_sftk/coverage", auth=False).status_code == 401


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"clases": {}}', "unknown member 'clases'"),
        (b'{"classes": {"Grader": {"covered": [0]}}}', "classes.Grader.covered[0] is 0"),
        (b'{"classes": {"Grader": {"covered": [2], "uncovered": [2]}}}', "line 2 is both"),
        (b'{"classes": {"Grader": {"covered": [true]}}}', "classes.Grader.covered[0] is True"),
        (b'{"triggers": {"My Trigger": {}}}', "'My Trigger' is not an Apex name"),
        (
            b'{"tests": {"T": {"methods": ["a"], "failures": {"b": {"message": "x"}}}}}',
            "tests.T.failures.b: 'b' is not one of the methods",
        ),
        (b'{"tests": {"T": {"failures": {"test": {}}}}}', "tests.T.failures.test.message"),
        (b'{"classes": {"T": {}}, "tests": {"t": {}}}', "under both classes and tests"),
    ],
)
def test_a_bad_profile_is_refused_with_a_clear_message(
    http: OrgHttp, body: bytes, words: str
) -> None:
    set_profile(http, {"classes": {"Kept": lines(1, 0)}})
    answer = http.request(
        "PUT", "/_sftk/coverage", data=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["errorCode"] == "INVALID_FIELD" and words in error["message"], error
    assert list(http.get("/_sftk/coverage").json()["classes"]) == ["Kept"]


def test_countable_lines_and_test_classes_are_read_from_the_source() -> None:
    assert apex.countable_lines(GRADER) == GRADER_COUNTABLE
    assert apex.countable_lines(TRIGGER) == TRIGGER_COUNTABLE
    assert apex.is_test_source(GRADER_TEST)
    assert apex.is_test_source(b"@isTest(SeeAllData=false) class T {}")
    assert not apex.is_test_source(b"class Plain { String s = '@isTest'; } // @isTest")
