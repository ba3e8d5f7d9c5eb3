"""Deploy ids remembered per org profile, so nobody copies an id by hand: ``resume``,
``report`` and ``cancel`` default to the latest deploy, ``quick`` to the latest successful
validation of the same package. Kept in the project's ``.sftk/deploys.json``, newest first,
written atomically; it holds ids, hashes and outcomes, never credentials."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError
from toolkit.fsio import atomic_write_bytes

HISTORY_FILE = "deploys.json"
KEEP = 50  # entries per org


@dataclass(frozen=True)
class DeployRecord:
    id: str
    org: str  # profile name
    check_only: bool
    package_hash: str
    submitted_at: str
    test_level: str
    status: str = "Pending"  # the org's DeployStatus, last seen
    outcome: str | None = None  # policy.Outcome value once known
    quick_deploy_of: str | None = None  # for a quick deploy: the validation it promoted
    sent_hash: str | None = None  # when only part of the package was sent: that part's hash


class DeployHistory:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / HISTORY_FILE

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: cannot read the deploy history ({exc})",
                hint="delete the file to start a new history; the org keeps its deploys",
            ) from None
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, list[dict[str, Any]]]) -> None:
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.path, text.encode("utf-8"))

    def records(self, org: str) -> list[DeployRecord]:
        known = {f.name for f in fields(DeployRecord)}
        return [
            DeployRecord(**{k: v for k, v in entry.items() if k in known})
            for entry in self._load().get(org, [])
        ]

    def add(self, record: DeployRecord) -> None:
        data = self._load()
        entries = [e for e in data.get(record.org, []) if e.get("id") != record.id]
        data[record.org] = [asdict(record), *entries][:KEEP]
        self._save(data)

    def update(self, org: str, deploy_id: str, *, status: str, outcome: str | None) -> None:
        for record in self.records(org):
            if record.id == deploy_id:
                self.add(replace(record, status=status, outcome=outcome))
                return

    def find(self, org: str, deploy_id: str) -> DeployRecord | None:
        return next((r for r in self.records(org) if r.id == deploy_id), None)

    def latest(self, org: str) -> DeployRecord | None:
        found = self.records(org)
        return found[0] if found else None

    def latest_validation(
        self, org: str, package_hash: str | None, outcome: str = "succeeded"
    ) -> DeployRecord | None:
        """The newest check-only deploy that ended with ``outcome`` (of ``package_hash`` when
        given)."""
        for record in self.records(org):
            if not record.check_only or record.outcome != outcome:
                continue
            if package_hash is None or record.package_hash == package_hash:
                return record
        return None


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
