"""Object specs -> Metadata API XML files, through Jinja templates a project can override.

There is one template per metadata type (``CustomObject.xml.j2`` includes ``CustomField.xml.j2``
and ``WebLink.xml.j2`` for its children, so a project can override field rendering alone).
Templates are looked up in the project's folder first, then in plugin folders, then in the
built-in ones shipped with sftk. Python decides what is not a matter of XML layout: which files
exist, sort orders, the sharing model, how permission-set grants from many objects add up, and
which elements a field takes with which value (``FieldXml``), so that the field template is
plain output.

Every value a template prints goes through ``_finalize``: booleans become ``true``/``false``,
text that XML 1.0 cannot carry is refused with a ConfigError naming the component, and carriage
returns become character references so that a parser reads back exactly what the spec said.
Templates compile to code that does this and Jinja's escaping in one call (``_xml_text``),
since a large package prints hundreds of thousands of values.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from lxml import etree
from markupsafe import Markup, escape

import toolkit
from toolkit.errors import ConfigError, SftkError, TemplateError
from toolkit.metadata import fieldtypes, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.specs import (
    OBJECT_PERMISSIONS,
    ApplicationSpec,
    CompactLayoutSpec,
    CustomPermissionSpec,
    FieldSetSpec,
    FieldSpec,
    GlobalValueSetSpec,
    LayoutItemSpec,
    LayoutSectionSpec,
    ListViewSpec,
    ObjectSpec,
    PermissionSetSpec,
    PicklistValue,
    RecordTypeSpec,
    RelatedListSpec,
    SearchLayoutsSpec,
    ValidationRuleSpec,
    ValueSetting,
    WebLinkSpec,
)
from toolkit.metadata.template_lines import written_at

OBJECT_TEMPLATE = "CustomObject.xml.j2"
LAYOUT_TEMPLATE = "Layout.xml.j2"
PERMISSION_SET_TEMPLATE = "PermissionSet.xml.j2"
TAB_TEMPLATE = "CustomTab.xml.j2"
PROFILE_TEMPLATE = "Profile.xml.j2"
APPLICATION_TEMPLATE = "CustomApplication.xml.j2"
GLOBAL_VALUE_SET_TEMPLATE = "GlobalValueSet.xml.j2"
CUSTOM_PERMISSION_TEMPLATE = "CustomPermission.xml.j2"
FIELD_TEMPLATE = "CustomField.xml.j2"
WEB_LINK_TEMPLATE = "WebLink.xml.j2"
# The children of an object, each in a template that the object's includes.
CHILD_TEMPLATES = (
    FIELD_TEMPLATE,
    WEB_LINK_TEMPLATE,
    "CompactLayout.xml.j2",
    "FieldSet.xml.j2",
    "ListView.xml.j2",
    "RecordType.xml.j2",
    "ValidationRule.xml.j2",
)
# Every template a project or plugin may override.
TEMPLATE_NAMES = (
    OBJECT_TEMPLATE,
    LAYOUT_TEMPLATE,
    PERMISSION_SET_TEMPLATE,
    TAB_TEMPLATE,
    PROFILE_TEMPLATE,
    APPLICATION_TEMPLATE,
    GLOBAL_VALUE_SET_TEMPLATE,
    CUSTOM_PERMISSION_TEMPLATE,
    *CHILD_TEMPLATES,
)
# The templates that together write an object file.
_OBJECT_TEMPLATES = (OBJECT_TEMPLATE, *CHILD_TEMPLATES)

_ALL_FIELDS = "*"

# Spec permission name -> attribute of ObjectPermissions (and, camel-cased, the XML element).
_OBJECT_PERMISSION_ATTRS: dict[str, str] = {
    "create": "allow_create",
    "read": "allow_read",
    "edit": "allow_edit",
    "delete": "allow_delete",
    "view_all": "view_all_records",
    "modify_all": "modify_all_records",
}

_SNIPPET = 60


def builtin_template_dir() -> Path:
    """The templates shipped with sftk: package data when installed, the repo in a checkout.

    An editable install maps ``toolkit.templates`` onto the top-level ``templates/`` folder in a
    way the import system cannot always follow, hence the fallback to the source layout.
    """
    try:
        packaged = importlib.resources.files("toolkit.templates").joinpath("metadata")
    except ModuleNotFoundError:
        return Path(toolkit.__file__).parent.parent / "templates" / "metadata"
    return Path(str(packaged))


@dataclass(frozen=True)
class ObjectPermissions:
    """One ``<objectPermissions>`` entry of a permission set."""

    object: str
    allow_create: bool = False
    allow_delete: bool = False
    allow_edit: bool = False
    allow_read: bool = False
    modify_all_records: bool = False
    view_all_records: bool = False


@dataclass(frozen=True)
class FieldPermissions:
    """One ``<fieldPermissions>`` entry; ``field`` is ``Object.Field``."""

    field: str
    editable: bool
    readable: bool


@dataclass(frozen=True)
class PermissionSetContent:
    """Everything one permission set grants, gathered from every object spec that names it.

    Field grants are kept as names (every readable field, sorted, and the editable ones) and
    become FieldPermissions one at a time as they are written: a permission set over a large
    package has one per field, and thousands of live objects slow down every garbage collection.
    """

    name: str
    label: str
    description: str | None
    object_permissions: tuple[ObjectPermissions, ...]
    readable_fields: tuple[str, ...]
    editable_fields: frozenset[str]
    sources: tuple[str, ...]
    application_visibilities: tuple[str, ...] = ()
    class_accesses: tuple[str, ...] = ()
    custom_permissions: tuple[str, ...] = ()
    page_accesses: tuple[str, ...] = ()
    record_type_visibilities: tuple[str, ...] = ()
    tab_settings: tuple[tuple[str, str], ...] = ()

    @property
    def field_permissions(self) -> Iterator[FieldPermissions]:
        """The ``<fieldPermissions>`` entries, sorted by field."""
        editable = self.editable_fields
        return (FieldPermissions(field, field in editable, True) for field in self.readable_fields)


@dataclass(frozen=True)
class Grant:
    """What one object's ``access`` gives one permission set, field names qualified and ``*``
    expanded: all a permission set needs of an object spec, so objects can be rendered apart
    from the permission sets over them."""

    permission_set: str
    object: str
    object_permissions: tuple[str, ...]
    read_fields: frozenset[str]  # every readable field, the editable ones included
    edit_fields: frozenset[str]
    source: str
    tab: tuple[str, str] | None = None  # (tab, visibility)
    record_types: frozenset[str] = frozenset()  # Object.RecordType


def grants_of(objects: Iterable[ObjectSpec]) -> list[Grant]:
    grants = []
    for spec in objects:
        for access in spec.access:
            edited = _field_names(spec, access.edit_fields, for_edit=True)
            readable = _field_names(spec, access.read_fields, for_edit=False) | edited
            grants.append(
                Grant(
                    access.permission_set,
                    spec.name,
                    access.object_permissions,
                    frozenset(readable),
                    frozenset(edited),
                    spec.source,
                    None if access.tab is None else (tab_name(spec.name), access.tab),
                    frozenset(f"{spec.name}.{name}" for name in access.record_types),
                )
            )
    return grants


def tab_name(object_name: str) -> str:
    """The tab of an object as permission sets and apps name it: a custom object's tab is named
    after the object, a standard object's is ``standard-<Object>``."""
    return object_name if object_name.endswith("__c") else f"standard-{object_name}"


