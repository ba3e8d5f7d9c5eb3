"""Which template line wrote a given place of a rendered file.

A template that writes malformed XML is found out only once its output is parsed, and the
parser names a line of the output, not of the template. To name the template's line, the
template is rendered again piece by piece: Jinja's compiled code yields each piece from the
line of code that writes it, and maps code lines back to template lines (``debug_info``).
An included template's pieces come from its own generator, held by the including frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import FrameType, GeneratorType
from typing import Any

import jinja2

Place = tuple[str, int]  # template file, line


def written_at(
    template: jinja2.Template, context: Mapping[str, Any], line: int, column: int
) -> Place | None:
    """The template file and line that wrote the output at ``line`` and ``column`` (both
    counted from 1), or the last piece's when the place lies past the end."""
    render = template.root_render_func(template.new_context(dict(context)))
    assert isinstance(render, GeneratorType)
    row, col = 1, 1
    place: Place | None = None
    for piece in render:
        start = row
        place = _place(_innermost(render))
        newlines = piece.count("\n")
        if newlines:
            row, col = row + newlines, len(piece) - piece.rfind("\n")
        else:
            col += len(piece)
        if (row, col) > (line, column):
            return place and _within(place, piece, line - start)
    render.close()
    return place


def _within(place: Place, piece: str, lines_in: int) -> Place:
    """Code lines map to the template line where a statement starts; a piece of the
    template's own text may span many lines after it. Found in the template's source from
    there on, the place becomes the line of the piece that holds it."""
    file, line = place
    try:
        source = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return place
    lines = source.splitlines(keepends=True)
    found = source.find(piece, sum(len(text) for text in lines[: line - 1]))
    if found < 0 or not piece:
        return place
    return file, source.count("\n", 0, found) + 1 + lines_in


def _innermost(render: GeneratorType[str, None, None]) -> FrameType | None:
    """The frame of the template that wrote the last piece: an ``{% include %}`` runs the
    included template's generator, which the including frame keeps as ``gen``."""
    frame = render.gi_frame
    while frame is not None:
        inner = frame.f_locals.get("gen")
        if not isinstance(inner, GeneratorType) or inner.gi_frame is None:
            return frame
        frame = inner.gi_frame
    return None


def _place(frame: FrameType | None) -> Place | None:
    if frame is None:
        return None
    pairs = str(frame.f_globals.get("debug_info", ""))
    line = 1
    for pair in filter(None, pairs.split("&")):
        template_line, code_line = (int(part) for part in pair.split("="))
        if code_line <= frame.f_lineno:
            line = template_line
    return frame.f_code.co_filename, line
