"""Streams that find records by a field that is not an External ID (``StreamSpec.lookups``),
create only what the org lacks (``unless_found``), and let the org's values decide what is
written (``guard``): against a local org over HTTPS, with a plugin registered in the test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from synckit import OBJECTS, SyncOrg, SyncProject

from toolkit.deploy import commands
from toolkit.deploy.policy import Outcome
from toolkit.errors import ConfigError
from toolkit.hookspecs import hookimpl
from toolkit.localorg import deploys
from toolkit.localorg.org import start
from toolkit.project import Project
from toolkit.sync.contract import (
    FieldMapping,
    LookupRef,
    LookupTarget,
    MatchBy,
    ReadRequest,
    RecordGuard,
    SourceRecord,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.engine import sync
from toolkit.sync.mappings_view import show_mappings
from toolkit.sync.options import SyncOptions
from toolkit.sync.report import RunReport, stream_line

VISITS = """
label = "Visit"
plural_label = "Visits"

[fields.Visit_Key__c]
type = "Text"
length = 40
external_id = true
unique = true

[fields.Email__c]
type = "Email"

[fields.Version__c]
type = "Number"
precision = 6
scale = 0

[fields.Contact__c]
type = "Lookup"
reference_to = "Contact"
relationship_name = "Visits"

[fields.Lead__c]
type = "Lookup"
reference_to = "Lead"
relationship_name = "Visits"
"""
LEAD = """
[fields.Ext_Id__c]
type = "Text"
length = 80
external_id = true
unique = true
"""
WIPED = ("Visit__c", "Contact", "Lead", "Account")
ATTENDEE = LookupRef(
    "email",
    (
        LookupTarget("Contact__c", MatchBy("Contact", "Email")),
        LookupTarget("Lead__c", MatchBy("Lead", "Email")),
    ),
)


@pytest.fixture(scope="module")
def lookup_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncOrg]:
    state = tmp_path_factory.mktemp("lookuporg") / "state"
    running = start(state, port=0)
    deploys.set_component_delay(running.org, 0)
    try:
        org = SyncOrg(running, state)
        folder = tmp_path_factory.mktemp("lookupmodel")
        (folder / "objects").mkdir()
        files = {**OBJECTS, "Visit__c.toml": VISITS, "Lead.toml": LEAD}
        for name, text in files.items():
            (folder / "objects" / name).write_text(text, encoding="utf-8")
        holder = SyncProject(folder, org)
        holder.configure()
        run = commands.deploy(holder.project(), "test", skip_preflight=True)
        assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED, run
        yield org
    finally:
        running.stop()


@pytest.fixture
def project(tmp_path: Path, lookup_org: SyncOrg) -> SyncProject:
    found = SyncProject(tmp_path / "project", lookup_org)
    found.root.mkdir()
    found.configure()
    for obj in WIPED:
        ids = [r["Id"] for r in found.records(obj, "Id")]
        if ids:
            found.sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids)})
    return found


class Visits:
    """A plugin whose ``visits`` stream links each visit to its attendee, and whose optional
    ``walk_ins`` stream creates Leads for attendees the org does not know (declared first and
    named to sort after ``visits``: sftk must still load it before the visits look for them)."""

    def __init__(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        people: bool = False,
        guard: RecordGuard | None = None,
        lookups: tuple[LookupRef, ...] = (ATTENDEE,),
    ) -> None:
        self.rows = list(rows)
        self.people = people
        self.guard = guard
        self.lookups = lookups

    @hookimpl
    def sftk_sources(self) -> list[SourceSpec]:
        visits = StreamSpec(
            "visits",
            "Visit__c",
            key="Visit_Key__c",
            source_key="key",
            lookups=self.lookups,
            guard=self.guard,
        )
        people = StreamSpec(
            "walk_ins",
            "Lead",
            key="Ext_Id__c",
            source_key="email",
            unless_found=(MatchBy("Contact", "Email"), MatchBy("Lead", "Email")),
        )
        return [SourceSpec("visits", (visits, people) if self.people else (visits,), self.read)]

    @hookimpl
    def sftk_default_mappings(self, stream: StreamSpec) -> list[FieldMapping]:
        if stream.name == "walk_ins":
            return [
                FieldMapping("LastName", source="email"),
                FieldMapping("Company", constant="Visitors"),
                FieldMapping("Email", source="email"),
            ]
        return [
            FieldMapping("Email__c", source="email"),
            FieldMapping("Version__c", source="version"),
        ]

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceRecord]:
        if stream.name == "walk_ins":
            emails = sorted({str(r["email"]).lower() for r in self.rows if r.get("email")})
            for email in emails:
                yield SourceRecord({"email": email}, where=f"attendee {email}")
            return
        for number, row in enumerate(self.rows, start=1):
            yield SourceRecord(row, where=f"visits:{number}")


def run(project: SyncProject, plugin: Visits, **options: Any) -> RunReport:
    opened = registered(project, plugin)
    return sync(opened, "test", SyncOptions(**options), sleep=lambda _: None)


def registered(project: SyncProject, plugin: Visits) -> Project:
    opened = project.project()
    opened.plugins.manager.register(plugin, name="visits")
    return opened


def stream(report: RunReport, name: str) -> dict[str, Any]:
    return next(s for s in report.streams if s.stream == name).to_json()


def people(project: SyncProject) -> None:
    project.sf.Contact.create({"LastName": "Ada", "Email": "Ada@Example.com"})
    project.sf.Contact.create({"LastName": "Twin", "Email": "twin@example.com"})
    project.sf.Contact.create({"LastName": "Twin", "Email": "TWIN@example.com"})
    project.sf.Lead.create({"LastName": "Bo", "Company": "Bo Ltd", "Email": "bo@example.com"})


ROWS = [
    {"key": "V1", "email": "ada@example.COM", "version": 1},
    {"key": "V2", "email": "bo@example.com", "version": 1},
    {"key": "V3", "email": "twin@example.com", "version": 1},
    {"key": "V4", "email": "", "version": 1},
    {"key": "V5", "email": "cy@example.com", "version": 1},
]


def links(project: SyncProject) -> dict[str, tuple[str | None, str | None]]:
    rows = project.records("Visit__c", "Visit_Key__c, Contact__r.Email, Lead__r.Email")
    return {
        row["Visit_Key__c"]: (
            (row["Contact__r"] or {}).get("Email"),
            (row["Lead__r"] or {}).get("Email"),
        )
        for row in rows
    }


@pytest.mark.parametrize("threshold", [2000, 1], ids=["collections", "bulk"])
def test_lookups_find_their_record_by_email_in_order_and_never_guess(
    project: SyncProject, threshold: int
) -> None:
    project.configure(extra=f"[sync]\nbulk_threshold = {threshold}\n")
    people(project)
    plugin = Visits(ROWS)
    first = run(project, plugin)
    assert links(project) == {
        "V1": ("Ada@Example.com", None),
        "V2": (None, "bo@example.com"),
        "V4": (None, None),
        "V5": (None, None),
    }
    visits = stream(first, "visits")
    assert (visits["written"], visits["dead_lettered"]) == (4, 1)
    assert visits["method"] == ("bulk" if threshold == 1 else "collections")
    [failure] = first.failures
    assert (failure.key, failure.code) == ("V3", "AMBIGUOUS_LOOKUP")
    assert "finds 2 Contact records by Email" in failure.message
    assert failure.fields == ("Contact__c", "Lead__c")
    warnings = "\n".join(visits["warnings"])
    assert "1 record(s) written without Contact__c, Lead__c (no value in email): V4" in warnings
    assert "(email found no record): V5 (visits:5)" in warnings

    again = run(project, plugin)
    assert again.write_calls == 0 and stream(again, "visits")["unchanged"] == 4

    project.sf.Contact.create({"LastName": "Cy", "Email": "cy@example.com"})
    linked = run(project, plugin)
    assert stream(linked, "visits")["written"] == 1
    assert links(project)["V5"] == ("cy@example.com", None)


def test_a_record_changed_in_the_org_is_found_again_by_its_new_match(
    project: SyncProject,
) -> None:
    people(project)
    plugin = Visits(ROWS[:2])
    run(project, plugin)
    [lead] = project.records("Lead", "Id", "Email = 'bo@example.com'")
    project.sf.Lead.update(lead["Id"], {"Email": "bo-old@example.com"})
    project.sf.Contact.create({"LastName": "Bo", "Email": "bo@example.com"})
    report = run(project, plugin)
    assert stream(report, "visits")["written"] == 1
    assert links(project)["V2"] == ("bo@example.com", None)


def test_a_stream_creates_only_the_people_the_org_does_not_have(project: SyncProject) -> None:
    people(project)
    plugin = Visits(ROWS, people=True)
    first = run(project, plugin)
    created = project.records("Lead", "Email, Company, Ext_Id__c", "Company = 'Visitors'")
    assert created == [
        {"Email": "cy@example.com", "Company": "Visitors", "Ext_Id__c": "cy@example.com"}
    ]
    assert stream(first, "walk_ins")["kept"] == 3  # ada and twin are Contacts, bo a Lead
    assert links(project)["V5"] == (None, "cy@example.com")  # created before the visits
    assert [s.stream for s in first.streams] == ["walk_ins", "visits"]
    again = run(project, plugin)
    assert again.write_calls == 0 and stream(again, "walk_ins")["kept"] == 4


def newer_wins(payload: Mapping[str, Any], current: Mapping[str, Any] | None) -> Any:
    """A version that only grows: an older one is not written; a rewrite keeps a mark."""
    if current is None:
        return payload
    if (current["Version__c"] or 0) > (payload["Version__c"] or 0):
        return None
    return {**payload, "Email__c": "updated-" + str(payload["Email__c"])}


def test_a_guard_keeps_what_the_org_holds_when_the_source_is_older(project: SyncProject) -> None:
    guard = RecordGuard(("Version__c",), newer_wins)
    rows = [{"key": "V1", "email": "a@example.com", "version": 3}]
    first = run(project, Visits(rows, guard=guard, lookups=()))
    assert stream(first, "visits")["written"] == 1
    older = [{"key": "V1", "email": "b@example.com", "version": 2}]
    stale = run(project, Visits(older, guard=guard, lookups=()))
    assert stream(stale, "visits")["kept"] == 1 and stale.write_calls == 0
    assert "kept as the org has them 1" in stream_line(stale.streams[0])
    assert project.records("Visit__c", "Email__c, Version__c") == [
        {"Email__c": "a@example.com", "Version__c": 3.0}
    ]
    newer = [{"key": "V1", "email": "c@example.com", "version": 4}]
    run(project, Visits(newer, guard=guard, lookups=()))
    assert project.records("Visit__c", "Email__c") == [{"Email__c": "updated-c@example.com"}]


def test_mappings_show_lists_lookups_in_order_and_checks_them(project: SyncProject) -> None:
    views = show_mappings(registered(project, Visits(ROWS, people=True)), "visits", None, "test")
    visits = next(v for v in views if v.stream == "visits")
    rows = {(r.target, r.source, r.origin) for r in visits.rows}
    assert ("Contact__c", "email (Contact by Email; try 1 of 2)", "lookup") in rows
    assert ("Lead__c", "email (Lead by Email; try 2 of 2)", "lookup") in rows
    assert visits.errors == 0
    wrong = LookupRef("email", (LookupTarget("Contact__c", MatchBy("Lead", "Email")),))
    bad = registered(project, Visits(ROWS, lookups=(wrong,)))
    [view] = show_mappings(bad, "visits", None, "test")
    problems = [p for r in view.rows for p in r.problems]
    assert problems == [
        "error: Visit__c.Contact__c refers to Contact, not to Lead (point the lookup target "
        "at the object the field refers to)"
    ]
    with pytest.raises(ConfigError, match="Contact__c refers to Contact, not to Lead"):
        sync(bad, "test", SyncOptions(), sleep=lambda _: None)


def test_a_mapping_line_may_not_set_a_lookup_the_engine_sets(project: SyncProject) -> None:
    project.configure(extra='[mappings.visits.visits]\nContact__c = "email"\n')
    with pytest.raises(ConfigError, match=r"Contact__c is a lookup of stream visits\.visits"):
        run(project, Visits(ROWS))


def test_a_guard_reading_a_field_the_object_lacks_stops_the_sync(project: SyncProject) -> None:
    guard = RecordGuard(("Version__c", "Nope__c"), newer_wins)
    with pytest.raises(ConfigError, match="guard reads Nope__c, which Visit__c lacks"):
        run(project, Visits(ROWS, guard=guard, lookups=()))
    assert project.records("Visit__c", "Id") == []
