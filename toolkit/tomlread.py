"""Reading TOML documents with errors a person can act on.

``tomllib`` gives values without positions, so ``Table`` keeps the key path of every value and
finds the line of a key in the source text when it has to complain. Every accessor consumes its
key; ``Table.finish`` then rejects whatever is left, listing the keys that are allowed.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rtoml

from toolkit.errors import ConfigError, combined
from toolkit.fsio import read_regular_file, utf8_text


def _loads(where: str, text: str) -> dict[str, Any]:
    """Parse with rtoml (compiled, ~8x faster); on any complaint, let tomllib judge and word it."""
    try:
        return dict(rtoml.loads(text))
    except rtoml.TomlParsingError:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{where}: invalid TOML: {exc}",
                hint="fix the syntax at the line and column shown",
            ) from None


class Document:
    """A parsed TOML file: its name for messages, its text for line look-ups, its data."""

    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self.text = text
        self.data: dict[str, Any] = _loads(where, text)

    @classmethod
    def read(cls, path: Path, where: str | None = None) -> Document:
        shown = where or str(path)
        return cls(shown, utf8_text(read_regular_file(path, shown), shown))

    def root(self) -> Table:
        return Table(self, (), self.data)

    def line_of(self, keys: Sequence[str]) -> int | None:
        """Best-effort line of a key path: the table header, then the key within it."""
        lines = self.text.splitlines()
        start = 0
        rest = list(keys)
        for depth in range(len(keys), 0, -1):
            header = _header_pattern(keys[:depth])
            found = next((i for i, line in enumerate(lines) if header.match(line)), None)
            if found is not None:
                start, rest = found + 1, list(keys[depth:])
                if not rest:
                    return found + 1
                break
        if not rest:
            return None
        key = re.compile(rf"^\s*(\"{re.escape(rest[0])}\"|{re.escape(rest[0])})\s*[.=]")
        for i in range(start, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if key.match(lines[i]):
                return i + 1
        return start or None


def _header_pattern(keys: Sequence[str]) -> re.Pattern[str]:
    parts = [rf"(\"{re.escape(k)}\"|{re.escape(k)})" for k in keys]
    return re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(parts) + r"\s*\]\]?\s*(#.*)?$")


class Table:
    """A TOML table with its key path; accessors check types and choices."""

    def __init__(self, doc: Document, path: tuple[str, ...], data: dict[str, Any]) -> None:
        self.doc = doc
        self.path = path
        self.data = data
        self._used: set[str] = set()

    def where(self, key: str | None = None) -> str:
        keys = (*self.path, key) if key is not None else self.path
        line = self.doc.line_of(keys)
        location = f"{self.doc.where}:{line}" if line else self.doc.where
        dotted = ".".join(keys)
        return f"{location}: {dotted}" if dotted else location

    def error(self, key: str | None, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {message}", hint=hint)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, kind: type | tuple[type, ...], kind_name: str) -> Any:
        self._used.add(key)
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
            raise self.error(key, f"expected {kind_name}, got a boolean")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {kind_name}, got {_describe(value)}")
        return value

    def take(
        self, kinds: Mapping[str, type | tuple[type, ...]], ignore: Collection[str] = ()
    ) -> dict[str, Any]:
        """Check every key of the table at once against ``kinds`` (key -> accepted types),
        but the keys to ``ignore`` (the caller reported them already).

        The fast path for tables read in bulk, such as thousands of field specs: one pass,
        the same messages as the one-key accessors, every problem of the table at once.
        """
        problems = []
        for key, value in self.data.items():
            kind = kinds.get(key)
            if key in ignore:
                continue
            if kind is None:
                problems.append(
                    self.error(
                        key,
                        f"unknown key {key!r}",
                        hint="valid keys here: " + ", ".join(sorted(kinds)),
                    )
                )
            elif not isinstance(value, kind) or (
                isinstance(value, bool) and bool not in _as_tuple(kind)
            ):
                problems.append(
                    self.error(key, f"expected {_kind_name(kind)}, got {_describe(value)}")
                )
        found = combined(problems)
        if found is not None:
            raise found
        self._used.update(self.data)
        return self.data

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self._get(key, str, "a string")
        if value is None:
            if required:
                raise self.error(key, "is required", hint=f'add {key} = "…"')
            return default
        return str(value)

    def required_string(self, key: str) -> str:
        value = self.string(key, required=True)
        assert value is not None
        return value

    def choice(self, key: str, choices: Sequence[str], default: str | None = None) -> str | None:
        value = self.string(key, default)
        if value is not None and value not in choices:
            raise self.error(
                key,
                f"unknown value {value!r}",
                hint="choose one of: " + ", ".join(choices),
            )
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, bool, "true or false")
        return default if value is None else bool(value)

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self._get(key, int, "an integer")
        return default if value is None else int(value)

    def scalar(self, key: str) -> str | int | float | bool | dt.date | dt.datetime | dt.time | None:
        value = self._get(
            key, (str, int, float, bool, dt.date, dt.datetime, dt.time), "a single value"
        )
        return value  # type: ignore[no-any-return]

    def array(self, key: str) -> list[Any]:
        value = self._get(key, list, "a list")
        return [] if value is None else list(value)

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.array(key)
        for value in values:
            if not isinstance(value, str):
                raise self.error(key, f"expected a list of strings, found {_describe(value)}")
        return tuple(values)

    def table(self, key: str) -> Table | None:
        value = self._get(key, dict, "a table")
        return None if value is None else Table(self.doc, (*self.path, key), value)

    def tables(self, key: str) -> Iterator[tuple[str, Table]]:
        """The sub-tables of ``key`` (``[fields.X]``, ``[fields.Y]``) in written order."""
        parent = self.table(key)
        if parent is None:
            return
        for name in list(parent.data):
            sub = parent.table(name)
            assert sub is not None
            yield name, sub

    def table_list(self, key: str) -> list[Table]:
        values = self.array(key)
        tables = []
        for index, value in enumerate(values):
            if not isinstance(value, dict):
                raise self.error(key, f"item {index + 1} should be a table, got {_describe(value)}")
            tables.append(Table(self.doc, (*self.path, key), value))
        return tables

    def finish(self, allowed: Sequence[str] | None = None) -> None:
        """Reject keys nobody asked for: they are typos or options that do not apply here.
        Every such key is reported, not only the first."""
        unknown = [key for key in self.data if key not in self._used]
        valid = "valid keys here: " + ", ".join(
            sorted(allowed if allowed is not None else self._used)
        )
        found = combined([self.error(key, f"unknown key {key!r}", hint=valid) for key in unknown])
        if found is not None:
            raise found


class Problems:
    """What reading a document found wrong, gathered part by part so that every problem of
    the document is reported at once: ``gather`` keeps a part's problem and lets the reading
    go on with the next part; ``check`` raises them all together."""

    def __init__(self) -> None:
        self.found: list[ConfigError] = []

    @contextmanager
    def gather(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as exc:
            self.found.append(exc)

    def check(self) -> None:
        error = combined(self.found)
        if error is not None:
            raise error


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list"}
    names[dict] = "a table"
    kinds = _as_tuple(kind)
    return names.get(kinds[0], "a single value") if len(kinds) == 1 else "a single value"


def _describe(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)
