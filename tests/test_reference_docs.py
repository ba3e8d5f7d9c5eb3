"""The committed reference pages match the code, and every hook is documented and exercised."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolkit import hookspecs
from toolkit.reference_docs import PAGES, hook_names

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_committed_page_is_current(page: str) -> None:
    committed = (REPO / "docs" / page).read_text(encoding="utf-8")
    assert committed == PAGES[page](), f"run: python -m toolkit.reference_docs docs ({page})"


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_documents_arguments_return_and_example(name: str) -> None:
    doc = getattr(hookspecs, name).__doc__ or ""
    assert ":return:" in doc and "Example::" in doc and "@hookimpl" in doc


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_exercised_by_a_test(name: str) -> None:
    tests = [p for p in REPO.glob("**/tests/**/*.py") if p.name != Path(__file__).name]
    used = any(re.search(rf"\b{name}\b", p.read_text(encoding="utf-8")) for p in tests)
    assert used, f"no test calls or implements {name}"
