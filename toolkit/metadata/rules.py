"""The offline rules the Metadata API schema cannot express, run over a whole package.

The XSD says which elements may appear where; it cannot say that a Text field's length is at most
255, that two children of one parent may not share a relationship name, or that a layout names
a field nobody defines. Salesforce only tells you those things after an upload and a queue
wait, one problem at a time, so ``check`` finds them locally, all at once, with the file, line
and component to fix.

Severity follows certainty: what Salesforce is known to reject is an ``error``; what merely looks
wrong because sftk's table of standard objects is not exhaustive is a ``warning``. So is a
reference to something the package does not hold: the org may well have it (from another
package, a managed package's namespace, or an earlier deploy), and the warning names what the
org must already have. A reference is an error only where sftk knows it cannot exist: a custom
field on a custom object the package fully defines. Names may carry a managed package's
namespace prefix (``npe01__Payments_Made__c``); the project's own namespace, if it has one,
names the package's own components.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from toolkit.errors import ConfigError
from toolkit.metadata import fieldtypes
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.formulas import field_paths, line_in
from toolkit.metadata.model import (
    CUSTOM_OBJECT_SUFFIXES,
    Component,
    FieldDef,
    LayoutDef,
    Manifest,
    NamedRef,
    ObjectDef,
    ObjectPart,
    PackageModel,
    PermissionSetDef,
    is_custom_name,
    load_model,
    split_namespace,
)
from toolkit.metadata.packaging import PACKAGE_LIMITS, PackageLimits, build_zip
from toolkit.metadata.standard_objects import SYSTEM_FIELDS, is_standard_object, standard_field
from toolkit.metadata.types import BY_NAME, OBJECT_CHILDREN, decomposed_file

Severity = Literal["error", "warning"]

# Naming limits (Salesforce: names and labels of custom objects and fields are at most 40
# characters, permission set names and labels at most 80).
NAME_MAX = 40
LABEL_MAX = 40
PERMISSION_SET_NAME_MAX = 80
PERMISSION_SET_LABEL_MAX = 80

_EXTERNAL_ID_TYPES = ", ".join(
    t.name for t in fieldtypes.FIELD_TYPES.values() if t.external_id_allowed
)

RULES: Mapping[str, str] = {
    "api-name": "API names use letters, digits and single underscores, start with a letter, "
    f"do not end with an underscore, and have at most {NAME_MAX} characters before the suffix",
    "custom-suffix": "custom objects and custom fields (also on standard objects) end in __c",
    "label-length": f"labels fit Salesforce's limits ({LABEL_MAX} for objects and fields, "
    f"{PERMISSION_SET_LABEL_MAX} for permission sets)",
    "custom-object-parts": "a custom object has a label, a plural label and a name field",
    "field-length": f"Text length is 1-{fieldtypes.TEXT_MAX}; LongTextArea and Html length is "
    f"{fieldtypes.LONG_TEXT_MIN}-{fieldtypes.LONG_TEXT_MAX:,}",
    "visible-lines": "LongTextArea and Html fields say how many lines to show (visibleLines)",
    "numeric-precision": "Number, Currency and Percent fields have a precision of at most "
    f"{fieldtypes.NUMERIC_MAX_PRECISION} and a scale no larger than the precision",
    "external-id-type": f"only these field types can be external IDs: {_EXTERNAL_ID_TYPES}",
    "master-detail-limit": "an object has at most "
    f"{fieldtypes.MAX_MASTER_DETAIL_PER_OBJECT} master-detail fields",
    "relationship-name": "Lookup and MasterDetail fields have a referenceTo and a relationshipName",
    "relationship-name-clash": "relationship names are unique among the children of one parent",
    "relationship-target": "a Lookup or MasterDetail field looks up an object in the package or "
    "a standard object (otherwise a warning: the org must already have it)",
    "picklist-values": "picklist values are unique (ignoring case) and at most "
    f"{fieldtypes.PICKLIST_VALUE_MAX} characters",
    "picklist-default": "a picklist has at most one default value, and it is one of its values",
    "formula-reference": "formulas (of formula fields and validation rules) name fields that "
    "exist, through relationships (X__r) that are lookups or master-detail fields",
    "roll-up-summary": "a roll-up summary sums up the children of a master-detail relationship "
    "to its object (summaryForeignKey), a sum a number, currency or percent field of the child, "
    "a minimum or maximum also a date; its filter names fields of the child",
    "record-type-values": "a record type offers only values its object's picklists have",
    "dependent-picklist": "a dependent picklist's controlling field is a picklist or checkbox of "
    "its object, and its value settings name values both fields have",
    "global-value-set": "a picklist taking a global value set names one in the package "
    "(otherwise a warning: the org must already have it)",
    "part-reference": "list views, compact layouts, field sets, search layouts and validation "
    "rules name fields of their object that exist",
    "layout-object": "a layout's object is in the package or is a standard object (otherwise a "
    "warning: the org must already have it)",
    "layout-reference": "a layout names only fields, buttons, links and related lists that exist",
    "permission-reference": "a permission set names only objects and fields that exist",
    "tab-object": "a custom object tab names an object in the package (otherwise a warning: the "
    "org must already have it)",
    "required-field-permission": "no field permissions on required fields (Salesforce refuses "
    "them; master-detail fields are always required)",
    "manifest-not-listed": "package.xml lists every component the package files hold (listing "
    "an object covers the fields and other children it holds)",
    "manifest-no-file": "package.xml lists nothing the package files do not hold",
    "manifest-version": "package.xml's version matches the API version sftk deploys with",
    "package-limits": "the package stays within the Metadata API limits: "
    f"{PACKAGE_LIMITS.max_files:,} files, {PACKAGE_LIMITS.max_unzipped_bytes:,} bytes unzipped, "
    f"{PACKAGE_LIMITS.max_zipped_bytes:,} bytes zipped",
}


@dataclass(frozen=True)
class Problem:
    """One rule broken at one place.

    ``file`` is a package path (empty for problems about the package as a whole), ``line`` is
    1-based (0 when no line applies), ``component`` names the metadata component the way
    Salesforce's deploy messages do (``CustomField Course__c.Status__c``).
    """

    rule: str
    file: str
    line: int
    component: str
    message: str
    hint: str
    severity: Severity = "error"


_API_VERSION = re.compile(r"\d{1,3}\.\d\Z")
_NAME_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*\Z")


def _split_suffix(name: str) -> tuple[str, str]:
    """``Course__c`` -> (``Course``, ``__c``); names without a custom suffix keep ``""``."""
    for suffix in CUSTOM_OBJECT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def api_name_error(name: str, *, max_length: int = NAME_MAX) -> str | None:
    """Why ``name`` (given without its ``__c``-style suffix) is not a valid API name, or None."""
    if len(name) <= max_length and _NAME_SHAPE.match(name):
        return None  # the common case, settled by one match
    if not name:
        return "is empty"
    if not ("a" <= name[0].lower() <= "z"):
        return "must start with a letter"
    if "__" in name:
        return "must not contain two underscores in a row"
    if name.endswith("_"):
        return "must not end with an underscore"
    if not _NAME_SHAPE.match(name):
        return "may contain only letters, digits and underscores"
    if len(name) > max_length:
        return f"is {len(name)} characters long; at most {max_length} are allowed"
    return None


def _name_problem(
    what: str,
    name: str,
    base: str,
    where: tuple[str, int, str],
    hint: str,
    ctx: _Context,
    max_length: int = NAME_MAX,
    *,
    extends: bool = False,
) -> Problem | None:
    """The api-name problem of a component the package defines (``base`` is its name without
    a custom suffix; ``where`` file, line and component), if it has one.

    A name with a namespace prefix belongs to that managed package. In the project's own
    namespace that is fine; in another's it is a warning, as the org must have that package
    and a deploy changes only what it lets subscribers change (and if no package has that
    namespace, the name has two underscores in a row). ``extends`` marks a component the
    package only adds children to, which is what a package does with another's objects.
    """
    error = api_name_error(base, max_length=max_length)
    if error is None:
        return None
    file, line, component = where
    namespace, rest = split_namespace(base)
    if namespace and api_name_error(rest, max_length=max_length) is None:
        if extends or namespace.lower() == ctx.namespace:
            return None
        return Problem(
            "api-name",
            file,
            line,
            component,
            f"{what} {name!r} carries the namespace prefix {namespace}__ of a managed package: "
            "the org must have it installed, and a deploy changes only what it lets "
            "subscribers change",
            f"if {namespace} is no package's namespace, do not use two underscores in a row",
            severity="warning",
        )
    named = f"{name!r}" if base == name else f"{name!r}: {base!r}"
    return Problem("api-name", file, line, component, f"{what} {named} {error}", hint)


def check(
    files: Sequence[MetadataFile],
    *,
    api_version: str,
    model: PackageModel | None = None,
    namespace: str = "",
) -> list[Problem]:
    """Run every rule over the package; pass ``model`` when the caller already loaded it.

    ``namespace`` is the project's own namespace prefix (sfdx-project.json), "" for none.
    """
    if not _API_VERSION.match(api_version):
        raise ConfigError(
            f"API version {api_version!r} is not a version number",
            hint="use the form 66.0",
        )
    package = model if model is not None else load_model(files)
    ctx = _Context(package, namespace)
    problems: list[Problem] = []
    for obj in package.objects.values():
        problems.extend(_object_rules(obj, ctx))
    for obj in package.objects.values():
        problems.extend(_data_model_rules(obj, ctx))
    problems.extend(_relationship_clashes(package))
    problems.extend(_relationship_targets(package, ctx))
    for layout in package.layouts:
        problems.extend(_layout_rules(layout, ctx))
    for perm_set in package.permission_sets:
        problems.extend(_permission_set_rules(perm_set, ctx))
    for tab in package.tabs:
        if tab.custom_object and ctx.object_state(tab.name) != "package":
            problems.append(
                Problem(
                    "tab-object",
                    tab.file,
                    tab.line,
                    f"CustomTab {tab.name}",
                    f"the tab shows custom object {ctx.elsewhere(tab.name)}",
                    "add the object to the package, or rename the tab after its object",
                    severity="warning",
                )
            )
    for manifest in package.manifests:
        problems.extend(_manifest_rules(manifest, ctx, api_version))
    problems.extend(_package_limits(files))
    return sorted(problems, key=lambda p: (p.file, p.line, p.rule, p.component, p.message))


# --- lookups shared by the rules -----------------------------------------------------------------

# "elsewhere": not in the package nor a standard object sftk knows, so the org must have it.
_ObjectState = Literal["package", "standard", "elsewhere"]
# "missing": cannot exist (a custom field on a custom object the package fully defines).
_FieldState = Literal["ok", "missing", "elsewhere"]


class _Holdings(NamedTuple):
    """What the files hold, by type: every name, and the names a manifest must list (held by a
    file that is more than a container)."""

    held: dict[str, set[str]]
    must_list: dict[str, set[str]]


class _Context:
    """Case-folded indexes over the model, built once so every rule is a dict lookup.

    Keys are strings in nested dicts rather than tuples: a large package would need tens of
    thousands of tuples, each one more object for the garbage collector to trace.
    """

    def __init__(self, model: PackageModel, namespace: str = "") -> None:
        self.model = model
        self.namespace = namespace.lower()
        self.object_states: dict[str, _ObjectState] = {}
        self.fields: dict[str, dict[str, FieldDef]] = {}
        self.web_links: dict[str, set[str]] = {}
        for obj in model.objects.values():
            key = obj.name.lower()
            fields = self.fields.setdefault(key, {})
            for field in obj.fields:
                fields.setdefault(field.name.lower(), field)
            self.web_links.setdefault(key, set()).update(w.name.lower() for w in obj.web_links)

    def own(self, name: str) -> str:
        """``name`` as the package spells its own components: without the project's namespace."""
        namespace, rest = split_namespace(name)
        return rest if namespace and namespace.lower() == self.namespace else name

    def foreign(self, name: str) -> str:
        """The namespace of another package that ``name`` belongs to, or ""."""
        namespace, _ = split_namespace(name)
        return namespace if namespace.lower() != self.namespace else ""

    def find_object(self, name: str) -> ObjectDef | None:
        return self.model.find_object(self.own(name))

    def object_state(self, name: str) -> _ObjectState:
        """Memoised: permission sets and layouts name the same few objects thousands of times."""
        state = self.object_states.get(name)
        if state is None:
            if self.find_object(name) is not None:
                state = "package"
            elif is_standard_object(name):
                state = "standard"
            else:
                state = "elsewhere"
            self.object_states[name] = state
        return state

    def elsewhere(self, object_name: str) -> str:
        """How a message names an object that is not in the package: what the org must have."""
        namespace = self.foreign(object_name)
        if namespace:
            return (
                f"{object_name}, which is not in the package: the org must have the managed "
                f"package with namespace {namespace} installed"
            )
        if is_custom_name(object_name):
            return f"{object_name}, which is not in the package: the org must already have it"
        return (
            f"{object_name!r}, which is not in the package and not a standard object sftk "
            "knows: the org must already have it"
        )

    def defines(self, object_name: str) -> bool:
        """Whether the package fully defines a custom object of its own, so that it knows every
        custom field the object can have."""
        obj = self.find_object(object_name)
        return (
            obj is not None
            and obj.file is not None
            and not obj.container_only
            and is_custom_name(obj.name)
            and not self.foreign(obj.name)
        )

    def field_state(self, object_name: str, field_name: str) -> _FieldState:
        if self.package_field(object_name, field_name) is not None:
            return "ok"
        if standard_field(object_name, field_name) is not None:
            return "ok"
        if (
            field_name.endswith("__c")
            and not self.foreign(field_name)
            and self.defines(object_name)
        ):
            return "missing"
        return "elsewhere"

    def package_field(self, object_name: str, field_name: str) -> FieldDef | None:
        fields = self.fields.get(self.own(object_name).lower())
        return None if fields is None else fields.get(self.own(field_name).lower())

    def not_in_package(self, object_name: str, field_names: Iterable[str]) -> list[str]:
        """The names that are not fields the package gives the object (case ignored)."""
        fields = self.fields.get(self.own(object_name).lower(), {})
        return [name for name in field_names if self.own(name).lower() not in fields]

    def has_web_link(self, object_name: str, name: str) -> bool:
        links = self.web_links.get(self.own(object_name).lower(), ())
        return self.own(name).lower() in links

    @functools.cached_property
    def grantable_fields(self) -> frozenset[str]:
        """``Object.Field`` as the package spells each field that ``package_field`` finds and
        a permission set may name (it is not required)."""
        return frozenset(
            field.full_name
            for fields in self.fields.values()
            for field in fields.values()
            if not _required_reason(field.object, field.name, field)
        )

    @functools.cached_property
    def holdings(self) -> _Holdings:
        held: dict[str, set[str]] = defaultdict(set)
        must_list: dict[str, set[str]] = defaultdict(set)
        for comp in self.model.components:
            held[comp.type].add(comp.name)
            if comp.must_be_listed:
                must_list[comp.type].add(comp.name)
        return _Holdings(held, must_list)

    @functools.cached_property
    def holders(self) -> dict[tuple[str, str], Component]:
        """(type, name) -> the first component that holds it; only built to word a problem."""
        return {(c.type, c.name): c for c in reversed(self.model.components)}


