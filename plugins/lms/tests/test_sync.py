"""The LMS plugin syncing a school into the kit's local org: current terms by default, the
statuses the statements imply, a delta's unenrollments (one event each), a new enrollment
and a renamed learner, the past term with --historic, history that is never rewritten, and
re-runs that change nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lmsdata

from toolkit.sync.report import RunReport
from toolkit.testing.kit import KitProject

Records = Callable[..., list[dict[str, Any]]]


def by_key(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]): row for row in rows}


def enrollments(records: Records) -> dict[str, dict[str, Any]]:
    rows = records(
        "Enrollment__c",
        "Enrollment_Key__c, Status__c, Enrolled_On__c, Completed_On__c, Unenrolled_On__c, "
        "Score__c, Progress__c, Course_Offering__r.Offering_Key__c, "
        "Learner__r.LMS_Learner_Id__c",
    )
    return by_key(rows, "Enrollment_Key__c")


def events(records: Records) -> list[tuple[str, str]]:
    rows = records("Enrollment_Event__c", "Enrollment__r.Enrollment_Key__c, Type__c")
    return sorted((r["Enrollment__r"]["Enrollment_Key__c"], r["Type__c"]) for r in rows)


def counts(report: RunReport) -> dict[str, tuple[int, int]]:
    """(written, dead-lettered) by stream."""
    return {s.stream: (s.written, s.dead_lettered) for s in report.streams}


def use(project: KitProject, **settings: Any) -> None:
    table = {**project.settings["lms"], **settings}
    project.configure(settings={"lms": {k: v for k, v in table.items() if v is not None}})


def test_current_terms_with_statuses_then_a_delta_then_history(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    first = sftk_sync()
    assert first.status == "succeeded", first.failures
    learners = by_key(
        sftk_records("Contact", "LMS_Learner_Id__c, FirstName, LastName, Email"),
        "LMS_Learner_Id__c",
    )
    assert set(learners) == set(lmsdata.STUDENTS)  # students only: no teacher, no admin
    assert learners["stu-1"]["LastName"] == "Lovelace"
    courses = sftk_records("Course__c", "Catalog_Id__c, Name")
    assert sorted(c["Catalog_Id__c"] for c in courses) == ["BIO-201", "HIST-301", "MATH-101"]
    offerings = by_key(
        sftk_records(
            "Course_Offering__c",
            "Offering_Key__c, Name, Term__c, End_Date__c, Course__r.Catalog_Id__c",
        ),
        "Offering_Key__c",
    )
    assert set(offerings) == set(lmsdata.CURRENT)  # the past term waits for --historic
    assert offerings["math-now"]["Course__r"]["Catalog_Id__c"] == "MATH-101"
    assert offerings["math-now"]["Term__c"] == "Autumn Term"
    found = enrollments(sftk_records)
    assert {k: v["Status__c"] for k, v in found.items()} == {
        "enr-1": "Completed",  # completed, then launched again: never over a terminal status
        "enr-2": "Enrolled",
        "enr-3": "In Progress",
        "enr-4": "Enrolled",
        "enr-5": "Failed",  # by the actor's account name
        "enr-6": "Enrolled",
        "enr-7": "Enrolled",  # a learner without an email
    }
    assert found["enr-1"]["Completed_On__c"].startswith(lmsdata.day(-10))
    assert found["enr-1"]["Score__c"] == 90 and found["enr-3"]["Progress__c"] == 40
    assert found["enr-1"]["Learner__r"]["LMS_Learner_Id__c"] == "stu-1"
    assert events(sftk_records) == sorted(
        [(f"enr-{n}", "Enrolled") for n in range(1, 8)]
        + [("enr-1", "Completed"), ("enr-5", "Failed")]
    )

    again = sftk_sync()
    assert again.status == "succeeded" and again.write_calls == 0

    lmsdata.school().write(sftk_project.root / "delta-base")  # not used: the delta alone
    lmsdata.delta().write(sftk_project.root / "oneroster-delta", delta=True)
    use(sftk_project, oneroster="oneroster-delta")
    delta = sftk_sync()
    assert delta.status == "succeeded", delta.failures
    assert counts(delta) == {
        "learners": (1, 0),
        "courses": (0, 0),
        "offerings": (0, 0),
        "enrollments": (3, 0),
        "events": (3, 0),
    }
    found = enrollments(sftk_records)
    assert found["enr-2"]["Status__c"] == found["enr-6"]["Status__c"] == "Unenrolled"
    assert found["enr-2"]["Unenrolled_On__c"].startswith(lmsdata.day(-1))
    assert found["enr-11"]["Status__c"] == "Enrolled"
    assert found["enr-1"]["Status__c"] == "Completed"  # untouched by the delta
    renamed = sftk_records("Contact", "LastName", "LMS_Learner_Id__c = 'stu-1'")
    assert renamed == [{"LastName": "King"}]
    history = events(sftk_records)
    assert history.count(("enr-2", "Unenrolled")) == 1
    assert history.count(("enr-6", "Unenrolled")) == 1
    assert ("enr-11", "Enrolled") in history

    historic = sftk_sync(historic=True)
    assert historic.status == "succeeded", historic.failures
    offerings = sftk_records("Course_Offering__c", "Offering_Key__c")
    assert {o["Offering_Key__c"] for o in offerings} == {*lmsdata.CURRENT, *lmsdata.PAST}
    found = enrollments(sftk_records)
    assert found["enr-8"]["Status__c"] == "Completed"  # the statement that waited
    assert found["enr-9"]["Status__c"] == found["enr-10"]["Status__c"] == "Enrolled"
    assert ("enr-8", "Completed") in events(sftk_records)

    for options in ({}, {"historic": True}):
        quiet = sftk_sync(**options)
        assert quiet.status == "succeeded" and quiet.write_calls == 0, counts(quiet)


def test_a_bulk_export_missing_an_enrollment_unenrolls_it_and_history_is_kept(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    assert sftk_sync().status == "succeeded"
    school = lmsdata.school()
    school.tables["enrollments"] = [
        row for row in school.tables["enrollments"] if row["sourcedId"] != "enr-4"
    ]
    school.write(sftk_project.root / "oneroster-2")
    use(sftk_project, oneroster="oneroster-2")
    assert sftk_sync().status == "succeeded"
    assert enrollments(sftk_records)["enr-4"]["Status__c"] == "Unenrolled"
    use(sftk_project, oneroster="oneroster-bulk")  # back again: re-enrolled
    assert sftk_sync().status == "succeeded"
    assert enrollments(sftk_records)["enr-4"]["Status__c"] == "Enrolled"
    use(sftk_project, oneroster="oneroster-2")  # and gone again
    assert sftk_sync().status == "succeeded"
    assert enrollments(sftk_records)["enr-4"]["Status__c"] == "Unenrolled"
    history = [kind for key, kind in events(sftk_records) if key == "enr-4"]
    assert sorted(history) == ["Enrolled", "Re-enrolled", "Unenrolled", "Unenrolled"]
    assert sftk_sync().write_calls == 0


def test_a_bulk_export_without_a_class_leaves_its_enrollments_alone(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    """A class dropped from the export (its term is over) is no mass unenrollment."""
    assert sftk_sync().status == "succeeded"
    school = lmsdata.school()
    for table, column in (("classes", "sourcedId"), ("enrollments", "classSourcedId")):
        school.tables[table] = [r for r in school.tables[table] if r[column] != "bio-now"]
    school.write(sftk_project.root / "oneroster-2")
    use(sftk_project, oneroster="oneroster-2")
    report = sftk_sync()
    assert report.status == "succeeded" and report.write_calls == 0
    assert enrollments(sftk_records)["enr-4"]["Status__c"] == "Enrolled"


def test_a_learner_typed_in_before_is_adopted_by_email_and_two_are_never_guessed(
    sftk_project: KitProject,
    sftk_sync: Callable[..., RunReport],
    sftk_records: Records,
) -> None:
    sf = sftk_project.org.sf
    ada = sf.Contact.create({"LastName": "Lovelace (CRM)", "Email": "ADA@school.example"})["id"]
    for _ in range(2):
        sf.Contact.create({"LastName": "Pascal", "Email": "blaise@school.example"})
    report = sftk_sync()
    assert report.status == "partial"
    learners = next(s for s in report.streams if s.stream == "learners")
    assert (learners.matched, learners.dead_lettered) == (1, 1)
    dead = {f.key: f.code for f in report.failures}
    assert dead["stu-2"] == "AMBIGUOUS_MATCH"
    adopted = sftk_records("Contact", "Id, LastName", "LMS_Learner_Id__c = 'stu-1'")
    assert adopted == [{"Id": ada, "LastName": "Lovelace"}]
    # Blaise's enrollments name a learner Salesforce does not have: dead-lettered too
    assert {k for k, code in dead.items() if k in ("enr-2", "enr-5")} == {"enr-2", "enr-5"}


def test_the_plugins_own_export_in_csv_and_jsonl(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    for jsonl in (False, True):
        folder = lmsdata.export(sftk_project.root / f"lms-export-{jsonl}", jsonl=jsonl)
        sftk_project.configure(settings={"lms": {"export": folder.name}})
        report = sftk_sync()
        assert report.status == "succeeded", report.failures
        found = enrollments(sftk_records)
        assert {k: v["Status__c"] for k, v in found.items()} == {
            "x-1": "Completed",
            "x-2": "Unenrolled",
            "x-3": "In Progress",
        }
        assert found["x-1"]["Score__c"] == 88.5 and found["x-3"]["Progress__c"] == 35
        assert found["x-2"]["Unenrolled_On__c"].startswith(lmsdata.day(-4))
        summary = sftk_records("Course__c", "Summary__c", "Catalog_Id__c = 'MATH-101'")
        assert summary == [{"Summary__c": "Numbers, letters, both."}]
    assert sorted(events(sftk_records)) == [
        ("x-1", "Completed"),
        ("x-1", "Enrolled"),
        ("x-2", "Unenrolled"),
        ("x-3", "Enrolled"),
    ]


def test_a_zip_reads_as_the_folder_does(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    archive = lmsdata.school().write(sftk_project.root / "export", as_zip=True)
    use(sftk_project, oneroster=archive.name)
    assert sftk_sync().status == "succeeded"
    assert len(enrollments(sftk_records)) == 7


def test_a_statement_arriving_later_applies_and_adds_one_event(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    assert sftk_sync().status == "succeeded"
    items = lmsdata.statements()
    items.append(
        lmsdata.statement(
            {"mbox": "mailto:dora@school.example"}, "completed", "bio-now", lmsdata.moment(-1), 99
        )
    )
    lmsdata.write_statements(Path(sftk_project.root / "statements.json"), items)
    report = sftk_sync()
    assert counts(report)["enrollments"] == (1, 0), report.failures
    assert counts(report)["events"] == (1, 0)
    assert enrollments(sftk_records)["enr-6"]["Status__c"] == "Completed"
