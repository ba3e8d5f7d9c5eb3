"""Using the local org from other commands: the running server on a state folder if there is
one, else an in-process org for the command's duration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from toolkit.localorg.org import CONNECTION_FILE, start


def running_connection(state_dir: Path) -> dict[str, str] | None:
    """The connection of a server already serving ``state_dir``, or None if none answers."""
    path = state_dir / CONNECTION_FILE
    try:
        connection: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace the org's own CA
        answer = session.get(
            f"{connection['instance_url']}/services/data", verify=connection["ca_bundle"], timeout=2
        )
    except (OSError, ValueError, KeyError, requests.RequestException):
        return None
    return connection if answer.status_code == 200 else None


@contextmanager
def local_org(state_dir: Path) -> Iterator[dict[str, str]]:
    """The connection to the org on ``state_dir``: reuse a running server or start one here."""
    connection = running_connection(state_dir)
    if connection is not None:
        yield connection
        return
    org = start(state_dir)
    try:
        yield org.connection
    finally:
        org.stop()