@dataclass(frozen=True)
class LayoutAssignment:
    """The layout (full name) a profile's users see for a record type (``Object.Name``)."""

    profile: str
    layout: str
    record_type: str
    source: str


def layout_assignments_of(objects: Iterable[ObjectSpec]) -> list[LayoutAssignment]:
    return [
        LayoutAssignment(
            profile, f"{spec.name}-{layout}", f"{spec.name}.{record_type.name}", spec.source
        )
        for spec in objects
        for record_type in spec.record_types
        for profile, layout in record_type.layouts
    ]


@dataclass(frozen=True)
class ProfileContent:
    """The layout assignments sftk writes into one profile, sorted."""

    name: str
    layout_assignments: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]


def profile_contents(assignments: Iterable[LayoutAssignment]) -> tuple[ProfileContent, ...]:
    by_profile: dict[str, set[tuple[str, str]]] = {}
    sources: dict[str, set[str]] = {}
    for assignment in assignments:
        by_profile.setdefault(assignment.profile, set()).add(
            (assignment.layout, assignment.record_type)
        )
        sources.setdefault(assignment.profile, set()).add(assignment.source)
    return tuple(
        ProfileContent(name, tuple(sorted(by_profile[name])), tuple(sorted(sources[name])))
        for name in sorted(by_profile)
    )


