"""Enrollments as the LMS has them now, and the history of how they got there.

The plugin keeps, in its state, each enrollment it synced (``enr/KEY``): who, which
offering, whether the learner is enrolled, since when, the outcome the statements (or the
export) gave and when. Each read of the roster and the statements is applied to that: a row
``tobedeleted`` (or gone from a bulk export) unenrolls, a row back again re-enrolls, a
completed statement completes. Each change that matters is an event in the log
(``evt/NNN``), never rewritten: the enrollments stream sends each enrollment as it is now,
the events stream the log from where it left off. Everything is a pure function of what was
read and what was kept, so reading the same exports again changes nothing.

Every enrollment of the roster is kept, but only those of offerings in scope are synced:
offerings whose term has not ended, those synced before (``trk/KEY``, kept current ever
after) and, in a historic run, those of the terms ending from ``since`` on, so a backfill
works from a later delta export too. Statements about an enrollment that is not synced yet
wait (``wait/ID``) until it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from sftk_lms.model import OUTCOMES, EnrollmentRow, Rejected, moment_text
from sftk_lms.roster import Export, OneRoster, offering_dates
from sftk_lms.xapi import Statement
from toolkit.sync.contract import SourceState

ENROLLMENT = "enr/"
BY_LEARNER = "by/"  # learner TAB offering -> enrollment key
WAITING = "wait/"
EVENT = "evt/"
TRACKED = "trk/"
APPLIED = "meta/applied"
NEXT_EVENT = "meta/next-event"
BATCH = 500


class Scope:
    """Which offerings a run covers."""

    def __init__(
        self,
        state: SourceState,
        roster: OneRoster | Export,
        today: dt.date,
        historic: bool,
        since: dt.date | None,
    ) -> None:
        self.state = state
        self.roster = roster
        self.today = today
        self.historic = historic
        self.since = since
        self.known: dict[str, bool] = {}

    def covers(self, offering: str) -> bool:
        if offering not in self.known:
            self.known[offering] = self._covers(offering)
        return self.known[offering]

    def _covers(self, offering: str) -> bool:
        value = self.roster.offerings_index.get(offering)
        if value is None:
            return False
        _, end = offering_dates(value)
        if end is None or end >= self.today:
            return True
        if self.historic and (self.since is None or end >= self.since):
            return True
        return self.state.get(TRACKED + offering) is not None

    def fingerprint(self) -> str:
        return f"{self.today}|{self.historic}|{self.since}"


def status(enrollment: dict[str, Any]) -> str:
    if not enrollment["a"]:
        return "Unenrolled"
    if enrollment.get("oc"):
        return str(enrollment["oc"])
    return "In Progress" if enrollment.get("ip") else "Enrolled"


def record(key: str, enrollment: dict[str, Any]) -> dict[str, Any]:
    """The enrollment as its stream yields it."""
    return {
        "id": key,
        "learner": enrollment["l"],
        "offering": enrollment["o"],
        "status": status(enrollment),
        "enrolled_on": enrollment.get("e"),
        "completed_on": enrollment.get("ot") if enrollment.get("oc") == "Completed" else None,
        "unenrolled_on": None if enrollment["a"] else enrollment.get("u"),
        "progress": enrollment.get("pg"),
        "score": enrollment.get("sc"),
    }


def event_key(enrollment: str, kind: str, at: str) -> str:
    moment = at.replace("-", "").replace(":", "")
    key = f"{enrollment}/{kind}/{moment}"
    if len(key) <= 255:
        return key
    return f"{hashlib.sha256(enrollment.encode()).hexdigest()}/{kind}/{moment}"


class Enrollments:
    """Applies one read of the roster and the statements to the kept enrollments."""

    def __init__(self, state: SourceState, roster: OneRoster | Export, scope: Scope) -> None:
        self.state = state
        self.roster = roster
        self.scope = scope
        # when the export was read, to the millisecond: two reads make two distinct events
        self.read_at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        self.exported_at = moment_text(roster.exported_at())
        self.next_event = int(state.get(NEXT_EVENT) or 0)

    # --- the log ---------------------------------------------------------------------------

    def _event(self, enrollment: str, offering: str, kind: str, at: str) -> None:
        self.state.put(
            f"{EVENT}{self.next_event:012d}",
            {
                "key": event_key(enrollment, kind, at),
                "enrollment": enrollment,
                "offering": offering,
                "type": kind,
                "occurred_at": at,
            },
        )
        self.next_event += 1
        self.state.put(NEXT_EVENT, self.next_event)

    # --- the roster ------------------------------------------------------------------------

    def apply_roster(self) -> Iterator[Rejected]:
        """Apply the export's enrollment rows (yielding those that cannot be used), then, for
        a bulk export, unenroll the enrollments it no longer has."""
        seen: dict[str, str] = {}
        batch: list[EnrollmentRow] = []
        for row in self.roster.enrollments():
            if isinstance(row, Rejected):
                yield row
                continue
            first = seen.get(row.key)
            if first is not None:
                yield Rejected(
                    row.where,
                    f"sourcedId {row.key} appears twice (first at {first}); only the first is read",
                    f"{row.key} (duplicate, {row.where})",
                    row._asdict(),
                )
                continue
            seen[row.key] = row.where
            batch.append(row)
            if len(batch) >= BATCH:
                self._rows(batch)
                batch = []
        self._rows(batch)
        if self.roster.enrollments_whole():
            self._unenroll_missing(seen)

    def _rows(self, rows: list[EnrollmentRow]) -> None:
        kept = self.state.get_many(ENROLLMENT + row.key for row in rows)
        for row in rows:
            old = kept.get(ENROLLMENT + row.key)
            new = self._row(row, old)
            if new != old:
                self.state.put(ENROLLMENT + row.key, new)
            if old is None:
                self.state.put(f"{BY_LEARNER}{row.learner}\t{row.offering}", row.key)

    def _row(self, row: EnrollmentRow, old: dict[str, Any] | None) -> dict[str, Any]:
        changed = moment_text(row.changed) if row.changed else None
        if old is not None and changed and old.get("c") and changed < old["c"]:
            return old  # an older change than the one applied: stale
        if old is None:
            new: dict[str, Any] = {"l": row.learner, "o": row.offering, "a": row.active}
            new["e"] = moment_text(row.begin) if row.begin else (changed if row.active else None)
            if new["e"] is None and row.active:
                new["e"] = self._start_of(row.offering)
            new["c"] = changed
            if row.active:
                self._event(row.key, row.offering, "Enrolled", new["e"])
            else:
                new["u"] = changed or self.read_at
                self._event(row.key, row.offering, "Unenrolled", new["u"])
        else:
            new = dict(old)
            if changed:
                new["c"] = changed
            if row.begin:
                new["e"] = moment_text(row.begin)
            if old["a"] and not row.active:
                new["a"], new["u"] = False, changed or self.read_at
                self._event(row.key, row.offering, "Unenrolled", new["u"])
            elif not old["a"] and row.active:
                at = changed or self.read_at
                for field in ("u", "oc", "ot", "oi", "ip", "pg", "sc"):
                    new.pop(field, None)
                new["a"], new["p"] = True, at
                self._event(row.key, row.offering, "Re-enrolled", at)
        if row.status is not None:  # the export says how far the learner got
            self._export_progress(row, new)
        return new

    def _start_of(self, offering: str) -> str:
        start, _ = offering_dates(self.roster.offerings_index.get(offering))
        if start is None:
            return self.exported_at
        return f"{start.isoformat()}T00:00:00Z"

    def _export_progress(self, row: EnrollmentRow, new: dict[str, Any]) -> None:
        assert row.status is not None
        if row.status in OUTCOMES and row.completed is not None:
            self._outcome(row.key, new, row.status, moment_text(row.completed), "export", row.score)
        elif row.status == "In Progress":
            new["ip"] = True
        if row.progress is not None:
            new["pg"] = row.progress
        if row.score is not None:
            new["sc"] = row.score

    def _unenroll_missing(self, seen: dict[str, str]) -> None:
        """Enrollments of a bulk export that the bulk export read now no longer has, whose
        offering it still has: unenrolled when the export was read."""
        whole = self.roster.offerings_whole()
        for name, kept in self.state.items(ENROLLMENT):
            key = name.removeprefix(ENROLLMENT)
            if not kept["a"] or key in seen:
                continue
            if whole and kept["o"] not in self.roster.offerings_index.current:
                continue  # the offering left the export (its term is over): not an unenrollment
            new = dict(kept, a=False, u=self.read_at)
            self.state.put(ENROLLMENT + key, new)
            self._event(key, kept["o"], "Unenrolled", self.read_at)

    # --- the statements --------------------------------------------------------------------

    def apply_statements(self, statements: Iterable[Statement | Rejected]) -> Iterator[Rejected]:
        """Apply new statements and those waiting; one whose enrollment is not synced yet
        waits. A statement whose actor is no learner of the roster is passed over."""
        emails: dict[str, list[str]] | None = None
        waiting = [Statement.from_json(v) for _, v in self.state.items(WAITING)]
        for item in [*waiting, *statements]:
            if isinstance(item, Rejected):
                yield item
                continue
            learner = (
                item.account
                if item.account and item.account in self.roster.learners_index
                else None
            )
            if learner is None and item.email:
                if emails is None:
                    emails = self._emails()
                found = emails.get(item.email, [])
                if len(found) > 1:
                    yield Rejected(
                        item.where,
                        f"mbox {item.email} is the email of several learners "
                        f"({', '.join(sorted(found)[:5])}): the statement is not applied",
                        None,
                        {"id": item.id, "mbox": item.email, "offering": item.offering},
                    )
                    self.state.put(WAITING + item.id, None)
                    continue
                learner = found[0] if found else None
            if learner is None:
                self.state.put(WAITING + item.id, None)
                continue
            key = self.state.get(f"{BY_LEARNER}{learner}\t{item.offering}")
            kept = self.state.get(ENROLLMENT + key) if key else None
            if kept is None or not self.scope.covers(item.offering):
                self.state.put(WAITING + item.id, item.to_json())
                continue
            new = self._statement(key, dict(kept), item)
            if new != kept:
                self.state.put(ENROLLMENT + key, new)
            self.state.put(WAITING + item.id, None)

    def _emails(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key, email in self.state.items("usr/"):
            if email:
                found.setdefault(str(email), []).append(key.removeprefix("usr/"))
        return found

    def _statement(self, key: str, new: dict[str, Any], statement: Statement) -> dict[str, Any]:
        at = moment_text(statement.at)
        if new.get("p") and at < new["p"]:
            return new  # before the learner enrolled again: about the earlier enrollment
        if statement.status in OUTCOMES:
            self._outcome(key, new, statement.status, at, statement.id, statement.score)
        else:
            new["ip"] = True
            if statement.progress is not None:
                new["pg"] = max(statement.progress, new.get("pg") or 0.0)
        return new

    def _outcome(
        self,
        key: str,
        new: dict[str, Any],
        outcome: str,
        at: str,
        source: str,
        score: float | None,
    ) -> None:
        """The latest outcome wins (by time, then by the statement's id): each one that
        changes the enrollment's is an event."""
        if new.get("oc") and (at, source) <= (new.get("ot") or "", new.get("oi") or ""):
            return
        changed = (new.get("oc"), new.get("ot")) != (outcome, at)
        new["oc"], new["ot"], new["oi"] = outcome, at, source
        if score is not None:
            new["sc"] = score
        if changed:
            self._event(key, new["o"], outcome, at)

    # --- what the streams yield ------------------------------------------------------------

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, kept in self.state.items(ENROLLMENT):
            if self.scope.covers(kept["o"]):
                key = name.removeprefix(ENROLLMENT)
                yield key, record(key, kept)


def events_after(state: SourceState, bookmark: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(sequence, event) of the log after ``bookmark`` (a sequence)."""
    for key, event in state.items(EVENT, after=EVENT + bookmark if bookmark else None):
        yield key.removeprefix(EVENT), event


def last_event(state: SourceState) -> str | None:
    """The sequence of the newest event, None while the log is empty."""
    following = int(state.get(NEXT_EVENT) or 0)
    return f"{following - 1:012d}" if following else None
