"""The SOQL subset the local org answers: parsed to frozen syntax trees, bound to a schema,
evaluated over plain records.

Three steps, so the REST route can refuse a query before it touches any record: ``parse``
reports syntax errors as a real org words them (MALFORMED_QUERY with the position), ``bind``
resolves names against the deployed schema (INVALID_TYPE, INVALID_FIELD and type mismatches
between a field and its filter value), and ``BoundQuery`` / ``select`` / ``execute`` filter,
order, slice and project records into the REST JSON shape. Everything here is pure: records and
parents come from the caller, "now" too, so date literals are reproducible in tests.

Semantics follow Salesforce rather than SQL where they differ: comparisons use two-valued logic
(``Field != 'x'`` matches records whose field is null), ``=`` and ``LIKE`` on text ignore case,
AND and OR cannot be mixed without parentheses, ascending order puts nulls first and descending
order puts them last, and date literals are ranges of whole UTC days.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from toolkit.localorg.ids import to18

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_TYPE = "INVALID_TYPE"
INVALID_FIELD = "INVALID_FIELD"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
QUERY_TOO_COMPLICATED = "QUERY_TOO_COMPLICATED"
MAX_OFFSET = 2000
MAX_LIMIT = 2**31 - 1  # SOQL numbers are Java ints
# Conditions nested deeper than this (parentheses or NOTs) are refused, as Salesforce refuses
# statements too complex to run; the bound is the local org's own, far above real queries.
MAX_NESTING = 100

Value = str | int | float | Decimal | bool | date | datetime | None
Record = Mapping[str, Any]
Resolve = Callable[[str, str], Record | None]


class SoqlError(Exception):
    """A query refused with a Salesforce error code; ``position`` is a 0-based offset into the
    query text (None when the error has no place in it)."""

    def __init__(
        self, code: str, message: str, position: int | None = None, text: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.position = position
        self.text = text

    @property
    def row(self) -> int:
        """1-based line of the position, as real orgs count it."""
        return self.text.count("\n", 0, self.position or 0) + 1

    @property
    def column(self) -> int:
        """1-based column of the position within its line."""
        offset = self.position or 0
        return offset - (self.text.rfind("\n", 0, offset) + 1) + 1

    @property
    def full_message(self) -> str:
        """The message as a real org sends it: the query line, a caret under the error,
        ``ERROR at Row:r:Column:c`` and the reason."""
        if self.position is None or not self.text:
            return self.message
        line = self.text.splitlines()[self.row - 1] if self.text.strip() else ""
        caret = " " * (self.column - 1) + "^"
        return f"\n{line}\n{caret}\nERROR at Row:{self.row}:Column:{self.column}\n{self.message}"

    def __str__(self) -> str:
        return f"{self.code}: {self.full_message}"


# --- Syntax trees -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldPath:
    """A field as written, with the relationships leading to it: ``Contact__r.Account.Name``."""

    parts: tuple[str, ...]
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class CountField:
    """``COUNT(field)`` with an optional alias: one aggregate row counting non-null values."""

    path: FieldPath
    alias: str | None = None
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"COUNT({self.path})" + (f" {self.alias}" if self.alias else "")


@dataclass(frozen=True)
class StringLit:
    """A quoted string kept as its source text between the quotes, so ``\\%`` and ``\\_`` stay
    distinguishable from wildcards for LIKE."""

    raw: str
    pos: int = field(default=0, compare=False)

    @classmethod
    def of(cls, value: str) -> StringLit:
        """The literal whose decoded value is ``value``."""
        return cls(quote_body(value))

    @property
    def value(self) -> str:
        return _decode(self.raw)

    def __str__(self) -> str:
        return f"'{self.raw}'"


@dataclass(frozen=True)
class NumberLit:
    value: int | Decimal
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return format(self.value, "f") if isinstance(self.value, Decimal) else str(self.value)


@dataclass(frozen=True)
class BoolLit:
    value: bool
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True)
class NullLit:
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return "null"


@dataclass(frozen=True)
class DateLit:
    value: date
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True)
class DateTimeLit:
    """A dateTime with its zone; equality is by instant, so ``10:00:00+01:00`` equals
    ``09:00:00Z``."""

    value: datetime
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        text = self.value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class RelativeDate:
    """A date literal such as ``TODAY`` or ``LAST_N_DAYS:7`` (upper-case name, ``n`` for the
    ``_N_`` kinds)."""

    name: str
    n: int | None = None
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return self.name if self.n is None else f"{self.name}:{self.n}"

    def days(self, today: date) -> tuple[date, date]:
        """The range ``[start, end)`` of whole days this literal covers when it is ``today``."""
        return _relative_range(self.name, self.n, today)


Literal = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | RelativeDate


@dataclass(frozen=True)
class Comparison:
    """``path op value``; ``op`` is one of = != < <= > >= LIKE (``<>`` is read as ``!=``)."""

    path: FieldPath
    op: str
    value: Literal

    def __str__(self) -> str:
        return f"{self.path} {self.op} {self.value}"


@dataclass(frozen=True)
class InList:
    path: FieldPath
    values: tuple[Literal, ...]
    negated: bool = False

    def __str__(self) -> str:
        keyword = "NOT IN" if self.negated else "IN"
        return f"{self.path} {keyword} ({', '.join(str(v) for v in self.values)})"


@dataclass(frozen=True)
class Not:
    operand: Condition

    def __str__(self) -> str:
        return f"NOT {_nested(self.operand)}"


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]

    def __str__(self) -> str:
        return " AND ".join(_nested(c) for c in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]

    def __str__(self) -> str:
        return " OR ".join(_nested(c) for c in self.operands)


Condition = Comparison | InList | Not | And | Or


def _nested(condition: Condition) -> str:
    return f"({condition})" if isinstance(condition, And | Or) else str(condition)


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; ``nulls`` is "FIRST", "LAST" or None for the direction's default."""

    path: FieldPath
    descending: bool = False
    nulls: str | None = None

    @property
    def nulls_last(self) -> bool:
        return self.nulls == "LAST" if self.nulls else self.descending

    def __str__(self) -> str:
        text = f"{self.path} {'DESC' if self.descending else 'ASC'}"
        return text + (f" NULLS {self.nulls}" if self.nulls else "")


