"""Issue 6's acceptance through the installed ``sftk`` on a new project, as a new user tries
it: plan, deploy with a snapshot, the no-op deploy, rollback verified and undone, a tampered
snapshot refused, backups, and production refused until a sandbox took the package, then
promoted in one command. The orgs are sftk's local orgs, one per profile."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Run

CONTACT = """[fields.Hive_Count__c]
type = "Number"
label = "Hive Count"
precision = 5
scale = 0

[layouts."Contact Layout"]
[[layouts."Contact Layout".sections]]
label = "Contact Information"
columns = [["LastName", "FirstName"], ["Hive_Count__c"]]
"""


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("init", "apiary", cwd=tmp_path).returncode == 0
    root = tmp_path / "apiary"
    (root / "objects" / "Contact.toml").write_text(CONTACT)
    return root


def _json(answer: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data = json.loads(answer.stdout)
    assert isinstance(data, dict)
    return data


def test_deploy_plan_rollback_and_undo_the_rollback(project: Path, sftk: Run) -> None:
    planned = sftk("plan", "--org", "local", cwd=project)
    assert planned.returncode == 0, planned.stderr
    assert "changed        Layout:Contact-Contact Layout" in planned.stdout
    assert "new            CustomField:Contact.Hive_Count__c" in planned.stdout

    deployed = sftk("deploy", "--org", "local", "--json", cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    body = _json(deployed)
    assert body["outcome"] == "succeeded" and isinstance(body["snapshot"], str)
    changes = body["changes"]
    assert isinstance(changes, dict) and changes["changed"] == 1 and changes["new"] > 10

    again = sftk("deploy", "--org", "local", cwd=project)
    assert again.returncode == 0 and "nothing to deploy" in again.stdout
    diff = sftk("plan", "--org", "local", "--json", "--diff", cwd=project)
    assert _json(diff)["counts"] == {
        "already absent": 0,
        "changed": 0,
        "deleted": 0,
        "new": 0,
        "unchanged": changes["new"] + changes["changed"],
    }

    listed = _json(sftk("snapshots", "list", "--org", "local", "--json", cwd=project))
    (entry,) = listed["snapshots"]
    assert entry["id"] == body["snapshot"] and entry["outcome"]["outcome"] == "succeeded"
    shown = sftk("snapshots", "show", str(body["snapshot"])[:8], cwd=project)
    assert shown.returncode == 0
    assert "deploy CustomField:Contact.Hive_Count__c: new" in shown.stdout

    undone = sftk("rollback", "--org", "local", "--json", cwd=project)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    report = _json(undone)
    assert report["verified"] is True and report["mismatches"] == []
    after = _json(sftk("plan", "--org", "local", "--json", cwd=project))
    assert after["counts"]["unchanged"] == 0 and after["counts"]["changed"] == 1

    own = str(report["rollback_snapshot"])
    redone = sftk("rollback", "--org", "local", own[:12], cwd=project)
    assert redone.returncode == 0, redone.stdout + redone.stderr
    assert "verified: the org matches the snapshot" in redone.stdout
    final = _json(sftk("plan", "--org", "local", "--json", cwd=project))
    assert final["counts"]["new"] == 0 and final["counts"]["changed"] == 0


def test_a_tampered_snapshot_is_refused(project: Path, sftk: Run) -> None:
    deployed = _json(sftk("deploy", "--org", "local", "--json", cwd=project))
    manifest = project / ".sftk" / "snapshots" / f"{deployed['snapshot']}.json"
    manifest.write_text(manifest.read_text().replace('"existed": false', '"existed": true', 1))
    refused = sftk("rollback", "--org", "local", str(deployed["snapshot"]), cwd=project)
    assert refused.returncode == ExitCode.SNAPSHOT_INVALID
    assert "does not match its signature" in refused.stderr and "hint:" in refused.stderr
    assert "Traceback" not in refused.stderr
    listed = sftk("snapshots", "list", cwd=project)
    assert listed.returncode == 0 and "fails its integrity check" in listed.stderr


def test_production_needs_a_sandbox_first_then_promote(project: Path, sftk: Run) -> None:
    refused = sftk("deploy", "--org", "rehearsal-prod", cwd=project)
    assert refused.returncode == ExitCode.NOT_PROVEN, refused.stdout + refused.stderr
    assert "never deployed successfully" in refused.stderr and "sftk promote" in refused.stderr
    not_yet = sftk("promote", "--from", "rehearsal-sandbox", "--to", "rehearsal-prod", cwd=project)
    assert not_yet.returncode == ExitCode.NOT_PROVEN

    assert sftk("deploy", "--org", "rehearsal-sandbox", cwd=project).returncode == 0
    promoted = sftk(
        "promote", "--from", "rehearsal-sandbox", "--to", "rehearsal-prod", "--json", cwd=project
    )
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    body = _json(promoted)
    validation, deploy = body["validation"], body["deploy"]
    assert isinstance(validation, dict) and isinstance(deploy, dict)
    assert validation["check_only"] is True and validation["outcome"] == "succeeded"
    assert deploy["outcome"] == "succeeded" and deploy["snapshot"]

    ledger = _json(sftk("ledger", "--json", cwd=project))["entries"]
    assert [(e["org"], e["action"]) for e in ledger] == [
        ("rehearsal-sandbox", "deploy"),
        ("rehearsal-prod", "validate"),
        ("rehearsal-prod", "quick"),
    ]
    text = sftk("ledger", cwd=project).stdout
    assert "quick    rehearsal-prod (production)" in text


def test_a_backup_of_the_org(project: Path, sftk: Run) -> None:
    made = sftk("backup", "--org", "local", "--types", "Layout,CustomObject", cwd=project)
    assert made.returncode == 0, made.stderr
    assert "backup" in made.stdout and "components" in made.stdout
    bad = sftk("backup", "--org", "local", "--types", "Layouts", cwd=project)
    assert bad.returncode == ExitCode.USAGE and "unknown metadata type Layouts" in bad.stderr
