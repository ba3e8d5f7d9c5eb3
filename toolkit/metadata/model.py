"""A typed, read-only picture of a metadata package, built once and shared by every offline rule.

The rules need to ask cross-file questions ("does any layout name a field that no object
defines?"), which is awkward over raw XML and slow if every rule re-parses. So each file is parsed
exactly once, here, into frozen records that remember the file and line they came from, so a
problem can always point at the place to edit. Both Metadata API format and Salesforce DX source
format land in the same model; the rules never look at paths.

A large package holds hundreds of thousands of elements and problems are rare, so what only a
problem needs is read when asked for: the line of a field's child, and the entries of the long
lists in layouts, permission sets and manifests (the records keep the parsed element for this).

A file that is not well-formed XML is left out: the schema stage reports it with the parser's
message, and reporting it twice would only add noise.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.records import frozen_record
from toolkit.metadata.types import BY_FOLDER, BY_NAME, ChildType, MetadataType

META_SUFFIX = "-meta.xml"
MANIFEST_NAME = "package.xml"
# Suffixes Salesforce gives to objects that users create: custom objects and settings, external
# objects, custom metadata types, platform events, big objects.
CUSTOM_OBJECT_SUFFIXES = ("__c", "__x", "__mdt", "__e", "__b")

_OBJECT_TYPE = BY_NAME["CustomObject"]
_CHILD_TAGS = frozenset(child.tag for child in _OBJECT_TYPE.children)
# Types whose XML the rules read; other known types are only counted as components.
_PARSED_TYPES = frozenset({"CustomObject", "Layout", "PermissionSet", "CustomTab"})


_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,14}")
# What may follow "__" at the end of a name: a suffix, not a name after a namespace prefix.
_SUFFIX_ENDINGS = frozenset(s[2:] for s in (*CUSTOM_OBJECT_SUFFIXES, "__r"))


def is_custom_name(name: str) -> bool:
    """True when ``name`` carries one of the suffixes Salesforce gives to user-created objects."""
    return name.endswith(CUSTOM_OBJECT_SUFFIXES)


def split_namespace(name: str) -> tuple[str, str]:
    """A managed package's namespace prefix and the rest of the name:
    ``npe01__Payments_Made__c`` -> (``npe01``, ``Payments_Made__c``); ``Payments__c`` and
    ``Account`` have none (``""``)."""
    head, sep, rest = name.partition("__")
    if sep and rest and rest not in _SUFFIX_ENDINGS and _NAMESPACE.fullmatch(head):
        return head, rest
    return "", name


@dataclass(frozen=True)
class PicklistValue:
    name: str
    label: str
    default: bool
    file: str
    line: int


@dataclass(frozen=True)
class FieldDef:
    """A field as the package defines it (``<fields>`` of an object, or a ``.field-meta.xml``).

    ``element`` is the XML the field was read from, kept so that a problem about ``<length>``
    can point at that line rather than at the start of the field. Lines are looked up only when
    a rule asks: problems are rare, and recording the line of every child of every field up
    front was most of the cost of loading a large package.
    """

    object: str
    name: str
    type: str
    file: str
    line: int
    label: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    visible_lines: int | None = None
    required: bool = False
    unique: bool = False
    external_id: bool = False
    formula: str | None = None
    default_value: str | None = None
    reference_to: str | None = None
    relationship_name: str | None = None
    relationship_label: str | None = None
    reparentable: bool = False  # a master-detail field whose records may change master
    values: tuple[PicklistValue, ...] = ()
    restricted: bool = False
    value_set_name: str | None = None
    summary_operation: str | None = None
    summary_foreign_key: str | None = None
    summarized_field: str | None = None
    element: etree._Element | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.object}.{self.name}"

    @property
    def controlling_field(self) -> str | None:
        """A dependent picklist's controlling field (read when asked: few fields have one)."""
        found = _value_set(self.element)
        return None if found is None else _first_text(found, "{*}controllingField")

    @property
    def value_settings(self) -> tuple[tuple[str, tuple[str, ...], int], ...]:
        """A dependent picklist's value settings: (value, controlling values, line)."""
        found = _value_set(self.element)
        if found is None:
            return ()
        return tuple(
            (
                _first_text(setting, "{*}valueName") or "",
                tuple(
                    (c.text or "").strip() for c in setting.iterchildren("{*}controllingFieldValue")
                ),
                _line(setting),
            )
            for setting in found.iterchildren("{*}valueSettings")
        )

    @property
    def summary_filter_fields(self) -> tuple[NamedRef, ...]:
        """The fields a roll-up summary's filter items name, with their lines."""
        if self.element is None:
            return ()
        return tuple(
            NamedRef(_first_text(item, "{*}field") or "", _line(item))
            for item in self.element.iterchildren("{*}summaryFilterItems")
        )

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    def line_of(self, tag: str) -> int:
        """Line of child element ``tag``, or the field's own line when it is absent."""
        return _child_line(self.element, tag, self.line)


