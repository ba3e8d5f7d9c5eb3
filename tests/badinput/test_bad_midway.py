"""Failures once the org has a deploy, through the installed ``sftk`` against the project's
local org left running in the test (as `sftk org serve` leaves it), where faults are set
mid-command: the error says the deploy may still be running and how to pick it up, the
deploy's record says what the org last said, and a rollback that stops part-way lists the
steps that ran and those that did not, and how to carry on."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from badinput import Sftk, refused

from toolkit.deploy.policy import Outcome
from toolkit.deploy.rollback import RollbackReport, RollbackStep
from toolkit.deploy.runner import DeployReport
from toolkit.deploy.snapshots import Source, make_snapshot
from toolkit.deploy.undo_text import rollback_json, rollback_lines
from toolkit.errors import ExitCode
from toolkit.localorg import deploys, identity
from toolkit.localorg.facts import update_facts
from toolkit.localorg.org import RunningOrg
from toolkit.metadata.manifest import ComponentRef as Ref

if TYPE_CHECKING:
    from tests.conftest import ProjectOrg

DEPLOY = ("deploy", "--org", "local")
HIVE, TAB = Ref("CustomObject", "Hive__c"), Ref("CustomTab", "Hive__c")
UNSPENT = {"daily_api_requests": 15_000}


def _spend_all_but(org: RunningOrg, calls: int) -> None:
    """The org answers ``calls`` more counted calls, then refuses them as an org whose daily
    API requests are spent: an error no retry helps, so the command stops at once (a dropped
    connection is retried for half a minute)."""
    used, _ = identity.api_usage(org.org)
    update_facts(org.org.store, {"daily_api_requests": used + calls})


@pytest.fixture
def org(project: Path, project_org: ProjectOrg) -> RunningOrg:
    return project_org(project)


def _records(project: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads((project / ".sftk" / "deploys.json").read_text())[
        "local"
    ]
    return found


def _submitted(sftk: Sftk, project: Path) -> str:
    done = sftk(*DEPLOY, "--async", "--json", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    deploy_id: str = json.loads(done.stdout)["deploy_id"]
    return deploy_id


def test_a_deploy_whose_record_cannot_be_written(
    sftk: Sftk, project: Path, org: RunningOrg
) -> None:
    history = project / ".sftk" / "deploys.json"
    history.mkdir(parents=True)
    printed = refused(sftk(*DEPLOY, cwd=project), ExitCode.USAGE, ".sftk/deploys.json")
    found = re.search(
        r"deploy (0Af\w+) reached local before this: it may still be running", printed
    )
    assert found, printed
    deploy_id = found.group(1)
    assert f"`sftk deploy report {deploy_id} --org local`" in printed
    assert f"`sftk deploy resume {deploy_id} --org local`" in printed
    history.rmdir()
    _finished(org, deploy_id)  # the command stopped at once; the org may still be deploying
    reported = sftk("deploy", "report", deploy_id, "--org", "local", "--json", cwd=project)
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert json.loads(reported.stdout)["outcome"] == "succeeded"
    listed = json.loads(sftk("snapshots", "list", "--json", cwd=project).stdout)
    taken = [s["outcome"]["deploy_ids"] for s in listed["snapshots"]]
    assert taken == [[deploy_id]], listed


def test_an_org_that_fails_while_a_deploy_is_watched(
    sftk: Sftk, project: Path, org: RunningOrg
) -> None:
    deploy_id = _submitted(sftk, project)
    _finished(org, deploy_id)
    _spend_all_but(org, 1)  # the login's user info; then the deploy's status, once
    printed = refused(
        sftk("deploy", "resume", "--org", "local", cwd=project),
        ExitCode.ORG_UNREACHABLE,
        f"deploy {deploy_id} reached local before this: it may still be running",
        f"`sftk deploy resume {deploy_id} --org local`",
    )
    assert "REQUEST_LIMIT_EXCEEDED" in printed
    # what the org said before it failed is kept: the deploy had finished
    assert _records(project)[0]["status"] == "Succeeded"
    update_facts(org.org.store, UNSPENT)
    reported = sftk("deploy", "report", "--org", "local", "--json", cwd=project)
    assert json.loads(reported.stdout)["outcome"] == "succeeded"
    assert _records(project)[0]["status"] == "Succeeded"


def test_the_record_of_a_running_deploy_says_what_the_org_said(
    sftk: Sftk, project: Path, org: RunningOrg
) -> None:
    deploys.set_component_delay(org.org, 10)  # long past the report, however slow the machine
    deploy_id = _submitted(sftk, project)
    assert _records(project)[0]["id"] == deploy_id
    for _ in range(40):
        reported = sftk("deploy", "report", "--org", "local", "--json", cwd=project)
        status = json.loads(reported.stdout)["result"]["status"]
        if status == "InProgress":
            break
        time.sleep(0.1)
    assert status == "InProgress", reported.stdout
    assert reported.returncode == ExitCode.TIMED_OUT, reported.stdout + reported.stderr
    assert _records(project)[0]["status"] == "InProgress"


def test_a_rollback_that_stops_part_way(sftk: Sftk, project: Path, org: RunningOrg) -> None:
    deployed = sftk(*DEPLOY, cwd=project)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    planned = sftk("rollback", "--org", "local", "--dry-run", cwd=project).stdout
    steps = re.findall(r"^- would (.+) \(", planned, re.M)
    assert len(steps) == 3, planned
    deploys.set_component_delay(org.org, 0.3)
    done = threading.Event()
    database = org.org.store

    def break_the_org_in_the_second_step() -> None:
        """Once the rollback's second deploy is in the org, its status calls fail."""
        start_count = _deploy_count(database)
        while not done.is_set():
            if _deploy_count(database) >= start_count + 2:
                _spend_all_but(org, 0)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=break_the_org_in_the_second_step)
    watcher.start()
    try:
        stopped = sftk("rollback", "--org", "local", cwd=project)
    finally:
        done.set()
        watcher.join()
    printed = refused(
        stopped,
        ExitCode.ORG_UNREACHABLE,
        "stopped at step 2 of 3",
        f"step 1, {steps[0]}: succeeded",
        f"step 2, {steps[1]}: stopped by the error above",
        f"step 3, {steps[2]}: not run",
        "it may still be running",
        "`sftk rollback --org local ",
    )
    snapshot = re.search(r"`sftk rollback --org local (\w+)` works out", printed)
    assert snapshot, printed
    update_facts(org.org.store, UNSPENT)
    deploys.set_component_delay(org.org, 0)
    carried_on = sftk("rollback", "--org", "local", snapshot.group(1), "--yes", cwd=project)
    assert carried_on.returncode == 0, carried_on.stdout + carried_on.stderr
    assert "verified" in carried_on.stdout


