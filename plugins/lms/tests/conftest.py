"""The LMS plugin's tests run on sftk's kit: the plugin enabled in each test's project (the
sftk_project, sftk_sync and sftk_records fixtures), and the school of ``lmsdata`` written
into the project, as a customer would keep the LMS's exports next to sftk.toml."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import lmsdata
import pytest

from toolkit.testing.kit import KitOrg


@pytest.fixture
def sftk_plugins() -> list[str]:
    return ["lms"]


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """Where the test writes the LMS's exports: the project's folder (made by the kit)."""
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def school_settings(exports: Path) -> dict[str, Any]:
    """[plugins.lms] for the school's bulk export and its statements file."""
    lmsdata.school().write(exports / "oneroster-bulk")
    lmsdata.write_statements(exports / "statements.json", lmsdata.statements())
    return {
        "oneroster": "oneroster-bulk",
        "xapi": "statements.json",
        "xapi_activity_id": lmsdata.ACTIVITY,
    }


@pytest.fixture
def sftk_settings(school_settings: dict[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    return {"lms": school_settings}


@pytest.fixture
def org_facts(sftk_org: KitOrg) -> Iterator[Callable[..., None]]:
    """Change the local org's facts (its user's email, permissions) for one test."""
    url = f"{sftk_org.running.instance_url}/_sftk/org"
    headers = {"Authorization": f"Bearer {sftk_org.running.access_token}"}
    before = sftk_org.session.get(url, headers=headers, timeout=30).json()
    kept = {k: v for k, v in before.items() if k not in ("org_id", "user_id")}

    def change(**facts: Any) -> None:
        answer = sftk_org.session.patch(url, json=facts, headers=headers, timeout=30)
        assert answer.ok, answer.text

    yield change
    sftk_org.session.patch(url, json=kept, headers=headers, timeout=30)
