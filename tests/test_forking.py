"""A job's part done by a forked child: results, errors, a dead child, and where no fork is made.

The forking cases run in a fresh interpreter, which has one thread as forking requires; the
test process itself may have servers running in threads.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.forking import Helper, can_fork


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_child_does_the_job_and_hands_back_its_result() -> None:
    out = run_python(
        """
        import os
        from toolkit.forking import Helper
        helper = Helper(lambda: (os.getpid(), b"x" * 3_000_000))
        forked = helper.forked
        pid, data = helper.result()
        print(forked, pid != os.getpid(), len(data))
        """
    )
    assert out == "True True 3000000"


def test_an_error_in_the_child_is_raised_with_its_hint() -> None:
    out = run_python(
        """
        import os
        from toolkit.errors import ConfigError
        from toolkit.forking import Helper
        parent = os.getpid()
        def job():
            seen_by = "child" if os.getpid() != parent else "parent"
            raise ConfigError(f"bad spec (seen by {seen_by})", hint="fix it")
        try:
            Helper(job).result()
        except ConfigError as exc:
            print(exc.message, "|", exc.hint)
        """
    )
    assert out == "bad spec (seen by child) | fix it"


def test_a_dead_child_or_an_unpicklable_result_leaves_the_job_to_the_parent(
    tmp_path: Path,
) -> None:
    out = run_python(
        f"""
        import os, threading
        from toolkit.forking import Helper
        parent = os.getpid()
        def dies():
            if os.getpid() != parent:
                os._exit(3)
            return "done here"
        print(Helper(dies).result())
        def lock():
            with open({str(tmp_path / "runs")!r}, "a") as runs:
                runs.write("child\\n" if os.getpid() != parent else "parent\\n")
            return threading.Lock()
        print(type(Helper(lock).result()).__name__)
        """
    )
    assert out.splitlines() == ["done here", "lock"]
    assert (tmp_path / "runs").read_text().splitlines() == ["child", "parent"]


def test_a_cancelled_child_is_stopped_and_reaped() -> None:
    out = run_python(
        """
        import os, time
        from toolkit.forking import Helper
        helper = Helper(lambda: time.sleep(60))
        forked = helper.forked
        start = time.monotonic()
        helper.cancel()
        try:
            os.waitpid(-1, os.WNOHANG)
            print("a child is left")
        except ChildProcessError:
            print(forked, time.monotonic() - start < 5)
        """
    )
    assert out == "True True"


def test_with_other_threads_running_the_job_runs_here_when_asked() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
        ran: list[float] = []
        helper = Helper(lambda: ran.append(time.monotonic()) or "here")
        assert not helper.forked and ran == []  # nothing ran yet: no child, no work
        assert helper.result() == "here" and len(ran) == 1
        failing = Helper(lambda: (_ for _ in ()).throw(ConfigError("no", hint="h")))
        try:
            failing.result()
        except ConfigError as exc:
            assert exc.hint == "h"
        else:
            raise AssertionError("the job's error was not raised")
    finally:
        stop.set()
        other.join()
