"""`sftk org serve` as a user runs it: a foreground process that writes connection.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_writes_connection_and_answers_until_interrupted(
    sftk_exe: list[str], tmp_path: Path, stop_signal: signal.Signals
) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [*sftk_exe, "org", "serve", "--state", str(state), "--http-port", "0", "--json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        connection_file = state / "connection.json"
        deadline = time.monotonic() + 30
        while not connection_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        connection = json.loads(connection_file.read_text())
        assert set(connection) == {
            "access_token",
            "ca_bundle",
            "http_url",
            "instance_url",
            "org_id",
            "username",
        }
        assert connection["instance_url"].startswith("https://localhost:")
        assert oct(connection_file.stat().st_mode & 0o777) == "0o600"
        session = requests.Session()
        session.trust_env = False
        versions = session.get(
            connection["instance_url"] + "/services/data",
            verify=connection["ca_bundle"],
            timeout=10,
        )
        assert versions.status_code == 200 and versions.json()[-1]["version"]
        plain = session.get(connection["http_url"] + "/services/data", timeout=10)
        assert plain.json() == versions.json()
    finally:
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert json.loads(stdout) == connection
    assert "Traceback" not in stderr


def test_serve_takes_the_org_of_a_local_profile(
    sftk_exe: list[str], sftk: Any, tmp_path: Path
) -> None:
    assert sftk("init", "apiary", cwd=tmp_path).returncode == 0
    project = tmp_path / "apiary"
    process = subprocess.Popen(
        [*sftk_exe, "org", "serve", "--org", "rehearsal-prod"],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        connection_file = project / ".sftk" / "orgs" / "rehearsal-prod" / "connection.json"
        deadline = time.monotonic() + 30
        while not connection_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert connection_file.exists()
        shown = sftk("org", "show", "rehearsal-prod", "--json", cwd=project)
        assert shown.returncode == 0, shown.stderr
        facts = json.loads(shown.stdout)  # the running org was reused and reports its kind
        assert facts["edition"] == "Enterprise Edition" and facts["is_sandbox"] is False
        assert facts["org_id"] == json.loads(connection_file.read_text())["org_id"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    refused = sftk("org", "serve", "--org", "nowhere", cwd=project)
    assert refused.returncode == 2 and "no org profile 'nowhere'" in refused.stderr
