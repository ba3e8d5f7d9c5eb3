"""Plans, snapshots, rollbacks, promotions and the ledger as JSON (stable keys, for machines)
and as plain lines (for people; the CLI adds colour)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from toolkit.deploy.commands import DeployRun
from toolkit.deploy.ledger import LedgerEntry
from toolkit.deploy.plan import Plan
from toolkit.deploy.policy import Outcome
from toolkit.deploy.promotion import PromoteRun
from toolkit.deploy.recovery import SnapshotView
from toolkit.deploy.report_text import report_json, report_lines
from toolkit.deploy.rollback import RollbackReport, continue_rollback
from toolkit.deploy.runner import DeployReport
from toolkit.deploy.snapshots import Snapshot
from toolkit.metadata.changes import Status

# --- plans -------------------------------------------------------------------------------------


DRIFT = "in the org, not in the project"


def plan_counts(plan: Plan) -> dict[str, int]:
    return {status.value: plan.count(status) for status in Status}


def plan_json(plan: Plan, with_diff: bool = False) -> dict[str, Any]:
    return {
        "counts": plan_counts(plan),
        "drift": [str(ref) for ref in plan.drift],
        "components": [
            {
                "component": str(c.ref),
                "status": c.status.value,
                **({"diff": c.diff()} if with_diff else {}),
            }
            for c in plan.changes
        ],
    }


def plan_lines(plan: Plan, with_diff: bool = False) -> list[str]:
    lines = []
    for change in plan.changes:
        lines.append(f"{change.status.value:14} {change.ref}")
        if with_diff and change.status is Status.CHANGED:
            lines.extend(f"    {line}" for line in change.diff().splitlines())
    lines.extend(f"{DRIFT:14} {ref}" for ref in plan.drift)
    lines.append(plan_summary(plan))
    if plan.drift:
        lines.append(
            f"{len(plan.drift)} component(s) of the project's objects are {DRIFT}: sftk "
            "deletes none of them; list them in [deletions] of sftk.toml to delete them"
        )
    return lines


def plan_summary(plan: Plan) -> str:
    counts = plan_counts(plan)
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    return "plan: " + (", ".join(parts) if parts else "the package holds no components")


# --- deploys with their snapshot ----------------------------------------------------------------


def deploy_run_json(run: DeployRun) -> dict[str, Any]:
    """A deploy's JSON: the report's keys, plus what changed and the snapshot taken."""
    if run.report is not None:
        data = report_json(run.report)
    else:
        data = {"deploy_id": None, "outcome": "unchanged", "exit_code": 0, "result": None}
    data["changes"] = None if run.plan is None else plan_counts(run.plan)
    data["snapshot"] = None if run.snapshot is None else run.snapshot.id
    data["proof"] = None if run.proof is None else asdict(run.proof)
    data["left_out"] = [str(ref) for ref in run.left_out]
    return data


def deploy_run_lines(run: DeployRun) -> list[str]:
    if run.report is None:
        assert run.plan is not None
        lines = [
            f"nothing to deploy: the org already has every component of this package "
            f"({plan_summary(run.plan).removeprefix('plan: ')})",
            "--force deploys it anyway",
        ]
        if run.proof is not None:
            lines.append(
                f"the ledger records that sandbox {run.proof.org} holds package "
                f"{run.proof.package_hash[:12]}: production may take it (`sftk promote --from "
                f"{run.proof.org} --to PRODUCTION`)"
            )
        return lines
    lines = report_lines(run.report)
    if run.left_out:
        lines.append(
            "left out of the delete manifest, as the org does not have them: "
            + ", ".join(str(ref) for ref in run.left_out)
        )
    if run.plan is not None:
        lines.append(_changes_line(run.report, run.plan))
    if run.snapshot is not None:
        lines.append(
            f"snapshot {run.snapshot.short_id} holds what the org had before; "
            f"`sftk rollback --org {run.report.org}` undoes this deploy"
        )
    return lines


def _changes_line(report: DeployReport, plan: Plan) -> str:
    """What the deploy did to the org, in the plan's counts (the plan was made before it)."""
    counts = plan_summary(plan).removeprefix("plan: ")
    if report.outcome in (Outcome.SUCCEEDED, Outcome.COVERAGE_MISS):
        return f"changed in the org: {counts}"
    if report.outcome in (Outcome.FAILED, Outcome.CANCELED):
        return f"nothing changed in the org; the package holds: {counts}"
    return f"the package holds: {counts}"


