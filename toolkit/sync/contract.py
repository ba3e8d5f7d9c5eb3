"""The data half of the plugin contract: what a source tells sftk about its records.

A plugin describes its source and sftk does the Salesforce side: a ``SourceSpec`` names the
streams (one per kind of record, each bound for one sObject) and how to read them; every record
carries a stable source key that becomes an External ID, so loads are upserts and repeating
one is harmless. These types are frozen so that a plugin cannot change what it declared once
sftk has planned a run around it. Hooks in ``toolkit.hookspecs`` return them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

DELETE_ACTIONS = ("ignore", "delete")


@dataclass(frozen=True)
class MarkDeleted:
    """``on_delete`` that keeps the Salesforce record and sets one field on it instead, as a
    customer who must keep history wants (``Status__c = "Removed"``)."""

    field: str
    value: str | bool | int | float


@dataclass(frozen=True)
class ParentRef:
    """How a child record names its parent: the lookup or master-detail ``field`` of the
    stream's object (``AccountId``, ``Course__c``) is set through the parent stream's External
    ID, from the child's ``source_field`` holding the parent's source key. Salesforce resolves
    the reference (``Account: {Ext_Id__c: "A-1"}``), so no Salesforce Id is ever looked up."""

    field: str
    stream: str
    source_field: str


@dataclass(frozen=True)
class MatchBy:
    """Existing records of ``object`` found by a field that is not an External ID (a person by
    ``Email``): the field equals a value, compared without regard to case, as Salesforce
    compares text in SOQL."""

    object: str
    field: str


@dataclass(frozen=True)
class LookupTarget:
    """A lookup ``field`` of the stream's object (``Contact__c``) and how the record it points
    to is found (``MatchBy("Contact", "Email")``)."""

    field: str
    match: MatchBy


@dataclass(frozen=True)
class LookupRef:
    """A lookup set from a value that is not an External ID, such as an attendee's e-mail:
    the record's ``source_field`` is looked for through each of ``targets`` in turn. The first
    target that finds exactly one record sets its field to that record's Id, and the other
    targets' fields are cleared; several records found by one target dead-letter the record
    (``AMBIGUOUS_LOOKUP``, the Ids named): sftk never guesses. A record without a value, or
    whose value finds nothing, is written with every target's field cleared (the run report
    counts them). sftk finds the records in batched SOQL queries on every run, so a record
    links up once its Contact exists, even if the source did not change."""

    source_field: str
    targets: tuple[LookupTarget, ...]


@dataclass(frozen=True)
class RecordGuard:
    """What the org holds decides what is written, for sources whose records carry a version
    (iCalendar's SEQUENCE) or whose values depend on the record's past (a rescheduled
    appointment). Before changed records are written, the org's values of ``fields`` are read
    by External ID (one query per batch) and ``decide(payload, current)`` returns the payload
    to send (as it is, or changed) or None to leave the org's record as it is (counted
    ``kept``). ``current`` is None when the org has no record with that key; the payload and
    ``current`` use Salesforce field names."""

    fields: tuple[str, ...]
    decide: Callable[[Mapping[str, Any], Mapping[str, Any] | None], Mapping[str, Any] | None]


@dataclass(frozen=True)
class StreamSpec:
    """One stream of records bound for one sObject.

    - ``key``: the External ID field of ``object`` the source key is written to; records are
      upserted by it.
    - ``source_key``: the field of a source record holding its stable key.
    - ``cursor``: a field of the source record (an ISO date or timestamp, or a number) that
      grows when the record changes; runs after the first read from the last value seen (``>=``,
      less the project's lookback window). None: every run reads everything, and unchanged
      records are skipped by their content hash.
    - ``parents``: lookups set through other streams of the same source; those are loaded first.
    - ``on_delete``: what a record deleted in the source does in Salesforce: ``"ignore"``,
      ``"delete"`` or ``MarkDeleted(field, value)``.
    - ``snapshot``: every read yields every live record, so a key the source stops yielding was
      deleted there (a file export); streams that only yield changes mark deletions themselves
      (``SourceRecord(deleted=True)``).
    - ``historic``: the source can backfill older records when asked (``sftk sync --historic``).
    - ``lookups``: lookups set by finding their target through a field that is not an External
      ID (``LookupRef``: an appointment's Contact by its attendee's e-mail).
    - ``unless_found``: a record whose source key finds an existing record through any of these
      is not written (counted ``kept``): a stream that creates Leads only for people the org
      does not have yet, as a Contact or a Lead, by e-mail.
    - ``guard``: the org's current values decide what is written (``RecordGuard``).
    - ``match``: fields of ``object`` by which a record whose key the org does not hold yet is
      matched to a record the org already has without one (a Contact entered by hand, found by
      ``("Email",)``): exactly one such record with the same values (text compared without
      regard to case) is adopted (its External ID set, then updated like any other), none
      means a new record, several mean the record is dead-lettered (``AMBIGUOUS_MATCH``),
      never a guess. Only records Salesforce has not confirmed before are matched.
    """

    name: str
    object: str
    key: str
    source_key: str
    cursor: str | None = None
    parents: tuple[ParentRef, ...] = ()
    on_delete: str | MarkDeleted = "ignore"
    snapshot: bool = False
    historic: bool = False
    description: str = ""
    lookups: tuple[LookupRef, ...] = ()
    unless_found: tuple[MatchBy, ...] = ()
    guard: RecordGuard | None = None
    match: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceRecord:
    """One record as the source has it: field name to value (strings, numbers, booleans, dates;
    None for no value). ``deleted`` marks a deletion (only the source key is read from
    ``data``). ``where`` says where it came from (``data/accounts.csv:12``), for messages."""

    data: Mapping[str, Any]
    deleted: bool = False
    where: str = ""


@dataclass(frozen=True)
class RejectedRecord:
    """A record the source could not read (a malformed row): it is dead-lettered with
    ``reason`` and the run goes on. ``key`` when the source could still tell it."""

    where: str
    reason: str
    key: str | None = None
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Bookmark:
    """An opaque position in the source (a sync token, a page marker) that sftk keeps once
    every record yielded before it is safely in Salesforce, and hands back as
    ``ReadRequest.bookmark`` next time. Streams with a ``cursor`` field rarely need one."""

    value: str


SourceItem = SourceRecord | RejectedRecord | Bookmark


class SourceState(Protocol):
    """A source's own bookkeeping between runs (the previous export's keys, items waiting for
    a parent that is not synced yet, how far a backfill got): JSON values under text keys,
    kept by sftk per org and plugin in the project's ``.sftk/`` and shared by the plugin's
    streams. What a stream's read writes is kept only once that stream's records are settled,
    with its cursor and bookmark, and dropped when the read stops before (or when it was a
    dry run or a retry of dead letters): the bookkeeping never runs ahead of the org. A read
    sees its own writes."""

    def get(self, key: str) -> Any:
        """The value under ``key``, or None."""

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values under those of ``keys`` that have one."""

    def put(self, key: str, value: Any) -> None:
        """Keep a JSON value (lists, dicts, text, numbers, booleans) under ``key``; None
        removes the key."""

    def items(self, prefix: str = "", after: str | None = None) -> Iterator[tuple[str, Any]]:
        """(key, value) of every key starting with ``prefix`` (and sorting after ``after``,
        to read a log on from where the last read stopped), in key order, read lazily;
        putting while iterating is fine."""


