"""mdapi <-> source conversion, format detection and the house XML serialiser."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import formats, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile

NS = METADATA_NS
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
SRC = "force-app/main/default"

WORKSHOP_OBJECT = f"""{HEAD}<CustomObject xmlns="{NS}">
    <deploymentStatus>Deployed</deploymentStatus>
    <description>Workshops run by the training team &amp; partners</description>
    <fields>
        <fullName>Room__c</fullName>
        <label>Room</label>
        <length>40</length>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Seats__c</fullName>
        <label>Seats &lt;max&gt;</label>
        <precision>4</precision>
        <scale>0</scale>
        <type>Number</type>
    </fields>
    <label>Workshop</label>
    <listViews>
        <fullName>Everything</fullName>
        <filterScope>Everything</filterScope>
        <label>Every workshop</label>
    </listViews>
    <nameField>
        <label>Workshop Name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Workshops</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
    <webLinks>
        <fullName>Open_Agenda</fullName>
        <displayType>button</displayType>
        <openType>newWindow</openType>
        <url>https://agenda.example.org/?id={{!Workshop__c.Id}}</url>
    </webLinks>
</CustomObject>
""".encode()

CONTACT_OBJECT = f"""{HEAD}<CustomObject xmlns="{NS}">
    <fields>
        <fullName>Badge_Number__c</fullName>
        <externalId>true</externalId>
        <label>Badge number</label>
        <length>12</length>
        <type>Text</type>
        <unique>true</unique>
    </fields>
</CustomObject>
""".encode()

LAYOUT = f"""{HEAD}<Layout xmlns="{NS}">
    <layoutSections>
        <label>Details</label>
        <style>OneColumn</style>
    </layoutSections>
</Layout>
""".encode()

PERMSET = f"""{HEAD}<PermissionSet xmlns="{NS}">
    <label>Workshop Organiser</label>
</PermissionSet>
""".encode()

TAB = f"""{HEAD}<CustomTab xmlns="{NS}">
    <customObject>true</customObject>
    <motif>Custom20: Airplane</motif>
</CustomTab>
""".encode()

APEX = b"public with sharing class WorkshopBooking {}\n"
APEX_META = f"""{HEAD}<ApexClass xmlns="{NS}">
    <apiVersion>66.0</apiVersion>
    <status>Active</status>
</ApexClass>
""".encode()

PACKAGE = f"""{HEAD}<Package xmlns="{NS}">
    <version>66.0</version>
</Package>
""".encode()


def mdapi_package() -> list[MetadataFile]:
    files = {
        "classes/WorkshopBooking.cls": APEX,
        "classes/WorkshopBooking.cls-meta.xml": APEX_META,
        "layouts/Workshop__c-Workshop Layout.layout": LAYOUT,
        "objects/Contact.object": CONTACT_OBJECT,
        "objects/Workshop__c.object": WORKSHOP_OBJECT,
        "package.xml": PACKAGE,
        "permissionsets/Workshop_Organiser.permissionset": PERMSET,
        "tabs/Workshop__c.tab": TAB,
    }
    return [MetadataFile(p, c, f"legacy/{p}") for p, c in files.items()]


def by_path(files: list[MetadataFile]) -> dict[str, bytes]:
    return {f.path: f.content for f in files}


# --------------------------------------------------------------------------- to_source


def test_to_source_paths() -> None:
    out = formats.to_source(mdapi_package(), "66.0")
    assert [f.path for f in out] == [
        f"{SRC}/classes/WorkshopBooking.cls",
        f"{SRC}/classes/WorkshopBooking.cls-meta.xml",
        f"{SRC}/layouts/Workshop__c-Workshop Layout.layout-meta.xml",
        f"{SRC}/objects/Contact/Contact.object-meta.xml",
        f"{SRC}/objects/Contact/fields/Badge_Number__c.field-meta.xml",
        f"{SRC}/objects/Workshop__c/Workshop__c.object-meta.xml",
        f"{SRC}/objects/Workshop__c/fields/Room__c.field-meta.xml",
        f"{SRC}/objects/Workshop__c/fields/Seats__c.field-meta.xml",
        f"{SRC}/objects/Workshop__c/listViews/Everything.listView-meta.xml",
        f"{SRC}/objects/Workshop__c/webLinks/Open_Agenda.webLink-meta.xml",
        f"{SRC}/permissionsets/Workshop_Organiser.permissionset-meta.xml",
        f"{SRC}/tabs/Workshop__c.tab-meta.xml",
        "manifest/package.xml",
        "sfdx-project.json",
    ]


def test_to_source_contents() -> None:
    out = by_path(formats.to_source(mdapi_package(), "66.0"))
    assert out[f"{SRC}/objects/Workshop__c/fields/Seats__c.field-meta.xml"] == (
        f"""{HEAD}<CustomField xmlns="{NS}">
    <fullName>Seats__c</fullName>
    <label>Seats &lt;max&gt;</label>
    <precision>4</precision>
    <scale>0</scale>
    <type>Number</type>
