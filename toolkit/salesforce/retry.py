"""Calls to an org that may be sent again when they fail for a reason that says nothing about
the call itself: the one table of transient errors, shared by the deploy engine (polls,
cancels, retrieves; a deploy submit is never repeated, since a lost answer may hide an
accepted deploy) and the sync engine (idempotent upserts by external ID)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from toolkit.errors import OrgError

T = TypeVar("T")

RETRYABLE_CODES = frozenset(
    {
        "CONNECTION",  # reset, refused, dropped mid-answer
        "TIMEOUT",
        "HTTP_500",
        "HTTP_502",
        "HTTP_503",
        "HTTP_504",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",  # concurrent-request limit; the daily one does not recover
    }
)
MAX_RETRIES = 8  # consecutive failed calls before giving up
RETRY_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each retry, the last repeated


def is_retryable(code: str, message: str = "") -> bool:
    """REQUEST_LIMIT_EXCEEDED covers both the concurrent-request limit (worth a retry) and the
    daily allowance (spent until tomorrow: retrying only spends what is left)."""
    if code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in message:
        return False
    return code in RETRYABLE_CODES


def backoff(failures: int, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: the table's pause, less a
    random share of up to half of it, so clients that failed together do not retry together."""
    pause = RETRY_BACKOFF[min(failures, len(RETRY_BACKOFF)) - 1]
    return pause * (1 - jitter() / 2)


def retried(call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """``call()``, tried again after a growing pause while it fails with a retryable code."""
    failures = 0
    while True:
        try:
            return call()
        except OrgError as error:
            failures += 1
            if not is_retryable(error.code, error.message) or failures > MAX_RETRIES:
                raise
            sleep(backoff(failures))
