"""Frozen dataclass records made in bulk: one per field of a package, tens of thousands."""

from __future__ import annotations

from typing import TypeVar

_Record = TypeVar("_Record")


def frozen_record(cls: type[_Record], values: dict[str, object]) -> _Record:
    """An instance of the frozen dataclass ``cls`` holding ``values``, made without ``__init__``.

    A frozen dataclass's ``__init__`` sets each attribute through ``object.__setattr__``; for
    records of twenty-odd attributes, times thousands of fields, that was the largest single
    cost of loading specs and of loading a package (2.5 us against 0.3 us a record). Records
    with a few attributes keep their ``__init__``: they gain little, and their attributes then
    live in the instance rather than in a dict of their own, which is less for the garbage
    collector to trace. ``values`` must name every field, and hold values of the declared types
    (no ``__post_init__`` runs); the tests of each caller check that it does.
    """
    record = object.__new__(cls)
    object.__setattr__(record, "__dict__", values)
    return record
