"""One stream of a sync run: read, compare, map, load, delete, keep the position.

Records are compared by the hash of what the mapping takes from them before they are mapped,
so an unchanged record costs a read and a hash; the rest are mapped and handed to the loader.
Deletions come last, and the cursor and bookmark are kept only for a stream read to its end.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from toolkit.errors import OrgError, SourceError
from toolkit.metadata.fieldtypes import wire_value
from toolkit.salesforce import bulk
from toolkit.salesforce import records as sf_records
from toolkit.salesforce.records import COLLECTION_SIZE, soql_literal, update_collection
from toolkit.sync import cursor as cursors
from toolkit.sync import matching
from toolkit.sync.contract import (
    Bookmark,
    MarkDeleted,
    ReadRequest,
    RejectedRecord,
    SourceItem,
    SourceRecord,
)
from toolkit.sync.loader import LoadContext, Loader, Prepared
from toolkit.sync.lookups import AMBIGUOUS, Finder, Resolution
from toolkit.sync.mapping import MappingError, content_hash
from toolkit.sync.options import StreamProgress
from toolkit.sync.report import StreamReport
from toolkit.sync.session import StreamJob, source_items
from toolkit.sync.state import Failed, StreamState

if TYPE_CHECKING:
    from toolkit.sync.engine import Run

PROCESS_BATCH = 500  # records read, then checked against the state in one lookup


class _Read(NamedTuple):
    """A record as read, with the hash of what the mapping takes from it (and what its
    lookups found, when the stream has some)."""

    key: str
    data: Mapping[str, Any]
    hash: bytes
    where: str
    links: Resolution | None = None


class StreamRun:
    """One stream of a run: read, map, compare, load, delete, keep the position."""

    def __init__(self, run: Run, job: StreamJob, workdir: Path) -> None:
        self.run = run
        self.job = job
        self.planned = job.planned
        self.stream = job.planned.stream
        self.options = run.options
        self.state = run.session.state
        self.read = 0
        self.unchanged = 0
        self.rejected = 0
        self.still_dead = 0
        self.before_cursor = 0
        self.reconciled = 0
        self.matched = 0
        self.deleted = 0
        self.kept = 0
        self.unlinked: dict[str, list[str]] = {}  # "no value in F" / "F found nothing": keys
        self.completed = False
        self.error: SourceError | None = None
        self.batch: list[_Read] = []
        self.early: list[str] = []  # keys before the cursor: seen, not sent
        self.deletions: list[str] = []
        self.bookmark: str | None = None
        self.warnings: list[str] = [f"{w.target}: {w.message}" for w in job.warnings]
        self.max_cursor: cursors.Comparable | None = None
        self.stream_state: StreamState | None = None
        self.loader: Loader | None = None
        self.finder: Finder | None = None
        self.workdir = workdir

    # --- the steps -------------------------------------------------------------------------------

    def execute(self) -> None:
        session = self.run.session
        st = self.state.stream(session.org_id, self.planned.plugin, self.stream.name)
        self.stream_state = st
        self.state.begin_stream_run()
        self.loader = Loader(
            LoadContext(
                sf=session.sf,
                conn=session.conn,
                state=self.state,
                stream=st,
                run_id=self.run.run_id,
                object_name=self.job.describe.name,
                key_field=self.job.mapper.columns[0],
                mapper=self.job.mapper,
                threshold=session.project.config.sync.bulk_threshold,
                guard=self.run.guard,
                workdir=self.workdir,
                on_failure=lambda failure: self.run.failed(self.planned, failure),
                pace=self.run.pace,
                sleep=self.run.sleep,
            )
        )
        self.finder = Finder(session.sf, self.loader.call)
        self._settle_jobs_in_flight(st)
        wanted = self.state.dead_letter_keys(st) if self.options.retry else None
        if wanted is not None and not wanted:
            self.completed = True
            self._progress(done=True)
            return
        since = self._since(st)
        source_state = self.state.source_state(session.org_id, self.planned.plugin)
        request = ReadRequest(
            since=None if since is None else cursors.text(since),
            bookmark=None if self.options.full_refresh or self.options.retry else st.bookmark,
            historic=self.options.historic,
            historic_since=self.options.since,
            keys=wanted,
            state=source_state,
        )
        self.max_cursor = None if st.cursor is None else cursors.parse(st.cursor)
        try:
            for item in source_items(self.planned, request):
                self._take(item, since, wanted)
        except SourceError as exc:
            self.error = exc
        self._process()
        self.loader.finish()
        if self.error is not None:
            self._progress(done=True)
            return
        unseen = self.job.mapper.unseen
        if unseen and self.read > self.rejected:
            self.warnings.append(
                f"source field(s) {', '.join(sorted(unseen))} were in none of the records read; "
                "their Salesforce fields were cleared: check the mapping's source names"
            )
        self.warnings += self._unlinked_warnings()
        if wanted is not None:
            left = len(self.state.dead_letter_keys(st) & wanted) - self._new_dead()
            self.still_dead += max(0, left)  # not in the source any more: purge or fix it
        else:
            self._delete(st)
            self.state.keep_position(
                st,
                st.cursor if self.max_cursor is None else cursors.text(self.max_cursor),
                self.bookmark if self.bookmark is not None else st.bookmark,
                source_state,
            )
        self.completed = True
        self._progress(done=True)

    def _new_dead(self) -> int:
        assert self.loader is not None
        return self.loader.tally.dead_lettered + self.rejected

    def _since(self, st: StreamState) -> cursors.Comparable | None:
        options = self.options
        if self.stream.cursor is None or options.full_refresh or options.retry:
            return None
        if options.reconcile or options.historic:  # older records are what these want
            return None
        lookback = self.run.session.project.config.sync.lookback_seconds
        return cursors.lower_bound(st.cursor, lookback)

    def _take(
        self, item: SourceItem, since: cursors.Comparable | None, wanted: frozenset[str] | None
    ) -> None:
        if isinstance(item, Bookmark):
            self.bookmark = item.value
            return
        self.read += 1
        if isinstance(item, RejectedRecord):
            self._reject(
                item.key or f"(no key) {item.where}",
                "SOURCE_INVALID",
                item.reason,
                dict(item.data or {}),
                item.where,
            )
            return
        if not isinstance(item, SourceRecord):
            raise SourceError(
                f"stream {self.planned.label}: the source yielded {type(item).__name__}",
                hint="yield SourceRecord, RejectedRecord or Bookmark values",
            )
        data = item.data
        raw_key = data.get(self.stream.source_key)
        if raw_key is None or raw_key == "":
            self._reject(
                f"(no key) {item.where}",
                "MISSING_KEY",
                f"the record has no {self.stream.source_key}, the stream's source key",
                dict(data),
                item.where,
            )
            return
        key = str(raw_key)
        if wanted is not None and key not in wanted:
            self.read -= 1
            return
        if item.deleted:
            self.deletions.append(key)
            return
        if self.stream.cursor is not None and wanted is None:
            try:
                position = cursors.parse(data.get(self.stream.cursor))
            except cursors.CursorError as exc:
                self._reject(
                    key, "BAD_CURSOR", f"{self.stream.cursor}: {exc}", dict(data), item.where
                )
                return
            if since is not None and position < since:
                self.before_cursor += 1
                self.early.append(key)
                if len(self.early) >= PROCESS_BATCH:  # a long tail of old records: keep memory flat
                    self._process()
                return
            if self.max_cursor is None or position > self.max_cursor:
                self.max_cursor = position
        self.batch.append(_Read(key, data, self.job.mapper.source_hash(data), item.where))
        if len(self.batch) >= PROCESS_BATCH:
            self._process()

    def _reject(
        self,
        key: str,
        code: str,
        message: str,
        data: dict[str, object],
        where: str,
        fields: tuple[str, ...] = (),
        digest: bytes | None = None,
    ) -> None:
        """Dead-letter a record sftk itself refused; with its ``digest``, a plain run will
        not look at it again until it changes."""
        assert self.stream_state is not None
        failure = Failed(key, data, code, message, fields, where, digest)
        self.state.dead_letter(self.stream_state, [failure])
        self.rejected += 1
        self.run.failed(self.planned, failure)

    def _process(self) -> None:
        """The batch read so far: duplicates out, unchanged records counted, the rest mapped
        and handed to the loader (or, reconciling, compared with what the org has first).
        Records are compared by their source hash, so an unchanged record is never mapped."""
        st, loader = self.stream_state, self.loader
        assert st is not None and loader is not None
        batch, self.batch = self.batch, []
        early, self.early = self.early, []
        seen_before = self.state.already_seen([*(r.key for r in batch), *early])
        fresh: list[_Read] = []
        in_batch: dict[str, str] = {}
        for record in batch:
            first = in_batch.get(record.key)
            if record.key in seen_before or first is not None:
                self._reject(
                    f"{record.key} (duplicate, {record.where})",
                    "DUPLICATE_KEY",
                    f"the source has key {record.key} more than once"
                    + (f" (also at {first})" if first else "")
                    + "; only the first was loaded",
                    dict(record.data),
                    record.where,
                )
                continue
            in_batch[record.key] = record.where
            fresh.append(record)
        fresh = self._found_elsewhere(self._linked(fresh))
        keys = [r.key for r in fresh]
        stored = self.state.hashes(st, keys) if fresh else {}
        dead = self.state.dead_letter_hashes(st, keys) if fresh else {}
        force = self.options.full_refresh or self.options.retry or self.options.reconcile
        to_send: list[Prepared] = []
        for record in fresh:
            if not force and stored.get(record.key) == (record.hash, False):
                self.unchanged += 1
            elif not force and dead.get(record.key) == record.hash:
                self.still_dead += 1  # refused before as it is now: `deadletters retry` re-sends
            else:
                prepared = self._mapped(record)
                if prepared is not None:
                    to_send.append(prepared)
        if self.stream.guard is not None and to_send:
            to_send = self._guarded(to_send)
        if self.options.reconcile:
            to_send = self._reconcile(to_send)
        if self.stream.match and to_send:
            to_send = self._match([r for r in to_send if r.key not in stored], to_send)
        for prepared in to_send:
            loader.add(prepared)
        self._progress()

    def _mapped(self, record: _Read) -> Prepared | None:
        try:
            payload = self.job.mapper.payload(record.data)
        except MappingError as exc:
            self._reject(
                record.key,
                "MAPPING_ERROR",
                str(exc),
                dict(record.data),
                record.where,
                (exc.field,),
                record.hash,
            )
            return None
        links = record.links
        if links is not None:
            if links.problem is not None:
                self._reject(
                    record.key,
                    AMBIGUOUS,
                    links.problem,
                    dict(record.data),
                    record.where,
                    tuple(field for field, _ in links.fields),
                    record.hash,
                )
                return None
            names = self.job.mapper.lookup_names
            payload.update((names[field.lower()], value) for field, value in links.fields)
            for source_field in links.blank:
                self._note_unlinked(f"no value in {source_field}", record)
            for source_field in links.unmatched:
                self._note_unlinked(f"{source_field} found no record", record)
        return Prepared(record.key, payload, record.hash, record.where)

    # --- lookups and the org's say ----------------------------------------------------------------

    def _linked(self, batch: list[_Read]) -> list[_Read]:
        """The batch with what its lookups found in the org, in each record's hash too."""
        lookups = self.stream.lookups
        if not lookups or not batch:
            return batch
        assert self.finder is not None
        found = self.finder.resolve(lookups, [record.data for record in batch])
        return [
            record._replace(hash=links.digest(record.hash), links=links)
            for record, links in zip(batch, found, strict=True)
        ]

    def _found_elsewhere(self, batch: list[_Read]) -> list[_Read]:
        """The batch less the records whose key finds a record the org already has
        (``unless_found``): those are kept as the org has them."""
        matches = self.stream.unless_found
        if not matches or not batch:
            return batch
        assert self.finder is not None
        existing = self.finder.existing(matches, [record.key for record in batch])
        left = [record for record in batch if record.key.lower() not in existing]
        self.kept += len(batch) - len(left)
        return left

    def _guarded(self, records: list[Prepared]) -> list[Prepared]:
        """The records the stream's guard lets through, as it changed them, after reading what
        the org holds of them; the others are kept as the org has them."""
        guard = self.stream.guard
        assert guard is not None and self.loader is not None
        key_field = self.job.mapper.columns[0]
        fields = list(dict.fromkeys([key_field, *guard.fields]))
        allowed: list[Prepared] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            part = records[start : start + COLLECTION_SIZE]
            soql = (
                f"SELECT {', '.join(fields)} FROM {self.job.describe.name} WHERE {key_field} IN "
                f"({', '.join(soql_literal(r.key) for r in part)})"
            )
            rows = self.loader.call(functools.partial(sf_records.query, self.run.session.sf, soql))
            in_org = {
                str(row.get(key_field)): {name: row.get(name) for name in guard.fields}
                for row in rows
            }
            for record in part:
                try:
                    decided = guard.decide(record.payload, in_org.get(record.key))
                except Exception as exc:  # the plugin's bug: name it, stop this stream
                    raise SourceError(
                        f"stream {self.planned.label}: the plugin's guard failed on record "
                        f"{record.key}: {type(exc).__name__}: {exc}",
                        hint=f"this is a bug in plugin {self.planned.plugin}; report it",
                    ) from None
                if decided is None:
                    self.kept += 1
                else:
                    allowed.append(record._replace(payload=dict(decided)))
        return allowed

    def _note_unlinked(self, why: str, record: _Read) -> None:
        keys = self.unlinked.setdefault(why, [])
        keys.append(f"{record.key} ({record.where})" if record.where else record.key)

    def _unlinked_warnings(self) -> list[str]:
        fields = ", ".join(t.field for ref in self.stream.lookups for t in ref.targets)
        warnings = []
        for why, keys in sorted(self.unlinked.items()):
            shown = "; ".join(keys[:3]) + ("; …" if len(keys) > 3 else "")
            warnings.append(f"{len(keys)} record(s) written without {fields} ({why}): {shown}")
        return warnings

    def _reconcile(self, records: list[Prepared]) -> list[Prepared]:
        """Read the org's records back by External ID and keep only those that differ from
        the source (edited in Salesforce, or missing)."""
        assert self.stream_state is not None and self.loader is not None
        mapper = self.job.mapper
        key_field = mapper.columns[0]
        fields = [f.name for _, f in mapper.fields]
        parents = [f"{link.relationship}.{link.parent_key}" for link in mapper.parents]
        fields += mapper.lookup_fields
        differ: list[Prepared] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            part = records[start : start + COLLECTION_SIZE]
            soql = (
                f"SELECT {', '.join(dict.fromkeys([*fields, *parents]))} "
                f"FROM {self.job.describe.name} WHERE {key_field} IN "
                f"({', '.join(soql_literal(r.key) for r in part)})"
            )
            rows = self.loader.call(functools.partial(sf_records.query, self.run.session.sf, soql))
            in_org = {str(row.get(key_field)): row for row in rows}
            same = []
            for record in part:
                row = in_org.get(record.key)
                if row is not None and self._matches(record.payload, row):
                    same.append((record.key, record.hash))
                else:
                    differ.append(record)
            self.state.confirm(self.stream_state, same)
            self.unchanged += len(same)
        self.reconciled += len(differ)
        return differ

    def _match(self, unconfirmed: list[Prepared], records: list[Prepared]) -> list[Prepared]:
        """Records Salesforce never confirmed, looked up by the stream's ``match`` fields:
        adopt the one org record that matches (its key set by Id), dead-letter those that
        match several; returns what goes on to the upsert."""
        assert self.loader is not None
        describe = self.job.describe
        key_field = self.job.mapper.columns[0]
        fields = [f.name for name in self.stream.match if (f := describe.field(name))]
        refused: set[str] = set()
        for start in range(0, len(unconfirmed), matching.QUERY_BATCH):
            part = unconfirmed[start : start + matching.QUERY_BATCH]
            pairs = [(r.key, r.payload) for r in part]
            soql = matching.lookup_soql(describe.name, key_field, fields, pairs)
            rows = self.loader.call(functools.partial(sf_records.query, self.run.session.sf, soql))
            found = matching.resolve(pairs, rows, key_field, fields)
            by_key = {r.key: r for r in part}
            for key, ids in found.ambiguous.items():
                message, hint = matching.ambiguity(describe.name, key_field, fields, ids)
                record = by_key[key]
                self._reject(
                    key,
                    matching.AMBIGUOUS,
                    f"{message} ({hint})",
                    dict(record.payload),
                    record.where,
                    tuple(fields),
                    record.hash,
                )
                refused.add(key)
            refused |= self._adopt(found.adopt, by_key, key_field)
        return [r for r in records if r.key not in refused]

    def _adopt(
        self, adopt: dict[str, str], by_key: dict[str, Prepared], key_field: str
    ) -> set[str]:
        """Set each adopted record's External ID by its Id; returns the keys refused."""
        assert self.loader is not None
        refused: set[str] = set()
        items = sorted(adopt.items())
        for start in range(0, len(items), COLLECTION_SIZE):
            part = items[start : start + COLLECTION_SIZE]
            rows = [{"Id": record_id, key_field: key} for key, record_id in part]
            self.loader.tally.methods.add("collections")
            results = self.loader.call(
                functools.partial(
                    update_collection, self.run.session.sf, self.job.describe.name, rows
                )
            )
            for (key, record_id), result in zip(part, results, strict=True):
                if result.success:
                    self.matched += 1
                    continue
                record = by_key[key]
                error = result.errors[0] if result.errors else None
                self._reject(
                    key,
                    error.code if error else "UNKNOWN_EXCEPTION",
                    f"adopting {self.job.describe.name} {record_id}: "
                    + (error.message if error else "the update was refused"),
                    dict(record.payload),
                    record.where,
                    error.fields if error else (),
                    record.hash,
                )
                refused.add(key)
        return refused

    def _matches(self, payload: dict[str, object], row: dict[str, object]) -> bool:
        for _, found in self.job.mapper.fields:
            try:
                theirs = wire_value(found.type, row.get(found.name))
            except (ValueError, TypeError, ArithmeticError):
                return False
            if theirs != payload.get(found.name):
                return False
        for link in self.job.mapper.parents:
            related = row.get(link.relationship)
            theirs = related.get(link.parent_key) if isinstance(related, dict) else None
            mine = payload.get(link.relationship)
            wanted = mine.get(link.parent_key) if isinstance(mine, dict) else None
            if theirs != wanted:
                return False
        return all(payload.get(name) == row.get(name) for name in self.job.mapper.lookup_fields)

    def _delete(self, st: StreamState) -> None:
        """Deletions the source marked, and for a source read whole, the records it no longer
        yields: deleted, marked, or left, as the stream's ``on_delete`` says."""
        on_delete = self.stream.on_delete
        keys = list(dict.fromkeys(self.deletions))
        whole_read = self.stream.snapshot and not self.options.historic
        if whole_read:
            self.state.drop_unseen_dead_letters(st)
            if on_delete != "ignore":
                unseen = self.state.unseen_keys(st)
                if unseen and self.read == 0:
                    self.warnings.append(
                        f"the source yielded no records, so the {len(unseen)} record(s) synced "
                        "before were not deleted: check the source (if it really is empty now, "
                        "delete them in Salesforce yourself)"
                    )
                else:
                    keys += unseen
        if not keys or on_delete == "ignore":
            return
        for start in range(0, len(keys), COLLECTION_SIZE):
            part = keys[start : start + COLLECTION_SIZE]
            if isinstance(on_delete, MarkDeleted):
                self._mark(st, part, on_delete)
            else:
                self._delete_records(st, part)

    def _mark(self, st: StreamState, keys: list[str], mark: MarkDeleted) -> None:
        assert self.loader is not None
        field_name = self.job.describe.field(mark.field)
        name = field_name.name if field_name else mark.field
        value = wire_value(field_name.type, mark.value) if field_name else mark.value
        records = []
        for key in keys:
            payload = {self.job.mapper.columns[0]: key, name: value}
            records.append(Prepared(key, payload, content_hash(payload), "deleted in the source"))
        self.deleted += self.loader.send_collection(records, deleted=True)

    def _delete_records(self, st: StreamState, keys: list[str]) -> None:
        assert self.loader is not None
        key_field = self.job.mapper.columns[0]
        soql = (
            f"SELECT Id, {key_field} FROM {self.job.describe.name} WHERE {key_field} IN "
            f"({', '.join(soql_literal(k) for k in keys)})"
        )
        rows = self.loader.call(lambda: sf_records.query(self.run.session.sf, soql))
        ids = {str(row["Id"]): str(row[key_field]) for row in rows}
        gone = [k for k in keys if k not in set(ids.values())]
        failed = []
        if ids:
            self.loader.tally.methods.add("collections")
            results = self.loader.call(
                lambda: sf_records.delete_collection(self.run.session.sf, list(ids))
            )
            for record_id, result in zip(ids, results, strict=True):
                code = result.errors[0].code if result.errors else ""
                if result.success or code in ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"):
                    gone.append(ids[record_id])
                else:
                    error = result.errors[0] if result.errors else None
                    failed.append(
                        Failed(
                            ids[record_id],
                            {"Id": record_id},
                            code or "UNKNOWN_EXCEPTION",
                            error.message if error else "the delete was refused",
                            error.fields if error else (),
                            "deleted in the source",
                        )
                    )
        self.state.forget(st, gone)
        self.deleted += len(gone)
        for failure in failed:
            self._reject(
                failure.key,
                failure.code,
                failure.message,
                failure.payload,
                failure.location,
                failure.fields,
            )

    def _settle_jobs_in_flight(self, st: StreamState) -> None:
        """Bulk jobs a killed run left behind: an open one is aborted (its rows are sent
        again); one being processed is waited for, so its writes do not race ours."""
        assert self.loader is not None
        sf = self.run.session.sf
        for job_id in self.state.jobs_in_flight(st):
            read = functools.partial(bulk.job_info, sf, job_id)
            try:
                info = self.loader.call(read)
                if info.state == "Open":
                    info = self.loader.call(functools.partial(bulk.abort, sf, job_id))
                while not info.finished:
                    self.run.sleep(2.0)
                    info = self.loader.call(read)
            except OrgError as exc:
                if exc.code != "NOT_FOUND":
                    raise
            self.state.job_settled(job_id)

    # --- reporting -------------------------------------------------------------------------------

    def _progress(self, done: bool = False) -> None:
        if self.run.on_progress is None:
            return
        tally = self.loader.tally if self.loader else None
        self.run.on_progress(
            StreamProgress(
                self.planned.plugin,
                self.stream.name,
                self.read,
                tally.written if tally else 0,
                self.unchanged,
                (tally.dead_lettered if tally else 0) + self.rejected + self.still_dead,
                done,
            )
        )

    def report(self) -> StreamReport:
        tally = self.loader.tally if self.loader else None
        methods = sorted(tally.methods) if tally else []
        return StreamReport(
            plugin=self.planned.plugin,
            stream=self.stream.name,
            object=self.stream.object,
            read=self.read,
            written=tally.written if tally else 0,
            unchanged=self.unchanged,
            deleted=self.deleted,
            dead_lettered=(tally.dead_lettered if tally else 0) + self.rejected + self.still_dead,
            before_cursor=self.before_cursor,
            reconciled=self.reconciled,
            kept=self.kept,
            matched=self.matched,
            method="+".join(methods) if methods else "none",
            completed=self.completed,
            warnings=tuple(self.warnings),
        )
