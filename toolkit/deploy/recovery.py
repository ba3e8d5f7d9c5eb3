"""Snapshots, backups, retrieves into a folder and rollbacks as Python calls, one per command
a person types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit import fsio
from toolkit.deploy.commands import session
from toolkit.deploy.history import now
from toolkit.deploy.policy import DEFAULT_WAIT_MINUTES
from toolkit.deploy.records_at_risk import RecordsAtRisk, records_at_risk
from toolkit.deploy.rollback import RollbackReport, prepare_rollback, run_rollback
from toolkit.deploy.runner import ProgressHandler, options_for
from toolkit.deploy.snapshots import Snapshot, SnapshotOutcome, SnapshotStore, Source, make_snapshot
from toolkit.deploy.undo_history import UndoHistory, undo_history
from toolkit.errors import ConfigError, SnapshotInvalid, UsageError
from toolkit.metadata import formats, manifest, normalize
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.sfdx import SFDX_PROJECT
from toolkit.metadata.types import BY_NAME
from toolkit.project import Project
from toolkit.salesforce.auth import find_profile


@dataclass(frozen=True)
class SnapshotView:
    """A snapshot and what followed it, for listing and showing."""

    snapshot: Snapshot
    outcome: SnapshotOutcome


def list_snapshots(project: Project, org: str | None = None) -> list[SnapshotView]:
    store = SnapshotStore(project.config.state_dir)
    return [SnapshotView(s, store.outcome(s.id)) for s in store.all(org)]


def damaged_snapshots(project: Project) -> dict[str, str]:
    """Snapshots that fail a check (manifest signature, zips, components), with why."""
    return SnapshotStore(project.config.state_dir).damaged()


def show_snapshot(project: Project, snapshot_id: str) -> SnapshotView:
    """One snapshot, fully checked: manifest, zips and every component's hash."""
    store = SnapshotStore(project.config.state_dir)
    snapshot, _ = store.load(store.resolve(snapshot_id))
    return SnapshotView(snapshot, store.outcome(snapshot.id))


def backup(project: Project, org: str, *, types: Sequence[str] = ()) -> Snapshot:
    """Every component of ``types`` (all types sftk can restore when empty) the org lists,
    retrieved in batches and stored as one snapshot."""
    _check_types(types)
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
        return s.save_snapshot(snapshot, retrieved.zips)


@dataclass(frozen=True)
class RetrievedFolder:
    out: Path
    format: str
    files: tuple[MetadataFile, ...]
    components: tuple[ComponentRef, ...]


def retrieve(
    project: Project,
    org: str,
    out: Path,
    *,
    types: Sequence[str] = (),
    manifest_file: Path | None = None,
    output_format: str = "mdapi",
) -> RetrievedFolder:
    """The org's metadata in a folder: every component of ``types`` (all types sftk knows when
    empty and no manifest is given), or what a package.xml names (``*`` members listed),
    written in Metadata API or source format. ``out`` is replaced whole, so it must be new,
    empty, or an earlier retrieve or render."""
    _check_types(types)
    if types and manifest_file is not None:
        raise UsageError("--types and --manifest both say what to retrieve", hint="give one")
    named = [] if manifest_file is None else _manifest_members(manifest_file)
    _check_out(project, out)
    with session(project, org) as s:
        version = s.connection.api_version
        if manifest_file is not None:
            everything = sorted({r.type for r in named if r.full_name == "*"})
            refs = [r for r in named if r.full_name != "*"] + s.retriever.listed(everything)
        else:
            refs = s.retriever.listed(list(types) or s.retriever.retrievable_types())
        files = list(s.retriever.components(refs).files)
    components = manifest.components_of(files)
    files.append(MetadataFile("package.xml", manifest.package_xml(components, version)))
    if output_format == "source":
        files = formats.to_source(files, version)
    fsio.write_tree_atomically(files, out)
    return RetrievedFolder(out, output_format, tuple(files), tuple(components))


def _check_types(types: Sequence[str]) -> None:
    unknown = sorted(set(types) - set(BY_NAME))
    if unknown:
        raise UsageError(
            f"unknown metadata type {', '.join(unknown)}",
            hint=f"choose from: {', '.join(sorted(BY_NAME))}",
        )


def _manifest_members(path: Path) -> list[ComponentRef]:
    refs = manifest.listed(fsio.read_regular_file(path), str(path))
    if not refs:
        raise ConfigError(f"{path} names no components", hint="list <types> with <members>")
    _check_types(sorted({r.type for r in refs} - manifest.CHILD_TYPES))
    return refs


