"""Metadata API XML read the way an org reads it: the one reader behind ``sftk validate`` and
the local org's deploys.

The WSDL declares every type as an xsd:sequence, but a deploy does not read files that strictly
(reference: SALESFORCE_FACTS.md §7b). Element order is free: the sf CLI itself sends an object's
``<fields>`` after its ``<sharingModel>``. What a deploy does refuse is an element its API
version does not know ("Element X invalid at this location in type Y"), repeated siblings split
by another element ("Element X is duplicated at this location in type Y"), a value that is not
of its type or enumeration, and a missing required text or structure. Real projects that deploy
show where a deploy is looser than the WSDL, and so is this reader: source-format files carry
the tooling namespace and, on their root, an ``fqn`` attribute; an empty or ``xsi:nil`` element
reads as an element left out, and so does a missing boolean, number or enumeration the WSDL
calls required; a translation gives only what it translates; an element the WSDL types as
base64 may hold XML (an LWC's ``<targetConfigs>``); a file is read as the type its name gives
it; text between elements is ignored (a warning says so).

So a file is first checked by lxml against the compiled schema as it stands: a file in schema
order (every file sftk renders) costs nothing more. Only a file that fails is read again,
element by element, over the schema's content models: its groups are checked, what a deploy
ignores is dropped, the rest is put in schema order, and that copy is checked by lxml for
values, enumerations and required elements. The types and enumerations are the compiled
schema's; nothing here copies them.

A package whose API version is newer than the schema may use types, elements and values the
schema does not have yet: those are warnings that say sftk cannot check them, never errors.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from toolkit.metadata import xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.schema import ContentModel, MetadataSchema, version_key
from toolkit.metadata.types import BY_FOLDER, BY_SUFFIX, MANIFEST_NAMES, decomposed_file

TOOLING_NS = "urn:metadata.tooling.soap.sforce.com"
# Namespaces a metadata file's elements may be in; the tooling one occurs in source-format
# files of Salesforce's own sample apps, which deploy.
READABLE_NAMESPACES = (METADATA_NS, TOOLING_NS)

Severity = Literal["error", "warning"]

_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_ROOT_ATTRIBUTES_IGNORED = ("fqn",)  # source-format files name their component on the root
_DESTRUCTIVE_MANIFESTS = MANIFEST_NAMES - {"package.xml"}
_MANIFEST_TYPE = "Package"
# A translation gives only what it translates: the elements the WSDL says every translation of
# a thing has are left out freely (NPSP's deployed translations of lookup filters give an
# informational message and no error message, both "required").
_TRANSLATION_ENDINGS = ("Translation", "Translations")
_MD = f"{{{METADATA_NS}}}"
_NS_NOISE = re.compile(r"\{[^}'\s]*:[^}'\s]*\}")  # {uri} before a name, not a {'set'}
_ELEMENT_RE = re.compile(r"^Element '(?:\{[^}]*\})?([^']+)'")
_ENUMERATION = "[facet 'enumeration']"
_NEWER_HINT = "check it against your org: sftk validate --wsdl <the Metadata WSDL of your org>"
# lxml's words for a content model broken by a missing element, once the reader has put the
# elements in order and dropped the unknown ones: the reader judges required elements itself.
_CONTENT_MODEL = ("This element is not expected", "Missing child element(s)")


@dataclass(frozen=True)
class SchemaProblem:
    """One thing an org would refuse (or that sftk cannot check) in a file, located well
    enough for a person to open the file and fix it."""

    path: str
    line: int
    element: str
    message: str
    severity: Severity = "error"
    hint: str = ""  # what to do, when it is not "make it match the schema"


def read_file(
    file: MetadataFile, schema: MetadataSchema, api_version: str | None = None
) -> list[SchemaProblem]:
    """Every problem of one file; a file that is not XML at all is one problem too."""
    try:
        root = etree.fromstring(file.content, xmlsafe.parser())
    except etree.XMLSyntaxError as exc:
        return [SchemaProblem(file.path, exc.lineno or 0, "", f"not well-formed XML: {exc.msg}")]
    line = xmlsafe.doctype_line(root, file.content)
    if line is not None:
        return [
            SchemaProblem(file.path, line, "", xmlsafe.DOCTYPE_REFUSED, hint=xmlsafe.DOCTYPE_HINT)
        ]
    return read_tree(root, file.path, schema, api_version)


def read_tree(
    root: etree._Element, path: str, schema: MetadataSchema, api_version: str | None = None
) -> list[SchemaProblem]:
    """Like ``read_file`` for a caller that already parsed the file; ``path`` names it.

    ``api_version`` is the version the package deploys with; when it is newer than the
    schema's, what the schema does not know is a warning. ``root`` is never changed.
    """
    name = etree.QName(root)
    line = _line(root)
    newer = api_version is not None and _newer(api_version, schema.api_version)
    if name.namespace not in READABLE_NAMESPACES and not (
        name.namespace is None and decomposed_file(path) is not None
    ):
        found = f"namespace {name.namespace}" if name.namespace else "no namespace"
        return [
            SchemaProblem(
                path,
                line,
                name.localname,
                f"root element <{name.localname}> must be in namespace {METADATA_NS}, "
                f"it has {found}",
            )
        ]
    if name.localname not in schema.root_types:
        if newer:
            return [_cannot_check(path, line, name.localname, "type", schema, api_version)]
        return [
            SchemaProblem(
                path,
                line,
                name.localname,
                f"root element <{name.localname}> is not a Metadata API type "
                f"(API {schema.api_version})",
            )
        ]
    type_name = _named_type(path, schema) or name.localname
    if (
        name.namespace == METADATA_NS
        and type_name == name.localname
        and _top_level_in_order(root, _positions(schema, type_name))
        and not schema.errors(root)
    ):
        return []  # in schema order and valid as it stands: the usual case, all in C
    destructive = path.rpartition("/")[2] in _DESTRUCTIVE_MANIFESTS
    reader = _Reader(path, schema, api_version if newer else None, destructive)
    problems = reader.read(root, type_name)
    for entry in schema.errors(reader.copy):
        if not any(words in entry.message for words in _CONTENT_MODEL):
            problems.append(_lxml_problem(path, entry, reader.newer_version))
    return sorted(problems, key=lambda p: (p.line, p.element, p.message))


class _Reader:
    """One failing file, read element by element into a copy that lxml can judge."""

    copy: etree._Element  # made by ``read``

    def __init__(
        self, path: str, schema: MetadataSchema, newer_version: str | None, destructive: bool
    ) -> None:
        self.path = path
        self.schema = schema
        self.models = schema.content_models
        self.required = _required_children(schema)
        self.check_required = True
        self.destructive = destructive  # a destructive manifest, which needs no <version>
        self.newer_version = newer_version  # the package's version, when newer than the schema
        self.problems: list[SchemaProblem] = []
        self.prefix = _MD
        self.names: dict[str, str] = {}  # tag -> local name in the file's namespace, or ""

    def read(self, root: etree._Element, type_name: str) -> list[SchemaProblem]:
        """Read ``root`` as a ``type_name`` (its own name, unless the file's name says
        otherwise) into ``self.copy``; returns what the reading found."""
        self.copy = copy.deepcopy(root)
        qname = etree.QName(self.copy)
        self.prefix = "" if qname.namespace is None else f"{{{qname.namespace}}}"
        self.copy.tag = _MD + type_name
        if type_name != qname.localname:
            self.problems.append(
                SchemaProblem(
                    self.path,
                    _line(root),
                    qname.localname,
                    f"the root element is <{qname.localname}>, but the file's name makes it a "
                    f"{type_name}, which is how a deploy reads it",
                    "warning",
                    f"name the root element <{type_name}>, or rename the file",
                )
            )
        for attribute in _ROOT_ATTRIBUTES_IGNORED:
            if attribute in self.copy.attrib:
                del self.copy.attrib[attribute]
        self.check_required = not type_name.endswith(_TRANSLATION_ENDINGS)
        self._walk(self.copy, type_name, self.models[type_name])
        return self.problems

    def _local(self, tag: str) -> str | None:
        """The local name of a tag in the file's namespace, None for any other namespace."""
        if not self.prefix:
            return None if tag.startswith("{") else tag
        return tag[len(self.prefix) :] if tag.startswith(self.prefix) else None

    def _walk(self, element: etree._Element, type_name: str, model: ContentModel) -> None:
        """Check and normalise the children of ``element``, an instance of ``type_name``."""
        text = element.text
        if text is not None and not text.isspace():
            self._stray(element, text)
            element.text = None
        names = self.names
        rename = self.prefix != _MD
        kept: list[tuple[int, etree._Element]] = []
        seen: set[str] = set()  # every name met, for the groups
        present: set[str] = set()  # the names kept, for the required elements
        previous: str | None = None
        in_order = True
        last = -1
        for child in list(element):
            tail = child.tail
            if tail is not None and not tail.isspace():
                self._stray(element, tail)
                child.tail = None
            tag = child.tag
            if not isinstance(tag, str):
                element.remove(child)  # a comment or processing instruction
                continue
            name = names.get(tag)
            if name is None:
                name = names[tag] = self._local(tag) or ""
            decl = model.get(name)
            if decl is None:
                self._unknown(child, name or etree.QName(child).localname, type_name)
                element.remove(child)
                continue
            if name != previous or not decl.repeatable:
                if name in seen:
                    self._duplicated(child, name, type_name, decl.repeatable)
                    if not decl.repeatable:
                        element.remove(child)
                        continue
                seen.add(name)
                previous = name
            if rename:
                child.tag = _MD + name
            kind = decl.kind
            if child.get(_XSI_NIL) in ("true", "1"):
                if not decl.nillable:
                    element.remove(child)  # read as left out
                    continue
            elif kind == "value" and _no_value(child):
                element.remove(child)  # read as left out
                continue
            elif kind == "complex":
                self._walk(child, decl.type, self.models[decl.type])
            elif kind == "binary" and len(child):
                del child[:]  # XML where the WSDL says base64 (LWC targetConfigs): not checked
                child.text = None
            if decl.position < last:
                in_order = False
            last = decl.position
            kept.append((decl.position, child))
            present.add(name)
        if not in_order:
            kept.sort(key=lambda pair: pair[0])
            element[:] = [child for _, child in kept]
        if self.check_required and not (self.destructive and type_name == _MANIFEST_TYPE):
            for name in self.required[type_name]:
                if name not in present:
                    self._missing(element, name, type_name)

    def _missing(self, element: etree._Element, name: str, type_name: str) -> None:
        tag = etree.QName(element).localname
        self.problems.append(
            SchemaProblem(
                self.path,
                _line(element),
                tag,
                f"Element {tag} has no <{name}>, which type {type_name} requires",
            )
        )

    def _unknown(self, child: etree._Element, name: str, type_name: str) -> None:
        if self.newer_version is not None:
            self.problems.append(
                _cannot_check(
                    self.path, _line(child), name, "element", self.schema, self.newer_version
                )
            )
            return
        self.problems.append(
            SchemaProblem(
                self.path,
                _line(child),
                name,
                f"Element {name} invalid at this location in type {type_name} "
                f"(the API {self.schema.api_version} schema has no <{name}> there)",
            )
        )

    def _duplicated(
        self, child: etree._Element, name: str, type_name: str, repeatable: bool
    ) -> None:
        why = (
            f"repeated <{name}> elements must stand together, with no other element between them"
            if repeatable
            else f"a {type_name} has one <{name}>"
        )
        self.problems.append(
            SchemaProblem(
                self.path,
                _line(child),
                name,
                f"Element {name} is duplicated at this location in type {type_name}: {why}",
            )
        )

    def _stray(self, element: etree._Element, text: str) -> None:
        name = etree.QName(element).localname
        self.problems.append(
            SchemaProblem(
                self.path,
                _line(element),
                name,
                f"text {text.strip()[:40]!r} inside <{name}>, between its elements, is not "
                "metadata: a deploy ignores it",
                "warning",
                "remove the text",
            )
        )


