"""Issue 21's acceptance through the installed ``sftk``: the consultant's course catalogue
(a course with a roll-up count of its enrollments and a formula price per hour, a validation
rule, two record types, list views, an app with its tabs), written from docs/specs.md alone,
validates, deploys to the local org, plans clean after the deploy, and rolls back. And every
example of docs/specs.md loads as the spec it shows."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.config import load_config
from toolkit.metadata.spec_loader import load_object_text
from toolkit.tomlread import Document

if TYPE_CHECKING:
    from tests.conftest import Catalogue, Run

REPO = Path(__file__).resolve().parents[2]


def _json(answer: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert answer.stdout, answer.stderr
    data = json.loads(answer.stdout)
    assert isinstance(data, dict)
    return data


def test_the_catalogue_validates_deploys_plans_clean_and_rolls_back(
    tmp_path: Path, docs_catalogue: Catalogue, sftk: Run
) -> None:
    project = docs_catalogue(tmp_path)
    validated = _json(sftk("validate", "--json", cwd=project))
    assert validated["ok"] is True
    assert [p for p in validated["problems"] if p["severity"] == "error"] == []

    deployed = sftk("deploy", "--org", "local", "--json", cwd=project)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    body = _json(deployed)
    assert body["outcome"] == "succeeded"
    created = body["changes"]["new"]
    assert created >= 30

    plan = _json(sftk("plan", "--org", "local", "--json", cwd=project))
    assert plan["counts"]["unchanged"] == created
    assert plan["counts"]["new"] == plan["counts"]["changed"] == 0
    statuses = {c["component"]: c["status"] for c in plan["components"]}
    for component in (
        "CustomField:Course__c.Enrollment_Count__c",
        "CustomField:Course__c.Price_Per_Hour__c",
        "ValidationRule:Course__c.Price_Not_Negative",
        "RecordType:Course__c.Online",
        "RecordType:Course__c.Classroom",
        "ListView:Course__c.All_Courses",
        "CustomApplication:Learning",
    ):
        assert statuses[component] == "unchanged", component

    undone = sftk("rollback", "--org", "local", "--json", cwd=project)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert _json(undone)["verified"] is True
    after = _json(sftk("plan", "--org", "local", "--json", cwd=project))
    assert after["counts"]["new"] == created


def _examples() -> list[str]:
    text = (REPO / "docs" / "specs.md").read_text(encoding="utf-8")
    return re.findall(r"```toml\n(.*?)```", text, re.S)


def test_every_example_of_the_specs_doc_loads(tmp_path: Path) -> None:
    """A block naming its file is a whole file; one starting ``# in sftk.toml`` is a part of
    sftk.toml; any other block is a part of an object's spec."""
    examples = _examples()
    assert len(examples) >= 10
    for block in examples:
        first = block.splitlines()[0]
        if first.startswith("# file: objects/"):
            name = Path(first.removeprefix("# file: ")).stem
            load_object_text(block, first, name)
        elif first.startswith(("# file: sftk.toml", "# in sftk.toml")):
            (tmp_path / "sftk.toml").write_text(block)
            load_config(tmp_path / "sftk.toml")
        else:
            data = Document("example", block).data
            labels = "" if "label" in data else 'label = "Course"\nplural_label = "Courses"\n'
            load_object_text(labels + block, "example", "Course__c")
