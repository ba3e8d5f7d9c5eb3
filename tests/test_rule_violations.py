"""Acceptance: a project with one violation of each rule reports each, and exits 1.

Most violations are written as specs; the few a spec cannot express (the loader insists on them)
come from a hand-written metadata folder the project carries; the package.xml rules are checked
on a folder, since sftk generates a project's package.xml itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.metadata.rules import RULES

if TYPE_CHECKING:
    from conftest import Run  # the shared fixture's type, for readers and editors

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

SPECS = {
    "Course__c.toml": """
label = "Course"
plural_label = "Courses"
[fields.Bad_Name___c]
type = "Text"
length = 300
[fields.Price__c]
type = "Number"
precision = 20
scale = 2
[fields.Start__c]
type = "Date"
external_id = true
[fields.Level__c]
type = "Picklist"
values = ["Easy", "easy"]
[fields.Code__c]
type = "Text"
required = true
[layouts."Course Layout"]
[[layouts."Course Layout".sections]]
label = "Info"
columns = [["Name", "Missing__c"]]
[access.Ops]
object = ["read"]
edit = ["Code__c", "Ghost__c"]
""",
    "A_Very_Long_Label_Object__c.toml": """
label = "An object label that is far longer than forty characters"
plural_label = "Long ones"
""",
    "Junction__c.toml": """
label = "Junction"
plural_label = "Junctions"
[fields.One__c]
type = "MasterDetail"
reference_to = "Course__c"
relationship_name = "Ones"
[fields.Two__c]
type = "MasterDetail"
reference_to = "Course__c"
relationship_name = "Twos"
[fields.Three__c]
type = "MasterDetail"
reference_to = "Course__c"
relationship_name = "Threes"
""",
    "Session__c.toml": """
label = "Session"
plural_label = "Sessions"
[fields.Course__c]
type = "Lookup"
reference_to = "Course__c"
relationship_name = "Ones"
[fields.Tutor__c]
type = "Lookup"
reference_to = "Cours__c"
relationship_name = "Tutors"
""",
    "Enrollment__c.toml": """
label = "Enrollment"
plural_label = "Enrollments"
[fields.Hours__c]
type = "Number"
precision = 5
scale = 1
[fields.Status__c]
type = "Picklist"
values = ["Open", "Done"]
[fields.Stage__c]
type = "Picklist"
values = ["A"]
controlling_field = "Hours__c"
value_settings = { A = ["1"] }
[fields.Delivery__c]
type = "Picklist"
global_value_set = "Nowhere"
[fields.Doubled__c]
type = "Formula"
returns = "Number"
formula = "Hourz__c * 2"
[fields.Reviews__c]
type = "Summary"
summary_operation = "count"
summary_foreign_key = "Review__c.Enrollment__c"
[record_types.Online]
label = "Online"
[record_types.Online.picklist_values]
Status__c = ["Open", "Lost"]
[list_views.All]
label = "All"
columns = ["NAME", "Ghost__c"]
""",
    "Review__c.toml": """
label = "Review"
plural_label = "Reviews"
[fields.Enrollment__c]
type = "Lookup"
reference_to = "Enrollment__c"
relationship_name = "Reviews"
""",
}

LEGACY = {
    "objects/Legacy__c.object": f"""{HEAD}<CustomObject {NS}>
    <deploymentStatus>Deployed</deploymentStatus>
    <fields>
        <fullName>Nickname</fullName>
        <label>Nickname</label>
        <length>20</length>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Notes__c</fullName>
        <label>Notes</label>
        <length>32768</length>
        <type>LongTextArea</type>
    </fields>
    <fields>
        <fullName>Owner_Ref__c</fullName>
        <label>Owner Ref</label>
        <referenceTo>Contact</referenceTo>
        <type>Lookup</type>
    </fields>
    <fields>
        <fullName>Stage__c</fullName>
        <label>Stage</label>
        <type>Picklist</type>
        <valueSet>
            <valueSetDefinition>
                <sorted>false</sorted>
                <value>
                    <fullName>One</fullName>
                    <default>true</default>
                    <label>One</label>
                </value>
                <value>
                    <fullName>Two</fullName>
                    <default>true</default>
                    <label>Two</label>
                </value>
            </valueSetDefinition>
        </valueSet>
    </fields>
    <label>Legacy</label>
    <pluralLabel>Legacies</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
