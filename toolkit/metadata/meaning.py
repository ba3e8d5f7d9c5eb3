"""Metadata compared for what it says: normalised as ``plan`` compares, and then without what
an org's retrieve adds by default.

``normalize.bodies`` tells apart two files that an org reads alike in two ways that matter when
specs are compared with metadata a real org wrote: element order (an org reads any order, and
keeps only the order of repeated siblings), and values an org writes out that mean the same as
leaving them out. Here both go: every element's children are sorted by name, repeated ones
keeping their order, and these are dropped:

- a boolean element that says ``false`` (what its absence says; the schema says which elements
  are booleans);
- an empty element that is not one of a list (``<searchLayouts/>``);
- the defaults in ``ORG_DEFAULTS``: values Salesforce documents as what an absent element means,
  or writes for every object (an action override of type ``Default`` is the standard action).

``sftk import`` keeps what its specs say in this sense, and proves it by comparing these
bodies: a component whose rendering differs from the original in them is kept as it is. ``sftk
plan`` judges new, changed and unchanged by them too, so a project imported from an org (whose
retrieves spell every default out) plans clean against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from toolkit.metadata import formats, normalize, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.schema import ContentModel, MetadataSchema

# (type holding the element, element) -> the value that means what leaving it out means.
ORG_DEFAULTS: Mapping[tuple[str, str], str] = {
    ("CustomObject", "compactLayoutAssignment"): "SYSTEM",
    ("CustomObject", "visibility"): "Public",
    ("CustomField", "deleteConstraint"): "SetNull",
}


def bodies(files: Sequence[MetadataFile], schema: MetadataSchema) -> dict[ComponentRef, bytes]:
    """One body per component, as ``normalize.bodies`` gives it, reduced to its meaning."""
    return reduced(normalize.bodies(files), schema)


def reduced(
    normalized: Mapping[ComponentRef, bytes], schema: MetadataSchema
) -> dict[ComponentRef, bytes]:
    """Bodies that ``normalize.bodies`` gave, each reduced to its meaning."""
    models = schema.content_models
    out: dict[ComponentRef, bytes] = {}
    for ref, body in normalized.items():
        if body.startswith(b"<?xml"):
            root = xmlsafe.parse(body, str(ref))
            _reduce(root, ref.type, models)
            body = formats.serialize(root, str(ref))
        out[ref] = body
    return out


def _reduce(element: etree._Element, type_name: str, models: Mapping[str, ContentModel]) -> None:
    model = models.get(type_name, {})
    kept: list[tuple[str, etree._Element]] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        decl = model.get(name)
        if decl is not None and decl.kind == "complex":
            _reduce(child, decl.type, models)
            if len(child) == 0 and not (child.text or "").strip() and not decl.repeatable:
                continue
        elif decl is not None and len(child) == 0:
            text = (child.text or "").strip()
            if decl.type == "boolean" and text == "false":
                continue
            if ORG_DEFAULTS.get((type_name, name)) == text:
                continue
        if type_name == "CustomObject" and name == "actionOverrides" and _standard_action(child):
            continue
        kept.append((name, child))
    kept.sort(key=lambda pair: pair[0])
    element[:] = [child for _, child in kept]


def _standard_action(override: etree._Element) -> bool:
    """An action override that says to use the standard action (type Default, no content)."""
    texts = {
        etree.QName(child).localname: (child.text or "").strip()
        for child in override
        if isinstance(child.tag, str)
    }
    return texts.get("type") == "Default" and not texts.get("content")