@functools.lru_cache(maxsize=8)
def _required_children(schema: MetadataSchema) -> dict[str, tuple[str, ...]]:
    """By complex type, the required children a deploy refuses to do without: texts and
    structures. A missing boolean, number, date or enumeration is read as its default (real
    projects that deploy leave out ApexClass <status> and CustomPermission <isLicensed>)."""
    return {
        type_name: tuple(
            name
            for name, decl in model.items()
            if decl.required and decl.kind in ("string", "complex")
        )
        for type_name, model in schema.content_models.items()
    }


@functools.lru_cache(maxsize=64)
def _newer(api_version: str, schema_version: str) -> bool:
    return version_key(api_version) > version_key(schema_version)


@functools.lru_cache(maxsize=1024)
def _positions(schema: MetadataSchema, type_name: str) -> dict[str, int]:
    """A type's children by tag as lxml gives it (``{namespace}name``), with their places in
    its sequence."""
    return {_MD + name: decl.position for name, decl in schema.content_models[type_name].items()}


def _top_level_in_order(root: etree._Element, positions: dict[str, int]) -> bool:
    """Whether the root's children are known and in sequence order, so lxml may well take the
    file as it stands. A file that is not (an object with its fields last, a translation) goes
    to the reader without first failing lxml's validation, which costs as much as a pass."""
    last = -1
    for child in root.iterchildren(tag=etree.Element):
        position = positions.get(child.tag)
        if position is None or position < last:
            return False
        last = position
    return True


