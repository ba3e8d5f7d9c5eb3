"""Issue 17, everyday friction, through the installed ``sftk``: cancelling a finished deploy,
redaction that leaves words alone, --no-plugins after the command, the deploy options in
``sftk deploy --help``, --allow-partial refused where the org would ignore it, Cobertura
naming the project's own Apex files, a quick deploy of a validation under the coverage gate
refused as such, and a deploy that says what it changed (not "plan:")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lxml import etree

from toolkit.errors import ExitCode
from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from tests.conftest import Apex, Run


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("init", "apiary", cwd=tmp_path).returncode == 0
    return tmp_path / "apiary"


def _coverage(project: Path, sftk: Run, apex: Apex, covered: int, uncovered: int) -> None:
    (project / "coverage.json").write_text(json.dumps(apex.coverage(covered, uncovered)))
    given = sftk("org", "coverage", "set", "--org", "local", "--file", "coverage.json", cwd=project)
    assert given.returncode == 0, given.stderr


def test_cancelling_a_finished_deploy_says_so(project: Path, sftk: Run) -> None:
    deployed = sftk("deploy", "--org", "local", cwd=project)
    assert deployed.returncode == 0
    assert re.search(r"^changed in the org: \d+ new$", deployed.stdout, re.M), deployed.stdout
    assert "plan:" not in deployed.stdout
    cancelled = sftk("deploy", "cancel", "--org", "local", cwd=project)
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert "already finished: there was nothing to cancel" in cancelled.stdout
    assert "succeeded" in cancelled.stdout
    as_json = json.loads(sftk("deploy", "cancel", "--org", "local", "--json", cwd=project).stdout)
    assert as_json["already_finished"] is True and as_json["outcome"] == "succeeded"


def test_a_short_secret_leaves_the_message_alone(
    project: Path, sftk: Run, local_org: RunningOrg
) -> None:
    with (project / "sftk.toml").open("a") as config:
        config.write(
            '\n[orgs.dev]\nkind = "developer"\nauth = "token"\naccess_token_env = "DEV_TOKEN"\n'
            'instance_url_env = "DEV_URL"\n'
        )
    env = {
        "DEV_TOKEN": "e",
        "DEV_URL": local_org.instance_url,
        "REQUESTS_CA_BUNDLE": local_org.ca_bundle,
    }
    refused = sftk("org", "show", "dev", cwd=project, env=env)
    assert refused.returncode == ExitCode.ORG_UNREACHABLE
    assert "org profile 'dev'" in refused.stderr and "INVALID_SESSION_ID" in refused.stderr
    assert "[redacted]" not in refused.stderr


def test_no_plugins_after_the_command_and_deploy_help(project: Path, sftk: Run) -> None:
    config = project / "sftk.toml"
    config.write_text(config.read_text().replace("enabled = []", 'enabled = ["lms"]'))
    with_lms = json.loads(sftk("render", "--json", cwd=project).stdout)
    without = json.loads(sftk("render", "--json", "--no-plugins", cwd=project).stdout)
    assert with_lms["components"]["CustomObject"] > without["components"]["CustomObject"] == 1

    shown = sftk("deploy", "--help", cwd=project).stdout
    for option in ("--check-only", "--test-level", "--allow-partial", "--only-changed", "--org"):
        assert option in shown
    assert "quick" in shown and "cancel" in shown
    assert "[deletions]" in sftk("destructive", "--help", cwd=project).stdout


def test_allow_partial_only_where_the_org_honours_it(project: Path, sftk: Run) -> None:
    local = sftk("deploy", "--org", "local", "--allow-partial", cwd=project)
    assert local.returncode == ExitCode.USAGE, local.stdout + local.stderr
    assert "only in a sandbox" in local.stderr and "Developer Edition" in local.stderr
    sandbox = sftk("deploy", "--org", "rehearsal-sandbox", "--allow-partial", cwd=project)
    assert sandbox.returncode == 0, sandbox.stdout + sandbox.stderr


def test_cobertura_names_the_projects_files_and_quick_names_the_gate(
    project: Path, sftk: Run, apex: Apex
) -> None:
    apex.add(project)
    with (project / "sftk.toml").open("a") as config:
        config.write('\n[coverage]\n[coverage.classes]\n"Hive*" = 90\n')
    _coverage(project, sftk, apex, covered=8, uncovered=2)  # 80%: the org takes it, not the gate
    validated = sftk(
        "deploy",
        "--org",
        "local",
        "--check-only",
        "--test-level",
        "RunLocalTests",
        "--cobertura",
        "coverage.xml",
        cwd=project,
    )
    assert validated.returncode == ExitCode.COVERAGE_BELOW_GATE, validated.stdout
    report = etree.parse(str(project / "coverage.xml"))
    (found,) = report.iterfind(".//class")
    assert found.get("filename") == "apex/classes/HiveMath.cls"
    assert (project / str(found.get("filename"))).is_file()

    quick = sftk("deploy", "quick", "--org", "local", cwd=project)
    assert quick.returncode == ExitCode.COVERAGE_BELOW_GATE, quick.stdout + quick.stderr
    assert "missed the project's coverage gate" in quick.stderr
    assert "[coverage]" in quick.stderr
