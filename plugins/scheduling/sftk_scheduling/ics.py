"""iCalendar text (RFC 5545) to appointments: one per event, or per occurrence of a recurring
one within the window.

The text is first cut into its components with their line numbers, checking each content
line as it goes, so that a malformed event (a line folded without its leading space, a
truncated file, a missing DTSTART, an unknown TZID, a broken RRULE) is refused on its own,
named by calendar, UID and line, while the others are read. Each event, with its overridden
occurrences and the calendar's time zones, is then parsed by ``icalendar`` and its
recurrences expanded by ``recurring_ical_events`` (RRULE, RDATE, EXDATE and RECURRENCE-ID
overrides, in the event's own time zone).

Times become UTC as RFC 5545 reads them: a UTC time as it is, a time with a TZID in that zone
(the calendar's VTIMEZONE, or the IANA zone of that name), a floating time (neither) in the
zone the settings or the calendar name; an all-day event keeps its dates.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import icalendar
import recurring_ical_events

CANCELLED, RESCHEDULED, SCHEDULED = "Cancelled", "Rescheduled", "Scheduled"
_CONTENT_LINE = re.compile(
    r'^[A-Za-z0-9-]+(?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)*:'
)
_TIMED = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
_NOT_PEOPLE = ("ROOM", "RESOURCE", "GROUP")


class EventError(ValueError):
    """An event that cannot be read; ``line`` is where in the calendar."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Block:
    """One component of a calendar as written: its kind (VEVENT, VTIMEZONE…), its lines (as
    written, folded), the line it begins on, its UID and what is wrong with it."""

    kind: str
    lines: tuple[str, ...]  # unfolded
    line: int
    uid: str | None = None
    problem: str | None = None
    problem_line: int = 0
    numbers: tuple[int, ...] = ()  # the line each of ``lines`` begins on


@dataclass
class Parsed:
    """A calendar cut into components: its events, time zones and calendar properties."""

    events: list[Block] = field(default_factory=list)
    timezones: list[Block] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)  # X-WR-TIMEZONE, METHOD…
    problem: str | None = None  # the text is no calendar at all


@dataclass(frozen=True)
class Occurrence:
    """An appointment: an event, or one occurrence of a recurring one."""

    key: str
    uid: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    status: str
    sequence: int
    subject: str
    location: str
    description: str
    organizer: str | None
    attendee: str | None
    attendee_name: str | None
    recurring: bool
    line: int

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)


def split(text: str) -> Parsed:
    """Cut the text into components, checking every content line."""
    parsed = Parsed()
    physical = re.split(r"\r\n|\n|\r", text)
    logical: list[tuple[int, str]] = []  # (line number, unfolded line)
    for number, line in enumerate(physical, start=1):
        if line[:1] in (" ", "\t") and logical:
            start, before = logical[-1]
            logical[-1] = (start, before + line[1:])
        elif line.strip():
            logical.append((number, line))
    depth, current, calendars = 0, None, 0
    lines: list[str] = []
    numbers: list[int] = []
    uid: str | None = None
    problem: tuple[str, int] | None = None
    for number, line in logical:
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        value = line.split(":", 1)[1] if ":" in line else ""
        if current is not None:
            lines.append(line)
            numbers.append(number)
        if not _CONTENT_LINE.match(line):
            reason = f"line {number} is not a content line (NAME:value): " + (
                "a folded line must start with a space"
                if ":" not in line
                else "its name or parameters are malformed"
            )
            if current is None and depth == 0:
                parsed.problem = reason
                return parsed
            if problem is None:
                problem = (reason, number)
            continue
        if name == "BEGIN":
            depth += 1
            if depth == 1:
                if value.upper() != "VCALENDAR":
                    parsed.problem = f"line {number}: BEGIN:{value} outside a VCALENDAR"
                    return parsed
                calendars += 1
            elif depth == 2:
                current, lines, numbers, uid, problem = value.upper(), [line], [number], None, None
                begun = number
        elif name == "END":
            depth -= 1
            if depth == 1 and current is not None:
                block_problem = problem or (
                    (f"line {number}: END:{value} closes BEGIN:{current}", number)
                    if value.upper() != current
                    else None
                )
                block = Block(
                    current,
                    tuple(lines),
                    begun,
                    uid,
                    block_problem[0] if block_problem else None,
                    block_problem[1] if block_problem else 0,
                    tuple(numbers),
                )
                (parsed.timezones if current == "VTIMEZONE" else parsed.events).append(block)
                current = None
            elif depth < 0:
                parsed.problem = f"line {number}: END:{value} without a BEGIN"
                return parsed
        elif current is not None and depth == 2 and name == "UID":
            uid = value.strip() or None
        elif depth == 1 and current is None:
            parsed.properties.append(line)
    if calendars == 0:
        parsed.problem = "no BEGIN:VCALENDAR: this is not an iCalendar file"
    elif current is not None:
        last = logical[-1][0] if logical else 0
        parsed.events.append(
            Block(
                current,
                tuple(lines),
                begun,
                uid,
                f"truncated: BEGIN:{current} at line {begun} has no END:{current} "
                f"(the calendar ends at line {last})",
                begun,
                tuple(numbers),
            )
        )
    return parsed


