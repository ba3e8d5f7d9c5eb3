"""``sftk org import``: the orgs the Salesforce CLI has authorized become org profiles of
sftk.toml (``auth = "sfdx"``: sftk asks the CLI for a token each time, so no secret is
written anywhere). Profiles are added at the end of the file, whose comments and order stay as
they are; an alias a profile already has, or a profile name already taken, is skipped."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from toolkit.config import CONFIG_NAME, ProjectConfig, load_config
from toolkit.errors import SftkError, UsageError
from toolkit.fsio import atomic_write_bytes
from toolkit.salesforce.sf_cli import SfOrg, list_orgs

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Imported:
    added: tuple[SfOrg, ...]
    skipped: tuple[tuple[SfOrg, str], ...]  # the org and why it was left out


def import_orgs(
    config: ProjectConfig, environ: Mapping[str, str], aliases: Sequence[str] = ()
) -> Imported:
    """Add a profile for each aliased org the CLI knows (only ``aliases`` when given)."""
    known = list_orgs(environ)
    missing = sorted(set(aliases) - {o.alias for o in known if o.alias})
    if missing:
        raise UsageError(
            f"the Salesforce CLI knows no org with the alias {', '.join(missing)}",
            hint="`sf org list` shows its orgs; `sf org login web --alias NAME` adds one",
        )
    taken = {p.name for p in config.orgs}
    aliased = {p.alias for p in config.orgs if p.alias}
    added: list[SfOrg] = []
    skipped: list[tuple[SfOrg, str]] = []
    for found in known:
        if found.alias is None:
            skipped.append((found, "it has no alias (`sf alias set NAME=USERNAME` gives one)"))
        elif aliases and found.alias not in aliases:
            continue
        elif found.alias in aliased:
            skipped.append((found, "a profile already uses that alias"))
        elif found.alias in taken:
            skipped.append((found, f"a profile named {found.alias} already exists"))
        else:
            added.append(found)
            taken.add(found.alias)
    if added:
        _append(config, added)
    return Imported(tuple(added), tuple(skipped))


def _append(config: ProjectConfig, orgs: Sequence[SfOrg]) -> None:
    path = config.root / CONFIG_NAME
    before = path.read_bytes()
    text = before.decode("utf-8")
    blocks = [text.rstrip("\n") + "\n"]
    for found in orgs:
        assert found.alias is not None
        blocks.append(
            f"\n# {found.username}, imported from the Salesforce CLI (`sftk org import`); "
            "check kind\n"
            f"[orgs.{_key(found.alias)}]\n"
            f'kind = "{found.kind}"\n'
            'auth = "sfdx"\n'
            f"alias = {json.dumps(found.alias)}\n"
        )
    atomic_write_bytes(path, "".join(blocks).encode("utf-8"))
    try:
        load_config(path)
    except SftkError:
        atomic_write_bytes(path, before)  # never leave sftk.toml broken
        raise


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)