def permission_set_contents(
    objects: Sequence[ObjectSpec],
    permission_sets: Sequence[PermissionSetSpec] = (),
    grants: Iterable[Grant] = (),
) -> tuple[PermissionSetContent, ...]:
    """Add up the grants of every object's ``access`` per permission set, sorted by name.

    ``grants`` adds those of objects not among ``objects``. A permission set named only in
    ``permission_sets`` is still returned (with no grants), and one named only by grants gets
    its name with ``_`` turned into spaces as label.
    """
    identities = _permission_set_identities(permission_sets)
    objects_by_set: dict[str, dict[str, set[str]]] = {}
    reads: dict[str, set[str]] = {}
    edits: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    tabs: dict[str, dict[str, str]] = {}
    record_types: dict[str, set[str]] = {}
    for grant in (*grants_of(objects), *grants):
        name = grant.permission_set
        objects_by_set.setdefault(name, {}).setdefault(grant.object, set()).update(
            grant.object_permissions
        )
        edits.setdefault(name, set()).update(grant.edit_fields)
        reads.setdefault(name, set()).update(grant.read_fields)
        if grant.tab is not None:
            tabs.setdefault(name, {})[grant.tab[0]] = grant.tab[1]
        if grant.record_types:
            record_types.setdefault(name, set()).update(grant.record_types)
        if grant.source:
            sources.setdefault(name, set()).add(grant.source)
    contents = []
    for name in sorted(set(objects_by_set) | set(identities)):
        identity = identities.get(name)
        granted = objects_by_set.get(name, {})
        tab_settings = {**dict(identity.tabs if identity else ()), **tabs.get(name, {})}
        contents.append(
            PermissionSetContent(
                name=name,
                label=identity.label if identity else name.replace("_", " "),
                description=identity.description if identity else None,
                object_permissions=tuple(
                    _object_permissions(obj, granted[obj])
                    for obj in sorted(granted)
                    if granted[obj]
                ),
                readable_fields=tuple(sorted(reads.get(name, ()))),
                editable_fields=frozenset(edits.get(name, ())),
                sources=tuple(sorted(sources.get(name, set()))),
                application_visibilities=tuple(sorted(identity.applications if identity else ())),
                class_accesses=tuple(sorted(identity.apex_classes if identity else ())),
                custom_permissions=tuple(sorted(identity.custom_permissions if identity else ())),
                page_accesses=tuple(sorted(identity.pages if identity else ())),
                record_type_visibilities=tuple(sorted(record_types.get(name, ()))),
                tab_settings=tuple(sorted(tab_settings.items())),
            )
        )
    return tuple(contents)


def _permission_set_identities(
    permission_sets: Sequence[PermissionSetSpec],
) -> dict[str, PermissionSetSpec]:
    identities: dict[str, PermissionSetSpec] = {}
    for spec in permission_sets:
        known = identities.setdefault(spec.name, spec)
        if known != spec:
            raise ConfigError(
                f"permission set {spec.name} is described twice, as {known.label!r} and "
                f"{spec.label!r}",
                hint="keep one label and description per permission set",
            )
    return identities


def _object_permissions(object_name: str, permissions: Iterable[str]) -> ObjectPermissions:
    flags = {}
    for permission in sorted(permissions):
        if permission not in _OBJECT_PERMISSION_ATTRS:
            raise ConfigError(
                f"object {object_name}: unknown object permission {permission!r}",
                hint="choose from: " + ", ".join(OBJECT_PERMISSIONS),
            )
        flags[_OBJECT_PERMISSION_ATTRS[permission]] = True
    return ObjectPermissions(object_name, **flags)


# Field types that take no field permissions at all, and none for edit (see _field_names).
_NO_READ_GRANT = frozenset(n for n, t in fieldtypes.FIELD_TYPES.items() if t.implicitly_required)
_NO_EDIT_GRANT = _NO_READ_GRANT | {n for n, t in fieldtypes.FIELD_TYPES.items() if t.read_only}


def _field_names(spec: ObjectSpec, names: Collection[str], *, for_edit: bool) -> set[str]:
    """``Object.Field`` names of a read or edit list, with ``*`` expanded.

    ``*`` leaves out the fields Salesforce refuses field permissions for: required and
    master-detail fields (always visible and editable) and, for edit, auto-numbers.
    """
    prefix = spec.name + "."
    qualified = {prefix + name for name in names if name != _ALL_FIELDS}
    if _ALL_FIELDS in names:
        refused = _NO_EDIT_GRANT if for_edit else _NO_READ_GRANT
        qualified.update(
            [prefix + f.name for f in spec.fields if not (f.required or f.type in refused)]
        )
    return qualified


@dataclass(frozen=True)
class ValueSetXml:
    """The ``<valueSet>`` of a picklist field: ``restricted`` is None when it is left out,
    ``values`` None when the values come from the global value set ``value_set_name``."""

    restricted: bool | None
    sorted: bool
    values: tuple[PicklistValue, ...] | None
    value_set_name: str | None = None
    controlling_field: str | None = None
    value_settings: tuple[ValueSetting, ...] = ()


@dataclass(frozen=True)
class _TypeXml:
    """What a field type alone decides about its ``<fields>`` element, worked out once."""

    ftype: fieldtypes.FieldType
    default_value: str | None
    length: int | None
    precision: str | None
    scale: str | None
    visible_lines: int | None
    mask_char: str | None
    mask_type: str | None