@dataclass(frozen=True)
class Query:
    """A parsed query; ``count_all`` is ``SELECT COUNT()`` (then ``fields`` is empty).
    ``str(query)`` prints SOQL that parses back to an equal Query."""

    fields: tuple[FieldPath | CountField, ...]
    sobject: str
    count_all: bool = False
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    sobject_pos: int = field(default=0, compare=False)
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        selected = "COUNT()" if self.count_all else ", ".join(str(f) for f in self.fields)
        text = f"SELECT {selected} FROM {self.sobject}"
        if self.where is not None:
            text += f" WHERE {self.where}"
        if self.order_by:
            text += " ORDER BY " + ", ".join(str(o) for o in self.order_by)
        if self.limit is not None:
            text += f" LIMIT {self.limit}"
        if self.offset is not None:
            text += f" OFFSET {self.offset}"
        return text


# --- Strings --------------------------------------------------------------------------------

_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}
_LIKE_ESCAPES = "%_"


def quote_body(value: str) -> str:
    """``value`` escaped for use between single quotes (without them)."""
    out = []
    for ch in value:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "\n\r\t\b\f":
            out.append("\\" + {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}[ch])
        else:
            out.append(ch)
    return "".join(out)


def _decode(raw: str) -> str:
    """The string a quoted literal stands for; outside LIKE, ``\\%`` and ``\\_`` stand for
    themselves."""
    out = []
    index = 0
    while index < len(raw):
        ch = raw[index]
        if ch == "\\" and index + 1 < len(raw):
            nxt = raw[index + 1]
            out.append("\\" + nxt if nxt in _LIKE_ESCAPES else _ESCAPES[nxt.lower()])
            index += 2
        else:
            out.append(ch)
            index += 1
    return "".join(out)


_ANY_CHAR = None  # ``_`` inside a LIKE segment


