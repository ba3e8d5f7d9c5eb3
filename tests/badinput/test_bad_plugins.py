"""The bundled plugins' own inputs through the installed ``sftk``: a calendar of the
scheduling plugin that is not UTF-8 text, or not a file at all (a pipe used to hang the
sync, a device to fill its memory); each refused as a source that cannot be read, naming the
calendar, and the appointment synced once the calendar is put right."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from badinput import Sftk, refused, tree

from toolkit.errors import ExitCode

SYNC = ("sync", "--org", "local")
CALENDAR = "cal/clinic.ics"


def _calendar(summary: bytes) -> bytes:
    lines = [
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        b"PRODID:-//sftk tests//EN",
        b"BEGIN:VEVENT",
        b"UID:visit-1",
        b"SUMMARY:" + summary,
        b"DTSTART:20261210T100000Z",
        b"DTEND:20261210T110000Z",
        b"END:VEVENT",
        b"END:VCALENDAR",
    ]
    return b"".join(line + b"\r\n" for line in lines)


@pytest.fixture
def scheduling(sftk: Sftk, project: Path) -> Path:
    """The project with the scheduling plugin reading one calendar file, deployed."""
    config = project / "sftk.toml"
    text = config.read_text().replace("enabled = []", 'enabled = ["scheduling"]', 1)
    config.write_text(text + f'\n[plugins.scheduling]\nics = ["{CALENDAR}"]\n')
    (project / "cal").mkdir()
    deployed = sftk("deploy", "--org", "local", cwd=project)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    return project


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (
            lambda path: path.write_bytes(_calendar("Café".encode("latin-1"))),
            f"{CALENDAR}:6: not UTF-8",
        ),
        (lambda path: path.write_text(_calendar(b"Cafe").decode(), encoding="utf-16"), "UTF-16"),
        (os.mkfifo, "not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "not a regular file"),
        (os.mkdir, "a folder"),
    ],
    ids=["latin-1", "utf-16", "fifo", "/dev/zero", "folder"],
)
def test_a_calendar_that_cannot_be_read(
    sftk: Sftk, scheduling: Path, make: Callable[[Path], object], why: str
) -> None:
    calendar = scheduling / CALENDAR
    make(calendar)
    printed = refused(
        sftk(*SYNC, cwd=scheduling, timeout=60),
        ExitCode.SOURCE_FAILED,
        f"stream scheduling.appointments: calendar {CALENDAR}",
        why,
    )
    assert "bug in plugin" not in printed
    assert "scheduling.appointments -> Appointment__c: read 0, written 0" in printed
    assert "; stream" not in printed  # each stream's error on its own line, with its hint
    calendar.rmdir() if calendar.is_dir() and not calendar.is_symlink() else calendar.unlink()
    calendar.write_bytes(_calendar(b"Cafe"))
    again = sftk(*SYNC, cwd=scheduling)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "scheduling.appointments -> Appointment__c: read 1, written 1" in again.stdout


def test_plugin_settings_that_are_not_utf8(sftk: Sftk, scheduling: Path) -> None:
    """The plugin's settings live in sftk.toml: a Latin-1 byte there names its line."""
    config = scheduling / "sftk.toml"
    text = config.read_bytes() + b'timezone = "Europe/Z\xfcrich"\n'
    config.write_bytes(text)
    line = text.count(b"\n")
    before = tree(scheduling)
    for command in (SYNC, ("mappings", "show", "--plugin", "scheduling", "--org", "local")):
        printed = refused(
            sftk(*command, cwd=scheduling), ExitCode.USAGE, f"sftk.toml:{line}: not UTF-8"
        )
        assert "save the file as UTF-8" in printed
    assert tree(scheduling) == before