def _type_xml(ftype: fieldtypes.FieldType) -> _TypeXml:
    defaults = dict(ftype.xml_defaults)
    return _TypeXml(
        ftype,
        default_value=defaults.get("defaultValue"),
        length=ftype.default_length if "length" in ftype.options else None,
        precision=defaults.get("precision"),
        scale=defaults.get("scale"),
        visible_lines=ftype.default_visible_lines if "visible_lines" in ftype.options else None,
        mask_char=defaults.get("maskChar"),
        mask_type=defaults.get("maskType"),
    )


def _formula_xml(returns: str) -> _TypeXml:
    """A formula field returning ``returns``: the precision and scale of a numeric result,
    and nothing else of that type's defaults (a formula takes no default value or length)."""
    formula = fieldtypes.FIELD_TYPES["Formula"]
    numeric = dict(fieldtypes.FIELD_TYPES[returns].xml_defaults)
    return _TypeXml(
        formula,
        default_value=None,
        length=None,
        precision=numeric.get("precision"),
        scale=numeric.get("scale"),
        visible_lines=None,
        mask_char=None,
        mask_type=None,
    )


_TYPE_XML = {name: _type_xml(ftype) for name, ftype in fieldtypes.FIELD_TYPES.items()}
_FORMULA_XML = {returns: _formula_xml(returns) for returns in fieldtypes.FORMULA_RETURNS}


class FieldXml:
    """One ``<fields>`` element, decided: what CustomField.xml.j2 receives per field.

    Each attribute is the value of the element it is named after (``inline_help_text`` is
    ``<inlineHelpText>``), with defaults from the field-type table filled in, and None when the
    element is left out, so the template is a list of ``{% if … is not none %}`` elements in
    schema order. Values the spec gives are kept even where the type takes no such element, so
    that the offline rules can report them. ``relationship_order`` is given for master-detail
    fields only; ``type`` is a formula's result type. Read-only by convention: a plain slotted
    class builds several times faster than a frozen dataclass, and a large package has
    thousands of fields.
    """

    __slots__ = (
        "case_sensitive",
        "default_value",
        "delete_constraint",
        "description",
        "display_format",
        "display_location_in_decimal",
        "external_id",
        "formula",
        "formula_treat_blanks_as",
        "full_name",
        "inline_help_text",
        "label",
        "length",
        "lookup_filter",
        "mask_char",
        "mask_type",
        "precision",
        "reference_to",
        "relationship_label",
        "relationship_name",
        "relationship_order",
        "reparentable_master_detail",
        "required",
        "scale",
        "spec",
        "starting_number",
        "summarized_field",
        "summary_filter_items",
        "summary_foreign_key",
        "summary_operation",
        "track_history",
        "type",
        "unique",
        "value_set",
        "visible_lines",
        "write_requires_master_read",
    )

    def __init__(self, spec: FieldSpec, relationship_order: int | None = None) -> None:
        row = _TYPE_XML[spec.type] if spec.type != "Formula" else _FORMULA_XML[str(spec.returns)]
        ftype = row.ftype
        master = relationship_order is not None
        self.spec = spec
        self.full_name = spec.name
        self.case_sensitive = (
            spec.case_sensitive
            if spec.case_sensitive or (ftype.case_sensitive_allowed and spec.unique)
            else None
        )
        self.default_value = row.default_value if spec.default_value is None else spec.default_value
        self.delete_constraint = spec.delete_constraint
        self.description = spec.description or None
        self.display_format = spec.display_format
        self.display_location_in_decimal = (
            spec.display_location_in_decimal
            if spec.type == "Location" or spec.display_location_in_decimal
            else None
        )
        self.external_id = (
            spec.external_id if ftype.external_id_allowed or spec.external_id else None
        )
        self.formula = spec.formula
        self.formula_treat_blanks_as = (
            None if spec.blank_as is None else fieldtypes.BLANK_AS.get(spec.blank_as, spec.blank_as)
        )
        self.inline_help_text = spec.help_text or None
        self.label = spec.label
        self.length = row.length if spec.length is None else spec.length
        self.lookup_filter = spec.lookup_filter
        self.mask_char = row.mask_char if spec.mask_char is None else spec.mask_char
        self.mask_type = row.mask_type if spec.mask_type is None else spec.mask_type
        self.precision: int | str | None = (
            row.precision if spec.precision is None else spec.precision
        )
        self.reference_to = spec.reference_to
        self.relationship_label = spec.relationship_label or None
        self.relationship_name = spec.relationship_name
        self.relationship_order = relationship_order
        self.reparentable_master_detail = spec.reparentable if master else None
        self.required = spec.required if ftype.can_be_required or spec.required else None
        self.scale: int | str | None = row.scale if spec.scale is None else spec.scale
        self.starting_number = spec.starting_number
        self.summarized_field = spec.summarized_field
        self.summary_filter_items = spec.summary_filters
        self.summary_foreign_key = spec.summary_foreign_key
        self.summary_operation = spec.summary_operation
        self.track_history = True if spec.track_history else None
        self.type = spec.xml_type
        self.unique = spec.unique if ftype.unique_allowed or spec.unique else None
        self.value_set = (
            ValueSetXml(
                True if spec.restricted or spec.global_value_set else None,
                spec.sorted,
                None if spec.global_value_set else spec.values,
                spec.global_value_set,
                spec.controlling_field,
                spec.value_settings,
            )
            if ftype.is_picklist
            else None
        )
        self.visible_lines = row.visible_lines if spec.visible_lines is None else spec.visible_lines
        self.write_requires_master_read = spec.write_requires_master_read if master else None


