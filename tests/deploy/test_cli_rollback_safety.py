"""Issue 17, rollbacks that cannot surprise, through the installed ``sftk``: a dry run, data
counted before it is deleted (refused without --delete-data, asked on a terminal), later
deploys named before an older snapshot undoes them (--yes), a plain rollback that picks the
latest deploy still in effect and stores no snapshot of a no-op, pruning, damaged zips
reported, a forged snapshot refused, one ledger row per rollback."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from toolkit.errors import ExitCode
from toolkit.localorg.org import start

if TYPE_CHECKING:
    from tests.conftest import Run

HIVE = """label = "Hive"
plural_label = "Hives"

[fields.Visit__c]
type = "Lookup"
label = "Visit"
reference_to = "Site_Visit__c"
relationship_name = "Hives"
"""
CONTACT = '[fields.Hive_Count__c]\ntype = "Number"\nlabel = "Hives"\nprecision = 5\nscale = 0\n'


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("--no-plugins", "init", "apiary", cwd=tmp_path).returncode == 0
    return tmp_path / "apiary"


def _sftk(sftk: Run, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return sftk("--no-plugins", *args, cwd=project)


def _json(sftk: Run, project: Path, *args: str, code: int = 0) -> dict[str, Any]:
    answer = _sftk(sftk, project, *args, "--json")
    assert answer.returncode == code, answer.stdout + answer.stderr
    data: dict[str, Any] = json.loads(answer.stdout)
    return data


def _snapshot_files(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".sftk" / "snapshots").glob("*.json"))


def _insert(project: Path, sobject: str, record: dict[str, Any]) -> None:
    """A record in the project's local org, as a user or a sync would write one."""
    running = start(project / ".sftk" / "localorg")
    try:
        answer = requests.post(
            f"{running.instance_url}/services/data/v66.0/sobjects/{sobject}",
            json=record,
            headers={"Authorization": f"Bearer {running.access_token}"},
            verify=running.ca_bundle,
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
    finally:
        running.stop()


def test_a_forged_snapshot_is_refused(project: Path, sftk: Run) -> None:
    deployed = _json(sftk, project, "deploy", "--org", "local")
    folder = project / ".sftk" / "snapshots"
    original = folder / f"{deployed['snapshot']}.json"
    manifest = json.loads(original.read_text())
    for component in manifest["components"]:
        component["existed"] = True  # as if nothing were new: the rollback would delete nothing
    forged = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    renamed = hashlib.sha256(forged).hexdigest()
    original.unlink()
    (folder / f"{renamed}.json").write_bytes(forged)

    refused = _sftk(sftk, project, "rollback", "--org", "local", renamed[:12])
    assert refused.returncode == ExitCode.SNAPSHOT_INVALID, refused.stdout + refused.stderr
    assert "does not match its signature" in refused.stderr
    plain = _sftk(sftk, project, "rollback", "--org", "local")
    assert plain.returncode == ExitCode.SNAPSHOT_INVALID
    listed = _sftk(sftk, project, "snapshots", "list")
    assert f"snapshot {renamed[:12]} fails its integrity check" in listed.stderr


def test_a_plain_rollback_undoes_the_latest_deploy_in_effect(project: Path, sftk: Run) -> None:
    first = _json(sftk, project, "deploy", "--org", "local")
    spec = project / "objects" / "Site_Visit__c.toml"
    spec.write_text(spec.read_text().replace("length = 40", "length = 60"))
    second = _json(sftk, project, "deploy", "--org", "local")
    broken = project / "broken" / "objects"
    broken.mkdir(parents=True)
    (broken / "Swarm__c.object").write_text(
        '<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<label>Swarm</label><colour>gold</colour></CustomObject>"
    )
    assert _sftk(sftk, project, "deploy", "broken", "--org", "local").returncode == 3

    undone = _json(sftk, project, "rollback", "--org", "local")  # not the failed deploy
    assert undone["snapshot"] == second["snapshot"] and undone["verified"] is True
    kept = _snapshot_files(project)
    again = _json(sftk, project, "rollback", "--org", "local", str(second["snapshot"])[:12])
    assert again["steps"] == [] and again["rollback_snapshot"] is None  # nothing to undo
    assert _snapshot_files(project) == kept  # and no snapshot of that no-op

    older = _json(sftk, project, "rollback", "--org", "local")  # the next deploy back
    assert older["snapshot"] == first["snapshot"] and older["verified"] is True
    nothing = _sftk(sftk, project, "rollback", "--org", "local")
    assert nothing.returncode == ExitCode.USAGE and "no deploy to local is left" in nothing.stderr

    ledger = _json(sftk, project, "ledger")["entries"]
    assert [e["action"] for e in ledger] == ["deploy", "deploy", "rollback", "rollback"]
    assert ledger[2]["snapshot_id"] == second["snapshot"]


def test_a_dry_run_and_data_counted_before_it_is_deleted(project: Path, sftk: Run) -> None:
    (project / "objects" / "Contact.toml").write_text(CONTACT)
    deployed = _json(sftk, project, "deploy", "--org", "local")
    _insert(project, "Site_Visit__c", {"Visit_Date__c": "2026-12-01"})
    _insert(project, "Contact", {"LastName": "Apis", "Hive_Count__c": 3})
    _insert(project, "Contact", {"LastName": "Bombus"})
    kept = _snapshot_files(project)

    dry = _sftk(sftk, project, "rollback", "--org", "local", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry run: nothing was changed" in dry.stdout
    assert "- would delete new objects (1 deleted)" in dry.stdout
    assert "    delete  CustomObject:Site_Visit__c" in dry.stdout
    assert "data: CustomObject:Site_Visit__c: 1 record" in dry.stdout
    assert "data: CustomField:Contact.Hive_Count__c: 1 record with a value" in dry.stdout

    refused = _sftk(sftk, project, "rollback", "--org", "local")
    assert refused.returncode == ExitCode.USAGE, refused.stdout + refused.stderr
    assert "nothing was changed" in refused.stderr and "--delete-data" in refused.stderr
    assert "CustomObject:Site_Visit__c: 1 record" in refused.stderr
    assert _snapshot_files(project) == kept
    assert _json(sftk, project, "plan", "--org", "local")["counts"]["new"] == 0

    done = _json(sftk, project, "rollback", "--org", "local", "--delete-data")
    assert done["verified"] is True and done["snapshot"] == deployed["snapshot"]
    counted = {r["component"]: r["records"] for r in done["records_at_risk"]}
    assert counted["CustomField:Contact.Hive_Count__c"] == 1
    assert counted["CustomObject:Site_Visit__c"] == 1


def test_an_older_snapshot_names_the_later_deploys_it_undoes(project: Path, sftk: Run) -> None:
    first = _json(sftk, project, "deploy", "--org", "local")
    (project / "objects" / "Contact.toml").write_text(CONTACT)
    second = _json(sftk, project, "deploy", "--org", "local")
    old = str(first["snapshot"])[:12]

    refused = _sftk(sftk, project, "rollback", "--org", "local", old)
    assert refused.returncode == ExitCode.USAGE, refused.stdout + refused.stderr
    assert "would also undo 1 later deploy(s)" in refused.stderr and "--yes" in refused.stderr
    assert f"snapshot {str(second['snapshot'])[:12]}" in refused.stderr

    done = _json(sftk, project, "rollback", "--org", "local", old, "--yes")
    assert done["verified"] is True
    assert [s["snapshot"] for s in done["undoes_too"]] == [second["snapshot"]]
    assert _sftk(sftk, project, "rollback", "--org", "local").returncode == ExitCode.USAGE


def _on_a_terminal(exe: list[str], project: Path, args: list[str], answer: str) -> tuple[int, str]:
    """Run sftk with a pseudo-terminal as stdin and stderr, answer its question, return the
    exit code and what it showed."""
    main, other = pty.openpty()
    process = subprocess.Popen(
        [*exe, *args],
        cwd=project,
        stdin=other,
        stdout=subprocess.PIPE,
        stderr=other,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(other)
    shown = b""
    deadline = time.monotonic() + 120
    answered = False
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                shown += os.read(main, 4096)
            except OSError:
                break
        if not answered and b"Roll back anyway?" in shown:
            os.write(main, answer.encode() + b"\n")
            answered = True
    process.wait(timeout=120)
    assert process.stdout is not None
    process.stdout.read()
    os.close(main)
    return process.returncode, shown.decode(errors="replace")


def test_a_person_at_a_terminal_is_asked(project: Path, sftk: Run, sftk_exe: list[str]) -> None:
    _json(sftk, project, "deploy", "--org", "local")
    _insert(project, "Site_Visit__c", {"Visit_Date__c": "2026-12-01"})
    args = ["--no-plugins", "rollback", "--org", "local"]
    code, shown = _on_a_terminal(sftk_exe, project, args, "n")
    assert code == ExitCode.USAGE, shown
    assert "CustomObject:Site_Visit__c: 1 record would be deleted" in shown
    code, shown = _on_a_terminal(sftk_exe, project, args, "y")
    assert code == 0, shown


def test_steps_are_named_apart_and_one_rollback_is_one_ledger_row(project: Path, sftk: Run) -> None:
    (project / "objects" / "Hive__c.toml").write_text(HIVE)
    _json(sftk, project, "deploy", "--org", "local")
    undone = _sftk(sftk, project, "rollback", "--org", "local")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    steps = [line for line in undone.stdout.splitlines() if line.startswith("- ")]
    assert len(steps) == len(set(steps))
    assert "- delete new objects that no other new object looks up (1 deleted)" in steps[-2]
    assert "- delete new objects that the objects deleted before looked up (1 deleted)" in steps[-1]
    ledger = _json(sftk, project, "ledger")["entries"]
    assert [e["action"] for e in ledger] == ["deploy", "rollback"]


def test_pruning_and_damaged_zips(project: Path, sftk: Run) -> None:
    _json(sftk, project, "deploy", "--org", "local")
    _json(sftk, project, "rollback", "--org", "local")
    _json(sftk, project, "deploy", "--org", "local")
    assert len(_snapshot_files(project)) == 3
    pruned = _json(sftk, project, "snapshots", "prune", "--keep", "1")
    assert len(pruned["removed"]) == 2
    (remaining,) = _json(sftk, project, "snapshots", "list")["snapshots"]
    assert remaining["kind"] == "deploy"
    for blob in (project / ".sftk" / "snapshots" / "blobs").iterdir():
        blob.unlink()
    listed = _sftk(sftk, project, "snapshots", "list")
    assert f"snapshot {str(remaining['id'])[:12]} fails its integrity check" in listed.stderr
    assert "is missing" in listed.stderr
