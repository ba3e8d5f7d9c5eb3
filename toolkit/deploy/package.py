"""The package a deploy sends: the project's rendered metadata, a metadata folder in either
format, or a zip; always Metadata API format with package.xml, ready to zip, with a content
hash that names it in the deploy history (and later in snapshots and the promotion ledger)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit import fsio
from toolkit.errors import ConfigError
from toolkit.metadata import formats, manifest, normalize, packaging, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.specs import LayoutPatch
from toolkit.project import Project, build_package, layout_patches


@dataclass(frozen=True)
class DeployPackage:
    files: tuple[MetadataFile, ...]
    origin: str  # what the user gave: "project <name>", a folder or a zip path
    part_of: str | None = None  # cut from a larger package (--only-changed): that one's hash
    # Layout patches still to merge into the org's layouts (toolkit.deploy.patching): data,
    # part of the package's identity, applied per org once the org's layouts are retrieved.
    patches: tuple[LayoutPatch, ...] = ()

    @property
    def identity(self) -> str:
        """The hash the deploy history and the promotion ledger know this package by: the
        whole package's, even when only its changed part was sent."""
        return self.part_of or self.content_hash

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
        for patch in self.patches:  # what they ask, not where they were declared
            digest.update(repr(replace(patch, source="")).encode("utf-8"))
        return digest.hexdigest()

    @property
    def components(self) -> list[manifest.ComponentRef]:
        return manifest.components_of(self.files)

    @property
    def deletes(self) -> list[manifest.ComponentRef]:
        """What the package's delete manifests remove."""
        found: set[manifest.ComponentRef] = set()
        for file in self.files:
            if file.path in manifest.DESTRUCTIVE_FILE.values():
                found.update(manifest.listed(file.content, formats.describe(file)))
        return sorted(found)

    @property
    def api_version(self) -> str:
        """The version its package.xml names, which is the version the deploy runs at."""
        found = next(f for f in self.files if f.path == "package.xml")
        root = xmlsafe.parse(found.content, formats.describe(found))
        return (root.findtext(f"{{{METADATA_NS}}}version") or "").strip()

    def only(self, keep: Iterable[manifest.ComponentRef]) -> DeployPackage:
        """The same package cut down to ``keep`` (its delete manifests stay whole)."""
        kept = list(keep)
        files = [
            *normalize.subset(self.files, kept),
            *(f for f in self.files if f.path in manifest.DESTRUCTIVE_FILE.values()),
            MetadataFile("package.xml", manifest.package_xml(kept, self.api_version)),
        ]
        return DeployPackage(
            tuple(sorted(files, key=lambda f: f.path)), self.origin, part_of=self.identity
        )

    def without_deletes(self, gone: Iterable[manifest.ComponentRef]) -> DeployPackage:
        """The same package with ``gone`` left out of its delete manifests (a manifest left
        empty is dropped): a real org refuses a deploy that deletes what it does not have."""
        drop = set(gone)
        files: list[MetadataFile] = []
        for file in self.files:
            if file.path not in manifest.DESTRUCTIVE_FILE.values():
                files.append(file)
                continue
            listed = manifest.listed(file.content, formats.describe(file))
            kept = [ref for ref in listed if ref not in drop]
            if kept:
                files.append(MetadataFile(file.path, manifest.destructive_xml(kept), file.origin))
        return DeployPackage(tuple(files), self.origin, part_of=self.identity)


def from_project(project: Project) -> DeployPackage:
    package = build_package(project)
    return DeployPackage(
        package.files, f"project {project.config.name}", patches=layout_patches(project)
    )


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


class PackageStore:
    """Packages sent for validation, kept by content hash in ``.sftk/packages/``, so that a
    quick deploy of a validation (even days later, from a changed project) knows what it
    deploys and can take its snapshot first."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "packages"

    def save(self, package: DeployPackage) -> None:
        path = self.root / f"{package.content_hash}.zip"
        if not path.exists():
            fsio.atomic_write_bytes(path, package.zip)

    def load(self, content_hash: str) -> DeployPackage | None:
        """The package with this hash, or None when it was never kept or no longer matches."""
        path = self.root / f"{content_hash}.zip"
        if not path.is_file():
            return None
        files = packaging.read_zip(path.read_bytes(), source=str(path))
        package = DeployPackage(tuple(files), str(path))
        return package if package.content_hash == content_hash else None
