"""What the scheduling tests share: iCalendar text made by the tests themselves, and a real
Radicale CalDAV server on loopback, started and stopped by a fixture (conftest.py)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import requests

USER, PASSWORD = "frontdesk", "correct horse battery staple"
PASSWORD_ENV = "SCHEDULING_TEST_CALDAV_PASSWORD"
PARIS = """BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE"""


def utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def next_monday(hour: int = 10) -> dt.datetime:
    """A Monday two to eight days ahead, at ``hour`` o'clock UTC, seconds cleared."""
    today = dt.datetime.now(dt.UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return today + dt.timedelta(days=7 - today.weekday() + 1)


def vevent(
    uid: str,
    start: dt.datetime | str,
    end: dt.datetime | str | None = None,
    *,
    summary: str = "Consultation",
    attendee: str | None = "ann@example.com",
    attendee_name: str | None = "Ann Smith",
    sequence: int = 0,
    status: str | None = None,
    extra: Sequence[str] = (),
) -> str:
    """One VEVENT; ``start`` and ``end`` a UTC datetime, or a property line's value part
    as written (``;TZID=Europe/Paris:20260105T100000``, ``;VALUE=DATE:20260105``)."""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z"]
    lines.append("DTSTART" + (f":{utc(start)}" if isinstance(start, dt.datetime) else start))
    if end is not None:
        lines.append("DTEND" + (f":{utc(end)}" if isinstance(end, dt.datetime) else end))
    lines += [f"SUMMARY:{summary}", "ORGANIZER;CN=Front Desk:mailto:desk@clinic.example"]
    if attendee:
        cn = f";CN={attendee_name}" if attendee_name else ""
        lines.append(f"ATTENDEE{cn};ROLE=REQ-PARTICIPANT:mailto:{attendee}")
    lines.append(f"SEQUENCE:{sequence}")
    if status:
        lines.append(f"STATUS:{status}")
    lines += [*extra, "END:VEVENT"]
    return "\r\n".join(lines)


def vcalendar(*events: str, timezones: Sequence[str] = ()) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//sftk tests//scheduling//EN"]
    return "\r\n".join([*head, *timezones, *events, "END:VCALENDAR", ""])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Radicale:
    """A Radicale CalDAV server on 127.0.0.1 with one user, its data in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "radicale",
                "--storage-filesystem-folder",
                str(folder / "collections"),
                "--server-hosts",
                f"127.0.0.1:{self.port}",
                "--auth-type",
                "htpasswd",
                "--auth-htpasswd-filename",
                str(users),
                "--auth-htpasswd-encryption",
                "plain",
                "--logging-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.session = requests.Session()
        self.session.auth = (USER, PASSWORD)
        self.session.trust_env = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Radicale did not start: {self.process.stderr!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("Radicale did not listen within 30 s")

    def stop(self) -> None:
        self.session.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def calendar(self) -> Calendar:
        """A new, empty calendar collection of the user."""
        url = f"{self.base}/{USER}/{uuid.uuid4().hex[:12]}/"
        answer = self.session.request("MKCALENDAR", url, timeout=30)
        assert answer.status_code == 201, answer.text
        return Calendar(self, url)


class Calendar:
    def __init__(self, server: Radicale, url: str) -> None:
        self.server = server
        self.url = url

    def put(self, name: str, text: str) -> None:
        answer = self.server.session.put(
            f"{self.url}{name}.ics",
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            timeout=30,
        )
        assert answer.status_code in (201, 204), answer.text

    def delete(self, name: str) -> None:
        answer = self.server.session.delete(f"{self.url}{name}.ics", timeout=30)
        assert answer.status_code in (200, 204), answer.text

    def settings(self, **more: object) -> dict[str, object]:
        return {
            "caldav_url": self.url,
            "caldav_username": USER,
            "caldav_password_env": PASSWORD_ENV,
            **more,
        }
