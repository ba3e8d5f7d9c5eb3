"""A local org with a small data model deployed, and projects that sync files into it.

Each test module gets one org (deploying takes a second or two); ``synced`` gives each test a
project of its own (its own .sftk sync state) on that org, with the org's records of the test
objects deleted first, so tests never see each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce.api import Salesforce
from synckit import OBJECTS, TEST_OBJECTS, SyncOrg, SyncProject

from toolkit.deploy import commands
from toolkit.deploy.policy import Outcome
from toolkit.localorg import deploys
from toolkit.localorg.org import start


def _deploy_model(org: SyncOrg, folder: Path) -> None:
    (folder / "objects").mkdir(parents=True)
    for name, text in OBJECTS.items():
        (folder / "objects" / name).write_text(text, encoding="utf-8")
    holder = SyncProject(folder, org)
    holder.configure()
    run = commands.deploy(holder.project(), "test", skip_preflight=True)
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED, run


@pytest.fixture(scope="module")
def sync_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncOrg]:
    state = tmp_path_factory.mktemp("syncorg") / "state"
    running = start(state, port=0)
    deploys.set_component_delay(running.org, 0)
    try:
        org = SyncOrg(running, state)
        _deploy_model(org, tmp_path_factory.mktemp("model"))
        yield org
    finally:
        running.stop()


def _wipe(sf: Salesforce) -> None:
    for obj in TEST_OBJECTS:
        ids = [r["Id"] for r in sf.query_all(f"SELECT Id FROM {obj}")["records"]]
        for start_at in range(0, len(ids), 200):
            part = ids[start_at : start_at + 200]
            sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(part)})


@pytest.fixture
def synced(tmp_path: Path, sync_org: SyncOrg) -> SyncProject:
    """A fresh project on the module's org, whose test objects hold no records."""
    project = SyncProject(tmp_path / "project", sync_org)
    project.root.mkdir()
    _wipe(project.sf)
    requests_session = project.sf.session
    requests_session.delete(
        f"{sync_org.running.instance_url}/_sftk/faults",
        headers={"Authorization": f"Bearer {sync_org.running.access_token}"},
        timeout=30,
    )
    return project
