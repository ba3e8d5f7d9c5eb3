"""``sftk mappings show``: each stream's mapping as an admin reviews it, line by line: the
Salesforce field, where its value comes from, its type, and where the line was decided (the
plugin's default, or a line of sftk.toml). With an org, every line is checked against the
org's describe and its problems listed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolkit.errors import OrgError
from toolkit.project import Project, project_objects
from toolkit.salesforce import records
from toolkit.salesforce.records import FieldDescribe, ObjectDescribe
from toolkit.sync.mapping import (
    KEY_ORIGIN,
    LOOKUP_ORIGIN,
    PARENT_ORIGIN,
    MappingLine,
    MappingProblem,
    StreamMapping,
    check,
    check_lookups,
    match_objects,
    resolve,
)
from toolkit.sync.session import planned_streams, sync_session
from toolkit.sync.streams import PlannedStream, default_mappings


@dataclass(frozen=True)
class MappingRow:
    target: str
    source: str  # a source field, "= value" for a constant, or "parent STREAM by COLUMN"
    steps: str  # transforms, value map, default, date format, as written
    type: str
    origin: str
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "steps": self.steps,
            "type": self.type,
            "origin": self.origin,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class StreamView:
    plugin: str
    stream: str
    object: str
    rows: tuple[MappingRow, ...]
    checked_against: str | None  # the org profile, when checked

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows for p in row.problems if p.startswith("error"))

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "stream": self.stream,
            "object": self.object,
            "checked_against": self.checked_against,
            "errors": self.errors,
            "lines": [row.to_json() for row in self.rows],
        }


def show_mappings(
    project: Project, plugin: str | None, stream: str | None, org: str | None = None
) -> list[StreamView]:
    chosen, declared = planned_streams(project, plugin, stream)
    if org is None:
        types = _spec_types(project)
        return [
            _view(project, planned, declared, types.get(planned.stream.object, {}))
            for planned in chosen
        ]
    with sync_session(project, org) as session:
        describes: dict[str, ObjectDescribe] = {}

        def describe(name: str) -> ObjectDescribe | None:
            if name not in describes:
                try:
                    describes[name] = records.describe(session.sf, name)
                except OrgError as exc:
                    if exc.code != "NOT_FOUND":
                        raise
                    return None
            return describes[name]

        return [_checked_view(project, planned, declared, describe, org) for planned in chosen]


def _spec_types(project: Project) -> dict[str, dict[str, str]]:
    """Field types as the project's specs declare them, for a view without an org."""
    types: dict[str, dict[str, str]] = {}
    for spec in project_objects(project):
        types[spec.name] = {f.name.lower(): f.type for f in spec.fields}
    return types


def _mapping(project: Project, planned: PlannedStream) -> StreamMapping:
    defaults = default_mappings(project, planned)
    return resolve(planned.plugin, planned.stream, defaults, project.config.mappings)


def _row(line: MappingLine, type_name: str, problems: tuple[str, ...] = ()) -> MappingRow:
    mapping = line.mapping
    if line.origin == PARENT_ORIGIN:
        source = mapping.source or ""
    elif mapping.source is None:
        source = f"= {mapping.constant!r}"
    else:
        source = mapping.source
    steps = [*mapping.transforms]
    if mapping.values:
        steps.append("values " + ", ".join(f"{k}->{v}" for k, v in mapping.values))
    if mapping.default is not None:
        steps.append(f"default {mapping.default!r}")
    if mapping.date_format:
        steps.append(f"date {mapping.date_format}")
    if mapping.datetime_format:
        steps.append(f"datetime {mapping.datetime_format}")
    origin = "key" if line.origin == KEY_ORIGIN else line.origin
    return MappingRow(mapping.target, source, "; ".join(steps), type_name, origin, problems)


