"""Appointments from iCalendar files and URLs into the kit's local org: malformed calendars
refused event by event (calendar, UID and line named, the event kept in its dead letter),
times as RFC 5545 reads them, events removed from a file cancelled, a URL on loopback, and
sftk's contract suite."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_kit import PARIS, next_monday, vcalendar, vevent

from toolkit.sync.report import RunReport
from toolkit.sync.state import SyncState
from toolkit.testing.contract import BadRecord, PluginContract
from toolkit.testing.kit import KitProject

Records = Callable[..., list[dict[str, Any]]]
FIELDS = "External_Uid__c, Start__c, End__c, All_Day__c, Status__c, Subject__c"


def appointments(records: Records) -> dict[str, dict[str, Any]]:
    return {row["External_Uid__c"]: row for row in records("Appointment__c", FIELDS)}


def stream(report: RunReport, name: str) -> dict[str, Any]:
    return next(s for s in report.streams if s.stream == name).to_json()


def use(project: KitProject, text: str, **settings: Any) -> Path:
    path = project.root / "calendar.ics"
    path.write_text(text, encoding="utf-8", newline="")
    project.configure(settings={"scheduling": {"ics": ["calendar.ics"], **settings}})
    return path


def test_malformed_events_are_refused_one_by_one_and_the_rest_syncs(
    sftk_project: KitProject, sftk_records: Records
) -> None:
    start = next_monday()
    good = vevent("good-1", start)
    folded = vevent("folded-1", start, summary="A long\r\nline folded without its space")
    no_start = vevent("nostart-1", start).replace(f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\n", "")
    bad_tz = vevent("badtz-1", ";TZID=Atlantis/Capital:20270105T100000")
    bad_rule = vevent("rule-1", start, extra=["RRULE:FREQ=SOMETIMES;COUNT=3"])
    truncated = vevent("cut-1", start).split("SUMMARY")[0]
    text = vcalendar(good, folded, no_start, bad_tz, bad_rule).replace(
        "END:VCALENDAR\r\n", truncated
    )
    use(sftk_project, text)
    report = sftk_project.sync()
    assert report.status == "partial"
    assert set(appointments(sftk_records)) == {"good-1"}
    lines = text.split("\r\n")

    def line_of(marker: str) -> int:
        return next(i for i, line in enumerate(lines, start=1) if marker in line)

    expected = {
        "folded-1": f"line {line_of('line folded')}: line {line_of('line folded')} is not a "
        "content line (NAME:value): a folded line must start with a space",
        "nostart-1": f"line {line_of('UID:nostart-1') - 1}: the event has no DTSTART",
        "badtz-1": f"line {line_of('Atlantis')}: DTSTART names the unknown time zone "
        "TZID=Atlantis/Capital",
        "rule-1": f"line {line_of('FREQ=SOMETIMES')}: RRULE cannot be read",
        "cut-1": f"line {line_of('UID:cut-1') - 1}: truncated: BEGIN:VEVENT at line "
        f"{line_of('UID:cut-1') - 1} has no END:VEVENT",
    }
    failures = {f.key: f.message for f in report.failures}
    assert set(failures) == set(expected)
    for key, words in expected.items():
        assert failures[key].startswith(f"calendar calendar.ics, event {key}, {words}"), failures[
            key
        ]
    state = SyncState.open(sftk_project.root / ".sftk")
    try:
        letters = {d.key: d for d in state.dead_letters(None)}
    finally:
        state.close()
    assert "line folded without its space" in letters["folded-1"].payload["text"]
    assert letters["badtz-1"].location == f"calendar.ics:{line_of('Atlantis')}"
    again = sftk_project.sync()
    assert again.write_calls == 0


def test_times_are_read_as_rfc_5545_says(sftk_project: KitProject, sftk_records: Records) -> None:
    day = next_monday().date()
    text = vcalendar(
        vevent("utc-1", f":{day:%Y%m%d}T090000Z", f":{day:%Y%m%d}T100000Z"),
        vevent("paris-1", f";TZID=Europe/Paris:{day:%Y%m%d}T090000"),
        vevent("iana-1", f";TZID=America/New_York:{day:%Y%m%d}T090000"),
        vevent("floating-1", f":{day:%Y%m%d}T090000"),
        vevent(
            "allday-1", f";VALUE=DATE:{day:%Y%m%d}", f";VALUE=DATE:{day + dt.timedelta(2):%Y%m%d}"
        ),
        timezones=[PARIS],
    )
    use(sftk_project, text, timezone="Asia/Tokyo")
    sftk_project.sync()
    found = appointments(sftk_records)

    def start(uid: str) -> str:
        return str(found[uid]["Start__c"])

    def nine_in(zone: str) -> str:
        wall = dt.datetime.combine(day, dt.time(9), tzinfo=ZoneInfo(zone))
        return f"{wall.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}.000+0000"

    stamp = f"{day:%Y-%m-%d}"
    assert start("utc-1") == f"{stamp}T09:00:00.000+0000"
    assert start("paris-1") == nine_in("Europe/Paris")  # its VTIMEZONE
    assert start("iana-1") == nine_in("America/New_York")  # no VTIMEZONE: the IANA zone
    assert start("floating-1") == nine_in("Asia/Tokyo")  # floating: the timezone setting
    allday = found["allday-1"]
    assert (allday["All_Day__c"], start("allday-1")) == (True, f"{stamp}T00:00:00.000+0000")
    assert str(allday["End__c"]).startswith(f"{day + dt.timedelta(2):%Y-%m-%d}T00:00:00")


def test_an_event_removed_from_the_file_is_cancelled(
    sftk_project: KitProject, sftk_records: Records
) -> None:
    start = next_monday()
    path = use(sftk_project, vcalendar(vevent("keep-1", start), vevent("drop-1", start)))
    sftk_project.sync()
    assert sftk_project.sync().write_calls == 0
    path.write_text(vcalendar(vevent("keep-1", start)), encoding="utf-8")
    report = sftk_project.sync()
    assert stream(report, "appointments")["deleted"] == 1
    found = appointments(sftk_records)
    assert (found["drop-1"]["Status__c"], found["keep-1"]["Status__c"]) == (
        "Cancelled",
        "Scheduled",
    )


class _Serve(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path != "/team.ics":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def ics_server() -> Iterator[str]:
    """An http server on loopback serving /team.ics (``_Serve.body``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_calendar_url_is_read_and_one_that_fails_names_itself(
    sftk_project: KitProject, sftk_records: Records, ics_server: str
) -> None:
    _Serve.body = vcalendar(vevent("url-1", next_monday())).encode("utf-8")
    settings = {"ics": [f"{ics_server}/team.ics", f"{ics_server}/gone.ics?token=s3cret"]}
    sftk_project.configure(settings={"scheduling": settings})
    report = sftk_project.sync()
    assert set(appointments(sftk_records)) == {"url-1"}
    assert report.status == "failed"
    assert f"calendar {ics_server}/gone.ics: the server answered HTTP 404" in (report.error or "")
    assert "s3cret" not in (report.error or "")


def test_a_uid_in_two_calendars_loads_once(sftk_project: KitProject, sftk_records: Records) -> None:
    start = next_monday()
    (sftk_project.root / "a.ics").write_text(vcalendar(vevent("twin-1", start)), "utf-8")
    (sftk_project.root / "b.ics").write_text(vcalendar(vevent("twin-1", start)), "utf-8")
    sftk_project.configure(settings={"scheduling": {"ics": ["a.ics", "b.ics"]}})
    report = sftk_project.sync()
    assert [f.code for f in report.failures] == ["DUPLICATE_KEY"]
    assert list(appointments(sftk_records)) == ["twin-1"]


SAMPLE = {
    "s-1": {"summary": "Intake"},
    "s-2": {"summary": "Follow-up", "attendee": "bo@example.org", "attendee_name": "Bo Li"},
    "s-3": {"summary": "Check-in", "attendee": None},
}


def sample(folder: Path, extra: str = "") -> Path:
    start = next_monday()
    events = [
        vevent(uid, start + dt.timedelta(days=n), **options)
        for n, (uid, options) in enumerate(SAMPLE.items())
    ]
    path = folder / f"sample{'-bad' if extra else ''}.ics"
    path.write_text(vcalendar(*events, *([extra] if extra else [])), encoding="utf-8")
    return path


class TestSchedulingContract(PluginContract):
    plugin = "scheduling"
    bad_settings = (
        ({"ics": "one.ics"}, "ics"),
        ({"match": []}, "match"),
        ({"expand_days": -3}, "expand_days"),
    )

    @pytest.fixture
    def sftk_settings(self, tmp_path: Path) -> Mapping[str, Mapping[str, Any]]:
        return {"scheduling": {"ics": [str(sample(tmp_path))]}}

    @pytest.fixture
    def sftk_bad_record(self, tmp_path: Path) -> BadRecord:
        too_long = vevent("bad-1", next_monday(), summary="x" * 300, attendee=None)
        path = sample(tmp_path, too_long)
        return BadRecord("appointments", "bad-1", {"ics": [str(path)]})
