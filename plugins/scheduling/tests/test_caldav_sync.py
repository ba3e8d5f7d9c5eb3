"""Appointments from a real CalDAV server (Radicale on loopback) into the kit's local org:
booking, rescheduling, cancelling, deleting on the server, unknown attendees, recurring series,
late updates, the sync-token fallback, and servers that fail."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_kit import (
    PARIS,
    Calendar,
    Radicale,
    free_port,
    next_monday,
    utc,
    vcalendar,
    vevent,
)

from toolkit.sync.report import RunReport
from toolkit.sync.state import SyncState
from toolkit.testing.kit import KitProject

FIELDS = (
    "Id, External_Uid__c, Start__c, End__c, Status__c, Sequence__c, Subject__c, "
    "Attendee_Email__c, Organizer_Email__c, Contact__c, Lead__c, All_Day__c"
)
Records = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def sftk_settings(calendar: Calendar) -> Mapping[str, Mapping[str, Any]]:
    return {"scheduling": calendar.settings()}


def appointments(records: Records) -> dict[str, dict[str, Any]]:
    return {row["External_Uid__c"]: row for row in records("Appointment__c", FIELDS)}


def stream(report: RunReport, name: str) -> dict[str, Any]:
    return next(s for s in report.streams if s.stream == name).to_json()


def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("+0000", "+00:00"))


def test_an_appointment_follows_its_event_from_booking_to_deletion(
    sftk_project: KitProject,
    contact: Callable[..., str],
    calendar: Calendar,
    sftk_records: Records,
) -> None:
    ann = contact(LastName="Smith", Email="Ann@Example.com")
    start = next_monday()
    calendar.put("visit", vcalendar(vevent("visit-1", start, start + dt.timedelta(hours=1))))
    calendar.put("call", vcalendar(vevent("call-1", start + dt.timedelta(days=1))))

    first = sftk_project.sync()
    assert first.status == "succeeded", first.to_json()
    booked = appointments(sftk_records)["visit-1"]
    assert booked["Contact__c"] == ann and booked["Lead__c"] is None
    assert (booked["Status__c"], booked["Sequence__c"]) == ("Scheduled", 0)
    assert instant(booked["Start__c"]) == start
    assert booked["Organizer_Email__c"] == "desk@clinic.example"

    assert sftk_project.sync().write_calls == 0

    moved = start + dt.timedelta(days=2, hours=3)
    calendar.put(
        "visit", vcalendar(vevent("visit-1", moved, moved + dt.timedelta(minutes=30), sequence=1))
    )
    sftk_project.sync()
    rescheduled = appointments(sftk_records)["visit-1"]
    assert rescheduled["Id"] == booked["Id"]
    assert (instant(rescheduled["Start__c"]), instant(rescheduled["End__c"])) == (
        moved,
        moved + dt.timedelta(minutes=30),
    )
    assert rescheduled["Status__c"] == "Rescheduled"

    calendar.put("visit", vcalendar(vevent("visit-1", moved, status="CANCELLED", sequence=2)))
    sftk_project.sync()
    assert appointments(sftk_records)["visit-1"]["Status__c"] == "Cancelled"

    calendar.delete("call")
    gone = sftk_project.sync()
    assert stream(gone, "appointments")["deleted"] == 1
    after = appointments(sftk_records)
    assert after["call-1"]["Status__c"] == "Cancelled"  # never deleted in Salesforce
    assert len(after) == 2


def test_an_older_sequence_arriving_late_changes_nothing(
    sftk_project: KitProject, calendar: Calendar, sftk_records: Records
) -> None:
    start = next_monday()
    calendar.put("late", vcalendar(vevent("late-1", start, sequence=3, summary="Final")))
    sftk_project.sync()
    calendar.put("late", vcalendar(vevent("late-1", start - dt.timedelta(days=1), sequence=1)))
    late = sftk_project.sync()
    assert stream(late, "appointments")["kept"] == 1 and late.write_calls == 0
    kept = appointments(sftk_records)["late-1"]
    assert (kept["Subject__c"], kept["Sequence__c"], instant(kept["Start__c"])) == (
        "Final",
        3,
        start,
    )


def test_an_unknown_attendee_becomes_a_lead_and_no_attendee_is_synced_unlinked(
    sftk_project: KitProject,
    contact: Callable[..., str],
    calendar: Calendar,
    sftk_records: Records,
) -> None:
    start = next_monday()
    calendar.put(
        "new",
        vcalendar(
            vevent("new-1", start, attendee="Bo.Jones@Example.org", attendee_name="Bo Jones")
        ),
    )
    calendar.put("alone", vcalendar(vevent("alone-1", start, attendee=None)))
    report = sftk_project.sync()
    [lead] = sftk_records("Lead", "Id, FirstName, LastName, Email, Company, Scheduling_Email__c")
    assert (lead["FirstName"], lead["LastName"], lead["Email"], lead["Company"]) == (
        "Bo",
        "Jones",
        "bo.jones@example.org",
        "example.org",
    )
    found = appointments(sftk_records)
    assert found["new-1"]["Lead__c"] == lead["Id"] and found["new-1"]["Contact__c"] is None
    assert (found["alone-1"]["Contact__c"], found["alone-1"]["Lead__c"]) == (None, None)
    warnings = stream(report, "appointments")["warnings"]
    assert any("no value in attendee_email" in w and "alone-1" in w for w in warnings), warnings
    again = sftk_project.sync()
    assert again.write_calls == 0  # nothing changed on the server: nothing read


def paris_time(monday: dt.date, day: int, hour: int = 10) -> str:
    """A wall-clock time in Paris, as iCalendar writes it without its TZID."""
    return f"{monday + dt.timedelta(days=day):%Y%m%d}T{hour:02d}0000"


def paris_utc(monday: dt.date, day: int, hour: int = 10) -> dt.datetime:
    wall = dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour))
    return wall.replace(tzinfo=ZoneInfo("Europe/Paris")).astimezone(dt.UTC)


def test_a_weekly_series_with_an_exdate_and_a_moved_occurrence(
    sftk_project: KitProject, calendar: Calendar, sftk_records: Records
) -> None:
    monday = next_monday().date()

    def at(day: int, hour: int = 10) -> str:
        return f";TZID=Europe/Paris:{paris_time(monday, day, hour)}"

    def key(day: int) -> str:
        return f"weekly-1#{utc(paris_utc(monday, day))}"

    def series(exdates: list[int], sequence: int) -> str:
        excluded = ",".join(paris_time(monday, day) for day in exdates)
        master = vevent(
            "weekly-1",
            at(0),
            at(0, 11),
            summary="Physio",
            sequence=sequence,
            extra=["RRULE:FREQ=WEEKLY;COUNT=5", f"EXDATE;TZID=Europe/Paris:{excluded}"],
        )
        moved = vevent(
            "weekly-1",
            at(15, 16),
            at(15, 17),
            summary="Physio (moved)",
            sequence=sequence,
            extra=[f"RECURRENCE-ID{at(14)}"],
        )
        return vcalendar(master, moved, timezones=[PARIS])

    calendar.put("weekly", series([7], 0))
    sftk_project.sync()
    found = appointments(sftk_records)
    assert set(found) == {key(day) for day in (0, 14, 21, 28)}
    shifted = found[key(14)]
    assert instant(shifted["Start__c"]) == paris_utc(monday, 15, 16)
    assert shifted["Status__c"] == "Rescheduled"
    regular = found[key(21)]
    assert instant(regular["Start__c"]) == paris_utc(monday, 21)
    assert regular["Status__c"] == "Scheduled"
    assert sftk_project.sync().write_calls == 0

    calendar.put("weekly", series([7, 21], 1))
    sftk_project.sync()
    after = appointments(sftk_records)
    assert after[key(21)]["Status__c"] == "Cancelled"
    assert after[key(28)]["Status__c"] == "Scheduled"


def test_a_broken_event_is_dead_lettered_by_calendar_uid_and_line_the_rest_syncs(
    sftk_project: KitProject, calendar: Calendar, sftk_records: Records
) -> None:
    start = next_monday()
    calendar.put("good", vcalendar(vevent("good-1", start)))
    calendar.put("badtz", vcalendar(vevent("badtz-1", ";TZID=Mars/Olympus_Mons:20270105T100000")))
    report = sftk_project.sync()
    assert report.status == "partial"
    [failure] = report.failures
    assert failure.key == "badtz-1" and failure.code == "SOURCE_INVALID"
    assert re.search(r"badtz\.ics, event badtz-1, line \d+: DTSTART names", failure.message)
    assert "unknown time zone TZID=Mars/Olympus_Mons" in failure.message
    assert calendar.url.split("//", 1)[1] in failure.message
    assert set(appointments(sftk_records)) == {"good-1"}


def test_a_forgotten_sync_token_falls_back_to_a_time_range_query(
    sftk_project: KitProject, calendar: Calendar, sftk_records: Records
) -> None:
    start = next_monday()
    calendar.put("one", vcalendar(vevent("one-1", start)))
    calendar.put("two", vcalendar(vevent("two-1", start + dt.timedelta(days=1))))
    sftk_project.sync()
    forget_tokens(sftk_project)
    calendar.delete("two")
    calendar.put("three", vcalendar(vevent("three-1", start + dt.timedelta(days=2))))
    report = sftk_project.sync()
    assert report.status == "succeeded", report.to_json()
    found = appointments(sftk_records)
    assert found["two-1"]["Status__c"] == "Cancelled"
    assert found["three-1"]["Status__c"] == "Scheduled"
    assert found["one-1"]["Status__c"] == "Scheduled"


def forget_tokens(project: KitProject) -> None:
    """Make every stream's stored sync token one the server never gave."""
    state = SyncState.open(project.root / ".sftk")
    try:
        for known in state.streams():
            if known.bookmark:
                memory = json.loads(known.bookmark)
                for calendar in memory["calendars"].values():
                    calendar["token"] = "http://radicale.org/ns/sync/not-a-token"
                state.keep_position(known, known.cursor, json.dumps(memory))
    finally:
        state.close()