def _parent_rows(planned: PlannedStream, declared: list[PlannedStream]) -> list[MappingRow]:
    keys = {s.stream.name: s.stream.key for s in declared if s.plugin == planned.plugin}
    return [
        MappingRow(
            ref.field,
            f"{ref.source_field} (parent {ref.stream}, by {keys.get(ref.stream, '?')})",
            "",
            "reference",
            PARENT_ORIGIN,
        )
        for ref in planned.stream.parents
    ]


def _lookup_rows(planned: PlannedStream) -> list[MappingRow]:
    """A line per lookup target, in the order they are tried, and one per ``unless_found``."""
    stream = planned.stream
    rows = []
    for ref in stream.lookups:
        tried = len(ref.targets) > 1
        for number, target in enumerate(ref.targets, start=1):
            order = f"; try {number} of {len(ref.targets)}" if tried else ""
            rows.append(
                MappingRow(
                    target.field,
                    f"{ref.source_field} ({target.match.object} by {target.match.field}{order})",
                    "",
                    "reference",
                    LOOKUP_ORIGIN,
                )
            )
    if stream.unless_found:
        where = " or ".join(f"a {m.object} by {m.field}" for m in stream.unless_found)
        rows.append(
            MappingRow(
                stream.key,
                f"{stream.source_key} (not written when {where} has it: kept)",
                "",
                "-",
                LOOKUP_ORIGIN,
            )
        )
    return rows


def _view(
    project: Project,
    planned: PlannedStream,
    declared: list[PlannedStream],
    types: dict[str, str],
) -> StreamView:
    lines = _mapping(project, planned).lines
    rows = [_row(line, types.get(line.mapping.target.lower(), "-")) for line in lines]
    return StreamView(
        planned.plugin,
        planned.stream.name,
        planned.stream.object,
        (*rows, *_parent_rows(planned, declared), *_lookup_rows(planned)),
        None,
    )


def _type(found: FieldDescribe | None) -> str:
    if found is None:
        return "missing"
    if found.length and found.type not in ("reference", "id"):
        return f"{found.type}({found.length})"
    return found.type


def _checked_view(
    project: Project,
    planned: PlannedStream,
    declared: list[PlannedStream],
    describe: Callable[[str], ObjectDescribe | None],
    org: str,
) -> StreamView:
    stream = planned.stream
    own = describe(stream.object)
    mapping = _mapping(project, planned)
    lines = mapping.lines
    if own is None:
        rows = [
            _row(line, "?", (f"error: the org has no object {stream.object}",)) for line in lines
        ]
        return StreamView(planned.plugin, stream.name, stream.object, tuple(rows), org)
    by_name = {(s.plugin, s.stream.name): s.stream for s in declared}
    parents: dict[str, ObjectDescribe] = {}
    parent_keys: dict[str, str] = {}
    for ref in stream.parents:
        parent_stream = by_name[(planned.plugin, ref.stream)]
        found = describe(parent_stream.object)
        if found is not None:
            parents[ref.stream] = found
        parent_keys[ref.stream] = parent_stream.key
    problems = check(mapping, own, parents, parent_keys)
    others = {name: describe(name) for name in match_objects(stream)}
    problems += check_lookups(stream, own, others)
    by_target: dict[str, list[MappingProblem]] = {}
    for problem in problems:
        by_target.setdefault(problem.target.lower(), []).append(problem)

    def noted(target: str) -> tuple[str, ...]:
        return tuple(
            f"{p.severity}: {p.message} ({p.hint})" for p in by_target.get(target.lower(), [])
        )

    rows = [
        _row(line, _type(own.field(line.mapping.target)), noted(line.mapping.target))
        for line in lines
    ]
    parent_rows = [
        MappingRow(
            r.target, r.source, r.steps, _type(own.field(r.target)), r.origin, noted(r.target)
        )
        for r in (*_parent_rows(planned, declared), *_lookup_rows(planned))
    ]
    return StreamView(planned.plugin, stream.name, stream.object, (*rows, *parent_rows), org)
