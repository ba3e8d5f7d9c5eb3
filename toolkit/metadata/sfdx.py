"""A Salesforce DX project as the sf CLI reads it: ``sfdx-project.json`` says which folders hold
the metadata, which API version it deploys with and which namespace it packages under, and
``.forceignore`` which of its files the CLI leaves out of every deploy.

Pure: callers read the files; this module only interprets their bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pathspec

from toolkit.errors import ConfigError

SFDX_PROJECT = "sfdx-project.json"
FORCEIGNORE = ".forceignore"

# What the sf CLI ignores even without a .forceignore (source-deploy-retrieve's ForceIgnore;
# sftk's folder reader already skips hidden files, its "**/.*").
_CLI_IGNORES = ("**/*.dup", "**/package2-descriptor.json", "**/package2-manifest.json")
_API_VERSION = re.compile(r"[1-9][0-9]*\.[0-9]+")


@dataclass(frozen=True)
class SfdxProject:
    """What ``sfdx-project.json`` says; ``namespace`` is "" for a project without one."""

    package_directories: tuple[str, ...]
    source_api_version: str | None
    namespace: str

    def holds(self, path: str) -> bool:
        """Whether a project-relative path lies in one of the package directories."""
        return any(d in ("", ".") or path.startswith(f"{d}/") for d in self.package_directories)


def parse_sfdx_project(content: bytes, where: str) -> SfdxProject:
    """Read ``sfdx-project.json``; ``where`` names it in errors."""
    try:
        data = json.loads(content.decode("utf-8"))
        directories = tuple(
            str(entry["path"]).strip("/").removeprefix("./") for entry in data["packageDirectories"]
        )
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{where}: no readable packageDirectories list",
            hint='sfdx-project.json needs "packageDirectories": [{"path": "force-app"}]',
        ) from None
    version = data.get("sourceApiVersion")
    if version is not None and not (isinstance(version, str) and _API_VERSION.fullmatch(version)):
        raise ConfigError(
            f"{where}: sourceApiVersion {version!r} is not an API version",
            hint='write it as a string of the form "66.0"',
        )
    namespace = data.get("namespace") or ""
    if not isinstance(namespace, str):
        raise ConfigError(f"{where}: namespace {namespace!r} is not a string", hint='e.g. "acme"')
    return SfdxProject(directories, version, namespace)


class ForceIgnore:
    """The paths the sf CLI leaves out: its own defaults plus a project's ``.forceignore``
    (gitignore syntax, paths relative to the project root)."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines([*_CLI_IGNORES, *lines])

    @classmethod
    def parse(cls, content: bytes) -> ForceIgnore:
        return cls(content.decode("utf-8", "replace").splitlines())

    def ignores(self, path: str) -> bool:
        return self._spec.match_file(path)
