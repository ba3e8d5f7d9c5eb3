"""The Metadata API schema, built from the Metadata WSDL: compiled for lxml, and read into a
table of content models for the reader (toolkit.metadata.reading).

The schema is never written by hand: it is cut out of a Metadata WSDL (the newest one sftk
ships in ``toolkit/metadata/wsdl/``, public from forcedotcom/wsdl, or one the user downloaded
from their own org), turned into a stand-alone XSD that can validate a file whose root is a
metadata type, and cached on disk so later runs skip the build.

The WSDL was written for SOAP messages, not for files, so the XSD differs from it in three ways:
the namespace prefixes the WSDL declares on ``<definitions>`` are re-declared on the schema, every
type derived from ``Metadata`` gets a global element so it can be a document root (as do the
children source format gives files of their own), and nothing else changes: how loosely an org
reads files is the reader's business, not the schema's.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import logging
import lzma
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal, NamedTuple, cast

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.fsio import read_regular_file
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import METADATA_NS
from toolkit.metadata.types import DECOMPOSED_ROOTS, MANIFEST_NAMES, METADATA_TYPES

# Part of the cache key: bump it whenever build_xsd changes what it writes, so stale caches die.
BUILDER_VERSION = "2"

# The WSDLs sftk ships, one per API version (``metadata-66.0.wsdl.xz``), with their licence.
SHIPPED_WSDL_DIR = Path(__file__).parent / "wsdl"

_log = logging.getLogger(__name__)

_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_XS = f"{{{_XSD_NS}}}"

_BASE_TYPE = "Metadata"

_XZ_MAGIC = b"\xfd7zXZ\x00"
_PROLOG_BYTES = 4096  # the header comment with the API version sits in the first few lines
_VERSION_RE = re.compile(r"API version\s+(\d+\.\d+)", re.IGNORECASE)
_COMMENT_RE = re.compile(rb"<!--(.*?)-->", re.DOTALL)
_FIRST_ELEMENT_RE = re.compile(rb"<[A-Za-z_]")

# (mdapi folder, suffix) of the types whose one file is the XML itself; content types such as
# classes/X.cls keep their XML in a separate -meta.xml file, and of a bundle's files only its
# -meta.xml is metadata XML. In-folder types (reports/F/R.report) sit one folder further down.
_XML_FILE_KINDS = frozenset(
    (t.folder, t.suffix) for t in METADATA_TYPES if t.kind == "file" and not t.in_folder
)
_IN_FOLDER_XML_KINDS = frozenset(
    (t.folder, t.suffix) for t in METADATA_TYPES if t.kind == "file" and t.in_folder
)


def shipped_wsdls() -> dict[str, Path]:
    """The Metadata WSDLs shipped with sftk, by the API version their header names."""
    found = {wsdl_api_version(path): path for path in SHIPPED_WSDL_DIR.glob("metadata-*.wsdl.xz")}
    if not found:
        raise ConfigError(
            f"no Metadata WSDL in {SHIPPED_WSDL_DIR}: this installation of sftk is incomplete",
            hint="reinstall sftk (pip install --force-reinstall sftk), or pass --wsdl FILE",
        )
    return found


def bundled_wsdl_path() -> Path:
    """The newest Metadata WSDL sftk ships: the default schema, no download needed."""
    shipped = shipped_wsdls()
    return shipped[max(shipped, key=version_key)]


def wsdl_for(api_version: str | None) -> Path:
    """The shipped WSDL to read a package of ``api_version`` with: the oldest one that is not
    older than the package, else the newest (whose reader then warns about what it cannot
    check). None picks the newest."""
    shipped = shipped_wsdls()
    versions = sorted(shipped, key=version_key)
    wanted = version_key(api_version) if api_version else None
    if wanted is not None:
        for version in versions:
            if version_key(version) >= wanted:
                return shipped[version]
    return shipped[versions[-1]]


def version_key(api_version: str) -> tuple[int, int]:
    """``"66.0"`` -> ``(66, 0)``, to compare API versions as numbers; (0, 0) if not a version."""
    major, _, minor = api_version.strip().partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return 0, 0


def read_wsdl(path: Path) -> bytes:
    """A WSDL's XML, decompressed when the file is xz-compressed (as sftk ships them)."""
    return _decompressed(_read_wsdl(path), path)


