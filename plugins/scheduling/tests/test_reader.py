"""The calendar reader on its own, its clock set: what a moving window does to a recurring
series, and what the bookmark carries from one read to the next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from calendar_kit import vcalendar, vevent
from sftk_scheduling import model
from sftk_scheduling.reader import Reader
from sftk_scheduling.settings import Settings

from toolkit.sync.contract import Bookmark, ReadRequest, SourceItem, SourceRecord

MONDAY = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def read(reader: Reader, bookmark: str | None) -> tuple[dict[str, bool], str | None]:
    """Keys read (True: a deletion), and the bookmark kept."""
    stream = next(s for s in model.streams(reader.settings) if s.name == "appointments")
    items: Iterator[SourceItem] = iter(reader.read(stream, ReadRequest(bookmark=bookmark)))
    keys, kept = {}, None
    for item in items:
        if isinstance(item, Bookmark):
            kept = item.value
        elif isinstance(item, SourceRecord):
            keys[str(item.data["uid"])] = item.deleted
    return keys, kept


def test_a_moving_window_adds_occurrences_and_forgets_past_ones(tmp_path: Path) -> None:
    series = vevent("w", MONDAY, extra=["RRULE:FREQ=WEEKLY;COUNT=10"])
    (tmp_path / "c.ics").write_text(vcalendar(series), encoding="utf-8")
    clock = Clock(MONDAY)
    reader = Reader(Settings(ics=("c.ics",), expand_days=15), tmp_path, clock)
    first, bookmark = read(reader, None)
    assert sorted(first) == ["w#20260302T090000Z", "w#20260309T090000Z", "w#20260316T090000Z"]
    unchanged, bookmark = read(reader, bookmark)
    assert unchanged == {}
    clock.now = MONDAY + dt.timedelta(days=21)
    later, bookmark = read(reader, bookmark)
    assert later == {"w#20260323T090000Z": False, "w#20260330T090000Z": False,
                     "w#20260406T090000Z": False}  # fmt: skip
    smaller = Reader(Settings(ics=("c.ics",), expand_days=3), tmp_path, clock)
    assert read(smaller, bookmark)[0] == {}  # out of a smaller window: forgotten, not cancelled


def test_an_exdate_added_later_cancels_that_occurrence_only(tmp_path: Path) -> None:
    path = tmp_path / "c.ics"
    path.write_text(vcalendar(vevent("w", MONDAY, extra=["RRULE:FREQ=DAILY;COUNT=3"])), "utf-8")
    reader = Reader(Settings(ics=("c.ics",)), tmp_path, Clock(MONDAY))
    _, bookmark = read(reader, None)
    excluded = vevent("w", MONDAY, extra=["RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260303T090000Z"])
    path.write_text(vcalendar(excluded), "utf-8")
    changed, _ = read(reader, bookmark)
    assert changed["w#20260303T090000Z"] is True
    assert changed["w#20260302T090000Z"] is False  # the series changed: sent again, unchanged
