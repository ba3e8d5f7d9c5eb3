"""``sftk sync`` and its companions through the installed command, as a user runs them: exit
codes, JSON, and runs killed with SIGKILL at the worst moments, then run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
from synckit import ACCOUNTS, CONTACTS, SyncOrg, SyncProject, inject

if TYPE_CHECKING:
    from synckit import Run

ROWS = 450


def model(synced: SyncProject, extra: str = "") -> None:
    synced.configure(ACCOUNTS.format(extra=""), CONTACTS.format(extra=""), extra=extra)
    synced.csv("accounts.csv", [{"id": f"A{n:03d}", "Name": f"Account {n}"} for n in range(ROWS)])
    synced.csv(
        "contacts.csv",
        [
            {"id": f"C{n:03d}", "LastName": f"L{n}", "account_id": f"A{n % ROWS:03d}"}
            for n in range(ROWS)
        ],
    )


def exactly_the_source(synced: SyncProject) -> None:
    for obj, prefix in (("Account", "A"), ("Contact", "C")):
        keys = [r["Ext_Id__c"] for r in synced.records(obj, "Ext_Id__c")]
        assert sorted(keys) == [f"{prefix}{n:03d}" for n in range(ROWS)], obj
    orphans = synced.records("Contact", "Id", "AccountId = null")
    assert orphans == []


def test_exit_codes_and_json_of_sync_runs_deadletters_and_mappings(
    sftk: Run, synced: SyncProject
) -> None:
    model(synced)
    rows = [
        {"id": "C1", "LastName": "Ok", "account_id": "A001"},
        {"id": "C2", "LastName": "Lost", "account_id": "A999"},
    ]
    synced.csv("contacts.csv", rows)
    first = sftk("sync", "--org", "test", "--json", cwd=synced.root)
    assert first.returncode == 13, first.stderr
    report = json.loads(first.stdout)
    assert list(report) == sorted(report)
    assert report["status"] == "partial" and report["totals"]["dead_lettered"] == 1
    assert report["failures"][0]["key"] == "C2" and report["failures"][0]["code"] == "INVALID_FIELD"
    listed = sftk("deadletters", "list", "--org", "test", cwd=synced.root)
    assert listed.returncode == 0 and "files.contacts C2: INVALID_FIELD" in listed.stdout
    runs = sftk("runs", cwd=synced.root)
    assert report["run_id"] in runs.stdout and "partial" in runs.stdout
    shown = sftk("runs", report["run_id"][:20], "--json", cwd=synced.root)
    assert json.loads(shown.stdout) == report
    synced.csv("contacts.csv", [rows[0], {**rows[1], "account_id": "A002"}])
    retried = sftk("deadletters", "retry", "--org", "test", cwd=synced.root)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert sftk("deadletters", "list", "--json", cwd=synced.root).stdout.strip() == "[]"
    again = sftk("sync", "--org", "test", cwd=synced.root)
    assert again.returncode == 0 and "(write calls: 0)" in again.stdout
    mappings = sftk("mappings", "show", "--org", "test", cwd=synced.root)
    assert mappings.returncode == 0, mappings.stderr
    assert "AccountId  <- account_id (parent accounts, by Ext_Id__c)" in mappings.stdout


def test_dry_run_exits_1_naming_records_and_fields(sftk: Run, synced: SyncProject) -> None:
    synced.configure(ACCOUNTS.format(extra=""))
    synced.csv("accounts.csv", [{"id": "A1", "Name": "x", "Code__c": "TOO-LONG-CODE"}])
    result = sftk("sync", "--org", "test", "--dry-run", cwd=synced.root)
    assert result.returncode == 1
    assert "data/accounts.csv:2: accounts A1: Code__c: STRING_TOO_LONG" in result.stdout
    assert synced.records("Account", "Id") == []


def test_bad_usage_and_bad_mappings_exit_2_with_the_place(sftk: Run, synced: SyncProject) -> None:
    synced.configure(ACCOUNTS.format(extra=""), extra='[mappings.files.accounts]\nNmae = "Name"\n')
    synced.csv("accounts.csv", [{"id": "A1", "Name": "x"}])
    typo = sftk("sync", "--org", "test", cwd=synced.root)
    assert typo.returncode == 2
    assert "field Nmae (mapping from sftk.toml:" in typo.stderr and "Traceback" not in typo.stderr
    assert sftk("sync", "--org", "test", "--since", "2026-01-01", cwd=synced.root).returncode == 2
    unknown = sftk("sync", "--org", "test", "--stream", "nope", cwd=synced.root)
    assert unknown.returncode == 2 and "streams: files.accounts" in unknown.stderr


def _fault_taken(org: SyncOrg) -> Callable[[], bool]:
    session = requests.Session()
    session.verify = org.running.ca_bundle
    session.trust_env = False

    def taken() -> bool:
        faults = session.get(
            f"{org.running.instance_url}/_sftk/faults",
            headers={"Authorization": f"Bearer {org.running.access_token}"},
            timeout=30,
        ).json()
        return not faults

    return taken


@pytest.mark.parametrize(
    ("route", "extra"),
    [
        ("rest.collections.upsert", ""),  # killed while a collections call is in flight
        ("bulk2.ingest.state", "[sync]\nbulk_threshold = 100\n"),  # between upload and close
        ("bulk2.ingest.get", "[sync]\nbulk_threshold = 100\n"),  # while polling the job
    ],
)
def test_a_sync_killed_at_any_point_and_run_again_leaves_exactly_the_source(
    sftk_exe: list[str], synced: SyncProject, sync_org: SyncOrg, route: str, extra: str
) -> None:
    model(synced, extra)
    if route == "rest.collections.upsert":  # the accounts land first; die in the contacts
        assert synced.sync().status == "succeeded"
        synced.csv(
            "contacts.csv",
            [
                {"id": f"C{n:03d}", "LastName": f"New {n}", "account_id": f"A{n:03d}"}
                for n in range(ROWS)
            ],
        )
        inject(sync_org.running, route=route, kind="latency", seconds=2, count=1)
    else:
        inject(sync_org.running, route=route, kind="latency", seconds=2, count=1)
    taken = _fault_taken(sync_org)
    process = subprocess.Popen(
        [*sftk_exe, "sync", "--org", "test"],
        cwd=synced.root,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not taken():
        assert process.poll() is None, "the sync ended before reaching the fault"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(2.5)  # the org finishes what it was doing, as a real org would
    again = synced.sync(wait=True)
    assert again.status == "succeeded", again.to_json()
    exactly_the_source(synced)
    if route == "rest.collections.upsert":
        names = {r["LastName"] for r in synced.records("Contact", "LastName")}
        assert names == {f"New {n}" for n in range(ROWS)}
    assert synced.sync().write_calls == 0