def _fold(text: str) -> str:
    """Lower case, one character for one character, so ``_`` still counts characters (a few
    characters lower to two, as ``İ`` does; those are left as they are)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@dataclass(frozen=True)
class LikePattern:
    """A LIKE pattern as the fixed-length pieces between its ``%``s (``None`` standing for
    ``_``), matched by finding each piece leftmost after the one before: exact, because the
    pieces have fixed lengths, and at worst the value's length times the pattern's, where a
    backtracking regular expression takes time exponential in the ``%``s (``%a%a%a%a%b``)."""

    pieces: tuple[tuple[str | None, ...], ...]

    @classmethod
    def parse(cls, raw: str) -> LikePattern:
        """The pattern of a literal's source text; ``\\%`` and ``\\_`` are the characters."""
        pieces: list[tuple[str | None, ...]] = []
        piece: list[str | None] = []
        index = 0
        while index < len(raw):
            ch = raw[index]
            if ch == "\\" and index + 1 < len(raw):
                nxt = raw[index + 1]
                piece.extend(_fold(nxt if nxt in _LIKE_ESCAPES else _ESCAPES[nxt.lower()]))
                index += 2
                continue
            if ch == "%":
                pieces.append(tuple(piece))
                piece = []
            else:
                piece.append(_ANY_CHAR if ch == "_" else _fold(ch))
            index += 1
        pieces.append(tuple(piece))
        return cls(tuple(pieces))

    def matches(self, value: str) -> bool:
        text = _fold(value)
        first, last = self.pieces[0], self.pieces[-1]
        if len(self.pieces) == 1:
            return len(text) == len(first) and _piece_at(text, 0, first)
        end = len(text) - len(last)
        if end < len(first) or not _piece_at(text, 0, first):
            return False
        position = len(first)
        for piece in self.pieces[1:-1]:
            found = _find_piece(text, piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return _piece_at(text, end, last)


def _piece_at(text: str, start: int, piece: tuple[str | None, ...]) -> bool:
    return all(ch is _ANY_CHAR or text[start + i] == ch for i, ch in enumerate(piece))


def _find_piece(text: str, piece: tuple[str | None, ...], start: int, end: int) -> int:
    """The leftmost place in ``text[start:end]`` where ``piece`` fits whole, or -1: a plain
    substring search, anchored on the piece's longest run of characters other than ``_``."""
    offset, anchor = _longest_run(piece)
    place = start
    while place + len(piece) <= end:
        if anchor:
            hit = text.find(anchor, place + offset, end - (len(piece) - offset - len(anchor)))
            if hit < 0:
                return -1
            place = hit - offset
        if _piece_at(text, place, piece):
            return place
        place += 1
    return -1


def _longest_run(piece: tuple[str | None, ...]) -> tuple[int, str]:
    """Where the longest stretch of plain characters of a piece starts, and the stretch."""
    best = (0, "")
    run_start = 0
    for index, ch in enumerate((*piece, _ANY_CHAR)):
        if ch is _ANY_CHAR:
            run = "".join(c for c in piece[run_start:index] if c is not None)
            if len(run) > len(best[1]):
                best = (run_start, run)
            run_start = index + 1
    return best


# --- Tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<string>'(?:\\.|[^'\\])*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
    |(?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+))(?![\w.])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),.:])""",
    re.VERBOSE,
)
_VALID_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_RESERVED = _words(
    "AND ASC DESC EXCLUDES FIRST FROM GROUP HAVING IN INCLUDES LAST LIKE LIMIT NOT NULL NULLS "
    "OR SELECT WHERE WITH TRUE FALSE"
)
_SIMPLE_DATES = _words(
    "YESTERDAY TODAY TOMORROW LAST_WEEK THIS_WEEK NEXT_WEEK LAST_MONTH THIS_MONTH NEXT_MONTH "
    "LAST_90_DAYS NEXT_90_DAYS THIS_QUARTER LAST_QUARTER NEXT_QUARTER THIS_YEAR LAST_YEAR "
    "NEXT_YEAR"
)
_N_DATES = _words(
    "LAST_N_DAYS NEXT_N_DAYS N_DAYS_AGO LAST_N_WEEKS NEXT_N_WEEKS N_WEEKS_AGO LAST_N_MONTHS "
    "NEXT_N_MONTHS N_MONTHS_AGO LAST_N_QUARTERS NEXT_N_QUARTERS N_QUARTERS_AGO LAST_N_YEARS "
    "NEXT_N_YEARS N_YEARS_AGO"
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()

    def keyword(self, *words: str) -> bool:
        return self.kind == "ident" and self.upper in words


def _tokens(text: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise SoqlError(MALFORMED_QUERY, "unterminated string literal", pos, text)
            raise SoqlError(MALFORMED_QUERY, f"unexpected token: '{text[pos]}'", pos, text)
        kind = match.lastgroup or ""
        if kind == "string":
            for escape in _VALID_ESCAPE.finditer(match.group()[1:-1]):
                if escape.group(1).lower() not in _ESCAPES and escape.group(1) not in "%_":
                    raise SoqlError(
                        MALFORMED_QUERY,
                        f"Invalid string literal {match.group()}. Illegal character sequence "
                        f"'{escape.group()}' in string literal.",
                        pos,
                        text,
                    )
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "<EOF>", len(text)))
    return tokens


# --- Parser ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: _Token | None = None) -> SoqlError:
        token = token or self.current
        return SoqlError(MALFORMED_QUERY, f"unexpected token: '{token.text}'", token.pos, self.text)

    def expect_keyword(self, *words: str) -> _Token:
        if not self.current.keyword(*words):
            raise self.fail()
        return self.advance()

    def expect_punct(self, text: str) -> _Token:
        if self.current.kind != "punct" or self.current.text != text:
            raise self.fail()
        return self.advance()

    def at_punct(self, text: str) -> bool:
        return self.current.kind == "punct" and self.current.text == text

    def name(self) -> _Token:
        token = self.current
        if token.kind != "ident" or token.upper in _RESERVED:
            raise self.fail()
        return self.advance()

    def path(self) -> FieldPath:
        first = self.name()
        parts = [first.text]
        while self.at_punct("."):
            self.advance()
            parts.append(self.name().text)
        return FieldPath(tuple(parts), first.pos)

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not token.text.isdigit():
            raise self.fail()
        if int(token.text) > MAX_LIMIT:
            raise SoqlError(
                MALFORMED_QUERY,
                f"{token.text} is not an integer SOQL can hold (at most {MAX_LIMIT})",
                token.pos,
                self.text,
            )
        self.advance()
        return int(token.text)

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields: list[FieldPath | CountField] = []
        count_all = False
        if self.current.keyword("COUNT") and self.tokens[self.index + 1].text == "(":
            start = self.advance()
            self.advance()
            if self.at_punct(")"):
                self.advance()
                count_all = True
            else:
                path = self.path()
                self.expect_punct(")")
                alias = None
                if self.current.kind == "ident" and self.current.upper not in _RESERVED:
                    alias = self.advance().text
                fields.append(CountField(path, alias, start.pos))
                if self.at_punct(","):
                    self.advance()
                    other = self.path()
                    raise SoqlError(
                        MALFORMED_QUERY,
                        f"Field must be grouped or aggregated: {other}",
                        other.pos,
                        self.text,
                    )
        else:
            fields.append(self.path())
            while self.at_punct(","):
                self.advance()
                if self.current.keyword("COUNT") and self.tokens[self.index + 1].text == "(":
                    raise SoqlError(
                        MALFORMED_QUERY,
                        f"Field must be grouped or aggregated: {fields[0]}",
                        fields[0].pos,
                        self.text,
                    )
                fields.append(self.path())
        self.expect_keyword("FROM")
        sobject = self.name()
        where = None
        if self.current.keyword("WHERE"):
            self.advance()
            where = self.condition()
        order: list[OrderItem] = []
        if self.current.keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order.append(self.order_item())
            while self.at_punct(","):
                self.advance()
                order.append(self.order_item())
        limit = offset = None
        if self.current.keyword("LIMIT"):
            self.advance()
            limit = self.integer()
        if self.current.keyword("OFFSET"):
            self.advance()
            token = self.current
            offset = self.integer()
            if offset > MAX_OFFSET:
                raise SoqlError(
                    NUMBER_OUTSIDE_VALID_RANGE,
                    f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                    token.pos,
                    self.text,
                )
        if self.current.kind != "eof":
            raise self.fail()
        return Query(
            tuple(fields),
            sobject.text,
            count_all,
            where,
            tuple(order),
            limit,
            offset,
            sobject.pos,
            self.text,
        )

    def order_item(self) -> OrderItem:
        path = self.path()
        descending = False
        if self.current.keyword("ASC", "DESC"):
            descending = self.advance().upper == "DESC"
        nulls = None
        if self.current.keyword("NULLS"):
            self.advance()
            nulls = self.expect_keyword("FIRST", "LAST").upper
        return OrderItem(path, descending, nulls)

    def condition(self) -> Condition:
        """Operands joined by one kind of operator; switching kind needs parentheses."""
        first = self.unary()
        if not self.current.keyword("AND", "OR"):
            return first
        kind = self.current.upper
        operands = [first]
        while self.current.keyword("AND", "OR"):
            if self.current.upper != kind:
                raise self.fail()
            self.advance()
            operands.append(self.unary())
        return And(tuple(operands)) if kind == "AND" else Or(tuple(operands))

    def unary(self) -> Condition:
        if not (self.current.keyword("NOT") or self.at_punct("(")):
            return self.simple()
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise SoqlError(
                QUERY_TOO_COMPLICATED,
                f"Conditions are nested more than {MAX_NESTING} deep; simplify the WHERE clause",
                self.current.pos,
                self.text,
            )
        if self.advance().text.upper() == "NOT":
            inner: Condition = Not(self.unary())
        else:
            inner = self.condition()
            self.expect_punct(")")
        self.depth -= 1
        return inner

    def simple(self) -> Condition:
        path = self.path()
        token = self.current
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, self.literal())
        if token.keyword("LIKE"):
            self.advance()
            return Comparison(path, "LIKE", self.literal())
        negated = False
        if token.keyword("NOT"):
            self.advance()
            negated = True
        self.expect_keyword("IN")
        self.expect_punct("(")
        values = [self.literal()]
        while self.at_punct(","):
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return InList(path, tuple(values), negated)

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "punct" and token.text == ":":
            raise SoqlError(
                MALFORMED_QUERY, "Bind variables only allowed in Apex code", token.pos, self.text
            )
        self.advance()
        if token.kind == "string":
            return StringLit(token.text[1:-1], token.pos)
        if token.kind == "number":
            if "." in token.text:
                return NumberLit(Decimal(token.text), token.pos)
            return NumberLit(int(token.text), token.pos)
        if token.kind == "date":
            try:
                return DateLit(date.fromisoformat(token.text), token.pos)
            except ValueError:
                raise self.fail(token) from None
        if token.kind == "datetime":
            try:
                value = datetime.fromisoformat(token.text.replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(token) from None
            return DateTimeLit(value, token.pos)
        if token.kind == "ident":
            word = token.upper
            if word in ("TRUE", "FALSE"):
                return BoolLit(word == "TRUE", token.pos)
            if word == "NULL":
                return NullLit(token.pos)
            if word in _SIMPLE_DATES:
                return RelativeDate(word, None, token.pos)
            if word in _N_DATES:
                colon = self.current
                if colon.text != ":" or colon.pos != token.pos + len(token.text):
                    raise self.fail(colon)
                self.advance()
                number = self.current
                if number.pos != colon.pos + 1:
                    raise self.fail(number)
                relative = RelativeDate(word, self.integer(), token.pos)
                try:
                    relative.days(date.today())
                except (OverflowError, ValueError):
                    raise SoqlError(
                        MALFORMED_QUERY,
                        f"{relative} reaches past the dates SOQL can hold (years 1 to 9999)",
                        number.pos,
                        self.text,
                    ) from None
                return relative
        raise self.fail(token)


def parse(text: str) -> Query:
    """The syntax tree of ``text``, or SoqlError(MALFORMED_QUERY) at the first bad token."""
    return _Parser(text).query()


# --- Date literals --------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (``day`` is a 1st)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _relative_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """``[start, end)`` in days. Weeks start on Sunday (the en_US locale); LAST_N_DAYS includes
    today and NEXT_N_DAYS starts tomorrow, while the other _N_ literals leave out the current
    week, month, quarter or year."""
    count = n or 0
    one = timedelta(days=1)
    week = today - timedelta(days=(today.weekday() + 1) % 7)
    month = today.replace(day=1)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year = date(today.year, 1, 1)
    days = {
        "YESTERDAY": (today - one, today),
        "TODAY": (today, today + one),
        "TOMORROW": (today + one, today + 2 * one),
        "LAST_90_DAYS": (today - 90 * one, today + one),
        "NEXT_90_DAYS": (today + one, today + 91 * one),
        "LAST_N_DAYS": (today - count * one, today + one),
        "NEXT_N_DAYS": (today + one, today + (count + 1) * one),
        "N_DAYS_AGO": (today - count * one, today - (count - 1) * one),
        "THIS_WEEK": (week, week + 7 * one),
        "LAST_WEEK": (week - 7 * one, week),
        "NEXT_WEEK": (week + 7 * one, week + 14 * one),
        "LAST_N_WEEKS": (week - 7 * count * one, week),
        "NEXT_N_WEEKS": (week + 7 * one, week + 7 * (count + 1) * one),
        "N_WEEKS_AGO": (week - 7 * count * one, week - 7 * (count - 1) * one),
    }
    if name in days:
        return days[name]
    unit, start = (
        (1, month) if "MONTH" in name else (3, quarter) if "QUARTER" in name else (12, year)
    )
    if name.startswith("THIS_"):
        offsets = (0, 1)
    elif name.startswith("LAST_N_"):
        offsets = (-count, 0)
    elif name.startswith("NEXT_N_"):
        offsets = (1, count + 1)
    elif name.startswith("LAST_"):
        offsets = (-1, 0)
    elif name.startswith("NEXT_"):
        offsets = (1, 2)
    else:
        offsets = (-count, 1 - count)
    return _add_months(start, offsets[0] * unit), _add_months(start, offsets[1] * unit)


# --- Schema ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """A field as describe tells it: ``type`` is the describe type ('string', 'double', 'id',
    'reference', ...)."""

    name: str
    type: str
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    """An object's api name and its fields by lower-case name."""

    name: str
    fields: Mapping[str, FieldInfo]


