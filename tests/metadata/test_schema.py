"""Offline schema validation against the Metadata WSDL (bundled, cached, or the user's own)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

import toolkit.metadata.schema as schema_module
from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.schema import (
    MetadataSchema,
    SchemaProblem,
    bundled_wsdl_path,
    is_xml_metadata,
    wsdl_api_version,
)

MD = "http://soap.sforce.com/2006/04/metadata"

ROCKET_OBJECT = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD}">
    <deploymentStatus>Deployed</deploymentStatus>
    <fields>
        <fullName>Payload_Name__c</fullName>
        <externalId>false</externalId>
        <label>Payload name</label>
        <length>80</length>
        <required>false</required>
        <type>Text</type>
        <unique>false</unique>
    </fields>
    <label>Rocket</label>
    <nameField>
        <label>Rocket name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Rockets</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
"""

THRUST_FIELD = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="{MD}">
    <fullName>Thrust_kN__c</fullName>
    <description>Sea-level thrust</description>
    <label>Thrust (kN)</label>
    <precision>9</precision>
    <required>false</required>
    <scale>1</scale>
    <type>Number</type>
</CustomField>
"""

ROCKET_TAB = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomTab xmlns="{MD}">
    <customObject>true</customObject>
    <motif>Custom20: Airplane</motif>
</CustomTab>
"""

DELETE_MEMBERS = """    <types>
        <members>Rocket__c.Old_Field__c</members>
        <name>CustomField</name>
    </types>
"""


def md(path: str, text: str) -> MetadataFile:
    return MetadataFile(path, text.encode("utf-8"), origin="test")


@pytest.fixture(scope="session")
def cache_dir(schema_cache: Path) -> Path:
    """The run's one schema cache (tests/conftest.py): the first load of the run wrote it."""
    return schema_cache


@pytest.fixture(scope="session")
def schema(metadata_schema: MetadataSchema) -> MetadataSchema:
    return metadata_schema


