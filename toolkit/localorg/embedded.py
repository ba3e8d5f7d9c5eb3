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


# What a local org reports when an org profile of another kind than ``local`` uses it, as a
# real org of that kind would: a rehearsal production org refuses untested Apex and partial
# deploys, a rehearsal sandbox says it is one.
KIND_FACTS: dict[str, dict[str, object]] = {
    "production": {"organization_type": "Enterprise Edition", "is_sandbox": False},
    "sandbox": {"organization_type": "Enterprise Edition", "is_sandbox": True},
    "developer": {"organization_type": "Developer Edition", "is_sandbox": False},
}


@contextmanager
def local_org(state_dir: Path, kind: str = "local") -> Iterator[dict[str, str]]:
    """The connection to the org on ``state_dir``: reuse a running server or start one here.
    For a ``kind`` in ``KIND_FACTS`` the org is made to report that kind first."""
    connection = running_connection(state_dir)
    if connection is not None:
        _report_kind(connection, kind)
        yield connection
        return
    org = start(state_dir, facts=KIND_FACTS.get(kind))
    try:
        yield org.connection
    finally:
        org.stop()


def _report_kind(connection: dict[str, str], kind: str) -> None:
    facts = KIND_FACTS.get(kind)
    if facts is None:
        return
    with requests.Session() as session:
        session.trust_env = False
        answer = session.patch(
            f"{connection['instance_url']}/_sftk/org",
            json=facts,
            headers={"Authorization": f"Bearer {connection['access_token']}"},
            verify=connection["ca_bundle"],
            timeout=30,
        )
    answer.raise_for_status()
