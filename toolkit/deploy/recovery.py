"""Snapshots, backups and rollbacks as Python calls, one per command a person types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.deploy.commands import session
from toolkit.deploy.history import now
from toolkit.deploy.ledger import LedgerEntry, who
from toolkit.deploy.policy import DEFAULT_WAIT_MINUTES, Outcome
from toolkit.deploy.rollback import RollbackReport, roll_back
from toolkit.deploy.runner import ProgressHandler, options_for
from toolkit.deploy.snapshots import (
    Snapshot,
    SnapshotOutcome,
    SnapshotStore,
    Source,
    make_snapshot,
)
from toolkit.errors import SnapshotInvalid, UsageError
from toolkit.metadata import normalize
from toolkit.metadata.types import BY_NAME
from toolkit.project import Project
from toolkit.salesforce.auth import find_profile

UNDOABLE_KINDS = ("deploy", "quick")  # what `sftk rollback` undoes when no snapshot is named


@dataclass(frozen=True)
class SnapshotView:
    """A snapshot and what followed it, for listing and showing."""

    snapshot: Snapshot
    outcome: SnapshotOutcome


def list_snapshots(project: Project, org: str | None = None) -> list[SnapshotView]:
    store = SnapshotStore(project.config.state_dir)
    return [SnapshotView(s, store.outcome(s.id)) for s in store.all(org)]


def damaged_snapshots(project: Project) -> list[str]:
    return SnapshotStore(project.config.state_dir).damaged()


def show_snapshot(project: Project, snapshot_id: str) -> SnapshotView:
    """One snapshot, fully checked: manifest, zips and every component's hash."""
    store = SnapshotStore(project.config.state_dir)
    snapshot, _ = store.load(store.resolve(snapshot_id))
    return SnapshotView(snapshot, store.outcome(snapshot.id))


def backup(project: Project, org: str, *, types: Sequence[str] = ()) -> Snapshot:
    """Every component of ``types`` (all types sftk can restore when empty) the org lists,
    retrieved in batches and stored as one snapshot."""
    unknown = sorted(set(types) - set(BY_NAME))
    if unknown:
        raise UsageError(
            f"unknown metadata type {', '.join(unknown)}",
            hint=f"choose from: {', '.join(sorted(BY_NAME))}",
        )
    with session(project, org) as s:
        wanted = list(types) or s.retriever.retrievable_types()
        retrieved = s.retriever.components(s.retriever.listed(wanted))
        bodies = normalize.bodies(retrieved.files)
        snapshot = make_snapshot(
            kind="backup",
            source=Source.of(s.connection),
            api_version=s.connection.api_version,
            created_at=now(),
            package_hash=None,
            refs={ref: "keep" for ref in bodies},
            before=bodies,
            package_bodies={},
            zips=retrieved.zips,
        )
        s.save_snapshot(snapshot, retrieved.zips)
        return snapshot


def rollback(
    project: Project,
    org: str,
    snapshot_id: str | None = None,
    *,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> RollbackReport:
    """Bring the org back to a snapshot (the latest deploy's by default) and verify it."""
    store = SnapshotStore(project.config.state_dir)
    if snapshot_id is None:
        damaged = store.damaged()
        if damaged:  # it may be the latest deploy's: undoing an older one instead is worse
            raise SnapshotInvalid(
                f"snapshot {', '.join(d[:12] for d in damaged)} fails its integrity check, so "
                "sftk cannot tell which deploy is the latest"
            )
        latest = store.latest(org, UNDOABLE_KINDS)
        if latest is None:
            raise UsageError(
                f"no snapshot of a deploy to {org} is kept in this project",
                hint="snapshots are taken by `sftk deploy`; `sftk snapshots list` shows them",
            )
        chosen = latest.id
    else:
        chosen = store.resolve(snapshot_id)
    taken_on = store.manifest(chosen).org
    if taken_on != org:
        raise UsageError(
            f"snapshot {chosen[:12]} was taken on {taken_on}, not {org}",
            hint=f"roll it back with --org {taken_on}",
        )
    profile = find_profile(project.config, org)
    options = options_for(
        profile.kind, check_only=False, test_level=None, tests=(), ignore_warnings=False
    )
    with session(project, org, on_progress) as s:
        result = roll_back(
            chosen,
            store=store,
            retriever=s.retriever,
            deployer=s.deployer,
            connection=s.connection,
            options=options,
            created_at=now(),
            wait_minutes=wait_minutes,
        )
        for step in result.steps:
            if step.report is not None and step.report.outcome is Outcome.SUCCEEDED:
                record = s.deployer.history.find(org, step.report.deploy_id)
                s.ledger.add(
                    LedgerEntry(
                        org=org,
                        org_id=s.connection.org_id,
                        kind=s.connection.kind,
                        action="rollback",
                        package_hash=record.package_hash if record else "",
                        deploy_id=step.report.deploy_id,
                        at=now(),
                        who=who(),
                        username=s.connection.username,
                    )
                )
        return result
