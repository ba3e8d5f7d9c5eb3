"""A sync session: one org connected, the project's sync state open, the calls counted, and
the streams made ready for that org (describes read, mappings resolved and checked, the
plugins' own checks run) before anything is written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from simple_salesforce.api import Salesforce

from toolkit.config import OrgProfile
from toolkit.errors import (
    ConfigError,
    OrgError,
    PluginChecksFailed,
    SftkError,
    SourceError,
    UsageError,
)
from toolkit.project import Project
from toolkit.salesforce import records as sf_records
from toolkit.salesforce.auth import find_profile, open_connection
from toolkit.salesforce.calls import CallCounter
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.records import ObjectDescribe
from toolkit.sync.contract import OrgAccess, ReadRequest, SourceItem
from toolkit.sync.mapping import (
    MappingProblem,
    RecordMapper,
    StreamMapping,
    check,
    check_lookups,
    link_parents,
    match_objects,
    resolve,
    unknown_overrides,
)
from toolkit.sync.state import SyncState
from toolkit.sync.streams import PlannedStream, all_streams, default_mappings, select


@dataclass
class StreamJob:
    """A stream made ready for one org: its object's describe and its compiled mapping."""

    planned: PlannedStream
    describe: ObjectDescribe
    mapping: StreamMapping
    mapper: RecordMapper
    warnings: list[MappingProblem] = field(default_factory=list)


@dataclass
class SyncSession:
    """One org, connected, with the project's sync state and the calls counted."""

    project: Project
    profile: OrgProfile
    conn: OrgConnection
    sf: Salesforce
    state: SyncState
    counter: CallCounter

    @property
    def org_id(self) -> str:
        return self.conn.org_id or self.conn.instance_url

    def org_access(self) -> OrgAccess:
        return OrgAccess(
            profile=self.conn.profile,
            kind=self.conn.kind,
            org_id=self.conn.org_id,
            user_id=self.conn.user_id,
            username=self.conn.username,
            api_version=self.conn.api_version,
            query=lambda soql: sf_records.query(self.sf, soql),
        )


@contextmanager
def sync_session(project: Project, org: str) -> Iterator[SyncSession]:
    profile = find_profile(project.config, org)
    state = SyncState.open(project.config.state_dir)
    try:
        with open_connection(project.config, org) as conn:
            counter = CallCounter()
            with counter.counting(conn.session):
                yield SyncSession(project, profile, conn, conn.rest(), state, counter)
    finally:
        state.close()


def planned_streams(
    project: Project, plugin: str | None, stream: str | None
) -> tuple[list[PlannedStream], list[PlannedStream]]:
    """The streams chosen, and all the project's, after checking that every ``[mappings]``
    table names a stream."""
    everything = all_streams(project)
    known = {(s.plugin, s.stream.name): s.stream for s in everything}
    stray = unknown_overrides(project.config.mappings, known)
    if stray:
        names = ", ".join(f"{p}.{s}" for p, s in sorted(known)) or "none"
        raise ConfigError(
            f"{stray[0].where}: [mappings.{stray[0].plugin}.{stray[0].stream}] names no stream",
            hint=f"streams: {names}",
        )
    chosen = select(everything, plugin, stream)
    if not chosen:
        raise UsageError(
            "nothing to sync: no enabled plugin declares a stream",
            hint="configure [plugins.files.streams.NAME] in sftk.toml, or enable a plugin "
            "with streams (sftk plugins lists them)",
        )
    return chosen, everything


