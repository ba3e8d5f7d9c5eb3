"""Is this org fit for a deploy? Each check asks the org one question and answers pass, warn
or fail with a hint that says how to fix it. Deploys run these first (``--skip-preflight`` is
the explicit way out); a failed check stops the deploy before anything is sent.

The checks read what any API user may read about their own session: the Organization record,
UserPermissionAccess (the session's effective permissions), the limits resource and, through
the Tooling API, ApexOrgWideCoverage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolkit.config import CoveragePolicy, OrgProfile
from toolkit.deploy.policy import (
    DAILY_REQUEST_MARGIN,
    DAILY_REQUEST_WARN,
    SUPPORTED_EDITIONS,
    UNREACHABLE_CODES,
)
from toolkit.errors import OrgError
from toolkit.salesforce import rest
from toolkit.salesforce.connection import OrgConnection

PASS, WARN, FAIL = "pass", "warn", "fail"
_PERMISSIONS = (
    "PermissionsApiEnabled",
    "PermissionsModifyAllData",
    "PermissionsModifyMetadata",
    "PermissionsCustomizeApplication",
)


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: str  # pass, warn or fail
    detail: str
    hint: str | None = None


@dataclass(frozen=True)
class PreflightReport:
    org: str
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.status != FAIL for c in self.checks)


class _Facts:
    """What the checks read, each asked at most once; a failed read is kept as the error."""

    def __init__(self, conn: OrgConnection) -> None:
        self.conn = conn
        self._cache: dict[str, Any] = {}

    def _once(self, key: str, read: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = read()
            except OrgError as error:
                if error.code in UNREACHABLE_CODES:
                    raise
                self._cache[key] = error
        value = self._cache[key]
        if isinstance(value, OrgError):
            raise value
        return value

    def organization(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            rows = rest.query(
                self.conn,
                "SELECT Id, Name, OrganizationType, IsSandbox, TrialExpirationDate "
                "FROM Organization",
            )
            return rows[0] if rows else {}

        found: dict[str, Any] = self._once("organization", read)
        return found

    def permissions(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            rows = rest.query(
                self.conn, f"SELECT {', '.join(_PERMISSIONS)} FROM UserPermissionAccess"
            )
            return rows[0] if rows else {}

        found: dict[str, Any] = self._once("permissions", read)
        return found

    def limits(self) -> dict[str, Any]:
        found: dict[str, Any] = self._once("limits", lambda: rest.limits(self.conn))
        return found

    def org_wide_coverage(self) -> float | None:
        def read() -> float | None:
            rows = rest.tooling_query(self.conn, "SELECT PercentCovered FROM ApexOrgWideCoverage")
            percent = float(rows[0].get("PercentCovered") or 0) if rows else None
            if not percent:  # 0% may only mean no Apex has been measured at all
                measured = rest.tooling_query(
                    self.conn, "SELECT Id FROM ApexCodeCoverageAggregate LIMIT 1"
                )
                return percent if measured else None
            return percent

        found: float | None = self._once("coverage", read)
        return found


Verdict = tuple[str, str, str | None]  # status, detail, hint
Check = Callable[[_Facts, OrgProfile, CoveragePolicy], Verdict]


def _verdict(status: str, detail: str, hint: str | None = None) -> Verdict:
    return status, detail, hint


def _edition(facts: _Facts, profile: OrgProfile, policy: CoveragePolicy) -> Verdict:
    edition = str(facts.organization().get("OrganizationType") or "unknown")
    if edition in SUPPORTED_EDITIONS:
        return _verdict(PASS, edition)
    return _verdict(
        FAIL,
        f"{edition} is not one sftk deploys to",
        "the Metadata API deploys need Enterprise, Unlimited, Performance or Developer Edition",
    )


def _permission(fields: tuple[str, ...], hint: str) -> Check:
    def check(facts: _Facts, profile: OrgProfile, policy: CoveragePolicy) -> Verdict:
        granted = [f for f in fields if facts.permissions().get(f) is True]
        if granted:
            return _verdict(PASS, granted[0].removeprefix("Permissions"))
        names = " or ".join(f.removeprefix("Permissions") for f in fields)
        return _verdict(FAIL, f"the user lacks {names}", hint)

    return check


def _api_requests(facts: _Facts, profile: OrgProfile, policy: CoveragePolicy) -> Verdict:
    daily = facts.limits().get("DailyApiRequests", {})
    most, left = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
    share = left / most if most else 0.0
    detail = f"{left:,} of {most:,} daily API requests left ({share:.0%})"
    if share < DAILY_REQUEST_MARGIN:
        hint = "wait for the 24-hour window to free requests, or ask Salesforce for more"
        return _verdict(FAIL, detail, hint)
    if share < DAILY_REQUEST_WARN:
        return _verdict(WARN, detail, "a large deploy may run out")
    return _verdict(PASS, detail)


def _sandbox_flag(facts: _Facts, profile: OrgProfile, policy: CoveragePolicy) -> Verdict:
    org = facts.organization()
    is_sandbox = bool(org.get("IsSandbox"))
    scratch = is_sandbox and org.get("TrialExpirationDate") is not None
    actual = "a scratch org" if scratch else "a sandbox" if is_sandbox else "not a sandbox"
    expected = {"sandbox": True, "production": False}.get(profile.kind)
    if expected is None or (expected == is_sandbox and not (expected and scratch)):
        return _verdict(PASS, f"profile {profile.kind}, org is {actual}")
    return _verdict(
        FAIL,
        f"profile '{profile.name}' is kind {profile.kind} but the org is {actual}",
        f"fix `kind` of [orgs.{profile.name}] in sftk.toml, or log in to the right org",
    )


def _coverage(facts: _Facts, profile: OrgProfile, policy: CoveragePolicy) -> Verdict:
    percent = facts.org_wide_coverage()
    if percent is None:
        return _verdict(PASS, "no Apex coverage measured in the org")
    detail = f"{percent:g}% of Apex lines covered; the gate is {policy.org_wide:g}%"
    if percent >= policy.org_wide:
        return _verdict(PASS, detail)
    status = FAIL if profile.kind == "production" else WARN
    hint = "run the org's tests (Setup > Apex Test Execution) or add tests before deploying"
    return _verdict(status, detail, hint)


CHECKS: tuple[tuple[str, str, Check], ...] = (  # id, title, check
    ("edition", "Edition supported", _edition),
    (
        "api-enabled",
        "API Enabled",
        _permission(
            ("PermissionsApiEnabled",),
            "give the user a profile or permission set with API Enabled",
        ),
    ),
    (
        "deploy-permission",
        "Modify Metadata or Modify All Data",
        _permission(
            ("PermissionsModifyMetadata", "PermissionsModifyAllData"),
            "assign a permission set with Modify Metadata Through Metadata API Functions",
        ),
    ),
    (
        "customize-application",
        "Customize Application",
        _permission(
            ("PermissionsCustomizeApplication",),
            "assign a permission set with Customize Application",
        ),
    ),
    ("api-requests", "Daily API requests left", _api_requests),
    ("org-kind", "Org matches the profile's kind", _sandbox_flag),
    ("coverage", "Org-wide Apex coverage", _coverage),
)


def run_preflight(
    conn: OrgConnection, profile: OrgProfile, policy: CoveragePolicy
) -> PreflightReport:
    facts = _Facts(conn)
    results = []
    for check_id, title, check in CHECKS:
        try:
            status, detail, hint = check(facts, profile, policy)
        except OrgError as error:
            if error.code in UNREACHABLE_CODES:
                raise
            status, detail, hint = WARN, f"could not check: {error.message}", None
        results.append(CheckResult(check_id, title, status, detail, hint))
    return PreflightReport(profile.name, tuple(results))
