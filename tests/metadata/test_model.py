"""The package model (both formats, with lines) and the table of standard objects."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import toolkit.metadata.model as model_module
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.model import Component, FieldDef, PackageModel, load_model
from toolkit.metadata.standard_objects import (
    CUSTOM_OBJECT_FIELDS,
    STANDARD_OBJECTS,
    is_standard_object,
    standard_field,
    standard_object,
)

MD = "http://soap.sforce.com/2006/04/metadata"
SRC = "force-app/main/default"

LEVEL = """<type>Picklist</type>
        <valueSet>
            <restricted>true</restricted>
            <valueSetDefinition>
                <sorted>false</sorted>
                <value>
                    <fullName>Intro</fullName>
                    <default>true</default>
                    <label>Introductory</label>
                </value>
                <value>
                    <fullName>Deep</fullName>
                    <default>false</default>
                    <label>Deep dive</label>
                </value>
            </valueSetDefinition>
        </valueSet>"""

HOURS = """<label>Hours</label>
        <precision>4</precision>
        <required>true</required>
        <scale>1</scale>
        <type>Number</type>"""

TRAINER = """<label>Trainer</label>
        <referenceTo>Contact</referenceTo>
        <relationshipLabel>Workshops Led</relationshipLabel>
        <relationshipName>Workshops_Led</relationshipName>
        <type>Lookup</type>"""

MDAPI_OBJECT = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD}">
    <!-- a comment the model must ignore -->
    <fields>
        <fullName>Level__c</fullName>
        <label>Level</label>
        {LEVEL}
    </fields>
    <fields>
        <fullName>Hours__c</fullName>
        {HOURS}
    </fields>
    <fields>
        <fullName>Trainer__c</fullName>
        {TRAINER}
    </fields>
    <label>Workshop</label>
    <listViews>
        <fullName>All</fullName>
        <filterScope>Everything</filterScope>
        <label>All</label>
    </listViews>
    <nameField>
        <label>Workshop Name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Workshops</pluralLabel>
    <webLinks>
        <fullName>Print_Badge</fullName>
        <displayType>button</displayType>
        <linkType>url</linkType>
        <url>https://example.org/badge</url>
    </webLinks>
</CustomObject>
"""


def _doc(root: str, body: str) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{MD}">'
    return f"{head}\n{body}\n</{root}>\n".encode()


SOURCE_FILES = [
    MetadataFile(
        f"{SRC}/objects/Workshop__c/Workshop__c.object-meta.xml",
        _doc(
            "CustomObject",
            "    <label>Workshop</label>\n    <nameField>\n        <label>Workshop Name</label>\n"
            "        <type>Text</type>\n    </nameField>\n    <pluralLabel>Workshops</pluralLabel>",
        ),
    ),
    MetadataFile(
        f"{SRC}/objects/Workshop__c/fields/Level__c.field-meta.xml",
        _doc(
            "CustomField",
            f"    <fullName>Level__c</fullName>\n    <label>Level</label>\n    {LEVEL}",
        ),
    ),
    MetadataFile(
        f"{SRC}/objects/Workshop__c/fields/Hours__c.field-meta.xml",
        _doc("CustomField", f"    <fullName>Hours__c</fullName>\n    {HOURS}"),
    ),
    MetadataFile(
        f"{SRC}/objects/Workshop__c/fields/Trainer__c.field-meta.xml",
        _doc("CustomField", f"    <fullName>Trainer__c</fullName>\n    {TRAINER}"),
    ),
    MetadataFile(
        f"{SRC}/objects/Workshop__c/listViews/All.listView-meta.xml",
        _doc("ListView", "    <fullName>All</fullName>\n    <label>All</label>"),
    ),
    MetadataFile(
        f"{SRC}/objects/Workshop__c/webLinks/Print_Badge.webLink-meta.xml",
        _doc(
            "WebLink",
            "    <fullName>Print_Badge</fullName>\n    <displayType>button</displayType>\n"
            "    <linkType>url</linkType>\n    <url>https://example.org/badge</url>",
        ),
    ),
]