def wsdl_api_version(wsdl: Path) -> str:
    """The API version a WSDL was generated for, as Salesforce writes it in the header comment."""
    return _api_version(_prolog(_read_wsdl(wsdl)), wsdl)


def default_cache_dir() -> Path:
    """Where built schemas live between runs, following the XDG convention unless overridden."""
    override = os.environ.get("SFTK_CACHE_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "sftk"


def is_xml_metadata(path: str) -> bool:
    """Whether a package file is metadata XML the schema can judge (content files are not)."""
    parts = path.split("/")
    name = parts[-1]
    if name in MANIFEST_NAMES or name.endswith("-meta.xml"):
        return True
    stem, dot, suffix = name.rpartition(".")
    if not (dot and stem):
        return False
    if len(parts) >= 2 and (parts[-2], suffix) in _XML_FILE_KINDS:
        return True
    return len(parts) >= 3 and (parts[-3], suffix) in _IN_FOLDER_XML_KINDS


def build_xsd(wsdl: bytes, where: str) -> bytes:
    """Turn the Metadata WSDL into a stand-alone XSD whose metadata types can be document roots.

    ``where`` names the WSDL in error messages. The result is deterministic for a given WSDL.
    """
    definitions = xmlsafe.parse(wsdl, where)
    source = _metadata_schema_element(definitions, where)
    nsmap = dict(source.nsmap)
    tns_prefix = next((p for p, uri in nsmap.items() if p and uri == METADATA_NS), None)
    if tns_prefix is None:
        tns_prefix = "tns"
        while tns_prefix in nsmap:
            tns_prefix += "_"
        nsmap[tns_prefix] = METADATA_NS
    # A deep copy of the schema alone would lose the prefixes declared on <definitions> that
    # QName attribute values (type="tns:ID") rely on, so the new root declares them all.
    schema = etree.Element(f"{_XS}schema", nsmap=nsmap)  # type: ignore[arg-type]
    for name, value in source.attrib.items():
        schema.set(name, value)
    for child in source:
        if isinstance(child.tag, str):
            schema.append(copy.deepcopy(child))
    root_types = _root_type_names(schema)
    if not root_types:
        raise ConfigError(
            f"{where}: the metadata schema has no types derived from {_BASE_TYPE}",
            hint="use the Metadata WSDL (Setup > API > Generate Metadata WSDL)",
        )
    existing = {e.get("name") for e in schema.iterfind(f"{_XS}element")}
    for name in sorted(root_types - existing):
        etree.SubElement(schema, f"{_XS}element", name=name, type=f"{tns_prefix}:{name}")
    return etree.tostring(schema, encoding="UTF-8", xml_declaration=True)


ChildKind = Literal["complex", "string", "binary", "any", "value"]


class ChildDecl(NamedTuple):
    """One child element a complex type allows, as its xsd:sequence declares it.

    ``position`` is its place in the sequence, the base type's elements first; ``type`` names a
    complex type of the schema when ``kind`` is "complex". ``kind`` says how its content is
    read: "string" text, "binary" base64 text (or, in source files, embedded XML), "any" content
    nobody checks, "value" a number, boolean, date or enumeration.
    """

    position: int
    type: str
    kind: ChildKind
    repeatable: bool
    required: bool
    nillable: bool


# A complex type's content model: child element name -> its declaration.
ContentModel = Mapping[str, ChildDecl]


class MetadataSchema:
    """A Metadata API schema; get it with ``load`` and reuse it for every file.

    A schema read from the cache is compiled when it first checks a file, or in the
    background once a caller says it soon will (``compile_soon``): compiling takes a fraction of
    a second, and lxml releases the GIL meanwhile. The cached XSD was written only after it
    compiled; should it no longer compile, it is built again from the WSDL then.
    """

    def __init__(
        self,
        *,
        wsdl_path: Path,
        api_version: str,
        xsd: bytes,
        tree: etree._Element,
        compiled: etree.XMLSchema | None,
        rebuild: Callable[[], MetadataSchema] | None = None,
    ) -> None:
        self.wsdl_path = wsdl_path
        self.api_version = api_version
        self._xsd = xsd
        self._tree: etree._Element | None = tree if compiled is None else None
        self._strict = compiled
        self._rebuild = rebuild
        self._compiling: threading.Thread | None = None
        self.root_types = frozenset(_root_type_names(tree))
        # An XMLSchema keeps the last run's errors on itself, so runs must not interleave.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, wsdl: Path | None = None, cache_dir: Path | None = None) -> MetadataSchema:
        """The schema of ``wsdl`` (default: the newest sftk ships), from cache when possible."""
        path = wsdl if wsdl is not None else bundled_wsdl_path()
        data = _read_wsdl(path)
        key = hashlib.sha256(data + BUILDER_VERSION.encode()).hexdigest()
        memo_key = (path.resolve(), key)
        with _MEMO_LOCK:
            found = _MEMO.get(memo_key)
            if found is None:
                folder = (cache_dir if cache_dir is not None else default_cache_dir()) / "schema"
                found = cls._from_cache(folder, key, path, data) or cls._build(
                    folder, key, path, data
                )
                _MEMO[memo_key] = found
            return found

    @classmethod
    def for_version(
        cls, api_version: str | None, wsdl: Path | None = None, cache_dir: Path | None = None
    ) -> MetadataSchema:
        """The schema to read a package of ``api_version`` with: the user's WSDL if given, else
        the shipped one that fits the version best (``wsdl_for``)."""
        return cls.load(wsdl if wsdl is not None else wsdl_for(api_version), cache_dir)

    @classmethod
    def _from_cache(cls, folder: Path, key: str, path: Path, data: bytes) -> MetadataSchema | None:
        try:
            xsd = (folder / f"{key}.xsd").read_bytes()
            tree = etree.fromstring(xsd, xmlsafe.parser())
        except (OSError, etree.XMLSyntaxError):
            _log.debug("no usable cached schema %s", folder / f"{key}.xsd")
            return None
        return cls(
            wsdl_path=path,
            api_version=_api_version(_prolog(data), path),
            xsd=xsd,
            tree=tree,
            compiled=None,
            rebuild=functools.partial(cls._build, folder, key, path, data),
        )

    @classmethod
    def _build(cls, folder: Path, key: str, path: Path, data: bytes) -> MetadataSchema:
        xsd = build_xsd(_decompressed(data, path), str(path))
        tree = etree.fromstring(xsd, xmlsafe.parser())
        try:
            compiled = etree.XMLSchema(tree)
        except etree.XMLSchemaParseError as exc:
            raise ConfigError(
                f"{path}: its metadata schema does not compile: {exc}",
                hint="download the Metadata WSDL again from Setup > API",
            ) from None
        _write_cache(folder, key, xsd)
        return cls(
            wsdl_path=path,
            api_version=_api_version(_prolog(data), path),
            xsd=xsd,
            tree=tree,
            compiled=compiled,
        )

    def errors(self, root: etree._Element) -> list[etree._LogEntry]:
        """What lxml finds wrong with ``root`` against the compiled schema ([] when valid)."""
        with self._lock:
            schema = self._strict_schema()
            if schema.validate(root):
                return []
            return list(cast("Iterable[etree._LogEntry]", schema.error_log))

    @property
    def xsd(self) -> bytes:
        """The stand-alone XSD built from the WSDL, as the cache holds it."""
        return self._xsd

    @functools.cached_property
    def content_models(self) -> Mapping[str, ContentModel]:
        """Every complex type's content model, by type name, read from the XSD once."""
        return _content_models(etree.fromstring(self._xsd, xmlsafe.parser()))

    def compile_soon(self) -> None:
        """Start compiling the schema in a background thread, unless that is done or started.

        For a caller with other work to do before it checks files (parsing them, building the
        model of the package): lxml compiles without the GIL, so that work goes on meanwhile.
        """
        with self._lock:
            if self._strict is None and self._compiling is None:
                self._compiling = threading.Thread(
                    target=self._compile_quietly, name="sftk-schema", daemon=True
                )
                self._compiling.start()

    def _strict_schema(self) -> etree.XMLSchema:
        """The compiled schema, compiling it now if need be; the lock is held."""
        if self._compiling is not None:
            self._compiling.join()
            self._compiling = None
        if self._strict is None:
            self._compile()
        assert self._strict is not None
        return self._strict

    def _compile_quietly(self) -> None:
        # A failure is left for _strict_schema, which compiles again and raises it.
        with contextlib.suppress(Exception):
            self._compile()

    def _compile(self) -> None:
        """Compile the cached XSD, or build it again from the WSDL if it no longer compiles.

        Runs with the lock held, or in the thread of ``compile_soon``, which is joined (under
        the lock) before anything reads what it sets.
        """
        assert self._tree is not None and self._rebuild is not None
        try:
            strict = etree.XMLSchema(self._tree)
        except etree.XMLSchemaParseError:
            _log.debug("cached schema of %s does not compile; building it", self.wsdl_path)
            built = self._rebuild()
            strict = built._strict_schema()
            self._xsd, self.root_types = built._xsd, built.root_types
        self._strict, self._tree = strict, None


_MEMO: dict[tuple[Path, str], MetadataSchema] = {}
_MEMO_LOCK = threading.Lock()


def _read_wsdl(path: Path) -> bytes:
    """The file's bytes as stored (maybe compressed); only a regular file is read, so a FIFO
    given as --wsdl never hangs."""
    hint = "pass the Metadata WSDL downloaded from Setup > API, or omit --wsdl"
    if not os.path.lexists(path):
        raise ConfigError(f"{path}: WSDL file not found", hint=hint)
    return read_regular_file(path, hint=hint)


def _decompressed(data: bytes, path: Path) -> bytes:
    if not data.startswith(_XZ_MAGIC):
        return data
    try:
        return lzma.decompress(data)
    except lzma.LZMAError as exc:
        raise ConfigError(
            f"{path}: the compressed WSDL cannot be read: {exc}",
            hint="download the Metadata WSDL again, or reinstall sftk",
        ) from None


def _prolog(data: bytes) -> bytes:
    """The start of the WSDL's XML, decompressing only that much of a compressed file."""
    if not data.startswith(_XZ_MAGIC):
        return data[:_PROLOG_BYTES]
    try:
        return lzma.LZMADecompressor().decompress(data, max_length=_PROLOG_BYTES)
    except lzma.LZMAError:
        return b""  # reported as a WSDL without a version header


def _api_version(data: bytes, path: Path) -> str:
    first = _FIRST_ELEMENT_RE.search(data)
    prolog = data[: first.start()] if first else data
    for comment in _COMMENT_RE.findall(prolog):
        match = _VERSION_RE.search(comment.decode("utf-8", "replace"))
        if match:
            return match.group(1)
    raise ConfigError(
        f"{path}: no 'Metadata API version NN.0' header comment, so its API version is unknown",
        hint="use the WSDL exactly as Salesforce generated it (Setup > API)",
    )


def _metadata_schema_element(definitions: etree._Element, where: str) -> etree._Element:
    for schema in definitions.iterfind(f"{{{_WSDL_NS}}}types/{_XS}schema"):
        if schema.get("targetNamespace") != METADATA_NS:
            continue
        for tag in ("import", "include", "redefine"):
            if schema.find(f"{_XS}{tag}") is not None:
                raise ConfigError(
                    f"{where}: the metadata schema has an <xsd:{tag}>, which sftk will not fetch",
                    hint="use the Metadata WSDL as Salesforce generates it (Setup > API)",
                )
        return schema
    raise ConfigError(
        f"{where}: no <types>/<xsd:schema> with targetNamespace {METADATA_NS}; "
        "this is not a Metadata API WSDL",
        hint="download the Metadata WSDL (not Partner or Enterprise) from Setup > API",
    )


def _type_ref(element: etree._Element, attribute: str) -> tuple[str | None, str]:
    """The namespace and local name of a QName-valued attribute (``type="tns:ID"``)."""
    prefix, _, local = (element.get(attribute) or "").rpartition(":")
    return element.nsmap.get(prefix or None), local


def _root_type_names(schema: etree._Element) -> set[str]:
    """The types a file's root may be: complex types derived, directly or not, from Metadata
    (the kinds of metadata file), and the children source format gives files of their own."""
    bases: dict[str, str] = {}
    for complex_type in schema.iterfind(f"{_XS}complexType"):
        name = complex_type.get("name")
        derivation = complex_type.find(f"{_XS}complexContent/*")
        if name and derivation is not None:
            namespace, base = _type_ref(derivation, "base")
            if namespace == METADATA_NS and base:
                bases[name] = base
    derived = set()
    for name in bases:
        seen = {name}
        current = bases[name]
        while current != _BASE_TYPE and current in bases and current not in seen:
            seen.add(current)
            current = bases[current]
        if current == _BASE_TYPE:
            derived.add(name)
    declared = {t.get("name") for t in schema.iterfind(f"{_XS}complexType")}
    return derived | (DECOMPOSED_ROOTS.keys() & declared)


_XSD_KINDS: Mapping[str, ChildKind] = {
    "string": "string",
    "base64Binary": "binary",
    "anyType": "any",
}


def _content_models(schema: etree._Element) -> dict[str, ContentModel]:
    """Each complex type's children in sequence order, its base type's children first."""
    own: dict[str, list[etree._Element]] = {}
    bases: dict[str, str] = {}
    for complex_type in schema.iterfind(f"{_XS}complexType"):
        name = complex_type.get("name")
        if not name:
            continue
        derivation = complex_type.find(f"{_XS}complexContent/*")
        holder = complex_type if derivation is None else derivation
        if derivation is not None:
            namespace, base = _type_ref(derivation, "base")
            if namespace == METADATA_NS:
                bases[name] = base
        own[name] = list(holder.iterfind(f"{_XS}sequence/{_XS}element"))

    def chain(name: str) -> list[etree._Element]:
        seen: list[str] = []
        while name in own and name not in seen:
            seen.append(name)
            name = bases.get(name, "")
        return [element for type_name in reversed(seen) for element in own[type_name]]

    models: dict[str, ContentModel] = {}
    for name in own:
        model: dict[str, ChildDecl] = {}
        for element in chain(name):
            child = element.get("name")
            if not child or child in model:
                continue
            namespace, type_name = _type_ref(element, "type")
            if namespace == METADATA_NS and type_name in own:
                kind: ChildKind = "complex"
            elif namespace == _XSD_NS:
                kind = _XSD_KINDS.get(type_name, "value")
            else:
                kind = "value"
            model[child] = ChildDecl(
                position=len(model),
                type=type_name,
                kind=kind,
                repeatable=element.get("maxOccurs", "1") != "1",
                required=element.get("minOccurs", "1") != "0",
                nillable=element.get("nillable") == "true",
            )
        models[name] = model
    return models


def _write_cache(folder: Path, key: str, xsd: bytes) -> None:
    """Store the built XSD atomically; a cache that cannot be written only costs a rebuild."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(xsd)
            os.replace(temp, folder / f"{key}.xsd")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        _log.debug("schema cache %s not written: %s", folder, exc)
