"""The contract suite catches plugins broken on purpose, each with a message naming the promise
broken and what was seen. The scaffold keeping every promise is proven by its own tests
(test_plugin_new.py); here each break is a small change to it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from toolkit.testing import promises
from toolkit.testing.kit import KitOrg, command_env
from toolkit.testing.promises import PromiseBroken

Scaffold = Callable[..., Path]
Edits = Mapping[str, tuple[str, str]]
READER_YIELD = "yield SourceRecord(item, where=where)"
SINCE_FILTER = 'if since is not None and _older(item.get("updated_at"), since):'


Breaks = Callable[..., PromiseBroken]


@pytest.fixture
def breaks(scaffolded: Scaffold, sftk_org: KitOrg, tmp_path: Path) -> Breaks:
    """``breaks(promise, name, edits, *args)``: the plugin ``sftk plugin new NAME`` writes,
    changed by ``edits``, breaks ``promise`` (called with a project enabling it, its name and
    ``args``); returns what was raised."""

    def check(
        promise: Callable[..., object], name: str, edits: Edits | None, *args: object
    ) -> PromiseBroken:
        scaffolded(name, edits)
        with pytest.raises(PromiseBroken) as caught:
            promise(sftk_org.project(tmp_path / name, [name]), name, *args)
        return caught.value

    return check


def run_suite(folder: Path, selection: str) -> str:
    """The plugin's generated tests, run by pytest as its author runs them."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", selection, "tests"],
        cwd=folder,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


def test_a_mapping_to_a_field_that_does_not_exist_fails_the_suite_naming_the_promise(
    scaffolded: Scaffold,
) -> None:
    folder = scaffolded(
        "nofield",
        {
            "{package}/__init__.py": (
                'FieldMapping("Quantity__c", source="quantity"),',
                'FieldMapping("Quantity__c", source="quantity"),\n'
                '        FieldMapping("Colour__c", source="colour"),',
            )
        },
    )
    out = run_suite(folder, "mappings or first_sync or specs")
    contract = "tests/test_contract.py::TestNofieldContract"
    assert f"FAILED {contract}::test_default_mappings_target_writable_fields" in out
    assert f"FAILED {contract}::test_a_first_sync_writes" in out
    assert "1 passed" in out  # the specs: nothing offline can tell the field is missing
    assert (
        "promise broken: every default mapping targets a field that exists and is writable" in out
    )
    assert (
        "stream nofield.items -> Nofield_Item__c: Colour__c <- colour (default): error: "
        "Nofield_Item__c has no field Colour__c"
    ) in out
    assert "promise broken: a first sync writes" in out


def test_a_stream_whose_second_run_sends_everything_again_fails_naming_the_field(
    scaffolded: Scaffold,
) -> None:
    stamped = (
        f'item["updated_at"] = dt.datetime.now(dt.UTC).isoformat()\n            {SINCE_FILTER}'
    )
    folder = scaffolded("resend", {"{package}/__init__.py": (SINCE_FILTER, stamped)})
    out = run_suite(folder, "second_sync or first_sync")
    assert "1 failed, 1 passed" in out
    assert (
        "FAILED tests/test_contract.py::TestResendContract::test_a_second_sync_writes_nothing"
        in out
    )
    assert "promise broken: a second sync writes nothing" in out
    assert (
        "stream resend.items wrote 3 and deleted 0 record(s) again although the source did "
        "not change (unchanged: 0)"
    ) in out
    assert "Resend_Item__c resend-1: Last_Updated__c was '" in out
    assert "hint: a value made while reading (the time of the read" in out


def test_a_stream_that_ignores_its_cursor_breaks_the_future_cursor_promise(
    breaks: Breaks,
) -> None:
    ignored = {"{package}/__init__.py": (SINCE_FILTER, "if False:")}
    (problem,) = breaks(promises.future_cursor, "nocursor", ignored).problems
    assert problem.startswith("stream nocursor.items: asked for records from ")
    assert problem.endswith(
        "(its newest is 2026-11-04T08:05:00.000000Z), it yielded 3 record(s): "
        "nocursor-1, nocursor-2, nocursor-3"
    )


def test_a_misspelled_hook_breaks_loading(breaks: Breaks) -> None:
    typo = {"{package}/__init__.py": ("def sftk_default_mappings(", "def sftk_default_mapping(")}
    seen = breaks(promises.loads, "typo", typo)
    assert seen.problems == (
        "sftk plugins shows it failed: implements sftk_default_mapping, which is not a hook of "
        "sftk (misspelled?); see docs/hooks.md",
    )