LAYOUT = _doc(
    "Layout",
    """    <customButtons>Print_Badge</customButtons>
    <layoutSections>
        <label>Main</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Required</behavior>
                <field>Name</field>
            </layoutItems>
            <layoutItems>
                <customLink>Print_Badge</customLink>
            </layoutItems>
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Hours__c</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <relatedLists>
        <fields>NAME</fields>
        <relatedList>Session__c.Workshop__c</relatedList>
    </relatedLists>""",
)

PERMISSION_SET = _doc(
    "PermissionSet",
    """    <fieldPermissions>
        <editable>false</editable>
        <field>Workshop__c.Hours__c</field>
        <readable>true</readable>
    </fieldPermissions>
    <label>Workshop Host</label>
    <objectPermissions>
        <allowCreate>true</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>true</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Workshop__c</object>
        <viewAllRecords>true</viewAllRecords>
    </objectPermissions>""",
)

MANIFEST = _doc(
    "Package",
    """    <types>
        <members>Workshop__c</members>
        <name>CustomObject</name>
    </types>
    <version>66.0</version>""",
)


def _strip(field: FieldDef) -> FieldDef:
    """The field without where it came from, to compare the two formats."""
    values = tuple(replace(v, file="", line=0) for v in field.values)
    return replace(field, file="", line=0, values=values)


def mdapi_model() -> PackageModel:
    return load_model([MetadataFile("objects/Workshop__c.object", MDAPI_OBJECT.encode())])


# --- objects and fields --------------------------------------------------------------------------


def test_mdapi_fields_are_typed_and_located() -> None:
    model = mdapi_model()
    obj = model.objects["Workshop__c"]
    assert (obj.custom, obj.label, obj.plural_label, obj.file) == (
        True,
        "Workshop",
        "Workshops",
        "objects/Workshop__c.object",
    )
    assert obj.name_field is not None and obj.name_field.name == "Name"
    assert obj.name_field.label == "Workshop Name"
    level, hours, trainer = obj.fields
    assert (level.full_name, level.line, level.type) == ("Workshop__c.Level__c", 4, "Picklist")
    assert [(v.name, v.label, v.default, v.line) for v in level.values] == [
        ("Intro", "Introductory", True, 12),
        ("Deep", "Deep dive", False, 17),
    ]
    assert level.restricted
    assert (hours.precision, hours.scale, hours.required, hours.line_of("scale")) == (
        4,
        1,
        True,
        30,
    )
    assert (trainer.reference_to, trainer.relationship_name, trainer.relationship_label) == (
        "Contact",
        "Workshops_Led",
        "Workshops Led",
    )
    assert trainer.line_of("no-such-element") == trainer.line
    assert [link.full_name for link in obj.web_links] == ["Workshop__c.Print_Badge"]


def test_source_format_gives_the_same_objects() -> None:
    mdapi = mdapi_model().objects["Workshop__c"]
    source = load_model(SOURCE_FILES).objects["Workshop__c"]

    def stripped(fields: tuple[FieldDef, ...]) -> list[FieldDef]:
        return sorted((_strip(f) for f in fields), key=lambda f: f.name)

    assert stripped(source.fields) == stripped(mdapi.fields)
    assert source.label == mdapi.label and source.plural_label == mdapi.plural_label
    hours = next(f for f in source.fields if f.name == "Hours__c")
    assert (hours.file, hours.line) == (SOURCE_FILES[2].path, 2)
    assert [w.name for w in source.web_links] == ["Print_Badge"]