class _IllegalCharacter(ConfigError):
    """Raised from inside a template; the renderer re-raises it naming template and component."""

    def __init__(self, value: str, offset: int) -> None:
        super().__init__(
            f"text {_snippet(value)} has U+{ord(value[offset]):04X} at offset {offset}, "
            "which XML 1.0 cannot carry",
            hint="remove it from the spec: XML 1.0 allows no control characters but tab, "
            "newline and carriage return, no lone surrogates and no U+FFFE/U+FFFF",
        )


class _NoneValue(TypeError):
    """A template printed None, which would put the word 'None' into the XML."""


_TRUE, _FALSE = Markup("true"), Markup("false")


def _finalize(value: Any) -> Any:
    """Turn a printed value into XML text, or refuse it before it can corrupt the file.

    Plain text (the vast majority) goes back untouched for Jinja's own escaping, which leaves
    it as it is; only text with special characters takes the slower, careful path.
    """
    kind = type(value)
    if kind is str and xmlsafe.NEEDS_CARE.search(value) is None:
        return value
    if kind is bool:
        return _TRUE if value else _FALSE
    if value is None:
        raise _NoneValue(
            "the template prints a value that is None; wrap it in {% if … is not none %}"
        )
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(_checked_escape(value))
    return value


def _checked_escape(value: str) -> str:
    illegal = xmlsafe.ILLEGAL_XML.search(value)
    if illegal:
        raise _IllegalCharacter(value, illegal.start())
    return xmlsafe.escape_text(value)


def _xml_text(value: Any) -> str:
    """``escape(_finalize(value))`` as plain text, in one call for the common kinds of value.

    Jinja's own code for ``{{ value }}`` makes two calls and a Markup object per value, which
    is most of a large render; the output is joined into one string anyway, so plain text is all
    a template needs to yield. Any other kind of value takes Jinja's way.
    """
    kind = type(value)
    if kind is str:
        text: str = value
        return text if xmlsafe.NEEDS_CARE.search(text) is None else _checked_escape(text)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    return str(escape(_finalize(value)))


class _XmlCodeGenerator(CodeGenerator):
    """Compiles ``{{ value }}`` under autoescaping to ``environment.xml_text(value)``.

    Jinja would emit ``escape(environment.finalize(value))``; ``_xml_text`` gives the same text.
    Where autoescaping is off, or only known at run time, Jinja's own code stays.
    """

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if _fixed_autoescape(frame):
            self.write("environment.xml_text(")
        else:
            super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if _fixed_autoescape(frame):
            self.write(")")
        else:
            super()._output_child_post(node, frame, finalize)


def _fixed_autoescape(frame: Frame) -> bool:
    return bool(frame.eval_ctx.autoescape) and not frame.eval_ctx.volatile


class _XmlEnvironment(jinja2.Environment):
    """An environment whose templates print through ``_xml_text`` (see _XmlCodeGenerator)."""

    code_generator_class = _XmlCodeGenerator
    xml_text = staticmethod(_xml_text)


def _snippet(value: str) -> str:
    shown = value if len(value) <= _SNIPPET else value[:_SNIPPET] + "…"
    return ascii(shown)


@dataclass(frozen=True)
class _Job:
    """One file to render: which template, with what, and how to name it in errors.

    The context is made only when the file is rendered and dropped right after, so that a large
    package never holds the field views of every object at once for the garbage collector to
    walk again and again.
    """

    template: str
    path: str
    context: Callable[[], Mapping[str, Any]]
    component: str
    origin: str
    # (type, full name) of every component the built-in templates put in this file
    components: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Rendering:
    """The rendered files, and what the object files hold where sftk's own templates wrote them.

    ``components`` maps the path of an object file to its (type, full name) pairs, so that the
    manifest need not parse tens of thousands of fields back out of the XML it just wrote. An
    object file written with an overridden object, field or web-link template is left out: what
    such a template writes is known only by reading it.
    """

    files: list[MetadataFile]
    components: Mapping[str, tuple[tuple[str, str], ...]]


