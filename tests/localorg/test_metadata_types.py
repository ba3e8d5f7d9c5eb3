"""Bundles and in-folder types in the local org: lwc and aura bundles, a report in a folder and
an email template with its meta file deploy, retrieve back byte for byte, and list by folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from test_metadata_api import MD, NS, deploy, make_zip, package, retrieve, soap_call, wait, xml

from toolkit.localorg import deploys
from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from conftest import OrgHttp  # tests/localorg/conftest.py

FILES = {
    "lwc/seatCounter/seatCounter.js": b"import { LightningElement } from 'lwc';\n"
    b"export default class SeatCounter extends LightningElement {}\n",
    "lwc/seatCounter/seatCounter.html": b"<template><p>{count}</p></template>\n",
    "lwc/seatCounter/seatCounter.js-meta.xml": xml(f"""
<LightningComponentBundle xmlns="{MD}">
    <apiVersion>63.0</apiVersion>
    <isExposed>false</isExposed>
</LightningComponentBundle>
"""),
    "lwc/seatCounter/lib/math.js": b"export const add = (a, b) => a + b;\n",
    "aura/roomBadge/roomBadge.cmp": b"<aura:component>\n    <p>Room</p>\n</aura:component>\n",
    "aura/roomBadge/roomBadge.cmp-meta.xml": xml(f"""
<AuraDefinitionBundle xmlns="{MD}">
    <apiVersion>63.0</apiVersion>
    <description>Shows a room</description>
</AuraDefinitionBundle>
"""),
    "aura/roomBadge/roomBadgeController.js": b"({ init: function () {} })\n",
    "reports/Facilities-meta.xml": xml(f"""
<ReportFolder xmlns="{MD}">
    <accessType>Public</accessType>
    <name>Facilities</name>
    <publicFolderAccess>ReadWrite</publicFolderAccess>
</ReportFolder>
"""),
    "reports/Facilities/Empty_Rooms.report": xml(f"""
<Report xmlns="{MD}">
    <format>Tabular</format>
    <name>Empty Rooms</name>
    <reportType>Account</reportType>
    <scope>organization</scope>
    <showDetails>true</showDetails>
</Report>
"""),
    "email/unfiled$public/Room_Booked.email": b"Your room {!Room__c.Name} is booked.\n",
    "email/unfiled$public/Room_Booked.email-meta.xml": xml(f"""
<EmailTemplate xmlns="{MD}">
    <available>true</available>
    <encodingKey>UTF-8</encodingKey>
    <name>Room Booked</name>
    <style>none</style>
    <subject>Room booked</subject>
    <type>text</type>
