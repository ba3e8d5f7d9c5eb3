"""The LMS plugin's preflight: before it writes anything, the connected Salesforce user must be
an admin of the org (Modify All Data or Customize Application) and one of the LMS's own
administrators (``admin_emails``, else the roster's users with role administrator), and the
roster and the statements must be readable with the credentials given."""

from __future__ import annotations

import zipfile
from collections.abc import Callable

from sftk_lms.roster import Export, OneRoster, open_roster
from sftk_lms.settings import LmsSettings
from sftk_lms.xapi import Lrs, file_statements
from toolkit.errors import SourceError
from toolkit.sync.contract import CheckResult, MemoryState, OrgAccess

ADMIN_PERMISSIONS = ("ModifyAllData", "CustomizeApplication")


def checks(org: OrgAccess, settings: LmsSettings) -> list[CheckResult]:
    results = [_org_admin(org)]
    roster_check, roster_admins, whole = _roster(settings)
    results.append(roster_check)
    if settings.admin_emails:
        results.append(_lms_admin(org, list(settings.admin_emails), "admin_emails"))
    elif roster_admins or whole:
        results.append(_lms_admin(org, roster_admins, "the roster's administrators"))
    else:
        results.append(
            CheckResult(
                "lms admin",
                "warn",
                "this export lists no users (a delta), so the Salesforce user cannot be checked "
                "against the LMS's administrators",
                "set admin_emails in [plugins.lms] to check it on every run",
            )
        )
    if settings.xapi is not None:
        results.append(_statements(settings))
    return results


def _soql_id(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _org_admin(org: OrgAccess) -> CheckResult:
    name = "salesforce admin"
    columns = ", ".join(f"Permissions{p}" for p in ADMIN_PERMISSIONS)
    try:
        rows = org.query(f"SELECT {columns} FROM UserPermissionAccess")
    except Exception as exc:  # the org refused the query: say so, as a failed check
        return CheckResult(name, "fail", f"the user's permissions cannot be read ({exc})")
    granted = [p for p in ADMIN_PERMISSIONS if rows and rows[0].get(f"Permissions{p}")]
    if granted:
        return CheckResult(name, "pass", f"{org.username} has {', '.join(granted)}")
    return CheckResult(
        name,
        "fail",
        f"{org.username} has neither Modify All Data nor Customize Application",
        "sync as an admin of the org: give the user a profile or permission set with Modify "
        "All Data or Customize Application",
    )


def _lms_admin(org: OrgAccess, admins: list[str], where: str) -> CheckResult:
    name = "lms admin"
    if not admins:
        return CheckResult(
            name,
            "fail",
            "no LMS administrator is known: admin_emails is not set and the roster has no "
            "user with role administrator",
            'list them in [plugins.lms]: admin_emails = ["it@school.example"]',
        )
    email = _user_email(org)
    if email is not None and email.lower() in admins:
        return CheckResult(name, "pass", f"{email} is one of {where}")
    return CheckResult(
        name,
        "fail",
        f"the Salesforce user's email ({email or 'unknown'}) is none of {where}",
        "connect as a user whose email is an LMS administrator's, or add it to admin_emails "
        "in [plugins.lms]",
    )


def _user_email(org: OrgAccess) -> str | None:
    where = (
        f"Id = {_soql_id(org.user_id)}"
        if org.user_id
        else f"Username = {_soql_id(org.username or '')}"
    )
    try:
        rows = org.query(f"SELECT Email FROM User WHERE {where}")
    except Exception:  # no such access: the check then fails, naming no email
        return None
    return str(rows[0]["Email"]) if rows and rows[0].get("Email") else None


def _roster(settings: LmsSettings) -> tuple[CheckResult, list[str], bool]:
    """The roster's check, its administrators' emails, and whether it lists every user."""
    name = f"{settings.roster_setting} readable"
    try:
        roster = open_roster(
            settings.oneroster, settings.export, settings.roster_text, MemoryState()
        )
    except SourceError as exc:
        return CheckResult(name, "fail", exc.message, exc.hint), [], False
    try:
        _whole(roster)
        admins = roster.admins()
    except SourceError as exc:
        return CheckResult(name, "fail", exc.message, exc.hint), [], False
    finally:
        roster.close()
    whole = not isinstance(roster, OneRoster) or roster.modes["users"] == "bulk"
    return CheckResult(name, "pass", f"{settings.roster_text} is readable"), admins, whole


def _whole(roster: OneRoster | Export) -> None:
    """A zip's members all inflate with their checksums right: a truncated or damaged zip is
    refused before anything is written."""
    archive = roster.files.archive
    if archive is None:
        return
    try:
        bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        bad = f"? ({exc})"
    if bad is not None:
        raise SourceError(
            f"{roster.files.shown}!{bad}: damaged or truncated",
            hint="copy the export again, whole",
        )


def _statements(settings: LmsSettings) -> CheckResult:
    name = "xapi readable"
    read: Callable[[], object]
    if settings.xapi_is_url:
        read = Lrs(settings).check
    else:
        path = settings.xapi_file
        assert path is not None and settings.xapi is not None
        shown = settings.xapi
        read = lambda: sum(1 for _ in file_statements(path, shown))  # noqa: E731
    try:
        read()
    except SourceError as exc:
        return CheckResult(name, "fail", exc.message, exc.hint)
    return CheckResult(name, "pass", f"{settings.xapi} answers")
