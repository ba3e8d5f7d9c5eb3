"""sftk scheduling plugin: appointments from calendars, on their Salesforce records.

Appointments come from a CalDAV calendar (incremental through sync tokens) and iCalendar files
or URLs; each event, or each occurrence of a recurring one, becomes an ``Appointment__c``
upserted by its UID and linked to the attendee's Contact, else Lead, found by e-mail (an
attendee found nowhere becomes a Lead first). The Contact and Lead layouts the org already has
gain an Appointments related list and a "Book appointment" button, merged in by layout patches.
docs/scheduling.md is the admin's guide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sftk_scheduling import model, preflight
from sftk_scheduling import settings as scheduling_settings
from sftk_scheduling.reader import Reader
from toolkit.hookspecs import hookimpl
from toolkit.metadata.spec_loader import load_object_dir
from toolkit.metadata.specs import LayoutPatch, ObjectSpec, PermissionSetSpec
from toolkit.sync.contract import (
    CheckResult,
    FieldMapping,
    OrgAccess,
    SettingProblem,
    SourceSpec,
    StreamSpec,
)

SFTK_API_VERSION = 2
PACKAGE_DIR = Path(__file__).parent
OBJECTS_DIR = PACKAGE_DIR / "objects"
EVENTS_DIR = PACKAGE_DIR / "events"


@hookimpl
def sftk_validate_settings(settings: Mapping[str, Any], root: Path) -> list[SettingProblem]:
    return scheduling_settings.problems(settings, root)


@hookimpl
def sftk_object_specs(settings: Mapping[str, Any]) -> Sequence[ObjectSpec]:
    """Appointment__c always; the Lead key field when Leads are created; the Event key field
    when events are mirrored; the booking button on Contact and Lead when booking_url is set."""
    chosen = scheduling_settings.read(settings)
    root = PACKAGE_DIR.parent
    specs = [
        spec
        for spec in load_object_dir(OBJECTS_DIR, display_root=root)
        if spec.name != "Lead" or chosen.create_leads
    ]
    if chosen.mirror_events:
        specs += load_object_dir(EVENTS_DIR, display_root=root)
    links = model.booking_links(chosen)
    for obj, link in links.items():
        found = next((s for s in specs if s.name == obj), None)
        if found is None:
            specs.append(ObjectSpec(obj, web_links=(link,), source=link.source))
        else:
            specs[specs.index(found)] = replace(found, web_links=(*found.web_links, link))
    return specs


@hookimpl
def sftk_permission_sets(settings: Mapping[str, Any]) -> Sequence[PermissionSetSpec]:
    return (
        PermissionSetSpec(
            "Scheduling_User", "Scheduling User", "See and book appointments from Salesforce"
        ),
    )


@hookimpl
def sftk_layout_patches(settings: Mapping[str, Any]) -> Sequence[LayoutPatch]:
    return model.layout_patches(scheduling_settings.read(settings))


@hookimpl
def sftk_sources(settings: Mapping[str, Any], root: Path) -> Sequence[SourceSpec]:
    chosen = scheduling_settings.read(settings)
    reader = Reader(chosen, root)
    return [
        SourceSpec(
            "calendars",
            model.streams(chosen),
            reader.read,
            "CalDAV and iCalendar calendars",
        )
    ]


@hookimpl
def sftk_default_mappings(stream: StreamSpec) -> Sequence[FieldMapping]:
    return model.mappings(stream)


@hookimpl
def sftk_preflight_checks(
    org: OrgAccess, settings: Mapping[str, Any], root: Path
) -> Sequence[CheckResult]:
    return preflight.checks(org, scheduling_settings.read(settings), root)
