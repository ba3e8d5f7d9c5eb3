"""The local org's Metadata API, driven as a user would: simple-salesforce and raw SOAP/REST calls
over real HTTPS. Packages are written here by hand, one small school-administration example."""

from __future__ import annotations

import base64
import io
import random
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lxml import etree
from simple_salesforce.api import Salesforce

from toolkit.localorg import deploys
from toolkit.localorg.org import RunningOrg
from toolkit.metadata.schema import build_xsd, bundled_wsdl_path, read_wsdl

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

MD = "http://soap.sforce.com/2006/04/metadata"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = {"m": MD, "s": ENV}
DONE = ("Succeeded", "SucceededPartial", "Failed", "Canceled")


def xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body.strip()}\n'.encode()


ROOM = xml(f"""
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields>
        <fullName>Building__c</fullName>
        <label>Building</label>
        <length>40</length>
        <required>true</required>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Campus__c</fullName>
        <label>Campus</label>
        <referenceTo>Account</referenceTo>
        <relationshipName>Rooms</relationshipName>
        <type>Lookup</type>
    </fields>
    <fields>
        <fullName>Seats__c</fullName>
        <label>Seats</label>
        <precision>4</precision>
        <scale>0</scale>
        <type>Number</type>
    </fields>
    <label>Room</label>
    <nameField>
        <label>Room Name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Rooms</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""")

ROOM_LAYOUT = xml(f"""
<Layout xmlns="{MD}">
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>true</editHeading>
        <layoutColumns>
            <layoutItems>
                <behavior>Required</behavior>
                <field>Name</field>
            </layoutItems>
            <layoutItems>
                <behavior>Required</behavior>
                <field>Building__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Seats__c</field>
            </layoutItems>
        </layoutColumns>
        <style>OneColumn</style>
    </layoutSections>
</Layout>
""")

PERMSET = xml(f"""
<PermissionSet xmlns="{MD}">
    <fieldPermissions>
        <editable>true</editable>
        <field>Room__c.Seats__c</field>
        <readable>true</readable>
    </fieldPermissions>
    <label>Room Planner</label>
    <objectPermissions>
        <allowCreate>true</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>true</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Room__c</object>
        <viewAllRecords>false</viewAllRecords>
    </objectPermissions>
</PermissionSet>
""")


def package(types: dict[str, list[str]], version: str = "63.0") -> bytes:
    entries = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{name}</name>"
        "</types>"
        for name, members in types.items()
    )
    return xml(f'<Package xmlns="{MD}">{entries}<version>{version}</version></Package>')


GOOD = {
    "package.xml": package(
        {
            "CustomObject": ["Room__c"],
            "Layout": ["Room__c-Room Layout"],
            "PermissionSet": ["Room_Planner"],
        }
    ),
    "objects/Room__c.object": ROOM,
    "layouts/Room__c-Room Layout.layout": ROOM_LAYOUT,
    "permissionsets/Room_Planner.permissionset": PERMSET,
}


def make_zip(files: dict[str, bytes], root: str = "", *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    ) as archive:
        for path, content in files.items():
            archive.writestr(root + path, content)
    return buffer.getvalue()


def soap_call(http: OrgHttp, body: str, *, session: str | None = None, path: str = "") -> Any:
    """POST a Metadata API envelope written with the ``x:`` prefix; returns (status, root)."""
    token = http.org.access_token if session is None else session
    envelope = (
        f'<e:Envelope xmlns:e="{ENV}" xmlns:x="{MD}"><e:Header><x:SessionHeader>'
        f"<x:sessionId>{token}</x:sessionId></x:SessionHeader></e:Header>"
        f"<e:Body>{body}</e:Body></e:Envelope>"
    )
    answer = http.post(
        "/services/Soap/m/63.0" + path,
        data=envelope.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": "x"},
        auth=False,
    )
    return answer.status_code, etree.fromstring(answer.content)


def deploy(http: OrgHttp, data: bytes, **options: Any) -> str:
    opts = "".join(
        f"<x:{k}>{str(v).lower() if isinstance(v, bool) else v}</x:{k}>"
        for k, v in sorted(options.items())
    )
    encoded = base64.b64encode(data).decode()
    status, root = soap_call(
        http,
        f"<x:deploy><x:ZipFile>{encoded}</x:ZipFile><x:DeployOptions>{opts}"
        "</x:DeployOptions></x:deploy>",
    )
    assert status == 200, etree.tostring(root)
    return str(root.findtext(".//m:deployResponse/m:result/m:id", namespaces=NS))


def deploy_status(http: OrgHttp, deploy_id: str, details: bool = True) -> etree._Element:
    status, root = soap_call(
        http,
        f"<x:checkDeployStatus><x:asyncProcessId>{deploy_id}</x:asyncProcessId>"
        f"<x:includeDetails>{str(details).lower()}</x:includeDetails></x:checkDeployStatus>",
    )
    assert status == 200, etree.tostring(root)
    result: etree._Element | None = root.find(".//m:checkDeployStatusResponse/m:result", NS)
    assert result is not None
    return result


