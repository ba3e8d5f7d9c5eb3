"""package.xml / destructive manifests, component references, and package zips."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import pytest

from toolkit.errors import ConfigError
from toolkit.metadata import manifest, packaging
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.manifest import ComponentRef

NS = METADATA_NS
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

GARDEN_OBJECT = f"""{HEAD}<CustomObject xmlns="{NS}">
    <fields>
        <fullName>Bed_Size__c</fullName>
        <type>Number</type>
    </fields>
    <fields>
        <fullName>Soil__c</fullName>
        <type>Picklist</type>
    </fields>
    <label>Garden</label>
    <listViews>
        <fullName>Mine</fullName>
    </listViews>
    <validationRules>
        <fullName>Bed_Positive</fullName>
    </validationRules>
    <webLinks>
        <fullName>Show_Map</fullName>
    </webLinks>
</CustomObject>
""".encode()

ACCOUNT_OBJECT = f"""{HEAD}<CustomObject xmlns="{NS}">
    <fields>
        <fullName>Plot_Count__c</fullName>
    </fields>
</CustomObject>
""".encode()


def garden_package() -> list[MetadataFile]:
    files = {
        "objects/Garden__c.object": GARDEN_OBJECT,
        "objects/Account.object": ACCOUNT_OBJECT,
        "layouts/Garden__c-Garden Layout.layout": b"<Layout/>",
        "classes/Planter.cls": b"class Planter {}",
        "classes/Planter.cls-meta.xml": b"<ApexClass/>",
        "tabs/Garden__c.tab": b"<CustomTab/>",
        "permissionsets/Gardener.permissionset": b"<PermissionSet/>",
        "package.xml": b"<Package/>",
        "destructiveChanges.xml": b"<Package/>",
    }
    return [MetadataFile(p, c) for p, c in files.items()]


# --------------------------------------------------------------------------- ComponentRef


def test_parse() -> None:
    assert ComponentRef.parse("CustomField:Contact.Old__c") == ComponentRef(
        "CustomField", "Contact.Old__c"
    )
    assert ComponentRef.parse(" Layout : Garden__c-Garden Layout ") == ComponentRef(
        "Layout", "Garden__c-Garden Layout"
    )
    assert str(ComponentRef("ApexClass", "Planter")) == "ApexClass:Planter"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CustomField", "not a component reference"),
        ("Gizmo:Thing", "unknown metadata type 'Gizmo'"),
        ("CustomField:Old__c", "is named Object.Name"),
        ("CustomField:Contact.", "is named Object.Name"),
        ("ApexClass:", "empty"),
        ("ApexClass:  ", "empty"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ComponentRef.parse(text)


def test_unknown_type_lists_known_types() -> None:
    with pytest.raises(ConfigError) as info:
        ComponentRef.parse("Gizmo:Thing")
    hint = info.value.hint or ""
    for name in ("ApexClass", "CustomObject", "CustomField", "WebLink", "ListView", "Layout"):
        assert name in hint


def test_refs_sort_by_type_then_name() -> None:
    refs = [
        ComponentRef("Layout", "B"),
        ComponentRef("ApexClass", "Z"),
        ComponentRef("Layout", "A"),
    ]
    assert [str(r) for r in sorted(refs)] == ["ApexClass:Z", "Layout:A", "Layout:B"]


# --------------------------------------------------------------------------- components_of


def test_components_of() -> None:
    # Account.object only carries a field: a container, not a CustomObject component.
    assert [str(r) for r in manifest.components_of(garden_package())] == [
        "ApexClass:Planter",
        "CustomField:Account.Plot_Count__c",
        "CustomField:Garden__c.Bed_Size__c",
        "CustomField:Garden__c.Soil__c",
        "CustomObject:Garden__c",
        "CustomTab:Garden__c",
        "Layout:Garden__c-Garden Layout",
        "ListView:Garden__c.Mine",
        "PermissionSet:Gardener",
        "ValidationRule:Garden__c.Bed_Positive",
        "WebLink:Garden__c.Show_Map",
    ]


def test_components_of_finds_full_names_anywhere_in_a_child() -> None:
    content = f"""{HEAD}<CustomObject xmlns="{NS}">
    <fields><!-- first --><fullName>A__c</fullName></fields>
    <fields><label>B</label><fullName> B__c </fullName></fields>
    <webLinks xmlns=""><fullName>Plain</fullName></webLinks>
