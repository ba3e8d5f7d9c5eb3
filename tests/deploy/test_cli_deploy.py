"""Issue 5's acceptance through the installed ``sftk`` command on a new project and the local
org: preflight, validate with tests, quick deploy, deploy; a broken package, a coverage miss
and a preflight failure each exit with their documented code; JUnit and Cobertura files
validate; a deploy whose client is killed is resumed without deploying twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from lxml import etree

from toolkit.errors import ExitCode

if TYPE_CHECKING:
    from tests.conftest import Apex, Run, Serve

DATA = Path(__file__).parent / "data"
MD = "http://soap.sforce.com/2006/04/metadata"


@pytest.fixture
def project(tmp_path: Path, sftk: Run, apex: Apex) -> Path:
    assert sftk("init", "apiary", cwd=tmp_path).returncode == 0
    root = tmp_path / "apiary"
    apex.add(root)
    with (root / "sftk.toml").open("a") as config:
        config.write('\n[coverage]\nper_class = 75\n[coverage.classes]\n"Hive*" = 90\n')
    return root


@pytest.fixture
def served(project: Path, serve: Serve) -> dict[str, str]:
    """The project's local org served in the background, as a user leaves it running."""
    state = project / ".sftk" / "localorg"
    return serve("--state", str(state), cwd=project, state=state)


def _control(org: dict[str, Any], method: str, path: str, body: Any) -> None:
    with requests.Session() as session:
        session.trust_env = False
        answer = session.request(
            method,
            org["instance_url"] + path,
            json=body,
            headers={"Authorization": f"Bearer {org['access_token']}"},
            verify=org["ca_bundle"],
            timeout=30,
        )
    assert answer.status_code < 300, answer.text


def _coverage(org: dict[str, Any], profile: dict[str, Any]) -> None:
    _control(org, "PUT", "/_sftk/coverage", profile)


