"""sftk's pytest plugin as a plugin author uses it: the session's org, a project enabling the
plugin with its metadata deployed, the sync runner and the records helper."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from toolkit.sync.report import RunReport
from toolkit.testing.kit import DeployFailed, KitOrg, KitProject, command_env

Records = Callable[..., list[dict[str, Any]]]
ITEM = "Kitfix_Item__c"


@pytest.fixture
def sftk_plugins(scaffolded: Callable[..., Path]) -> Sequence[str]:
    scaffolded("kitfix")
    return ["kitfix"]


def test_the_project_is_deployed_and_the_sync_runner_returns_the_report(
    sftk_project: KitProject, sftk_sync: Callable[..., RunReport], sftk_records: Records
) -> None:
    report = sftk_sync()
    assert report.status == "succeeded" and report.plugins == ("kitfix",)
    (stream,) = report.streams
    assert (stream.stream, stream.read, stream.written, stream.method) == (
        "items",
        3,
        3,
        "collections",
    )
    assert dict(report.api_calls)["collections"] == 1
    rows = sftk_records(ITEM, ["Kitfix_Id__c", "Status__c"], "Status__c = 'Archived'")
    assert rows == [{"Kitfix_Id__c": "kitfix-3", "Status__c": "Archived"}]
    again = sftk_sync()
    assert again.write_calls == 0 and again.total("written") == 0
    refreshed = sftk_sync(full_refresh=True)  # options go to SyncOptions
    assert refreshed.mode == "full_refresh" and refreshed.total("written") == 3


def test_each_test_starts_with_the_streams_objects_empty(
    sftk_project: KitProject, sftk_records: Records, sftk_org: KitOrg
) -> None:
    assert sftk_records(ITEM, "Id") == []
    sftk_project.sync()
    assert len(sftk_records(ITEM, "Id")) == 3
    sftk_org.fault("rest.query", "http_5xx", count=5)
    sftk_project.reset()
    assert sftk_org.pending_faults() == 0
    assert sftk_records(ITEM, "Id") == []


def test_records_come_back_plain_with_their_parents(
    sftk_project: KitProject, sftk_org: KitOrg
) -> None:
    account = sftk_org.sf.Account.create({"Name": "Parent Co"})
    sftk_org.sf.Contact.create({"LastName": "Child", "AccountId": account["id"]})
    try:
        rows = sftk_org.records("Contact", "LastName, Account.Name", "LastName = 'Child'")
        assert rows == [{"LastName": "Child", "Account": {"Name": "Parent Co"}}]
    finally:
        sftk_org.delete_records(["Contact", "Account"])


def test_the_org_takes_a_package_once_per_session(sftk_project: KitProject) -> None:
    assert sftk_project.deploy() is None  # the fixture deployed it
    again = sftk_project.deploy(again=True)
    assert again is not None and again.unchanged  # the org already has it as packaged


def test_settings_and_config_go_into_sftk_toml(
    sftk_org: KitOrg, scaffolded: Callable[..., Path], tmp_path: Path
) -> None:
    folder = scaffolded("kitconf")
    project = sftk_org.project(
        tmp_path / "p",
        ["kitconf"],
        {"kitconf": {"path": "items.jsonl"}},
        {"sync": {"bulk_threshold": 2}},
    )
    sample = folder / "sftk_kitconf" / "sample" / "items.jsonl"
    (project.root / "items.jsonl").write_text(sample.read_text(encoding="utf-8"))
    project.deploy()
    project.reset()
    assert project.sync().streams[0].method == "bulk"
    text = (project.root / "sftk.toml").read_text(encoding="utf-8")
    assert '[plugins.kitconf]\npath = "items.jsonl"' in text
    with pytest.raises(ValueError, match=r"config may not set \[orgs\]"):
        project.configure(config={"orgs": {}})


def test_a_package_the_org_refuses_fails_with_the_deploy_report(
    scaffolded: Callable[..., Path], sftk_org: KitOrg, tmp_path: Path
) -> None:
    scaffolded(
        "kitrefused",
        {
            "{package}/objects/Kitrefused_Item__c.toml": (
                "[fields.Quantity__c]",
                '[fields.Owner_Team__c]\ntype = "Lookup"\nreference_to = "Team__c"\n'
                'relationship_name = "Items"\n\n[fields.Quantity__c]',
            )
        },
    )
    project = sftk_org.project(tmp_path / "p", ["kitrefused"])
    with pytest.raises(DeployFailed) as refused:
        project.deploy()
    assert "Owner_Team__c" in str(refused.value) and "Team__c" in str(refused.value)


UNFINISHED = """
from toolkit.testing.contract import PluginContract


class TestUnnamedContract(PluginContract):
    pass


def test_needs_a_bad_record(sftk_bad_record):
    pass
"""


def test_what_a_contract_lacks_is_said_plainly(tmp_path: Path) -> None:
    (tmp_path / "test_unfinished.py").write_text(UNFINISHED, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "loads or needs"],
        cwd=tmp_path,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "2 errors" in result.stdout, result.stdout
    assert (
        "TestUnnamedContract: set plugin = 'NAME', the plugin's entry-point name" in result.stdout
    )
    assert "the contract suite needs a record made bad on purpose" in result.stdout
    assert "Traceback" not in result.stdout
