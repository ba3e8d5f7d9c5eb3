"""What a sync run is asked for, and the progress it reports while it runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SyncOptions:
    """What ``sftk sync`` was asked for. ``retry`` re-sends the dead letters' records, read
    again from the source (``sftk deadletters retry``)."""

    plugin: str | None = None
    stream: str | None = None
    full_refresh: bool = False
    historic: bool = False
    since: dt.date | None = None
    reconcile: bool = False
    retry: bool = False
    force_reason: str | None = None

    @property
    def mode(self) -> str:
        for name, on in (
            ("retry", self.retry),
            ("reconcile", self.reconcile),
            ("historic", self.historic),
            ("full_refresh", self.full_refresh),
        ):
            if on:
                return name
        return "incremental"


@dataclass(frozen=True)
class StreamProgress:
    plugin: str
    stream: str
    read: int
    written: int
    unchanged: int
    dead_lettered: int
    done: bool


ProgressHandler = Callable[[StreamProgress], None]
