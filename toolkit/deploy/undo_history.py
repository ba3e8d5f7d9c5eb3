"""Which deploys are still in effect on an org, read from its snapshots and their outcomes:
what a plain ``sftk rollback`` undoes, and what rolling back to an older snapshot undoes too.

Walked in the order the snapshots were taken. A deploy or quick deploy that may have changed
the org (any outcome but failed or canceled, once it was submitted) goes on the stack. A
rollback that ran brings the org back to a snapshot, and so the stack back to what it was
when that snapshot was taken: rolling back a deploy undoes it and every later one; rolling
back a rollback's own snapshot (a redo) puts back what that rollback had undone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.deploy.snapshots import Snapshot, SnapshotStore

UNDOABLE_KINDS = ("deploy", "quick")  # what `sftk rollback` undoes when no snapshot is named
_NO_CHANGE = ("failed", "canceled")  # deploy outcomes that left the org as it was
_ROLLED_BACK = ("verified", "unverified")  # a rollback whose every step ran


@dataclass(frozen=True)
class UndoHistory:
    in_effect: tuple[Snapshot, ...]  # newest first
    taken_before: dict[str, tuple[Snapshot, ...]]  # snapshot id -> in effect when it was taken

    def latest(self) -> Snapshot | None:
        """The newest deploy still in effect: what a plain rollback undoes."""
        return next((s for s in self.in_effect if s.kind in UNDOABLE_KINDS), None)

    def undone_too(self, snapshot: Snapshot) -> tuple[Snapshot, ...]:
        """The deploys in effect that rolling back to ``snapshot`` undoes besides its own."""
        earlier = {s.id for s in self.taken_before.get(snapshot.id, ())}
        return tuple(s for s in self.in_effect if s.id not in earlier and s.id != snapshot.id)


def undo_history(store: SnapshotStore, org: str) -> UndoHistory:
    stack: tuple[Snapshot, ...] = ()
    taken_before: dict[str, tuple[Snapshot, ...]] = {}
    for snapshot in _in_order(store.all(org)):
        taken_before[snapshot.id] = stack
        outcome = store.outcome(snapshot.id)
        if snapshot.kind in UNDOABLE_KINDS:
            if outcome.deploy_ids and outcome.outcome not in _NO_CHANGE:
                stack = (*stack, snapshot)
        elif snapshot.kind == "rollback" and outcome.outcome in _ROLLED_BACK:
            stack = taken_before.get(snapshot.undoes or "", stack)
    return UndoHistory(tuple(reversed(stack)), taken_before)


def _in_order(snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    """Oldest first. Times have whole seconds, so within one second a rollback's snapshot
    goes after the snapshot it rolls back (and a redo after that rollback's)."""
    by_id = {s.id: s for s in snapshots}

    def depth(snapshot: Snapshot) -> int:
        steps = 0
        while snapshot.undoes in by_id and steps < len(by_id):
            snapshot = by_id[snapshot.undoes]
            steps += 1
        return steps

    return sorted(snapshots, key=lambda s: (s.created_at, depth(s), s.id))
