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
import functools
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from simple_salesforce.api import Salesforce

from toolkit.config import OrgProfile
from toolkit.errors import (
    ConfigError,
    NotProven,
    OrgError,
    PluginChecksFailed,
    SftkError,
    SourceError,
    UsageError,
)
from toolkit.metadata.fieldtypes import wire_value
from toolkit.project import Project
from toolkit.salesforce import bulk
from toolkit.salesforce import records as sf_records
from toolkit.salesforce.auth import find_profile, open_connection
from toolkit.salesforce.calls import CallCounter
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.records import COLLECTION_SIZE, ObjectDescribe, soql_literal
from toolkit.sync import cursor as cursors
from toolkit.sync.contract import (
    Bookmark,
    MarkDeleted,
    OrgAccess,
    ReadRequest,
    RecordFailure,
    RejectedRecord,
    RunInfo,
    SourceItem,
    SourceRecord,
)
from toolkit.sync.guard import ApiGuard, GuardStop
from toolkit.sync.loader import BulkPace, LoadContext, Loader, Prepared
from toolkit.sync.mapping import (
    MappingError,
    MappingProblem,
    RecordMapper,
    StreamMapping,
    check,
    content_hash,
    link_parents,
    resolve,
    unknown_overrides,
)
from toolkit.sync.report import RunReport, StreamReport
from toolkit.sync.state import Failed, StreamState, SyncState, now
from toolkit.sync.streams import PlannedStream, all_streams, select

PROCESS_BATCH = 500  # records mapped, then checked against the state in one lookup
REPORTED_FAILURES = 20  # dead letters listed in a run's report (all are in `sftk deadletters`)
# Org kinds whose completed sync of a plugin opens production to it (the sandbox-first rule);
# a real production org takes only a real sandbox's run.
PROVING_KINDS = ("sandbox",)
LOCAL_PROVING_KINDS = ("sandbox", "developer", "local")


@dataclass(frozen=True)
class SyncOptions:
    """What ``sftk sync`` was asked for. ``retry`` re-sends the dead letters' records, read
    again from the source (``sftk deadletters retry``)."""

    plugin: str | None = None
    stream: str | None = None
    full_refresh: bool = False
    historic: bool = False
    since: dt.date | None = None
    reconcile: bool = False
    retry: bool = False
    force_reason: str | None = None

    @property
    def mode(self) -> str:
        for name, on in (
            ("retry", self.retry),
            ("reconcile", self.reconcile),
            ("historic", self.historic),
            ("full_refresh", self.full_refresh),
        ):
            if on:
                return name
        return "incremental"


@dataclass(frozen=True)
class StreamProgress:
    plugin: str
    stream: str
    read: int
    written: int
    unchanged: int
    dead_lettered: int
    done: bool


ProgressHandler = Callable[[StreamProgress], None]


@dataclass
class StreamJob:
    """A stream made ready for one org: its object's describe and its compiled mapping."""

    planned: PlannedStream
    describe: ObjectDescribe
    mapping: StreamMapping
    mapper: RecordMapper
    warnings: list[MappingProblem] = field(default_factory=list)


@dataclass
class SyncSession:
    """One org, connected, with the project's sync state and the calls counted."""

    project: Project
    profile: OrgProfile
    conn: OrgConnection
    sf: Salesforce
    state: SyncState
    counter: CallCounter

    @property
    def org_id(self) -> str:
        return self.conn.org_id or self.conn.instance_url

    def org_access(self) -> OrgAccess:
        return OrgAccess(
            profile=self.conn.profile,
            kind=self.conn.kind,
            org_id=self.conn.org_id,
            user_id=self.conn.user_id,
            username=self.conn.username,
            api_version=self.conn.api_version,
            query=lambda soql: sf_records.query(self.sf, soql),
        )


