"""What a Salesforce formula refers to: the field paths in its text.

The offline rules check that a formula field, a validation rule or a roll-up's neighbours name
fields that exist. A formula is an expression over merge fields (``Price__c``,
``Course__r.Level__c``), functions (``IF(...)``), operators, literals and global variables
(``$User.Id``). Only the merge fields matter here, so this reads just enough of the language to
find them: string literals and comments are skipped, a name followed by ``(`` is a function,
a name starting with ``$`` is a global variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Strings in single or double quotes (backslash escapes), block comments, and dotted names.
_TOKENS = re.compile(
    r"""
      (?P<string>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)
    | (?P<comment>/\*.*?(?:\*/|\Z))
    | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)(?P<call>\s*\()?
    | (?P<number>[0-9][0-9.]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FieldPath:
    """A merge field: ``("Course__r", "Level__c")`` for ``Course__r.Level__c``; ``offset``
    is where it starts in the formula."""

    parts: tuple[str, ...]
    offset: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


def field_paths(formula: str) -> list[FieldPath]:
    """The merge fields of a formula, in order; functions, global variables (``$User.Id``),
    literals and comments left out. Keywords such as ``TRUE`` or ``NULL`` come back as
    one-part paths: a caller only checks the names it can judge (custom fields)."""
    found = []
    for match in _TOKENS.finditer(formula):
        name = match.group("name")
        if name is None or match.group("call") or name.startswith("$"):
            continue
        found.append(FieldPath(tuple(_SPACE.sub("", name).split(".")), match.start("name")))
    return found


def line_in(text: str, offset: int) -> int:
    """The 0-based line of ``offset`` within ``text`` (formulas span lines)."""
    return text.count("\n", 0, offset)
