"""Records found by a field that is not an External ID: the lookups a stream sets that way
(an appointment's Contact by its attendee's e-mail, ``StreamSpec.lookups``) and the records a
stream only creates when the org has none yet (``StreamSpec.unless_found``).

Values are looked up in batches, one SOQL query per object, field and QUERY_VALUES values,
and compared without regard to case as SOQL compares text. A value that finds several records
is never settled by a guess: the record is dead-lettered with the Ids found.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from simple_salesforce.api import Salesforce

from toolkit.salesforce import records as sf_records
from toolkit.salesforce.records import soql_literal
from toolkit.sync.contract import LookupRef, MatchBy

T = TypeVar("T")
QUERY_VALUES = 200  # values in one SOQL IN list: a query well under SOQL's 100,000 characters
AMBIGUOUS = "AMBIGUOUS_LOOKUP"

Caller = Callable[[Callable[[], T]], T]


class Resolution(NamedTuple):
    """A record's lookups: each target field with the Id found (or None), and, when a target
    found several records, why the record cannot be written."""

    fields: tuple[tuple[str, str | None], ...]
    problem: str | None = None
    blank: tuple[str, ...] = ()  # source fields the record has no value in
    unmatched: tuple[str, ...] = ()  # source fields whose value found nothing

    def digest(self, source_hash: bytes) -> bytes:
        """The record's hash with what its lookups found: a Contact created, merged or
        deleted in the org makes the record worth sending again."""
        text = repr((self.fields, self.problem)).encode("utf-8")
        return hashlib.blake2b(source_hash + text, digest_size=16).digest()


def _value(data: Mapping[str, Any], source_field: str) -> str | None:
    raw = data.get(source_field)
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


class Finder:
    """Looks values up in the org through ``call`` (the loader's: under the API guard, retried
    when the org fails for a transient reason)."""

    def __init__(self, sf: Salesforce, call: Caller[list[dict[str, Any]]]) -> None:
        self.sf = sf
        self.call = call

    def find(self, match: MatchBy, values: Iterable[str]) -> dict[str, list[str]]:
        """The Ids of the records of ``match.object`` holding each value, by the value in
        lower case; a value found nowhere is absent."""
        wanted = sorted({v.lower(): v for v in values}.values())
        found: dict[str, list[str]] = {}
        for start in range(0, len(wanted), QUERY_VALUES):
            part = wanted[start : start + QUERY_VALUES]
            soql = (
                f"SELECT Id, {match.field} FROM {match.object} WHERE {match.field} IN "
                f"({', '.join(soql_literal(v) for v in part)}) ORDER BY Id"
            )
            for row in self.call(functools.partial(sf_records.query, self.sf, soql)):
                value = _field(row, match.field)
                if value is not None:
                    found.setdefault(str(value).lower(), []).append(str(row["Id"]))
        return found

    def resolve(
        self, lookups: Sequence[LookupRef], batch: Sequence[Mapping[str, Any]]
    ) -> list[Resolution]:
        """Each record's lookups, in the order of ``batch``."""
        wanted: dict[MatchBy, set[str]] = {}
        for ref in lookups:
            values = {v for data in batch if (v := _value(data, ref.source_field)) is not None}
            for target in ref.targets:
                wanted.setdefault(target.match, set()).update(values)
        found = {match: self.find(match, values) for match, values in wanted.items()}
        return [_resolve(lookups, data, found) for data in batch]

    def existing(self, matches: Sequence[MatchBy], values: Iterable[str]) -> set[str]:
        """Which of ``values`` (in lower case) some record has, through any of ``matches``."""
        wanted = list(values)
        hits: set[str] = set()
        for match in matches:
            hits.update(self.find(match, wanted))
        return hits


def _resolve(
    lookups: Sequence[LookupRef],
    data: Mapping[str, Any],
    found: Mapping[MatchBy, Mapping[str, list[str]]],
) -> Resolution:
    fields: dict[str, str | None] = {}
    blank: list[str] = []
    unmatched: list[str] = []
    problem = None
    for ref in lookups:
        for target in ref.targets:
            fields.setdefault(target.field, None)
        value = _value(data, ref.source_field)
        if value is None:
            blank.append(ref.source_field)
            continue
        for target in ref.targets:
            ids = found[target.match].get(value.lower(), [])
            if len(ids) == 1:
                fields[target.field] = ids[0]
                break
            if len(ids) > 1:
                problem = (
                    f"{ref.source_field} = {value!r} finds {len(ids)} {target.match.object} "
                    f"records by {target.match.field} ({', '.join(ids[:5])}"
                    f"{', …' if len(ids) > 5 else ''}), so {target.field} cannot be set "
                    "without guessing"
                )
                break
        else:
            unmatched.append(ref.source_field)
    return Resolution(tuple(fields.items()), problem, tuple(blank), tuple(unmatched))


def _field(row: Mapping[str, Any], name: str) -> Any:
    """A field of a query row, whatever case the query named it in."""
    if name in row:
        return row[name]
    lowered = name.lower()
    return next((v for k, v in row.items() if k.lower() == lowered), None)
