"""How many requests a small deploy costs, by kind, polling included.

A fresh local org (deploys paced at 0.3 s per component, so polling happens as it would
against a real org) takes a sandbox-profile deploy of `sftk init`'s starter project the way
`sftk deploy --org local` runs it: the preflight, the retrieve that is both the plan and the
snapshot, then the deploy. The same deploy runs a second time, when the org already has the
package and nothing is sent. Every HTTP request is counted by a response hook on the session:
SOAP calls by operation, REST calls by method and path. Results go to docs/deploy-requests.md.

Run: python bench/deploy_requests.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from toolkit.deploy import package
from toolkit.deploy.history import DeployHistory
from toolkit.deploy.plan import make_plan
from toolkit.deploy.preflight import run_preflight
from toolkit.deploy.retrieval import Retriever
from toolkit.deploy.runner import Deployer, options_for
from toolkit.deploy.snapshots import SnapshotStore
from toolkit.localorg import deploys
from toolkit.localorg.org import start
from toolkit.metadata.schema import bundled_wsdl_path, wsdl_api_version
from toolkit.project import open_project
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.metadata_client import MetadataClient
from toolkit.scaffold import init_project

_SOAP_OPERATION = re.compile(rb"<(?:\w+:)?Body><(?:\w+:)?(\w+)")
_ID = re.compile(r"/[0-9A-Za-z]{15,18}(?=/|$)")


def kind_of(answer: requests.Response) -> str:
    request = answer.request
    body = request.body if isinstance(request.body, bytes) else b""
    found = _SOAP_OPERATION.search(body)
    if found:
        return f"SOAP {found.group(1).decode()}"
    path = (request.path_url or "").split("?", 1)[0]
    path = re.sub(r"/v\d+\.\d", "/vXX.X", _ID.sub("/{id}", path))
    if "/query" in path:
        path += "?q=" + ("ApexOrgWideCoverage" if "Apex" in (request.path_url or "") else "…")
    return f"{request.method} {path}"


def run(workdir: Path) -> tuple[Counter[str], Counter[str]]:
    first: Counter[str] = Counter()
    second: Counter[str] = Counter()
    counts = first
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        init_project(
            root / "demo",
            api_version=wsdl_api_version(bundled_wsdl_path()),
            installed_plugins=[],
            force=False,
        )
        project = open_project(root / "demo", no_plugins=True)
        org = start(root / "org")
        try:
            deploys.set_component_delay(org.org, 0.3)
            session = requests.Session()
            session.verify = org.ca_bundle
            session.trust_env = False

            def count(answer: requests.Response, *args: Any, **kwargs: Any) -> None:
                counts[kind_of(answer)] += 1

            state = root / "state"

            session.hooks["response"].append(count)
            conn = OrgConnection(
                "sandbox", "sandbox", org.instance_url, org.access_token, "63.0", session
            )
            profile = next(o for o in project.config.orgs if o.name == "local")
            client = MetadataClient(conn)
            deployer = Deployer(client, DeployHistory(state), "local", project.config.coverage)
            options = options_for(
                "sandbox", check_only=False, test_level=None, tests=(), ignore_warnings=False
            )
            pkg = package.from_project(project)
            for counted in (first, second):
                counts = counted
                run_preflight(conn, profile, project.config.coverage)
                plan = make_plan(Retriever(client, "63.0"), pkg)
                if not plan.effective:
                    continue  # the org has it all: nothing is sent
                snapshot = plan.snapshot("deploy", conn, "now", pkg)
                SnapshotStore(state).save(snapshot, plan.retrieved.zips)
                report = deployer.deploy(pkg, options, wait_minutes=5)
                assert report.outcome.value == "succeeded", report
        finally:
            org.stop()
    return first, second


def main() -> None:
    parser = argparse.ArgumentParser(description="requests per small deploy")
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--out", type=Path, default=Path("docs/deploy-requests.md"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    first, second = run(args.workdir)
    kinds = sorted(set(first) | set(second))
    lines = [
        "# Requests per deploy",
        "",
        f"Measured {dt.date.today().isoformat()} with `python bench/deploy_requests.py`: the",
        "preflight, the retrieve that is both plan and snapshot, and a sandbox deploy of",
        "`sftk init`'s starter project to a local org pacing deploys at 0.3 s per component",
        "(polling starts at 1 s and backs off to 10 s); then the same deploy again, when the",
        "org already has the package.",
        "",
        "| request | first deploy | same package again |",
        "|---|---:|---:|",
        *(f"| `{kind}` | {first[kind]} | {second[kind]} |" for kind in kinds),
        f"| **total** | **{sum(first.values())}** | **{sum(second.values())}** |",
        "",
        "The deploy is submitted once; every other deploy call is a status poll. The snapshot",
        "costs one retrieve and its polls; the second run sends no deploy at all.",
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