@pytest.fixture
def fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget loaded schemas so a load really goes to the cache or the builder."""
    monkeypatch.setattr(schema_module, "_MEMO", {})


def test_valid_object_with_text_field_is_clean(schema: MetadataSchema) -> None:
    assert schema.validate(md("objects/Rocket__c.object", ROCKET_OBJECT)) == []


def test_valid_source_format_field_is_clean(schema: MetadataSchema) -> None:
    path = "force-app/main/default/objects/Rocket__c/fields/Thrust_kN__c.field-meta.xml"
    assert schema.validate(md(path, THRUST_FIELD)) == []


def test_elements_out_of_order_reported_on_their_line(schema: MetadataSchema) -> None:
    swapped = ROCKET_OBJECT.replace(
        "    <deploymentStatus>Deployed</deploymentStatus>\n", ""
    ).replace(
        "    <pluralLabel>Rockets</pluralLabel>\n",
        "    <pluralLabel>Rockets</pluralLabel>\n"
        "    <deploymentStatus>Deployed</deploymentStatus>\n",
    )
    problems = schema.validate(md("objects/Rocket__c.object", swapped))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.path == "objects/Rocket__c.object"
    assert problem.element == "deploymentStatus"
    assert (
        problem.line
        == swapped.splitlines().index("    <deploymentStatus>Deployed</deploymentStatus>") + 1
    )
    assert "not expected" in problem.message
    assert "{" not in problem.message


def test_unknown_element_named_without_namespace_noise(schema: MetadataSchema) -> None:
    text = THRUST_FIELD.replace("<label>", "<colour>red</colour>\n    <label>")
    problems = schema.validate(md("fields/Thrust_kN__c.field-meta.xml", text))
    assert [(p.line, p.element) for p in problems] == [(5, "colour")]
    assert problems[0].message.startswith("Element 'colour': This element is not expected.")


def test_every_error_is_reported_with_its_own_line(schema: MetadataSchema) -> None:
    text = ROCKET_OBJECT.replace(
        "<label>Payload name</label>", "<label>Payload name</label><wings>2</wings>"
    ).replace("<label>Rocket name</label>", "<label>Rocket name</label><fins>4</fins>")
    problems = schema.validate(md("objects/Rocket__c.object", text))
    assert [(p.line, p.element) for p in problems] == [(7, "wings"), (15, "fins")]


def test_bad_simple_value_is_reported(schema: MetadataSchema) -> None:
    text = THRUST_FIELD.replace("<precision>9</precision>", "<precision>nine</precision>")
    (problem,) = schema.validate(md("fields/Thrust_kN__c.field-meta.xml", text))
    assert (problem.line, problem.element) == (6, "precision")
    assert "nine" in problem.message


def test_root_without_namespace(schema: MetadataSchema) -> None:
    text = THRUST_FIELD.replace(f' xmlns="{MD}"', "")
    assert schema.validate(md("fields/X.field-meta.xml", text)) == [
        SchemaProblem(
            "fields/X.field-meta.xml",
            2,
            "CustomField",
            f"root element <CustomField> must be in namespace {MD}, it has no namespace",
        )
    ]


def test_root_in_wrong_namespace(schema: MetadataSchema) -> None:
    text = THRUST_FIELD.replace(MD, "urn:example:rockets")
    (problem,) = schema.validate(md("fields/X.field-meta.xml", text))
    assert problem.message.endswith("it has namespace urn:example:rockets")
    assert f"must be in namespace {MD}" in problem.message


@pytest.mark.parametrize("root", ["Spaceship", "deploy", "Metadata", "PackageTypeMembers"])
def test_root_that_is_not_a_metadata_type(schema: MetadataSchema, root: str) -> None:
    text = f'<?xml version="1.0"?>\n\n<{root} xmlns="{MD}"/>\n'
    (problem,) = schema.validate(md("x/y.thing-meta.xml", text))
    assert (problem.line, problem.element) == (3, root)
    assert problem.message.startswith(f"root element <{root}> is not a Metadata API type")


def test_not_well_formed_reports_its_line_instead_of_raising(schema: MetadataSchema) -> None:
    text = THRUST_FIELD.replace("</label>", "</labl>")
    (problem,) = schema.validate(md("fields/X.field-meta.xml", text))
    assert problem.line == 5
    assert problem.message.startswith("not well-formed XML:")
    assert problem.element == ""


def test_package_xml_needs_version_but_destructive_manifests_do_not(
    schema: MetadataSchema,
) -> None:
    no_version = f'<?xml version="1.0"?>\n<Package xmlns="{MD}">\n{DELETE_MEMBERS}</Package>\n'
    (problem,) = schema.validate(md("package.xml", no_version))
    assert problem.element == "Package"
    assert "version" in problem.message
    assert schema.validate(md("manifest/package.xml", no_version)) != []
    for name in (
        "destructiveChanges.xml",
        "destructiveChangesPre.xml",
        "destructiveChangesPost.xml",
    ):
        assert schema.validate(md(name, no_version)) == [], name
    with_version = no_version.replace("</Package>", "    <version>63.0</version>\n</Package>")
    assert schema.validate(md("package.xml", with_version)) == []
    assert schema.validate(md("destructiveChanges.xml", with_version)) == []


def test_destructive_manifest_is_otherwise_still_checked(schema: MetadataSchema) -> None:
    text = (
        f'<?xml version="1.0"?>\n<Package xmlns="{MD}">\n{DELETE_MEMBERS}    <colour/>\n</Package>'
    )
    (problem,) = schema.validate(md("destructiveChangesPost.xml", text))
    assert (problem.line, problem.element) == (7, "colour")


def test_validate_tree_reuses_a_parsed_tree(schema: MetadataSchema) -> None:
    root = etree.fromstring(THRUST_FIELD.replace("Number", "Numeric").encode())
    (problem,) = schema.validate_tree(root, "fields/T.field-meta.xml")
    assert (problem.path, problem.line, problem.element) == ("fields/T.field-meta.xml", 9, "type")


def test_bundled_wsdl_version(schema: MetadataSchema) -> None:
    path = bundled_wsdl_path()
    assert path.name == "metadata.wsdl" and path.is_file()
    version = wsdl_api_version(path)
    assert re.fullmatch(r"\d+\.0", version)
    assert float(version) >= 63.0
    assert schema.api_version == version
    assert schema.wsdl_path == path


def test_wsdl_version_from_a_header_comment(tmp_path: Path) -> None:
    wsdl = tmp_path / "m.wsdl"
    wsdl.write_text('<?xml version="1.0"?>\n<!--\nAcme Metadata API version 58.0\n-->\n<d/>\n')
    assert wsdl_api_version(wsdl) == "58.0"
    wsdl.write_text('<?xml version="1.0"?>\n<d><!-- Metadata API version 58.0 --></d>\n')
    with pytest.raises(ConfigError, match=r"m\.wsdl: no 'Metadata API version"):
        wsdl_api_version(wsdl)


def test_loading_twice_in_a_process_returns_the_same_schema(
    schema: MetadataSchema, cache_dir: Path
) -> None:
    assert MetadataSchema.load(cache_dir=cache_dir) is schema
    assert MetadataSchema.load(bundled_wsdl_path(), cache_dir) is schema


def test_first_load_writes_cache_and_next_load_uses_it(
    schema: MetadataSchema,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_memo: None,
) -> None:
    # Other tests may have loaded the schema into this process from another cache folder.
    MetadataSchema.load(cache_dir=cache_dir)
    (cached,) = (cache_dir / "schema").iterdir()
    assert re.fullmatch(r"[0-9a-f]{64}\.xsd", cached.name)
    only_cache = tmp_path / "cache"
    (only_cache / "schema").mkdir(parents=True)
    (only_cache / "schema" / cached.name).write_bytes(cached.read_bytes())

    def no_build(wsdl: bytes, where: str) -> bytes:
        raise AssertionError("the cached schema should have been used")

    monkeypatch.setattr(schema_module, "build_xsd", no_build)
    from_cache = MetadataSchema.load(cache_dir=only_cache)
    assert from_cache is not schema
    assert from_cache.validate(md("objects/Rocket__c.object", ROCKET_OBJECT)) == []
    broken = THRUST_FIELD.replace("<label>", "<colour/><label>")
    assert [p.element for p in from_cache.validate(md("f.field-meta.xml", broken))] == ["colour"]
    assert sorted(p.name for p in (only_cache / "schema").iterdir()) == [cached.name]


def test_cached_schema_is_compiled_when_first_used_and_rebuilt_if_it_does_not_compile(
    schema: MetadataSchema, cache_dir: Path, tmp_path: Path, fresh_memo: None
) -> None:
    MetadataSchema.load(cache_dir=cache_dir)
    (cached,) = (cache_dir / "schema").iterdir()
    text = cached.read_text(encoding="utf-8")
    # Still well-formed, with the same root types, but a type reference leads nowhere.
    start = text.index('type="tns:', text.index('name="CustomTab"'))
    broken = text[:start] + 'type="tns:NoSuchType' + text[start + len('type="tns:') :]
    damaged = tmp_path / "cache"
    (damaged / "schema").mkdir(parents=True)
    (damaged / "schema" / cached.name).write_text(broken, encoding="utf-8")
    schema_module._MEMO.clear()  # this test's own memo (fresh_memo)
    loaded = MetadataSchema.load(cache_dir=damaged)
    assert loaded._strict is None  # not compiled yet
    assert loaded.validate(md("tabs/Rocket__c.tab", ROCKET_TAB)) == []
    assert (damaged / "schema" / cached.name).read_bytes() == cached.read_bytes()


def test_cache_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SFTK_CACHE_DIR", str(tmp_path / "a"))
    assert schema_module.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("SFTK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert schema_module.default_cache_dir() == tmp_path / "xdg" / "sftk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert schema_module.default_cache_dir() == tmp_path / "home" / ".cache" / "sftk"


def user_wsdl(tmp_path: Path, drop: str) -> Path:
    """A copy of the bundled WSDL with one element declaration removed, as an org might have."""
    text = bundled_wsdl_path().read_text(encoding="utf-8")
    tab = text.index('<xsd:complexType name="CustomTab">')
    start = text.index(drop, tab)
    end = text.index("\n", start) + 1
    wsdl = tmp_path / "org-metadata.wsdl"
    wsdl.write_text(text[:start] + text[end:], encoding="utf-8")
    return wsdl


def test_user_wsdl_replaces_the_bundled_schema(
    schema: MetadataSchema, tmp_path: Path, fresh_memo: None
) -> None:
    tab = md("tabs/Rocket__c.tab", ROCKET_TAB)
    assert schema.validate(tab) == []
    wsdl = user_wsdl(tmp_path, '<xsd:element name="motif"')
    # An unwritable cache folder (a file stands where it should be) only costs a rebuild.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    mine = MetadataSchema.load(wsdl, cache_dir=blocked)
    assert mine.wsdl_path == wsdl
    assert mine.api_version == schema.api_version
    (problem,) = mine.validate(tab)
    assert (problem.line, problem.element) == (4, "motif")


def test_missing_wsdl(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.wsdl"
    with pytest.raises(ConfigError, match=r"nowhere\.wsdl: WSDL file not found"):
        MetadataSchema.load(missing, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"nowhere\.wsdl"):
        wsdl_api_version(missing)


def test_wsdl_that_is_not_xml(tmp_path: Path) -> None:
    wsdl = tmp_path / "broken.wsdl"
    wsdl.write_text("<!-- Metadata API version 63.0 -->\n<definitions>\n<types>\n</definitions>\n")
    with pytest.raises(ConfigError, match=r"broken\.wsdl:4: not well-formed XML"):
        MetadataSchema.load(wsdl, cache_dir=tmp_path)


def test_wsdl_without_metadata_schema(tmp_path: Path) -> None:
    wsdl = tmp_path / "partner.wsdl"
    wsdl.write_text(
        "<!-- Partner Web Services API Version 63.0 -->\n"
        '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n'
        '<types><xsd:schema targetNamespace="urn:partner.soap.sforce.com"/></types>\n'
        "</definitions>\n"
    )
    with pytest.raises(ConfigError, match=r"partner\.wsdl: no <types>/<xsd:schema>") as info:
        MetadataSchema.load(wsdl, cache_dir=tmp_path)
    assert info.value.hint


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("package.xml", True),
        ("manifest/package.xml", True),
        ("destructiveChangesPre.xml", True),
        ("objects/Rocket__c.object", True),
        ("layouts/Rocket__c-Rocket Layout.layout", True),
        ("customMetadata/Engine.Merlin.md", True),
        ("classes/RocketService.cls-meta.xml", True),
        ("force-app/main/default/objects/Rocket__c/Rocket__c.object-meta.xml", True),
        ("classes/RocketService.cls", False),
        ("staticresources/logo.resource", False),
        ("README.md", False),
        ("docs/notes.md", False),
        ("objects/.object", False),
        ("layouts/Rocket__c.object", False),
    ],
)
def test_is_xml_metadata(path: str, expected: bool) -> None:
    assert is_xml_metadata(path) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("lwc/roomPicker/roomPicker.js-meta.xml", True),
        ("lwc/roomPicker/roomPicker.html", False),
        ("aura/bookingCard/bookingCard.cmp", False),
        ("reports/Rooms/Busy_Rooms.report", True),
        ("reports/Rooms-meta.xml", True),
        ("email/Letters/Welcome.email", False),
        ("documents/Logos/campus.png", False),
    ],
)
def test_is_xml_metadata_for_bundles_and_folders(path: str, expected: bool) -> None:
    assert is_xml_metadata(path) is expected
