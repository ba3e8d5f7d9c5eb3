"""A local org for a test session, and project folders that deploy and sync into it.

One org serves a whole pytest session: starting one takes a fraction of a second and
deploying a plugin's metadata about a second (bench/kit_org.py), so both happen once. The org
remembers which packages it took, so a second test deploying the same package sends nothing.
Records are what tests must not share: ``KitProject.reset`` empties the objects its plugins'
streams write, and each project has a folder of its own, so its own sync state (``.sftk/``).

Plugins are loaded as sftk loads them, through the ``sftk.plugins`` entry points: a plugin under
test is installed (``pip install -e .``), so what passes here is what a customer will run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
import rtoml
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from toolkit.config import CONFIG_NAME
from toolkit.deploy import commands, package
from toolkit.deploy.commands import DeployRun
from toolkit.deploy.policy import Outcome
from toolkit.deploy.report_text import report_lines
from toolkit.localorg import deploys, faults
from toolkit.localorg.org import RunningOrg, start
from toolkit.project import Project, open_project
from toolkit.salesforce.records import COLLECTION_SIZE
from toolkit.sync.engine import sync
from toolkit.sync.options import SyncOptions
from toolkit.sync.report import RunReport
from toolkit.sync.streams import all_streams

PROFILE = "local"  # the org profile every kit project names the kit's org by
MAX_PAUSE = 0.05  # seconds: the longest a retry backoff or a Bulk poll waits in a test
# Tables of sftk.toml the kit writes itself; a project's ``config`` adds any other.
OWN_TABLES = ("project", "orgs", "plugins")


class DeployFailed(AssertionError):
    """The org refused a project's metadata; the message is the deploy report."""


