"""The scheduling plugin's contract: its hooks, and metadata that renders clean through sftk."""

from __future__ import annotations

from pathlib import Path

import sftk_scheduling

from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.project import merge_objects
from toolkit.validation import validate_files


def test_appointments_link_to_contact_and_lead() -> None:
    specs = {spec.name: spec for spec in sftk_scheduling.sftk_object_specs(settings={})}
    assert set(specs) == {"Appointment__c", "Contact", "Lead"}
    fields = {f.name: f for f in specs["Appointment__c"].fields}
    assert fields["External_Uid__c"].external_id
    assert (fields["Contact__c"].reference_to, fields["Lead__c"].reference_to) == (
        "Contact",
        "Lead",
    )
    assert [link.name for link in specs["Contact"].web_links] == ["Schedule_Appointment"]
    assert "{!Lead.Id}" in specs["Lead"].web_links[0].url


def test_permission_set_is_labelled() -> None:
    [perm] = sftk_scheduling.sftk_permission_sets(settings={})
    assert (perm.name, perm.label) == ("Scheduling_User", "Scheduling User")


def test_metadata_renders_and_validates_clean(tmp_path: Path) -> None:
    objects = merge_objects(sftk_scheduling.sftk_object_specs(settings={}))
    files = Renderer().render(objects, sftk_scheduling.sftk_permission_sets(settings={}))
    report = validate_files(files, "63.0", MetadataSchema.load(cache_dir=tmp_path))
    assert report.problems == ()
    contact = next(f for f in files if f.path == "objects/Contact.object").content
    assert b"<fullName>Schedule_Appointment</fullName>" in contact
