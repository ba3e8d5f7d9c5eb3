"""sftk.toml -> a typed ProjectConfig.

The file is found by walking up from the working folder, as git finds its repository, so every
command works from any folder inside a project.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from toolkit.errors import ConfigError, UsageError
from toolkit.metadata.spec_loader import (
    load_applications,
    load_custom_permissions,
    load_global_value_sets,
    load_permission_sets,
)
from toolkit.metadata.specs import (
    ApplicationSpec,
    CustomPermissionSpec,
    GlobalValueSetSpec,
    PermissionSetSpec,
)
from toolkit.sync.contract import TRANSFORMS, FieldMapping
from toolkit.tomlread import Document, Table

CONFIG_NAME = "sftk.toml"
ORG_KINDS = ("production", "sandbox", "developer", "local")
FORMATS = ("mdapi", "source")
DELETION_TIMINGS = ("default", "pre", "post")
_API_VERSION = re.compile(r"^\d{2,3}\.0$")


AUTH_METHODS = ("jwt", "password", "token", "sfdx", "local")
DEFAULT_COVERAGE = 75.0
LOGIN_URLS = {"login": "https://login.salesforce.com", "test": "https://test.salesforce.com"}
LOCAL_PROFILE = "local"
ORG_ENV = "SFTK_ORG"  # the org profile of commands given no --org (before [project] default_org)


@dataclass(frozen=True)
class OrgProfile:
    """One org profile. Secrets are never values here: only the names of the env vars or the
    paths of the files that hold them."""

    name: str
    kind: str
    login_url: str | None = None
    auth: str = "local"
    api_version: str | None = None
    username: str | None = None
    client_id_env: str | None = None  # JWT: the connected app's consumer key
    private_key_file: Path | None = None  # JWT
    private_key_env: str | None = None  # JWT, the key itself in an env var (CI secrets)
    password_env: str | None = None
    security_token_env: str | None = None
    client_secret_env: str | None = None  # password: the OAuth flow's consumer secret, if any
    access_token_env: str | None = None
    instance_url_env: str | None = None
    alias: str | None = None  # an org authorized in the Salesforce CLI
    state: Path | None = None  # auth = "local": the local org's state folder


@dataclass(frozen=True)
class CoveragePolicy:
    """The coverage gate's bars in percent: org-wide, and per class or trigger name pattern
    (fnmatch, first match wins; classes matching none must reach ``per_class``)."""

    org_wide: float = DEFAULT_COVERAGE
    per_class: float = DEFAULT_COVERAGE
    patterns: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class PluginSettings:
    """Which plugins this project enables, and each one's own settings table; ``document`` is
    the sftk.toml they were read from, so a plugin's complaint can name the line."""

    enabled: tuple[str, ...] = ()
    settings: MappingProxyType[str, MappingProxyType[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    document: Document | None = field(default=None, compare=False, repr=False)

    def for_plugin(self, name: str) -> MappingProxyType[str, Any]:
        return self.settings.get(name, MappingProxyType({}))

    def where(self, plugin: str, key: str) -> str:
        """``sftk.toml:12: plugins.files.streams.accounts.path``, for a dotted key."""
        keys = ("plugins", plugin, *key.split(".")) if key else ("plugins", plugin)
        if self.document is None:
            return ".".join(keys)
        return Table(self.document, keys[:-1], {}).where(keys[-1])


DEFAULT_LOOKBACK = "1h"
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class SyncSettings:
    """How the sync engine loads: from ``bulk_threshold`` changed records on, a stream goes
    through Bulk API 2.0 instead of sObject Collections; a run stops before using more than
    ``api_share`` of the org's remaining daily API requests; cursors are read back
    ``lookback_seconds`` so records written late in the source are not missed."""

    bulk_threshold: int = 2_000
    api_share: float = 0.5
    lookback_seconds: int = 3_600


@dataclass(frozen=True)
class MappingOverride:
    """One line of ``[mappings.<plugin>.<stream>]``: the Salesforce field it sets, how
    (``mapping``), or ``skip`` to drop the plugin's default line; ``where`` is its place in
    sftk.toml."""

    plugin: str
    stream: str
    mapping: FieldMapping
    skip: bool
    where: str


@dataclass(frozen=True)
class ProjectConfig:
    """Paths are absolute; ``root`` is the folder holding sftk.toml."""

    root: Path
    name: str
    api_version: str | None
    objects_dir: Path
    templates_dir: Path
    output_dir: Path
    output_format: str
    metadata_dirs: tuple[Path, ...]
    permission_sets: tuple[PermissionSetSpec, ...]
    applications: tuple[ApplicationSpec, ...]
    global_value_sets: tuple[GlobalValueSetSpec, ...]
    custom_permissions: tuple[CustomPermissionSpec, ...]
    deletions: tuple[str, ...]
    deletion_timing: str
    orgs: tuple[OrgProfile, ...]
    plugins: PluginSettings
    coverage: CoveragePolicy = CoveragePolicy()
    sync: SyncSettings = SyncSettings()
    mappings: tuple[MappingOverride, ...] = ()
    default_org: str | None = None  # [project] default_org: the profile when --org is not given
    # Where sftk.toml sets objects_dir (``sftk.toml:9: project.objects_dir``), None when it
    # does not: a specs folder the file names must exist, the conventional one may be absent.
    objects_dir_setting: str | None = None

    @property
    def state_dir(self) -> Path:
        return self.root / ".sftk"

    def local_state(self, profile: OrgProfile) -> Path:
        """Where a local org profile keeps its org: ``state`` when given, else
        ``.sftk/localorg`` for the ``local`` profile and ``.sftk/orgs/NAME`` for others."""
        if profile.state is not None:
            return profile.state
        if profile.name == LOCAL_PROFILE:
            return self.state_dir / "localorg"
        return self.state_dir / "orgs" / profile.name

    def org_name(self, given: str | None) -> str:
        """The org profile a command works on: ``given`` (--org, or SFTK_ORG), else
        ``default_org``; none of them is a usage error that says where to put one."""
        chosen = given or self.default_org
        if chosen is None:
            raise UsageError(
                "no org profile given",
                hint=f'pass --org NAME, set {ORG_ENV}=NAME, or add default_org = "NAME" '
                f"to [project] of {CONFIG_NAME}",
            )
        return chosen

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the project when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def find_config(start: Path) -> Path:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} found in {start} or any folder above it",
        hint="run `sftk init` to create a project, or pass --project DIR",
    )