""",
    "layouts/Nothing__c-Ghost Layout.layout": f"""{HEAD}<Layout {NS}>
    <layoutSections>
        <label>Info</label>
        <layoutColumns/>
        <style>OneColumn</style>
    </layoutSections>
</Layout>
""",
    "tabs/Ghost__c.tab": f"""{HEAD}<CustomTab {NS}>
    <customObject>true</customObject>
    <motif>Custom20: Airplane</motif>
</CustomTab>
""",
}

PROJECT_RULES = set(RULES) - {
    "manifest-not-listed",
    "manifest-no-file",
    "manifest-version",
    "package-limits",
}


def make_project(root: Path) -> None:
    (root / "objects").mkdir(parents=True)
    (root / "sftk.toml").write_text('[project]\nmetadata_dirs = ["legacy"]\n')
    for name, text in SPECS.items():
        (root / "objects" / name).write_text(text.lstrip())
    for path, text in LEGACY.items():
        target = root / "legacy" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_every_project_rule_is_reported_with_file_and_component(sftk: Run, tmp_path: Path) -> None:
    make_project(tmp_path)
    result = sftk("--no-plugins", "validate", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    problems = report["problems"]
    by_rule: dict[str, list[dict[str, object]]] = {}
    for problem in problems:
        by_rule.setdefault(str(problem["rule"]), []).append(problem)
    assert set(by_rule) >= PROJECT_RULES, sorted(PROJECT_RULES - set(by_rule))
    assert "schema" not in by_rule, by_rule.get("schema")
    for problem in problems:
        assert problem["file"] and problem["component"] and problem["hint"], problem
    clashes = by_rule["relationship-name-clash"]
    assert clashes and all("Ones" in str(c["message"]) for c in clashes)
    [length] = [p for p in by_rule["field-length"] if "Bad_Name___c" in str(p["component"])]
    assert length["file"] == "objects/Course__c.object"
    assert length["origin"] == "objects/Course__c.toml"
    [parts] = by_rule["custom-object-parts"]
    assert parts["origin"] == "legacy/objects/Legacy__c.object"
    [target] = by_rule["relationship-target"]
    assert target["severity"] == "warning"
    assert "Cours__c" in str(target["message"]) and "Course__c" in str(target["hint"])


def test_human_output_names_rule_file_and_component(sftk: Run, tmp_path: Path) -> None:
    make_project(tmp_path)
    result = sftk("--no-plugins", "validate", cwd=tmp_path)
    assert result.returncode == 1
    assert "objects/Course__c.object:" in result.stdout
    assert "error field-length CustomField Course__c.Bad_Name___c" in result.stdout
    assert "(from objects/Course__c.toml)" in result.stdout


def write_folder(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_manifest_rules_on_a_folder(sftk: Run, tmp_path: Path) -> None:
    tab = LEGACY["tabs/Ghost__c.tab"]
    package = (
        f"{HEAD}<Package {NS}>\n    <types>\n        <members>Listed__c</members>\n"
        "        <name>CustomTab</name>\n    </types>\n    <version>58.0</version>\n</Package>\n"
    )
    write_folder(
        tmp_path / "pkg",
        {
            "package.xml": package,
            "tabs/Ghost__c.tab": tab,
            "objects/Ghost__c.object": LEGACY["objects/Legacy__c.object"],
        },
    )
    result = sftk("validate", "pkg", "--api-version", "63.0", "--json", cwd=tmp_path)
    assert result.returncode == 1
    rules = {p["rule"] for p in json.loads(result.stdout)["problems"]}
    assert {"manifest-not-listed", "manifest-no-file", "manifest-version"} <= rules


def test_package_limits_on_a_folder(sftk: Run, tmp_path: Path) -> None:
    tab = LEGACY["tabs/Ghost__c.tab"]
    folder = tmp_path / "big" / "tabs"
    folder.mkdir(parents=True)
    for index in range(10_001):
        (folder / f"T{index:05d}__c.tab").write_text(tab)
    result = sftk("validate", "big", "--json", cwd=tmp_path)
    assert result.returncode == 1
    limits = [p for p in json.loads(result.stdout)["problems"] if p["rule"] == "package-limits"]
    assert limits and "10,000" in limits[0]["message"] + limits[0]["hint"]