def _field_component(field: FieldDef) -> str:
    return f"CustomField {field.full_name}"


# --- objects and fields --------------------------------------------------------------------------


def _object_rules(obj: ObjectDef, ctx: _Context) -> Iterator[Problem]:
    yield from _object_name_rules(obj, ctx)
    if obj.file is not None and obj.custom and not ctx.foreign(obj.name):
        yield from _object_definition_rules(obj, obj.file)
    masters: list[FieldDef] = []
    found: list[Problem] = []
    for field in obj.fields:
        if field.type == "MasterDetail":
            masters.append(field)
        _field_rules(field, obj, ctx, found)
    yield from found
    limit = fieldtypes.MAX_MASTER_DETAIL_PER_OBJECT
    for extra in masters[limit:]:
        names = ", ".join(m.name for m in masters)
        yield Problem(
            "master-detail-limit",
            extra.file,
            extra.line,
            _field_component(extra),
            f"{obj.name} has {len(masters)} master-detail fields ({names}); "
            f"Salesforce allows {limit}",
            "make one of them a Lookup field",
        )


def _object_name_rules(obj: ObjectDef, ctx: _Context) -> Iterator[Problem]:
    where = _object_location(obj)
    if where is None:
        return
    file, line = where
    component = f"CustomObject {obj.name}"
    base, suffix = _split_suffix(obj.name)
    if suffix:
        problem = _name_problem(
            "object name",
            obj.name,
            base,
            (file, line, component),
            "rename the object, e.g. Course_Session__c",
            ctx,
            extends=obj.file is None or obj.container_only,
        )
        if problem is not None:
            yield problem
    elif not is_standard_object(obj.name):
        yield Problem(
            "custom-suffix",
            file,
            line,
            component,
            f"{obj.name!r} is neither a custom object name (ending in __c) nor a standard "
            "object sftk knows",
            f"if this is a custom object, name it {obj.name}__c",
            severity="warning",
        )


