"""Reference pages generated from the code that defines them, so they cannot drift.

``python -m toolkit.reference_docs docs/`` rewrites docs/rules.md and docs/hooks.md; a test
fails when the committed pages differ from what this module generates.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from toolkit import hookspecs
from toolkit.metadata.rules import RULES


def rules_markdown() -> str:
    lines = [
        "# Offline validation rules",
        "",
        "`sftk validate` first reads every XML file as a deploy reads it (rule id `schema`):",
        "the order of elements is free, repeated elements must stand together, an unknown",
        "element or a value not of its type or enumeration is an error, and so is a missing",
        "required text or structure (a missing boolean, number or enumeration is read as its",
        "default). Types and enumerations come from the Metadata WSDL of the API version the",
        "package deploys with (sftk ships the newest; `--wsdl` takes your org's). A type,",
        "element or value the schema cannot know yet, as the package is newer than it, is a",
        "warning that sftk cannot check it, never an error.",
        "",
        "Then it runs these rules over the whole package. A reference to something the package",
        "does not hold (another package's component, a managed package's namespace, a standard",
        "field sftk does not know) is a warning naming what the org must already have; it is an",
        "error only where sftk knows it cannot exist: a custom field of a custom object the",
        "package defines. Each problem names the rule, the file and line, the component, and a",
        "hint. `sftk rules` prints this list.",
        "",
        "| rule | what it checks |",
        "|---|---|",
    ]
    lines += [f"| `{rule}` | {text} |" for rule, text in RULES.items()]
    return "\n".join(lines) + "\n"


def hook_names() -> list[str]:
    return sorted(
        name for name, obj in vars(hookspecs).items() if callable(obj) and name.startswith("sftk_")
    )


def hooks_markdown() -> str:
    lines = [
        "# Plugin hook reference",
        "",
        f"Generated from `toolkit/hookspecs.py` (plugin API version "
        f"{hookspecs.PLUGIN_API_VERSION}). Plugins register under the entry-point group",
        f"`{hookspecs.ENTRY_POINT_GROUP}` and mark implementations with",
        "`toolkit.hookspecs.hookimpl`.",
        "",
    ]
    for name in hook_names():
        func = getattr(hookspecs, name)
        signature = inspect.signature(func)
        lines += [f"## `{name}{signature}`", "", inspect.cleandoc(func.__doc__ or ""), ""]
    return "\n".join(lines)


PAGES = {"rules.md": rules_markdown, "hooks.md": hooks_markdown}


def main(argv: list[str]) -> None:
    folder = Path(argv[0] if argv else "docs")
    for name, build in PAGES.items():
        (folder / name).write_text(build(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
