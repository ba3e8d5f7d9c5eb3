"""Benchmark: the LMS plugin syncing a OneRoster 1.1 bulk export into the local org.

A synthetic school: 10,000 learners, 500 courses, 1,000 offerings in the current term and
200,000 enrollments (and so 200,000 Enrolled events), written as OneRoster CSV. The local
org runs in a child process; ``sftk deploy`` then ``sftk sync`` run as a user runs them, each
a process of its own whose peak memory is read from the kernel (ru_maxrss). Measured: the
first sync (records per second, API calls by kind, peak RSS) and an unchanged second run
(its time and write calls: target 0). Targets as in the sync engine's benchmark
(docs/benchmark-sync.md): the plugin's source must not make the engine's numbers worse.

Run: python bench/lms.py [--learners 10000 --courses 500 --offerings 1000
                          --enrollments 200000]
Results go to docs/benchmark-lms.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from localorg_data import serve
from sync import sftk_sync

ADMIN_EMAIL = "admin@local.sftk"  # the local org's user, the roster's administrator
CONFIG = """
[project]
name = "lmsbench"
api_version = "66.0"

[orgs.bench]
kind = "sandbox"
auth = "local"
state = {state}

[plugins]
enabled = ["lms"]

[plugins.lms]
oneroster = "oneroster"
"""
TABLES = {
    "academicSessions": ["sourcedId", "status", "dateLastModified", "title", "type",
                         "startDate", "endDate", "parentSourcedId", "schoolYear"],
    "orgs": ["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
             "parentSourcedId"],
    "courses": ["sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title",
                "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"],
    "classes": ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
                "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds",
                "subjects", "subjectCodes", "periods"],
    "users": ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role",
              "username", "userIds", "givenName", "familyName", "middleName", "identifier",
              "email", "sms", "phone", "agentSourcedIds", "grades", "password"],
    "enrollments": ["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role",
                    "status", "dateLastModified", "primary", "beginDate", "endDate"],
}  # fmt: skip


def write_table(folder: Path, name: str, rows: Any) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLES[name], restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_school(
    folder: Path, learners: int, courses: int, offerings: int, enrollments: int
) -> None:
    folder.mkdir(parents=True)
    today = dt.datetime.now(dt.UTC).date()
    modes = [{"propertyName": "manifest.version", "value": "1.0"},
             {"propertyName": "oneroster.version", "value": "1.1"}]  # fmt: skip
    modes += [{"propertyName": f"file.{t}", "value": "bulk"} for t in TABLES]
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["propertyName", "value"])
        writer.writeheader()
        writer.writerows(modes)
    start, end = (
        (today - dt.timedelta(days=30)).isoformat(),
        (today + dt.timedelta(days=90)).isoformat(),
    )
    write_table(folder, "orgs", [{"sourcedId": "org-1", "name": "Bench School", "type": "school"}])
    write_table(folder, "academicSessions", [
        {"sourcedId": "term-1", "title": "Current Term", "type": "term", "startDate": start,
         "endDate": end, "schoolYear": str(today.year)}
    ])  # fmt: skip
    write_table(folder, "courses", (
        {"sourcedId": f"crs-{n}", "title": f"Course {n}", "courseCode": f"C-{n:05d}",
         "orgSourcedId": "org-1"} for n in range(courses)
    ))  # fmt: skip
    write_table(folder, "classes", (
        {"sourcedId": f"cls-{n}", "title": f"Course {n % courses} section {n // courses}",
         "courseSourcedId": f"crs-{n % courses}", "schoolSourcedId": "org-1",
         "termSourcedIds": "term-1"} for n in range(offerings)
    ))  # fmt: skip
    users = [{"sourcedId": "adm-1", "role": "administrator", "givenName": "Local",
              "familyName": "Admin", "email": ADMIN_EMAIL, "orgSourcedIds": "org-1"}]  # fmt: skip
    users += (
        {"sourcedId": f"stu-{n}", "role": "student", "givenName": f"Learner{n}",
         "familyName": f"Family{n % 997}", "email": f"learner{n}@bench.example",
         "orgSourcedIds": "org-1", "enabledUser": "true"} for n in range(learners)
    )  # fmt: skip
    write_table(folder, "users", users)
    per_learner = max(1, enrollments // learners)
    write_table(folder, "enrollments", (
        {"sourcedId": f"enr-{n}", "classSourcedId": f"cls-{(n * 7919) % offerings}",
         "schoolSourcedId": "org-1", "userSourcedId": f"stu-{n // per_learner % learners}",
         "role": "student", "beginDate": start} for n in range(enrollments)
    ))  # fmt: skip


def sftk(project: Path, *args: str) -> None:
    exe = Path(sys.executable).with_name("sftk")
    result = subprocess.run(
        [str(exe), *args], cwd=project, capture_output=True, text=True,
        env={**os.environ, "NO_COLOR": "1"}, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"sftk {' '.join(args)} exited {result.returncode}: {result.stderr}")


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    state = workdir / "org"
    org = context.Process(target=serve, args=(state, queue, stop))
    org.start()
    try:
        queue.get(timeout=60)
        project = workdir / "project"
        write_school(project / "oneroster", args.learners, args.courses, args.offerings,
                     args.enrollments)  # fmt: skip
        (project / "sftk.toml").write_text(CONFIG.format(state=json.dumps(str(state))))
        sftk(project, "deploy", "--org", "bench", "--skip-preflight")
        first_seconds, first_rss, first = sftk_sync(project)
        second_seconds, second_rss, second = sftk_sync(project)
    finally:
        stop.set()
        org.join(timeout=120)
    written = first["totals"]["written"]
    return {
        "first": {
            "seconds": round(first_seconds, 1),
            "written": written,
            "records_per_second": round(written / first_seconds),
            "api_calls": first["api_calls"],
            "streams": {s["stream"]: [s["written"], s["method"]] for s in first["streams"]},
            "peak_rss_mb": round(first_rss),
        },
        "second": {
            "seconds": round(second_seconds, 1),
            "write_calls": sum(
                v for k, v in second["api_calls"].items() if k in ("collections", "bulk")
            ),
            "api_calls": second["api_calls"],
            "peak_rss_mb": round(second_rss),
        },
    }


def write_results(args: argparse.Namespace, found: dict[str, Any]) -> Path:
    first, second = found["first"], found["second"]
    calls = ", ".join(f"{k} {v}" for k, v in sorted(first["api_calls"].items()))
    streams = "\n".join(
        f"| {name} | {count:,} | {method} |" for name, (count, method) in first["streams"].items()
    )
    ratio = second["seconds"] / first["seconds"] if first["seconds"] else 0.0
    text = f"""# Benchmark: the LMS plugin, OneRoster into the local org

