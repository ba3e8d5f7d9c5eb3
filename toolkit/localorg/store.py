"""All local-org state in one SQLite file under the state folder, so it survives restarts.

One connection per thread (SQLite connections are not shareable), WAL so readers never wait
for a deploy being written, and every change inside ``transaction()``. Modules that keep
state declare their tables with ``Store.register_schema`` before the store opens.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
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
        """One writer at a time, all-or-nothing."""
        db = self.connection()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

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
