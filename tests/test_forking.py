"""A job's part done by a forked child: results, errors, a dead child, and where no fork is made.

The forking cases run in a fresh interpreter, which has one thread as forking requires; the
test process itself may have servers running in threads.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolkit.errors import ConfigError
from toolkit.forking import Helper, can_fork


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_child_hands_back_each_result_as_it_is_made() -> None:
    out = run_python(
        """
        import os, time
        from toolkit.forking import Helper
        def job():
            yield os.getpid(), time.monotonic()
            time.sleep(0.5)
            yield os.getpid(), b"x" * 3_000_000
        with Helper(job) as helper:
            forked = helper.forked
            (pid, made), taken = next(helper), time.monotonic()
            _, data = next(helper)
        print(forked, pid != os.getpid(), taken - made < 0.4, len(data), helper.forked)
        """
    )
    assert out == "True True True 3000000 False"


def test_an_error_in_the_child_is_raised_with_its_hint() -> None:
    out = run_python(
        """
        import os
        from toolkit.errors import ConfigError
        from toolkit.forking import Helper
        parent = os.getpid()
        def job():
            yield "loaded"
            seen_by = "child" if os.getpid() != parent else "parent"
            raise ConfigError(f"bad spec (seen by {seen_by})", hint="fix it")
        with Helper(job) as helper:
            print(next(helper))
            try:
                next(helper)
            except ConfigError as exc:
                print(exc.message, "|", exc.hint)
        """
    )
    assert out.splitlines() == ["loaded", "bad spec (seen by child) | fix it"]


def test_what_the_child_cannot_hand_back_the_parent_makes(tmp_path: Path) -> None:
    out = run_python(
        f"""
        import os, threading
        from toolkit.forking import Helper
        parent = os.getpid()
        def log(what):
            with open({str(tmp_path / "runs")!r}, "a") as runs:
                runs.write(("child " if os.getpid() != parent else "parent ") + what + "\\n")
        def dies():
            log("first")
            yield "first"
            if os.getpid() != parent:
                os._exit(3)
            log("second")
            yield "second"
        with Helper(dies) as helper:
            print(next(helper), next(helper))
        def unpicklable():
            log("lock")
            yield threading.Lock()
        with Helper(unpicklable) as helper:
            print(type(next(helper)).__name__)
        """
    )
    assert out.splitlines() == ["first second", "lock"]
    # The parent ran the job again from the start, and skipped what the child had handed back.
    assert (tmp_path / "runs").read_text().splitlines() == [
        "child first",
        "parent first",
        "parent second",
        "child lock",
        "parent lock",
    ]


def test_leaving_stops_and_reaps_a_child_still_at_work() -> None:
    out = run_python(
        """
        import os, time
        from toolkit.forking import Helper
        def slow():
            time.sleep(60)
            yield "late"
        start = time.monotonic()
        with Helper(slow) as helper:
            forked = helper.forked
        try:
            os.waitpid(-1, os.WNOHANG)
            print("a child is left")
        except ChildProcessError:
            print(forked, time.monotonic() - start < 5)
        """
    )
    assert out == "True True"


def test_with_other_threads_running_the_job_runs_here_as_results_are_asked_for() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    steps: list[str] = []

    def job() -> Iterator[str]:
        steps.append("load")
        yield "loaded"
        steps.append("render")
        raise ConfigError("no", hint="h")

    try:
        assert not can_fork()
        with Helper(job) as helper:
            assert not helper.forked and steps == []  # nothing ran yet: no child, no work
            assert next(helper) == "loaded" and steps == ["load"]
            with pytest.raises(ConfigError) as caught:
                next(helper)
            assert caught.value.hint == "h" and steps == ["load", "render"]
    finally:
        stop.set()
        other.join()
