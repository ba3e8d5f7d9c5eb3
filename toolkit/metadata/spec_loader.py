"""Object spec TOML files -> ObjectSpec.

The loader rejects what cannot be rendered at all (unknown keys, types and choices, wrong value
kinds, a field name that is not a custom field's) with the file, line and the valid choices,
every problem of a file at once. Limits Salesforce enforces (lengths, name shapes,
precision…) are left to the offline rules, so that ``sftk validate`` reports them all at once,
each with its rule id, for hand-written XML and rendered specs alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from toolkit.errors import ConfigError
from toolkit.metadata import fieldtypes
from toolkit.metadata.records import frozen_record
from toolkit.metadata.specs import (
    DEPLOYMENT_STATUSES,
    LAYOUT_BEHAVIORS,
    OBJECT_PERMISSIONS,
    SHARING_MODELS,
    WEBLINK_DISPLAY_TYPES,
    WEBLINK_OPEN_TYPES,
    ApplicationSpec,
    CompactLayoutSpec,
    CustomPermissionSpec,
    FieldSetSpec,
    FieldSpec,
    FilterItemSpec,
    GlobalValueSetSpec,
    LayoutItemSpec,
    LayoutPatch,
    LayoutSectionSpec,
    LayoutSpec,
    ListViewSpec,
    LookupFilterSpec,
    NameFieldSpec,
    ObjectAccessSpec,
    ObjectSpec,
    PatchField,
    PermissionSetSpec,
    PicklistValue,
    RecordTypeSpec,
    RecordTypeValues,
    RelatedListSpec,
    SearchLayoutsSpec,
    TabSpec,
    ValidationRuleSpec,
    ValueSetting,
    WebLinkSpec,
)
from toolkit.metadata.standard_objects import SYSTEM_FIELDS, is_standard_object
from toolkit.tomlread import Document, Problems, Table

COMMON_FIELD_KEYS = (
    "type",
    "label",
    "description",
    "help_text",
    "required",
    "unique",
    "case_sensitive",
    "external_id",
    "default",
    "default_formula",
    "track_history",
)
SECTION_STYLES = {1: "OneColumn", 2: "TwoColumnsTopToBottom"}
SECTION_STYLE_NAMES = ("OneColumn", "TwoColumnsTopToBottom", "TwoColumnsLeftToRight", "CustomLinks")


def load_object_file(path: Path, where: str | None = None) -> ObjectSpec:
    """Load one ``objects/<Name>.toml``; the object's API name defaults to the file name."""
    return _object(Document.read(path, where).root(), path.stem)


def load_object_text(text: str, where: str, default_name: str) -> ObjectSpec:
    return _object(Document(where, text).root(), default_name)


def spec_paths(folder: Path) -> list[Path]:
    """The ``*.toml`` specs of a folder, sorted by file name so output order is stable."""
    return sorted(folder.glob("*.toml"))


# Names a warning lists of what a specs folder holds besides specs, before "and N more".
_LISTED = 5


def project_spec_paths(
    folder: Path, shown: str, setting: str | None
) -> tuple[list[Path], list[str]]:
    """The spec files of a project's specs folder, and warnings naming what else it holds
    (specs are ``NAME.toml`` files in the folder itself). ``setting`` is where sftk.toml names
    the folder: a folder it names must exist; the conventional one may be absent (a project
    of plugins only). A folder that exists and cannot be read is an error either way: its
    specs would be left out of the package without a word."""
    where = f"{setting} ({shown})" if setting else shown
    hint = "objects_dir of [project] in sftk.toml names the folder of the project's specs"
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        if folder.is_symlink():
            raise ConfigError(
                f"{where}: is a symbolic link to {os.readlink(folder)}, which does not exist",
                hint=hint,
            ) from None
        if setting is None:
            return [], []
        raise ConfigError(
            f"{where}: the specs folder does not exist",
            hint=f"create it (mkdir {shown}) for a project without specs of its own, or "
            "correct objects_dir",
        ) from None
    except NotADirectoryError:
        raise ConfigError(f"{where}: is a file, not the folder of specs", hint=hint) from None
    except OSError as exc:
        why = "is a symbolic link loop" if exc.errno == errno.ELOOP else "cannot be read"
        raise ConfigError(f"{where}: {why} ({exc.strerror})", hint=hint) from None
    specs = [
        Path(e.path) for e in entries if e.name.endswith(".toml") and not e.name.startswith(".")
    ]
    others = [
        e.name + ("/" if e.is_dir() else "")
        for e in entries
        if not e.name.endswith(".toml") and not e.name.startswith(".")
    ]
    warnings = []
    if others:
        named = ", ".join(others[:_LISTED]) + (
            f" and {len(others) - _LISTED} more" if len(others) > _LISTED else ""
        )
        warnings.append(
            f"{shown}: {len(others)} entries are not specs and were not read ({named}): "
            "a spec is a NAME.toml file in the folder itself"
        )
    return specs, warnings