class Renderer:
    """Renders specs with templates from ``template_dirs`` (searched in order) then built-ins.

    Build one per run and reuse it: each template is parsed once and kept.
    """

    def __init__(self, template_dirs: Sequence[Path] = ()) -> None:
        self.template_dirs: tuple[Path, ...] = (*template_dirs, builtin_template_dir())
        self._builtin = self.template_dirs[-1]
        self._env = _XmlEnvironment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            # Every template writes XML; a constant is cheaper than asking per template name.
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            finalize=_finalize,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self._env.globals["field_types"] = fieldtypes.FIELD_TYPES
        # Templates of a project or plugin may write anything: their output is checked to be
        # XML at all (sftk's own are tested to be, so their output is not parsed again).
        self._overridden = any(
            folder.is_dir() and any(folder.glob("*.j2")) for folder in self.template_dirs[:-1]
        )

    def render(
        self,
        objects: Sequence[ObjectSpec],
        permission_sets: Sequence[PermissionSetSpec] = (),
        extras: ProjectExtras | None = None,
    ) -> list[MetadataFile]:
        """Every file the specs describe, sorted by path."""
        return self.rendering(objects, permission_sets, extras=extras).files

    def rendering(
        self,
        objects: Sequence[ObjectSpec],
        permission_sets: Sequence[PermissionSetSpec] = (),
        grants: Iterable[Grant] = (),
        assignments: Iterable[LayoutAssignment] = (),
        extras: ProjectExtras | None = None,
    ) -> Rendering:
        """Every file the specs describe, sorted by path, with the components they hold.

        ``grants`` and ``assignments`` add the access and the layout assignments of objects
        rendered apart (``render_objects``) to the permission sets and profiles; ``extras``
        are the project's components that are not objects (apps, global value sets...).
        """
        jobs = [job for spec in objects for job in _object_jobs(spec)]
        for content in permission_set_contents(objects, permission_sets, grants):
            jobs.append(
                _Job(
                    PERMISSION_SET_TEMPLATE,
                    f"permissionsets/{content.name}.permissionset",
                    functools.partial(dict, permission_set=content),
                    f"PermissionSet {content.name}",
                    ", ".join(content.sources),
                )
            )
        for profile in profile_contents([*layout_assignments_of(objects), *assignments]):
            jobs.append(
                _Job(
                    PROFILE_TEMPLATE,
                    f"profiles/{profile.name}.profile",
                    functools.partial(dict, profile=profile),
                    f"Profile {profile.name}",
                    ", ".join(profile.sources),
                )
            )
        if extras is not None:
            jobs.extend(_extra_jobs(extras))
        return self._run(jobs)

    def render_objects(self, objects: Sequence[ObjectSpec]) -> Rendering:
        """The files of ``objects`` alone (object, layouts, tab), without permission sets."""
        return self._run([job for spec in objects for job in _object_jobs(spec)])

    def _run(self, jobs: Sequence[_Job]) -> Rendering:
        _reject_duplicate_paths(jobs)
        files = [MetadataFile(job.path, self._render(job), job.origin) for job in jobs]
        known = (
            {job.path: job.components for job in jobs if job.template == OBJECT_TEMPLATE}
            if self._builtin_objects()
            else {}
        )
        return Rendering(sorted(files, key=lambda f: f.path), known)

    def _builtin_objects(self) -> bool:
        """Whether object files come from sftk's own templates (the loader takes the first
        folder that has a template, so any project or plugin copy overrides the built-in)."""
        return not any(
            (folder / name).is_file()
            for folder in self.template_dirs[:-1]
            for name in _OBJECT_TEMPLATES
        )

    def _render(self, job: _Job) -> bytes:
        try:
            text = self._env.get_template(job.template).render(job.context())
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message} "
                f"(rendering {job.component} from {job.origin or 'a spec'})",
                hint=self._hint(exc.filename),
            ) from None
        except _IllegalCharacter as exc:
            where = _Where.of(job, exc.__traceback__)
            raise ConfigError(
                f"{where.origin}: {where.component}: {exc.message} (written by {where.template})",
                hint=exc.hint,
            ) from None
        except SftkError:
            raise
        except Exception as exc:
            where = _Where.of(job, exc.__traceback__)
            if isinstance(exc, jinja2.TemplateNotFound):
                problem = f"template {exc.name} not found"
                hint = "looked in: " + ", ".join(str(d) for d in self.template_dirs)
            else:
                plain = isinstance(exc, (jinja2.UndefinedError, _NoneValue))
                problem = str(exc) if plain else f"{type(exc).__name__}: {exc}"
                hint = self._hint(where.template_file)
            raise TemplateError(
                f"{where.template}: {problem} (rendering {where.component} from {where.origin})",
                hint=hint,
            ) from None
        content = text.encode("utf-8")
        if self._overridden:
            self._check_well_formed(job, content)
        return content

    def _check_well_formed(self, job: _Job, content: bytes) -> None:
        """A template that writes malformed XML is refused, naming its line, before anything
        is written."""
        try:
            etree.fromstring(content, xmlsafe.parser())
        except etree.XMLSyntaxError as exc:
            line, column = exc.position
            template = self._env.get_template(job.template)
            place = written_at(template, job.context(), line, column)
            file, template_line = place or (template.filename or job.template, 1)
            raise TemplateError(
                f"{file}:{template_line}: the template writes XML that is not well-formed: "
                f"{exc.msg} (line {line} of {job.path}, rendering {job.component} from "
                f"{job.origin or 'a spec'})",
                hint=self._hint(file),
            ) from None

    def _hint(self, template_file: str | None) -> str:
        if template_file and Path(template_file).resolve().parent == self._builtin.resolve():
            return "this is a bug in a template shipped with sftk; please report it"
        return "fix the template at that line, or delete it to fall back to the built-in one"


