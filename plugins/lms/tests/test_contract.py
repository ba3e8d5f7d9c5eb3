"""sftk's contract suite on the LMS plugin: it loads cleanly, refuses bad settings, renders,
deploys, maps to writable fields, a second sync writes nothing, the events stream read from
its bookmark yields nothing, a bad record is dead-lettered while the rest lands, and a
killed sync leaves no duplicates."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lmsdata
import pytest

from toolkit.testing.contract import BadRecord, PluginContract


class TestLmsContract(PluginContract):
    plugin = "lms"
    bad_settings = (
        ({"learner_object": "Account"}, "learner_object"),
        ({"xapi_activity_id": "https://lms.example.com/classes/"}, "xapi_activity_id"),
        ({"admin_emails": ["not an email"]}, "admin_emails"),
        ({"historic_since": "last spring"}, "historic_since"),
        ({"export": "lms-export"}, "export"),
        ({"xapi": "statements.xml"}, "xapi"),
        ({"xapi": "https://lrs.example.com/xapi"}, "xapi_username_env"),
    )

    @pytest.fixture
    def sftk_settings(self, school_settings: dict[str, Any]) -> Mapping[str, Mapping[str, Any]]:
        """The school's bulk export and statements, written for each test."""
        return {"lms": school_settings}


@pytest.fixture
def sftk_bad_record(exports: Path) -> BadRecord:
    """The school with one more course, whose title is longer than Course__c's Name takes
    (80 characters): Salesforce refuses it; no class belongs to it."""
    school = lmsdata.school()
    school.add(
        "courses",
        sourcedId="crs-long",
        title="A course whose title goes on " + "and on " * 12,
        courseCode="LONG-1",
        orgSourcedId="org-1",
    )
    school.write(exports / "oneroster-bad")
    return BadRecord("courses", "LONG-1", {"oneroster": "oneroster-bad"})