@dataclass(frozen=True)
class WebLinkDef:
    """A custom button or link; layouts refer to these by name."""

    object: str
    name: str
    display_type: str | None
    link_type: str | None
    file: str
    line: int

    @property
    def full_name(self) -> str:
        return f"{self.object}.{self.name}"


@dataclass(frozen=True)
class ObjectPart:
    """A child of an object other than a field or web link (list view, validation rule,
    record type, compact layout, field set...): what the rules ask of it is read from its
    element when they ask."""

    object: str
    type: str  # ListView, ValidationRule ...
    name: str
    file: str
    line: int
    element: etree._Element = dataclasses.field(compare=False, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.object}.{self.name}"

    def text(self, tag: str) -> str | None:
        return _first_text(self.element, "{*}" + tag)

    def line_of(self, tag: str) -> int:
        return _child_line(self.element, tag, self.line)

    def refs(self, path: str) -> tuple[NamedRef, ...]:
        """The texts at ``path`` below the part (``columns``, ``displayedFields/field``)."""
        found = self.element.iterfind("/".join("{*}" + step for step in path.split("/")))
        return tuple(NamedRef((el.text or "").strip(), _line(el)) for el in found)

    def picklist_values(self) -> tuple[tuple[NamedRef, tuple[NamedRef, ...]], ...]:
        """A record type's picklists, each with the values it offers."""
        return tuple(
            (
                NamedRef(_first_text(entry, "{*}picklist") or "", _line(entry)),
                tuple(
                    NamedRef(_first_text(value, "{*}fullName") or "", _line(value))
                    for value in entry.iterchildren("{*}values")
                ),
            )
            for entry in self.element.iterchildren("{*}picklistValues")
        )


@dataclass(frozen=True)
class ObjectDef:
    """An object the package touches.

    ``file`` is None when the package only holds children of the object (a source-format folder
    with ``fields/`` but no ``.object-meta.xml``). ``container_only`` marks an object file that
    holds nothing but children, as a retrieve of single fields produces. ``element`` is the root
    of ``file``, kept for ``line_of`` as on FieldDef.
    """

    name: str
    file: str | None
    line: int
    label: str | None
    plural_label: str | None
    name_field: FieldDef | None
    fields: tuple[FieldDef, ...]
    web_links: tuple[WebLinkDef, ...]
    custom_settings: bool
    container_only: bool
    element: etree._Element | None = dataclasses.field(default=None, compare=False, repr=False)
    parts: tuple[ObjectPart, ...] = ()

    @property
    def custom(self) -> bool:
        return is_custom_name(self.name)

    def line_of(self, tag: str) -> int:
        return _child_line(self.element, tag, self.line)


@dataclass(frozen=True)
class LayoutItem:
    field: str
    behavior: str | None
    line: int


@dataclass(frozen=True)
class NamedRef:
    """A reference by name from one component to another, with the line it sits on."""

    name: str
    line: int