def _object_location(obj: ObjectDef) -> tuple[str, int] | None:
    if obj.file is not None:
        return obj.file, obj.line
    first = obj.fields[0] if obj.fields else None
    return (first.file, 0) if first is not None else None


def _object_definition_rules(obj: ObjectDef, file: str) -> Iterator[Problem]:
    component = f"CustomObject {obj.name}"
    for tag, value in (("label", obj.label), ("pluralLabel", obj.plural_label)):
        if value is not None and len(value) > LABEL_MAX:
            yield Problem(
                "label-length",
                file,
                obj.line_of(tag),
                component,
                f"<{tag}> is {len(value)} characters long; Salesforce allows {LABEL_MAX}",
                "shorten the label",
            )
    needs_parts = obj.name.endswith("__c") and not obj.container_only and not obj.custom_settings
    if not needs_parts:
        return
    missing = [
        tag
        for tag, value in (
            ("label", obj.label),
            ("pluralLabel", obj.plural_label),
            ("nameField", obj.name_field),
        )
        if not value
    ]
    if missing:
        yield Problem(
            "custom-object-parts",
            file,
            obj.line,
            component,
            "the custom object has no " + ", ".join(f"<{tag}>" for tag in missing),
            "add them: Salesforce requires a label, a plural label and a name field "
            "(Text or AutoNumber) for every custom object",
        )


# A package can hold thousands of fields, so the rules run once per field append to a list
# instead of yielding (a generator per field cost more than the checks), and each field type
# runs only the rules that can apply to it.
_FieldRule = Callable[[FieldDef, fieldtypes.FieldType, list[Problem]], None]


def _unsuffixed(field: FieldDef, message: str) -> Problem:
    """A field named as no custom field is, which is no standard field either."""
    return Problem(
        "custom-suffix",
        field.file,
        field.line,
        _field_component(field),
        message,
        f"rename it to {field.name}__c",
    )


