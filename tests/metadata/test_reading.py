"""Metadata XML read as an org reads it (toolkit.metadata.reading): order free, groups together,
unknown elements and bad values refused, what the schema cannot know yet only a warning."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from toolkit.metadata.files import MetadataFile
from toolkit.metadata.reading import TOOLING_NS, SchemaProblem, read_file, read_tree
from toolkit.metadata.schema import MetadataSchema

MD = "http://soap.sforce.com/2006/04/metadata"
NEWER = "99.0"  # a version no schema sftk has will reach for a long time

# A telescope-booking example; each element on its own line so tests can name lines.
TELESCOPE = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields>
        <fullName>Aperture_mm__c</fullName>
        <label>Aperture (mm)</label>
        <precision>6</precision>
        <scale>0</scale>
        <type>Number</type>
    </fields>
    <fields>
        <fullName>Mount__c</fullName>
        <label>Mount</label>
        <type>Picklist</type>
        <valueSet>
            <valueSetDefinition>
                <sorted>false</sorted>
                <value>
                    <fullName>Equatorial</fullName>
                    <default>true</default>
                    <label>Equatorial</label>
                </value>
                <value>
                    <fullName>Dobsonian</fullName>
                    <default>false</default>
                    <label>Dobsonian</label>
                </value>
            </valueSetDefinition>
        </valueSet>
    </fields>
    <label>Telescope</label>
    <nameField>
        <label>Telescope Name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Telescopes</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
"""

EYEPIECE_FIELD = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="{MD}">
    <fullName>Eyepiece__c</fullName>
    <description>Focal length of the eyepiece in use</description>
    <externalId>false</externalId>
    <label>Eyepiece</label>
    <length>20</length>
    <required>false</required>
    <type>Text</type>
</CustomField>
"""

OBJECT_PATH = "objects/Telescope__c.object"
FIELD_PATH = "force-app/main/default/objects/Telescope__c/fields/Eyepiece__c.field-meta.xml"


def md(path: str, text: str) -> MetadataFile:
    return MetadataFile(path, text.encode("utf-8"), origin="test")


def line_of(text: str, needle: str, start: int = 0) -> int:
    """1-based line of the first occurrence of ``needle`` at or after character ``start``."""
    return text.count("\n", 0, text.index(needle, start)) + 1


def move_block(text: str, block: str, before: str) -> str:
    """``text`` with ``block`` (whole lines) cut out and put back just before ``before``."""
    assert block in text and before in text
    cut = text.replace(block, "", 1)
    return cut.replace(before, block + before, 1)


@pytest.fixture(scope="session")
def schema(metadata_schema: MetadataSchema) -> MetadataSchema:
    return metadata_schema


def errors(problems: list[SchemaProblem]) -> list[SchemaProblem]:
    return [p for p in problems if p.severity == "error"]


# --- what an org takes -------------------------------------------------------------------------


def test_files_in_schema_order_are_clean(schema: MetadataSchema) -> None:
    assert read_file(md(OBJECT_PATH, TELESCOPE), schema) == []
    assert read_file(md(FIELD_PATH, EYEPIECE_FIELD), schema) == []


def test_fields_after_sharing_model_as_the_sf_cli_sends_them(schema: MetadataSchema) -> None:
    fields_block = TELESCOPE[TELESCOPE.index("    <fields>") : TELESCOPE.index("    <label>Tel")]
    cli_order = move_block(TELESCOPE, fields_block, "</CustomObject>")
    assert cli_order.index("<sharingModel>") < cli_order.index("<fields>")
    assert read_file(md(OBJECT_PATH, cli_order), schema) == []


def test_any_order_inside_nested_elements_too(schema: MetadataSchema) -> None:
    text = TELESCOPE.replace(
        "<fullName>Equatorial</fullName>\n                    <default>true</default>",
        "<default>true</default>\n                    <fullName>Equatorial</fullName>",
    ).replace(
        "<label>Mount</label>\n        <type>Picklist</type>",
        "<type>Picklist</type>\n        <label>Mount</label>",
    )
    assert read_file(md(OBJECT_PATH, text), schema) == []


def test_lwc_bundle_as_source_files_write_it(schema: MetadataSchema) -> None:
    """``isExposed`` first, ``description`` after ``targets``, an ``fqn`` on the root and the
    target configurations as XML where the WSDL says base64: all deploy."""
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<LightningComponentBundle xmlns="{MD}" fqn="skyMap">
    <isExposed>true</isExposed>
    <apiVersion>66.0</apiVersion>
    <targets>
        <target>lightning__RecordPage</target>
    </targets>
    <targetConfigs>
        <targetConfig targets="lightning__RecordPage">
            <objects><object>Telescope__c</object></objects>
        </targetConfig>
    </targetConfigs>
    <description>Shows what the telescope can see tonight</description>
</LightningComponentBundle>
"""
    assert read_file(md("lwc/skyMap/skyMap.js-meta.xml", text), schema) == []


