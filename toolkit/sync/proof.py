"""The sandbox-first rule for data: a plugin's first sync into a production org needs a
completed sync of it into a sandbox of the project, as recorded in the run history."""

from __future__ import annotations

from collections.abc import Sequence

from toolkit.errors import NotProven
from toolkit.sync.session import SyncSession

# Org kinds whose completed sync of a plugin opens production to it; a real production org
# takes only a real sandbox's run.
PROVING_KINDS = ("sandbox",)
LOCAL_PROVING_KINDS = ("sandbox", "developer", "local")


def require_sandbox_run(
    session: SyncSession, plugins: Sequence[str], force_reason: str | None
) -> str | None:
    """The sandbox-first rule for data: a plugin's first sync into a production org needs a
    completed sync of it into a sandbox of the project (a local production profile: into any
    local org). ``--force --reason`` overrides; the reason is kept with the run."""
    if session.conn.kind != "production":
        return None
    local = session.profile.auth == "local"
    kinds = LOCAL_PROVING_KINDS if local else PROVING_KINDS
    missing = []
    for plugin in plugins:
        runs = [
            r
            for r in session.state.runs()
            if plugin in r.plugins and r.status in ("succeeded", "partial")
        ]
        if any(r.org_id == session.org_id for r in runs):
            continue
        if not any(r.kind in kinds and (local or not r.local) for r in runs):
            missing.append(plugin)
    if not missing:
        return None
    if force_reason:
        return force_reason
    where = "a local sandbox, developer or local org" if local else "a real sandbox"
    raise NotProven(
        f"production org {session.conn.profile} has never had a sync of "
        + ", ".join(missing)
        + f", and no {where} of this project has either",
        hint="sync into a sandbox first (sftk sync --org SANDBOX), or pass --force "
        '--reason "why" to go ahead; the reason is kept with the run',
    )
