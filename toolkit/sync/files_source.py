"""The built-in ``files`` source: CSV or JSON Lines files into any sObject.

What a consultant uses instead of Data Loader when a load must be repeatable: each stream is a
file (or a folder of them, read in name order) bound for one object, upserted by an External
ID; running it again sends only what changed. It is an ordinary plugin, registered through the
same hooks as any other, and the engine's reference source in tests and benchmarks::

    [plugins.files.streams.accounts]
    path = "data/accounts.csv"      # a file or a folder: .csv (UTF-8, header row) or .jsonl
    object = "Account"
    key = "Ext_Id__c"               # the External ID field the source key is written to
    source_key = "id"               # the column holding the source key
    cursor = "updated_at"           # optional: a column that grows when a row changes
    on_delete = "ignore"            # or "delete", or { field = "Status__c", value = "Removed" }
    [plugins.files.streams.contacts]
    path = "data/contacts.csv"
    object = "Contact"
    key = "Ext_Id__c"
    source_key = "id"
    parents = { AccountId = { stream = "accounts", column = "account_id" } }

By default every other column is written to the field of the same name (the key, cursor and
parent columns excepted); ``[mappings.files.<stream>]`` renames, transforms or skips.
Each read yields the whole file, so a key that disappears from it is a deletion (``on_delete``).
An empty CSV cell is an empty string, which sftk writes as null.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError, SourceError
from toolkit.fsio import utf8_text
from toolkit.hookspecs import hookimpl
from toolkit.sync.contract import (
    DELETE_ACTIONS,
    CheckResult,
    FieldMapping,
    MarkDeleted,
    ParentRef,
    ReadRequest,
    SettingProblem,
    SourceItem,
    SourceRecord,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.tabular import csv_header, csv_records, jsonl_records

SFTK_API_VERSION = 2
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_STREAM_KEYS = (
    "path",
    "object",
    "key",
    "source_key",
    "cursor",
    "parents",
    "on_delete",
    "delimiter",
)
_REQUIRED = ("path", "object", "key", "source_key")
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_EXAMPLE = {
    "path": '"data/accounts.csv"',
    "object": '"Account"',
    "key": '"Ext_Id__c"',
    "source_key": '"id"',
}


@hookimpl
def sftk_validate_settings(settings: Mapping[str, Any], root: Path) -> list[SettingProblem]:
    problems: list[SettingProblem] = []
    for key in settings:
        if key != "streams":
            problems.append(
                SettingProblem(
                    key,
                    f"unknown key {key!r}",
                    "the files source takes only [plugins.files.streams.NAME] tables",
                )
            )
    streams = settings.get("streams", {})
    if not isinstance(streams, Mapping):
        return [
            *problems,
            SettingProblem(
                "streams", "must be a table of streams", "write [plugins.files.streams.NAME]"
            ),
        ]
    for name, table in streams.items():
        problems += _stream_problems(str(name), table, root, streams)
    return problems


def _stream_problems(
    name: str, table: Any, root: Path, streams: Mapping[str, Any]
) -> list[SettingProblem]:
    where = f"streams.{name}"
    if not isinstance(table, Mapping):
        return [SettingProblem(where, "must be a table", f"write [plugins.files.{where}]")]
    problems = [
        SettingProblem(
            f"{where}.{key}", f"unknown key {key!r}", "valid keys: " + ", ".join(_STREAM_KEYS)
        )
        for key in table
        if key not in _STREAM_KEYS
    ]
    for key in _REQUIRED:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            problems.append(
                SettingProblem(
                    f"{where}.{key}" if key in table else where,
                    f"{key} is required, as a string"
                    if key not in table
                    else f"{key} must be a non-empty string",
                    f"add {key} = {_EXAMPLE[key]}",
                )
            )
    for key in ("object", "key"):
        value = table.get(key)
        if isinstance(value, str) and value and not _API_NAME.match(value):
            problems.append(
                SettingProblem(
                    f"{where}.{key}",
                    f"{value!r} is not an API name",
                    "write it as Salesforce spells it, like Ext_Id__c",
                )
            )
    path = table.get("path")
    if (
        isinstance(path, str)
        and path
        and Path(path).suffix
        and Path(path).suffix.lower() not in SUFFIXES
    ):
        problems.append(
            SettingProblem(
                f"{where}.path",
                f"{Path(path).name} is neither .csv nor .jsonl",
                "name the file .csv or .jsonl",
            )
        )
    cursor = table.get("cursor")
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        problems.append(
            SettingProblem(
                f"{where}.cursor", "must be a column name", 'write cursor = "updated_at"'
            )
        )
    delimiter = table.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        problems.append(
            SettingProblem(f"{where}.delimiter", "must be one character", 'write delimiter = ";"')
        )
    problems += _on_delete_problems(where, table.get("on_delete", "ignore"))
    problems += _parent_problems(where, table.get("parents", {}), streams, name)
    return problems


def _on_delete_problems(where: str, value: Any) -> list[SettingProblem]:
    hint = 'write on_delete = "ignore", "delete" or { field = "Status__c", value = "Removed" }'
    if isinstance(value, str):
        if value not in DELETE_ACTIONS:
            return [SettingProblem(f"{where}.on_delete", f"unknown value {value!r}", hint)]
        return []
    if isinstance(value, Mapping):
        if (
            set(value) != {"field", "value"}
            or not isinstance(value["field"], str)
            or not isinstance(value["value"], str | int | float | bool)
        ):
            return [
                SettingProblem(
                    f"{where}.on_delete", "a table here takes exactly field and value", hint
                )
            ]
        return []
    return [SettingProblem(f"{where}.on_delete", "must be a string or a table", hint)]


def _parent_problems(
    where: str, parents: Any, streams: Mapping[str, Any], name: str
) -> list[SettingProblem]:
    hint = 'write parents = { AccountId = { stream = "accounts", column = "account_id" } }'
    if not isinstance(parents, Mapping):
        return [SettingProblem(f"{where}.parents", "must be a table", hint)]
    problems = []
    for field_name, ref in parents.items():
        at = f"{where}.parents.{field_name}"
        if not isinstance(ref, Mapping) or set(ref) != {"stream", "column"}:
            problems.append(SettingProblem(at, "takes exactly stream and column", hint))
        elif ref["stream"] not in streams:
            known = ", ".join(sorted(streams))
            problems.append(
                SettingProblem(
                    f"{at}.stream",
                    f"no stream {ref['stream']!r} in [plugins.files.streams]",
                    f"streams: {known}",
                )
            )
        elif ref["stream"] == name:
            problems.append(
                SettingProblem(
                    f"{at}.stream",
                    "a stream cannot be its own parent",
                    "records of one object referring to each other are loaded in two streams",
                )
            )
    return problems


@hookimpl
def sftk_preflight_checks(settings: Mapping[str, Any], root: Path) -> list[CheckResult]:
    """Each stream's files are there to read (checked when a sync starts, not when a project
    renders: a CI job that only validates metadata has no data files)."""
    results = []
    for name, table in sorted(settings.get("streams", {}).items()):
        path = root / str(table["path"])
        problem = _missing(path)
        results.append(
            CheckResult(
                f"stream {name} files",
                "fail" if problem else "pass",
                problem or f"{len(_files(path))} file(s) in {path}",
                "set path in [plugins.files.streams."
                + name
                + "] to a .csv or .jsonl file or a folder of them, relative to sftk.toml",
            )
        )
    return results


def _missing(path: Path) -> str | None:
    if not path.exists():
        return f"{path} does not exist"
    if path.is_file() and path.suffix.lower() not in SUFFIXES:
        return f"{path.name} is neither .csv nor .jsonl"
    if path.is_dir() and not _files(path):
        return f"the folder {path} holds no .csv or .jsonl file"
    return None


@hookimpl
def sftk_sources(settings: Mapping[str, Any], root: Path) -> list[SourceSpec]:
    streams = settings.get("streams", {})
    if not streams:
        return []
    specs = tuple(_stream(str(name), table) for name, table in sorted(streams.items()))
    reader = _Reader(root, {str(name): table for name, table in streams.items()})
    return [SourceSpec("files", specs, reader.read, "CSV and JSON Lines files")]


def _stream(name: str, table: Mapping[str, Any]) -> StreamSpec:
    on_delete: str | MarkDeleted = "ignore"
    raw = table.get("on_delete", "ignore")
    if isinstance(raw, Mapping):
        on_delete = MarkDeleted(str(raw["field"]), raw["value"])
    else:
        on_delete = str(raw)
    parents = tuple(
        ParentRef(str(field_name), str(ref["stream"]), str(ref["column"]))
        for field_name, ref in sorted(table.get("parents", {}).items())
    )
    return StreamSpec(
        name=name,
        object=str(table["object"]),
        key=str(table["key"]),
        source_key=str(table["source_key"]),
        cursor=table.get("cursor"),
        parents=parents,
        on_delete=on_delete,
        snapshot=True,
        description=str(table["path"]),
    )


@hookimpl
def sftk_default_mappings(
    stream: StreamSpec, settings: Mapping[str, Any], root: Path
) -> list[FieldMapping]:
    """Every column to the field of the same name, but the key, cursor and parent columns."""
    table = settings["streams"][stream.name]
    reader = _Reader(root, {stream.name: table})
    taken = {stream.source_key, stream.cursor, *(p.source_field for p in stream.parents)}
    return [
        FieldMapping(column, source=column)
        for column in reader.columns(stream.name)
        if column not in taken
    ]


def _files(path: Path) -> list[Path]:
    if path.exists() and not path.is_file() and not path.is_dir():
        raise SourceError(
            f"{path}: is not a regular file (a pipe, socket or device)",
            hint="give the path of a .csv or .jsonl file, or of a folder of them",
        )
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise SourceError(
                f"{path}: is neither a .csv nor a .jsonl file", hint="name the file .csv or .jsonl"
            )
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


class _Reader:
    def __init__(self, root: Path, tables: Mapping[str, Mapping[str, Any]]) -> None:
        self.root = root
        self.tables = tables

    def _paths(self, name: str) -> list[Path]:
        path = self.root / str(self.tables[name]["path"])
        try:
            return _files(path)
        except OSError as exc:
            raise SourceError(
                f"{path}: cannot be read ({exc.strerror})", hint="check the stream's path"
            ) from None

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def columns(self, name: str) -> list[str]:
        """The fields the stream's files carry: the CSV headers, the keys of JSON records."""
        seen: dict[str, None] = {}
        for path in self._paths(name):
            if SUFFIXES[path.suffix.lower()] == "csv":
                with self._open(path) as handle, self._utf8(path):
                    first = next(csv.reader(handle, delimiter=self._delimiter(name)), [])
                seen.update(dict.fromkeys(csv_header(self._shown(path), first)))
            else:
                for item in self._jsonl(path):
                    if isinstance(item, SourceRecord):
                        seen.update(dict.fromkeys(item.data))
        return list(seen)

    def _delimiter(self, name: str) -> str:
        return str(self.tables[name].get("delimiter", ","))

    def _open(self, path: Path) -> Any:
        try:
            return path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise SourceError(
                f"{self._shown(path)}: cannot be read ({exc.strerror})",
                hint="check the stream's path",
            ) from None

    @contextmanager
    def _utf8(self, path: Path) -> Iterator[None]:
        """A file that is not UTF-8 is named with the line of its first byte that is not."""
        try:
            yield
        except UnicodeDecodeError:
            shown = self._shown(path)
            try:
                utf8_text(path.read_bytes(), shown)
            except ConfigError as exc:
                raise SourceError(exc.message, hint=exc.hint) from None
            raise SourceError(f"{shown}: not UTF-8 text", hint="save the file as UTF-8") from None

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceItem]:
        for path in self._paths(stream.name):
            if SUFFIXES[path.suffix.lower()] == "csv":
                yield from self._csv(path, self._delimiter(stream.name))
            else:
                yield from self._jsonl(path)

    def _csv(self, path: Path, delimiter: str) -> Iterator[SourceItem]:
        with self._open(path) as handle, self._utf8(path):
            yield from csv_records(handle, self._shown(path), delimiter=delimiter)

    def _jsonl(self, path: Path) -> Iterator[SourceItem]:
        with self._open(path) as handle, self._utf8(path):
            yield from jsonl_records(handle, self._shown(path))