class SchemaView(Protocol):
    """What binding needs from the org's schema; the REST route implements it over the store."""

    def object(self, name: str) -> ObjectInfo | None:
        """The object named ``name`` in any case, or None if the org has none."""
        ...


_NUMBER = _words("double int long currency percent")
_ID = frozenset(("id", "reference"))


def _category(field_type: str) -> str:
    if field_type in _NUMBER:
        return "number"
    if field_type in _ID:
        return "id"
    if field_type in ("boolean", "date", "datetime"):
        return field_type
    return "text"


_TYPE_NAMES = {
    "number": "double",
    "id": "id",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    "text": "string",
}
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "text": (StringLit,),
    "id": (StringLit,),
    "number": (NumberLit,),
    "boolean": (BoolLit,),
    "date": (DateLit, RelativeDate),
    "datetime": (DateTimeLit, RelativeDate),
}


@dataclass(frozen=True)
class Hop:
    """One relationship step: the reference field followed, the relationship name it is
    known by in results, and the object it leads to."""

    field: FieldInfo
    relationship: str
    target: str


@dataclass(frozen=True)
class BoundPath:
    """A field path resolved to canonical names: the hops from the queried object and the
    final field on ``object_name``."""

    hops: tuple[Hop, ...]
    field: FieldInfo
    object_name: str

    @property
    def name(self) -> str:
        """The canonical dotted path, as REST columns name it: ``Contact__r.Email``."""
        return ".".join([*(h.relationship for h in self.hops), self.field.name])

    def value(self, record: Record, resolve: Resolve) -> Any:
        """The field's value on ``record`` or its parents; None when a parent is missing."""
        current: Record | None = record
        for hop in self.hops:
            current = _parent(current, hop, resolve)
            if current is None:
                return None
        return current.get(self.field.name) if current is not None else None


