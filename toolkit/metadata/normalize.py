"""Metadata compared by meaning: one normalised body per component, its hash, and diffs.

Snapshots, rollback verification and ``sftk plan`` all ask the same question: is this
component the same in the package, the snapshot and the org? Byte comparison would say no for
noise: indentation, entities written differently, the order Salesforce returns an object's
fields in, or the order of a permission set's entries. So every component is reduced to one
body first: XML re-serialised in the house style, the object's own part and each of its
children (fields, list views, web links ...) as separate components, and lists whose order
carries no meaning sorted. Order that does carry meaning (layout items, picklist values) is
kept, since changing it is a real change.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from lxml import etree

from toolkit.metadata import formats, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.types import MANIFEST_NAMES

# Repeated elements whose order Salesforce neither keeps nor uses: sorted before comparing.
UNORDERED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "PermissionSet": frozenset(
            {
                "applicationVisibilities",
                "classAccesses",
                "customMetadataTypeAccesses",
                "customPermissions",
                "customSettingAccesses",
                "externalDataSourceAccesses",
                "fieldPermissions",
                "flowAccesses",
                "objectPermissions",
                "pageAccesses",
                "recordTypeVisibilities",
                "tabSettings",
                "userPermissions",
            }
        ),
        "Profile": frozenset(
            {
                "applicationVisibilities",
                "classAccesses",
                "customPermissions",
                "fieldPermissions",
                "layoutAssignments",
                "objectPermissions",
                "pageAccesses",
                "recordTypeVisibilities",
                "tabVisibilities",
                "userPermissions",
            }
        ),
        "CustomObject": frozenset({"actionOverrides"}),
    }
)


def _sort_unordered(root: etree._Element, type_name: str, where: str) -> None:
    """Sort, in place, the entries of ``root`` whose order means nothing; the slots they
    occupy stay where they are, so the other elements keep their order."""
    tags = UNORDERED.get(type_name, frozenset())
    elements = [e for e in root if isinstance(e.tag, str)]
    slots = [i for i, e in enumerate(elements) if formats.local_name(e, where) in tags]
    if len(slots) < 2:
        return
    movable = sorted(
        (elements[i] for i in slots),
        key=lambda e: (formats.local_name(e, where), formats.serialize(e, where)),
    )
    for slot, element in zip(slots, movable, strict=True):
        elements[slot] = element
    for element in elements:
        root.append(element)


def _xml_body(root: etree._Element, type_name: str, where: str) -> bytes:
    _sort_unordered(root, type_name, where)
    return formats.serialize(root, where)


def _file_body(file: MetadataFile, entry: formats.MdapiPath, type_name: str) -> bytes:
    """A file's comparable form: XML normalised; Apex, resources and other content as is."""
    is_xml = (
        entry.is_meta
        or entry.is_folder
        or (entry.type.is_bundle and file.path.endswith(".xml"))
        or not (entry.type.has_content or entry.type.is_bundle)
    )
    if not is_xml:
        return file.content
    where = formats.describe(file)
    return _xml_body(xmlsafe.parse(file.content, where), type_name, where)


def _object_bodies(file: MetadataFile, name: str) -> dict[ComponentRef, bytes]:
    """An object file split into its own part (when it has one) and one body per child."""
    where = formats.describe(file)
    root = xmlsafe.parse(file.content, where)
    out: dict[ComponentRef, bytes] = {}
    own_content = False
    for child, child_name, element in formats.object_entries(root, where):
        if child is None:
            own_content = own_content or formats.local_name(element, where) != "fullName"
            continue
        root.remove(element)
        body = _xml_body(formats.new_element(child.type, element), child.type, where)
        out[ComponentRef(child.type, f"{name}.{child_name}")] = body
    if own_content:
        out[ComponentRef("CustomObject", name)] = _xml_body(root, "CustomObject", where)
    return out


def bodies(files: Sequence[MetadataFile]) -> dict[ComponentRef, bytes]:
    """One normalised body per component of an mdapi file list (manifests left out).

    A component made of several files (an Apex class and its ``-meta.xml``, a bundle) gets
    one body: each file's normalised content after a line naming it, in path order."""
    parts: dict[ComponentRef, list[tuple[str, bytes]]] = {}
    out: dict[ComponentRef, bytes] = {}
    for file in sorted(files, key=lambda f: f.path):
        if file.path in MANIFEST_NAMES:
            continue
        entry = formats.parse_mdapi_path(file)
        if entry.type.children and not entry.is_meta:
            out.update(_object_bodies(file, entry.name))
            continue
        # a folder of an in-folder type is a member of that type, as package.xml lists it
        ref = ComponentRef(entry.type.name, entry.name)
        body_type = entry.type.folder_type if entry.is_folder else entry.type.name
        parts.setdefault(ref, []).append((file.path, _file_body(file, entry, body_type)))
    for ref, pieces in parts.items():
        if len(pieces) == 1:
            out[ref] = pieces[0][1]
        else:
            out[ref] = b"".join(f"--- {path}\n".encode() + body for path, body in pieces)
    return dict(sorted(out.items()))


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def hashes(files: Sequence[MetadataFile]) -> dict[ComponentRef, str]:
    return {ref: digest(body) for ref, body in bodies(files).items()}


def subset(files: Sequence[MetadataFile], keep: Iterable[ComponentRef]) -> list[MetadataFile]:
    """The files holding only the components in ``keep`` (manifests left out).

    Object files are cut down to the kept children, plus the object's own part when the
    CustomObject itself is kept; an object file left with nothing is dropped."""
    wanted = set(keep)
    out: list[MetadataFile] = []
    for file in files:
        if file.path in MANIFEST_NAMES:
            continue
        entry = formats.parse_mdapi_path(file)
        if entry.type.children and not entry.is_meta:
            cut = _cut_object(file, entry.name, wanted)
            if cut is not None:
                out.append(cut)
        elif ComponentRef(entry.type.name, entry.name) in wanted:
            out.append(file)
    return sorted(out, key=lambda f: f.path)


def _cut_object(file: MetadataFile, name: str, wanted: set[ComponentRef]) -> MetadataFile | None:
    where = formats.describe(file)
    root = xmlsafe.parse(file.content, where)
    keep_own = ComponentRef("CustomObject", name) in wanted
    kept_children = 0
    for child, child_name, element in formats.object_entries(root, where):
        if child is None:
            if not keep_own and formats.local_name(element, where) != "fullName":
                root.remove(element)
        elif ComponentRef(child.type, f"{name}.{child_name}") in wanted:
            kept_children += 1
        else:
            root.remove(element)
    if not keep_own and not kept_children:
        return None
    return MetadataFile(file.path, formats.serialize(root, where), file.origin)


def unified_diff(old: bytes | None, new: bytes | None, label: str) -> str:
    """A unified diff from the org's body to the package's (None: absent on that side)."""
    before = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = (new or b"").decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"org/{label}" if old is not None else "/dev/null",
            tofile=f"package/{label}" if new is not None else "/dev/null",
        )
    )
