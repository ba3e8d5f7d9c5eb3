"""Reading an export's tables: CSV (RFC 4180, UTF-8, a header row) or JSON Lines files, from
a folder or a zip, row by row, each row with the file and line it came from.

A zip comes from elsewhere, so it is read defensively: its members are read in place (never
extracted), names that would leave the folder and links are refused, the declared sizes are
held to a limit (zipfile never inflates past a member's declared size), and a truncated or
damaged zip is a SourceError naming it, not a traceback.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sftk_lms.model import Rejected
from toolkit.errors import SourceError
from toolkit.sync.contract import RejectedRecord, SourceRecord
from toolkit.sync.tabular import csv_records, jsonl_records

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
    with files.open(name) as handle, _readable(shown):
        yield from _rows(csv_records(handle, shown, required=required))


def jsonl_rows(files: Files, name: str, required: Sequence[str]) -> Iterator[Row | Rejected]:
    """The objects of a JSON Lines table as rows of text (null and missing keys are blank);
    a line that is not an object, or lacks a required key, is Rejected."""
    shown = files.where(name)
    with files.open(name) as handle, _readable(shown):
        yield from _rows(jsonl_records(handle, shown, required=required))


def _rows(records: Iterator[SourceRecord | RejectedRecord]) -> Iterator[Row | Rejected]:
    for record in records:
        if isinstance(record, RejectedRecord):
            data = dict(record.data) if record.data is not None else None
            yield Rejected(record.where, record.reason, data=data)
        else:
            text = {k: "" if v is None else str(v) for k, v in record.data.items()}
            yield record.where, text


@contextmanager
def _readable(shown: str) -> Iterator[None]:
    """Text that is not UTF-8, and a zip that ends early, are said as such, naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="save the file as UTF-8",
        ) from None
    except _DAMAGED as exc:
        raise SourceError(
            f"{shown}: cannot be read to its end ({exc}): the zip is truncated or damaged",
            hint="copy the export again, whole",
        ) from None
