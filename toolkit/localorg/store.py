"""All local-org state in one SQLite file under the state folder, so it survives restarts.

One connection per thread (SQLite connections are not shareable), WAL so readers never wait
for a deploy being written, and every change inside ``transaction()``. Transactions nest on a
thread (savepoints), so a composite request can run every subrequest's writes in one
transaction and undo them all (``tentative()``). Modules that keep state declare their tables
with ``Store.register_schema`` before the store opens.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

_SCHEMAS: list[str] = []

BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_calls (day TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""


def register_schema(sql: str) -> None:
    """Add ``CREATE TABLE IF NOT EXISTS`` statements run whenever a store opens."""
    if sql not in _SCHEMAS:
        _SCHEMAS.append(sql)


register_schema(BASE_SCHEMA)


class _Discarded(Exception):
    """Raised at the end of a discarded ``tentative()`` block to roll it back."""


class Tentative:
    """The handle of a ``Store.tentative()`` block."""

    def __init__(self) -> None:
        self.discarded = False

    def discard(self) -> None:
        self.discarded = True


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        # executescript commits whatever is open first, so the script carries its own
        # transaction: all tables or none.
        with self._write_lock:
            self.connection().executescript(
                "BEGIN IMMEDIATE;\n" + "\n".join(_SCHEMAS) + "\nCOMMIT;"
            )

    def connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One writer at a time, all-or-nothing. Inside another transaction of the same thread
        this is a savepoint: a failure undoes only its own writes (and re-raises), success
        leaves them to the outermost transaction, which alone commits."""
        db = self.connection()
        with self._write_lock:
            depth: int = getattr(self._local, "depth", 0)
            savepoint = f"sftk_{depth}"
            db.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            self._local.depth = depth + 1
            try:
                yield db
            except BaseException:
                self._undo(db, depth, savepoint)
                raise
            finally:
                self._local.depth = depth
            try:
                db.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")
            except BaseException:
                # a failed COMMIT may leave the transaction open, which would refuse every
                # later BEGIN on this thread's connection
                with suppress(sqlite3.Error):
                    self._undo(db, depth, savepoint)
                raise

    @staticmethod
    def _undo(db: sqlite3.Connection, depth: int, savepoint: str) -> None:
        if depth == 0:
            db.execute("ROLLBACK")
        else:
            db.execute(f"ROLLBACK TO {savepoint}")
            db.execute(f"RELEASE {savepoint}")

    @contextmanager
    def tentative(self) -> Iterator[Tentative]:
        """A transaction whose owner decides at the end, without raising, whether it happened:
        ``discard()`` inside the block undoes every write made in it (nested transactions
        included) when the block ends; otherwise it commits as ``transaction()`` does."""
        handle = Tentative()
        with suppress(_Discarded), self.transaction():
            yield handle
            if handle.discarded:
                raise _Discarded

    def get(self, key: str, default: Any = None) -> Any:
        row = self.connection().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def put(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )

    def count_call(self, day: str) -> int:
        """Count one API call against the day's allowance; returns the day's total."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO api_calls (day, count) VALUES (?, 1) "
                "ON CONFLICT(day) DO UPDATE SET count = count + 1",
                (day,),
            )
            row = db.execute("SELECT count FROM api_calls WHERE day = ?", (day,)).fetchone()
        return int(row["count"])

    def calls(self, day: str) -> int:
        row = (
            self.connection()
            .execute("SELECT count FROM api_calls WHERE day = ?", (day,))
            .fetchone()
        )
        return 0 if row is None else int(row["count"])

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of a long read, streamed on a connection of their own: the caller may write
        on this thread's connection meanwhile, and nothing holds more than one row. Inside a
        transaction of this thread (a composite request's subrequests) the rows come from the
        thread's own connection, read in full first, so they include the uncommitted writes."""
        if getattr(self._local, "depth", 0):
            rows = self.connection().execute(sql, params).fetchall()
            yield from (tuple(row) for row in rows)
            return
        db = sqlite3.connect(self.path, timeout=30)
        try:
            yield from db.execute(sql, params)
        finally:
            db.close()
