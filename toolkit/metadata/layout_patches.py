"""Layout patches: changes merged into a layout the org already has, where a layout spec would
replace it whole.

A patch adds related lists, custom buttons (and, on a layout whose Lightning actions are set,
the same buttons there) and fields in a named section; everything else in the layout is kept
as it is, and adding what is already there changes nothing, so a patch applied twice is the
patch applied once. A related list or field already on the layout is left as the admin
arranged it. New elements go beside their siblings, in the order of the Metadata API's Layout
type. Pure: the layout's XML in, the patched XML out.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import formats, xmlsafe
from toolkit.metadata.files import METADATA_NS
from toolkit.metadata.specs import LayoutPatch, PatchField, RelatedListSpec

# The Layout type's elements in their schema order (Metadata API, Layout).
LAYOUT_ORDER = (
    "customButtons",
    "customConsoleComponents",
    "emailDefault",
    "excludeButtons",
    "feedLayout",
    "headers",
    "layoutSections",
    "miniLayout",
    "multilineLayoutFields",
    "platformActionList",
    "quickActionList",
    "relatedContent",
    "relatedLists",
    "relatedObjects",
    "runAssignmentRulesDefault",
    "showEmailCheckbox",
    "showHighlightsPanel",
    "showInteractionLogPanel",
    "showKnowledgeComponent",
    "showRunAssignmentRulesCheckbox",
    "showSolutionSection",
    "showSubmitAndAttachButton",
    "summaryLayout",
)
SECTION_STYLE = "TwoColumnsTopToBottom"


def layout_path(full_name: str) -> str:
    return f"layouts/{full_name}.layout"


def _q(name: str) -> str:
    return f"{{{METADATA_NS}}}{name}"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    if text is not None:
        element.text = text
    return element


def apply(content: bytes, patch: LayoutPatch, where: str) -> bytes:
    """The layout ``content`` with ``patch`` merged in (``where`` names it in errors)."""
    root = xmlsafe.parse(content, where)
    if _local(root) != "Layout":
        raise ConfigError(
            f"{where}: the patch {patch.layout} targets a {_local(root)}, not a Layout",
            hint="name a page layout (Object-Layout Name) in the patch",
        )
    for button in patch.buttons:
        _add_button(root, button)
    for related in patch.related_lists:
        _add_related_list(root, related)
    for item in patch.fields:
        _add_field(root, item)
    return formats.serialize(root, where)


def changes(patch: LayoutPatch) -> list[str]:
    """What the patch adds, one line each, for listings (``sftk plugins``, plans)."""
    lines = [f"related list {r.name}" for r in patch.related_lists]
    lines += [f"button {b}" for b in patch.buttons]
    lines += [f"field {f.field} in section {f.section!r}" for f in patch.fields]
    return lines


def _insert(root: etree._Element, element: etree._Element) -> None:
    """Put a new child of the Layout beside its siblings, in schema order."""
    name = _local(element)
    rank = LAYOUT_ORDER.index(name)
    children = list(root)
    after = [i for i, c in enumerate(children) if _rank(c) <= rank]
    root.insert(after[-1] + 1 if after else 0, element)


def _rank(element: etree._Element) -> int:
    name = _local(element) if isinstance(element.tag, str) else ""
    return LAYOUT_ORDER.index(name) if name in LAYOUT_ORDER else len(LAYOUT_ORDER)


def _texts(parent: etree._Element, path: str) -> list[str]:
    return [(e.text or "").strip() for e in parent.iterfind(path, {"m": METADATA_NS})]


def _add_button(root: etree._Element, button: str) -> None:
    if button in _texts(root, "m:customButtons"):
        return  # there already, in Lightning's actions or not, as the admin chose
    element = etree.Element(_q("customButtons"))
    element.text = button
    _insert(root, element)
    actions = root.find("m:platformActionList", {"m": METADATA_NS})
    if actions is None:
        return  # no Lightning actions set: Lightning shows the layout's buttons
    items = actions.findall("m:platformActionListItems", {"m": METADATA_NS})
    if button in [(i.findtext("m:actionName", namespaces={"m": METADATA_NS}) or "") for i in items]:
        return
    orders = [int(i.findtext("m:sortOrder", "0", {"m": METADATA_NS}) or 0) for i in items]
    item = etree.Element(_q("platformActionListItems"))
    _child(item, "actionName", button)
    _child(item, "actionType", "CustomButton")
    _child(item, "sortOrder", str(max(orders, default=-1) + 1))
    if items:
        items[-1].addnext(item)
    else:
        actions.append(item)


def _add_related_list(root: etree._Element, related: RelatedListSpec) -> None:
    if related.name in _texts(root, "m:relatedLists/m:relatedList"):
        return  # already there: kept as the admin arranged it
    element = etree.Element(_q("relatedLists"))
    for button in related.buttons:
        _child(element, "customButtons", button)
    for field in related.fields:
        _child(element, "fields", field)
    _child(element, "relatedList", related.name)
    if related.sort_field:
        _child(element, "sortField", related.sort_field)
        _child(element, "sortOrder", related.sort_order or "Asc")
    _insert(root, element)


def _add_field(root: etree._Element, item: PatchField) -> None:
    ns = {"m": METADATA_NS}
    if item.field in _texts(root, "m:layoutSections/m:layoutColumns/m:layoutItems/m:field"):
        return  # on the layout already, wherever the admin put it
    sections = [
        s
        for s in root.findall("m:layoutSections", ns)
        if s.findtext("m:label", "", ns) == item.section
    ]
    if sections:
        section = sections[0]
        columns = section.findall("m:layoutColumns", ns)
        if columns:
            column = columns[0]
        else:
            column = etree.Element(_q("layoutColumns"))
            label = section.find("m:label", ns)
            if label is not None:
                label.addnext(column)
            else:
                section.append(column)
    else:
        section = etree.Element(_q("layoutSections"))
        _child(section, "customLabel", "true")
        _child(section, "detailHeading", "true")
        _child(section, "editHeading", "true")
        _child(section, "label", item.section)
        column = _child(section, "layoutColumns")
        _child(section, "layoutColumns")
        _child(section, "style", SECTION_STYLE)
        _insert(root, section)
    layout_item = etree.SubElement(column, _q("layoutItems"))
    _child(layout_item, "behavior", item.behavior)
    _child(layout_item, "field", item.field)


def targets(patches: Sequence[LayoutPatch]) -> list[str]:
    """The layouts the patches change, each once, in order."""
    return list(dict.fromkeys(p.layout for p in patches))