def test_tooling_namespace_is_read_as_metadata(schema: MetadataSchema) -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<ApexClass xmlns="{TOOLING_NS}" fqn="ObservationLog">
    <status>Active</status>
    <apiVersion>66.0</apiVersion>
</ApexClass>
"""
    path = "classes/ObservationLog.cls-meta.xml"
    assert read_file(md(path, text), schema) == []
    broken = text.replace("<status>Active</status>", "<status>Sleeping</status>")
    (problem,) = read_file(md(path, broken), schema)
    assert (problem.line, problem.element) == (3, "status")
    assert "Sleeping" in problem.message


def test_empty_and_nil_elements_read_as_left_out(schema: MetadataSchema) -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomFieldTranslation xmlns="{MD}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <name>Eyepiece__c</name>
    <gender></gender>
    <startsWith><!-- Vowel --></startsWith>
    <label>Okular</label>
    <help xsi:nil="true"/>
</CustomFieldTranslation>
"""
    path = "objectTranslations/Telescope__c-de/Eyepiece__c.fieldTranslation-meta.xml"
    assert read_file(md(path, text), schema) == []
    dataweave = f"""<?xml version="1.0" encoding="UTF-8"?>
<DataWeaveResource xmlns="{MD}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <content xsi:nil="true"/>
    <apiVersion>66.0</apiVersion>
    <isGlobal>false</isGlobal>
</DataWeaveResource>
"""
    assert read_file(md("dw/starCatalog.dwl-meta.xml", dataweave), schema) == []


def test_a_missing_boolean_or_enumeration_is_read_as_its_default(schema: MetadataSchema) -> None:
    permission = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomPermission xmlns="{MD}">
    <description>May book the big dome</description>
    <label>Book Dome</label>
