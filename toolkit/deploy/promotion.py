"""Promotion: production receives what a sandbox already took, in one command.

The steps a careful consultant takes by hand: check that the package went to the sandbox,
validate it on production with the tests, and, when that validation passed the org and the
coverage gate, quick-deploy exactly that validation, taking the snapshot first. The
validation can be run ahead of a change window (``check_only``) and promoted later by its id.

When the ledger holds no proof (the sandbox got the package some other way, or this is a
fresh checkout without ``.sftk/``), the proof is derived again: sftk retrieves the package's
components from the sandbox, as ``sftk plan`` does, and records the proof when every one is
there as packaged.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.deploy import commands, package
from toolkit.deploy.ledger import PROVING_KINDS, Ledger, LedgerEntry, is_local
from toolkit.deploy.package import DeployPackage, PackageStore
from toolkit.deploy.patching import patched
from toolkit.deploy.plan import make_plan
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
    sandbox = find_profile(project.config, source)
    if sandbox.kind not in PROVING_KINDS:
        raise UsageError(
            f"--from {source} is a {sandbox.kind} profile, not a sandbox",
            hint="promote from the sandbox where the package was tried first",
        )
    production = find_profile(project.config, target)
    if is_local(sandbox) and not is_local(production):
        raise NotProven(
            f"{source} is a local org: a rehearsal proves a package only for a local "
            f"production profile, and {target} is a real org",
            hint="deploy the package to a real sandbox of the customer and promote from there",
        )
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
    proof = ledger.proof(package_hash, from_org=source, for_local=is_local(production))
    if proof is None:
        proof = verify_sandbox(project, source, _package_of(project, package_hash))
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


def verify_sandbox(project: Project, source: str, pkg: DeployPackage | None) -> LedgerEntry:
    """Derive the proof again: the sandbox holds every component of ``pkg`` as packaged (and
    says it is a sandbox). Records it in the ledger, or raises ``NotProven`` saying why not."""
    if pkg is None:
        raise NotProven(
            f"the ledger has no deploy of this package to {source}, and sftk no longer has the "
            "package to compare the sandbox with",
            hint=f"deploy the project to {source} (`sftk deploy --org {source}`) and promote it",
        )
    with commands.session(project, source) as s:
        if not s.organization().is_sandbox:
            raise NotProven(
                f"{source} is a sandbox profile, but its org says it is not a sandbox "
                f"({s.organization().edition}, IsSandbox false): it cannot prove a package",
                hint=f"point [orgs.{source}] of sftk.toml at a sandbox",
            )
        plan = make_plan(s.retriever, patched(s.retriever, pkg))
        if plan.effective:
            missing = ", ".join(
                f"{plan.count(status)} {status.value}"
                for status in sorted({c.status for c in plan.effective}, key=lambda t: t.value)
            )
            raise NotProven(
                f"this package ({pkg.identity[:12]}) was never deployed successfully to "
                f"{source}, and {source} does not hold it ({missing})",
                hint=f"deploy it there first: `sftk deploy --org {source}` (`sftk plan --org "
                f"{source}` lists the differences)",
            )
        proof = s.prove_held(pkg.identity)
        assert proof is not None  # a sandbox profile whose org is a sandbox
        return proof


def _package_of(project: Project, package_hash: str) -> DeployPackage | None:
    """The package with this identity: the project's own, or one kept when it was validated."""
    current = package.from_project(project)
    if current.identity == package_hash:
        return current
    return PackageStore(project.config.state_dir).load(package_hash)