def group(events: Sequence[Block]) -> dict[str, list[Block]]:
    """Events by UID, in the order they first appear: a recurring event with its overridden
    occurrences are one group (RFC 5545 gives them one UID)."""
    groups: dict[str, list[Block]] = {}
    for block in events:
        if block.kind == "VEVENT" and block.uid:
            groups.setdefault(block.uid, []).append(block)
    return groups


@dataclass(frozen=True)
class Window:
    """Recurring events are expanded from ``start`` to ``end`` (UTC)."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def around(cls, now: dt.datetime, days: int) -> Window:
        span = dt.timedelta(days=days)
        return cls(now - span, now + span)


def occurrences(
    parsed: Parsed,
    blocks: Sequence[Block],
    window: Window,
    floating: dt.tzinfo | None,
) -> list[Occurrence]:
    """The appointments of one event (one UID): itself, or its occurrences in the window.
    Raises EventError for an event that cannot be read."""
    for block in blocks:
        if block.problem:
            raise EventError(block.problem, block.problem_line or block.line)
    calendar = _calendar(parsed, blocks)
    zone = floating or _calendar_zone(parsed) or dt.UTC
    components = calendar.walk("VEVENT")
    for component, block in zip(components, blocks, strict=True):
        _check(component, block, parsed)
    method = next((p.split(":", 1)[1].strip().upper() for p in parsed.properties
                   if p.upper().startswith("METHOD")), "")  # fmt: skip
    masters = [
        (c, b) for c, b in zip(components, blocks, strict=True) if c.get("RECURRENCE-ID") is None
    ]
    recurring = any(c.get("RRULE") or c.get("RDATE") for c, _ in masters)
    if not recurring:
        return [
            _occurrence(c, b, zone, method, with_id=c.get("RECURRENCE-ID") is not None)
            for c, b in zip(components, blocks, strict=True)
        ]
    line_of = {id(c): b.line for c, b in zip(components, blocks, strict=True)}
    try:
        expanded = list(
            recurring_ical_events.of(calendar).between(
                window.start.astimezone(zone).replace(tzinfo=None),
                window.end.astimezone(zone).replace(tzinfo=None),
            )
        )
    except Exception as exc:  # the library's errors for a rule it cannot follow
        raise EventError(f"its recurrence cannot be expanded: {exc}", blocks[0].line) from None
    found = []
    for item in expanded:
        line = line_of.get(id(item), _override_line(item, components, blocks))
        found.append(_occurrence(item, None, zone, method, with_id=True, line=line))
    return found


def _override_line(item: Any, components: Sequence[Any], blocks: Sequence[Block]) -> int:
    """The line of the override an occurrence comes from, else of the recurring event."""
    rid = item.get("RECURRENCE-ID")
    for component, block in zip(components, blocks, strict=True):
        theirs = component.get("RECURRENCE-ID")
        if rid is not None and theirs is not None and theirs.dt == rid.dt:
            return block.line
    master = next(
        (b for c, b in zip(components, blocks, strict=True) if c.get("RECURRENCE-ID") is None),
        blocks[0],
    )
    return master.line


def _calendar(parsed: Parsed, blocks: Sequence[Block]) -> icalendar.Calendar:
    text = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            *parsed.properties,
            *(line for tz in parsed.timezones for line in tz.lines),
            *(line for block in blocks for line in block.lines),
            "END:VCALENDAR",
            "",
        ]
    )
    return icalendar.Calendar.from_ical(text)


def _calendar_zone(parsed: Parsed) -> dt.tzinfo | None:
    for prop in parsed.properties:
        if prop.upper().startswith("X-WR-TIMEZONE"):
            name = prop.split(":", 1)[1].strip()
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                return None
    return None


def _line_of(block: Block, name: str) -> int:
    """The line where property ``name`` is written in the block (its first physical line)."""
    wanted = name.upper()
    for line, number in zip(block.lines, block.numbers, strict=True):
        if line.split(":", 1)[0].split(";", 1)[0].upper() == wanted:
            return number
    return block.line


def _check(component: Any, block: Block, parsed: Parsed) -> None:
    uid = block.uid
    if not uid:
        raise EventError("the event has no UID", block.line)
    for name, message in getattr(component, "errors", ()):
        where = _line_of(block, name) if name else block.line
        raise EventError(f"{name or 'a line'} cannot be read: {message}", where)
    if component.get("DTSTART") is None:
        raise EventError("the event has no DTSTART", block.line)
    known = {
        line.split(":", 1)[1].strip()
        for tz in parsed.timezones
        for line in tz.lines
        if line.upper().startswith("TZID")
    }
    for name in _TIMED:
        values = component.get(name)
        for value in values if isinstance(values, list) else [values]:
            if value is None:
                continue
            tzid = value.params.get("TZID")
            if tzid and tzid not in known and not _iana(tzid) and _naive(value):
                raise EventError(
                    f"{name} names the unknown time zone TZID={tzid} (no VTIMEZONE in the "
                    "calendar and no IANA zone of that name)",
                    _line_of(block, name),
                )


def _iana(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _naive(value: Any) -> bool:
    times = getattr(value, "dts", None)
    items = [t.dt for t in times] if times is not None else [value.dt]
    return any(isinstance(t, dt.datetime) and t.tzinfo is None for t in items)


def _utc(value: dt.datetime | dt.date, zone: dt.tzinfo) -> dt.datetime | dt.date:
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:  # floating: the wall-clock time wherever the reader is
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def stamp(value: dt.datetime | dt.date) -> str:
    """A RECURRENCE-ID as keys carry it: ``YYYYMMDDTHHMMSSZ`` in UTC, or ``YYYYMMDD``."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _end(component: Any, start: dt.datetime | dt.date) -> dt.datetime | dt.date:
    end = component.get("DTEND")
    if end is not None:
        return end.dt  # type: ignore[no-any-return]
    duration = component.get("DURATION")
    if duration is not None:
        return start + duration.dt  # type: ignore[no-any-return]
    if isinstance(start, dt.datetime):
        return start  # RFC 5545 3.6.1: a timed event without an end ends when it starts
    return start + dt.timedelta(days=1)  # an all-day event without an end lasts that day


