"""Matching records the org has without their External ID (``StreamSpec.match``): one match is
adopted, none makes a new record, several are dead-lettered; against the local org."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from synckit import SyncProject

from toolkit.errors import ConfigError
from toolkit.hookspecs import hookimpl
from toolkit.sync import matching
from toolkit.sync.contract import (
    FieldMapping,
    ReadRequest,
    SourceItem,
    SourceRecord,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.engine import sync
from toolkit.sync.options import SyncOptions
from toolkit.sync.report import RunReport


class People:
    """People bound for Contact, matched by email when new."""

    def __init__(self, rows: list[dict[str, str]], match: tuple[str, ...] = ("Email",)) -> None:
        self.rows = rows
        self.match = match

    @hookimpl
    def sftk_sources(self) -> list[SourceSpec]:
        stream = StreamSpec("people", "Contact", key="Ext_Id__c", source_key="id", match=self.match)
        return [SourceSpec("people", (stream,), self.read)]

    @hookimpl
    def sftk_default_mappings(self, stream: StreamSpec) -> list[FieldMapping]:
        return [FieldMapping("LastName", source="name"), FieldMapping("Email", source="email")]

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceItem]:
        for number, row in enumerate(self.rows, start=1):
            yield SourceRecord(row, where=f"people:{number}")


def run(project: SyncProject, people: People) -> RunReport:
    opened = project.project()
    opened.plugins.manager.register(people, name="people")
    return sync(opened, "test", SyncOptions(), sleep=lambda _: None)


def contact(project: SyncProject, **fields: str) -> str:
    answer = project.sf.Contact.create(fields)
    return str(answer["id"])


def test_one_match_is_adopted_none_is_new_several_are_dead_lettered(
    synced: SyncProject,
) -> None:
    synced.configure()
    ann = contact(synced, LastName="Ann (typed in)", Email="ANN@example.com")
    bobs = sorted(contact(synced, LastName="Bob", Email="bob@example.com") for _ in range(2))
    dee = contact(synced, LastName="Dee", Email="dee@example.com")
    eve = contact(synced, LastName="Eve", Email="eve@example.com", Ext_Id__c="L7")
    eve_twin = contact(synced, LastName="Eve twin", Email="eve@example.com")
    people = People(
        [
            {"id": "L1", "name": "Ann", "email": "ann@Example.com"},
            {"id": "L2", "name": "Bob", "email": "bob@example.com"},
            {"id": "L3", "name": "Cy", "email": "cy@example.com"},
            {"id": "L4", "name": "Nobody", "email": ""},
            {"id": "L5", "name": "Dee", "email": "dee@example.com"},
            {"id": "L6", "name": "Dee again", "email": "DEE@example.com"},
            {"id": "L7", "name": "Eve", "email": "eve@example.com"},
        ]
    )
    report = run(synced, people)
    stream = report.streams[0]
    assert (stream.written, stream.matched, stream.dead_lettered) == (4, 1, 3)
    dead = {f.key: f for f in report.failures}
    assert sorted(dead) == ["L2", "L5", "L6"]
    assert {f.code for f in dead.values()} == {"AMBIGUOUS_MATCH"}
    assert ", ".join(bobs) in dead["L2"].message and dead["L2"].fields == ("Email",)
    assert dee in dead["L5"].message
    rows = {r["Id"]: r for r in synced.records("Contact", "Id, LastName, Email, Ext_Id__c")}
    assert rows[ann]["Ext_Id__c"] == "L1" and rows[ann]["LastName"] == "Ann"
    assert rows[eve]["LastName"] == "Eve" and rows[eve_twin]["Ext_Id__c"] is None
    assert all(rows[b]["Ext_Id__c"] is None for b in bobs) and rows[dee]["Ext_Id__c"] is None
    created = {r["Ext_Id__c"] for i, r in rows.items() if i not in (ann, dee, eve, eve_twin, *bobs)}
    assert created == {"L3", "L4"}
    again = run(synced, people)
    # the one query left is the run asking the sandbox whether it is one (the proof rule)
    assert again.write_calls == 0 and dict(again.api_calls).get("query", 0) == 1
    assert again.streams[0].unchanged == 4 and again.streams[0].dead_lettered == 3


def test_a_match_field_the_mapping_does_not_write_stops_the_sync(synced: SyncProject) -> None:
    synced.configure()
    with pytest.raises(ConfigError, match="matches records by Phone"):
        run(synced, People([{"id": "L1", "name": "Ann", "email": "a@example.com"}], ("Phone",)))
    with pytest.raises(ConfigError, match="no field Nope__c"):
        run(synced, People([{"id": "L1", "name": "Ann", "email": "a@example.com"}], ("Nope__c",)))


def test_the_lookup_query_escapes_values_and_matches_on_every_field() -> None:
    pairs: list[tuple[str, dict[str, Any]]] = [
        ("k'1", {"LastName": "O'Hara", "Email": "o@example.com"}),
        ("k2", {"LastName": "Lee", "Email": None}),
    ]
    one = matching.lookup_soql("Contact", "Ext__c", ["Email"], pairs)
    assert one == (
        "SELECT Id, Ext__c, Email FROM Contact WHERE Ext__c IN ('k\\'1', 'k2') "
        "OR (Ext__c = null AND (Email IN ('o@example.com')))"
    )
    both = matching.lookup_soql("Contact", "Ext__c", ["LastName", "Email"], pairs)
    assert both.endswith(
        "OR (Ext__c = null AND ((LastName = 'O\\'Hara' AND Email = 'o@example.com')))"
    )
    found = matching.resolve(
        pairs,
        [
            {"Id": "003A", "Ext__c": None, "LastName": "o'hara", "Email": "O@EXAMPLE.COM"},
            {"Id": "003B", "Ext__c": "k2", "LastName": "Lee", "Email": None},
        ],
        "Ext__c",
        ["LastName", "Email"],
    )
    assert found.adopt == {"k'1": "003A"} and found.existing == {"k2"} and not found.ambiguous