@contextmanager
def sync_session(project: Project, org: str) -> Iterator[SyncSession]:
    profile = find_profile(project.config, org)
    state = SyncState.open(project.config.state_dir)
    try:
        with open_connection(project.config, org) as conn:
            counter = CallCounter()
            with counter.counting(conn.session):
                yield SyncSession(project, profile, conn, conn.rest(), state, counter)
    finally:
        state.close()


def planned_streams(
    project: Project, plugin: str | None, stream: str | None
) -> tuple[list[PlannedStream], list[PlannedStream]]:
    """The streams chosen, and all the project's, after checking that every ``[mappings]``
    table names a stream."""
    everything = all_streams(project)
    known = {(s.plugin, s.stream.name): s.stream for s in everything}
    stray = unknown_overrides(project.config.mappings, known)
    if stray:
        names = ", ".join(f"{p}.{s}" for p, s in sorted(known)) or "none"
        raise ConfigError(
            f"{stray[0].where}: [mappings.{stray[0].plugin}.{stray[0].stream}] names no stream",
            hint=f"streams: {names}",
        )
    chosen = select(everything, plugin, stream)
    if not chosen:
        raise UsageError(
            "nothing to sync: no enabled plugin declares a stream",
            hint="configure [plugins.files.streams.NAME] in sftk.toml, or enable a plugin "
            "with streams (sftk plugins lists them)",
        )
    return chosen, everything


def prepare(
    session: SyncSession,
    streams: Sequence[PlannedStream],
    declared: Sequence[PlannedStream],
) -> list[StreamJob]:
    """Describe each stream's object and its parents', resolve and check its mapping: every
    error of every stream at once, before anything is written. ``declared`` are all the
    project's streams, where a parent not chosen for this run is found."""
    project = session.project
    describes: dict[str, ObjectDescribe] = {}

    def describe(name: str, planned: PlannedStream) -> ObjectDescribe:
        if name not in describes:
            try:
                describes[name] = sf_records.describe(session.sf, name)
            except OrgError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                raise ConfigError(
                    f"stream {planned.label}: org {session.conn.profile} has no object {name}",
                    hint=f"deploy the project's metadata first (sftk deploy --org "
                    f"{session.conn.profile}), or fix the stream's object",
                ) from None
        return describes[name]

    by_name = {(s.plugin, s.stream.name): s.stream for s in declared}
    jobs: list[StreamJob] = []
    errors: list[tuple[PlannedStream, MappingProblem]] = []
    for planned in streams:
        stream = planned.stream
        parents = {}
        parent_keys = {}
        for ref in stream.parents:
            parent_stream = by_name[(planned.plugin, ref.stream)]
            parents[ref.stream] = describe(parent_stream.object, planned)
            parent_keys[ref.stream] = parent_stream.key
        own = describe(stream.object, planned)
        defaults = project.plugins.call_one(
            planned.plugin,
            "sftk_default_mappings",
            project.config.plugins,
            stream=stream,
            root=project.config.root,
        )
        mapping = resolve(planned.plugin, stream, defaults or (), project.config.mappings)
        problems = check(mapping, own, parents, parent_keys)
        errors += [(planned, p) for p in problems if p.severity == "error"]
        if any(p.severity == "error" for p in problems):
            continue
        mapper = RecordMapper(mapping, own, link_parents(stream, own, parent_keys))
        warnings = [p for p in problems if p.severity != "error"]
        jobs.append(StreamJob(planned, own, mapping, mapper, warnings))
    if errors:
        planned, first = errors[0]
        more = f" (and {len(errors) - 1} more mapping problem(s))" if len(errors) > 1 else ""
        raise ConfigError(
            f"stream {planned.label}, field {first.target} (mapping from {first.origin}): "
            f"{first.message}{more}",
            hint=f"{first.hint}; `sftk mappings show --org {session.conn.profile}` lists them all",
        )
    return jobs


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
        forced = require_sandbox_run(session, plugins, options.force_reason)
        jobs = prepare(session, streams, declared)
        preflight_plugins(session, plugins)
        share = project.config.sync.api_share
        guard = ApiGuard.from_limits(session.counter, _remaining(session), share)
        return _Run(session, jobs, options, guard, on_progress, sleep, plugins, forced).execute()


