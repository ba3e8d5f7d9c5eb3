"""Reading an export's tables: CSV (RFC 4180, UTF-8, a header row) or JSON Lines files, from
a folder or a zip, row by row, each row with the file and line it came from.

A zip comes from elsewhere, so it is read defensively: its members are read in place (never
extracted), names that would leave the folder and links are refused, the declared sizes are
held to a limit (zipfile never inflates past a member's declared size), and a truncated or
damaged zip is a SourceError naming it, not a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from sftk_lms.model import Rejected
from toolkit.errors import SourceError

MAX_UNZIPPED = 16 * 1024**3  # bytes a zip may declare in all
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError)


class Files:
    """An export's files by name: a folder, or a zip (``name`` at its top or in one folder)."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self.archive: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}
        if path.is_file():
            self._open_zip()

    def _open_zip(self) -> None:
        try:
            archive = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise SourceError(
                f"{self.shown}: not a readable zip ({exc}): it is truncated or damaged",
                hint="copy the export again, whole; check its size against the LMS's",
            ) from None
        except OSError as exc:
            raise SourceError(f"{self.shown}: cannot be read ({exc.strerror})") from None
        declared = 0
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                raise SourceError(
                    f"{self.shown}!{name}: a member path that leaves the zip's folder",
                    hint="the zip is not an LMS export; ask the LMS for a new one",
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SourceError(f"{self.shown}!{name}: symbolic links are not accepted")
            declared += info.file_size
            if declared > MAX_UNZIPPED:
                raise SourceError(
                    f"{self.shown}: declares more than {MAX_UNZIPPED:,} bytes uncompressed",
                    hint="split the export, or unzip it into a folder and point at that",
                )
            self.members.setdefault(name.rsplit("/", 1)[-1], info)
        self.archive = archive

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    def exists(self, name: str) -> bool:
        if self.archive is not None:
            return name in self.members
        return (self.path / name).is_file()

    def where(self, name: str) -> str:
        return f"{self.shown}!{name}" if self.archive is not None else f"{self.shown}/{name}"

    def open(self, name: str) -> IO[str]:
        try:
            if self.archive is not None:
                raw = self.archive.open(self.members[name])
                return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            return (self.path / name).open(encoding="utf-8-sig", newline="")
        except _DAMAGED as exc:
            raise SourceError(f"{self.where(name)}: cannot be read ({exc})") from None

    def fingerprint(self, names: Sequence[str]) -> str:
        """What identifies these files' content cheaply: sizes, times and (zip) CRCs."""
        parts: list[str] = []
        for name in names:
            if self.archive is not None and name in self.members:
                info = self.members[name]
                parts.append(f"{name}:{info.file_size}:{info.CRC}")
            elif self.archive is None and (self.path / name).is_file():
                found = (self.path / name).stat()
                parts.append(f"{name}:{found.st_size}:{found.st_mtime_ns}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def modified(self, name: str) -> float:
        """When the file was written, as a POSIX time."""
        if self.archive is not None:
            return float(self.path.stat().st_mtime)
        return float((self.path / name).stat().st_mtime)


Row = tuple[str, dict[str, str]]  # (where, the row by column)


def csv_rows(files: Files, name: str, required: Sequence[str]) -> Iterator[Row | Rejected]:
    """The rows of a CSV table. A header lacking a required column stops the read (SourceError
    naming the file and column); a row with another number of fields than the header is
    Rejected with its line, and the rest is read."""
    shown = files.where(name)
    with files.open(name) as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            header = [column.strip() for column in header]
            missing = [column for column in required if column not in header]
            if missing:
                raise SourceError(
                    f"{shown}:1: the header has no column {missing[0]!r}"
                    + (f" (nor {', '.join(missing[1:])})" if missing[1:] else ""),
                    hint=f"{name} needs the columns {', '.join(required)}",
                )
            width = len(header)
            for cells in reader:
                where = f"{shown}:{reader.line_num}"
                if not cells or cells == [""]:
                    continue
                if len(cells) != width:
                    yield Rejected(
                        where,
                        f"the row has {len(cells)} fields, the header {width}",
                        data=dict(zip(header, cells, strict=False)),
                    )
                    continue
                yield where, dict(zip(header, cells, strict=True))
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                hint="save the file as UTF-8",
            ) from None
        except csv.Error as exc:
            raise SourceError(
                f"{shown}:{reader.line_num}: malformed CSV ({exc})",
                hint="fix the quoting at that line",
            ) from None
        except _DAMAGED as exc:
            raise SourceError(
                f"{shown}: cannot be read to its end ({exc}): the zip is truncated or damaged",
                hint="copy the export again, whole",
            ) from None


def jsonl_rows(files: Files, name: str, required: Sequence[str]) -> Iterator[Row | Rejected]:
    """The objects of a JSON Lines table as rows of text (null and missing keys are blank);
    a line that is not an object, or lacks a required key, is Rejected."""
    shown = files.where(name)
    with files.open(name) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{shown}:{number}"
                try:
                    data: Any = json.loads(line)
                except ValueError as exc:
                    yield Rejected(where, f"not JSON ({exc})")
                    continue
                if not isinstance(data, dict):
                    yield Rejected(
                        where, f"a line must hold a JSON object, not {type(data).__name__}"
                    )
                    continue
                missing = [key for key in required if key not in data]
                if missing:
                    yield Rejected(where, f"the object has no {missing[0]!r}", data=data)
                    continue
                yield where, {k: "" if v is None else str(v) for k, v in data.items()}
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                hint="save the file as UTF-8",
            ) from None
