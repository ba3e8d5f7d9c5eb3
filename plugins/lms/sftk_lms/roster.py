"""The roster: who the learners are, the course catalog, the offerings (classes in terms) and
who is enrolled where, read from an IMS OneRoster 1.1 CSV export or from the plugin's own
export format, into the plugin's model (``sftk_lms.model``).

A delta export names only what changed, so what earlier exports said is remembered in the
plugin's state (``usr/`` learners' emails, ``cls/`` offerings' courses and dates, ``crs/``
OneRoster course ids, ``trm/`` terms, ``org/`` organisations): an enrollment naming a learner
of last month's bulk export is not unknown. Every read of the roster stages what it learnt;
sftk keeps it once the stream being read is settled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sftk_lms.model import (
    OUTCOMES,
    STATUSES,
    Course,
    EnrollmentRow,
    Learner,
    Offering,
    Rejected,
    email_problem,
    optional_date,
    optional_moment,
    optional_number,
)
from sftk_lms.tables import Files, Row, csv_rows, jsonl_rows
from toolkit.errors import SourceError
from toolkit.sync.contract import SourceState


class Index:
    """What the current export says of one kind of thing (``add``), over what earlier exports
    said (the plugin's state under ``prefix``)."""

    def __init__(self, state: SourceState, prefix: str) -> None:
        self.state = state
        self.prefix = prefix
        self.current: dict[str, Any] = {}
        self.earlier: dict[str, Any] = {}

    def add(self, key: str, value: Any) -> None:
        self.current.setdefault(key, value)  # a duplicated id: the first row counts

    def get(self, key: str) -> Any:
        if key in self.current:
            return self.current[key]
        if key not in self.earlier:
            self.earlier[key] = self.state.get(self.prefix + key)
        return self.earlier[key]

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def stage(self) -> None:
        """Note in the state what the current export changed."""
        keys = list(self.current)
        for start in range(0, len(keys), 1_000):
            part = keys[start : start + 1_000]
            kept = self.state.get_many(self.prefix + key for key in part)
            for key in part:
                if kept.get(self.prefix + key) != self.current[key]:
                    self.state.put(self.prefix + key, self.current[key])


def _date_text(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date_of(text: Any) -> dt.date | None:
    return dt.date.fromisoformat(text) if isinstance(text, str) and text else None


def offering_value(offering: Offering) -> list[Any]:
    """What the ``cls/`` index keeps of an offering: enough to sync it from a later (delta)
    export that no longer lists it, as ``--historic`` does for past terms."""
    return [
        offering.course,
        _date_text(offering.start),
        _date_text(offering.end),
        offering.title,
        offering.term,
        offering.where,
    ]


def offering_dates(value: Any) -> tuple[dt.date | None, dt.date | None]:
    if not isinstance(value, list) or len(value) < 3:
        return None, None
    return _date_of(value[1]), _date_of(value[2])


def indexed_offering(key: str, value: list[Any]) -> Offering:
    start, end = offering_dates(value)
    return Offering(key, str(value[0]), str(value[3]), str(value[4]), start, end, str(value[5]))


# --- IMS OneRoster 1.1 CSV ---------------------------------------------------------------------

MODES = ("bulk", "delta", "absent")
TABLES = ("academicSessions", "orgs", "courses", "classes", "users", "enrollments")
_COLUMNS = {
    "users": ("sourcedId", "role", "givenName", "familyName", "email"),
    "orgs": ("sourcedId", "name"),
    "courses": ("sourcedId", "title", "courseCode"),
    "academicSessions": ("sourcedId", "title", "startDate", "endDate"),
    "classes": ("sourcedId", "title", "courseSourcedId", "termSourcedIds"),
    "enrollments": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
}
_DELTA_COLUMNS = ("status", "dateLastModified")


class OneRoster:
    """A OneRoster 1.1 CSV export, a folder or a zip with manifest.csv. Per the manifest each
    table is bulk (everything; ``status`` and ``dateLastModified`` blank), delta (what
    changed, each row ``active`` or ``tobedeleted`` at its ``dateLastModified``) or absent."""

    def __init__(self, files: Files, state: SourceState) -> None:
        self.files = files
        self.state = state
        self.modes = self._manifest()
        self.learners_index = Index(state, "usr/")
        self.offerings_index = Index(state, "cls/")
        self.courses_index = Index(state, "crs/")
        self.terms_index = Index(state, "trm/")
        self.orgs_index = Index(state, "org/")
        self.admin_emails: list[str] = []

    def close(self) -> None:
        self.files.close()

    def _manifest(self) -> dict[str, str]:
        if not self.files.exists("manifest.csv"):
            raise SourceError(
                f"{self.files.shown}: no manifest.csv, so this is not a OneRoster CSV export",
                hint="point oneroster at the folder or zip the LMS exported (it holds "
                "manifest.csv, users.csv, classes.csv...)",
            )
        values: dict[str, str] = {}
        for item in csv_rows(self.files, "manifest.csv", ("propertyName", "value")):
            if isinstance(item, Rejected):
                raise SourceError(f"{item.where}: {item.reason}", hint="fix manifest.csv")
            _, row = item
            values[row["propertyName"].strip()] = row["value"].strip()
        version = values.get("oneroster.version", "")
        where = self.files.where("manifest.csv")
        if version not in ("1.0", "1.1"):
            raise SourceError(
                f"{where}: oneroster.version is {version or 'missing'}; the LMS plugin reads "
                "OneRoster 1.1 CSV",
                hint="export OneRoster 1.1 CSV from the LMS",
            )
        modes = {}
        for table in TABLES:
            mode = values.get(f"file.{table}", "absent").lower()
            if mode not in MODES:
                raise SourceError(
                    f"{where}: file.{table} is {mode!r}", hint="write bulk, delta or absent"
                )
            if mode != "absent" and not self.files.exists(f"{table}.csv"):
                raise SourceError(
                    f"{self.files.shown}: the manifest lists {table}.csv ({mode}), which is "
                    "not there",
                    hint="copy the whole export again",
                )
            modes[table] = mode
        return modes

    def _rows(self, table: str) -> Iterator[Row | Rejected]:
        mode = self.modes[table]
        if mode == "absent":
            return iter(())
        required = _COLUMNS[table] + (_DELTA_COLUMNS if mode == "delta" else ())
        return csv_rows(self.files, f"{table}.csv", required)

    def _deleted(self, row: Mapping[str, str]) -> bool:
        return (row.get("status") or "").strip().lower() == "tobedeleted"

    def fingerprint(self) -> str:
        return self.files.fingerprint(["manifest.csv", *(f"{t}.csv" for t in TABLES)])

    def exported_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.files.modified("enrollments.csv"), dt.UTC)

    def enrollments_whole(self) -> bool:
        return self.modes["enrollments"] == "bulk"

    def offerings_whole(self) -> bool:
        return self.modes["classes"] == "bulk"

    def load_directory(self) -> None:
        """Index the export's organisations, learners, courses, terms and offerings (not its
        enrollments), and stage what changed."""
        for _ in self.learners():
            pass
        for _ in self.offerings():  # reads courses and terms first
            pass
        for index in (
            self.orgs_index,
            self.learners_index,
            self.courses_index,
            self.terms_index,
            self.offerings_index,
        ):
            index.stage()

    def _orgs(self) -> None:
        for item in self._rows("orgs"):
            if not isinstance(item, Rejected) and item[1]["sourcedId"].strip():
                self.orgs_index.add(item[1]["sourcedId"].strip(), item[1]["name"].strip())

    def learners(self) -> Iterator[Learner | Rejected]:
        """Students; administrators' emails are noted for the preflight check."""
        self._orgs()
        self.admin_emails = []
        for item in self._rows("users"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            key = row["sourcedId"].strip()
            role = row["role"].strip().lower()
            email = row["email"].strip()
            if role == "administrator" and email and not email_problem(email):
                self.admin_emails.append(email.lower())
            if role != "student" or self._deleted(row):
                continue  # a learner tobedeleted keeps their Salesforce record
            problem = (
                "the user has no sourcedId"
                if not key
                else "familyName is empty (a learner needs a last name)"
                if not row["familyName"].strip()
                else email_problem(email)
            )
            if problem is None:
                try:
                    optional_moment(row, "dateLastModified")
                except ValueError as exc:
                    problem = str(exc)
            if problem is not None:
                yield Rejected(where, problem, key or None, dict(row))
                continue
            self.learners_index.add(key, email.lower())
            orgs = [o.strip() for o in (row.get("orgSourcedIds") or "").split(",") if o.strip()]
            organization = next((str(n) for o in orgs if (n := self.orgs_index.get(o))), "")
            yield Learner(
                key, row["givenName"].strip(), row["familyName"].strip(), email, organization, where
            )

    def admins(self) -> list[str]:
        if not self.admin_emails:
            for _ in self.learners():
                pass
        return self.admin_emails

    def courses(self) -> Iterator[Course | Rejected]:
        for item in self._rows("courses"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            key, code, title = (row[c].strip() for c in ("sourcedId", "courseCode", "title"))
            if self._deleted(row):
                continue
            if not key or not code or not title:
                missing = "sourcedId" if not key else "courseCode" if not code else "title"
                yield Rejected(
                    where,
                    f"the course has no {missing} (the catalog ID is the courseCode)",
                    code or key or None,
                    dict(row),
                )
                continue
            self.courses_index.add(key, code)
            yield Course(code, title, None, where)

    def _terms(self) -> None:
        for item in self._rows("academicSessions"):
            if isinstance(item, Rejected):
                continue  # a class naming it is refused, naming the term
            _, row = item
            key = row["sourcedId"].strip()
            try:
                start = optional_date(row, "startDate")
                end = optional_date(row, "endDate")
            except ValueError:
                continue
            if key and not self._deleted(row):
                self.terms_index.add(
                    key, [row["title"].strip(), _date_text(start), _date_text(end)]
                )

    def offerings(self) -> Iterator[Offering | Rejected]:
        for _ in self.courses():
            pass
        self._terms()
        for item in self._rows("classes"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            key = row["sourcedId"].strip()
            if self._deleted(row):
                continue
            problem, offering = self._offering(key, row, where)
            if problem is not None:
                yield Rejected(where, problem, key or None, dict(row))
                continue
            assert offering is not None
            self.offerings_index.add(key, offering_value(offering))
            yield offering

    def _offering(
        self, key: str, row: Mapping[str, str], where: str
    ) -> tuple[str | None, Offering | None]:
        if not key:
            return "the class has no sourcedId", None
        course_id = row["courseSourcedId"].strip()
        code = self.courses_index.get(course_id)
        if not code:
            return (
                f"courseSourcedId {course_id!r} names no course of this export or an earlier one",
                None,
            )
        names, starts, ends = [], [], []
        for term_id in (t.strip() for t in row["termSourcedIds"].split(",")):
            if not term_id:
                continue
            term = self.terms_index.get(term_id)
            if not term:
                return (
                    f"termSourcedIds names {term_id!r}, which is no academic session of this "
                    "export or an earlier one (or its dates are not ISO 8601)",
                    None,
                )
            names.append(term[0])
            starts += [d for d in [_date_of(term[1])] if d]
            ends += [d for d in [_date_of(term[2])] if d]
        title = row["title"].strip() or key
        return None, Offering(
            key,
            str(code),
            title,
            ", ".join(names),
            min(starts) if starts else None,
            max(ends) if ends else None,
            where,
        )

    def enrollments(self) -> Iterator[EnrollmentRow | Rejected]:
        """Students' enrollments (other roles are not learners'); call after load_directory."""
        delta = self.modes["enrollments"] == "delta"
        for item in self._rows("enrollments"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            if row["role"].strip().lower() != "student":
                continue
            key = row["sourcedId"].strip()
            learner = row["userSourcedId"].strip()
            offering = row["classSourcedId"].strip()
            problem = None
            changed = begin = None
            try:
                changed = optional_moment(row, "dateLastModified")
                begin = optional_moment(row, "beginDate")
            except ValueError as exc:
                problem = str(exc)
            if not key:
                problem = "the enrollment has no sourcedId"
            elif learner not in self.learners_index:
                problem = (
                    f"userSourcedId {learner!r} names no student of this export or an earlier "
                    "one (or the student's row could not be read: see its dead letter)"
                )
            elif offering not in self.offerings_index:
                problem = (
                    f"classSourcedId {offering!r} names no class of this export or an earlier "
                    "one (or the class's row could not be read)"
                )
            elif delta and changed is None:
                problem = "a delta row needs its dateLastModified"
            if problem is not None:
                yield Rejected(where, problem, key or None, dict(row))
                continue
            yield EnrollmentRow(
                key, learner, offering, not self._deleted(row), changed, begin, where
            )


# --- the plugin's own export -------------------------------------------------------------------

EXPORT_TABLES = {
    "learners": ("id", "first_name", "last_name", "email"),
    "courses": ("code", "title"),
    "offerings": ("id", "course", "title", "term", "start_date", "end_date"),
    "enrollments": ("id", "learner", "offering", "status"),
}


class Export:
    """The plugin's own export (docs/lms.md): a folder holding learners, courses, offerings
    and enrollments, each a .csv or a .jsonl file, written whole each time."""

    def __init__(self, files: Files, state: SourceState) -> None:
        self.files = files
        self.names = {table: self._name(table) for table in EXPORT_TABLES}
        self.learners_index = Index(state, "usr/")
        self.offerings_index = Index(state, "cls/")
        self.admin_emails: list[str] = []

    def _name(self, table: str) -> str:
        found = [f"{table}{s}" for s in (".csv", ".jsonl") if self.files.exists(f"{table}{s}")]
        if len(found) != 1:
            raise SourceError(
                f"{self.files.shown}: "
                + (
                    f"holds no {table}.csv or {table}.jsonl"
                    if not found
                    else f"holds both {found[0]} and {found[1]}"
                ),
                hint="the export holds one learners, courses, offerings and enrollments file each "
                "(docs/lms.md)",
            )
        return found[0]

    def close(self) -> None:
        self.files.close()

    def _rows(self, table: str) -> Iterator[Row | Rejected]:
        name = self.names[table]
        reader = csv_rows if name.endswith(".csv") else jsonl_rows
        return reader(self.files, name, EXPORT_TABLES[table])

    def fingerprint(self) -> str:
        return self.files.fingerprint(sorted(self.names.values()))

    def exported_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.files.modified(self.names["enrollments"]), dt.UTC)

    def enrollments_whole(self) -> bool:
        return False  # the export says Unenrolled itself

    def offerings_whole(self) -> bool:
        return True

    def load_directory(self) -> None:
        for _ in self.learners():
            pass
        for _ in self.offerings():
            pass
        self.learners_index.stage()
        self.offerings_index.stage()

    def learners(self) -> Iterator[Learner | Rejected]:
        self.admin_emails = []
        for item in self._rows("learners"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            key, email = row["id"].strip(), row["email"].strip()
            if (row.get("role") or "").strip().lower() == "administrator":
                if email and not email_problem(email):
                    self.admin_emails.append(email.lower())
                continue
            problem = (
                "the learner has no id"
                if not key
                else "last_name is empty (a learner needs a last name)"
                if not row["last_name"].strip()
                else email_problem(email)
            )
            if problem is not None:
                yield Rejected(where, problem, key or None, dict(row))
                continue
            self.learners_index.add(key, email.lower())
            yield Learner(
                key,
                row["first_name"].strip(),
                row["last_name"].strip(),
                email,
                (row.get("organization") or "").strip(),
                where,
            )

    def admins(self) -> list[str]:
        if not self.admin_emails:
            for _ in self.learners():
                pass
        return self.admin_emails

    def courses(self) -> Iterator[Course | Rejected]:
        for item in self._rows("courses"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            code, title = row["code"].strip(), row["title"].strip()
            if not code or not title:
                missing = "code" if not code else "title"
                yield Rejected(where, f"the course has no {missing}", code or None, dict(row))
                continue
            yield Course(code, title, (row.get("description") or "").strip() or None, where)

    def offerings(self) -> Iterator[Offering | Rejected]:
        for item in self._rows("offerings"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            key = row["id"].strip()
            try:
                start = optional_date(row, "start_date")
                end = optional_date(row, "end_date")
            except ValueError as exc:
                yield Rejected(where, str(exc), key or None, dict(row))
                continue
            if not key or not row["course"].strip():
                missing = "id" if not key else "course"
                yield Rejected(where, f"the offering has no {missing}", key or None, dict(row))
                continue
            offering = Offering(
                key,
                row["course"].strip(),
                row["title"].strip() or key,
                row["term"].strip(),
                start,
                end,
                where,
            )
            self.offerings_index.add(key, offering_value(offering))
            yield offering

    def enrollments(self) -> Iterator[EnrollmentRow | Rejected]:
        for item in self._rows("enrollments"):
            if isinstance(item, Rejected):
                yield item
                continue
            where, row = item
            yield self._enrollment(where, row)

    def _enrollment(self, where: str, row: dict[str, str]) -> EnrollmentRow | Rejected:
        key = row["id"].strip()
        learner, offering = row["learner"].strip(), row["offering"].strip()
        status = row["status"].strip()
        try:
            enrolled = optional_moment(row, "enrolled_on")
            completed = optional_moment(row, "completed_on")
            unenrolled = optional_moment(row, "unenrolled_on")
            progress = optional_number(row, "progress")
            score = optional_number(row, "score")
        except ValueError as exc:
            return Rejected(where, str(exc), key or None, dict(row))
        problem = None
        if not key:
            problem = "the enrollment has no id"
        elif status not in STATUSES:
            problem = f"status {status!r} is none of {', '.join(STATUSES)}"
        elif learner not in self.learners_index:
            problem = f"learner {learner!r} is in no learners file read so far"
        elif offering not in self.offerings_index:
            problem = f"offering {offering!r} is in no offerings file read so far"
        elif status in OUTCOMES and completed is None:
            problem = f"a {status} enrollment needs its completed_on"
        elif status == "Unenrolled" and unenrolled is None:
            problem = "an Unenrolled enrollment needs its unenrolled_on"
        if problem is not None:
            return Rejected(where, problem, key or None, dict(row))
        active = status != "Unenrolled"
        return EnrollmentRow(
            key,
            learner,
            offering,
            active,
            unenrolled if not active else None,
            enrolled,
            where,
            status,
            completed,
            progress,
            score,
        )


def open_roster(oneroster: Any, export: Any, shown: str, state: SourceState) -> OneRoster | Export:
    """The roster the settings name (``oneroster`` or ``export``, a Path), opened."""
    if oneroster is not None:
        if not oneroster.exists():
            raise SourceError(
                f"{shown}: no such folder or zip", hint="check oneroster in sftk.toml"
            )
        return OneRoster(Files(oneroster, shown), state)
    if not export.is_dir():
        raise SourceError(f"{shown}: no such folder", hint="check export in sftk.toml")
    return Export(Files(export, shown), state)