# --- snapshots ----------------------------------------------------------------------------------


def snapshot_json(view: SnapshotView, with_components: bool = True) -> dict[str, Any]:
    snapshot = view.snapshot
    data = asdict(snapshot)
    data["new"] = sum(1 for c in snapshot.components if c.new)
    data["outcome"] = asdict(view.outcome)
    if not with_components:
        del data["components"]
    return data


def snapshot_row(view: SnapshotView) -> str:
    s = view.snapshot
    new = sum(1 for c in s.components if c.new)
    deploys = ", ".join(view.outcome.deploy_ids) or "-"
    undoes = f", undoes {s.undoes[:12]}" if s.undoes else ""
    return (
        f"{s.short_id}  {s.created_at}  {s.kind:8} {s.org}: {len(s.components)} components "
        f"({new} new{undoes}); {view.outcome.outcome}; deploys {deploys}"
    )


def snapshot_lines(view: SnapshotView) -> list[str]:
    s = view.snapshot
    lines = [
        f"snapshot {s.id}",
        f"  kind {s.kind}, taken {s.created_at} of {s.org} (org {s.org_id or '?'}, user "
        f"{s.username or '?'}, {s.org_kind}), API {s.api_version}",
        f"  zips: {', '.join(f'{z.sha256[:12]} ({z.size:,} bytes)' for z in s.zips) or 'none'}",
    ]
    if s.package_hash:
        lines.append(f"  package {s.package_hash}")
    if s.undoes:
        lines.append(f"  taken before rolling back snapshot {s.undoes[:12]}")
    deploys = ", ".join(view.outcome.deploy_ids) or "none yet"
    lines.append(f"  followed by: {view.outcome.outcome} (deploys {deploys})")
    for c in s.components:
        state = "new" if c.new else f"{c.size:,} bytes" if c.existed else "absent"
        lines.append(f"  {c.action:6} {c.ref}: {state}")
    return lines


def backup_lines(snapshot: Snapshot) -> list[str]:
    total = sum(c.size or 0 for c in snapshot.components)
    return [
        f"backup {snapshot.short_id} of {snapshot.org}: {len(snapshot.components)} components, "
        f"{total:,} bytes of metadata in {len(snapshot.zips)} zip(s)",
        f"`sftk snapshots show {snapshot.short_id}` lists them; `sftk rollback --org "
        f"{snapshot.org} {snapshot.short_id}` restores what changed since",
    ]


# --- rollbacks ----------------------------------------------------------------------------------


def rollback_json(report: RollbackReport) -> dict[str, Any]:
    own = report.own_snapshot
    return {
        "snapshot": report.snapshot.id,
        "rollback_snapshot": None if own is None else own.id,
        "dry_run": report.dry_run,
        "verified": report.verified,
        "failed": report.failed,
        "next": continue_rollback(report.snapshot) if report.failed else None,
        "steps": [
            {
                "title": step.title,
                "restores": [str(r) for r in step.restores],
                "deletes": [str(r) for r in step.deletes],
                "deploy": None if step.report is None else report_json(step.report),
            }
            for step in report.steps
        ],
        "manual": [{"component": str(m.ref), "why": m.why, "todo": m.todo} for m in report.manual],
        "mismatches": [
            {"component": str(m.ref), "expected": m.expected, "found": m.found}
            for m in report.mismatches
        ],
        "records_at_risk": [
            {"component": str(r.ref), "records": r.records, "detail": r.detail}
            for r in report.at_risk
        ],
        "undoes_too": [
            {"snapshot": s.id, "kind": s.kind, "created_at": s.created_at}
            for s in report.undone_too
        ],
    }