def test_components_of_both_formats_agree() -> None:
    def names(model: PackageModel) -> list[tuple[str, str, bool]]:
        return sorted((c.type, c.name, c.must_be_listed) for c in model.components)

    expected = [
        ("CustomField", "Workshop__c.Hours__c", True),
        ("CustomField", "Workshop__c.Level__c", True),
        ("CustomField", "Workshop__c.Trainer__c", True),
        ("CustomObject", "Workshop__c", True),
        ("ListView", "Workshop__c.All", True),
        ("WebLink", "Workshop__c.Print_Badge", True),
    ]
    assert names(mdapi_model()) == expected
    assert names(load_model(SOURCE_FILES)) == expected


def test_objects_known_only_through_children() -> None:
    files = [SOURCE_FILES[2]]
    files.append(
        MetadataFile(
            f"{SRC}/objects/Account/fields/Region__c.field-meta.xml",
            _doc(
                "CustomField",
                "    <label>Region</label>\n    <length>20</length>\n    <type>Text</type>",
            ),
        )
    )
    model = load_model(files)
    account = model.objects["Account"]
    assert account.file is None and not account.custom
    assert account.fields[0].name == "Region__c"
    implied = [c for c in model.components if c.type == "CustomObject"]
    assert implied == [
        Component("CustomObject", "Account", files[1].path, 0, must_be_listed=False),
        Component("CustomObject", "Workshop__c", files[0].path, 0, must_be_listed=False),
    ]


def test_object_file_with_only_children_is_a_container() -> None:
    content = _doc(
        "CustomObject",
        "    <fields>\n        <fullName>Region__c</fullName>\n        <type>Text</type>\n"
        "    </fields>",
    )
    model = load_model([MetadataFile("objects/Account.object", content)])
    assert model.objects["Account"].container_only
    obj_component = next(c for c in model.components if c.type == "CustomObject")
    assert not obj_component.must_be_listed


def test_legacy_picklist_values() -> None:
    content = _doc(
        "CustomObject",
        """    <fields>
        <fullName>Tier__c</fullName>
        <picklist>
            <picklistValues>
                <fullName>Gold</fullName>
                <default>true</default>
            </picklistValues>
            <restrictedPicklist>true</restrictedPicklist>
            <sorted>false</sorted>
        </picklist>
        <type>Picklist</type>
    </fields>""",
    )
    field = (
        load_model([MetadataFile("objects/Account.object", content)]).objects["Account"].fields[0]
    )
    assert [(v.name, v.label, v.default) for v in field.values] == [("Gold", "Gold", True)]
    assert field.restricted


def test_missing_namespace_and_bad_numbers_are_tolerated() -> None:
    content = (
        b"<CustomObject><fields><fullName>Size__c</fullName><length>big</length>"
        b"<type>Text</type></fields></CustomObject>"
    )
    field = load_model([MetadataFile("objects/Box__c.object", content)]).objects["Box__c"].fields[0]
    assert (field.name, field.length, field.type) == ("Size__c", None, "Text")


# --- layouts, permission sets, tabs, manifests --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "layouts/Workshop__c-Workshop - Main Layout.layout",
        f"{SRC}/layouts/Workshop__c-Workshop - Main Layout.layout-meta.xml",
    ],
)
def test_layout(path: str) -> None:
    (lay,) = load_model([MetadataFile(path, LAYOUT)]).layouts
    assert (lay.name, lay.object, lay.file, lay.line) == (
        "Workshop__c-Workshop - Main Layout",
        "Workshop__c",
        path,
        2,
    )
    assert [(i.field, i.behavior, i.line) for i in lay.items] == [
        ("Name", "Required", 7),
        ("Hours__c", "Edit", 16),
    ]
    assert [(b.name, b.line) for b in lay.custom_buttons] == [("Print_Badge", 3)]
    assert [(b.name, b.line) for b in lay.custom_links] == [("Print_Badge", 12)]
    assert [(r.name, r.fields, r.line) for r in lay.related_lists] == [
        ("Session__c.Workshop__c", ("NAME",), 23),
    ]


