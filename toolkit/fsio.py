"""Metadata folders on disk: read a tree into MetadataFiles, write one back atomically.

An output folder is either the old one or the complete new one, never half of each: a deploy
or a snapshot that reads it mid-write, or a crash, must not see a mixture. Writing goes to a
sibling temp folder (same file system, so the final rename is atomic) and is swapped in.
"""

from __future__ import annotations

import codecs
import errno
import os
import secrets
import shutil
import stat
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.packaging import check_path


def read_regular_file(
    path: Path, where: str | None = None, *, limit: int | None = None, hint: str | None = None
) -> bytes:
    """The bytes of ``path`` when it is a regular file (of at most ``limit`` bytes), else a
    ConfigError naming it (``where``, default the path) and saying what it is instead.

    The file is opened without blocking and checked before reading, so a FIFO never hangs a
    command and a device such as /dev/zero is never read into memory.
    """
    shown = where or str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"{shown}: {_unreadable(path, exc)}", hint=hint) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, socket or device)"
        raise ConfigError(f"{shown}: is {what}", hint=hint)
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read() if limit is None else handle.read(limit + 1)
        except OSError as exc:
            raise ConfigError(f"{shown}: cannot be read ({exc.strerror})", hint=hint) from None
    if limit is not None and len(data) > limit:
        raise ConfigError(f"{shown}: is larger than {limit:,} bytes", hint=hint)
    return data


def utf8_text(data: bytes, where: str) -> str:
    """``data`` as UTF-8 text (a byte-order mark allowed), or a ConfigError naming the line
    and column of the first byte that is not UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(
            f"{where}: is UTF-16 text; sftk reads UTF-8", hint="save the file as UTF-8"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConfigError(
            f"{where}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column})",
            hint="save the file as UTF-8 (it looks like another encoding, such as Latin-1)",
        ) from None


def _unreadable(path: Path, exc: OSError) -> str:
    """Why ``path`` could not be opened, in a person's words."""
    if exc.errno == errno.ELOOP:
        return "is a symbolic link loop"
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    if exc.errno == errno.ENOENT:
        return "does not exist"
    return f"cannot be read ({exc.strerror})"


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
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise ConfigError(
                f"{folder}: cannot be read ({exc.strerror})", hint="check the folder's permissions"
            ) from None
        for entry in entries:
            if _hidden(entry.name):
                continue
            rel = f"{relative}{entry.name}"
            if entry.is_symlink():
                try:
                    os.stat(entry.path)
                except OSError as exc:
                    raise ConfigError(
                        f"{entry.path}: {_unreadable(Path(entry.path), exc)}",
                        hint="remove the link, or point it at a file inside the folder",
                    ) from None
                target = Path(os.path.realpath(entry.path))
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
            else:
                raise ConfigError(
                    f"{entry.path}: is not a regular file (a pipe, socket or device)",
                    hint="remove it from the metadata folder",
                )

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
    with unwritable(dest, "the previous output is as it was"):
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = _sibling(dest, "new")
        staging.mkdir()
        try:
            _write_files(staging, files)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _swap_in(staging, dest)


@contextmanager
def unwritable(path: Path, kept: str) -> Iterator[None]:
    """Turns a failure to write ``path`` (a read-only folder, a full disk) into a ConfigError
    naming it and saying what was ``kept`` as it was."""
    try:
        yield
    except OSError as exc:
        where = exc.filename if exc.filename and exc.errno != errno.ENOTDIR else path
        raise ConfigError(
            f"{path}: cannot be written ({exc.strerror}{_at(where, path)}); {kept}",
            hint="make the folder writable, or free disk space, and run the command again",
        ) from None


def _at(where: str | os.PathLike[str], path: Path) -> str:
    """Where a write failed, when that is not ``path`` itself: the folder sftk writes in for
    its temporary siblings of ``path`` (``_sibling``), else the file."""
    failed = Path(where)
    if failed == path:
        return ""
    if failed.parent == path.parent and failed.name.startswith(f".{path.name}"):
        return f" in {path.parent}"
    return f": {failed}"


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
    with unwritable(path, "the file is as it was"):
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = _sibling(path, "tmp")
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with suppress(OSError):
                temp.unlink(missing_ok=True)
            raise
