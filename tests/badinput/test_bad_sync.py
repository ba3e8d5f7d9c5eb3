"""The sync commands (sync, runs, deadletters, mappings show) and the files source on bad
input, through the installed ``sftk``: a data file that is not UTF-8 or not where the stream
says, a damaged or read-only state; each refused with its exit code, naming the file, and
the sync state as it was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from badinput import Sftk, refused, tree

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Serve

SYNC = ("sync", "--org", "local")
LOCAL_ORG = (".sftk/localorg",)  # the org's own database counts every call


@pytest.fixture
def synced(sftk: Sftk, project: Path) -> Path:
    """The project deployed to its local org and synced once."""
    for command in (("deploy", "--org", "local"), SYNC):
        done = sftk(*command, cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr
    return project


def test_a_data_file_that_is_not_utf8(sftk: Sftk, synced: Path) -> None:
    customers = synced / "data" / "customers.csv"
    lines = customers.read_bytes().splitlines(keepends=True)
    customers.write_bytes(b"".join(lines) + b"9,Caf\xe9 du Port,2024-01-01T00:00:00Z\n")
    line = len(lines) + 1
    before = tree(synced, leave_out=LOCAL_ORG)
    for command in (SYNC, (*SYNC, "--dry-run"), ("mappings", "show", "--org", "local")):
        printed = refused(
            sftk(*command, cwd=synced),
            ExitCode.SOURCE_FAILED,
            f"data/customers.csv:{line}: not UTF-8",
        )
        assert "save the file as UTF-8" in printed
    assert tree(synced, leave_out=LOCAL_ORG) == before


@pytest.mark.parametrize(
    ("path", "make", "why"),
    [
        ("data/visits/site_visits.csv", lambda p: p.parent.write_text(""), "Not a directory"),
        ("data/visits", lambda p: p.write_text("visit_id\n"), "neither a .csv nor a .jsonl"),
        ("data/visits.csv", os.mkfifo, "not a regular file"),
    ],
    ids=["a folder that is a file", "a file without a suffix", "a pipe"],
)
def test_a_stream_path_that_is_not_what_it_says(
    sftk: Sftk, synced: Path, path: str, make: object, why: str
) -> None:
    config = synced / "sftk.toml"
    config.write_text(config.read_text().replace('"data/site_visits.csv"', f'"{path}"'))
    assert callable(make)
    make(synced / path)
    before = tree(synced, leave_out=LOCAL_ORG)
    for command in (SYNC, ("mappings", "show", "--org", "local")):
        refused(sftk(*command, cwd=synced), ExitCode.SOURCE_FAILED, "data/visits", why)
    assert tree(synced, leave_out=LOCAL_ORG) == before


def test_a_sync_state_that_is_not_a_database(sftk: Sftk, synced: Path) -> None:
    state = synced / ".sftk" / "sync.sqlite3"
    for extra in ("-wal", "-shm"):
        Path(f"{state}{extra}").unlink(missing_ok=True)
    state.write_bytes(b"not a database" * 512)
    before = tree(synced, leave_out=LOCAL_ORG)
    for command in (SYNC, ("runs",), ("deadletters", "list"), ("deadletters", "purge")):
        printed = refused(
            sftk(*command, cwd=synced), ExitCode.USAGE, ".sftk/sync.sqlite3", "not a database"
        )
        assert "move it away" in printed
    assert tree(synced, leave_out=LOCAL_ORG) == before


def test_a_read_only_sync_state(sftk: Sftk, synced: Path) -> None:
    state = synced / ".sftk"
    files = [p for p in state.iterdir() if p.is_file()]
    before = tree(synced, leave_out=LOCAL_ORG)
    for path in (*files, state):
        path.chmod(path.stat().st_mode & 0o555)
    try:
        printed = refused(
            sftk(*SYNC, "--full-refresh", cwd=synced, read_only=True), ExitCode.USAGE, ".sftk/"
        )
        assert "writable" in printed
    finally:
        for path in (state, *files):
            path.chmod(path.stat().st_mode | 0o200)
    assert tree(synced, leave_out=LOCAL_ORG) == before


def test_a_full_disk_while_the_state_is_written(sftk: Sftk, synced: Path, serve: Serve) -> None:
    """The org runs in a process of its own, which the limit on file sizes leaves alone."""
    with (synced / "data" / "customers.csv").open("a") as customers:
        customers.writelines(
            f"c{n},Customer {n},Retail,,2026-12-01T00:00:00Z\n" for n in range(500)
        )
    serve(cwd=synced, state=synced / ".sftk" / "localorg")
    room = 36 * 1024  # the -shm file takes 32 KiB, and 500 records' hashes more than the rest
    printed = refused(
        sftk(*SYNC, "--full-refresh", cwd=synced, max_file_bytes=room),
        ExitCode.USAGE,
        ".sftk/sync.sqlite3",
        "cannot be written",
    )
    assert "free disk space" in printed
    again = sftk(*SYNC, cwd=synced)
    assert again.returncode == 0, again.stdout + again.stderr
