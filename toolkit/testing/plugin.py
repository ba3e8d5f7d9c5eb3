"""sftk's pytest plugin, registered under pytest's ``pytest11`` entry point: fixtures for
testing a source plugin against a local org.

- ``sftk_org`` (session): one local org for the whole session, as a ``KitOrg``.
- ``sftk_project``: a project in the test's temporary folder with the plugins of
  ``sftk_plugins`` enabled, the ``[plugins.NAME]`` tables of ``sftk_settings`` and the other
  tables of ``sftk_config`` (``sync``, ``mappings``); its metadata deployed to the org and the
  objects its streams write emptied, so each test starts from nothing. ``sftk_new_project``
  is the same project before it is deployed or emptied.
- ``sftk_sync``: runs a sync of that project and returns the run report (counts by outcome per
  stream, API calls by kind, dead letters): ``sftk_sync(full_refresh=True)``.
- ``sftk_records``: the org's records as dicts: ``sftk_records("Enrollment__c", ["Name"])``.
- ``sftk_bad_record``: what the contract suite asks a plugin for to prove that a bad record is
  dead-lettered while the others land; a plugin's tests define it (docs/plugin-guide.md).

``sftk_plugins``, ``sftk_settings`` and ``sftk_config`` are empty here: override them in a
``conftest.py`` or a test module, as pytest fixtures are overridden.

Everything beyond pytest is imported when a fixture first runs, as pytest loads this module in
every session of an environment where sftk is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from toolkit.sync.report import RunReport
    from toolkit.testing.contract import BadRecord
    from toolkit.testing.kit import KitOrg, KitProject


@pytest.fixture(scope="session")
def sftk_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitOrg]:
    """The session's local org."""
    from toolkit.testing.kit import KitOrg

    org = KitOrg.start(tmp_path_factory.mktemp("sftk-org"))
    try:
        yield org
    finally:
        org.stop()


@pytest.fixture
def sftk_plugins() -> Sequence[str]:
    """The plugins ``sftk_project`` enables: override with the plugin under test."""
    return ()


@pytest.fixture
def sftk_settings() -> Mapping[str, Mapping[str, Any]]:
    """``[plugins.NAME]`` tables by plugin name, for ``sftk_project``."""
    return {}


@pytest.fixture
def sftk_config() -> Mapping[str, Any]:
    """Other tables of sftk.toml for ``sftk_project`` (``{"sync": {"bulk_threshold": 50}}``)."""
    return {}


@pytest.fixture
def sftk_new_project(
    sftk_org: KitOrg,
    sftk_plugins: Sequence[str],
    sftk_settings: Mapping[str, Mapping[str, Any]],
    sftk_config: Mapping[str, Any],
    tmp_path: Path,
) -> KitProject:
    """The test's project as written: sftk.toml, nothing deployed, nothing emptied."""
    return sftk_org.project(tmp_path / "project", sftk_plugins, sftk_settings, sftk_config)


@pytest.fixture
def sftk_project(sftk_new_project: KitProject) -> KitProject:
    """The test's project, deployed, its streams' objects empty."""
    sftk_new_project.deploy()
    sftk_new_project.reset()
    return sftk_new_project


@pytest.fixture
def sftk_sync(sftk_project: KitProject) -> Callable[..., RunReport]:
    """Sync the test's project (SyncOptions as keywords) and return the run report."""
    return sftk_project.sync


@pytest.fixture
def sftk_records(sftk_org: KitOrg) -> Callable[..., list[dict[str, Any]]]:
    """``sftk_records(obj, fields, where="")``: the org's records as plain dicts."""
    return sftk_org.records


@pytest.fixture
def sftk_bad_record() -> BadRecord:
    """Settings under which the plugin's source yields one record Salesforce refuses; the
    plugin's tests override this fixture. Here it only says so."""
    pytest.fail(
        "the contract suite needs a record made bad on purpose: define a fixture named "
        "sftk_bad_record returning toolkit.testing.contract.BadRecord(stream, key, settings), "
        "settings under which the source yields that one bad record among good ones "
        "(docs/plugin-guide.md shows one)",
        pytrace=False,
    )
