"""Any text a spec may hold reaches the XML intact, and text XML cannot hold is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from markupsafe import Markup, escape

from toolkit.errors import ConfigError
from toolkit.metadata import render, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.render import Renderer
from toolkit.metadata.specs import (
    FieldSpec,
    LayoutItemSpec,
    LayoutSectionSpec,
    LayoutSpec,
    ObjectAccessSpec,
    ObjectSpec,
    PermissionSetSpec,
    PicklistValue,
    TabSpec,
    WebLinkSpec,
)

NS = {"m": METADATA_NS}

# Characters XML 1.0 cannot carry, whatever the escaping.
ILLEGAL = [*(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"), "\ud800", "\udfff"]
ILLEGAL += ["\ufffe", "\uffff"]

# Pieces that break naive XML writers, mixed into arbitrary legal text.
TRICKY = ["<", ">", "&", '"', "'", "]]>", "&amp;", "<![CDATA[", "-->", "\r\n", "\r", "\t", "\n"]
TRICKY += ["é", "ß", "日本", "😀", "👩‍🚀", "{!Contact.Id}", "\u0085", "\u2028", "\x7f", " "]

legal_char = st.characters(
    blacklist_categories=("Cs",),  # type: ignore[arg-type]
    blacklist_characters="".join(ILLEGAL),
)
legal_text = st.lists(st.one_of(st.sampled_from(TRICKY), legal_char), min_size=1, max_size=20).map(
    "".join
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _texts(texts: dict[str, str]) -> tuple[ObjectSpec, tuple[PermissionSetSpec, ...]]:
    """A spec carrying each text in a different place, keyed by where it should appear."""
    spec = ObjectSpec(
        name="Cargo__c",
        label=texts["object label"],
        plural_label=texts["plural label"],
        description=texts["object description"],
        fields=(
            FieldSpec(
                name="Kind__c",
                type="Picklist",
                label=texts["field label"],
                description=texts["field description"],
                help_text=texts["help text"],
                values=(PicklistValue(texts["value name"], texts["value label"], default=True),),
            ),
            FieldSpec(
                name="Note__c", type="TextArea", label="Note", default_value=texts["default"]
            ),
        ),
        web_links=(
            WebLinkSpec(
                name="Open",
                label=texts["link label"],
                url=texts["link url"],
                description=texts["link description"],
            ),
        ),
        layouts=(
            LayoutSpec(
                object="Cargo__c",
                name="Cargo Layout",
                sections=(
                    LayoutSectionSpec(texts["section label"], ((LayoutItemSpec("Kind__c"),),)),
                ),
            ),
        ),
        access=(ObjectAccessSpec("Cargo_Clerk", ("read",)),),
    )
    permission_sets = (
        PermissionSetSpec("Cargo_Clerk", texts["permission set label"], texts["pset description"]),
    )
    return spec, permission_sets


# Where each text shows up: (file, XPath to the element holding it).
PLACES = {
    "object label": ("objects/Cargo__c.object", "m:label"),
    "plural label": ("objects/Cargo__c.object", "m:pluralLabel"),
    "object description": ("objects/Cargo__c.object", "m:description"),
    "field label": ("objects/Cargo__c.object", "m:fields[1]/m:label"),
    "field description": ("objects/Cargo__c.object", "m:fields[1]/m:description"),
    "help text": ("objects/Cargo__c.object", "m:fields[1]/m:inlineHelpText"),
    "value name": (
        "objects/Cargo__c.object",
        "m:fields[1]/m:valueSet/m:valueSetDefinition/m:value/m:fullName",
    ),
    "value label": (
        "objects/Cargo__c.object",
        "m:fields[1]/m:valueSet/m:valueSetDefinition/m:value/m:label",
    ),
    "default": ("objects/Cargo__c.object", "m:fields[2]/m:defaultValue"),
    "link label": ("objects/Cargo__c.object", "m:webLinks/m:masterLabel"),
    "link url": ("objects/Cargo__c.object", "m:webLinks/m:url"),
    "link description": ("objects/Cargo__c.object", "m:webLinks/m:description"),
    "section label": ("layouts/Cargo__c-Cargo Layout.layout", "m:layoutSections/m:label"),
    "permission set label": ("permissionsets/Cargo_Clerk.permissionset", "m:label"),
    "pset description": ("permissionsets/Cargo_Clerk.permissionset", "m:description"),
}


def _render(renderer: Renderer, texts: dict[str, str]) -> dict[str, MetadataFile]:
    spec, permission_sets = _texts(texts)
    return {f.path: f for f in renderer.render([spec], permission_sets)}


def _read_back(files: dict[str, MetadataFile], place: str) -> list[str]:
    path, xpath = PLACES[place]
    root = xmlsafe.parse(files[path].content, path)
    return [e.text or "" for e in root.findall(xpath, NS)]


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({place: legal_text for place in PLACES}))
def test_legal_text_round_trips_exactly(renderer: Renderer, texts: dict[str, str]) -> None:
    files = _render(renderer, texts)
    for place, text in texts.items():
        assert _read_back(files, place) == [text], place


@settings(max_examples=30, deadline=None)
@given(legal_text)
def test_text_never_leaves_its_element(renderer: Renderer, text: str) -> None:
    """Markup-looking text stays text: the element tree is the same as for a plain word."""
    plain = _render(renderer, dict.fromkeys(PLACES, "word"))
    tricky = _render(renderer, dict.fromkeys(PLACES, text))
    for path, file in tricky.items():
        shape = [e.tag for e in xmlsafe.parse(file.content, path).iter()]
        assert shape == [e.tag for e in xmlsafe.parse(plain[path].content, path).iter()]


@settings(max_examples=60, deadline=None)
@given(
    place=st.sampled_from(sorted(PLACES)),
    before=legal_text,
    bad=st.sampled_from(ILLEGAL),
    after=legal_text,
)
def test_illegal_characters_are_config_errors(
    renderer: Renderer, place: str, before: str, bad: str, after: str
) -> None:
    texts = dict.fromkeys(PLACES, "ok")
    texts[place] = before + bad + after
    with pytest.raises(ConfigError) as caught:
        _render(renderer, texts)
    message = str(caught.value)
    assert f"U+{ord(bad):04X}" in message
    assert f"at offset {len(before)}" in message
    expected_component = {
        "objects/Cargo__c.object": "CustomObject Cargo__c",
        "layouts/Cargo__c-Cargo Layout.layout": "Layout Cargo__c-Cargo Layout",
        "permissionsets/Cargo_Clerk.permissionset": "PermissionSet Cargo_Clerk",
    }[PLACES[place][0]]
    assert expected_component in message


def test_illegal_character_message_names_the_field_and_value() -> None:
    texts = dict.fromkeys(PLACES, "ok")
    texts["value label"] = "Bulk\x1bcargo"
    with pytest.raises(ConfigError) as caught:
        _render(Renderer(), texts)
    message = str(caught.value)
    assert "field Kind__c, picklist value 'ok'" in message
    assert "CustomField.xml.j2:" in message
    assert "'Bulk\\x1bcargo' has U+001B at offset 4" in message


def test_escaped_output_uses_references_not_cdata(renderer: Renderer) -> None:
    texts = dict.fromkeys(PLACES, "a]]>b & <c> \"d\" 'e'\r\n")
    content = _render(renderer, texts)["objects/Cargo__c.object"].content
    assert b"<![CDATA[" not in content
    assert b"<label>a]]&gt;b &amp; &lt;c&gt; &quot;d&quot; &apos;e&apos;&#13;\n</label>" in content
    assert etree.fromstring(content, xmlsafe.parser()) is not None


printable = st.one_of(
    legal_text,
    legal_text.map(Markup),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.just(Markup("<already>&amp;escaped")),
)


@settings(max_examples=200, deadline=None)
@given(printable)
def test_one_call_printing_equals_finalize_then_escape(value: Any) -> None:
    """Templates print through ``_xml_text``; it must write what Jinja's own code would."""
    assert render._xml_text(value) == str(escape(render._finalize(value)))


