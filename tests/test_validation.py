"""Validating a Salesforce DX project as the sf CLI would deploy it: its package directories,
less what .forceignore leaves out, at its sourceApiVersion, in its namespace. The project here
is a small satellite-tracking app, written by the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from toolkit.errors import ConfigError
from toolkit.metadata.sfdx import ForceIgnore, parse_sfdx_project
from toolkit.validation import read_metadata_folder, validate_folder

if TYPE_CHECKING:
    from conftest import Run

MD = "http://soap.sforce.com/2006/04/metadata"
BASE = "orbit-base/main/default"
UI = "orbit-ui/main/default"

# Written the way the sf CLI and real projects write them: the object's fields after its
# sharing model, an LWC's isExposed first and an fqn on its root, a class's meta file in the
# tooling namespace.
PROJECT = {
    "sfdx-project.json": json.dumps(
        {
            "packageDirectories": [
                {"path": "orbit-base", "default": False},
                {"path": "./orbit-ui", "default": True},
            ],
            "namespace": "orbit",
            "sourceApiVersion": "64.0",
        }
    ),
    ".forceignore": "# not deployed\n**/profiles/**\n",
    f"{BASE}/objects/Satellite__c/Satellite__c.object-meta.xml": f"""<?xml version="1.0"?>
<CustomObject xmlns="{MD}">
    <label>Satellite</label>
    <pluralLabel>Satellites</pluralLabel>
    <nameField>
        <type>Text</type>
        <label>Satellite Name</label>
    </nameField>
    <deploymentStatus>Deployed</deploymentStatus>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""",
    f"{BASE}/objects/Satellite__c/fields/Inclination__c.field-meta.xml": f"""<?xml version="1.0"?>
<CustomField xmlns="{MD}">
    <fullName>Inclination__c</fullName>
    <type>Number</type>
    <label>Inclination</label>
    <precision>5</precision>
    <scale>2</scale>
    <required>false</required>
</CustomField>
""",
    f"{BASE}/objects/Satellite__c/fields/Orbit__c.field-meta.xml": f"""<?xml version="1.0"?>
<CustomField xmlns="{MD}">
    <fullName>Orbit__c</fullName>
    <label>Orbit</label>
    <type>Picklist</type>
    <valueSet>
        <valueSetDefinition>
            <value>
                <fullName>LEO</fullName>
                <default>true</default>
                <label>Low Earth</label>
            </value>
            <value>
                <fullName>GEO</fullName>
                <default>false</default>
                <label>Geostationary</label>
            </value>
            <sorted>false</sorted>
        </valueSetDefinition>
    </valueSet>
</CustomField>
""",
    f"{UI}/layouts/Satellite__c-Satellite Layout.layout-meta.xml": f"""<?xml version="1.0"?>
<Layout xmlns="{MD}">
    <layoutSections>
        <label>Tracking</label>
        <style>OneColumn</style>
        <layoutColumns>
            <layoutItems>
                <field>Name</field>
                <behavior>Required</behavior>
            </layoutItems>
            <layoutItems>
                <field>orbit__Orbit__c</field>
                <behavior>Edit</behavior>
            </layoutItems>
            <layoutItems>
                <field>Inclination__c</field>
                <behavior>Edit</behavior>
            </layoutItems>
        </layoutColumns>
    </layoutSections>
</Layout>
""",
    f"{UI}/lwc/groundTrack/groundTrack.js-meta.xml": f"""<?xml version="1.0"?>
<LightningComponentBundle xmlns="{MD}" fqn="groundTrack">
    <isExposed>true</isExposed>
    <apiVersion>64.0</apiVersion>
    <targets><target>lightning__RecordPage</target></targets>
</LightningComponentBundle>
""",
    f"{UI}/lwc/groundTrack/groundTrack.js": "export default class GroundTrack {}\n",
    f"{UI}/classes/Tracker.cls": "public class Tracker {}\n",
    f"{UI}/classes/Tracker.cls-meta.xml": """<?xml version="1.0"?>
<ApexClass xmlns="urn:metadata.tooling.soap.sforce.com" fqn="Tracker">
    <apiVersion>64.0</apiVersion>
    <status>Active</status>
