"""What the sync engine remembers between runs, in SQLite under the project's ``.sftk/``.

Per org Id, plugin and stream: the cursor and bookmark, a content hash per record key (so an
unchanged record is never sent again), the dead letters (records Salesforce refused for good,
with its error), Bulk API jobs in flight; per org Id and plugin, the plugin's own bookkeeping
(``source_state``); and per run its report. A hash is written only
after Salesforce confirmed the record's write, and a cursor or bookmark only once every
record read before it is confirmed or dead-lettered, each in one transaction: a run killed at
any instant leaves state that a new run completes without duplicates (upserts by External ID
are idempotent) and without losing a record.

The folder and file are private (0700 / 0600): dead letters hold record payloads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError, UsageError
from toolkit.fsio import unwritable
from toolkit.sync.report import RunReport
from toolkit.sync.source_state import SCHEMA as SOURCE_STATE_SCHEMA
from toolkit.sync.source_state import StagedSourceState

STATE_FILE = "sync.sqlite3"
LOCK_FILE = "sync.lock"
LOOKUP_BATCH = 500  # keys per IN (...) lookup: SQLite allows 32,766 parameters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY,
    org_id TEXT NOT NULL,
    plugin TEXT NOT NULL,
    stream TEXT NOT NULL,
    cursor TEXT,
    bookmark TEXT,
    UNIQUE (org_id, plugin, stream)
);
CREATE TABLE IF NOT EXISTS records (
    stream_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    hash BLOB NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    stream_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    hash BLOB,
    payload TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    fields TEXT NOT NULL,
    location TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (stream_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bulk_jobs (
    job_id TEXT PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    org_id TEXT,
    kind TEXT NOT NULL,
    local INTEGER NOT NULL,
    org_is_sandbox INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL,
    plugins TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    report TEXT
);
"""


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class StreamState:
    id: int
    org_id: str
    plugin: str
    stream: str
    cursor: str | None
    bookmark: str | None


@dataclass(frozen=True)
class DeadLetter:
    plugin: str
    stream: str
    key: str
    payload: dict[str, Any]
    code: str
    message: str
    fields: tuple[str, ...]
    location: str
    attempts: int
    first_at: str
    last_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "stream": self.stream,
            "key": self.key,
            "payload": self.payload,
            "code": self.code,
            "message": self.message,
            "fields": list(self.fields),
            "where": self.location,
            "attempts": self.attempts,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


@dataclass(frozen=True)
class Failed:
    """A record to dead-letter: its key, what was (or would have been) sent, the error."""

    key: str
    payload: dict[str, Any]
    code: str
    message: str
    fields: tuple[str, ...] = ()
    location: str = ""
    hash: bytes | None = None


@dataclass(frozen=True)
class RunRow:
    id: str
    org: str
    org_id: str | None
    kind: str
    local: bool
    org_is_sandbox: bool
    mode: str
    plugins: tuple[str, ...]
    status: str
    started: str
    report: RunReport | None