def wait(http: OrgHttp, deploy_id: str) -> etree._Element:
    for _ in range(400):
        result = deploy_status(http, deploy_id)
        if result.findtext("m:done", namespaces=NS) == "true":
            return result
        time.sleep(0.02)
    raise AssertionError(f"deploy {deploy_id} did not finish")


def messages(result: etree._Element, kind: str) -> list[dict[str, str]]:
    return [
        {etree.QName(c).localname: c.text or "" for c in m}
        for m in result.findall(f"m:details/m:{kind}", NS)
    ]


def retrieve(http: OrgHttp, types: dict[str, list[str]], single: bool = True) -> Any:
    unpackaged = "".join(
        "<x:types>" + "".join(f"<x:members>{m}</x:members>" for m in ms) + f"<x:name>{n}</x:name>"
        "</x:types>"
        for n, ms in types.items()
    )
    _, root = soap_call(
        http,
        "<x:retrieve><x:retrieveRequest><x:apiVersion>63.0</x:apiVersion>"
        f"<x:singlePackage>{str(single).lower()}</x:singlePackage>"
        f"<x:unpackaged>{unpackaged}</x:unpackaged></x:retrieveRequest></x:retrieve>",
    )
    retrieve_id = root.findtext(".//m:result/m:id", namespaces=NS)
    _, root = soap_call(
        http,
        f"<x:checkRetrieveStatus><x:asyncProcessId>{retrieve_id}</x:asyncProcessId>"
        "<x:includeZip>true</x:includeZip></x:checkRetrieveStatus>",
    )
    result = root.find(".//m:checkRetrieveStatusResponse/m:result", NS)
    assert result is not None
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(result.findtext("m:zipFile", "", NS))))
    files = {name: archive.read(name) for name in archive.namelist()}
    problems = [m.findtext("m:problem", "", NS) for m in result.findall("m:messages", NS)]
    return files, problems, result


def list_names(http: OrgHttp, type_name: str) -> list[str]:
    _, root = soap_call(
        http,
        f"<x:listMetadata><x:queries><x:type>{type_name}</x:type></x:queries>"
        "<x:asOfVersion>63.0</x:asOfVersion></x:listMetadata>",
    )
    return [str(r.findtext("m:fullName", namespaces=NS)) for r in root.iterfind(".//m:result", NS)]


@pytest.fixture(scope="module", autouse=True)
def quick(local_org: RunningOrg) -> None:
    deploys.set_component_delay(local_org.org, 0.005)


@pytest.fixture(scope="module")
def wsdl_schema() -> etree.XMLSchema:
    """The Metadata WSDL's own schema, to hold every response body to it."""
    xsd = build_xsd(read_wsdl(bundled_wsdl_path()), "metadata.wsdl")
    return etree.XMLSchema(etree.fromstring(xsd))


@pytest.fixture(scope="module")
def deployed(http: OrgHttp, sf: Salesforce, local_org: RunningOrg) -> Iterator[list[Any]]:
    """The good package, deployed with simple-salesforce and polled to the end; yields the
    (status, deployed, total) seen at each poll."""
    deploys.set_component_delay(local_org.org, 0.08)
    started = sf.deploy(io.BytesIO(make_zip(GOOD, "unpackaged/")), sandbox=False)
    seen = []
    for _ in range(300):
        answer = sf.checkDeployStatus(str(started["asyncId"]))
        detail = answer["deployment_detail"]
        assert isinstance(detail, dict)
        seen.append((answer["state"], int(detail["deployed_count"]), int(detail["total_count"])))
        if answer["state"] in DONE:
            break
        time.sleep(0.02)
    deploys.set_component_delay(local_org.org, 0.005)
    yield [started, seen]


def test_a_package_deploys_with_moving_counters(deployed: list[Any]) -> None:
    started, seen = deployed
    assert started["state"] == "Queued"
    assert seen[-1] == ("Succeeded", 6, 6)  # object, 3 fields, layout, permission set
    progress = [deployed for state, deployed, total in seen if state == "InProgress" and total]
    assert progress == sorted(progress)
    assert any(0 < n < 6 for n in progress)


def test_details_name_every_component_and_field(http: OrgHttp, deployed: list[Any]) -> None:
    result = deploy_status(http, deployed[0]["asyncId"])
    successes = {
        (m["componentType"], m["fullName"], m["fileName"])
        for m in messages(result, "componentSuccesses")
    }
    assert ("CustomField", "Room__c.Seats__c", "unpackaged/objects/Room__c.object") in successes
    assert ("Layout", "Room__c-Room Layout", "unpackaged/layouts/Room__c-Room Layout.layout") in (
        successes
    )
    assert ("", "package.xml", "unpackaged/package.xml") in successes
    assert len(successes) == 7
    assert messages(result, "componentFailures") == []


