"""What the bad-input suite shares: running the installed ``sftk`` as a user would (also
without the power to write where the files say it may not, or with a small limit on file
sizes standing in for a full disk), and checking that a refusal is one a person can act on:
the documented exit code, the place named, no traceback, and nothing changed."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# As root (CI containers), file permissions bind only a process without the capabilities
# that override them: drop those for the sftk that must meet a read-only folder.
_NO_OVERRIDE = (
    "--bounding-set=-dac_override,-dac_read_search,-fowner",
    "--inh-caps=-all",
)


def unprivileged() -> list[str]:
    """The command prefix under which file permissions apply to sftk, whoever runs the tests."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("the tests run as root and need setpriv (util-linux) to drop root's")
    return [setpriv, *_NO_OVERRIDE]


@dataclass
class Sftk:
    """The installed ``sftk``, run in a folder with the tests' environment."""

    exe: Sequence[str]
    env: Mapping[str, str]

    def __call__(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        read_only: bool = False,
        max_file_bytes: int | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """``read_only``: file permissions bind sftk (see ``unprivileged``);
        ``max_file_bytes``: no file may grow beyond that, as on a full disk."""
        prefix = unprivileged() if read_only else []
        limit = None if max_file_bytes is None else _file_size_limit(max_file_bytes)
        return subprocess.run(
            [*prefix, *self.exe, *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
        )


def _file_size_limit(size: int) -> Callable[[], None]:
    def limit() -> None:  # Python ignores SIGXFSZ: a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def refused(result: subprocess.CompletedProcess[str], code: int, *places: str) -> str:
    """Assert a refusal a person can act on: exit ``code``, each of ``places`` named, no
    traceback and no "internal error". Returns everything printed, for more checks."""
    printed = result.stdout + result.stderr
    assert result.returncode == code, f"exit {result.returncode}, not {code}:\n{printed}"
    assert "Traceback" not in printed, printed
    assert "internal error" not in printed, printed
    for place in places:
        assert place in printed, f"{place!r} is not named in:\n{printed}"
    return printed


def tree(root: Path, *, leave_out: Iterable[str] = ()) -> dict[str, str]:
    """Every entry under ``root`` and what it holds (a file's hash, a link's target, a
    folder's mode), but the paths starting with ``leave_out``: a state to compare before
    and after a refused command."""
    skipped = tuple(leave_out)
    found: dict[str, str] = {}
    for folder, folders, files in os.walk(root):
        for name in [*folders, *files]:
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if relative.startswith(skipped):
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[relative] = f"link to {os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = f"folder {stat.S_IMODE(info.st_mode):o}"
            elif stat.S_ISREG(info.st_mode):
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[relative] = f"special {stat.S_IFMT(info.st_mode):o}"
    return found
