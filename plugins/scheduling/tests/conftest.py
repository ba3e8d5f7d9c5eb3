"""Every test of the plugin runs it as sftk loads it (its entry point), with a real Radicale
CalDAV server on loopback for the session when a test asks for one."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from calendar_kit import PASSWORD, PASSWORD_ENV, Calendar, Radicale

from toolkit.testing.kit import KitOrg


@pytest.fixture
def sftk_plugins() -> Sequence[str]:
    return ["scheduling"]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def contact(sftk_org: KitOrg) -> Iterator[Callable[..., str]]:
    """``contact(LastName=..., Email=...)`` creates a Contact and returns its Id; the org's
    Contacts are emptied before and after the test (the kit empties only what the streams
    write, and an attendee's Contact decides whether a Lead is made for them)."""
    sftk_org.delete_records(["Contact"])

    def create(**fields: Any) -> str:
        return str(sftk_org.sf.Contact.create(fields)["id"])

    yield create
    sftk_org.delete_records(["Contact"])


@pytest.fixture
def calendar(radicale: Radicale, monkeypatch: pytest.MonkeyPatch) -> Calendar:
    """A new calendar of the server's user, and its password where the settings say."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return radicale.calendar()