def test_the_deploy_flow_on_a_new_project(
    project: Path, sftk: Run, served: dict[str, Any], apex: Apex
) -> None:
    _coverage(served, apex.coverage(10, 0))
    checked = sftk("preflight", "--org", "local", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Edition supported" in checked.stdout and "preflight of local passed" in checked.stdout

    validated = sftk(
        "deploy",
        "--org",
        "local",
        "--check-only",
        "--test-level",
        "RunLocalTests",
        "--junit",
        "junit.xml",
        "--cobertura",
        "coverage.xml",
        cwd=project,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "validation" in validated.stdout and "succeeded" in validated.stdout
    assert "components" in validated.stderr  # one progress line per change of state
    junit = etree.parse(str(project / "junit.xml"))
    assert etree.XMLSchema(etree.parse(str(DATA / "junit.xsd"))).validate(junit)
    assert junit.find(".//testcase").get("name") == "countsFrames"
    cobertura = etree.parse(str(project / "coverage.xml"))
    assert etree.DTD(str(DATA / "coverage-04.dtd")).validate(cobertura)

    quick = sftk("deploy", "quick", "--org", "local", cwd=project)
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "deploy" in quick.stdout and "succeeded" in quick.stdout

    again = sftk("deploy", "--org", "local", "--json", cwd=project)
    assert again.returncode == 0, again.stderr
    body = json.loads(again.stdout)  # the org has it all since the quick deploy: nothing sent
    assert body["outcome"] == "unchanged" and body["deploy_id"] is None
    assert body["changes"]["unchanged"] > 10 and body["changes"]["new"] == 0

    again = sftk("deploy", "--org", "local", "--force", "--json", cwd=project)
    assert again.returncode == 0, again.stderr
    body = json.loads(again.stdout)
    assert body["outcome"] == "succeeded" and body["exit_code"] == 0
    assert body["result"]["number_components_deployed"] > 10

    reported = sftk("deploy", "report", "--org", "local", "--json", cwd=project)
    assert json.loads(reported.stdout)["deploy_id"] == body["deploy_id"]


def test_a_broken_package_says_why(project: Path, sftk: Run, served: dict[str, Any]) -> None:
    broken = project / "broken" / "objects"
    broken.mkdir(parents=True)
    swarm = broken / "Swarm__c.object"
    swarm.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="{MD}">\n'
        "    <label>Swarm</label>\n    <colour>gold</colour>\n</CustomObject>\n"
    )
    answer = sftk("deploy", "broken", "--org", "local", cwd=project)
    assert answer.returncode == ExitCode.DEPLOY_FAILED, answer.stdout + answer.stderr
    assert "FAILED" in answer.stdout
    assert "objects/Swarm__c.object:4" in answer.stdout and "colour" in answer.stdout

    swarm.write_text(f'<CustomObject xmlns="{MD}"><label>Swarm')  # not even XML
    refused = sftk("deploy", "broken", "--org", "local", cwd=project)
    assert refused.returncode == ExitCode.USAGE
    assert "Swarm__c.object" in refused.stderr and "not well-formed" in refused.stderr


def test_coverage_under_a_class_bar_misses_the_gate(
    project: Path, sftk: Run, served: dict[str, Any], apex: Apex
) -> None:
    _coverage(served, apex.coverage(8, 2))  # 80%: the org takes it, the project's 90% does not
    answer = sftk(
        "deploy", "--org", "local", "--check-only", "--test-level", "RunLocalTests", cwd=project
    )
    assert answer.returncode == ExitCode.COVERAGE_BELOW_GATE, answer.stdout + answer.stderr
    assert "HiveMath" in answer.stdout and "80" in answer.stdout and "90" in answer.stdout
    committed = sftk("deploy", "--org", "local", "--test-level", "RunLocalTests", cwd=project)
    assert committed.returncode == ExitCode.COVERAGE_BELOW_GATE  # deployed, and told so
    measured = sftk("coverage", "--org", "local", "--cobertura", "cov.xml", cwd=project)
    assert measured.returncode == ExitCode.COVERAGE_BELOW_GATE, measured.stdout
    assert "HiveMath" in measured.stdout
    assert etree.DTD(str(DATA / "coverage-04.dtd")).validate(etree.parse(str(project / "cov.xml")))


def test_org_wide_coverage_under_75_fails_the_deploy(
    project: Path, sftk: Run, served: dict[str, Any], apex: Apex
) -> None:
    _coverage(served, apex.coverage(2, 8))
    answer = sftk(
        "deploy", "--org", "local", "--check-only", "--test-level", "RunLocalTests", cwd=project
    )
    assert answer.returncode == ExitCode.DEPLOY_FAILED, answer.stdout + answer.stderr
    assert "coverage" in answer.stdout.lower()


def test_a_failed_preflight_stops_the_deploy(
    project: Path, sftk: Run, served: dict[str, Any]
) -> None:
    _control(served, "PATCH", "/_sftk/org", {"organization_type": "Professional Edition"})
    answer = sftk("deploy", "--org", "local", cwd=project)
    assert answer.returncode == ExitCode.PREFLIGHT_FAILED
    assert "Professional Edition" in answer.stdout and "nothing was deployed" in answer.stderr
    forced = sftk("deploy", "--org", "local", "--skip-preflight", cwd=project)
    # sent this time: the org itself refuses untested Apex on a production edition
    assert forced.returncode == ExitCode.DEPLOY_FAILED, forced.stdout + forced.stderr
    assert "NoTestRun" in forced.stdout


def test_a_killed_deploy_is_resumed_not_redeployed(
    project: Path, sftk: Run, sftk_exe: list[str], served: dict[str, Any]
) -> None:
    history = project / ".sftk" / "deploys.json"
    client = subprocess.Popen(
        [*sftk_exe, "deploy", "--org", "local"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    for _ in range(400):
        if history.exists():
            break
        time.sleep(0.02)
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=30)
    answer = sftk("deploy", "resume", "--org", "local", cwd=project)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "succeeded" in answer.stdout
    assert len(json.loads(history.read_text())["local"]) == 1
