"""Shared fixtures: a schema compiled once per run, and a way to run the real ``sftk`` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from toolkit.metadata.schema import MetadataSchema


@pytest.fixture(scope="session")
def schema_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("schema-cache")


@pytest.fixture(scope="session")
def metadata_schema(schema_cache: Path) -> MetadataSchema:
    return MetadataSchema.load(cache_dir=schema_cache)


@pytest.fixture(scope="session")
def sftk_exe() -> list[str]:
    exe = shutil.which("sftk", path=os.path.dirname(sys.executable)) or shutil.which("sftk")
    if exe is None:
        raise RuntimeError("the sftk console script is not installed in this environment")
    return [exe]


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def sftk(sftk_exe: list[str], schema_cache: Path) -> Iterator[Run]:
    """Run the installed ``sftk`` console script as a user would, in a given folder."""

    def run(
        *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "NO_COLOR": "1", "SFTK_CACHE_DIR": str(schema_cache)}
        full_env.update(env or {})
        return subprocess.run(
            [*sftk_exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
        )

    yield run
