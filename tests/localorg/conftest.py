"""Fixtures for the local org: a real server on an ephemeral loopback port, and clients that trust
its self-signed certificate whatever REQUESTS_CA_BUNDLE says.

Each test module gets its own org (module scope), so facts, faults and deployed metadata one
module changes never leak into another. A test needing a private org (restarts, a tampered state
folder) asks for ``org_factory`` and starts one on its own folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce.api import Salesforce

if TYPE_CHECKING:
    from toolkit.localorg.org import RunningOrg

API_VERSION = "63.0"


def trusting_session(ca_bundle: str) -> requests.Session:
    """A session that trusts only the org's certificate; ``trust_env`` off because requests lets
    REQUESTS_CA_BUNDLE override a session's own ``verify``."""
    session = requests.Session()
    session.verify = ca_bundle
    session.trust_env = False
    return session


@dataclass
class OrgHttp:
    """Raw HTTPS calls to a running org by path; the org's token is sent unless told otherwise."""

    org: RunningOrg
    session: requests.Session

    def url(self, path: str) -> str:
        return self.org.instance_url + path

    def request(
        self, method: str, path: str, *, auth: bool = True, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {token or self.org.access_token}")
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def salesforce(self, token: str | None = None) -> Salesforce:
        """simple-salesforce on this org, as a user given connection.json would set it up."""
        return Salesforce(
            instance_url=self.org.instance_url,
            session_id=token or self.org.access_token,
            session=trusting_session(self.org.ca_bundle),
            version=API_VERSION,
        )


def _start(state_dir: Path) -> RunningOrg:
    from toolkit.localorg.org import start  # here, so modules not using the org never import it

    return start(state_dir, port=0)


@pytest.fixture(scope="module")
def local_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOrg]:
    running = _start(tmp_path_factory.mktemp("localorg"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def http(local_org: RunningOrg) -> Iterator[OrgHttp]:
    session = trusting_session(local_org.ca_bundle)
    try:
        yield OrgHttp(local_org, session)
    finally:
        session.close()


@pytest.fixture(scope="module")
def sf(http: OrgHttp) -> Salesforce:
    return http.salesforce()


@pytest.fixture
def org_factory() -> Iterator[Callable[[Path], OrgHttp]]:
    """Start private orgs on given state folders (again on the same folder = a restart); each
    is stopped at the end of the test if the test has not stopped it."""
    started: list[OrgHttp] = []

    def start_on(state_dir: Path) -> OrgHttp:
        running = _start(state_dir)
        client = OrgHttp(running, trusting_session(running.ca_bundle))
        started.append(client)
        return client

    yield start_on
    for client in started:
        client.session.close()
        client.org.stop()