</ApexClass>
""",
    # Left out of every deploy: a profile the .forceignore names, files outside the package
    # directories. Each would be refused if it were read.
    f"{UI}/profiles/Admin.profile-meta.xml": f'<Profile xmlns="{MD}"><bogus/></Profile>\n',
    "scripts/setup.xml": "<not-metadata/>\n",
    "node_modules/some-tool/objects/X.object": "<broken",
}

FIELD = f"{BASE}/objects/Satellite__c/fields/Inclination__c.field-meta.xml"
OBJECT = f"{BASE}/objects/Satellite__c/Satellite__c.object-meta.xml"
PICKLIST = f"{BASE}/objects/Satellite__c/fields/Orbit__c.field-meta.xml"


def write_project(root: Path, changes: dict[str, str] | None = None) -> Path:
    for path, text in {**PROJECT, **(changes or {})}.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def test_a_dx_project_root_is_read_as_the_sf_cli_deploys_it(tmp_path: Path) -> None:
    found = read_metadata_folder(write_project(tmp_path))
    paths = [f.path for f in found.files]
    assert paths == sorted(paths)
    assert all(p.startswith(("orbit-base/", "orbit-ui/")) for p in paths)
    assert f"{UI}/profiles/Admin.profile-meta.xml" not in paths
    assert len(paths) == 8
    assert (found.api_version, found.namespace) == ("64.0", "orbit")


def test_a_dx_project_validates_clean(tmp_path: Path) -> None:
    report = validate_folder(write_project(tmp_path))
    assert [p for p in report.problems if p.severity == "error"] == []
    assert report.ok and report.files_checked == 8
    assert (report.api_version, report.schema_version) == ("64.0", "66.0")


def test_a_folder_inside_a_dx_project_takes_the_projects_settings(tmp_path: Path) -> None:
    write_project(tmp_path)
    found = read_metadata_folder(tmp_path / "orbit-ui")
    assert (found.api_version, found.namespace) == ("64.0", "orbit")
    assert "main/default/profiles/Admin.profile-meta.xml" not in [f.path for f in found.files]


@pytest.mark.parametrize(
    ("path", "old", "new", "element"),
    [
        (FIELD, "<label>Inclination</label>", "<lable>Inclination</lable>", "lable"),
        (FIELD, "<type>Number</type>", "<type>Numbr</type>", "type"),
        (FIELD, "<required>false</required>", "<required>nope</required>", "required"),
        (OBJECT, "<sharingModel>ReadWrite</sharingModel>", "<sharingModel>All</sharingModel>", ""),
        (PICKLIST, "            <value>\n                <fullName>GEO", "", "value"),
    ],
    ids=["misspelled element", "unknown field type", "non-boolean", "enumeration", "split group"],
)
def test_every_seeded_mistake_is_an_error_with_its_file_and_line(
    tmp_path: Path, path: str, old: str, new: str, element: str
) -> None:
    text = PROJECT[path]
    if element == "value":  # the second value moved below <sorted>: the group is split
        second = text.index("            <value>\n                <fullName>GEO")
        block = text[second : text.index("            <sorted>")]
        text = text.replace(block, "").replace(
            "            <sorted>false</sorted>\n",
            "            <sorted>false</sorted>\n" + block,
        )
        needle = "<fullName>GEO"
    else:
        assert old in text
        text = text.replace(old, new)
        needle = new
    report = validate_folder(write_project(tmp_path, {path: text}))
    (problem,) = [p for p in report.problems if p.severity == "error"]
    assert (problem.rule, problem.file) == ("schema", path)
    expected_line = text[: text.index(needle)].count("\n") + (0 if element == "value" else 1)
    assert problem.line == expected_line
    assert not report.ok


def test_a_project_newer_than_the_schema_gets_warnings_not_errors(tmp_path: Path) -> None:
    project = json.loads(PROJECT["sfdx-project.json"])
    project["sourceApiVersion"] = "99.0"
    newer = PROJECT[FIELD].replace("<scale>2</scale>", "<scale>2</scale><orbitalDecay/>")
    report = validate_folder(
        write_project(tmp_path, {"sfdx-project.json": json.dumps(project), FIELD: newer})
    )
    assert report.ok
    (problem,) = report.problems
    assert (problem.file, problem.severity) == (FIELD, "warning")
    assert "cannot check element <orbitalDecay>" in problem.message
    assert "--wsdl" in problem.hint


def test_sfdx_project_json_must_say_where_the_metadata_is() -> None:
    with pytest.raises(ConfigError, match=r"p\.json: no readable packageDirectories") as info:
        parse_sfdx_project(b'{"sourceApiVersion": "64.0"}', "p.json")
    assert "packageDirectories" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="sourceApiVersion 'latest'"):
        parse_sfdx_project(b'{"packageDirectories": [], "sourceApiVersion": "latest"}', "p")
    project = parse_sfdx_project(b'{"packageDirectories": [{"path": "./app/"}]}', "p")
    assert (project.package_directories, project.source_api_version, project.namespace) == (
        ("app",),
        None,
        "",
    )


def test_forceignore_follows_gitignore_rules_and_the_cli_defaults() -> None:
    ignore = ForceIgnore.parse(b"**/profiles/**\n!**/profiles/Keep.profile-meta.xml\n*.ts\n")
    assert ignore.ignores("app/main/default/profiles/Admin.profile-meta.xml")
    assert not ignore.ignores("app/main/default/profiles/Keep.profile-meta.xml")
    assert ignore.ignores("app/lwc/a/a.ts")
    assert ignore.ignores("app/main/default/classes/A.cls.dup")  # the CLI's own default
    assert not ignore.ignores("app/main/default/classes/A.cls")


def test_sftk_validate_on_a_dx_project_root(sftk: Run, tmp_path: Path) -> None:
    root = write_project(tmp_path / "orbit")
    result = sftk("validate", str(root), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["api_version"], report["schema_api_version"]) == ("64.0", "66.0")
    assert report["files_checked"] == 8 and report["ok"] is True
    broken = PROJECT[FIELD].replace("<required>false</required>", "<required>nope</required>")
    (root / FIELD).write_text(broken, encoding="utf-8")
    human = sftk("validate", str(root), cwd=tmp_path)
    assert human.returncode == 1
    assert f"{FIELD}:8: error schema CustomField Satellite__c.Inclination__c:" in human.stdout
    assert human.stdout.rstrip().endswith("1 error(s)")
