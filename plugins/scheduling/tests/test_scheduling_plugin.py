"""The scheduling plugin's hooks: its metadata (rendered clean through sftk), settings
checked key by key, layout patches and the booking button from booking_url."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sftk_scheduling

from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.project import merge_objects
from toolkit.validation import validate_files

BOOKING = "https://book.example.com/new?email={email}&who={name}"


def specs(**settings: Any) -> dict[str, Any]:
    return {spec.name: spec for spec in sftk_scheduling.sftk_object_specs(settings=settings)}


def test_appointments_carry_the_calendar_model_and_link_to_contact_and_lead() -> None:
    found = specs()
    assert set(found) == {"Appointment__c", "Lead"}
    fields = {f.name: f for f in found["Appointment__c"].fields}
    assert fields["External_Uid__c"].external_id and fields["External_Uid__c"].unique
    assert [v.name for v in fields["Status__c"].values] == [
        "Scheduled",
        "Rescheduled",
        "Cancelled",
        "Completed",
        "No Show",
    ]
    assert fields["Status__c"].restricted
    for name in ("Sequence__c", "Subject__c", "Location__c", "Organizer_Email__c",
                 "Attendee_Email__c", "Start__c", "End__c"):  # fmt: skip
        assert name in fields, name
    assert (fields["Contact__c"].reference_to, fields["Lead__c"].reference_to) == (
        "Contact",
        "Lead",
    )
    lead_key = {f.name: f for f in found["Lead"].fields}["Scheduling_Email__c"]
    assert lead_key.external_id and lead_key.unique


def test_settings_choose_what_the_org_gets() -> None:
    found = specs(create_leads=False, match=["Contact"], mirror_events=True, booking_url=BOOKING)
    assert set(found) == {"Appointment__c", "Event", "Contact", "Lead"}
    assert [f.name for f in found["Event"].fields] == ["Appointment_Uid__c"]
    assert found["Lead"].fields == ()  # no Leads created: no key field for them
    [button] = found["Contact"].web_links
    assert (button.name, button.label, button.display_type) == (
        "Book_Appointment",
        "Book appointment",
        "button",
    )
    assert button.url == "https://book.example.com/new?email={!Contact.Email}&who={!Contact.Name}"
    assert found["Lead"].web_links[0].url.endswith("{!Lead.Email}&who={!Lead.Name}")


def test_layout_patches_add_the_related_list_and_the_button() -> None:
    plain = sftk_scheduling.sftk_layout_patches(settings={})
    assert [(p.layout, p.buttons) for p in plain] == [
        ("Contact-Contact Layout", ()),
        ("Lead-Lead Layout", ()),
    ]
    assert [r.name for p in plain for r in p.related_lists] == [
        "Appointment__c.Contact__c",
        "Appointment__c.Lead__c",
    ]
    booked = sftk_scheduling.sftk_layout_patches(settings={"booking_url": BOOKING})
    assert [p.buttons for p in booked] == [("Book_Appointment",), ("Book_Appointment",)]


def test_permission_set_is_labelled() -> None:
    [perm] = sftk_scheduling.sftk_permission_sets(settings={})
    assert (perm.name, perm.label) == ("Scheduling_User", "Scheduling User")


@pytest.mark.parametrize("mirror", [False, True])
def test_metadata_renders_and_validates_clean(tmp_path: Path, mirror: bool) -> None:
    settings = {"booking_url": BOOKING, "mirror_events": mirror}
    objects = merge_objects(sftk_scheduling.sftk_object_specs(settings=settings))
    files = Renderer().render(objects, sftk_scheduling.sftk_permission_sets(settings=settings))
    report = validate_files(files, "66.0", MetadataSchema.load(cache_dir=tmp_path))
    assert report.problems == ()
    contact = next(f for f in files if f.path == "objects/Contact.object").content
    assert b"<fullName>Book_Appointment</fullName>" in contact
    assert any(f.path == "objects/Activity.object" for f in files) is mirror


def problems(settings: dict[str, Any], root: Path) -> dict[str, str]:
    return {
        p.key: p.message
        for p in sftk_scheduling.sftk_validate_settings(settings=settings, root=root)
    }


def test_good_settings_pass(tmp_path: Path) -> None:
    good = {
        "caldav_url": "https://dav.example.com/calendars/desk/appointments/",
        "caldav_username": "desk",
        "caldav_password_env": "DESK_PASSWORD",
        "ics": ["calendars/clinic.ics", "https://example.com/team.ics"],
        "match": ["Lead", "Contact"],
        "create_leads": True,
        "booking_url": BOOKING,
        "expand_days": 30,
        "mirror_events": False,
        "timezone": "Europe/Paris",
    }
    assert problems(good, tmp_path) == {}


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({"calendar": "x"}, "calendar", "unknown key"),
        ({"caldav_url": "ftp://x/"}, "caldav_url", "http(s) URL"),
        ({"caldav_url": "https://u:p@dav.example.com/c/"}, "caldav_url", "secrets never"),
        (
            {"caldav_url": "https://d/c/", "caldav_password_env": "hunter 2"},
            "caldav_password_env",
            "not the name of an environment variable",
        ),
        ({"caldav_username": "desk"}, "caldav_username", "caldav_url is not"),
        ({"ics": "a.ics"}, "ics", "list of file paths or URLs"),
        ({"ics": ["notes.txt"]}, "ics.0", "not an .ics file"),
        ({"match": ["Account"]}, "match", "Contact and/or Lead"),
        ({"match": ["Contact", "Contact"]}, "match", "each once"),
        ({"match": ["Contact"]}, "create_leads", "never be linked"),
        ({"create_leads": "yes"}, "create_leads", "true or false"),
        ({"expand_days": 0}, "expand_days", "from 1 to 3650"),
        ({"expand_days": True}, "expand_days", "whole number"),
        ({"booking_url": "https://b.example.com/?x={phone}"}, "booking_url", "{phone}"),
        ({"booking_url": "book me"}, "booking_url", "http(s) URL"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ],
)
def test_bad_settings_name_the_key(
    tmp_path: Path, settings: dict[str, Any], key: str, words: str
) -> None:
    found = problems(settings, tmp_path)
    assert key in found and words in found[key], found