@dataclass(frozen=True)
class RelatedList:
    name: str
    fields: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class LayoutDef:
    """A page layout; its object is the part of the name before the first hyphen.

    Its entries are read from ``element`` when first asked for. A package's layouts name
    thousands of fields, and records with lines are only needed for the few a problem is about;
    ``field_names`` tells a rule whether it has anything to report without building them.
    """

    name: str
    object: str
    file: str
    line: int
    element: etree._Element = dataclasses.field(compare=False, repr=False)

    # Equality covers the entries too; ``builtins.object`` as ``object`` is a field here.
    def __eq__(self, other: builtins.object) -> bool:
        if not isinstance(other, LayoutDef):
            return NotImplemented
        return self._content() == other._content()

    def _content(self) -> tuple[builtins.object, ...]:
        return (
            self.name,
            self.object,
            self.file,
            self.line,
            self.items,
            self.related_lists,
            self.custom_buttons,
            self.custom_links,
        )

    @functools.cached_property
    def _items_and_links(self) -> tuple[tuple[LayoutItem, ...], tuple[NamedRef, ...]]:
        return _layout_items(self.element)

    @property
    def items(self) -> tuple[LayoutItem, ...]:
        return self._items_and_links[0]

    @functools.cached_property
    def custom_links(self) -> tuple[NamedRef, ...]:
        if next(self.element.iter("{*}customLink"), None) is None:
            return ()  # the usual answer, found without walking the items
        return self._items_and_links[1]

    @functools.cached_property
    def related_lists(self) -> tuple[RelatedList, ...]:
        return _related_lists(self.element)

    @functools.cached_property
    def custom_buttons(self) -> tuple[NamedRef, ...]:
        return tuple(_named_refs(self.element, "{*}customButtons"))

    @functools.cached_property
    def field_names(self) -> frozenset[str]:
        """The text of every ``<field>`` in the layout: each field an item names, maybe more."""
        return _all_texts(self.element, "{*}field")


@dataclass(frozen=True)
class ObjectPermission:
    object: str
    allow_create: bool
    allow_read: bool
    allow_edit: bool
    allow_delete: bool
    view_all_records: bool
    modify_all_records: bool
    line: int


@dataclass(frozen=True)
class FieldPermission:
    field: str
    readable: bool
    editable: bool
    line: int

    @property
    def object_name(self) -> str:
        return self.field.partition(".")[0]

    @property
    def field_name(self) -> str:
        return self.field.partition(".")[2]


@dataclass(frozen=True)
class PermissionSetDef:
    """A permission set; its field permissions are read from ``element`` when first asked for.

    A permission set can hold a field permission for every field of a package; ``field_names``
    lets a rule check them all without building a record for each.
    """

    name: str
    label: str | None
    file: str
    line: int
    object_permissions: tuple[ObjectPermission, ...]
    label_line: int
    element: etree._Element = dataclasses.field(compare=False, repr=False)

    # Equality covers the field permissions too.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PermissionSetDef):
            return NotImplemented
        return self._content() == other._content()

    def _content(self) -> tuple[object, ...]:
        return (
            self.name,
            self.label,
            self.file,
            self.line,
            self.object_permissions,
            self.label_line,
            self.field_permissions,
        )

    @functools.cached_property
    def field_permissions(self) -> tuple[FieldPermission, ...]:
        return _field_permissions(self.element)

    @functools.cached_property
    def field_names(self) -> frozenset[str]:
        """The ``field`` of each field permission."""
        return _first_child_texts(self.element, "fieldPermissions", "field")


@dataclass(frozen=True)
class TabDef:
    name: str
    custom_object: bool
    label: str | None
    file: str
    line: int

    @property
    def object(self) -> str | None:
        """The object a custom-object tab shows: Salesforce names such a tab after its object."""
        return self.name if self.custom_object else None


@dataclass(frozen=True)
class ManifestMember:
    name: str
    line: int


