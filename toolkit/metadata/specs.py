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
class FilterItemSpec:
    """One criterion of a roll-up summary's filter, a lookup filter or a list view: a field, an
    operation as Salesforce names it (``equals``, ``notEqual``, ``lessThan``...) and a value,
    or, in a lookup filter, another field to compare with (``value_field``)."""

    field: str
    operation: str
    value: str | None = None
    value_field: str | None = None


@dataclass(frozen=True)
class LookupFilterSpec:
    """The records a lookup or master-detail field may point at; ``optional`` lets users pick
    others after a warning."""

    items: tuple[FilterItemSpec, ...]
    active: bool = True
    boolean_filter: str | None = None
    description: str | None = None
    error_message: str | None = None
    info_message: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class ValueSetting:
    """Of a dependent picklist: the controlling field's values under which ``value`` shows."""

    value: str
    controlling_values: tuple[str, ...]


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
    formula: str | None = None
    returns: str | None = None  # a Formula field's result type (fieldtypes.FORMULA_RETURNS)
    blank_as: str | None = None  # a key of fieldtypes.BLANK_AS
    summary_operation: str | None = None
    summary_foreign_key: str | None = None  # Child__c.Master_Field__c
    summarized_field: str | None = None  # Child__c.Field__c, for sum, min and max
    summary_filters: tuple[FilterItemSpec, ...] = ()
    display_location_in_decimal: bool = False
    mask_char: str | None = None
    mask_type: str | None = None
    global_value_set: str | None = None
    controlling_field: str | None = None
    value_settings: tuple[ValueSetting, ...] = ()
    lookup_filter: LookupFilterSpec | None = None
    source: str = ""

    @property
    def xml_type(self) -> str:
        """The ``<type>`` Salesforce stores: a formula field's is its result type."""
        return self.returns if self.type == "Formula" and self.returns else self.type


@dataclass(frozen=True)
class NameFieldSpec:
    """The record name of a custom object: Text, or AutoNumber with a display format."""

    label: str
    type: str = "Text"
    display_format: str | None = None
    starting_number: int = 1


@dataclass(frozen=True)
class LayoutItemSpec:
    """A field of a layout section, or (``custom_link`` set, ``field`` empty) a custom link."""

    field: str
    behavior: str = "Edit"
    custom_link: str | None = None


@dataclass(frozen=True)
class LayoutSectionSpec:
    """A section; ``label`` may be empty (a section without a heading), ``custom_label`` marks
    a label typed in rather than Salesforce's own."""

    label: str
    columns: tuple[tuple[LayoutItemSpec, ...], ...]
    style: str = "TwoColumnsTopToBottom"
    detail_heading: bool = True
    edit_heading: bool = True
    custom_label: bool = False


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
    exclude_buttons: tuple[str, ...] = ()
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
class ValidationRuleSpec:
    """A validation rule: the record is refused with ``message`` when ``formula`` is true;
    ``field`` is where the message shows (at the top of the page when None)."""

    name: str
    formula: str
    message: str
    field: str | None = None
    active: bool = True
    description: str | None = None
    source: str = ""


@dataclass(frozen=True)
class RecordTypeValues:
    """The values of one picklist a record type offers, and its default among them."""

    picklist: str
    values: tuple[str, ...]
    default: str | None = None


@dataclass(frozen=True)
class RecordTypeSpec:
    """A record type; ``layouts`` pairs a profile with the page layout (by its name on the
    object, ``Online Layout``) its users see for this record type."""

    name: str
    label: str
    active: bool = True
    description: str | None = None
    business_process: str | None = None
    compact_layout: str | None = None
    picklist_values: tuple[RecordTypeValues, ...] = ()
    layouts: tuple[tuple[str, str], ...] = ()
    source: str = ""


@dataclass(frozen=True)
class ListViewSpec:
    """A list view: ``filter_scope`` as Salesforce names it (Everything, Mine, Queue...)."""

    name: str
    label: str
    filter_scope: str = "Everything"
    columns: tuple[str, ...] = ()
    filters: tuple[FilterItemSpec, ...] = ()
    boolean_filter: str | None = None
    source: str = ""