def test_retrieve_gives_back_the_deployed_bytes(http: OrgHttp, deployed: list[Any]) -> None:
    files, problems, result = retrieve(
        http,
        {
            "CustomObject": ["Room__c"],
            "Layout": ["Room__c-Room Layout"],
            "PermissionSet": ["Room_Planner"],
        },
    )
    assert problems == []
    for path in (
        "objects/Room__c.object",
        "layouts/Room__c-Room Layout.layout",
        "permissionsets/Room_Planner.permissionset",
    ):
        assert files[path] == GOOD[path]
    kinds = {
        (p.findtext("m:type", "", NS), p.findtext("m:fullName", "", NS))
        for p in result.findall("m:fileProperties", NS)
    }
    assert ("CustomField", "Room__c.Building__c") in kinds
    assert ("Package", "package.xml") in kinds


def test_list_and_describe(
    http: OrgHttp,
    sf: Salesforce,
    deployed: list[Any],
    local_org: RunningOrg,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "Room__c" in list_names(http, "CustomObject")
    assert "Contact" in list_names(http, "CustomObject")
    assert {"Room__c-Room Layout", "Contact-Contact Layout"} <= set(list_names(http, "Layout"))
    # simple-salesforce's zeep client uses its own session, which trusts REQUESTS_CA_BUNDLE
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", local_org.ca_bundle)
    query = sf.mdapi.ListMetadataQuery(type="PermissionSet")
    assert [p.fullName for p in sf.mdapi.list_metadata([query])] == ["Room_Planner"]
    described = sf.mdapi.describe_metadata()
    names = {o.xmlName: o for o in described.metadataObjects}
    assert names["CustomObject"].directoryName == "objects"
    assert "CustomField" in names["CustomObject"].childXmlNames
    assert names["ApexClass"].metaFile is True


def test_deployed_objects_become_live_schema(local_org: RunningOrg, deployed: list[Any]) -> None:
    db = local_org.org.store.connection()
    fields = {
        row["name"]: row
        for row in db.execute("SELECT * FROM schema_fields WHERE object = 'Room__c'")
    }
    assert fields["Seats__c"]["type"] == "double" and fields["Seats__c"]["precision"] == 4
    assert fields["Building__c"]["required"] == 1 and fields["Building__c"]["length"] == 40
    assert fields["Campus__c"]["reference_to"] == '["Account"]'
    assert {"Id", "Name", "OwnerId", "CreatedDate"} <= set(fields)
    room = db.execute("SELECT * FROM schema_objects WHERE name = 'Room__c'").fetchone()
    assert (room["label"], room["plural_label"], room["custom"]) == ("Room", "Rooms", 1)


BROKEN_LAYOUT = ROOM_LAYOUT.replace(b"<field>Seats__c</field>", b"<field>Floor__c</field>")
BROKEN_PERMSET = PERMSET.replace(b"Room__c.Seats__c", b"Room__c.Colour__c").replace(
    b"<object>Room__c</object>", b"<object>Hall__c</object>"
)


def test_a_broken_package_fails_per_component_and_commits_nothing(http: OrgHttp) -> None:
    lab = ROOM.replace(b"Room", b"Lab").replace(b"<referenceTo>Account", b"<referenceTo>Wing__c")
    files = {
        "package.xml": package(
            {
                "CustomObject": ["Lab__c"],
                "Layout": ["Lab__c-Lab Layout"],
                "PermissionSet": ["Lab_Planner"],
            }
        ),
        "objects/Lab__c.object": lab,
        "layouts/Lab__c-Lab Layout.layout": BROKEN_LAYOUT,
        "permissionsets/Lab_Planner.permissionset": BROKEN_PERMSET.replace(b"Room__c", b"Lab__c"),
    }
    result = wait(http, deploy(http, make_zip(files), rollbackOnError=True))
    assert result.findtext("m:status", namespaces=NS) == "Failed"
    failures = {
        (m["fullName"], m["problem"], m.get("lineNumber"))
        for m in messages(result, "componentFailures")
    }
    assert (
        "Lab__c.Campus__c",
        "referenceTo value of 'Wing__c' does not resolve to a valid sObject type",
        "14",
    ) in failures
    assert ("Lab__c-Lab Layout", "Field Floor__c does not exist. Check spelling.", "18") in failures
    assert (
        "Lab_Planner",
        "In field: field - no CustomField named Lab__c.Colour__c found",
        "5",
    ) in failures
    assert (
        "Lab_Planner",
        "In field: object - no CustomObject named Hall__c found",
        "15",
    ) in failures
    layout_failure = next(
        m for m in messages(result, "componentFailures") if m["componentType"] == "Layout"
    )
    assert layout_failure["columnNumber"] == "17"
    assert result.findtext("m:numberComponentsDeployed", namespaces=NS) == "0"
    assert "Lab__c" not in list_names(http, "CustomObject")
    _, problems, _ = retrieve(http, {"CustomObject": ["Lab__c"]})
    assert problems == ["Entity of type 'CustomObject' named 'Lab__c' cannot be found"]


def _relationship(name: str, target: str, kind: str) -> str:
    return (
        f"<fields><fullName>{name}</fullName><label>{name}</label>"
        f"<referenceTo>{target}</referenceTo><type>{kind}</type></fields>"
    )


def test_a_metadata_relationship_may_name_the_org_s_objects_and_fields(http: OrgHttp) -> None:
    """A custom metadata type relates to EntityDefinition, FieldDefinition and EntityParticle,
    which are no sObjects a lookup could name: only its Metadata Relationship fields may."""
    setting = xml(f"""
<CustomObject xmlns="{MD}">
    {_relationship("Object__c", "EntityDefinition", "MetadataRelationship")}
    {_relationship("Field__c", "FieldDefinition", "MetadataRelationship")}
    {_relationship("Particle__c", "EntityParticle", "MetadataRelationship")}
    <label>Sync Setting</label>
    <pluralLabel>Sync Settings</pluralLabel>
    <visibility>Public</visibility>
</CustomObject>""")
    hall = ROOM.replace(b"Room", b"Hall").replace(
        b"<referenceTo>Account", b"<referenceTo>EntityDefinition"
    )
    files = {
        "package.xml": package({"CustomObject": ["Sync_Setting__mdt", "Hall__c"]}),
        "objects/Sync_Setting__mdt.object": setting,
        "objects/Hall__c.object": hall,
    }
    result = wait(http, deploy(http, make_zip(files)))
    failures = {(m["fullName"], m["problem"]) for m in messages(result, "componentFailures")}
    assert failures == {
        (
            "Hall__c.Campus__c",
            "referenceTo value of 'EntityDefinition' does not resolve to a valid sObject type",
        )
    }
    passed = {m["fullName"] for m in messages(result, "componentSuccesses")}
    assert {"Sync_Setting__mdt.Object__c", "Sync_Setting__mdt.Particle__c"} <= passed


def test_a_permission_set_may_grant_standard_fields_a_real_project_names(http: OrgHttp) -> None:
    """Fields every org has (apex-recipes grants them): Account's D&B fields and a campaign's
    totals over its hierarchy, read-only as Salesforce computes them."""
    grants = "".join(
        f"<fieldPermissions><editable>false</editable><field>{field}</field>"
        "<readable>true</readable></fieldPermissions>"
        for field in (
            "Account.Tradestyle",
            "Account.NaicsCode",
            "Campaign.HierarchyActualCost",
            "Campaign.HierarchyNumberSent",
        )
    )
    permset = xml(f'<PermissionSet xmlns="{MD}">{grants}<label>Reader</label></PermissionSet>')
    files = {
        "package.xml": package({"PermissionSet": ["Market_Reader"]}),
        "permissionsets/Market_Reader.permissionset": permset,
    }
    result = wait(http, deploy(http, make_zip(files)))
    assert messages(result, "componentFailures") == []
    assert result.findtext("m:status", namespaces=NS) == "Succeeded"


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"objects/Room__c.object": ROOM}, "No package.xml found"),
        (
            {"package.xml": package({"Gadget": ["X"]})},
            "Unknown type name 'Gadget' specified in package.xml",
        ),
        (
            {"package.xml": package({"Layout": ["Room__c-Gone"]})},
            "An object 'Room__c-Gone' of type Layout was named in package.xml, but was not "
            "found in zipped directory",
        ),
        ({"../escape.xml": b"x", "package.xml": package({})}, "'..' path segment"),
    ],
)
def test_bad_packages_fail_with_a_clear_problem(
    http: OrgHttp, files: dict[str, bytes], problem: str
) -> None:
    result = wait(http, deploy(http, make_zip(files)))
    assert result.findtext("m:status", namespaces=NS) == "Failed"
    assert any(problem in m["problem"] for m in messages(result, "componentFailures"))


