"""The contract suite: what every source plugin promises, run in a few lines by its author.

::

    from toolkit.testing.contract import BadRecord, PluginContract

    class TestAcmeContract(PluginContract):
        plugin = "acme"                                  # its entry-point name
        settings = {"path": "tests/data/items.jsonl"}     # its [plugins.acme] table
        bad_settings = [({"path": 42}, "path")]           # changes its checks must refuse

    @pytest.fixture
    def sftk_bad_record(tmp_path):
        ...                                               # see docs/plugin-guide.md
        return BadRecord("items", "bad-1", {"path": str(file_with_one_bad_item)})

Each test checks one promise (``toolkit.testing.promises.PROMISES``) against a project of its
own on the session's local org, and fails with a message that starts with the promise broken.
The settings may come from a fixture instead (a test server's URL): override ``sftk_settings``
in the subclass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import pytest

from toolkit.testing import promises
from toolkit.testing.kit import KitProject

_Result = TypeVar("_Result")


@dataclass(frozen=True)
class BadRecord:
    """What the ``sftk_bad_record`` fixture returns: under ``settings`` (merged over the
    contract's own), the plugin's stream ``stream`` yields, among good records, the record
    ``key`` that Salesforce refuses (a value outside a restricted picklist, a text too long)."""

    stream: str
    key: str
    settings: Mapping[str, Any] = field(default_factory=dict)


class PluginContract:
    """Subclass as ``Test<Name>Contract`` and set ``plugin``; ``settings`` is the plugin's
    ``[plugins.NAME]`` table for every test, ``bad_settings`` pairs of changes to it that the
    plugin must refuse and the key its SettingProblem must name."""

    plugin: ClassVar[str] = ""
    settings: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    bad_settings: ClassVar[Sequence[tuple[Mapping[str, Any], str]]] = ()

    @pytest.fixture
    def sftk_plugins(self) -> Sequence[str]:
        return (self._name(),)

    @pytest.fixture
    def sftk_settings(self) -> Mapping[str, Mapping[str, Any]]:
        return {self._name(): self.settings}

    def _name(self) -> str:
        if not self.plugin:
            pytest.fail(
                f"{type(self).__name__}: set plugin = 'NAME', the plugin's entry-point name",
                pytrace=False,
            )
        return self.plugin

    def _table(self, project: KitProject) -> Mapping[str, Any]:
        return project.settings.get(self._name(), {})

    def test_loads_with_no_warnings(self, sftk_new_project: KitProject) -> None:
        """`sftk plugins` lists the plugin enabled; neither sftk nor Python warns about it."""
        _check(promises.loads, sftk_new_project, self._name())

    def test_settings_are_validated(self, sftk_new_project: KitProject) -> None:
        """Its settings pass its own check; an unknown key and each bad setting are named."""
        _check(
            promises.settings,
            sftk_new_project,
            self._name(),
            self._table(sftk_new_project),
            self.bad_settings,
        )

    def test_specs_render_and_pass_validate(self, sftk_new_project: KitProject) -> None:
        """Streams and default mappings are well formed; the metadata passes sftk validate."""
        _check(promises.specs, sftk_new_project, self._name())

    def test_metadata_deploys_to_the_local_org(self, sftk_new_project: KitProject) -> None:
        _check(promises.deploys, sftk_new_project)

    def test_default_mappings_target_writable_fields(self, sftk_new_project: KitProject) -> None:
        _check(promises.mappings, sftk_new_project, self._name())

    def test_a_first_sync_writes(self, sftk_new_project: KitProject) -> None:
        _check(promises.first_sync, sftk_new_project, self._name())

    def test_a_second_sync_writes_nothing(self, sftk_new_project: KitProject) -> None:
        _check(promises.second_sync, sftk_new_project, self._name())

    def test_a_cursor_in_the_future_reads_nothing(self, sftk_new_project: KitProject) -> None:
        checked = _check(promises.future_cursor, sftk_new_project, self._name())
        if not checked:
            pytest.skip(
                f"no stream of {self._name()} has a cursor or yields bookmarks: each run reads "
                "everything, and the second-sync promise covers it"
            )

    def test_a_bad_record_is_dead_lettered_while_the_others_land(
        self, sftk_new_project: KitProject, sftk_bad_record: BadRecord
    ) -> None:
        table = {**self._table(sftk_new_project), **sftk_bad_record.settings}
        _check(
            promises.bad_record,
            sftk_new_project,
            self._name(),
            table,
            sftk_bad_record.stream,
            sftk_bad_record.key,
        )

    def test_a_killed_sync_run_again_leaves_no_duplicates(
        self, sftk_new_project: KitProject
    ) -> None:
        _check(promises.killed_run, sftk_new_project, self._name())


def _check(promise: Callable[..., _Result], *args: Any) -> _Result:
    """Run a promise's check; a broken one fails the test with its message alone, as the
    kit's own frames and the errors that led to it would only hide it."""
    try:
        return promise(*args)
    except promises.PromiseBroken as broken:
        message = str(broken)
    pytest.fail(message, pytrace=False)  # outside the except: no chain of causes shown