def test_permission_set() -> None:
    model = load_model([MetadataFile("permissionsets/Workshop_Host.permissionset", PERMISSION_SET)])
    (perm_set,) = model.permission_sets
    assert (perm_set.name, perm_set.label, perm_set.label_line) == (
        "Workshop_Host",
        "Workshop Host",
        8,
    )
    (fp,) = perm_set.field_permissions
    assert (fp.object_name, fp.field_name, fp.readable, fp.editable, fp.line) == (
        "Workshop__c",
        "Hours__c",
        True,
        False,
        3,
    )
    (op,) = perm_set.object_permissions
    assert (op.object, op.allow_create, op.allow_delete, op.view_all_records, op.line) == (
        "Workshop__c",
        True,
        False,
        True,
        9,
    )


def test_tab_and_manifest() -> None:
    tab = _doc("CustomTab", "    <customObject>true</customObject>\n    <label>Workshops</label>")
    url_tab = _doc("CustomTab", "    <label>Portal</label>\n    <url>https://example.org</url>")
    model = load_model(
        [
            MetadataFile(f"{SRC}/tabs/Workshop__c.tab-meta.xml", tab),
            MetadataFile(f"{SRC}/tabs/Portal.tab-meta.xml", url_tab),
            MetadataFile("manifest/package.xml", MANIFEST),
        ]
    )
    assert [(t.name, t.object) for t in model.tabs] == [
        ("Portal", None),
        ("Workshop__c", "Workshop__c"),
    ]
    (manifest,) = model.manifests
    assert (manifest.file, manifest.version) == ("manifest/package.xml", "66.0")
    (types,) = manifest.types
    assert (types.name, [(m.name, m.line) for m in types.members], types.line) == (
        "CustomObject",
        [("Workshop__c", 4)],
        3,
    )


def test_malformed_and_unknown_files_are_skipped() -> None:
    model = load_model(
        [
            MetadataFile("layouts/Broken__c-Broken.layout", b"<Layout><oops></Layout>"),
            MetadataFile("README.md", b"# not metadata"),
            MetadataFile("classes/Greeter.cls", b"public class Greeter {}"),
            MetadataFile("classes/Greeter.cls-meta.xml", _doc("ApexClass", "")),
            MetadataFile("objects/Workshop__c.object", MDAPI_OBJECT.encode()),
        ]
    )
    assert model.layouts == ()
    assert "Workshop__c" in model.objects
    apex = [c for c in model.components if c.type == "ApexClass"]
    assert {(c.name, c.file) for c in apex} == {
        ("Greeter", "classes/Greeter.cls"),
        ("Greeter", "classes/Greeter.cls-meta.xml"),
    }


def test_find_object_ignores_case() -> None:
    model = mdapi_model()
    assert model.find_object("workshop__C") is model.objects["Workshop__c"]
    assert model.find_object("Course__c") is None


def test_model_is_deterministic_whatever_the_file_order() -> None:
    assert load_model(SOURCE_FILES) == load_model(list(reversed(SOURCE_FILES)))


# --- what the model reads lazily or builds without __init__ -------------------------------------


def test_field_records_hold_every_attribute() -> None:
    names = {f.name for f in dataclasses.fields(FieldDef)}
    for field in mdapi_model().objects["Workshop__c"].fields:
        assert set(vars(field)) == names
        rebuilt = FieldDef(**{name: getattr(field, name) for name in names})
        assert rebuilt == field and hash(rebuilt) == hash(field)


def test_lines_of_child_elements_are_looked_up_on_demand() -> None:
    obj = mdapi_model().objects["Workshop__c"]
    lines = MDAPI_OBJECT.splitlines()
    assert lines[obj.line_of("pluralLabel") - 1].strip() == "<pluralLabel>Workshops</pluralLabel>"
    assert obj.line_of("no-such-element") == obj.line
    trainer = obj.fields[2]
    assert lines[trainer.line_of("relationshipName") - 1].strip() == (
        "<relationshipName>Workshops_Led</relationshipName>"
    )


