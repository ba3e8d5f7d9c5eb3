"""Metadata folders on disk: read a tree into MetadataFiles, write one back atomically.

An output folder is either the old one or the complete new one, never half of each: a deploy
or a snapshot that reads it mid-write, or a crash, must not see a mixture. Writing goes to a
sibling temp folder (same file system, so the final rename is atomic) and is swapped in.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.packaging import check_path


def _hidden(name: str) -> bool:
    return name.startswith(".")


def read_tree(root: Path) -> list[MetadataFile]:
    """Every regular file under ``root`` (hidden files and folders such as .git skipped).

    Symbolic links are followed only while they stay inside ``root``: a link out of the
    folder would ship files the user never meant to add.
    """
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise ConfigError(f"{root}: {what}", hint="give the path of a metadata folder")
    real_root = root.resolve()
    files: list[MetadataFile] = []
    # Real paths as strings: a project can hold tens of thousands of files, and a Path object
    # per entry was a third of the time to read one.
    visited: set[str] = {str(real_root)}

    def walk(folder: str, relative: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if _hidden(entry.name):
                continue
            rel = f"{relative}{entry.name}"
            if entry.is_symlink():
                target = Path(entry.path).resolve()
                if not target.is_relative_to(real_root):
                    raise ConfigError(
                        f"{entry.path}: symbolic link to {target}, outside {root}",
                        hint="copy the file into the folder instead of linking to it",
                    )
            if entry.is_dir():
                real = os.path.realpath(entry.path)
                if real not in visited:
                    visited.add(real)
                    walk(entry.path, f"{rel}/")
            elif entry.is_file():
                try:
                    with open(entry.path, "rb") as handle:
                        content = handle.read()
                except OSError as exc:
                    raise ConfigError(
                        f"{entry.path}: cannot be read ({exc.strerror})",
                        hint="check the file's permissions",
                    ) from None
                files.append(MetadataFile(rel, content, entry.path))

    walk(str(root), "")
    return sorted(files, key=lambda f: f.path)


def _sibling(path: Path, label: str) -> Path:
    return path.parent / f".{path.name}.{label}-{secrets.token_hex(6)}"


def _check_layout(files: Sequence[MetadataFile]) -> None:
    """Refuse, before anything is written, paths that escape or collide with each other."""
    paths: dict[str, MetadataFile] = {}
    for file in files:
        check_path(file.path, file.origin or file.path)
        if file.path in paths:
            raise ConfigError(
                f"{file.origin or file.path}: two files at {file.path!r}",
                hint="each file of the output must come from one place",
            )
        paths[file.path] = file
    for path, file in paths.items():
        parts = path.split("/")
        folders = ("/".join(parts[:i]) for i in range(1, len(parts)))
        clash = next((folder for folder in folders if folder in paths), None)
        if clash is not None:
            raise ConfigError(
                f"{file.origin or path}: {path!r} needs {clash!r} to be a folder, "
                "but it is also a file",
                hint="rename one of the two",
            )


def write_tree_atomically(files: Sequence[MetadataFile], dest: Path) -> None:
    """Replace the folder ``dest`` with exactly ``files``; on failure ``dest`` is untouched."""
    _check_layout(files)
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ConfigError(
            f"{dest}: exists and is not a folder",
            hint="choose an output folder path, or remove that file",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(dest, "new")
    staging.mkdir()
    try:
        _write_files(staging, files)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, dest)


# Creating a file costs the kernel far more than writing its few kilobytes, and creations can
# proceed side by side, most of all in different folders: a large tree is written by a few
# threads, each taking a run of the paths (packages are sorted, so mostly one folder). The
# threads spend their time in system calls, which release the GIL. Measured on 3,002 files:
# 0.07 s -> 0.035 s with 2 threads; 1.3 s -> 0.6 s on ext4 without a journal right after the
# previous output was deleted, where each creation first skips the recently deleted inodes.
_WRITERS = 4
_FILES_PER_WRITER = 250  # fewer files than this per thread are not worth a thread


def _write_files(staging: Path, files: Sequence[MetadataFile]) -> None:
    root = str(staging)
    folders = sorted({path.rpartition("/")[0] for path in (f.path for f in files)} - {""})
    for folder in folders:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    writers = max(1, min(_WRITERS, len(files) // _FILES_PER_WRITER))
    if writers == 1:
        _write_run(root, files, threading.Event())
        return
    size = -(-len(files) // writers)
    failed = threading.Event()  # tells the other threads to stop early
    with ThreadPoolExecutor(writers, thread_name_prefix="sftk-write") as pool:
        runs = [
            pool.submit(_write_run, root, files[start : start + size], failed)
            for start in range(0, len(files), size)
        ]
        for run in runs:
            run.result()  # the first failure, once every thread has stopped


def _write_run(root: str, files: Sequence[MetadataFile], failed: threading.Event) -> None:
    try:
        for file in files:
            if failed.is_set():
                return
            with open(os.path.join(root, file.path), "xb") as handle:
                handle.write(file.content)
    except BaseException:
        failed.set()
        raise


def _swap_in(staging: Path, dest: Path) -> None:
    """Put ``staging`` at ``dest``; the old folder is moved aside first and put back if the
    rename fails, then deleted."""
    if not dest.exists():
        os.rename(staging, dest)
        return
    old = _sibling(dest, "old")
    os.rename(dest, old)
    try:
        os.rename(staging, dest)
    except BaseException:
        os.rename(old, dest)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write one file so readers see the old or the new content, never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _sibling(path, "tmp")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
