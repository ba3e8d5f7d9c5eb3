"""Cursor values: compared as timestamps (ISO 8601 dates and date-times, any offset) or as
numbers, whichever the source writes, so ``2026-03-01T10:00:00+01:00`` sorts before
``2026-03-01T09:30:00Z`` as it should and ``10`` after ``9``. A run reads from the stored
cursor less the lookback window, with ``>=``, so records written late in the source are not
missed; their content hashes make reading one twice cost nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

Comparable = tuple[int, Any]  # (0, number) or (1, UTC timestamp): one kind per stream


class CursorError(ValueError):
    """A cursor value that is neither a timestamp nor a number."""


def parse(value: Any) -> Comparable:
    if isinstance(value, bool):
        raise CursorError(f"{value!r} is neither a date, a timestamp nor a number")
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, dt.datetime):
        return (1, _utc(value))
    if isinstance(value, dt.date):
        return (1, _utc(dt.datetime.combine(value, dt.time())))
    text = str(value).strip()
    try:
        return (0, int(text))
    except ValueError:
        pass
    try:
        return (0, float(text))
    except ValueError:
        pass
    try:
        return (1, _utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00"))))
    except ValueError:
        raise CursorError(
            f"{text!r} is neither an ISO 8601 date or timestamp nor a number"
        ) from None


def _utc(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def text(value: Comparable) -> str:
    """How a cursor is stored: numbers as written, timestamps in UTC ISO 8601."""
    kind, raw = value
    if kind == 0:
        return repr(raw) if isinstance(raw, float) else str(raw)
    return str(raw.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def lower_bound(stored: str | None, lookback_seconds: int) -> Comparable | None:
    """Where a run starts reading: the stored cursor, less the lookback for timestamps."""
    if stored is None:
        return None
    kind, raw = parse(stored)
    if kind == 1:
        return (1, raw - dt.timedelta(seconds=lookback_seconds))
    return (kind, raw)
