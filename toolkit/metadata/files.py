"""The in-memory unit every metadata stage passes along: a file of a package, path and bytes."""

from __future__ import annotations

from dataclasses import dataclass

METADATA_NS = "http://soap.sforce.com/2006/04/metadata"


@dataclass(frozen=True)
class MetadataFile:
    """One file of a metadata package.

    ``path`` is relative to the package root, with forward slashes
    (``objects/Course__c.object`` in Metadata API format,
    ``force-app/main/default/objects/Course__c/Course__c.object-meta.xml`` in source format).
    ``origin`` says where the file came from (a spec, a template, a folder on disk) so that
    errors about it can point the user at something they can edit.
    """

    path: str
    content: bytes
    origin: str = ""