</CustomField>
""".encode()
    )
    assert out[f"{SRC}/objects/Workshop__c/Workshop__c.object-meta.xml"] == (
        f"""{HEAD}<CustomObject xmlns="{NS}">
    <deploymentStatus>Deployed</deploymentStatus>
    <description>Workshops run by the training team &amp; partners</description>
    <label>Workshop</label>
    <nameField>
        <label>Workshop Name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Workshops</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""".encode()
    )
    assert out[f"{SRC}/objects/Workshop__c/webLinks/Open_Agenda.webLink-meta.xml"].startswith(
        f'{HEAD}<WebLink xmlns="{NS}">\n    <fullName>Open_Agenda</fullName>\n'.encode()
    )
    assert out[f"{SRC}/objects/Contact/Contact.object-meta.xml"] == (
        f'{HEAD}<CustomObject xmlns="{NS}"/>\n'.encode()
    )
    for path in ("layouts/Workshop__c-Workshop Layout.layout", "classes/WorkshopBooking.cls"):
        suffix = "" if path.endswith(".cls") else "-meta.xml"
        assert out[f"{SRC}/{path}{suffix}"] == by_path(mdapi_package())[path]
    assert out["manifest/package.xml"] == PACKAGE
    assert out["sfdx-project.json"] == (
        b'{\n  "packageDirectories": [\n    {\n      "path": "force-app",\n'
        b'      "default": true\n    }\n  ],\n  "sourceApiVersion": "66.0"\n}\n'
    )


def test_to_source_keeps_origins() -> None:
    out = {f.path: f.origin for f in formats.to_source(mdapi_package(), "66.0")}
    assert out[f"{SRC}/objects/Workshop__c/fields/Room__c.field-meta.xml"] == (
        "legacy/objects/Workshop__c.object"
    )
    assert out[f"{SRC}/tabs/Workshop__c.tab-meta.xml"] == "legacy/tabs/Workshop__c.tab"
    assert out["manifest/package.xml"] == "legacy/package.xml"


def test_to_source_drops_object_full_name() -> None:
    obj = f"""{HEAD}<CustomObject xmlns="{NS}">
    <fullName>Workshop__c</fullName>
    <label>Workshop</label>
</CustomObject>
""".encode()
    out = by_path(formats.to_source([MetadataFile("objects/Workshop__c.object", obj)], "66.0"))
    assert b"fullName" not in out[f"{SRC}/objects/Workshop__c/Workshop__c.object-meta.xml"]


def test_to_source_rejects_bad_api_version() -> None:
    with pytest.raises(ConfigError, match="API version"):
        formats.to_source(mdapi_package(), "v66")


def test_unknown_folder_names_file_and_lists_folders() -> None:
    files = [MetadataFile("widgets/Spinner.widget", b"<x/>", "legacy/widgets/Spinner.widget")]
    with pytest.raises(ConfigError) as info:
        formats.to_source(files, "66.0")
    assert "widgets/Spinner.widget (from legacy/widgets/Spinner.widget)" in str(info.value)
    assert info.value.hint is not None
    assert "layouts" in info.value.hint and "objects" in info.value.hint


def test_wrong_suffix_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"end in \.layout"):
        formats.to_source([MetadataFile("layouts/A-B.xml", LAYOUT)], "66.0")


def test_child_without_full_name_is_refused() -> None:
    obj = f'{HEAD}<CustomObject xmlns="{NS}"><fields><label>X</label></fields></CustomObject>'
    with pytest.raises(ConfigError, match="no <fullName>"):
        formats.to_source([MetadataFile("objects/A__c.object", obj.encode())], "66.0")


def test_child_name_that_leaves_its_folder_is_refused() -> None:
    obj = f"""<CustomObject xmlns="{NS}"><fields><fullName>../../x</fullName></fields>