@dataclass(frozen=True)
class ProjectExtras:
    """The components of a project that belong to no object: apps, global value sets and
    custom permissions (``[applications]``, ``[global_value_sets]``, ``[custom_permissions]``
    of sftk.toml)."""

    applications: tuple[ApplicationSpec, ...] = ()
    global_value_sets: tuple[GlobalValueSetSpec, ...] = ()
    custom_permissions: tuple[CustomPermissionSpec, ...] = ()


def _extra_jobs(extras: ProjectExtras) -> list[_Job]:
    jobs = [
        _Job(
            APPLICATION_TEMPLATE,
            f"applications/{app.name}.app",
            functools.partial(dict, application=app),
            f"CustomApplication {app.name}",
            app.source,
        )
        for app in extras.applications
    ]
    jobs.extend(
        _Job(
            GLOBAL_VALUE_SET_TEMPLATE,
            f"globalValueSets/{value_set.name}.globalValueSet",
            functools.partial(dict, value_set=value_set),
            f"GlobalValueSet {value_set.name}",
            value_set.source,
        )
        for value_set in extras.global_value_sets
    )
    jobs.extend(
        _Job(
            CUSTOM_PERMISSION_TEMPLATE,
            f"customPermissions/{permission.name}.customPermission",
            functools.partial(dict, custom_permission=permission),
            f"CustomPermission {permission.name}",
            permission.source,
        )
        for permission in extras.custom_permissions
    )
    return jobs


@dataclass(frozen=True)
class _Where:
    """Where a rendering error happened: spec origin, component path and template position."""

    origin: str
    component: str
    template: str
    template_file: str | None

    @classmethod
    def of(cls, job: _Job, tb: TracebackType | None) -> _Where:
        frame = _innermost_template_frame(tb)
        if frame is None:
            return cls(job.origin or "a spec", job.component, job.template, None)
        template_file, line, variables = frame
        origin = job.origin
        parts = [job.component]
        for name in _CONTEXT_NAMES:
            described = _describe(variables.get(name))
            if described:
                parts.append(described[0])
                origin = described[1] or origin
        return cls(origin or "a spec", ", ".join(parts), f"{template_file}:{line}", template_file)


# Template variables that name the part of a component being rendered, outermost first.
_CONTEXT_NAMES = (
    "field",
    "value",
    "link",
    "view",
    "rule",
    "record_type",
    "layout",
    "field_set",
    "section",
    "item",
    "related",
    "grant",
)


def _describe(value: object) -> tuple[str, str] | None:
    """A short name for a spec found among a template's variables, with its source if known."""
    if isinstance(value, FieldXml):
        value = value.spec
    if isinstance(value, FieldSpec):
        return f"field {value.name}", value.source
    if isinstance(value, PicklistValue):
        return f"picklist value {value.name!r}", ""
    if isinstance(value, WebLinkSpec):
        return f"web link {value.name}", value.source
    if isinstance(value, LayoutSectionSpec):
        return f"section {value.label!r}", ""
    if isinstance(value, LayoutItemSpec):
        return f"item {value.field}", ""
    if isinstance(value, RelatedListSpec):
        return f"related list {value.name}", ""
    if isinstance(value, ObjectPermissions):
        return f"object permissions on {value.object}", ""
    if isinstance(value, FieldPermissions):
        return f"field permissions on {value.field}", ""
    if isinstance(value, ListViewSpec):
        return f"list view {value.name}", value.source
    if isinstance(value, ValidationRuleSpec):
        return f"validation rule {value.name}", value.source
    if isinstance(value, RecordTypeSpec):
        return f"record type {value.name}", value.source
    if isinstance(value, CompactLayoutSpec):
        return f"compact layout {value.name}", value.source
    if isinstance(value, FieldSetSpec):
        return f"field set {value.name}", value.source
    return None