def _parent(record: Record | None, hop: Hop, resolve: Resolve) -> Record | None:
    if record is None:
        return None
    parent_id = record.get(hop.field.name)
    if parent_id is None:
        return None
    for target in hop.field.reference_to or (hop.target,):
        found = resolve(target, parent_id)
        if found is not None:
            return found
    return None


class _Binder:
    def __init__(self, query: Query, schema: SchemaView) -> None:
        self.query = query
        self.schema = schema

    def error(self, code: str, message: str, pos: int) -> SoqlError:
        return SoqlError(code, message, pos, self.query.text)

    def root(self) -> ObjectInfo:
        info = self.schema.object(self.query.sobject)
        if info is None:
            raise self.error(
                INVALID_TYPE,
                f"sObject type '{self.query.sobject}' is not supported. If you are attempting to "
                "use a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                self.query.sobject_pos,
            )
        return info

    def path(self, root: ObjectInfo, path: FieldPath) -> BoundPath:
        parts = list(path.parts)
        if (
            len(parts) > 1
            and parts[0].lower() == root.name.lower()
            and self._relationship(root, parts[0]) is None
        ):
            parts = parts[1:]
        current = root
        hops: list[Hop] = []
        for part in parts[:-1]:
            reference = self._relationship(current, part)
            parent = (
                self.schema.object(reference.reference_to[0])
                if reference is not None and reference.reference_to
                else None
            )
            if reference is None or parent is None:
                raise self.error(
                    INVALID_FIELD,
                    f"Didn't understand relationship '{part}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                    path.pos,
                )
            relationship = reference.relationship_name or reference.name[:-2]
            hops.append(Hop(reference, relationship, parent.name))
            current = parent
        info = current.fields.get(parts[-1].lower())
        if info is None:
            raise self.error(
                INVALID_FIELD,
                f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
                path.pos,
            )
        return BoundPath(tuple(hops), info, current.name)

    @staticmethod
    def _relationship(info: ObjectInfo, name: str) -> FieldInfo | None:
        """The reference field known by relationship ``name``: by its relationship name, or a
        standard ``XId`` field for ``X`` when the schema gives no relationship name."""
        lowered = name.lower()
        for candidate in info.fields.values():
            if candidate.type != "reference":
                continue
            if (candidate.relationship_name or "").lower() == lowered:
                return candidate
        fallback = info.fields.get(lowered + "id")
        if fallback is not None and fallback.type == "reference":
            return fallback
        return None