</CustomObject>"""
    with pytest.raises(ConfigError, match="cannot be used as a file name"):
        formats.to_source([MetadataFile("objects/A__c.object", obj.encode())], "66.0")


def test_fields_differing_only_in_case_are_refused() -> None:
    obj = f"""<CustomObject xmlns="{NS}"><fields><fullName>Room__c</fullName></fields>
<fields><fullName>ROOM__c</fullName></fields></CustomObject>"""
    with pytest.raises(ConfigError, match="same file"):
        formats.to_source([MetadataFile("objects/A__c.object", obj.encode())], "66.0")


# --------------------------------------------------------------------------- to_mdapi


def test_round_trip_mdapi_source_mdapi_is_byte_identical() -> None:
    original = mdapi_package()
    back = formats.to_mdapi(formats.to_source(original, "66.0"))
    assert by_path(back) == by_path(original)


def test_round_trip_source_mdapi_source_is_byte_identical() -> None:
    source = formats.to_source(mdapi_package(), "66.0")
    assert by_path(formats.to_source(formats.to_mdapi(source), "66.0")) == by_path(source)


def test_to_mdapi_origins_point_at_source_files() -> None:
    source = [
        MetadataFile(f.path, f.content, f"proj/{f.path}")
        for f in formats.to_source(mdapi_package(), "66.0")
    ]
    origins = {f.path: f.origin for f in formats.to_mdapi(source)}
    assert origins["objects/Workshop__c.object"] == (
        f"proj/{SRC}/objects/Workshop__c/Workshop__c.object-meta.xml"
    )
    assert origins["objects/Contact.object"] == (
        f"proj/{SRC}/objects/Contact/Contact.object-meta.xml"
    )
    assert origins["layouts/Workshop__c-Workshop Layout.layout"] == (
        f"proj/{SRC}/layouts/Workshop__c-Workshop Layout.layout-meta.xml"
    )


def test_to_mdapi_orders_object_children_like_the_xsd() -> None:
    """Hand-written source files come in any order; the composed object follows the XSD."""
    meta = f"""<CustomObject xmlns="{NS}">
  <sharingModel>Private</sharingModel>
  <label>Venue</label>
  <deploymentStatus>Deployed</deploymentStatus>
</CustomObject>"""
    field_b = f"<CustomField xmlns='{NS}'><fullName>B__c</fullName><type>Url</type></CustomField>"
    field_a = f"<CustomField xmlns='{NS}'><type>Date</type></CustomField>"
    link = f"<WebLink xmlns='{NS}'><fullName>Map</fullName></WebLink>"
    files = [
        MetadataFile("objects/Venue__c/webLinks/Map.webLink-meta.xml", link.encode()),
        MetadataFile("objects/Venue__c/fields/B__c.field-meta.xml", field_b.encode()),
        MetadataFile("objects/Venue__c/Venue__c.object-meta.xml", meta.encode()),
        MetadataFile("objects/Venue__c/fields/A__c.field-meta.xml", field_a.encode()),
    ]
    assert by_path(formats.to_mdapi(files)) == {
        "objects/Venue__c.object": f"""{HEAD}<CustomObject xmlns="{NS}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields>
        <fullName>A__c</fullName>
        <type>Date</type>
    </fields>
    <fields>
        <fullName>B__c</fullName>
        <type>Url</type>
    </fields>
    <label>Venue</label>
    <sharingModel>Private</sharingModel>
    <webLinks>
        <fullName>Map</fullName>
    </webLinks>