</CustomPermission>
"""  # no <isLicensed>, which the WSDL says is required
    assert read_file(md("customPermissions/Book_Dome.customPermission", permission), schema) == []
    apex = f'<ApexClass xmlns="{MD}"><apiVersion>66.0</apiVersion></ApexClass>'
    assert read_file(md("classes/Dome.cls-meta.xml", apex), schema) == []


def test_a_decomposed_parent_without_namespace_is_read(schema: MetadataSchema) -> None:
    """The sf CLI writes the parent of decomposed files anew, in the metadata namespace."""
    text = "<CustomObjectTranslation></CustomObjectTranslation>\n"
    path = "force-app/main/default/objectTranslations/Telescope__c-de/Telescope__c-de"
    assert read_file(md(path + ".objectTranslation-meta.xml", text), schema) == []
    plain = read_file(md("classes/Dome.cls-meta.xml", "<ApexClass/>"), schema)
    assert [p.message for p in plain] == [
        f"root element <ApexClass> must be in namespace {MD}, it has no namespace"
    ]


def test_stray_text_between_elements_is_a_warning(schema: MetadataSchema) -> None:
    text = TELESCOPE.replace("</valueSetDefinition>", "</valueSetDefinition>>")
    (problem,) = read_file(md(OBJECT_PATH, text), schema)
    assert problem.severity == "warning"
    assert (problem.line, problem.element) == (line_of(text, "<valueSet>"), "valueSet")
    assert "'>'" in problem.message


def test_read_tree_never_changes_the_tree(schema: MetadataSchema) -> None:
    fields_block = TELESCOPE[TELESCOPE.index("    <fields>") : TELESCOPE.index("    <label>Tel")]
    text = move_block(TELESCOPE, fields_block, "</CustomObject>").replace(
        "<scale>0</scale>", "<scale>none</scale>"
    )
    root = etree.fromstring(text.encode())
    before = etree.tostring(root)
    (problem,) = read_tree(root, OBJECT_PATH, schema)
    assert problem.element == "scale"
    assert etree.tostring(root) == before


# --- what an org refuses -----------------------------------------------------------------------


def test_a_misspelled_element_is_an_error_on_its_line(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace("<label>Eyepiece</label>", "<lable>Eyepiece</lable>")
    (problem,) = read_file(md(FIELD_PATH, text), schema)
    assert (problem.path, problem.line, problem.element) == (FIELD_PATH, 6, "lable")
    assert problem.severity == "error"
    assert problem.message.startswith("Element lable invalid at this location in type CustomField")


def test_an_unknown_field_type_is_an_error(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace("<type>Text</type>", "<type>Txet</type>")
    (problem,) = read_file(md(FIELD_PATH, text), schema)
    assert (problem.line, problem.element, problem.severity) == (9, "type", "error")
    assert "'Txet' is not an element of the set" in problem.message
    assert "'Text'" in problem.message and "{http" not in problem.message


def test_a_non_boolean_in_a_boolean_is_an_error(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace("<required>false</required>", "<required>no</required>")
    (problem,) = read_file(md(FIELD_PATH, text), schema)
    assert (problem.line, problem.element, problem.severity) == (8, "required", "error")
    assert "'no' is not a valid value of the atomic type 'xs:boolean'" in problem.message


def test_a_value_outside_an_enumeration_is_an_error(schema: MetadataSchema) -> None:
    text = TELESCOPE.replace(
        "<sharingModel>ReadWrite</sharingModel>", "<sharingModel>Everyone</sharingModel>"
    )
    (problem,) = read_file(md(OBJECT_PATH, text), schema)
    assert (problem.line, problem.element) == (line_of(text, "<sharingModel>"), "sharingModel")
    assert "Everyone" in problem.message


def test_a_repeated_element_split_by_another_is_an_error(schema: MetadataSchema) -> None:
    second = TELESCOPE.index("    <fields>", TELESCOPE.index("    <fields>") + 1)
    second_field = TELESCOPE[second : TELESCOPE.index("    <label>Tel")]
    text = move_block(TELESCOPE, second_field, "    <nameField>")
    (problem,) = read_file(md(OBJECT_PATH, text), schema)
    assert problem.severity == "error"
    assert (problem.line, problem.element) == (line_of(text, "<fields>", second), "fields")
    assert problem.message.startswith(
        "Element fields is duplicated at this location in type CustomObject"
    )


def test_a_single_element_given_twice_is_an_error(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace(
        "<type>Text</type>", "<type>Text</type>\n    <label>Ocular</label>"
    )
    (problem,) = read_file(md(FIELD_PATH, text), schema)
    assert (problem.line, problem.element) == (10, "label")
    assert "duplicated" in problem.message and "a CustomField has one <label>" in problem.message


def test_several_mistakes_each_on_its_own_line(schema: MetadataSchema) -> None:
    fields_block = TELESCOPE[TELESCOPE.index("    <fields>") : TELESCOPE.index("    <label>Tel")]
    text = (
        move_block(TELESCOPE, fields_block, "</CustomObject>")
        .replace("<precision>6</precision>", "<precision>six</precision>")
        .replace("<label>Telescope Name</label>", "<label>Telescope Name</label><wheels/>")
        .replace("<default>false</default>", "<default>perhaps</default>")
    )
    problems = read_file(md(OBJECT_PATH, text), schema)
    assert [(p.line, p.element) for p in problems] == [
        (line_of(text, "<wheels/>"), "wheels"),
        (line_of(text, "<precision>"), "precision"),
        (line_of(text, "perhaps"), "default"),
    ]


def test_a_missing_required_text_or_structure_is_an_error(schema: MetadataSchema) -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="{MD}">
    <description>Night staff</description>
    <fieldPermissions>
        <editable>true</editable>
    </fieldPermissions>
</PermissionSet>
"""
    problems = read_file(md("permissionsets/Night.permissionset", text), schema)
    assert [(p.line, p.element, p.message) for p in problems] == [
        (
            2,
            "PermissionSet",
            "Element PermissionSet has no <label>, which type PermissionSet requires",
        ),
        (
            4,
            "fieldPermissions",
            "Element fieldPermissions has no <field>, which type "
            "PermissionSetFieldPermissions requires",
        ),
    ]