</CustomObject>
""".encode()
    refs = manifest.components_of([MetadataFile("objects/Account.object", content)])
    assert [str(r) for r in refs] == [
        "CustomField:Account.A__c",
        "CustomField:Account.B__c",
        "WebLink:Account.Plain",
    ]


def test_components_of_refuses_unknown_files() -> None:
    with pytest.raises(ConfigError, match=r"gadgets/x\.gadget"):
        manifest.components_of([MetadataFile("gadgets/x.gadget", b"")])


def test_components_of_reports_broken_object_xml() -> None:
    broken = MetadataFile("objects/A__c.object", b"<CustomObject>\n<fields>", "specs/a.toml")
    with pytest.raises(ConfigError, match=r"objects/A__c.object \(from specs/a.toml\):2"):
        manifest.components_of([broken])


# --------------------------------------------------------------------------- manifests


def test_package_xml_exact_bytes() -> None:
    refs = manifest.components_of(garden_package())
    assert manifest.package_xml(refs, "66.0") == (
        f"""{HEAD}<Package xmlns="{NS}">
    <types>
        <members>Planter</members>
        <name>ApexClass</name>
    </types>
    <types>
        <members>Account.Plot_Count__c</members>
        <members>Garden__c.Bed_Size__c</members>
        <members>Garden__c.Soil__c</members>
        <name>CustomField</name>
    </types>
    <types>
        <members>Garden__c</members>
        <name>CustomObject</name>
    </types>
    <types>
        <members>Garden__c</members>
        <name>CustomTab</name>
    </types>
    <types>
        <members>Garden__c-Garden Layout</members>
        <name>Layout</name>
    </types>
    <types>
        <members>Garden__c.Mine</members>
        <name>ListView</name>
    </types>
    <types>
        <members>Gardener</members>
        <name>PermissionSet</name>
    </types>
    <types>
        <members>Garden__c.Bed_Positive</members>
        <name>ValidationRule</name>
    </types>
    <types>
        <members>Garden__c.Show_Map</members>
        <name>WebLink</name>
    </types>
    <version>66.0</version>
</Package>
""".encode()
    )


def test_package_xml_dedupes_and_escapes() -> None:
    refs = [ComponentRef("Layout", "A-Q&A <new>"), ComponentRef("Layout", "A-Q&A <new>")]
    assert manifest.package_xml(refs, "62.0") == (
        f"""{HEAD}<Package xmlns="{NS}">
    <types>
        <members>A-Q&amp;A &lt;new&gt;</members>
        <name>Layout</name>
    </types>
    <version>62.0</version>
</Package>
""".encode()
    )


def test_package_xml_refuses_names_xml_cannot_carry() -> None:
    with pytest.raises(ConfigError, match=r"'Bell\\x07' has U\+0007"):
        manifest.package_xml([ComponentRef("ApexClass", "Bell\x07")], "62.0")


def test_package_xml_refuses_bad_version() -> None:
    with pytest.raises(ConfigError, match="API version"):
        manifest.package_xml([], "latest")


def test_empty_and_destructive() -> None:
    assert manifest.empty_package_xml("66.0") == (
        f'{HEAD}<Package xmlns="{NS}">\n    <version>66.0</version>\n</Package>\n'.encode()
    )
    refs = [ComponentRef.parse("CustomField:Contact.Old__c"), ComponentRef.parse("ApexClass:Gone")]
    assert manifest.destructive_xml(refs) == (
        f"""{HEAD}<Package xmlns="{NS}">
    <types>
        <members>Gone</members>
        <name>ApexClass</name>
    </types>
    <types>
        <members>Contact.Old__c</members>
        <name>CustomField</name>
    </types>
