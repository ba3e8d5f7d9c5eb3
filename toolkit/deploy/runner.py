"""Deploys as a person runs them: submit once, remember the id, watch it to the end (or to
the wait limit), judge the result, and say what happened.

Every call to the org after the submit may be repeated when it fails for a reason that says
nothing about the deploy (``salesforce.retry.RETRYABLE_CODES``); the submit itself is never
repeated, since a lost answer may hide an accepted deploy. Interrupting the wait leaves the deploy
running in the org; ``wait`` on its id picks it up again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from toolkit.config import CoveragePolicy
from toolkit.deploy import coverage
from toolkit.deploy.history import DeployHistory, DeployRecord, now
from toolkit.deploy.package import DeployPackage
from toolkit.deploy.policy import (
    POLL_SCHEDULE,
    UNREACHABLE_CODES,
    Outcome,
    PollSchedule,
)
from toolkit.errors import OrgError, SftkError, UsageError
from toolkit.salesforce.results import CancelResult, DeployOptions, DeployResult
from toolkit.salesforce.retry import retried

T = TypeVar("T")
ProgressHandler = Callable[[DeployResult], None]


class MetadataApi(Protocol):
    """The Metadata API calls a deploy needs (``MetadataClient`` is the real one)."""

    def deploy(self, zip_bytes: bytes, options: DeployOptions) -> str: ...

    def check_deploy_status(self, deploy_id: str, include_details: bool = True) -> DeployResult: ...

    def cancel_deploy(self, deploy_id: str) -> CancelResult: ...

    def deploy_recent_validation(self, validation_id: str) -> str: ...


@dataclass(frozen=True)
class DeployReport:
    """The end of a deploy command: what the org said, what the gate said, and the outcome."""

    deploy_id: str
    org: str
    outcome: Outcome
    check_only: bool
    result: DeployResult | None = None
    gate: coverage.GateResult | None = None
    note: str | None = None  # what to do next, for timeouts, interruptions and --async


@dataclass(frozen=True)
class CancelReport:
    """How a cancel ended: the deploy's report, and whether it had finished before the cancel
    could stop it (then nothing was canceled, and that is no failure of the cancel)."""

    report: DeployReport
    already_finished: bool = False


def options_for(
    kind: str,
    *,
    check_only: bool,
    test_level: str | None,
    tests: tuple[str, ...],
    ignore_warnings: bool,
    allow_partial: bool = False,
) -> DeployOptions:
    """Deploy options with the guards of the org's kind: production always rolls back on any
    error and never purges deleted components; tests run there unless told otherwise."""
    level = test_level or ("RunLocalTests" if kind == "production" else "NoTestRun")
    if tests and level != "RunSpecifiedTests":
        raise UsageError(
            f"--tests needs --test-level RunSpecifiedTests (not {level})",
            hint="add --test-level RunSpecifiedTests, or drop --tests",
        )
    if level == "RunSpecifiedTests" and not tests:
        raise UsageError(
            "--test-level RunSpecifiedTests needs the test classes to run",
            hint="name them with --tests ClassA,ClassB",
        )
    if allow_partial and kind == "production":
        raise UsageError(
            "a production deploy always rolls back on error; partial deploys are refused",
            hint="drop --allow-partial, or deploy to a sandbox",
        )
    return DeployOptions(
        check_only=check_only,
        test_level=level,
        run_tests=tests,
        ignore_warnings=ignore_warnings,
        rollback_on_error=not allow_partial,
        purge_on_delete=False,
    )


class Deployer:
    def __init__(
        self,
        api: MetadataApi,
        history: DeployHistory,
        org: str,
        coverage_policy: CoveragePolicy,
        *,
        on_progress: ProgressHandler | None = None,
        schedule: PollSchedule = POLL_SCHEDULE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.history = history
        self.org = org
        self.coverage_policy = coverage_policy
        self.on_progress = on_progress or (lambda result: None)
        self.schedule = schedule
        self.sleep = sleep
        self.clock = clock

    # --- the org's calls, retried where that is safe ---------------------------------------

    def _retried(self, call: Callable[[], T]) -> T:
        return retried(call, self.sleep)

    def status(self, deploy_id: str, *, details: bool = True) -> DeployResult:
        return self._retried(lambda: self.api.check_deploy_status(deploy_id, details))

    # --- commands ----------------------------------------------------------------------------

    def deploy(
        self,
        package: DeployPackage,
        options: DeployOptions,
        *,
        wait_minutes: float | None,
        on_submit: Callable[[str], None] | None = None,
    ) -> DeployReport:
        """Submit and, unless ``wait_minutes`` is None (--async), watch it to the end.
        ``on_submit`` hears the deploy id as soon as the org has accepted the deploy."""
        try:
            deploy_id = self.api.deploy(package.zip, options)
        except OrgError as error:
            return self._refused(error, options.check_only)
        with in_the_org(deploy_id, self.org):
            if on_submit is not None:  # first: a snapshot tied to its deploy can undo it
                on_submit(deploy_id)
            self.history.add(
                DeployRecord(
                    id=deploy_id,
                    org=self.org,
                    check_only=options.check_only,
                    package_hash=package.identity,
                    submitted_at=now(),
                    test_level=options.test_level,
                    sent_hash=package.content_hash if package.part_of else None,
                )
            )
            if wait_minutes is None:
                return DeployReport(
                    deploy_id,
                    self.org,
                    Outcome.SUBMITTED,
                    options.check_only,
                    note=f"follow it with `sftk deploy resume {deploy_id} --org {self.org}`",
                )
            return self.wait(deploy_id, wait_minutes)

    def quick(
        self,
        validation_id: str,
        *,
        wait_minutes: float,
        on_submit: Callable[[str], None] | None = None,
    ) -> DeployReport:
        """Deploy a validated package without running its tests again."""
        validation = self.history.find(self.org, validation_id)
        try:
            deploy_id = self.api.deploy_recent_validation(validation_id)
        except OrgError as error:
            return self._refused(error, False)
        with in_the_org(deploy_id, self.org):
            if on_submit is not None:
                on_submit(deploy_id)
            self.history.add(
                DeployRecord(
                    id=deploy_id,
                    org=self.org,
                    check_only=False,
                    package_hash=validation.package_hash if validation else "",
                    submitted_at=now(),
                    test_level=validation.test_level if validation else "",
                    quick_deploy_of=validation_id,
                    sent_hash=validation.sent_hash if validation else None,
                )
            )
            return self.wait(deploy_id, wait_minutes)

    def wait(self, deploy_id: str, wait_minutes: float) -> DeployReport:
        """Watch a submitted deploy to its end; stops at the wait limit or on Ctrl-C without
        touching the deploy itself."""
        deadline = self.clock() + wait_minutes * 60
        intervals: Iterator[float] = self.schedule.intervals()
        try:
            while True:
                # counters only while it runs: details of a large deploy weigh megabytes
                result = self.status(deploy_id, details=False)
                self._seen(result)
                self.on_progress(result)
                if result.final:
                    return self.judge(self.status(deploy_id))
                left = deadline - self.clock()
                if left <= 0:
                    return self._unfinished(result, Outcome.TIMED_OUT)
                self.sleep(min(next(intervals), left))
        except KeyboardInterrupt:
            last = self.history.find(self.org, deploy_id)
            return DeployReport(
                deploy_id,
                self.org,
                Outcome.INTERRUPTED,
                bool(last and last.check_only),
                note=f"still running in the org; `sftk deploy resume {deploy_id} --org "
                f"{self.org}` picks it up again",
            )

    def report(self, deploy_id: str) -> DeployReport:
        """Where a deploy stands now, judged like a finished one when it has finished."""
        result = self.status(deploy_id)
        if result.final:
            return self.judge(result)
        return self._unfinished(result, Outcome.RUNNING)

    def cancel(self, deploy_id: str, *, wait_minutes: float) -> CancelReport:
        """Cancel a deploy and wait until it stops. One that has already finished is reported
        as it ended; the org refuses to cancel it, and sftk does not ask."""
        if self.status(deploy_id, details=False).final:
            return self._finished_before(deploy_id)
        try:
            answer = self._retried(lambda: self.api.cancel_deploy(deploy_id))
        except OrgError:
            if self.status(deploy_id, details=False).final:  # it finished meanwhile
                return self._finished_before(deploy_id)
            raise
        if answer.done:
            return CancelReport(self.judge(self.status(deploy_id)))
        return CancelReport(self.wait(deploy_id, wait_minutes))

    def _finished_before(self, deploy_id: str) -> CancelReport:
        report = replace(
            self.judge(self.status(deploy_id)),
            note="it had already finished: there was nothing to cancel",
        )
        return CancelReport(report, already_finished=True)

    # --- judging -----------------------------------------------------------------------------

    def _refused(self, error: OrgError, check_only: bool) -> DeployReport:
        """The org refused the request itself: nothing runs, and the report says why."""
        if _unreachable(error):
            raise error
        return DeployReport("", self.org, Outcome.FAILED, check_only, note=error.message)

    def _seen(self, result: DeployResult) -> None:
        """Keep the status the org gave in the deploy's record whenever it changes, so the
        record says what the org last said, whatever stops the command."""
        record = self.history.find(self.org, result.id)
        if record is not None and record.status != result.status:
            self.history.update(self.org, result.id, status=result.status, outcome=None)

    def _unfinished(self, result: DeployResult, outcome: Outcome) -> DeployReport:
        self._seen(result)
        note = (
            f"still {result.status} in the org; `sftk deploy resume {result.id} --org "
            f"{self.org}` waits for it, `sftk deploy cancel {result.id} --org {self.org}` stops it"
        )
        return DeployReport(
            result.id,
            self.org,
            outcome,
            result.check_only,
            result,
            note=note,
        )

    def judge(self, result: DeployResult) -> DeployReport:
        outcome = _org_outcome(result)
        gate = None
        if result.tests.coverage and outcome is Outcome.SUCCEEDED:
            gate = coverage.evaluate(self.coverage_policy, result.tests.coverage)
            if not gate.passed:
                outcome = Outcome.COVERAGE_MISS
        self.history.update(self.org, result.id, status=result.status, outcome=outcome.value)
        return DeployReport(result.id, self.org, outcome, result.check_only, result, gate)


@contextmanager
def in_the_org(deploy_id: str, org: str) -> Iterator[None]:
    """What fails once the org has a deploy (the org gone, retries used up, sftk's state not
    written) leaves the deploy where it is: the error says so, and how to pick it up."""
    try:
        yield
    except SftkError as exc:
        if not (isinstance(exc, OrgError) and exc.code == "INVALID_ID_FIELD"):  # unknown id
            exc.add_context(
                f"deploy {deploy_id} reached {org} before this: it may still be running there",
                hint=f"`sftk deploy report {deploy_id} --org {org}` says where it stands and "
                f"records its outcome; `sftk deploy resume {deploy_id} --org {org}` waits for it",
            )
        raise


def _unreachable(error: OrgError) -> bool:
    return error.code in UNREACHABLE_CODES or error.code.startswith("HTTP_")


def _org_outcome(result: DeployResult) -> Outcome:
    if result.status == "Canceled":
        return Outcome.CANCELED
    if result.status == "SucceededPartial":
        return Outcome.PARTIAL
    if result.status == "Succeeded" and result.success:
        return Outcome.SUCCEEDED
    return Outcome.FAILED
