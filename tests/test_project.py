"""Assembling a project's package: specs from files and plugins, carried folders, manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import ConfigError
from toolkit.metadata.manifest import components_of, package_xml
from toolkit.metadata.specs import FieldSpec, ObjectSpec
from toolkit.project import build_package, merge_objects, open_project

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


def test_carried_file_clashing_with_a_rendered_one_is_refused(tmp_path: Path) -> None:
    make(tmp_path, '[project]\nmetadata_dirs = ["legacy"]\n')
    (tmp_path / "legacy" / "objects").mkdir(parents=True)
    (tmp_path / "legacy" / "objects" / "Room__c.object").write_text(f"{HEAD}<CustomObject {NS}/>\n")
    with pytest.raises(ConfigError, match=r"objects/Room__c\.object comes from both"):
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
