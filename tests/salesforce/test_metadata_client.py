"""MetadataClient against the local org over real HTTPS: deploys with successes, failures and Apex
test results, validation and quick deploy, cancel, retrieve, list, describe, and every way a call
can fail (faults, a bad session, a dropped connection, a slow org, an answer that is not SOAP).

The package is a small public-library example written here; simple-salesforce (through
``OrgConnection.rest()``) checks that deployed schema became live.
"""

from __future__ import annotations

import base64
import io
import time
import zipfile
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
import requests
from lxml import etree

from toolkit.errors import OrgError
from toolkit.localorg import deploys
from toolkit.localorg.org import RunningOrg
from toolkit.metadata import xmlsafe
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.metadata_client import MetadataClient
from toolkit.salesforce.results import DeployOptions, DeployResult
from toolkit.salesforce.retrieve_results import ListMetadataQuery, RetrieveRequest, RetrieveResult

if TYPE_CHECKING:
    from tests.conftest import Control

MD = "http://soap.sforce.com/2006/04/metadata"


def xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body.strip()}\n'.encode()


def package(types: dict[str, list[str]]) -> bytes:
    entries = "".join(
        "\n    <types>"
        + "".join(f"\n        <members>{m}</members>" for m in members)
        + f"\n        <name>{name}</name>\n    </types>"
        for name, members in types.items()
    )
    return xml(f'<Package xmlns="{MD}">{entries}\n    <version>66.0</version>\n</Package>')


def volume(name: str) -> bytes:
    return xml(f"""
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields>
        <fullName>Isbn__c</fullName>
        <label>ISBN</label>
        <length>13</length>
        <required>false</required>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Pages__c</fullName>
        <label>Pages</label>
        <precision>5</precision>
        <scale>0</scale>
        <type>Number</type>
    </fields>
    <label>{name}</label>
    <nameField>
        <label>Title</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>{name}s</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""")


def layout(field: str) -> bytes:
    return xml(f"""
<Layout xmlns="{MD}">
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>true</editHeading>
        <layoutColumns>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>{field}</field>
            </layoutItems>
        </layoutColumns>
        <style>OneColumn</style>
    </layoutSections>
</Layout>
""")


def apex_meta(kind: str = "ApexClass") -> bytes:
    return xml(
        f'<{kind} xmlns="{MD}"><apiVersion>66.0</apiVersion><status>Active</status></{kind}>'
    )


LATE_FEE = b"""public with sharing class LateFee {
    public static Decimal charge(Integer daysLate) {
        if (daysLate <= 0) {
            return 0;
        }
        return daysLate * 0.5;
    }
}
"""
LATE_FEE_TEST = b"""@IsTest
private class LateFeeTest {
    @IsTest static void chargesPerDay() { System.assertEquals(1.5, LateFee.charge(3)); }
    @IsTest static void waivesFirstDay() { System.assertEquals(0, LateFee.charge(1)); }
    @IsTest static void refusesNegativeDays() { System.assertEquals(0, LateFee.charge(-2)); }
}
"""
RENEWAL = b"""public class Renewal {
    public static Integer weeks() {
        return 3;
    }
}
"""
RENEWAL_TEST = b"""@IsTest
private class RenewalTest {
    @IsTest static void threeWeeks() { System.assertEquals(3, Renewal.weeks()); }
}
"""

BOOK = volume("Book")
BOOK_LAYOUT = layout("Isbn__c")
LIBRARY = {
    "package.xml": package({"CustomObject": ["Book__c"], "Layout": ["Book__c-Book Layout"]}),
    "objects/Book__c.object": BOOK,
    "layouts/Book__c-Book Layout.layout": BOOK_LAYOUT,
}