@dataclass(frozen=True)
class ManifestType:
    """One ``<types>`` of a manifest; its members are read from ``element`` when first asked for.

    ``member_names`` is what comparing a manifest with the files needs; the member records, with
    their lines, are only built when one of them has something to report.
    """

    name: str
    line: int
    element: etree._Element = dataclasses.field(compare=False, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ManifestType):
            return NotImplemented
        return (self.name, self.line, self.members) == (other.name, other.line, other.members)

    @functools.cached_property
    def members(self) -> tuple[ManifestMember, ...]:
        return tuple(
            ManifestMember((m.text or "").strip(), _line(m))
            for m in self.element.iterchildren("{*}members")
        )

    @functools.cached_property
    def member_names(self) -> frozenset[str]:
        return frozenset((m.text or "").strip() for m in self.element.iterchildren("{*}members"))


@dataclass(frozen=True)
class Manifest:
    """A package.xml: what the package claims to contain."""

    file: str
    line: int
    version: str | None
    types: tuple[ManifestType, ...]


@dataclass(frozen=True)
class Component:
    """One deployable component the files hold, as package.xml would name it.

    ``must_be_listed`` is False for what a manifest may leave out: an object file that only
    carries children, and objects implied by a source-format folder.
    """

    type: str
    name: str
    file: str
    line: int
    must_be_listed: bool = True


@dataclass(frozen=True)
class PackageModel:
    objects: Mapping[str, ObjectDef]
    layouts: tuple[LayoutDef, ...]
    permission_sets: tuple[PermissionSetDef, ...]
    tabs: tuple[TabDef, ...]
    manifests: tuple[Manifest, ...]
    components: tuple[Component, ...]

    @functools.cached_property
    def _objects_folded(self) -> dict[str, ObjectDef]:
        return {name.lower(): obj for name, obj in self.objects.items()}

    def find_object(self, name: str) -> ObjectDef | None:
        """Look an object up the way Salesforce does, ignoring case."""
        return self._objects_folded.get(name.lower())


# --- where a file sits -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Location:
    type: MetadataType | ChildType | None
    name: str  # component name; for object children, the child's own name
    parent: str | None = None  # object name for object children
    manifest: bool = False


def _locate(path: str) -> _Location | None:
    """Recognise a package path in either format; None for files no known type claims."""
    parts = path.split("/")
    filename = parts[-1]
    if filename == MANIFEST_NAME:
        return _Location(None, filename, manifest=True)
    base = filename.removesuffix(META_SUFFIX)
    if len(parts) >= 4 and parts[-4] == _OBJECT_TYPE.folder:
        child = _OBJECT_TYPE.child_by_folder(parts[-2])
        if child is not None and base.endswith("." + child.suffix):
            return _Location(child, base[: -len(child.suffix) - 1], parent=parts[-3])
    if (
        len(parts) >= 3
        and parts[-3] == _OBJECT_TYPE.folder
        and base == f"{parts[-2]}.{_OBJECT_TYPE.suffix}"
    ):
        return _Location(_OBJECT_TYPE, parts[-2])
    if len(parts) >= 2:
        mtype = BY_FOLDER.get(parts[-2])
        if mtype is not None and base.endswith("." + mtype.suffix):
            return _Location(mtype, base[: -len(mtype.suffix) - 1])
    return None


# --- XML helpers -------------------------------------------------------------------------------
#
# A large package has hundreds of thousands of elements, so the walking is left to lxml wherever
# it can do it: repeated children are fetched with ``iterchildren("{*}name")``, which filters in C
# (in any namespace, like every name match here: the schema stage reports a wrong namespace), and
# a record's leaf children are read in one pass, their names looked up in _LOCAL.

