"""The pieces ``sftk import`` stands on: spec TOML written back (and read again the same), the
merge fields of formulas, and metadata compared for what it means."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.metadata import meaning, spec_writer
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.formulas import field_paths
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.schema import MetadataSchema
from toolkit.metadata.spec_loader import load_object_text
from toolkit.tomlread import Document

# Text a spec may hold: anything XML 1.0 carries (no other control characters, no surrogates).
xml_text = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(
            map(chr, [*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])
        ),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(label=xml_text.filter(bool), formula=xml_text.filter(bool), key=xml_text.filter(bool))
def test_written_spec_text_reads_back_the_same(label: str, formula: str, key: str) -> None:
    data = {
        "label": label,
        "plural_label": label,
        "fields": {
            "P__c": {"type": "Formula", "returns": "Text", "formula": formula},
            "L__c": {"type": "Picklist", "values": [{"name": key, "label": label}, "B"]},
        },
        "layouts": {key: {"sections": [{"label": label, "columns": [["Name"], [{"link": key}]]}]}},
    }
    spec = load_object_text(spec_writer.dump(data), "objects/X__c.toml", "X__c")
    assert spec.label == label
    assert spec.fields[0].formula == formula
    assert (spec.fields[1].values[0].name, spec.fields[1].values[0].label) == (key, label)
    assert spec.layouts[0].name == key
    assert spec.layouts[0].sections[0].columns[1][0].custom_link == key


def test_written_spec_text_is_readable() -> None:
    text = spec_writer.dump(
        {
            "label": "Course",
            "fields": {
                "P__c": {"type": "Formula", "formula": "IF(A__c,\n  1,\n  2)"},
                "V__c": {"values": ["A", {"name": "B", "label": "Bee"}]},
            },
            "layouts": {"Main Layout": {"sections": [{"label": "S", "columns": [["Name"]]}]}},
        }
    )
    assert text == (
        'label = "Course"\n\n'
        "[fields.P__c]\n"
        'type = "Formula"\n'
        "formula = '''\nIF(A__c,\n  1,\n  2)'''\n\n"
        "[fields.V__c]\n"
        'values = ["A", { name = "B", label = "Bee" }]\n\n'
        '[layouts."Main Layout"]\n\n'
        '[[layouts."Main Layout".sections]]\n'
        'label = "S"\n'
        'columns = [["Name"]]\n'
    )
    assert Document("x.toml", text).data["fields"]["P__c"]["formula"] == "IF(A__c,\n  1,\n  2)"


def test_formula_field_paths() -> None:
    formula = (
        'IF(ISPICKVAL(Level__c, "Price__c"), Course__r.Price__c * 2, /* Hours__c */ '
        "$User.Alias__c)\n+ BLANKVALUE(Owner.Name, 'x') + Amount__c"
    )
    assert [p.text for p in field_paths(formula)] == [
        "Level__c",
        "Course__r.Price__c",
        "Owner.Name",
        "Amount__c",
    ]
    assert field_paths("Course__r . Level__c")[0].parts == ("Course__r", "Level__c")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "_.\\ \n", max_size=40))
def test_nothing_inside_a_string_literal_is_a_field(inside: str) -> None:
    body = inside.replace('"', "")
    escaped = body.replace("\\", "\\\\")
    assert field_paths(f'TEXT("{escaped}") & Real__c')[-1].text == "Real__c"
    assert [p.text for p in field_paths(f'"{escaped}"')] == []


def _bodies(content: str, schema: MetadataSchema) -> bytes:
    files = [MetadataFile("objects/Room__c.object", content.encode())]
    return meaning.bodies(files, schema)[ComponentRef("CustomObject", "Room__c")]


HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">'


def test_meaning_ignores_what_an_org_writes_for_what_is_left_out(
    metadata_schema: MetadataSchema,
) -> None:
    plain = _bodies(
        f"{HEAD}<label>Room</label><sharingModel>Read</sharingModel></CustomObject>",
        metadata_schema,
    )
    noisy = _bodies(
        f"{HEAD}<sharingModel>Read</sharingModel><enableHistory>false</enableHistory>"
        "<actionOverrides><actionName>View</actionName><type>Default</type></actionOverrides>"
        "<searchLayouts/><compactLayoutAssignment>SYSTEM</compactLayoutAssignment>"
        "<label>Room</label><visibility>Public</visibility></CustomObject>",
        metadata_schema,
    )
    assert noisy == plain


def test_meaning_keeps_what_means_something(metadata_schema: MetadataSchema) -> None:
    plain = _bodies(f"{HEAD}<label>Room</label></CustomObject>", metadata_schema)
    for extra in (
        "<enableHistory>true</enableHistory>",
        "<actionOverrides><actionName>View</actionName><content>RoomPage</content>"
        "<type>Flexipage</type></actionOverrides>",
        "<compactLayoutAssignment>Mine</compactLayoutAssignment>",
        "<description>false</description>",  # text, not a boolean
    ):
        assert _bodies(f"{HEAD}<label>Room</label>{extra}</CustomObject>", metadata_schema) != plain
    one = f"{HEAD}<fields><fullName>S__c</fullName><type>Picklist</type>"
    one += "<valueSet><valueSetDefinition>"
    values = "<value><fullName>{}</fullName><default>false</default></value>"
    first = (
        one
        + values.format("A")
        + values.format("B")
        + "</valueSetDefinition></valueSet></fields></CustomObject>"
    )
    second = (
        one
        + values.format("B")
        + values.format("A")
        + "</valueSetDefinition></valueSet></fields></CustomObject>"
    )
    ref = ComponentRef("CustomField", "Room__c.S__c")
    bodies = [
        meaning.bodies([MetadataFile("objects/Room__c.object", text.encode())], metadata_schema)[
            ref
        ]
        for text in (first, second)
    ]
    assert bodies[0] != bodies[1]  # the order of picklist values is data
