"""sftk LMS plugin: a learning management system's learners, courses, offerings, enrollments
with their completion status, and the history of each enrollment, in Salesforce.

Learners are Contacts (or Leads) upserted by ``LMS_Learner_Id__c`` and matched by email the
first time; ``Course__c``, ``Course_Offering__c``, ``Enrollment__c`` and
``Enrollment_Event__c`` are the plugin's objects. The records come from a OneRoster 1.1 CSV
export (or the plugin's own export) and xAPI statements (a file or an LRS): docs/lms.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sftk_lms import checks, source
from sftk_lms import settings as lms_settings
from toolkit.hookspecs import hookimpl
from toolkit.metadata.spec_loader import load_object_dir
from toolkit.metadata.specs import LayoutPatch, ObjectSpec, PermissionSetSpec, RelatedListSpec
from toolkit.sync.contract import (
    CheckResult,
    FieldMapping,
    OrgAccess,
    SettingProblem,
    SourceSpec,
    StreamSpec,
)

SFTK_API_VERSION = 2
OBJECTS_DIR = Path(__file__).parent / "objects"
LEARNER_FIELD = "Learner__c"


@hookimpl
def sftk_object_specs(settings: Mapping[str, Any]) -> Sequence[ObjectSpec]:
    """The objects; with ``learner_object = "Lead"`` the learner's fields go on Lead and
    enrollments look up a Lead."""
    learner = str(settings.get("learner_object", "Contact"))
    specs = load_object_dir(OBJECTS_DIR, display_root=OBJECTS_DIR.parent.parent)
    if learner == "Contact":
        return specs
    moved = []
    for spec in specs:
        if spec.name == "Contact":
            spec = dataclasses.replace(spec, name=learner)
        elif spec.name == "Enrollment__c":
            fields = tuple(
                dataclasses.replace(f, reference_to=learner) if f.name == LEARNER_FIELD else f
                for f in spec.fields
            )
            spec = dataclasses.replace(spec, fields=fields)
        moved.append(spec)
    return moved


@hookimpl
def sftk_permission_sets(settings: Mapping[str, Any]) -> Sequence[PermissionSetSpec]:
    return (
        PermissionSetSpec(
            "LMS_Admin", "LMS Admin", "Manage courses and enrollments synced from the LMS"
        ),
        PermissionSetSpec(
            "LMS_Viewer", "LMS Viewer", "Read courses and enrollments synced from the LMS"
        ),
    )


@hookimpl
def sftk_layout_patches(settings: Mapping[str, Any]) -> Sequence[LayoutPatch]:
    """The learner's enrollments, as a related list on the learner's layout."""
    learner = str(settings.get("learner_object", "Contact"))
    enrollments = RelatedListSpec(
        f"Enrollment__c.{LEARNER_FIELD}",
        fields=("NAME", "Course_Offering__c", "Status__c", "Completed_On__c"),
    )
    return (LayoutPatch(f"{learner}-{learner} Layout", related_lists=(enrollments,)),)


@hookimpl
def sftk_validate_settings(settings: Mapping[str, Any], root: Path) -> Sequence[SettingProblem]:
    return lms_settings.problems(settings, root)


@hookimpl
def sftk_sources(settings: Mapping[str, Any], root: Path) -> Sequence[SourceSpec]:
    read = lms_settings.read(settings, root)
    if read.roster is None:
        return ()
    reader = source.LmsSource(read)
    return (SourceSpec("lms", source.streams(read), reader.read, "LMS roster and statements"),)


@hookimpl
def sftk_default_mappings(
    stream: StreamSpec, settings: Mapping[str, Any], root: Path
) -> Sequence[FieldMapping]:
    read = lms_settings.read(settings, root)
    if stream.name == "learners":
        lines = [
            FieldMapping("FirstName", source="first_name"),
            FieldMapping("LastName", source="last_name"),
            FieldMapping("Email", source="email"),
        ]
        if read.learner_object == "Lead":  # a Lead needs a company
            lines.append(FieldMapping("Company", source="organization", default="[not provided]"))
        return lines
    if stream.name == "courses":
        lines = [FieldMapping("Name", source="title")]
        if read.export is not None:  # OneRoster has no description: leave Salesforce's alone
            lines.append(FieldMapping("Summary__c", source="description"))
        return lines
    if stream.name == "offerings":
        return [
            FieldMapping("Name", source="title"),
            FieldMapping("Term__c", source="term"),
            FieldMapping("Start_Date__c", source="start_date"),
            FieldMapping("End_Date__c", source="end_date"),
        ]
    if stream.name == "enrollments":
        lines = [
            FieldMapping("Status__c", source="status"),
            FieldMapping("Enrolled_On__c", source="enrolled_on"),
            FieldMapping("Completed_On__c", source="completed_on"),
            FieldMapping("Unenrolled_On__c", source="unenrolled_on"),
        ]
        if read.xapi is not None or read.export is not None:
            lines += [
                FieldMapping("Progress__c", source="progress"),
                FieldMapping("Score__c", source="score"),
            ]
        return lines
    return [
        FieldMapping("Type__c", source="type"),
        FieldMapping("Occurred_At__c", source="occurred_at"),
    ]


@hookimpl
def sftk_preflight_checks(
    org: OrgAccess, settings: Mapping[str, Any], root: Path
) -> Sequence[CheckResult]:
    read = lms_settings.read(settings, root)
    if read.roster is None:
        return ()
    return checks.checks(org, read)
