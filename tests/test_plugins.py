"""Plugin discovery and loading, with the two bundled plugins installed as real distributions."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import toolkit.plugins
from toolkit import hookspecs
from toolkit.config import PluginSettings
from toolkit.errors import PluginError
from toolkit.metadata.specs import ObjectSpec
from toolkit.plugins import load_plugins


def test_bundled_plugins_are_discovered_through_entry_points() -> None:
    found = {p.name: p for p in load_plugins(()).found}
    assert found["lms"].distribution == "sftk-lms"
    assert found["scheduling"].distribution == "sftk-scheduling"
    assert {p.status for p in found.values() if not p.builtin} == {"not enabled"}
    assert found["files"].builtin and found["files"].status == "enabled"


def test_enabled_plugins_contribute_object_specs() -> None:
    plugins = load_plugins(["lms", "scheduling"])
    results = dict(plugins.call("sftk_object_specs", PluginSettings()))
    lms_names = {spec.name for spec in results["lms"]}
    assert {"Course__c", "Enrollment__c", "Contact"} <= lms_names
    assert all(isinstance(spec, ObjectSpec) for spec in results["scheduling"])


def test_allow_list_env_blocks_other_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTK_PLUGINS", "lms")
    plugins = load_plugins(["lms", "scheduling"])
    assert plugins.enabled == ("files", "lms")
    assert {p.name: p.status for p in plugins.found}["scheduling"] == "blocked"


def test_disabled_loads_nothing() -> None:
    plugins = load_plugins(["lms"], disabled=True)
    assert plugins.enabled == ("files",)  # built in: part of sftk, not a third-party plugin
    assert plugins.call("sftk_object_specs", PluginSettings()) == []


def test_enabled_but_missing_plugin_is_reported_not_fatal() -> None:
    plugins = load_plugins(["nosuch"])
    assert plugins.problems == ("plugin nosuch: enabled in sftk.toml but not installed",)


def test_a_plugin_raising_in_a_hook_is_named() -> None:
    plugins = load_plugins(())

    class Broken:
        @hookspecs.hookimpl
        def sftk_template_dirs(self) -> list[Path]:
            raise RuntimeError("boom")

    plugins.manager.register(Broken(), name="broken")
    with pytest.raises(PluginError, match="plugin broken failed in sftk_template_dirs"):
        plugins.template_dirs()


HOOK_MODULE = "from toolkit.hookspecs import hookimpl\n@hookimpl\ndef {hook}():\n    return []\n"


def _fake_entry_points(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, modules: dict[str, str]
) -> None:
    """Install throw-away plugin modules as entry points, as a distribution would."""
    for name, code in modules.items():
        (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [EntryPoint(name, name, hookspecs.ENTRY_POINT_GROUP) for name in modules]
    monkeypatch.setattr(toolkit.plugins, "entry_points", lambda group: eps)


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = HOOK_MODULE.format(hook="sftk_template_dirs")
    _fake_entry_points(
        monkeypatch, tmp_path, {"goodplug": good, "badplug": "import nosuchmodule\n"}
    )
    plugins = load_plugins(["goodplug", "badplug"])
    assert plugins.enabled == ("files", "goodplug")
    assert plugins.problems == (
        "plugin badplug: ModuleNotFoundError: No module named 'nosuchmodule'",
    )


def test_misspelled_hook_is_reported_and_the_plugin_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typo = HOOK_MODULE.format(hook="sftk_object_spec")
    good = HOOK_MODULE.format(hook="sftk_template_dirs")
    _fake_entry_points(monkeypatch, tmp_path, {"typoplug": typo, "goodplug": good})
    plugins = load_plugins(["typoplug", "goodplug"])
    assert plugins.enabled == ("files", "goodplug")
    (problem,) = plugins.problems
    assert problem.startswith("plugin typoplug: implements sftk_object_spec, which is not a hook")
    assert plugins.call("sftk_object_specs", PluginSettings()) == []


def test_a_plugin_for_an_unsupported_api_version_is_reported_and_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    future = "SFTK_API_VERSION = 99\n" + HOOK_MODULE.format(hook="sftk_template_dirs")
    current = "SFTK_API_VERSION = 2\n" + HOOK_MODULE.format(hook="sftk_template_dirs")
    _fake_entry_points(monkeypatch, tmp_path, {"futureplug": future, "nowplug": current})
    plugins = load_plugins(["futureplug", "nowplug"])
    assert plugins.enabled == ("files", "nowplug")
    found = {p.name: p for p in plugins.found}
    assert found["futureplug"].status == "failed" and found["futureplug"].api_version == 99
    assert "written for plugin API version 99; this sftk supports 1, 2" in (
        found["futureplug"].error or ""
    )
    assert found["nowplug"].api_version == 2


def test_a_hook_with_an_argument_the_spec_lacks_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code = (
        "from toolkit.hookspecs import hookimpl\n"
        "@hookimpl\ndef sftk_sources(settings, root, nonsense):\n    return []\n"
    )
    _fake_entry_points(monkeypatch, tmp_path, {"argplug": code})
    plugins = load_plugins(["argplug"])
    assert plugins.enabled == ("files",)
    assert "nonsense" in plugins.problems[0]


SUMMARIZED = """
SFTK_API_VERSION = 2
from toolkit.hookspecs import hookimpl
from toolkit.metadata.specs import LayoutPatch, PatchField, RelatedListSpec
from toolkit.sync.contract import SettingProblem, SourceSpec, StreamSpec

@hookimpl
def sftk_validate_settings(settings):
    return [SettingProblem(k, "unknown key") for k in settings if k != "region"]

@hookimpl
def sftk_sources(settings):
    stream = StreamSpec("visits", "Visit__c", key="Ext__c", source_key="id")
    return [SourceSpec("api", (stream,), lambda s, r: iter(()))]

@hookimpl
def sftk_layout_patches(settings):
    return [LayoutPatch("Contact-Contact Layout",
                        related_lists=(RelatedListSpec("Visit__c.Contact__c"),),
                        fields=(PatchField("Visits", "Last_Visit__c"),))]
"""


def test_plugins_lists_streams_layout_patches_and_settings_problems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from toolkit.plugin_summary import summarize
    from toolkit.project import open_project

    (tmp_path / "mods").mkdir()
    _fake_entry_points(monkeypatch, tmp_path / "mods", {"visits": SUMMARIZED})
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "sftk.toml").write_text(
        '[plugins]\nenabled = ["visits"]\n[plugins.visits]\nregion = "eu"\n'
    )
    summary = {s.info.name: s for s in summarize(open_project(project_dir))}
    visits = summary["visits"].to_json()
    assert visits["api_version"] == 2 and visits["status"] == "enabled"
    assert visits["streams"] == ["visits -> Visit__c"]
    assert visits["metadata"]["layout_patches"] == ["Contact-Contact Layout"]
    (project_dir / "sftk.toml").write_text(
        '[plugins]\nenabled = ["visits"]\n[plugins.visits]\nregoin = "eu"\n'
    )
    broken = {s.info.name: s for s in summarize(open_project(project_dir))}["visits"]
    assert broken.problem == "settings: sftk.toml:4: plugins.visits.regoin: unknown key"
    assert broken.streams == ()