def _finished(org: RunningOrg, deploy_id: str) -> None:
    """Wait until the org has finished the deploy (each command's answer is then known)."""
    for _ in range(600):
        row = (
            org.org.store.connection()
            .execute("SELECT done FROM md_deploys WHERE id = ?", (deploy_id,))
            .fetchone()
        )
        if row is not None and row["done"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"deploy {deploy_id} did not finish")


def _deploy_count(store: Any) -> int:
    row = store.connection().execute("SELECT COUNT(*) AS n FROM md_deploys").fetchone()
    return int(row["n"])


def test_a_failed_rollback_says_how_to_carry_on() -> None:
    """A step the org refused: the report lists each step's end and how to carry on."""
    snapshot = make_snapshot(
        kind="deploy",
        source=Source("uat", None, None, "sandbox"),
        api_version="63.0",
        created_at="2026-12-01T10:00:00Z",
        package_hash=None,
        refs={HIVE: "deploy", TAB: "deploy"},
        before={},
        package_bodies={},
        zips=[],
    )
    ran = DeployReport("0Af1", "uat", Outcome.SUCCEEDED, False)
    refused_step = DeployReport(
        "0Af2", "uat", Outcome.FAILED, False, note="INVALID_CROSS_REFERENCE"
    )
    report = RollbackReport(
        snapshot,
        None,
        (
            RollbackStep("delete new tabs", deletes=(TAB,), report=ran),
            RollbackStep("delete new objects", deletes=(HIVE,), report=refused_step),
            RollbackStep("delete what is left", deletes=(HIVE,)),
        ),
        (),
        (),
    )
    lines = rollback_lines(report)
    assert lines[0] == f"rollback to snapshot {snapshot.short_id} FAILED"
    assert "- delete new tabs (1 deleted): succeeded" in lines
    assert "- delete new objects (1 deleted): failed" in lines
    assert "- delete what is left (1 deleted): not run" in lines
    assert lines[-1].startswith(
        f"to carry on: fix what failed, then `sftk rollback --org uat {snapshot.short_id}`"
    )
    assert rollback_json(report)["next"] == lines[-1].removeprefix("to carry on: ")


@pytest.mark.parametrize("command", ["report", "resume", "cancel"])
def test_a_deploy_id_the_org_does_not_know(
    sftk: Sftk, project: Path, org: RunningOrg, command: str
) -> None:
    printed = refused(
        sftk("deploy", command, "0AfNOSUCHDEPLOY", "--org", "local", cwd=project),
        ExitCode.USAGE,
        "knows no deploy 0AfNOSUCHDEPLOY",
    )
    assert "may still be running" not in printed
