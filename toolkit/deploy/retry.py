"""Calls to the org that may be sent again when they fail for a reason that says nothing about
the call itself (``policy.RETRYABLE_CODES``): polls, cancels, retrieves. A deploy submit never
goes through here, since a lost answer may hide an accepted deploy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from toolkit.deploy.policy import MAX_RETRIES, RETRY_BACKOFF, RETRYABLE_CODES
from toolkit.errors import OrgError

T = TypeVar("T")


def retried(call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """``call()``, tried again after a growing pause while it fails with a retryable code."""
    failures = 0
    while True:
        try:
            return call()
        except OrgError as error:
            failures += 1
            if error.code not in RETRYABLE_CODES or failures > MAX_RETRIES:
                raise
            sleep(RETRY_BACKOFF[min(failures, len(RETRY_BACKOFF)) - 1])