def load_config(path: Path) -> ProjectConfig:
    doc = Document.read(path, CONFIG_NAME)
    root_table = doc.root()
    root = path.parent.resolve()
    project = root_table.table("project") or Table(doc, ("project",), {})
    api_version = _version(project, "api_version")
    config = ProjectConfig(
        root=root,
        name=project.string("name", root.name) or root.name,
        api_version=api_version,
        objects_dir=_path(root, project, "objects_dir", "objects"),
        templates_dir=_path(root, project, "templates_dir", "templates"),
        output_dir=_path(root, project, "output_dir", "build/metadata"),
        output_format=project.choice("format", FORMATS, "mdapi") or "mdapi",
        metadata_dirs=tuple(root / p for p in project.strings("metadata_dirs")),
        permission_sets=load_permission_sets(root_table),
        applications=load_applications(root_table),
        global_value_sets=load_global_value_sets(root_table),
        custom_permissions=load_custom_permissions(root_table),
        deletions=(),
        deletion_timing="default",
        orgs=_orgs(root_table, root),
        plugins=_plugins(root_table),
        coverage=_coverage(root_table),
        sync=_sync(root_table),
        mappings=_mappings(root_table),
        objects_dir_setting=project.where("objects_dir") if project.has("objects_dir") else None,
    )
    default_org = project.string("default_org")
    if default_org is not None:
        if default_org not in {org.name for org in config.orgs}:
            raise project.error(
                "default_org",
                f"names no org profile ({default_org!r})",
                hint="known profiles: " + ", ".join(org.name for org in config.orgs),
            )
        config = replace(config, default_org=default_org)
    project.finish()
    deletions = root_table.table("deletions")
    if deletions is not None:
        config = _with_deletions(config, deletions)
    root_table.finish()
    return config


