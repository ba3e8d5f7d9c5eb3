"""Salesforce record Ids: a 3-character key prefix, a 12-character number, a 3-character
checksum that makes the 18-character form case-insensitive."""

from __future__ import annotations

import re

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"[0-9A-Za-z]{15}")


def checksum(id15: str) -> str:
    """The 3 suffix characters: one per 5-character chunk, a bit per upper-case letter."""
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    return suffix


def make_id(prefix: str, number: int) -> str:
    """The ``number``-th Id of an object with key ``prefix`` (3 characters), 18 characters."""
    if len(prefix) != 3:
        raise ValueError(f"key prefix {prefix!r} is not 3 characters")
    digits = ""
    value = number
    for _ in range(12):
        value, rest = divmod(value, 62)
        digits = _ALPHABET[rest] + digits
    if value:
        raise ValueError(f"record number {number} does not fit in an Id")
    id15 = prefix + digits
    return id15 + checksum(id15)


def to18(value: str) -> str | None:
    """An Id given with 15 or 18 characters in its 18-character form, or None if malformed."""
    if len(value) == 18 and _ID15.fullmatch(value[:15]) and checksum(value[:15]) == value[15:]:
        return value
    if len(value) == 15 and _ID15.fullmatch(value):
        return value + checksum(value)
    return None
