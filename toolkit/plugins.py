"""Finding, loading and calling plugins.

Plugins come from the ``sftk.plugins`` entry-point group, plus sftk's own built-in ones (the
``files`` source), which are registered through the same hooks as any other. Loading is
forgiving: a plugin that fails to import, implements a hook that does not exist (a misspelled
name) or was written for a plugin API version sftk does not support is reported and skipped,
and the others work. It is controllable for deterministic CI runs: the ``SFTK_PLUGINS``
environment variable is an allow-list (comma-separated names; empty means none) and
``--no-plugins`` disables them all; neither touches the built-in plugins, which are part of
sftk itself. Only plugins the project enables are called.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy

from toolkit import __version__, hookspecs
from toolkit.config import PluginSettings
from toolkit.errors import ConfigError, PluginError, SftkError, combined

ALLOW_LIST_ENV = "SFTK_PLUGINS"
# sftk's own plugins, by name: the module registered for each.
BUILTIN_PLUGINS = {"files": "toolkit.sync.files_source"}
STATUSES = ("enabled", "not enabled", "blocked", "failed")


@dataclass(frozen=True)
class PluginInfo:
    """``status``: enabled, not enabled (installed, but the project does not list it),
    blocked (by SFTK_PLUGINS or --no-plugins), failed (``error`` says why)."""

    name: str
    distribution: str
    version: str
    status: str
    error: str | None = None
    api_version: int | None = None
    builtin: bool = False


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

    def call(
        self, hook: str, settings: PluginSettings | None = None, **context: Any
    ) -> list[tuple[str, Any]]:
        """Call ``hook`` on each plugin in turn, each with its own settings table.

        Returns (plugin name, result) pairs in plugin-name order. Like pluggy's own calls, an
        implementation receives only the arguments it declares: ``settings`` (its own table)
        and whatever ``context`` offers (``root``, ``stream``, ``org``…).
        """
        return [
            (name, self._run(hook, impl, settings, context))
            for impl in self._impls(hook)
            for name in (impl.plugin_name,)
        ]

    def call_one(
        self, plugin: str, hook: str, settings: PluginSettings | None = None, **context: Any
    ) -> Any:
        """Call ``hook`` on one plugin only (None if it does not implement it)."""
        for impl in self._impls(hook):
            if impl.plugin_name == plugin:
                return self._run(hook, impl, settings, context)
        return None

    def notify(self, hook: str, **context: Any) -> list[str]:
        """Call an observer hook on every plugin; one that fails is reported, never fatal:
        a broken listener must not stop a sync half-way. Returns the failures' messages."""
        failures = []
        for impl in self._impls(hook):
            try:
                self._run(hook, impl, None, context)
            except PluginError as exc:
                failures.append(exc.message)
        return failures

    def check_settings(self, settings: PluginSettings, root: Path) -> None:
        """Every enabled plugin's ``[plugins.NAME]`` table, as the plugin judges it: any
        problem stops the command (exit 2), each named with its key and line."""
        found = [
            ConfigError(
                f"{settings.where(plugin, problem.key)}: {problem.message}", hint=problem.hint
            )
            for plugin, problems in self.call("sftk_validate_settings", settings, root=root)
            for problem in problems
        ]
        error = combined(found)
        if error is not None:
            raise error

    def template_dirs(self) -> list[Path]:
        return [Path(d) for _, dirs in self.call("sftk_template_dirs") for d in dirs]

    def _impls(self, hook: str) -> list[pluggy.HookImpl]:
        caller = getattr(self.manager.hook, hook)
        return sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name)

    @staticmethod
    def _run(
        hook: str,
        impl: pluggy.HookImpl,
        settings: PluginSettings | None,
        context: Mapping[str, Any],
    ) -> Any:
        name = impl.plugin_name
        available: dict[str, Any] = dict(context)
        if settings is not None:
            available["settings"] = settings.for_plugin(name)
        kwargs = {arg: available[arg] for arg in impl.argnames if arg in available}
        try:
            return impl.function(**kwargs)
        except SftkError:
            raise  # worded for the user already: a source that cannot be read, a bad setting
        except Exception as exc:  # a plugin's bug must name the plugin, not crash sftk
            raise PluginError(
                f"plugin {name} failed in {hook}: {type(exc).__name__}: {exc}",
                hint=f"disable it with --no-plugins or remove {name!r} from [plugins] enabled",
            ) from exc


def load_plugins(enabled: Sequence[str], *, disabled: bool = False) -> Plugins:
    """Discover installed plugins and register the built-in ones and those the project
    enables."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    found = [_register_builtin(manager, name, module) for name, module in BUILTIN_PLUGINS.items()]
    allow = _allow_list()
    for ep in sorted(entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist, version = _distribution(ep)
        if disabled or (allow is not None and ep.name not in allow):
            found.append(PluginInfo(ep.name, dist, version, "blocked"))
        elif ep.name not in enabled:
            found.append(PluginInfo(ep.name, dist, version, "not enabled"))
        else:
            found.append(_register(manager, ep, dist, version))
    installed = {p.name for p in found}
    for name in enabled:
        if name not in installed and not disabled:
            found.append(
                PluginInfo(name, "", "", "failed", "enabled in sftk.toml but not installed")
            )
    manager.check_pending()  # each plugin was checked on its own; none may be left pending
    return Plugins(manager, found)


def _register_builtin(manager: pluggy.PluginManager, name: str, module_name: str) -> PluginInfo:
    manager.register(importlib.import_module(module_name), name=name)
    return PluginInfo(
        name, "sftk", __version__, "enabled", api_version=hookspecs.PLUGIN_API_VERSION, builtin=True
    )


def _register(manager: pluggy.PluginManager, ep: EntryPoint, dist: str, version: str) -> PluginInfo:
    """Load and register one plugin, or say why it cannot be used."""

    def failed(why: str, api_version: int | None = None) -> PluginInfo:
        return PluginInfo(ep.name, dist, version, "failed", why, api_version)

    try:
        module = ep.load()
    except Exception as exc:  # report and skip: one broken plugin must not stop the rest
        return failed(f"{type(exc).__name__}: {exc}")
    api_version = getattr(module, hookspecs.API_VERSION_ATTRIBUTE, 1)
    if api_version not in hookspecs.SUPPORTED_API_VERSIONS:
        supported = ", ".join(str(v) for v in hookspecs.SUPPORTED_API_VERSIONS)
        return failed(
            f"written for plugin API version {api_version!r}; this sftk supports {supported}: "
            "install a release of the plugin for one of those, or a newer sftk",
            api_version if isinstance(api_version, int) else None,
        )
    try:
        manager.register(module, name=ep.name)
    except pluggy.PluginValidationError as exc:
        return failed(f"{exc}; see docs/hooks.md for the hooks and their arguments", api_version)
    unknown = sorted(
        caller.name for caller in manager.get_hookcallers(module) or () if caller.spec is None
    )
    if unknown:
        manager.unregister(module)
        return failed(
            "implements "
            + ", ".join(unknown)
            + ", which "
            + ("is not a hook" if len(unknown) == 1 else "are not hooks")
            + " of sftk (misspelled?); see docs/hooks.md",
            api_version,
        )
    return PluginInfo(ep.name, dist, version, "enabled", api_version=api_version)


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
