"""Adopting records the org already has without an External ID (``StreamSpec.match``).

A learner may be in the org as a Contact someone typed in before the LMS was connected: an
upsert by External ID alone would make a second Contact. So before the records of a stream
with ``match`` fields are upserted, those Salesforce has not confirmed before are looked up,
a hundred a query: a record whose key the org already holds is simply upserted; else the
org's records without a key whose match fields hold the same values (text without regard to
case, as SOQL compares it) decide: exactly one is adopted (its External ID set by Id, then
the upsert updates it), none means a new record, several mean the record is dead-lettered,
never a guess. Two source records matching the same org record are both dead-lettered too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.salesforce.records import soql_literal

QUERY_BATCH = 100  # records looked up per query (keeps the SOQL well under its length limit)
AMBIGUOUS = "AMBIGUOUS_MATCH"


@dataclass
class Matches:
    """What the org has for a batch of records: their keys already there, the record each
    one adopts, and the records that match several."""

    existing: set[str] = field(default_factory=set)
    adopt: dict[str, str] = field(default_factory=dict)  # source key -> Salesforce Id
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # source key -> Ids


def values_of(payload: Mapping[str, Any], fields: Sequence[str]) -> tuple[str, ...] | None:
    """A payload's match values as compared (case folded); None when one is empty: such a
    record matches nothing."""
    found = []
    for name in fields:
        value = payload.get(name)
        if value is None or value == "":
            return None
        found.append(str(value).casefold())
    return tuple(found)


def lookup_soql(
    object_name: str,
    key_field: str,
    fields: Sequence[str],
    records: Sequence[tuple[str, Mapping[str, Any]]],
) -> str:
    """One query for (key, payload) pairs: the org's records holding one of the keys, and
    those without a key whose match fields hold a record's values."""
    keys = ", ".join(soql_literal(key) for key, _ in records)
    wanted = [payload for _, payload in records if values_of(payload, fields) is not None]
    if len(fields) == 1:
        values = dict.fromkeys(str(p[fields[0]]) for p in wanted)
        matching = (
            f"{fields[0]} IN ({', '.join(soql_literal(v) for v in values)})" if values else ""
        )
    else:
        matching = " OR ".join(
            "(" + " AND ".join(f"{name} = {soql_literal(str(p[name]))}" for name in fields) + ")"
            for p in wanted
        )
    where = f"{key_field} IN ({keys})"
    if matching:
        where += f" OR ({key_field} = null AND ({matching}))"
    columns = ", ".join(dict.fromkeys(["Id", key_field, *fields]))
    return f"SELECT {columns} FROM {object_name} WHERE {where}"


def resolve(
    records: Sequence[tuple[str, Mapping[str, Any]]],
    rows: Sequence[Mapping[str, Any]],
    key_field: str,
    fields: Sequence[str],
) -> Matches:
    """Sort a batch by what the query found."""
    matches = Matches()
    held = {str(row[key_field]) for row in rows if row.get(key_field) not in (None, "")}
    by_values: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for row in rows:
        if row.get(key_field) in (None, ""):
            values = values_of(row, fields)
            if values is not None:
                by_values[values].append(str(row["Id"]))
    claimed: dict[str, list[str]] = defaultdict(list)  # Salesforce Id -> source keys
    for key, payload in records:
        if key in held:
            matches.existing.add(key)
            continue
        values = values_of(payload, fields)
        found = sorted(by_values.get(values, ())) if values is not None else []
        if len(found) > 1:
            matches.ambiguous[key] = found
        elif found:
            claimed[found[0]].append(key)
    for record_id, keys in claimed.items():
        if len(keys) == 1:
            matches.adopt[keys[0]] = record_id
        else:
            for key in keys:
                matches.ambiguous[key] = [record_id]
    return matches


def ambiguity(
    object_name: str, key_field: str, fields: Sequence[str], ids: Sequence[str]
) -> tuple[str, str]:
    """The dead letter's message and hint for a record that matched more than one way."""
    what = " and ".join(fields)
    if len(ids) > 1:
        return (
            f"{len(ids)} {object_name} records without {key_field} have this {what} "
            f"({', '.join(ids[:5])}): sftk does not guess which one is this record",
            f"merge them, or set {key_field} on the right one, then `sftk deadletters retry`",
        )
    return (
        f"{object_name} {ids[0]} (no {key_field} yet) has the {what} of several records "
        "of the source: sftk does not guess which one it is",
        f"set {key_field} on {ids[0]} to the right key, or correct the source, then "
        "`sftk deadletters retry`",
    )
