"""Reading metadata folders and replacing output folders atomically."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from toolkit import fsio
from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- read_tree


def test_read_tree_sorted_with_origins_and_hidden_skipped(tmp_path: Path) -> None:
    root = tmp_path / "legacy"
    _write(
        root,
        {
            "tabs/Z.tab": b"z",
            "objects/A__c.object": b"a",
            "layouts/A__c-A Layout.layout": "é".encode(),
            ".git/config": b"secret",
            ".sftk/state.db": b"db",
            "tabs/.DS_Store": b"junk",
        },
    )
    files = fsio.read_tree(root)
    assert files == [
        MetadataFile(
            "layouts/A__c-A Layout.layout",
            "é".encode(),
            str(root / "layouts" / "A__c-A Layout.layout"),
        ),
        MetadataFile("objects/A__c.object", b"a", str(root / "objects" / "A__c.object")),
        MetadataFile("tabs/Z.tab", b"z", str(root / "tabs" / "Z.tab")),
    ]


def test_read_tree_missing_or_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        fsio.read_tree(tmp_path / "nope")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ConfigError, match="is not a folder"):
        fsio.read_tree(tmp_path / "file")


def test_read_tree_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "md"
    _write(root, {"classes/A.cls": b"A"})
    (root / "classes" / "B.cls").symlink_to(root / "classes" / "A.cls")
    assert [(f.path, f.content) for f in fsio.read_tree(root)] == [
        ("classes/A.cls", b"A"),
        ("classes/B.cls", b"A"),
    ]
    (tmp_path / "secret.txt").write_bytes(b"password")
    (root / "classes" / "C.cls").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ConfigError, match="outside"):
        fsio.read_tree(root)


def test_read_tree_symlinked_folder_loop_terminates(tmp_path: Path) -> None:
    root = tmp_path / "md"
    _write(root, {"classes/A.cls": b"A"})
    (root / "classes" / "again").symlink_to(root)
    assert [f.path for f in fsio.read_tree(root)] == ["classes/A.cls"]


# --------------------------------------------------------------------------- write_tree_atomically


NEW = [MetadataFile("objects/B__c.object", b"new"), MetadataFile("package.xml", b"pkg")]


def test_write_tree_creates_parent_and_replaces_old(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "deploy"
    fsio.write_tree_atomically([MetadataFile("objects/A__c.object", b"old")], dest)
    assert _snapshot(dest) == {"objects/A__c.object": b"old"}
    fsio.write_tree_atomically(NEW, dest)
    assert _snapshot(dest) == {"objects/B__c.object": b"new", "package.xml": b"pkg"}
    assert sorted(p.name for p in dest.parent.iterdir()) == ["deploy"]


@pytest.mark.parametrize(
    "bad", ["../escaped.txt", "/tmp/absolute.txt", "objects/../../x", "a\\b", "package.xml/x"]
)
def test_write_tree_refuses_bad_paths_and_keeps_old(tmp_path: Path, bad: str) -> None:
    dest = tmp_path / "out"
    fsio.write_tree_atomically([MetadataFile("keep.txt", b"old")], dest)
    with pytest.raises(ConfigError):
        fsio.write_tree_atomically([*NEW, MetadataFile(bad, b"evil")], dest)
    assert _snapshot(dest) == {"keep.txt": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_tree_failure_midway_keeps_old_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out"
    fsio.write_tree_atomically([MetadataFile("keep.txt", b"old")], dest)
    real_open = open
    calls = []

    def flaky_open(path: os.PathLike[str], mode: str = "r") -> object:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_open(path, mode)

    monkeypatch.setattr(fsio, "open", flaky_open, raising=False)
    with pytest.raises(ConfigError, match=r"out: cannot be written \(No space left"):
        fsio.write_tree_atomically(NEW, dest)
    assert len(calls) == 2
    assert _snapshot(dest) == {"keep.txt": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _many(count: int) -> list[MetadataFile]:
    """Enough files, in several folders, for the writer to use several threads."""
    folders = ("layouts", "objects", "tabs")
    return sorted(
        (
            MetadataFile(f"{folders[i % 3]}/F{i:04d}.x", f"content {i}".encode())
            for i in range(count)
        ),
        key=lambda f: f.path,
    )


def test_write_tree_in_threads_writes_every_file(tmp_path: Path) -> None:
    files = _many(1100)
    fsio.write_tree_atomically(files, tmp_path / "out")
    assert _snapshot(tmp_path / "out") == {f.path: f.content for f in files}


def test_write_tree_in_threads_failure_keeps_old_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out"
    fsio.write_tree_atomically([MetadataFile("keep.txt", b"old")], dest)
    real_open = open
    lock = threading.Lock()
    calls = []

    def flaky_open(path: os.PathLike[str], mode: str = "r") -> object:
        with lock:
            calls.append(path)
            if len(calls) == 300:
                raise OSError(28, "No space left on device")
        return real_open(path, mode)

    monkeypatch.setattr(fsio, "open", flaky_open, raising=False)
    with pytest.raises(ConfigError, match=r"out: cannot be written \(No space left"):
        fsio.write_tree_atomically(_many(1100), dest)
    assert len(calls) < 1100  # the other threads stopped early
    assert _snapshot(dest) == {"keep.txt": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_tree_failed_swap_puts_old_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out"
    fsio.write_tree_atomically([MetadataFile("keep.txt", b"old")], dest)
    real_rename = os.rename

    def rename(src: Path, dst: Path) -> None:
        if Path(src).name.startswith(".out.new-"):
            raise OSError(18, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(ConfigError, match=r"cross-device.*previous output is as it was"):
        fsio.write_tree_atomically(NEW, dest)
    monkeypatch.undo()
    assert _snapshot(dest) == {"keep.txt": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_tree_refuses_duplicates_and_a_file_as_dest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two files"):
        fsio.write_tree_atomically([NEW[0], NEW[0]], tmp_path / "out")
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(ConfigError, match="not a folder"):
        fsio.write_tree_atomically(NEW, tmp_path / "plain")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- atomic_write_bytes


def test_atomic_write_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "sftk.toml"
    fsio.atomic_write_bytes(target, b"one")
    fsio.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"

    def broken_replace(src: Path, dst: Path) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ConfigError, match=r"sftk.toml: cannot be written \(Permission denied"):
        fsio.atomic_write_bytes(target, b"three")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["sftk.toml"]
