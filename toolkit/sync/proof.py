"""The sandbox-first rule for data, as deploys have it: a plugin's first sync into a production
org needs a completed sync of it into a sandbox of the project, as recorded in the run history.
What proves is a run into an org of kind ``sandbox`` that said it was one when asked
(``Organization.IsSandbox``); a real production org takes only a real sandbox's run, a local
production profile (``rehearsal-prod``) a local sandbox's too."""

from __future__ import annotations

from collections.abc import Sequence

from toolkit.errors import NotProven
from toolkit.salesforce import records as sf_records
from toolkit.sync.session import SyncSession

PROVING_KIND = "sandbox"
PROVING_STATUSES = ("succeeded", "partial")  # the run went to its end (dead letters allowed)


def org_is_sandbox(session: SyncSession) -> bool:
    """What the org says of itself, not what the profile says of it. Asked only where the
    answer can prove something (a sandbox profile's run); other runs prove nothing anyway."""
    if session.conn.kind != PROVING_KIND:
        return False
    rows = sf_records.query(session.sf, "SELECT IsSandbox FROM Organization")
    return bool(rows and rows[0].get("IsSandbox"))


def require_sandbox_run(
    session: SyncSession, plugins: Sequence[str], force_reason: str | None
) -> str | None:
    """``--force --reason`` overrides; the reason is kept with the run (returned here)."""
    if session.conn.kind != "production":
        return None
    local = session.profile.auth == "local"
    missing = []
    for plugin in plugins:
        runs = [
            r for r in session.state.runs() if plugin in r.plugins and r.status in PROVING_STATUSES
        ]
        if any(r.org_id == session.org_id for r in runs):
            continue  # this production org has had the plugin's data before
        proving = [
            r
            for r in runs
            if r.kind == PROVING_KIND and r.org_is_sandbox and (local or not r.local)
        ]
        if not proving:
            missing.append(plugin)
    if not missing:
        return None
    if force_reason:
        return force_reason
    where = "sandbox" if local else "real sandbox (a local org proves only a local production)"
    raise NotProven(
        f"production org {session.conn.profile} has never had a sync of "
        + ", ".join(missing)
        + f", and no {where} of this project has either",
        hint="sync into a sandbox first (sftk sync --org SANDBOX), or pass --force "
        '--reason "why" to go ahead; the reason is kept with the run',
    )