def _with_deletions(config: ProjectConfig, table: Table) -> ProjectConfig:
    components = table.strings("components")
    timing = table.choice("when", DELETION_TIMINGS, "default") or "default"
    table.finish()
    return replace(config, deletions=components, deletion_timing=timing)


def _path(root: Path, table: Table, key: str, default: str) -> Path:
    return root / (table.string(key, default) or default)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROFILE_KEYS = ("kind", "auth", "api_version")
# Per auth method: the keys it requires and the keys it also accepts.
_AUTH_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "jwt": (("username", "client_id_env"), ("login_url", "private_key_file", "private_key_env")),
    "password": (
        ("username", "password_env"),
        ("login_url", "security_token_env", "client_id_env", "client_secret_env"),
    ),
    "token": (("access_token_env", "instance_url_env"), ()),
    "sfdx": (("alias",), ()),
    "local": ((), ("state",)),
}
_ENV_KEYS = (
    "client_id_env",
    "client_secret_env",
    "private_key_env",
    "password_env",
    "security_token_env",
    "access_token_env",
    "instance_url_env",
)
_REQUIRED_HINTS = {
    "username": 'add username = "deploy@example.com", the user sftk logs in as',
    "client_id_env": 'add client_id_env = "SF_CLIENT_ID", the environment variable holding the '
    "connected app's consumer key",
    "password_env": 'add password_env = "SF_PASSWORD", the environment variable holding the '
    "password",
    "access_token_env": 'add access_token_env = "SF_ACCESS_TOKEN", the environment variable '
    "holding the access token",
    "instance_url_env": 'add instance_url_env = "SF_INSTANCE_URL", the environment variable '
    "holding the org's URL",
    "alias": 'add alias = "my-org", an alias or username that `sf org list` shows',
}
# Keys that would hold a secret itself, and where the secret belongs instead.
_SECRET_KEYS = {
    "password": "password_env",
    "security_token": "security_token_env",
    "access_token": "access_token_env",
    "session_id": "access_token_env",
    "token": "access_token_env",
    "private_key": "private_key_file (the key file's path) or private_key_env",
    "client_secret": "client_secret_env",
    "consumer_secret": "client_secret_env",
}
_SECRET_WORDS = ("password", "secret", "token", "private_key", "session_id")


def _orgs(root: Table, project_root: Path) -> tuple[OrgProfile, ...]:
    """The written profiles in file order, then an implicit ``local`` one when the file has
    none, so ``--org local`` works in every project."""
    orgs = [_org(name, table, project_root) for name, table in root.tables("orgs")]
    if not any(org.name == LOCAL_PROFILE for org in orgs):
        orgs.append(OrgProfile(name=LOCAL_PROFILE, kind="local", auth="local"))
    return tuple(orgs)


def _org(name: str, table: Table, project_root: Path) -> OrgProfile:
    _refuse_secret_values(table)
    kind = table.choice("kind", ORG_KINDS)
    if kind is None:
        raise table.error("kind", "is required", hint="choose one of: " + ", ".join(ORG_KINDS))
    auth = table.choice("auth", AUTH_METHODS, "local" if kind == "local" else None)
    if auth is None:
        raise table.error(
            "auth",
            f"is required for a {kind} org",
            hint="choose one of: " + ", ".join(m for m in AUTH_METHODS if m != "local"),
        )
    if kind == "local" and auth != "local":
        raise table.error(
            "auth",
            f'auth = "{auth}" does not go with kind = "local"',
            hint='kind = "local" is sftk\'s own org: leave auth out, or write auth = "local"',
        )
    required, optional = _AUTH_KEYS[auth]
    allowed = (*_PROFILE_KEYS, *required, *optional)
    for key in table.data:
        if key not in allowed:
            known = any(key in keys for pair in _AUTH_KEYS.values() for keys in pair)
            message = f'does not apply to auth = "{auth}"' if known else f"unknown key {key!r}"
            raise table.error(key, message, hint=f"keys for auth = {auth}: " + ", ".join(allowed))
    for key in required:
        if key not in table.data:
            raise table.error(
                key, f'is required for auth = "{auth}"', hint=_REQUIRED_HINTS.get(key)
            )
    if auth == "jwt" and table.has("private_key_file") == table.has("private_key_env"):
        raise table.error(
            "private_key_file",
            'auth = "jwt" needs exactly one of private_key_file and private_key_env',
            hint='add private_key_file = "certs/server.key", or private_key_env = "SF_JWT_KEY" '
            "naming the environment variable holding the key",
        )
    if table.has("client_secret_env") and not table.has("client_id_env"):
        raise table.error(
            "client_secret_env",
            "needs client_id_env: the secret belongs to a connected app",
            hint="add client_id_env naming the variable with the app's consumer key",
        )
    envs = {key: _env_name(table, key) for key in _ENV_KEYS}
    key_file = table.string("private_key_file")
    state = table.string("state")
    profile = OrgProfile(
        name=name,
        kind=kind,
        auth=auth,
        login_url=_login_url(table, kind) if "login_url" in allowed else None,
        api_version=_version(table, "api_version"),
        username=table.string("username"),
        private_key_file=None if key_file is None else project_root / key_file,
        alias=table.string("alias"),
        state=None if state is None else project_root / state,
        **envs,
    )
    table.finish(allowed)
    return profile


