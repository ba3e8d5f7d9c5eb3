"""What the Metadata API is asked and answers about retrieves, listMetadata and describeMetadata,
as typed values.

The shapes follow the Metadata WSDL (RetrieveRequest, RetrieveResult, FileProperties,
RetrieveMessage, ListMetadataQuery, DescribeMetadataResult, DescribeMetadataObject) with Python
names, like ``results`` does for deploys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import METADATA_NS

# RetrieveStatus values; the first two are not final.
RETRIEVE_PENDING_STATUSES = ("Pending", "InProgress")


@dataclass(frozen=True)
class RetrieveRequest:
    """What to retrieve: ``types`` maps a metadata type to its members, as package.xml does
    (``*`` for all); ``api_version`` None means the connection's version."""

    types: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    api_version: str | None = None
    single_package: bool = True
    package_names: tuple[str, ...] = ()

    @classmethod
    def from_package_xml(
        cls, content: bytes, *, single_package: bool = True, where: str = "package.xml"
    ) -> RetrieveRequest:
        """The request a package.xml describes; its ``<version>`` becomes the API version."""
        root = xmlsafe.parse(content, where)
        if etree.QName(root).text != f"{{{METADATA_NS}}}Package":
            raise ConfigError(
                f"{where}: the root element must be Package in {METADATA_NS}",
                hint="start from a package.xml that Salesforce or sftk wrote",
            )
        types: dict[str, tuple[str, ...]] = {}
        for entry in root.iterchildren(f"{{{METADATA_NS}}}types"):
            name = (entry.findtext(f"{{{METADATA_NS}}}name") or "").strip()
            if not name:
                raise ConfigError(
                    f"{where}:{entry.sourceline}: a types entry has no name",
                    hint="add <name>TypeName</name> to the entry",
                )
            members = tuple(
                (m.text or "").strip() for m in entry.iterchildren(f"{{{METADATA_NS}}}members")
            )
            types[name] = types.get(name, ()) + members
        version = (root.findtext(f"{{{METADATA_NS}}}version") or "").strip() or None
        return cls(types=types, api_version=version, single_package=single_package)


@dataclass(frozen=True)
class RetrieveMessage:
    """A problem with one file of a retrieve (a member not found, an unknown type)."""

    file_name: str
    problem: str


@dataclass(frozen=True)
class FileProperties:
    """One component the org listed or retrieved. ``namespace`` is its namespacePrefix; ``id``
    is None for package.xml and for standard components without one."""

    type: str
    full_name: str
    file_name: str
    id: str | None = None
    namespace: str | None = None
    manageable_state: str | None = None
    created_by_id: str | None = None
    created_by_name: str | None = None
    created_date: str | None = None
    last_modified_by_id: str | None = None
    last_modified_by_name: str | None = None
    last_modified_date: str | None = None


@dataclass(frozen=True)
class RetrieveResult:
    """checkRetrieveStatus's answer; ``zip_file`` is the decoded zip (empty until done or when
    the zip was not asked for)."""

    id: str
    done: bool
    status: str
    success: bool
    zip_file: bytes = b""
    file_properties: tuple[FileProperties, ...] = ()
    messages: tuple[RetrieveMessage, ...] = ()
    error_status_code: str | None = None
    error_message: str | None = None

    @property
    def final(self) -> bool:
        return self.done or self.status not in RETRIEVE_PENDING_STATUSES


@dataclass(frozen=True)
class ListMetadataQuery:
    """One listMetadata query; ``folder`` is required for types kept in folders (reports,
    dashboards, documents, email templates)."""

    type: str
    folder: str | None = None


@dataclass(frozen=True)
class MetadataObjectDescription:
    """One DescribeMetadataObject: a type the org deploys, where its files live, its children."""

    xml_name: str
    directory_name: str
    suffix: str | None = None
    in_folder: bool = False
    meta_file: bool = False
    child_xml_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class DescribeMetadataResult:
    metadata_objects: tuple[MetadataObjectDescription, ...] = ()
    organization_namespace: str | None = None
    partial_save_allowed: bool = False
    test_required: bool = False

    def by_name(self, xml_name: str) -> MetadataObjectDescription | None:
        return next((o for o in self.metadata_objects if o.xml_name == xml_name), None)