def make_zip(files: dict[str, bytes], root: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(root + path, content)
    return buffer.getvalue()


def apex_zip(classes: dict[str, bytes]) -> bytes:
    files = {"package.xml": package({"ApexClass": sorted(classes)})}
    for name, source in classes.items():
        files[f"classes/{name}.cls"] = source
        files[f"classes/{name}.cls-meta.xml"] = apex_meta()
    return make_zip(files)


def wait(client: MetadataClient, deploy_id: str) -> DeployResult:
    for _ in range(1000):
        result = client.check_deploy_status(deploy_id)
        if result.done:
            return result
        time.sleep(0.02)
    raise AssertionError(f"deploy {deploy_id} did not finish")


def retrieve(
    client: MetadataClient, request: RetrieveRequest, zip_too: bool = True
) -> RetrieveResult:
    retrieve_id = client.retrieve(request)
    for _ in range(500):
        result = client.check_retrieve_status(retrieve_id, include_zip=zip_too)
        if result.done:
            return result
        time.sleep(0.02)
    raise AssertionError(f"retrieve {retrieve_id} did not finish")


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def names(client: MetadataClient, type_name: str) -> set[str]:
    return {p.full_name for p in client.list_metadata([ListMetadataQuery(type_name)])}


@pytest.fixture(scope="module")
def client(connection: OrgConnection, local_org: RunningOrg) -> MetadataClient:
    deploys.set_component_delay(local_org.org, 0.002)
    return MetadataClient(connection)


@pytest.fixture(scope="module")
def library(client: MetadataClient) -> DeployResult:
    """The library package deployed under a root folder, as most tools zip it."""
    return wait(client, client.deploy(make_zip(LIBRARY, "src/"), DeployOptions()))


# --- deploys ------------------------------------------------------------------------------------


def test_a_deploy_reports_every_component_it_deployed(
    library: DeployResult, connection: OrgConnection
) -> None:
    assert (library.status, library.done, library.success) == ("Succeeded", True, True)
    assert not library.check_only and library.rollback_on_error and not library.run_tests_enabled
    assert library.number_components_total == library.number_components_deployed == 4
    assert library.number_component_errors == 0 and library.component_failures == ()
    successes = {
        (m.component_type, m.full_name, m.file_name): m for m in library.component_successes
    }
    assert set(successes) == {
        ("CustomObject", "Book__c", "src/objects/Book__c.object"),
        ("CustomField", "Book__c.Isbn__c", "src/objects/Book__c.object"),
        ("CustomField", "Book__c.Pages__c", "src/objects/Book__c.object"),
        ("Layout", "Book__c-Book Layout", "src/layouts/Book__c-Book Layout.layout"),
        ("", "package.xml", "src/package.xml"),
    }
    book = successes["CustomObject", "Book__c", "src/objects/Book__c.object"]
    assert book.success and book.created and book.id and book.id.startswith("01I")
    assert (book.problem, book.line, book.column) == (None, None, None)
    assert successes["", "package.xml", "src/package.xml"].id is None
    assert library.created_by_name == "Local Admin"
    assert library.created_date and library.start_date and library.completed_date
    assert library.tests.num_tests_run == 0 and library.tests.coverage == ()
    described = connection.rest().restful("sobjects/Book__c/describe")
    assert isinstance(described, dict)
    assert {"Isbn__c", "Pages__c"} <= {f["name"] for f in described["fields"]}


def test_every_deploy_option_goes_on_the_wire(
    connection: OrgConnection, local_org: RunningOrg
) -> None:
    sent: list[bytes] = []
    session = requests.Session()
    session.verify = local_org.ca_bundle
    session.trust_env = False
    session.hooks["response"].append(lambda answer, *_, **__: sent.append(answer.request.body))
    watched = MetadataClient(replace(connection, session=session))
    options = DeployOptions(
        check_only=True,
        test_level="RunSpecifiedTests",
        run_tests=("LateFeeTest", "RenewalTest"),
        ignore_warnings=True,
        rollback_on_error=True,
        purge_on_delete=True,
        single_package=True,
        allow_missing_files=True,
        auto_update_package=False,
        perform_retrieve=False,
    )
    deploy_id = watched.deploy(make_zip(LIBRARY), options)
    envelope = xmlsafe.parse(sent[0], "deploy request")
    assert envelope.findtext(f".//{{{MD}}}SessionHeader/{{{MD}}}sessionId") == (
        connection.access_token
    )
    zipped = envelope.findtext(f".//{{{MD}}}deploy/{{{MD}}}ZipFile")
    assert zipped and unzip(base64.b64decode(zipped)) == LIBRARY
    element = envelope.find(f".//{{{MD}}}deploy/{{{MD}}}DeployOptions")
    assert element is not None
    assert [(etree.QName(e).localname, e.text) for e in element] == [  # the WSDL's order
        ("allowMissingFiles", "true"),
        ("autoUpdatePackage", "false"),
        ("checkOnly", "true"),
        ("ignoreWarnings", "true"),
        ("performRetrieve", "false"),
        ("purgeOnDelete", "true"),
        ("rollbackOnError", "true"),
        ("runTests", "LateFeeTest"),
        ("runTests", "RenewalTest"),
        ("singlePackage", "true"),
        ("testLevel", "RunSpecifiedTests"),
    ]
    result = wait(watched, deploy_id)
    assert (result.check_only, result.ignore_warnings, result.run_tests_enabled) == (
        True,
        True,
        True,
    )
    session.close()


def test_status_without_details_keeps_the_counters(
    client: MetadataClient, library: DeployResult
) -> None:
    brief = client.check_deploy_status(library.id, include_details=False)
    assert (brief.status, brief.number_components_deployed) == ("Succeeded", 4)
    assert brief.component_successes == () and brief.component_failures == ()


def test_a_broken_component_fails_at_its_line_and_column(client: MetadataClient) -> None:
    broken = layout("Shelf__c")
    files = {
        "package.xml": package({"CustomObject": ["Atlas__c"], "Layout": ["Atlas__c-Atlas Layout"]}),
        "objects/Atlas__c.object": volume("Atlas"),
        "layouts/Atlas__c-Atlas Layout.layout": broken,
    }
    result = wait(client, client.deploy(make_zip(files), DeployOptions()))
    assert (result.status, result.success) == ("Failed", False)
    assert result.number_component_errors == 1 and result.number_components_deployed == 0
    [failure] = result.component_failures
    lines = broken.split(b"\n")
    line = next(n for n, text in enumerate(lines, 1) if b"<field>Shelf__c" in text)
    column = lines[line - 1].index(b"<field>") + 1
    assert failure == replace(
        failure,
        component_type="Layout",
        full_name="Atlas__c-Atlas Layout",
        file_name="layouts/Atlas__c-Atlas Layout.layout",
        success=False,
        problem="Field Shelf__c does not exist. Check spelling.",
        problem_type="Error",
        line=line,
        column=column,
    )
    assert "Atlas__c" not in names(client, "CustomObject")  # rolled back


def test_apex_test_failures_and_low_coverage(client: MetadataClient, control: Control) -> None:
    control.coverage(
        {
            "classes": {"LateFee": {"covered": [1], "uncovered": list(range(2, 21))}},
            "tests": {
                "LateFeeTest": {
                    "methods": ["chargesPerDay", "waivesFirstDay", "refusesNegativeDays"],
                    "failures": {
                        "waivesFirstDay": {
                            "message": "System.AssertException: Assertion Failed: Expected: 0",
                            "stackTrace": "Class.LateFeeTest.waivesFirstDay: line 4, column 1",
                        },
                        "refusesNegativeDays": {"message": "System.NullPointerException"},
                    },
                }
            },
        }
    )
    package_zip = apex_zip({"LateFee": LATE_FEE, "LateFeeTest": LATE_FEE_TEST})
    options = DeployOptions(test_level="RunSpecifiedTests", run_tests=("LateFeeTest",))
    result = wait(client, client.deploy(package_zip, options))
    assert (result.status, result.success, result.run_tests_enabled) == ("Failed", False, True)
    assert (result.number_tests_total, result.number_test_errors) == (3, 2)
    tests = result.tests
    assert (tests.num_tests_run, tests.num_failures) == (3, 2)
    assert [(s.class_name, s.method_name) for s in tests.successes] == [
        ("LateFeeTest", "chargesPerDay")
    ]
    failures = {f.method_name: f for f in tests.failures}
    assert failures["waivesFirstDay"].class_name == "LateFeeTest"
    assert failures["waivesFirstDay"].message.startswith("System.AssertException")
    assert failures["waivesFirstDay"].stack_trace.endswith("line 4, column 1")
    assert failures["refusesNegativeDays"].stack_trace == ""  # xsi:nil
    assert failures["refusesNegativeDays"].namespace is None
    [coverage] = tests.coverage
    assert (coverage.name, coverage.type, coverage.num_locations) == ("LateFee", "Class", 20)
    assert coverage.num_not_covered == 19 and coverage.uncovered_lines == tuple(range(2, 21))
    assert coverage.percent == pytest.approx(5.0) and coverage.id
    [warning] = tests.coverage_warnings
    assert warning.name == "LateFee"
    assert warning.message == "Test coverage of selected Apex Class is 5%, at least 75% required"
    assert "LateFee" not in names(client, "ApexClass")

    org_wide = wait(client, client.deploy(package_zip, DeployOptions(test_level="RunLocalTests")))
    assert org_wide.status == "Failed"
    unnamed = [w for w in org_wide.tests.coverage_warnings if w.name is None]
    assert len(unnamed) == 1
    assert unnamed[0].message.startswith("Average test coverage across all Apex Classes")


def test_validation_then_quick_deploy(client: MetadataClient, control: Control) -> None:
    control.coverage({"classes": {"Renewal": {"covered": [1, 2, 3], "uncovered": []}}})
    options = DeployOptions(
        check_only=True,
        ignore_warnings=True,
        test_level="RunSpecifiedTests",
        run_tests=("RenewalTest",),
    )
    package_zip = apex_zip({"Renewal": RENEWAL, "RenewalTest": RENEWAL_TEST})
    validation = wait(client, client.deploy(package_zip, options))
    assert (validation.status, validation.check_only, validation.ignore_warnings) == (
        "Succeeded",
        True,
        True,
    )
    assert validation.run_tests_enabled and validation.tests.num_tests_run == 1
    assert validation.tests.coverage[0].percent == 100.0
    assert validation.tests.coverage_warnings == ()
    assert "Renewal" not in names(client, "ApexClass")  # a validation commits nothing

    quick_id = client.deploy_recent_validation(validation.id)
    assert quick_id != validation.id
    quick = wait(client, quick_id)
    assert (quick.status, quick.check_only) == ("Succeeded", False)
    assert {"Renewal", "RenewalTest"} <= names(client, "ApexClass")
    with pytest.raises(OrgError) as again:
        client.deploy_recent_validation(validation.id)
    assert (again.value.code, again.value.status) == ("INVALID_ID_FIELD", 500)


def test_cancel_a_queued_and_a_running_deploy(
    client: MetadataClient, local_org: RunningOrg
) -> None:
    deploys.set_component_delay(local_org.org, 0.3)
    try:
        running_id = client.deploy(
            make_zip(
                {
                    "package.xml": package({"CustomObject": ["Pamphlet__c"]}),
                    "objects/Pamphlet__c.object": volume("Pamphlet"),
                }
            ),
            DeployOptions(),
        )
        queued_id = client.deploy(
            make_zip(
                {
                    "package.xml": package({"CustomObject": ["Leaflet__c"]}),
                    "objects/Leaflet__c.object": volume("Leaflet"),
                }
            ),
            DeployOptions(),
        )
        queued = client.cancel_deploy(queued_id)
        assert (queued.id, queued.done) == (queued_id, True)  # never started: canceled at once
        assert client.cancel_deploy(running_id).id == running_id
    finally:
        deploys.set_component_delay(local_org.org, 0.002)
    first = client.check_deploy_status(queued_id)
    assert (first.status, first.done, first.canceled_by_name) == ("Canceled", True, "Local Admin")
    second = wait(client, running_id)
    assert (second.status, second.success) == ("Canceled", False)
    assert not {"Pamphlet__c", "Leaflet__c"} & names(client, "CustomObject")
    with pytest.raises(OrgError) as late:
        client.cancel_deploy(running_id)
    assert late.value.code == "INVALID_ID_FIELD"
    assert "Deployment already completed" in late.value.message


def test_options_the_org_refuses_come_back_as_errors(client: MetadataClient) -> None:
    with pytest.raises(OrgError) as refused:
        client.deploy(make_zip(LIBRARY), DeployOptions(test_level="RunSpecifiedTests"))
    assert refused.value.code == "INVALID_OPERATION"
    assert "runTests" in refused.value.message


# --- retrieve, list, describe -------------------------------------------------------------------


def test_retrieve_gives_back_what_was_deployed(
    client: MetadataClient, library: DeployResult
) -> None:
    request = RetrieveRequest(
        types={"CustomObject": ("Book__c",), "Layout": ("Book__c-Book Layout", "Book__c-Gone")},
        single_package=False,
    )
    result = retrieve(client, request)
    assert (result.status, result.success, result.done) == ("Succeeded", True, True)
    files = unzip(result.zip_file)
    assert files["unpackaged/objects/Book__c.object"] == BOOK
    assert files["unpackaged/layouts/Book__c-Book Layout.layout"] == BOOK_LAYOUT
    properties = {(p.type, p.full_name): p for p in result.file_properties}
    assert properties["CustomField", "Book__c.Pages__c"].file_name == (
        "unpackaged/objects/Book__c.object"
    )
    assert properties["Package", "package.xml"].id is None
    assert properties["Layout", "Book__c-Book Layout"].manageable_state == "unmanaged"
    assert [(m.file_name, m.problem) for m in result.messages] == [
        (
            "unpackaged/package.xml",
            "Entity of type 'Layout' named 'Book__c-Gone' cannot be found",
        )
    ]


def test_retrieve_from_a_package_xml_without_the_zip(
    client: MetadataClient, library: DeployResult
) -> None:
    request = RetrieveRequest.from_package_xml(package({"CustomObject": ["Book__c"]}))
    assert request.api_version == "66.0" and request.types == {"CustomObject": ("Book__c",)}
    with_zip = retrieve(client, request)
    assert set(unzip(with_zip.zip_file)) == {"objects/Book__c.object", "package.xml"}
    without = retrieve(client, request, zip_too=False)
    assert without.zip_file == b""
    assert {p.full_name for p in without.file_properties} >= {"Book__c", "Book__c.Isbn__c"}


def test_list_metadata(client: MetadataClient, library: DeployResult) -> None:
    listed = client.list_metadata(
        [ListMetadataQuery("CustomObject"), ListMetadataQuery("Layout")], "66.0"
    )
    by_name = {(p.type, p.full_name): p for p in listed}
    book = by_name["CustomObject", "Book__c"]
    assert (book.file_name, book.manageable_state, book.namespace) == (
        "objects/Book__c.object",
        "unmanaged",
        None,
    )
    assert book.id and book.last_modified_date and book.created_by_name == "Local Admin"
    assert ("Layout", "Book__c-Book Layout") in by_name
    assert ("CustomObject", "Account") in by_name
    assert client.list_metadata([ListMetadataQuery("ApexTrigger")]) == []
    with pytest.raises(OrgError) as too_many:
        client.list_metadata([ListMetadataQuery(t) for t in ("Layout", "Flow", "Report", "Queue")])
    assert too_many.value.code == "INVALID_OPERATION"


def test_describe_metadata(client: MetadataClient) -> None:
    described = client.describe_metadata()
    custom_object = described.by_name("CustomObject")
    assert custom_object is not None
    assert (custom_object.directory_name, custom_object.suffix) == ("objects", "object")
    assert "CustomField" in custom_object.child_xml_names and not custom_object.in_folder
    apex_class = described.by_name("ApexClass")
    assert apex_class is not None and apex_class.meta_file
    report = described.by_name("Report")
    assert report is not None and report.in_folder
    assert described.partial_save_allowed and not described.test_required
    assert described.organization_namespace is None


# --- failures -----------------------------------------------------------------------------------


def test_an_invalid_session_is_refused(connection: OrgConnection) -> None:
    stale = MetadataClient(replace(connection, access_token="00Dx0000000stale!token"))
    with pytest.raises(OrgError) as refused:
        stale.describe_metadata()
    assert (refused.value.code, refused.value.status) == ("INVALID_SESSION_ID", 500)
    assert "Invalid Session ID" in refused.value.message
    assert "00Dx0000000stale" not in str(refused.value)
    assert refused.value.hint


def test_an_unknown_id_is_refused(client: MetadataClient) -> None:
    with pytest.raises(OrgError) as refused:
        client.check_deploy_status("not-an-id")
    assert refused.value.code == "INVALID_ID_FIELD"


@pytest.mark.parametrize(
    ("spec", "code", "status"),
    [
        ({"kind": "UNABLE_TO_LOCK_ROW"}, "UNABLE_TO_LOCK_ROW", 500),
        ({"kind": "http_5xx", "status": 503}, "SERVER_UNAVAILABLE", 503),
        ({"kind": "http_5xx", "status": 502}, "UNKNOWN_EXCEPTION", 502),
        ({"kind": "drop"}, "CONNECTION", None),
    ],
)
def test_injected_faults_become_org_errors(
    client: MetadataClient,
    library: DeployResult,
    control: Control,
    spec: dict[str, object],
    code: str,
    status: int | None,
) -> None:
    control.fault(route="soap.metadata", **spec)
    with pytest.raises(OrgError) as failed:
        client.check_deploy_status(library.id)
    assert (failed.value.code, failed.value.status) == (code, status)
    assert client.check_deploy_status(library.id).status == "Succeeded"  # the fault is used up


def test_a_slow_org_times_out(connection: OrgConnection, control: Control) -> None:
    control.fault(route="soap.metadata", kind="latency", seconds=1.5)
    impatient = MetadataClient(connection, timeout=0.3)
    with pytest.raises(OrgError) as slow:
        impatient.describe_metadata()
    assert slow.value.code == "TIMEOUT" and slow.value.status is None


def test_an_answer_that_is_not_soap_is_named_by_its_status(connection: OrgConnection) -> None:
    lost = MetadataClient(replace(connection, api_version="v66"))
    with pytest.raises(OrgError) as missing:
        lost.describe_metadata()
    assert (missing.value.code, missing.value.status) == ("HTTP_404", 404)
    assert "NOT_FOUND" in missing.value.message
    retired = MetadataClient(replace(connection, api_version="20.0"))
    with pytest.raises(OrgError) as old:
        retired.describe_metadata()
    assert old.value.code == "UNSUPPORTED_API_VERSION"


def test_an_unreachable_org_is_a_connection_error(connection: OrgConnection) -> None:
    closed = MetadataClient(replace(connection, instance_url="https://127.0.0.1:9"))
    with pytest.raises(OrgError) as unreachable:
        closed.describe_metadata()
    assert unreachable.value.code == "CONNECTION"
