"""Where appointments come from: a CalDAV calendar collection, iCalendar files and URLs.

A fetch brings the calendar's documents (iCalendar texts) and says how much of the calendar
they are, which is how deletions are told:

- ``whole``: every event the calendar has (a file, a URL, a first CalDAV sync): an event known
  before and missing now was deleted there;
- CalDAV with a sync token (RFC 6578 sync-collection): only what changed since the token, and
  the resources deleted since;
- CalDAV without one (a server that does not keep tokens, or a token it no longer knows): a
  time-range query (RFC 4791 calendar-query) over the window; an event missing from it was
  deleted only if it was in the window.

A calendar that cannot be read (no file, a server down, credentials refused) raises
``CalendarFailure``, named as the user wrote it, with no secret in it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from sftk_scheduling.ics import Window
from toolkit.errors import ConfigError
from toolkit.fsio import read_regular_file, utf8_text

TIMEOUT = 30  # seconds a calendar server may take to answer one request
# The most an iCalendar file may hold: years of a busy practice's appointments are a few
# megabytes; a file beyond this is no calendar (a device, a wrong path) and is not read.
MAX_FILE_BYTES = 256 * 1024 * 1024


class CalendarFailure(Exception):
    """A calendar that could not be read at all; the message names it and says why."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Document:
    """One iCalendar text: ``resource`` is its CalDAV href (None for a file or URL, whose
    events are told apart by UID), ``where`` how messages name it."""

    text: str
    where: str
    resource: str | None = None


@dataclass
class Fetch:
    documents: list[Document] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # CalDAV hrefs removed on the server
    whole: bool = False
    within: Window | None = None  # a time-range read: what it covers
    token: str | None = None


def shown_url(url: str) -> str:
    """A URL as messages show it: without user, password or query (tokens hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class IcsCalendar:
    """An iCalendar file (relative to the project) or an http(s) URL, read whole each time."""

    def __init__(self, location: str, root: Path) -> None:
        self.location = location
        self.root = root
        self.is_url = urlsplit(location).scheme in ("http", "https")
        self.name = shown_url(location) if self.is_url else location

    def fetch(self, token: str | None, recurring: Sequence[str], window: Window) -> Fetch:
        text = self._download() if self.is_url else self._read()
        return Fetch([Document(text, self.name)], whole=True)

    def _read(self) -> str:
        """The file, when it is a regular file of a calendar's size: a pipe would hang the
        sync and a device fill its memory."""
        try:
            data = read_regular_file(
                self.root / self.location, f"calendar {self.name}", limit=MAX_FILE_BYTES
            )
        except ConfigError as exc:
            raise CalendarFailure(
                exc.message, "fix the path in ics (relative to sftk.toml)"
            ) from None
        return _decoded(data, self.name)

    def _download(self) -> str:
        try:
            answer = requests.get(self.location, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise CalendarFailure(
                f"calendar {self.name}: cannot be reached ({type(exc).__name__})",
                "check the URL and that the server is up; the other calendars were synced",
            ) from None
        if answer.status_code != 200:
            raise CalendarFailure(
                f"calendar {self.name}: the server answered HTTP {answer.status_code}",
                "check the URL (a calendar's public or secret .ics address)",
            )
        return _decoded(answer.content, self.name)


def _decoded(data: bytes, name: str) -> str:
    """The calendar's text; one that is not UTF-8 names the line of its first bad byte."""
    try:
        return utf8_text(data, f"calendar {name}")
    except ConfigError as exc:
        raise CalendarFailure(
            exc.message, "iCalendar files are UTF-8 (RFC 5545): export the calendar again"
        ) from None


class CalDavCalendar:
    """A CalDAV calendar collection, read incrementally through sync tokens."""

    def __init__(self, url: str, username: str | None, password_env: str | None) -> None:
        self.url = url
        self.username = username
        self.password_env = password_env
        self.name = shown_url(url)

    def _password(self) -> str | None:
        if self.password_env is None:
            return None
        password = os.environ.get(self.password_env)
        if password is None:
            raise CalendarFailure(
                f"calendar {self.name}: {self.password_env} is not set",
                f"export {self.password_env} with the CalDAV password (caldav_password_env)",
            )
        return password

    def fetch(self, token: str | None, recurring: Sequence[str], window: Window) -> Fetch:
        # heavy (an HTTP stack of its own): imported only when a CalDAV calendar is read
        from caldav.davclient import DAVClient
        from caldav.lib import error

        client: Any = DAVClient(
            url=self.url,
            username=self.username,
            password=self._password(),
            timeout=TIMEOUT,
            enable_rfc6764=False,
        )
        calendar = client.calendar(url=self.url)
        try:
            try:
                return self._sync(calendar, token, recurring)
            except (error.AuthorizationError, error.ReportError) as exc:
                if isinstance(exc, error.AuthorizationError) and not _token_refused(exc):
                    raise
            return self._time_range(calendar, window)
        except error.AuthorizationError:
            raise CalendarFailure(
                f"calendar {self.name}: the server refused the credentials of "
                f"{self.username or 'no user'}",
                f"check caldav_username and the password in {self.password_env}",
            ) from None
        except error.NotFoundError:
            raise CalendarFailure(
                f"calendar {self.name}: no calendar collection at that URL",
                "caldav_url must be the calendar itself (…/calendars/USER/NAME/)",
            ) from None
        except CalendarFailure:
            raise
        except Exception as exc:  # the server down, a reset, a timeout, a reply not DAV
            raise CalendarFailure(
                f"calendar {self.name}: cannot be read ({type(exc).__name__}: {_first_line(exc)})",
                "check that the server is up and caldav_url is right; the other calendars "
                "were synced",
            ) from None
        finally:
            client.close()

    def _sync(self, calendar: Any, token: str | None, recurring: Sequence[str]) -> Fetch:
        found = calendar.get_objects_by_sync_token(token, load_objects=True, disable_fallback=True)
        deleted = {str(url) for url in found.deleted_urls}
        fetch = Fetch(whole=token is None, token=found.sync_token)
        changed: set[str] = set()
        for obj in found.objects:
            href = str(obj.url.canonical())
            if href in deleted or not obj.data:
                continue
            changed.add(href)
            fetch.documents.append(Document(obj.data, self._where(href), href))
        fetch.deleted = sorted(deleted)
        # Recurring events unchanged since the token still have occurrences entering the
        # window as time goes by: fetch them again, in one calendar-multiget.
        again = [href for href in recurring if href not in changed and href not in deleted]
        if again and not fetch.whole:
            for obj in calendar.multiget([obj_url(calendar, href) for href in again]):
                if obj.data:
                    href = str(obj.url.canonical())
                    fetch.documents.append(Document(obj.data, self._where(href), href))
        return fetch

    def _time_range(self, calendar: Any, window: Window) -> Fetch:
        fetch = Fetch(within=window)
        for obj in calendar.search(start=window.start, end=window.end, event=True):
            if obj.data:
                href = str(obj.url.canonical())
                fetch.documents.append(Document(obj.data, self._where(href), href))
        return fetch

    def _where(self, href: str) -> str:
        return f"{self.name} {urlsplit(href).path.rsplit('/', 1)[-1]}"


def obj_url(calendar: Any, href: str) -> Any:
    return calendar.url.join(href)


def _token_refused(exc: Any) -> bool:
    """The server no longer knows the token (RFC 6578 3.2: DAV:valid-sync-token), or does not
    do sync-collection at all: both are read again through a time-range query."""
    names = " ".join(getattr(exc, "preconditions", None) or ())
    return "valid-sync-token" in names or "supported-report" in names


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no detail"