def _field_rules(field: FieldDef, obj: ObjectDef, ctx: _Context, out: list[Problem]) -> None:
    if field.custom:
        problem = _name_problem(
            "field name",
            field.name,
            field.name.removesuffix("__c"),
            (field.file, field.line, _field_component(field)),
            "rename the field, e.g. Start_Date__c",
            ctx,
        )
        if problem is not None:
            out.append(problem)
    elif field.name.lower() in SYSTEM_FIELDS:
        out.append(
            _unsuffixed(
                field,
                f"{field.name!r} is a system field every {obj.name} record has, which no "
                "package defines or changes; custom field names end in __c",
            )
        )
        return
    elif standard_field(obj.name, field.name) is not None:
        return  # a standard field the package customises: its shape is Salesforce's
    elif is_custom_name(obj.name) or is_standard_object(obj.name):
        out.append(
            _unsuffixed(
                field,
                f"{field.name!r} is not a standard field of {obj.name}, so it must be a custom "
                "field, and custom field names end in __c",
            )
        )
    else:
        return  # an object sftk does not know: the field may well be one of its own
    if field.label is not None and len(field.label) > LABEL_MAX:
        out.append(
            Problem(
                "label-length",
                field.file,
                field.line_of("label"),
                _field_component(field),
                f"<label> is {len(field.label)} characters long; Salesforce allows {LABEL_MAX}",
                "shorten the label",
            )
        )
    ftype = fieldtypes.field_type(field.type)
    if field.external_id and not (ftype is not None and ftype.external_id_allowed):
        out.append(
            Problem(
                "external-id-type",
                field.file,
                field.line_of("externalId"),
                _field_component(field),
                f"a {field.type or 'typeless'} field cannot be an external ID "
                f"(only {_EXTERNAL_ID_TYPES})",
                "remove <externalId>true</externalId> or change the field type",
            )
        )
    if ftype is None:
        return
    for rule in _TYPE_RULES[field.type]:
        rule(field, ftype, out)


def _length_rules(field: FieldDef, ftype: fieldtypes.FieldType, out: list[Problem]) -> None:
    if ftype.length_range is None or field.formula is not None:
        return
    low, high = ftype.length_range
    if field.length is None:
        out.append(
            Problem(
                "field-length",
                field.file,
                field.line,
                _field_component(field),
                f"a {field.type} field needs a <length> between {low:,} and {high:,}",
                f"add <length>{ftype.default_length}</length>",
            )
        )
    elif not low <= field.length <= high:
        out.append(
            Problem(
                "field-length",
                field.file,
                field.line_of("length"),
                _field_component(field),
                f"length {field.length:,} is outside {low:,}-{high:,} for a {field.type} field",
                _length_hint(field, ftype),
            )
        )
    # Long text types are the ones with both a length range and a default line count.
    if ftype.default_visible_lines is not None and field.visible_lines is None:
        out.append(
            Problem(
                "visible-lines",
                field.file,
                field.line,
                _field_component(field),
                f"a {field.type} field needs <visibleLines>",
                f"add <visibleLines>{ftype.default_visible_lines}</visibleLines>",
            )
        )


def _length_hint(field: FieldDef, ftype: fieldtypes.FieldType) -> str:
    if field.type == "Text" and field.length is not None and field.length > fieldtypes.TEXT_MAX:
        return "use a LongTextArea field for longer text, or lower the length"
    return f"set a length in that range (default {ftype.default_length:,})"


def _numeric_rules(field: FieldDef, ftype: fieldtypes.FieldType, out: list[Problem]) -> None:
    top = fieldtypes.NUMERIC_MAX_PRECISION
    precision, scale = field.precision, field.scale
    if precision is None or scale is None:
        missing = [tag for tag in ("precision", "scale") if getattr(field, tag) is None]
        out.append(
            Problem(
                "numeric-precision",
                field.file,
                field.line,
                _field_component(field),
                f"a {field.type} field needs " + " and ".join(f"<{tag}>" for tag in missing),
                f"add them, e.g. <precision>{top}</precision><scale>2</scale>",
            )
        )
        return
    if not 1 <= precision <= top:
        out.append(
            Problem(
                "numeric-precision",
                field.file,
                field.line_of("precision"),
                _field_component(field),
                f"precision {precision} is outside 1-{top}",
                f"set a precision between 1 and {top} (total digits, scale included)",
            )
        )
    if not 0 <= scale <= precision:
        out.append(
            Problem(
                "numeric-precision",
                field.file,
                field.line_of("scale"),
                _field_component(field),
                f"scale {scale} must be between 0 and the precision ({precision})",
                "lower the scale or raise the precision",
            )
        )


def _relationship_rules(field: FieldDef, ftype: fieldtypes.FieldType, out: list[Problem]) -> None:
    if not field.reference_to:
        out.append(
            Problem(
                "relationship-name",
                field.file,
                field.line,
                _field_component(field),
                f"a {field.type} field needs <referenceTo> naming its parent object",
                "add <referenceTo>Parent__c</referenceTo>",
            )
        )
    if not field.relationship_name:
        out.append(
            Problem(
                "relationship-name",
                field.file,
                field.line,
                _field_component(field),
                f"a {field.type} field needs a <relationshipName>",
                "add one in the plural of the child, e.g. <relationshipName>Enrollments"
                "</relationshipName>",
            )
        )
        return
    error = api_name_error(field.relationship_name)
    if error:
        out.append(
            Problem(
                "api-name",
                field.file,
                field.line_of("relationshipName"),
                _field_component(field),
                f"relationship name {field.relationship_name!r} {error}",
                "use a plain name without a suffix, e.g. Enrollments (Salesforce adds __r)",
            )
        )


def _picklist_rules(field: FieldDef, ftype: fieldtypes.FieldType, out: list[Problem]) -> None:
    seen: dict[str, str] = {}
    defaults = []
    for value in field.values:
        folded = value.name.lower()
        if folded in seen:
            out.append(
                Problem(
                    "picklist-values",
                    value.file,
                    value.line,
                    _field_component(field),
                    f"picklist value {value.name!r} repeats {seen[folded]!r} "
                    "(Salesforce ignores case when comparing values)",
                    "remove the duplicate value",
                )
            )
        else:
            seen[folded] = value.name
        if len(value.name) > fieldtypes.PICKLIST_VALUE_MAX:
            out.append(
                Problem(
                    "picklist-values",
                    value.file,
                    value.line,
                    _field_component(field),
                    f"picklist value is {len(value.name)} characters long; Salesforce allows "
                    f"{fieldtypes.PICKLIST_VALUE_MAX}",
                    "shorten the value",
                )
            )
        if value.default:
            defaults.append(value)
    for extra in defaults[1:]:
        out.append(
            Problem(
                "picklist-default",
                extra.file,
                extra.line,
                _field_component(field),
                f"{extra.name!r} is marked default, but so is {defaults[0].name!r}",
                "mark at most one value <default>true</default>",
            )
        )
    if field.default_value is not None and field.values:
        literal = field.default_value.strip().strip("'\"")
        if literal.lower() not in seen:
            out.append(
                Problem(
                    "picklist-default",
                    field.file,
                    field.line_of("defaultValue"),
                    _field_component(field),
                    f"default value {literal!r} is not one of the picklist's values",
                    "mark one of the values <default>true</default> instead of <defaultValue>",
                )
            )


