"""Part of a large job done by a forked child process, on the machine's other core.

For work that splits into parts whose results are small next to the work of making them (a
build's spec files loaded and rendered, handed back as bytes). The child is forked, not
spawned: it starts with everything the parent has imported and loaded, so there is no start-up
to pay and no input to send.

Forking is only sound in a process running a single thread: a lock another thread holds at the
fork stays locked in the child forever. Where there are other threads, where there is no fork
(Windows), and on macOS (whose system libraries may not run in a forked child), the job runs in
this process instead, when its result is asked for. So does a job whose child dies or whose
result cannot be handed back: a helper can make a job faster, never make it fail.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform == "linux" and threading.active_count() == 1


class Helper(Generic[T]):
    """A job started in a forked child (where that is sound), to be collected by ``result``."""

    def __init__(self, job: Callable[[], T]) -> None:
        self._job = job
        self._pid: int | None = None
        self._fd: int | None = None
        if can_fork():
            self._fork()

    @property
    def forked(self) -> bool:
        return self._pid is not None

    def _fork(self) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            try:
                os.close(read_end)
                _answer(self._job, write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        self._pid, self._fd = pid, read_end

    def result(self) -> T:
        """What the job returned, or the exception it raised, raised here."""
        if self._pid is None:
            return self._job()
        data = self._collect()
        try:
            ok, value = pickle.loads(data)
        except Exception:  # the child died, or could not hand its result back
            return self._job()
        if not ok:
            raise value
        return cast(T, value)

    def cancel(self) -> None:
        """Stop the child, if one runs; its result is no longer wanted."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._collect()

    def _collect(self) -> bytes:
        assert self._pid is not None and self._fd is not None
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            os.waitpid(self._pid, 0)
            self._pid = self._fd = None
        return b"".join(chunks)


def _answer(job: Callable[[], object], fd: int) -> None:
    """Run ``job`` and write (True, result) or (False, exception) to ``fd``; nothing if that
    cannot be pickled, which tells the parent to run the job itself."""
    outcome: tuple[bool, object]
    try:
        outcome = (True, job())
    except BaseException as exc:  # every outcome goes back to the parent
        outcome = (False, exc)
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        data = b""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)
