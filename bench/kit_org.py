"""Benchmark: how fast the plugin author's kit gives a test session its local org.

Each run is a fresh Python process doing what a pytest session using sftk's fixtures does: start
the kit's org (``KitOrg.start``: SQLite store, TLS certificate, HTTPS listener) on a new folder,
then the first test's project enabling the plugin ``sftk plugin new bench`` generates (deploy its
metadata, empty its object), then a second test's project (the package remembered: only the
reset), and a first sync of the sample. Imports are timed apart: pytest pays them once per
session whatever the fixtures do. Target (issue 14): the org started in under 2 s. Results go to
docs/benchmark-kit.md.

Run: python bench/kit_org.py [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = {
    "imports": "import toolkit.testing.kit (sftk's engine, deploys, the local org)",
    "org_start": "KitOrg.start on a new folder: the org listening, ready for clients",
    "first_project": "the first test's project: metadata deployed, the object emptied",
    "session_ready": "org_start + first_project: the session's org ready for tests",
    "next_project": "every later test's project: the package remembered, the object emptied",
    "first_sync": "a sync of the 3 sample records",
}


def one_run() -> dict[str, float]:
    """A session's start, timed step by step, in this (fresh) process."""
    started = time.perf_counter()
    from toolkit.plugin_scaffold import PluginNames, new_plugin
    from toolkit.testing.kit import KitOrg

    figures = {"imports": time.perf_counter() - started}
    with tempfile.TemporaryDirectory(prefix="sftk-kit-bench-") as tmp:
        root = Path(tmp)
        names = PluginNames("bench")
        new_plugin("bench", root / "bench")
        info = root / "bench" / f"{names.package}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sftk-bench\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text(f"[sftk.plugins]\nbench = {names.package}\n")
        sys.path.insert(0, str(root / "bench"))
        clock = time.perf_counter()
        org = KitOrg.start(root / "org")
        figures["org_start"] = time.perf_counter() - clock
        try:
            for step, folder in (("first_project", "one"), ("next_project", "two")):
                clock = time.perf_counter()
                project = org.project(root / folder, ["bench"])
                project.deploy()
                project.reset()
                figures[step] = time.perf_counter() - clock
            clock = time.perf_counter()
            report = project.sync()
            figures["first_sync"] = time.perf_counter() - clock
            assert report.total("written") == 3, report.to_json()
        finally:
            org.stop()
    figures["session_ready"] = figures["org_start"] + figures["first_project"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="plugin author's kit start-up benchmark")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark-kit.md"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run()))
        return
    runs = []
    for _ in range(args.runs):
        child = subprocess.run(
            [sys.executable, __file__, "--one"], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(child.stdout.splitlines()[-1]))
    rows = [
        f"| {step} | {statistics.median(r[step] for r in runs):.2f} "
        f"| {min(r[step] for r in runs):.2f} | {max(r[step] for r in runs):.2f} | {what} |"
        for step, what in STEPS.items()
    ]
    ready = statistics.median(r["session_ready"] for r in runs)
    start = statistics.median(r["org_start"] for r in runs)
    text = "\n".join(
        [
            "# Benchmark: the plugin author's kit",
            "",
            f"Measured {dt.date.today().isoformat()} on {platform.system()} {platform.machine()},"
            f" {os.cpu_count()} cores, Python {platform.python_version()}; {args.runs} runs,"
            " each a fresh process.",
            "Command: `python bench/kit_org.py` (the module docstring says what it does).",
            "",
            "What the `sftk_org` and `sftk_project` fixtures cost a test session, in seconds,",
            "for the plugin `sftk plugin new` generates (one object, one permission set).",
            "",
            "| step | median s | best s | worst s | what |",
            "|---|---:|---:|---:|---|",
            *rows,
            "",
            f"Target: the kit's org started in under 2 s. Measured: {start:.2f} s to a listening",
            f"org, {ready:.2f} s to an org holding the plugin's metadata (median). The org is",
            "started once per session and each package deployed once; a later test pays only",
            "for emptying its objects.",
            "",
        ]
    )
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
