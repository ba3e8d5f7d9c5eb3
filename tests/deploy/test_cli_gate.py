"""Issue 17's sandbox-first rule through the installed ``sftk``: a local org proves nothing, a
rehearsal proves only for a rehearsal, a sandbox proves only when its org says it is one, and
a sandbox that already holds the package proves it again without a deploy (no dead end for a
fresh checkout). "Real" orgs here are local orgs served on loopback and reached through
``auth = "token"`` profiles, as sftk reaches any org whose token it is given."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Run, Serve

SANDBOX = {"organization_type": "Enterprise Edition", "is_sandbox": True}
PRODUCTION = {"organization_type": "Enterprise Edition", "is_sandbox": False}

PROFILES = """
[orgs.uat]
kind = "sandbox"
auth = "token"
access_token_env = "UAT_TOKEN"
instance_url_env = "UAT_URL"

[orgs.fake-uat]
kind = "sandbox"
auth = "token"
access_token_env = "FAKE_TOKEN"
instance_url_env = "FAKE_URL"

[orgs.prod]
kind = "production"
auth = "token"
access_token_env = "PROD_TOKEN"
instance_url_env = "PROD_URL"
"""

StandIn = Callable[[str, dict[str, Any]], dict[str, str]]


@pytest.fixture
def stand_in(tmp_path: Path, serve: Serve) -> StandIn:
    """Serve a local org on loopback as a stand-in for a real org of the given kind."""

    def start(name: str, facts: dict[str, Any]) -> dict[str, str]:
        state = tmp_path / "orgs" / name
        first = tmp_path / "orgs" / "tls"
        if first.is_dir():  # one certificate for all: one CA file trusts every org
            shutil.copytree(first, state / "tls")
        info = serve("--state", str(state), cwd=tmp_path, state=state)
        if not first.is_dir():
            shutil.copytree(state / "tls", first)
        with requests.Session() as session:
            session.trust_env = False
            answer = session.patch(
                info["instance_url"] + "/_sftk/org",
                json=facts,
                headers={"Authorization": f"Bearer {info['access_token']}"},
                verify=info["ca_bundle"],
                timeout=30,
            )
        assert answer.status_code == 200, answer.text
        return info

    return start


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("init", "apiary", cwd=tmp_path).returncode == 0
    root = tmp_path / "apiary"
    with (root / "sftk.toml").open("a") as config:
        config.write(PROFILES)
    return root


@pytest.fixture
def orgs(stand_in: StandIn) -> dict[str, str]:
    """Env vars for the uat (a sandbox), fake-uat (says sandbox, is production) and prod
    profiles, with a CA bundle trusting all three orgs."""
    env: dict[str, str] = {}
    for prefix, name, facts in (
        ("UAT", "uat", SANDBOX),
        ("FAKE", "fake-uat", PRODUCTION),
        ("PROD", "prod", PRODUCTION),
    ):
        info = stand_in(name, facts)
        env[f"{prefix}_TOKEN"] = info["access_token"]
        env[f"{prefix}_URL"] = info["instance_url"]
        env["REQUESTS_CA_BUNDLE"] = info["ca_bundle"]
    return env


def _ledger(project: Path, sftk: Run, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    answer = sftk("ledger", "--json", cwd=project, env=env)
    assert answer.returncode == 0, answer.stderr
    entries: list[dict[str, Any]] = json.loads(answer.stdout)["entries"]
    return entries


def test_a_deploy_to_the_local_org_opens_no_production(project: Path, sftk: Run) -> None:
    assert sftk("deploy", "--org", "local", cwd=project).returncode == 0
    refused = sftk("deploy", "--org", "rehearsal-prod", cwd=project)
    assert refused.returncode == ExitCode.NOT_PROVEN, refused.stdout + refused.stderr
    assert "never deployed successfully to a sandbox" in refused.stderr
    promoted = sftk("promote", "--from", "local", "--to", "rehearsal-prod", cwd=project)
    assert promoted.returncode == ExitCode.USAGE
    assert "local profile, not a sandbox" in promoted.stderr


def test_a_rehearsal_opens_only_the_rehearsal_production(
    project: Path, sftk: Run, orgs: dict[str, str]
) -> None:
    assert sftk("deploy", "--org", "rehearsal-sandbox", cwd=project, env=orgs).returncode == 0
    real = sftk("deploy", "--org", "prod", "--check-only", cwd=project, env=orgs)
    assert real.returncode == ExitCode.NOT_PROVEN, real.stdout + real.stderr
    assert "proven only on the local org rehearsal-sandbox" in real.stderr
    promoted = sftk("promote", "--from", "rehearsal-sandbox", "--to", "prod", cwd=project, env=orgs)
    assert promoted.returncode == ExitCode.NOT_PROVEN
    assert "rehearsal-sandbox is a local org" in promoted.stderr
    rehearsed = sftk("deploy", "--org", "rehearsal-prod", "--check-only", cwd=project, env=orgs)
    assert rehearsed.returncode == 0, rehearsed.stdout + rehearsed.stderr


def test_a_sandbox_profile_whose_org_is_production_proves_nothing(
    project: Path, sftk: Run, orgs: dict[str, str]
) -> None:
    deployed = sftk(
        "deploy",
        "--org",
        "fake-uat",
        "--skip-preflight",
        "--test-level",
        "RunLocalTests",
        cwd=project,
        env=orgs,
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    (entry,) = _ledger(project, sftk)
    assert (entry["org"], entry["action"], entry["org_is_sandbox"]) == ("fake-uat", "deploy", False)
    refused = sftk("deploy", "--org", "prod", "--check-only", cwd=project, env=orgs)
    assert refused.returncode == ExitCode.NOT_PROVEN, refused.stdout + refused.stderr
    promoted = sftk("promote", "--from", "fake-uat", "--to", "prod", cwd=project, env=orgs)
    assert promoted.returncode == ExitCode.NOT_PROVEN
    assert "its org says it is not a sandbox" in promoted.stderr


def test_a_real_sandbox_proves_the_package_for_real_production(
    project: Path, sftk: Run, orgs: dict[str, str]
) -> None:
    assert sftk("deploy", "--org", "uat", cwd=project, env=orgs).returncode == 0
    (entry,) = _ledger(project, sftk)
    assert (entry["org_is_sandbox"], entry["local"]) == (True, False)
    promoted = sftk("promote", "--from", "uat", "--to", "prod", "--json", cwd=project, env=orgs)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert json.loads(promoted.stdout)["deploy"]["outcome"] == "succeeded"


def test_a_sandbox_that_holds_the_package_proves_it_again(
    project: Path, sftk: Run, orgs: dict[str, str]
) -> None:
    assert sftk("deploy", "--org", "uat", cwd=project, env=orgs).returncode == 0
    shutil.rmtree(project / ".sftk")  # a fresh CI checkout: no ledger, no history

    held = sftk("deploy", "--org", "uat", cwd=project, env=orgs)
    assert held.returncode == 0, held.stdout + held.stderr
    assert "nothing to deploy" in held.stdout and "sandbox uat holds package" in held.stdout
    (entry,) = _ledger(project, sftk)
    assert (entry["action"], entry["org"], entry["deploy_id"]) == ("verify", "uat", "")
    gate = sftk("deploy", "--org", "prod", "--check-only", cwd=project, env=orgs)
    assert gate.returncode == 0, gate.stdout + gate.stderr

    shutil.rmtree(project / ".sftk")  # and the production job is another fresh checkout
    promoted = sftk("promote", "--from", "uat", "--to", "prod", cwd=project, env=orgs)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "uat holds this package: every component found as packaged" in promoted.stdout
    assert [e["action"] for e in _ledger(project, sftk)] == ["verify", "validate", "quick"]


def test_a_sandbox_without_the_package_is_no_proof(
    project: Path, sftk: Run, orgs: dict[str, str]
) -> None:
    assert sftk("deploy", "--org", "uat", cwd=project, env=orgs).returncode == 0
    spec = project / "objects" / "Site_Visit__c.toml"
    spec.write_text(spec.read_text() + '\n[fields.Mood__c]\ntype = "Text"\nlength = 20\n')
    promoted = sftk("promote", "--from", "uat", "--to", "prod", cwd=project, env=orgs)
    assert promoted.returncode == ExitCode.NOT_PROVEN, promoted.stdout + promoted.stderr
    assert "uat does not hold it" in promoted.stderr and "new" in promoted.stderr
    assert "sftk plan --org uat" in promoted.stderr
