"""The LMS's records as the plugin's sources read them, whichever the export (OneRoster CSV or
the plugin's own export): learners, courses, terms, offerings and enrollment rows, each with
where it was read, plus the rows that could not be read. Named tuples: a source makes one per
row, and 200,000 enrollments should cost little."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
STATUSES = ("Enrolled", "In Progress", "Completed", "Failed", "Unenrolled")
OUTCOMES = ("Completed", "Failed")


class Rejected(NamedTuple):
    """A row that cannot be used: dead-lettered with ``where`` and ``reason``."""

    where: str
    reason: str
    key: str | None = None
    data: dict[str, Any] | None = None


class Learner(NamedTuple):
    id: str
    first_name: str
    last_name: str
    email: str  # "" when the LMS has none
    organization: str
    where: str


class Course(NamedTuple):
    code: str  # the catalog id
    title: str
    description: str | None  # None: the export has no description column
    where: str


class Offering(NamedTuple):
    key: str
    course: str  # the course's code
    title: str
    term: str
    start: dt.date | None
    end: dt.date | None
    where: str


class EnrollmentRow(NamedTuple):
    """One enrollment row: ``active`` False is an unenrollment at ``changed`` (OneRoster's
    ``tobedeleted``, the export's Unenrolled). The export also says how far the learner got
    (``status`` In Progress, Completed or Failed at ``completed``, ``progress``, ``score``)."""

    key: str
    learner: str
    offering: str
    active: bool
    changed: dt.datetime | None
    begin: dt.datetime | None
    where: str
    status: str | None = None
    completed: dt.datetime | None = None
    progress: float | None = None
    score: float | None = None


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime (a date is its midnight UTC, a
    date-time without an offset is UTC)."""
    value = text.strip()
    if len(value) == 10:
        day = dt.date.fromisoformat(value)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def moment_text(moment: dt.datetime) -> str:
    """How moments are kept and sent: UTC, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def optional_moment(row: dict[str, str], column: str) -> dt.datetime | None:
    """The column's moment, None when blank; ValueError names the column."""
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return parse_moment(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not an ISO 8601 date or date-time") from None


def optional_date(row: dict[str, str], column: str) -> dt.date | None:
    moment = optional_moment(row, column)
    return None if moment is None else moment.date()


def optional_number(row: dict[str, str], column: str) -> float | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number") from None


def email_problem(email: str) -> str | None:
    if email and not EMAIL.match(email):
        return f"email {email!r} is not an email address"
    return None
