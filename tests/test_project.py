"""Assembling a project's package: specs from files and plugins, carried folders, manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import ConfigError
from toolkit.metadata.manifest import components_of, package_xml
from toolkit.metadata.specs import FieldSpec, ObjectSpec
from toolkit.project import build_package, merge_objects, open_project, project_objects

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def field(name: str) -> FieldSpec:
    return FieldSpec(name=name, type="Text", label=name, length=10)


def test_standard_object_specs_merge() -> None:
    a = ObjectSpec("Contact", fields=(field("A__c"),), source="one")
    b = ObjectSpec("Contact", fields=(field("B__c"),), source="two")
    [merged] = merge_objects([a, b])
    assert [f.name for f in merged.fields] == ["A__c", "B__c"]
    assert merged.source == "one; two"


def test_custom_object_described_twice_is_refused() -> None:
    spec = ObjectSpec("X__c", label="X", plural_label="Xs", source="one")
    with pytest.raises(ConfigError, match="described twice: in one and in two"):
        merge_objects([spec, ObjectSpec("X__c", label="X", plural_label="Xs", source="two")])


def test_same_field_from_two_sources_is_refused() -> None:
    a = ObjectSpec("Lead", fields=(field("A__c"),), source="one")
    with pytest.raises(ConfigError, match="field A__c is defined both in one and in two"):
        merge_objects([a, ObjectSpec("Lead", fields=(field("A__c"),), source="two")])


def test_event_and_task_fields_go_to_activity() -> None:
    event = ObjectSpec("Event", fields=(field("Room__c"),), source="objects/Event.toml")
    task = ObjectSpec("Task", fields=(field("Score__c"),), source="objects/Task.toml")
    merged = {spec.name: spec for spec in merge_objects([event, task])}
    assert [f.name for f in merged["Activity"].fields] == ["Room__c", "Score__c"]
    assert merged["Event"].fields == () and merged["Task"].fields == ()


def make(root: Path, config: str = "") -> None:
    (root / "objects").mkdir(parents=True)
    (root / "sftk.toml").write_text(config)
    (root / "objects" / "Room__c.toml").write_text(
        'label = "Room"\nplural_label = "Rooms"\n[fields.Size__c]\ntype = "Number"\n'
    )


def test_carried_source_folder_is_converted_into_the_package(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    fields = (
        tmp_path / "legacy" / "force-app" / "main" / "default" / "objects" / "Account" / "fields"
    )
    fields.mkdir(parents=True)
    (fields / "Tier__c.field-meta.xml").write_text(
        f"{HEAD}<CustomField {NS}>\n    <fullName>Tier__c</fullName>\n    <label>Tier</label>\n"
        "    <length>20</length>\n    <type>Text</type>\n</CustomField>\n"
    )
    package = build_package(open_project(tmp_path, no_plugins=True))
    paths = {f.path: f for f in package.files}
    assert "objects/Account.object" in paths and "objects/Room__c.object" in paths
    assert b"<fullName>Tier__c</fullName>" in paths["objects/Account.object"].content
    assert b"<members>Account.Tier__c</members>" in paths["package.xml"].content
    assert paths["objects/Account.object"].origin.startswith("legacy/")


def _legacy_field(root: Path, object_name: str, name: str, extra: str = "") -> None:
    folder = root / "legacy" / "force-app" / "main" / "default" / "objects" / object_name
    (folder / "fields").mkdir(parents=True, exist_ok=True)
    (folder / "fields" / f"{name}.field-meta.xml").write_text(
        f"{HEAD}<CustomField {NS}>\n    <fullName>{name}</fullName>\n    <label>L</label>\n"
        f"    <length>20</length>\n{extra}    <type>Text</type>\n</CustomField>\n"
    )


def test_hand_written_field_is_merged_into_the_spec_object(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    _legacy_field(tmp_path, "Room__c", "Legacy__c", "    <trackTrending>true</trackTrending>\n")
    package = build_package(open_project(tmp_path, no_plugins=True))
    files = {f.path: f for f in package.files}
    room = files["objects/Room__c.object"]
    assert b"<fullName>Legacy__c</fullName>" in room.content
    assert (
        b"<fullName>Size__c</fullName>" in room.content and b"<label>Room</label>" in room.content
    )
    assert room.origin.startswith("objects/Room__c.toml + legacy/")
    assert [str(ref) for ref in package.components if "Room__c" in str(ref)] == [
        "CustomField:Room__c.Legacy__c",
        "CustomField:Room__c.Size__c",
        "CustomObject:Room__c",
    ]
    again = build_package(open_project(tmp_path, no_plugins=True))
    assert [(f.path, f.content) for f in again.files] == [
        (f.path, f.content) for f in package.files
    ]


def test_a_field_both_define_is_refused_naming_both(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    _legacy_field(tmp_path, "Room__c", "Size__c")
    with pytest.raises(ConfigError) as caught:
        build_package(open_project(tmp_path, no_plugins=True))
    assert "CustomField Room__c.Size__c is defined both in objects/Room__c.toml and in legacy/" in (
        caught.value.message
    )
    assert "[fields.Size__c]" in (caught.value.hint or "")
    assert "objects/Room__c/fields/Size__c" in (caught.value.hint or "")


def test_an_own_element_both_give_is_refused(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    (tmp_path / "legacy" / "objects").mkdir(parents=True)
    (tmp_path / "legacy" / "objects" / "Room__c.object").write_text(
        f"{HEAD}<CustomObject {NS}><label>Salle</label></CustomObject>\n"
    )
    with pytest.raises(ConfigError, match=r"the object's <label> is given both by objects/Room"):
        build_package(open_project(tmp_path, no_plugins=True))


def test_a_spec_adds_to_an_object_a_hand_written_file_describes(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    (tmp_path / "objects" / "Hall__c.toml").write_text('[fields.Seats__c]\ntype = "Number"\n')
    (tmp_path / "legacy" / "objects").mkdir(parents=True)
    (tmp_path / "legacy" / "objects" / "Hall__c.object").write_text(
        f"{HEAD}<CustomObject {NS}><label>Hall</label><pluralLabel>Halls</pluralLabel>"
        "<nameField><label>Hall Name</label><type>Text</type></nameField>"
        "<sharingModel>ReadWrite</sharingModel></CustomObject>\n"
    )
    package = build_package(open_project(tmp_path, no_plugins=True))
    hall = next(f for f in package.files if f.path == "objects/Hall__c.object").content
    assert b"<fullName>Seats__c</fullName>" in hall and b"<label>Hall</label>" in hall
    assert "CustomObject:Hall__c" in [str(ref) for ref in package.components]
    specs = {spec.name: spec for spec in project_objects(open_project(tmp_path, no_plugins=True))}
    assert [f.name for f in specs["Hall__c"].fields] == ["Seats__c"]


def test_a_spec_without_labels_needs_someone_to_describe_its_object(tmp_path: Path) -> None:
    make(tmp_path)
    (tmp_path / "objects" / "Hall__c.toml").write_text('[fields.Seats__c]\ntype = "Number"\n')
    with pytest.raises(ConfigError, match="neither an enabled plugin nor a metadata folder"):
        build_package(open_project(tmp_path, no_plugins=True))


def test_other_files_at_one_path_are_still_refused(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    (tmp_path / "objects" / "Room__c.toml").write_text(
        'label = "Room"\nplural_label = "Rooms"\n[fields.Size__c]\ntype = "Number"\n'
        '[[layouts.Main.sections]]\nlabel = "A"\ncolumns = [["Name"]]\n'
    )
    (tmp_path / "legacy" / "layouts").mkdir(parents=True)
    (tmp_path / "legacy" / "layouts" / "Room__c-Main.layout").write_text(f"{HEAD}<Layout {NS}/>\n")
    with pytest.raises(ConfigError, match=r"layouts/Room__c-Main\.layout comes from both"):
        build_package(open_project(tmp_path, no_plugins=True))


def test_package_xml_uses_the_configured_version(tmp_path: Path) -> None:
    make(tmp_path, '[project]\napi_version = "61.0"\n')
    package = build_package(open_project(tmp_path, no_plugins=True))
    manifest = next(f for f in package.files if f.path == "package.xml").content
    assert b"<version>61.0</version>" in manifest
    assert b"<members>Room__c.Size__c</members>" in manifest


def test_package_components_are_what_package_xml_lists(tmp_path: Path) -> None:
    deletions = '[deletions]\ncomponents = ["ApexClass:Gone"]\n'
    make(tmp_path, '[project]\napi_version = "61.0"\n' + deletions)
    package = build_package(open_project(tmp_path, no_plugins=True))
    assert package.components == tuple(components_of(package.files))
    listed = next(f for f in package.files if f.path == "package.xml").content
    assert listed == package_xml(package.components, "61.0")
    assert [str(ref) for ref in package.components] == [
        "CustomField:Room__c.Size__c",
        "CustomObject:Room__c",
    ]


# --- a build split between this process and a helper ---------------------------------------


def many_specs(root: Path, count: int, config: str = "") -> None:
    """``count`` custom objects with lookups, layouts, tabs and grants to two permission sets,
    with standard-object specs (merged, and split onto Activity) among them in file order."""
    make(root, config + "[permission_sets.Crew]\nlabel = 'Crew'\n")
    objects = root / "objects"
    for index in range(count):
        steward = '["read", "edit"]' if index % 2 else "[]"
        lookup = (
            f'[fields.Prev__c]\ntype = "Lookup"\nreference_to = "Cabin_{index - 1:03d}__c"\n'
            f'relationship_name = "Next_{index:03d}"\n'
            if index
            else ""
        )
        (objects / f"Cabin_{index:03d}__c.toml").write_text(
            f'label = "Cabin {index}"\nplural_label = "Cabins {index}"\n[tab]\n'
            '[fields.Deck__c]\ntype = "Picklist"\nvalues = ["A", "B"]\ndefault = "B"\n'
            f'[fields.Berths__c]\ntype = "Number"\nprecision = 3\n{lookup}'
            '[layouts.Main]\n[[layouts.Main.sections]]\nlabel = "All"\n'
            'columns = [["Deck__c"], ["Berths__c"]]\n'
            '[access.Crew]\nobject = ["read"]\nread = "*"\n'
            f"[access.Steward]\nobject = {steward}\n"
            'edit = ["Deck__c"]\n'
        )
    for name, field_name in (("Contact", "Cabin_Pref__c"), ("Event", "Muster__c")):
        (objects / f"{name}.toml").write_text(
            f'[fields.{field_name}]\ntype = "Text"\nlength = 20\n'
            '[access.Crew]\nobject = ["read"]\nread = "*"\n'
        )


def test_a_split_build_is_the_same_package_as_a_one_part_build(tmp_path: Path) -> None:
    many_specs(tmp_path, 30, '[plugins]\nenabled = ["lms", "scheduling"]\n')
    project = open_project(tmp_path)
    one_part = build_package(project, split=False)
    assert build_package(project, split=True) == one_part
    paths = {f.path for f in one_part.files}
    assert {"objects/Activity.object", "objects/Course__c.object", "tabs/Cabin_029__c.tab"} <= paths
    crew = next(f for f in one_part.files if f.path == "permissionsets/Crew.permissionset")
    assert b"<field>Cabin_029__c.Deck__c</field>" in crew.content
    assert b"<field>Contact.Cabin_Pref__c</field>" in crew.content


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("Cabin_028__c.toml", 'label = "X"\nplural_label = "Xs"\n[fields.A__c]\ntype = "Txt"\n'),
        ("Zz.toml", 'name = "Cabin_003__c"\nlabel = "Again"\nplural_label = "Agains"\n'),
        ("Zz.toml", 'name = "Course__c"\nlabel = "Mine"\nplural_label = "Mine"\n'),
    ],
    ids=["bad spec in the second half", "duplicate across halves", "clash with a plugin"],
)
def test_a_split_build_reports_what_a_one_part_build_reports(
    tmp_path: Path, name: str, text: str
) -> None:
    many_specs(tmp_path, 30, '[plugins]\nenabled = ["lms"]\n')
    (tmp_path / "objects" / name).write_text(text)
    project = open_project(tmp_path)
    with pytest.raises(ConfigError) as one_part:
        build_package(project, split=False)
    with pytest.raises(ConfigError) as split:
        build_package(project, split=True)
    assert str(split.value) == str(one_part.value)
