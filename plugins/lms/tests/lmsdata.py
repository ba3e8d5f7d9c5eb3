"""Test data the LMS tests generate: a small school as OneRoster 1.1 CSV (bulk, then delta),
xAPI statements about it, and the same school in the plugin's own export format. Dates are
relative to today, so that one term is over (history) and one is running (current).

The school: an administrator whose email is the local org's user's (so the plugin's
preflight passes), a teacher, five students; three courses; a past term and a current one;
four classes; students enrolled in classes of both terms.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_EMAIL = "admin@local.sftk"  # the local org's user (toolkit/localorg/facts.py)
ACTIVITY = "https://lms.example.com/classes/{offering}"
VERB = "http://adlnet.gov/expapi/verbs/"
HEADERS = {
    "academicSessions": [
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
        "parentSourcedId", "schoolYear",
    ],
    "orgs": ["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
             "parentSourcedId"],
    "courses": ["sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title",
                "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"],
    "classes": ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
                "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds",
                "subjects", "subjectCodes", "periods"],
    "users": ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role",
              "username", "userIds", "givenName", "familyName", "middleName", "identifier",
              "email", "sms", "phone", "agentSourcedIds", "grades", "password"],
    "enrollments": ["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role",
                    "status", "dateLastModified", "primary", "beginDate", "endDate"],
}  # fmt: skip
TABLES = tuple(HEADERS)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def day(offset: int) -> str:
    return (today() + dt.timedelta(days=offset)).isoformat()


def moment(offset_days: int, hour: int = 10) -> str:
    return f"{day(offset_days)}T{hour:02d}:00:00Z"


@dataclass
class School:
    """The tables of a OneRoster export, as lists of rows (dicts by column)."""

    tables: dict[str, list[dict[str, str]]] = field(
        default_factory=lambda: {table: [] for table in TABLES}
    )

    def add(self, table: str, **values: str) -> None:
        self.tables[table].append({column: values.get(column, "") for column in HEADERS[table]})

    def write(
        self,
        folder: Path,
        *,
        delta: bool = False,
        as_zip: bool = False,
        modes: Mapping[str, str] | None = None,
    ) -> Path:
        """The export as a folder (or ``folder``.zip): every table bulk, or every one delta;
        ``modes`` sets some tables' mode (absent ones are not written)."""
        folder.mkdir(parents=True, exist_ok=True)
        chosen = {t: ("delta" if delta else "bulk") for t in TABLES} | dict(modes or {})
        write_csv(
            folder / "manifest.csv",
            ["propertyName", "value"],
            [
                {"propertyName": "manifest.version", "value": "1.0"},
                {"propertyName": "oneroster.version", "value": "1.1"},
                *({"propertyName": f"file.{t}", "value": chosen[t]} for t in TABLES),
                {"propertyName": "source.systemName", "value": "Test LMS"},
            ],
        )
        for table in TABLES:
            if chosen[table] != "absent":
                write_csv(folder / f"{table}.csv", HEADERS[table], self.tables[table])
        if not as_zip:
            return folder
        target = folder.with_suffix(".zip")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, path.name)
        return target


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


STUDENTS = {
    "stu-1": ("Ada", "Lovelace", "ada@school.example"),
    "stu-2": ("Blaise", "Pascal", "blaise@school.example"),
    "stu-3": ("Carl", "Gauss", "carl@school.example"),
    "stu-4": ("Dora", "Noether", "dora@school.example"),
    "stu-5": ("Euler", "Leonhard", ""),
}
# (enrollment, student, class): past term classes math-past and hist-past, current math-now,
# bio-now
ENROLLMENTS = [
    ("enr-1", "stu-1", "math-now"),
    ("enr-2", "stu-2", "math-now"),
    ("enr-3", "stu-3", "math-now"),
    ("enr-4", "stu-1", "bio-now"),
    ("enr-5", "stu-2", "bio-now"),
    ("enr-6", "stu-4", "bio-now"),
    ("enr-7", "stu-5", "math-now"),
    ("enr-8", "stu-1", "hist-past"),
    ("enr-9", "stu-3", "hist-past"),
    ("enr-10", "stu-4", "math-past"),
]
CURRENT = ("math-now", "bio-now")
PAST = ("math-past", "hist-past")


