"""Commands that need the local org reuse a running server or start one for their duration."""

from __future__ import annotations

from pathlib import Path

import requests

from toolkit.localorg.embedded import local_org, running_connection
from toolkit.localorg.org import start


def answers(connection: dict[str, str]) -> bool:
    session = requests.Session()
    session.trust_env = False
    try:
        reply = session.get(
            connection["instance_url"] + "/services/data", verify=connection["ca_bundle"], timeout=5
        )
    except requests.ConnectionError:
        return False
    return reply.status_code == 200


def test_starts_in_process_when_nothing_runs_and_stops_after(tmp_path: Path) -> None:
    assert running_connection(tmp_path) is None
    with local_org(tmp_path) as connection:
        assert answers(connection)
    assert not answers(connection)
    assert running_connection(tmp_path) is None


def test_reuses_a_running_server(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        with local_org(tmp_path) as connection:
            assert connection["instance_url"] == server.instance_url
        assert answers(server.connection)
    finally:
        server.stop()
