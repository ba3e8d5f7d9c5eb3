"""Work in a forked child: its value comes back, and any failure leaves the work to the caller."""

from __future__ import annotations

import os
import threading
import time

import pytest

from toolkit import forked

needs_fork = pytest.mark.skipif(
    not forked.available(), reason="forking is only used on Linux, with two cores, one thread"
)


@needs_fork
def test_result_comes_back_from_the_child() -> None:
    parent = os.getpid()
    child = forked.start(lambda: (os.getpid(), b"x" * 3_000_000))
    assert child is not None
    with child:
        pid, payload = child.result() or (parent, b"")
    assert pid != parent and payload == b"x" * 3_000_000


@needs_fork
def test_a_failing_or_dying_child_gives_none() -> None:
    def fail() -> int:
        raise ValueError("boom")

    for work in (fail, lambda: os._exit(3), lambda: lambda: None):  # the last is unpicklable
        child = forked.start(work)
        assert child is not None
        with child:
            assert child.result() is None


@needs_fork
def test_an_abandoned_child_is_stopped_and_reaped() -> None:
    child = forked.start(lambda: time.sleep(60))
    assert child is not None
    with pytest.raises(RuntimeError), child:
        raise RuntimeError("the parent failed first")
    with pytest.raises(ChildProcessError):
        os.waitpid(child._pid, os.WNOHANG)  # already reaped


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.available()
        assert forked.start(lambda: 1) is None
    finally:
        stop.set()
        thread.join()