def _remaining(session: SyncSession) -> int | None:
    """The org's remaining daily requests: from the last answer's Sforce-Limit-Info header,
    else from /limits (None if the user may not read it: then no guard)."""
    counter = session.counter
    if counter.used is not None and counter.allowance is not None:
        return max(0, counter.allowance - counter.used)
    try:
        daily = session.sf.limits().get("DailyApiRequests", {})
    except Exception:
        return None
    remaining = daily.get("Remaining")
    return int(remaining) if remaining is not None else None


def require_sandbox_run(
    session: SyncSession, plugins: Sequence[str], force_reason: str | None
) -> str | None:
    """The sandbox-first rule for data: a plugin's first sync into a production org needs a
    completed sync of it into a sandbox of the project (a local production profile: into any
    local org). ``--force --reason`` overrides; the reason is kept with the run."""
    if session.conn.kind != "production":
        return None
    local = session.profile.auth == "local"
    kinds = LOCAL_PROVING_KINDS if local else PROVING_KINDS
    missing = []
    for plugin in plugins:
        runs = [
            r
            for r in session.state.runs()
            if plugin in r.plugins and r.status in ("succeeded", "partial")
        ]
        if any(r.org_id == session.org_id for r in runs):
            continue
        if not any(r.kind in kinds and (local or not r.local) for r in runs):
            missing.append(plugin)
    if not missing:
        return None
    if force_reason:
        return force_reason
    where = "a local sandbox, developer or local org" if local else "a real sandbox"
    raise NotProven(
        f"production org {session.conn.profile} has never had a sync of "
        + ", ".join(missing)
        + f", and no {where} of this project has either",
        hint="sync into a sandbox first (sftk sync --org SANDBOX), or pass --force "
        '--reason "why" to go ahead; the reason is kept with the run',
    )


def preflight_plugins(session: SyncSession, plugins: Sequence[str]) -> None:
    """The plugins' own checks; a failing one stops the sync before it writes."""
    project = session.project
    failed = []
    for plugin in plugins:
        results = project.plugins.call_one(
            plugin,
            "sftk_preflight_checks",
            project.config.plugins,
            org=session.org_access(),
            root=project.config.root,
        )
        failed += [(plugin, r) for r in results or () if r.status == "fail"]
    if failed:
        plugin, first = failed[0]
        more = f" (and {len(failed) - 1} more failed check(s))" if len(failed) > 1 else ""
        raise PluginChecksFailed(
            f"plugin {plugin}: preflight check {first.name} failed: {first.message}{more}",
            hint=first.hint or "fix what the check names, then run the sync again",
        )


def source_items(planned: PlannedStream, request: ReadRequest) -> Iterator[SourceItem]:
    """A stream's items from its source; anything but SourceError escaping the plugin is its
    bug, and stops the stream the same way."""
    label = planned.label
    try:
        yield from planned.source.read(planned.stream, request)
    except SourceError as exc:
        raise SourceError(f"stream {label}: {exc.message}", hint=exc.hint) from None
    except SftkError:
        raise
    except Exception as exc:  # a plugin's bug: name it, stop this stream only
        raise SourceError(
            f"stream {label}: the plugin failed while reading: {type(exc).__name__}: {exc}",
            hint=f"this is a bug in plugin {planned.plugin}; report it to its authors",
        ) from None


class _Run:
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
    ) -> None:
        self.session = session
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
            mode=self.options.mode,
            plugins=self.plugins,
            started=started,
        )
        session.project.plugins.notify("sftk_sync_started", run=self.info)
        streams: list[_StreamRun] = []
        status, stop_reason, error = "succeeded", None, None
        raised: BaseException | None = None
        try:
            with tempfile.TemporaryDirectory(prefix="sftk-sync-") as workdir:
                for job in self.jobs:
                    run = _StreamRun(self, job, Path(workdir))
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
            status, error = "failed", "; ".join(str(e) for e in source_errors)
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