def test_schema_problems_are_located(http: OrgHttp) -> None:
    bad = ROOM.replace(b"<type>Number</type>", b"<type>Gizmo</type>").replace(b"Room", b"Den")
    result = wait(
        http,
        deploy(
            http,
            make_zip(
                {"package.xml": package({"CustomObject": ["Den__c"]}), "objects/Den__c.object": bad}
            ),
        ),
    )
    failure = messages(result, "componentFailures")[0]
    assert failure["fullName"] == "Den__c.Seats__c"
    assert failure["problem"].startswith("Error parsing file:")
    assert "Gizmo" in failure["problem"] and failure["lineNumber"] == "23"


def sf_cli_order(obj: bytes) -> bytes:
    """An object as the sf CLI converts it from source format: its <fields> last."""
    root = etree.fromstring(obj)
    for field in root.findall(f"{{{MD}}}fields"):
        root.append(field)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_an_object_with_fields_last_deploys_as_the_sf_cli_sends_it(http: OrgHttp) -> None:
    atelier = sf_cli_order(ROOM.replace(b"Room", b"Atelier"))
    assert atelier.index(b"<sharingModel>") < atelier.index(b"<fields>")
    files = {
        "package.xml": package({"CustomObject": ["Atelier__c"]}),
        "objects/Atelier__c.object": atelier,
    }
    result = wait(http, deploy(http, make_zip(files)))
    assert messages(result, "componentFailures") == []
    assert result.findtext("m:status", namespaces=NS) == "Succeeded"
    assert "Atelier__c" in list_names(http, "CustomObject")


