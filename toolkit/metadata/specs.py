"""Typed, frozen descriptions of what a user (or a plugin) wants in the org.

Specs are what the TOML files under ``objects/`` turn into and what plugins contribute. They
carry no XML knowledge: the templates decide the XML, the field-type table decides the limits.
``source`` on each spec names the file (and key) it came from so errors can point back at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OBJECT_PERMISSIONS = ("create", "read", "edit", "delete", "view_all", "modify_all")
SHARING_MODELS = (
    "Private",
    "Read",
    "ReadWrite",
    "ReadWriteTransfer",
    "FullAccess",
    "ControlledByParent",
)
DEPLOYMENT_STATUSES = ("Deployed", "InDevelopment")
LAYOUT_BEHAVIORS = ("Edit", "Required", "Readonly")
WEBLINK_DISPLAY_TYPES = ("link", "button", "massActionButton")
WEBLINK_OPEN_TYPES = ("newWindow", "sidebar", "noSidebar", "replace")
TAB_DEFAULT_MOTIF = "Custom57: Building Block"


@dataclass(frozen=True)
class PicklistValue:
    name: str
    label: str
    default: bool = False


@dataclass(frozen=True)
class FieldSpec:
    """A custom field; which optional attributes apply is decided by the field-type table."""

    name: str
    type: str
    label: str
    description: str | None = None
    help_text: str | None = None
    required: bool = False
    unique: bool = False
    case_sensitive: bool = False
    external_id: bool = False
    default_value: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    visible_lines: int | None = None
    values: tuple[PicklistValue, ...] = ()
    restricted: bool = False
    sorted: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    relationship_label: str | None = None
    delete_constraint: str | None = None
    reparentable: bool = False
    write_requires_master_read: bool = False
    display_format: str | None = None
    starting_number: int | None = None
    track_history: bool = False
    source: str = ""


@dataclass(frozen=True)
class NameFieldSpec:
    """The record name of a custom object: Text, or AutoNumber with a display format."""

    label: str
    type: str = "Text"
    display_format: str | None = None
    starting_number: int = 1


@dataclass(frozen=True)
class LayoutItemSpec:
    field: str
    behavior: str = "Edit"


@dataclass(frozen=True)
class LayoutSectionSpec:
    label: str
    columns: tuple[tuple[LayoutItemSpec, ...], ...]
    style: str = "TwoColumnsTopToBottom"
    detail_heading: bool = True
    edit_heading: bool = True


@dataclass(frozen=True)
class RelatedListSpec:
    """A related list, ``name`` spelled as Salesforce does (``Enrollment__c.Course__c``)."""

    name: str
    fields: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    sort_field: str | None = None
    sort_order: str | None = None


@dataclass(frozen=True)
class LayoutSpec:
    """A page layout; ``full_name`` is ``Object-Layout Name`` as Salesforce names layout files."""

    object: str
    name: str
    sections: tuple[LayoutSectionSpec, ...]
    related_lists: tuple[RelatedListSpec, ...] = ()
    buttons: tuple[str, ...] = ()
    custom_links: tuple[str, ...] = ()
    source: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.object}-{self.name}"


@dataclass(frozen=True)
class PatchField:
    """A field a layout patch places at the end of the first column of the section labelled
    ``section`` (a new section with that label when the layout has none)."""

    section: str
    field: str
    behavior: str = "Edit"


@dataclass(frozen=True)
class LayoutPatch:
    """Changes merged into a layout the org already has, where a ``LayoutSpec`` would replace
    it whole: a consultant's Contact layout keeps everything it has and gains what the patch
    adds. ``layout`` is the full name (``Contact-Contact Layout``); ``buttons`` are custom
    buttons (web links) by name. Adding what is already there changes nothing."""

    layout: str
    related_lists: tuple[RelatedListSpec, ...] = ()
    buttons: tuple[str, ...] = ()
    fields: tuple[PatchField, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class WebLinkSpec:
    """A custom link or button opening a URL with merge fields such as ``{!Contact.Id}``."""

    name: str
    label: str
    url: str
    display_type: str = "link"
    open_type: str = "newWindow"
    description: str | None = None
    protected: bool = False
    source: str = ""


@dataclass(frozen=True)
class TabSpec:
    motif: str = TAB_DEFAULT_MOTIF
    description: str | None = None


@dataclass(frozen=True)
class ObjectAccessSpec:
    """What one permission set grants on one object: object permissions and field read/edit."""

    permission_set: str
    object_permissions: tuple[str, ...]
    read_fields: tuple[str, ...] = ()
    edit_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectSpec:
    """A custom object, or custom fields (and layouts, links…) added to a standard object.

    For a standard object (no ``__c``) only ``fields``, ``layouts``, ``web_links``,
    ``layout_patches`` and ``access`` are used; the object-level attributes belong to
    Salesforce. A layout in ``layouts`` replaces the org's layout of that name whole; one in
    ``layout_patches`` is merged into the layout the org has. ``sharing_model``
    left as None means ControlledByParent when the object has a master-detail field (Salesforce
    insists) and ReadWrite otherwise.
    """

    name: str
    label: str | None = None
    plural_label: str | None = None
    description: str | None = None
    name_field: NameFieldSpec | None = None
    sharing_model: str | None = None
    deployment_status: str = "Deployed"
    enable_search: bool = True
    enable_reports: bool = True
    enable_activities: bool = False
    enable_history: bool = False
    enable_feeds: bool = False
    fields: tuple[FieldSpec, ...] = ()
    layouts: tuple[LayoutSpec, ...] = ()
    web_links: tuple[WebLinkSpec, ...] = ()
    layout_patches: tuple[LayoutPatch, ...] = ()
    tab: TabSpec | None = None
    access: tuple[ObjectAccessSpec, ...] = ()
    source: str = ""

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def extension(self) -> bool:
        """A custom object's spec without label: it adds fields, links, layouts and access to
        the object another spec describes (a plugin's), as a standard object's spec does."""
        return self.custom and self.label is None and self.plural_label is None


@dataclass(frozen=True)
class PermissionSetSpec:
    """A permission set's identity; its grants are collected from every object's ``access``."""

    name: str
    label: str
    description: str | None = None


@dataclass(frozen=True)
class ProjectSpecs:
    """Everything a project asks to render: objects and the permission sets they mention."""

    objects: tuple[ObjectSpec, ...]
    permission_sets: tuple[PermissionSetSpec, ...] = field(default=())
