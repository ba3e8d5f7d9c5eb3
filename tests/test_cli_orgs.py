"""Issue 17, the org of every command, through the installed ``sftk``: --org, else SFTK_ORG,
else [project] default_org; and ``sftk org import`` turning the Salesforce CLI's aliases into
profiles that log in through it. The CLI here is a script answering as ``sf`` does."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from toolkit.errors import ExitCode
from toolkit.localorg.org import RunningOrg

if TYPE_CHECKING:
    from tests.conftest import Run


@pytest.fixture
def project(tmp_path: Path, sftk: Run) -> Path:
    assert sftk("--no-plugins", "init", "apiary", cwd=tmp_path).returncode == 0
    return tmp_path / "apiary"


def test_the_org_comes_from_the_flag_the_environment_or_the_project(
    project: Path, sftk: Run
) -> None:
    none = sftk("plan", cwd=project)
    assert none.returncode == ExitCode.USAGE
    assert "no org profile given" in none.stderr
    assert "SFTK_ORG" in none.stderr and "default_org" in none.stderr

    from_env = sftk("plan", "--json", cwd=project, env={"SFTK_ORG": "rehearsal-sandbox"})
    assert from_env.returncode == 0, from_env.stderr
    assert (project / ".sftk" / "orgs" / "rehearsal-sandbox").is_dir()

    config = project / "sftk.toml"
    text = config.read_text()
    config.write_text(text.replace("[project]\n", '[project]\ndefault_org = "local"\n', 1))
    deployed = sftk("deploy", "--json", cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    ledger = json.loads(sftk("ledger", "--json", cwd=project).stdout)["entries"]
    assert [e["org"] for e in ledger] == ["local"]
    assert "profile:       local" in sftk("org", "show", cwd=project).stdout
    flag = sftk("snapshots", "list", "--json", cwd=project, env={"SFTK_ORG": "nowhere"})
    assert flag.returncode == 0  # listing every org's snapshots needs no org

    config.write_text(text.replace("[project]\n", '[project]\ndefault_org = "uat"\n', 1))
    bad = sftk("plan", cwd=project)
    assert bad.returncode == ExitCode.USAGE and "default_org" in bad.stderr
    assert "names no org profile ('uat')" in bad.stderr and "sftk.toml:" in bad.stderr


FAKE_SF = """#!/bin/sh
if [ "$1 $2" = "org list" ]; then
cat <<'JSON'
{list}
JSON
exit 0
fi
if [ "$1 $2" = "org display" ] && [ "$5" = "uat" ]; then
cat <<'JSON'
{display}
JSON
exit 0
fi
echo '{{"status": 1, "name": "NamedOrgNotFoundError", "message": "No authorization found"}}'
exit 1
"""


def _fake_sf(folder: Path, org: RunningOrg) -> Path:
    folder.mkdir()
    listed: dict[str, Any] = {
        "status": 0,
        "result": {
            "nonScratchOrgs": [
                {"alias": "uat", "username": "ci@acme.com.uat", "isSandbox": True},
                {"alias": "acme-prod", "username": "ci@acme.com", "isSandbox": False},
                {"username": "someone@else.com", "isSandbox": False},
            ],
            "scratchOrgs": [{"alias": "my scratch", "username": "test-x@example.com"}],
        },
    }
    display = {
        "status": 0,
        "result": {
            "id": org.connection["org_id"],
            "accessToken": org.access_token,
            "instanceUrl": org.instance_url,
            "username": org.connection["username"],
            "alias": "uat",
        },
    }
    script = folder / "sf"
    script.write_text(FAKE_SF.format(list=json.dumps(listed), display=json.dumps(display)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def test_org_import_adds_a_profile_per_alias(
    project: Path, sftk: Run, tmp_path: Path, local_org: RunningOrg
) -> None:
    bin_dir = _fake_sf(tmp_path / "bin", local_org)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "REQUESTS_CA_BUNDLE": local_org.ca_bundle}
    before = (project / "sftk.toml").read_text()

    imported = sftk("org", "import", cwd=project, env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "added [orgs.uat]: kind sandbox, ci@acme.com.uat" in imported.stdout
    assert "added [orgs.acme-prod]: kind production" in imported.stdout
    assert "added [orgs.my scratch]: kind developer" in imported.stdout
    assert "skipped someone@else.com: it has no alias" in imported.stderr
    after = (project / "sftk.toml").read_text()
    assert after.startswith(before)  # comments and order kept; profiles appended
    assert '[orgs."my scratch"]\nkind = "developer"\nauth = "sfdx"\nalias = "my scratch"' in after

    listed = json.loads(sftk("org", "list", "--json", cwd=project).stdout)
    kinds = {p["name"]: (p["kind"], p["auth"], p["alias"]) for p in listed}
    assert kinds["uat"] == ("sandbox", "sfdx", "uat")
    shown = sftk("org", "show", "uat", cwd=project, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "sfdx" in shown.stdout and local_org.connection["org_id"] in shown.stdout

    again = sftk("org", "import", "--json", cwd=project, env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["added"] == []
    assert (project / "sftk.toml").read_text() == after
    unknown = sftk("org", "import", "nope", cwd=project, env=env)
    assert unknown.returncode == ExitCode.USAGE and "no org with the alias nope" in unknown.stderr