def test_fields_split_by_another_element_are_refused_where_they_split(http: OrgHttp) -> None:
    gym = sf_cli_order(ROOM.replace(b"Room", b"Gym"))
    first = gym.index(b"<fields>")
    second = gym.index(b"<fields>", first + 1)
    split = gym[:second] + b"<description>Sports hall</description>" + gym[second:]
    files = {"package.xml": package({"CustomObject": ["Gym__c"]}), "objects/Gym__c.object": split}
    result = wait(http, deploy(http, make_zip(files)))
    assert result.findtext("m:status", namespaces=NS) == "Failed"
    problems = [m["problem"] for m in messages(result, "componentFailures")]
    assert any(
        p.startswith(
            "Error parsing file: Element fields is duplicated at this location in type CustomObject"
        )
        for p in problems
    ), problems
    assert "Gym__c" not in list_names(http, "CustomObject")


def test_not_a_zip_and_not_base64(http: OrgHttp) -> None:
    result = wait(http, deploy(http, b"this is no zip"))
    assert "not a zip file" in messages(result, "componentFailures")[0]["problem"]
    status, root = soap_call(http, "<x:deploy><x:ZipFile>%%%</x:ZipFile></x:deploy>")
    assert status == 500
    assert root.findtext(".//faultcode") == "soapenv:Client"


def test_sessions_and_envelopes_are_checked(http: OrgHttp) -> None:
    status, root = soap_call(http, "<x:describeMetadata/>", session="nope")
    assert status == 500
    assert root.findtext(".//faultcode") == "sf:INVALID_SESSION_ID"
    assert root.findtext(".//{urn:fault.partner.soap.sforce.com}exceptionCode") == (
        "INVALID_SESSION_ID"
    )
    answer = http.post("/services/Soap/m/63.0", data=b"<not xml", auth=False)
    assert answer.status_code == 500 and b"soapenv:Client" in answer.content
    status, root = soap_call(
        http,
        "<x:checkDeployStatus><x:asyncProcessId>0Af000000009999</x:asyncProcessId>"
        "</x:checkDeployStatus>",
        path="/deployRequest/0Af000000009999",
    )
    assert root.findtext(".//faultcode") == "sf:INVALID_ID_FIELD"


def test_responses_validate_against_the_wsdl(
    http: OrgHttp, deployed: list[Any], wsdl_schema: etree.XMLSchema
) -> None:
    bodies = [
        soap_call(
            http, "<x:describeMetadata><x:asOfVersion>63.0</x:asOfVersion></x:describeMetadata>"
        )[1],
        soap_call(
            http,
            "<x:listMetadata><x:queries><x:type>CustomField</x:type></x:queries></x:listMetadata>",
        )[1],
    ]
    bodies.append(deploy_status(http, deployed[0]["asyncId"]).getroottree().getroot())
    bodies.append(retrieve(http, {"CustomObject": ["Room__c"]})[2].getroottree().getroot())
    for envelope in bodies:
        response = envelope.find("s:Body", NS)[0]
        assert wsdl_schema.validate(response), (response.tag, wsdl_schema.error_log)


FIELD_ONLY = xml(f"""
<CustomObject xmlns="{MD}">
    <fields>
        <fullName>Homeroom__c</fullName>
        <label>Homeroom</label>
        <length>10</length>
        <type>Text</type>
    </fields>
</CustomObject>
""")


def test_fields_merge_into_objects_and_destructive_changes_remove_them(http: OrgHttp) -> None:
    files = {
        "package.xml": package({"CustomField": ["Contact.Homeroom__c"]}),
        "objects/Contact.object": FIELD_ONLY,
    }
    result = wait(http, deploy(http, make_zip(files)))
    assert result.findtext("m:status", namespaces=NS) == "Succeeded"
    retrieved, _, _ = retrieve(http, {"CustomField": ["Contact.Homeroom__c"]}, single=False)
    assert retrieved["unpackaged/objects/Contact.object"] == FIELD_ONLY
    delete = {
        "package.xml": package({}),
        "destructiveChanges.xml": package({"CustomField": ["Contact.Homeroom__c"]}),
    }
    result = wait(http, deploy(http, make_zip(delete)))
    assert result.findtext("m:status", namespaces=NS) == "Succeeded"
    assert [
        m["deleted"]
        for m in messages(result, "componentSuccesses")
        if m["fullName"] == "Contact.Homeroom__c"
    ] == ["true"]
    assert "Contact.Homeroom__c" not in list_names(http, "CustomField")
    again = wait(http, deploy(http, make_zip(delete)))
    assert messages(again, "componentFailures")[0]["problem"] == (
        "No CustomField named: Contact.Homeroom__c found"
    )
    forgiving = wait(http, deploy(http, make_zip(delete), ignoreWarnings=True))
    assert forgiving.findtext("m:status", namespaces=NS) == "Succeeded"


