"""Two files of one object merged into one: a spec's rendering and a hand-written file.

A project may describe an object in a spec and keep, in a metadata folder, what the spec format
cannot say: a field of a type specs do not have, a list view shared with a group, an action
override. Both land at ``objects/<Object>.object``, so they are merged rather than refused: the
children of both files (fields, list views...) side by side, and the object's own elements
(label, sharing model, action overrides...) from whichever file gives them. A component both
give is a real duplicate, and an error naming both origins. The merged file is written in the
house style, elements in schema order, so a build stays byte-identical across runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import formats, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.types import BY_NAME

_OBJECT = BY_NAME["CustomObject"]
# The spec key that holds each kind of child, for the hint of a duplicate.
_SPEC_KEYS = {
    "CustomField": "fields",
    "WebLink": "web_links",
    "ListView": "list_views",
    "ValidationRule": "validation_rules",
    "RecordType": "record_types",
    "CompactLayout": "compact_layouts",
    "FieldSet": "field_sets",
}


def is_object_file(path: str) -> bool:
    """An mdapi object file, ``objects/<Object>.object``."""
    folder, _, name = path.partition("/")
    return folder == _OBJECT.folder and "/" not in name and name.endswith("." + _OBJECT.suffix)


def container_only(content: bytes, where: str) -> bool:
    """Whether an object file holds only children, so that it describes nothing of the
    object itself (as a file adding fields to Contact)."""
    return formats.object_children(content, where)[1]


def merge_files(files: Sequence[MetadataFile]) -> tuple[list[MetadataFile], frozenset[str]]:
    """One file per path; object files of one object are merged into one (a hand-written
    field beside the spec's), anything else twice is an error. Also returns the paths of the
    merged object files."""
    by_path: dict[str, MetadataFile] = {}
    merged: set[str] = set()
    for file in files:
        other = by_path.get(file.path)
        if other is None:
            by_path[file.path] = file
        elif is_object_file(file.path):
            by_path[file.path] = merge(other, file)
            merged.add(file.path)
        else:
            raise ConfigError(
                f"{file.path} comes from both {other.origin} and {file.origin}",
                hint="remove one of them, or move the hand-written one's content into the spec",
            )
    return list(by_path.values()), frozenset(merged)


def merge(first: MetadataFile, second: MetadataFile) -> MetadataFile:
    """One object file holding the children and own elements of both, or an error naming a
    component (or own element) that both give."""
    name = first.path.removeprefix("objects/").removesuffix(".object")
    entries: dict[tuple[str, str], tuple[str, list[etree._Element]]] = {}
    for file in (first, second):
        where = formats.describe(file)
        root = xmlsafe.parse(file.content, where)
        seen: set[tuple[str, str]] = set()
        for child, child_name, element in formats.object_entries(root, where):
            tag = formats.local_name(element, where)
            if tag == "fullName":
                continue
            key = (tag, child_name)
            if key in entries and key not in seen:
                raise _duplicate(
                    name,
                    child.type if child else None,
                    tag,
                    child_name,
                    entries[key][0],
                    file.origin or file.path,
                )
            seen.add(key)
            entries.setdefault(key, (file.origin or file.path, []))[1].append(element)
    root = formats.new_element(_OBJECT.name)
    for key in sorted(entries):
        for element in entries[key][1]:
            element.tail = None
            root.append(element)
    origin = f"{first.origin or first.path} + {second.origin or second.path}"
    return MetadataFile(first.path, formats.serialize(root, first.path), origin)


def _duplicate(
    object_name: str, child_type: str | None, tag: str, child_name: str, one: str, other: str
) -> ConfigError:
    if child_type is None:
        return ConfigError(
            f"objects/{object_name}.object: the object's <{tag}> is given both by {one} and by "
            f"{other}",
            hint=f"keep it in one of them: a spec that describes {object_name} writes its own "
            "settings, so leave them out of the hand-written file",
        )
    key = _SPEC_KEYS.get(child_type)
    spec_part = f"[{key}.{child_name}] of the spec, or " if key else ""
    return ConfigError(
        f"objects/{object_name}.object: {child_type} {object_name}.{child_name} is defined both "
        f"in {one} and in {other}",
        hint=f"keep one definition: remove {spec_part}the hand-written "
        f"<{tag}> (objects/{object_name}/{tag}/{child_name}.*-meta.xml in source format)",
    )
