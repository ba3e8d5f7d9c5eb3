"""The plugin's ``[plugins.scheduling]`` table: checked key by key, then read into ``Settings``.

::

    [plugins.scheduling]
    caldav_url = "https://dav.example.com/calendars/team/appointments/"   # a calendar collection
    caldav_username = "sync@example.com"
    caldav_password_env = "SCHEDULING_CALDAV_PASSWORD"                    # the secret's env var
    ics = ["calendars/clinic.ics", "https://example.com/team.ics"]       # files or URLs
    match = ["Contact", "Lead"]         # who an attendee is looked for as, in this order
    create_leads = true                 # an attendee found nowhere becomes a Lead
    booking_url = "https://book.example.com/?email={email}&name={name}"  # the button's link
    expand_days = 90                    # recurring events: occurrences this many days around now
    mirror_events = false               # also a standard Event on the matched Contact or Lead
    timezone = "Europe/Paris"           # floating times are read in it (default: the calendar's
                                        # X-WR-TIMEZONE, else UTC)
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from toolkit.sync.contract import SettingProblem

MATCH_OBJECTS = ("Contact", "Lead")
DEFAULT_EXPAND_DAYS = 90
MAX_EXPAND_DAYS = 3650
# Placeholders of booking_url, and the merge field each becomes on a Contact or a Lead.
BOOKING_FIELDS = {
    "id": "Id",
    "email": "Email",
    "name": "Name",
    "first_name": "FirstName",
    "last_name": "LastName",
}
KEYS = (
    "caldav_url",
    "caldav_username",
    "caldav_password_env",
    "ics",
    "match",
    "create_leads",
    "booking_url",
    "expand_days",
    "mirror_events",
    "timezone",
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Settings:
    caldav_url: str | None = None
    caldav_username: str | None = None
    caldav_password_env: str | None = None
    ics: tuple[str, ...] = ()
    match: tuple[str, ...] = MATCH_OBJECTS
    create_leads: bool = True
    booking_url: str | None = None
    expand_days: int = DEFAULT_EXPAND_DAYS
    mirror_events: bool = False
    timezone: str | None = None

    @property
    def has_calendars(self) -> bool:
        return bool(self.caldav_url or self.ics)


def read(table: Mapping[str, Any]) -> Settings:
    """The table as typed settings; call ``problems`` first (sftk does, before any hook)."""
    return Settings(
        caldav_url=table.get("caldav_url"),
        caldav_username=table.get("caldav_username"),
        caldav_password_env=table.get("caldav_password_env"),
        ics=tuple(table.get("ics", ())),
        match=tuple(table.get("match", MATCH_OBJECTS)),
        create_leads=bool(table.get("create_leads", True)),
        booking_url=table.get("booking_url"),
        expand_days=int(table.get("expand_days", DEFAULT_EXPAND_DAYS)),
        mirror_events=bool(table.get("mirror_events", False)),
        timezone=table.get("timezone"),
    )


def is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def problems(table: Mapping[str, Any], root: Path) -> list[SettingProblem]:
    found = [
        SettingProblem(key, f"unknown key {key!r}", "valid keys: " + ", ".join(KEYS))
        for key in table
        if key not in KEYS
    ]
    found += _caldav_problems(table)
    found += _ics_problems(table.get("ics", []), root)
    found += _match_problems(table)
    for key in ("create_leads", "mirror_events"):
        if key in table and not isinstance(table[key], bool):
            found.append(SettingProblem(key, "must be true or false", f"write {key} = true"))
    expand = table.get("expand_days", DEFAULT_EXPAND_DAYS)
    if (
        isinstance(expand, bool)
        or not isinstance(expand, int)
        or not 1 <= expand <= MAX_EXPAND_DAYS
    ):
        found.append(
            SettingProblem(
                "expand_days",
                f"must be a whole number of days from 1 to {MAX_EXPAND_DAYS}",
                "write expand_days = 90",
            )
        )
    found += _booking_problems(table.get("booking_url"))
    found += _timezone_problems(table.get("timezone"))
    return found


def _caldav_problems(table: Mapping[str, Any]) -> list[SettingProblem]:
    found = []
    url = table.get("caldav_url")
    if url is not None and (not isinstance(url, str) or not is_url(url)):
        found.append(
            SettingProblem(
                "caldav_url",
                "must be the http(s) URL of a calendar collection",
                'write caldav_url = "https://dav.example.com/calendars/team/appointments/"',
            )
        )
    elif isinstance(url, str) and (urlsplit(url).username or urlsplit(url).password):
        found.append(
            SettingProblem(
                "caldav_url",
                "holds credentials; secrets never go in sftk.toml",
                "set caldav_username, and caldav_password_env to the name of an environment "
                "variable holding the password",
            )
        )
    for key in ("caldav_username", "caldav_password_env"):
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            found.append(SettingProblem(key, "must be a non-empty string", f'write {key} = "..."'))
        elif value is not None and url is None:
            found.append(
                SettingProblem(key, "is set, but caldav_url is not", "set caldav_url as well")
            )
    env = table.get("caldav_password_env")
    if isinstance(env, str) and env and not _ENV_NAME.match(env):
        found.append(
            SettingProblem(
                "caldav_password_env",
                f"{env!r} is not the name of an environment variable (the password itself "
                "never goes in sftk.toml)",
                'write caldav_password_env = "SCHEDULING_CALDAV_PASSWORD" and export it',
            )
        )
    if isinstance(url, str) and "caldav_username" in table and "caldav_password_env" not in table:
        found.append(
            SettingProblem(
                "caldav_username",
                "is set without caldav_password_env",
                'add caldav_password_env = "SCHEDULING_CALDAV_PASSWORD"',
            )
        )
    return found


def _ics_problems(ics: Any, root: Path) -> list[SettingProblem]:
    hint = 'write ics = ["calendars/appointments.ics"] (files relative to sftk.toml, or URLs)'
    if not isinstance(ics, list) or not all(isinstance(item, str) and item for item in ics):
        return [SettingProblem("ics", "must be a list of file paths or URLs", hint)]
    found = []
    for number, item in enumerate(ics):
        if "://" in item and not is_url(item):
            found.append(SettingProblem(f"ics.{number}", f"{item!r} is not an http(s) URL", hint))
        elif not is_url(item) and Path(item).suffix.lower() not in (".ics", ".ical", ".ifb", ""):
            found.append(SettingProblem(f"ics.{number}", f"{item!r} is not an .ics file", hint))
    return found


def _match_problems(table: Mapping[str, Any]) -> list[SettingProblem]:
    match = table.get("match", list(MATCH_OBJECTS))
    hint = 'write match = ["Contact", "Lead"] (either or both, in the order to try)'
    if (
        not isinstance(match, list)
        or not match
        or any(item not in MATCH_OBJECTS for item in match)
        or len(set(match)) != len(match)
    ):
        return [SettingProblem("match", "must list Contact and/or Lead, each once", hint)]
    if table.get("create_leads", True) is True and "Lead" not in match:
        return [
            SettingProblem(
                "create_leads",
                "creates Leads for unknown attendees, but match does not look for Leads, so "
                "they would never be linked",
                'add "Lead" to match, or set create_leads = false',
            )
        ]
    return []


def _booking_problems(url: Any) -> list[SettingProblem]:
    if url is None:
        return []
    hint = (
        'write booking_url = "https://book.example.com/?email={email}" with placeholders '
        + ", ".join("{" + name + "}" for name in BOOKING_FIELDS)
    )
    if not isinstance(url, str) or not is_url(url.replace("{", "").replace("}", "")):
        return [SettingProblem("booking_url", "must be an http(s) URL", hint)]
    unknown = [p for p in _PLACEHOLDER.findall(url) if p not in BOOKING_FIELDS]
    if unknown:
        return [SettingProblem("booking_url", f"unknown placeholder {{{unknown[0]}}}", hint)]
    return []


def _timezone_problems(name: Any) -> list[SettingProblem]:
    if name is None:
        return []
    hint = 'write an IANA time zone name, like timezone = "Europe/Paris"'
    if not isinstance(name, str) or not name:
        return [SettingProblem("timezone", "must be a time zone name", hint)]
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [SettingProblem("timezone", f"unknown time zone {name!r}", hint)]
    return []


def booking_link(url: str, obj: str) -> str:
    """booking_url with each placeholder as the merge field of ``obj`` (``{!Contact.Email}``),
    which Salesforce fills in, URL-encoded, when the button is clicked."""
    return _PLACEHOLDER.sub(lambda m: "{!" + f"{obj}.{BOOKING_FIELDS[m.group(1)]}" + "}", url)
