"""The LMS plugin's contract: its hooks, and metadata that renders clean through sftk."""

from __future__ import annotations

from pathlib import Path

import sftk_lms

from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.project import merge_objects
from toolkit.validation import validate_files


def test_object_specs_cover_learners_courses_enrollments_and_history() -> None:
    specs = {spec.name: spec for spec in sftk_lms.sftk_object_specs(settings={})}
    assert set(specs) == {"Contact", "Course__c", "Enrollment__c", "Enrollment_Event__c"}
    learner_id = {f.name: f for f in specs["Contact"].fields}["LMS_Learner_Id__c"]
    assert learner_id.external_id and learner_id.unique
    enrollment = {f.name: f for f in specs["Enrollment__c"].fields}
    assert enrollment["Course__c"].type == "MasterDetail"
    assert enrollment["Course__c"].reference_to == "Course__c"
    assert [v.name for v in enrollment["Status__c"].values] == [
        "Enrolled",
        "In Progress",
        "Completed",
        "Unenrolled",
    ]
    event_types = {f.name: f for f in specs["Enrollment_Event__c"].fields}["Type__c"]
    assert "Unenrolled" in [v.name for v in event_types.values]
    for spec in specs.values():
        for field in spec.fields:
            assert field.source.startswith("sftk_lms/objects/"), field.source


def test_permission_sets_are_labelled() -> None:
    labels = {p.name: p.label for p in sftk_lms.sftk_permission_sets(settings={})}
    assert labels == {"LMS_Admin": "LMS Admin", "LMS_Viewer": "LMS Viewer"}


def test_metadata_renders_and_validates_clean(tmp_path: Path) -> None:
    objects = merge_objects(sftk_lms.sftk_object_specs(settings={}))
    files = Renderer().render(objects, sftk_lms.sftk_permission_sets(settings={}))
    schema = MetadataSchema.load(cache_dir=tmp_path)
    report = validate_files(files, "63.0", schema)
    assert report.problems == ()
    paths = {f.path for f in files}
    assert "permissionsets/LMS_Admin.permissionset" in paths
    assert "tabs/Course__c.tab" in paths