def school() -> School:
    """The school's bulk export."""
    found = School()
    found.add("orgs", sourcedId="org-1", name="Springfield High", type="school")
    found.add(
        "academicSessions",
        sourcedId="term-past",
        title="Spring Term",
        type="term",
        startDate=day(-200),
        endDate=day(-60),
        schoolYear=str(today().year),
    )
    found.add(
        "academicSessions",
        sourcedId="term-now",
        title="Autumn Term",
        type="term",
        startDate=day(-30),
        endDate=day(90),
        schoolYear=str(today().year),
    )
    for key, code, title in (
        ("crs-math", "MATH-101", "Algebra"),
        ("crs-bio", "BIO-201", "Cells and Systems"),
        ("crs-hist", "HIST-301", "Modern History"),
    ):
        found.add("courses", sourcedId=key, title=title, courseCode=code, orgSourcedId="org-1")
    for key, course, term, title in (
        ("math-past", "crs-math", "term-past", "Algebra (spring)"),
        ("hist-past", "crs-hist", "term-past", "Modern History (spring)"),
        ("math-now", "crs-math", "term-now", "Algebra (autumn)"),
        ("bio-now", "crs-bio", "term-now", "Cells and Systems (autumn)"),
    ):
        found.add(
            "classes",
            sourcedId=key,
            title=title,
            courseSourcedId=course,
            classType="scheduled",
            schoolSourcedId="org-1",
            termSourcedIds=term,
        )
    found.add(
        "users",
        sourcedId="adm-1",
        enabledUser="true",
        orgSourcedIds="org-1",
        role="administrator",
        username="admin",
        givenName="Local",
        familyName="Admin",
        email=ADMIN_EMAIL,
    )
    found.add(
        "users",
        sourcedId="tch-1",
        enabledUser="true",
        orgSourcedIds="org-1",
        role="teacher",
        username="teach",
        givenName="Tess",
        familyName="Teacher",
        email="tess@school.example",
    )
    for key, (given, family, email) in STUDENTS.items():
        found.add(
            "users",
            sourcedId=key,
            enabledUser="true",
            orgSourcedIds="org-1",
            role="student",
            username=key,
            givenName=given,
            familyName=family,
            email=email,
        )
    for key, student, klass in ENROLLMENTS:
        begin = day(-200) if klass in PAST else day(-30)
        found.add(
            "enrollments",
            sourcedId=key,
            classSourcedId=klass,
            schoolSourcedId="org-1",
            userSourcedId=student,
            role="student",
            beginDate=begin,
        )
    found.add(
        "enrollments",
        sourcedId="enr-t1",
        classSourcedId="math-now",
        schoolSourcedId="org-1",
        userSourcedId="tch-1",
        role="teacher",
    )
    return found


def delta() -> School:
    """A delta export after ``school()``: two unenrollments, a new enrollment and a renamed
    learner."""
    found = School()
    changed = moment(-1)
    found.add(
        "enrollments",
        sourcedId="enr-2",
        classSourcedId="math-now",
        schoolSourcedId="org-1",
        userSourcedId="stu-2",
        role="student",
        status="tobedeleted",
        dateLastModified=changed,
    )
    found.add(
        "enrollments",
        sourcedId="enr-6",
        classSourcedId="bio-now",
        schoolSourcedId="org-1",
        userSourcedId="stu-4",
        role="student",
        status="tobedeleted",
        dateLastModified=changed,
    )
    found.add(
        "enrollments",
        sourcedId="enr-11",
        classSourcedId="bio-now",
        schoolSourcedId="org-1",
        userSourcedId="stu-3",
        role="student",
        status="active",
        dateLastModified=changed,
        beginDate=day(-1),
    )
    found.add(
        "users",
        sourcedId="stu-1",
        status="active",
        dateLastModified=changed,
        enabledUser="true",
        orgSourcedIds="org-1",
        role="student",
        username="stu-1",
        givenName="Ada",
        familyName="King",
        email="ada@school.example",
    )
    return found