def load_object_files(paths: Iterable[Path], display_root: Path | None = None) -> list[ObjectSpec]:
    return [
        load_object_file(path, str(path.relative_to(display_root) if display_root else path))
        for path in paths
    ]


def load_object_dir(folder: Path, display_root: Path | None = None) -> tuple[ObjectSpec, ...]:
    """Every ``*.toml`` spec in a folder, in file-name order."""
    specs = load_object_files(spec_paths(folder), display_root)
    reject_duplicates(specs)
    return tuple(specs)


def reject_duplicates(specs: Iterable[ObjectSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(
                f"{spec.source}: object {spec.name} is already described in {seen[spec.name]}",
                hint="keep one spec file per object",
            )
        seen[spec.name] = spec.source


# What belongs to an object itself, not to fields, links, layouts or access added to it.
OBJECT_KEYS = (
    "label",
    "plural_label",
    "description",
    "name_field",
    "sharing_model",
    "deployment_status",
    "enable_search",
    "enable_reports",
    "enable_activities",
    "enable_history",
    "enable_feeds",
    "tab",
    "external_sharing_model",
    "allow_in_chatter_groups",
    "compact_layout",
    "search_layouts",
)


def _object(root: Table, default_name: str) -> ObjectSpec:
    """The spec of one file; every problem in it is reported at once (``Problems``)."""
    problems = Problems()
    name = default_name
    with problems.gather():
        name = root.string("name", default_name) or default_name
    custom = name.endswith("__c")
    with problems.gather():
        if custom and not root.has("label") and not root.has("plural_label"):
            _refuse_object_keys(root, name)
            custom = False  # adds to another's object (a plugin's), as a standard object's does
        elif not custom:
            _refuse_custom_object_keys(root, name)
    fields = _each(problems, root, "fields", functools.partial(_field, name))
    web_links = _each(problems, root, "web_links", _web_link)
    layouts = _each(problems, root, "layouts", functools.partial(_layout, name))
    patches = _each(problems, root, "layout_patches", functools.partial(_layout_patch, name))
    access = _each(problems, root, "access", _access)
    validation_rules = _each(problems, root, "validation_rules", _validation_rule)
    record_types = _each(problems, root, "record_types", _record_type)
    list_views = _each(problems, root, "list_views", _list_view)
    compact_layouts = _each(problems, root, "compact_layouts", _compact_layout)
    field_sets = _each(problems, root, "field_sets", _field_set)
    name_field = None
    search_layouts = None
    tab = None
    with problems.gather():
        name_field = _name_field(root.table("name_field"), name) if custom else None
    with problems.gather():
        tab_table = root.table("tab")
        if tab_table is not None:
            tab = TabSpec(
                motif=tab_table.string("motif", TabSpec.motif) or TabSpec.motif,
                description=tab_table.string("description"),
            )
            tab_table.finish()
    with problems.gather():
        search_table = root.table("search_layouts")
        search_layouts = None if search_table is None else _search_layouts(search_table)

    def value(read: Callable[[], _T], default: _T) -> _T:
        with problems.gather():
            return read()
        return default

    spec = ObjectSpec(
        name=name,
        label=value(lambda: root.string("label"), None),
        plural_label=value(lambda: root.string("plural_label"), None),
        description=value(lambda: root.string("description"), None),
        name_field=name_field,
        sharing_model=value(lambda: root.choice("sharing_model", SHARING_MODELS), None),
        deployment_status=value(
            lambda: root.choice("deployment_status", DEPLOYMENT_STATUSES, "Deployed"), None
        )
        or "Deployed",
        enable_search=value(lambda: root.flag("enable_search", True), True),
        enable_reports=value(lambda: root.flag("enable_reports", True), True),
        enable_activities=value(lambda: root.flag("enable_activities", False), False),
        enable_history=value(lambda: root.flag("enable_history", False), False),
        enable_feeds=value(lambda: root.flag("enable_feeds", False), False),
        fields=fields,
        layout_patches=patches,
        layouts=layouts,
        web_links=web_links,
        tab=tab,
        access=access,
        external_sharing_model=value(
            lambda: root.choice("external_sharing_model", SHARING_MODELS), None
        ),
        allow_in_chatter_groups=value(lambda: root.flag("allow_in_chatter_groups"), False),
        compact_layout=value(lambda: root.string("compact_layout"), None),
        search_layouts=search_layouts,
        validation_rules=validation_rules,
        record_types=record_types,
        list_views=list_views,
        compact_layouts=compact_layouts,
        field_sets=field_sets,
        source=root.doc.where,
    )
    with problems.gather():
        root.finish()
    if custom:
        for key in ("label", "plural_label"):
            if getattr(spec, key) is None and not root.has(key):
                problems.found.append(
                    root.error(key, "is required for a custom object", hint=f'add {key} = "…"')
                )
    elif tab is not None:
        problems.found.append(
            root.error("tab", "custom tabs are for custom objects (names ending in __c)")
        )
    problems.check()
    return spec


_T = TypeVar("_T")
_Item = TypeVar("_Item")


def _each(
    problems: Problems, root: Table, key: str, load: Callable[[str, Table], _Item]
) -> tuple[_Item, ...]:
    """Each sub-table of ``key`` loaded, those with problems left out and their problems
    gathered."""
    loaded: list[_Item] = []
    with problems.gather():
        parent = root.table(key) or Table(root.doc, (*root.path, key), {})
        for name in list(parent.data):
            with problems.gather():
                table = parent.table(name)
                assert table is not None
                loaded.append(load(name, table))
    return tuple(loaded)


def _refuse_object_keys(root: Table, name: str) -> None:
    """A custom object spec without label adds to an object described elsewhere: what
    describes the object itself has no place in it."""
    problems = Problems()
    for key in OBJECT_KEYS:
        if root.has(key):
            problems.found.append(
                root.error(
                    key,
                    f"belongs to the object itself, and this spec has no label, so it only adds "
                    f"fields, links, layouts and access to {name}, an object described elsewhere",
                    hint=f'add label and plural_label to describe {name} here, or remove "{key}"',
                )
            )
    problems.check()


def _refuse_custom_object_keys(root: Table, name: str) -> None:
    """A spec of an object that is not custom adds to it: what describes a custom object
    itself would be dropped without a word."""
    problems = Problems()
    for key in OBJECT_KEYS:
        if key != "tab" and root.has(key):
            known = "a standard object" if is_standard_object(name) else "not a custom object"
            problems.found.append(
                root.error(
                    key,
                    f"describes a custom object, and {name} is {known} (custom object names "
                    f"end in __c): a spec of {name} only adds fields, links, layouts and access",
                    hint=f"to describe a custom object, name the file {name}__c.toml; "
                    f'otherwise remove "{key}"',
                )
            )
    problems.check()


def _name_field(table: Table | None, object_name: str) -> NameFieldSpec:
    if table is None:
        return NameFieldSpec(label=f"{object_name.removesuffix('__c').replace('_', ' ')} Name")
    spec = NameFieldSpec(
        label=table.required_string("label"),
        type=table.choice("type", ("Text", "AutoNumber"), "Text") or "Text",
        display_format=table.string("display_format"),
        starting_number=table.integer("starting_number", 1) or 1,
    )
    table.finish()
    if spec.type == "AutoNumber" and not spec.display_format:
        raise table.error(
            "display_format",
            "is required for an AutoNumber name field",
            hint='for example display_format = "C-{0000}"',
        )
    return spec


def _field(object_name: str, name: str, table: Table) -> FieldSpec:
    # Specs hold thousands of fields, so the usual case takes shortcuts: a valid type read
    # straight from the table, set operations to find inapplicable or unknown keys, and the
    # record made without __init__. Anything unusual goes through the accessors, which word
    # the error.
    if not name.endswith("__c"):
        system = f"{name} is a system field of every record, and " * (name.lower() in SYSTEM_FIELDS)
        raise table.error(
            None,
            f"{system}a spec's fields are custom fields, whose names end in __c",
            hint=f"name it {name}__c ([fields.{name}__c])",
        )
    data = table.data
    type_name = data.get("type")
    if not isinstance(type_name, str) or type_name not in _TYPE_KEYS:
        type_name = table.choice("type", fieldtypes.FIELD_TYPE_NAMES)
    if type_name is None:
        raise table.error(
            "type", "is required", hint="choose one of: " + ", ".join(fieldtypes.FIELD_TYPE_NAMES)
        )
    ftype = fieldtypes.FIELD_TYPES[type_name]
    allowed, kinds, required = _TYPE_KEYS[type_name]
    problems = Problems()
    inapplicable = [key for key in data if key not in kinds and key in _ALL_TYPE_OPTIONS]
    for key in inapplicable:
        problems.found.append(
            table.error(
                key,
                f"option {key!r} does not apply to {type_name} fields",
                hint=f"{type_name} fields take: " + ", ".join(sorted(allowed)),
            )
        )
    for key in required:
        if key not in data:
            problems.found.append(table.error(key, f"is required for {type_name} fields"))
    with problems.gather():
        table.take(kinds, ignore=inapplicable)
    problems.check()  # every key known and of its kind from here on
    values = _picklist_values(table) if "values" in data else ()
    if ftype.is_picklist and ("values" in data) == ("global_value_set" in data):
        raise table.error(
            "values",
            "give the values, or the global value set the field takes them from"
            + (", not both" if values else ""),
            hint='values = ["A", "B"], or global_value_set = "Name" ([global_value_sets] in '
            "sftk.toml)",
        )
    default_value = (
        _default_value(table, ftype, values)
        if "default" in data or "default_formula" in data
        else None
    )
    if values and default_value is not None:
        values = tuple(
            PicklistValue(v.name, v.label, default=v.name == default_value) for v in values
        )
        default_value = None
    if "delete_constraint" in data and data["delete_constraint"] not in _DELETE_CONSTRAINTS:
        table.choice("delete_constraint", fieldtypes.DELETE_CONSTRAINTS)  # raises, naming them
    # Spec keys are FieldSpec's attribute names, but for the default and the picklist values
    # (turned into default_value and values above): the checked table over the type's defaults.
    record: dict[str, object] = {**_FIELD_DEFAULTS[type_name], **data}
    del record["default"], record["default_formula"]
    record["name"] = name
    record["label"] = data.get("label") or name.removesuffix("__c").replace("_", " ")
    record["default_value"] = default_value
    record["values"] = values
    if not data.keys() <= _PLAIN_KEYS:
        _special_keys(table, type_name, record)
    record["source"] = _where(table)
    return frozen_record(FieldSpec, record)


def _special_keys(table: Table, type_name: str, record: dict[str, object]) -> None:
    """Check and convert the keys of the types that say more than a value per key: formulas,
    roll-up summaries, dependent picklists and lookup filters."""
    data = table.data
    if type_name == "Formula":
        returns = table.choice("returns", fieldtypes.FORMULA_RETURNS)
        table.choice("blank_as", tuple(fieldtypes.BLANK_AS))
        if returns not in fieldtypes.NUMERIC_RETURNS:
            for key in ("precision", "scale"):
                if key in data:
                    raise table.error(
                        key,
                        f"a formula returning {returns} has no {key}",
                        hint="precision and scale are for formulas returning "
                        + ", ".join(sorted(fieldtypes.NUMERIC_RETURNS)),
                    )
    if type_name == "Summary":
        operation = table.choice("summary_operation", fieldtypes.SUMMARY_OPERATIONS)
        if (operation == "count") == ("summarized_field" in data):
            raise table.error(
                "summarized_field",
                "a count takes no summarized_field"
                if operation == "count"
                else f"is required for a {operation} roll-up",
                hint='e.g. summarized_field = "Enrollment__c.Hours__c" (sum, min and max)',
            )
        record["summary_filters"] = _filter_items(table, "summary_filters")
    if "value_settings" in data:
        if "controlling_field" not in data:
            raise table.error(
                "value_settings",
                "needs controlling_field, the picklist or checkbox they depend on",
                hint='add controlling_field = "Category__c"',
            )
        record["value_settings"] = _value_settings(table)
    if "lookup_filter" in data:
        record["lookup_filter"] = _lookup_filter(table.table("lookup_filter"))


# The keys a field of the usual types may have: none that _special_keys looks at.
_PLAIN_KEYS = frozenset(COMMON_FIELD_KEYS) | {
    "length",
    "precision",
    "scale",
    "visible_lines",
    "values",
    "restricted",
    "sorted",
    "reference_to",
    "relationship_name",
    "relationship_label",
    "delete_constraint",
    "reparentable",
    "write_requires_master_read",
    "display_format",
    "starting_number",
}


def _filter_items(table: Table, key: str) -> tuple[FilterItemSpec, ...]:
    items = []
    for item in table.table_list(key):
        items.append(
            FilterItemSpec(
                field=item.required_string("field"),
                operation=item.required_string("operation"),
                value=item.string("value"),
                value_field=item.string("value_field"),
            )
        )
        item.finish()
    return tuple(items)


def _value_settings(table: Table) -> tuple[ValueSetting, ...]:
    settings = table.table("value_settings")
    assert settings is not None
    out = []
    for value in list(settings.data):
        out.append(ValueSetting(value, settings.strings(value)))
    settings.finish()
    return tuple(out)


def _lookup_filter(table: Table | None) -> LookupFilterSpec:
    assert table is not None
    spec = LookupFilterSpec(
        items=_filter_items(table, "items"),
        active=table.flag("active", True),
        boolean_filter=table.string("boolean_filter"),
        description=table.string("description"),
        error_message=table.string("error_message"),
        info_message=table.string("info_message"),
        optional=table.flag("optional"),
    )
    table.finish()
    if not spec.items:
        raise table.error(
            "items",
            "a lookup filter needs at least one item",
            hint='items = [{ field = "Instructor__c.Active__c", operation = "equals", '
            'value = "True" }]',
        )
    return spec


_SCALAR = (str, int, float, bool, dt.date, dt.datetime, dt.time)
_FIELD_KEY_KINDS: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "label": str,
    "description": str,
    "help_text": str,
    "required": bool,
    "unique": bool,
    "case_sensitive": bool,
    "external_id": bool,
    "default": _SCALAR,
    "default_formula": str,
    "track_history": bool,
    "length": int,
    "precision": int,
    "scale": int,
    "visible_lines": int,
    "values": list,
    "restricted": bool,
    "sorted": bool,
    "reference_to": str,
    "relationship_name": str,
    "relationship_label": str,
    "delete_constraint": str,
    "reparentable": bool,
    "write_requires_master_read": bool,
    "display_format": str,
    "starting_number": int,
    "formula": str,
    "returns": str,
    "blank_as": str,
    "summary_operation": str,
    "summary_foreign_key": str,
    "summarized_field": str,
    "summary_filters": list,
    "display_location_in_decimal": bool,
    "mask_char": str,
    "mask_type": str,
    "global_value_set": str,
    "controlling_field": str,
    "value_settings": dict,
    "lookup_filter": dict,
}
_ALL_TYPE_OPTIONS = frozenset().union(*(t.options for t in fieldtypes.FIELD_TYPES.values()))
# Per field type: the keys a spec may use, their accepted value kinds, and the required ones.
_TYPE_KEYS = {
    name: (
        (*COMMON_FIELD_KEYS, *sorted(ftype.options)),
        {key: _FIELD_KEY_KINDS[key] for key in (*COMMON_FIELD_KEYS, *sorted(ftype.options))},
        tuple(sorted(ftype.required_options)),
    )
    for name, ftype in fieldtypes.FIELD_TYPES.items()
}
_DELETE_CONSTRAINTS = frozenset(fieldtypes.DELETE_CONSTRAINTS)
# Per field type: every FieldSpec attribute with the value it takes when the spec is silent,
# but name and label, which _field sets (the spec keys default and default_formula are there
# to be deleted in any case).
_FIELD_DEFAULTS: dict[str, dict[str, object]] = {
    name: {
        **{
            f.name: f.default
            for f in dataclasses.fields(FieldSpec)
            if f.default is not dataclasses.MISSING
        },
        "type": name,
        "default": None,
        "default_formula": None,
        "length": ftype.default_length,
        "visible_lines": ftype.default_visible_lines,
        "delete_constraint": "SetNull" if name == "Lookup" else None,
        "starting_number": 1 if name == "AutoNumber" else None,
    }
    for name, ftype in fieldtypes.FIELD_TYPES.items()
}


def _picklist_values(table: Table) -> tuple[PicklistValue, ...]:
    values = []
    for index, item in enumerate(table.array("values")):
        if isinstance(item, str):
            values.append(PicklistValue(item, item))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            unknown = set(item) - {"name", "label"}
            if unknown:
                raise table.error(
                    "values",
                    f"item {index + 1}: unknown key {sorted(unknown)[0]!r}",
                    hint='a value is a string or { name = "…", label = "…" }',
                )
            values.append(PicklistValue(item["name"], str(item.get("label", item["name"]))))
        else:
            raise table.error(
                "values",
                f"item {index + 1} should be a string or a table with a name",
                hint='for example values = ["Draft", { name = "Live", label = "Published" }]',
            )
    if not values:
        raise table.error("values", "needs at least one value")
    return tuple(values)


def _default_value(
    table: Table, ftype: fieldtypes.FieldType, values: tuple[PicklistValue, ...]
) -> str | None:
    """Turn a literal default into the formula Salesforce expects, or take a raw formula."""
    formula = table.string("default_formula")
    literal = table.scalar("default")
    if formula is not None and literal is not None:
        raise table.error("default", "give either default or default_formula, not both")
    if formula is not None:
        if not ftype.default_value_allowed:
            raise table.error("default_formula", f"{ftype.name} fields take no default formula")
        return formula
    if literal is None:
        return None
    if ftype.is_picklist:
        names = [v.name for v in values]
        if literal not in names:
            raise table.error(
                "default",
                f"{literal!r} is not one of the values",
                hint="choose one of: " + ", ".join(names),
            )
        return str(literal)
    if not ftype.default_value_allowed:
        raise table.error("default", f"{ftype.name} fields take no default value")
    if isinstance(literal, bool):
        return "true" if literal else "false"
    if isinstance(literal, dt.datetime):
        return f'DATETIMEVALUE("{literal.isoformat(sep=" ")}")'
    if isinstance(literal, dt.date):
        return f"DATE({literal.year},{literal.month},{literal.day})"
    if isinstance(literal, dt.time):
        return f'TIMEVALUE("{literal.isoformat()}")'
    if isinstance(literal, (int, float)):
        return str(literal)
    escaped = str(literal).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _web_link(name: str, table: Table) -> WebLinkSpec:
    spec = WebLinkSpec(
        name=name,
        label=table.required_string("label"),
        url=table.required_string("url"),
        display_type=table.choice("display_type", WEBLINK_DISPLAY_TYPES, "link") or "link",
        open_type=table.choice("open_type", WEBLINK_OPEN_TYPES, "newWindow") or "newWindow",
        description=table.string("description"),
        protected=table.flag("protected"),
        source=_where(table),
    )
    table.finish()
    return spec


def _layout(object_name: str, name: str, table: Table) -> LayoutSpec:
    problems = Problems()
    sections = _listed(problems, table, "sections", _section)
    related = _listed(problems, table, "related_lists", _related_list)
    buttons: tuple[str, ...] = ()
    custom_links: tuple[str, ...] = ()
    with problems.gather():
        buttons = table.strings("buttons")
    exclude_buttons: tuple[str, ...] = ()
    with problems.gather():
        custom_links = table.strings("custom_links")
    with problems.gather():
        exclude_buttons = table.strings("exclude_buttons")
    with problems.gather():
        table.finish()
    _check(
        problems,
        not sections,
        lambda: table.error(
            "sections",
            "a layout needs at least one section",
            hint='add [[layouts."…".sections]] with a label and columns',
        ),
    )
    return LayoutSpec(
        object=object_name,
        name=name,
        sections=sections,
        related_lists=related,
        buttons=buttons,
        custom_links=custom_links,
        exclude_buttons=exclude_buttons,
        source=_where(table),
    )


def _check(problems: Problems, empty: bool, emptiness: Callable[[], ConfigError]) -> None:
    """Raise the problems gathered; when there are none and the table gives nothing, the
    error ``emptiness`` makes (a table with problems may be empty only because of them)."""
    if empty and not problems.found:
        problems.found.append(emptiness())
    problems.check()


def _listed(
    problems: Problems, table: Table, key: str, load: Callable[[Table], _Item]
) -> tuple[_Item, ...]:
    """Each table of the array of tables ``key``, loaded, their problems gathered."""
    loaded: list[_Item] = []
    with problems.gather():
        for item in table.table_list(key):
            with problems.gather():
                loaded.append(load(item))
    return tuple(loaded)


def _layout_patch(object_name: str, name: str, table: Table) -> LayoutPatch:
    """``[layout_patches."Contact Layout"]``: what to merge into the org's layout of that
    name, where ``[layouts."…"]`` would replace it."""
    problems = Problems()
    layout = f"{object_name}-{name}"
    fields = _listed(problems, table, "fields", _patch_field)
    related = _listed(problems, table, "related_lists", _related_list)
    buttons: tuple[str, ...] = ()
    with problems.gather():
        buttons = table.strings("buttons")
    with problems.gather():
        table.finish()
    _check(
        problems,
        not (related or buttons or fields),
        lambda: table.error(
            "related_lists",
            f"the patch of {layout} adds nothing",
            hint="give it related_lists, buttons or fields",
        ),
    )
    return LayoutPatch(
        layout=layout,
        related_lists=related,
        buttons=buttons,
        fields=fields,
        source=_where(table),
    )


def _patch_field(item: Table) -> PatchField:
    field = PatchField(
        section=item.required_string("section"),
        field=item.required_string("field"),
        behavior=item.choice("behavior", LAYOUT_BEHAVIORS, "Edit") or "Edit",
    )
    item.finish()
    return field


def _section(table: Table) -> LayoutSectionSpec:
    style = table.choice("style", SECTION_STYLE_NAMES)
    label = table.string("label", "") or ""
    if not label and style != "CustomLinks":
        table.required_string("label")  # raises: only a section of custom links needs none
    raw_columns = table.array("columns")
    most = 3 if style == "CustomLinks" else 2
    if not 1 <= len(raw_columns) <= most:
        raise table.error(
            "columns",
            f"section {label!r} needs 1 to {most} columns, got {len(raw_columns)}",
            hint='columns = [["Name", "Email__c"], ["Status__c"]] (3 in a section of style '
            "CustomLinks)",
        )
    columns = []
    for raw in raw_columns:
        if not isinstance(raw, list):
            raise table.error("columns", f"section {label!r}: each column is a list of fields")
        columns.append(tuple(_layout_item(table, label, item) for item in raw))
    spec = LayoutSectionSpec(
        label=label,
        columns=tuple(columns),
        style=style or SECTION_STYLES[len(columns)],
        detail_heading=table.flag("detail_heading", True),
        edit_heading=table.flag("edit_heading", True),
        custom_label=table.flag("custom_label"),
    )
    table.finish()
    return spec


def _layout_item(table: Table, section: str, item: object) -> LayoutItemSpec:
    if isinstance(item, str):
        return LayoutItemSpec(item)
    if isinstance(item, dict) and set(item) == {"link"} and isinstance(item["link"], str):
        return LayoutItemSpec("", "", custom_link=item["link"])
    if isinstance(item, dict) and isinstance(item.get("field"), str):
        behavior = item.get("behavior", "Edit")
        if behavior not in LAYOUT_BEHAVIORS or set(item) - {"field", "behavior"}:
            raise table.error(
                "columns",
                f"section {section!r}: bad item {item!r}",
                hint='an item is a name or { field = "…", behavior = "Edit|Required|Readonly" }',
            )
        return LayoutItemSpec(item["field"], str(behavior))
    raise table.error(
        "columns",
        f"section {section!r}: bad item {item!r}",
        hint='an item is a field name, { field = "…", behavior = "…" } or { link = "…" }',
    )


def _related_list(table: Table) -> RelatedListSpec:
    spec = RelatedListSpec(
        name=table.required_string("name"),
        fields=table.strings("fields"),
        buttons=table.strings("buttons"),
        sort_field=table.string("sort_field"),
        sort_order=table.choice("sort_order", ("Asc", "Desc")),
    )
    table.finish()
    return spec


def _access(permission_set: str, table: Table) -> ObjectAccessSpec:
    perms = table.strings("object")
    for perm in perms:
        if perm not in OBJECT_PERMISSIONS:
            raise table.error(
                "object",
                f"unknown object permission {perm!r}",
                hint="choose from: " + ", ".join(OBJECT_PERMISSIONS),
            )
    spec = ObjectAccessSpec(
        permission_set=permission_set,
        object_permissions=tuple(p for p in OBJECT_PERMISSIONS if p in perms),
        read_fields=_field_list(table, "read"),
        edit_fields=_field_list(table, "edit"),
        tab=table.string("tab"),
        record_types=table.strings("record_types"),
    )
    table.finish()
    return spec


def _field_list(table: Table, key: str) -> tuple[str, ...]:
    """A field list, or ``"*"`` for every field of the object (kept as the marker ``*``)."""
    if isinstance(table.data.get(key), str):
        value = table.string(key)
        if value != "*":
            raise table.error(key, f'expected a list of field names or "*", got {value!r}')
        return ("*",)
    return table.strings(key)


def _where(table: Table) -> str:
    return f"{table.doc.where} [{'.'.join(table.path)}]"


def _validation_rule(name: str, table: Table) -> ValidationRuleSpec:
    spec = ValidationRuleSpec(
        name=name,
        formula=table.required_string("formula"),
        message=table.required_string("message"),
        field=table.string("field"),
        active=table.flag("active", True),
        description=table.string("description"),
        source=_where(table),
    )
    table.finish()
    return spec


def _record_type(name: str, table: Table) -> RecordTypeSpec:
    layouts = table.table("layouts")
    assigned: list[tuple[str, str]] = []
    if layouts is not None:
        for profile in list(layouts.data):
            assigned.append((profile, layouts.required_string(profile)))
        layouts.finish()
    picklists = table.table("picklist_values")
    values: list[RecordTypeValues] = []
    if picklists is not None:
        for picklist in list(picklists.data):
            values.append(_record_type_values(picklists, picklist))
        picklists.finish()
    spec = RecordTypeSpec(
        name=name,
        label=table.required_string("label"),
        active=table.flag("active", True),
        description=table.string("description"),
        business_process=table.string("business_process"),
        compact_layout=table.string("compact_layout"),
        picklist_values=tuple(values),
        layouts=tuple(assigned),
        source=_where(table),
    )
    table.finish()
    return spec


def _record_type_values(picklists: Table, picklist: str) -> RecordTypeValues:
    """``Level__c = ["A", "B"]``, or ``{ values = [...], default = "A" }``."""
    if isinstance(picklists.data.get(picklist), list):
        return RecordTypeValues(picklist, picklists.strings(picklist))
    table = picklists.table(picklist)
    assert table is not None
    spec = RecordTypeValues(picklist, table.strings("values"), table.string("default"))
    table.finish()
    if spec.default is not None and spec.default not in spec.values:
        raise table.error(
            "default",
            f"{spec.default!r} is not one of the record type's values",
            hint="choose one of: " + ", ".join(spec.values),
        )
    return spec


def _list_view(name: str, table: Table) -> ListViewSpec:
    spec = ListViewSpec(
        name=name,
        label=table.required_string("label"),
        filter_scope=table.string("filter_scope", "Everything") or "Everything",
        columns=table.strings("columns"),
        filters=_filter_items(table, "filters"),
        boolean_filter=table.string("boolean_filter"),
        source=_where(table),
    )
    table.finish()
    return spec


def _compact_layout(name: str, table: Table) -> CompactLayoutSpec:
    spec = CompactLayoutSpec(
        name=name,
        label=table.required_string("label"),
        fields=table.strings("fields"),
        source=_where(table),
    )
    table.finish()
    return spec


def _field_set(name: str, table: Table) -> FieldSetSpec:
    spec = FieldSetSpec(
        name=name,
        label=table.required_string("label"),
        description=table.required_string("description"),
        fields=table.strings("fields"),
        required=table.strings("required"),
        available=table.strings("available"),
        source=_where(table),
    )
    table.finish()
    stray = [field for field in spec.required if field not in spec.fields]
    if stray:
        raise table.error(
            "required",
            f"{stray[0]!r} is not one of the field set's fields",
            hint="required names fields of the set that must be filled in",
        )
    return spec


def _search_layouts(table: Table) -> SearchLayoutsSpec:
    spec = SearchLayoutsSpec(**{key: table.strings(key) for key in _SEARCH_LAYOUT_KEYS})
    table.finish()
    return spec


_SEARCH_LAYOUT_KEYS = tuple(f.name for f in dataclasses.fields(SearchLayoutsSpec))


# --- the components of sftk.toml that belong to no object --------------------------------------


def load_permission_sets(root: Table) -> tuple[PermissionSetSpec, ...]:
    """``[permission_sets.<Name>]``: label, description and the grants that are not about one
    object (``tabs = { Course__c = "Visible" }``, Apex classes, Visualforce pages, custom
    permissions, apps)."""
    specs = []
    for name, table in root.tables("permission_sets"):
        tabs = table.table("tabs")
        tab_settings: list[tuple[str, str]] = []
        if tabs is not None:
            tab_settings = [(tab, tabs.required_string(tab)) for tab in list(tabs.data)]
            tabs.finish()
        specs.append(
            PermissionSetSpec(
                name=name,
                label=table.string("label", name.replace("_", " ")) or name,
                description=table.string("description"),
                apex_classes=table.strings("apex_classes"),
                pages=table.strings("pages"),
                custom_permissions=table.strings("custom_permissions"),
                applications=table.strings("applications"),
                tabs=tuple(tab_settings),
            )
        )
        table.finish()
    return tuple(sorted(specs, key=lambda s: s.name))


def load_applications(root: Table) -> tuple[ApplicationSpec, ...]:
    """``[applications.<Name>]``: a Lightning app and its tabs."""
    specs = []
    for name, table in root.tables("applications"):
        spec = ApplicationSpec(
            name=name,
            label=table.required_string("label"),
            tabs=table.strings("tabs"),
            description=table.string("description"),
            nav_type=table.string("nav_type", "Standard") or "Standard",
            ui_type=table.string("ui_type", "Lightning") or "Lightning",
            form_factors=table.strings("form_factors")
            if table.has("form_factors")
            else ("Small", "Large"),
            header_color=table.string("header_color"),
            default_landing_tab=table.string("default_landing_tab"),
            source=_where(table),
        )
        table.finish()
        if not spec.tabs:
            raise table.error(
                "tabs",
                "an app needs at least one tab",
                hint='tabs = ["standard-home", "Course__c"] (an object\'s tab is named after it)',
            )
        specs.append(spec)
    return tuple(sorted(specs, key=lambda s: s.name))


def load_global_value_sets(root: Table) -> tuple[GlobalValueSetSpec, ...]:
    """``[global_value_sets.<Name>]``: values that picklists share (``global_value_set``)."""
    specs = []
    for name, table in root.tables("global_value_sets"):
        values = _picklist_values(table)
        default = table.string("default")
        if default is not None:
            names = [v.name for v in values]
            if default not in names:
                raise table.error(
                    "default",
                    f"{default!r} is not one of the values",
                    hint="choose one of: " + ", ".join(names),
                )
            values = tuple(PicklistValue(v.name, v.label, v.name == default) for v in values)
        specs.append(
            GlobalValueSetSpec(
                name=name,
                label=table.string("label", name.replace("_", " ")) or name,
                values=values,
                sorted=table.flag("sorted"),
                description=table.string("description"),
                source=_where(table),
            )
        )
        table.finish()
    return tuple(sorted(specs, key=lambda s: s.name))


def load_custom_permissions(root: Table) -> tuple[CustomPermissionSpec, ...]:
    """``[custom_permissions.<Name>]``: label and description."""
    specs = []
    for name, table in root.tables("custom_permissions"):
        specs.append(
            CustomPermissionSpec(
                name=name,
                label=table.string("label", name.replace("_", " ")) or name,
                description=table.string("description"),
                source=_where(table),
            )
        )
        table.finish()
    return tuple(sorted(specs, key=lambda s: s.name))
