"""The Metadata API schema: the WSDLs sftk ships, the user's own, built, cached and compiled.

How files are read against it is tests/metadata/test_reading.py."""

from __future__ import annotations

import lzma
import re
from pathlib import Path

import pytest

import toolkit.metadata.schema as schema_module
from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.reading import read_file
from toolkit.metadata.schema import (
    SHIPPED_WSDL_DIR,
    MetadataSchema,
    bundled_wsdl_path,
    is_xml_metadata,
    read_wsdl,
    shipped_wsdls,
    version_key,
    wsdl_api_version,
    wsdl_for,
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


def test_bundled_wsdl_is_the_newest_shipped_one(schema: MetadataSchema) -> None:
    path = bundled_wsdl_path()
    assert path.parent == SHIPPED_WSDL_DIR and path.name.endswith(".wsdl.xz")
    version = wsdl_api_version(path)
    assert version == max(shipped_wsdls(), key=version_key)
    assert version_key(version) >= (66, 0)
    assert schema.api_version == version
    assert schema.wsdl_path == path
    assert (SHIPPED_WSDL_DIR / "LICENSE-forcedotcom-wsdl.txt").is_file()


def test_a_shipped_wsdl_is_read_decompressed() -> None:
    text = read_wsdl(bundled_wsdl_path())
    assert text.startswith(b"<?xml")
    assert b"Metadata API version " + wsdl_api_version(bundled_wsdl_path()).encode() in text[:500]


def test_the_wsdl_for_a_version_is_the_oldest_not_older_than_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "wsdl"
    folder.mkdir()
    for version in ("58.0", "62.0", "66.0"):
        header = f"<!--\nSalesforce.com Metadata API version {version}\n-->\n<definitions/>\n"
        # Compressed like the shipped ones; the file name does not decide the version.
        (folder / f"metadata-{version.replace('.', '_')}.wsdl.xz").write_bytes(
            lzma.compress(header.encode())
        )
    monkeypatch.setattr(schema_module, "SHIPPED_WSDL_DIR", folder)
    picked = {v: wsdl_api_version(wsdl_for(v)) for v in ("50.0", "58.0", "60.0", "62.0", "67.0")}
    assert picked == {
        "50.0": "58.0",
        "58.0": "58.0",
        "60.0": "62.0",
        "62.0": "62.0",
        "67.0": "66.0",  # newer than any: the newest, whose reader warns what it cannot check
    }
    assert wsdl_api_version(wsdl_for(None)) == "66.0"
    assert wsdl_api_version(bundled_wsdl_path()) == "66.0"


def test_no_shipped_wsdl_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_module, "SHIPPED_WSDL_DIR", tmp_path)
    with pytest.raises(ConfigError, match="incomplete") as info:
        bundled_wsdl_path()
    assert "--wsdl" in (info.value.hint or "")


def test_version_key_compares_numbers_not_text() -> None:
    assert version_key("9.0") < version_key("66.0") < version_key("66.1") < version_key("100.0")
    assert version_key("latest") == (0, 0)


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
    assert read_file(md("objects/Rocket__c.object", ROCKET_OBJECT), from_cache) == []
    broken = THRUST_FIELD.replace("<label>", "<colour/><label>")
    assert [p.element for p in read_file(md("f.field-meta.xml", broken), from_cache)] == ["colour"]
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
    assert read_file(md("tabs/Rocket__c.tab", ROCKET_TAB), loaded) == []
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
    text = read_wsdl(bundled_wsdl_path()).decode("utf-8")
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
    assert read_file(tab, schema) == []
    wsdl = user_wsdl(tmp_path, '<xsd:element name="motif"')
    # An unwritable cache folder (a file stands where it should be) only costs a rebuild.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    mine = MetadataSchema.load(wsdl, cache_dir=blocked)
    assert mine.wsdl_path == wsdl
    assert mine.api_version == schema.api_version
    (problem,) = read_file(tab, mine)
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
