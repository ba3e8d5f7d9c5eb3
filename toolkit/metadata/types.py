"""The table of metadata types sftk knows, in both formats and in the local org: one row per fact.

One row per type: the Metadata API type name, its folder and file suffix in Metadata API
(mdapi) format, and its kind, which decides how its files are laid out:

- ``file``: one XML file, ``layouts/X.layout`` (``-meta.xml`` appended in source format);
- ``content``: a content file and its metadata, ``classes/A.cls`` + ``classes/A.cls-meta.xml``;
- ``bundle``: a folder of files, ``lwc/name/...``, the same in both formats; member ``name``;
- in-folder types (``folder_type`` set) live in user folders, ``reports/Folder/Name.report``,
  member ``Folder/Name``; the folder is a component too (member ``Folder``, file
  ``reports/Folder-meta.xml``, ``reports/Folder.reportFolder-meta.xml`` in source format).

For CustomObject the row also lists the child types that source format splits into files.
The local org answers describeMetadata from this same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["file", "content", "bundle"]


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
    suffix: str  # empty for bundles, which have none
    kind: Kind = "file"
    children: tuple[ChildType, ...] = ()
    folder_type: str = ""  # the type of its folders (ReportFolder) when it lives in folders

    @property
    def has_content(self) -> bool:
        """Whether a component is a content file plus a separate ``-meta.xml``."""
        return self.kind == "content"

    @property
    def is_bundle(self) -> bool:
        return self.kind == "bundle"

    @property
    def in_folder(self) -> bool:
        return bool(self.folder_type)

    @property
    def folder_suffix(self) -> str:
        """Source-format suffix of a folder's metadata file: ``reportFolder``."""
        return self.folder_type[:1].lower() + self.folder_type[1:]

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


def _content(name: str, folder: str, suffix: str, folder_type: str = "") -> MetadataType:
    return MetadataType(name, folder, suffix, "content", folder_type=folder_type)


METADATA_TYPES: tuple[MetadataType, ...] = (
    _content("ApexClass", "classes", "cls"),
    _content("ApexComponent", "components", "component"),
    _content("ApexPage", "pages", "page"),
    MetadataType("ApexTestSuite", "testSuites", "testSuite"),
    _content("ApexTrigger", "triggers", "trigger"),
    MetadataType("AssignmentRules", "assignmentRules", "assignmentRules"),
    MetadataType("AuraDefinitionBundle", "aura", "", "bundle"),
    MetadataType("AutoResponseRules", "autoResponseRules", "autoResponseRules"),
    MetadataType("ConnectedApp", "connectedApps", "connectedApp"),
    _content("ContentAsset", "contentassets", "asset"),
    MetadataType("CustomApplication", "applications", "app"),
    MetadataType("CustomLabels", "labels", "labels"),
    MetadataType("CustomMetadata", "customMetadata", "md"),
    MetadataType("CustomObject", "objects", "object", children=OBJECT_CHILDREN),
    MetadataType("CustomObjectTranslation", "objectTranslations", "objectTranslation"),
    MetadataType("CustomPageWebLink", "weblinks", "weblink"),
    MetadataType("CustomPermission", "customPermissions", "customPermission"),
    MetadataType("CustomTab", "tabs", "tab"),
    MetadataType("Dashboard", "dashboards", "dashboard", folder_type="DashboardFolder"),
    _content("Document", "documents", "document", "DocumentFolder"),
    MetadataType("DuplicateRule", "duplicateRules", "duplicateRule"),
    _content("EmailTemplate", "email", "email", "EmailFolder"),
    MetadataType("EscalationRules", "escalationRules", "escalationRules"),
    MetadataType("ExternalDataSource", "dataSources", "dataSource"),
    MetadataType("FlexiPage", "flexipages", "flexipage"),
    MetadataType("Flow", "flows", "flow"),
    MetadataType("GlobalValueSet", "globalValueSets", "globalValueSet"),
    MetadataType("Group", "groups", "group"),
    MetadataType("HomePageLayout", "homePageLayouts", "homePageLayout"),
    MetadataType("Layout", "layouts", "layout"),
    MetadataType("LightningComponentBundle", "lwc", "", "bundle"),
    MetadataType("LightningMessageChannel", "messageChannels", "messageChannel"),
    MetadataType("NamedCredential", "namedCredentials", "namedCredential"),
    MetadataType("PathAssistant", "pathAssistants", "pathAssistant"),
    MetadataType("PermissionSet", "permissionsets", "permissionset"),
    MetadataType("PermissionSetGroup", "permissionsetgroups", "permissionsetgroup"),
    MetadataType("Profile", "profiles", "profile"),
    MetadataType("Queue", "queues", "queue"),
    MetadataType("QuickAction", "quickActions", "quickAction"),
    MetadataType("RemoteSiteSetting", "remoteSiteSettings", "remoteSite"),
    MetadataType("Report", "reports", "report", folder_type="ReportFolder"),
    MetadataType("ReportType", "reportTypes", "reportType"),
    MetadataType("Role", "roles", "role"),
    MetadataType("Settings", "settings", "settings"),
    MetadataType("SharingRules", "sharingRules", "sharingRules"),
    MetadataType("StandardValueSet", "standardValueSets", "standardValueSet"),
    _content("StaticResource", "staticresources", "resource"),
    MetadataType("Translations", "translations", "translation"),
    MetadataType("Workflow", "workflows", "workflow"),
)

