"""Reading the calendars for a stream: appointments, the attendees to create as Leads, or the
Events that mirror appointments.

What the source must remember between runs to tell a deleted event from one it was not asked
about (the CalDAV sync token, and for each calendar resource the appointment keys it gave and
when each starts) travels in the stream's ``Bookmark``: sftk keeps it only once every record
read before it is confirmed in Salesforce, so a run killed half-way reads the same changes
again. A key that disappears is a cancellation, unless it is an occurrence of a recurring
event that has only slipped out of the window into the past (then it is forgotten: the
appointment happened, or not, as Salesforce says).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sftk_scheduling import ics
from sftk_scheduling.calendars import (
    CalDavCalendar,
    CalendarFailure,
    Document,
    Fetch,
    IcsCalendar,
)
from sftk_scheduling.settings import Settings
from toolkit.errors import SourceError
from toolkit.sync.contract import (
    Bookmark,
    ReadRequest,
    RejectedRecord,
    SourceItem,
    SourceRecord,
    StreamSpec,
)

MEMORY_VERSION = 1
APPOINTMENTS, ATTENDEE_LEADS, EVENTS = "appointments", "attendee_leads", "events"

Calendar = IcsCalendar | CalDavCalendar
Memory = dict[str, Any]  # per calendar: token, and per resource its hash and {key: start}


@dataclass
class _Change:
    """An appointment key gone from its calendar, and where it was."""

    key: str
    start: str
    where: str


def calendars(settings: Settings, root: Path) -> list[Calendar]:
    found: list[Calendar] = []
    if settings.caldav_url:
        found.append(
            CalDavCalendar(
                settings.caldav_url, settings.caldav_username, settings.caldav_password_env
            )
        )
    found += [IcsCalendar(location, root) for location in settings.ics]
    return found


class Reader:
    """``read(stream, request)`` for the plugin's streams (``SourceSpec.read``)."""

    def __init__(
        self,
        settings: Settings,
        root: Path,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.root = root
        self.now = now
        self.floating = zoneinfo.ZoneInfo(settings.timezone) if settings.timezone else None

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceItem]:
        window = ics.Window.around(self.now(), self.settings.expand_days)
        memory = _memory(request.bookmark)
        kept: Memory = {}
        failures: list[CalendarFailure] = []
        emitted: set[str] = set()  # attendee e-mails already yielded (one Lead each)
        for calendar in calendars(self.settings, self.root):
            known = memory.get(calendar.name, {"token": None, "resources": {}})
            try:
                fetch = calendar.fetch(known.get("token"), _recurring(known["resources"]), window)
            except CalendarFailure as failure:
                failures.append(failure)
                kept[calendar.name] = known
                continue
            state: Memory = {"token": fetch.token, "resources": dict(known["resources"])}
            for where, found in self._calendar(fetch, state["resources"], window):
                yield from self._items(stream, where, found, emitted)
            kept[calendar.name] = state
        yield Bookmark(json.dumps({"v": MEMORY_VERSION, "calendars": kept}, sort_keys=True))
        if failures:
            raise SourceError(
                "; ".join(str(f) for f in failures),
                hint=failures[0].hint,
            )

    def _calendar(
        self, fetch: Fetch, resources: dict[str, Any], window: ics.Window
    ) -> Iterator[tuple[str, ics.Occurrence | _Change | RejectedRecord]]:
        """A calendar's new and changed appointments and its rejected events, then its
        deletions, each with where it is; ``resources`` (what the calendar held: per resource
        the hash of its text and its appointment keys) is brought up to date as it goes. An
        unchanged resource gives only the occurrences that entered the window."""
        seen: set[str] = set()
        gone: list[_Change] = []
        for document in fetch.documents:
            parsed = ics.split(document.text)
            if document.resource is not None:
                seen.add(document.resource)
            if parsed.problem:
                if document.resource is None:  # a whole file that is no calendar
                    rejected = RejectedRecord(
                        document.where,
                        f"calendar {document.where}: {parsed.problem}",
                        data={"calendar": document.where, "text": document.text[:20_000]},
                    )
                    seen.update(resources)  # read nothing: delete nothing
                else:
                    rejected = _rejected(document, None, parsed.problem, 1, document.text)
                yield rejected.where, rejected
                continue
            groups: dict[str, list[tuple[str | None, list[ics.Block]]]] = {}
            for uid, blocks in ics.walk(parsed):
                groups.setdefault(document.resource or uid or "", []).append((uid, blocks))
            for resource, members in groups.items():
                seen.add(resource)
                yield from self._resource(
                    document, parsed, resource, members, resources, gone, window
                )
        for href in fetch.deleted:
            entry = resources.pop(href, {})
            gone += [_Change(k, s, "deleted on the server") for k, s in _keys(entry).items()]
        if fetch.whole or fetch.within is not None:
            for resource in [r for r in resources if r not in seen]:
                keys = _keys(resources[resource])
                if fetch.within is not None:
                    inside = {k: s for k, s in keys.items() if _in(s, fetch.within)}
                    resources[resource]["keys"] = {k: s for k, s in keys.items() if k not in inside}
                else:
                    inside = _keys(resources.pop(resource))
                gone += [_Change(k, s, "deleted from the calendar") for k, s in inside.items()]
        for change in gone:
            if "#" in change.key and not _in(change.start, window):
                continue  # an occurrence the window no longer covers (now past): forgotten
            yield change.where, change

    def _resource(
        self,
        document: Document,
        parsed: ics.Parsed,
        resource: str,
        members: list[tuple[str | None, list[ics.Block]]],
        resources: dict[str, Any],
        gone: list[_Change],
        window: ics.Window,
    ) -> Iterator[tuple[str, ics.Occurrence | RejectedRecord]]:
        """One resource's appointments (a CalDAV object, or one UID of a file)."""
        digest = self._digest(parsed, members)
        before = resources.get(resource, {})
        known = _keys(before)
        same = before.get("hash") == digest
        if same and not any("#" in key for key in known):
            return  # an unchanged event: nothing new to tell
        keys: dict[str, str] = {}
        for uid, blocks in members:
            try:
                found = ics.occurrences(parsed, blocks, window, self.floating)
            except ics.EventError as exc:
                raw = "\r\n".join(line for block in blocks for line in block.lines)
                rejected = _rejected(document, uid, str(exc), exc.line, raw)
                yield rejected.where, rejected
                return  # kept as known: read again next time
            for occurrence in found:
                keys[occurrence.key] = ics.iso(occurrence.start)
                if not same or occurrence.key not in known:
                    yield f"{document.where}:{occurrence.line}", occurrence
        where = f"{document.where} ({resource})"
        gone += [_Change(k, s, where) for k, s in known.items() if k not in keys]
        resources[resource] = {"hash": digest, "keys": keys}

    def _digest(self, parsed: ics.Parsed, members: list[tuple[str | None, list[ics.Block]]]) -> str:
        """What a resource's appointments are made of: its events, the calendar's zones and
        properties, and the zone floating times are read in."""
        lines = [
            str(self.settings.timezone),
            *parsed.properties,
            *(line for tz in parsed.timezones for line in tz.lines),
            *(line for _, blocks in members for block in blocks for line in block.lines),
        ]
        return hashlib.blake2b("\n".join(lines).encode("utf-8"), digest_size=16).hexdigest()

    def _items(
        self,
        stream: StreamSpec,
        where: str,
        found: ics.Occurrence | _Change | RejectedRecord,
        emitted: set[str],
    ) -> Iterator[SourceItem]:
        if isinstance(found, RejectedRecord):
            if stream.name == APPOINTMENTS:  # one dead letter per broken event, not per stream
                yield found
            return
        if isinstance(found, _Change):
            if stream.name != ATTENDEE_LEADS:
                yield SourceRecord({"uid": found.key}, deleted=True, where=where)
            return
        if stream.name == APPOINTMENTS:
            yield SourceRecord(appointment(found), where=where)
        elif stream.name == EVENTS:
            deleted = found.status == ics.CANCELLED
            yield SourceRecord(event(found), deleted=deleted, where=where)
        elif stream.name == ATTENDEE_LEADS and found.attendee and found.status != ics.CANCELLED:
            email = found.attendee.lower()
            if email not in emitted:
                emitted.add(email)
                yield SourceRecord(attendee(found), where=where)