# Every element name the model reads below the root of a file.
_READ_TAGS = frozenset(
    {
        *_CHILD_TAGS,
        "allowCreate",
        "allowDelete",
        "allowEdit",
        "allowRead",
        "behavior",
        "customLink",
        "customObject",
        "customSettingsType",
        "default",
        "defaultValue",
        "displayType",
        "editable",
        "externalId",
        "field",
        "formula",
        "fullName",
        "label",
        "length",
        "linkType",
        "modifyAllRecords",
        "nameField",
        "object",
        "picklist",
        "pluralLabel",
        "precision",
        "readable",
        "referenceTo",
        "relatedList",
        "relationshipLabel",
        "relationshipName",
        "reparentableMasterDetail",
        "required",
        "restricted",
        "restrictedPicklist",
        "scale",
        "summarizedField",
        "summaryForeignKey",
        "summaryOperation",
        "type",
        "unique",
        "valueSet",
        "valueSetName",
        "viewAllRecords",
        "visibleLines",
    }
)


class _LocalNames(dict[object, "str | None"]):
    """Tag as lxml gives it (``{namespace}name``) -> local name if the model reads it, else None.

    Filled on first sight of each tag, so the few dozen tags of a package are split once rather
    than for every element. Comments and processing instructions, whose tag is a function, map
    to None.
    """

    def __missing__(self, tag: object) -> str | None:
        if len(self) >= 4096:
            self.clear()  # tags come from the files, so bound what hostile ones can pile up
        name = tag.rpartition("}")[2] if isinstance(tag, str) else None
        local = name if name in _READ_TAGS else None
        self[tag] = local
        return local


_LOCAL = _LocalNames()


def _line(el: etree._Element) -> int:
    line = el.sourceline
    return line if isinstance(line, int) else 0


def _texts(el: etree._Element) -> dict[str, str]:
    """Text of the first child of each name the model reads."""
    out: dict[str, str] = {}
    for child in el:
        name = _LOCAL[child.tag]
        if name is not None and name not in out:
            out[name] = (child.text or "").strip()
    return out


def _first_text(el: etree._Element, tag: str) -> str | None:
    for child in el.iterchildren(tag):
        return (child.text or "").strip()
    return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _value_set(el: etree._Element | None) -> etree._Element | None:
    return None if el is None else next(el.iterchildren("{*}valueSet"), None)


def _child_line(el: etree._Element | None, tag: str, default: int) -> int:
    """Line of the first child of ``el`` named ``tag`` in any namespace, else ``default``."""
    if el is not None:
        for child in el.iterchildren("{*}" + tag):
            return _line(child)
    return default


# --- parsers per type --------------------------------------------------------------------------

_NO_VALUES: tuple[tuple[PicklistValue, ...], bool, str | None] = ((), False, None)


def _picklist_values(
    el: etree._Element, found: Mapping[str, str], file: str
) -> tuple[tuple[PicklistValue, ...], bool, str | None]:
    if "valueSet" not in found and "picklist" not in found:
        return _NO_VALUES
    values: list[PicklistValue] = []
    restricted = False
    value_set_name: str | None = None
    if "valueSet" in found:
        for value_set in el.iterchildren("{*}valueSet"):
            vs = _texts(value_set)
            restricted = vs.get("restricted") == "true"
            value_set_name = vs.get("valueSetName")
            for definition in value_set.iterchildren("{*}valueSetDefinition"):
                for value in definition.iterchildren("{*}value"):
                    values.append(_picklist_value(value, file))
    if "picklist" in found:
        for legacy in el.iterchildren("{*}picklist"):
            restricted = restricted or _first_text(legacy, "{*}restrictedPicklist") == "true"
            for value in legacy.iterchildren("{*}picklistValues"):
                values.append(_picklist_value(value, file))
    return tuple(values), restricted, value_set_name


def _picklist_value(el: etree._Element, file: str) -> PicklistValue:
    found = _texts(el)
    name = found.get("fullName") or ""
    return PicklistValue(
        name=name,
        label=found.get("label") or name,
        default=found.get("default") == "true",
        file=file,
        line=_line(el),
    )


