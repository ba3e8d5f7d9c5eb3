"""The sync engine against a local org over HTTPS, through simple-salesforce: the files
source's parent and child streams, idempotent re-runs, dead letters, deletions, cursors,
reconcile, the API guard, faults and the sandbox-first rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from synckit import ACCOUNTS, CONTACTS, OBJECTS, SyncOrg, SyncProject, inject

from toolkit.deploy import commands
from toolkit.deploy.policy import Outcome
from toolkit.errors import NotProven, PluginChecksFailed
from toolkit.hookspecs import hookimpl
from toolkit.sync import loader
from toolkit.sync.contract import (
    Bookmark,
    CheckResult,
    FieldMapping,
    ReadRequest,
    RecordFailure,
    RunInfo,
    SourceRecord,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.dryrun import dry_run
from toolkit.sync.engine import sync
from toolkit.sync.options import SyncOptions
from toolkit.sync.report import RunReport
from toolkit.sync.state import SyncState

ACCOUNT_ROWS = [
    {"id": "A1", "Name": "Acme", "Tier__c": "Gold", "Revenue__c": "1200.50"},
    {"id": "A2", "Name": "Globex", "Tier__c": "Silver", "Revenue__c": ""},
    {"id": "A3", "Name": "Initech", "Tier__c": "", "Revenue__c": "7"},
]
UPDATED = ("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z")
CONTACT_ROWS = [
    {"id": "C1", "LastName": "Smith", "FirstName": "Ann", "account_id": "A1"},
    {"id": "C2", "LastName": "Jones", "FirstName": "Bob", "account_id": "A2"},
    {"id": "C3", "LastName": "Lee", "FirstName": "Cy", "account_id": ""},
]


def two_streams(
    project: SyncProject, accounts: str = "", contacts: str = "", extra: str = ""
) -> None:
    project.configure(ACCOUNTS.format(extra=accounts), CONTACTS.format(extra=contacts), extra=extra)


def load(project: SyncProject, accounts: list[dict[str, Any]] | None = None) -> None:
    project.csv("accounts.csv", ACCOUNT_ROWS if accounts is None else accounts)
    project.csv("contacts.csv", CONTACT_ROWS)


def counts(report: RunReport, stream: str) -> dict[str, Any]:
    found = next(s for s in report.streams if s.stream == stream)
    return found.to_json()


def test_a_first_sync_loads_parents_then_children_linked_by_external_id(
    synced: SyncProject,
) -> None:
    two_streams(synced)
    load(synced)
    report = synced.sync()
    assert report.status == "succeeded"
    assert [s.stream for s in report.streams] == ["accounts", "contacts"]
    assert report.total("written") == 6 and report.write_calls == 2
    contacts = synced.records("Contact", "Ext_Id__c, LastName, Account.Ext_Id__c")
    linked = {c["Ext_Id__c"]: (c["Account"] or {}).get("Ext_Id__c") for c in contacts}
    assert linked == {"C1": "A1", "C2": "A2", "C3": None}
    accounts = {
        a["Ext_Id__c"]: a for a in synced.records("Account", "Ext_Id__c, Tier__c, Revenue__c")
    }
    assert accounts["A1"]["Revenue__c"] == 1200.5 and accounts["A2"]["Revenue__c"] is None
    assert accounts["A3"]["Tier__c"] is None


def test_a_second_run_makes_no_write_call_and_one_changed_row_updates_one_record(
    synced: SyncProject,
) -> None:
    two_streams(synced)
    load(synced)
    synced.sync()
    stamps = {
        r["Ext_Id__c"]: r["SystemModstamp"]
        for r in synced.records("Account", "Ext_Id__c, SystemModstamp")
    }
    again = synced.sync()
    assert again.write_calls == 0 and again.total("unchanged") == 6
    assert dict(again.api_calls).keys() <= {"describe", "limits", "query"}
    after = {
        r["Ext_Id__c"]: r["SystemModstamp"]
        for r in synced.records("Account", "Ext_Id__c, SystemModstamp")
    }
    assert after == stamps
    changed = [dict(row) for row in ACCOUNT_ROWS]
    changed[1]["Name"] = "Globex Corporation"
    load(synced, changed)
    third = synced.sync()
    assert counts(third, "accounts")["written"] == 1 and counts(third, "accounts")["unchanged"] == 2
    assert third.write_calls == 1
    final = {
        r["Ext_Id__c"]: r for r in synced.records("Account", "Ext_Id__c, Name, SystemModstamp")
    }
    assert final["A2"]["Name"] == "Globex Corporation"
    assert {k for k, r in final.items() if r["SystemModstamp"] != stamps[k]} == {"A2"}


def test_bulk_api_above_the_threshold_in_few_requests_per_job(synced: SyncProject) -> None:
    two_streams(synced, extra="[sync]\nbulk_threshold = 100\n")
    accounts = [{"id": f"B{n:04d}", "Name": f"Bulk {n}", "Tier__c": "Gold"} for n in range(600)]
    synced.csv("accounts.csv", accounts)
    synced.csv(
        "contacts.csv",
        [{"id": f"K{n:04d}", "LastName": f"L{n}", "account_id": f"B{n:04d}"} for n in range(300)],
    )
    report = synced.sync(wait=True)
    assert report.status == "succeeded", report.to_json()
    assert (
        counts(report, "accounts")["method"] == "bulk"
        and counts(report, "contacts")["method"] == "bulk"
    )
    assert dict(report.api_calls)["bulk"] <= 2 * 6
    assert len(synced.records("Account", "Id")) == 600
    linked = synced.records("Contact", "Account.Ext_Id__c", "Ext_Id__c = 'K0299'")
    assert linked[0]["Account"]["Ext_Id__c"] == "B0299"
    assert synced.sync().write_calls == 0


def test_bad_records_are_dead_lettered_the_rest_land_and_retry_lands_them_once_fixed(
    synced: SyncProject,
) -> None:
    two_streams(synced)
    bad = [dict(row) for row in ACCOUNT_ROWS]
    bad[0]["Tier__c"] = "Platinum"  # not a value of the restricted picklist
    synced.csv("accounts.csv", bad)
    contacts = [
        *CONTACT_ROWS,
        {"id": "C4", "LastName": "Orphan", "FirstName": "", "account_id": "A9"},
    ]
    synced.csv("contacts.csv", contacts)
    report = synced.sync()
    assert report.status == "partial"
    codes = {f.key: f.code for f in report.failures}
    assert codes == {
        "A1": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "C4": "INVALID_FIELD",
        "C1": "INVALID_FIELD",
    }
    assert len(synced.records("Account", "Id")) == 2 and len(synced.records("Contact", "Id")) == 2
    state = SyncState.open(synced.root / ".sftk")
    letters = {d.key: d for d in state.dead_letters(None)}
    state.close()
    assert letters["A1"].payload["Tier__c"] == "Platinum" and letters["A1"].location.endswith(
        "accounts.csv:2"
    )
    unchanged = synced.sync()
    assert unchanged.write_calls == 0 and unchanged.total("dead_lettered") == 3
    synced.csv("accounts.csv", ACCOUNT_ROWS)  # fixed; C4's parent stays missing
    retried = synced.sync(retry=True)
    assert retried.mode == "retry"
    assert {f.key for f in retried.failures} == {"C4"}
    assert len(synced.records("Account", "Id")) == 3 and len(synced.records("Contact", "Id")) == 3
    assert synced.sync().write_calls == 0


def test_bulk_failures_are_dead_lettered_from_the_failed_results(synced: SyncProject) -> None:
    two_streams(synced, extra="[sync]\nbulk_threshold = 0\n")
    rows = [dict(row) for row in ACCOUNT_ROWS]
    rows[2]["Tier__c"] = "Bronze"
    load(synced, rows)
    report = synced.sync()
    assert report.status == "partial" and counts(report, "accounts")["method"] == "bulk"
    assert [(f.key, f.code) for f in report.failures if f.stream == "accounts"] == [
        ("A3", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    ]
    assert counts(report, "accounts")["written"] == 2


def test_values_that_cannot_be_written_are_dead_lettered_without_a_call(
    synced: SyncProject,
) -> None:
    synced.configure(ACCOUNTS.format(extra=""))
    rows = [
        {"id": "A1", "Name": "Acme", "Revenue__c": "lots"},
        {"id": "A2", "Name": "First", "Revenue__c": "1"},
        {"id": "A2", "Name": "Second", "Revenue__c": "2"},
        {"id": "", "Name": "Nobody", "Revenue__c": "3"},
    ]
    synced.csv("accounts.csv", rows)
    report = synced.sync()
    assert {f.code for f in report.failures} == {"MAPPING_ERROR", "DUPLICATE_KEY", "MISSING_KEY"}
    mapping = next(f for f in report.failures if f.code == "MAPPING_ERROR")
    assert mapping.key == "A1" and mapping.fields == ("Revenue__c",) and "'lots'" in mapping.message
    duplicate = next(f for f in report.failures if f.code == "DUPLICATE_KEY")
    assert duplicate.key == "A2 (duplicate, data/accounts.csv:4)"
    assert report.write_calls == 1
    assert synced.records("Account", "Name") == [{"Name": "First"}]


@pytest.mark.parametrize(
    ("on_delete", "expected"),
    [
        ('"delete"', []),
        ('{ field = "Status__c", value = "Removed" }', [("A3", "Removed")]),
        ('"ignore"', [("A3", None)]),
    ],
)
def test_rows_gone_from_the_file_follow_on_delete(
    synced: SyncProject, on_delete: str, expected: list[tuple[str, str | None]]
) -> None:
    synced.configure(ACCOUNTS.format(extra=f"on_delete = {on_delete}"))
    synced.csv("accounts.csv", ACCOUNT_ROWS)
    synced.sync()
    synced.csv("accounts.csv", ACCOUNT_ROWS[:2])
    report = synced.sync()
    left = [
        (r["Ext_Id__c"], r["Status__c"])
        for r in synced.records("Account", "Ext_Id__c, Status__c", "Ext_Id__c = 'A3'")
    ]
    assert left == expected
    assert counts(report, "accounts")["deleted"] == (0 if "ignore" in on_delete else 1)
    assert synced.sync().write_calls == 0


def test_an_empty_source_deletes_nothing(synced: SyncProject) -> None:
    synced.configure(ACCOUNTS.format(extra='on_delete = "delete"'))
    synced.csv("accounts.csv", ACCOUNT_ROWS)
    synced.sync()
    (synced.root / "data" / "accounts.csv").write_text("id,Name\n")
    report = synced.sync()
    assert len(synced.records("Account", "Id")) == 3
    assert "were not deleted" in counts(report, "accounts")["warnings"][0]


def test_a_cursor_reads_from_the_last_value_less_the_lookback(synced: SyncProject) -> None:
    synced.configure(
        ACCOUNTS.format(extra='cursor = "updated_at"'), extra='[sync]\nlookback = "25h"\n'
    )
    rows = [{**row, "updated_at": at} for row, at in zip(ACCOUNT_ROWS, UPDATED, strict=True)]
    synced.csv("accounts.csv", rows)
    first = synced.sync()
    assert counts(first, "accounts")["written"] == 3
    second = synced.sync()
    assert counts(second, "accounts")["before_cursor"] == 1  # A1: more than 25 h before A3
    assert counts(second, "accounts")["unchanged"] == 2
    state = SyncState.open(synced.root / ".sftk")
    (stream,) = state.streams()
    assert stream.cursor == "2026-03-03T10:00:00.000000Z"
    state.keep_position(stream, "2100-01-01T00:00:00Z", None)
    state.close()
    future = synced.sync()
    assert counts(future, "accounts")["before_cursor"] == 3 and future.write_calls == 0


def test_reconcile_sends_again_what_was_edited_in_salesforce(synced: SyncProject) -> None:
    two_streams(synced)
    load(synced)
    synced.sync()
    (a2,) = synced.records("Account", "Id", "Ext_Id__c = 'A2'")
    synced.sf.Account.update(a2["Id"], {"Name": "Edited by hand"})
    assert synced.sync().write_calls == 0  # the hashes cannot know
    report = synced.sync(reconcile=True)
    assert counts(report, "accounts")["reconciled"] == 1 and report.write_calls == 1
    assert synced.records("Account", "Name", "Ext_Id__c = 'A2'") == [{"Name": "Globex"}]


def test_full_refresh_sends_everything(synced: SyncProject) -> None:
    two_streams(synced)
    load(synced)
    synced.sync()
    report = synced.sync(full_refresh=True)
    assert report.total("written") == 6 and report.mode == "full_refresh"


def test_transient_faults_are_retried_and_nothing_is_lost(
    synced: SyncProject, sync_org: SyncOrg
) -> None:
    two_streams(synced)
    load(synced)
    inject(sync_org.running, route="rest.collections.upsert", kind="http_5xx", count=2, status=503)
    inject(sync_org.running, route="rest.collections.upsert", kind="UNABLE_TO_LOCK_ROW", count=1)
    inject(sync_org.running, route="rest.collections.upsert", kind="drop", count=1)
    inject(
        sync_org.running, route="rest.collections.upsert", kind="REQUEST_LIMIT_EXCEEDED", count=1
    )
    report = synced.sync()
    assert report.status == "succeeded" and report.total("written") == 6
    assert dict(report.api_calls)["collections"] >= 6  # 2 calls + the faulted ones seen
    assert len(synced.records("Contact", "Id")) == 3


def test_faults_during_a_bulk_job_are_retried(synced: SyncProject, sync_org: SyncOrg) -> None:
    two_streams(synced, extra="[sync]\nbulk_threshold = 0\n")
    load(synced)
    inject(sync_org.running, route="bulk2.ingest.get", kind="http_5xx", count=2, status=503)
    inject(sync_org.running, route="bulk2.ingest.upload", kind="drop", count=1)
    report = synced.sync()
    assert report.status == "succeeded" and report.total("written") == 6


def _daily_allowance(synced: SyncProject, sync_org: SyncOrg, left: int) -> None:
    used = synced.sf.limits()["DailyApiRequests"]
    total = used["Max"] - used["Remaining"] + left
    answer = synced.sf.session.patch(
        f"{sync_org.running.instance_url}/_sftk/org",
        json={"daily_api_requests": total},
        headers={"Authorization": f"Bearer {sync_org.running.access_token}"},
        timeout=30,
    )
    assert answer.status_code == 200


def test_the_api_guard_stops_a_run_that_would_overspend_and_a_later_run_resumes(
    synced: SyncProject, sync_org: SyncOrg
) -> None:
    synced.configure(
        ACCOUNTS.format(extra=""), extra="[sync]\nbulk_threshold = 100000\napi_share = 0.5\n"
    )
    synced.csv("accounts.csv", [{"id": f"G{n:04d}", "Name": f"Guarded {n}"} for n in range(2000)])
    try:
        _daily_allowance(synced, sync_org, 12)
        stopped = synced.sync()
        assert stopped.status == "stopped" and "API requests" in (stopped.stop_reason or "")
        written = stopped.total("written")
        assert 0 < written < 2000 and written % 200 == 0
        _daily_allowance(synced, sync_org, 10_000)
        resumed = synced.sync()
        assert resumed.status == "succeeded"
        assert counts(resumed, "accounts")["unchanged"] == written
        assert counts(resumed, "accounts")["written"] == 2000 - written
    finally:
        _daily_allowance(synced, sync_org, 1_000_000)
    keys = [r["Ext_Id__c"] for r in synced.records("Account", "Ext_Id__c")]
    assert len(keys) == len(set(keys)) == 2000


def test_dry_run_names_each_problem_and_writes_nothing(synced: SyncProject) -> None:
    two_streams(synced)
    synced.csv(
        "accounts.csv", [{"id": "A1", "Name": "Fine", "Code__c": "C" * 11, "Tier__c": "Platinum"}]
    )
    synced.csv("contacts.csv", [{"id": "C1", "LastName": "", "account_id": "A1"}])
    report = dry_run(synced.project(), "test")
    assert not report.ok
    found = {(p.key, p.field, p.code) for p in report.problems}
    assert found == {
        ("A1", "Code__c", "STRING_TOO_LONG"),
        ("A1", "Tier__c", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ("C1", "LastName", "REQUIRED_FIELD_MISSING"),
    }
    assert all(p.where.startswith("data/") for p in report.problems)
    assert synced.records("Account", "Id") == []
    state = SyncState.open(synced.root / ".sftk")
    assert state.runs() == [] and state.dead_letters(None) == [] and state.streams() == []
    state.close()


def _separate_production_org(synced: SyncProject, folder: Path) -> None:
    """Point the ``prod`` profile at an org of its own, with the data model deployed."""
    synced.prod_state = folder
    synced.configure(ACCOUNTS.format(extra=""))
    synced.csv("accounts.csv", ACCOUNT_ROWS)
    (synced.root / "objects").mkdir()
    (synced.root / "objects" / "Account.toml").write_text(OBJECTS["Account.toml"])
    run = commands.deploy(
        synced.project(), "prod", force=True, reason="set-up", skip_preflight=True
    )
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED


def test_production_needs_a_sandbox_run_of_the_plugin_first(
    synced: SyncProject, tmp_path: Path
) -> None:
    _separate_production_org(synced, tmp_path / "prod-org")
    with pytest.raises(NotProven, match="never had a sync of files"):
        synced.sync("prod")
    assert synced.records("Account", "Id") == []
    assert synced.sync("test").status == "succeeded"
    proven = synced.sync("prod")
    assert proven.status == "succeeded" and proven.forced_reason is None
    assert proven.org_id != synced.sync("test").org_id


def test_forcing_production_keeps_the_reason_with_the_run(
    synced: SyncProject, tmp_path: Path
) -> None:
    _separate_production_org(synced, tmp_path / "prod-org")
    forced = synced.sync("prod", force_reason="hotfix for ticket 42")
    assert forced.status == "succeeded" and forced.forced_reason == "hotfix for ticket 42"
    state = SyncState.open(synced.root / ".sftk")
    (row,) = state.runs()
    state.close()
    assert row.report is not None and row.report.forced_reason == "hotfix for ticket 42"


class Observer:
    """A plugin that watches runs and brings a stream whose source breaks half-way."""

    def __init__(self) -> None:
        self.started: list[RunInfo] = []
        self.failed: list[RecordFailure] = []
        self.finished: list[RunReport] = []

    @hookimpl
    def sftk_sync_started(self, run: RunInfo) -> None:
        self.started.append(run)

    @hookimpl
    def sftk_record_failed(self, run: RunInfo, failure: RecordFailure) -> None:
        self.failed.append(failure)

    @hookimpl
    def sftk_sync_finished(self, run: RunInfo, report: RunReport) -> None:
        self.finished.append(report)

    @hookimpl
    def sftk_sources(self) -> list[SourceSpec]:
        stream = StreamSpec("flaky", "Account", key="Ext_Id__c", source_key="code")
        return [SourceSpec("flaky", (stream,), self.read)]

    @hookimpl
    def sftk_default_mappings(self, stream: StreamSpec) -> list[FieldMapping]:
        return [FieldMapping("Name", source="title")]

    @hookimpl
    def sftk_preflight_checks(self, org: Any) -> list[CheckResult]:
        rows = org.query("SELECT Id FROM Organization")
        return [CheckResult("org readable", "pass" if rows else "fail", f"{len(rows)} org")]

    def read(self, stream: StreamSpec, request: Any) -> Any:
        yield SourceRecord({"code": "F1", "title": "Flaky one"}, where="api page 1")
        yield Bookmark("page-2")
        raise ConnectionError("the vendor's API went away")


def test_a_source_that_breaks_stops_its_stream_only_and_observers_are_told(
    synced: SyncProject,
) -> None:
    two_streams(synced)
    bad = [dict(row) for row in ACCOUNT_ROWS]
    bad[0]["Tier__c"] = "Platinum"
    load(synced, bad)
    project = synced.project()
    observer = Observer()
    project.plugins.manager.register(observer, name="observer")
    report = sync(project, "test", SyncOptions(), sleep=lambda _: None)
    assert report.status == "failed" and "the vendor's API went away" in (report.error or "")
    flaky = counts(report, "flaky")
    assert flaky["written"] == 1 and not flaky["completed"]
    assert counts(report, "contacts")["completed"]
    assert [run.run_id for run in observer.started] == [report.run_id]
    assert [f.key for f in observer.failed] == ["A1", "C1"]
    assert observer.finished == [report]
    state = SyncState.open(synced.root / ".sftk")
    flaky_state = next(s for s in state.streams() if s.stream == "flaky")
    state.close()
    assert flaky_state.bookmark is None  # not read to the end: nothing kept to resume from


def test_a_failing_plugin_check_stops_the_sync_before_it_writes(synced: SyncProject) -> None:
    synced.configure(ACCOUNTS.format(extra=""))
    synced.csv("accounts.csv", ACCOUNT_ROWS)
    project = synced.project()

    class Refuses:
        @hookimpl
        def sftk_sources(self) -> list[SourceSpec]:
            return [
                SourceSpec(
                    "no",
                    (StreamSpec("nothing", "Account", "Ext_Id__c", "k"),),
                    lambda s, r: iter(()),
                )
            ]

        @hookimpl
        def sftk_preflight_checks(self) -> list[CheckResult]:
            return [CheckResult("admin", "fail", "the user is no admin", "grant Modify All Data")]

    project.plugins.manager.register(Refuses(), name="refuses")
    with pytest.raises(PluginChecksFailed, match="preflight check admin failed") as refused:
        sync(project, "test", SyncOptions())
    assert refused.value.hint == "grant Modify All Data"
    assert synced.records("Account", "Id") == []


class Archive:
    """A source that backfills older records only when asked (--historic)."""

    def __init__(self) -> None:
        self.requests: list[ReadRequest] = []

    @hookimpl
    def sftk_sources(self) -> list[SourceSpec]:
        stream = StreamSpec(
            "archive", "Account", key="Ext_Id__c", source_key="code", cursor="at", historic=True
        )
        return [SourceSpec("archive", (stream,), self.read)]

    @hookimpl
    def sftk_default_mappings(self, stream: StreamSpec) -> list[FieldMapping]:
        return [FieldMapping("Name", source="title")]

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceRecord]:
        self.requests.append(request)
        yield SourceRecord({"code": "N1", "title": "New", "at": "2026-06-01"})
        if request.historic:
            yield SourceRecord({"code": "O1", "title": "Old", "at": "2019-01-01"})


def test_historic_runs_hand_the_source_its_window_and_keep_older_records(
    synced: SyncProject,
) -> None:
    synced.configure()
    archive = Archive()

    def run(**options: Any) -> RunReport:
        project = synced.project()
        project.plugins.manager.register(archive, name="archive")
        return sync(project, "test", SyncOptions(**options), sleep=lambda _: None)

    assert run().total("written") == 1
    backfill = run(historic=True, since=dt.date(2019, 1, 1))
    assert backfill.mode == "historic" and backfill.total("written") == 1
    assert archive.requests[-1].historic and archive.requests[-1].historic_since == dt.date(
        2019, 1, 1
    )
    assert archive.requests[-1].since is None
    names = sorted(r["Name"] for r in synced.records("Account", "Name"))
    assert names == ["New", "Old"]
    later = run()
    assert archive.requests[-1].since == "2026-05-31T23:00:00.000000Z"  # the cursor less 1 h
    assert later.total("unchanged") == 1 and later.write_calls == 0


def test_an_upload_past_the_size_limit_goes_as_several_jobs(
    synced: SyncProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "UPLOAD_LIMIT", 4_000)
    synced.configure(ACCOUNTS.format(extra=""), extra="[sync]\nbulk_threshold = 0\n")
    synced.csv("accounts.csv", [{"id": f"S{n:04d}", "Name": f"Split {n}"} for n in range(300)])
    report = synced.sync()
    assert report.status == "succeeded" and counts(report, "accounts")["written"] == 300
    assert dict(report.api_calls)["bulk"] >= 3 * 4  # create, upload, close, poll: per job
    assert len(synced.records("Account", "Id")) == 300
