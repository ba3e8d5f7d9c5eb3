"""Auto-number values: the next ``E-{0000}`` of an object's name field or of a custom field.

A deploy keeps the display format and starting number in the component as deployed (the
object's ``<nameField>``, the field's own XML), so they are read from there when a record is
inserted. Each object and field has a counter in ``autonumber_counters``, advanced inside the
transaction that stores the record: a batch rolled back (all-or-none) gives its numbers back,
a row that fails takes none. Salesforce promises numbers that always increase, not consecutive
ones (a real org leaves gaps after failed or rolled-back saves); the local org leaves none.

A deploy that raises the starting number above the counter moves the counter up to it; a lower
one leaves it where it is, so a field never hands out the same number twice.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass

from lxml import etree

from toolkit.localorg import components
from toolkit.localorg.store import register_schema
from toolkit.metadata import xmlsafe

register_schema(
    """
CREATE TABLE IF NOT EXISTS autonumber_counters (
    object TEXT NOT NULL COLLATE NOCASE,
    field TEXT NOT NULL COLLATE NOCASE,
    next_number INTEGER NOT NULL,
    PRIMARY KEY (object, field)
);
"""
)

DEFAULT_FORMAT = "{0}"  # the bare number, for a field deployed without a display format
_TOKEN = re.compile(r"\{(0+|YYYY|YY|MM|DD)\}")


@dataclass(frozen=True)
class AutoNumber:
    """How one field numbers its records."""

    display_format: str
    starting_number: int

    def render(self, number: int, today: dt.date) -> str:
        """``{000}`` pads the number to that many digits (never cuts it); ``{YYYY}``, ``{YY}``,
        ``{MM}`` and ``{DD}`` are the date of the insert."""

        def token(match: re.Match[str]) -> str:
            code = match.group(1)
            if code.startswith("0"):
                return str(number).zfill(len(code))
            return {
                "YYYY": f"{today.year:04d}",
                "YY": f"{today.year % 100:02d}",
                "MM": f"{today.month:02d}",
                "DD": f"{today.day:02d}",
            }[code]

        return _TOKEN.sub(token, self.display_format)


def _settings(element: etree._Element | None) -> AutoNumber:
    if element is None:
        return AutoNumber(DEFAULT_FORMAT, 1)
    texts = {
        etree.QName(child).localname: (child.text or "").strip()
        for child in element
        if isinstance(child.tag, str)
    }
    start = texts.get("startingNumber", "")
    return AutoNumber(
        texts.get("displayFormat") or DEFAULT_FORMAT,
        int(start) if start.isdigit() else 1,
    )


def settings(db: sqlite3.Connection, object_name: str, field_name: str) -> AutoNumber:
    """The display format and starting number of an auto-number field as last deployed."""
    if field_name.lower() == "name":
        stored = components.get(db, "CustomObject", object_name)
        if stored is None:
            return _settings(None)
        root = xmlsafe.parse(stored.content, f"objects/{object_name}.object")
        return _settings(next(root.iterchildren("{*}nameField"), None))
    stored = components.get(db, "CustomField", f"{object_name}.{field_name}")
    if stored is None:
        return _settings(None)
    return _settings(xmlsafe.parse(stored.content, f"objects/{object_name}.object"))


def take(db: sqlite3.Connection, object_name: str, field_name: str, numbering: AutoNumber) -> int:
    """The next number of a field, counted as used; call inside the inserting transaction."""
    row = db.execute(
        "SELECT next_number FROM autonumber_counters WHERE object = ? AND field = ?",
        (object_name, field_name),
    ).fetchone()
    number = numbering.starting_number
    if row is not None:
        number = max(int(row["next_number"]), number)
    db.execute(
        "INSERT INTO autonumber_counters (object, field, next_number) VALUES (?, ?, ?) "
        "ON CONFLICT(object, field) DO UPDATE SET next_number = excluded.next_number",
        (object_name, field_name, number + 1),
    )
    return number
