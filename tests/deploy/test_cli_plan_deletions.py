"""Issue 17, deletions and drift, through the installed ``sftk``: a delete of what the org no
longer has is left out of the deploy (and said so) instead of failing every later deploy,
and ``plan`` names what the org has of the project's objects that the specs dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Run

MOOD = '\n[fields.Mood__c]\ntype = "Text"\nlabel = "Mood"\nlength = 20\n'
CONTACT = '[fields.Hive_Count__c]\ntype = "Number"\nlabel = "Hives"\nprecision = 5\nscale = 0\n'


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("--no-plugins", "init", "apiary", cwd=tmp_path).returncode == 0
    return tmp_path / "apiary"


def _run(sftk: Run, project: Path, *args: str) -> dict[str, Any]:
    answer = sftk("--no-plugins", *args, "--json", cwd=project)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    data: dict[str, Any] = json.loads(answer.stdout)
    return data


def _delete(project: Path, *components: str) -> None:
    listed = ", ".join(f'"{c}"' for c in components)
    with (project / "sftk.toml").open("a") as config:
        config.write(f"\n[deletions]\ncomponents = [{listed}]\n")


def test_a_delete_of_what_the_org_lacks_is_left_out(project: Path, sftk: Run) -> None:
    spec = project / "objects" / "Site_Visit__c.toml"
    spec.write_text(spec.read_text() + MOOD)
    _run(sftk, project, "deploy", "--org", "local")
    spec.write_text(spec.read_text().replace(MOOD, ""))
    _delete(project, "CustomField:Site_Visit__c.Mood__c", "CustomField:Site_Visit__c.Never__c")

    planned = sftk("--no-plugins", "plan", "--org", "local", cwd=project)
    assert "deleted        CustomField:Site_Visit__c.Mood__c" in planned.stdout
    assert "already absent CustomField:Site_Visit__c.Never__c" in planned.stdout
    first = sftk("--no-plugins", "deploy", "--org", "local", cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "org does not have them: CustomField:Site_Visit__c.Never__c" in first.stdout

    # both are gone now: every later deploy, validation included, still goes through
    spec.write_text(spec.read_text().replace("length = 40", "length = 50"))
    validated = _run(sftk, project, "deploy", "--org", "local", "--check-only")
    assert validated["outcome"] == "succeeded"
    assert validated["left_out"] == [
        "CustomField:Site_Visit__c.Mood__c",
        "CustomField:Site_Visit__c.Never__c",
    ]
    deployed = _run(sftk, project, "deploy", "--org", "local")
    assert deployed["outcome"] == "succeeded" and len(deployed["left_out"]) == 2
    again = _run(sftk, project, "deploy", "--org", "local")
    assert again["outcome"] == "unchanged"


def test_plan_names_what_the_specs_dropped_and_deletes_nothing(project: Path, sftk: Run) -> None:
    spec = project / "objects" / "Site_Visit__c.toml"
    spec.write_text(spec.read_text() + MOOD)
    contact = project / "objects" / "Contact.toml"
    contact.write_text(CONTACT)
    _run(sftk, project, "deploy", "--org", "local")
    spec.write_text(spec.read_text().replace(MOOD, ""))
    contact.unlink()

    planned = _run(sftk, project, "plan", "--org", "local")
    assert planned["drift"] == [
        "CustomField:Contact.Hive_Count__c",
        "CustomField:Site_Visit__c.Mood__c",
    ]
    text = sftk("--no-plugins", "plan", "--org", "local", cwd=project).stdout
    assert "in the org, not in the project CustomField:Site_Visit__c.Mood__c" in text
    assert "sftk deletes none of them" in text and "[deletions]" in text

    _run(sftk, project, "deploy", "--org", "local")  # nothing to send: still nothing deleted
    assert _run(sftk, project, "plan", "--org", "local")["drift"] == planned["drift"]
