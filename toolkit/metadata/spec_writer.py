"""Spec data -> TOML text a person can read and edit: what ``sftk import`` writes.

The data is what a spec file holds (the loader's own shapes: tables of fields, lists of
sections...), in the order it should be read: plain keys first, then each table as a section
(``[fields.Price__c]``), lists of tables the docs write as ``[[...]]`` as such, and small
things (picklist values, filter items, layout items) inline. Text with line breaks, such as a
formula, is a multi-line literal string when it can be one, so it reads as written in Setup.
The output is deterministic: the same data gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

# Lists of tables written as [[...]] sections, as the docs show layouts.
ARRAY_TABLES = frozenset({"sections", "related_lists"})
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Characters a multi-line literal string cannot hold (control characters but tab and newline).
_NOT_LITERAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INLINE_WIDTH = 96


def dump(data: Mapping[str, Any]) -> str:
    """The TOML text of ``data`` (str, bool, int, lists and tables of them)."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).strip("\n") + "\n"


def key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _basic(name)


def _path(keys: Sequence[str]) -> str:
    return ".".join(key(k) for k in keys)


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    tables: list[tuple[str, Any]] = []
    for name, value in data.items():
        if isinstance(value, Mapping) or (name in ARRAY_TABLES and isinstance(value, list)):
            tables.append((name, value))
        else:
            lines.append(f"{key(name)} = {_value(value, len(key(name)) + 3)}")
    for name, value in tables:
        if isinstance(value, Mapping):
            if value and all(isinstance(v, Mapping) for v in value.values()):
                for sub, table in value.items():  # [fields.Price__c], [fields.Hours__c] ...
                    lines.append("")
                    lines.append(f"[{_path((*path, name, sub))}]")
                    _table(table, (*path, name, sub), lines)
            else:
                lines.append("")
                lines.append(f"[{_path((*path, name))}]")
                _table(value, (*path, name), lines)
        else:
            for item in value:
                lines.append("")
                lines.append(f"[[{_path((*path, name))}]]")
                _table(item, (*path, name), lines)


def _value(value: Any, indent: int = 0) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        items = [_value(item) for item in value]
        inline = "[" + ", ".join(items) + "]"
        if len(inline) + indent <= _INLINE_WIDTH or len(items) < 2:
            return inline
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def string(text: str) -> str:
    """A TOML string holding ``text``."""
    if "\n" in text and "'''" not in text and not _NOT_LITERAL.search(text):
        return f"'''\n{text}'''"
    return _basic(text)


def _basic(text: str) -> str:
    """A basic string: JSON's escapes are TOML's, but for DEL, which TOML wants escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