@pytest.mark.parametrize("value", [None, "a\x00b", "\ud800", "<\x1b>"])
def test_one_call_printing_refuses_what_finalize_refuses(value: str | None) -> None:
    with pytest.raises((ConfigError, TypeError)) as expected:
        render._finalize(value)
    with pytest.raises(type(expected.value)) as caught:
        render._xml_text(value)
    assert str(caught.value) == str(expected.value)


# A tab template written with every construct that buffers or re-labels output.
CONSTRUCTS = """<?xml version="1.0" encoding="UTF-8"?>
<CustomTab xmlns="http://soap.sforce.com/2006/04/metadata">
{% macro element(name, text) %}
    <{{ name }}>{{ text }}</{{ name }}>
{% endmacro %}
    <customObject>true</customObject>
{{ element("description", tab.description) }}
{% set motif %}{{ tab.motif }}{% endset %}
    <motif>{{ motif }}</motif>
{% autoescape false %}
    <url>{{ tab.description }}</url>
{% endautoescape %}
</CustomTab>
"""


@settings(max_examples=40, deadline=None)
@given(description=legal_text, motif=legal_text)
def test_text_round_trips_through_macros_captures_and_unescaped_blocks(
    tmp_path_factory: pytest.TempPathFactory, description: str, motif: str
) -> None:
    folder = tmp_path_factory.mktemp("templates")
    (folder / "CustomTab.xml.j2").write_text(CONSTRUCTS, encoding="utf-8")
    spec = ObjectSpec(
        name="Cargo__c", label="Cargo", plural_label="Cargo", tab=TabSpec(motif, description)
    )
    files = {f.path: f for f in Renderer([Path(folder)]).render([spec])}
    root = xmlsafe.parse(files["tabs/Cargo__c.tab"].content, "tabs/Cargo__c.tab")
    texts = {etree.QName(e).localname: e.text or "" for e in root}
    assert texts == {
        "customObject": "true",
        "description": description,
        "motif": motif,
        "url": description,
    }
