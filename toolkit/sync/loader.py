"""Writing one stream's changed records to the org, by External ID, and telling the state store
what Salesforce confirmed.

Up to ``bulk_threshold`` changed records go through sObject Collections, 200 a call; a stream
with more goes through one Bulk API 2.0 job (or several, each upload at most 100 MB). To
decide, the loader looks ahead at most LOOKAHEAD records; past that it commits to Collections
and sends as it reads, so memory never grows with the stream. A Bulk job's rows are spooled to
a file and their hashes staged in SQLite, so a million rows cost no memory either.

Errors: a call that fails for a transient reason (``salesforce.retry``) is sent again after a
backoff with jitter; a row refused for a transient reason is retried in a later call or job;
a row refused for good is dead-lettered with Salesforce's code and the run goes on. Any other
failure of a whole call stops the run: it is not the records' fault.
"""

from __future__ import annotations

import csv
import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

from simple_salesforce.api import Salesforce

from toolkit.errors import OrgError
from toolkit.salesforce import bulk
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.records import COLLECTION_SIZE, RowResult, upsert_collection
from toolkit.salesforce.retry import MAX_RETRIES, backoff, is_retryable
from toolkit.sync.guard import ApiGuard
from toolkit.sync.mapping import Payload, RecordMapper
from toolkit.sync.state import Failed, StreamState, SyncState

T = TypeVar("T")

LOOKAHEAD = 10_000  # records held to choose between Collections and Bulk, at most
MAX_ROUNDS = 5  # sends of a row refused for a transient reason, before it is dead-lettered
BULK_CALLS = (
    6  # calls a Bulk job takes when nothing goes wrong: create, upload, close, 2 polls, results
)
STAGE_BATCH = 2_000
# A Bulk upload is closed once it reaches this size; the next row (a Salesforce record is at
# most a few hundred KB as CSV) still fits under the API's limit.
UPLOAD_LIMIT = bulk.MAX_UPLOAD_BYTES - 1_000_000
MAX_POLL_SECONDS = 60.0


class Prepared(NamedTuple):
    """A record ready to send: its key, payload, content hash and where it came from (a
    named tuple: a sync makes one per record, and tuples are the cheapest to make)."""

    key: str
    payload: Payload
    hash: bytes
    where: str


@dataclass
class BulkPace:
    """How fast this org processes Bulk rows, learned from each job of the run, so the first
    poll of the next job comes about when it should be done (few polls, little waiting)."""

    rows_per_second: float = 10_000.0

    def learn(self, rows: int, seconds: float) -> None:
        if rows and seconds > 0:
            self.rows_per_second = max(50.0, rows / seconds)


@dataclass
class LoadContext:
    sf: Salesforce
    conn: OrgConnection
    state: SyncState
    stream: StreamState
    run_id: str
    object_name: str
    key_field: str
    mapper: RecordMapper
    threshold: int
    guard: ApiGuard
    workdir: Path
    on_failure: Callable[[Failed], None]
    pace: BulkPace = field(default_factory=BulkPace)
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Tally:
    written: int = 0
    dead_lettered: int = 0
    methods: set[str] = field(default_factory=set)