def _field(el: etree._Element, obj: str, name: str | None, file: str) -> FieldDef:
    found = _texts(el)
    get = found.get
    values, restricted, value_set_name = _picklist_values(el, found, file)
    return frozen_record(
        FieldDef,
        {
            "object": obj,
            "name": name or get("fullName") or "",
            "type": get("type") or "",
            "file": file,
            "line": _line(el),
            "label": get("label"),
            "length": _int(get("length")),
            "precision": _int(get("precision")),
            "scale": _int(get("scale")),
            "visible_lines": _int(get("visibleLines")),
            "required": get("required") == "true",
            "unique": get("unique") == "true",
            "external_id": get("externalId") == "true",
            "formula": get("formula"),
            "default_value": get("defaultValue"),
            "reference_to": get("referenceTo"),
            "relationship_name": get("relationshipName"),
            "relationship_label": get("relationshipLabel"),
            "reparentable": get("reparentableMasterDetail") == "true",
            "values": values,
            "restricted": restricted,
            "value_set_name": value_set_name,
            "summary_operation": get("summaryOperation"),
            "summary_foreign_key": get("summaryForeignKey"),
            "summarized_field": get("summarizedField"),
            "element": el,
        },
    )


def _web_link(el: etree._Element, obj: str, name: str | None, file: str) -> WebLinkDef:
    found = _texts(el)
    return WebLinkDef(
        object=obj,
        name=name or found.get("fullName") or "",
        display_type=found.get("displayType"),
        link_type=found.get("linkType"),
        file=file,
        line=_line(el),
    )


def _layout_items(root: etree._Element) -> tuple[tuple[LayoutItem, ...], tuple[NamedRef, ...]]:
    items: list[LayoutItem] = []
    links: list[NamedRef] = []
    for section in root.iterchildren("{*}layoutSections"):
        for column in section.iterchildren("{*}layoutColumns"):
            for item in column.iterchildren("{*}layoutItems"):
                found = _texts(item)
                field = found.get("field")
                if field:
                    items.append(LayoutItem(field, found.get("behavior"), _line(item)))
                link = found.get("customLink")
                if link:
                    link_el = next(item.iterchildren("{*}customLink"))
                    links.append(NamedRef(link, _line(link_el)))
    return tuple(items), tuple(links)


def _related_lists(root: etree._Element) -> tuple[RelatedList, ...]:
    return tuple(
        RelatedList(
            name=_first_text(rel, "{*}relatedList") or "",
            fields=tuple((f.text or "").strip() for f in rel.iterchildren("{*}fields")),
            line=_line(rel),
        )
        for rel in root.iterchildren("{*}relatedLists")
    )


def _named_refs(root: etree._Element, tag: str) -> Iterator[NamedRef]:
    for el in root.iterchildren(tag):
        yield NamedRef((el.text or "").strip(), _line(el))


def _first_child_texts(root: etree._Element, entry: str, child: str) -> frozenset[str]:
    """The text of the first ``child`` of each ``entry`` child of ``root`` ("" for an entry
    without one), as the entries' records would hold it, read in one lxml walk over elements of
    those two names rather than with an iterator per entry. ``child`` must be in _READ_TAGS."""
    texts: set[str] = set()
    current: etree._Element | None = None
    found = True
    for el in root.iter("{*}" + entry, "{*}" + child):
        parent = el.getparent()  # lxml hands back the live proxy, so ``is`` compares elements
        if _LOCAL[el.tag] == child:
            if parent is current and not found:
                texts.add((el.text or "").strip())
                found = True
        elif parent is root:
            if not found:
                texts.add("")
            current, found = el, False
    if not found:
        texts.add("")
    return frozenset(texts)


def _all_texts(root: etree._Element, tag: str) -> frozenset[str]:
    """The text of every element named ``tag`` at any depth, found by lxml without proxies for
    the elements in between."""
    return frozenset((el.text or "").strip() for el in root.iter(tag))


def _layout(root: etree._Element, name: str, file: str) -> LayoutDef:
    return LayoutDef(
        name=name, object=name.partition("-")[0], file=file, line=_line(root), element=root
    )


