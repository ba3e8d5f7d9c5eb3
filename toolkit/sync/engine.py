"""Syncing records from source plugins into an org: extract -> map -> load -> state.

A run reads as the steps a person would take: pick the streams (parents first); connect to
the org and read its describes; check each stream's mapping against them (nothing is sent
while one is wrong); run the plugins' preflight checks; then for each stream read its records
from the cursor on, map them, skip the ones whose content hash says they are unchanged, upsert
the rest by External ID, apply the source's deletions, and keep the cursor once everything
read is confirmed or dead-lettered. Calls are counted by kind and held under the API guard.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from toolkit.errors import SftkError
from toolkit.project import Project
from toolkit.sync.contract import RecordFailure, RunInfo
from toolkit.sync.guard import ApiGuard, GuardStop
from toolkit.sync.loader import BulkPace
from toolkit.sync.options import ProgressHandler, SyncOptions
from toolkit.sync.proof import org_is_sandbox, require_sandbox_run
from toolkit.sync.report import RunReport
from toolkit.sync.session import (
    StreamJob,
    SyncSession,
    planned_streams,
    preflight_plugins,
    prepare,
    remaining_requests,
    sync_session,
)
from toolkit.sync.state import Failed, now
from toolkit.sync.stream_run import StreamRun
from toolkit.sync.streams import PlannedStream

REPORTED_FAILURES = 20  # dead letters listed in a run's report (all are in `sftk deadletters`)


def sync(
    project: Project,
    org: str,
    options: SyncOptions | None = None,
    *,
    on_progress: ProgressHandler | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunReport:
    """Run a sync of the chosen streams into the org profile ``org`` and return its report.
    Raises what stops a run before it writes (configuration, mappings, preflight, production
    without a sandbox run) and, after the run is recorded, what stopped it half-way."""
    options = options or SyncOptions()
    streams, declared = planned_streams(project, options.plugin, options.stream)
    with sync_session(project, org) as session, session.state.exclusive():
        plugins = tuple(sorted({s.plugin for s in streams}))
        is_sandbox = org_is_sandbox(session)
        forced = require_sandbox_run(session, plugins, options.force_reason)
        jobs = prepare(session, streams, declared)
        preflight_plugins(session, plugins)
        share = project.config.sync.api_share
        guard = ApiGuard.from_limits(session.counter, remaining_requests(session), share)
        run = Run(session, jobs, options, guard, on_progress, sleep, plugins, forced, is_sandbox)
        return run.execute()


class Run:
    """One run over its streams, recorded from start to end whatever stops it."""

    def __init__(
        self,
        session: SyncSession,
        jobs: Sequence[StreamJob],
        options: SyncOptions,
        guard: ApiGuard,
        on_progress: ProgressHandler | None,
        sleep: Callable[[float], None],
        plugins: tuple[str, ...],
        forced: str | None,
        is_sandbox: bool,
    ) -> None:
        self.session = session
        self.is_sandbox = is_sandbox
        self.jobs = jobs
        self.options = options
        self.guard = guard
        self.on_progress = on_progress
        self.sleep = sleep
        self.plugins = plugins
        self.forced = forced
        self.run_id = (
            dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
        )
        self.info = RunInfo(
            self.run_id,
            session.conn.profile,
            session.conn.org_id,
            session.conn.kind,
            options.mode,
            plugins,
        )
        self.failures: list[RecordFailure] = []
        self.pace = BulkPace()

    def execute(self) -> RunReport:
        session = self.session
        started, clock = now(), time.monotonic()
        session.state.run_started(
            self.run_id,
            org=session.conn.profile,
            org_id=session.org_id,
            kind=session.conn.kind,
            local=session.profile.auth == "local",
            org_is_sandbox=self.is_sandbox,
            mode=self.options.mode,
            plugins=self.plugins,
            started=started,
        )
        session.project.plugins.notify("sftk_sync_started", run=self.info)
        streams: list[StreamRun] = []
        status, stop_reason, error = "succeeded", None, None
        raised: BaseException | None = None
        try:
            with tempfile.TemporaryDirectory(prefix="sftk-sync-") as workdir:
                for job in self.jobs:
                    run = StreamRun(self, job, Path(workdir))
                    streams.append(run)
                    run.execute()
        except GuardStop as stop:
            status, stop_reason = "stopped", stop.reason
        except KeyboardInterrupt as exc:
            status, stop_reason, raised = "interrupted", "interrupted (Ctrl-C)", exc
        except SftkError as exc:
            status, error, raised = "failed", str(exc), exc
            exc.message = (
                f"run {self.run_id} stopped: {exc.message}; what was confirmed before is kept "
                "(sftk runs shows the run)"
            )
        source_errors = [run.error for run in streams if run.error is not None]
        if status == "succeeded" and source_errors:
            status, error = "failed", "\n".join(str(e) for e in source_errors)
        reports = tuple(run.report() for run in streams)
        if status == "succeeded" and any(r.dead_lettered for r in reports):
            status = "partial"
        report = RunReport(
            run_id=self.run_id,
            org=session.conn.profile,
            org_id=session.conn.org_id,
            kind=session.conn.kind,
            mode=self.options.mode,
            status=status,
            started=started,
            finished=now(),
            duration_seconds=time.monotonic() - clock,
            streams=reports,
            api_calls=session.counter.by_kind(),
            failures=tuple(self.failures[:REPORTED_FAILURES]),
            stop_reason=stop_reason,
            error=error,
            forced_reason=self.forced,
            plugins=self.plugins,
        )
        session.state.run_finished(report)
        session.project.plugins.notify("sftk_sync_finished", run=self.info, report=report)
        if raised is not None:
            raise raised
        return report

    def failed(self, planned: PlannedStream, failure: Failed) -> None:
        record = RecordFailure(
            planned.plugin,
            planned.stream.name,
            failure.key,
            failure.code,
            failure.message,
            failure.fields,
        )
        self.failures.append(record)
        self.session.project.plugins.notify("sftk_record_failed", run=self.info, failure=record)
