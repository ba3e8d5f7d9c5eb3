"""Each hook of toolkit/hookspecs.py, exercised through sftk as an installed plugin meets it:
one test named ``test_hook_<hook>`` per hook (tests/test_reference_docs.py fails when one is
missing). The plugins are a generated one (``sftk plugin new hooked``: objects, permission set,
settings, a source and its mappings) and ``watcher`` below for the rest."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from toolkit.deploy import commands
from toolkit.errors import ConfigError, PluginChecksFailed
from toolkit.metadata.changes import Status
from toolkit.metadata.manifest import ComponentRef as Ref
from toolkit.metadata.render import builtin_template_dir
from toolkit.plugin_summary import summarize
from toolkit.project import build_package
from toolkit.testing.kit import KitOrg, KitProject

ITEM = "Hooked_Item__c"
# A preflight check added to the generated plugin: it fails while HOOKED_REFUSE is set.
ANCHOR = "def _moment("
PREFLIGHT = """@hookimpl
def sftk_preflight_checks(org):
    import os

    from toolkit.sync.contract import CheckResult

    status = "fail" if os.environ.get("HOOKED_REFUSE") else "pass"
    return [CheckResult("hooked", status, f"{org.username} on {org.kind}", "unset HOOKED_REFUSE")]


"""
WATCHER = """
from pathlib import Path

from toolkit.hookspecs import hookimpl
from toolkit.metadata.specs import LayoutPatch, RelatedListSpec

SFTK_API_VERSION = 2
EVENTS = []


@hookimpl
def sftk_template_dirs():
    return [Path(__file__).parent / "templates"]


@hookimpl
def sftk_layout_patches(settings):
    contacts = RelatedListSpec("RelatedContactList")
    return [LayoutPatch("Account-Account Layout", related_lists=(contacts,))]


@hookimpl
def sftk_sync_started(run):
    EVENTS.append(("started", run.run_id, run.plugins))


@hookimpl
def sftk_record_failed(run, failure):
    EVENTS.append(("failed", failure.stream, failure.key, failure.code))


@hookimpl
def sftk_sync_finished(run, report):
    EVENTS.append(("finished", report.run_id, report.status))
