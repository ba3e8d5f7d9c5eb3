"""Plugins' own bookkeeping (``contract.SourceState``) in the sync state's SQLite file.

A stream's read writes into a staging table of its own (temporary: gone with the connection);
``SyncState.keep_position`` moves the staged writes into ``source_state`` in the transaction
that keeps the stream's cursor, so they are kept exactly when the cursor is, and a read that
stops half-way leaves the kept state as it was. Reads see the staged writes over the kept
ones. Writes are buffered in memory and staged a thousand at a time: a source that notes
something for each of 200,000 records pays for a few hundred statements, not 200,000.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

FLUSH_AT = 1_000  # buffered writes staged at once
PAGE = 500  # keys read per query while iterating
LOOKUP_BATCH = 500  # keys per IN (...) lookup
_TOP = "\U0010ffff"  # sorts after every other character: the end of a prefix's key range

SCHEMA = """
CREATE TABLE IF NOT EXISTS source_state (
    org_id TEXT NOT NULL,
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (org_id, plugin, key)
) WITHOUT ROWID;
"""
_STAGING = """
DROP TABLE IF EXISTS temp.source_staged;
CREATE TEMP TABLE source_staged (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
"""


class StagedSourceState:
    """One plugin's bookkeeping in one org, as one stream's read sees and changes it."""

    def __init__(self, db: sqlite3.Connection, org_id: str, plugin: str) -> None:
        self.db = db
        self.org_id = org_id
        self.plugin = plugin
        self.buffer: dict[str, str | None] = {}  # key -> JSON text, None when removed
        db.executescript(_STAGING)

    def get(self, key: str) -> Any:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        rest: list[str] = []
        for key in dict.fromkeys(keys):
            if key in self.buffer:
                text = self.buffer[key]
                if text is not None:
                    found[key] = json.loads(text)
            else:
                rest.append(key)
        for start in range(0, len(rest), LOOKUP_BATCH):
            part = rest[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            staged = dict(
                self.db.execute(
                    f"SELECT key, value FROM temp.source_staged WHERE key IN ({marks})", part
                ).fetchall()
            )
            kept = [key for key in part if key not in staged]
            if kept:
                marks = ",".join("?" * len(kept))
                staged.update(
                    self.db.execute(
                        f"SELECT key, value FROM source_state WHERE org_id = ? AND plugin = ? "
                        f"AND key IN ({marks})",
                        (self.org_id, self.plugin, *kept),
                    ).fetchall()
                )
            found.update({k: json.loads(v) for k, v in staged.items() if v is not None})
        return found

    def put(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"a state key is a non-empty string, not {key!r}")
        # Turned into JSON now, so a value that is not JSON fails at the put that wrote it.
        self.buffer[key] = None if value is None else _dumps(value)
        if len(self.buffer) >= FLUSH_AT:
            self.flush()

    def items(self, prefix: str = "", after: str | None = None) -> Iterator[tuple[str, Any]]:
        high = prefix + _TOP
        if after is not None and after < prefix:
            after = None
        while True:
            self.flush()
            low_op, low = (">", after) if after is not None else (">=", prefix)
            rows = self.db.execute(
                f"SELECT key, value FROM ("
                f"SELECT key, value FROM temp.source_staged WHERE key {low_op} ? AND key < ? "
                f"UNION ALL SELECT key, value FROM source_state WHERE org_id = ? AND plugin = ? "
                f"AND key {low_op} ? AND key < ? "
                f"AND key NOT IN (SELECT key FROM temp.source_staged)"
                f") ORDER BY key LIMIT {PAGE}",
                (low, high, self.org_id, self.plugin, low, high),
            ).fetchall()
            for key, value in rows:
                if value is not None:
                    yield key, json.loads(value)
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def flush(self) -> None:
        """Stage the buffered writes."""
        if not self.buffer:
            return
        rows = list(self.buffer.items())
        self.buffer.clear()
        self.db.execute("BEGIN")
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO temp.source_staged (key, value) VALUES (?, ?)", rows
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def keep(self, db: sqlite3.Connection) -> None:
        """Move the staged writes into the kept state, inside the caller's transaction."""
        rows = list(self.buffer.items())
        self.buffer.clear()
        db.executemany("INSERT OR REPLACE INTO temp.source_staged (key, value) VALUES (?, ?)", rows)
        db.execute(
            "DELETE FROM source_state WHERE org_id = ? AND plugin = ? "
            "AND key IN (SELECT key FROM temp.source_staged WHERE value IS NULL)",
            (self.org_id, self.plugin),
        )
        db.execute(
            "INSERT OR REPLACE INTO source_state (org_id, plugin, key, value) "
            "SELECT ?, ?, key, value FROM temp.source_staged WHERE value IS NOT NULL",
            (self.org_id, self.plugin),
        )
        db.execute("DELETE FROM temp.source_staged")


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"a state value must be JSON (lists, dicts, text, numbers): {exc}"
        ) from None
