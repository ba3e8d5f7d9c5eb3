"""Benchmark: the local org's data APIs under simple-salesforce, as a sync engine uses them.

A 15-field custom object with an external ID is deployed to a fresh local org; then N records
are upserted through sObject Collections (200 a call), upserted again through Bulk API 2.0,
and read back with a paged query (2,000 a page). Results go to
docs/benchmark-localorg-data.md. Targets (issue 4, for 100,000 records): 2,000 records/s with
collections, 5,000 records/s with Bulk API 2.0, 10,000 records/s querying.

Run: python bench/localorg_data.py [--records 20000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import platform
import resource
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


def run(records: int, workdir: Path) -> dict[str, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        org = start(Path(tmp) / "state")
        try:
            deploys.set_component_delay(org.org, 0)
            session = requests.Session()
            session.verify = org.ca_bundle
            session.trust_env = False
            sf = Salesforce(
                instance_url=org.instance_url,
                session_id=org.access_token,
                session=session,
                version="63.0",
            )
            deploy_id = str(sf.deploy(io.BytesIO(package()), sandbox=True)["asyncId"])
            while sf.checkDeployStatus(deploy_id)["state"] not in ("Succeeded", "Failed"):
                time.sleep(0.1)
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
        finally:
            org.stop()
    return {
        "records": records,
        "collections_rps": records / collections_s,
        "bulk_rps": records / bulk_s,
        "query_rps": records / query_s,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="local org data API benchmark")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark-localorg-data.md"))
    args = parser.parse_args()
    r = run(args.records, args.workdir)
    text = "\n".join(
        [
            "# Benchmark: the local org's data APIs",
            "",
            f"Measured {dt.date.today().isoformat()} on {platform.system()} {platform.machine()},"
            f" {os.cpu_count()} cores, Python {platform.python_version()}; server and client in",
            "one process (the client's work counts against the same 2 cores).",
            "Command: `python bench/localorg_data.py --records 100000` (see the module docstring).",
            "",
            "| records | collections upsert rec/s | Bulk 2.0 upsert rec/s | query rec/s"
            " | max RSS MB |",
            "|---:|---:|---:|---:|---:|",
            f"| {r['records']:.0f} | {r['collections_rps']:.0f} | {r['bulk_rps']:.0f}"
            f" | {r['query_rps']:.0f} | {r['max_rss_mb']:.0f} |",
            "",
            "Targets (issue 4, 100,000 records): 2,000 / 5,000 / 10,000 records/s.",
            "",
        ]
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