def _rules_for(ftype: fieldtypes.FieldType) -> tuple[_FieldRule, ...]:
    rules: list[_FieldRule] = []
    if ftype.length_range is not None:
        rules.append(_length_rules)
    if ftype.numeric:
        rules.append(_numeric_rules)
    if ftype.is_relationship:
        rules.append(_relationship_rules)
    if ftype.is_picklist:
        rules.append(_picklist_rules)
    return tuple(rules)


_RELATIONSHIP_TYPES = frozenset({"Lookup", "MasterDetail"})

_TYPE_RULES: Mapping[str, tuple[_FieldRule, ...]] = {
    name: _rules_for(ftype) for name, ftype in fieldtypes.FIELD_TYPES.items()
}


def _relationship_clashes(model: PackageModel) -> Iterator[Problem]:
    by_parent: dict[tuple[str, str], list[FieldDef]] = defaultdict(list)
    for obj in model.objects.values():
        for field in obj.fields:
            if not (field.reference_to and field.relationship_name and field.custom):
                continue
            ftype = fieldtypes.field_type(field.type)
            if ftype is not None and ftype.is_relationship:
                key = (field.reference_to.lower(), field.relationship_name.lower())
                by_parent[key].append(field)
    for fields in by_parent.values():
        if len(fields) < 2:
            continue
        for field in fields:
            others = ", ".join(f.full_name for f in fields if f is not field)
            yield Problem(
                "relationship-name-clash",
                field.file,
                field.line_of("relationshipName"),
                _field_component(field),
                f"relationship name {field.relationship_name!r} on parent "
                f"{field.reference_to} is also used by {others}",
                "give each child relationship of a parent its own name",
            )


def _relationship_targets(model: PackageModel, ctx: _Context) -> Iterator[Problem]:
    """Lookups and master-detail fields whose parent is neither in the package nor standard."""
    known = [obj.name for obj in model.objects.values()]
    for obj in model.objects.values():
        for field in obj.fields:
            if field.type not in _RELATIONSHIP_TYPES or not field.reference_to:
                continue
            target = field.reference_to
            if ctx.object_state(target) != "elsewhere":
                continue
            close = difflib.get_close_matches(target, known, n=1, cutoff=0.8)
            yield Problem(
                "relationship-target",
                field.file,
                field.line_of("referenceTo"),
                _field_component(field),
                f"the {field.type} field looks up {ctx.elsewhere(target)}",
                f"did you mean {close[0]}?"
                if close
                else "check the object's API name, or add the object to the package",
                severity="warning",
            )


# --- formulas, roll-ups, picklists and the other parts of an object -------------------------------

# Field types a roll-up may sum, and those it may take the minimum or maximum of.
_SUMMABLE = frozenset({"Number", "Currency", "Percent"})
_MIN_MAX = _SUMMABLE | {"Date", "DateTime", "Time"}
_CONTROLLING_TYPES = frozenset({"Picklist", "Checkbox"})
_CHECKBOX_VALUES = ("checked", "unchecked")
# Of each part of an object, the paths below it that name fields of the object.
_PART_FIELD_PATHS = {
    "ListView": ("columns", "filters/field"),
    "CompactLayout": ("fields",),
    "FieldSet": ("displayedFields/field", "availableFields/field"),
    "ValidationRule": ("errorDisplayField",),
}
_SEARCH_LAYOUT_TAGS = (
    "customTabListAdditionalFields",
    "lookupDialogsAdditionalFields",
    "lookupFilterFields",
    "lookupPhoneDialogsAdditionalFields",
    "searchFilterFields",
    "searchResultsAdditionalFields",
)


def _data_model_rules(obj: ObjectDef, ctx: _Context) -> Iterator[Problem]:
    """Formulas, roll-up summaries, dependent and global picklists, record types and the
    fields that list views, compact layouts, field sets and validation rules name. These are
    rare beside plain fields, so the checks go field by field only where there is something."""
    for field in obj.fields:
        if field.formula is not None:
            yield from _formula_refs(obj.name, field.formula, field, ctx, _field_component(field))
        if field.type == "Summary":
            yield from _summary_rules(obj.name, field, ctx)
        if field.value_set_name is not None and field.custom:
            yield from _global_value_set(field, ctx)
        if field.values and field.element is not None:
            yield from _dependent_picklist(obj, field, ctx)
    for part in obj.parts:
        component = f"{part.type} {part.full_name}"
        if part.type == "ValidationRule":
            formula = part.text("errorConditionFormula")
            if formula:
                yield from _formula_refs(obj.name, formula, part, ctx, component)
        if part.type == "RecordType":
            yield from _record_type_values(obj.name, part, ctx)
        for path in _PART_FIELD_PATHS.get(part.type, ()):
            for ref in part.refs(path):
                yield from _part_field(obj.name, ref, part.file, component, ctx)
    if obj.element is not None:
        for search in obj.element.iterchildren("{*}searchLayouts"):
            for tag in _SEARCH_LAYOUT_TAGS:
                for el in search.iterchildren("{*}" + tag):
                    line = el.sourceline
                    ref = NamedRef((el.text or "").strip(), line if isinstance(line, int) else 0)
                    component = f"CustomObject {obj.name}"
                    yield from _part_field(obj.name, ref, obj.file or "", component, ctx)


def _part_field(
    object_name: str, ref: NamedRef, file: str, component: str, ctx: _Context
) -> Iterator[Problem]:
    """A field named by a list view, compact layout ...: only custom fields are judged, as
    these parts also name columns such as NAME or CORE.USERS.ALIAS."""
    name = ref.name
    if not name.endswith("__c") or "." in name:
        return
    state = ctx.field_state(object_name, name)
    if state == "missing":
        yield _missing_field("part-reference", file, ref.line, component, object_name, name, state)


def _formula_refs(
    object_name: str, formula: str, holder: FieldDef | ObjectPart, ctx: _Context, component: str
) -> Iterator[Problem]:
    tag = "formula" if isinstance(holder, FieldDef) else "errorConditionFormula"
    for path in field_paths(formula):
        problem = _formula_path(object_name, path.parts, ctx)
        if problem is None:
            continue
        message, severity = problem
        yield Problem(
            "formula-reference",
            holder.file,
            holder.line_of(tag) + line_in(formula, path.offset),
            component,
            f"the formula names {path.text}: {message}",
            "check the API name (custom fields end in __c, relationships to them in __r), or "
            "add the field",
            severity=severity,
        )


