"""Issue 17, the rehearsal orgs through the installed ``sftk``: a served local org is the kind
its profile says to every client, from the first request; and a rehearsal production org is
given the Apex coverage its test runs report with ``sftk org coverage set``, so a project
with Apex can be promoted to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Apex, Run, Serve


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("init", "apiary", cwd=tmp_path).returncode == 0
    return tmp_path / "apiary"


def _organization(connection: dict[str, Any]) -> dict[str, Any]:
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(
            connection["instance_url"] + "/services/data/v66.0/query",
            params={"q": "SELECT IsSandbox, OrganizationType FROM Organization"},
            headers={"Authorization": f"Bearer {connection['access_token']}"},
            verify=connection["ca_bundle"],
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    record: dict[str, Any] = answer.json()["records"][0]
    return record


@pytest.mark.parametrize(
    ("profile", "is_sandbox"), [("rehearsal-sandbox", True), ("rehearsal-prod", False)]
)
def test_a_served_org_is_its_profiles_kind_to_any_client(
    project: Path, serve: Serve, profile: str, is_sandbox: bool
) -> None:
    state = project / ".sftk" / "orgs" / profile
    organization = _organization(serve("--org", profile, cwd=project, state=state))
    assert organization["IsSandbox"] is is_sandbox
    assert organization["OrganizationType"] == "Enterprise Edition"


def test_a_rehearsal_production_org_is_given_coverage(project: Path, sftk: Run, apex: Apex) -> None:
    apex.add(project)
    assert sftk("deploy", "--org", "rehearsal-sandbox", cwd=project).returncode == 0
    promote = ("promote", "--from", "rehearsal-sandbox", "--to", "rehearsal-prod")
    uncovered = sftk(*promote, cwd=project)
    assert uncovered.returncode == ExitCode.DEPLOY_FAILED, uncovered.stdout + uncovered.stderr
    assert "coverage" in uncovered.stdout.lower()

    (project / "coverage.json").write_text(json.dumps(apex.coverage(covered=3, uncovered=0)))
    given = sftk("org", "coverage", "set", "--org", "local", "--file", "coverage.json", cwd=project)
    assert given.returncode == 0, given.stderr
    assert "coverage profile of local set from coverage.json: 1 classes" in given.stdout
    copied = sftk(
        "org", "coverage", "set", "--org", "rehearsal-prod", "--from", "local", cwd=project
    )
    assert copied.returncode == 0, copied.stderr
    shown = sftk("org", "coverage", "show", "--org", "rehearsal-prod", "--json", cwd=project)
    assert json.loads(shown.stdout)["classes"]["HiveMath"]["covered"] == [1, 2, 3]

    promoted = sftk(*promote, cwd=project)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr


def test_a_bad_profile_or_a_real_org_is_refused(project: Path, sftk: Run) -> None:
    (project / "bad.json").write_text(json.dumps({"classes": {"HiveMath": {"covered": [0]}}}))
    bad = sftk("org", "coverage", "set", "--org", "local", "--file", "bad.json", cwd=project)
    assert bad.returncode == ExitCode.USAGE, bad.stdout + bad.stderr
    assert "bad.json: classes.HiveMath.covered[0]" in bad.stderr and "Traceback" not in bad.stderr
    with (project / "sftk.toml").open("a") as config:
        config.write(
            '\n[orgs.uat]\nkind = "sandbox"\nauth = "token"\naccess_token_env = "T"\n'
            'instance_url_env = "U"\n'
        )
    real = sftk("org", "coverage", "set", "--org", "uat", "--file", "bad.json", cwd=project)
    assert real.returncode == ExitCode.USAGE
    assert "measures coverage by running Apex tests" in real.stderr