def _refuse_secret_values(table: Table) -> None:
    """A secret written into sftk.toml ends up in git: refuse it before anything else."""
    for key in table.data:
        if key.endswith(("_env", "_file")):
            continue
        if key in _SECRET_KEYS or any(word in key for word in _SECRET_WORDS):
            instead = _SECRET_KEYS.get(key, "a *_env key")
            raise table.error(
                key,
                "sftk.toml must not hold secrets",
                hint=f"remove it and use {instead}, which names the environment variable "
                "holding the value, so the secret stays out of the file and out of git",
            )


def _env_name(table: Table, key: str) -> str | None:
    value = table.string(key)
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise table.error(  # not echoed: it may be the secret itself
            key,
            "is not an environment variable name",
            hint='write the name of the variable that holds the value, like "SF_PASSWORD"',
        )
    return value


def _version(table: Table, key: str) -> str | None:
    version = table.string(key)
    if version is not None and not _API_VERSION.match(version):
        raise table.error(key, f"{version!r} is not an API version", hint='write it like "63.0"')
    return version


def _login_url(table: Table, kind: str) -> str:
    value = table.string("login_url")
    if value is None:
        return LOGIN_URLS["test" if kind == "sandbox" else "login"]
    if value in LOGIN_URLS:
        return LOGIN_URLS[value]
    parts = urlsplit(value)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise table.error(
            "login_url",
            'is not "login", "test" or an https URL without a path',
            hint='write "login", "test" (sandboxes) or your My Domain URL, like '
            '"https://acme.my.salesforce.com"',
        )
    return f"https://{parts.netloc.lower()}"


def _coverage(root: Table) -> CoveragePolicy:
    table = root.table("coverage")
    if table is None:
        return CoveragePolicy()
    org_wide = _percent(table, "org_wide")
    per_class = _percent(table, "per_class")
    patterns: list[tuple[str, float]] = []
    classes = table.table("classes")
    if classes is not None:
        for pattern in list(classes.data):
            value = _percent(classes, pattern)
            assert value is not None
            patterns.append((pattern, value))
        classes.finish()
    table.finish(("org_wide", "per_class", "classes"))
    return CoveragePolicy(
        org_wide=DEFAULT_COVERAGE if org_wide is None else org_wide,
        per_class=DEFAULT_COVERAGE if per_class is None else per_class,
        patterns=tuple(patterns),
    )


