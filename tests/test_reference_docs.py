"""The committed reference pages match the code, and every hook is documented and exercised."""

from __future__ import annotations

import ast
import functools
import inspect
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


def _hook_headings() -> dict[str, str]:
    """docs/hooks.md's level-2 headings, ``name(signature) -> return``, by hook name."""
    text = (REPO / "docs" / "hooks.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## `(.+)`$", text, flags=re.MULTILINE)
    return {heading.split("(", 1)[0]: heading for heading in headings}


def test_the_hook_reference_documents_no_hook_that_does_not_exist() -> None:
    assert sorted(_hook_headings()) == hook_names()


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_appears_in_the_reference_with_its_exact_signature(name: str) -> None:
    signature = inspect.signature(getattr(hookspecs, name))
    assert _hook_headings().get(name) == f"{name}{signature}", (
        f"docs/hooks.md lacks `{name}{signature}`: run python -m toolkit.reference_docs docs"
    )


@functools.cache
def _test_functions() -> frozenset[str]:
    """Every test function of sftk's suites and the bundled plugins', by name."""
    paths = [*REPO.glob("tests/**/test_*.py"), *REPO.glob("plugins/*/tests/**/test_*.py")]
    return frozenset(
        node.name
        for path in paths
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    )


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_has_a_test_of_its_own(name: str) -> None:
    """As datasette does: a test named test_hook_<hook> exercises each hook through sftk
    (tests/test_hooks.py), so a new hook cannot ship untested."""
    assert f"test_hook_{name}" in _test_functions(), (
        f"no test_hook_{name}: add one to tests/test_hooks.py that makes sftk call {name}"
    )