def appointment(o: ics.Occurrence) -> dict[str, Any]:
    return {
        "uid": o.key,
        "start": ics.iso(o.start),
        "end": ics.iso(o.end),
        "all_day": o.all_day,
        "status": o.status,
        "sequence": o.sequence,
        "subject": o.subject,
        "location": o.location,
        "description": o.description,
        "organizer_email": o.organizer,
        "attendee_email": o.attendee,
    }


def event(o: ics.Occurrence) -> dict[str, Any]:
    """A standard Event: an all-day one ends on its last day (Salesforce's end is inclusive,
    iCalendar's DTEND exclusive)."""
    end = o.end
    if o.all_day and isinstance(end, dt.date) and end > o.start:
        end = end - dt.timedelta(days=1)
    start_date = o.start.date() if isinstance(o.start, dt.datetime) else o.start
    return {
        "uid": o.key,
        "subject": o.subject,
        "start": ics.iso(o.start),
        "end": ics.iso(end),
        "all_day": o.all_day,
        "activity_date": start_date.isoformat(),
        "location": o.location,
        "description": o.description,
        "attendee_email": o.attendee,
    }


def attendee(o: ics.Occurrence) -> dict[str, Any]:
    """A Lead for an attendee: names from the attendee's CN (else the e-mail's local part),
    the company from the e-mail's domain, which an admin may map otherwise."""
    email = (o.attendee or "").lower()
    local, _, domain = email.partition("@")
    name = (o.attendee_name or "").strip()
    first, _, last = name.rpartition(" ")
    return {
        "email": email,
        "first_name": first.strip() or None,
        "last_name": last.strip() or local or email,
        "company": domain or email,
    }


def _rejected(
    document: Document, uid: str | None, reason: str, line: int, raw: str
) -> RejectedRecord:
    where = f"{document.where}:{line}"
    return RejectedRecord(
        where,
        f"calendar {document.where}, event {uid or '(no UID)'}, line {line}: {reason}",
        key=uid,
        data={"calendar": document.where, "uid": uid, "line": line, "text": raw[:20_000]},
    )


def _memory(bookmark: str | None) -> dict[str, Any]:
    if not bookmark:
        return {}
    try:
        data = json.loads(bookmark)
    except ValueError:
        return {}
    if not isinstance(data, Mapping) or data.get("v") != MEMORY_VERSION:
        return {}
    calendars = data.get("calendars")
    return dict(calendars) if isinstance(calendars, Mapping) else {}


def _keys(entry: Mapping[str, Any]) -> dict[str, str]:
    keys = entry.get("keys")
    return dict(keys) if isinstance(keys, Mapping) else {}


def _recurring(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Resources holding occurrences of a recurring event (their keys carry a RECURRENCE-ID)."""
    return sorted(r for r, entry in resources.items() if any("#" in k for k in _keys(entry)))


def _in(start: str, window: ics.Window) -> bool:
    return ics.iso(window.start) <= start <= ics.iso(window.end)