class Loader:
    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.tally = Tally()
        self.buffer: list[Prepared] = []
        self.mode: str | None = None  # None while deciding, then "collections" or "bulk"
        self.bulk_file: _BulkFile | None = None

    def add(self, record: Prepared) -> None:
        if self.mode == "bulk":
            self._bulk_add(record)
            return
        self.buffer.append(record)
        if self.mode == "collections":
            if len(self.buffer) >= COLLECTION_SIZE:
                self._flush_collections()
        elif len(self.buffer) > self.ctx.threshold:
            self.mode = "bulk"
            pending, self.buffer = self.buffer, []
            for item in pending:
                self._bulk_add(item)
        elif len(self.buffer) >= LOOKAHEAD:
            self.mode = "collections"
            self._flush_collections()

    def finish(self) -> None:
        """Send what is left; returns once every record is confirmed or dead-lettered."""
        if self.mode == "bulk":
            if self.bulk_file is not None and self.bulk_file.rows:
                self._run_bulk_file()
            return
        self._flush_collections(everything=True)

    # --- sObject Collections ---------------------------------------------------------------------

    def _flush_collections(self, everything: bool = False) -> None:
        while len(self.buffer) >= COLLECTION_SIZE or (everything and self.buffer):
            batch, self.buffer = self.buffer[:COLLECTION_SIZE], self.buffer[COLLECTION_SIZE:]
            self.send_collection(batch)

    def send_collection(self, records: Sequence[Prepared], *, deleted: bool = False) -> int:
        """Upsert up to 200 records; rows refused for a transient reason go again, up to
        MAX_ROUNDS sends, then are dead-lettered like any other refusal. ``deleted``: the
        records mark deletions (``on_delete`` MarkDeleted), not counted as written. Returns
        how many Salesforce confirmed."""
        ctx = self.ctx
        self.tally.methods.add("collections")
        pending = list(records)
        done = 0
        for round_number in itertools.count(1):
            send = functools.partial(
                upsert_collection,
                ctx.sf,
                ctx.object_name,
                ctx.key_field,
                [r.payload for r in pending],
            )
            results = self.call(send)
            confirmed, again, failed = [], [], []
            for record, result in zip(pending, results, strict=True):
                if result.success:
                    confirmed.append((record.key, record.hash))
                elif _transient(result) and round_number < MAX_ROUNDS:
                    again.append(record)
                else:
                    failed.append(_failed(record, result))
            ctx.state.confirm(ctx.stream, confirmed, deleted=deleted)
            done += len(confirmed)
            if not deleted:
                self.tally.written += len(confirmed)
            self._dead_letter(failed)
            if not again:
                return done
            ctx.sleep(backoff(round_number))
            pending = again
        raise AssertionError("unreachable")

    def call(self, send: Callable[[], T]) -> T:
        """One call to the org, under the API guard, sent again while it fails for a
        transient reason (MAX_RETRIES times); the org's daily limit stops the run."""
        failures = 0
        while True:
            self.ctx.guard.allow(1)
            try:
                return send()
            except OrgError as error:
                stop = ApiGuard.stop_for(error)
                if stop is not None:
                    raise stop from None
                failures += 1
                if not is_retryable(error.code, error.message) or failures > MAX_RETRIES:
                    raise
                self.ctx.sleep(backoff(failures))

    def _dead_letter(self, failed: Sequence[Failed]) -> None:
        if not failed:
            return
        self.ctx.state.dead_letter(self.ctx.stream, failed)
        self.tally.dead_lettered += len(failed)
        for failure in failed:
            self.ctx.on_failure(failure)

    # --- Bulk API 2.0 ----------------------------------------------------------------------------

    def _bulk_add(self, record: Prepared) -> None:
        if self.bulk_file is None:
            self.bulk_file = _BulkFile(
                self.ctx.workdir / "bulk-upload.csv", self.ctx.mapper.columns
            )
            self.ctx.state.clear_staged()
        self.bulk_file.write(record, self.ctx.mapper.csv_row(record.payload))
        if len(self.bulk_file.staging) >= STAGE_BATCH:
            self.ctx.state.stage(self.bulk_file.take_staging())
        if self.bulk_file.size >= UPLOAD_LIMIT:
            self._run_bulk_file()

    def _run_bulk_file(self) -> None:
        """Load the spooled file as a job, then again the rows refused for a transient reason
        (as a new job, after a backoff), up to MAX_ROUNDS jobs."""
        assert self.bulk_file is not None
        self.tally.methods.add("bulk")
        current, self.bulk_file = self.bulk_file, None
        self.ctx.state.stage(current.take_staging())
        for round_number in itertools.count(1):
            current.close()
            again = self._run_job(current, last_round=round_number >= MAX_ROUNDS)
            current.path.unlink(missing_ok=True)
            if again is None:
                return
            self.ctx.sleep(backoff(round_number))
            current = again

    def _run_job(self, upload: _BulkFile, *, last_round: bool) -> _BulkFile | None:
        ctx = self.ctx
        ctx.guard.allow(BULK_CALLS)
        job = self.call(lambda: bulk.create_upsert_job(ctx.sf, ctx.object_name, ctx.key_field))
        ctx.state.job_started(ctx.stream, job.id, ctx.run_id)
        self.call(lambda: bulk.upload(ctx.conn, job.id, upload.path))
        self.call(lambda: bulk.close(ctx.sf, job.id))
        info = self._wait(job.id, upload.rows)
        if info.state != "JobComplete":
            raise OrgError(
                f"Bulk API job {job.id} for {ctx.object_name} ended {info.state}: "
                f"{info.error_message or 'no reason given'}",
                code="BULK_JOB_FAILED",
                hint="nothing of this job was kept as synced; fix the cause and run again",
            )
        again = None
        if info.failed:
            again = self._job_failures(job.id, last_round)
        self.tally.written += ctx.state.confirm_staged(ctx.stream)
        ctx.state.job_settled(job.id)
        return again

    def _wait(self, job_id: str, rows: int) -> bulk.JobInfo:
        """Poll until the job ends: first when the pace says it should be done, then as its
        progress extrapolates, so a job usually takes two polls."""
        ctx = self.ctx
        started = time.monotonic()
        wait = max(0.5, rows / ctx.pace.rows_per_second)
        while True:
            ctx.sleep(min(wait, MAX_POLL_SECONDS))
            info = self.call(lambda: bulk.job_info(ctx.sf, job_id))
            elapsed = time.monotonic() - started
            if info.finished:
                ctx.pace.learn(rows, elapsed)
                return info
            if info.processed:
                rate = info.processed / elapsed
                wait = (rows - info.processed) / rate * 1.1 + 0.2
            else:
                wait = max(1.0, elapsed / 2)

    def _job_failures(self, job_id: str, last_round: bool) -> _BulkFile | None:
        """Read the failed rows: dead-letter those refused for good, spool the others for
        another job. Returns that job's file, or None."""
        ctx = self.ctx
        failed_csv = ctx.workdir / "bulk-failed.csv"
        self.call(lambda: bulk.failed_rows(ctx.conn, job_id, failed_csv))
        again = _BulkFile(ctx.workdir / "bulk-retry.csv", ctx.mapper.columns)
        marks: list[tuple[str, bool]] = []
        dead: list[Failed] = []
        with failed_csv.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            key_column = header.index(ctx.mapper.columns[0])
            for row in reader:
                key = row[key_column]
                code, message, fields = _bulk_error(row[header.index("sf__Error")])
                retry = is_retryable(code, message) and not last_round
                marks.append((key, retry))
                if retry:
                    again.write_cells(row[2:])
                    continue
                staged = ctx.state.staged(key)
                payload = dict(zip(header[2:], row[2:], strict=False))
                dead.append(
                    Failed(
                        key,
                        payload,
                        code,
                        message,
                        fields,
                        staged[1] if staged else "",
                        staged[0] if staged else None,
                    )
                )
        failed_csv.unlink(missing_ok=True)
        ctx.state.job_failures(marks)
        self._dead_letter(dead)
        if not again.rows:
            again.close()
            again.path.unlink(missing_ok=True)
            return None
        return again


