"""From metadata that already exists to specs, proven by rendering them back.

The steps ``sftk import`` takes, on Metadata API files (a folder converted, or an org's
retrieve), with no disk or network:

1. Read every component for what it means (``meaning.bodies``).
2. Pick the objects (all of them, or those asked for) and, for each, turn its own part, its
   children, its layouts and its tab into spec data (``importing``); the permission sets that
   grant on them become ``[access.<Set>]`` of each object and a section of sftk.toml, and so
   do the global value sets their picklists take. What the converters know specs cannot say
   is kept, with the reason.
3. Write the spec data as TOML, load it with the spec loader, render it with the project's
   templates, and compare each component with the original. One that differs is kept as it
   was; an object's own part whose rendering differs is kept whole, and its spec then only
   adds the children. Repeat until the rendering agrees.
4. Cut the kept components out of the original files: the hand-written files the project
   merges with the specs' output.
5. Render once more and merge in the kept files, as a build of the project would: the round
   trip, which must show no difference.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from toolkit.errors import ConfigError, UsageError
from toolkit.metadata import (
    formats,
    importing,
    meaning,
    normalize,
    objectmerge,
    spec_writer,
    xmlsafe,
)
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.importing import Data, Existing, Kept, Unsupported
from toolkit.metadata.manifest import CHILD_TYPES, ComponentRef
from toolkit.metadata.model import is_custom_name
from toolkit.metadata.render import ProjectExtras, Renderer, tab_name
from toolkit.metadata.schema import MetadataSchema, is_xml_metadata
from toolkit.metadata.spec_loader import (
    load_global_value_sets,
    load_object_text,
    load_permission_sets,
)
from toolkit.metadata.specs import ObjectSpec
from toolkit.metadata.types import MANIFEST_NAMES
from toolkit.tomlread import Document

_PASSES = 4  # renderings to agree with the original; each pass only keeps more as it was


@dataclass(frozen=True)
class ImportResult:
    """What an import makes of the metadata: each object's spec text, the sections to add to
    sftk.toml, the files kept as they are (Metadata API format) and the report's lists."""

    specs: tuple[tuple[str, str], ...]  # (object, TOML text), by object
    config_sections: str  # [permission_sets.X], [global_value_sets.Y] for sftk.toml
    kept_files: tuple[MetadataFile, ...]
    kept: tuple[Kept, ...]
    specced: tuple[str, ...]  # Type:Name of each component the specs now hold
    left_out: tuple[str, ...]  # components of the source that belong to no imported object
    differences: tuple[str, ...]  # what the round trip found (nothing, when all is well)


@dataclass
class _Object:
    """One object being imported: its spec data and what is kept of it."""

    name: str
    custom: bool
    own: Data = field(default_factory=dict)
    tables: dict[str, Data] = field(default_factory=dict)  # name_field, tab, search_layouts
    children: dict[str, dict[str, Data]] = field(default_factory=dict)  # fields -> name -> data
    layouts: dict[str, Data] = field(default_factory=dict)
    access: dict[str, Data] = field(default_factory=dict)
    kept_own: frozenset[str] = frozenset()  # own tags the hand-written file keeps
    own_kept_whole: bool = False

    def data(self) -> Data:
        out: Data = {**self.own, **self.tables}
        for key, items in self.children.items():
            if items:
                out[key] = items
        if self.layouts:
            out["layouts"] = self.layouts
        if self.access:
            out["access"] = self.access
        return out

    def text(self) -> str:
        return spec_writer.dump(self.data())

    def spec(self) -> ObjectSpec:
        return load_object_text(self.text(), f"objects/{self.name}.toml", self.name)


