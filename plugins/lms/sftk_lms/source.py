"""The LMS source: its five streams and how each is read from the roster and the statements.

Parents load first: learners and courses, then offerings (of a course), enrollments (of an
offering, naming a learner), and the events of enrollments. Each read opens the roster and
indexes what it lists (cheap: people, courses, classes), so any stream can be read alone
(``--stream lms.enrollments``); the enrollments are applied by the enrollments stream, and by
the events stream only when the enrollments stream has not applied this very export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

from sftk_lms import enrollments as enrollment_log
from sftk_lms.enrollments import Enrollments, Scope
from sftk_lms.model import Rejected
from sftk_lms.roster import Export, OneRoster, indexed_offering, open_roster
from sftk_lms.settings import LmsSettings
from sftk_lms.xapi import (
    SINCE_KEY,
    Activities,
    Lrs,
    Statement,
    file_statements,
    newest,
    read_statement,
)
from toolkit.sync.contract import (
    Bookmark,
    ParentRef,
    ReadRequest,
    RejectedRecord,
    SourceItem,
    SourceRecord,
    SourceState,
    StreamSpec,
)

LEARNER_KEY = "LMS_Learner_Id__c"
OFFERINGS = "cls/"  # the roster's offering index in the plugin's state


def streams(settings: LmsSettings) -> tuple[StreamSpec, ...]:
    learners = StreamSpec(
        "learners",
        settings.learner_object,
        key=LEARNER_KEY,
        source_key="id",
        match=("Email",),
        description="students of the roster",
    )
    courses = StreamSpec(
        "courses", "Course__c", key="Catalog_Id__c", source_key="code", description="the catalog"
    )
    offerings = StreamSpec(
        "offerings",
        "Course_Offering__c",
        key="Offering_Key__c",
        source_key="id",
        parents=(ParentRef("Course__c", "courses", "course"),),
        historic=True,
        description="classes of current terms (and past ones with --historic)",
    )
    enrollments = StreamSpec(
        "enrollments",
        "Enrollment__c",
        key="Enrollment_Key__c",
        source_key="id",
        parents=(
            ParentRef("Course_Offering__c", "offerings", "offering"),
            ParentRef("Learner__c", "learners", "learner"),
        ),
        historic=True,
        description="students' enrollments with their status",
    )
    events = StreamSpec(
        "events",
        "Enrollment_Event__c",
        key="Event_Key__c",
        source_key="key",
        parents=(ParentRef("Enrollment__c", "enrollments", "enrollment"),),
        historic=True,
        description="enrolled, unenrolled, re-enrolled, completed, failed",
    )
    return (learners, courses, offerings, enrollments, events)


def rejected(item: Rejected) -> RejectedRecord:
    return RejectedRecord(item.where, item.reason, item.key, item.data)


class LmsSource:
    def __init__(self, settings: LmsSettings) -> None:
        self.settings = settings

    def open(self, state: SourceState) -> OneRoster | Export:
        settings = self.settings
        return open_roster(settings.oneroster, settings.export, settings.roster_text, state)

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceItem]:
        roster = self.open(request.state)
        try:
            roster.load_directory()
            scope = Scope(
                request.state,
                roster,
                dt.datetime.now(dt.UTC).date(),
                request.historic,
                request.historic_since or self.settings.historic_since,
            )
            if stream.name == "learners":
                yield from self._learners(roster)
            elif stream.name == "courses":
                yield from self._courses(roster)
            elif stream.name == "offerings":
                yield from self._offerings(roster, scope, request.state)
            elif stream.name == "enrollments":
                yield from self._enrollments(roster, scope, request.state)
            else:
                yield from self._events(roster, scope, request)
        finally:
            roster.close()

    def _learners(self, roster: OneRoster | Export) -> Iterator[SourceItem]:
        for item in roster.learners():
            if isinstance(item, Rejected):
                yield rejected(item)
                continue
            data = {
                "id": item.id,
                "first_name": item.first_name,
                "last_name": item.last_name,
                "email": item.email,
                "organization": item.organization,
            }
            yield SourceRecord(data, where=item.where)

    def _courses(self, roster: OneRoster | Export) -> Iterator[SourceItem]:
        for item in roster.courses():
            if isinstance(item, Rejected):
                yield rejected(item)
                continue
            data = {"code": item.code, "title": item.title, "description": item.description}
            yield SourceRecord(data, where=item.where)

    def _offerings(
        self, roster: OneRoster | Export, scope: Scope, state: SourceState
    ) -> Iterator[SourceItem]:
        """The offerings in scope, of this export and earlier ones, term by term (oldest
        first); each is tracked from now on."""
        for item in roster.offerings():
            if isinstance(item, Rejected):
                yield rejected(item)
        chosen = [
            indexed_offering(name.removeprefix(OFFERINGS), value)
            for name, value in state.items(OFFERINGS)
            if scope.covers(name.removeprefix(OFFERINGS))
        ]
        chosen.sort(key=lambda o: (o.end or dt.date.max, o.start or dt.date.min, o.key))
        tracked = state.get_many(enrollment_log.TRACKED + o.key for o in chosen)
        for offering in chosen:
            if enrollment_log.TRACKED + offering.key not in tracked:
                state.put(enrollment_log.TRACKED + offering.key, 1)
            data = {
                "id": offering.key,
                "course": offering.course,
                "title": offering.title,
                "term": offering.term,
                "start_date": offering.start.isoformat() if offering.start else None,
                "end_date": offering.end.isoformat() if offering.end else None,
            }
            yield SourceRecord(data, where=offering.where)

    def _apply(
        self, roster: OneRoster | Export, scope: Scope, state: SourceState
    ) -> Iterator[Rejected]:
        """Apply this export and the statements to the kept enrollments."""
        pipeline = Enrollments(state, roster, scope)
        yield from pipeline.apply_roster()
        yield from pipeline.apply_statements(self._statements(state))
        state.put(enrollment_log.APPLIED, self._fingerprint(roster, scope))

    def _enrollments(
        self, roster: OneRoster | Export, scope: Scope, state: SourceState
    ) -> Iterator[SourceItem]:
        for item in self._apply(roster, scope, state):
            yield rejected(item)
        for key, data in Enrollments(state, roster, scope).records():
            yield SourceRecord(data, where=f"enrollment {key}")

    def _events(
        self, roster: OneRoster | Export, scope: Scope, request: ReadRequest
    ) -> Iterator[SourceItem]:
        state = request.state
        if state.get(enrollment_log.APPLIED) != self._fingerprint(roster, scope):
            for _ in self._apply(roster, scope, state):
                pass  # the enrollments stream reports these
        # A historic run reads the whole log: it brings offerings into scope whose events were
        # logged (and passed over) before.
        for sequence, event in enrollment_log.events_after(
            state, None if request.historic else request.bookmark
        ):
            if scope.covers(str(event["offering"])):
                yield SourceRecord(event, where=f"event {sequence}")
        last = enrollment_log.last_event(state)
        if last is not None:
            yield Bookmark(last)

    def _fingerprint(self, roster: OneRoster | Export, scope: Scope) -> str:
        """What the enrollments were last applied from: the export, the statements file, and
        the scope (the day and the historic window)."""
        xapi = ""
        path = self.settings.xapi_file
        if path is not None and path.is_file():
            found = path.stat()
            xapi = f"{found.st_size}:{found.st_mtime_ns}"
        text = f"{roster.fingerprint()}|{self.settings.xapi}|{xapi}|{scope.fingerprint()}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _statements(self, state: SourceState) -> Iterator[Statement | Rejected]:
        settings = self.settings
        if settings.xapi is None or settings.xapi_activity_id is None:
            return
        activities = Activities(settings.xapi_activity_id)
        if not settings.xapi_is_url:
            assert settings.xapi_file is not None
            for where, raw in file_statements(settings.xapi_file, settings.xapi):
                found = read_statement(raw, activities, where)
                if found is not None:
                    yield found
            return
        since = state.get(SINCE_KEY)
        latest = since
        for where, raw, stored in Lrs(settings).statements(since):
            latest = newest(latest, stored)
            found = read_statement(raw, activities, where)
            if found is not None:
                yield found
        if latest != since:
            state.put(SINCE_KEY, latest)
