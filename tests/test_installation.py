"""The product is tested as users get it: installed from a built wheel, templates included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import toolkit
from toolkit.metadata.render import TEMPLATE_NAMES, builtin_template_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not os.environ.get("SFTK_EXPECT_INSTALLED"), reason="set by tox only")
def test_toolkit_comes_from_the_installed_wheel() -> None:
    installed = Path(toolkit.__file__).resolve()
    assert REPO / "toolkit" not in installed.parents
    assert "site-packages" in installed.parts


def test_templates_ship_with_the_package() -> None:
    folder = builtin_template_dir()
    for name in TEMPLATE_NAMES:
        assert (folder / name).is_file(), name