def import_metadata(
    files: Sequence[MetadataFile],
    objects: Sequence[str] | None,
    renderer: Renderer,
    schema: MetadataSchema,
    existing: Existing | None = None,
) -> ImportResult:
    """Specs for ``objects`` (every object of the files when None), and what stays as it is."""
    existing = existing or Existing()
    files = [f for f in files if f.path not in MANIFEST_NAMES]
    original = meaning.bodies(files, schema)
    trees = {ref: xmlsafe.parse(body, str(ref)) for ref, body in original.items() if _xml(body)}
    wanted = _wanted(original, objects)
    kept: dict[ComponentRef, str] = {}
    imported: dict[str, _Object] = {}
    for name in wanted:
        if name.endswith("__c") or not is_custom_name(name):
            imported[name] = _read_object(name, original, trees, kept)
        else:
            for ref in _refs_of(original, name):
                kept[ref] = "specs describe custom objects (__c) and standard objects only"
    identities, value_sets = _read_project_parts(imported, original, trees, kept, existing)
    for _ in range(_PASSES):
        rendered = meaning.bodies(
            _render(imported, identities, value_sets, renderer, existing), schema
        )
        if not _keep_what_differs(imported, identities, value_sets, original, rendered, kept):
            break
    kept_files = _kept_files(files, imported, kept)
    rendered_files = _render(imported, identities, value_sets, renderer, existing)
    merged, _ = objectmerge.merge_files([*rendered_files, *kept_files])
    again = meaning.bodies(merged, schema)
    involved = {ref for ref in original if _involved(ref, imported, identities, value_sets, kept)}
    differences = tuple(_differences(original, again, involved))
    specced = sorted(str(ref) for ref in involved if ref not in kept)
    return ImportResult(
        specs=tuple((name, obj.text()) for name, obj in sorted(imported.items())),
        config_sections=_config_sections(identities, value_sets, existing),
        kept_files=tuple(kept_files),
        kept=tuple(Kept(str(ref), reason) for ref, reason in sorted(kept.items())),
        specced=tuple(specced),
        left_out=tuple(sorted(str(ref) for ref in original if ref not in involved)),
        differences=differences,
    )


def without_stray_text(files: Iterable[MetadataFile]) -> tuple[list[MetadataFile], list[str]]:
    """The files with the text between elements taken out, as a deploy ignores it (a stray
    ``>`` after a closing tag, say), and a note naming each file that had some."""
    out, notes = [], []
    for file in files:
        if not is_xml_metadata(file.path):
            out.append(file)
            continue
        try:
            root = xmlsafe.parse(file.content, formats.describe(file))
        except ConfigError:
            out.append(file)  # not XML this reader can judge: left for the converters
            continue
        stray = False
        for el in root.iter(tag=etree.Element):
            if len(el) and el.text is not None and el.text.strip():
                el.text, stray = None, True
            for child in el:
                if child.tail is not None and child.tail.strip():
                    child.tail, stray = None, True
        if stray:
            notes.append(
                f"{formats.describe(file)}: text between elements left out, as a deploy ignores it"
            )
            out.append(MetadataFile(file.path, formats.serialize(root, file.path), file.origin))
        else:
            out.append(file)
    return out, notes


def _xml(body: bytes) -> bool:
    return body.startswith(b"<?xml")


def _object_of(ref: ComponentRef) -> str | None:
    if ref.type == "CustomObject":
        return ref.full_name
    if ref.type in CHILD_TYPES:
        return ref.full_name.partition(".")[0]
    if ref.type == "Layout":
        return ref.full_name.partition("-")[0]
    if ref.type == "CustomTab":
        return ref.full_name
    return None


def _refs_of(original: Mapping[ComponentRef, bytes], name: str) -> list[ComponentRef]:
    return [ref for ref in original if _object_of(ref) == name]


def _wanted(original: Mapping[ComponentRef, bytes], objects: Sequence[str] | None) -> list[str]:
    present = sorted(
        {
            ref.full_name if ref.type == "CustomObject" else ref.full_name.partition(".")[0]
            for ref in original
            if ref.type == "CustomObject" or ref.type in CHILD_TYPES
        }
    )
    if objects is None:
        return present
    by_folded = {name.lower(): name for name in present}
    missing = [name for name in objects if name.lower() not in by_folded]
    if missing:
        raise UsageError(
            f"the source has no object {', '.join(missing)}",
            hint="objects it has: " + (", ".join(present) or "none"),
        )
    return sorted({by_folded[name.lower()] for name in objects})


