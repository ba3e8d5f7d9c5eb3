"""Bad input: each bad row is dead-lettered with its file, line and reason while the rest
loads; a file the plugin cannot read at all (a missing column, a truncated zip) stops the
sync with a message naming it, before anything is written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lmsdata
import pytest

from toolkit.sync.report import RunReport
from toolkit.testing.kit import KitProject


def test_bad_rows_are_dead_lettered_with_file_and_line_and_the_rest_loads(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Any
) -> None:
    school = lmsdata.school()
    users = school.tables["users"]
    users[2]["email"] = "ada at school"  # stu-1: not an email
    users.append(dict(users[3]))  # stu-2 twice
    rows = school.tables["enrollments"]
    rows[2]["beginDate"] = "31/12/2026"  # enr-3: not ISO 8601
    school.add("enrollments", sourcedId="enr-x", classSourcedId="math-now",
               userSourcedId="stu-404", role="student")  # fmt: skip
    school.add("enrollments", sourcedId="enr-y", classSourcedId="nope-now",
               userSourcedId="stu-4", role="student")  # fmt: skip
    school.add("enrollments", sourcedId="enr-5", classSourcedId="bio-now",
               userSourcedId="stu-2", role="student")  # fmt: skip
    school.write(sftk_project.root / "oneroster-bad")
    sftk_project.configure(settings={"lms": {"oneroster": "oneroster-bad"}})
    report = sftk_sync()
    assert report.status == "partial"
    dead = {(f.stream, f.key): f for f in report.failures}
    where = "oneroster-bad/users.csv:4"
    assert ("learners", "stu-1") in dead and "is not an email address" in dead[
        ("learners", "stu-1")
    ].message
    duplicates = [k for s, k in dead if s == "learners" and "duplicate" in k]
    assert duplicates and "users.csv:" in duplicates[0]
    assert (
        "beginDate '31/12/2026' is not an ISO 8601 date" in dead[("enrollments", "enr-3")].message
    )
    assert "stu-404" in dead[("enrollments", "enr-x")].message
    assert "nope-now" in dead[("enrollments", "enr-y")].message
    twice = [k for s, k in dead if s == "enrollments" and k.startswith("enr-5 (duplicate")]
    assert twice, sorted(dead)
    letters = sftk_project.run("deadletters", "list", "--json")
    assert where in letters.stdout and "enrollments.csv:4" in letters.stdout
    landed = {r["Enrollment_Key__c"] for r in sftk_records("Enrollment__c", "Enrollment_Key__c")}
    assert {"enr-2", "enr-6", "enr-7"} <= landed  # the good rows
    assert not landed & {"enr-3", "enr-x", "enr-y"}
    # Ada's row could not be read, so her enrollments name no learner: refused too
    assert "stu-1" in dead[("enrollments", "enr-4")].message


def test_a_missing_column_fails_the_preflight_naming_file_and_column(
    sftk_project: KitProject, sftk_records: Any
) -> None:
    folder = lmsdata.school().write(sftk_project.root / "oneroster-cut")
    users = folder / "users.csv"
    lines = users.read_text().splitlines()
    header = lines[0].split(",")
    cut = header.index("email")
    rows = [",".join(c for i, c in enumerate(line.split(",")) if i != cut) for line in lines]
    users.write_text("\n".join(rows) + "\n")
    sftk_project.configure(settings={"lms": {"oneroster": "oneroster-cut"}})
    result = sftk_project.run("sync", "--org", "local")
    assert result.returncode == 8, result.stderr
    assert (
        "oneroster-cut/users.csv:1: the header has no column 'email'"
        in result.stdout + result.stderr
    )
    assert sftk_records("Contact", "Id", "LMS_Learner_Id__c != null") == []


def test_a_truncated_zip_fails_the_preflight_and_nothing_is_written(
    sftk_project: KitProject, sftk_records: Any
) -> None:
    archive = lmsdata.school().write(sftk_project.root / "export", as_zip=True)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    sftk_project.configure(settings={"lms": {"oneroster": archive.name}})
    result = sftk_project.run("sync", "--org", "local")
    assert result.returncode == 8, result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "export.zip: not a readable zip" in said and "truncated" in said
    assert sftk_records("Contact", "Id", "LMS_Learner_Id__c != null") == []


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (os.mkfifo, "statements.json: is not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "statements.json: is not a regular file"),
        (lambda path: path.write_bytes(b'[{"id": "caf\xe9"}]'), "statements.json:1: not UTF-8"),
    ],
    ids=["a pipe", "/dev/zero", "latin-1"],
)
def test_a_statements_file_that_cannot_be_read(
    sftk_project: KitProject, sftk_records: Any, make: Callable[[Path], object], why: str
) -> None:
    """A pipe used to hang the sync, a device to fill its memory as a plugin bug."""
    statements = sftk_project.root / "statements.json"
    statements.unlink()
    make(statements)
    result = sftk_project.run("sync", "--org", "local", timeout=60)
    said = result.stdout + result.stderr
    assert result.returncode == 8, said  # its preflight check "xapi readable" fails
    assert why in said and "Traceback" not in said and "bug in plugin" not in said
    assert sftk_records("Contact", "Id", "LMS_Learner_Id__c != null") == []  # nothing written
