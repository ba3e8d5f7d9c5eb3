"""The plugin's preflight: what it asks of the org and the user, against the local org and
against the answers of orgs it must refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sftk_scheduling import preflight
from sftk_scheduling.settings import Settings

from toolkit.errors import PluginChecksFailed
from toolkit.sync.contract import OrgAccess
from toolkit.testing.kit import KitProject

ADMIN = {
    "PermissionsApiEnabled": True,
    "PermissionsModifyAllData": True,
    "PermissionsModifyMetadata": True,
    "PermissionsCustomizeApplication": True,
}


def org(kind: str, edition: str, permissions: dict[str, bool]) -> OrgAccess:
    """What an org answers the checks' two queries, as a plugin is handed it."""

    def query(soql: str) -> list[dict[str, Any]]:
        if "FROM Organization" in soql:
            return [{"OrganizationType": edition, "IsSandbox": kind == "sandbox"}]
        return [permissions]

    return OrgAccess("uat", kind, "00D", "005", "admin@example.com", "66.0", query)


def verdicts(access: OrgAccess, root: Path, **settings: Any) -> dict[str, str]:
    chosen = Settings(ics=("a.ics",), **settings)
    return {c.name: c.status for c in preflight.checks(access, chosen, root)}


def test_an_admin_on_a_supported_edition_passes(tmp_path: Path) -> None:
    assert verdicts(org("sandbox", "Enterprise Edition", ADMIN), tmp_path) == {
        "edition": "pass",
        "api-enabled": "pass",
        "deploy-metadata": "pass",
        "admin": "pass",
        "apex-coverage": "pass",
        "sandbox-first": "pass",
        "calendars": "pass",
    }


def test_what_the_integration_cannot_work_with_fails(tmp_path: Path) -> None:
    nobody = dict.fromkeys(ADMIN, False)
    found = verdicts(org("sandbox", "Professional Edition", nobody), tmp_path)
    assert {name for name, status in found.items() if status == "fail"} == {
        "edition",
        "api-enabled",
        "deploy-metadata",
        "admin",
    }


def test_production_before_any_sandbox_took_the_plugin_is_warned(tmp_path: Path) -> None:
    found = verdicts(org("production", "Unlimited Edition", ADMIN), tmp_path)
    assert found["sandbox-first"] == "warn"


def test_a_caldav_password_that_is_not_set_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    found = verdicts(
        org("sandbox", "Developer Edition", ADMIN),
        tmp_path,
        caldav_url="https://dav.example.com/c/",
        caldav_username="desk",
        caldav_password_env="NOT_SET_ANYWHERE",
    )
    assert found["caldav-password"] == "fail"


def test_a_sync_without_a_calendar_stops_before_it_writes(sftk_project: KitProject) -> None:
    with pytest.raises(PluginChecksFailed, match="preflight check calendars failed") as stopped:
        sftk_project.sync()
    assert "set caldav_url" in (stopped.value.hint or "")
