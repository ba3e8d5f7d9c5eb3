"""Undoing a deploy from its snapshot, as a person would do it by hand, then proving it worked.

1. Read the snapshot and refuse it unless its signature and every hash match.
2. Work out what to do from what the org has now: components that existed and differ now get
   their earlier version back; components the deploy created and that exist now are deleted.
   Deletes run in the order that keeps references valid (``policy.ROLLBACK_DELETE_ORDER``),
   one deploy per step; what the Metadata API cannot delete goes to a list for a person, with
   what to do. (``prepare_rollback``; a dry run stops here, and so does a caller that finds
   the deletes would take records nobody agreed to lose.)
3. When there is anything to do, take a snapshot of the same components as they are now, so
   the rollback can be undone, then deploy the steps (``run_rollback``).
4. Retrieve again and compare with the snapshot: "verified" only when every component is
   back as it was and everything new is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

from lxml import etree

from toolkit.deploy.package import DeployPackage
from toolkit.deploy.policy import ROLLBACK_DELETE_ORDER, STANDARD_COMPONENT, UNDELETABLE, Outcome
from toolkit.deploy.records_at_risk import RecordsAtRisk
from toolkit.deploy.retrieval import Retrieved, Retriever
from toolkit.deploy.runner import Deployer, DeployReport
from toolkit.deploy.snapshots import (
    Snapshot,
    SnapshotComponent,
    SnapshotOutcome,
    SnapshotStore,
    Source,
    make_snapshot,
)
from toolkit.errors import SftkError, UsageError
from toolkit.metadata import normalize, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.manifest import (
    CHILD_TYPES,
    ComponentRef,
    destructive_xml,
    empty_package_xml,
    package_xml,
)
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.results import DeployOptions


@dataclass(frozen=True)
class ManualStep:
    """Something the rollback cannot do through the Metadata API."""

    ref: ComponentRef
    why: str
    todo: str


@dataclass(frozen=True)
class RollbackStep:
    """One deploy of the rollback: earlier versions put back and/or components deleted.
    ``report`` is None for a step that did not run because an earlier one failed."""

    title: str
    restores: tuple[ComponentRef, ...] = ()
    deletes: tuple[ComponentRef, ...] = ()
    report: DeployReport | None = None

    @property
    def succeeded(self) -> bool:
        return self.report is not None and self.report.outcome is Outcome.SUCCEEDED


@dataclass(frozen=True)
class Mismatch:
    """A component the org does not have as the snapshot says it had."""

    ref: ComponentRef
    expected: str  # "as before" or "absent"
    found: str  # "absent", "different" or "present"


@dataclass(frozen=True)
class RollbackReport:
    snapshot: Snapshot
    # taken before the rollback (roll this back to undo it); None when nothing was changed:
    # nothing to undo, or a dry run
    own_snapshot: Snapshot | None
    steps: tuple[RollbackStep, ...]
    manual: tuple[ManualStep, ...]
    mismatches: tuple[Mismatch, ...]
    at_risk: tuple[RecordsAtRisk, ...] = ()  # what the deletes would take, counted first
    undone_too: tuple[Snapshot, ...] = ()  # later deploys this rollback also undoes
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        return not self.dry_run and any(not step.succeeded for step in self.steps)

    @property
    def verified(self) -> bool:
        return not self.dry_run and not self.failed and not self.mismatches


@dataclass(frozen=True)
class RollbackPlan:
    steps: tuple[RollbackStep, ...]
    manual: tuple[ManualStep, ...]

    @property
    def deletes(self) -> list[ComponentRef]:
        return [ref for step in self.steps for ref in step.deletes]

    def actions(self, refs: Sequence[ComponentRef]) -> dict[ComponentRef, str]:
        """What the rollback does to each of ``refs`` (for its own snapshot): ``deploy``,
        ``delete`` (children of a deleted object included) or ``keep``."""
        out = {ref: "keep" for ref in refs}
        for step in self.steps:
            out.update({ref: "deploy" for ref in step.restores})
            out.update({ref: "delete" for ref in step.deletes})
        gone = {r.full_name for r, a in out.items() if a == "delete" and r.type == "CustomObject"}
        out.update({ref: "delete" for ref in refs if _inside(ref, gone)})
        return out


@dataclass(frozen=True)
class PreparedRollback:
    """Everything worked out, nothing changed yet: the snapshot and its files, the org now,
    and the steps that bring the org back."""

    snapshot: Snapshot
    before: list[MetadataFile]
    current: Retrieved
    now: dict[ComponentRef, bytes]
    plan: RollbackPlan

    def dry_run(
        self, at_risk: tuple[RecordsAtRisk, ...], undone_too: tuple[Snapshot, ...]
    ) -> RollbackReport:
        """The report of this rollback as worked out, with nothing run."""
        steps, manual = self.plan.steps, self.plan.manual
        return RollbackReport(self.snapshot, None, steps, manual, (), at_risk, undone_too, True)


def prepare_rollback(
    snapshot_id: str, *, store: SnapshotStore, retriever: Retriever, connection: OrgConnection
) -> PreparedRollback:
    """Steps 1 and 3 of the module docstring: check the snapshot, retrieve, work out."""
    snapshot, before = store.load(snapshot_id)
    if snapshot.org_id and connection.org_id and snapshot.org_id != connection.org_id:
        raise UsageError(
            f"snapshot {snapshot.short_id} was taken of org {snapshot.org_id}; profile "
            f"{connection.profile} connects to org {connection.org_id}",
            hint=f"roll back on the org the snapshot came from (profile {snapshot.org})",
        )
    current = retriever.components([c.ref for c in snapshot.components])
    now = normalize.bodies(current.files)
    plan = plan_rollback(snapshot, now, normalize.bodies(before))
    return PreparedRollback(snapshot, before, current, now, plan)


def run_rollback(
    prepared: PreparedRollback,
    *,
    store: SnapshotStore,
    retriever: Retriever,
    deployer: Deployer,
    connection: OrgConnection,
    options: DeployOptions,
    created_at: str,
    wait_minutes: float,
    at_risk: tuple[RecordsAtRisk, ...] = (),
    undone_too: tuple[Snapshot, ...] = (),
) -> RollbackReport:
    """Steps 2 and 4 of the module docstring, then the proof. A rollback with nothing to do
    sends nothing and stores no snapshot of its own."""
    snapshot, plan = prepared.snapshot, prepared.plan
    if not plan.steps:
        found = tuple(mismatches(snapshot, prepared.now))
        return RollbackReport(snapshot, None, (), plan.manual, found, at_risk, undone_too)
    refs = [c.ref for c in snapshot.components]
    own = store.save(
        make_snapshot(
            kind="rollback",
            source=Source.of(connection),
            api_version=snapshot.api_version,
            created_at=created_at,
            package_hash=None,
            refs=plan.actions(refs),
            before=prepared.now,
            package_bodies=normalize.bodies(prepared.before),
            zips=prepared.current.zips,
            undoes=snapshot.id,
        ),
        prepared.current.zips,
        secrets=[connection.access_token],
    )
    steps: list[RollbackStep] = []
    try:
        for step in plan.steps:
            if steps and not steps[-1].succeeded:
                steps.append(step)
                continue
            package = step_package(
                step, prepared.before, snapshot.api_version, f"rollback {snapshot.short_id}"
            )
            report = deployer.deploy(package, options, wait_minutes=wait_minutes)
            steps.append(replace(step, report=report))
        after = normalize.bodies(retriever.components(refs).files)
    except SftkError as exc:
        _stopped(exc, snapshot, own, plan.steps, steps)
        with suppress(SftkError):
            ids = tuple(s.report.deploy_id for s in steps if s.report and s.report.deploy_id)
            store.record(own.id, SnapshotOutcome(ids, "failed", created_at))
        raise
    ran = [s.report for s in steps if s.report is not None]
    result = RollbackReport(
        snapshot,
        own,
        tuple(steps),
        plan.manual,
        tuple(mismatches(snapshot, after)),
        at_risk,
        undone_too,
    )
    store.record(
        own.id,
        SnapshotOutcome(
            deploy_ids=tuple(r.deploy_id for r in ran if r.deploy_id),
            outcome="verified" if result.verified else "failed" if result.failed else "unverified",
            updated_at=created_at,
        ),
    )
    return result


def _stopped(
    exc: SftkError,
    snapshot: Snapshot,
    own: Snapshot,
    planned: Sequence[RollbackStep],
    done: Sequence[RollbackStep],
) -> None:
    """A rollback stopped by an error between its steps: which ran, which did not, and how
    to carry on (a rollback works out its steps from the org as it is, so running it again
    does what is left)."""
    if len(done) < len(planned):
        where = f"at step {len(done) + 1} of {len(planned)}"
    else:
        where = f"after its {len(planned)} step(s), before it could verify the org"
    lines = [f"rollback to snapshot {snapshot.short_id} stopped {where}:"]
    for number, step in enumerate(planned, start=1):
        if number <= len(done):
            report = done[number - 1].report
            state = "not run" if report is None else report.outcome.value
        elif number == len(done) + 1:
            state = "stopped by the error above"
        else:
            state = "not run"
        lines.append(f"  step {number}, {step.title}: {state}")
    exc.add_context(
        "\n  ".join(lines),
        hint=f"{continue_rollback(snapshot)}; snapshot {own.short_id} holds what the org had "
        "before this rollback",
    )


def continue_rollback(snapshot: Snapshot) -> str:
    """How to finish a rollback that stopped part-way: run it again, as it works out its
    steps from what the org has now."""
    return (
        f"fix what failed, then `sftk rollback --org {snapshot.org} {snapshot.short_id}` works "
        "out from the org what is left to do and does it (`--dry-run` shows it first)"
    )


def plan_rollback(
    snapshot: Snapshot,
    now: Mapping[ComponentRef, bytes],
    before: Mapping[ComponentRef, bytes] | None = None,
) -> RollbackPlan:
    """The steps that bring ``snapshot``'s components back, given the org's bodies ``now``
    (and the snapshot's own bodies ``before``: an object that is gone comes back whole)."""
    restores: list[ComponentRef] = []
    deletes: list[ComponentRef] = []
    manual: list[ManualStep] = []
    for component in snapshot.components:
        body = now.get(component.ref)
        if component.existed:
            if body is None or normalize.digest(body) != component.sha256:
                restores.append(component.ref)
        elif component.new and body is not None:
            cannot = _undeletable(component)
            if cannot is None:
                deletes.append(component.ref)
            else:
                manual.append(ManualStep(component.ref, *cannot))
    restores.extend(_children_of_gone_objects(restores, now, before or {}))
    deleted_objects = {r.full_name for r in deletes if r.type == "CustomObject"}
    deletes = [r for r in deletes if not _inside(r, deleted_objects)]
    later = [r for r in deletes if r.type in ROLLBACK_DELETE_ORDER]
    first = [r for r in deletes if r.type not in ROLLBACK_DELETE_ORDER]
    steps: list[RollbackStep] = []
    if restores or first:
        title = ", ".join(
            what
            for what, wanted in (
                ("restore earlier versions", restores),
                ("delete new components that refer to fields or objects", first),
            )
            if wanted
        )
        steps.append(RollbackStep(title, tuple(sorted(set(restores))), tuple(first)))
    for type_name in ROLLBACK_DELETE_ORDER:
        group = [r for r in later if r.type == type_name]
        if type_name == "CustomObject":
            levels = _object_levels(group, now)
            for number, level in enumerate(levels):
                steps.append(
                    RollbackStep(_objects_title(number, len(levels)), deletes=tuple(level))
                )
        elif group:
            steps.append(RollbackStep(f"delete new {type_name} components", deletes=tuple(group)))
    return RollbackPlan(tuple(steps), tuple(manual))


def _objects_title(number: int, levels: int) -> str:
    """Objects go in several steps when new objects look each other up: say which is which."""
    if levels == 1:
        return "delete new objects"
    if number == 0:
        return "delete new objects that no other new object looks up"
    return "delete new objects that the objects deleted before looked up"


def step_package(
    step: RollbackStep, before: Sequence[MetadataFile], api_version: str, origin: str
) -> DeployPackage:
    """The deploy of one step: earlier versions from the snapshot's files, and a delete
    manifest processed after them, so that restored layouts no longer name what goes."""
    files = list(normalize.subset(before, step.restores))
    if step.restores:
        files.append(MetadataFile("package.xml", package_xml(step.restores, api_version)))
        if step.deletes:
            files.append(MetadataFile("destructiveChangesPost.xml", destructive_xml(step.deletes)))
    else:
        files.append(MetadataFile("package.xml", empty_package_xml(api_version)))
        files.append(MetadataFile("destructiveChanges.xml", destructive_xml(step.deletes)))
    return DeployPackage(tuple(sorted(files, key=lambda f: f.path)), origin)


def mismatches(snapshot: Snapshot, now: Mapping[ComponentRef, bytes]) -> list[Mismatch]:
    """Where the org differs from the snapshot: the rollback's proof, empty when verified."""
    out: list[Mismatch] = []
    for component in snapshot.components:
        body = now.get(component.ref)
        if component.existed:
            if body is None:
                out.append(Mismatch(component.ref, "as before", "absent"))
            elif normalize.digest(body) != component.sha256:
                out.append(Mismatch(component.ref, "as before", "different"))
        elif body is not None:
            out.append(Mismatch(component.ref, "absent", "present"))
    return out


def _undeletable(component: SnapshotComponent) -> tuple[str, str] | None:
    if component.type in UNDELETABLE:
        return UNDELETABLE[component.type]
    name = component.full_name.rpartition(".")[2]
    if component.type in ("CustomObject", "CustomField") and "__" not in name:
        return STANDARD_COMPONENT
    return None


def _children_of_gone_objects(
    restores: Sequence[ComponentRef],
    now: Mapping[ComponentRef, bytes],
    before: Mapping[ComponentRef, bytes],
) -> list[ComponentRef]:
    """An object restored because it is gone comes back with every child it had."""
    gone = {r.full_name for r in restores if r.type == "CustomObject" and r not in now}
    return [ref for ref in before if _inside(ref, gone)]


def _inside(ref: ComponentRef, objects: set[str]) -> bool:
    """A child (field, list view ...) of an object that is deleted whole: it goes with it."""
    return ref.type in CHILD_TYPES and ref.full_name.partition(".")[0] in objects


def _object_levels(
    objects: Sequence[ComponentRef], now: Mapping[ComponentRef, bytes]
) -> list[list[ComponentRef]]:
    """New objects in delete order: an object whose lookups point at another object being
    deleted goes in an earlier step than that object. A cycle goes in one step."""
    names = {ref.full_name for ref in objects}
    points_at: dict[str, set[str]] = {name: set() for name in names}
    for ref, body in now.items():
        parent = ref.full_name.partition(".")[0]
        if ref.type == "CustomField" and parent in names:
            points_at[parent].update(_references(body) & names - {parent})
    levels: list[list[ComponentRef]] = []
    left = set(names)
    while left:
        wanted_by_others = {target for name in left for target in points_at[name]}
        level = sorted(left - wanted_by_others) or sorted(left)
        levels.append([ComponentRef("CustomObject", name) for name in level])
        left -= set(level)
    return levels


def _references(field_body: bytes) -> set[str]:
    root = xmlsafe.parse(field_body, "field")
    return {(e.text or "").strip() for e in root.iter(etree.QName(METADATA_NS, "referenceTo").text)}