def bind(query: Query, schema: SchemaView) -> BoundQuery:
    """``query`` resolved against ``schema``: canonical names, relationship hops, and filter
    values checked against their fields' types."""
    binder = _Binder(query, schema)
    root = binder.root()
    columns: list[BoundPath] = []
    count_field: BoundPath | None = None
    alias = None
    seen: set[str] = set()
    for item in query.fields:
        if isinstance(item, CountField):
            count_field = binder.path(root, item.path)
            alias = item.alias
            continue
        bound = binder.path(root, item)
        if bound.name.lower() in seen:
            raise binder.error(MALFORMED_QUERY, f"duplicate field selected: {bound.name}", item.pos)
        seen.add(bound.name.lower())
        columns.append(bound)
    where = _bind_condition(binder, root, query.where) if query.where is not None else None
    order = tuple(
        _BoundOrder(binder.path(root, o.path), o.descending, o.nulls_last) for o in query.order_by
    )
    return BoundQuery(query, root.name, tuple(columns), count_field, alias, where, order)


def _bind_condition(binder: _Binder, root: ObjectInfo, condition: Condition) -> _BoundCondition:
    if isinstance(condition, And | Or):
        operands = tuple(_bind_condition(binder, root, c) for c in condition.operands)
        return _BoundBool("AND" if isinstance(condition, And) else "OR", operands)
    if isinstance(condition, Not):
        return _BoundBool("NOT", (_bind_condition(binder, root, condition.operand),))
    path = binder.path(root, condition.path)
    category = _category(path.field.type)
    if isinstance(condition, Comparison):
        if condition.op == "LIKE" and category != "text":
            raise binder.error(
                INVALID_QUERY_FILTER_OPERATOR,
                f"invalid operator on {_TYPE_NAMES[category]} field",
                condition.path.pos,
            )
        values: tuple[Literal, ...] = (condition.value,)
        op = condition.op
        negated = False
    else:
        values = condition.values
        op = "IN"
        negated = condition.negated
    for value in values:
        _check_value(binder, path, category, value, like=op == "LIKE")
    return _BoundTest(path, category, op, values, negated)


def _check_value(
    binder: _Binder, path: BoundPath, category: str, value: Literal, *, like: bool
) -> None:
    if isinstance(value, NullLit) and not like:
        return
    if not isinstance(value, _ACCEPTS[category]):
        quoted = category in ("text", "id")
        raise binder.error(
            INVALID_FIELD,
            f"value of filter criterion for field '{path.field.name}' must be of type "
            f"{_TYPE_NAMES[category]} and should {'' if quoted else 'not '}be enclosed in quotes",
            value.pos,
        )
    if category == "id" and isinstance(value, StringLit) and not like:
        text = value.value
        if text and to18(text) is None:
            raise binder.error(
                INVALID_QUERY_FILTER_OPERATOR, f"invalid ID field: {text}", value.pos
            )


# --- Evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _BoundTest:
    path: BoundPath
    category: str
    op: str
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class _BoundBool:
    op: str
    operands: tuple[_BoundCondition, ...]


_BoundCondition = _BoundTest | _BoundBool


@dataclass(frozen=True)
class _BoundOrder:
    path: BoundPath
    descending: bool
    nulls_last: bool


Predicate = Callable[[Record, Resolve], bool]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _normal(category: str, value: Any) -> Any:
    """A record value in the form comparisons use: folded text, exact numbers, UTC instants."""
    if value is None:
        return None
    if category == "text":
        return str(value).casefold()
    if category == "number" and isinstance(value, float):
        return Decimal(repr(value))
    if category == "datetime" and isinstance(value, datetime):
        return _utc(value)
    return value