@dataclass(frozen=True)
class CompactLayoutSpec:
    """The fields shown in a record's highlights panel (the first is its title)."""

    name: str
    label: str
    fields: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class FieldSetSpec:
    """A named set of fields for pages and components; ``required`` fields are marked so."""

    name: str
    label: str
    description: str
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    available: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class SearchLayoutsSpec:
    """The columns and buttons of an object's search results, lookups and tab, named after
    the elements of ``<searchLayouts>``."""

    custom_tab_list_additional_fields: tuple[str, ...] = ()
    excluded_standard_buttons: tuple[str, ...] = ()
    list_view_buttons: tuple[str, ...] = ()
    lookup_dialogs_additional_fields: tuple[str, ...] = ()
    lookup_filter_fields: tuple[str, ...] = ()
    lookup_phone_dialogs_additional_fields: tuple[str, ...] = ()
    mass_quick_actions: tuple[str, ...] = ()
    search_filter_fields: tuple[str, ...] = ()
    search_results_additional_fields: tuple[str, ...] = ()
    search_results_custom_buttons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectAccessSpec:
    """What one permission set grants on one object: object permissions, field read/edit, the
    visibility of the object's tab and the record types its users may choose."""

    permission_set: str
    object_permissions: tuple[str, ...]
    read_fields: tuple[str, ...] = ()
    edit_fields: tuple[str, ...] = ()
    tab: str | None = None
    record_types: tuple[str, ...] = ()


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
    external_sharing_model: str | None = None
    allow_in_chatter_groups: bool = False
    compact_layout: str | None = None
    search_layouts: SearchLayoutsSpec | None = None
    validation_rules: tuple[ValidationRuleSpec, ...] = ()
    record_types: tuple[RecordTypeSpec, ...] = ()
    list_views: tuple[ListViewSpec, ...] = ()
    compact_layouts: tuple[CompactLayoutSpec, ...] = ()
    field_sets: tuple[FieldSetSpec, ...] = ()
    source: str = ""

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def describes(self) -> bool:
        """Whether the spec describes the object itself (its labels, sharing...), which only
        a custom object's spec with labels does."""
        return self.custom and not self.extension

    @property
    def extension(self) -> bool:
        """A custom object's spec without label: it adds fields, links, layouts and access to
        the object another spec describes (a plugin's), as a standard object's spec does."""
        return self.custom and self.label is None and self.plural_label is None


@dataclass(frozen=True)
class PermissionSetSpec:
    """A permission set's identity and what it grants beyond objects (Apex classes, Visualforce
    pages, custom permissions, apps, tabs by name); its object grants are collected from every
    object's ``access``. ``tabs`` pairs a tab with its visibility (Visible, Available, None)."""

    name: str
    label: str
    description: str | None = None
    apex_classes: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    custom_permissions: tuple[str, ...] = ()
    applications: tuple[str, ...] = ()
    tabs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ApplicationSpec:
    """A Lightning app (``CustomApplication``) and its navigation items, tabs by name."""

    name: str
    label: str
    tabs: tuple[str, ...]
    description: str | None = None
    nav_type: str = "Standard"
    ui_type: str = "Lightning"
    form_factors: tuple[str, ...] = ("Small", "Large")
    header_color: str | None = None
    default_landing_tab: str | None = None
    source: str = ""


@dataclass(frozen=True)
class GlobalValueSetSpec:
    """Picklist values that several fields share (``global_value_set`` on a field)."""

    name: str
    label: str
    values: tuple[PicklistValue, ...]
    sorted: bool = False
    description: str | None = None
    source: str = ""


@dataclass(frozen=True)
class CustomPermissionSpec:
    """A custom permission, granted by permission sets (``custom_permissions``)."""

    name: str
    label: str
    description: str | None = None
    source: str = ""


@dataclass(frozen=True)
class ProjectSpecs:
    """Everything a project asks to render: objects and the permission sets they mention."""

    objects: tuple[ObjectSpec, ...]
    permission_sets: tuple[PermissionSetSpec, ...] = field(default=())