def _permission_set(root: etree._Element, name: str, file: str) -> PermissionSetDef:
    objects: list[ObjectPermission] = []
    for el in root.iterchildren("{*}objectPermissions"):
        op = _texts(el)
        objects.append(
            ObjectPermission(
                object=op.get("object") or "",
                allow_create=op.get("allowCreate") == "true",
                allow_read=op.get("allowRead") == "true",
                allow_edit=op.get("allowEdit") == "true",
                allow_delete=op.get("allowDelete") == "true",
                view_all_records=op.get("viewAllRecords") == "true",
                modify_all_records=op.get("modifyAllRecords") == "true",
                line=_line(el),
            )
        )
    label_el = next(root.iterchildren("{*}label"), None)
    return PermissionSetDef(
        name=name,
        label=None if label_el is None else (label_el.text or "").strip(),
        file=file,
        line=_line(root),
        object_permissions=tuple(objects),
        label_line=_line(root if label_el is None else label_el),
        element=root,
    )


def _field_permissions(root: etree._Element) -> tuple[FieldPermission, ...]:
    fields: list[FieldPermission] = []
    for el in root.iterchildren("{*}fieldPermissions"):
        fp = _texts(el)
        fields.append(
            FieldPermission(
                field=fp.get("field") or "",
                readable=fp.get("readable") == "true",
                editable=fp.get("editable") == "true",
                line=_line(el),
            )
        )
    return tuple(fields)


def _tab(root: etree._Element, name: str, file: str) -> TabDef:
    found = _texts(root)
    return TabDef(
        name=name,
        custom_object=found.get("customObject") == "true",
        label=found.get("label"),
        file=file,
        line=_line(root),
    )


def _manifest(root: etree._Element, file: str) -> Manifest:
    types = tuple(
        ManifestType(_first_text(el, "{*}name") or "", _line(el), el)
        for el in root.iterchildren("{*}types")
    )
    return Manifest(
        file=file, line=_line(root), version=_first_text(root, "{*}version"), types=types
    )


# --- assembling the package --------------------------------------------------------------------


