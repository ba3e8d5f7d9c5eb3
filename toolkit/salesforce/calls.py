"""Counting the calls a connection makes, by kind, and what the org says is left of its daily
API allowance: a response hook on the connection's session, so every client sharing it
(simple-salesforce, the Bulk uploads) is counted the same way, retries included."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests

# The kind of a call, by the first pattern its path matches; "other" when none does.
CALL_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("collections", re.compile(r"/composite/sobjects")),
    ("bulk", re.compile(r"/jobs/ingest")),
    ("describe", re.compile(r"/sobjects/[^/]+/describe")),
    ("query", re.compile(r"/query(All)?/?")),
    ("limits", re.compile(r"/limits/?$")),
)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def call_kind(path: str) -> str:
    return next((kind for kind, pattern in CALL_KINDS if pattern.search(path)), "other")


class CallCounter:
    """Calls seen by kind; ``used`` and ``allowance`` from the last ``Sforce-Limit-Info``
    header (the org's count for the last 24 hours, this call included)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.used: int | None = None
        self.allowance: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_kind(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.counts.items()))

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.url).path
        self.counts[call_kind(path)] += 1
        found = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if found:
            self.used, self.allowance = int(found.group(1)), int(found.group(2))

    @contextmanager
    def counting(self, session: requests.Session) -> Iterator[CallCounter]:
        hooks = session.hooks.setdefault("response", [])
        hooks.append(self)
        try:
            yield self
        finally:
            hooks.remove(self)