def _formula_path(
    object_name: str, parts: Sequence[str], ctx: _Context
) -> tuple[str, Severity] | None:
    """What is wrong with a merge field of a formula on ``object_name``, if sftk can tell:
    custom fields on objects the package defines, reached through custom relationships."""
    current = object_name
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        name = part if last else part.removesuffix("__r") + "__c"
        if not (part.endswith("__c") if last else part.endswith("__r")):
            return None  # a standard field or relationship, a keyword: not sftk's to judge
        state = ctx.field_state(current, name)
        if state == "missing":
            what = "field" if last else "relationship field"
            return (f"{current} has no {what} {name}", "error")
        if state == "elsewhere":
            return None
        if last:
            return None
        field = ctx.package_field(current, name)
        if field is None or not field.reference_to:
            return None
        if field.type not in _RELATIONSHIP_TYPES:
            return (f"{current}.{name} is a {field.type} field, not a relationship", "error")
        current = field.reference_to
    return None


def _summary_rules(object_name: str, field: FieldDef, ctx: _Context) -> Iterator[Problem]:
    component = _field_component(field)
    key = field.summary_foreign_key or ""
    child, dot, master = key.partition(".")
    if not dot or not master:
        yield Problem(
            "roll-up-summary",
            field.file,
            field.line_of("summaryForeignKey"),
            component,
            f"summaryForeignKey {key!r} does not name Child__c.Master_Field__c",
            "name the child object's master-detail field pointing at this object",
        )
        return
    master_field = ctx.package_field(child, master)
    if master_field is None:
        state = ctx.field_state(child, master)
        if state == "missing":
            yield _missing_field(
                "roll-up-summary",
                field.file,
                field.line_of("summaryForeignKey"),
                component,
                child,
                master,
                state,
            )
        return  # the child is elsewhere, or a standard relationship sftk does not model
    if master_field.type != "MasterDetail":
        yield Problem(
            "roll-up-summary",
            field.file,
            field.line_of("summaryForeignKey"),
            component,
            f"{child}.{master} is a {master_field.type or 'typeless'} field: a roll-up summary "
            "only sums up the children of a master-detail relationship",
            f"make {child}.{master} a MasterDetail field, or use another way (a flow, Apex)",
        )
    elif (master_field.reference_to or "").lower() != ctx.own(object_name).lower():
        yield Problem(
            "roll-up-summary",
            field.file,
            field.line_of("summaryForeignKey"),
            component,
            f"{child}.{master} is the master-detail field to {master_field.reference_to}, not "
            f"to {object_name}",
            f"name a master-detail field of {child} that points at {object_name}",
        )
    yield from _summarized(child, field, ctx)
    for ref in field.summary_filter_fields:
        filter_child, _, filter_field = ref.name.partition(".")
        if filter_child.lower() != child.lower() or not filter_field:
            yield Problem(
                "roll-up-summary",
                field.file,
                ref.line,
                component,
                f"the filter names {ref.name!r}, which is not a field of the child {child}",
                f"filter on fields of {child}, written {child}.Field__c",
            )
            continue
        state = ctx.field_state(child, filter_field)
        if state == "missing":
            yield _missing_field(
                "roll-up-summary", field.file, ref.line, component, child, filter_field, state
            )


def _summarized(child: str, field: FieldDef, ctx: _Context) -> Iterator[Problem]:
    component = _field_component(field)
    operation = field.summary_operation
    summarized = field.summarized_field
    if operation == "count" or operation is None:
        return
    if not summarized:
        yield Problem(
            "roll-up-summary",
            field.file,
            field.line,
            component,
            f"a {operation} roll-up needs the <summarizedField> it takes the {operation} of",
            f"add <summarizedField>{child}.Field__c</summarizedField>",
        )
        return
    summary_child, _, name = summarized.partition(".")
    if summary_child.lower() != child.lower():
        yield Problem(
            "roll-up-summary",
            field.file,
            field.line_of("summarizedField"),
            component,
            f"summarizedField {summarized!r} is not a field of the child {child}",
            f"name a field of {child}, written {child}.Field__c",
        )
        return
    target = ctx.package_field(child, name)
    if target is None:
        state = ctx.field_state(child, name)
        if state == "missing":
            yield _missing_field(
                "roll-up-summary",
                field.file,
                field.line_of("summarizedField"),
                component,
                child,
                name,
                state,
            )
        return
    allowed = _SUMMABLE if operation == "sum" else _MIN_MAX
    if target.type not in allowed:
        yield Problem(
            "roll-up-summary",
            field.file,
            field.line_of("summarizedField"),
            component,
            f"a {operation} roll-up cannot take {child}.{name}, a {target.type} field",
            f"a {operation} takes a " + ", ".join(sorted(allowed)) + " field",
        )


def _global_value_set(field: FieldDef, ctx: _Context) -> Iterator[Problem]:
    name = field.value_set_name or ""
    if name in ctx.holdings.held.get("GlobalValueSet", set()):
        return
    yield Problem(
        "global-value-set",
        field.file,
        field.line_of("valueSet"),
        _field_component(field),
        f"the picklist takes the global value set {name}, which is not in the package: the "
        "org must already have it",
        "add the global value set ([global_value_sets] in sftk.toml), or check its name",
        severity="warning",
    )


def _dependent_picklist(obj: ObjectDef, field: FieldDef, ctx: _Context) -> Iterator[Problem]:
    controlling_name = field.controlling_field
    if controlling_name is None:
        return
    component = _field_component(field)
    controlling = ctx.package_field(obj.name, controlling_name)
    if controlling is None:
        state = ctx.field_state(obj.name, controlling_name)
        if state == "missing":
            yield _missing_field(
                "dependent-picklist",
                field.file,
                field.line_of("valueSet"),
                component,
                obj.name,
                controlling_name,
                state,
            )
        return
    if controlling.type not in _CONTROLLING_TYPES:
        yield Problem(
            "dependent-picklist",
            field.file,
            field.line_of("valueSet"),
            component,
            f"its controlling field {controlling_name} is a {controlling.type} field",
            "a picklist depends on a picklist or a checkbox of its object",
        )
        return
    mine = {v.name.lower() for v in field.values}
    names: Sequence[str] | None = None  # a global value set's values are in its own file
    if controlling.type == "Checkbox":
        names = _CHECKBOX_VALUES
    elif controlling.value_set_name is None:
        names = [v.name for v in controlling.values]
    theirs = None if names is None else {name.lower() for name in names}
    for value, controlling_values, line in field.value_settings:
        if value.lower() not in mine:
            yield Problem(
                "dependent-picklist",
                field.file,
                line,
                component,
                f"a value setting names {value!r}, which is not one of its values",
                "name values of the dependent picklist in <valueName>",
            )
        for controlling_value in controlling_values:
            if theirs is not None and controlling_value.lower() not in theirs:
                yield Problem(
                    "dependent-picklist",
                    field.file,
                    line,
                    component,
                    f"a value setting names {controlling_value!r}, which is not a value of "
                    f"the controlling field {controlling_name}",
                    "choose among: " + ", ".join(names or ()),
                )