</CustomObject>
""".encode()
    }


def test_to_mdapi_standard_object_with_only_field_files() -> None:
    field = f"<CustomField xmlns='{NS}'><fullName>Pager__c</fullName></CustomField>"
    files = [MetadataFile(f"{SRC}/objects/Lead/fields/Pager__c.field-meta.xml", field.encode())]
    out = formats.to_mdapi(files)
    assert [f.path for f in out] == ["objects/Lead.object"]
    assert b"<fullName>Pager__c</fullName>" in out[0].content


def test_to_mdapi_full_name_must_match_file_name() -> None:
    field = f"<CustomField xmlns='{NS}'><fullName>Other__c</fullName></CustomField>"
    files = [MetadataFile("objects/Lead/fields/Pager__c.field-meta.xml", field.encode())]
    with pytest.raises(ConfigError, match="Other__c"):
        formats.to_mdapi(files)


def test_to_mdapi_child_root_must_match_its_folder() -> None:
    field = f"<WebLink xmlns='{NS}'><fullName>Pager__c</fullName></WebLink>"
    files = [MetadataFile("objects/Lead/fields/Pager__c.field-meta.xml", field.encode())]
    with pytest.raises(ConfigError, match="expected <CustomField>"):
        formats.to_mdapi(files)


def test_to_mdapi_unknown_object_subfolder() -> None:
    files = [MetadataFile("objects/Lead/gadgets/X.gadget-meta.xml", b"<x/>")]
    with pytest.raises(ConfigError, match="not a file of object Lead") as info:
        formats.to_mdapi(files)
    assert info.value.hint is not None and "webLinks/" in info.value.hint


def test_to_mdapi_project_uses_package_directories() -> None:
    project = json.dumps({"packageDirectories": [{"path": "src"}], "sourceApiVersion": "66.0"})
    files = [
        MetadataFile("sfdx-project.json", project.encode()),
        MetadataFile("README.md", b"# hello"),
        MetadataFile("scripts/setup.sh", b"echo"),
        MetadataFile("manifest/package.xml", PACKAGE),
        MetadataFile("src/main/default/tabs/Workshop__c.tab-meta.xml", TAB),
    ]
    assert by_path(formats.to_mdapi(files)) == {
        "package.xml": PACKAGE,
        "tabs/Workshop__c.tab": TAB,
    }


def test_to_mdapi_without_project_refuses_stray_files() -> None:
    files = [MetadataFile("notes/README.md", b"# hello")]
    with pytest.raises(ConfigError, match="not under a known metadata type folder"):
        formats.to_mdapi(files)


def test_to_mdapi_refuses_mdapi_object_file() -> None:
    with pytest.raises(ConfigError, match=r"objects/<Name>/"):
        formats.to_mdapi([MetadataFile("objects/A__c.object", WORKSHOP_OBJECT)])


def test_to_mdapi_static_resource_with_real_extension() -> None:
    meta = f"<StaticResource xmlns='{NS}'><contentType>image/png</contentType></StaticResource>"
    files = [
        MetadataFile("staticresources/logo.png", b"\x89PNG"),
        MetadataFile("staticresources/logo.resource-meta.xml", meta.encode()),
    ]
    assert by_path(formats.to_mdapi(files)) == {
        "staticresources/logo.resource": b"\x89PNG",
        "staticresources/logo.resource-meta.xml": meta.encode(),
    }


def test_round_trip_keeps_namespaced_attributes() -> None:
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    obj = f"""{HEAD}<CustomObject xmlns="{NS}" xmlns:xsi="{xsi}">
    <fields>
        <fullName>Notes__c</fullName>
        <defaultValue xsi:nil="true"/>
    </fields>
    <label>Note</label>
