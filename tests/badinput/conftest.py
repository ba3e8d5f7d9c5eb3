"""Fixtures of the bad-input suite: the installed sftk, and a project as ``sftk init`` makes
it, rendered once so that every refusal can be checked to leave the output as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from badinput import Sftk


@pytest.fixture
def sftk(sftk_exe: list[str], schema_cache: Path) -> Sftk:
    return Sftk(sftk_exe, {**os.environ, "NO_COLOR": "1", "SFTK_CACHE_DIR": str(schema_cache)})


@pytest.fixture
def project(tmp_path: Path, sftk: Sftk) -> Path:
    made = sftk("init", "demo", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    root = tmp_path / "demo"
    rendered = sftk("render", cwd=root)
    assert rendered.returncode == 0, rendered.stderr
    return root