def _read_object(
    name: str,
    original: Mapping[ComponentRef, bytes],
    trees: Mapping[ComponentRef, etree._Element],
    kept: dict[ComponentRef, str],
) -> _Object:
    obj = _Object(name, name.endswith("__c"))
    own_ref = ComponentRef("CustomObject", name)
    own_tree = trees.get(own_ref)
    if own_tree is not None:
        own_tags = frozenset(
            etree.QName(el).localname for el in own_tree if isinstance(el.tag, str)
        )
        if obj.custom:
            try:
                data, obj.kept_own = importing.own_data(own_tree, name)
                for key in ("name_field", "search_layouts"):
                    if key in data:
                        obj.tables[key] = data.pop(key)
                obj.own = data
                _check(obj, obj.text())
            except Unsupported as exc:
                _keep_own_whole(obj, own_tags, kept, str(exc))
        else:
            obj.kept_own, obj.own_kept_whole = own_tags, bool(own_tags)
            if own_tags:
                kept[own_ref] = "a standard object's own settings are Salesforce's: kept as written"
    elif obj.custom:
        for ref in _refs_of(original, name):
            kept[ref] = f"the source does not define {name} itself, which a spec needs"
        return obj
    for ref in _refs_of(original, name):
        if ref.type in CHILD_TYPES:
            _read_child(obj, ref, trees, kept)
        elif ref.type == "Layout":
            _read_part(obj, ref, trees, kept, "layouts", importing.layout_data)
        elif ref.type == "CustomTab" and obj.custom and not obj.own_kept_whole:
            _read_part(obj, ref, trees, kept, "tab", importing.tab_data)
        elif ref.type == "CustomTab":
            kept[ref] = "the object's own part is kept as written, so its tab is too"
    _order_masters(obj, trees)
    return obj


def _order_masters(obj: _Object, trees: Mapping[ComponentRef, etree._Element]) -> None:
    """Master-detail fields first, in their relationshipOrder: a spec gives the first one
    declared order 0 (the primary master of a junction object)."""
    fields = obj.children.get("fields")
    if not fields:
        return

    def order(name: str) -> tuple[int, int, str]:
        if fields[name].get("type") != "MasterDetail":
            return (1, 0, name)
        tree = trees[ComponentRef("CustomField", f"{obj.name}.{name}")]
        text = next(
            (el.text for el in tree if etree.QName(el).localname == "relationshipOrder"), None
        )
        return (0, int(text) if text and text.isdigit() else 0, name)

    obj.children["fields"] = {name: fields[name] for name in sorted(fields, key=order)}


def _keep_own_whole(
    obj: _Object, own_tags: frozenset[str], kept: dict[ComponentRef, str], reason: str
) -> None:
    obj.own, obj.kept_own, obj.own_kept_whole = {}, own_tags, True
    obj.tables.pop("name_field", None)
    obj.tables.pop("search_layouts", None)
    kept[ComponentRef("CustomObject", obj.name)] = reason


def _read_child(
    obj: _Object,
    ref: ComponentRef,
    trees: Mapping[ComponentRef, etree._Element],
    kept: dict[ComponentRef, str],
) -> None:
    child = ref.full_name.partition(".")[2]
    known = importing.CHILDREN.get(ref.type)
    if known is None:
        kept[ref] = f"specs have no {ref.type} components"
        return
    key, convert = known
    if ref.type == "CustomField" and not child.endswith("__c") and not obj.custom:
        kept[ref] = "a standard field's settings are Salesforce's: kept as written"
        return
    try:
        data = convert(trees[ref], child)
        _check(obj, spec_writer.dump({**_base(obj), key: {child: data}}))
    except Unsupported as exc:
        kept[ref] = str(exc)
        return
    obj.children.setdefault(key, {})[child] = data


def _read_part(
    obj: _Object,
    ref: ComponentRef,
    trees: Mapping[ComponentRef, etree._Element],
    kept: dict[ComponentRef, str],
    key: str,
    convert: importing.Converter,
) -> None:
    name = ref.full_name.partition("-")[2] if key == "layouts" else ref.full_name
    try:
        data = convert(trees[ref], name)
        table = {name: data} if key == "layouts" else data
        _check(obj, spec_writer.dump({**_base(obj), key: table}))
    except Unsupported as exc:
        kept[ref] = str(exc)
        return
    if key == "layouts":
        obj.layouts[name] = data
    else:
        obj.tables[key] = data


def _base(obj: _Object) -> Data:
    """What a spec of the object must say for a child alone to load: its labels, if custom."""
    return {"label": "Check", "plural_label": "Checks"} if obj.custom else {}


