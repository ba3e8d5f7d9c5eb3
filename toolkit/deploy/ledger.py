"""The promotion ledger: every successful validation and deploy of the project, and the rule
built on it that production only takes a package a sandbox has already taken.

Kept in the project's ``.sftk/ledger.json``, oldest first, written atomically. Entries are
never rewritten or removed by sftk; a forced production deploy records its reason. The rule
is keyed by the package's content hash, so it holds whatever folder or zip the package was
read from, and a package changed by one byte after the sandbox deploy is a new package.

What proves a package: a successful deploy or quick deploy to a ``sandbox`` profile whose org
said it was a sandbox (``Organization.IsSandbox``) at the time, or a ``verify`` entry: sftk
retrieved the package's components from such a sandbox and found every one as packaged (the
sandbox already had the package, or a fresh checkout has no ledger). A proof from a local org
(``auth = "local"``) opens only a local production profile: a rehearsal is not a test of the
customer's sandbox.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from toolkit.config import OrgProfile
from toolkit.errors import ConfigError, NotProven, UsageError
from toolkit.fsio import atomic_write_bytes

LEDGER_FILE = "ledger.json"
# verify: no deploy; the sandbox was found holding every component of the package as packaged
ACTIONS = ("validate", "deploy", "quick", "rollback", "verify")
PROVING_ACTIONS = ("deploy", "quick", "verify")
PROVING_KINDS = ("sandbox",)  # profile kinds whose org may prove a package for production
GUARDED_KINDS = ("production",)


@dataclass(frozen=True)
class LedgerEntry:
    org: str  # profile name
    org_id: str | None
    kind: str  # the profile's kind: production, sandbox, developer, local
    action: str  # one of ACTIONS
    package_hash: str  # rollback: the package of the deploy it undid
    deploy_id: str  # "" for verify; rollback: the last deploy of its steps
    at: str
    who: str  # the person at the keyboard (OS user)
    username: str | None  # the org user sftk deployed as
    forced_reason: str | None = None  # --force --reason on a production deploy
    validation_id: str | None = None  # a quick deploy: the validation it deployed
    org_is_sandbox: bool | None = None  # what the org's Organization.IsSandbox said (None: unasked)
    local: bool = False  # the profile is one of sftk's local orgs (auth = "local")
    snapshot_id: str | None = None  # rollback: the snapshot the org was brought back to

    @property
    def proves(self) -> bool:
        return (
            self.kind in PROVING_KINDS
            and self.action in PROVING_ACTIONS
            and self.org_is_sandbox is True
        )


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def is_local(profile: OrgProfile) -> bool:
    return profile.auth == "local"


class Ledger:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LEDGER_FILE

    def entries(self) -> list[LedgerEntry]:
        if not self.path.exists():
            return []
        known = {f.name for f in fields(LedgerEntry)}
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
            return [LedgerEntry(**{k: v for k, v in e.items() if k in known}) for e in data]
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"{self.path}: the promotion ledger cannot be read ({exc})",
                hint="restore it from version control or a backup; production deploys need it",
            ) from None

    def add(self, entry: LedgerEntry) -> None:
        data = [asdict(e) for e in self.entries()] + [asdict(entry)]
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        atomic_write_bytes(self.path, text.encode("utf-8"))

    def proof(
        self, package_hash: str, from_org: str | None = None, *, for_local: bool = True
    ) -> LedgerEntry | None:
        """The latest entry proving ``package_hash`` (from ``from_org`` when given) for a
        production profile; ``for_local=False`` (a real production org) leaves out proofs
        from local orgs."""
        for entry in reversed(self.entries()):
            wanted_org = from_org is None or entry.org == from_org
            wanted_place = for_local or not entry.local
            if entry.package_hash == package_hash and entry.proves and wanted_org and wanted_place:
                return entry
        return None

    def validation(self, org: str, validation_id: str) -> LedgerEntry | None:
        for entry in reversed(self.entries()):
            if entry.org == org and entry.action == "validate" and entry.deploy_id == validation_id:
                return entry
        return None


def require_proof(
    ledger: Ledger,
    profile: OrgProfile,
    package_hash: str,
    *,
    force: bool = False,
    reason: str | None = None,
    from_org: str | None = None,
) -> str | None:
    """Check the sandbox-first rule for a deploy or validation to ``profile``.

    Returns the reason to record when the rule is overridden (None when it holds or does not
    apply); raises ``NotProven`` when it refuses."""
    if profile.kind not in GUARDED_KINDS:
        return None
    if ledger.proof(package_hash, from_org, for_local=is_local(profile)) is not None:
        return None
    if force:
        if not (reason and reason.strip()):
            raise UsageError(
                f"--force on the production org {profile.name} needs --reason",
                hint='say why, e.g. --reason "hotfix for INC-1234"; it is kept in the ledger',
            )
        return reason.strip()
    why = _no_proof(ledger, package_hash, from_org)
    raise NotProven(
        f"{profile.name} is a production org, and {why}",
        hint="deploy it to a sandbox first (`sftk deploy --org SANDBOX`, which also records "
        "that a sandbox already holds it), then `sftk promote --from SANDBOX --to "
        'PRODUCTION`; or override with --force --reason "..."',
    )


def _no_proof(ledger: Ledger, package_hash: str, from_org: str | None) -> str:
    """Why no entry proves the package, in the words the person needs."""
    short = package_hash[:12]
    where = from_org or "a sandbox of this project"
    local_only = ledger.proof(package_hash, from_org, for_local=True)
    if local_only is not None:
        return (
            f"this package ({short}) was proven only on the local org {local_only.org}; a real "
            "production org needs a proof from a real sandbox"
        )
    return f"this package ({short}) was never deployed successfully to {where}"
