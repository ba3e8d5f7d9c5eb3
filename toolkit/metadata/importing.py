"""Metadata XML -> spec data: the tables a spec file holds, as the spec loader reads them.

``sftk import`` (``brownfield``) reads each component of the objects it imports through one
of these converters. A converter takes every element it knows into a spec key and refuses the
component (``Unsupported``, in words for the import's report) when an element is left that
specs have no key for; what it takes is then proven by rendering it back. Converters read the
components as ``meaning.bodies`` gives them: a boolean element that says false is already gone,
so a missing element and a false one are read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from toolkit.metadata import fieldtypes
from toolkit.metadata.render import SEARCH_LAYOUT_ELEMENTS
from toolkit.metadata.specs import GlobalValueSetSpec, PermissionSetSpec

Data = dict[str, Any]
Converter = Callable[[etree._Element, str], Data]


class Unsupported(Exception):
    """What the specs cannot say about a component, in words for the report."""


@dataclass(frozen=True)
class Kept:
    """A component (or an object's own elements) kept as a hand-written file, and why."""

    component: str  # Type:Name
    reason: str


@dataclass(frozen=True)
class Existing:
    """What the project already says that an import must render with: its permission sets'
    and global value sets' sections of sftk.toml (an import adds no section it has)."""

    permission_sets: tuple[PermissionSetSpec, ...] = ()
    global_value_sets: tuple[GlobalValueSetSpec, ...] = ()


# --- reading the XML ---------------------------------------------------------------------------


def _name(el: etree._Element) -> str:
    return etree.QName(el).localname


def _children(el: etree._Element) -> list[etree._Element]:
    return [child for child in el if isinstance(child.tag, str)]


def _text(el: etree._Element) -> str:
    return el.text or ""


def _reader(el: etree._Element, what: str) -> _Fields:
    return _Fields(el, what)


class _Fields:
    """The children of one element, taken one name at a time; whatever is left over when
    ``finish`` is called is what specs cannot say."""

    def __init__(self, el: etree._Element, what: str) -> None:
        self.what = what
        self.left: dict[str, list[etree._Element]] = {}
        for child in _children(el):
            self.left.setdefault(_name(child), []).append(child)

    def take(self, tag: str) -> list[etree._Element]:
        return self.left.pop(tag, [])

    def text(self, tag: str) -> str | None:
        found = self.take(tag)
        if len(found) > 1:
            raise Unsupported(f"{self.what} has {len(found)} <{tag}> elements")
        return _text(found[0]) if found else None

    def flag(self, tag: str) -> bool:
        return self.text(tag) == "true"

    def integer(self, tag: str) -> int | None:
        text = self.text(tag)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            raise Unsupported(f"{self.what}: <{tag}> is not a whole number") from None

    def texts(self, tag: str) -> list[str]:
        return [_text(el) for el in self.take(tag)]

    def finish(self) -> None:
        if self.left:
            tags = ", ".join(f"<{tag}>" for tag in sorted(self.left))
            raise Unsupported(f"{self.what}: specs have no key for {tags}")


def _put(data: Data, key: str, value: Any) -> None:
    if value is not None and value != () and value != []:
        data[key] = value


# --- fields ------------------------------------------------------------------------------------

_BLANK_AS = {xml: word for word, xml in fieldtypes.BLANK_AS.items()}
_FIELD_TEXTS = (
    ("description", "description"),
    ("inlineHelpText", "help_text"),
    ("referenceTo", "reference_to"),
    ("relationshipName", "relationship_name"),
    ("relationshipLabel", "relationship_label"),
    ("deleteConstraint", "delete_constraint"),
    ("displayFormat", "display_format"),
    ("formula", "formula"),
    ("summaryOperation", "summary_operation"),
    ("summaryForeignKey", "summary_foreign_key"),
    ("summarizedField", "summarized_field"),
    ("maskChar", "mask_char"),
    ("maskType", "mask_type"),
)
_FIELD_FLAGS = (
    ("required", "required"),
    ("unique", "unique"),
    ("caseSensitive", "case_sensitive"),
    ("externalId", "external_id"),
    ("trackHistory", "track_history"),
    ("reparentableMasterDetail", "reparentable"),
    ("writeRequiresMasterRead", "write_requires_master_read"),
    ("displayLocationInDecimal", "display_location_in_decimal"),
)
_FIELD_NUMBERS = (
    ("length", "length"),
    ("precision", "precision"),
    ("scale", "scale"),
    ("visibleLines", "visible_lines"),
    ("startingNumber", "starting_number"),
)


def field_data(el: etree._Element, name: str) -> Data:
    """A ``<CustomField>`` as the table of a ``[fields.<name>]``."""
    fields = _reader(el, f"field {name}")
    fields.take("fullName")
    fields.take("relationshipOrder")  # given by the order of master-detail fields
    xml_type = fields.text("type") or ""
    data: Data = {}
    formula = None
    label = fields.text("label")
    if label is not None and label != name.removesuffix("__c").replace("_", " "):
        data["label"] = label
    for tag, spec_key in _FIELD_TEXTS:
        value = fields.text(tag)
        if tag == "formula":
            formula = value
        _put(data, spec_key, value)
    for tag, spec_key in _FIELD_FLAGS:
        if fields.flag(tag):
            data[spec_key] = True
    for tag, spec_key in _FIELD_NUMBERS:
        _put(data, spec_key, fields.integer(tag))
    default = fields.text("defaultValue")
    blank_as = fields.text("formulaTreatBlanksAs")
    if blank_as is not None:
        data["blank_as"] = _BLANK_AS.get(blank_as, blank_as)
    if formula is not None:
        type_name: dict[str, Any] = {"type": "Formula", "returns": xml_type}
    else:
        type_name = {"type": xml_type}
    if default is not None and not (xml_type == "Checkbox" and default == "false"):
        data["default_formula"] = default
    for value_set in fields.take("valueSet"):
        data.update(_value_set(value_set, name))
    for lookup_filter in fields.take("lookupFilter"):
        data["lookup_filter"] = _lookup_filter(lookup_filter, name)
    items = [_filter_item(item, name) for item in fields.take("summaryFilterItems")]
    _put(data, "summary_filters", items)
    fields.finish()
    if xml_type not in fieldtypes.FIELD_TYPES or xml_type == "Formula":
        raise Unsupported(f"field {name}: specs have no {xml_type or 'typeless'} fields")
    return {**type_name, **data}


def _value_set(el: etree._Element, name: str) -> Data:
    value_set = _reader(el, f"the values of field {name}")
    data: Data = {}
    controlling = value_set.text("controllingField")
    if value_set.flag("restricted"):
        data["restricted"] = True
    for definition in value_set.take("valueSetDefinition"):
        values = _reader(definition, f"the values of field {name}")
        if values.flag("sorted"):
            data["sorted"] = True
        data["values"], default = _values(values.take("value"), f"field {name}")
        values.finish()
        _put(data, "default", default)
    _put(data, "global_value_set", value_set.text("valueSetName"))
    if controlling is not None:
        data["controlling_field"] = controlling
        settings: dict[str, list[str]] = {}
        for setting in value_set.take("valueSettings"):
            one = _reader(setting, f"a value setting of field {name}")
            shown = one.text("valueName") or ""
            if shown in settings:
                raise Unsupported(f"field {name} has two value settings for {shown!r}")
            settings[shown] = one.texts("controllingFieldValue")
            one.finish()
        data["value_settings"] = settings
    value_set.finish()
    return data


def _filter_item(el: etree._Element, owner: str) -> Data:
    item = _reader(el, f"a filter item of {owner}")
    data: Data = {"field": item.text("field") or "", "operation": item.text("operation") or ""}
    _put(data, "value", item.text("value"))
    _put(data, "value_field", item.text("valueField"))
    item.finish()
    return data


def _lookup_filter(el: etree._Element, name: str) -> Data:
    lookup = _reader(el, f"the lookup filter of field {name}")
    data: Data = {}
    if not lookup.flag("active"):
        data["active"] = False
    for tag, spec_key in (
        ("booleanFilter", "boolean_filter"),
        ("description", "description"),
        ("errorMessage", "error_message"),
        ("infoMessage", "info_message"),
    ):
        _put(data, spec_key, lookup.text(tag))
    if lookup.flag("isOptional"):
        data["optional"] = True
    data["items"] = [_filter_item(item, f"field {name}") for item in lookup.take("filterItems")]
    lookup.finish()
    return data


# --- the other children of an object -----------------------------------------------------------


def _web_link(el: etree._Element, name: str) -> Data:
    link = _reader(el, f"web link {name}")
    link.take("fullName")
    data: Data = {"label": link.text("masterLabel") or "", "url": link.text("url") or ""}
    _put(data, "display_type", link.text("displayType"))
    _put(data, "open_type", link.text("openType"))
    _put(data, "description", link.text("description"))
    if link.flag("protected"):
        data["protected"] = True
    if link.text("linkType") != "url":
        raise Unsupported(f"web link {name}: specs only have links that open a URL")
    # What the template writes for every link, or for its open type; the comparison with
    # the rendering says whether the values agree.
    for tag in (
        "availability",
        "encodingKey",
        "hasMenubar",
        "hasScrollbars",
        "hasToolbar",
        "height",
        "isResizable",
        "position",
        "requireRowSelection",
        "showsLocation",
        "showsStatus",
    ):
        link.take(tag)
    link.finish()
    return data


def _list_view(el: etree._Element, name: str) -> Data:
    view = _reader(el, f"list view {name}")
    view.take("fullName")
    data: Data = {"label": view.text("label") or ""}
    scope = view.text("filterScope")
    if scope is not None and scope != "Everything":
        data["filter_scope"] = scope
    _put(data, "columns", view.texts("columns"))
    filters = [_filter_item(item, f"list view {name}") for item in view.take("filters")]
    _put(data, "filters", filters)
    _put(data, "boolean_filter", view.text("booleanFilter"))
    view.finish()
    return data


def _validation_rule(el: etree._Element, name: str) -> Data:
    rule = _reader(el, f"validation rule {name}")
    rule.take("fullName")
    data: Data = {
        "formula": rule.text("errorConditionFormula") or "",
        "message": rule.text("errorMessage") or "",
    }
    _put(data, "field", rule.text("errorDisplayField"))
    if not rule.flag("active"):
        data["active"] = False
    _put(data, "description", rule.text("description"))
    rule.finish()
    return data


def _record_type(el: etree._Element, name: str) -> Data:
    record_type = _reader(el, f"record type {name}")
    record_type.take("fullName")
    data: Data = {"label": record_type.text("label") or ""}
    if not record_type.flag("active"):
        data["active"] = False
    _put(data, "description", record_type.text("description"))
    _put(data, "business_process", record_type.text("businessProcess"))
    _put(data, "compact_layout", record_type.text("compactLayoutAssignment"))
    picklists: Data = {}
    for entry in record_type.take("picklistValues"):
        picklist = _reader(entry, f"record type {name}")
        field = picklist.text("picklist") or ""
        values, defaults = [], []
        for value in picklist.take("values"):
            one = _reader(value, f"record type {name}")
            values.append(one.text("fullName") or "")
            if one.flag("default"):
                defaults.append(values[-1])
            one.finish()
        picklist.finish()
        if len(defaults) > 1:
            raise Unsupported(f"record type {name} marks {len(defaults)} values of {field} default")
        if field in picklists:
            raise Unsupported(f"record type {name} lists the values of {field} twice")
        picklists[field] = {"values": values, "default": defaults[0]} if defaults else values
    _put(data, "picklist_values", picklists or None)
    record_type.finish()
    return data


def _compact_layout(el: etree._Element, name: str) -> Data:
    layout = _reader(el, f"compact layout {name}")
    layout.take("fullName")
    data: Data = {"label": layout.text("label") or "", "fields": layout.texts("fields")}
    layout.finish()
    return data


def _field_set(el: etree._Element, name: str) -> Data:
    field_set = _reader(el, f"field set {name}")
    field_set.take("fullName")
    data: Data = {
        "label": field_set.text("label") or "",
        "description": field_set.text("description") or "",
    }
    shown, required = [], []
    for item in field_set.take("displayedFields"):
        one = _reader(item, f"field set {name}")
        shown.append(one.text("field") or "")
        if one.flag("isRequired"):
            required.append(shown[-1])
        one.finish()
    available = []
    for item in field_set.take("availableFields"):
        one = _reader(item, f"field set {name}")
        available.append(one.text("field") or "")
        one.finish()
    data["fields"] = shown
    _put(data, "required", required)
    _put(data, "available", available)
    field_set.finish()
    return data


# Child type -> (spec key, converter).
CHILDREN: Mapping[str, tuple[str, Converter]] = {
    "CustomField": ("fields", field_data),
    "WebLink": ("web_links", _web_link),
    "ListView": ("list_views", _list_view),
    "ValidationRule": ("validation_rules", _validation_rule),
    "RecordType": ("record_types", _record_type),
    "CompactLayout": ("compact_layouts", _compact_layout),
    "FieldSet": ("field_sets", _field_set),
}
CHILD_BY_KEY = {key: type_name for type_name, (key, _) in CHILDREN.items()}


# --- an object's own part, its layouts and tab -------------------------------------------------

# The own elements sftk's object template writes, by spec key; the rest are kept.
_OWN_TEXTS = (
    ("label", "label"),
    ("pluralLabel", "plural_label"),
    ("description", "description"),
    ("deploymentStatus", "deployment_status"),
    ("sharingModel", "sharing_model"),
    ("externalSharingModel", "external_sharing_model"),
    ("compactLayoutAssignment", "compact_layout"),
)
_OWN_FLAGS = (
    ("enableActivities", "enable_activities"),
    ("enableFeeds", "enable_feeds"),
    ("enableHistory", "enable_history"),
    ("enableReports", "enable_reports"),
    ("enableSearch", "enable_search"),
    ("allowInChatterGroups", "allow_in_chatter_groups"),
)
_SPEC_FLAG_DEFAULTS = {"enable_reports": True, "enable_search": True}
_OWN_ALWAYS = ("enableBulkApi", "enableSharing", "enableStreamingApi", "visibility")
_SEARCH_LAYOUT_KEYS = dict(SEARCH_LAYOUT_ELEMENTS)


def own_data(el: etree._Element, name: str) -> tuple[Data, frozenset[str]]:
    """The spec keys of an object's own part, and the own tags the spec leaves to a
    hand-written file."""
    own = _reader(el, f"object {name}")
    own.take("fullName")
    data: Data = {}
    for tag, spec_key in _OWN_TEXTS:
        _put(data, spec_key, own.text(tag))
    for tag, spec_key in _OWN_FLAGS:
        value = own.flag(tag)
        if value != _SPEC_FLAG_DEFAULTS.get(spec_key, False):
            data[spec_key] = value
    for name_field in own.take("nameField"):
        data["name_field"] = _name_field(name_field, name)
    for search in own.take("searchLayouts"):
        layouts = _reader(search, f"the search layouts of {name}")
        data["search_layouts"] = {
            spec_key: layouts.texts(tag)
            for tag, spec_key in _SEARCH_LAYOUT_KEYS.items()
            if tag in layouts.left
        }
        layouts.finish()
    for tag in _OWN_ALWAYS:
        own.take(tag)
    return data, frozenset(own.left)


def _name_field(el: etree._Element, name: str) -> Data:
    field = _reader(el, f"the name field of {name}")
    data: Data = {"label": field.text("label") or ""}
    kind = field.text("type")
    if kind is not None and kind != "Text":
        data["type"] = kind
    _put(data, "display_format", field.text("displayFormat"))
    _put(data, "starting_number", field.integer("startingNumber"))
    field.finish()
    return data


def layout_data(el: etree._Element, name: str) -> Data:
    """A ``<Layout>`` as the table of a ``[layouts."<name>"]``."""
    layout = _reader(el, f"layout {name}")
    data: Data = {}
    _put(data, "buttons", layout.texts("customButtons"))
    _put(data, "exclude_buttons", layout.texts("excludeButtons"))
    sections = [_layout_section(section, name) for section in layout.take("layoutSections")]
    related = [_related_list(item, name) for item in layout.take("relatedLists")]
    layout.finish()
    data["sections"] = sections
    _put(data, "related_lists", related)
    return data


# The style the loader gives a section of so many columns when the spec names none.
_DEFAULT_STYLES = {1: "OneColumn", 2: "TwoColumnsTopToBottom"}


def _layout_section(el: etree._Element, name: str) -> Data:
    section = _reader(el, f"a section of layout {name}")
    style = section.text("style")
    label = section.text("label")
    data: Data = {}
    _put(data, "label", label)
    if section.flag("customLabel"):
        data["custom_label"] = True
    columns = []
    for column in section.take("layoutColumns"):
        items: list[Any] = []
        reader = _reader(column, f"section {label!r} of layout {name}")
        for item in reader.take("layoutItems"):
            one = _reader(item, f"section {label!r} of layout {name}")
            link, field, behavior = one.text("customLink"), one.text("field"), one.text("behavior")
            one.finish()
            if link is not None and field is None and behavior is None:
                items.append({"link": link})
            elif field is not None and link is None and behavior not in (None, "Edit"):
                items.append({"field": field, "behavior": behavior})
            elif field is not None and link is None and behavior is not None:
                items.append(field)
            else:
                raise Unsupported(f"section {label!r} of layout {name} has an item specs lack")
        reader.finish()
        columns.append(items)
    if style != _DEFAULT_STYLES.get(len(columns)):
        data["style"] = style
    data["columns"] = columns
    if not section.flag("detailHeading"):
        data["detail_heading"] = False
    if not section.flag("editHeading"):
        data["edit_heading"] = False
    section.finish()
    return data


def _related_list(el: etree._Element, name: str) -> Data:
    related = _reader(el, f"a related list of layout {name}")
    data: Data = {"name": related.text("relatedList") or ""}
    _put(data, "fields", related.texts("fields"))
    _put(data, "buttons", related.texts("customButtons"))
    _put(data, "sort_field", related.text("sortField"))
    _put(data, "sort_order", related.text("sortOrder"))
    related.finish()
    return data


def tab_data(el: etree._Element, name: str) -> Data:
    tab = _reader(el, f"tab {name}")
    if not tab.flag("customObject"):
        raise Unsupported(f"tab {name} is not an object's tab")
    data: Data = {"motif": tab.text("motif") or ""}
    _put(data, "description", tab.text("description"))
    tab.finish()
    return data


# --- permission sets and global value sets -----------------------------------------------------

_OBJECT_FLAGS = (
    ("allowCreate", "create"),
    ("allowRead", "read"),
    ("allowEdit", "edit"),
    ("allowDelete", "delete"),
    ("viewAllRecords", "view_all"),
    ("modifyAllRecords", "modify_all"),
)
_GRANT_LISTS = (
    ("classAccesses", "apexClass", "enabled", "apex_classes"),
    ("pageAccesses", "apexPage", "enabled", "pages"),
    ("customPermissions", "name", "enabled", "custom_permissions"),
    ("applicationVisibilities", "application", "visible", "applications"),
)


def permission_set_data(
    el: etree._Element, name: str, objects: Mapping[str, str], takes: Callable[[str], str | None]
) -> tuple[Data, dict[str, Data]]:
    """A permission set as its sftk.toml section and the ``[access.<name>]`` of each object it
    grants on; ``objects`` maps each imported object's tab to the object, ``takes`` gives the
    spec's name of an object a grant names (None: no spec may hold it)."""
    perm_set = _reader(el, f"permission set {name}")
    identity: Data = {}
    _put(identity, "label", perm_set.text("label"))
    _put(identity, "description", perm_set.text("description"))
    access: dict[str, Data] = {}

    def grant(object_name: str) -> Data:
        found = takes(object_name)
        if found is None:
            raise Unsupported(
                f"permission set {name} also grants on {object_name}, which is not imported"
            )
        return access.setdefault(found, {})

    for entry in perm_set.take("objectPermissions"):
        one = _reader(entry, f"permission set {name}")
        target = grant(one.text("object") or "")
        flags = [spec for tag, spec in _OBJECT_FLAGS if one.flag(tag)]
        one.finish()
        if not flags:
            raise Unsupported(f"permission set {name} has an object permission granting nothing")
        target["object"] = flags
    for entry in perm_set.take("fieldPermissions"):
        one = _reader(entry, f"permission set {name}")
        object_name, _, field = (one.text("field") or "").partition(".")
        editable, readable = one.flag("editable"), one.flag("readable")
        one.finish()
        target = grant(object_name)
        if editable:
            target.setdefault("edit", []).append(field)
        elif readable:
            target.setdefault("read", []).append(field)
        else:
            raise Unsupported(f"permission set {name} has a field permission granting nothing")
    for entry in perm_set.take("recordTypeVisibilities"):
        one = _reader(entry, f"permission set {name}")
        object_name, _, record_type = (one.text("recordType") or "").partition(".")
        if not one.flag("visible"):
            raise Unsupported(f"permission set {name} hides record type {record_type}")
        one.finish()
        grant(object_name).setdefault("record_types", []).append(record_type)
    tabs: Data = {}
    for entry in perm_set.take("tabSettings"):
        one = _reader(entry, f"permission set {name}")
        tab, visibility = one.text("tab") or "", one.text("visibility") or ""
        one.finish()
        if tab in objects:
            grant(objects[tab])["tab"] = visibility
        else:
            tabs[tab] = visibility
    for tag, key_tag, flag_tag, spec_key in _GRANT_LISTS:
        names = []
        for entry in perm_set.take(tag):
            one = _reader(entry, f"permission set {name}")
            names.append(one.text(key_tag) or "")
            if not one.flag(flag_tag):
                raise Unsupported(f"permission set {name} has a <{tag}> entry that grants nothing")
            one.finish()
        _put(identity, spec_key, names)
    _put(identity, "tabs", tabs or None)
    perm_set.finish()
    for target in access.values():
        for key_name in ("read", "edit", "record_types"):
            if key_name in target:
                target[key_name] = sorted(target[key_name])
    return identity, access


def global_value_set_data(el: etree._Element, name: str) -> Data:
    value_set = _reader(el, f"global value set {name}")
    value_set.take("fullName")
    data: Data = {"label": value_set.text("masterLabel") or ""}
    _put(data, "description", value_set.text("description"))
    if value_set.flag("sorted"):
        data["sorted"] = True
    data["values"], default = _values(value_set.take("customValue"), f"global value set {name}")
    value_set.finish()
    _put(data, "default", default)
    return data


def _values(elements: list[etree._Element], owner: str) -> tuple[list[Any], str | None]:
    """Picklist values as a spec writes them (a name, or a name and its label), and the one
    marked default: a field's ``<value>`` and a global value set's ``<customValue>`` alike."""
    listed: list[Any] = []
    defaults = []
    for value in elements:
        one = _reader(value, f"a value of {owner}")
        full_name = one.text("fullName") or ""
        label = one.text("label")
        if one.flag("default"):
            defaults.append(full_name)
        one.finish()
        listed.append(
            full_name if label in (None, full_name) else {"name": full_name, "label": label}
        )
    if len(defaults) > 1:
        raise Unsupported(f"{owner} marks {len(defaults)} values default")
    return listed, defaults[0] if defaults else None
