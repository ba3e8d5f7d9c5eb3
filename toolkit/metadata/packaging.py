"""Deploy/retrieve zips: built deterministically, read defensively, held to Salesforce's limits.

A zip we build must be byte-identical for identical files (snapshots and plans are compared
by hash), so names are sorted and timestamps and permissions fixed. A zip we read may come from
anywhere (a retrieve, a colleague, a backup), so it is treated as hostile: no path may leave
the package, and sizes are checked both as declared and as actually inflated.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.types import BY_FOLDER, SOURCE_ROOT


@dataclass(frozen=True)
class PackageLimits:
    """Salesforce's per-deploy (and per-retrieve) limits, from the Metadata API deploy docs."""

    max_files: int
    max_zipped_bytes: int
    max_unzipped_bytes: int


PACKAGE_LIMITS = PackageLimits(
    max_files=10_000,
    max_zipped_bytes=39 * 1024 * 1024,
    max_unzipped_bytes=629_145_600,
)

_FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = stat.S_IFREG | 0o644
_UNIX = 3
_COMPRESS_LEVEL = 9
_CHUNK = 64 * 1024
# What zipfile raises for a damaged entry: bad CRC or stream (BadZipFile, zlib.error, EOFError),
# a password-protected one (RuntimeError), an unsupported compression (NotImplementedError).
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)
_KEPT_ROOTS = frozenset({*BY_FOLDER, SOURCE_ROOT.split("/", 1)[0], "manifest"})


def check_path(path: str, where: str) -> None:
    """Refuse a package path that could land outside the package folder when written."""
    problem = None
    if not path:
        problem = "an empty path"
    elif "\\" in path:
        problem = "a backslash"
    elif path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        problem = "an absolute path"
    elif any(part in ("", ".", "..") for part in path.split("/")):
        problem = "an empty, '.' or '..' path segment"
    elif "\0" in path:
        problem = "a NUL character"
    if problem is not None:
        raise ConfigError(
            f"{where}: {path!r} has {problem}",
            hint="package paths are relative, use '/' and stay inside the package",
        )


def build_zip(files: Sequence[MetadataFile], *, limits: PackageLimits = PACKAGE_LIMITS) -> bytes:
    """The deploy zip for ``files``, refusing a package Salesforce would refuse for its size."""
    ordered = sorted(files, key=lambda f: f.path)
    for previous, current in pairwise(ordered):
        if previous.path == current.path:
            raise ConfigError(
                f"two files at {current.path!r} in one package",
                hint="each component must come from one place; remove the duplicate",
            )
    for file in ordered:
        check_path(file.path, file.origin or file.path)
    if len(ordered) > limits.max_files:
        raise ConfigError(
            f"the package has {len(ordered):,} files; Salesforce accepts {limits.max_files:,}",
            hint="split the deploy into several packages",
        )
    unzipped = sum(len(f.content) for f in ordered)
    if unzipped > limits.max_unzipped_bytes:
        raise ConfigError(
            f"the package holds {unzipped:,} bytes uncompressed; Salesforce accepts "
            f"{limits.max_unzipped_bytes:,}",
            hint="split the deploy into several packages",
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in ordered:
            info = zipfile.ZipInfo(file.path, date_time=_FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, file.content, compresslevel=_COMPRESS_LEVEL)
    data = buffer.getvalue()
    if len(data) > limits.max_zipped_bytes:
        raise ConfigError(
            f"the zip is {len(data):,} bytes; Salesforce accepts {limits.max_zipped_bytes:,}",
            hint="split the deploy into several packages",
        )
    return data


def _strip_root(names: list[str]) -> int:
    """How many characters of prefix to drop: a zip rooted in one folder (``unpackaged/``)
    is read from inside it, unless that folder is itself part of the package layout."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1 or any("/" not in name for name in names):
        return 0
    top = tops.pop()
    return 0 if top in _KEPT_ROOTS else len(top) + 1


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, where: str) -> bytes:
    """Inflate one entry, never more than ``budget`` bytes whatever its header claims."""
    chunks: list[bytes] = []
    total = 0
    with archive.open(info) as stream:
        while chunk := stream.read(min(_CHUNK, budget - total + 1)):
            total += len(chunk)
            if total > budget:
                raise ConfigError(
                    f"{where}: inflates past the unzipped size limit",
                    hint="the zip is larger than Salesforce accepts, or is damaged",
                )
            chunks.append(chunk)
    return b"".join(chunks)


def read_zip(
    data: bytes,
    *,
    max_files: int = PACKAGE_LIMITS.max_files,
    max_unzipped: int = PACKAGE_LIMITS.max_unzipped_bytes,
    source: str = "<zip>",
) -> list[MetadataFile]:
    """The files of a package zip; ``source`` names the zip in origins and errors."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ConfigError(
            f"{source}: not a zip file ({exc})", hint="give a .zip of a metadata package"
        ) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > max_files:
            raise ConfigError(
                f"{source}: {len(infos):,} files; the limit is {max_files:,}",
                hint="Salesforce packages hold at most 10,000 files",
            )
        seen: set[str] = set()
        declared = 0
        for info in infos:
            where = f"{source}!{info.filename}"
            check_path(info.filename, where)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ConfigError(
                    f"{where}: symbolic links are not accepted in a package zip",
                    hint="zip the file itself, not a link to it",
                )
            if info.filename in seen:
                raise ConfigError(
                    f"{where}: the zip holds this name twice",
                    hint="rebuild the zip so that each path appears once",
                )
            seen.add(info.filename)
            declared += info.file_size
            if declared > max_unzipped:
                raise ConfigError(
                    f"{where}: the zip declares more than {max_unzipped:,} bytes uncompressed",
                    hint="the zip is larger than Salesforce accepts",
                )
        strip = _strip_root([i.filename for i in infos])
        files: list[MetadataFile] = []
        remaining = max_unzipped
        for info in infos:
            where = f"{source}!{info.filename}"
            try:
                content = _read_entry(archive, info, remaining, where)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                RuntimeError,
                NotImplementedError,
            ) as exc:
                raise ConfigError(
                    f"{where}: cannot be read ({exc})",
                    hint="the zip is damaged, encrypted or uses an unsupported compression",
                ) from None
            remaining -= len(content)
            files.append(MetadataFile(info.filename[strip:], content, where))
    return sorted(files, key=lambda f: f.path)