def test_elements_outside_the_root_namespace_are_still_read() -> None:
    content = (
        f'<CustomObject xmlns="{MD}">\n<fields xmlns="urn:elsewhere">\n'
        "<fullName>Size__c</fullName>\n<length>12</length>\n<type>Text</type>\n</fields>\n"
        '<label xmlns="">Box</label>\n</CustomObject>'
    ).encode()
    obj = load_model([MetadataFile("objects/Box__c.object", content)]).objects["Box__c"]
    (field,) = obj.fields
    assert (field.name, field.length, field.type, obj.label) == ("Size__c", 12, "Text", "Box")
    assert (field.line_of("length"), obj.line_of("label")) == (4, 7)


def test_tag_names_seen_stay_bounded() -> None:
    for number in range(5000):
        assert model_module._LOCAL[f"{{urn:ns{number}}}label"] == "label"
    assert len(model_module._LOCAL) <= 4096
    assert model_module._LOCAL[f"{{{MD}}}nosuchtag"] is None


def test_records_read_on_demand_compare_by_content() -> None:
    def one(path: str, content: bytes) -> PackageModel:
        return load_model([MetadataFile(path, content)])

    layout_path = "layouts/Workshop__c-Workshop - Main Layout.layout"
    layout = one(layout_path, LAYOUT).layouts[0]
    same = one(layout_path, LAYOUT).layouts[0]
    other = one(layout_path, LAYOUT.replace(b"Hours__c", b"Minutes__c")).layouts[0]
    assert layout == same and hash(layout) == hash(same)
    assert layout != other
    perm_path = "permissionsets/Workshop_Host.permissionset"
    perm_set = one(perm_path, PERMISSION_SET).permission_sets[0]
    assert perm_set == one(perm_path, PERMISSION_SET).permission_sets[0]
    assert perm_set != one(perm_path, PERMISSION_SET.replace(b"Hours", b"Days")).permission_sets[0]
    (types,) = one("package.xml", MANIFEST).manifests[0].types
    (moved,) = one("package.xml", MANIFEST.replace(b"Workshop__c", b"Course__c")).manifests[0].types
    assert types == one("package.xml", MANIFEST).manifests[0].types[0]
    assert types != moved


_ENTRY_PARTS = st.sampled_from(
    [
        "<field>Workshop__c.Hours__c</field>",
        "<field> Workshop__c.Level__c </field>",
        "<field/>",
        "<readable>true</readable>",
        "<!-- a note -->",
        "<fieldPermissions><field>Nested__c.Deep__c</field></fieldPermissions>",
    ]
)


@given(
    st.lists(
        st.one_of(st.lists(_ENTRY_PARTS, max_size=4), st.just("<field>Stray__c.Loose__c</field>")),
        max_size=6,
    )
)
def test_permission_field_names_are_the_entries_fields(entries: list[list[str] | str]) -> None:
    body = "".join(
        e if isinstance(e, str) else "<fieldPermissions>" + "".join(e) + "</fieldPermissions>"
        for e in entries
    )
    content = _doc("PermissionSet", body)
    model = load_model([MetadataFile("permissionsets/Host.permissionset", content)])
    (perm_set,) = model.permission_sets
    assert perm_set.field_names == {fp.field for fp in perm_set.field_permissions}


def test_layout_field_names_cover_every_item() -> None:
    stray = LAYOUT.replace(b"<style>", b"<field>Stray__c</field>\n        <style>")
    (lay,) = load_model([MetadataFile("layouts/Workshop__c-Main.layout", stray)]).layouts
    assert {item.field for item in lay.items} == {"Name", "Hours__c"}
    assert lay.field_names == {"Name", "Hours__c", "Stray__c"}
    plain = LAYOUT.replace(b"<customLink>Print_Badge</customLink>", b"")
    (no_links,) = load_model([MetadataFile("layouts/Workshop__c-Main.layout", plain)]).layouts
    assert no_links.custom_links == ()


