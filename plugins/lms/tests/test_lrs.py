"""Statements from a Learning Record Store over HTTP: a real LRS from PyPI (Ralph, with its
file-system backend) on loopback, Basic auth from environment variables, ``since`` and
``more`` paging; refused credentials stop the sync in its preflight.

Ralph's file-system backend takes one POST per store (a second one refuses to overwrite its
file), so each test has an LRS of its own, and a statement arriving later is added to the
store's file as Ralph writes it (with its ``stored`` time): what the plugin reads still goes
through Ralph's statements resource, its authentication and its paging."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import lmsdata
import pytest
import requests
from sftk_lms import xapi

from toolkit.errors import PluginChecksFailed
from toolkit.sync.report import RunReport
from toolkit.testing.kit import KitProject

USERNAME, PASSWORD = "lms-sync", "correct horse battery staple"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Lrs:
    url: str  # the xAPI endpoint
    store: Path  # the file-system backend's file

    def post(self, statements: list[dict[str, Any]]) -> None:
        answer = requests.post(
            self.url + "/statements",
            json=statements,
            auth=(USERNAME, PASSWORD),
            headers={"X-Experience-API-Version": xapi.XAPI_VERSION},
            timeout=30,
        )
        assert answer.ok, answer.text

    def store_later(self, statement: dict[str, Any]) -> None:
        stored = dt.datetime.now(dt.UTC).isoformat()
        with self.store.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({**statement, "stored": stored}) + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Ralph's LRS on loopback, one user allowed everything; yields its base URL and store."""
    folder = tmp_path_factory.mktemp("ralph")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (folder / "auth.json").write_text(
        json.dumps(
            [
                {
                    "agent": {"mbox": "mailto:lms-sync@example.com", "objectType": "Agent"},
                    "scopes": ["all"],
                    "hash": hashed,
                    "username": USERNAME,
                }
            ]
        )
    )
    port = free_port()
    env = {
        **os.environ,
        "RALPH_APP_DIR": str(folder / "app"),
        "RALPH_AUTH_FILE": str(folder / "auth.json"),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "data"),
    }
    (folder / "data").mkdir()
    command = [sys.executable, "-m", "uvicorn", "ralph.api:app", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(base + "/__heartbeat__", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                said = server.stderr.read().decode() if server.stderr else ""
                raise AssertionError(f"Ralph's LRS did not start: {said[-2000:]}")
            time.sleep(0.2)
        yield base, folder / "data" / "fs_lrs.jsonl"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture
def lrs(ralph: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Lrs:
    """The LRS, its credentials in the environment as a customer's job would have them, and
    pages of three statements so that ``more`` is followed."""
    monkeypatch.setenv("TEST_LRS_KEY", USERNAME)
    monkeypatch.setenv("TEST_LRS_SECRET", PASSWORD)
    monkeypatch.setattr(xapi, "PAGE_SIZE", 3)
    return Lrs(ralph[0] + "/xAPI", ralph[1])


def on_lrs(project: KitProject, lrs: Lrs, **changes: Any) -> None:
    table = {
        "oneroster": "oneroster-bulk",
        "xapi": lrs.url,
        "xapi_activity_id": lmsdata.ACTIVITY,
        "xapi_username_env": "TEST_LRS_KEY",
        "xapi_password_env": "TEST_LRS_SECRET",
        **changes,
    }
    project.configure(settings={"lms": table})


def statuses(records: Callable[..., list[dict[str, Any]]]) -> dict[str, str]:
    rows = records("Enrollment__c", "Enrollment_Key__c, Status__c")
    return {r["Enrollment_Key__c"]: r["Status__c"] for r in rows}


def test_statements_from_an_lrs_page_by_page_then_only_the_new_ones(
    sftk_project: KitProject,
    sftk_sync: Callable[..., RunReport],
    sftk_records: Callable[..., list[dict[str, Any]]],
    lrs: Lrs,
) -> None:
    items = lmsdata.statements()
    lrs.post(items)
    on_lrs(sftk_project, lrs)
    first = sftk_sync()
    assert first.status == "succeeded", first.failures
    found = statuses(sftk_records)
    assert (found["enr-1"], found["enr-3"], found["enr-5"]) == (
        "Completed",
        "In Progress",
        "Failed",
    )
    later = lmsdata.statement(
        {"mbox": "mailto:dora@school.example"},
        "completed",
        "bio-now",
        lmsdata.moment(0, hour=23),
        len(items) + 1,
    )
    lrs.store_later(later)
    second = sftk_sync()
    enrollments = next(s for s in second.streams if s.stream == "enrollments")
    assert enrollments.written == 1 and statuses(sftk_records)["enr-6"] == "Completed"
    assert sftk_sync().write_calls == 0


def test_refused_credentials_stop_the_sync_in_its_preflight(
    sftk_project: KitProject,
    sftk_sync: Callable[..., RunReport],
    lrs: Lrs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_lrs(sftk_project, lrs)
    monkeypatch.setenv("TEST_LRS_SECRET", "wrong")
    with pytest.raises(PluginChecksFailed, match="refused the credentials") as refused:
        sftk_sync()
    assert "TEST_LRS_KEY and TEST_LRS_SECRET" in str(refused.value.hint)
    monkeypatch.delenv("TEST_LRS_SECRET")
    with pytest.raises(PluginChecksFailed, match="TEST_LRS_SECRET is empty"):
        sftk_sync()
