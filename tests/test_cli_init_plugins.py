"""Issue 17, a new project and the bundled plugins, through the installed ``sftk``: init keeps
the local orgs' secrets out of git and enables no plugin; a spec named like a plugin's object
is pointed at ``[plugins] enabled`` or a rename, never at the plugin's files, and a spec
without label adds fields to the plugin's object as one adds them to a standard object."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Run

CREDITS = '[fields.Credits__c]\ntype = "Number"\nlabel = "Credits"\nprecision = 3\nscale = 0\n'


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    made = sftk("init", "academy", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "none enabled: lms, scheduling" in made.stdout
    assert '[plugins] enabled = ["lms", "scheduling"]' in made.stdout
    return tmp_path / "academy"


def _enable_lms(project: Path) -> None:
    config = project / "sftk.toml"
    config.write_text(config.read_text().replace("enabled = []", 'enabled = ["lms"]'))


def test_init_keeps_secrets_out_of_git_and_enables_no_plugin(project: Path, sftk: Run) -> None:
    plugins = json.loads(sftk("plugins", "--json", cwd=project).stdout)
    assert {p["name"]: p["status"] for p in plugins if not p["builtin"]} == {
        "lms": "not enabled",
        "scheduling": "not enabled",
    }
    rendered = json.loads(sftk("render", "--json", cwd=project).stdout)
    assert "Course__c" not in " ".join(rendered["files"])  # the LMS plugin's object

    assert sftk("deploy", "--org", "rehearsal-sandbox", cwd=project).returncode == 0
    assert sftk("deploy", "--org", "local", cwd=project).returncode == 0
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=project, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert ".sftk/ledger.json" in tracked and ".gitignore" in tracked
    assert any(path.startswith(".sftk/snapshots/") for path in tracked)
    leaked = [
        path
        for path in tracked
        if path.startswith((".sftk/localorg/", ".sftk/orgs/", "build/"))
        or path == ".sftk/snapshot.key"
    ]
    assert leaked == []
    token = json.loads((project / ".sftk" / "localorg" / "connection.json").read_text())
    assert (project / ".sftk" / "snapshot.key").is_file() and token["access_token"]


def test_a_spec_named_like_a_plugins_object(project: Path, sftk: Run) -> None:
    _enable_lms(project)
    own = project / "objects" / "Course__c.toml"
    own.write_text('label = "Course"\nplural_label = "Courses"\n' + CREDITS)
    refused = sftk("render", cwd=project)
    assert refused.returncode == ExitCode.USAGE, refused.stdout + refused.stderr
    assert "objects/Course__c.toml describes Course__c" in refused.stderr
    assert "plugin lms" in refused.stderr and "[plugins] enabled" in refused.stderr
    assert "rename it" in refused.stderr and "leave label and plural_label out" in refused.stderr
    assert "site-packages" not in refused.stderr


def test_a_spec_without_label_adds_fields_to_a_plugins_object(project: Path, sftk: Run) -> None:
    _enable_lms(project)
    (project / "objects" / "Course__c.toml").write_text(CREDITS)
    rendered = sftk("render", cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    course = (project / "build" / "metadata" / "objects" / "Course__c.object").read_text()
    assert "<fullName>Credits__c</fullName>" in course  # the project's field
    assert "<fullName>Catalog_Id__c</fullName>" in course  # the plugin's
    assert "<label>Course</label>" in course
    deployed = sftk("deploy", "--org", "local", "--json", cwd=project)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    plan = json.loads(sftk("plan", "--org", "local", "--json", cwd=project).stdout)
    assert {c["component"]: c["status"] for c in plan["components"]}[
        "CustomField:Course__c.Credits__c"
    ] == "unchanged"

    (project / "objects" / "Course__c.toml").write_text('description = "mine"\n' + CREDITS)
    keyed = sftk("render", cwd=project)
    assert keyed.returncode == ExitCode.USAGE
    assert "Course__c.toml:1" in keyed.stderr and "belongs to the object itself" in keyed.stderr

    config = project / "sftk.toml"
    config.write_text(config.read_text().replace('enabled = ["lms"]', "enabled = []"))
    (project / "objects" / "Course__c.toml").write_text(CREDITS)
    alone = sftk("render", cwd=project)
    assert alone.returncode == ExitCode.USAGE
    assert "neither an enabled plugin nor a metadata folder" in alone.stderr