def _check_out(project: Project, out: Path) -> None:
    """Refuse a folder whose files a retrieve would destroy: it replaces ``out`` whole."""
    target = out.resolve()
    if target == project.config.root or target in project.config.root.parents:
        raise UsageError(
            f"{out} holds the project: a retrieve replaces its --out folder whole",
            hint="retrieve into a folder of its own, e.g. --out retrieved",
        )
    if not target.is_dir() or not any(target.iterdir()):
        return
    if (target / "package.xml").is_file() or (target / SFDX_PROJECT).is_file():
        return  # an earlier retrieve or render: metadata sftk wrote, written again
    raise UsageError(
        f"{out} is not empty and holds no package.xml or {SFDX_PROJECT}: a retrieve "
        "replaces its --out folder whole",
        hint="choose a new or empty folder, or one an earlier retrieve wrote",
    )


@dataclass(frozen=True)
class Confirmation:
    """What a rollback needs a person to agree to before it changes anything."""

    at_risk: tuple[RecordsAtRisk, ...]  # deletes that take records with them (--delete-data)
    undone_too: tuple[Snapshot, ...]  # later deploys it undoes as well (--yes)

    def __bool__(self) -> bool:
        return bool(self.at_risk or self.undone_too)


Confirm = Callable[[Confirmation], bool]


def rollback(
    project: Project,
    org: str,
    snapshot_id: str | None = None,
    *,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
    dry_run: bool = False,
    delete_data: bool = False,
    yes: bool = False,
    confirm: Confirm | None = None,
) -> RollbackReport:
    """Bring the org back to a snapshot (by default, the latest deploy still in effect) and
    verify it. ``dry_run`` works everything out and changes nothing. Deletes that would take
    records need ``delete_data``, and undoing later deploys too needs ``yes``; otherwise
    ``confirm`` is asked (a person at a terminal) and a refusal changes nothing."""
    store = SnapshotStore(project.config.state_dir)
    history = undo_history(store, org)
    chosen = _chosen(store, history, org, snapshot_id)
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
        prepared = prepare_rollback(
            chosen, store=store, retriever=s.retriever, connection=s.connection
        )
        undone_too = history.undone_too(prepared.snapshot)
        at_risk = records_at_risk(s.connection, prepared.plan.deletes, prepared.now)
        if dry_run:
            return prepared.dry_run(at_risk, undone_too)
        asked = Confirmation(
            () if delete_data else tuple(r for r in at_risk if r.holds_data),
            () if yes else undone_too,
        )
        if asked and not (confirm is not None and confirm(asked)):
            raise _refusal(prepared.snapshot, asked)
        result = run_rollback(
            prepared,
            store=store,
            retriever=s.retriever,
            deployer=s.deployer,
            connection=s.connection,
            options=options,
            created_at=now(),
            wait_minutes=wait_minutes,
            at_risk=at_risk,
            undone_too=undone_too,
        )
        ran = [step.report for step in result.steps if step.succeeded and step.report]
        if ran:
            snapshot = result.snapshot
            s.record("rollback", snapshot.package_hash or "", ran[-1].deploy_id, snapshot_id=chosen)
        return result


def _chosen(store: SnapshotStore, history: UndoHistory, org: str, wanted: str | None) -> str:
    if wanted is not None:
        return store.resolve(wanted)
    damaged = store.damaged()
    if damaged:  # it may be the latest deploy's: undoing an older one instead is worse
        raise SnapshotInvalid(
            f"snapshot {', '.join(d[:12] for d in damaged)} fails its integrity check, so "
            "sftk cannot tell which deploy is the latest"
        )
    latest = history.latest()
    if latest is None:
        raise UsageError(
            f"no deploy to {org} is left to undo: none is kept, or each one failed, was "
            "canceled or has been rolled back",
            hint=f"`sftk snapshots list --org {org}` shows every snapshot; `sftk rollback "
            f"--org {org} ID` rolls back to any of them",
        )
    return latest.id


def _refusal(snapshot: Snapshot, asked: Confirmation) -> UsageError:
    """Why a rollback did not run, and the switch that lets it."""
    reasons, switches = [], []
    if asked.at_risk:
        counts = "; ".join(f"{r.ref}: {r.detail}" for r in asked.at_risk)
        reasons.append(f"its deletes would take data with them ({counts})")
        switches.append("--delete-data to delete that data (export it first)")
    if asked.undone_too:
        later = "; ".join(
            f"{s.kind} of {s.created_at} (snapshot {s.short_id})" for s in asked.undone_too
        )
        reasons.append(f"it would also undo {len(asked.undone_too)} later deploy(s) ({later})")
        switches.append("--yes to undo them too")
    return UsageError(
        f"rollback to snapshot {snapshot.short_id} not run, nothing was changed: "
        + "; and ".join(reasons),
        hint="`--dry-run` shows every step; rerun with " + " and ".join(switches),
    )


def prune_snapshots(project: Project, keep: int, org: str | None = None) -> list[Snapshot]:
    """Remove all but the ``keep`` newest snapshots of each org (or of ``org``)."""
    if keep < 1:
        raise UsageError("--keep must be 1 or more", hint="keep at least the latest snapshot")
    return SnapshotStore(project.config.state_dir).prune(keep, org)