</CustomObject>
""".encode()
    source = by_path(formats.to_source([MetadataFile("objects/Note__c.object", obj)], "66.0"))
    field = source[f"{SRC}/objects/Note__c/fields/Notes__c.field-meta.xml"]
    assert f'<CustomField xmlns="{NS}" xmlns:xsi="{xsi}">'.encode() in field
    meta = source[f"{SRC}/objects/Note__c/Note__c.object-meta.xml"]
    assert b"xmlns:xsi" not in meta
    files = [MetadataFile(p, c) for p, c in source.items()]
    assert by_path(formats.to_mdapi(files))["objects/Note__c.object"] == obj


def test_to_mdapi_unreadable_project_file() -> None:
    files = [MetadataFile("sfdx-project.json", b'{"packageDirectories": "force-app"}')]
    with pytest.raises(ConfigError, match="packageDirectories"):
        formats.to_mdapi(files)


# --------------------------------------------------------------------------- detect / convert


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["objects/A__c.object", "package.xml"], "mdapi"),
        (["classes/A.cls", "classes/A.cls-meta.xml"], "mdapi"),
        ([], "mdapi"),
        (["layouts/A-B.layout-meta.xml"], "source"),
        (["objects/A__c/A__c.object-meta.xml"], "source"),
        ([f"{SRC}/classes/A.cls", f"{SRC}/classes/A.cls-meta.xml"], "source"),
        (["sfdx-project.json", "classes/A.cls"], "source"),
        (["manifest/package.xml"], "source"),
        (["staticresources/logo.png", "staticresources/logo.resource-meta.xml"], "source"),
    ],
)
def test_detect_format(paths: list[str], expected: str) -> None:
    assert formats.detect_format([MetadataFile(p, b"") for p in paths]) == expected


def test_detect_format_refuses_a_mix() -> None:
    files = [MetadataFile("objects/A__c.object", b""), MetadataFile("tabs/A__c.tab-meta.xml", b"")]
    with pytest.raises(ConfigError, match="mixed metadata formats"):
        formats.detect_format(files)


def test_convert_both_ways() -> None:
    source = formats.convert(mdapi_package(), "source", "66.0")
    assert by_path(source) == by_path(formats.to_source(mdapi_package(), "66.0"))
    assert by_path(formats.convert(source, "mdapi", "66.0")) == by_path(mdapi_package())
    assert by_path(formats.convert(mdapi_package(), "mdapi", "66.0")) == by_path(mdapi_package())


def test_convert_checks_mdapi_paths() -> None:
    with pytest.raises(ConfigError, match="not in a known Metadata API type folder"):
        formats.convert([MetadataFile("stuff/x.txt", b"")], "mdapi", "66.0")


# --------------------------------------------------------------------------- serialiser


def test_serialize_escapes_and_keeps_text() -> None:
    root = xmlsafe.parse(
        f"""<CustomField xmlns="{NS}"><label> a &amp; b &lt;c&gt; ]]&gt; &#13;\tz 😀é </label>
        <description/></CustomField>""".encode(),
        "test",
    )
    assert formats.serialize(root) == (
        f"""{HEAD}<CustomField xmlns="{NS}">
    <label> a &amp; b &lt;c&gt; ]]&gt; &#13;\tz 😀é </label>
    <description/>
</CustomField>
""".encode()
    )


def test_serialize_namespaced_attributes() -> None:
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    text = (
        f'<values xmlns="{NS}" xmlns:xsi="{xsi}"><value xsi:nil="true" note="a&quot;b"/></values>'
    )
    root = xmlsafe.parse(text.encode(), "test")
    assert formats.serialize(root) == (
        f"""{HEAD}<values xmlns="{NS}" xmlns:xsi="{xsi}">
    <value xsi:nil="true" note="a&quot;b"/>
