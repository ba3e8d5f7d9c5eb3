"""Each preflight check failing, by setting the local org's facts as a real org would be."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from test_runner import APEX

from toolkit.config import CoveragePolicy, OrgProfile
from toolkit.deploy.preflight import run_preflight
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.metadata_client import MetadataClient
from toolkit.salesforce.results import DeployOptions

if TYPE_CHECKING:
    from tests.conftest import Control

ALL = [
    "ApiEnabled",
    "ModifyAllData",
    "ModifyMetadata",
    "CustomizeApplication",
    "ViewSetup",
    "ViewAllData",
    "ManageUsers",
]


@pytest.fixture(autouse=True)
def restored(control: Control) -> Iterator[None]:
    before = {
        k: v for k, v in control.call("GET", "/_sftk/org").items() if k not in ("org_id", "user_id")
    }
    yield
    control.call("PATCH", "/_sftk/org", before)
    control.coverage({"classes": {}, "triggers": {}, "tests": {}})


def _statuses(connection: OrgConnection, kind: str = "developer") -> dict[str, tuple[str, Any]]:
    report = run_preflight(connection, OrgProfile("target", kind), CoveragePolicy())
    return {c.id: (c.status, c.hint) for c in report.checks}


def test_a_fit_org_passes(connection: OrgConnection) -> None:
    assert {s for s, _ in _statuses(connection).values()} == {"pass"}


@pytest.mark.parametrize(
    ("facts", "check"),
    [
        ({"organization_type": "Professional Edition"}, "edition"),
        ({"permissions": [p for p in ALL if p != "CustomizeApplication"]}, "customize-application"),
        (
            {"permissions": [p for p in ALL if p not in ("ModifyMetadata", "ModifyAllData")]},
            "deploy-permission",
        ),
    ],
)
def test_each_check_fails_with_a_fix(
    connection: OrgConnection, control: Control, facts: dict[str, Any], check: str
) -> None:
    control.call("PATCH", "/_sftk/org", facts)
    found = _statuses(connection)
    failed = {name for name, (status, _) in found.items() if status == "fail"}
    assert failed == {check}
    assert found[check][1]


def test_a_sandbox_behind_a_production_profile(connection: OrgConnection, control: Control) -> None:
    control.call("PATCH", "/_sftk/org", {"is_sandbox": True})
    assert _statuses(connection, "production")["org-kind"][0] == "fail"
    assert _statuses(connection, "sandbox")["org-kind"][0] == "pass"


def test_api_enabled_missing(connection: OrgConnection, control: Control) -> None:
    control.call("PATCH", "/_sftk/org", {"permissions": [p for p in ALL if p != "ApiEnabled"]})
    found = _statuses(connection)
    assert found["api-enabled"][0] == "fail"


def _used(connection: OrgConnection) -> int:
    daily = connection.rest().limits()["DailyApiRequests"]
    return int(daily["Max"]) - int(daily["Remaining"])


def test_few_api_requests_left(connection: OrgConnection, control: Control) -> None:
    used = _used(connection)
    control.call("PATCH", "/_sftk/org", {"daily_api_requests": used + 6})
    assert _statuses(connection)["api-requests"][0] == "fail"
    control.call("PATCH", "/_sftk/org", {"daily_api_requests": 100_000})
    used = _used(connection)
    control.call("PATCH", "/_sftk/org", {"daily_api_requests": int(used / 0.8) + 6})
    assert _statuses(connection)["api-requests"][0] == "warn"


def test_low_org_coverage_fails_production_and_warns_elsewhere(
    connection: OrgConnection, control: Control
) -> None:
    options = DeployOptions(test_level="NoTestRun", rollback_on_error=True)
    client = MetadataClient(connection)
    deploy_id = client.deploy(APEX.zip, options)
    for _ in range(200):
        if client.check_deploy_status(deploy_id, False).done:
            break
        time.sleep(0.05)
    control.coverage(
        {
            "classes": {"Keeper": {"covered": [1], "uncovered": [2, 3, 4]}},
            "triggers": {},
            "tests": {},
        }
    )
    control.call("PATCH", "/_sftk/org", {"organization_type": "Enterprise Edition"})
    assert _statuses(connection, "production")["coverage"][0] == "fail"
    assert _statuses(connection, "developer")["coverage"][0] == "warn"