def _check(obj: _Object, text: str) -> None:
    """Load spec text as the project will: what the loader refuses, specs cannot say."""
    try:
        load_object_text(text, f"objects/{obj.name}.toml", obj.name)
    except ConfigError as exc:
        raise Unsupported(f"the spec would not load: {exc.message}") from None


# --- permission sets and global value sets -----------------------------------------------------


def _read_project_parts(
    imported: dict[str, _Object],
    original: Mapping[ComponentRef, bytes],
    trees: Mapping[ComponentRef, etree._Element],
    kept: dict[ComponentRef, str],
    existing: Existing,
) -> tuple[dict[str, Data], dict[str, Data]]:
    """Each permission set granting on an imported object: its section and the objects'
    ``[access]``; each global value set an imported picklist takes: its section."""
    tabs = {tab_name(name): name for name in imported}
    by_folded = {name.lower(): name for name in imported}

    def takes(object_name: str) -> str | None:
        """Grants on an imported object go to its spec, those on a standard object to a spec
        that only grants (specs of standard objects add, never describe)."""
        found = by_folded.get(object_name.lower())
        if found is None and object_name and not is_custom_name(object_name):
            found = object_name
        return found

    _layout_assignments(imported, trees)
    identities: dict[str, Data] = {}
    for ref in sorted(original):
        if ref.type != "PermissionSet" or ref not in trees:
            continue
        if not _mentions(trees[ref], imported, tabs):
            continue
        try:
            identity, access = importing.permission_set_data(trees[ref], ref.full_name, tabs, takes)
            _load_section("permission_sets", ref.full_name, identity, load_permission_sets)
        except Unsupported as exc:
            kept[ref] = str(exc)
            continue
        identities[ref.full_name] = identity
        for object_name, grants in access.items():
            if object_name not in imported:
                imported[object_name] = _Object(object_name, custom=False)
            imported[object_name].access[ref.full_name] = grants
    value_sets: dict[str, Data] = {}
    taken = {
        data["global_value_set"]
        for obj in imported.values()
        for data in obj.children.get("fields", {}).values()
        if "global_value_set" in data
    }
    for name in sorted(taken):
        ref = ComponentRef("GlobalValueSet", name)
        if ref not in trees:
            continue  # the org must have it; validation says so
        try:
            data = importing.global_value_set_data(trees[ref], name)
            _load_section("global_value_sets", name, data, load_global_value_sets)
        except Unsupported as exc:
            kept[ref] = str(exc)
            continue
        value_sets[name] = data
    return identities, value_sets


def _layout_assignments(
    imported: Mapping[str, _Object], trees: Mapping[ComponentRef, etree._Element]
) -> None:
    """The layouts profiles assign to the imported record types, into the record types'
    ``layouts`` (a profile is not the objects' to import: the rest of it stays in the org)."""
    for ref in sorted(trees):
        if ref.type != "Profile":
            continue
        for assignment in trees[ref].iterchildren("{*}layoutAssignments"):
            layout = (assignment.findtext("{*}layout") or "").strip()
            object_name, _, record_type = (
                (assignment.findtext("{*}recordType") or "").strip().partition(".")
            )
            obj = imported.get(object_name)
            owner, _, layout_name = layout.partition("-")
            if obj is None or owner != object_name:
                continue
            data = obj.children.get("record_types", {}).get(record_type)
            if data is not None:
                data.setdefault("layouts", {})[ref.full_name] = layout_name


def _mentions(
    root: etree._Element, imported: Mapping[str, _Object], tabs: Mapping[str, str]
) -> bool:
    names = {name.lower() for name in imported}
    for el in root.iter():
        if not isinstance(el.tag, str) or len(el):
            continue
        tag, text = etree.QName(el).localname, (el.text or "").strip()
        if tag == "object" and text.lower() in names:
            return True
        if tag in ("field", "recordType") and text.partition(".")[0].lower() in names:
            return True
        if tag == "tab" and text in tabs:
            return True
    return False


def _load_section(table: str, name: str, data: Data, load: object) -> None:
    text = spec_writer.dump({table: {name: data}})
    try:
        load(Document("sftk.toml", text).root())  # type: ignore[operator]
    except ConfigError as exc:
        raise Unsupported(f"the section would not load: {exc.message}") from None


