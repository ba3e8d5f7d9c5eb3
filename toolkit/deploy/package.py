"""The package a deploy sends: the project's rendered metadata, a metadata folder in either
format, or a zip; always Metadata API format with package.xml, ready to zip, with a content
hash that names it in the deploy history (and later in snapshots and the promotion ledger)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit import fsio
from toolkit.errors import ConfigError
from toolkit.metadata import formats, manifest, packaging
from toolkit.metadata.files import MetadataFile
from toolkit.project import Project, build_package


@dataclass(frozen=True)
class DeployPackage:
    files: tuple[MetadataFile, ...]
    origin: str  # what the user gave: "project <name>", a folder or a zip path

    @functools.cached_property
    def zip(self) -> bytes:
        return packaging.build_zip(self.files)

    @functools.cached_property
    def content_hash(self) -> str:
        """sha256 over paths and contents, so a package is the same whatever it was read from."""
        digest = hashlib.sha256()
        for file in sorted(self.files, key=lambda f: f.path):
            digest.update(file.path.encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(file.content).digest())
        return digest.hexdigest()

    @property
    def components(self) -> list[manifest.ComponentRef]:
        return manifest.components_of(self.files)


def from_project(project: Project) -> DeployPackage:
    package = build_package(project)
    return DeployPackage(package.files, f"project {project.config.name}")


def from_path(path: Path, api_version: str) -> DeployPackage:
    """A folder (mdapi or source format) or a .zip; a package.xml is generated when missing."""
    if path.is_file() and path.suffix.lower() == ".zip":
        files: Sequence[MetadataFile] = packaging.read_zip(path.read_bytes(), source=str(path))
    elif path.is_dir():
        files = fsio.read_tree(path)
    else:
        raise ConfigError(
            f"{path} is neither a metadata folder nor a .zip",
            hint="pass a folder from `sftk render` or a deploy zip",
        )
    if not files:
        raise ConfigError(f"{path} holds no metadata files", hint="render the project first")
    mdapi = formats.convert(files, "mdapi", api_version)
    if not any(f.path == "package.xml" for f in mdapi):
        refs = manifest.components_of(mdapi)
        mdapi = [*mdapi, MetadataFile("package.xml", manifest.package_xml(refs, api_version))]
    return DeployPackage(tuple(sorted(mdapi, key=lambda f: f.path)), str(path))