def prepare(
    session: SyncSession,
    streams: Sequence[PlannedStream],
    declared: Sequence[PlannedStream],
) -> list[StreamJob]:
    """Describe each stream's object and its parents', resolve and check its mapping: every
    error of every stream at once, before anything is written. ``declared`` are all the
    project's streams, where a parent not chosen for this run is found."""
    project = session.project
    describes: dict[str, ObjectDescribe] = {}

    def searched(name: str) -> ObjectDescribe | None:
        """An object a stream finds records in (None if the org lacks it: a problem to list)."""
        if name not in describes:
            try:
                describes[name] = sf_records.describe(session.sf, name)
            except OrgError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                return None
        return describes[name]

    def describe(name: str, planned: PlannedStream) -> ObjectDescribe:
        if name not in describes:
            try:
                describes[name] = sf_records.describe(session.sf, name)
            except OrgError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                raise ConfigError(
                    f"stream {planned.label}: org {session.conn.profile} has no object {name}",
                    hint=f"deploy the project's metadata first (sftk deploy --org "
                    f"{session.conn.profile}), or fix the stream's object",
                ) from None
        return describes[name]

    by_name = {(s.plugin, s.stream.name): s.stream for s in declared}
    jobs: list[StreamJob] = []
    errors: list[tuple[PlannedStream, MappingProblem]] = []
    for planned in streams:
        stream = planned.stream
        parents = {}
        parent_keys = {}
        for ref in stream.parents:
            parent_stream = by_name[(planned.plugin, ref.stream)]
            parents[ref.stream] = describe(parent_stream.object, planned)
            parent_keys[ref.stream] = parent_stream.key
        own = describe(stream.object, planned)
        try:
            defaults = default_mappings(project, planned)
        except SourceError as exc:  # its columns could not be read: nothing is sent yet
            raise SourceError(f"{exc.message}; nothing was synced", hint=exc.hint) from None
        mapping = resolve(planned.plugin, stream, defaults, project.config.mappings)
        problems = check(mapping, own, parents, parent_keys)
        others = {name: searched(name) for name in match_objects(stream)}
        problems += check_lookups(stream, own, others)
        errors += [(planned, p) for p in problems if p.severity == "error"]
        if any(p.severity == "error" for p in problems):
            continue
        mapper = RecordMapper(mapping, own, link_parents(stream, own, parent_keys))
        warnings = [p for p in problems if p.severity != "error"]
        jobs.append(StreamJob(planned, own, mapping, mapper, warnings))
    if errors:
        planned, first = errors[0]
        more = f" (and {len(errors) - 1} more mapping problem(s))" if len(errors) > 1 else ""
        raise ConfigError(
            f"stream {planned.label}, field {first.target} (mapping from {first.origin}): "
            f"{first.message}{more}",
            hint=f"{first.hint}; `sftk mappings show --org {session.conn.profile}` lists them all",
        )
    return jobs


def remaining_requests(session: SyncSession) -> int | None:
    """The org's remaining daily requests: from the last answer's Sforce-Limit-Info header,
    else from /limits (None if the user may not read it: then no guard)."""
    counter = session.counter
    if counter.used is not None and counter.allowance is not None:
        return max(0, counter.allowance - counter.used)
    try:
        daily = session.sf.limits().get("DailyApiRequests", {})
    except Exception:
        return None
    remaining = daily.get("Remaining")
    return int(remaining) if remaining is not None else None


def preflight_plugins(session: SyncSession, plugins: Sequence[str]) -> None:
    """The plugins' own checks; a failing one stops the sync before it writes."""
    project = session.project
    failed = []
    for plugin in plugins:
        results = project.plugins.call_one(
            plugin,
            "sftk_preflight_checks",
            project.config.plugins,
            org=session.org_access(),
            root=project.config.root,
        )
        failed += [(plugin, r) for r in results or () if r.status == "fail"]
    if failed:
        plugin, first = failed[0]
        more = f" (and {len(failed) - 1} more failed check(s))" if len(failed) > 1 else ""
        raise PluginChecksFailed(
            f"plugin {plugin}: preflight check {first.name} failed: {first.message}{more}",
            hint=first.hint or "fix what the check names, then run the sync again",
        )


def source_items(planned: PlannedStream, request: ReadRequest) -> Iterator[SourceItem]:
    """A stream's items from its source; anything but SourceError escaping the plugin is its
    bug, and stops the stream the same way."""
    label = planned.label
    try:
        yield from planned.source.read(planned.stream, request)
    except SourceError as exc:
        raise SourceError(f"stream {label}: {exc.message}", hint=exc.hint) from None
    except SftkError:
        raise
    except Exception as exc:  # a plugin's bug: name it, stop this stream only
        raise SourceError(
            f"stream {label}: the plugin failed while reading: {type(exc).__name__}: {exc}",
            hint=f"this is a bug in plugin {planned.plugin}; report it to its authors",
        ) from None