def test_a_field_deployed_on_activity_is_a_field_of_events_and_tasks(
    http: OrgHttp, sf: Salesforce
) -> None:
    """Salesforce keeps the custom fields of events and tasks on Activity and shows them on
    both: describes list them, records take them, destructive changes remove them."""
    key = FIELD_ONLY.replace(
        b"<type>Text</type>", b"<type>Text</type><externalId>true</externalId>"
    )
    files = {
        "package.xml": package({"CustomField": ["Activity.Homeroom__c"]}),
        "objects/Activity.object": key,
    }
    result = wait(http, deploy(http, make_zip(files)))
    assert result.findtext("m:status", namespaces=NS) == "Succeeded"
    for obj in ("Event", "Task"):
        fields = {f["name"]: f for f in getattr(sf, obj).describe()["fields"]}
        assert fields["Homeroom__c"]["externalId"] and fields["Homeroom__c"]["custom"]
    start = "2026-05-04T09:00:00.000+0000"
    event = {"Subject": "Visit", "StartDateTime": start, "EndDateTime": start}
    sf.Event.upsert("Homeroom__c/H-1", event)
    [row] = sf.query("SELECT Subject FROM Event WHERE Homeroom__c = 'H-1'")["records"]
    assert row["Subject"] == "Visit"
    delete = {
        "package.xml": package({}),
        "destructiveChanges.xml": package({"CustomField": ["Activity.Homeroom__c"]}),
    }
    wait(http, deploy(http, make_zip(delete)))
    assert "Homeroom__c" not in {f["name"] for f in sf.Event.describe()["fields"]}


def test_a_standard_object_listed_whole_may_hold_only_custom_fields(
    http: OrgHttp, local_org: RunningOrg
) -> None:
    """How packages add fields to standard objects: Contact under CustomObject, its file
    holding nothing but <fields>. The field deploys; Contact itself stays Salesforce's."""
    badge = FIELD_ONLY.replace(b"Homeroom", b"Badge")
    files = {"package.xml": package({"CustomObject": ["Contact"]}), "objects/Contact.object": badge}
    result = wait(http, deploy(http, make_zip(files)))
    assert result.findtext("m:status", namespaces=NS) == "Succeeded", messages(
        result, "componentFailures"
    )
    assert {
        (m["componentType"], m["fullName"]) for m in messages(result, "componentSuccesses")
    } >= {
        ("CustomObject", "Contact"),
        ("CustomField", "Contact.Badge__c"),
    }
    db = local_org.org.store.connection()
    contact = db.execute("SELECT * FROM schema_objects WHERE name = 'Contact'").fetchone()
    assert (contact["label"], contact["plural_label"], contact["custom"]) == (
        "Contact",
        "Contacts",
        0,
    )
    assert components_field(db, "Contact", "Badge__c")["length"] == 10
    retrieved, problems, _ = retrieve(http, {"CustomObject": ["Contact"]})
    assert (
        problems == [] and b"<fullName>Badge__c</fullName>" in retrieved["objects/Contact.object"]
    )
    unknown = {
        "package.xml": package({"CustomObject": ["Kiosk__c"]}),
        "objects/Kiosk__c.object": badge,
    }
    refused = wait(http, deploy(http, make_zip(unknown)))
    assert messages(refused, "componentFailures")[0]["problem"] == (
        "Must specify a non-empty label for the CustomObject"
    )


def components_field(db: Any, obj: str, name: str) -> Any:
    return db.execute(
        "SELECT * FROM schema_fields WHERE object = ? AND name = ?", (obj, name)
    ).fetchone()


@pytest.mark.parametrize("argument", ["retrieveRequest", "request"])
def test_retrieve_reads_its_one_argument_whatever_its_name(http: OrgHttp, argument: str) -> None:
    """The WSDL names it retrieveRequest; sf and jsforce send <request>, which orgs take."""
    _, root = soap_call(
        http,
        f"<x:retrieve><x:{argument}><x:apiVersion>63.0</x:apiVersion>"
        "<x:singlePackage>true</x:singlePackage><x:unpackaged><x:types>"
        "<x:members>Contact-Contact Layout</x:members><x:name>Layout</x:name></x:types>"
        f"</x:unpackaged></x:{argument}></x:retrieve>",
    )
    retrieve_id = root.findtext(".//m:retrieveResponse/m:result/m:id", namespaces=NS)
    assert retrieve_id, etree.tostring(root)
    _, root = soap_call(
        http,
        f"<x:checkRetrieveStatus><x:asyncProcessId>{retrieve_id}</x:asyncProcessId>"
        "</x:checkRetrieveStatus>",
    )
    names = [
        f.findtext("m:fileName", namespaces=NS) for f in root.iterfind(".//m:fileProperties", NS)
    ]
    assert "layouts/Contact-Contact Layout.layout" in names


