"""The table of metadata types sftk knows how to place in a package, in both formats.

One row per type: the Metadata API type name, its folder and file suffix in Metadata API
(mdapi) format, whether it has a separate content file (``.cls`` + ``.cls-meta.xml``), and, for
CustomObject, the child types that Salesforce DX source format splits into their own files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChildType:
    """A child of a decomposed parent: ``<fields>`` inside an ``.object`` is a CustomField."""

    tag: str  # element name inside the parent (fields)
    type: str  # metadata type of the child (CustomField)
    folder: str  # source-format subfolder (fields)
    suffix: str  # source-format suffix without "-meta.xml" (field)


@dataclass(frozen=True)
class MetadataType:
    name: str
    folder: str
    suffix: str
    has_content: bool = False
    children: tuple[ChildType, ...] = ()

    def child_by_tag(self, tag: str) -> ChildType | None:
        return next((c for c in self.children if c.tag == tag), None)

    def child_by_folder(self, folder: str) -> ChildType | None:
        return next((c for c in self.children if c.folder == folder), None)


OBJECT_CHILDREN = (
    ChildType("businessProcesses", "BusinessProcess", "businessProcesses", "businessProcess"),
    ChildType("compactLayouts", "CompactLayout", "compactLayouts", "compactLayout"),
    ChildType("fieldSets", "FieldSet", "fieldSets", "fieldSet"),
    ChildType("fields", "CustomField", "fields", "field"),
    ChildType("indexes", "Index", "indexes", "index"),
    ChildType("listViews", "ListView", "listViews", "listView"),
    ChildType("recordTypes", "RecordType", "recordTypes", "recordType"),
    ChildType("sharingReasons", "SharingReason", "sharingReasons", "sharingReason"),
    ChildType("validationRules", "ValidationRule", "validationRules", "validationRule"),
    ChildType("webLinks", "WebLink", "webLinks", "webLink"),
)

METADATA_TYPES: tuple[MetadataType, ...] = (
    MetadataType("ApexClass", "classes", "cls", has_content=True),
    MetadataType("ApexComponent", "components", "component", has_content=True),
    MetadataType("ApexPage", "pages", "page", has_content=True),
    MetadataType("ApexTrigger", "triggers", "trigger", has_content=True),
    MetadataType("CustomApplication", "applications", "app"),
    MetadataType("CustomLabels", "labels", "labels"),
    MetadataType("CustomMetadata", "customMetadata", "md"),
    MetadataType("CustomObject", "objects", "object", children=OBJECT_CHILDREN),
    MetadataType("CustomPermission", "customPermissions", "customPermission"),
    MetadataType("CustomTab", "tabs", "tab"),
    MetadataType("FlexiPage", "flexipages", "flexipage"),
    MetadataType("Flow", "flows", "flow"),
    MetadataType("GlobalValueSet", "globalValueSets", "globalValueSet"),
    MetadataType("Layout", "layouts", "layout"),
    MetadataType("PermissionSet", "permissionsets", "permissionset"),
    MetadataType("PermissionSetGroup", "permissionsetgroups", "permissionsetgroup"),
    MetadataType("Profile", "profiles", "profile"),
    MetadataType("QuickAction", "quickActions", "quickAction"),
    MetadataType("RemoteSiteSetting", "remoteSiteSettings", "remoteSite"),
    MetadataType("StaticResource", "staticresources", "resource", has_content=True),
)

BY_NAME: dict[str, MetadataType] = {t.name: t for t in METADATA_TYPES}
BY_FOLDER: dict[str, MetadataType] = {t.folder: t for t in METADATA_TYPES}

MANIFEST_NAMES = frozenset(
    {
        "package.xml",
        "destructiveChanges.xml",
        "destructiveChangesPre.xml",
        "destructiveChangesPost.xml",
    }
)
SOURCE_ROOT = "force-app/main/default"