def _cannot_check(
    path: str, line: int, name: str, what: str, schema: MetadataSchema, api_version: str | None
) -> SchemaProblem:
    return SchemaProblem(
        path,
        line,
        name,
        f"cannot check {what} <{name}>: the API {schema.api_version} schema sftk has does not "
        f"know it, and the package deploys with API {api_version}, which may",
        "warning",
        _NEWER_HINT,
    )


def _lxml_problem(path: str, entry: etree._LogEntry, newer_version: str | None) -> SchemaProblem:
    message = _NS_NOISE.sub("", entry.message)
    match = _ELEMENT_RE.match(entry.message)
    element = match.group(1) if match else ""
    if newer_version is not None and _ENUMERATION in message:
        return SchemaProblem(
            path,
            entry.line,
            element,
            f"cannot check the value of <{element}>: {message} (the package deploys with API "
            f"{newer_version}, which may allow it)",
            "warning",
            _NEWER_HINT,
        )
    return SchemaProblem(path, entry.line, element, message)


def _no_value(element: etree._Element) -> bool:
    """Whether an element that should hold a number, boolean, date or enumeration holds none
    (maybe a comment): a deploy reads it as left out, as it reads ``xsi:nil``."""
    text = element.text
    if text is not None and not text.isspace():
        return False
    if not len(element):
        return True
    if any(isinstance(child.tag, str) for child in element):
        return False
    return all(not str(piece).strip() for piece in element.itertext())


def _named_type(path: str, schema: MetadataSchema) -> str | None:
    """The metadata type a file's name gives it (``X.featureParameterInteger-meta.xml``), which
    is what a deploy reads it as, whatever its root element is called. A bundle's files are
    named for their part of the bundle (an Aura app's ``X.app-meta.xml``), not for a type."""
    parts = path.split("/")
    bundle = BY_FOLDER.get(parts[-3]) if len(parts) >= 3 else None
    if bundle is not None and bundle.is_bundle:
        return None
    suffix = parts[-1].removesuffix("-meta.xml").rpartition(".")[2]
    named = BY_SUFFIX.get(suffix)
    return named if named in schema.root_types else None


def _line(element: etree._Element) -> int:
    line = element.sourceline
    return line if isinstance(line, int) else 0
