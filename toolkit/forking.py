"""Part of a large job done by a forked child process, on the machine's other core.

For work that splits into parts whose results are small next to the work of making them (a
build's spec files loaded and rendered, handed back as bytes). The child is forked, not
spawned: it starts with everything the parent has imported and loaded, so there is no start-up
to pay and no input to send. The job yields its results as it goes, and the parent takes them
one at a time, so it can use the first while the child works on the next.

Forking is only sound in a process running a single thread: a lock another thread holds at the
fork stays locked in the child forever. Where there are other threads, where there is no fork
(Windows), and on macOS (whose system libraries may not run in a forked child), the job runs in
this process instead, as its results are asked for. So does the rest of a job whose child dies
or cannot hand a result back: a helper can make a job faster, never make it fail.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import BinaryIO, TypeVar, cast

T = TypeVar("T")


_PIPE_SIZE = 1 << 20  # Linux's default limit for a process without privileges


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform == "linux" and threading.active_count() == 1


class Helper(Iterator[T]):
    """The results of ``job``, made by a forked child where that is sound; a context manager
    that stops and reaps the child on leaving, whether or not every result was taken."""

    def __init__(self, job: Callable[[], Iterable[T]]) -> None:
        self._job = job
        self._taken = 0
        self._here: Iterator[T] | None = None
        self._pid: int | None = None
        self._stream: BinaryIO | None = None
        if can_fork():
            self._fork()

    @property
    def forked(self) -> bool:
        """Whether a child works for this helper: from the start, where forking is sound,
        until the helper is closed or the child ends without handing back every result."""
        return self._pid is not None

    def _fork(self) -> None:
        import fcntl  # Unix only, as is forking

        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError):  # a larger pipe lets the child write on unread
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            try:
                os.close(read_end)
                _answer(self._job, write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        self._pid, self._stream = pid, os.fdopen(read_end, "rb")

    def __next__(self) -> T:
        """The job's next result, or the exception it raised, raised here."""
        if self._stream is not None:
            try:
                ok, value = pickle.load(self._stream)
            except Exception:  # the child ended, died, or could not hand its result back
                self.close()
            else:
                if not ok:
                    self.close()
                    raise value
                self._taken += 1
                return cast(T, value)
        if self._here is None:  # go on here from where the child stopped
            self._here = iter(self._job())
            for _ in range(self._taken):
                next(self._here)
        self._taken += 1
        return next(self._here)

    def close(self) -> None:
        """Stop the child, if one runs, and wait for it to end."""
        if self._pid is None or self._stream is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        self._stream.close()
        os.waitpid(self._pid, 0)
        self._pid = self._stream = None

    def __enter__(self) -> Helper[T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _answer(job: Callable[[], Iterable[object]], fd: int) -> None:
    """Write (True, result) for each result of ``job`` to ``fd``, then (False, exception) if
    it raised one. Whatever cannot be pickled ends the answer there: the parent then runs the
    rest of the job itself."""
    with os.fdopen(fd, "wb") as out:
        try:
            for result in job():
                try:
                    data = pickle.dumps((True, result), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:
                    return  # the parent makes this result, and the rest, itself
                out.write(data)
                out.flush()
        except BaseException as exc:  # every outcome goes back to the parent
            with contextlib.suppress(Exception):
                out.write(pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL))