def _innermost_template_frame(
    tb: TracebackType | None,
) -> tuple[str, int, dict[str, Any]] | None:
    """File, line and variables of the deepest template frame.

    Jinja rewrites tracebacks so that template code shows as frames whose file is the template
    and whose locals are the template's variables; it marks them with ``__jinja_exception__``.
    """
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if "__jinja_exception__" in frame.f_globals:
            found = (frame.f_code.co_filename, tb.tb_lineno, dict(frame.f_locals))
        tb = tb.tb_next
    return found


def _object_jobs(spec: ObjectSpec) -> list[_Job]:
    for field in spec.fields:
        if field.type not in fieldtypes.FIELD_TYPES:
            raise ConfigError(
                f"{field.source or spec.source}: field {spec.name}.{field.name} has unknown "
                f"type {field.type!r}",
                hint="choose one of: " + ", ".join(fieldtypes.FIELD_TYPE_NAMES),
            )
        if field.type == "Formula" and field.returns not in fieldtypes.FORMULA_RETURNS:
            raise ConfigError(
                f"{field.source or spec.source}: formula field {spec.name}.{field.name} returns "
                f"{field.returns!r}",
                hint="choose one of: " + ", ".join(fieldtypes.FORMULA_RETURNS),
            )
    jobs = []
    if spec.describes or _children(spec):
        jobs.append(
            _Job(
                OBJECT_TEMPLATE,
                f"objects/{spec.name}.object",
                functools.partial(_object_context, spec),
                f"CustomObject {spec.name}",
                spec.source,
                _object_components(spec),
            )
        )
    for layout in spec.layouts:
        jobs.append(
            _Job(
                LAYOUT_TEMPLATE,
                f"layouts/{layout.full_name}.layout",
                functools.partial(dict, layout=layout),
                f"Layout {layout.full_name}",
                layout.source or spec.source,
            )
        )
    if spec.describes and spec.tab is not None:
        jobs.append(
            _Job(
                TAB_TEMPLATE,
                f"tabs/{spec.name}.tab",
                functools.partial(dict, object=spec, tab=spec.tab),
                f"CustomTab {spec.name}",
                spec.source,
            )
        )
    return jobs


_by_name = operator.attrgetter("name")


# An object spec's children other than fields, by their metadata type.
_CHILD_PARTS = (
    ("WebLink", "web_links"),
    ("ListView", "list_views"),
    ("ValidationRule", "validation_rules"),
    ("RecordType", "record_types"),
    ("CompactLayout", "compact_layouts"),
    ("FieldSet", "field_sets"),
)


def _children(spec: ObjectSpec) -> bool:
    return bool(spec.fields) or any(getattr(spec, attr) for _, attr in _CHILD_PARTS)


def _object_components(spec: ObjectSpec) -> tuple[tuple[str, str], ...]:
    """What the built-in object template writes: the object itself when the spec describes it
    (a standard object's file, or one that adds to an object described elsewhere, only
    carries children), and each child."""
    prefix = spec.name + "."
    return (
        *((("CustomObject", spec.name),) if spec.describes else ()),
        *(("CustomField", prefix + f.name) for f in spec.fields),
        *(
            (type_name, prefix + child.name)
            for type_name, attr in _CHILD_PARTS
            for child in getattr(spec, attr)
        ),
    )


# <searchLayouts> lists: element -> SearchLayoutsSpec attribute, in schema order.
SEARCH_LAYOUT_ELEMENTS = tuple(
    ("".join(w if i == 0 else w.title() for i, w in enumerate(f.name.split("_"))), f.name)
    for f in dataclasses.fields(SearchLayoutsSpec)
)


def _object_context(spec: ObjectSpec) -> dict[str, Any]:
    # The first master-detail field declared is the primary one (relationshipOrder 0), the
    # second one of a junction object gets 1.
    masters = [f.name for f in spec.fields if fieldtypes.FIELD_TYPES[f.type].implicitly_required]
    orders = {name: order for order, name in enumerate(masters)}
    sharing = spec.sharing_model or ("ControlledByParent" if masters else "ReadWrite")
    search = spec.search_layouts
    return {
        "object": spec,
        "fields": [FieldXml(f, orders.get(f.name)) for f in sorted(spec.fields, key=_by_name)],
        **{attr: sorted(getattr(spec, attr), key=_by_name) for _, attr in _CHILD_PARTS},
        "sharing_model": sharing,
        "search_layout_lists": []
        if search is None
        else [
            (element, getattr(search, attr))
            for element, attr in SEARCH_LAYOUT_ELEMENTS
            if getattr(search, attr)
        ],
    }


def _reject_duplicate_paths(jobs: Sequence[_Job]) -> None:
    seen: dict[str, _Job] = {}
    for job in jobs:
        other = seen.setdefault(job.path, job)
        if other is not job:
            raise ConfigError(
                f"{job.origin or 'spec'}: {job.component} would be written to {job.path}, "
                f"which {other.component} from {other.origin or 'another spec'} also writes",
                hint="describe each object, layout and permission set once",
            )