def test_retrieve_without_a_request_is_a_client_fault(http: OrgHttp) -> None:
    status, root = soap_call(http, "<x:retrieve/>")
    assert status == 500 and root.findtext(".//faultcode") == "soapenv:Client"
    assert "takes one argument" in (root.findtext(".//faultstring") or "")


def test_check_only_then_quick_deploy(http: OrgHttp) -> None:
    files = {
        "package.xml": package({"CustomObject": ["Studio__c"]}),
        "objects/Studio__c.object": ROOM.replace(b"Room", b"Studio"),
    }
    untested = wait(http, deploy(http, make_zip(files), checkOnly=True))
    _, root = soap_call(
        http,
        "<x:deployRecentValidation><x:validationId>"
        f"{untested.findtext('m:id', namespaces=NS)}</x:validationId>"
        "</x:deployRecentValidation>",
    )
    assert root.findtext(".//faultcode") == "sf:INVALID_ID_FIELD"
    validation = wait(
        http, deploy(http, make_zip(files), checkOnly=True, testLevel="RunLocalTests")
    )
    assert validation.findtext("m:status", namespaces=NS) == "Succeeded"
    assert "Studio__c" not in list_names(http, "CustomObject")
    body = (
        f"<x:deployRecentValidation><x:validationId>{validation.findtext('m:id', namespaces=NS)}"
        "</x:validationId></x:deployRecentValidation>"
    )
    _, root = soap_call(http, body)
    quick_id = root.findtext(".//m:result", namespaces=NS)
    assert quick_id and quick_id.startswith("0Af")
    assert wait(http, quick_id).findtext("m:status", namespaces=NS) == "Succeeded"
    assert "Studio__c" in list_names(http, "CustomObject")
    _, root = soap_call(http, body)
    assert root.findtext(".//faultcode") == "sf:INVALID_ID_FIELD"


def test_cancel_a_running_deploy(http: OrgHttp, local_org: RunningOrg) -> None:
    deploys.set_component_delay(local_org.org, 0.3)
    files = {
        "package.xml": package({"CustomObject": ["Gym__c"]}),
        "objects/Gym__c.object": ROOM.replace(b"Room", b"Gym"),
    }
    deploy_id = deploy(http, make_zip(files))
    _, root = soap_call(http, f"<x:cancelDeploy><x:String>{deploy_id}</x:String></x:cancelDeploy>")
    assert root.findtext(".//m:result/m:id", namespaces=NS) == deploy_id
    deploys.set_component_delay(local_org.org, 0.005)
    assert wait(http, deploy_id).findtext("m:status", namespaces=NS) == "Canceled"
    assert "Gym__c" not in list_names(http, "CustomObject")
    _, root = soap_call(http, f"<x:cancelDeploy><x:String>{deploy_id}</x:String></x:cancelDeploy>")
    assert root.findtext(".//faultstring") == "INVALID_ID_FIELD: Deployment already completed"


def test_rest_deploy_request(http: OrgHttp) -> None:
    files = {
        "package.xml": package({"CustomObject": ["Locker__c"]}),
        "objects/Locker__c.object": ROOM.replace(b"Room", b"Locker"),
    }
    answer = http.post(
        "/services/data/v63.0/metadata/deployRequest",
        files={
            "json": (None, '{"deployOptions": {"rollbackOnError": true}}', "application/json"),
            "file": ("deploy.zip", make_zip(files), "application/zip"),
        },
    )
    assert answer.status_code == 201, answer.text
    deploy_id = answer.json()["id"]
    assert answer.json()["deployOptions"]["rollbackOnError"] is True
    for _ in range(200):
        status = http.get(
            f"/services/data/v63.0/metadata/deployRequest/{deploy_id}",
            params={"includeDetails": "true"},
        ).json()
        if status["deployResult"]["done"]:
            break
        time.sleep(0.02)
    result = status["deployResult"]
    assert (result["status"], result["numberComponentsDeployed"]) == ("Succeeded", 4)
    names = {m["fullName"] for m in result["details"]["componentSuccesses"]}
    assert "Locker__c.Seats__c" in names