def test_manifest_member_names_are_the_members() -> None:
    content = _doc(
        "Package",
        "<types><members> A__c </members><!-- b --><members>B__c</members>"
        "<name>CustomObject</name></types>",
    )
    (types,) = load_model([MetadataFile("package.xml", content)]).manifests[0].types
    assert types.member_names == {m.name for m in types.members} == {"A__c", "B__c"}


# --- the standard-object table -------------------------------------------------------------------


def test_common_standard_objects_are_present() -> None:
    for name in (
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "Case",
        "Campaign",
        "Event",
        "Task",
        "User",
        "Product2",
        "Asset",
        "Contract",
        "Order",
        "Pricebook2",
        "CampaignMember",
        "OpportunityLineItem",
    ):
        assert is_standard_object(name), name
    assert not is_standard_object("Course__c")
    assert standard_object("contact") is STANDARD_OBJECTS["Contact"]


def test_contact_fields() -> None:
    for name in (
        "Id",
        "Name",
        "FirstName",
        "LastName",
        "Salutation",
        "Email",
        "Phone",
        "MobilePhone",
        "AccountId",
        "OwnerId",
        "Title",
        "Department",
        "Birthdate",
        "MailingStreet",
        "MailingCity",
        "MailingState",
        "MailingPostalCode",
        "MailingCountry",
        "MailingAddress",
        "Description",
        "LeadSource",
        "ReportsToId",
        "CreatedById",
        "CreatedDate",
        "LastModifiedById",
        "LastModifiedDate",
    ):
        assert standard_field("Contact", name) is not None, name
    email = standard_field("Contact", "email")
    assert email is not None and (email.type, email.length) == ("email", 80)
    account = standard_field("Contact", "AccountId")
    assert account is not None
    assert (account.type, account.reference_to, account.relationship_name) == (
        "reference",
        ("Account",),
        "Account",
    )
    last_name = standard_field("Contact", "LastName")
    assert last_name is not None and last_name.required and not last_name.nillable
    full_name = standard_field("Contact", "Name")
    assert full_name is not None and not full_name.createable and not full_name.required
    assert standard_field("Contact", "Shoe_Size__c") is None
    assert standard_field("Nonexistent", "Name") is None


def test_every_reference_points_inside_the_table() -> None:
    for obj in STANDARD_OBJECTS.values():
        names = [f.name for f in obj.fields]
        assert len(names) == len(set(names)), obj.name
        # Records have a key prefix; Activity only holds the fields Event and Task share.
        assert len(obj.key_prefix) == (0 if obj.name == "Activity" else 3), obj.name
        for field in obj.fields:
            assert field.type, (obj.name, field.name)
            if field.type == "reference":
                assert field.reference_to and field.relationship_name, (obj.name, field.name)
                for target in field.reference_to:
                    assert target in STANDARD_OBJECTS, (obj.name, field.name, target)
            else:
                assert not field.reference_to


def test_custom_objects_get_system_and_feature_fields() -> None:
    owner = standard_field("Course__c", "OwnerId")
    assert owner is not None and owner.reference_to == ("Group", "User")
    assert standard_field("Course__c", "Name") is not None
    assert standard_field("Course__c", "Industry") is None
    assert standard_field("Course__c", "RecordTypeId") is not None
    assert standard_field("Account", "CurrencyIsoCode") is not None
    assert {f.name for f in CUSTOM_OBJECT_FIELDS} >= {"Id", "CreatedById", "LastModifiedDate"}


def test_booleans_and_defaulted_fields_are_not_required() -> None:
    do_not_call = standard_field("Contact", "DoNotCall")
    owner = standard_field("Account", "OwnerId")
    status = standard_field("Lead", "Status")
    assert do_not_call is not None and not do_not_call.nillable and not do_not_call.required
    assert owner is not None and not owner.required
    assert status is not None and not status.required
