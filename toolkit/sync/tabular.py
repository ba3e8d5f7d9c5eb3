"""Rows of the two tabular formats sources most often read: CSV with a header row, and JSON
Lines.

Public, so that every source reports a bad row the same way, by file and line, as a
``RejectedRecord`` the engine dead-letters while the rest of the file is read: the built-in
``files`` source reads with these, and so does the LMS plugin. Opening and decoding the file
stay with the caller, because a file on disk, a member of a zip and a download each fail in
their own way (``UnicodeDecodeError`` and I/O errors pass through).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence

from toolkit.errors import SourceError
from toolkit.sync.contract import RejectedRecord, SourceRecord


def csv_header(shown: str, cells: Sequence[str], required: Sequence[str] = ()) -> list[str]:
    """The column names of a header row, stripped. A column with no name, a name given twice
    or a ``required`` column missing stops the read: no row could be trusted to the right
    field."""
    header = [cell.strip() for cell in cells]
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            raise SourceError(
                f"{shown}:1: column {index} has no name",
                hint="give every column of the header row a name",
            )
        if name in seen:
            raise SourceError(
                f"{shown}:1: column {name!r} appears twice in the header",
                hint="rename or remove one of them",
            )
        seen.add(name)
    missing = [column for column in required if column not in seen]
    if missing:
        raise SourceError(
            f"{shown}:1: the header has no column {missing[0]!r}"
            + (f" (nor {', '.join(missing[1:])})" if missing[1:] else ""),
            hint=f"the file needs the columns {', '.join(required)}",
        )
    return header


def csv_records(
    lines: Iterable[str], shown: str, *, delimiter: str = ",", required: Sequence[str] = ()
) -> Iterator[SourceRecord | RejectedRecord]:
    """The rows of a CSV file (opened with ``newline=""``) as records of text by column; a
    row whose number of fields is not the header's is rejected with its line. Blank lines are
    skipped; quoting that cannot be parsed stops the read, naming the line."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        first = next(reader, None)
        if first is None:
            return
        header = csv_header(shown, first, required)
        width = len(header)
        for cells in reader:
            if not cells or cells == [""]:
                continue
            where = f"{shown}:{reader.line_num}"
            if len(cells) != width:
                yield RejectedRecord(
                    where,
                    f"the row has {len(cells)} fields, the header {width}",
                    data=dict(zip(header, cells, strict=False)),
                )
                continue
            yield SourceRecord(dict(zip(header, cells, strict=True)), where=where)
    except csv.Error as exc:
        raise SourceError(
            f"{shown}:{reader.line_num}: malformed CSV ({exc})",
            hint="fix the quoting at that line",
        ) from None


def jsonl_records(
    lines: Iterable[str], shown: str, *, required: Sequence[str] = ()
) -> Iterator[SourceRecord | RejectedRecord]:
    """The objects of a JSON Lines file as records; a line that is not a JSON object, or
    lacks a ``required`` key, is rejected with its line. Blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{shown}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            yield RejectedRecord(where, f"not JSON ({exc})")
            continue
        if not isinstance(data, dict):
            yield RejectedRecord(
                where, f"a line must hold a JSON object, not {type(data).__name__}"
            )
            continue
        missing = [key for key in required if key not in data]
        if missing:
            yield RejectedRecord(where, f"the object has no {missing[0]!r}", data=data)
            continue
        yield SourceRecord(data, where=where)
