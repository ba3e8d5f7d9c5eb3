"""Finding, loading and calling plugins.

Plugins come from the ``sftk.plugins`` entry-point group. Loading is forgiving (a plugin that
fails to import is reported and skipped) and controllable for deterministic CI runs: the
``SFTK_PLUGINS`` environment variable is an allow-list (comma-separated names; empty means
none) and ``--no-plugins`` disables them all. Only plugins the project enables are called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy

from toolkit import hookspecs
from toolkit.config import PluginSettings
from toolkit.errors import PluginError

ALLOW_LIST_ENV = "SFTK_PLUGINS"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    status: str  # "enabled", "installed" (not enabled by the project), "blocked", "failed"
    error: str | None = None


class Plugins:
    """The plugins a command runs with, and a report of every one that was found."""

    def __init__(self, manager: pluggy.PluginManager, found: Sequence[PluginInfo]) -> None:
        self.manager = manager
        self.found = tuple(found)

    @property
    def enabled(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.found if p.status == "enabled")

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f"plugin {p.name}: {p.error}" for p in self.found if p.error)

    def call(self, hook: str, settings: PluginSettings | None = None) -> list[tuple[str, Any]]:
        """Call ``hook`` on each plugin in turn, each with its own settings table.

        Returns (plugin name, result) pairs in plugin-name order. Like pluggy's own calls, an
        implementation receives only the arguments it declares.
        """
        caller = getattr(self.manager.hook, hook)
        results: list[tuple[str, Any]] = []
        for impl in sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name):
            name = impl.plugin_name
            available: dict[str, Mapping[str, Any]] = {}
            if settings is not None:
                available["settings"] = settings.for_plugin(name)
            kwargs = {arg: available[arg] for arg in impl.argnames if arg in available}
            try:
                results.append((name, impl.function(**kwargs)))
            except Exception as exc:  # a plugin's bug must name the plugin, not crash sftk
                raise PluginError(
                    f"plugin {name} failed in {hook}: {type(exc).__name__}: {exc}",
                    hint=f"disable it with --no-plugins or remove {name!r} from [plugins] enabled",
                ) from exc
        return results

    def template_dirs(self) -> list[Path]:
        return [Path(d) for _, dirs in self.call("sftk_template_dirs") for d in dirs]


def load_plugins(enabled: Sequence[str], *, disabled: bool = False) -> Plugins:
    """Discover installed plugins and register the ones the project enables."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    found: list[PluginInfo] = []
    allow = _allow_list()
    for ep in sorted(entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist, version = _distribution(ep)
        if disabled or (allow is not None and ep.name not in allow):
            found.append(PluginInfo(ep.name, dist, version, "blocked"))
            continue
        if ep.name not in enabled:
            found.append(PluginInfo(ep.name, dist, version, "installed"))
            continue
        try:
            module = ep.load()
            manager.register(module, name=ep.name)
        except Exception as exc:  # report and skip: one broken plugin must not stop the rest
            found.append(
                PluginInfo(ep.name, dist, version, "failed", f"{type(exc).__name__}: {exc}")
            )
            continue
        found.append(PluginInfo(ep.name, dist, version, "enabled"))
    installed = {p.name for p in found}
    for name in enabled:
        if name not in installed and not disabled:
            found.append(
                PluginInfo(name, "", "", "failed", "enabled in sftk.toml but not installed")
            )
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc}", hint="a hook name is misspelled; see docs/hooks.md") from None
    return Plugins(manager, found)


def _allow_list() -> frozenset[str] | None:
    raw = os.environ.get(ALLOW_LIST_ENV)
    if raw is None:
        return None
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "", ""
    return dist.metadata["Name"], dist.version