class SyncState:
    """The state store of one project. Open it with ``SyncState.open(state_dir)``; every
    method commits before it returns, so what it says it stored survives a kill."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> SyncState:
        path = state_dir / STATE_FILE
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fresh = not path.exists()
            if fresh:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA + SOURCE_STATE_SCHEMA)
            # private, and no more writable than its owner left it
            os.chmod(state_dir, stat.S_IMODE(state_dir.stat().st_mode) & 0o700)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"{path}: the sync state cannot be opened ({exc})",
                hint="check that .sftk/ is writable and the disk has room; if the file is "
                "damaged, move it away "
                "(the next sync then compares every record again, writing only what differs "
                "with --reconcile)",
            ) from None
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One sync at a time per project: two runs writing the same streams would each
        trust hashes the other is still confirming."""
        try:
            import fcntl  # Unix; elsewhere runs are not serialised
        except ImportError:
            yield
            return
        with unwritable(self.path.parent / LOCK_FILE, "nothing was synced"):
            handle = (self.path.parent / LOCK_FILE).open("a")
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise UsageError(
                    "another sftk sync is running in this project",
                    hint="wait for it to end (sftk runs shows it), then run again",
                ) from None
            try:
                self._close_abandoned_runs()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _close_abandoned_runs(self) -> None:
        """Runs still marked running when no sync holds the lock were killed."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing; a state that cannot be written (a read-only or full disk) is an
        error naming the file, as what the org was sent is then known only to the org."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                with suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            raise ConfigError(
                f"{self.path}: the sync state cannot be written ({exc})",
                hint="make .sftk/ and its files writable, or free disk space; records sent "
                "before this are in the org, and the next sync may send them again, which "
                "upserts by External ID make harmless",
            ) from None

    # --- streams -------------------------------------------------------------------------------

    def stream(self, org_id: str, plugin: str, stream: str) -> StreamState:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO streams (org_id, plugin, stream) VALUES (?, ?, ?)",
                (org_id, plugin, stream),
            )
            row = db.execute(
                "SELECT id, cursor, bookmark FROM streams "
                "WHERE org_id = ? AND plugin = ? AND stream = ?",
                (org_id, plugin, stream),
            ).fetchone()
        return StreamState(int(row[0]), org_id, plugin, stream, row[1], row[2])

    def existing_stream(self, org_id: str, plugin: str, stream: str) -> StreamState | None:
        """The stream's state if a run ever made it (read-only: dry runs use this)."""
        found = [s for s in self.streams(org_id) if (s.plugin, s.stream) == (plugin, stream)]
        return found[0] if found else None

    def streams(self, org_id: str | None = None) -> list[StreamState]:
        sql = "SELECT id, org_id, plugin, stream, cursor, bookmark FROM streams"
        rows = self.db.execute(
            sql + (" WHERE org_id = ?" if org_id else "") + " ORDER BY org_id, plugin, stream",
            (org_id,) if org_id else (),
        )
        return [StreamState(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def keep_position(
        self,
        stream: StreamState,
        cursor: str | None,
        bookmark: str | None,
        source_state: StagedSourceState | None = None,
    ) -> None:
        """Store where the next run starts, and what the plugin wrote to its own state while
        the stream was read; only called once the stream's records are settled."""
        with self.transaction() as db:
            db.execute(
                "UPDATE streams SET cursor = ?, bookmark = ? WHERE id = ?",
                (cursor, bookmark, stream.id),
            )
            if source_state is not None:
                source_state.keep(db)

    def source_state(self, org_id: str, plugin: str) -> StagedSourceState:
        """The plugin's own state as a stream's read sees it, with nothing staged yet."""
        return StagedSourceState(self.db, org_id, plugin)

    # --- record hashes -------------------------------------------------------------------------

    def hashes(self, stream: StreamState, keys: Sequence[str]) -> dict[str, tuple[bytes, bool]]:
        """Stored (hash, deleted) by key, for the keys that have one."""
        found: dict[str, tuple[bytes, bool]] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            part = keys[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            for key, digest, deleted in self.db.execute(
                f"SELECT key, hash, deleted FROM records WHERE stream_id = ? AND key IN ({marks})",
                (stream.id, *part),
            ):
                found[key] = (bytes(digest), bool(deleted))
        return found

    def confirm(
        self, stream: StreamState, written: Iterable[tuple[str, bytes]], *, deleted: bool = False
    ) -> None:
        """Salesforce confirmed these writes: keep their hashes, clear their dead letters."""
        rows = [(stream.id, key, digest, int(deleted)) for key, digest in written]
        if not rows:
            return
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO records (stream_id, key, hash, deleted) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "DELETE FROM dead_letters WHERE stream_id = ? AND key = ?",
                [(stream.id, row[1]) for row in rows],
            )

    def forget(self, stream: StreamState, keys: Iterable[str]) -> None:
        """Records deleted in Salesforce (or never to be tracked again)."""
        with self.transaction() as db:
            db.executemany(
                "DELETE FROM records WHERE stream_id = ? AND key = ?",
                [(stream.id, key) for key in keys],
            )

    def known_keys(self, stream: StreamState) -> Iterator[str]:
        """Every key with a live record, in key order, read lazily."""
        cursor = self.db.execute(
            "SELECT key FROM records WHERE stream_id = ? AND deleted = 0 ORDER BY key",
            (stream.id,),
        )
        yield from (row[0] for row in cursor)

    def count(self, stream: StreamState) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM records WHERE stream_id = ? AND deleted = 0", (stream.id,)
        ).fetchone()
        return int(row[0])

    # --- one run's scratch tables (temporary: gone with the connection) ----------------------

    def begin_stream_run(self) -> None:
        """Fresh scratch tables for a stream: keys seen in this read, and rows of the Bulk job
        being loaded with the hashes to keep once Salesforce confirms them."""
        self.db.executescript(
            """
            DROP TABLE IF EXISTS temp.seen;
            CREATE TEMP TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
            DROP TABLE IF EXISTS temp.staged;
            CREATE TEMP TABLE staged (key TEXT PRIMARY KEY, hash BLOB, location TEXT);
            DROP TABLE IF EXISTS temp.job_failed;
            CREATE TEMP TABLE job_failed (key TEXT PRIMARY KEY, retry INTEGER NOT NULL);
            """
        )

    def already_seen(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys this read yielded before; then marks them all seen."""
        found: set[str] = set()
        for start in range(0, len(keys), LOOKUP_BATCH):
            part = keys[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            found.update(
                row[0]
                for row in self.db.execute(f"SELECT key FROM seen WHERE key IN ({marks})", part)
            )
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO seen (key) VALUES (?)", [(k,) for k in keys])
        return found

    def unseen_keys(self, stream: StreamState) -> list[str]:
        """Live records this read did not yield: deleted in a source read whole."""
        rows = self.db.execute(
            "SELECT key FROM records WHERE stream_id = ? AND deleted = 0 "
            "AND key NOT IN (SELECT key FROM temp.seen) ORDER BY key",
            (stream.id,),
        )
        return [row[0] for row in rows]

    def drop_unseen_dead_letters(self, stream: StreamState) -> None:
        """Dead letters of records the source no longer has: nothing is left to retry."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM dead_letters WHERE stream_id = ? "
                "AND key NOT IN (SELECT key FROM temp.seen)",
                (stream.id,),
            )

    def stage(self, rows: Sequence[tuple[str, bytes, str]]) -> None:
        """(key, hash, where) of rows written to the Bulk job file being built."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO staged (key, hash, location) VALUES (?, ?, ?)", rows
            )

    def staged(self, key: str) -> tuple[bytes, str] | None:
        row = self.db.execute("SELECT hash, location FROM staged WHERE key = ?", (key,)).fetchone()
        return None if row is None else (bytes(row[0]), row[1])

    def job_failures(self, rows: Sequence[tuple[str, bool]]) -> None:
        """Keys of the Bulk job's failed rows, and whether each is worth another try."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO job_failed (key, retry) VALUES (?, ?)",
                [(key, int(retry)) for key, retry in rows],
            )

    def confirm_staged(self, stream: StreamState) -> int:
        """The Bulk job ended: keep the hashes of its rows that did not fail, and leave staged
        only the rows to try again. Returns how many were confirmed."""
        with self.transaction() as db:
            confirmed = db.execute(
                "INSERT OR REPLACE INTO records (stream_id, key, hash, deleted) "
                "SELECT ?, key, hash, 0 FROM staged "
                "WHERE key NOT IN (SELECT key FROM job_failed)",
                (stream.id,),
            ).rowcount
            db.execute(
                "DELETE FROM dead_letters WHERE stream_id = ? AND key IN "
                "(SELECT key FROM staged WHERE key NOT IN (SELECT key FROM job_failed))",
                (stream.id,),
            )
            db.execute(
                "DELETE FROM staged WHERE key NOT IN (SELECT key FROM job_failed WHERE retry = 1)"
            )
            db.execute("DELETE FROM job_failed")
        return int(confirmed)

    def clear_staged(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM staged")
            db.execute("DELETE FROM job_failed")

    # --- dead letters --------------------------------------------------------------------------

    def dead_letter(self, stream: StreamState, failures: Sequence[Failed]) -> None:
        if not failures:
            return
        at = now()
        with self.transaction() as db:
            for f in failures:
                db.execute(
                    "INSERT INTO dead_letters (stream_id, key, hash, payload, code, message, "
                    "fields, location, attempts, first_at, last_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
                    "ON CONFLICT (stream_id, key) DO UPDATE SET hash = excluded.hash, "
                    "payload = excluded.payload, code = excluded.code, "
                    "message = excluded.message, fields = excluded.fields, "
                    "location = excluded.location, attempts = attempts + 1, "
                    "last_at = excluded.last_at",
                    (
                        stream.id,
                        f.key,
                        f.hash,
                        json.dumps(f.payload, sort_keys=True, default=str),
                        f.code,
                        f.message,
                        json.dumps(list(f.fields)),
                        f.location,
                        at,
                        at,
                    ),
                )
                # A record that failed is no longer known to be in Salesforce as hashed.
                db.execute(
                    "DELETE FROM records WHERE stream_id = ? AND key = ? AND deleted = 0",
                    (stream.id, f.key),
                )

    def dead_letter_hashes(self, stream: StreamState, keys: Sequence[str]) -> dict[str, bytes]:
        """The hash each of these keys had when it was dead-lettered: a record unchanged since
        is not sent again by a plain run (``sftk deadletters retry`` does that)."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            part = keys[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            for key, digest in self.db.execute(
                f"SELECT key, hash FROM dead_letters "
                f"WHERE stream_id = ? AND hash IS NOT NULL AND key IN ({marks})",
                (stream.id, *part),
            ):
                found[key] = bytes(digest)
        return found

    def dead_letters(
        self, org_id: str | None, plugin: str | None = None, stream: str | None = None
    ) -> list[DeadLetter]:
        sql = (
            "SELECT s.plugin, s.stream, d.key, d.payload, d.code, d.message, d.fields, "
            "d.location, d.attempts, d.first_at, d.last_at FROM dead_letters d "
            "JOIN streams s ON s.id = d.stream_id WHERE 1 = 1"
        )
        params: list[Any] = []
        for column, value in (("s.org_id", org_id), ("s.plugin", plugin), ("s.stream", stream)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        rows = self.db.execute(sql + " ORDER BY s.plugin, s.stream, d.key", params)
        return [
            DeadLetter(
                r[0],
                r[1],
                r[2],
                json.loads(r[3]),
                r[4],
                r[5],
                tuple(json.loads(r[6])),
                r[7],
                int(r[8]),
                r[9],
                r[10],
            )
            for r in rows
        ]

    def dead_letter_keys(self, stream: StreamState) -> frozenset[str]:
        rows = self.db.execute("SELECT key FROM dead_letters WHERE stream_id = ?", (stream.id,))
        return frozenset(row[0] for row in rows)

    def purge(
        self, org_id: str | None, plugin: str | None = None, stream: str | None = None
    ) -> int:
        letters = self.dead_letters(org_id, plugin, stream)
        ids = {
            (s.plugin, s.stream): s.id
            for s in self.streams(org_id)
            if (plugin is None or s.plugin == plugin) and (stream is None or s.stream == stream)
        }
        with self.transaction() as db:
            for letter in letters:
                db.execute(
                    "DELETE FROM dead_letters WHERE stream_id = ? AND key = ?",
                    (ids[(letter.plugin, letter.stream)], letter.key),
                )
        return len(letters)

    # --- Bulk API jobs in flight -----------------------------------------------------------------

    def job_started(self, stream: StreamState, job_id: str, run_id: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO bulk_jobs (job_id, stream_id, run_id, created_at) "
                "VALUES (?, ?, ?, ?)",
                (job_id, stream.id, run_id, now()),
            )

    def job_settled(self, job_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM bulk_jobs WHERE job_id = ?", (job_id,))

    def jobs_in_flight(self, stream: StreamState) -> list[str]:
        rows = self.db.execute(
            "SELECT job_id FROM bulk_jobs WHERE stream_id = ? ORDER BY created_at", (stream.id,)
        )
        return [row[0] for row in rows]

    # --- runs ----------------------------------------------------------------------------------

    def run_started(
        self,
        run_id: str,
        *,
        org: str,
        org_id: str | None,
        kind: str,
        local: bool,
        org_is_sandbox: bool,
        mode: str,
        plugins: Sequence[str],
        started: str,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs (id, org, org_id, kind, local, org_is_sandbox, mode, plugins, "
                "status, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
                (
                    run_id,
                    org,
                    org_id,
                    kind,
                    int(local),
                    int(org_is_sandbox),
                    mode,
                    json.dumps(list(plugins)),
                    started,
                ),
            )

    def run_finished(self, report: RunReport) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, report = ? WHERE id = ?",
                (report.status, json.dumps(report.to_json(), sort_keys=True), report.run_id),
            )

    def org_ids(self, profile: str) -> tuple[str, ...]:
        """Every org Id the org profile ``profile`` synced into (a profile may be pointed at
        another org over time)."""
        rows = self.db.execute(
            "SELECT DISTINCT org_id FROM runs WHERE org = ? AND org_id IS NOT NULL ORDER BY 1",
            (profile,),
        )
        return tuple(row[0] for row in rows)

    def runs(self, run_id: str | None = None, limit: int | None = None) -> list[RunRow]:
        sql = (
            "SELECT id, org, org_id, kind, local, org_is_sandbox, mode, plugins, status, "
            "started, report FROM runs"
        )
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE id = ? OR id LIKE ?"
            params = (run_id, run_id + "%")
        sql += " ORDER BY started DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            RunRow(
                id=r[0],
                org=r[1],
                org_id=r[2],
                kind=r[3],
                local=bool(r[4]),
                org_is_sandbox=bool(r[5]),
                mode=r[6],
                plugins=tuple(json.loads(r[7])),
                status=r[8],
                started=r[9],
                report=None if r[10] is None else RunReport.from_json(json.loads(r[10])),
            )
            for r in self.db.execute(sql, params)
        ]