class _ObjectBuilder:
    """Collects one object's pieces, which source format spreads over many files."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.file: str | None = None
        self.line = 0
        self.label: str | None = None
        self.plural_label: str | None = None
        self.name_field: FieldDef | None = None
        self.custom_settings = False
        self.container_only = False
        self.element: etree._Element | None = None
        self.fields: list[FieldDef] = []
        self.web_links: list[WebLinkDef] = []
        self.parts: list[ObjectPart] = []
        self.first_child_file: str | None = None

    def define(self, root: etree._Element, file: str, components: list[Component]) -> bool:
        """Take in one object file; returns whether that file only carries children."""
        # One pass over the root: its own settings (first of each name), and its children
        # grouped by tag in the order the tags first appear, which is the order they are added.
        own: dict[str, etree._Element] = {}
        children: dict[str, list[etree._Element]] = {}
        container_only = True
        for el in root:
            name = _LOCAL[el.tag]
            if name is None:
                if isinstance(el.tag, str):
                    container_only = False  # an element the model does not read (not a comment)
            elif name in _CHILD_TAGS:
                children.setdefault(name, []).append(el)
            else:
                own.setdefault(name, el)
                container_only = container_only and name == "fullName"
        if self.file is None:
            self.file = file
            self.line = _line(root)
            self.label = _el_text(own.get("label"))
            self.plural_label = _el_text(own.get("pluralLabel"))
            self.custom_settings = "customSettingsType" in own
            self.container_only = container_only
            self.element = root
            name_field = own.get("nameField")
            if name_field is not None:
                self.name_field = _field(name_field, self.name, "Name", file)
        for tag, elements in children.items():
            child = _OBJECT_TYPE.child_by_tag(tag)
            assert child is not None
            for el in elements:
                self.add_child(child, el, None, file, components)
        return container_only

    def add_child(
        self,
        child: ChildType,
        el: etree._Element,
        name: str | None,
        file: str,
        components: list[Component],
    ) -> None:
        if self.first_child_file is None:
            self.first_child_file = file
        if child.tag == "fields":
            field = _field(el, self.name, name, file)
            self.fields.append(field)
            child_name = field.name
        elif child.tag == "webLinks":
            link = _web_link(el, self.name, name, file)
            self.web_links.append(link)
            child_name = link.name
        else:
            child_name = name or _first_text(el, "{*}fullName") or ""
            self.parts.append(ObjectPart(self.name, child.type, child_name, file, _line(el), el))
        components.append(Component(child.type, f"{self.name}.{child_name}", file, _line(el)))

    def build(self) -> ObjectDef:
        return ObjectDef(
            name=self.name,
            file=self.file,
            line=self.line,
            label=self.label,
            plural_label=self.plural_label,
            name_field=self.name_field,
            fields=tuple(self.fields),
            web_links=tuple(self.web_links),
            parts=tuple(self.parts),
            custom_settings=self.custom_settings,
            container_only=self.container_only,
            element=self.element,
        )


def _el_text(el: etree._Element | None) -> str | None:
    return None if el is None else (el.text or "").strip()


def _parse(
    file: MetadataFile, trees: Mapping[str, etree._Element] | None = None
) -> etree._Element | None:
    if trees is not None and file.path in trees:
        return trees[file.path]
    try:
        return xmlsafe.parse(file.content, file.path)
    except ConfigError:
        return None


def load_model(
    files: Iterable[MetadataFile], trees: Mapping[str, etree._Element] | None = None
) -> PackageModel:
    """Parse every file a rule may need, once, in path order so the model is deterministic.

    ``trees`` holds files a caller already parsed (the schema check does), by path.
    """
    objects: dict[str, _ObjectBuilder] = {}
    layouts: list[LayoutDef] = []
    permission_sets: list[PermissionSetDef] = []
    tabs: list[TabDef] = []
    manifests: list[Manifest] = []
    components: list[Component] = []

    def builder(name: str) -> _ObjectBuilder:
        found = objects.get(name)
        if found is None:
            found = objects[name] = _ObjectBuilder(name)
        return found

    for file in sorted(files, key=lambda f: f.path):
        where = _locate(file.path)
        if where is None:
            continue
        if where.manifest:
            root = _parse(file, trees)
            if root is not None:
                manifests.append(_manifest(root, file.path))
            continue
        if isinstance(where.type, ChildType):
            assert where.parent is not None
            root = _parse(file, trees)
            if root is not None:
                builder(where.parent).add_child(where.type, root, where.name, file.path, components)
            continue
        mtype = where.type
        assert mtype is not None
        if mtype.name not in _PARSED_TYPES:
            components.append(Component(mtype.name, where.name, file.path, 1))
            continue
        root = _parse(file, trees)
        if root is None:
            continue
        line = _line(root)
        if mtype is _OBJECT_TYPE:
            container_only = builder(where.name).define(root, file.path, components)
            components.append(
                Component(mtype.name, where.name, file.path, line, not container_only)
            )
            continue
        components.append(Component(mtype.name, where.name, file.path, line))
        if mtype.name == "Layout":
            layouts.append(_layout(root, where.name, file.path))
        elif mtype.name == "PermissionSet":
            permission_sets.append(_permission_set(root, where.name, file.path))
        elif mtype.name == "CustomTab":
            tabs.append(_tab(root, where.name, file.path))

    for name, obj in objects.items():
        if obj.file is None and obj.first_child_file is not None:
            components.append(
                Component(_OBJECT_TYPE.name, name, obj.first_child_file, 0, must_be_listed=False)
            )
    return PackageModel(
        objects={name: objects[name].build() for name in sorted(objects)},
        layouts=tuple(layouts),
        permission_sets=tuple(permission_sets),
        tabs=tuple(tabs),
        manifests=tuple(manifests),
        components=tuple(components),
    )
