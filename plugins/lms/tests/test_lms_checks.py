"""The plugin's preflight: the Salesforce user must be an admin of the org and one of the
LMS's administrators; failing checks stop the sync before it writes, saying how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sftk_lms
from sftk_lms import settings as lms_settings

from toolkit.errors import PluginChecksFailed
from toolkit.sync.report import RunReport
from toolkit.testing.kit import KitProject


def test_a_user_who_is_no_org_admin_is_refused(
    sftk_project: KitProject,
    sftk_sync: Callable[..., RunReport],
    sftk_records: Any,
    org_facts: Callable[..., None],
) -> None:
    org_facts(permissions=["ApiEnabled", "ModifyMetadata"])
    with pytest.raises(PluginChecksFailed, match="salesforce admin failed") as refused:
        sftk_sync()
    assert "Modify All Data or Customize Application" in str(refused.value.hint)
    assert sftk_records("Contact", "Id", "LMS_Learner_Id__c != null") == []


def test_a_user_whose_email_is_no_lms_admins_is_refused(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], org_facts: Callable[..., None]
) -> None:
    org_facts(email="someone.else@example.com")
    with pytest.raises(PluginChecksFailed, match=r"someone\.else@example\.com"):
        sftk_sync()  # the roster's administrator is admin@local.sftk
    table = {**sftk_project.settings["lms"], "admin_emails": ["Someone.Else@example.com"]}
    sftk_project.configure(settings={"lms": table})
    assert sftk_sync().status == "succeeded"


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"oneroster": "a", "export": "b"}, "export", "not both"),
        ({"xapi": "s.json"}, "xapi", "need a roster"),
        ({"oneroster": "x.tar"}, "oneroster", "neither a folder nor a .zip"),
        ({"oneroster": "a", "xapi": "s.json"}, "xapi_activity_id", "which activity ids"),
        ({"oneroster": "a", "xapi_username_env": "A"}, "xapi_password_env", "needs both"),
        ({"oneroster": "a", "xapi_username_env": "not a name"}, "xapi_username_env", "variable"),
        ({"admin_emails": "it@x.example"}, "admin_emails", "list"),
        ({"learner_object": "Account"}, "learner_object", "not a learner object"),
        ({"historic_since": "2024-02-30"}, "historic_since", "not a date"),
        ({"colour": "blue"}, "colour", "unknown key"),
    ],
)
def test_settings_problems_name_the_key(changes: dict[str, Any], key: str, words: str) -> None:
    found = {p.key: p.message for p in lms_settings.problems(changes, Path("."))}
    assert key in found and words in found[key], found


def test_no_roster_means_metadata_only() -> None:
    assert lms_settings.problems({}, Path(".")) == []
    assert sftk_lms.sftk_sources(settings={}, root=Path(".")) == ()