`python bench/lms.py` (bench/lms.py says what it does), {dt.date.today().isoformat()}, on
{platform.machine()} with {os.cpu_count()} cores shared with other work, Python
{platform.python_version()}.

A OneRoster 1.1 bulk export of {args.learners:,} learners, {args.courses:,} courses,
{args.offerings:,} offerings (all in the current term) and {args.enrollments:,} enrollments,
synced by `sftk sync --org bench` (the plugin's preflight, its five streams, parents first)
into a local org running in another process.

## First sync

| stream | records written | how |
|---|---:|---|
{streams}

- {first["written"]:,} records in {first["seconds"]} s: **{first["records_per_second"]:,}
  records/s** end to end (reading and applying the export included).
- API calls by kind: {calls}.
- Peak memory of `sftk sync`: **{first["peak_rss_mb"]} MB**.

## Second sync, nothing changed

- {second["seconds"]} s ({ratio:.0%} of the first), **{second["write_calls"]} write calls**
  (target: 0); peak memory {second["peak_rss_mb"]} MB.

Each stream above the sync's `bulk_threshold` (2,000 changed records) went through one Bulk
API 2.0 job; the second run reads the export again, applies it to the plugin's kept state
(nothing changes) and finds every record unchanged by its content hash.
"""
    target = Path(__file__).resolve().parent.parent / "docs" / "benchmark-lms.md"
    target.write_text(text, encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--offerings", type=int, default=1_000)
    parser.add_argument("--enrollments", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sftk-lms-bench-") as tmp:
        started = time.perf_counter()
        found = measure(args, Path(tmp))
    print(json.dumps(found, indent=2))
    print(f"written to {write_results(args, found)} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