# --- rendering and comparing -------------------------------------------------------------------


def _render(
    imported: Mapping[str, _Object],
    identities: Mapping[str, Data],
    value_sets: Mapping[str, Data],
    renderer: Renderer,
    existing: Existing,
) -> list[MetadataFile]:
    specs = [obj.spec() for obj in imported.values()]
    config = Document(
        "sftk.toml",
        spec_writer.dump(
            {"permission_sets": dict(identities), "global_value_sets": dict(value_sets)}
        ),
    ).root()
    permission_sets = {p.name: p for p in load_permission_sets(config)}
    permission_sets.update({p.name: p for p in existing.permission_sets})
    gvs = {g.name: g for g in load_global_value_sets(config)}
    gvs.update({g.name: g for g in existing.global_value_sets if g.name in value_sets})
    return renderer.rendering(
        specs,
        [permission_sets[name] for name in sorted(permission_sets) if name in identities],
        extras=ProjectExtras(global_value_sets=tuple(gvs[name] for name in sorted(gvs))),
    ).files


def _keep_what_differs(
    imported: Mapping[str, _Object],
    identities: dict[str, Data],
    value_sets: dict[str, Data],
    original: Mapping[ComponentRef, bytes],
    rendered: Mapping[ComponentRef, bytes],
    kept: dict[ComponentRef, str],
) -> bool:
    """Move to ``kept`` what renders differently from the original; whether anything moved."""
    moved = False
    for obj in imported.values():
        for key, items in obj.children.items():
            type_name = importing.CHILD_BY_KEY[key]
            for child in list(items):
                ref = ComponentRef(type_name, f"{obj.name}.{child}")
                if rendered.get(ref) != original.get(ref):
                    del items[child]
                    kept[ref] = _why(original.get(ref), rendered.get(ref))
                    moved = True
        for layout in list(obj.layouts):
            ref = ComponentRef("Layout", f"{obj.name}-{layout}")
            if rendered.get(ref) != original.get(ref):
                del obj.layouts[layout]
                kept[ref] = _why(original.get(ref), rendered.get(ref))
                moved = True
        tab = ComponentRef("CustomTab", obj.name)
        if "tab" in obj.tables and rendered.get(tab) != original.get(tab):
            del obj.tables["tab"]
            kept[tab] = _why(original.get(tab), rendered.get(tab))
            moved = True
        if obj.custom and not obj.own_kept_whole:
            moved = _check_own(obj, original, rendered, kept) or moved
    for group, table in (("PermissionSet", identities), ("GlobalValueSet", value_sets)):
        for name in list(table):
            ref = ComponentRef(group, name)
            if rendered.get(ref) != original.get(ref):
                del table[name]
                kept[ref] = _why(original.get(ref), rendered.get(ref))
                if group == "PermissionSet":
                    for obj in imported.values():
                        obj.access.pop(name, None)
                moved = True
    return moved


def _check_own(
    obj: _Object,
    original: Mapping[ComponentRef, bytes],
    rendered: Mapping[ComponentRef, bytes],
    kept: dict[ComponentRef, str],
) -> bool:
    """The spec's own elements must each say what the original's say; the original's other
    own elements go to the hand-written file. Otherwise the own part is kept whole."""
    ref = ComponentRef("CustomObject", obj.name)
    mine = _groups(rendered.get(ref))
    theirs = _groups(original.get(ref))
    differing = sorted(tag for tag in mine if mine[tag] != theirs.get(tag))
    if not differing:
        obj.kept_own = frozenset(theirs) - frozenset(mine)
        return False
    tag = differing[0]
    why = _why(b"".join(theirs.get(tag, [])), b"".join(mine[tag]))
    _keep_own_whole(obj, frozenset(theirs), kept, f"<{tag}>: {why}")
    for key in ("tab",):
        if key in obj.tables:
            del obj.tables[key]
            kept[ComponentRef("CustomTab", obj.name)] = (
                "the object's own part is kept as written, so its tab is too"
            )
    return True


