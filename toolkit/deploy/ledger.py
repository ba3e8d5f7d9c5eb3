"""The promotion ledger: every successful validation and deploy of the project, and the rule
built on it that production only takes a package a sandbox has already taken.

Kept in the project's ``.sftk/ledger.json``, oldest first, written atomically. Entries are
never rewritten or removed by sftk; a forced production deploy records its reason. The rule
is keyed by the package's content hash, so it holds whatever folder or zip the package was
read from, and a package changed by one byte after the sandbox deploy is a new package.
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
ACTIONS = ("validate", "deploy", "quick", "rollback")
# Org kinds whose successful deploy proves a package for production.
PROVING_KINDS = ("sandbox", "developer", "local")
GUARDED_KINDS = ("production",)


@dataclass(frozen=True)
class LedgerEntry:
    org: str  # profile name
    org_id: str | None
    kind: str  # the profile's kind: production, sandbox, developer, local
    action: str  # one of ACTIONS
    package_hash: str
    deploy_id: str
    at: str
    who: str  # the person at the keyboard (OS user)
    username: str | None  # the org user sftk deployed as
    forced_reason: str | None = None  # --force --reason on a production deploy
    validation_id: str | None = None  # a quick deploy: the validation it deployed

    @property
    def proves(self) -> bool:
        return self.kind in PROVING_KINDS and self.action in ("deploy", "quick")


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


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

    def proof(self, package_hash: str, from_org: str | None = None) -> LedgerEntry | None:
        """The latest successful non-production deploy of ``package_hash`` (to ``from_org``
        when given)."""
        for entry in reversed(self.entries()):
            wanted_org = from_org is None or entry.org == from_org
            if entry.package_hash == package_hash and entry.proves and wanted_org:
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
    if ledger.proof(package_hash, from_org) is not None:
        return None
    where = f"to {from_org}" if from_org else "to a sandbox, developer or local org"
    if force:
        if not (reason and reason.strip()):
            raise UsageError(
                f"--force on the production org {profile.name} needs --reason",
                hint='say why, e.g. --reason "hotfix for INC-1234"; it is kept in the ledger',
            )
        return reason.strip()
    raise NotProven(
        f"{profile.name} is a production org, and this package ({package_hash[:12]}) was "
        f"never deployed successfully {where} from this project",
        hint="deploy it to a sandbox first (`sftk deploy --org SANDBOX`), then "
        "`sftk promote --from SANDBOX --to PRODUCTION`; or override with "
        '--force --reason "..."',
    )