def test_a_warning_from_the_plugin_breaks_loading(breaks: Breaks) -> None:
    warns = {
        "{package}/__init__.py": (
            "SFTK_API_VERSION = 2",
            'import warnings\n\nwarnings.warn("the v1 export is going away", DeprecationWarning)'
            "\nSFTK_API_VERSION = 2",
        )
    }
    (problem,) = breaks(promises.loads, "warned", warns).problems
    assert problem.endswith(
        "sftk_warned/__init__.py:34: DeprecationWarning: the v1 export is going away"
    )


def test_an_uninstalled_plugin_is_named(sftk_org: KitOrg, tmp_path: Path) -> None:
    with pytest.raises(PromiseBroken, match="no plugin named absent is installed"):
        promises.loads(sftk_org.project(tmp_path, ["absent"]), "absent")


def test_a_bad_setting_whose_key_goes_unnamed_breaks_the_settings_promise(
    breaks: Breaks,
) -> None:
    named = [({"path": "missing.jsonl"}, "quantity")]
    seen = breaks(promises.settings, "kitsettings", None, {}, named)
    assert seen.problems == (
        "[plugins.kitsettings] path = 'missing.jsonl': no problem names quantity (it named: path)",
    )


def test_a_plugin_that_checks_no_settings_breaks_the_settings_promise(breaks: Breaks) -> None:
    unchecked = {"{package}/__init__.py": ("@hookimpl\ndef sftk_validate_settings(", "def check(")}
    seen = breaks(promises.settings, "nocheck", unchecked, {}, [])
    assert "plugin nocheck does not implement sftk_validate_settings" in str(seen)


def test_metadata_sftk_validate_refuses_breaks_the_specs_promise(breaks: Breaks) -> None:
    precision = {"{package}/objects/Badspec_Item__c.toml": ("precision = 10", "precision = 19")}
    seen = breaks(promises.specs, "badspec", precision)
    assert str(seen).startswith(
        "promise broken: its specs are well formed, render and pass sftk validate\n"
        "  objects/Badspec_Item__c.object:34 (from plugin badspec: "
        "sftk_badspec/objects/Badspec_Item__c.toml): numeric-precision: precision 19 is "
        "outside 1-18"
    )


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (
            "kitbad-2",
            "the record made bad on purpose (kitbad.items kitbad-2) landed in the org: "
            "kitbad.items -> Kitbad_Item__c: read 3, written 3",
        ),
        (
            "kitbad-9",
            "under the sftk_bad_record fixture's settings stream kitbad.items yields no record "
            "with key 'kitbad-9' (it yields kitbad-1, kitbad-2, kitbad-3)",
        ),
    ],
)
def test_a_record_that_is_not_bad_breaks_the_bad_record_promise(
    breaks: Breaks, key: str, problem: str
) -> None:
    seen = breaks(promises.bad_record, "kitbad", None, {}, "items", key)
    assert seen.problems[0].startswith(problem)


def test_keys_that_change_between_reads_break_the_killed_run_promise(breaks: Breaks) -> None:
    unstable = (
        'yield SourceRecord({**item, "id": f"{item[\'id\']}-{dt.datetime.now().timestamp()}"}, '
        "where=where)"
    )
    seen = breaks(
        promises.killed_run, "unstable", {"{package}/__init__.py": (READER_YIELD, unstable)}
    )
    strays = [p for p in seen.problems if "the source does not have" in p]
    assert strays and strays[0].startswith(
        "stream unstable.items: Unstable_Item__c holds 6 record(s) the source does not have"
    ), seen.problems
    assert seen.problems[-1].startswith("stream unstable.items: 3 source record(s) are not in")


BOOKMARKED = '''
from toolkit.hookspecs import hookimpl
from toolkit.sync.contract import Bookmark, FieldMapping, SourceRecord, SourceSpec, StreamSpec

SFTK_API_VERSION = 2


def read(stream, request):
    """A bug: reading from the last bookmark yields everything again."""
    yield SourceRecord({"id": "p-1", "title": "One"})
    yield SourceRecord({"id": "p-2", "title": "Two"})
    yield Bookmark("after-p-2")


@hookimpl
def sftk_sources():
    stream = StreamSpec("pages", "Account", key="Name", source_key="id")
    return [SourceSpec("pages", (stream,), read)]


@hookimpl
def sftk_default_mappings(stream):
    return [FieldMapping("Description", source="title")]
'''


def test_a_bookmark_that_does_not_move_breaks_the_future_cursor_promise(
    install_plugin: Callable[..., None], sftk_org: KitOrg, tmp_path: Path
) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "bookmarked.py").write_text(BOOKMARKED, encoding="utf-8")
    install_plugin(modules, "bookmarked", "bookmarked")
    with pytest.raises(PromiseBroken) as caught:
        promises.future_cursor(sftk_org.project(tmp_path, ["bookmarked"]), "bookmarked")
    seen = caught.value
    assert seen.problems == (
        "stream bookmarked.pages: read from its last bookmark 'after-p-2' with nothing changed, "
        "it yielded 2 record(s): p-1, p-2",
    )
