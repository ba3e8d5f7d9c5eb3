"""Promotion: production receives what a sandbox already took, in one command.

The steps a careful consultant takes by hand: check that the package went to the sandbox,
validate it on production with the tests, and, when that validation passed the org and the
coverage gate, quick-deploy exactly that validation, taking the snapshot first. The
validation can be run ahead of a change window (``check_only``) and promoted later by its id.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.deploy import commands, package
from toolkit.deploy.ledger import PROVING_KINDS, Ledger, LedgerEntry
from toolkit.deploy.policy import DEFAULT_WAIT_MINUTES, Outcome
from toolkit.deploy.runner import ProgressHandler
from toolkit.errors import NotProven, UsageError
from toolkit.project import Project
from toolkit.salesforce.auth import find_profile

PROMOTION_TEST_LEVEL = "RunLocalTests"


@dataclass(frozen=True)
class PromoteRun:
    source: str
    target: str
    proof: LedgerEntry  # the sandbox deploy that allows the promotion
    validation: commands.DeployRun | None  # None when an earlier validation is promoted
    deploy: commands.DeployRun | None  # None with check_only or after a failed validation
    validation_id: str | None


def promote(
    project: Project,
    source: str,
    target: str,
    *,
    validation_id: str | None = None,
    check_only: bool = False,
    test_level: str | None = None,
    tests: tuple[str, ...] = (),
    skip_preflight: bool = False,
    wait_minutes: float = DEFAULT_WAIT_MINUTES,
    on_progress: ProgressHandler | None = None,
) -> PromoteRun:
    if source == target:
        raise UsageError("--from and --to name the same org", hint="promote from a sandbox")
    if find_profile(project.config, source).kind not in PROVING_KINDS:
        raise UsageError(
            f"--from {source} is not a sandbox, developer or local org",
            hint="promote from the org where the package was tried first",
        )
    find_profile(project.config, target)
    ledger = Ledger(project.config.state_dir)
    if validation_id is None:
        package_hash = package.from_project(project).identity
    else:
        validated = ledger.validation(target, validation_id)
        if validated is None:
            raise UsageError(
                f"no successful validation {validation_id} on {target} is recorded",
                hint=f"run `sftk promote --from {source} --to {target} --check-only` first",
            )
        package_hash = validated.package_hash
    proof = ledger.proof(package_hash, from_org=source)
    if proof is None:
        raise NotProven(
            f"this package ({package_hash[:12]}) was never deployed successfully to {source}",
            hint=f"deploy it there first: `sftk deploy --org {source}`",
        )
    validation = None
    if validation_id is None:
        validation = commands.deploy(
            project,
            target,
            check_only=True,
            test_level=test_level or PROMOTION_TEST_LEVEL,
            tests=tests,
            skip_preflight=skip_preflight,
            wait_minutes=wait_minutes,
            on_progress=on_progress,
        )
        report = validation.report
        if report is None or report.outcome is not Outcome.SUCCEEDED or check_only:
            found = report.deploy_id if report is not None else None
            return PromoteRun(source, target, proof, validation, None, found)
        validation_id = report.deploy_id
    deployed = commands.quick(
        project,
        target,
        validation_id=validation_id,
        wait_minutes=wait_minutes,
        on_progress=on_progress,
    )
    return PromoteRun(source, target, proof, validation, deployed, validation_id)
