"""The daily-API guard: a run may spend at most a share of the requests the org has left
today, so a large sync never starves the org's other integrations. Before each call (or the
handful a Bulk job takes) the run checks its budget; when it would go over, it stops cleanly
with everything written so far kept, and the next run resumes from there."""

from __future__ import annotations

import math

from toolkit.errors import OrgError
from toolkit.salesforce.calls import CallCounter
from toolkit.salesforce.retry import is_retryable


class GuardStop(Exception):
    """The run stops here; ``reason`` says why, for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ApiGuard:
    """``budget``: the calls this run may make (None: no limit known)."""

    def __init__(self, counter: CallCounter, budget: int | None) -> None:
        self.counter = counter
        self.budget = budget

    @classmethod
    def from_limits(cls, counter: CallCounter, remaining: int | None, share: float) -> ApiGuard:
        budget = None if remaining is None else math.floor(remaining * share)
        return cls(counter, budget)

    def allow(self, calls: int = 1) -> None:
        if self.budget is not None and self.counter.total + calls > self.budget:
            raise GuardStop(
                f"the run used {self.counter.total} of the {self.budget} API requests it may "
                "spend today ([sync] api_share of what the org had left); run it again later "
                "to carry on"
            )

    @staticmethod
    def stop_for(error: OrgError) -> GuardStop | None:
        """The org's own daily limit answering: no retry helps until tomorrow."""
        if error.code == "REQUEST_LIMIT_EXCEEDED" and not is_retryable(error.code, error.message):
            return GuardStop(
                "the org's daily API allowance is spent (REQUEST_LIMIT_EXCEEDED); run again "
                "once it recovers"
            )
        return None
