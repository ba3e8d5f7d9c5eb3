"""Parts of the local org under the servers: Ids, the store, the facts, the state folder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.localorg.facts import load_facts, update_facts
from toolkit.localorg.ids import checksum, make_id, to18
from toolkit.localorg.store import Store


def test_ids_have_prefix_number_and_checksum() -> None:
    first = make_id("00D", 1)
    assert len(first) == 18 and first.startswith("00D") and first[:15].endswith("1")
    assert make_id("001", 61)[:15].endswith("z") and make_id("001", 62)[:15].endswith("10")
    assert to18(first[:15]) == first and to18(first) == first


@given(
    st.text(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=15, max_size=15
    )
)
def test_checksum_tells_ids_differing_only_in_case_apart(id15: str) -> None:
    flipped = id15.swapcase()
    assert flipped == id15 or checksum(flipped) != checksum(id15)
    assert to18(id15 + checksum(id15)) == id15 + checksum(id15)


def test_malformed_ids_are_refused() -> None:
    good = make_id("003", 7)
    assert to18(good[:-1] + ("A" if good[-1] != "A" else "B")) is None
    assert to18("short") is None and to18("00300000000000!") is None


def test_store_counts_calls_from_many_threads(tmp_path: Path) -> None:
    store = Store(tmp_path / "org.sqlite3")
    threads = [
        threading.Thread(target=lambda: [store.count_call("2026-01-01") for _ in range(25)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.calls("2026-01-01") == 100
    assert Store(tmp_path / "org.sqlite3").calls("2026-01-01") == 100


def test_facts_persist_and_reject_unknown_names(tmp_path: Path) -> None:
    store = Store(tmp_path / "org.sqlite3")
    facts = load_facts(store)
    assert facts.org_id.startswith("00D") and facts.organization_type == "Developer Edition"
    update_facts(store, {"is_sandbox": True, "permissions": ["ApiEnabled"]})
    again = load_facts(Store(tmp_path / "org.sqlite3"))
    assert again.is_sandbox and again.permissions == ("ApiEnabled",)
    assert again.org_id == facts.org_id
    with pytest.raises(ValueError, match="unknown org fact 'edition'"):
        update_facts(store, {"edition": "x"})
    with pytest.raises(ValueError, match="unknown permission 'Fly'"):
        update_facts(store, {"permissions": ["Fly"]})


def _modes(folder: Path) -> dict[str, str]:
    found = {".": oct(folder.stat().st_mode & 0o777)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = oct(path.stat().st_mode & 0o777)
    return found


def test_the_state_folder_is_private(tmp_path: Path, org_factory: Any) -> None:
    """It holds the never-expiring default token, the token signing key and the TLS key."""
    state = tmp_path / "state"
    client = org_factory(state)
    assert client.get("/services/data/v63.0/sobjects").status_code == 200
    modes = _modes(state)
    assert {"org.sqlite3", "org.sqlite3-wal", "connection.json", "tls"} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode not in ("0o700", "0o600")} == {}
    assert {modes[name] for name in (".", "tls")} == {"0o700"}
    client.org.stop()
    for path in [state, *state.rglob("*")]:  # as an older version left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    org_factory(state)
    assert set(_modes(state).values()) == {"0o700", "0o600"}