</Package>
""".encode()
    )
    assert manifest.DESTRUCTIVE_FILE["pre"] == "destructiveChangesPre.xml"


def test_destructive_refuses_wildcards() -> None:
    with pytest.raises(ConfigError, match="wildcards"):
        manifest.destructive_xml([ComponentRef("ApexClass", "*")])


# --------------------------------------------------------------------------- zips


def test_limits_table() -> None:
    limits = packaging.PACKAGE_LIMITS
    assert (limits.max_files, limits.max_zipped_bytes, limits.max_unzipped_bytes) == (
        10_000,
        40_894_464,
        629_145_600,
    )


def test_build_zip_is_deterministic_and_reads_back() -> None:
    files = garden_package()
    first = packaging.build_zip(files)
    assert packaging.build_zip(list(reversed(files))) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(f.path for f in files)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.external_attr >> 16 == stat.S_IFREG | 0o644
    back = packaging.read_zip(first, source="pkg.zip")
    assert [(f.path, f.content) for f in back] == sorted((f.path, f.content) for f in files)
    assert back[0].origin == "pkg.zip!classes/Planter.cls"


def test_build_zip_limits() -> None:
    small = packaging.PackageLimits(max_files=2, max_zipped_bytes=100, max_unzipped_bytes=50)
    one = [MetadataFile("classes/A.cls", b"x")]
    three = [MetadataFile(f"classes/{name}.cls", b"") for name in "ABC"]
    with pytest.raises(ConfigError, match="3 files"):
        packaging.build_zip(three, limits=small)
    with pytest.raises(ConfigError, match="uncompressed"):
        packaging.build_zip([MetadataFile("classes/A.cls", b"x" * 51)], limits=small)
    with pytest.raises(ConfigError, match="zip is"):
        packaging.build_zip([MetadataFile("classes/A.cls", b"x" * 40)], limits=small)
    with pytest.raises(ConfigError, match="two files"):
        packaging.build_zip(one * 2)
    with pytest.raises(ConfigError, match=r"\.\."):
        packaging.build_zip([MetadataFile("classes/../../A.cls", b"")])


def _zip(*entries: tuple[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../outside.cls", "'..'"),
        ("classes/../../outside.cls", "'..'"),
        ("/etc/cron.d/evil", "absolute"),
        ("C:/Windows/evil.cls", "absolute"),
        ("classes\\..\\evil.cls", "backslash"),
    ],
)
def test_read_zip_refuses_paths_that_escape(name: str, message: str) -> None:
    data = _zip(("package.xml", b"<Package/>"), (name, b"boom"))
    with pytest.raises(ConfigError, match=message):
        packaging.read_zip(data)


def test_read_zip_refuses_symlinks_and_duplicates() -> None:
    with pytest.raises(ConfigError, match="symbolic link"):
        packaging.read_zip(_zip(("package.xml", b""), symlink="classes/A.cls"))
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = _zip(("classes/A.cls", b"1"), ("classes/A.cls", b"2"))
    with pytest.raises(ConfigError, match="twice"):
        packaging.read_zip(twice)


def test_read_zip_too_many_files() -> None:
    data = _zip(*[(f"classes/C{i}.cls", b"") for i in range(6)])
    with pytest.raises(ConfigError, match="6 files; the limit is 5"):
        packaging.read_zip(data, max_files=5)
    assert len(packaging.read_zip(data, max_files=6)) == 6


def test_read_zip_bomb_by_declared_size() -> None:
    data = _zip(("staticresources/zeros.resource", bytes(2_000_000)))
    assert len(data) < 10_000
    with pytest.raises(ConfigError, match="declares more than 1,000,000 bytes"):
        packaging.read_zip(data, max_unzipped=1_000_000)


def test_read_zip_bomb_with_lying_header() -> None:
    """A header that understates the size must not let more bytes through."""
    data = bytearray(_zip(("staticresources/zeros.resource", bytes(2_000_000))))
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)  # uncompressed size in the central directory
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, 10)
    with pytest.raises(ConfigError, match=r"cannot be read \(Bad CRC"):
        packaging.read_zip(bytes(data), max_unzipped=1_000_000)


def test_read_zip_counts_bytes_as_it_inflates() -> None:
    archive = zipfile.ZipFile(io.BytesIO(_zip(("a/b.cls", bytes(5000)))))
    with archive, pytest.raises(ConfigError, match="inflates past"):
        packaging._read_entry(archive, archive.infolist()[0], 4096, "t")


def test_read_zip_strips_a_single_root_folder() -> None:
    rooted = _zip(("unpackaged/package.xml", b"P"), ("unpackaged/classes/A.cls", b"A"))
    assert [f.path for f in packaging.read_zip(rooted)] == ["classes/A.cls", "package.xml"]
    flat_objects = _zip(("objects/A__c.object", b"O"), ("objects/B__c.object", b"O"))
    assert [f.path for f in packaging.read_zip(flat_objects)] == [
        "objects/A__c.object",
        "objects/B__c.object",
    ]
    source = _zip(("force-app/main/default/tabs/A.tab-meta.xml", b"T"))
    assert [f.path for f in packaging.read_zip(source)] == [
        "force-app/main/default/tabs/A.tab-meta.xml"
    ]


def test_read_zip_refuses_garbage() -> None:
    with pytest.raises(ConfigError, match="not a zip file"):
        packaging.read_zip(b"PK but not really", source="upload.zip")


def test_components_of_bundles_and_folders() -> None:
    files = [
        MetadataFile("lwc/roomPicker/roomPicker.js", b""),
        MetadataFile("lwc/roomPicker/roomPicker.js-meta.xml", b""),
        MetadataFile("lwc/roomPicker/utils/seats.js", b""),
        MetadataFile("aura/bookingCard/bookingCard.cmp", b""),
        MetadataFile("reports/Rooms-meta.xml", b""),
        MetadataFile("reports/Rooms/Busy_Rooms.report", b""),
        MetadataFile("reports/unfiled$public/Spare.report", b""),
        MetadataFile("email/Letters/Welcome.email", b""),
        MetadataFile("email/Letters/Welcome.email-meta.xml", b""),
        MetadataFile("documents/Logos/campus.png", b""),
        MetadataFile("documents/Logos/campus.png-meta.xml", b""),
    ]
    # one member per bundle; a folder is a member of its type when its file is there
    assert [str(r) for r in manifest.components_of(files)] == [
        "AuraDefinitionBundle:bookingCard",
        "Document:Logos/campus.png",
        "EmailTemplate:Letters/Welcome",
        "LightningComponentBundle:roomPicker",
        "Report:Rooms",
        "Report:Rooms/Busy_Rooms",
        "Report:unfiled$public/Spare",
    ]