# Source format gives some children a file of their own whose root element is the child's
# schema type, though that type is not a metadata type (not derived from Metadata): the sf CLI
# decomposes a CustomObjectTranslation into ``objectTranslations/Account-es/`` holding
# ``Account-es.objectTranslation-meta.xml`` and one ``Name.fieldTranslation-meta.xml`` per field.
# Child root type -> the type it is decomposed from.
DECOMPOSED_ROOTS = {"CustomFieldTranslation": "CustomObjectTranslation"}

# File suffix -> type: the name of a file, not its root element, says what a deploy reads it
# as. The rows above, and the types that share a folder, which the rows cannot hold.
BY_SUFFIX: dict[str, str] = {
    **{t.suffix: t.name for t in METADATA_TYPES if t.suffix},
    "featureParameterBoolean": "FeatureParameterBoolean",
    "featureParameterDate": "FeatureParameterDate",
    "featureParameterInteger": "FeatureParameterInteger",
}

BY_NAME: dict[str, MetadataType] = {t.name: t for t in METADATA_TYPES}
BY_FOLDER: dict[str, MetadataType] = {t.folder: t for t in METADATA_TYPES}
BY_FOLDER_TYPE: dict[str, MetadataType] = {t.folder_type: t for t in METADATA_TYPES if t.in_folder}

MANIFEST_NAMES = frozenset(
    {
        "package.xml",
        "destructiveChanges.xml",
        "destructiveChangesPre.xml",
        "destructiveChangesPost.xml",
    }
)
SOURCE_ROOT = "force-app/main/default"

# The folders of the types source format decomposes: each component is a folder of files.
DECOMPOSED_FOLDERS = frozenset(
    BY_NAME[name].folder for name in ("CustomObject", *DECOMPOSED_ROOTS.values())
)


def decomposed_file(path: str) -> Literal["parent", "child"] | None:
    """For a source-format file of a decomposed component, whether it holds the component's own
    part (``objects/Room__c/Room__c.object-meta.xml``) or one child
    (``objects/Room__c/fields/Floor__c.field-meta.xml``); None for any other file. The sf CLI
    merges such files into one before it deploys them, writing them anew."""
    parts = path.split("/")
    if len(parts) < 3 or not parts[-1].endswith("-meta.xml"):
        return None
    if len(parts) >= 4 and parts[-4] in DECOMPOSED_FOLDERS:
        return "child"  # objects/Room__c/fields/...
    if parts[-3] not in DECOMPOSED_FOLDERS:
        return None
    own = f"{parts[-2]}.{BY_FOLDER[parts[-3]].suffix}-meta.xml"
    return "parent" if parts[-1] == own else "child"  # translations keep children beside it