def _interval(category: str, literal: Literal, today: date) -> tuple[Any, Any]:
    """``[low, high)`` for literals that stand for a span; a point is ``(v, None)``."""
    if isinstance(literal, RelativeDate):
        start, end = literal.days(today)
        if category == "datetime":
            return _midnight(start), _midnight(end)
        return start, end
    if isinstance(literal, DateLit):
        return literal.value, literal.value + timedelta(days=1)
    if isinstance(literal, DateTimeLit):
        return _utc(literal.value), None
    if isinstance(literal, StringLit):
        text = literal.value
        return (text.casefold() if category == "text" else to18(text) or text), None
    if isinstance(literal, NumberLit | BoolLit):
        return literal.value, None
    return None, None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _compare(op: str, value: Any, low: Any, high: Any) -> bool:
    """``value op literal`` where the literal is a point (``high`` None) or a span."""
    if high is None:
        if op == "=":
            return bool(value == low)
        if op == "!=":
            return bool(value != low)
        if value is None or low is None:
            return False
        if op == "<":
            return bool(value < low)
        if op == "<=":
            return bool(value <= low)
        if op == ">":
            return bool(value > low)
        return bool(value >= low)
    if value is None:
        return op == "!="
    inside = bool(low <= value < high)
    return {
        "=": inside,
        "!=": not inside,
        "<": bool(value < low),
        "<=": bool(value < high),
        ">": bool(value >= high),
        ">=": bool(value >= low),
    }[op]


def _compile(condition: _BoundCondition, today: date) -> Predicate:
    if isinstance(condition, _BoundBool):
        parts = [_compile(c, today) for c in condition.operands]
        if condition.op == "NOT":
            only = parts[0]
            return lambda record, resolve: not only(record, resolve)
        if condition.op == "AND":
            return lambda record, resolve: all(p(record, resolve) for p in parts)
        return lambda record, resolve: any(p(record, resolve) for p in parts)
    path, category = condition.path, condition.category
    direct = path.field.name if not path.hops else None

    def read(record: Record, resolve: Resolve) -> Any:
        raw = record.get(direct) if direct is not None else path.value(record, resolve)
        if category == "date" and isinstance(raw, datetime):
            raw = _utc(raw).date()
        return _normal(category, raw)

    if condition.op == "LIKE":
        literal = condition.values[0]
        pattern = LikePattern.parse(literal.raw) if isinstance(literal, StringLit) else None

        def like(record: Record, resolve: Resolve) -> bool:
            raw = path.value(record, resolve) if direct is None else record.get(direct)
            return raw is not None and pattern is not None and pattern.matches(str(raw))

        return like
    spans = [_interval(category, v, today) for v in condition.values]
    if condition.op == "IN":
        negated = condition.negated

        def member(record: Record, resolve: Resolve) -> bool:
            value = read(record, resolve)
            found = any(_compare("=", value, low, high) for low, high in spans)
            return found != negated

        return member
    op = condition.op
    low, high = spans[0]
    return lambda record, resolve: _compare(op, read(record, resolve), low, high)


def json_value(value: Any) -> Any:
    """A record value as REST JSON writes it: dates ISO, dateTimes with milliseconds and
    ``+0000``, decimals as numbers."""
    if isinstance(value, datetime):
        utc = _utc(value)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _attributes(object_name: str, record_id: Any, version: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"type": object_name}
    if record_id is not None:
        attributes["url"] = f"/services/data/v{version}/sobjects/{object_name}/{record_id}"
    return attributes


@dataclass
class _Shape:
    """The nested selection: leaf fields and relationships in select-list order."""

    object_name: str
    entries: dict[str, FieldInfo | tuple[Hop, _Shape]] = field(default_factory=dict)


def _shape(sobject: str, columns: Iterable[BoundPath]) -> _Shape:
    top = _Shape(sobject)
    for column in columns:
        node = top
        for hop in column.hops:
            entry = node.entries.get(hop.relationship)
            if not isinstance(entry, tuple):
                entry = (hop, _Shape(hop.target))
                node.entries[hop.relationship] = entry
            node = entry[1]
        node.entries[column.field.name] = column.field
    return top


def _project(shape: _Shape, record: Record, resolve: Resolve, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(shape.object_name, record.get("Id"), version)}
    for key, entry in shape.entries.items():
        if isinstance(entry, tuple):
            hop, child = entry
            parent = _parent(record, hop, resolve)
            out[key] = None if parent is None else _project(child, parent, resolve, version)
        else:
            out[key] = json_value(record.get(entry.name))
    return out