class KitOrg:
    """A started local org, its simple-salesforce client, and what the session deployed."""

    def __init__(self, running: RunningOrg) -> None:
        self.running = running
        self.session = requests.Session()
        self.session.verify = running.ca_bundle
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace the org's own CA
        self.sf = Salesforce(
            instance_url=running.instance_url,
            session_id=running.access_token,
            session=self.session,
            version=running.org.facts.api_version_max,
        )
        self._deployed: set[str] = set()

    @classmethod
    def start(cls, state_dir: Path) -> KitOrg:
        running = start(state_dir, port=0)
        deploys.set_component_delay(running.org, 0)  # no pacing: nobody watches a test deploy
        return cls(running)

    def stop(self) -> None:
        self.session.close()
        self.running.stop()

    @property
    def state_dir(self) -> Path:
        return self.running.org.state_dir

    def project(
        self,
        root: Path,
        plugins: Sequence[str] = (),
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> KitProject:
        """A project folder at ``root`` (made if missing) whose org profile ``local`` is this
        org; ``settings`` are the ``[plugins.NAME]`` tables, ``config`` any other tables of
        sftk.toml (``sync``, ``mappings``). Nothing is deployed yet."""
        root.mkdir(parents=True, exist_ok=True)
        return KitProject(root, self, plugins, settings or {}, config or {})

    def records(
        self, obj: str, fields: str | Sequence[str], where: str = ""
    ) -> list[dict[str, Any]]:
        """The org's records of ``obj`` as plain dicts, every page: ``fields`` as SOQL takes
        them (``"Name, Account.Ext_Id__c"`` or a list), ``where`` a SOQL condition."""
        names = fields if isinstance(fields, str) else ", ".join(fields)
        soql = f"SELECT {names} FROM {obj}" + (f" WHERE {where}" if where else "")
        return [_plain(row) for row in self.sf.query_all(soql)["records"]]

    def delete_records(self, objects: Sequence[str]) -> None:
        """Empty each object, in the order given (children before their parents); an object
        the org does not have yet is skipped."""
        for obj in objects:
            try:
                ids = [row["Id"] for row in self.records(obj, "Id")]
            except SalesforceMalformedRequest as exc:
                if "INVALID_TYPE" in str(exc.content):
                    continue
                raise
            for at in range(0, len(ids), COLLECTION_SIZE):
                answer = self.sf.restful(
                    "composite/sobjects",
                    method="DELETE",
                    params={"ids": ",".join(ids[at : at + COLLECTION_SIZE]), "allOrNone": "false"},
                )
                refused = [result for result in answer or () if not result.get("success")]
                if refused:
                    raise AssertionError(
                        f"the local org kept {len(refused)} {obj} record(s) the kit deleted: "
                        f"{refused[0].get('errors')}"
                    )

    def fault(self, route: str, kind: str, **spec: Any) -> None:
        """Make the org fail or slow down calls to ``route`` (a route name or a regular
        expression over them): ``kind`` latency, http_5xx, drop, REQUEST_LIMIT_EXCEEDED or
        UNABLE_TO_LOCK_ROW, with ``count`` calls and ``seconds`` of latency (docs/localorg.md)."""
        faults.add_fault(self.running.org, {"route": route, "kind": kind, **spec})

    def pending_faults(self) -> int:
        """Calls still to be faulted."""
        return sum(fault.remaining for fault in faults.list_faults(self.running.org))

    def clear_faults(self) -> None:
        faults.clear_faults(self.running.org)

    def deploy(self, project: Project, *, again: bool = False) -> DeployRun | None:
        """Deploy the project's package, unless this org took the same package earlier in
        the session (then None; ``again`` deploys anyway). Raises DeployFailed with the
        deploy report when the org refuses it."""
        identity = package.from_project(project).content_hash
        if identity in self._deployed and not again:
            return None
        run = commands.deploy(project, PROFILE, skip_preflight=True)
        report = run.report
        if not run.unchanged and (report is None or report.outcome is not Outcome.SUCCEEDED):
            lines = report_lines(report) if report is not None else ["nothing was deployed"]
            raise DeployFailed(
                "the project's metadata did not deploy to the local org:\n" + "\n".join(lines)
            )
        self._deployed.add(identity)
        return run


class KitProject:
    """A project folder whose org profile ``local`` is the kit's org, with the given plugins
    enabled and their settings in sftk.toml."""

    def __init__(
        self,
        root: Path,
        org: KitOrg,
        plugins: Sequence[str],
        settings: Mapping[str, Mapping[str, Any]],
        config: Mapping[str, Any],
    ) -> None:
        self.root = root
        self.org = org
        self.plugins = tuple(plugins)
        self.settings = dict(settings)
        self.config = dict(config)
        self.configure()

    def configure(
        self,
        *,
        plugins: Sequence[str] | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Change what sftk.toml says (each argument given replaces its part) and write it."""
        if plugins is not None:
            self.plugins = tuple(plugins)
        if settings is not None:
            self.settings = dict(settings)
        if config is not None:
            self.config = dict(config)
        taken = sorted(set(self.config) & set(OWN_TABLES))
        if taken:
            raise ValueError(
                f"config may not set [{taken[0]}]: the kit writes it (pass plugins and settings)"
            )
        document = {
            "project": {"name": self.root.name},
            "orgs": {PROFILE: {"kind": "local", "state": str(self.org.state_dir)}},
            "plugins": {"enabled": list(self.plugins), **self.settings},
            **self.config,
        }
        (self.root / CONFIG_NAME).write_text(rtoml.dumps(_toml(document)), encoding="utf-8")

    def open(self) -> Project:
        """The project as sftk opens it, plugins loaded afresh from their entry points."""
        return open_project(self.root)

    def deploy(self, *, again: bool = False) -> DeployRun | None:
        return self.org.deploy(self.open(), again=again)

    def reset(self) -> None:
        """Clear the org's faults and empty the objects the project's streams write
        (children first), so that the test starts from nothing."""
        self.org.clear_faults()
        streams = all_streams(self.open())
        objects = list(dict.fromkeys(planned.stream.object for planned in reversed(streams)))
        self.org.delete_records(objects)

    def sync(self, **options: Any) -> RunReport:
        """Run a sync into the kit's org (``options`` as SyncOptions takes them: plugin,
        stream, full_refresh, reconcile…) and return its report."""
        return sync(self.open(), PROFILE, SyncOptions(**options), sleep=_short_pause)

    def sftk(self, *args: str) -> list[str]:
        """The command line running ``sftk ARGS`` with this Python, as a user would."""
        return [sys.executable, "-m", "toolkit", *args]

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run ``sftk ARGS`` in the project folder, in a process of its own (``env``: more
        environment variables)."""
        return subprocess.run(
            self.sftk(*args),
            cwd=self.root,
            env={**command_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def command_env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


def _short_pause(seconds: float) -> None:
    time.sleep(min(seconds, MAX_PAUSE))


def _plain(value: Any) -> Any:
    """A record without simple-salesforce's ``attributes``, parents' included."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if k != "attributes"}
    return value


def _toml(value: Any) -> Any:
    """Settings as TOML can hold them: tables as dicts, sequences as lists, paths as text."""
    if isinstance(value, Mapping):
        return {str(k): _toml(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_toml(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
