"""xAPI statements, from a JSON file or a Learning Record Store, as what they say about an
enrollment: completed or passed (Completed), failed (Failed), launched, initialized or
progressed (In Progress), by whom (the actor's mbox email or account name) in which offering
(the activity id, through ``xapi_activity_id``). Other verbs and activities are not about
enrollments and are passed over.

An LRS is read with the xAPI statements resource: Basic auth from the environment variables
the settings name, ``since`` the newest ``stored`` time seen before (less a lookback, as an
LRS may store a statement a little after the ones it already returned), and ``more`` links
followed page by page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urljoin

import requests

from sftk_lms.model import Rejected, moment_text, parse_moment
from sftk_lms.settings import OFFERING_PLACEHOLDER, LmsSettings
from toolkit.errors import ConfigError, SourceError
from toolkit.fsio import read_regular_file, utf8_text

XAPI_VERSION = "1.0.3"
PAGE_SIZE = 500
LOOKBACK = dt.timedelta(hours=1)
TIMEOUT = 60.0
MAX_PAGES = 100_000  # a guard against an LRS whose ``more`` links go round in a circle
MAX_FILE_BYTES = 1024**3  # a statements file larger is no export (a device, a wrong path)
VERBS = {
    "completed": "Completed",
    "passed": "Completed",
    "failed": "Failed",
    "launched": "In Progress",
    "initialized": "In Progress",
    "progressed": "In Progress",
}
# cmi5's progress extension (0-100) on a progressed statement's result
PROGRESS_EXTENSION = "https://w3id.org/xapi/cmi5/result/extensions/progress"
SINCE_KEY = "xapi/since"


class Statement(NamedTuple):
    """What a statement says of an enrollment."""

    id: str
    email: str | None  # lower case
    account: str | None  # the learner's id in the LMS
    offering: str
    status: str  # Completed, Failed or In Progress
    at: dt.datetime
    score: float | None
    progress: float | None
    where: str

    def to_json(self) -> list[Any]:
        return [
            self.id,
            self.email,
            self.account,
            self.offering,
            self.status,
            moment_text(self.at),
            self.score,
            self.progress,
            self.where,
        ]

    @classmethod
    def from_json(cls, value: list[Any]) -> Statement:
        ident, email, account, offering, status, at, score, progress, where = value
        return cls(
            ident, email, account, offering, status, parse_moment(at), score, progress, where
        )


class Activities:
    """Activity ids of offerings: ``xapi_activity_id`` with ``{offering}`` as the key."""

    def __init__(self, template: str) -> None:
        before, _, after = template.partition(OFFERING_PLACEHOLDER)
        self.pattern = re.compile(re.escape(before) + "(.+?)" + re.escape(after) + "/?$")

    def offering(self, activity_id: str) -> str | None:
        found = self.pattern.match(activity_id)
        return found.group(1) if found else None


def read_statement(raw: Any, activities: Activities, where: str) -> Statement | Rejected | None:
    """A statement about an enrollment, Rejected if it is one but cannot be used, None if it
    is about something else."""
    if not isinstance(raw, dict):
        return Rejected(where, f"a statement is a JSON object, not {type(raw).__name__}")
    verb = _part(raw, "verb")
    verb_id = str(verb.get("id") or "")
    status = VERBS.get(verb_id.rstrip("/").rsplit("/", 1)[-1].lower())
    target = _part(raw, "object")
    offering = activities.offering(str(target.get("id") or ""))
    if status is None or offering is None:
        return None
    statement_id = str(raw.get("id") or "") or _content_id(raw)
    actor = _part(raw, "actor")
    mbox = str(actor.get("mbox") or "")
    account = _part(actor, "account")
    email = mbox.removeprefix("mailto:").strip().lower() or None
    name = str(account.get("name") or "").strip() or None
    if email is None and name is None:
        return Rejected(
            where,
            "the actor has neither an mbox nor an account name, so the learner is unknown",
            statement_id,
            raw,
        )
    text = str(raw.get("timestamp") or raw.get("stored") or "")
    try:
        at = parse_moment(text)
    except ValueError:
        return Rejected(where, f"timestamp {text!r} is not ISO 8601", statement_id, raw)
    result = _part(raw, "result")
    return Statement(
        statement_id,
        email,
        name,
        offering,
        status,
        at,
        _score(result),
        _progress(result),
        where,
    )


def _part(whole: dict[str, Any], key: str) -> dict[str, Any]:
    """A statement's object property, or an empty one."""
    value = whole.get(key)
    return value if isinstance(value, dict) else {}