def _groups(body: bytes | None) -> dict[str, list[bytes]]:
    """An object's own elements (its children left out) by tag, each as serialised."""
    if body is None:
        return {}
    root = xmlsafe.parse(body, "object")
    out: dict[str, list[bytes]] = {}
    for el in root:
        if isinstance(el.tag, str):
            out.setdefault(etree.QName(el).localname, []).append(etree.tostring(el))
    return out


def _why(before: bytes | None, after: bytes | None) -> str:
    if after is None:
        return "the spec would not write it"
    if before is None:
        return "the spec would write what the source does not have"
    diff = [
        line
        for line in difflib.unified_diff(
            before.decode("utf-8", "replace").splitlines(),
            after.decode("utf-8", "replace").splitlines(),
            lineterm="",
            n=0,
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    shown = "; ".join(line.strip() for line in diff[:2])
    return f"the spec would write it differently ({shown})"


# --- what is kept, and the round trip ----------------------------------------------------------


def _kept_files(
    files: Sequence[MetadataFile], imported: Mapping[str, _Object], kept: Mapping[ComponentRef, str]
) -> list[MetadataFile]:
    whole = [ref for ref in kept if ref.type != "CustomObject" and ref.type not in CHILD_TYPES]
    whole += [ref for ref in kept if ref.type == "CustomObject" and ref.full_name not in imported]
    whole += [ref for ref in kept if ref.type in CHILD_TYPES and _object_of(ref) not in imported]
    out = [f for f in normalize.subset(files, whole) if not objectmerge.is_object_file(f.path)]
    for file in files:
        if not objectmerge.is_object_file(file.path):
            continue
        name = file.path.removeprefix("objects/").removesuffix(".object")
        obj = imported.get(name)
        if obj is None:
            cut = normalize.subset([file], whole)
            out.extend(cut)
            continue
        cut_file = _cut(file, name, obj.kept_own, {ref for ref in kept if _object_of(ref) == name})
        if cut_file is not None:
            out.append(cut_file)
    return sorted(out, key=lambda f: f.path)


def _cut(
    file: MetadataFile, name: str, own_tags: frozenset[str], children: set[ComponentRef]
) -> MetadataFile | None:
    """The object file holding only the kept children and own elements, or None."""
    where = formats.describe(file)
    root = xmlsafe.parse(file.content, where)
    kept_anything = False
    for child, child_name, element in formats.object_entries(root, where):
        tag = formats.local_name(element, where)
        if child is None:
            if tag != "fullName" and tag in own_tags:
                kept_anything = True
            elif tag != "fullName":
                root.remove(element)
        elif ComponentRef(child.type, f"{name}.{child_name}") in children:
            kept_anything = True
        else:
            root.remove(element)
    if not kept_anything:
        return None
    return MetadataFile(file.path, formats.serialize(root, where), file.origin)


def _involved(
    ref: ComponentRef,
    imported: Mapping[str, _Object],
    identities: Mapping[str, Data],
    value_sets: Mapping[str, Data],
    kept: Mapping[ComponentRef, str],
) -> bool:
    """Whether the import speaks for ``ref``: a part of an imported object, a permission set
    or global value set it made a spec of, or anything it keeps."""
    if ref in kept or _object_of(ref) in imported:
        return True
    if ref.type == "PermissionSet":
        return ref.full_name in identities
    return ref.type == "GlobalValueSet" and ref.full_name in value_sets


def _differences(
    original: Mapping[ComponentRef, bytes],
    again: Mapping[ComponentRef, bytes],
    involved: Iterable[ComponentRef],
) -> list[str]:
    found = []
    for ref in sorted(involved):
        if again.get(ref) != original.get(ref):
            found.append(f"{ref}: {_why(original.get(ref), again.get(ref))}")
    return found


def _config_sections(
    identities: Mapping[str, Data], value_sets: Mapping[str, Data], existing: Existing
) -> str:
    have_sets = {p.name for p in existing.permission_sets}
    have_values = {g.name for g in existing.global_value_sets}
    data: Data = {}
    new_sets = {name: d for name, d in identities.items() if name not in have_sets}
    new_values = {name: d for name, d in value_sets.items() if name not in have_values}
    if new_sets:
        data["permission_sets"] = new_sets
    if new_values:
        data["global_value_sets"] = new_values
    return spec_writer.dump(data) if data else ""