</EmailTemplate>
"""),
}
MEMBERS = {
    "AuraDefinitionBundle": ["roomBadge"],
    "EmailTemplate": ["unfiled$public/Room_Booked"],
    "LightningComponentBundle": ["seatCounter"],
    "Report": ["Facilities", "Facilities/Empty_Rooms"],
}


@pytest.fixture(scope="module")
def deployed(http: OrgHttp, local_org: RunningOrg) -> Any:
    deploys.set_component_delay(local_org.org, 0.0)
    data = make_zip({"package.xml": package(MEMBERS), **FILES}, "unpackaged/")
    return wait(http, deploys_id(http, data))


def deploys_id(http: OrgHttp, data: bytes) -> str:
    return deploy(http, data, singlePackage=False)


def list_query(http: OrgHttp, type_name: str, folder: str | None = None) -> list[str]:
    folder_xml = "" if folder is None else f"<x:folder>{folder}</x:folder>"
    _, root = soap_call(
        http,
        f"<x:listMetadata><x:queries>{folder_xml}<x:type>{type_name}</x:type></x:queries>"
        "<x:asOfVersion>63.0</x:asOfVersion></x:listMetadata>",
    )
    return sorted(
        str(r.findtext("m:fullName", namespaces=NS)) for r in root.iterfind(".//m:result", NS)
    )


def test_deploy_succeeds_with_one_success_per_component(deployed: Any) -> None:
    assert deployed.findtext("m:status", namespaces=NS) == "Succeeded", [
        m.findtext("m:problem", namespaces=NS)
        for m in deployed.iterfind("m:details/m:componentFailures", NS)
    ]
    kinds = {
        (m.findtext("m:componentType", namespaces=NS), m.findtext("m:fullName", namespaces=NS))
        for m in deployed.iterfind("m:details/m:componentSuccesses", NS)
    }
    assert {
        ("LightningComponentBundle", "seatCounter"),
        ("AuraDefinitionBundle", "roomBadge"),
        ("ReportFolder", "Facilities"),
        ("Report", "Facilities/Empty_Rooms"),
        ("EmailTemplate", "unfiled$public/Room_Booked"),
    } <= kinds


def test_retrieve_by_member_is_byte_identical(http: OrgHttp, deployed: Any) -> None:
    files, problems, _ = retrieve(http, MEMBERS)
    assert problems == []
    assert {p: c for p, c in files.items() if p != "package.xml"} == FILES


def test_retrieve_by_wildcard_gives_bundles_not_in_folder_types(
    http: OrgHttp, deployed: Any
) -> None:
    files, problems, _ = retrieve(
        http, {"LightningComponentBundle": ["*"], "AuraDefinitionBundle": ["*"], "Report": ["*"]}
    )
    assert problems == []
    expected = {p: c for p, c in FILES.items() if p.startswith(("lwc/", "aura/"))}
    assert {p: c for p, c in files.items() if p != "package.xml"} == expected


def test_list_metadata_needs_the_folder_for_in_folder_types(http: OrgHttp, deployed: Any) -> None:
    assert list_query(http, "Report") == []
    assert list_query(http, "Report", "Facilities") == ["Facilities/Empty_Rooms"]
    assert list_query(http, "ReportFolder") == ["Facilities"]
    assert list_query(http, "EmailTemplate", "unfiled$public") == ["unfiled$public/Room_Booked"]
    assert list_query(http, "LightningComponentBundle") == ["seatCounter"]


def test_describe_reports_folders_bundles_and_meta_files(http: OrgHttp) -> None:
    _, root = soap_call(
        http, "<x:describeMetadata><x:asOfVersion>63.0</x:asOfVersion></x:describeMetadata>"
    )
    described = {
        o.findtext("m:xmlName", namespaces=NS): o for o in root.iterfind(".//m:metadataObjects", NS)
    }
    report = described["Report"]
    assert (
        report.findtext("m:directoryName", namespaces=NS),
        report.findtext("m:inFolder", namespaces=NS),
    ) == ("reports", "true")
    email = described["EmailTemplate"]
    assert email.findtext("m:metaFile", namespaces=NS) == "true"
    lwc = described["LightningComponentBundle"]
    assert lwc.findtext("m:directoryName", namespaces=NS) == "lwc"
    assert lwc.find("m:suffix", NS) is None


def test_report_in_a_missing_folder_fails(http: OrgHttp, deployed: Any) -> None:
    data = make_zip(
        {
            "package.xml": package({"Report": ["Nowhere/Lost"]}),
            "reports/Nowhere/Lost.report": FILES["reports/Facilities/Empty_Rooms.report"],
        }
    )
    result = wait(http, deploys_id(http, data))
    problems = [
        m.findtext("m:problem", namespaces=NS)
        for m in result.iterfind("m:details/m:componentFailures", NS)
    ]
    assert problems == ["Cannot find folder:Nowhere"]


def test_redeploying_a_bundle_replaces_its_files(http: OrgHttp, deployed: Any) -> None:
    changed = {p: c for p, c in FILES.items() if p.startswith("lwc/") and "/lib/" not in p}
    changed["lwc/seatCounter/seatCounter.html"] = b"<template><b>{count}</b></template>\n"
    data = make_zip(
        {"package.xml": package({"LightningComponentBundle": ["seatCounter"]}), **changed}
    )
    assert wait(http, deploys_id(http, data)).findtext("m:status", namespaces=NS) == "Succeeded"
    files, _, _ = retrieve(http, {"LightningComponentBundle": ["seatCounter"]})
    assert {p: c for p, c in files.items() if p != "package.xml"} == changed