def _email(address: Any) -> str | None:
    text = str(address or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    return text or None


def _attendee(component: Any) -> tuple[str | None, str | None]:
    """The first attendee who is a person other than the organizer: (e-mail, name)."""
    organizer = _email(component.get("ORGANIZER"))
    attendees = component.get("ATTENDEE")
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if attendee is None:
            continue
        if str(attendee.params.get("CUTYPE", "INDIVIDUAL")).upper() in _NOT_PEOPLE:
            continue
        email = _email(attendee)
        if email is None or (organizer and email.lower() == organizer.lower()):
            continue
        name = attendee.params.get("CN")
        return email, str(name) if name else None
    return None, None


def _occurrence(
    component: Any,
    block: Block | None,
    zone: dt.tzinfo,
    method: str,
    *,
    with_id: bool,
    line: int | None = None,
) -> Occurrence:
    uid = str(component.get("UID"))
    raw_start = component["DTSTART"].dt
    start = _utc(raw_start, zone)
    end = _utc(_end(component, raw_start), zone)
    rid = component.get("RECURRENCE-ID")
    key = uid
    status = SCHEDULED
    if with_id and rid is not None:
        rid_value = _utc(rid.dt, zone)
        key = f"{uid}#{stamp(rid_value)}"
        if rid_value != start:
            status = RESCHEDULED  # an occurrence moved from its place in the series
    if str(component.get("STATUS", "")).upper() == "CANCELLED" or method == "CANCEL":
        status = CANCELLED
    email, name = _attendee(component)
    organizer = _email(component.get("ORGANIZER"))
    try:
        sequence = int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    return Occurrence(
        key=key,
        uid=uid,
        start=start,
        end=end,
        status=status,
        sequence=sequence,
        subject=str(component.get("SUMMARY", "")),
        location=str(component.get("LOCATION", "")),
        description=str(component.get("DESCRIPTION", "")),
        organizer=organizer,
        attendee=email,
        attendee_name=name,
        recurring=with_id,
        line=line if line is not None else (block.line if block else 0),
    )


def iso(value: dt.datetime | dt.date) -> str:
    """A start or end as sftk writes DateTime fields: UTC; an all-day date at midnight UTC,
    so the date stays the event's whatever the zone."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"


def walk(parsed: Parsed) -> Iterator[tuple[str | None, list[Block]]]:
    """Each event group (by UID), and the events without a UID on their own (None)."""
    yield from group(parsed.events).items()
    for block in parsed.events:
        if block.kind == "VEVENT" and not block.uid:
            yield None, [block]