def test_a_zip_over_39_mb_is_refused(http: OrgHttp, local_org: RunningOrg) -> None:
    """40,894,464 bytes (39 MB) zipped is the documented limit; one byte more is refused."""
    limit = 39 * 1024 * 1024
    noise = random.Random(19).randbytes(limit)  # incompressible, so the zip stays this big
    files = {"package.xml": package({"StaticResource": ["Big"]})}
    overhead = len(make_zip({**files, "staticresources/Big.resource": b""}, stored=True))
    big = make_zip(
        {**files, "staticresources/Big.resource": noise[: limit - overhead + 1]}, stored=True
    )
    assert len(big) == limit + 1
    answer = http.post(
        "/services/data/v63.0/metadata/deployRequest",
        files={"json": (None, "{}", "application/json"), "file": ("big.zip", big)},
    )
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["errorCode"] == "EXCEEDED_MAX_SIZE_REQUEST" and "40,894,464" in error["message"]
    engine = deploys.engine(local_org.org)
    with pytest.raises(deploys.DeployRefused, match="40,894,465 bytes"):
        engine.submit(big, deploys.DeployOptions())
    assert engine.submit(big[:-1], deploys.DeployOptions(check_only=True)).startswith("0Af")


ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd"><!ENTITY word "inner">]>
"""


@pytest.mark.parametrize("where", ["package.xml", "objects/Vault__c.object"])
def test_an_entity_in_a_deploy_is_an_xml_error_of_its_file(http: OrgHttp, where: str) -> None:
    vault = ROOM.replace(b"Room", b"Vault")
    files = {
        "package.xml": package({"CustomObject": ["Vault__c"]}),
        "objects/Vault__c.object": vault,
    }
    body = files[where].split(b"\n", 1)[1].replace(b"<label>", b"<label>&secret;&word;", 1)
    files[where] = ENTITY + body
    result = wait(http, deploy(http, make_zip(files)))
    assert result.findtext("m:status", namespaces=NS) == "Failed"
    assert result.findtext("m:errorMessage", namespaces=NS) in (None, "")
    [failure] = messages(result, "componentFailures")
    assert failure["fileName"] == where
    assert "Error parsing file:" in failure["problem"] and "entit" in failure["problem"].lower()
    assert failure["lineNumber"] == "2"
    assert "Vault__c" not in list_names(http, "CustomObject")


def test_production_rules(http: OrgHttp) -> None:
    http.patch("/_sftk/org", json={"organization_type": "Enterprise Edition"})
    try:
        delete = {
            "package.xml": package({}),
            "destructiveChanges.xml": package({"CustomObject": ["Room__c"]}),
        }
        data = base64.b64encode(make_zip(delete)).decode()
        _, root = soap_call(
            http,
            f"<x:deploy><x:ZipFile>{data}</x:ZipFile><x:DeployOptions>"
            "<x:purgeOnDelete>true</x:purgeOnDelete></x:DeployOptions></x:deploy>",
        )
        assert root.findtext(".//faultcode") == "sf:INVALID_OPERATION"
        http.patch("/_sftk/org", json={"permissions": ["ApiEnabled"]})
        _, root = soap_call(http, "<x:describeMetadata/>")
        assert root.findtext(".//faultcode") == "sf:INSUFFICIENT_ACCESS"
    finally:
        http.patch(
            "/_sftk/org",
            json={
                "organization_type": "Developer Edition",
                "permissions": ["ApiEnabled", "ModifyAllData"],
            },
        )


def test_partial_deploys_on_a_sandbox_and_restarts(
    tmp_path: Path, org_factory: Callable[[Path], OrgHttp]
) -> None:
    first = org_factory(tmp_path)
    deploys.set_component_delay(first.org.org, 0)
    first.patch("/_sftk/org", json={"is_sandbox": True})
    files = {**GOOD, "layouts/Room__c-Room Layout.layout": BROKEN_LAYOUT}
    result = wait(first, deploy(first, make_zip(files), rollbackOnError=False))
    assert result.findtext("m:status", namespaces=NS) == "SucceededPartial"
    assert result.findtext("m:numberComponentErrors", namespaces=NS) == "1"
    first.org.stop()
    second = org_factory(tmp_path)
    assert "Room__c" in list_names(second, "CustomObject")
    assert "Room__c-Room Layout" not in list_names(second, "Layout")
    retrieved, _, _ = retrieve(second, {"CustomObject": ["Room__c"]})
    assert retrieved["objects/Room__c.object"] == ROOM


def test_standard_layouts_can_be_retrieved_patched_and_deployed(http: OrgHttp) -> None:
    schema = deploys.load_schema(http.org.org.state_dir)
    names = [f"{o}-{o} Layout" for o in ("Account", "Contact", "Event", "Lead", "Task", "User")]
    files, problems, _ = retrieve(http, {"Layout": names})
    assert problems == []
    for name in names:
        path = f"layouts/{name}.layout"
        assert schema.errors(etree.fromstring(files[path])) == [], path  # in WSDL order too
    contact = files["layouts/Contact-Contact Layout.layout"]
    patched = contact.replace(b"<field>Title</field>", b"<field>Department</field>", 1)
    assert patched != contact
    package_files = {
        "package.xml": package({"Layout": ["Contact-Contact Layout"]}),
        "layouts/Contact-Contact Layout.layout": patched,
    }
    result = wait(http, deploy(http, make_zip(package_files)))
    assert messages(result, "componentSuccesses")[0]["changed"] == "true"
    again, _, _ = retrieve(http, {"Layout": ["Contact-Contact Layout"]})
    assert again["layouts/Contact-Contact Layout.layout"] == patched
