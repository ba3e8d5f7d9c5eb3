"""A plugin's own state (``ReadRequest.state``): read and written like a small key-value
store, kept only when the stream that wrote it is settled, dropped otherwise (a read that
breaks, a dry run, a retry of dead letters), and the same in SQLite as in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synckit import SyncProject

from toolkit.errors import SourceError
from toolkit.hookspecs import hookimpl
from toolkit.sync.contract import (
    FieldMapping,
    MemoryState,
    ReadRequest,
    SourceItem,
    SourceRecord,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.dryrun import dry_run
from toolkit.sync.engine import sync
from toolkit.sync.options import SyncOptions
from toolkit.sync.state import SyncState


def kept(root: Path, org_id: str = "00D", plugin: str = "p") -> dict[str, Any]:
    state = SyncState.open(root)
    try:
        return dict(state.source_state(org_id, plugin).items())
    finally:
        state.close()


def test_writes_are_seen_by_the_read_and_kept_only_with_the_position(tmp_path: Path) -> None:
    state = SyncState.open(tmp_path)
    stream = state.stream("00D", "p", "s")
    source = state.source_state("00D", "p")
    source.put("enr/1", {"status": "Enrolled"})
    source.put("enr/2", ["a", 1, True])
    source.put("other", "x")
    assert source.get("enr/1") == {"status": "Enrolled"}
    assert list(source.items("enr/")) == [
        ("enr/1", {"status": "Enrolled"}),
        ("enr/2", ["a", 1, True]),
    ]
    assert kept(tmp_path) == {}  # staged only
    state.keep_position(stream, None, None, source)
    assert kept(tmp_path) == {
        "enr/1": {"status": "Enrolled"},
        "enr/2": ["a", 1, True],
        "other": "x",
    }
    again = state.source_state("00D", "p")
    again.put("enr/1", None)
    again.put("enr/3", 3)
    assert again.get_many(["enr/1", "enr/2", "enr/3"]) == {"enr/2": ["a", 1, True], "enr/3": 3}
    state.source_state("00D", "p")  # the next stream's read: what was staged is dropped
    state.close()
    assert kept(tmp_path) == {
        "enr/1": {"status": "Enrolled"},
        "enr/2": ["a", 1, True],
        "other": "x",
    }
    assert kept(tmp_path, plugin="q") == {} and kept(tmp_path, org_id="00E") == {}


def test_iterating_while_writing_sees_every_key_once(tmp_path: Path) -> None:
    state = SyncState.open(tmp_path)
    source = state.source_state("00D", "p")
    for number in range(1_234):
        source.put(f"k/{number:05d}", number)
    seen = []
    for key, value in source.items("k/"):
        seen.append(value)
        source.put(key, value + 1)  # rewrites the key being read
        source.put(f"j/{value}", value)  # and keys outside the prefix
    assert seen == list(range(1_234))
    assert source.get("k/00000") == 1 and source.get("j/7") == 7
    state.close()


def test_values_must_be_json(tmp_path: Path) -> None:
    state = SyncState.open(tmp_path)
    source = state.source_state("00D", "p")
    with pytest.raises(ValueError, match="must be JSON"):
        source.put("when", object())
    with pytest.raises(ValueError, match="non-empty string"):
        source.put("", 1)
    state.close()


KEYS = st.sampled_from(["a", "a/1", "a/2", "ab", "b/1", "b/2", "é", "\U0001f600"])
OPS = st.lists(
    st.tuples(KEYS, st.one_of(st.none(), st.integers(), st.text(max_size=3))), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(kept_ops=OPS, staged_ops=OPS, prefix=st.sampled_from(["", "a", "a/", "b/", "z"]))
def test_sqlite_state_reads_as_a_dict_does(
    tmp_path_factory: pytest.TempPathFactory,
    kept_ops: list[tuple[str, Any]],
    staged_ops: list[tuple[str, Any]],
    prefix: str,
) -> None:
    state = SyncState.open(tmp_path_factory.mktemp("state"))
    model = MemoryState()
    first = state.source_state("00D", "p")
    for key, value in kept_ops:
        first.put(key, value)
        model.put(key, value)
    state.keep_position(state.stream("00D", "p", "s"), None, None, first)
    second = state.source_state("00D", "p")
    for key, value in staged_ops:
        second.put(key, value)
        model.put(key, value)
    assert list(second.items(prefix)) == list(model.items(prefix))
    for after in ("a/1", "b", ""):
        assert list(second.items(prefix, after)) == list(model.items(prefix, after))
    assert second.get_many(["a", "a/1", "b/2", "none"]) == model.get_many(
        ["a", "a/1", "b/2", "none"]
    )
    state.close()


class Counter:
    """A source that counts its reads in its own state and can be told to break."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.breaks = False

    @hookimpl
    def sftk_sources(self) -> list[SourceSpec]:
        stream = StreamSpec("counted", "Account", key="Ext_Id__c", source_key="code")
        return [SourceSpec("counter", (stream,), self.read)]

    @hookimpl
    def sftk_default_mappings(self, stream: StreamSpec) -> list[FieldMapping]:
        return [FieldMapping("Name", source="title")]

    def read(self, stream: StreamSpec, request: ReadRequest) -> Iterator[SourceItem]:
        reads = request.state.get("reads") or 0
        self.seen.append(reads)
        request.state.put("reads", reads + 1)
        yield SourceRecord({"code": "K1", "title": "Counted"})
        if self.breaks:
            raise SourceError("the export went away")


def test_the_engine_keeps_a_plugins_state_only_for_settled_streams(synced: SyncProject) -> None:
    synced.configure()
    counter = Counter()

    def run(**options: Any) -> Any:
        project = synced.project()
        project.plugins.manager.register(counter, name="counter")
        return sync(project, "test", SyncOptions(**options), sleep=lambda _: None)

    assert run().status == "succeeded"
    assert run().status == "succeeded"
    counter.breaks = True
    assert run().status == "failed"  # read, then broke: nothing it wrote is kept
    counter.breaks = False
    project = synced.project()
    project.plugins.manager.register(counter, name="counter")
    assert dry_run(project, "test").ok  # sees the state, keeps nothing
    assert run(retry=True).status == "succeeded"  # no dead letters: nothing read
    assert run().status == "succeeded"
    assert counter.seen == [0, 1, 2, 2, 2]