def _percent(table: Table, key: str) -> float | None:
    value = table.scalar(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        written = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'
        raise table.error(
            key, "must be a number from 0 to 100", hint=f"write it like {written} = 75"
        )
    return float(value)


def _plugins(root: Table) -> PluginSettings:
    table = root.table("plugins")
    if table is None:
        return PluginSettings()
    enabled = table.strings("enabled")
    settings = {}
    for name in [key for key in table.data if key != "enabled"]:
        sub = table.table(name)
        assert sub is not None
        settings[name] = MappingProxyType(dict(sub.data))
    return PluginSettings(enabled=enabled, settings=MappingProxyType(settings), document=root.doc)


def _sync(root: Table) -> SyncSettings:
    table = root.table("sync")
    if table is None:
        return SyncSettings()
    threshold = table.integer("bulk_threshold", SyncSettings.bulk_threshold)
    assert threshold is not None
    if threshold < 0:
        raise table.error(
            "bulk_threshold",
            "must be 0 or more",
            hint="write the number of changed records from which Bulk API 2.0 is used, "
            "like bulk_threshold = 2000 (0: always Bulk API 2.0)",
        )
    share = table.scalar("api_share")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1
    ):
        raise table.error(
            "api_share",
            "must be a number above 0 and at most 1",
            hint="write the share of the org's remaining daily API requests a run may use, "
            "like api_share = 0.5",
        )
    lookback = table.string("lookback", DEFAULT_LOOKBACK) or DEFAULT_LOOKBACK
    found = _DURATION.match(lookback.strip())
    if found is None:
        raise table.error(
            "lookback",
            f"{lookback!r} is not a duration",
            hint='write a number and a unit: "30s", "15m", "1h" or "2d" ("0s" for none)',
        )
    table.finish(("bulk_threshold", "api_share", "lookback"))
    return SyncSettings(
        bulk_threshold=threshold,
        api_share=SyncSettings.api_share if share is None else float(share),
        lookback_seconds=int(found.group(1)) * _DURATION_SECONDS[found.group(2)],
    )


_MAPPING_KEYS = (
    "source",
    "constant",
    "transforms",
    "values",
    "default",
    "date_format",
    "datetime_format",
    "skip",
)


def _mappings(root: Table) -> tuple[MappingOverride, ...]:
    """``[mappings.<plugin>.<stream>]``: ``Field__c = "column"`` or a table of _MAPPING_KEYS."""
    overrides: list[MappingOverride] = []
    for plugin, plugin_table in root.tables("mappings"):
        for stream in list(plugin_table.data):
            table = plugin_table.table(stream)
            assert table is not None
            for target in list(table.data):
                overrides.append(_mapping_line(plugin, stream, table, target))
            table.finish()
        plugin_table.finish()
    return tuple(overrides)


def _mapping_line(plugin: str, stream: str, table: Table, target: str) -> MappingOverride:
    where = table.where(target)
    if isinstance(table.data[target], str):
        source = table.string(target)
        return MappingOverride(plugin, stream, FieldMapping(target, source=source), False, where)
    line = table.table(target)
    if line is None:
        raise table.error(
            target,
            "expected a source field name or a table",
            hint=f'write {target} = "column", or {target} = {{ source = "column", '
            'transforms = ["trim"] }, { constant = "x" } or { skip = true }',
        )
    skip = line.flag("skip")
    source = line.string("source")
    has_constant = line.has("constant")
    constant = line.scalar("constant")
    if not skip and (source is None) == (not has_constant):
        raise line.error(
            None,
            "needs exactly one of source and constant (or skip = true)",
            hint=f'write {target} = {{ source = "column" }} or {target} = {{ constant = "x" }}',
        )
    transforms = line.strings("transforms")
    for name in transforms:
        if name not in TRANSFORMS:
            raise line.error(
                "transforms",
                f"unknown transform {name!r}",
                hint="choose from: " + ", ".join(TRANSFORMS),
            )
    values_table = line.table("values")
    values: list[tuple[str, str]] = []
    if values_table is not None:
        for key in list(values_table.data):
            value = values_table.string(key)
            assert value is not None
            values.append((key, value))
        values_table.finish()
    mapping = FieldMapping(
        target,
        source=source,
        constant=_constant(line, constant),
        transforms=transforms,
        values=tuple(values),
        default=line.string("default"),
        date_format=line.string("date_format"),
        datetime_format=line.string("datetime_format"),
    )
    line.finish(_MAPPING_KEYS)
    return MappingOverride(plugin, stream, mapping, skip, where)


def _constant(line: Table, value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    assert isinstance(value, dt.date | dt.datetime | dt.time)
    return value.isoformat()  # a TOML date or time, as Salesforce reads it (ISO 8601)