def _record_type_values(object_name: str, part: ObjectPart, ctx: _Context) -> Iterator[Problem]:
    component = f"RecordType {part.full_name}"
    for picklist, values in part.picklist_values():
        field = ctx.package_field(object_name, picklist.name)
        if field is None:
            state = ctx.field_state(object_name, picklist.name)
            if state == "missing":
                yield _missing_field(
                    "record-type-values",
                    part.file,
                    picklist.line,
                    component,
                    object_name,
                    picklist.name,
                    state,
                )
            continue
        if not field.values:
            continue  # a global value set, or a standard picklist sftk does not know
        known = {v.name.lower() for v in field.values}
        for value in values:
            if urllib.parse.unquote(value.name).lower() not in known:
                yield Problem(
                    "record-type-values",
                    part.file,
                    value.line,
                    component,
                    f"the record type offers {value.name!r} for {picklist.name}, which is not "
                    "one of the picklist's values",
                    "choose among: " + ", ".join(v.name for v in field.values),
                )


# --- layouts, permission sets --------------------------------------------------------------------


def _layout_rules(layout: LayoutDef, ctx: _Context) -> Iterator[Problem]:
    component = f"Layout {layout.name}"
    if ctx.object_state(layout.object) == "elsewhere":
        yield Problem(
            "layout-object",
            layout.file,
            layout.line,
            component,
            f"the layout is for {ctx.elsewhere(layout.object)}",
            "name the layout <Object>-<Layout Name> after an object in the package",
            severity="warning",
        )
        return
    # Every <field> of the layout (the items' fields, maybe more) is checked first, so a sound
    # layout builds no item records.
    unknown = ctx.not_in_package(layout.object, layout.field_names)
    if any(ctx.field_state(layout.object, name) != "ok" for name in unknown):
        for item in layout.items:
            field_state = ctx.field_state(layout.object, item.field)
            if field_state != "ok":
                yield _missing_field(
                    "layout-reference",
                    layout.file,
                    item.line,
                    component,
                    layout.object,
                    item.field,
                    field_state,
                )
    for ref in (*layout.custom_buttons, *layout.custom_links):
        if not ctx.has_web_link(layout.object, ref.name):
            known = ctx.defines(layout.object) and not ctx.foreign(ref.name)
            yield Problem(
                "layout-reference",
                layout.file,
                ref.line,
                component,
                f"custom button or link {layout.object}.{ref.name} is not in the package"
                + ("" if known else ": the org must already have it"),
                "add the web link to the object, or remove it from the layout",
                severity="error" if known else "warning",
            )
    for related in layout.related_lists:
        child, dot, lookup = related.name.partition(".")
        if not dot:
            continue  # a standard related list (RelatedContactList ...)
        if ctx.object_state(child) == "elsewhere":
            yield Problem(
                "layout-reference",
                layout.file,
                related.line,
                component,
                f"related list {related.name}: object {ctx.elsewhere(child)}",
                "add the child object, or remove the related list",
                severity="warning",
            )
        else:
            field_state = ctx.field_state(child, lookup)
            if field_state != "ok":
                yield _missing_field(
                    "layout-reference",
                    layout.file,
                    related.line,
                    component,
                    child,
                    lookup,
                    field_state,
                )


def _missing_field(
    rule: str,
    file: str,
    line: int,
    component: str,
    object_name: str,
    field_name: str,
    state: _FieldState,
) -> Problem:
    """The problem with a reference to a field whose state is not "ok"."""
    if state == "missing":
        return Problem(
            rule,
            file,
            line,
            component,
            f"field {object_name}.{field_name} is not in the package, which defines "
            f"{object_name} and none of its fields by that name",
            f"add the field to {object_name}, or remove the reference",
        )
    namespace, _ = split_namespace(field_name)
    if namespace:
        where = f"the org must have the managed package with namespace {namespace} installed"
    elif field_name.endswith("__c"):
        where = "the org must already have it"
    else:
        where = "it is not a standard field sftk knows, so the org must already have it"
    return Problem(
        rule,
        file,
        line,
        component,
        f"field {object_name}.{field_name} is not in the package: {where}",
        "check the API name; custom fields end in __c",
        severity="warning",
    )


def _permission_set_rules(perm_set: PermissionSetDef, ctx: _Context) -> Iterator[Problem]:
    component = f"PermissionSet {perm_set.name}"
    problem = _name_problem(
        "permission set name",
        perm_set.name,
        perm_set.name,
        (perm_set.file, perm_set.line, component),
        "rename the file, e.g. Course_Manager.permissionset",
        ctx,
        PERMISSION_SET_NAME_MAX,
    )
    if problem is not None:
        yield problem
    if perm_set.label is not None and len(perm_set.label) > PERMISSION_SET_LABEL_MAX:
        yield Problem(
            "label-length",
            perm_set.file,
            perm_set.label_line,
            component,
            f"<label> is {len(perm_set.label)} characters long; Salesforce allows "
            f"{PERMISSION_SET_LABEL_MAX}",
            "shorten the label",
        )
    for obj_perm in perm_set.object_permissions:
        yield from _object_reference(perm_set.file, obj_perm.line, component, obj_perm.object, ctx)
    # The fields named are checked first, so a sound permission set builds no record per entry;
    # those named exactly as the package spells a field that takes permissions need no look.
    unsure = perm_set.field_names - ctx.grantable_fields
    if not all(_field_permission_ok(name, ctx) for name in unsure):
        for field_perm in perm_set.field_permissions:
            access = "edit" if field_perm.editable else "read" if field_perm.readable else "no"
            yield from _field_permission_rules(
                perm_set.file, field_perm.line, component, field_perm.field, access, ctx
            )


def _field_permission_rules(
    file: str, line: int, component: str, field: str, access: str, ctx: _Context
) -> Iterator[Problem]:
    """What is wrong with a permission on ``field`` with ``access`` (edit, read or no)."""
    object_name, _, field_name = field.partition(".")
    if not field_name:
        yield Problem(
            "permission-reference",
            file,
            line,
            component,
            f"field permission {field!r} does not name Object.Field",
            "write the field as Object__c.Field__c",
        )
        return
    if ctx.object_state(object_name) == "elsewhere":
        yield from _object_reference(file, line, component, object_name, ctx)
        return
    package_field = ctx.package_field(object_name, field_name)
    if package_field is None:
        field_state = ctx.field_state(object_name, field_name)
        if field_state != "ok":
            yield _missing_field(
                "permission-reference",
                file,
                line,
                component,
                object_name,
                field_name,
                field_state,
            )
    required = _required_reason(object_name, field_name, package_field)
    if required:
        yield Problem(
            "required-field-permission",
            file,
            line,
            component,
            f"field permission ({access} access) on {field}, which {required}; "
            "Salesforce refuses field permissions on required fields",
            "remove this fieldPermissions entry: required fields are always readable and editable",
        )


