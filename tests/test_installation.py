"""The product is tested as users get it: installed from a built wheel, templates included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import toolkit
from toolkit.metadata.render import TEMPLATE_NAMES, builtin_template_dir
from toolkit.metadata.schema import SHIPPED_WSDL_DIR, shipped_wsdls

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


def test_the_metadata_wsdl_ships_with_its_licence() -> None:
    assert shipped_wsdls()
    assert all(path.parent == SHIPPED_WSDL_DIR for path in shipped_wsdls().values())
    licence = (SHIPPED_WSDL_DIR / "LICENSE-forcedotcom-wsdl.txt").read_text(encoding="utf-8")
    assert "Salesforce.com" in licence and "Redistribution" in licence
