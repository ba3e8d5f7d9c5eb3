"""Retrieves, listMetadata and describeMetadata: the org's metadata read back out.

A retrieve answers from the component store: every file exactly as it was deployed, except an
object whose children changed since, which is recomposed in sftk's house style. The zip is
built when the retrieve is asked for and stored with its result, so later polls (and a
restarted org) answer the same.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from toolkit.localorg import components
from toolkit.localorg.components import CHILD_BY_TYPE, ORG_TYPES, StoredComponent
from toolkit.localorg.deploys import DeployRefused, check_permission, is_production
from toolkit.localorg.store import register_schema
from toolkit.metadata import formats
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.model import is_custom_name
from toolkit.metadata.packaging import build_zip

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

SCHEMA = """
CREATE TABLE IF NOT EXISTS md_retrieves (
    id TEXT PRIMARY KEY,
    created_date TEXT NOT NULL,
    result TEXT NOT NULL,
    zip BLOB NOT NULL
);
"""
register_schema(SCHEMA)

RETRIEVE_PREFIX = "09S"
MAX_LIST_QUERIES = 3
UNPACKAGED = "unpackaged/"


@dataclass(frozen=True)
class RetrieveRequest:
    api_version: str
    single_package: bool
    types: Mapping[str, tuple[str, ...]]  # type -> members, as in package.xml
    package_names: tuple[str, ...] = ()


def _properties(
    org: Org, stored: StoredComponent, file_name: str, type_name: str | None = None
) -> dict[str, Any]:
    facts = org.facts
    by = f"{facts.first_name} {facts.last_name}"
    return {
        "createdById": facts.user_id,
        "createdByName": by,
        "createdDate": stored.created_date,
        "fileName": file_name,
        "fullName": stored.full_name,
        "id": stored.id,
        "lastModifiedById": facts.user_id,
        "lastModifiedByName": by,
        "lastModifiedDate": stored.last_modified_date,
        "manageableState": "unmanaged",
        "type": type_name or stored.type,
    }


def _package_xml(types: Mapping[str, Iterable[str]], api_version: str) -> bytes:
    root = etree.Element(etree.QName(METADATA_NS, "Package"))
    for type_name in sorted(types):
        element = etree.SubElement(root, etree.QName(METADATA_NS, "types"))
        for member in sorted(set(types[type_name])):
            etree.SubElement(element, etree.QName(METADATA_NS, "members")).text = member
        etree.SubElement(element, etree.QName(METADATA_NS, "name")).text = type_name
    etree.SubElement(root, etree.QName(METADATA_NS, "version")).text = api_version
    return formats.serialize(root, "package.xml")


def _members(
    db: sqlite3.Connection, type_name: str, members: Iterable[str]
) -> tuple[list[StoredComponent], list[str]]:
    """The stored components named (``*`` for all custom ones) and the names not found.

    In-folder types take no wildcard, as in Salesforce: their members are listed one by one,
    ``Folder`` for a folder and ``Folder/Name`` for a component in it."""
    found: list[StoredComponent] = []
    missing: list[str] = []
    in_folder = ORG_TYPES[type_name].in_folder if type_name in ORG_TYPES else False
    for member in sorted(set(members)):
        if member == "*" and in_folder:
            continue
        if member == "*":
            found.extend(
                c
                for c in components.list_type(db, type_name)
                if type_name != "CustomObject" or is_custom_name(c.full_name)
            )
            continue
        stored = components.get(db, components.stored_type(type_name, member), member)
        if stored is None:
            missing.append(member)
        else:
            found.append(stored)
    return found, missing


def build(org: Org, request: RetrieveRequest) -> tuple[bytes, dict[str, Any]]:
    """The zip and RetrieveResult (without id and zip) for a retrieve request."""
    db = org.store.connection()
    root = "" if request.single_package else UNPACKAGED
    files: dict[str, bytes] = {}
    properties: list[dict[str, Any]] = []
    messages: list[dict[str, str]] = []
    whole_objects: dict[str, StoredComponent] = {}
    parts: dict[str, list[StoredComponent]] = {}
    for name in request.package_names:
        messages.append({"fileName": name, "problem": f"No package named '{name}' found"})
    for type_name, members in sorted(request.types.items()):
        if not components.is_known(type_name):
            messages.append(
                {
                    "fileName": root + "package.xml",
                    "problem": f"Unknown type name '{type_name}' specified in package.xml",
                }
            )
            continue
        found, missing = _members(db, type_name, members)
        for member in missing:
            messages.append(
                {
                    "fileName": root + "package.xml",
                    "problem": f"Entity of type '{type_name}' named '{member}' cannot be found",
                }
            )
        for stored in found:
            if type_name == "CustomObject":
                whole_objects[stored.full_name] = stored
            elif type_name in CHILD_BY_TYPE:
                parts.setdefault(stored.full_name.partition(".")[0], []).append(stored)
            elif stored.files:
                files.update((root + path, content) for path, content in stored.files)
                properties.append(_properties(org, stored, root + stored.file_name))
            else:
                files[root + stored.file_name] = stored.content
                if stored.meta is not None:
                    files[root + stored.file_name + "-meta.xml"] = stored.meta
                kind = f"{stored.full_name}Settings" if type_name == "Settings" else None
                properties.append(_properties(org, stored, root + stored.file_name, kind))
    for name, stored in whole_objects.items():
        path = f"objects/{name}.object"
        files[root + path] = components.object_file(db, name)
        properties.append(_properties(org, stored, root + path))
        for child in components.children_of(db, name):
            properties.append(_properties(org, child, root + path))
    for name, children in parts.items():
        if name in whole_objects:
            continue
        path = f"objects/{name}.object"
        only = [(c.type, c.full_name) for c in children]
        files[root + path] = components.object_file(db, name, only)
        properties.extend(_properties(org, c, root + path) for c in children)
    files[root + "package.xml"] = _package_xml(request.types, request.api_version)
    facts = org.facts
    stamp = components.now()
    by = f"{facts.first_name} {facts.last_name}"
    properties.append(
        {
            "createdById": facts.user_id,
            "createdByName": by,
            "createdDate": stamp,
            "fileName": root + "package.xml",
            "fullName": "package.xml",
            "id": "",
            "lastModifiedById": facts.user_id,
            "lastModifiedByName": by,
            "lastModifiedDate": stamp,
            "manageableState": "unmanaged",
            "type": "Package",
        }
    )
    data = build_zip([MetadataFile(path, content) for path, content in files.items()])
    result = {
        "done": True,
        "fileProperties": sorted(properties, key=lambda p: (p["fileName"], p["fullName"])),
        "messages": messages,
        "status": "Succeeded",
        "success": True,
    }
    return data, result


def start(org: Org, request: RetrieveRequest) -> str:
    check_permission(org.facts)
    data, result = build(org, request)
    with org.store.transaction() as db:
        retrieve_id = components.next_id(db, RETRIEVE_PREFIX)
        db.execute(
            "INSERT INTO md_retrieves (id, created_date, result, zip) VALUES (?, ?, ?, ?)",
            (retrieve_id, components.now(), json.dumps(result), data),
        )
    return retrieve_id


def status(org: Org, retrieve_id: str, include_zip: bool) -> dict[str, Any]:
    row = (
        org.store.connection()
        .execute("SELECT result, zip FROM md_retrieves WHERE id = ?", (retrieve_id,))
        .fetchone()
    )
    if row is None:
        raise DeployRefused("INVALID_ID_FIELD", "Invalid retrieve ID")
    stored = json.loads(row["result"])
    zipped = base64.b64encode(bytes(row["zip"])).decode("ascii") if include_zip else ""
    return {
        "done": stored["done"],
        "fileProperties": stored["fileProperties"],
        "id": retrieve_id,
        "messages": stored["messages"],
        "status": stored["status"],
        "success": stored["success"],
        "zipFile": zipped,
    }


def list_metadata(org: Org, queries: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    check_permission(org.facts)
    if len(queries) > MAX_LIST_QUERIES:
        raise DeployRefused(
            "INVALID_OPERATION",
            f"listMetadata takes at most {MAX_LIST_QUERIES} queries per call; it got "
            f"{len(queries)}",
        )
    db = org.store.connection()
    out: list[dict[str, Any]] = []
    for type_name, folder in queries:
        for stored in _listed(db, type_name, folder):
            kind = f"{stored.full_name}Settings" if type_name == "Settings" else None
            out.append(_properties(org, stored, stored.file_name, kind))
    return out


def _listed(db: sqlite3.Connection, type_name: str, folder: str | None) -> list[StoredComponent]:
    """What one ListMetadataQuery names: components of an in-folder type only with their
    folder given (``*`` is no folder name), folders by their own type (ReportFolder)."""
    mtype = ORG_TYPES.get(type_name)
    if mtype is None or not mtype.in_folder:
        return components.list_type(db, type_name)
    if not folder:
        return []
    prefix = f"{folder}/".casefold()
    return [
        c for c in components.list_type(db, type_name) if c.full_name.casefold().startswith(prefix)
    ]


def describe(org: Org) -> dict[str, Any]:
    check_permission(org.facts)
    return {
        "metadataObjects": [
            {
                "childXmlNames": [c.type for c in mtype.children],
                "directoryName": mtype.folder,
                "inFolder": mtype.in_folder,
                "metaFile": mtype.has_content,
                **({"suffix": mtype.suffix} if mtype.suffix else {}),
                "xmlName": mtype.name,
            }
            for mtype in ORG_TYPES.values()
        ],
        "organizationNamespace": "",
        "partialSaveAllowed": True,
        "testRequired": is_production(org.facts),
    }
