"""``sftk plugin new``: what it writes, what it refuses, and the template proven end to end:
generated, built and installed into a fresh virtual environment, its own tests run there, and
a project enabling it deployed and synced twice."""

from __future__ import annotations

import importlib.metadata
import json
import os
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.plugin_scaffold import FILES, check_name, new_plugin

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_plugin_new_writes_the_distribution_and_says_what_next(sftk: Run, tmp_path: Path) -> None:
    result = sftk("plugin", "new", "acme-lms", "--dir", "vendor/lms", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["folder"] == "vendor/lms" and answer["plugin"] == "acme-lms"
    assert answer["next"][:2] == ["pip install -e './vendor/lms[test]'", "pytest ./vendor/lms"]
    folder = tmp_path / "vendor" / "lms"
    assert sorted(answer["created"]) == sorted(
        f"vendor/lms/{p.format(package='sftk_acme_lms', object='Acme_Lms_Item__c')}" for p in FILES
    )
    assert sorted(p.name for p in tmp_path.joinpath("vendor").iterdir()) == ["lms"]  # no leftovers
    pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "sftk-acme-lms"' in pyproject
    assert '[project.entry-points."sftk.plugins"]\nacme-lms = "sftk_acme_lms"' in pyproject
    spec = (folder / "sftk_acme_lms" / "objects" / "Acme_Lms_Item__c.toml").read_text()
    assert "[fields.Acme_Lms_Id__c]" in spec and "external_id = true" in spec
    contract = (folder / "tests" / "test_contract.py").read_text(encoding="utf-8")
    assert "class TestAcmeLmsContract(PluginContract):" in contract


@pytest.mark.parametrize("name", ["Acme", "2fast", "acme lms", "acme--lms", "acme-", "a" * 25])
def test_names_that_cannot_name_a_plugin_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="cannot name a plugin"):
        check_name(name)


def test_plugin_new_refuses_a_bad_name_and_a_folder_in_use(sftk: Run, tmp_path: Path) -> None:
    builtin = sftk("plugin", "new", "files", cwd=tmp_path)
    assert builtin.returncode == 2 and "'files' is a plugin built into sftk" in builtin.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    taken = sftk("plugin", "new", "acme", "--dir", "taken", cwd=tmp_path)
    assert (
        taken.returncode == 2 and "taken already exists and is not an empty folder" in taken.stderr
    )
    assert "Traceback" not in builtin.stderr + taken.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing half-written
    (tmp_path / "empty").mkdir()
    assert new_plugin("acme", tmp_path / "empty")[0] == tmp_path / "empty" / "pyproject.toml"


def test_the_generated_plugin_installs_its_tests_pass_and_a_project_syncs_it(
    sftk: Run, tmp_path: Path
) -> None:
    """About 30 s: a virtual environment that sees this one's packages (sftk, pytest) through
    a .pth file, the plugin built and installed into it by pip, its tests run there, then
    `sftk init`, `deploy` and two `sync`s in a project enabling it."""
    assert sftk("plugin", "new", "acme", cwd=tmp_path).returncode == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = str(venv / "bin" / "python")
    inherited = "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages())
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "outer.pth").write_text(inherited, encoding="utf-8")
    install = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps"]
    if _builds_wheels_here():  # else pip fetches a setuptools of its own to build with
        install.append("--no-build-isolation")
    subprocess.run([*install, "./acme"], cwd=tmp_path, check=True, capture_output=True)
    env = {**os.environ, "NO_COLOR": "1", "SFTK_PLUGINS": "acme", "PYTHONPATH": ""}

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )

    tested = run("-m", "pytest", "-p", "no:cacheprovider", "acme")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "12 passed" in tested.stdout
    listed = json.loads(run("-m", "toolkit", "plugins", "--json").stdout)
    acme = next(p for p in listed if p["name"] == "acme")
    assert (acme["distribution"], acme["version"]) == ("sftk-acme", "0.1.0")
    assert str(venv) in run("-c", "import sftk_acme; print(sftk_acme.__file__)").stdout
    assert run("-m", "toolkit", "init", "demo").returncode == 0
    demo = tmp_path / "demo"
    config = demo / "sftk.toml"  # init lists installed plugins and enables none: enable acme
    config.write_text(config.read_text().replace("enabled = []", 'enabled = ["acme"]', 1))
    deployed = run("-m", "toolkit", "deploy", "--org", "local", cwd=demo)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    first = run("-m", "toolkit", "sync", "--org", "local", "--json", cwd=demo)
    assert first.returncode == 0, first.stdout + first.stderr
    streams = {s["stream"]: s for s in json.loads(first.stdout)["streams"] if s["plugin"] == "acme"}
    assert streams["items"]["written"] == 3
    second = json.loads(run("-m", "toolkit", "sync", "--org", "local", "--json", cwd=demo).stdout)
    assert second["totals"]["written"] == 0 and second["status"] == "succeeded"
    assert "collections" not in second["api_calls"] and "bulk" not in second["api_calls"]


def _builds_wheels_here() -> bool:
    """Whether this environment's setuptools builds wheels by itself (70.1 and later)."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (70, 1)