def rollback_lines(report: RollbackReport) -> list[str]:
    short = report.snapshot.short_id
    if report.dry_run:
        head = f"rollback to snapshot {short}, dry run: nothing was changed"
    elif report.verified:
        head = f"rollback to snapshot {short} verified: the org matches the snapshot"
    elif report.failed:
        head = f"rollback to snapshot {short} FAILED"
    else:
        head = f"rollback to snapshot {short} NOT verified: the org differs from the snapshot"
    lines = [head]
    if not report.steps:
        lines.append("nothing to undo: the org already matched the snapshot")
    for step in report.steps:
        what = []
        if step.restores:
            what.append(f"{len(step.restores)} restored")
        if step.deletes:
            what.append(f"{len(step.deletes)} deleted")
        if report.dry_run:
            lines.append(f"- would {step.title} ({', '.join(what)})")
            lines.extend(f"    restore {ref}" for ref in step.restores)
            lines.extend(f"    delete  {ref}" for ref in step.deletes)
            continue
        if step.report is None:
            lines.append(f"- {step.title} ({', '.join(what)}): not run")
            continue
        lines.append(f"- {step.title} ({', '.join(what)}): {step.report.outcome.value}")
        if not step.succeeded:
            lines.extend(f"    {line}" for line in report_lines(step.report))
    for risk in report.at_risk:
        if report.dry_run:
            lines.append(f"data: {risk.ref}: {risk.detail}")
        elif risk.holds_data and report.own_snapshot is not None:
            lines.append(f"data deleted: {risk.ref}: {risk.detail}")
    for later in report.undone_too:
        lines.append(
            f"also undoes: the {later.kind} of {later.created_at} (snapshot {later.short_id})"
        )
    for manual in report.manual:
        lines.append(f"by hand: {manual.ref}: {manual.why}; {manual.todo}")
    for mismatch in report.mismatches:
        lines.append(
            f"differs: {mismatch.ref}: expected {mismatch.expected}, found {mismatch.found}"
        )
    own = report.own_snapshot
    if own is not None:
        lines.append(
            f"snapshot {own.short_id} holds what the org had before this rollback; "
            f"`sftk rollback --org {own.org} {own.short_id}` undoes it"
        )
    if report.failed:
        lines.append(f"to carry on: {continue_rollback(report.snapshot)}")
    return lines


# --- promotions and the ledger ------------------------------------------------------------------


def promote_json(run: PromoteRun) -> dict[str, Any]:
    return {
        "from": run.source,
        "to": run.target,
        "proof": asdict(run.proof),
        "validation_id": run.validation_id,
        "validation": None if run.validation is None else deploy_run_json(run.validation),
        "deploy": None if run.deploy is None else deploy_run_json(run.deploy),
    }


def promote_lines(run: PromoteRun) -> list[str]:
    lines = [proof_line(run.proof)]
    if run.validation is not None:
        lines.extend(deploy_run_lines(run.validation))
    if run.deploy is not None:
        lines.extend(deploy_run_lines(run.deploy))
    elif run.validation is not None and _succeeded(run.validation):
        lines.append(
            f"validation {run.validation_id} is ready: `sftk promote --from {run.source} "
            f"--to {run.target} --validation-id {run.validation_id}` deploys it"
        )
    return lines


def _succeeded(run: DeployRun) -> bool:
    return run.report is not None and run.report.outcome is Outcome.SUCCEEDED


def proof_line(proof: LedgerEntry) -> str:
    if proof.action == "verify":
        return (
            f"{proof.org} holds this package: every component found as packaged on {proof.at} "
            f"(by {proof.who})"
        )
    return f"{proof.org} took this package on {proof.at} (deploy {proof.deploy_id}, by {proof.who})"


def ledger_lines(entries: list[LedgerEntry]) -> list[str]:
    lines = []
    for e in entries:
        forced = f" FORCED: {e.forced_reason}" if e.forced_reason else ""
        what = e.deploy_id or "held: every component found as packaged"
        if e.snapshot_id:
            what += f", back to snapshot {e.snapshot_id[:12]}"
        lines.append(
            f"{e.at}  {e.action:8} {e.org} ({e.kind})  package {e.package_hash[:12]}  "
            f"{what}  by {e.who}{forced}"
        )
    return lines or ["the ledger is empty: nothing was validated or deployed from this project"]