class MemoryState:
    """A ``SourceState`` held in memory: what a read outside a sync gets (the contract suite,
    a plugin's own tests, ``sftk mappings show``), starting empty and gone with the request."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return {key: self.values[key] for key in keys if key in self.values}

    def put(self, key: str, value: Any) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value

    def items(self, prefix: str = "", after: str | None = None) -> Iterator[tuple[str, Any]]:
        keys = (k for k in self.values if k.startswith(prefix) and (after is None or k > after))
        for key in sorted(keys):
            if key in self.values:
                yield key, self.values[key]


@dataclass(frozen=True)
class ReadRequest:
    """What one run wants of a stream.

    ``since``: the lower bound for the stream's cursor (records with cursor ``>= since``), or
    None to read everything; sftk drops older records itself, so a source may ignore it.
    ``bookmark``: the last ``Bookmark`` kept for this stream (None on the first run and with
    ``--full-refresh``). ``historic`` and ``historic_since``: ``sftk sync --historic [--since]``.
    ``keys``: only these source keys are wanted (retrying dead letters); a hint, as above.
    ``state``: the plugin's own bookkeeping (``SourceState``); in a sync, kept between runs,
    elsewhere an empty ``MemoryState``.
    """

    since: str | None = None
    bookmark: str | None = None
    historic: bool = False
    historic_since: dt.date | None = None
    keys: frozenset[str] | None = None
    state: SourceState = field(default_factory=MemoryState, compare=False)


Reader = Callable[[StreamSpec, ReadRequest], Iterable[SourceItem]]


@dataclass(frozen=True)
class SourceSpec:
    """A source and its streams. ``read(stream, request)`` yields the stream's records
    (``SourceRecord``, ``RejectedRecord``, ``Bookmark``), one at a time: sftk streams them, so
    a source never needs to hold its data in memory. Stream names are unique per plugin."""

    name: str
    streams: tuple[StreamSpec, ...]
    read: Reader
    description: str = ""


TRANSFORMS = ("trim", "lower", "upper")


@dataclass(frozen=True)
class FieldMapping:
    """Where one Salesforce field's value comes from.

    ``source``: the source record's field; None means ``constant`` (None clears the field).
    Then, in this order: the text ``transforms`` (``trim``, ``lower``, ``upper``), the
    ``values`` map (source value -> Salesforce value, for picklists; other values pass as they
    are), ``default`` when the value is empty, and ``date_format`` / ``datetime_format``
    (``strptime`` formats) to read dates written other than ISO 8601.
    """

    target: str
    source: str | None = None
    constant: str | int | float | bool | None = None
    transforms: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    date_format: str | None = None
    datetime_format: str | None = None


@dataclass(frozen=True)
class SettingProblem:
    """A problem with a plugin's ``[plugins.NAME]`` table: ``key`` is the dotted path inside it
    (``streams.accounts.path``), so the message can name the line of sftk.toml."""

    key: str
    message: str
    hint: str | None = None


CHECK_STATUSES = ("pass", "warn", "fail")


@dataclass(frozen=True)
class CheckResult:
    """One preflight check of a plugin: a ``fail`` stops the sync before anything is written,
    a ``warn`` is shown. ``hint`` says how to fix it."""

    name: str
    status: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class OrgAccess:
    """What a plugin's preflight checks may know of the org: who is connected where, and a
    read-only SOQL ``query`` (every page, as dicts)."""

    profile: str
    kind: str
    org_id: str | None
    user_id: str | None
    username: str | None
    api_version: str
    query: Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class RunInfo:
    """The run the lifecycle hooks are told about."""

    run_id: str
    org: str
    org_id: str | None
    kind: str
    mode: str
    plugins: tuple[str, ...]


@dataclass(frozen=True)
class RecordFailure:
    """A record that was dead-lettered: Salesforce's error code (or sftk's own, such as
    ``MAPPING_ERROR``) and message, and the fields it named."""

    plugin: str
    stream: str
    key: str
    code: str
    message: str
    fields: tuple[str, ...] = ()
