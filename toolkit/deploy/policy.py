"""How the deploy engine behaves, as data: the polling schedule, which errors are worth another
try, and which exit code each outcome gets. Changing behaviour means changing a table here."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from toolkit.errors import ExitCode


@dataclass(frozen=True)
class PollSchedule:
    """Quick at first (small deploys finish in seconds), then backing off to ``ceiling``."""

    first: float = 1.0
    factor: float = 1.5
    ceiling: float = 10.0
    quick_polls: int = 5  # polls at ``first`` before backing off

    def intervals(self) -> Iterator[float]:
        for _ in range(self.quick_polls):
            yield self.first
        interval = self.first
        while True:
            interval = min(self.ceiling, interval * self.factor)
            yield interval


POLL_SCHEDULE = PollSchedule()

# Errors that mean sftk could not talk to the org at all (exit ORG_UNREACHABLE); any other error
# code on a submit is the org refusing that deploy (exit DEPLOY_FAILED).
UNREACHABLE_CODES = frozenset(
    {"CONNECTION", "TIMEOUT", "INVALID_SESSION_ID", "INVALID_LOGIN", "API_DISABLED_FOR_ORG"}
)


class Outcome(enum.Enum):
    """How a deploy or validation ended, from the user's point of view."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"  # SucceededPartial: some components deployed (rollbackOnError=false)
    COVERAGE_MISS = "coverage_miss"  # the org accepted it, our gate did not
    TIMED_OUT = "timed_out"  # still running in the org when sftk stopped waiting
    CANCELED = "canceled"
    SUBMITTED = "submitted"  # --async: sent, not waited for
    RUNNING = "running"  # a report on a deploy that has not finished
    INTERRUPTED = "interrupted"  # Ctrl-C while waiting; still running in the org


EXIT_CODES = {
    Outcome.SUCCEEDED: ExitCode.OK,
    Outcome.SUBMITTED: ExitCode.OK,
    Outcome.FAILED: ExitCode.DEPLOY_FAILED,
    Outcome.PARTIAL: ExitCode.PARTIAL_SUCCESS,
    Outcome.COVERAGE_MISS: ExitCode.COVERAGE_BELOW_GATE,
    Outcome.TIMED_OUT: ExitCode.TIMED_OUT,
    Outcome.RUNNING: ExitCode.TIMED_OUT,
    Outcome.CANCELED: ExitCode.CANCELED,
    Outcome.INTERRUPTED: ExitCode.INTERRUPTED,
}

DEFAULT_WAIT_MINUTES = 33.0  # the Salesforce CLI's default wait
DAILY_REQUEST_MARGIN = 0.1  # preflight fails under 10% of the daily API allowance left
DAILY_REQUEST_WARN = 0.25  # and warns under 25%
SUPPORTED_EDITIONS = (  # Organization.OrganizationType; Performance Edition reports Unlimited
    "Developer Edition",
    "Enterprise Edition",
    "Performance Edition",
    "Unlimited Edition",
)

# Retrieves: members per retrieve request, kept well under the 10,000 files a retrieve may hold
# (a content type brings two files per member, a bundle several); listMetadata takes at most
# three queries per call.
RETRIEVE_BATCH = 2_000
LIST_QUERIES_PER_CALL = 3

# Rollback deletes what a deploy created in steps, each its own deploy, so that nothing is
# deleted while something left in the org still refers to it: first, with the earlier versions
# restored, whatever refers to fields and objects (layouts, permission sets, tabs, web links,
# list views ...); then these types, in this order. Objects that refer to each other (lookups)
# are split further, referring object first. Fields of a deleted object go with it.
ROLLBACK_DELETE_ORDER = ("CustomField", "CustomObject", "GlobalValueSet")

# What the Metadata API cannot delete, or refuses to delete as deployed: a rollback leaves
# these to a person, saying why and what to do.
UNDELETABLE: dict[str, tuple[str, str]] = {
    "Settings": (
        "org settings cannot be deleted, only changed",
        "set them back in Setup, or deploy the earlier settings file",
    ),
    "StandardValueSet": (
        "standard picklist value sets cannot be deleted",
        "deactivate the added values in Setup",
    ),
    "Flow": (
        "an active flow cannot be deleted through the Metadata API",
        "deactivate the flow in Setup > Flows, then delete it there",
    ),
}
STANDARD_COMPONENT = (
    "standard objects and fields cannot be deleted",
    "nothing to delete: change it back in Setup if its settings changed",
)