class _BulkFile:
    """A Bulk upload being spooled: the CSV file, its size in bytes as written, and the
    (key, hash, where) rows to stage."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.handle = path.open("wb")
        self.size = 0
        self.writer = csv.writer(_Sink(self.write_text), lineterminator="\n")
        self.writer.writerow(columns)
        self.rows = 0
        self.staging: list[tuple[str, bytes, str]] = []

    def write_text(self, line: str) -> None:
        data = line.encode("utf-8")
        self.handle.write(data)
        self.size += len(data)

    def write(self, record: Prepared, cells: Sequence[str]) -> None:
        self.writer.writerow(cells)
        self.rows += 1
        self.staging.append((record.key, record.hash, record.where))

    def write_cells(self, cells: Sequence[str]) -> None:
        self.writer.writerow(cells)
        self.rows += 1

    def take_staging(self) -> list[tuple[str, bytes, str]]:
        taken, self.staging = self.staging, []
        return taken

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()


class _Sink:
    """What csv.writer writes each line to."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write


def _transient(result: RowResult) -> bool:
    return bool(result.errors) and is_retryable(result.errors[0].code, result.errors[0].message)


def _failed(record: Prepared, result: RowResult) -> Failed:
    error = result.errors[0] if result.errors else None
    return Failed(
        record.key,
        record.payload,
        error.code if error else "UNKNOWN_EXCEPTION",
        error.message if error else "Salesforce refused the record without saying why",
        error.fields if error else (),
        record.where,
        record.hash,
    )


def _bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``CODE:message:field,field --`` as Bulk API writes ``sf__Error``."""
    body = text.removesuffix("--").strip()
    code, _, rest = body.partition(":")
    message, _, fields = rest.rpartition(":")
    if not message:  # no field part
        message, fields = rest, ""
    names = tuple(f for f in fields.split(",") if f)
    return code.strip() or "UNKNOWN_EXCEPTION", message.strip(), names
