"""Benchmark: render + validate a synthetic project, against an lxml-only floor.

The floor is work no validator can skip: lxml parsing every rendered file and validating it
against the Metadata API schema. It is measured two ways: per file with the schema already
compiled, and end to end, compiling the schema from its cached XSD first (what an lxml-only
script has to do). sftk's full job: load the TOML specs, render the templates, write the
package atomically (``sftk render``), then schema-check every file and run every rule
(``sftk validate``). Figures and ratios go to docs/benchmarks.md.

Run: python bench/render_validate.py [--sizes 50,500,1000] [--fields 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree

from toolkit import fsio
from toolkit.metadata import manifest, rules, xmlsafe
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.model import load_model
from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema, default_cache_dir, is_xml_metadata
from toolkit.metadata.spec_loader import load_object_dir
from toolkit.project import build_package, open_project, render_project
from toolkit.validation import validate_files

STAGES = ("specs", "templates", "manifest", "write", "parse+schema", "rules")

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
    """N custom objects, each with ``fields`` fields, a lookup, a layout, a tab and access."""
    (root / "objects").mkdir(parents=True)
    (root / "sftk.toml").write_text(
        '[project]\nname = "bench"\napi_version = "63.0"\n'
        '[permission_sets.Bench_User]\nlabel = "Bench User"\n'
    )
    for index in range(objects):
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
        columns = [
            "[" + ", ".join(f'"Field_{n:03d}__c"' for n in part) + "]"
            for part in (range(half), range(half, fields))
            if part
        ]
        lines += [
            '[layouts."Main"]',
            '[[layouts."Main".sections]]',
            'label = "Fields"',
            "columns = [" + ", ".join(columns) + "]",
            "[access.Bench_User]",
            'object = ["read", "edit"]',
            'read = "*"',
            'edit = "*"',
        ]
        text = "\n".join(lines) + "\n"
        (root / "objects" / f"Bench_{index:04d}__c.toml").write_text(text)


def best_of(repeat: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def compile_seconds(schema: MetadataSchema) -> float:
    """lxml compiling the Metadata API XSD that sftk cached (build_xsd's output)."""
    xsd = next((default_cache_dir() / "schema").glob("*.xsd"))
    start = time.perf_counter()
    etree.XMLSchema(etree.parse(str(xsd), xmlsafe.parser()))
    return time.perf_counter() - start


def measure(
    objects: int, fields: int, repeat: int, schema: MetadataSchema, workdir: Path
) -> dict[str, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        make_project(root, objects, fields)
        project = open_project(root, no_plugins=True)
        package = build_package(project)
        xml_files = [f for f in package.files if is_xml_metadata(f.path)]

        def floor() -> None:
            parser = xmlsafe.parser()
            for file in xml_files:
                schema.validate_tree(etree.fromstring(file.content, parser), file.path)

        def render() -> None:
            render_project(project)

        def validate() -> None:
            report = validate_files(package.files, package.api_version, schema)
            if not report.ok:
                raise SystemExit(f"benchmark project is not clean: {report.problems[:3]}")

        def in_memory() -> None:
            validate_files(build_package(project).files, package.api_version, schema)

        stages = stage_seconds(project.config.objects_dir, package.files, schema, root, repeat)
        floor_s = best_of(repeat, floor)
        render_s = best_of(repeat, render)
        validate_s = best_of(repeat, validate)
        memory_s = best_of(repeat, in_memory)
        components = len(manifest.components_of(package.files))
    return {
        "objects": objects,
        "fields": objects * fields,
        "components": components,
        "files": len(package.files),
        "mb": sum(len(f.content) for f in package.files) / 1e6,
        "floor": floor_s,
        "render": render_s,
        "validate": validate_s,
        "full": render_s + validate_s,
        "memory": memory_s,
        **stages,
    }


def stage_seconds(
    objects_dir: Path,
    package_files: Sequence[MetadataFile],
    schema: MetadataSchema,
    root: Path,
    repeat: int,
) -> dict[str, float]:
    """Where the time goes: each step of render + validate on its own."""
    specs = load_object_dir(objects_dir)
    renderer = Renderer()
    parser = xmlsafe.parser()
    trees = {f.path: etree.fromstring(f.content, parser) for f in package_files}
    return {
        "specs": best_of(repeat, lambda: load_object_dir(objects_dir)),
        "templates": best_of(repeat, lambda: renderer.render(specs)),
        "manifest": best_of(repeat, lambda: manifest.components_of(package_files)),
        "write": best_of(repeat, lambda: fsio.write_tree_atomically(package_files, root / "w")),
        "parse+schema": best_of(
            repeat,
            lambda: [
                schema.validate_tree(etree.fromstring(f.content, parser), f.path)
                for f in package_files
            ],
        ),
        "rules": best_of(
            repeat,
            lambda: rules.check(
                package_files,
                api_version="63.0",
                model=load_model(package_files, trees),
            ),
        ),
    }


def report(rows: list[dict[str, float]], fields: int, compile_s: float, repeat: int) -> str:
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"
    header = (
        "| objects | components | files | MB | floor s | e2e floor s | render s | validate s"
        " | full s | full/floor | full/e2e floor | in-memory s | in-memory/floor | us/component |"
    )
    lines = [
        "# Benchmark: render + validate",
        "",
        f"Measured {dt.date.today().isoformat()} on {machine}, Python "
        f"{platform.python_version()}, lxml {etree.__version__}; best of {repeat} runs.",
        "Command: `python bench/render_validate.py` (the module docstring says what it does).",
        "",
        f"Projects of N custom objects x {fields} fields (8 field types in turn), a lookup to",
        "the previous object, a two-column layout, a tab, and one permission set over all of",
        "them.",
        "",
        "- **floor**: lxml parsing and schema-validating every rendered file, schema compiled.",
        f"- **e2e floor**: the same plus lxml compiling the schema ({compile_s:.2f} s), which an",
        "  lxml-only check must also do.",
        "- **render**: `sftk render` (load specs, render templates, write the folder atomically).",
        "- **validate**: `sftk validate` (schema-check every file, run all rules).",
        "- **full** = render + validate. **in-memory**: build and validate without writing files.",
        "",
        header,
        "|" + "---:|" * 15,
    ]
    for r in rows:
        e2e = r["floor"] + compile_s
        lines.append(
            f"| {r['objects']:.0f} | {r['components']:.0f} | {r['files']:.0f} | {r['mb']:.1f}"
            f" | {r['floor']:.3f} | {e2e:.3f} | {r['render']:.3f} | {r['validate']:.3f}"
            f" | {r['full']:.3f} | {r['full'] / r['floor']:.1f} | {r['full'] / e2e:.1f}"
            f" | {r['memory']:.3f} | {r['memory'] / r['floor']:.1f}"
            f" | {r['full'] / r['components'] * 1e6:.0f} |"
        )
    per = [r["full"] / r["components"] * 1e6 for r in rows]
    lines += [
        "",
        "Where the time goes (seconds, each step measured on its own):",
        "",
        "| objects | " + " | ".join(STAGES) + " |",
        "|" + "---:|" * (len(STAGES) + 1),
    ]
    lines += [
        f"| {r['objects']:.0f} | " + " | ".join(f"{r[s]:.3f}" for s in STAGES) + " |" for r in rows
    ]
    worst = max(r["full"] / r["floor"] for r in rows)
    worst_e2e = max(r["full"] / (r["floor"] + compile_s) for r in rows)
    verdict = "met" if worst <= 3 else "not met"
    lines += [
        "",
        f"Target (render + validate within 3x of the floor): **{verdict}**; worst ratio "
        f"{worst:.1f}x against the per-file floor, {worst_e2e:.1f}x against the end-to-end floor.",
        "",
        f"Growth: {min(per):.0f} to {max(per):.0f} us per component from the smallest to the",
        "largest project, i.e. linear in the number of components.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="render + validate benchmark")
    parser.add_argument("--sizes", default="50,500,1000")
    parser.add_argument("--fields", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".bench"),
        help="where the synthetic projects are written (a project's own disk, not /tmp)",
    )
    args = parser.parse_args()
    schema = MetadataSchema.load()
    compile_s = min(compile_seconds(schema) for _ in range(args.repeat))
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.fields, args.repeat, schema, args.workdir)
        print(row, file=sys.stderr)
        rows.append(row)
    text = report(rows, args.fields, compile_s, args.repeat)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