def test_a_required_text_given_as_nil_is_missing(schema: MetadataSchema) -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomPermission xmlns="{MD}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <label xsi:nil="true"/>
</CustomPermission>
"""
    (problem,) = read_file(md("customPermissions/Dome.customPermission", text), schema)
    assert problem.message == (
        "Element CustomPermission has no <label>, which type CustomPermission requires"
    )


def test_package_xml_needs_a_version_but_destructive_manifests_do_not(
    schema: MetadataSchema,
) -> None:
    members = "<types><members>Telescope__c.Old__c</members><name>CustomField</name></types>"
    no_version = f'<?xml version="1.0"?>\n<Package xmlns="{MD}">{members}</Package>\n'
    (problem,) = read_file(md("package.xml", no_version), schema)
    assert (problem.element, problem.line) == ("Package", 2)
    assert "<version>" in problem.message
    for name in ("destructiveChanges.xml", "destructiveChangesPost.xml"):
        assert read_file(md(name, no_version), schema) == []
    broken = no_version.replace("</types>", "</types><colour/>")
    (problem,) = read_file(md("destructiveChangesPre.xml", broken), schema)
    assert problem.element == "colour"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<CustomTab xmlns="urn:example:observatory"/>',
            f"root element <CustomTab> must be in namespace {MD}, it has namespace "
            "urn:example:observatory",
        ),
        (f'<Dome xmlns="{MD}"/>', "root element <Dome> is not a Metadata API type (API 66.0)"),
        (
            f'<PackageTypeMembers xmlns="{MD}"/>',
            "root element <PackageTypeMembers> is not a Metadata API type (API 66.0)",
        ),
    ],
)
def test_roots_an_org_does_not_read(schema: MetadataSchema, text: str, message: str) -> None:
    (problem,) = read_file(md("tabs/Dome.tab", text), schema)
    assert (problem.line, problem.message, problem.severity) == (1, message, "error")


def test_an_attribute_an_org_does_not_know_is_an_error(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace("<label>", '<label lang="de">')
    (problem,) = read_file(md(FIELD_PATH, text), schema)
    assert (problem.line, problem.element) == (6, "label")
    assert "attribute 'lang'" in problem.message


def test_not_well_formed_is_one_problem_with_its_line(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace("</label>", "</labl>")
    (problem,) = read_file(md(FIELD_PATH, text), schema)
    assert (problem.line, problem.element) == (6, "")
    assert problem.message.startswith("not well-formed XML:")


# --- a package newer than the schema -----------------------------------------------------------


def test_what_a_newer_version_may_know_is_a_cannot_check_warning(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace(
        "<label>Eyepiece</label>", "<label>Eyepiece</label>\n    <hologram>true</hologram>"
    ).replace("<type>Text</type>", "<type>Quantum</type>")
    problems = read_file(md(FIELD_PATH, text), schema, api_version=NEWER)
    assert [(p.line, p.element, p.severity) for p in problems] == [
        (7, "hologram", "warning"),
        (10, "type", "warning"),
    ]
    assert problems[0].message.startswith("cannot check element <hologram>: the API 66.0 schema")
    assert f"deploys with API {NEWER}" in problems[0].message
    assert problems[1].message.startswith("cannot check the value of <type>")
    same_version = read_file(md(FIELD_PATH, text), schema, api_version=schema.api_version)
    assert [p.severity for p in same_version] == ["error", "error"]


def test_a_type_newer_than_the_schema_is_a_cannot_check_warning(schema: MetadataSchema) -> None:
    text = f'<WarpDrive xmlns="{MD}"><apiVersion>{NEWER}</apiVersion></WarpDrive>'
    (problem,) = read_file(md("warpDrives/W.warpDrive-meta.xml", text), schema, NEWER)
    assert (problem.severity, problem.element) == ("warning", "WarpDrive")
    assert problem.message.startswith("cannot check type <WarpDrive>")


def test_a_newer_package_still_gets_errors_for_bad_values(schema: MetadataSchema) -> None:
    text = EYEPIECE_FIELD.replace("<length>20</length>", "<length>twenty</length>")
    (problem,) = read_file(md(FIELD_PATH, text), schema, api_version=NEWER)
    assert (problem.element, problem.severity) == ("length", "error")


# --- properties ---------------------------------------------------------------------------------


def _top_level_groups(text: str) -> tuple[str, list[str], str]:
    """The object's text split into head, one chunk per group of same-named top-level
    elements (each chunk whole lines), and tail."""
    root = etree.fromstring(text.encode())
    lines = text.splitlines(keepends=True)
    children = list(root)
    starts = [c.sourceline - 1 for c in children]  # type: ignore[operator]
    end = len(lines) - 1  # the closing tag's line
    chunks: list[str] = []
    for index, child in enumerate(children):
        stop = starts[index + 1] if index + 1 < len(children) else end
        piece = "".join(lines[starts[index] : stop])
        if index and children[index - 1].tag == child.tag:
            chunks[-1] += piece
        else:
            chunks.append(piece)
    return "".join(lines[: starts[0]]), chunks, "".join(lines[end:])


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_any_order_of_whole_groups_reads_clean(schema: MetadataSchema, rng: random.Random) -> None:
    head, chunks, tail = _top_level_groups(TELESCOPE)
    rng.shuffle(chunks)
    assert read_file(md(OBJECT_PATH, head + "".join(chunks) + tail), schema) == []


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(["<label>Tel", "<nameField>"]))
def test_a_group_torn_apart_is_refused_wherever_it_lands(
    schema: MetadataSchema, rng: random.Random, other: str
) -> None:
    head, chunks, tail = _top_level_groups(TELESCOPE)
    fields = next(c for c in chunks if c.lstrip().startswith("<fields>"))
    first_end = fields.index("    <fields>", 4)
    chunks.remove(fields)
    rng.shuffle(chunks)
    # the two fields with at least one other group between them
    between = next(i for i, c in enumerate(chunks) if other in c)
    pieces = [*chunks[: between + 1], fields[first_end:], *chunks[between + 1 :]]
    pieces.insert(rng.randint(0, between), fields[:first_end])
    text = head + "".join(pieces) + tail
    problems = errors(read_file(md(OBJECT_PATH, text), schema))
    assert [p.element for p in problems] == ["fields"]
    assert "duplicated" in problems[0].message
