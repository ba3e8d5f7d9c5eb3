"""Shared fixtures: a schema compiled once per run, and a way to run the real ``sftk`` command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from toolkit.localorg import deploys
from toolkit.localorg.embedded import running_connection
from toolkit.localorg.org import RunningOrg, start
from toolkit.metadata.schema import MetadataSchema
from toolkit.plugin_scaffold import PluginNames, new_plugin
from toolkit.salesforce.connection import OrgConnection


@pytest.fixture(scope="session")
def schema_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("schema-cache")


@pytest.fixture(scope="session")
def metadata_schema(schema_cache: Path) -> MetadataSchema:
    return MetadataSchema.load(cache_dir=schema_cache)


@pytest.fixture(scope="session")
def sftk_exe() -> list[str]:
    exe = shutil.which("sftk", path=os.path.dirname(sys.executable)) or shutil.which("sftk")
    if exe is None:
        raise RuntimeError("the sftk console script is not installed in this environment")
    return [exe]


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def sftk(sftk_exe: list[str], schema_cache: Path) -> Iterator[Run]:
    """Run the installed ``sftk`` console script as a user would, in a given folder."""

    def run(
        *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "NO_COLOR": "1", "SFTK_CACHE_DIR": str(schema_cache)}
        full_env.update(env or {})
        return subprocess.run(
            [*sftk_exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
        )

    yield run


Serve = Callable[..., dict[str, str]]


@pytest.fixture
def serve(sftk_exe: list[str]) -> Iterator[Serve]:
    """``sftk org serve ARGS`` in the background, as a user leaves it running, until the test
    ends; ``serve(*args, cwd=..., state=...)`` waits for the connection it writes to ``state``."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, cwd: Path, state: Path) -> dict[str, str]:
        process = subprocess.Popen(
            [*sftk_exe, "org", "serve", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        # connection.json may be left from an org that ran on this state before: wait for
        # the server to answer, not for the file
        for _ in range(600):
            info = running_connection(state)
            if info is not None:
                return info
            if process.poll() is not None:
                raise AssertionError(f"sftk org serve exited with {process.returncode}")
            time.sleep(0.05)
        raise AssertionError(f"sftk org serve did not answer on {state}")

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


# --- a local org for engine tests (tests/localorg keeps its own fixtures) ----------------------

ENGINE_API_VERSION = "66.0"


@pytest.fixture(scope="module")
def local_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOrg]:
    """One org per test module, so deployed metadata, coverage profiles and faults never leak
    between modules."""
    running = start(Path(tmp_path_factory.mktemp("localorg")), port=0)
    try:
        yield running
    finally:
        running.stop()


ProjectOrg = Callable[[Path], RunningOrg]


@pytest.fixture
def project_org() -> Iterator[ProjectOrg]:
    """``project_org(root)``: the local org of the project at ``root`` left running in the
    test, as `sftk org serve` leaves it (commands reuse it), its deploys instant; stopped when
    the test ends."""
    started: list[RunningOrg] = []

    def serve(root: Path) -> RunningOrg:
        running = start(root / ".sftk" / "localorg")
        started.append(running)
        deploys.set_component_delay(running.org, 0)
        return running

    yield serve
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def connection(local_org: RunningOrg) -> Iterator[OrgConnection]:
    """An OrgConnection whose session trusts only the org's certificate, whatever
    REQUESTS_CA_BUNDLE says."""
    session = requests.Session()
    session.verify = local_org.ca_bundle
    session.trust_env = False
    try:
        yield OrgConnection(
            profile="local",
            kind="local",
            instance_url=local_org.instance_url,
            access_token=local_org.access_token,
            api_version=ENGINE_API_VERSION,
            session=session,
            username=local_org.connection["username"],
            org_id=local_org.connection["org_id"],
        )
    finally:
        session.close()


class Control:
    """The local org's ``/_sftk/`` control endpoints, for setting up what a test needs."""

    def __init__(self, connection: OrgConnection) -> None:
        self.connection = connection

    def call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.connection.session.request(
            method,
            self.connection.instance_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.connection.access_token}"},
            timeout=30,
        )
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def coverage(self, profile: dict[str, Any]) -> None:
        self.call("PUT", "/_sftk/coverage", profile)

    def fault(self, **spec: Any) -> None:
        self.call("POST", "/_sftk/faults", spec)


@pytest.fixture(scope="module")
def control(connection: OrgConnection) -> Control:
    return Control(connection)


# --- plugins installed for one test --------------------------------------------------------------

Install = Callable[[Path, str, str], None]


@pytest.fixture
def install_plugin(monkeypatch: pytest.MonkeyPatch) -> Install:
    """``install_plugin(folder, name, module)``: make ``module`` (a package or module in
    ``folder``) the plugin ``name`` for this test and the processes it starts, as pip would: the
    folder on the path and a dist-info in it naming the ``sftk.plugins`` entry point."""

    def install(folder: Path, name: str, module: str) -> None:
        info = folder / f"{module}-0.0.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.0.0\n"
        )
        (info / "entry_points.txt").write_text(f"[sftk.plugins]\n{name} = {module}\n")
        monkeypatch.syspath_prepend(str(folder))
        inherited = os.environ.get("PYTHONPATH")
        monkeypatch.setenv(
            "PYTHONPATH", str(folder) + (os.pathsep + inherited if inherited else "")
        )

    return install