def test_a_server_that_is_down_or_refuses_the_credentials_fails_its_calendar_only(
    sftk_project: KitProject,
    calendar: Calendar,
    radicale: Radicale,
    sftk_records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = next_monday()
    ics = sftk_project.root / "clinic.ics"
    ics.write_text(vcalendar(vevent("file-1", start)), encoding="utf-8")
    settings = calendar.settings(ics=["clinic.ics"])
    monkeypatch.setenv("SCHEDULING_TEST_CALDAV_PASSWORD", "wrong")
    sftk_project.configure(settings={"scheduling": settings})
    refused = sftk_project.sync()
    assert refused.status == "failed"
    assert "refused the credentials of frontdesk" in (refused.error or "")
    assert "wrong" not in (refused.error or "")
    assert set(appointments(sftk_records)) == {"file-1"}

    down = {**settings, "caldav_url": f"http://127.0.0.1:{free_port()}/frontdesk/x/"}
    sftk_project.configure(settings={"scheduling": down})
    unreachable = sftk_project.sync()
    assert unreachable.status == "failed"
    assert "cannot be read" in (unreachable.error or "")
    assert "127.0.0.1" in (unreachable.error or "")


def test_events_mirror_appointments_on_the_matched_person(
    sftk_new_project: KitProject,
    contact: Callable[..., str],
    calendar: Calendar,
    sftk_records: Records,
) -> None:
    sftk_new_project.configure(settings={"scheduling": calendar.settings(mirror_events=True)})
    sftk_new_project.deploy()
    sftk_new_project.reset()
    ann = contact(LastName="Smith", Email="ann@example.com")
    start = next_monday()
    calendar.put("visit", vcalendar(vevent("visit-1", start, start + dt.timedelta(hours=1))))
    calendar.put("nobody", vcalendar(vevent("nobody-1", start, attendee=None)))
    report = sftk_new_project.sync()
    assert report.status == "succeeded", report.to_json()
    [mirrored] = sftk_records("Event", "WhoId, Subject, StartDateTime, Appointment_Uid__c")
    assert (mirrored["WhoId"], mirrored["Appointment_Uid__c"]) == (ann, "visit-1")
    assert stream(report, "events")["kept"] == 1  # nobody to put it on
    calendar.put("visit", vcalendar(vevent("visit-1", start, status="CANCELLED", sequence=1)))
    sftk_new_project.sync()
    assert sftk_records("Event", "Id") == []
