"""sftk LMS plugin: the Salesforce side of a learning management system.

Learners are Contacts carrying the LMS's learner id; courses, enrollments (with completion
status) and enrollment events (the unenrollment history) are custom objects. The sync streams
arrive with the sync engine; today the plugin contributes its metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit.hookspecs import hookimpl
from toolkit.metadata.spec_loader import load_object_dir
from toolkit.metadata.specs import ObjectSpec, PermissionSetSpec

OBJECTS_DIR = Path(__file__).parent / "objects"


@hookimpl
def sftk_object_specs(settings: Mapping[str, Any]) -> Sequence[ObjectSpec]:
    return load_object_dir(OBJECTS_DIR, display_root=OBJECTS_DIR.parent.parent)


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
