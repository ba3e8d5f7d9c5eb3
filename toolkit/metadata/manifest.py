"""package.xml and destructive manifests: which components a package holds or deletes.

A manifest is derived from the files, never written by hand, so that what is listed and what
is shipped cannot drift apart. Components are named ``Type:FullName`` on the command line
(``CustomField:Contact.Old__c``), the way the Salesforce CLI names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from toolkit.errors import ConfigError
from toolkit.metadata import formats, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.types import BY_NAME, MANIFEST_NAMES, OBJECT_CHILDREN

DESTRUCTIVE_FILE: Mapping[str, str] = MappingProxyType(
    {
        "default": "destructiveChanges.xml",
        "pre": "destructiveChangesPre.xml",
        "post": "destructiveChangesPost.xml",
    }
)

CHILD_TYPES = frozenset(c.type for c in OBJECT_CHILDREN)
KNOWN_TYPES = tuple(sorted(set(BY_NAME) | CHILD_TYPES))
_KNOWN_TYPE_SET = frozenset(KNOWN_TYPES)  # a package names tens of thousands of components


@dataclass(frozen=True, order=True)
class ComponentRef:
    """One component, as package.xml names it: a type and a full name.

    Children of objects are named ``Object.Child`` (``Contact.Old__c``); the check lives in
    the constructor so that no invalid reference can reach a manifest.
    """

    type: str
    full_name: str

    def __post_init__(self) -> None:
        if self.type not in _KNOWN_TYPE_SET:
            raise ConfigError(
                f"unknown metadata type {self.type!r} in {self}",
                hint=f"known types: {', '.join(KNOWN_TYPES)}",
            )
        if not self.full_name or self.full_name != self.full_name.strip():
            raise ConfigError(
                f"{self}: the component name is empty or has surrounding spaces",
                hint="write the name as Salesforce shows it, e.g. CustomObject:Course__c",
            )
        if self.type in CHILD_TYPES:
            parent, _, child = self.full_name.partition(".")
            if not parent or not child:
                raise ConfigError(
                    f"{self}: a {self.type} is named Object.Name",
                    hint=f"e.g. {self.type}:Contact.Name_Of_It__c",
                )

    def __str__(self) -> str:
        return f"{self.type}:{self.full_name}"

    @classmethod
    def parse(cls, text: str) -> ComponentRef:
        """Read ``Type:FullName`` as typed by a user (surrounding spaces are ignored)."""
        type_name, sep, full_name = text.partition(":")
        if not sep:
            raise ConfigError(
                f"{text!r} is not a component reference",
                hint="write Type:FullName, e.g. CustomField:Contact.Old__c",
            )
        return cls(type_name.strip(), full_name.strip())


def components_of(
    files: Sequence[MetadataFile], known: Mapping[str, Iterable[tuple[str, str]]] | None = None
) -> list[ComponentRef]:
    """The components an mdapi file list holds: one per file, plus each child of an object.

    An object file that only carries children (custom fields added to Contact) is a container,
    not a CustomObject component of its own, as Salesforce's own tooling lists it. ``known``
    gives the (type, full name) pairs of object files whose components the caller knows
    (sftk's own templates wrote them), by path; other object files are parsed.
    """
    known = known or {}
    # Names are gathered per type, so that tens of thousands of them sort as plain strings
    # (the fastest sort there is) rather than as pairs; a ComponentRef (which checks itself)
    # is made once per component at the end, in order.
    found: dict[str, set[str]] = {}

    def add(type_name: str, name: str) -> None:
        found.setdefault(type_name, set()).add(name)

    for file in files:
        if file.path in MANIFEST_NAMES:
            continue
        entry = formats.parse_mdapi_path(file)
        if entry.is_meta:
            continue
        if not entry.type.children:
            add(entry.type.name, entry.name)
            continue
        if file.path in known:
            for type_name, name in known[file.path]:
                add(type_name, name)
            continue
        children, container_only = formats.object_children(file.content, formats.describe(file))
        if not container_only:
            add(entry.type.name, entry.name)
        prefix = entry.name + "."
        for child, name in children:
            add(child.type, prefix + name)
    return [
        ComponentRef(type_name, name)
        for type_name in sorted(found)
        for name in sorted(found[type_name])
    ]


def listed(content: bytes, where: str) -> list[ComponentRef]:
    """The components a package.xml or delete manifest names (wildcards as written)."""
    root = xmlsafe.parse(content, where)
    found: set[ComponentRef] = set()
    for types in root.iterchildren(f"{{{METADATA_NS}}}types"):
        type_name = (types.findtext(f"{{{METADATA_NS}}}name") or "").strip()
        for member in types.iterchildren(f"{{{METADATA_NS}}}members"):
            found.add(ComponentRef(type_name, (member.text or "").strip()))
    return sorted(found)


def _package(components: Iterable[ComponentRef], api_version: str | None) -> bytes:
    """The manifest in the house style of ``formats.serialize``, written as text directly.

    A package.xml lists every component, tens of thousands in a large package: building an
    element per member only to walk them again to serialise cost more than the rest of it.
    The tests pin the bytes to what ``formats.serialize`` writes.
    """
    by_type: dict[str, set[str]] = {}
    for ref in components:
        by_type.setdefault(ref.type, set()).add(ref.full_name)
    lines: list[str] = []
    for type_name in sorted(by_type):
        lines.append("    <types>")
        members = sorted(by_type[type_name])
        if xmlsafe.NEEDS_CARE.search("".join(members)) is not None:
            members = [_text(member) for member in members]
        lines.extend(f"        <members>{member}</members>" for member in members)
        lines.append(f"        <name>{_text(type_name)}</name>")
        lines.append("    </types>")
    if api_version is not None:
        lines.append(f"    <version>{_text(api_version)}</version>")
    if not lines:
        return formats.XML_DECLARATION + f'<Package xmlns="{METADATA_NS}"/>\n'.encode()
    body = "\n".join([f'<Package xmlns="{METADATA_NS}">', *lines, "</Package>\n"])
    return formats.XML_DECLARATION + body.encode("utf-8")


def _text(value: str) -> str:
    """Element text as ``formats.serialize`` writes it; text XML 1.0 cannot carry is refused."""
    illegal = xmlsafe.ILLEGAL_XML.search(value)
    if illegal is not None:
        raise ConfigError(
            f"component name {value!r} has U+{ord(illegal.group()):04X}, which XML 1.0 cannot "
            "carry",
            hint="rename the component: XML 1.0 allows no control characters but tab, newline "
            "and carriage return",
        )
    return xmlsafe.escape_text(value)


def package_xml(components: Iterable[ComponentRef], api_version: str) -> bytes:
    """The package.xml listing ``components``; its version is the API version of the deploy."""
    formats.check_api_version(api_version)
    return _package(components, api_version)


def empty_package_xml(api_version: str) -> bytes:
    """The package.xml that must accompany a delete-only deploy: no types, only a version."""
    return package_xml((), api_version)


def destructive_xml(components: Iterable[ComponentRef]) -> bytes:
    """A delete manifest in its documented form, which has no ``<version>``."""
    components = list(components)
    wildcard = next((ref for ref in components if "*" in ref.full_name), None)
    if wildcard is not None:
        raise ConfigError(
            f"{wildcard}: delete manifests do not accept wildcards",
            hint="list each component to delete by its full name",
        )
    return _package(components, None)
