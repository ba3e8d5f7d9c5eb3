"""Layout patches merged into a layout as written: what they add, where, and that everything
else is kept and a patch applied twice is the patch applied once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import layout_patches, normalize
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.spec_loader import load_object_text
from toolkit.metadata.specs import LayoutPatch, PatchField, RelatedListSpec

MD = "http://soap.sforce.com/2006/04/metadata"
NS = {"m": MD}
ORG_LAYOUT = f"""<?xml version="1.0" encoding="UTF-8"?>
<Layout xmlns="{MD}">
    <customButtons>Send_Survey</customButtons>
    <excludeButtons>Submit</excludeButtons>
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>true</editHeading>
        <label>Contact Information</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Required</behavior>
                <field>LastName</field>
            </layoutItems>
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Email</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <platformActionList>
        <actionListContext>Record</actionListContext>
        <platformActionListItems>
            <actionName>Edit</actionName>
            <actionType>StandardButton</actionType>
            <sortOrder>0</sortOrder>
        </platformActionListItems>
    </platformActionList>
    <relatedLists>
        <fields>TASK.SUBJECT</fields>
        <relatedList>RelatedActivityList</relatedList>
    </relatedLists>
    <showEmailCheckbox>false</showEmailCheckbox>
</Layout>
""".encode()
APPOINTMENTS = RelatedListSpec(
    "Appointment__c.Contact__c", fields=("NAME", "Start__c"), sort_field="Start__c",
    sort_order="Desc",
)  # fmt: skip
PATCH = LayoutPatch(
    "Contact-Contact Layout",
    related_lists=(APPOINTMENTS,),
    buttons=("Book_Appointment",),
    fields=(
        PatchField("Contact Information", "Next_Visit__c", "Readonly"),
        PatchField("Scheduling", "Visits__c"),
    ),
)


def apply(content: bytes, patch: LayoutPatch = PATCH) -> etree._Element:
    return etree.fromstring(layout_patches.apply(content, patch, "Contact-Contact Layout"))


def names(root: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in root]


def test_a_patch_adds_its_related_list_button_and_fields_beside_their_siblings() -> None:
    root = apply(ORG_LAYOUT)
    assert root.xpath("m:customButtons/text()", namespaces=NS) == [
        "Send_Survey",
        "Book_Appointment",
    ]
    assert root.xpath("m:relatedLists/m:relatedList/text()", namespaces=NS) == [
        "RelatedActivityList",
        "Appointment__c.Contact__c",
    ]
    added = root.findall("m:relatedLists", NS)[-1]
    assert [etree.QName(c).localname for c in added] == [
        "fields", "fields", "relatedList", "sortField", "sortOrder",
    ]  # fmt: skip
    first = root.find("m:layoutSections/m:layoutColumns", NS)
    assert first is not None
    assert first.xpath("m:layoutItems/m:field/text()", namespaces=NS) == [
        "LastName",
        "Next_Visit__c",
    ]
    new_section = root.findall("m:layoutSections", NS)[-1]
    assert new_section.findtext("m:label", namespaces=NS) == "Scheduling"
    assert new_section.xpath(".//m:field/text()", namespaces=NS) == ["Visits__c"]
    action = root.findall("m:platformActionList/m:platformActionListItems", NS)[-1]
    assert [c.text for c in action] == ["Book_Appointment", "CustomButton", "1"]
    order = names(root)
    assert order == sorted(order, key=layout_patches.LAYOUT_ORDER.index)


def test_everything_else_in_the_layout_is_kept() -> None:
    patched = layout_patches.apply(ORG_LAYOUT, PATCH, "x")
    root = etree.fromstring(patched)
    for path in (
        "m:customButtons[text()='Send_Survey']",
        "m:excludeButtons[text()='Submit']",
        "m:relatedLists[m:relatedList='RelatedActivityList']/m:fields[text()='TASK.SUBJECT']",
        "m:showEmailCheckbox[text()='false']",
        "m:layoutSections/m:layoutColumns/m:layoutItems[m:field='Email']",
        "m:platformActionList/m:actionListContext[text()='Record']",
    ):
        assert root.xpath(path, namespaces=NS), path
    nothing = LayoutPatch("Contact-Contact Layout", buttons=("Send_Survey",))
    same = MetadataFile("layouts/Contact-Contact Layout.layout", ORG_LAYOUT)
    kept = MetadataFile(same.path, layout_patches.apply(ORG_LAYOUT, nothing, "x"))
    assert normalize.bodies([same]) == normalize.bodies([kept])


def test_what_the_layout_has_already_is_left_as_the_admin_arranged_it() -> None:
    mine = RelatedListSpec("RelatedActivityList", fields=("TASK.STATUS",))
    placed = LayoutPatch(
        "Contact-Contact Layout",
        related_lists=(mine,),
        fields=(PatchField("Elsewhere", "Email"),),
    )
    root = apply(ORG_LAYOUT, placed)
    lists = root.findall("m:relatedLists", NS)
    assert len(lists) == 1 and lists[0].xpath("m:fields/text()", namespaces=NS) == ["TASK.SUBJECT"]
    assert [s.findtext("m:label", namespaces=NS) for s in root.findall("m:layoutSections", NS)] == [
        "Contact Information"
    ]


@st.composite
def patches(draw: st.DrawFn) -> LayoutPatch:
    word = st.sampled_from(["Alpha__c", "Beta__c", "Email", "LastName", "Gamma__c"])
    return LayoutPatch(
        "Contact-Contact Layout",
        related_lists=tuple(
            RelatedListSpec(name)
            for name in draw(
                st.lists(st.sampled_from(["A__c.B__c", "RelatedActivityList", "C__c.D__c"]))
            )
        ),
        buttons=tuple(draw(st.lists(st.sampled_from(["Send_Survey", "Book", "Call"])))),
        fields=tuple(
            PatchField(draw(st.sampled_from(["Contact Information", "New"])), draw(word))
            for _ in range(draw(st.integers(0, 3)))
        ),
    )


@given(patches())
def test_a_patch_applied_twice_is_the_patch_applied_once(patch: LayoutPatch) -> None:
    once = layout_patches.apply(ORG_LAYOUT, patch, "x")
    assert layout_patches.apply(once, patch, "x") == once


def test_a_patch_of_what_is_no_layout_is_refused() -> None:
    other = f'<CustomObject xmlns="{MD}"><label>x</label></CustomObject>'.encode()
    with pytest.raises(ConfigError, match="targets a CustomObject, not a Layout"):
        layout_patches.apply(other, PATCH, "objects/Contact.object")


def test_specs_declare_patches_beside_their_fields(tmp_path: Path) -> None:
    text = """
[layout_patches."Contact Layout"]
buttons = ["Book_Appointment"]
related_lists = [{ name = "Appointment__c.Contact__c", fields = ["NAME"] }]
fields = [{ section = "Scheduling", field = "Visits__c", behavior = "Readonly" }]
"""
    spec = load_object_text(text, "objects/Contact.toml", "Contact")
    [patch] = spec.layout_patches
    assert patch.layout == "Contact-Contact Layout"
    assert patch.buttons == ("Book_Appointment",)
    assert patch.related_lists == (RelatedListSpec("Appointment__c.Contact__c", ("NAME",)),)
    assert patch.fields == (PatchField("Scheduling", "Visits__c", "Readonly"),)
    assert patch.source.startswith("objects/Contact.toml")
    with pytest.raises(ConfigError, match="adds nothing"):
        load_object_text('[layout_patches."Contact Layout"]\n', "objects/Contact.toml", "Contact")
