"""Issue 17, ``sftk retrieve`` through the installed command: an org's metadata into a folder,
in either format, by types or by a package.xml (wildcards listed in the org), that deploys
back as "nothing changed"; a folder holding anything else is never overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Run

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types><members>*</members><name>CustomTab</name></types>
    <types><members>Site_Visit__c-Site Visit Layout</members><name>Layout</name></types>
    <version>63.0</version>
</Package>
"""


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("--no-plugins", "init", "apiary", cwd=tmp_path).returncode == 0
    root = tmp_path / "apiary"
    assert sftk("--no-plugins", "deploy", "--org", "local", cwd=root).returncode == 0
    return root


def test_retrieve_by_types_in_both_formats(project: Path, sftk: Run) -> None:
    got = sftk(
        "--no-plugins",
        "retrieve",
        "--org",
        "local",
        "--types",
        "CustomObject,Layout,CustomTab,PermissionSet",
        "--out",
        "retrieved",
        cwd=project,
    )
    assert got.returncode == 0, got.stdout + got.stderr
    assert "components from local into retrieved (mdapi" in got.stdout
    folder = project / "retrieved"
    assert (folder / "package.xml").is_file()
    assert (folder / "objects" / "Site_Visit__c.object").is_file()
    assert (folder / "layouts" / "Site_Visit__c-Site Visit Layout.layout").is_file()
    planned = json.loads(
        sftk("--no-plugins", "plan", "retrieved", "--org", "local", "--json", cwd=project).stdout
    )
    counts = planned["counts"]
    assert counts["unchanged"] > 10 and counts["new"] == counts["changed"] == 0

    source = sftk(
        "--no-plugins",
        "retrieve",
        "--types",
        "CustomObject",
        "--out",
        "src",
        "--format",
        "source",
        "--json",
        cwd=project,
        env={"SFTK_ORG": "local"},
    )
    assert source.returncode == 0, source.stderr
    files = json.loads(source.stdout)["files"]
    assert "sfdx-project.json" in files and "manifest/package.xml" in files
    assert (
        "force-app/main/default/objects/Site_Visit__c/fields/Visit_Key__c.field-meta.xml" in files
    )
    again = sftk("--no-plugins", "retrieve", "--org", "local", "--out", "src", cwd=project)
    assert again.returncode == 0  # an earlier retrieve is replaced


def test_retrieve_what_a_manifest_names(project: Path, sftk: Run) -> None:
    (project / "package.xml").write_text(MANIFEST)
    got = sftk(
        "--no-plugins",
        "retrieve",
        "--org",
        "local",
        "--manifest",
        "package.xml",
        "--out",
        "picked",
        "--json",
        cwd=project,
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["components"] == [
        "CustomTab:Site_Visit__c",
        "Layout:Site_Visit__c-Site Visit Layout",
    ]


def test_a_folder_holding_other_files_is_refused(project: Path, sftk: Run) -> None:
    notes = project / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    for target in ("notes", "."):
        refused = sftk("--no-plugins", "retrieve", "--org", "local", "--out", target, cwd=project)
        assert refused.returncode == ExitCode.USAGE, refused.stdout + refused.stderr
        assert "replaces its --out folder whole" in refused.stderr
    assert (notes / "todo.txt").read_text() == "keep me"
    both = sftk(
        "--no-plugins",
        "retrieve",
        "--org",
        "local",
        "--types",
        "Layout",
        "--manifest",
        "sftk.toml",
        "--out",
        "x",
        cwd=project,
    )
    assert both.returncode == ExitCode.USAGE
