"""The ``[plugins.lms]`` table of sftk.toml: checked key by key (``sftk_validate_settings``),
then read into ``LmsSettings`` for the rest of the plugin. Without a roster (``oneroster``
or ``export``) the plugin brings its metadata and no streams.

::

    [plugins.lms]
    oneroster = "exports/oneroster-2026-09-01.zip"   # or a folder; or: export = "lms-export/"
    xapi = "https://lrs.example.com/xapi"            # or a .json file of statements
    xapi_activity_id = "https://lms.example.com/classes/{offering}"
    xapi_username_env = "LRS_KEY"                    # Basic auth, from the environment
    xapi_password_env = "LRS_SECRET"
    admin_emails = ["it@school.example"]
    learner_object = "Contact"                       # or "Lead"
    historic_since = "2022-08-01"                    # --historic: terms ending since then
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.sync.contract import SettingProblem

KEYS = (
    "oneroster",
    "export",
    "xapi",
    "xapi_activity_id",
    "xapi_username_env",
    "xapi_password_env",
    "admin_emails",
    "learner_object",
    "historic_since",
)
LEARNER_OBJECTS = ("Contact", "Lead")
OFFERING_PLACEHOLDER = "{offering}"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LmsSettings:
    root: Path
    roster_text: str = ""  # the roster's path as sftk.toml writes it, for messages
    oneroster: Path | None = None
    export: Path | None = None
    xapi: str | None = None  # a URL, or a file path as written (relative to root)
    xapi_activity_id: str | None = None
    xapi_username_env: str | None = None
    xapi_password_env: str | None = None
    admin_emails: tuple[str, ...] = ()
    learner_object: str = "Contact"
    historic_since: dt.date | None = None

    @property
    def roster(self) -> Path | None:
        return self.oneroster or self.export

    @property
    def roster_setting(self) -> str:
        return "oneroster" if self.oneroster is not None else "export"

    @property
    def xapi_is_url(self) -> bool:
        return self.xapi is not None and is_url(self.xapi)

    @property
    def xapi_file(self) -> Path | None:
        if self.xapi is None or self.xapi_is_url:
            return None
        return self.root / self.xapi


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def problems(settings: Mapping[str, Any], root: Path) -> list[SettingProblem]:
    found = [
        SettingProblem(key, f"unknown key {key!r}", "valid keys: " + ", ".join(KEYS))
        for key in settings
        if key not in KEYS
    ]
    for key in ("oneroster", "export", "xapi", "xapi_activity_id"):
        value = settings.get(key)
        if key in settings and (not isinstance(value, str) or not value.strip()):
            found.append(SettingProblem(key, "must be a non-empty string", _EXAMPLES[key]))
    roster = [key for key in ("oneroster", "export") if key in settings]
    if not roster and "xapi" in settings:
        found.append(
            SettingProblem(
                "xapi",
                "statements need a roster to apply to: set oneroster or export too",
                'oneroster = "exports/oneroster.zip" (a OneRoster 1.1 CSV folder or zip), or '
                'export = "lms-export/" (docs/lms.md describes that export)',
            )
        )
    elif len(roster) == 2:
        found.append(
            SettingProblem(
                "export", "set oneroster or export, not both", "keep the one your LMS writes"
            )
        )
    oneroster = settings.get("oneroster")
    if isinstance(oneroster, str) and oneroster.strip():
        path = Path(oneroster)
        if path.suffix and path.suffix.lower() != ".zip":
            found.append(
                SettingProblem(
                    "oneroster",
                    f"{path.name} is neither a folder nor a .zip",
                    "point oneroster at the export's folder or its .zip",
                )
            )
    found += _xapi_problems(settings)
    found += _admin_problems(settings.get("admin_emails"))
    learner_object = settings.get("learner_object", "Contact")
    if learner_object not in LEARNER_OBJECTS:
        found.append(
            SettingProblem(
                "learner_object",
                f"{learner_object!r} is not a learner object",
                'write learner_object = "Contact" or "Lead"',
            )
        )
    since = settings.get("historic_since")
    if since is not None and _date(since) is None:
        found.append(
            SettingProblem(
                "historic_since", f"{since!r} is not a date", 'write historic_since = "2022-08-01"'
            )
        )
    return found


def _xapi_problems(settings: Mapping[str, Any]) -> list[SettingProblem]:
    found = []
    xapi = settings.get("xapi")
    template = settings.get("xapi_activity_id")
    if isinstance(xapi, str) and xapi.strip():
        if template is None:
            found.append(
                SettingProblem(
                    "xapi_activity_id",
                    "xapi is set, so the plugin must know which activity ids are offerings",
                    _EXAMPLES["xapi_activity_id"],
                )
            )
        if not is_url(xapi) and Path(xapi).suffix.lower() != ".json":
            found.append(
                SettingProblem(
                    "xapi",
                    f"{xapi!r} is neither an http(s) URL nor a .json file",
                    'write xapi = "https://lrs.example.com/xapi" or "statements.json"',
                )
            )
    if isinstance(template, str) and template.count(OFFERING_PLACEHOLDER) != 1:
        found.append(
            SettingProblem(
                "xapi_activity_id",
                f"must hold {OFFERING_PLACEHOLDER} once, where the offering key is",
                _EXAMPLES["xapi_activity_id"],
            )
        )
    names = [k for k in ("xapi_username_env", "xapi_password_env") if k in settings]
    for key in names:
        value = settings[key]
        if not isinstance(value, str) or not _ENV_NAME.match(value):
            found.append(
                SettingProblem(
                    key,
                    "must name an environment variable (the secret itself never goes here)",
                    f'write {key} = "LRS_{"KEY" if "username" in key else "SECRET"}"',
                )
            )
    if len(names) == 1:
        missing = ({"xapi_username_env", "xapi_password_env"} - set(names)).pop()
        found.append(
            SettingProblem(missing, "Basic auth needs both a username and a password variable")
        )
    if isinstance(xapi, str) and is_url(xapi) and not names:
        found.append(
            SettingProblem(
                "xapi_username_env",
                "an LRS needs credentials: name the environment variables holding them",
                'write xapi_username_env = "LRS_KEY" and xapi_password_env = "LRS_SECRET"',
            )
        )
    return found


def _admin_problems(value: Any) -> list[SettingProblem]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [
            SettingProblem(
                "admin_emails", "must be a list of email addresses", 'write ["it@school.example"]'
            )
        ]
    return [
        SettingProblem(
            "admin_emails", f"{email!r} is not an email address", "write name@domain.example"
        )
        for email in value
        if not EMAIL.match(email)
    ]


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def read(settings: Mapping[str, Any], root: Path) -> LmsSettings:
    """The table as the plugin uses it (checked before by ``problems``)."""

    def path(key: str) -> Path | None:
        value = settings.get(key)
        return root / str(value) if value else None

    return LmsSettings(
        root=root,
        roster_text=str(settings.get("oneroster") or settings.get("export") or ""),
        oneroster=path("oneroster"),
        export=path("export"),
        xapi=settings.get("xapi"),
        xapi_activity_id=settings.get("xapi_activity_id"),
        xapi_username_env=settings.get("xapi_username_env"),
        xapi_password_env=settings.get("xapi_password_env"),
        admin_emails=tuple(e.lower() for e in settings.get("admin_emails") or ()),
        learner_object=str(settings.get("learner_object", "Contact")),
        historic_since=_date(settings.get("historic_since")),
    )


_EXAMPLES = {
    "oneroster": 'oneroster = "exports/oneroster.zip"',
    "export": 'export = "lms-export/"',
    "xapi": 'xapi = "https://lrs.example.com/xapi"',
    "xapi_activity_id": 'xapi_activity_id = "https://lms.example.com/classes/{offering}"',
}
