"""``sftk sync --dry-run``: every record the sync would read, mapped and checked against the
org's describe as Salesforce would check it (types, lengths, required fields, restricted
picklist values), with nothing written to the org or to the sync state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from toolkit.errors import SourceError
from toolkit.project import Project
from toolkit.salesforce.records import FieldDescribe
from toolkit.sync import cursor as cursors
from toolkit.sync.contract import ReadRequest, RejectedRecord, SourceRecord
from toolkit.sync.mapping import MappingError, Payload
from toolkit.sync.options import SyncOptions
from toolkit.sync.session import (
    StreamJob,
    SyncSession,
    planned_streams,
    prepare,
    source_items,
    sync_session,
)
from toolkit.sync.state import StreamState, SyncState

_LENGTH_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "encryptedstring"})


@dataclass(frozen=True)
class RecordProblem:
    plugin: str
    stream: str
    key: str
    field: str
    code: str
    message: str
    where: str

    def to_json(self) -> dict[str, str]:
        return {
            "plugin": self.plugin,
            "stream": self.stream,
            "key": self.key,
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "where": self.where,
        }


@dataclass(frozen=True)
class DryRunStream:
    plugin: str
    stream: str
    object: str
    read: int
    problems: int
    error: str | None = None


@dataclass(frozen=True)
class DryRunReport:
    org: str
    streams: tuple[DryRunStream, ...]
    problems: tuple[RecordProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and not any(s.error for s in self.streams)

    def to_json(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "ok": self.ok,
            "streams": [
                {
                    "plugin": s.plugin,
                    "stream": s.stream,
                    "object": s.object,
                    "read": s.read,
                    "problems": s.problems,
                    "error": s.error,
                }
                for s in self.streams
            ],
            "problems": [p.to_json() for p in self.problems],
        }


def dry_run(project: Project, org: str, options: SyncOptions | None = None) -> DryRunReport:
    options = options or SyncOptions()
    streams, declared = planned_streams(project, options.plugin, options.stream)
    with sync_session(project, org) as session:
        jobs = prepare(session, streams, declared)
        results: list[DryRunStream] = []
        problems: list[RecordProblem] = []
        for job in jobs:
            found: list[RecordProblem] = []
            read, error = _check_stream(session, job, options, found)
            stream = job.planned.stream
            results.append(
                DryRunStream(
                    job.planned.plugin, stream.name, stream.object, read, len(found), error
                )
            )
            problems += found
    return DryRunReport(org, tuple(results), tuple(problems))


def _check_stream(
    session: SyncSession, job: StreamJob, options: SyncOptions, found: list[RecordProblem]
) -> tuple[int, str | None]:
    """Check the records the sync would read into ``found``; returns how many were read and
    why the source could not be read to the end (None when it was)."""
    planned, stream = job.planned, job.planned.stream
    st = session.state.existing_stream(session.org_id, planned.plugin, stream.name)
    since = None
    reads_all = options.full_refresh or options.reconcile or options.historic
    if st is not None and stream.cursor and not reads_all:
        since = cursors.lower_bound(st.cursor, session.project.config.sync.lookback_seconds)
    request = ReadRequest(
        since=None if since is None else cursors.text(since),
        bookmark=None if options.full_refresh or st is None else st.bookmark,
        historic=options.historic,
        historic_since=options.since,
        # what the plugin kept is read; what this read writes is never kept
        state=session.state.source_state(session.org_id, planned.plugin),
    )
    read = 0

    def problem(key: str, field: str, code: str, message: str, where: str) -> None:
        found.append(RecordProblem(planned.plugin, stream.name, key, field, code, message, where))

    try:
        for item in source_items(planned, request):
            if isinstance(item, RejectedRecord):
                read += 1
                problem(item.key or "-", "-", "SOURCE_INVALID", item.reason, item.where)
                continue
            if not isinstance(item, SourceRecord) or item.deleted:
                continue
            read += 1
            key = item.data.get(stream.source_key)
            if key is None or key == "":
                problem(
                    "-",
                    stream.source_key,
                    "MISSING_KEY",
                    "the record has no source key",
                    item.where,
                )
                continue
            if stream.cursor and since is not None:
                try:
                    if cursors.parse(item.data.get(stream.cursor)) < since:
                        continue
                except cursors.CursorError as exc:
                    problem(str(key), stream.cursor, "BAD_CURSOR", str(exc), item.where)
                    continue
            try:
                payload = job.mapper.payload(item.data)
            except MappingError as exc:
                problem(str(key), exc.field, "MAPPING_ERROR", str(exc), item.where)
                continue
            for field, code, message in _field_problems(job, payload, session.state, st, str(key)):
                problem(str(key), field, code, message, item.where)
    except SourceError as exc:
        return read, str(exc)
    return read, None


def _field_problems(
    job: StreamJob, payload: Payload, state: SyncState, st: StreamState | None, key: str
) -> Iterator[tuple[str, str, str]]:
    for _, found in job.mapper.fields:
        value = payload.get(found.name)
        yield from _value_problems(found, value)
    if st is not None and state.hashes(st, [key]):
        return  # synced before: an update, which needs no required field
    for found in job.describe.fields.values():
        if not found.required_on_create:
            continue
        has_parent = any(
            link.ref.field.lower() == found.name.lower() and payload.get(link.relationship)
            for link in job.mapper.parents
        )
        if payload.get(found.name) is None and not has_parent:
            yield (
                found.name,
                "REQUIRED_FIELD_MISSING",
                f"{found.name} is required on a new {job.describe.name} and the record has "
                "no value for it",
            )


def _value_problems(found: FieldDescribe, value: Any) -> Iterator[tuple[str, str, str]]:
    if value is None:
        return
    if found.type in _LENGTH_TYPES and found.length and len(str(value)) > found.length:
        yield (
            found.name,
            "STRING_TOO_LONG",
            f"{len(str(value))} characters, {found.name} takes at most {found.length}",
        )
    if found.restricted_picklist:
        values = str(value).split(";") if found.type == "multipicklist" else [str(value)]
        for one in values:
            if one not in found.picklist_values:
                yield (
                    found.name,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{one!r} is not a value of the restricted picklist {found.name} "
                    f"(values: {', '.join(found.picklist_values)})",
                )