# Changes to a generated plugin: a file (``{package}`` for the package folder) and the text to
# replace in it with another.
Edits = Mapping[str, tuple[str, str]]


@pytest.fixture(scope="session")
def generated_plugins() -> dict[str, Path]:
    return {}


@pytest.fixture
def scaffolded(
    tmp_path_factory: pytest.TempPathFactory,
    install_plugin: Install,
    generated_plugins: dict[str, Path],
) -> Callable[..., Path]:
    """``scaffolded(name, edits)``: the plugin ``sftk plugin new NAME`` writes, with ``edits``
    applied, installed for the test; returns its folder. Python imports a plugin's package
    once per session, so a name stands for one variant: it is generated once."""

    def make(name: str, edits: Edits | None = None) -> Path:
        names = PluginNames(name)
        folder = generated_plugins.get(name)
        if folder is None:
            folder = generated_plugins[name] = tmp_path_factory.mktemp("plugins") / name
            new_plugin(name, folder)
            for relative, (old, new) in (edits or {}).items():
                path = folder / relative.format(package=names.package)
                text = path.read_text(encoding="utf-8")
                assert old in text, f"{path} no longer holds {old!r}: update the test's edit"
                path.write_text(text.replace(old, new), encoding="utf-8")
        install_plugin(folder, name, names.package)
        return folder

    return make


# --- a project's hand-written Apex, and the coverage a local org reports for it ---------------

APEX_META = (
    '<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata"><apiVersion>63.0</apiVersion>'
    "<status>Active</status></ApexClass>"
)
APEX_SOURCES = {
    "HiveMath": "public class HiveMath {\n    public static Integer frames() {\n"
    "        return 10;\n    }\n}\n",
    "HiveMathTest": "@isTest\nprivate class HiveMathTest {\n"
    "    @isTest static void countsFrames() {\n        HiveMath.frames();\n    }\n}\n",
}


class Apex:
    """A class and its test class carried into a project from its ``apex/`` folder."""

    @staticmethod
    def add(project: Path) -> None:
        classes = project / "apex" / "classes"
        classes.mkdir(parents=True)
        for name, source in APEX_SOURCES.items():
            (classes / f"{name}.cls").write_text(source)
            (classes / f"{name}.cls-meta.xml").write_text(APEX_META)
        config = project / "sftk.toml"
        text = config.read_text().replace("metadata_dirs = []", 'metadata_dirs = ["apex"]')
        config.write_text(text)

    @staticmethod
    def coverage(covered: int, uncovered: int) -> dict[str, Any]:
        """The coverage profile of a run where HiveMath has these numbers of lines."""
        lines = {
            "covered": list(range(1, covered + 1)),
            "uncovered": list(range(covered + 1, covered + uncovered + 1)),
        }
        return {
            "classes": {"HiveMath": lines},
            "triggers": {},
            "tests": {"HiveMathTest": {"methods": ["countsFrames"]}},
        }


@pytest.fixture
def apex() -> Apex:
    return Apex()


# --- the data model of docs/specs.md, and the real projects of ../shared/corpus ----------------

REPO = Path(__file__).resolve().parents[1]
SPECS_DOC = REPO / "docs" / "specs.md"
Catalogue = Callable[[Path], Path]


def docs_files(doc: Path = SPECS_DOC) -> dict[str, str]:
    """The files docs/specs.md gives whole (a ```toml block whose first line is
    ``# file: <path>``), by path: the complete example a user copies from the docs."""
    import re

    found = {}
    for block in re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
        first = block.splitlines()[0]
        if first.startswith("# file: "):
            found[first.removeprefix("# file: ")] = block
    return found


@pytest.fixture(scope="session")
def docs_catalogue() -> Catalogue:
    """``docs_catalogue(folder)``: the course catalogue of docs/specs.md written as a project
    in ``folder`` (which it returns), exactly as the docs give it."""

    def write(folder: Path) -> Path:
        for name, text in docs_files().items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return folder

    return write


def corpus_dir() -> Path | None:
    """``shared/corpus`` beside (or above) the repository, where the real projects are kept."""
    for folder in (REPO, *REPO.parents):
        candidate = folder / "shared" / "corpus"
        if candidate.is_dir() and any(candidate.glob("*.tar.xz")):
            return candidate
    return None


CORPUS_PROJECTS = (
    "trailheadapps+apex-recipes",
    "trailheadapps+easy-spaces-lwc",
    "trailheadapps+lwc-recipes",
)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``corpus(name)``: a real project of ../shared/corpus unpacked into a temporary folder
    for this run (never into the project); the tests needing it skip when the corpus is not
    on this machine."""
    import tarfile

    unpacked: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in unpacked:
            source = corpus_dir()
            if source is None:
                pytest.skip("the real projects of shared/corpus are not on this machine")
            target = tmp_path_factory.mktemp(name.replace("+", "-"))
            with tarfile.open(source / f"{name}.tar.xz") as archive:
                archive.extractall(target, filter="data")
            unpacked[name] = target
        return unpacked[name]

    return get