class _Read(NamedTuple):
    """A record as read, with the hash of what the mapping takes from it."""

    key: str
    data: Mapping[str, Any]
    hash: bytes
    where: str


class _StreamRun:
    """One stream of a run: read, map, compare, load, delete, keep the position."""

    def __init__(self, run: _Run, job: StreamJob, workdir: Path) -> None:
        self.run = run
        self.job = job
        self.planned = job.planned
        self.stream = job.planned.stream
        self.options = run.options
        self.state = run.session.state
        self.read = 0
        self.unchanged = 0
        self.rejected = 0
        self.still_dead = 0
        self.before_cursor = 0
        self.reconciled = 0
        self.deleted = 0
        self.completed = False
        self.error: SourceError | None = None
        self.batch: list[_Read] = []
        self.early: list[str] = []  # keys before the cursor: seen, not sent
        self.deletions: list[str] = []
        self.bookmark: str | None = None
        self.warnings: list[str] = [f"{w.target}: {w.message}" for w in job.warnings]
        self.max_cursor: cursors.Comparable | None = None
        self.stream_state: StreamState | None = None
        self.loader: Loader | None = None
        self.workdir = workdir

    # --- the steps -------------------------------------------------------------------------------

    def execute(self) -> None:
        session = self.run.session
        st = self.state.stream(session.org_id, self.planned.plugin, self.stream.name)
        self.stream_state = st
        self.state.begin_stream_run()
        self.loader = Loader(
            LoadContext(
                sf=session.sf,
                conn=session.conn,
                state=self.state,
                stream=st,
                run_id=self.run.run_id,
                object_name=self.job.describe.name,
                key_field=self.job.mapper.columns[0],
                mapper=self.job.mapper,
                threshold=session.project.config.sync.bulk_threshold,
                guard=self.run.guard,
                workdir=self.workdir,
                on_failure=lambda failure: self.run.failed(self.planned, failure),
                pace=self.run.pace,
                sleep=self.run.sleep,
            )
        )
        self._settle_jobs_in_flight(st)
        wanted = self.state.dead_letter_keys(st) if self.options.retry else None
        if wanted is not None and not wanted:
            self.completed = True
            self._progress(done=True)
            return
        since = self._since(st)
        request = ReadRequest(
            since=None if since is None else cursors.text(since),
            bookmark=None if self.options.full_refresh or self.options.retry else st.bookmark,
            historic=self.options.historic,
            historic_since=self.options.since,
            keys=wanted,
        )
        self.max_cursor = None if st.cursor is None else cursors.parse(st.cursor)
        try:
            for item in source_items(self.planned, request):
                self._take(item, since, wanted)
        except SourceError as exc:
            self.error = exc
        self._process()
        self.loader.finish()
        if self.error is not None:
            self._progress(done=True)
            return
        unseen = self.job.mapper.unseen
        if unseen and self.read > self.rejected:
            self.warnings.append(
                f"source field(s) {', '.join(sorted(unseen))} were in none of the records read; "
                "their Salesforce fields were cleared: check the mapping's source names"
            )
        if wanted is not None:
            left = len(self.state.dead_letter_keys(st) & wanted) - self._new_dead()
            self.still_dead += max(0, left)  # not in the source any more: purge or fix it
        else:
            self._delete(st)
            self.state.keep_position(
                st,
                st.cursor if self.max_cursor is None else cursors.text(self.max_cursor),
                self.bookmark if self.bookmark is not None else st.bookmark,
            )
        self.completed = True
        self._progress(done=True)

    def _new_dead(self) -> int:
        assert self.loader is not None
        return self.loader.tally.dead_lettered + self.rejected

    def _since(self, st: StreamState) -> cursors.Comparable | None:
        options = self.options
        if self.stream.cursor is None or options.full_refresh or options.retry:
            return None
        if options.reconcile or options.historic:  # older records are what these want
            return None
        lookback = self.run.session.project.config.sync.lookback_seconds
        return cursors.lower_bound(st.cursor, lookback)

    def _take(
        self, item: SourceItem, since: cursors.Comparable | None, wanted: frozenset[str] | None
    ) -> None:
        if isinstance(item, Bookmark):
            self.bookmark = item.value
            return
        self.read += 1
        if isinstance(item, RejectedRecord):
            self._reject(
                item.key or f"(no key) {item.where}",
                "SOURCE_INVALID",
                item.reason,
                dict(item.data or {}),
                item.where,
            )
            return
        if not isinstance(item, SourceRecord):
            raise SourceError(
                f"stream {self.planned.label}: the source yielded {type(item).__name__}",
                hint="yield SourceRecord, RejectedRecord or Bookmark values",
            )
        data = item.data
        raw_key = data.get(self.stream.source_key)
        if raw_key is None or raw_key == "":
            self._reject(
                f"(no key) {item.where}",
                "MISSING_KEY",
                f"the record has no {self.stream.source_key}, the stream's source key",
                dict(data),
                item.where,
            )
            return
        key = str(raw_key)
        if wanted is not None and key not in wanted:
            self.read -= 1
            return
        if item.deleted:
            self.deletions.append(key)
            return
        if self.stream.cursor is not None and wanted is None:
            try:
                position = cursors.parse(data.get(self.stream.cursor))
            except cursors.CursorError as exc:
                self._reject(
                    key, "BAD_CURSOR", f"{self.stream.cursor}: {exc}", dict(data), item.where
                )
                return
            if since is not None and position < since:
                self.before_cursor += 1
                self.early.append(key)
                return
            if self.max_cursor is None or position > self.max_cursor:
                self.max_cursor = position
        self.batch.append(_Read(key, data, self.job.mapper.source_hash(data), item.where))
        if len(self.batch) >= PROCESS_BATCH:
            self._process()

    def _reject(
        self,
        key: str,
        code: str,
        message: str,
        data: dict[str, object],
        where: str,
        fields: tuple[str, ...] = (),
        digest: bytes | None = None,
    ) -> None:
        """Dead-letter a record sftk itself refused; with its ``digest``, a plain run will
        not look at it again until it changes."""
        assert self.stream_state is not None
        failure = Failed(key, data, code, message, fields, where, digest)
        self.state.dead_letter(self.stream_state, [failure])
        self.rejected += 1
        self.run.failed(self.planned, failure)

    def _process(self) -> None:
        """The batch read so far: duplicates out, unchanged records counted, the rest mapped
        and handed to the loader (or, reconciling, compared with what the org has first).
        Records are compared by their source hash, so an unchanged record is never mapped."""
        st, loader = self.stream_state, self.loader
        assert st is not None and loader is not None
        batch, self.batch = self.batch, []
        early, self.early = self.early, []
        seen_before = self.state.already_seen([*(r.key for r in batch), *early])
        fresh: list[_Read] = []
        in_batch: dict[str, str] = {}
        for record in batch:
            first = in_batch.get(record.key)
            if record.key in seen_before or first is not None:
                self._reject(
                    f"{record.key} (duplicate, {record.where})",
                    "DUPLICATE_KEY",
                    f"the source has key {record.key} more than once"
                    + (f" (also at {first})" if first else "")
                    + "; only the first was loaded",
                    dict(record.data),
                    record.where,
                )
                continue
            in_batch[record.key] = record.where
            fresh.append(record)
        keys = [r.key for r in fresh]
        stored = self.state.hashes(st, keys) if fresh else {}
        dead = self.state.dead_letter_hashes(st, keys) if fresh else {}
        force = self.options.full_refresh or self.options.retry or self.options.reconcile
        to_send: list[Prepared] = []
        for record in fresh:
            if not force and stored.get(record.key) == (record.hash, False):
                self.unchanged += 1
            elif not force and dead.get(record.key) == record.hash:
                self.still_dead += 1  # refused before as it is now: `deadletters retry` re-sends
            else:
                prepared = self._mapped(record)
                if prepared is not None:
                    to_send.append(prepared)
        if self.options.reconcile:
            to_send = self._reconcile(to_send)
        for prepared in to_send:
            loader.add(prepared)
        self._progress()

    def _mapped(self, record: _Read) -> Prepared | None:
        try:
            payload = self.job.mapper.payload(record.data)
        except MappingError as exc:
            self._reject(
                record.key,
                "MAPPING_ERROR",
                str(exc),
                dict(record.data),
                record.where,
                (exc.field,),
                record.hash,
            )
            return None
        return Prepared(record.key, payload, record.hash, record.where)

    def _reconcile(self, records: list[Prepared]) -> list[Prepared]:
        """Read the org's records back by External ID and keep only those that differ from
        the source (edited in Salesforce, or missing)."""
        assert self.stream_state is not None and self.loader is not None
        mapper = self.job.mapper
        key_field = mapper.columns[0]
        fields = [f.name for _, f in mapper.fields]
        parents = [f"{link.relationship}.{link.parent_key}" for link in mapper.parents]
        differ: list[Prepared] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            part = records[start : start + COLLECTION_SIZE]
            soql = (
                f"SELECT {', '.join(dict.fromkeys([*fields, *parents]))} "
                f"FROM {self.job.describe.name} WHERE {key_field} IN "
                f"({', '.join(soql_literal(r.key) for r in part)})"
            )
            rows = self.loader.call(functools.partial(sf_records.query, self.run.session.sf, soql))
            in_org = {str(row.get(key_field)): row for row in rows}
            same = []
            for record in part:
                row = in_org.get(record.key)
                if row is not None and self._matches(record.payload, row):
                    same.append((record.key, record.hash))
                else:
                    differ.append(record)
            self.state.confirm(self.stream_state, same)
            self.unchanged += len(same)
        self.reconciled += len(differ)
        return differ

    def _matches(self, payload: dict[str, object], row: dict[str, object]) -> bool:
        for _, found in self.job.mapper.fields:
            try:
                theirs = wire_value(found.type, row.get(found.name))
            except (ValueError, TypeError, ArithmeticError):
                return False
            if theirs != payload.get(found.name):
                return False
        for link in self.job.mapper.parents:
            related = row.get(link.relationship)
            theirs = related.get(link.parent_key) if isinstance(related, dict) else None
            mine = payload.get(link.relationship)
            wanted = mine.get(link.parent_key) if isinstance(mine, dict) else None
            if theirs != wanted:
                return False
        return True

    def _delete(self, st: StreamState) -> None:
        """Deletions the source marked, and for a source read whole, the records it no longer
        yields: deleted, marked, or left, as the stream's ``on_delete`` says."""
        on_delete = self.stream.on_delete
        keys = list(dict.fromkeys(self.deletions))
        whole_read = self.stream.snapshot and not self.options.historic
        if whole_read:
            self.state.drop_unseen_dead_letters(st)
            if on_delete != "ignore":
                unseen = self.state.unseen_keys(st)
                if unseen and self.read == 0:
                    self.warnings.append(
                        f"the source yielded no records, so the {len(unseen)} record(s) synced "
                        "before were not deleted: check the source (if it really is empty now, "
                        "delete them in Salesforce yourself)"
                    )
                else:
                    keys += unseen
        if not keys or on_delete == "ignore":
            return
        for start in range(0, len(keys), COLLECTION_SIZE):
            part = keys[start : start + COLLECTION_SIZE]
            if isinstance(on_delete, MarkDeleted):
                self._mark(st, part, on_delete)
            else:
                self._delete_records(st, part)

    def _mark(self, st: StreamState, keys: list[str], mark: MarkDeleted) -> None:
        assert self.loader is not None
        field_name = self.job.describe.field(mark.field)
        name = field_name.name if field_name else mark.field
        value = wire_value(field_name.type, mark.value) if field_name else mark.value
        records = []
        for key in keys:
            payload = {self.job.mapper.columns[0]: key, name: value}
            records.append(Prepared(key, payload, content_hash(payload), "deleted in the source"))
        self.deleted += self.loader.send_collection(records, deleted=True)

    def _delete_records(self, st: StreamState, keys: list[str]) -> None:
        assert self.loader is not None
        key_field = self.job.mapper.columns[0]
        soql = (
            f"SELECT Id, {key_field} FROM {self.job.describe.name} WHERE {key_field} IN "
            f"({', '.join(soql_literal(k) for k in keys)})"
        )
        rows = self.loader.call(lambda: sf_records.query(self.run.session.sf, soql))
        ids = {str(row["Id"]): str(row[key_field]) for row in rows}
        gone = [k for k in keys if k not in set(ids.values())]
        failed = []
        if ids:
            self.loader.tally.methods.add("collections")
            results = self.loader.call(
                lambda: sf_records.delete_collection(self.run.session.sf, list(ids))
            )
            for record_id, result in zip(ids, results, strict=True):
                code = result.errors[0].code if result.errors else ""
                if result.success or code in ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"):
                    gone.append(ids[record_id])
                else:
                    error = result.errors[0] if result.errors else None
                    failed.append(
                        Failed(
                            ids[record_id],
                            {"Id": record_id},
                            code or "UNKNOWN_EXCEPTION",
                            error.message if error else "the delete was refused",
                            error.fields if error else (),
                            "deleted in the source",
                        )
                    )
        self.state.forget(st, gone)
        self.deleted += len(gone)
        for failure in failed:
            self._reject(
                failure.key,
                failure.code,
                failure.message,
                failure.payload,
                failure.location,
                failure.fields,
            )

    def _settle_jobs_in_flight(self, st: StreamState) -> None:
        """Bulk jobs a killed run left behind: an open one is aborted (its rows are sent
        again); one being processed is waited for, so its writes do not race ours."""
        assert self.loader is not None
        sf = self.run.session.sf
        for job_id in self.state.jobs_in_flight(st):
            read = functools.partial(bulk.job_info, sf, job_id)
            try:
                info = self.loader.call(read)
                if info.state == "Open":
                    info = self.loader.call(functools.partial(bulk.abort, sf, job_id))
                while not info.finished:
                    self.run.sleep(2.0)
                    info = self.loader.call(read)
            except OrgError as exc:
                if exc.code != "NOT_FOUND":
                    raise
            self.state.job_settled(job_id)

    # --- reporting -------------------------------------------------------------------------------

    def _progress(self, done: bool = False) -> None:
        if self.run.on_progress is None:
            return
        tally = self.loader.tally if self.loader else None
        self.run.on_progress(
            StreamProgress(
                self.planned.plugin,
                self.stream.name,
                self.read,
                tally.written if tally else 0,
                self.unchanged,
                (tally.dead_lettered if tally else 0) + self.rejected + self.still_dead,
                done,
            )
        )

    def report(self) -> StreamReport:
        tally = self.loader.tally if self.loader else None
        methods = sorted(tally.methods) if tally else []
        return StreamReport(
            plugin=self.planned.plugin,
            stream=self.stream.name,
            object=self.stream.object,
            read=self.read,
            written=tally.written if tally else 0,
            unchanged=self.unchanged,
            deleted=self.deleted,
            dead_lettered=(tally.dead_lettered if tally else 0) + self.rejected + self.still_dead,
            before_cursor=self.before_cursor,
            reconciled=self.reconciled,
            method="+".join(methods) if methods else "none",
            completed=self.completed,
            warnings=tuple(self.warnings),
        )
