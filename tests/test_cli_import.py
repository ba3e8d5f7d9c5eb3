"""``sftk import`` as a user runs it: from a source folder and from an org, what it writes into
the project (specs, hand-written files, sftk.toml), the report, the round trip through the
project's own build, and what it refuses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from toolkit.errors import ExitCode
from toolkit.metadata import meaning
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.schema import MetadataSchema
from toolkit.project import build_package, open_project

if TYPE_CHECKING:
    from tests.conftest import Catalogue, Run

EXTRA_FIELD = """<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Trend__c</fullName>
    <label>Trend</label>
    <precision>5</precision>
    <scale>0</scale>
    <trackTrending>true</trackTrending>
    <type>Number</type>
</CustomField>
"""


def _json(answer: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert answer.stdout, answer.stderr
    data = json.loads(answer.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def source(tmp_path: Path, docs_catalogue: Catalogue, sftk: Run) -> Path:
    """The course catalogue of docs/specs.md rendered as a Salesforce DX source folder, with
    one field specs cannot say (it tracks trending)."""
    project = docs_catalogue(tmp_path / "catalogue")
    rendered = sftk("render", "--format", "source", "--out", str(tmp_path / "src"), cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    fields = (
        tmp_path / "src" / "force-app" / "main" / "default" / "objects" / "Course__c" / "fields"
    )
    (fields / "Trend__c.field-meta.xml").write_text(EXTRA_FIELD)
    return tmp_path / "src"


@pytest.fixture
def fresh(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("init", "brownfield", cwd=tmp_path).returncode == 0
    root = tmp_path / "brownfield"
    for starter in (root / "objects").glob("*.toml"):
        starter.unlink()
    return root


def test_import_a_dx_project_then_build_it_back(
    source: Path, fresh: Path, sftk: Run, metadata_schema: MetadataSchema
) -> None:
    answer = sftk("import", str(source), "--json", cwd=fresh)
    assert answer.returncode == 0, answer.stderr
    report = _json(answer)
    assert report["objects"] == ["Course__c", "Enrollment__c"]
    assert report["spec_files"] == ["objects/Course__c.toml", "objects/Enrollment__c.toml"]
    assert report["kept"] == [
        {
            "component": "CustomField:Course__c.Trend__c",
            "reason": "field Trend__c: specs have no key for <trackTrending>",
        }
    ]
    assert report["kept_files"] == ["metadata/objects/Course__c/fields/Trend__c.field-meta.xml"]
    assert report["config_sections"] == [
        "[permission_sets.LMS_Manager]",
        "[global_value_sets.Delivery]",
    ]
    assert report["round_trip"] == {"differences": []}
    assert "CustomField:Course__c.Price_Per_Hour__c" in report["specced"]
    config = (fresh / "sftk.toml").read_text()
    assert 'metadata_dirs = ["metadata"]' in config and "# added by `sftk import`" in config
    spec = (fresh / "objects" / "Course__c.toml").read_text()
    assert 'formula = "IF(Hours__c > 0, Price__c / Hours__c, NULL)"' in spec

    validated = sftk("validate", cwd=fresh)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    original = meaning.bodies(
        list(build_package(open_project(source.parent / "catalogue", no_plugins=True)).files),
        metadata_schema,
    )
    built = meaning.bodies(
        list(build_package(open_project(fresh, no_plugins=True)).files), metadata_schema
    )
    for text in report["specced"]:
        ref = ComponentRef.parse(text)
        assert built[ref] == original[ref], text
    assert ComponentRef("CustomField", "Course__c.Trend__c") in built


@pytest.mark.parametrize("layout", ["mdapi", "source folder"])
def test_import_a_metadata_folder_of_either_format(
    tmp_path: Path, docs_catalogue: Catalogue, fresh: Path, sftk: Run, layout: str
) -> None:
    """A Metadata API folder (a retrieve, say) and a bare source folder (force-app/main/default
    without sfdx-project.json) give the same specs as the DX project they come from."""
    project = docs_catalogue(tmp_path / "catalogue")
    fmt = "mdapi" if layout == "mdapi" else "source"
    assert (
        sftk("render", "--format", fmt, "--out", str(tmp_path / "out"), cwd=project).returncode == 0
    )
    folder = (
        tmp_path / "out" if fmt == "mdapi" else tmp_path / "out" / "force-app" / "main" / "default"
    )
    answer = sftk("import", str(folder), "--objects", "Course__c", "--json", cwd=fresh)
    assert answer.returncode == 0, answer.stderr
    report = _json(answer)
    assert report["objects"] == ["Course__c"] and report["round_trip"] == {"differences": []}
    # the permission set grants on Enrollment__c too, which is not imported: kept whole
    assert [k["component"] for k in report["kept"]] == ["PermissionSet:LMS_Manager"]
    spec = (fresh / "objects" / "Course__c.toml").read_text()
    assert "[record_types.Online.layouts]" in spec and "[fields.Enrollment_Count__c]" in spec
    assert sftk("validate", cwd=fresh).returncode == 0


def test_an_import_never_overwrites_unless_forced(source: Path, fresh: Path, sftk: Run) -> None:
    assert sftk("import", str(source), cwd=fresh).returncode == 0
    spec = fresh / "objects" / "Course__c.toml"
    spec.write_text(spec.read_text() + "\n# my edit\n")
    config = (fresh / "sftk.toml").read_bytes()
    again = sftk("import", str(source), cwd=fresh)
    assert again.returncode == ExitCode.USAGE
    assert "the import would overwrite objects/Course__c.toml" in again.stderr
    assert "--force" in again.stderr
    assert spec.read_text().endswith("# my edit\n")
    assert (fresh / "sftk.toml").read_bytes() == config
    forced = sftk("import", str(source), "--force", cwd=fresh)
    assert forced.returncode == 0, forced.stderr
    assert not spec.read_text().endswith("# my edit\n")
    assert (fresh / "sftk.toml").read_bytes() == config  # its sections were there already


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a folder to import from, or --org"),
        (("--org", "local"), "--org needs --objects"),
        (("SOURCE", "--objects", "Cours__c"), "the source has no object Cours__c"),
        (("SOURCE", "--objects", ","), "--objects names no object"),
    ],
)
def test_what_import_refuses(
    source: Path, fresh: Path, sftk: Run, args: tuple[str, ...], message: str
) -> None:
    answer = sftk("import", *(str(source) if a == "SOURCE" else a for a in args), cwd=fresh)
    assert answer.returncode == ExitCode.USAGE, answer.stdout + answer.stderr
    assert message in answer.stderr
    assert not list((fresh / "objects").glob("*.toml"))


def test_import_from_an_org_plans_clean_against_it(
    tmp_path: Path, docs_catalogue: Catalogue, fresh: Path, sftk: Run
) -> None:
    """A consultant's project deployed to an org; a second project imports the objects from
    that org, and what it would deploy is what the org has."""
    shared = f'\n[orgs.shared]\nkind = "developer"\nauth = "local"\nstate = "{tmp_path / "org"}"\n'
    first = docs_catalogue(tmp_path / "first")
    with (first / "sftk.toml").open("a") as config:
        config.write(shared)
    deployed = sftk("deploy", "--org", "shared", cwd=first)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    with (fresh / "sftk.toml").open("a") as config:
        config.write(shared)
    answer = sftk(
        "import", "--org", "shared", "--objects", "Course__c,Enrollment__c", "--json", cwd=fresh
    )
    assert answer.returncode == 0, answer.stderr
    report = _json(answer)
    assert report["source"] == "org shared" and report["kept"] == []
    assert report["round_trip"] == {"differences": []}
    planned = sftk("plan", "--org", "shared", "--json", cwd=fresh)
    plan = _json(planned)
    assert "counts" in plan, planned.stdout + planned.stderr
    # all but the permission set `sftk init` gives the new project is in the org as it is
    assert [c for c in plan["components"] if c["status"] != "unchanged"] == [
        {"component": "PermissionSet:Site_Visit_User", "status": "new"}
    ]
    assert plan["counts"]["unchanged"] > 30


def test_an_org_holding_what_was_imported_plans_clean(source: Path, fresh: Path, sftk: Run) -> None:
    """Files as a real org writes them (every default spelled out: ``<externalId>false``, an
    action override of type Default) are in the org; the project imported from them plans
    clean against it, since deploying it would change nothing there."""
    objects = source / "force-app" / "main" / "default" / "objects" / "Course__c"
    price = objects / "fields" / "Price__c.field-meta.xml"
    price.write_text(
        price.read_text().replace(
            "<label>",
            "<externalId>false</externalId>\n    <trackFeedHistory>false"
            "</trackFeedHistory>\n    <label>",
        )
    )
    course = objects / "Course__c.object-meta.xml"
    course.write_text(
        course.read_text().replace(
            "<label>",
            "<actionOverrides>\n        <actionName>View</actionName>\n        <type>Default"
            "</type>\n    </actionOverrides>\n    <label>",
            1,
        )
    )
    deployed = sftk("deploy", str(source), "--org", "local", cwd=fresh)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    imported = sftk("import", str(source), cwd=fresh)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    planned = sftk("plan", "--org", "local", "--json", cwd=fresh)
    plan = _json(planned)
    assert [c for c in plan["components"] if c["status"] != "unchanged"] == [
        {"component": "PermissionSet:Site_Visit_User", "status": "new"}
    ]