@dataclass(frozen=True)
class BoundQuery:
    """A query whose names are resolved; the methods evaluate it over the caller's records.

    ``columns`` are the selected fields in order (for ``columns=true`` metadata); for
    ``COUNT(field)`` ``count_field`` is set and ``alias`` names its result (``expr0`` when None).
    """

    query: Query
    sobject: str
    columns: tuple[BoundPath, ...]
    count_field: BoundPath | None
    alias: str | None
    where: _BoundCondition | None
    order: tuple[_BoundOrder, ...]

    @property
    def compared_fields(self) -> frozenset[str]:
        """Fields of the queried object that WHERE and ORDER BY read (for a path through a
        relationship, its reference field): the only values a caller must type for them."""
        paths = [k.path for k in self.order]
        pending: list[_BoundCondition] = [] if self.where is None else [self.where]
        while pending:
            condition = pending.pop()
            if isinstance(condition, _BoundTest):
                paths.append(condition.path)
            else:
                pending.extend(condition.operands)
        return frozenset(p.hops[0].field.name if p.hops else p.field.name for p in paths)

    @property
    def is_count(self) -> bool:
        """``SELECT COUNT()``: the result is only a total size."""
        return self.query.count_all

    def predicate(self, now: datetime) -> Predicate:
        """The WHERE clause as a function of a record, date literals fixed at ``now``."""
        if self.where is None:
            return lambda record, resolve: True
        return _compile(self.where, _utc(now).date())

    def matches(self, record: Record, resolve: Resolve, now: datetime) -> bool:
        return self.predicate(now)(record, resolve)

    def sort(self, records: Iterable[Record], resolve: Resolve) -> list[Record]:
        """``records`` in ORDER BY order (stable; the input order when there is none). Text
        orders case-insensitively; nulls come first ascending and last descending unless
        NULLS FIRST/LAST says otherwise."""
        ordered = list(records)
        for key in reversed(self.order):
            category = _category(key.path.field.type)
            keyed = [(_normal(category, key.path.value(r, resolve)), r) for r in ordered]
            present = [pair for pair in keyed if pair[0] is not None]
            present.sort(key=lambda pair: pair[0], reverse=key.descending)
            missing = [r for value, r in keyed if value is None]
            values = [r for _, r in present]
            ordered = values + missing if key.nulls_last else missing + values
        return ordered

    def project(self, record: Record, resolve: Resolve, version: str) -> dict[str, Any]:
        """``record`` as a REST query returns it: attributes, selected fields, nested parents
        (``None`` for a missing parent). ``version`` is like "63.0"."""
        return _project(_shape(self.sobject, self.columns), record, resolve, version)


@dataclass(frozen=True)
class QueryResult:
    """What a query returns before paging: ``total_size`` and the projected records (empty for
    ``COUNT()``)."""

    total_size: int
    records: list[dict[str, Any]]


PARENT_CACHE = 10_000


def caching(resolve: Resolve) -> Resolve:
    """``resolve`` remembering its answers, so parents shared by many records are fetched once.
    The memory is bounded: past ``PARENT_CACHE`` parents it starts afresh."""
    cache: dict[tuple[str, str], Record | None] = {}

    def cached(object_name: str, record_id: str) -> Record | None:
        key = (object_name, record_id)
        if key not in cache:
            if len(cache) >= PARENT_CACHE:
                cache.clear()
            cache[key] = resolve(object_name, record_id)
        return cache[key]

    return cached


def _window(bound: BoundQuery) -> tuple[int, int | None]:
    """OFFSET and LIMIT as slice bounds."""
    query = bound.query
    start = query.offset or 0
    return start, None if query.limit is None else start + query.limit


def select(
    bound: BoundQuery, records: Iterable[Record], resolve: Resolve, now: datetime
) -> list[Record]:
    """The records the query returns, unprojected: filtered, ordered, then OFFSET and LIMIT.
    Without ORDER BY it stops reading ``records`` once LIMIT is reached."""
    resolve = caching(resolve)
    test = bound.predicate(now)
    start, stop = _window(bound)
    matching: Iterator[Record] = (r for r in records if test(r, resolve))
    if bound.order:
        return bound.sort(matching, resolve)[start:stop]
    return list(itertools.islice(matching, start, stop))


def select_ids(
    bound: BoundQuery, records: Iterable[Record], resolve: Resolve, now: datetime
) -> Iterator[str]:
    """The Ids of what ``select`` returns, for callers that page through large answers.

    Without ORDER BY it streams. With ORDER BY only the Id and the fields the sort reads are
    kept of each match while sorting, so memory follows the number of matches, not their size.
    """
    resolve = caching(resolve)
    test = bound.predicate(now)
    start, stop = _window(bound)
    matching: Iterator[Record] = (r for r in records if test(r, resolve))
    if not bound.order:
        return itertools.islice((str(r["Id"]) for r in matching), start, stop)
    kept = {"Id"} | bound.compared_fields
    slim = ({name: r[name] for name in kept if name in r} for r in matching)
    ordered = bound.sort(slim, resolve)
    return (str(r["Id"]) for r in ordered[start:stop])


def execute(
    bound: BoundQuery,
    records: Iterable[Record],
    resolve: Resolve,
    now: datetime,
    version: str,
) -> QueryResult:
    """The whole answer: for ``COUNT()`` only the total size, for ``COUNT(field)`` one
    AggregateResult row, otherwise every projected record (the caller pages them)."""
    resolve = caching(resolve)
    if bound.count_field is not None:
        counted = bound.count_field
        test = bound.predicate(now)
        total = sum(
            1 for r in records if test(r, resolve) and counted.value(r, resolve) is not None
        )
        row = {"attributes": {"type": "AggregateResult"}, bound.alias or "expr0": total}
        return QueryResult(1, [row])
    if bound.is_count:
        test = bound.predicate(now)
        start, stop = _window(bound)
        matching = (r for r in records if test(r, resolve))
        return QueryResult(sum(1 for _ in itertools.islice(matching, start, stop)), [])
    chosen = select(bound, records, resolve, now)
    shape = _shape(bound.sobject, bound.columns)
    projected = [_project(shape, r, resolve, version) for r in chosen]
    return QueryResult(len(projected), projected)
