"""What the plugin asks of Salesforce: its streams and their default mappings, the rules that
decide an appointment's status against what the org holds, and the layout patches that put
appointments and the booking button on Contact and Lead pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sftk_scheduling import ics
from sftk_scheduling.reader import APPOINTMENTS, ATTENDEE_LEADS, EVENTS
from sftk_scheduling.settings import Settings, booking_link
from toolkit.metadata.specs import LayoutPatch, RelatedListSpec, WebLinkSpec
from toolkit.sync.contract import (
    FieldMapping,
    LookupRef,
    LookupTarget,
    MarkDeleted,
    MatchBy,
    RecordGuard,
    StreamSpec,
)

APPOINTMENT = "Appointment__c"
LOOKUP_FIELDS = {"Contact": "Contact__c", "Lead": "Lead__c"}
BOOKING_BUTTON = "Book_Appointment"
LAYOUTS = {"Contact": "Contact-Contact Layout", "Lead": "Lead-Lead Layout"}
SET_BY_PEOPLE = ("Completed", "No Show")  # statuses someone sets in Salesforce; kept
RELATED_FIELDS = ("NAME", "Start__c", "End__c", "Status__c", "Subject__c")

APPOINTMENT_MAPPINGS = (
    FieldMapping("Start__c", source="start"),
    FieldMapping("End__c", source="end"),
    FieldMapping("All_Day__c", source="all_day"),
    FieldMapping("Status__c", source="status"),
    FieldMapping("Sequence__c", source="sequence"),
    FieldMapping("Subject__c", source="subject"),
    FieldMapping("Location__c", source="location"),
    FieldMapping("Notes__c", source="description"),
    FieldMapping("Organizer_Email__c", source="organizer_email"),
    FieldMapping("Attendee_Email__c", source="attendee_email"),
)
LEAD_MAPPINGS = (
    FieldMapping("FirstName", source="first_name"),
    FieldMapping("LastName", source="last_name"),
    FieldMapping("Email", source="email"),
    FieldMapping("Company", source="company"),
)
EVENT_MAPPINGS = (
    FieldMapping("Subject", source="subject"),
    FieldMapping("StartDateTime", source="start"),
    FieldMapping("EndDateTime", source="end"),
    FieldMapping("IsAllDayEvent", source="all_day"),
    FieldMapping("ActivityDate", source="activity_date"),
    FieldMapping("Location", source="location"),
    FieldMapping("Description", source="description"),
)


def streams(settings: Settings) -> tuple[StreamSpec, ...]:
    """Attendees first (so a Lead exists before its appointment looks for it), then the
    appointments, then their mirrored Events."""
    found = []
    matches = tuple(MatchBy(obj, "Email") for obj in settings.match)
    if settings.create_leads:
        found.append(
            StreamSpec(
                ATTENDEE_LEADS,
                "Lead",
                key="Scheduling_Email__c",
                source_key="email",
                unless_found=matches,
                description="a Lead for each attendee no Contact or Lead has the e-mail of",
            )
        )
    found.append(
        StreamSpec(
            APPOINTMENTS,
            APPOINTMENT,
            key="External_Uid__c",
            source_key="uid",
            on_delete=MarkDeleted("Status__c", ics.CANCELLED),
            lookups=(
                LookupRef(
                    "attendee_email",
                    tuple(LookupTarget(LOOKUP_FIELDS[m.object], m) for m in matches),
                ),
            ),
            guard=RecordGuard(("Sequence__c", "Start__c", "End__c", "Status__c"), status_rule),
            description="appointments, one per event or occurrence",
        )
    )
    if settings.mirror_events:
        found.append(
            StreamSpec(
                EVENTS,
                "Event",
                key="Appointment_Uid__c",
                source_key="uid",
                on_delete="delete",
                lookups=(
                    LookupRef("attendee_email", tuple(LookupTarget("WhoId", m) for m in matches)),
                ),
                guard=RecordGuard((), on_a_person),
                description="a standard Event on the attendee's Contact or Lead",
            )
        )
    return tuple(found)


def mappings(stream: StreamSpec) -> tuple[FieldMapping, ...]:
    return {
        APPOINTMENTS: APPOINTMENT_MAPPINGS,
        ATTENDEE_LEADS: LEAD_MAPPINGS,
        EVENTS: EVENT_MAPPINGS,
    }.get(stream.name, ())


def _instant(value: Any) -> dt.datetime | None:
    """A DateTime as sftk sends it or a query returns it (``…Z``, ``….000+0000``)."""
    if value in (None, ""):
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return dt.datetime.fromisoformat(text)


def status_rule(
    payload: Mapping[str, Any], current: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """What an appointment becomes, given what the org holds:

    - an update with an older SEQUENCE than the org's is not written (RFC 5546: the organizer
      raises it with every significant change, so the higher one is the newer event);
    - a cancellation is written as it is;
    - Completed and No Show, set by someone in Salesforce, are kept;
    - new start or end times, or an appointment already rescheduled, make it Rescheduled.
    """
    if current is None:
        return payload
    if float(payload.get("Sequence__c") or 0) < float(current.get("Sequence__c") or 0):
        return None
    status = payload.get("Status__c")
    if status == ics.CANCELLED:
        return payload
    held = current.get("Status__c")
    if held in SET_BY_PEOPLE:
        return {**payload, "Status__c": held}
    moved = any(
        _instant(payload.get(name)) != _instant(current.get(name))
        for name in ("Start__c", "End__c")
    )
    if moved or held == ics.RESCHEDULED:
        return {**payload, "Status__c": ics.RESCHEDULED}
    return payload


def on_a_person(
    payload: Mapping[str, Any], current: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """A mirrored Event is written only on a Contact or Lead the attendee was found as."""
    return payload if payload.get("WhoId") else None


def booking_links(settings: Settings) -> dict[str, WebLinkSpec]:
    """The "Book appointment" button of each object, from booking_url (none without it)."""
    if not settings.booking_url:
        return {}
    return {
        obj: WebLinkSpec(
            BOOKING_BUTTON,
            "Book appointment",
            booking_link(settings.booking_url, obj),
            display_type="button",
            open_type="newWindow",
            description="Opens the scheduling tool to book an appointment with this person.",
            source="plugin scheduling: booking_url",
        )
        for obj in LAYOUTS
    }


def layout_patches(settings: Settings) -> list[LayoutPatch]:
    """The Appointments related list, and the booking button, on the Contact and Lead
    layouts the org has: merged in, everything else in those layouts kept."""
    buttons = (BOOKING_BUTTON,) if settings.booking_url else ()
    return [
        LayoutPatch(
            layout,
            related_lists=(
                RelatedListSpec(
                    f"{APPOINTMENT}.{LOOKUP_FIELDS[obj]}",
                    fields=RELATED_FIELDS,
                    sort_field="Start__c",
                    sort_order="Desc",
                ),
            ),
            buttons=buttons,
            source="plugin scheduling",
        )
        for obj, layout in LAYOUTS.items()
    ]
