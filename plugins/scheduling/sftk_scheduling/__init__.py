"""sftk scheduling plugin: appointments from a scheduling tool, on their Salesforce records.

Appointments are a custom object looked up from Contact and Lead; buttons on those records
open the scheduling tool. The CalDAV source and layout patches arrive with the sync engine;
today the plugin contributes its metadata.
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
            "Scheduling_User", "Scheduling User", "See and book appointments from Salesforce"
        ),
    )