</values>
""".encode()
    )


def test_serialize_drops_comments_and_refuses_mixed_content() -> None:
    with_comment = xmlsafe.parse(f"<a xmlns='{NS}'><!-- note --><b>1</b></a>".encode(), "t")
    assert (
        formats.serialize(with_comment) == f'{HEAD}<a xmlns="{NS}">\n    <b>1</b>\n</a>\n'.encode()
    )
    mixed = xmlsafe.parse(f"<a xmlns='{NS}'>text<b>1</b></a>".encode(), "t")
    with pytest.raises(ConfigError, match="mixes text"):
        formats.serialize(mixed, "t.xml")


def test_serialize_refuses_foreign_elements() -> None:
    root = xmlsafe.parse(b"<a xmlns='urn:other'><b/></a>", "t")
    with pytest.raises(ConfigError, match="urn:other"):
        formats.serialize(root, "t.xml")


# --------------------------------------------------------------------------- properties

_XML_CHARS = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
) | st.sampled_from("\t\n\r&<>]\"'")
_NAMES = st.text(alphabet=st.sampled_from("abcXYZ019_-.()%' é😀"), min_size=1, max_size=12).filter(
    lambda n: n.strip() == n and n not in (".", "..")
)


def _canonical_object(fields: list[tuple[str, str]], description: str) -> bytes:
    root = etree.Element(etree.QName(NS, "CustomObject"))
    etree.SubElement(root, etree.QName(NS, "description")).text = description
    for name, label in sorted(fields):
        field = etree.SubElement(root, etree.QName(NS, "fields"))
        etree.SubElement(field, etree.QName(NS, "fullName")).text = name
        etree.SubElement(field, etree.QName(NS, "label")).text = label
    etree.SubElement(root, etree.QName(NS, "label")).text = "Thing"
    return formats.serialize(root)


@settings(max_examples=60, deadline=None)
@given(
    fields=st.lists(
        st.tuples(_NAMES, st.text(_XML_CHARS, max_size=20)),
        max_size=5,
        unique_by=lambda pair: pair[0].casefold(),
    ),
    description=st.text(_XML_CHARS, max_size=30),
)
def test_round_trip_property(fields: list[tuple[str, str]], description: str) -> None:
    obj = MetadataFile("objects/Thing__c.object", _canonical_object(fields, description))
    source = formats.to_source([obj], "66.0")
    assert len(source) == len(fields) + 2
    assert formats.to_mdapi(source) == [MetadataFile(obj.path, obj.content, obj.path)]
    labels = {
        xmlsafe.parse(f.content, f.path).findtext(f"{{{NS}}}label")
        for f in source
        if "/fields/" in f.path
    }
    assert labels == {label for _, label in fields}


# --------------------------------------------------------------------------- bundles and folders

# One package in both formats: an lwc bundle with a nested module, an aura bundle, a report and
# a dashboard in folders, an email template and a document with their meta files.
_FOLDER_XML = b"<ReportFolder/>"
BUNDLES_MDAPI = {
    "lwc/roomPicker/roomPicker.js": b"export default class RoomPicker {}\n",
    "lwc/roomPicker/roomPicker.html": b"<template></template>\n",
    "lwc/roomPicker/roomPicker.js-meta.xml": b"<LightningComponentBundle/>",
    "lwc/roomPicker/utils/seats.js": b"export const seats = 4;\n",
    "aura/bookingCard/bookingCard.cmp": b"<aura:component/>\n",
    "aura/bookingCard/bookingCard.cmp-meta.xml": b"<AuraDefinitionBundle/>",
    "aura/bookingCard/bookingCardController.js": b"({})\n",
    "reports/Rooms-meta.xml": _FOLDER_XML,
    "reports/Rooms/Busy_Rooms.report": b"<Report/>",
    "dashboards/Ops-meta.xml": b"<DashboardFolder/>",
    "dashboards/Ops/Weekly.dashboard": b"<Dashboard/>",
    "email/Letters-meta.xml": b"<EmailFolder/>",
    "email/Letters/Welcome.email": b"Hello {!Contact.FirstName}\n",
    "email/Letters/Welcome.email-meta.xml": b"<EmailTemplate/>",
    "documents/Logos-meta.xml": b"<DocumentFolder/>",
    "documents/Logos/campus.png": b"\x89PNG\r\n\x1a\n",
    "documents/Logos/campus.png-meta.xml": b"<Document/>",
}
BUNDLES_SOURCE = {
    f"{SRC}/lwc/roomPicker/roomPicker.js": "lwc/roomPicker/roomPicker.js",
    f"{SRC}/lwc/roomPicker/roomPicker.html": "lwc/roomPicker/roomPicker.html",
    f"{SRC}/lwc/roomPicker/roomPicker.js-meta.xml": "lwc/roomPicker/roomPicker.js-meta.xml",
    f"{SRC}/lwc/roomPicker/utils/seats.js": "lwc/roomPicker/utils/seats.js",
    f"{SRC}/aura/bookingCard/bookingCard.cmp": "aura/bookingCard/bookingCard.cmp",
    f"{SRC}/aura/bookingCard/bookingCard.cmp-meta.xml": "aura/bookingCard/bookingCard.cmp-meta.xml",
    f"{SRC}/aura/bookingCard/bookingCardController.js": "aura/bookingCard/bookingCardController.js",
    f"{SRC}/reports/Rooms.reportFolder-meta.xml": "reports/Rooms-meta.xml",
    f"{SRC}/reports/Rooms/Busy_Rooms.report-meta.xml": "reports/Rooms/Busy_Rooms.report",
    f"{SRC}/dashboards/Ops.dashboardFolder-meta.xml": "dashboards/Ops-meta.xml",
    f"{SRC}/dashboards/Ops/Weekly.dashboard-meta.xml": "dashboards/Ops/Weekly.dashboard",
    f"{SRC}/email/Letters.emailFolder-meta.xml": "email/Letters-meta.xml",
    f"{SRC}/email/Letters/Welcome.email": "email/Letters/Welcome.email",
    f"{SRC}/email/Letters/Welcome.email-meta.xml": "email/Letters/Welcome.email-meta.xml",
    f"{SRC}/documents/Logos.documentFolder-meta.xml": "documents/Logos-meta.xml",
    f"{SRC}/documents/Logos/campus.png": "documents/Logos/campus.png",
    f"{SRC}/documents/Logos/campus.document-meta.xml": "documents/Logos/campus.png-meta.xml",
}


def _mdapi_bundles() -> list[MetadataFile]:
    return [MetadataFile(p, c) for p, c in sorted(BUNDLES_MDAPI.items())]


def test_bundles_and_folders_to_source_and_back() -> None:
    source = formats.to_source(_mdapi_bundles(), "63.0")
    by_path = {f.path: f.content for f in source if f.path.startswith(SRC)}
    assert by_path == {s: BUNDLES_MDAPI[m] for s, m in BUNDLES_SOURCE.items()}
    assert formats.detect_format(source) == "source"
    back = formats.to_mdapi(source)
    assert [(f.path, f.content) for f in back] == sorted(BUNDLES_MDAPI.items())


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("reports/Rooms-meta.xml", "mdapi"),
        ("reports/Rooms/Busy_Rooms.report", "mdapi"),
        ("reports/Rooms.reportFolder-meta.xml", "source"),
        ("reports/Rooms/Busy_Rooms.report-meta.xml", "source"),
        ("documents/Logos/campus.png-meta.xml", "mdapi"),
        ("documents/Logos/campus.document-meta.xml", "source"),
        ("lwc/roomPicker/roomPicker.js", "mdapi"),  # alike in both: mdapi by default
        ("email/Letters/Welcome.email-meta.xml", "mdapi"),
    ],
)
def test_detect_format_of_bundles_and_folders(path: str, expected: str) -> None:
    assert formats.detect_format([MetadataFile(path, b"")]) == expected


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("lwc/roomPicker.js", r"folder of files, lwc/<name>/<files>"),
        ("reports/Rooms/Busy_Rooms.txt", r"Report files end in \.report"),
        ("reports/Rooms/Sub/Busy.report", "one folder down"),
        ("reports/Rooms.txt", r"reports/<Folder>-meta\.xml"),
    ],
)
def test_bad_bundle_and_folder_paths_are_refused(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        formats.parse_mdapi_path(MetadataFile(path, b""))


def test_source_document_meta_needs_its_file() -> None:
    lone = MetadataFile(f"{SRC}/documents/Logos/campus.document-meta.xml", b"<Document/>")
    with pytest.raises(ConfigError, match=r"no single document file campus\.\*"):
        formats.to_mdapi([lone])
