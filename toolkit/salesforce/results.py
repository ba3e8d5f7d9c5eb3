"""What the Metadata API answers about deploys, as typed values.

The shapes follow the Metadata WSDL (DeployResult, DeployDetails, DeployMessage,
RunTestsResult, CodeCoverageResult, ...), keeping every field a report, a gate or a resumed
command needs, with Python names. Clients parse into these; everything above reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEST_LEVELS = (
    "NoTestRun",
    "RunSpecifiedTests",
    "RunLocalTests",
    "RunAllTestsInOrg",
    "RunRelevantTests",
)
# DeployStatus values; the first three are not final.
PENDING_STATUSES = ("Pending", "InProgress", "Canceling")
FINAL_STATUSES = ("Succeeded", "SucceededPartial", "Failed", "Canceled")


@dataclass(frozen=True)
class DeployOptions:
    """The deploy() options sftk sends (the WSDL's DeployOptions)."""

    check_only: bool = False
    test_level: str = "NoTestRun"
    run_tests: tuple[str, ...] = ()
    ignore_warnings: bool = False
    rollback_on_error: bool = True
    purge_on_delete: bool = False
    single_package: bool = True
    allow_missing_files: bool = False
    auto_update_package: bool = False
    perform_retrieve: bool = False


@dataclass(frozen=True)
class ComponentMessage:
    """One DeployMessage: a component that deployed, or failed with a problem at a place."""

    component_type: str
    full_name: str
    file_name: str
    success: bool
    created: bool = False
    changed: bool = False
    deleted: bool = False
    problem: str | None = None
    problem_type: str | None = None  # "Warning" or "Error"
    line: int | None = None
    column: int | None = None
    id: str | None = None


@dataclass(frozen=True)
class TestFailure:
    """One failed Apex test method (RunTestFailure)."""

    class_name: str
    method_name: str
    message: str
    stack_trace: str
    time_ms: float = 0.0
    namespace: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class TestSuccess:
    """One passed Apex test method (RunTestSuccess)."""

    class_name: str
    method_name: str
    time_ms: float = 0.0
    namespace: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ClassCoverage:
    """Line coverage of one Apex class or trigger (CodeCoverageResult); ``type`` is "Class" or
    "Trigger". ``uncovered_lines`` are the lines of locationsNotCovered."""

    name: str
    type: str
    num_locations: int
    num_not_covered: int
    uncovered_lines: tuple[int, ...] = ()
    namespace: str | None = None
    id: str | None = None

    @property
    def covered(self) -> int:
        return self.num_locations - self.num_not_covered

    @property
    def percent(self) -> float:
        """Covered lines in percent; a class with no lines counts as fully covered."""
        if self.num_locations == 0:
            return 100.0
        return 100.0 * self.covered / self.num_locations


@dataclass(frozen=True)
class CoverageWarning:
    """A CodeCoverageWarning; ``name`` is None for the org-wide warning."""

    message: str
    name: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class TestResults:
    """A RunTestsResult: what ran, what failed, and coverage."""

    num_tests_run: int = 0
    num_failures: int = 0
    total_time_ms: float = 0.0
    failures: tuple[TestFailure, ...] = ()
    successes: tuple[TestSuccess, ...] = ()
    coverage: tuple[ClassCoverage, ...] = ()
    coverage_warnings: tuple[CoverageWarning, ...] = ()


@dataclass(frozen=True)
class DeployResult:
    """A DeployResult as checkDeployStatus returns it (with details when asked)."""

    id: str
    status: str
    done: bool
    success: bool
    check_only: bool
    ignore_warnings: bool = False
    rollback_on_error: bool = True
    run_tests_enabled: bool = False
    state_detail: str | None = None
    error_message: str | None = None
    error_status_code: str | None = None
    number_components_total: int = 0
    number_components_deployed: int = 0
    number_component_errors: int = 0
    number_tests_total: int = 0
    number_tests_completed: int = 0
    number_test_errors: int = 0
    created_date: str | None = None
    start_date: str | None = None
    completed_date: str | None = None
    created_by_name: str | None = None
    canceled_by_name: str | None = None
    component_successes: tuple[ComponentMessage, ...] = ()
    component_failures: tuple[ComponentMessage, ...] = ()
    tests: TestResults = field(default_factory=TestResults)

    @property
    def final(self) -> bool:
        return self.done or self.status in FINAL_STATUSES


@dataclass(frozen=True)
class CancelResult:
    """cancelDeploy's answer: ``done`` is False while the org is still canceling."""

    id: str
    done: bool
