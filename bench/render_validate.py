"""Benchmark: render + validate a synthetic project against the lxml-only floor.

The floor is what no validator can beat: lxml parsing every rendered file and validating it
against the compiled Metadata API schema. sftk's full job on top of that loads the TOML specs,
renders the templates, writes the package atomically, and checks the schema and every rule.
Results (seconds, per-component cost, ratio to the floor, growth) go to docs/benchmarks.md.

Run: python bench/render_validate.py [--sizes 50,500,1000] [--fields 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from toolkit.metadata import manifest, xmlsafe
from toolkit.metadata.schema import MetadataSchema, is_xml_metadata
from toolkit.project import build_package, open_project, render_project
from toolkit.validation import validate_files

FIELD_KINDS = (
    'type = "Text"\nlength = 80',
    'type = "Number"\nprecision = 10\nscale = 2',
    'type = "Checkbox"',
    'type = "Date"',
    'type = "Picklist"\nvalues = ["A", "B", "C"]\ndefault = "A"',
    'type = "LongTextArea"\nlength = 32768\nvisible_lines = 4',
    'type = "Email"',
    'type = "Currency"\nprecision = 12\nscale = 2',
)


def make_project(root: Path, objects: int, fields: int) -> None:
    (root / "objects").mkdir(parents=True)
    (root / "sftk.toml").write_text(
        '[project]\nname = "bench"\napi_version = "63.0"\n'
        '[permission_sets.Bench_User]\nlabel = "Bench User"\n'
    )
    for index in range(objects):
        name = f"Bench_{index:04d}__c"
        lines = [f'label = "Bench {index}"', f'plural_label = "Benches {index}"', "[tab]"]
        for number in range(fields):
            lines.append(f"[fields.Field_{number:03d}__c]")
            lines.append(FIELD_KINDS[number % len(FIELD_KINDS)])
            lines.append(f'label = "Field {number}"')
        if index:
            lines += [
                "[fields.Parent__c]",
                'type = "Lookup"',
                f'reference_to = "Bench_{index - 1:04d}__c"',
                f'relationship_name = "Children_{index:04d}"',
            ]
        half = max(1, fields // 2)
        lines += [
            '[layouts."Main"]',
            '[[layouts."Main".sections]]',
            'label = "Fields"',
            "columns = ["
            + ", ".join(
                "[" + ", ".join(f'"Field_{n:03d}__c"' for n in part) + "]"
                for part in (range(half), range(half, fields))
                if part
            )
            + "]",
            "[access.Bench_User]",
            'object = ["read", "edit"]',
            'read = "*"',
            'edit = "*"',
        ]
        (root / "objects" / f"{name}.toml").write_text("\n".join(lines) + "\n")


def best_of(repeat: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(objects: int, fields: int, repeat: int, schema: MetadataSchema) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, objects, fields)
        project = open_project(root, no_plugins=True)
        package = build_package(project)
        xml_files = [f for f in package.files if is_xml_metadata(f.path)]

        def floor() -> None:
            for file in xml_files:
                schema.validate_tree(etree.fromstring(file.content, xmlsafe.parser()), file.path)

        def full() -> None:
            result = render_project(project)
            report = validate_files(result.package.files, package.api_version, schema)
            if not report.ok or not result.files:
                raise SystemExit(f"benchmark project is not clean: {report.problems[:3]}")

        components = len(manifest.components_of(package.files))
        floor_s = best_of(repeat, floor)
        full_s = best_of(repeat, full)
        size = sum(len(f.content) for f in package.files)
    return {
        "objects": objects,
        "fields": objects * fields,
        "components": components,
        "files": len(package.files),
        "bytes": size,
        "floor_s": floor_s,
        "full_s": full_s,
        "ratio": full_s / floor_s,
        "us_per_component": full_s / components * 1e6,
    }


def report(rows: list[dict[str, float]], fields: int) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Benchmark: render + validate",
        "",
        f"Measured {dt.date.today().isoformat()} on {platform.system()} {platform.machine()}"
        f" ({cpu}), {os.cpu_count()} cores, Python {platform.python_version()}; best of the repeats.",
        "Command: `python bench/render_validate.py` (see its docstring).",
        "",
        f"Synthetic projects of N custom objects x {fields} fields (8 field types in turn),",
        "a lookup to the previous object, one two-column layout, a tab and a permission set granting all",
        "fields. **Full** = `sftk render` (load specs, render, write atomically) plus",
        "`sftk validate` (build the package, schema-validate every file, run every rule). **Floor** = lxml alone",
        "parsing and schema-validating the same rendered files with the already compiled schema.",
        "",
        "| objects | fields | components | files | MB | floor s | full s | full / floor |"
        " µs per component |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['objects']:.0f} | {r['fields']:.0f} | {r['components']:.0f} | {r['files']:.0f} |"
            f" {r['bytes'] / 1e6:.1f} | {r['floor_s']:.2f} | {r['full_s']:.2f} | {r['ratio']:.2f} |"
            f" {r['us_per_component']:.0f} |"
        )
    per = [r["us_per_component"] for r in rows]
    lines += [
        "",
        f"Growth: cost per component stays between {min(per):.0f} and {max(per):.0f} µs across "
        f"sizes (spread {(max(per) - min(per)) / statistics.mean(per) * 100:.0f}% of the mean), "
        "i.e. linear.",
        "Target: full within 3x of the floor; measured "
        f"{max(r['ratio'] for r in rows):.2f}x at worst.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500,1000")
    parser.add_argument("--fields", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    schema = MetadataSchema.load()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.fields, args.repeat, schema)
        print(row, file=sys.stderr)
        rows.append(row)
    text = report(rows, args.fields)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
