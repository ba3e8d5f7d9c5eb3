"""What the org and the user must be before the plugin syncs, as scheduling vendors publish
it for their Salesforce integrations: a supported edition, API access, a user who can deploy
metadata and administer the org, Apex coverage for a package that carries Apex, and a
sandbox that took the plugin before production does."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sftk_scheduling.settings import Settings
from toolkit.deploy.policy import SUPPORTED_EDITIONS
from toolkit.sync.contract import CheckResult, OrgAccess
from toolkit.sync.proof import PROVING_KIND, PROVING_STATUSES
from toolkit.sync.state import SyncState

PLUGIN = "scheduling"
PERMISSIONS = (
    "PermissionsApiEnabled",
    "PermissionsModifyAllData",
    "PermissionsModifyMetadata",
    "PermissionsCustomizeApplication",
)


def checks(org: OrgAccess, settings: Settings, root: Path) -> list[CheckResult]:
    organization = _first(org.query, "SELECT OrganizationType, IsSandbox FROM Organization")
    granted = _first(org.query, f"SELECT {', '.join(PERMISSIONS)} FROM UserPermissionAccess")
    return [
        _edition(organization),
        _permission(
            granted,
            "api-enabled",
            ("PermissionsApiEnabled",),
            "give the sync user a profile or permission set with API Enabled",
        ),
        _permission(
            granted,
            "deploy-metadata",
            ("PermissionsModifyMetadata", "PermissionsModifyAllData"),
            "the plugin's objects and layout changes are deployed as metadata: grant Modify "
            "Metadata Through Metadata API Functions, or Modify All Data",
        ),
        _permission(
            granted,
            "admin",
            ("PermissionsModifyAllData", "PermissionsCustomizeApplication"),
            "connect as an administrator (Modify All Data or Customize Application)",
        ),
        CheckResult(
            "apex-coverage",
            "pass",
            "the scheduling package carries no Apex, so no coverage is needed for it "
            "(sftk preflight checks the project's own Apex against its gate)",
        ),
        _sandbox_first(org, root),
        _calendars(settings),
        *_calendar_secrets(settings),
    ]


def _first(query: Callable[[str], list[dict[str, Any]]], soql: str) -> dict[str, Any]:
    rows = query(soql)
    return rows[0] if rows else {}


def _edition(organization: dict[str, Any]) -> CheckResult:
    edition = str(organization.get("OrganizationType") or "unknown")
    if edition in SUPPORTED_EDITIONS:
        return CheckResult("edition", "pass", edition)
    return CheckResult(
        "edition",
        "fail",
        f"{edition} is not an edition the scheduling integration supports",
        "it needs Enterprise, Unlimited, Performance or Developer Edition (API access and "
        "custom objects)",
    )


def _permission(
    granted: dict[str, Any], name: str, fields: tuple[str, ...], hint: str
) -> CheckResult:
    has = [f for f in fields if granted.get(f) is True]
    if has:
        return CheckResult(name, "pass", has[0].removeprefix("Permissions"))
    wanted = " or ".join(f.removeprefix("Permissions") for f in fields)
    return CheckResult(name, "fail", f"the connected user lacks {wanted}", hint)


def _sandbox_first(org: OrgAccess, root: Path) -> CheckResult:
    if org.kind != "production":
        return CheckResult("sandbox-first", "pass", f"{org.profile} is a {org.kind} org")
    state = SyncState.open(root / ".sftk")
    try:
        proven = any(
            PLUGIN in run.plugins
            and run.kind == PROVING_KIND
            and run.org_is_sandbox
            and run.status in PROVING_STATUSES
            for run in state.runs()
        )
    finally:
        state.close()
    if proven:
        return CheckResult("sandbox-first", "pass", "a sandbox of the project took the plugin")
    return CheckResult(
        "sandbox-first",
        "warn",
        f"production org {org.profile} is connected before any sandbox of the project took "
        "the scheduling plugin",
        "deploy and sync into a sandbox first (sftk deploy --org SANDBOX, sftk sync --org "
        "SANDBOX), and check the appointments there",
    )


def _calendars(settings: Settings) -> CheckResult:
    if settings.has_calendars:
        count = len(settings.ics) + (1 if settings.caldav_url else 0)
        return CheckResult("calendars", "pass", f"{count} calendar(s) to read")
    return CheckResult(
        "calendars",
        "fail",
        "no calendar to read appointments from",
        "set caldav_url (a CalDAV calendar) or ics (files or URLs) in [plugins.scheduling]",
    )


def _calendar_secrets(settings: Settings) -> list[CheckResult]:
    env = settings.caldav_password_env
    if not settings.caldav_url or env is None:
        return []
    if os.environ.get(env) is None:
        return [
            CheckResult(
                "caldav-password",
                "fail",
                f"{env} (caldav_password_env) is not set",
                f"export {env} with the CalDAV password of {settings.caldav_username}",
            )
        ]
    return [CheckResult("caldav-password", "pass", f"{env} is set")]