def _field_permission_ok(field: str, ctx: _Context) -> bool:
    """True exactly when ``_field_permission_rules`` finds nothing wrong with ``field``: the
    question a sound permission set asks once per field, so it builds no problems to ask it."""
    object_name, _, field_name = field.partition(".")
    if not field_name:
        return False
    package_field = ctx.package_field(object_name, field_name)
    if package_field is not None:  # then the object is in the package too
        return not _required_reason(object_name, field_name, package_field)
    if ctx.object_state(object_name) == "elsewhere":
        return False
    if ctx.field_state(object_name, field_name) != "ok":
        return False
    return not _required_reason(object_name, field_name, None)


def _required_reason(object_name: str, field_name: str, field: FieldDef | None) -> str | None:
    """Why the field is required, if it is; ``field`` is its definition in the package, if any."""
    if field is not None:
        if field.type == "MasterDetail":
            return "is a master-detail field (always required)"
        return "is required" if field.required else None
    std = standard_field(object_name, field_name)
    return "is a required standard field" if std is not None and std.required else None


def _object_reference(
    file: str, line: int, component: str, object_name: str, ctx: _Context
) -> Iterator[Problem]:
    if ctx.object_state(object_name) == "elsewhere":
        yield Problem(
            "permission-reference",
            file,
            line,
            component,
            f"object {ctx.elsewhere(object_name)}",
            "check the API name (custom objects end in __c), or add the object to the package",
            severity="warning",
        )


# --- package.xml and package size ----------------------------------------------------------------

_OBJECT = "CustomObject"
_CHILD_TYPES = frozenset(child.type for child in OBJECT_CHILDREN)
# Types whose components the model places in files; bundles and in-folder types it does not read.
_MANIFEST_TYPES = (
    frozenset(n for n, t in BY_NAME.items() if not (t.is_bundle or t.in_folder)) | _CHILD_TYPES
)


def _manifest_rules(manifest: Manifest, ctx: _Context, api_version: str) -> Iterator[Problem]:
    listed: dict[str, set[str]] = defaultdict(set)
    type_lines: dict[str, int] = {}
    for mtype in manifest.types:
        type_lines.setdefault(mtype.name, mtype.line)
        listed[mtype.name].update(mtype.member_names)

    def covered(type_name: str, name: str) -> bool:
        members = listed.get(type_name)
        return members is not None and ("*" in members or name in members)

    # Set differences first, so a package that agrees with its manifest costs no loop in Python.
    held, must_list = ctx.holdings
    for type_name, names in sorted(must_list.items()):
        members = listed.get(type_name, set())
        if "*" in members:
            continue
        for name in sorted(names - members):
            parent, dot, _ = name.partition(".")
            if dot and type_name in _CHILD_TYPES and covered(_OBJECT, parent):
                continue  # listing an object deploys everything its file or folder holds
            comp = ctx.holders[type_name, name]
            yield Problem(
                "manifest-not-listed",
                manifest.file,
                type_lines.get(type_name, manifest.line),
                f"{type_name} {name}",
                f"{comp.file} holds {type_name} {name}, which {manifest.file} does not list",
                f"add <members>{name}</members> to the <types> named {type_name}",
            )
    for mtype in manifest.types:
        if mtype.name not in _MANIFEST_TYPES:
            continue  # a type sftk cannot place in files: nothing to compare against
        names = held.get(mtype.name, set())
        if not mtype.member_names.difference(names, {"*"}):
            continue
        for member in mtype.members:
            if member.name != "*" and member.name not in names:
                yield Problem(
                    "manifest-no-file",
                    manifest.file,
                    member.line,
                    f"{mtype.name} {member.name}",
                    f"{manifest.file} lists {mtype.name} {member.name}, but no file holds it",
                    "add the component's file, or remove the member",
                )
    if manifest.version is not None and _version(manifest.version) != _version(api_version):
        yield Problem(
            "manifest-version",
            manifest.file,
            manifest.line,
            "Package",
            f"{manifest.file} says version {manifest.version}, but sftk is set to deploy with "
            f"API {api_version}; Salesforce uses the version in package.xml",
            "make the two agree (set <version> or the api_version setting)",
            severity="warning",
        )


def _version(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _zipped_size(files: Sequence[MetadataFile]) -> int | None:
    """The size of the very zip a deploy would send; None when the packager refuses the files
    for another reason (duplicate or unsafe paths), which it reports itself."""
    unlimited = PackageLimits(
        max_files=len(files), max_zipped_bytes=sys.maxsize, max_unzipped_bytes=sys.maxsize
    )
    try:
        return len(build_zip(files, limits=unlimited))
    except ConfigError:
        return None


def _zipped_upper_bound(files: Sequence[MetadataFile]) -> int:
    """A size the zip cannot exceed: data (DEFLATE grows incompressible input by well under
    0.1%), plus local header, data descriptor and central directory entry per file."""
    total = 22  # end of central directory
    for file in files:
        size = len(file.content)
        total += size + size // 1000 + 64 + 2 * (len(file.path.encode()) + 64)
    return total


def _package_limits(files: Sequence[MetadataFile]) -> Iterator[Problem]:
    limits = PACKAGE_LIMITS
    # Source format's children of a decomposed component travel merged into one file.
    count = sum(1 for f in files if decomposed_file(f.path) != "child")
    if count > limits.max_files:
        yield Problem(
            "package-limits",
            "",
            0,
            "Package",
            f"the package has {count:,} files as deployed; the Metadata API accepts "
            f"{limits.max_files:,}",
            "split the deploy into several packages",
        )
    unzipped = sum(len(f.content) for f in files)
    if unzipped > limits.max_unzipped_bytes:
        yield Problem(
            "package-limits",
            "",
            0,
            "Package",
            f"the package holds {unzipped:,} bytes unzipped; the Metadata API accepts "
            f"{limits.max_unzipped_bytes:,}",
            "split the deploy into several packages",
        )
    if _zipped_upper_bound(files) <= limits.max_zipped_bytes:
        return  # measuring is costly and cannot change the answer
    zipped = _zipped_size(files)
    if zipped is not None and zipped > limits.max_zipped_bytes:
        yield Problem(
            "package-limits",
            "",
            0,
            "Package",
            f"the package zips to {zipped:,} bytes; the Metadata API accepts "
            f"{limits.max_zipped_bytes:,}",
            "split the deploy into several packages, or move large static resources out",
        )
