"""The Salesforce CLI (``sf``) as sftk uses it: run a command with ``--json`` and read the one
JSON document it prints. Orgs the CLI has authorized can be logged in to (``auth = "sfdx"``)
and turned into org profiles (``sftk org import``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.errors import OrgError

SF_TIMEOUT_SECONDS = 120  # the CLI starts Node and may refresh a token first
# Where `sf org list --json` puts orgs; newer versions split nonScratchOrgs into the others.
_LISTS = ("nonScratchOrgs", "devHubs", "sandboxes", "regularOrgs", "other", "scratchOrgs")

Fail = Callable[..., OrgError]


@dataclass(frozen=True)
class SfAnswer:
    command: str  # as a person would type it, for messages
    returncode: int
    document: dict[str, Any]  # the JSON the CLI printed ({} when it printed none)

    @property
    def result(self) -> Any:
        return self.document.get("result")

    def error(self, fail: Fail, hint: str) -> OrgError:
        """The CLI's own refusal (its error name and message), or its exit status."""
        code = str(self.document.get("name") or "SF_CLI_FAILED")
        message = str(
            self.document.get("message") or f"exit status {self.returncode}, no JSON result"
        )
        return fail(f"`{self.command}` failed: {message}", code=code, hint=hint)


def run_sf(args: Sequence[str], environ: Mapping[str, str], fail: Fail = OrgError) -> SfAnswer:
    """Run ``sf ARGS`` found on the environment's PATH; ``fail`` words what stops it (not
    installed, hung, cannot start)."""
    command = " ".join(["sf", *args])
    executable = shutil.which("sf", path=environ.get("PATH", os.defpath))
    if executable is None:
        raise fail(
            "the Salesforce CLI (sf) is not on PATH",
            code="SF_CLI_NOT_FOUND",
            hint="install it (npm install --global @salesforce/cli) and log in to the org, or "
            "choose another auth method for this profile",
        )
    try:
        ran = subprocess.run(
            [executable, *args],
            capture_output=True,
            text=True,
            timeout=SF_TIMEOUT_SECONDS,
            env=dict(environ),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise fail(
            f"`{command}` did not finish in {SF_TIMEOUT_SECONDS} s",
            code="TIMEOUT",
            hint="run it yourself to see what it waits for",
        ) from None
    except OSError as exc:
        raise fail(
            f"cannot run {executable} ({exc.strerror})",
            code="SF_CLI_FAILED",
            hint="reinstall the Salesforce CLI",
        ) from None
    document = _sf_json(ran.stdout) or _sf_json(ran.stderr) or {}
    return SfAnswer(command, ran.returncode, document)


def _sf_json(text: str) -> dict[str, Any] | None:
    """The CLI's JSON document; it may be preceded by warnings on older versions."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class SfOrg:
    """An org the Salesforce CLI has authorized, as ``sf org list`` describes it."""

    alias: str | None
    username: str
    kind: str  # the sftk profile kind it suggests: sandbox, developer (scratch) or production
    instance_url: str | None


def list_orgs(environ: Mapping[str, str]) -> list[SfOrg]:
    """Every org ``sf org list --json`` knows, once each (by username)."""
    answer = run_sf(["org", "list", "--json"], environ)
    result = answer.result
    if answer.returncode != 0 or not isinstance(result, dict):
        raise answer.error(OrgError, "run `sf org list` yourself to see what it says")
    found: dict[str, SfOrg] = {}
    for key in _LISTS:
        entries = result.get(key)
        for entry in entries if isinstance(entries, list) else ():
            username = entry.get("username") if isinstance(entry, dict) else None
            if not isinstance(username, str) or username in found:
                continue
            alias = entry.get("alias")
            url = entry.get("instanceUrl")
            found[username] = SfOrg(
                alias if isinstance(alias, str) and alias else None,
                username,
                _kind(key, entry),
                url if isinstance(url, str) else None,
            )
    return sorted(found.values(), key=lambda o: (o.alias or "", o.username))


def _kind(listed_in: str, entry: dict[str, Any]) -> str:
    if listed_in == "scratchOrgs" or entry.get("isScratch") is True:
        return "developer"
    if listed_in == "sandboxes" or entry.get("isSandbox") is True:
        return "sandbox"
    return "production"  # the guarded kind, unless the CLI says otherwise
