"""``sftk plugin new``: a source plugin distribution whose tests pass as generated.

The files come from the Jinja templates in ``templates/plugin/`` (shipped as package data),
rendered with names derived from the plugin's name: ``acme`` gives the distribution
``sftk-acme``, the package ``sftk_acme``, the object ``Acme_Item__c`` upserted by
``Acme_Id__c``. The distribution is written into a temporary folder beside its destination
and moved there whole, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from toolkit import __version__
from toolkit.errors import ConfigError, UsageError
from toolkit.fsio import unwritable
from toolkit.metadata.render import builtin_template_dir
from toolkit.plugins import BUILTIN_PLUGINS

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME = 24  # keeps the object's API name (NAME_Item__c) well inside Salesforce's 40
# Each generated file (a path with the names filled in) and the template it comes from.
FILES = {
    "pyproject.toml": "pyproject.toml.j2",
    "README.md": "README.md.j2",
    "{package}/__init__.py": "package/__init__.py.j2",
    "{package}/py.typed": None,
    "{package}/objects/{object}.toml": "package/object.toml.j2",
    "{package}/sample/items.jsonl": "package/items.jsonl.j2",
    "tests/conftest.py": "tests/conftest.py.j2",
    "tests/test_contract.py": "tests/test_contract.py.j2",
    "tests/test_items.py": "tests/test_items.py.j2",
}


@dataclass(frozen=True)
class PluginNames:
    """Every name the generated plugin uses, derived from the one the user chose."""

    name: str  # the entry point, and what a project lists in [plugins] enabled

    @property
    def words(self) -> list[str]:
        return re.split(r"[-_]", self.name)

    @property
    def package(self) -> str:
        return "sftk_" + "_".join(self.words)

    @property
    def distribution(self) -> str:
        return "sftk-" + "-".join(self.words)

    @property
    def title(self) -> str:
        return " ".join(word.capitalize() for word in self.words)

    @property
    def prefix(self) -> str:
        return "_".join(word.capitalize() for word in self.words)

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "package": self.package,
            "distribution": self.distribution,
            "title": self.title,
            "class_name": self.prefix.replace("_", ""),
            "object": f"{self.prefix}_Item__c",
            "key_field": f"{self.prefix}_Id__c",
            "permission_set": f"{self.prefix}_User",
            "sftk_version": ".".join(__version__.split(".")[:2]),
        }


def check_name(name: str) -> PluginNames:
    if not NAME.match(name) or len(name) > MAX_NAME:
        raise UsageError(
            f"{name!r} cannot name a plugin",
            hint=f"use lowercase letters and digits, words joined by - or _, at most {MAX_NAME} "
            "characters, starting with a letter (acme, acme-lms)",
        )
    if name in BUILTIN_PLUGINS:
        raise UsageError(f"{name!r} is a plugin built into sftk", hint="choose another name")
    return PluginNames(name)


def new_plugin(name: str, folder: Path) -> list[Path]:
    """Write the distribution of plugin ``name`` into ``folder`` (made; an existing one must
    be empty) and return the files written, in ``FILES`` order."""
    names = check_name(name)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(
            f"{folder} already exists and is not an empty folder",
            hint="choose another folder with --dir, or remove that one",
        )
    values = names.values()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(builtin_template_dir().parent / "plugin"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    with unwritable(folder, "nothing was written"):
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            written = []
            for pattern, template in FILES.items():
                relative = pattern.format(**values)
                text = "" if template is None else environment.get_template(template).render(values)
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                written.append(folder / relative)
            _permissions(staging)
            os.replace(staging, folder)  # an empty folder is replaced; anything else refused
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return written


def _permissions(root: Path) -> None:
    """What a new folder would have had: mkdtemp makes its folder private."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(root, 0o777 & ~umask)