def statement(
    actor: Mapping[str, Any],
    verb: str,
    offering: str,
    at: str,
    number: int,
    result: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "actor": {"objectType": "Agent", **actor},
        "verb": {"id": VERB + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": ACTIVITY.format(offering=offering)},
        "timestamp": at,
    }
    if result:
        found["result"] = dict(result)
    return found


def statements() -> list[dict[str, Any]]:
    """What the learners did: Ada completed Algebra (then launched it again: no change), Blaise
    failed Cells and Systems, Carl is progressing in Algebra, Ada completed the past term's
    history class (which waits for --historic), the teacher launched a class (not a
    learner: passed over) and an unrelated activity."""
    mail = {key: {"mbox": f"mailto:{email}"} for key, (_, _, email) in STUDENTS.items() if email}
    return [
        statement(mail["stu-1"], "launched", "math-now", moment(-20), 1),
        statement(mail["stu-1"], "completed", "math-now", moment(-10), 2,
                  {"score": {"scaled": 0.9}}),
        statement(mail["stu-1"], "launched", "math-now", moment(-5), 3),
        statement({"account": {"homePage": "https://lms.example.com", "name": "stu-2"}}, "failed",
                  "bio-now", moment(-8), 4),
        statement(mail["stu-3"], "progressed", "math-now", moment(-3), 5,
                  {"extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 40}}),
        statement(mail["stu-1"], "passed", "hist-past", moment(-90), 6),
        statement({"mbox": "mailto:tess@school.example"}, "launched", "math-now", moment(-25), 7),
        statement(mail["stu-4"], "completed", "https://elsewhere.example/x", moment(-2), 8),
    ]  # fmt: skip


def write_statements(path: Path, items: Sequence[Mapping[str, Any]]) -> Path:
    path.write_text(json.dumps(list(items), indent=1), encoding="utf-8")
    return path


def export(folder: Path, *, jsonl: bool = False) -> Path:
    """The school in the plugin's own export format (the current term only, and one
    unenrollment and one completion)."""
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict[str, str]]] = {
        "learners": [
            {"id": k, "first_name": g, "last_name": f, "email": e, "organization": "Springfield"}
            for k, (g, f, e) in STUDENTS.items()
        ]
        + [{"id": "adm-1", "first_name": "Local", "last_name": "Admin", "email": ADMIN_EMAIL,
            "organization": "", "role": "administrator"}],
        "courses": [
            {"code": "MATH-101", "title": "Algebra", "description": "Numbers, letters, both."},
            {"code": "BIO-201", "title": "Cells and Systems", "description": ""},
        ],
        "offerings": [
            {"id": "math-now", "course": "MATH-101", "title": "Algebra (autumn)",
             "term": "Autumn Term", "start_date": day(-30), "end_date": day(90)},
            {"id": "bio-now", "course": "BIO-201", "title": "Cells and Systems (autumn)",
             "term": "Autumn Term", "start_date": day(-30), "end_date": day(90)},
        ],
        "enrollments": [
            {"id": "x-1", "learner": "stu-1", "offering": "math-now", "status": "Completed",
             "enrolled_on": day(-30), "completed_on": moment(-10), "unenrolled_on": "",
             "progress": "100", "score": "88.5"},
            {"id": "x-2", "learner": "stu-2", "offering": "math-now", "status": "Unenrolled",
             "enrolled_on": day(-30), "completed_on": "", "unenrolled_on": moment(-4),
             "progress": "", "score": ""},
            {"id": "x-3", "learner": "stu-3", "offering": "bio-now", "status": "In Progress",
             "enrolled_on": day(-30), "completed_on": "", "unenrolled_on": "",
             "progress": "35", "score": ""},
        ],
    }  # fmt: skip
    for name, rows in tables.items():
        columns = list(dict.fromkeys(k for row in rows for k in row))
        if jsonl:
            lines = [json.dumps({k: row.get(k) for k in columns}) for row in rows]
            (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            write_csv(
                folder / f"{name}.csv",
                columns,
                [{c: row.get(c, "") for c in columns} for row in rows],
            )
    return folder
