"""The LMS plugin's metadata: the model the issue names (API names are the contract), its
Lead variant, the layout patch, and metadata that renders clean through sftk."""

from __future__ import annotations

from pathlib import Path

import sftk_lms

from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.metadata.specs import FieldSpec
from toolkit.project import merge_objects
from toolkit.validation import validate_files


def fields(settings: dict[str, str] | None = None) -> dict[str, dict[str, FieldSpec]]:
    specs = sftk_lms.sftk_object_specs(settings=settings or {})
    return {spec.name: {f.name: f for f in spec.fields} for spec in specs}


def test_the_model_has_the_api_names_of_the_contract() -> None:
    found = fields()
    assert set(found) == {
        "Contact",
        "Course__c",
        "Course_Offering__c",
        "Enrollment__c",
        "Enrollment_Event__c",
    }
    learner_id = found["Contact"]["LMS_Learner_Id__c"]
    assert learner_id.external_id and learner_id.unique
    assert found["Course__c"]["Catalog_Id__c"].external_id
    offering = found["Course_Offering__c"]
    assert offering["Offering_Key__c"].external_id
    assert (offering["Course__c"].type, offering["Course__c"].reference_to) == (
        "MasterDetail",
        "Course__c",
    )
    assert {"Term__c", "Start_Date__c", "End_Date__c"} <= set(offering)
    enrollment = found["Enrollment__c"]
    assert enrollment["Enrollment_Key__c"].external_id
    master = enrollment["Course_Offering__c"]
    assert (master.type, master.reference_to) == ("MasterDetail", "Course_Offering__c")
    assert enrollment["Learner__c"].reference_to == "Contact"
    assert [v.name for v in enrollment["Status__c"].values] == [
        "Enrolled",
        "In Progress",
        "Completed",
        "Failed",
        "Unenrolled",
    ]
    assert {"Enrolled_On__c", "Completed_On__c", "Unenrolled_On__c"} <= set(enrollment)
    event = found["Enrollment_Event__c"]
    assert event["Event_Key__c"].external_id
    assert event["Enrollment__c"].reference_to == "Enrollment__c"
    assert [v.name for v in event["Type__c"].values] == [
        "Enrolled",
        "Unenrolled",
        "Re-enrolled",
        "Completed",
        "Failed",
    ]
    assert "Occurred_At__c" in event


def test_leads_as_learners_carry_the_learner_fields_and_the_lookup() -> None:
    found = fields({"learner_object": "Lead"})
    assert "Contact" not in found and "LMS_Learner_Id__c" in found["Lead"]
    assert found["Enrollment__c"]["Learner__c"].reference_to == "Lead"
    patch = sftk_lms.sftk_layout_patches(settings={"learner_object": "Lead"})
    assert [p.layout for p in patch] == ["Lead-Lead Layout"]


def test_the_learners_layout_gains_an_enrollments_related_list() -> None:
    (patch,) = sftk_lms.sftk_layout_patches(settings={})
    assert patch.layout == "Contact-Contact Layout"
    assert [r.name for r in patch.related_lists] == ["Enrollment__c.Learner__c"]


def test_permission_sets_are_labelled() -> None:
    labels = {p.name: p.label for p in sftk_lms.sftk_permission_sets(settings={})}
    assert labels == {"LMS_Admin": "LMS Admin", "LMS_Viewer": "LMS Viewer"}


def test_metadata_renders_and_validates_clean(tmp_path: Path) -> None:
    for settings in ({}, {"learner_object": "Lead"}):
        objects = merge_objects(sftk_lms.sftk_object_specs(settings=settings))
        files = Renderer().render(objects, sftk_lms.sftk_permission_sets(settings={}))
        schema = MetadataSchema.load(cache_dir=tmp_path)
        report = validate_files(files, "63.0", schema)
        assert report.problems == ()
        paths = {f.path for f in files}
        assert "permissionsets/LMS_Admin.permissionset" in paths
        assert "layouts/Course_Offering__c-Course Offering Layout.layout" in paths
        assert "tabs/Course_Offering__c.tab" in paths
