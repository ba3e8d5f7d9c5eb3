"""A typed, read-only picture of a metadata package, built once and shared by every offline rule.

The rules need to ask cross-file questions ("does any layout name a field that no object
defines?"), which is awkward over raw XML and slow if every rule re-parses. So each file is parsed
exactly once, here, into frozen records that remember the file and line they came from, so a
problem can always point at the place to edit. Both Metadata API format and Salesforce DX source
format land in the same model; the rules never look at paths.

A file that is not well-formed XML is left out: the schema stage reports it with the parser's
message, and reporting it twice would only add noise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import MetadataFile
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


def is_custom_name(name: str) -> bool:
    """True when ``name`` carries one of the suffixes Salesforce gives to user-created objects."""
    return name.endswith(CUSTOM_OBJECT_SUFFIXES)


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

    ``element_lines`` maps child element names to their line so a problem about ``<length>``
    can point at that line rather than at the start of the field.
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
    values: tuple[PicklistValue, ...] = ()
    restricted: bool = False
    value_set_name: str | None = None
    element_lines: tuple[tuple[str, int], ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.object}.{self.name}"

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    def line_of(self, tag: str) -> int:
        """Line of child element ``tag``, or the field's own line when it is absent."""
        return next((line for name, line in self.element_lines if name == tag), self.line)


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
class ObjectDef:
    """An object the package touches.

    ``file`` is None when the package only holds children of the object (a source-format folder
    with ``fields/`` but no ``.object-meta.xml``). ``container_only`` marks an object file that
    holds nothing but children, as a retrieve of single fields produces.
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
    element_lines: tuple[tuple[str, int], ...] = ()

    @property
    def custom(self) -> bool:
        return is_custom_name(self.name)

    def line_of(self, tag: str) -> int:
        return next((line for name, line in self.element_lines if name == tag), self.line)


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
    """A page layout; its object is the part of the name before the first hyphen."""

    name: str
    object: str
    file: str
    line: int
    items: tuple[LayoutItem, ...]
    related_lists: tuple[RelatedList, ...]
    custom_buttons: tuple[NamedRef, ...]
    custom_links: tuple[NamedRef, ...]


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
    name: str
    label: str | None
    file: str
    line: int
    object_permissions: tuple[ObjectPermission, ...]
    field_permissions: tuple[FieldPermission, ...]
    label_line: int


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
    name: str
    members: tuple[ManifestMember, ...]
    line: int


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


def _tag(el: etree._Element) -> str | None:
    tag = el.tag
    if not isinstance(tag, str):
        return None  # comments and processing instructions
    return tag.rpartition("}")[2]


def _index(el: etree._Element) -> dict[str, list[etree._Element]]:
    """Children of ``el`` grouped by local name, namespace ignored (the schema stage checks it)."""
    out: dict[str, list[etree._Element]] = {}
    for child in el:
        tag = _tag(child)
        if tag is not None:
            out.setdefault(tag, []).append(child)
    return out


def _line(el: etree._Element) -> int:
    line = el.sourceline
    return line if isinstance(line, int) else 0


def _text(idx: Mapping[str, list[etree._Element]], tag: str) -> str | None:
    found = idx.get(tag)
    if not found:
        return None
    return (found[0].text or "").strip()


def _bool(idx: Mapping[str, list[etree._Element]], tag: str) -> bool:
    return _text(idx, tag) == "true"


def _int(idx: Mapping[str, list[etree._Element]], tag: str) -> int | None:
    text = _text(idx, tag)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _lines(idx: Mapping[str, list[etree._Element]]) -> tuple[tuple[str, int], ...]:
    return tuple((tag, _line(els[0])) for tag, els in idx.items())


# --- parsers per type --------------------------------------------------------------------------


def _picklist_values(
    idx: Mapping[str, list[etree._Element]], file: str
) -> tuple[tuple[PicklistValue, ...], bool, str | None]:
    values: list[PicklistValue] = []
    restricted = False
    value_set_name: str | None = None
    for value_set in idx.get("valueSet", []):
        vs = _index(value_set)
        restricted = _bool(vs, "restricted")
        value_set_name = _text(vs, "valueSetName")
        for definition in vs.get("valueSetDefinition", []):
            for value in _index(definition).get("value", []):
                values.append(_picklist_value(value, file))
    for legacy in idx.get("picklist", []):
        pl = _index(legacy)
        restricted = restricted or _bool(pl, "restrictedPicklist")
        for value in pl.get("picklistValues", []):
            values.append(_picklist_value(value, file))
    return tuple(values), restricted, value_set_name


def _picklist_value(el: etree._Element, file: str) -> PicklistValue:
    idx = _index(el)
    name = _text(idx, "fullName") or ""
    return PicklistValue(
        name=name,
        label=_text(idx, "label") or name,
        default=_bool(idx, "default"),
        file=file,
        line=_line(el),
    )


def _field(el: etree._Element, obj: str, name: str | None, file: str) -> FieldDef:
    idx = _index(el)
    values, restricted, value_set_name = _picklist_values(idx, file)
    return FieldDef(
        object=obj,
        name=name or _text(idx, "fullName") or "",
        type=_text(idx, "type") or "",
        file=file,
        line=_line(el),
        label=_text(idx, "label"),
        length=_int(idx, "length"),
        precision=_int(idx, "precision"),
        scale=_int(idx, "scale"),
        visible_lines=_int(idx, "visibleLines"),
        required=_bool(idx, "required"),
        unique=_bool(idx, "unique"),
        external_id=_bool(idx, "externalId"),
        formula=_text(idx, "formula"),
        default_value=_text(idx, "defaultValue"),
        reference_to=_text(idx, "referenceTo"),
        relationship_name=_text(idx, "relationshipName"),
        relationship_label=_text(idx, "relationshipLabel"),
        values=values,
        restricted=restricted,
        value_set_name=value_set_name,
        element_lines=_lines(idx),
    )


def _web_link(el: etree._Element, obj: str, name: str | None, file: str) -> WebLinkDef:
    idx = _index(el)
    return WebLinkDef(
        object=obj,
        name=name or _text(idx, "fullName") or "",
        display_type=_text(idx, "displayType"),
        link_type=_text(idx, "linkType"),
        file=file,
        line=_line(el),
    )


def _layout(root: etree._Element, name: str, file: str) -> LayoutDef:
    idx = _index(root)
    items: list[LayoutItem] = []
    links: list[NamedRef] = []
    for section in idx.get("layoutSections", []):
        for column in _index(section).get("layoutColumns", []):
            for item in _index(column).get("layoutItems", []):
                it = _index(item)
                field = _text(it, "field")
                if field:
                    items.append(LayoutItem(field, _text(it, "behavior"), _line(item)))
                link = _text(it, "customLink")
                if link:
                    links.append(NamedRef(link, _line(it["customLink"][0])))
    related: list[RelatedList] = []
    for rel in idx.get("relatedLists", []):
        ri = _index(rel)
        related.append(
            RelatedList(
                name=_text(ri, "relatedList") or "",
                fields=tuple((f.text or "").strip() for f in ri.get("fields", [])),
                line=_line(rel),
            )
        )
    buttons = tuple(
        NamedRef((b.text or "").strip(), _line(b)) for b in idx.get("customButtons", [])
    )
    return LayoutDef(
        name=name,
        object=name.partition("-")[0],
        file=file,
        line=_line(root),
        items=tuple(items),
        related_lists=tuple(related),
        custom_buttons=buttons,
        custom_links=tuple(links),
    )


def _permission_set(root: etree._Element, name: str, file: str) -> PermissionSetDef:
    idx = _index(root)
    objects: list[ObjectPermission] = []
    for el in idx.get("objectPermissions", []):
        op = _index(el)
        objects.append(
            ObjectPermission(
                object=_text(op, "object") or "",
                allow_create=_bool(op, "allowCreate"),
                allow_read=_bool(op, "allowRead"),
                allow_edit=_bool(op, "allowEdit"),
                allow_delete=_bool(op, "allowDelete"),
                view_all_records=_bool(op, "viewAllRecords"),
                modify_all_records=_bool(op, "modifyAllRecords"),
                line=_line(el),
            )
        )
    fields: list[FieldPermission] = []
    for el in idx.get("fieldPermissions", []):
        fp = _index(el)
        fields.append(
            FieldPermission(
                field=_text(fp, "field") or "",
                readable=_bool(fp, "readable"),
                editable=_bool(fp, "editable"),
                line=_line(el),
            )
        )
    label_els = idx.get("label", [])
    return PermissionSetDef(
        name=name,
        label=_text(idx, "label"),
        file=file,
        line=_line(root),
        object_permissions=tuple(objects),
        field_permissions=tuple(fields),
        label_line=_line(label_els[0]) if label_els else _line(root),
    )


def _tab(root: etree._Element, name: str, file: str) -> TabDef:
    idx = _index(root)
    return TabDef(
        name=name,
        custom_object=_bool(idx, "customObject"),
        label=_text(idx, "label"),
        file=file,
        line=_line(root),
    )


def _manifest(root: etree._Element, file: str) -> Manifest:
    idx = _index(root)
    types: list[ManifestType] = []
    for el in idx.get("types", []):
        ti = _index(el)
        members = tuple(
            ManifestMember((m.text or "").strip(), _line(m)) for m in ti.get("members", [])
        )
        types.append(ManifestType(_text(ti, "name") or "", members, _line(el)))
    return Manifest(file=file, line=_line(root), version=_text(idx, "version"), types=tuple(types))


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
        self.element_lines: tuple[tuple[str, int], ...] = ()
        self.fields: list[FieldDef] = []
        self.web_links: list[WebLinkDef] = []
        self.first_child_file: str | None = None

    def define(self, root: etree._Element, file: str, components: list[Component]) -> bool:
        """Take in one object file; returns whether that file only carries children."""
        idx = _index(root)
        container_only = all(tag in _CHILD_TAGS or tag == "fullName" for tag in idx)
        if self.file is None:
            self.file = file
            self.line = _line(root)
            self.label = _text(idx, "label")
            self.plural_label = _text(idx, "pluralLabel")
            self.custom_settings = "customSettingsType" in idx
            self.container_only = container_only
            self.element_lines = _lines(idx)
            name_fields = idx.get("nameField", [])
            if name_fields:
                self.name_field = _field(name_fields[0], self.name, "Name", file)
        for tag, elements in idx.items():
            child = _OBJECT_TYPE.child_by_tag(tag)
            if child is None:
                continue
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
            child_name = name or _text(_index(el), "fullName") or ""
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
            custom_settings=self.custom_settings,
            container_only=self.container_only,
            element_lines=self.element_lines,
        )


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