"""


@pytest.fixture
def sftk_plugins(
    scaffolded: Callable[..., Path], install_plugin: Callable[..., None], tmp_path: Path
) -> Sequence[str]:
    scaffolded("hooked", {"{package}/__init__.py": (ANCHOR, PREFLIGHT + ANCHOR)})
    watcher = tmp_path / "watcher"
    (watcher / "templates").mkdir(parents=True)
    (watcher / "watcher.py").write_text(WATCHER, encoding="utf-8")
    tab = (builtin_template_dir() / "CustomTab.xml.j2").read_text(encoding="utf-8")
    (watcher / "templates" / "CustomTab.xml.j2").write_text(
        tab.replace("<customObject>", "<!-- watcher's tab -->\n    <customObject>")
    )
    install_plugin(watcher, "watcher", "watcher")
    importlib.import_module("watcher").EVENTS.clear()
    return ["hooked", "watcher"]


def events() -> list[tuple[Any, ...]]:
    events: list[tuple[Any, ...]] = importlib.import_module("watcher").EVENTS
    return events


def bad_sample(project: KitProject) -> None:
    """The sample with one item more, whose status the restricted picklist refuses."""
    sample = Path(importlib.import_module("sftk_hooked").SAMPLE).read_text(encoding="utf-8")
    bad = '{"id": "hooked-9", "name": "Bad", "status": "lost", "updated_at": "2026-11-09"}\n'
    (project.root / "items.jsonl").write_text(sample + bad, encoding="utf-8")
    project.configure(settings={"hooked": {"path": "items.jsonl"}})


def test_hook_sftk_object_specs(sftk_project: KitProject, sftk_org: KitOrg) -> None:
    fields = {f["name"]: f for f in getattr(sftk_org.sf, ITEM).describe()["fields"]}
    assert fields["Hooked_Id__c"]["externalId"] and fields["Hooked_Id__c"]["unique"]
    assert [v["value"] for v in fields["Status__c"]["picklistValues"]] == ["Active", "Archived"]


def test_hook_sftk_permission_sets(sftk_project: KitProject) -> None:
    files = {f.path: f.content for f in build_package(sftk_project.open()).files}
    permission_set = files["permissionsets/Hooked_User.permissionset"].decode()
    assert "<label>Hooked User</label>" in permission_set
    assert "<object>Hooked_Item__c</object>" in permission_set


def test_hook_sftk_template_dirs(sftk_project: KitProject) -> None:
    files = {f.path: f.content for f in build_package(sftk_project.open()).files}
    assert b"<!-- watcher's tab -->" in files["tabs/Hooked_Item__c.tab"]


def test_hook_sftk_validate_settings(sftk_project: KitProject) -> None:
    sftk_project.configure(settings={"hooked": {"colour": "red"}})
    with pytest.raises(ConfigError) as refused:
        sftk_project.sync()
    assert "plugins.hooked.colour" in refused.value.message
    assert "unknown key 'colour'" in refused.value.message
    assert refused.value.hint == "valid keys: path"


def test_hook_sftk_sources(sftk_project: KitProject, sftk_org: KitOrg) -> None:
    report = sftk_project.sync()
    assert [(s.plugin, s.stream, s.object, s.read) for s in report.streams] == [
        ("hooked", "items", ITEM, 3)
    ]
    keys = sorted(r["Hooked_Id__c"] for r in sftk_org.records(ITEM, "Hooked_Id__c"))
    assert keys == ["hooked-1", "hooked-2", "hooked-3"]


def test_hook_sftk_default_mappings(sftk_project: KitProject, sftk_org: KitOrg) -> None:
    sftk_project.sync()
    (item,) = sftk_org.records(
        ITEM, "Name, Status__c, Last_Updated__c", "Hooked_Id__c = 'hooked-3'"
    )
    assert item == {
        "Name": "Legacy bundle",
        "Status__c": "Archived",  # "archived" through the mapping's value map
        "Last_Updated__c": "2026-11-04T08:05:00.000+0000",
    }


def test_hook_sftk_layout_patches(sftk_project: KitProject) -> None:
    project = sftk_project.open()
    summary = {s.info.name: s for s in summarize(project)}
    assert summary["watcher"].layout_patches == ("Account-Account Layout",)
    account = Ref("Layout", "Account-Account Layout")
    change = next(c for c in commands.plan(project, "local").changes if c.ref == account)
    assert change.status is Status.UNCHANGED  # the deploy merged the patch into the org's layout
    assert b"<relatedList>RelatedContactList</relatedList>" in (change.org_body or b"")


def test_hook_sftk_preflight_checks(
    sftk_project: KitProject, sftk_org: KitOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKED_REFUSE", "1")
    with pytest.raises(PluginChecksFailed, match="preflight check hooked failed") as refused:
        sftk_project.sync()
    assert "admin@local.sftk on local" in refused.value.message
    assert refused.value.hint == "unset HOOKED_REFUSE"
    assert sftk_org.records(ITEM, "Id") == []


def test_hook_sftk_sync_started(sftk_project: KitProject) -> None:
    report = sftk_project.sync()
    assert events()[0] == ("started", report.run_id, ("hooked",))


def test_hook_sftk_record_failed(sftk_project: KitProject) -> None:
    bad_sample(sftk_project)
    report = sftk_project.sync()
    assert report.status == "partial"
    failed = [e for e in events() if e[0] == "failed"]
    assert failed == [("failed", "items", "hooked-9", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")]


def test_hook_sftk_sync_finished(sftk_project: KitProject) -> None:
    first = sftk_project.sync()
    bad_sample(sftk_project)
    second = sftk_project.sync()
    finished = [e for e in events() if e[0] == "finished"]
    assert finished == [
        ("finished", first.run_id, "succeeded"),
        ("finished", second.run_id, "partial"),
    ]
