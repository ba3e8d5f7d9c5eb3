"""The built-in files source on its own: its settings checked with the key named, CSV and JSON
Lines read a row at a time, bad rows rejected with their line, and its default mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from toolkit.errors import ConfigError, SourceError
from toolkit.project import build_package, open_project
from toolkit.sync import files_source
from toolkit.sync.contract import MarkDeleted, ReadRequest, RejectedRecord, SourceRecord
from toolkit.sync.streams import all_streams


def settings(**streams: dict[str, Any]) -> dict[str, Any]:
    return {"streams": streams}


def problems(root: Path, **streams: dict[str, Any]) -> dict[str, str]:
    found = files_source.sftk_validate_settings(settings(**streams), root)
    return {p.key: p.message for p in found}


def test_settings_problems_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    (tmp_path / "notes.txt").write_text("x")
    good = {"path": "a.csv", "object": "Account", "key": "Ext__c", "source_key": "id"}
    assert problems(tmp_path, a=good) == {}
    assert problems(
        tmp_path,
        a={**good, "colour": "red", "on_delete": "shred"},
        b={**good, "path": "missing.csv", "key": "not valid"},
        c={**good, "path": "notes.txt", "parents": {"AccountId": {"stream": "zz", "column": "a"}}},
        d={"path": "a.csv"},
    ) == {
        "streams.a.colour": "unknown key 'colour'",
        "streams.a.on_delete": "unknown value 'shred'",
        "streams.b.key": "'not valid' is not an API name",
        "streams.c.path": "notes.txt is neither .csv nor .jsonl",
        "streams.c.parents.AccountId.stream": "no stream 'zz' in [plugins.files.streams]",
        "streams.d": "source_key is required, as a string",
    }


def test_a_project_with_bad_files_settings_is_refused_at_the_line(tmp_path: Path) -> None:
    (tmp_path / "sftk.toml").write_text(
        "[plugins.files.streams.accounts]\n"
        'path = "a.csv"\nobject = "Account"\nkey = "Ext__c"\nsource_key = "id"\n'
        'on_delete = "shred"\n'
    )
    with pytest.raises(ConfigError, match=r"sftk.toml:6: plugins.files.streams.accounts.on_delete"):
        all_streams(open_project(tmp_path, no_plugins=True))
    with pytest.raises(ConfigError, match="unknown value 'shred'"):  # rendering checks them too
        build_package(open_project(tmp_path, no_plugins=True))


def test_files_that_are_not_there_fail_the_preflight_before_a_sync_writes(tmp_path: Path) -> None:
    (tmp_path / "here.csv").write_text("id\n1\n")
    (tmp_path / "empty").mkdir()
    table = {"object": "Account", "key": "Ext__c", "source_key": "id"}
    results = files_source.sftk_preflight_checks(
        settings(
            a={**table, "path": "here.csv"},
            b={**table, "path": "gone.csv"},
            c={**table, "path": "empty"},
        ),
        tmp_path,
    )
    assert [(r.name, r.status) for r in results] == [
        ("stream a files", "pass"),
        ("stream b files", "fail"),
        ("stream c files", "fail"),
    ]
    assert results[1].message == f"{tmp_path / 'gone.csv'} does not exist"
    assert "holds no .csv or .jsonl file" in results[2].message


def reader(tmp_path: Path, name: str, **extra: Any) -> tuple[Any, Any]:
    table = {"path": name, "object": "Account", "key": "Ext__c", "source_key": "id", **extra}
    (source,) = files_source.sftk_sources(settings(s=table), tmp_path)
    return source, source.streams[0]


def test_csv_rows_are_read_with_their_lines_and_bad_rows_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(
        b'\xef\xbb\xbfid,Name,Note\r\n1,Acme,"two\r\nlines"\r\n2,Globex\r\n3,Initech,\r\n\r\n'
    )
    source, stream = reader(tmp_path, "a.csv", on_delete={"field": "Status__c", "value": "Gone"})
    assert stream.on_delete == MarkDeleted("Status__c", "Gone") and stream.snapshot
    items = list(source.read(stream, ReadRequest()))
    assert items[0] == SourceRecord(
        {"id": "1", "Name": "Acme", "Note": "two\r\nlines"}, where="a.csv:3"
    )
    assert isinstance(items[1], RejectedRecord) and items[1].where == "a.csv:4"
    assert items[1].reason == "the row has 2 fields, the header 3"
    assert items[2] == SourceRecord({"id": "3", "Name": "Initech", "Note": ""}, where="a.csv:5")
    assert len(items) == 3
    assert files_source.sftk_default_mappings(stream, settings(s={"path": "a.csv"}), tmp_path)


def test_a_folder_of_csv_and_jsonl_files_is_read_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.jsonl").write_text('{"id": "2", "Score__c": 1.5}\n\nnot json\n[1]\n')
    (folder / "a.csv").write_text("id,Name\n1,Acme\n")
    source, stream = reader(tmp_path, "in")
    items = list(source.read(stream, ReadRequest()))
    assert [getattr(i, "where", None) for i in items] == [
        "in/a.csv:2",
        "in/b.jsonl:1",
        "in/b.jsonl:3",
        "in/b.jsonl:4",
    ]
    assert items[1] == SourceRecord({"id": "2", "Score__c": 1.5}, where="in/b.jsonl:1")
    assert isinstance(items[2], RejectedRecord) and items[2].reason.startswith("not JSON")
    assert isinstance(items[3], RejectedRecord) and "JSON object, not list" in items[3].reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,Name,id\n1,a,b\n", "column 'id' appears twice in the header"),
        (b"id,,Name\n1,a,b\n", "column 2 has no name"),
        (b"id,Name\n1,\xe9t\xe9\n", "not UTF-8 text"),
        (b'id,Name\n1,"open\n', "malformed CSV"),
    ],
)
def test_a_file_that_cannot_be_read_stops_the_stream(
    tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "a.csv").write_bytes(content)
    source, stream = reader(tmp_path, "a.csv")
    with pytest.raises(SourceError, match=message):
        list(source.read(stream, ReadRequest()))


def test_the_default_mapping_is_every_other_column_by_name(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,LastName,Email,account_id,changed\n")
    table = {
        "path": "c.csv",
        "object": "Contact",
        "key": "Ext__c",
        "source_key": "id",
        "cursor": "changed",
        "parents": {"AccountId": {"stream": "accounts", "column": "account_id"}},
    }
    (source,) = files_source.sftk_sources(
        settings(c=table, accounts={**table, "parents": {}}), tmp_path
    )
    stream = next(s for s in source.streams if s.name == "c")
    lines = files_source.sftk_default_mappings(stream, settings(c=table), tmp_path)
    assert [(m.target, m.source) for m in lines] == [("LastName", "LastName"), ("Email", "Email")]