def _content_id(raw: dict[str, Any]) -> str:
    """A statement in a file may lack an id: its content then names it, the same every read."""
    text = json.dumps(raw, sort_keys=True)
    return "content-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _score(result: dict[str, Any]) -> float | None:
    score = _part(result, "score")
    for key, factor in (("scaled", 100.0), ("raw", 1.0)):
        value = score.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return round(float(value) * factor, 2)
    return None


def _progress(result: dict[str, Any]) -> float | None:
    extensions = _part(result, "extensions")
    value = extensions.get(PROGRESS_EXTENSION)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
        return float(value)
    return None


def file_statements(path: Path, shown: str) -> Iterator[tuple[str, Any]]:
    """(where, statement) of a JSON file: a list of statements, or an object holding one under
    ``statements`` (as an LRS answers)."""
    try:  # a regular file only: a pipe would hang the sync, a device fill its memory
        text = utf8_text(read_regular_file(path, shown, limit=MAX_FILE_BYTES), shown)
    except ConfigError as exc:
        raise SourceError(exc.message, hint=exc.hint or "check xapi in sftk.toml") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SourceError(
            f"{shown}: not JSON ({exc})", hint="the file holds a JSON list of xAPI statements"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("statements"), list):
        data = data["statements"]
    if not isinstance(data, list):
        raise SourceError(
            f"{shown}: holds a JSON {type(data).__name__}, not a list of statements",
            hint='write [ {statement}, ... ] or { "statements": [ ... ] }',
        )
    for number, raw in enumerate(data, start=1):
        yield f"{shown}: statement {number}", raw


class Lrs:
    """A Learning Record Store's statements resource."""

    def __init__(self, settings: LmsSettings) -> None:
        assert settings.xapi is not None
        self.endpoint = settings.xapi.rstrip("/") + "/"
        self.username_env = settings.xapi_username_env or ""
        self.password_env = settings.xapi_password_env or ""

    def credentials(self) -> tuple[str, str]:
        missing = [
            name for name in (self.username_env, self.password_env) if not os.environ.get(name)
        ]
        if missing:
            raise SourceError(
                f"the LRS credentials are not set: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} empty",
                hint="export the LRS key and secret in the variables xapi_username_env and "
                "xapi_password_env name",
            )
        return os.environ[self.username_env], os.environ[self.password_env]

    def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            answer = requests.get(
                url,
                params=params,
                auth=self.credentials(),
                headers={"X-Experience-API-Version": XAPI_VERSION},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise SourceError(
                f"the LRS at {self.endpoint} cannot be reached ({type(exc).__name__})",
                hint="check the xapi URL and that the LRS is up",
            ) from None
        if answer.status_code in (401, 403):
            raise SourceError(
                f"the LRS at {self.endpoint} refused the credentials (HTTP {answer.status_code})",
                hint=f"check the key and secret in {self.username_env} and {self.password_env}, "
                "and that they may read statements",
            )
        if not answer.ok:
            raise SourceError(
                f"the LRS at {self.endpoint} answered HTTP {answer.status_code} for {answer.url}",
                hint="check the xapi URL (the LRS's xAPI endpoint, before /statements)",
            )
        try:
            body = answer.json()
        except ValueError:
            raise SourceError(f"the LRS at {self.endpoint} did not answer JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("statements"), list):
            raise SourceError(f"the LRS at {self.endpoint} answered no statement result")
        return body

    def check(self) -> None:
        """One statement asked for: the LRS answers and takes the credentials."""
        self.get(self.endpoint + "statements", {"limit": "1"})

    def statements(self, since: str | None) -> Iterator[tuple[str, Any, str | None]]:
        """(where, statement, stored) stored after ``since`` (less the lookback), every page."""
        params: dict[str, str] | None = {"limit": str(PAGE_SIZE)}
        if since and params is not None:
            params["since"] = moment_text(parse_moment(since) - LOOKBACK)
        url: str | None = self.endpoint + "statements"
        for _ in range(MAX_PAGES):
            assert url is not None
            body = self.get(url, params)
            for raw in body["statements"]:
                stored = raw.get("stored") if isinstance(raw, dict) else None
                statement_id = raw.get("id") if isinstance(raw, dict) else None
                yield f"{self.endpoint} statement {statement_id}", raw, stored
            more = body.get("more")
            if not more:
                return
            url, params = urljoin(self.endpoint, str(more)), None
        raise SourceError(f"the LRS at {self.endpoint} gave more than {MAX_PAGES} pages")


def newest(current: str | None, stored: Any) -> str | None:
    """The later of two ``stored`` times (kept as given)."""
    if not isinstance(stored, str) or not stored:
        return current
    try:
        moment = parse_moment(stored)
    except ValueError:
        return current
    if current is None or moment > parse_moment(current):
        return moment_text(moment)
    return current
