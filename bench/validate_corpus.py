"""Benchmark: ``sftk validate`` on real projects that deploy, against an lxml-only floor.

Every project here deploys cleanly to real orgs, so every error sftk reports on one is a false
error; the target is none. Each project is also validated with one real mistake seeded at a
time (a misspelled element, an unknown field type, a non-boolean in a boolean, a value outside
an enumeration, a repeated element split by another), each of which must come back as an
error naming its file and line.

The projects are the archives of ``../shared/corpus`` (found from the repository upwards, or
``--corpus``), unpacked into a temporary folder at run time and never copied into the
project, plus any archive or folder given with ``--also`` (more real projects; the report
names them).

The floor is what an lxml-only check of the same XML files cannot skip: reading and parsing
each file and validating it against the compiled Metadata API schema (**floor**), plus
compiling that schema from sftk's cached XSD (**e2e floor**). sftk's figure (**validate**) is
``validate_folder`` in this process with the schema loaded cold (read from its cache and
compiled again): reading the project, sfdx-project.json and .forceignore, every rule and the
reader over every XML file. **CLI** is ``sftk validate DIR --json`` as a separate process.

Printing: a synthetic project with 20,000 problems is validated, and its report formatted as
the CLI prints it (text and JSON); the target is formatting within 10% of the check.

Figures go to docs/benchmark-validate-corpus.md.

Run: python bench/validate_corpus.py [--also ARCHIVE_OR_DIR ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lxml import etree

from toolkit.cli import project as cli_project
from toolkit.cli.common import emit_json
from toolkit.metadata import schema as schema_module
from toolkit.metadata import xmlsafe
from toolkit.metadata.schema import (
    MetadataSchema,
    is_xml_metadata,
    version_key,
)
from toolkit.validation import ValidationReport, read_metadata_folder, validate_folder

REPO = Path(__file__).resolve().parents[1]
TARGET_FILES = 12_000  # the project size the issue sets its 3x target for

# Where each project came from. The shared corpus says so in its README; the others (given
# with --also) were packed the same way, from a clone at that commit:
#   git archive --format=tar COMMIT sfdx-project.json LICENSE* .forceignore DIRS | xz > NAME.tar.xz
# with DIRS the packageDirectories of its sfdx-project.json.
SOURCES = {
    "trailheadapps+apex-recipes": "github.com/trailheadapps/apex-recipes @ 94e0020",
    "trailheadapps+easy-spaces-lwc": "github.com/trailheadapps/easy-spaces-lwc @ 584ef53",
    "trailheadapps+lwc-recipes": "github.com/trailheadapps/lwc-recipes @ 3c27819",
    "trailheadapps+dreamhouse-lwc": "github.com/trailheadapps/dreamhouse-lwc @ 9f41bff",
    "trailheadapps+ebikes-lwc": "github.com/trailheadapps/ebikes-lwc @ 4b9e2bc",
    "trailheadapps+coral-cloud": "github.com/trailheadapps/coral-cloud @ a25e9ac",
    "SalesforceFoundation+EDA": "github.com/SalesforceFoundation/EDA @ e593957",
    "SalesforceFoundation+NPSP": "github.com/SalesforceFoundation/NPSP @ 19646fa",
}
PRINT_PROBLEMS = 20_000


# --- the projects ---------------------------------------------------------------------------


def find_corpus() -> Path | None:
    for folder in (REPO, *REPO.parents):
        candidate = folder / "shared" / "corpus"
        if candidate.is_dir():
            return candidate
    return None


def unpack(source: Path, into: Path) -> Path:
    """A copy of the project under ``into`` (the seeded mistakes are written into it): the
    folder copied, or the archive unpacked (safely)."""
    target = into / source.name.split(".tar")[0]
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
        return target
    target.mkdir(parents=True)
    with tarfile.open(source) as archive:
        archive.extractall(target, filter="data")
    entries = list(target.iterdir())
    # An archive holding one folder (a project packed with its folder) is that folder.
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


# A phrase each licence text has, and the licence's SPDX name.
LICENCE_PHRASES = (
    ("Creative Commons", "CC0-1.0"),
    ("Apache License", "Apache-2.0"),
    ("Neither the name", "BSD-3-Clause"),
    ("Permission is hereby granted, free of charge", "MIT"),
)


def licence_of(project: Path) -> str:
    for candidate in sorted(project.iterdir()):
        if candidate.name.upper().startswith("LICEN"):
            text = " ".join(candidate.read_text(encoding="utf-8", errors="replace").split())
            for phrase, name in LICENCE_PHRASES:
                if phrase in text:
                    return name
            return candidate.name
    return "?"


# --- timing ---------------------------------------------------------------------------------


def best_of(repeat: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def fresh_schema(api_version: str | None) -> MetadataSchema:
    """The schema as a fresh ``sftk validate`` gets it: from the cache, not yet compiled."""
    schema_module._MEMO.clear()
    return MetadataSchema.for_version(api_version)


# --- seeded mistakes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """One real mistake put into one file of a project: where it must be reported."""

    kind: str
    path: str
    text: str  # the file with the mistake
    line: int


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _replace_first(
    files: list[tuple[str, str]], pattern: str, make: Callable[[re.Match[str]], str]
) -> tuple[str, str, int] | None:
    """In the first file with a match: the file's path, its text with the match replaced, and
    the match's line."""
    compiled = re.compile(pattern)
    for path, text in files:
        match = compiled.search(text)
        if match:
            changed = text[: match.start()] + make(match) + text[match.end() :]
            return path, changed, _line_of(text, match.start())
    return None


def _split_group(files: list[tuple[str, str]]) -> tuple[str, str, int] | None:
    """Move the second of two same-named siblings past the next sibling of another name."""
    for path, text in files:
        try:
            root = etree.fromstring(text.encode(), xmlsafe.parser())
        except etree.XMLSyntaxError:
            continue
        tree = root.getroottree()
        for parent in root.iter(tag=etree.Element):
            kids = [c for c in parent if isinstance(c.tag, str)]
            for first, second, other in zip(kids, kids[1:], kids[2:], strict=False):
                if first.tag == second.tag != other.tag:
                    other.addnext(second)  # its tail moves with it
                    where = tree.getpath(second)
                    changed = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
                    moved = etree.fromstring(changed, xmlsafe.parser()).getroottree().xpath(where)
                    assert isinstance(moved, list) and isinstance(moved[0], etree._Element)
                    line = cast("int | None", moved[0].sourceline)
                    return path, changed.decode("utf-8"), line or 0
    return None


def seeds(project: Path, paths: list[str]) -> list[Seed]:
    """One seed of each kind, each in the first file of the project where it fits."""
    texts = []
    for path in paths:
        with contextlib.suppress(UnicodeDecodeError):
            texts.append((path, (project / path).read_text(encoding="utf-8")))
    fields = [(p, t) for p, t in texts if "<CustomField" in t or "<fields>" in t]
    found: list[tuple[str, tuple[str, str, int] | None]] = [
        (
            "misspelled element",
            _replace_first(fields, r"<label>(.*?)</label>", lambda m: f"<lable>{m[1]}</lable>"),
        ),
        (
            "unknown field type",
            _replace_first(
                fields,
                r"<type>(Text|Number|Checkbox|Picklist|Lookup)</type>",
                lambda m: "<type>Txet</type>",
            ),
        ),
        (
            "non-boolean in a boolean",
            _replace_first(
                fields,
                r"<(required|externalId|unique)>(true|false)</\1>",
                lambda m: f"<{m[1]}>maybe</{m[1]}>",
            ),
        ),
        (
            "value outside an enumeration",
            _replace_first(
                texts,
                r"<(sharingModel|behavior|deploymentStatus)>\w+</\1>",
                lambda m: f"<{m[1]}>Everything</{m[1]}>",
            ),
        ),
        ("repeated element split by another", _split_group(texts)),
    ]
    return [Seed(kind, *where) for kind, where in found if where is not None]


def caught(report: ValidationReport, seed: Seed) -> str:
    """How the seeded mistake came back on its file and line: "error", "warning" or ""."""
    found = {p.severity for p in report.problems if (p.file, p.line) == (seed.path, seed.line)}
    return "error" if "error" in found else "warning" if found else ""


# --- one project ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    licence: str
    files: int
    xml_files: int
    api_version: str
    schema_version: str
    errors: int
    warnings: int
    floor: float
    compile: float
    validate: float
    warm: float
    cli: float
    seeds: list[tuple[str, str, str]] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)

    @property
    def e2e_floor(self) -> float:
        return self.floor + self.compile


def measure(name: str, project: Path, repeat: int) -> Row:
    found = read_metadata_folder(project)
    xml = [project / f.path for f in found.files if is_xml_metadata(f.path)]
    schema = MetadataSchema.for_version(found.api_version)
    schema.errors(etree.fromstring(b"<x/>"))  # compiled now, outside the floor's time
    compiled = schema._strict_schema()

    def floor() -> None:
        parser = xmlsafe.parser()
        for path in xml:
            with contextlib.suppress(etree.XMLSyntaxError):
                compiled.validate(etree.parse(str(path), parser))

    compile_s = best_of(
        repeat, lambda: etree.XMLSchema(etree.fromstring(schema.xsd, xmlsafe.parser()))
    )
    report: list[ValidationReport] = []

    def validate() -> None:
        fresh_schema(found.api_version)
        report[:] = [validate_folder(project)]

    floor_s = best_of(repeat, floor)
    validate_s = best_of(repeat, validate)
    warm_s = best_of(repeat, lambda: validate_folder(project))  # the schema compiled already
    sftk = shutil.which("sftk", path=os.path.dirname(sys.executable)) or "sftk"
    env = {**os.environ, "NO_COLOR": "1"}
    cli_s = best_of(
        repeat,
        lambda: subprocess.run(
            [sftk, "validate", str(project), "--json"], env=env, stdout=subprocess.DEVNULL
        ),
    )
    (result,) = report
    errors = [p for p in result.problems if p.severity == "error"]
    row = Row(
        name=name,
        licence=licence_of(project),
        files=len(found.files),
        xml_files=len(xml),
        api_version=result.api_version,
        schema_version=result.schema_version,
        errors=len(errors),
        warnings=len(result.problems) - len(errors),
        floor=floor_s,
        compile=compile_s,
        validate=validate_s,
        warm=warm_s,
        cli=cli_s,
        first_errors=[f"{p.file}:{p.line}: {p.message}" for p in errors[:5]],
    )
    for seed in seeds(project, [f.path for f in found.files if is_xml_metadata(f.path)]):
        target = project / seed.path
        original = target.read_bytes()
        target.write_text(seed.text, encoding="utf-8")
        try:
            seeded = validate_folder(project)
        finally:
            target.write_bytes(original)
        row.seeds.append((seed.kind, f"{seed.path}:{seed.line}", caught(seeded, seed)))
    return row


# --- printing many problems -------------------------------------------------------------------


def many_problems(root: Path, problems: int) -> Path:
    """A metadata folder whose layouts name ``problems`` fields its one object lacks."""
    md = "http://soap.sforce.com/2006/04/metadata"
    (root / "objects").mkdir(parents=True)
    (root / "layouts").mkdir()
    (root / "objects" / "Probe__c.object").write_text(
        f'<?xml version="1.0"?>\n<CustomObject xmlns="{md}">\n'
        "    <deploymentStatus>Deployed</deploymentStatus>\n    <label>Probe</label>\n"
        "    <nameField>\n        <label>Probe Name</label>\n        <type>Text</type>\n"
        "    </nameField>\n    <pluralLabel>Probes</pluralLabel>\n"
        "    <sharingModel>ReadWrite</sharingModel>\n</CustomObject>\n"
    )
    per_layout = 10
    for number in range(problems // per_layout):
        items = "".join(
            f"            <layoutItems>\n                <behavior>Edit</behavior>\n"
            f"                <field>Missing_{number}_{item}__c</field>\n"
            "            </layoutItems>\n"
            for item in range(per_layout)
        )
        (root / "layouts" / f"Probe__c-Layout {number}.layout").write_text(
            f'<?xml version="1.0"?>\n<Layout xmlns="{md}">\n    <layoutSections>\n'
            "        <label>Probe</label>\n        <layoutColumns>\n"
            f"{items}        </layoutColumns>\n        <style>OneColumn</style>\n"
            "    </layoutSections>\n</Layout>\n"
        )
    return root


def printing(root: Path, repeat: int) -> dict[str, float]:
    folder = many_problems(root, PRINT_PROBLEMS)
    report: list[ValidationReport] = []
    check_s = best_of(repeat, lambda: report.__setitem__(slice(None), [validate_folder(folder)]))
    (result,) = report
    target = str(folder)

    def text() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            cli_project._print_report(result, target)

    def as_json() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            emit_json(cli_project._report_json(result, target))

    return {
        "problems": float(len(result.problems)),
        "check": check_s,
        "text": best_of(repeat, text),
        "json": best_of(repeat, as_json),
    }


# --- the report -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def write_report(rows: list[Row], prints: dict[str, float], repeat: int, also: list[str]) -> str:
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"
    lines = [
        "# Benchmark: `sftk validate` on real projects",
        "",
        f"Measured {dt.date.today().isoformat()} on {machine}, Python "
        f"{platform.python_version()}, lxml {etree.__version__}; best of {repeat} runs.",
        "Command: `python bench/validate_corpus.py"
        + "".join(f" --also {Path(a).name}" for a in also)
        + "` (the module docstring says what it does).",
        "",
        "Every project deploys cleanly to real orgs: each error is a false error. **floor**:",
        "lxml reading, parsing and schema-validating the project's XML files, schema compiled;",
        "**e2e floor**: plus compiling the schema from sftk's cached XSD. **validate**:",
        "`validate_folder` in this process, schema loaded cold (compiled again, as by a new",
        "process), against the e2e floor; **warm**: the same with the schema compiled already,",
        "against the floor; **CLI**: `sftk validate DIR --json` as a process (start-up",
        "included). sftk reads every file of the project, not only the XML ones.",
        "",
        "| project | licence | files | XML files | API | schema | errors | warnings | floor s"
        " | e2e floor s | validate s | warm s | CLI s | validate / e2e floor | warm / floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.licence} | {r.files:,} | {r.xml_files:,} | {r.api_version}"
            f" | {r.schema_version} | **{r.errors}** | {r.warnings} | {r.floor:.2f}"
            f" | {r.e2e_floor:.2f} | {r.validate:.2f} | {r.warm:.2f} | {r.cli:.2f}"
            f" | **{r.validate / r.e2e_floor:.1f}** | **{r.warm / r.floor:.1f}** |"
        )
    lines += ["", "Sources:", ""]
    lines += [f"- {r.name}: {SOURCES.get(r.name, 'given with --also')}" for r in rows]
    false_errors = [r for r in rows if r.errors]
    lines += ["", f"Target: 0 errors on every project: {verdict(not false_errors)}."]
    for r in false_errors:
        lines += [f"- {r.name}:"] + [f"  - `{e}`" for e in r.first_errors]
    lines += [
        "",
        "Seeded mistakes (one at a time, in the first file of the project where each fits; "
        "caught = a problem on that file and line):",
        "",
        "| project | mistake | where | caught |",
        "|---|---|---|---|",
    ]
    all_caught = True
    newer = [r for r in rows if version_key(r.api_version) > version_key(r.schema_version)]
    for r in rows:
        for kind, where, hit in r.seeds:
            if hit == "warning" and r in newer:
                shown = "warning: cannot check (the package is newer than the schema)"
            else:
                all_caught = all_caught and hit == "error"
                shown = "error" if hit == "error" else f"**{hit or 'missed'}**"
            lines.append(f"| {r.name} | {kind} | `{where}` | {shown} |")
    lines += [
        "",
        f"Target: every seeded mistake an error naming its file and line: {verdict(all_caught)}.",
    ]
    if newer:
        names = ", ".join(f"{r.name} (API {r.api_version})" for r in newer)
        lines += [
            "",
            f"{names} deploys with a newer API version than sftk's schema: an element or a",
            "value that schema does not know may be new, so it is a warning that sftk cannot",
            "check it, never an error (`--wsdl` with the org's own WSDL checks it). It cannot",
            "be called a typo by its likeness to a known one: of the 2,790 elements and 4,186",
            "enumeration values the Metadata WSDL gained from API 47.0 to 66.0, 187 and 560 are",
            "as close to one it already had (difflib ratio 0.8 or more: LogPhonecall next to",
            "LogPhoneCall, navBarTextColor next to navBarColor).",
        ]
    large = [r for r in rows if r.files >= TARGET_FILES]
    lines.append("")
    if large:
        for r in large:
            cold, warm = r.validate / r.e2e_floor, r.warm / r.floor
            lines.append(
                f"Target: a {TARGET_FILES:,}-file project within 3x the floor: {r.name} "
                f"({r.files:,} files) validates in {cold:.1f}x the e2e floor: "
                f"{verdict(cold <= 3)}. (Judged as docs/benchmarks.md judges render + validate: "
                "`sftk validate` and an lxml-only check both start by compiling the schema. In a "
                "process that has compiled it already, validating again takes "
                f"{warm:.1f}x the per-file floor; sftk reads, parses and checks every file, "
                "the floor only parses and schema-checks the XML ones.)"
            )
    else:
        lines.append(
            f"Target: a {TARGET_FILES:,}-file project within 3x the floor: no project of that "
            "size was given (add one with --also)."
        )
    share = prints["text"] / prints["check"]
    lines += [
        "",
        f"Printing: a folder with {prints['problems']:,.0f} problems (layouts naming fields "
        f"its one object lacks) is checked in {prints['check']:.2f} s; its text report is "
        f"formatted in {prints['text']:.3f} s ({share:.1%} of the check), its JSON report in "
        f"{prints['json']:.3f} s. Target: text output within 10% of the check: "
        f"{verdict(share <= 0.10)}.",
        "",
    ]
    return "\n".join(lines)


def sources(corpus: Path | None, also: list[Path]) -> Iterator[Path]:
    if corpus is not None:
        yield from sorted(corpus.glob("*.tar.*"))
    yield from also


def main() -> None:
    parser = argparse.ArgumentParser(description="sftk validate on real projects")
    parser.add_argument("--corpus", type=Path, default=find_corpus())
    parser.add_argument("--also", type=Path, action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmark-validate-corpus.md")
    args = parser.parse_args()
    MetadataSchema.load()  # builds the cache if need be
    rows = []
    with tempfile.TemporaryDirectory(prefix="sftk-corpus-") as tmp:
        for source in sources(args.corpus, args.also):
            name = source.name.split(".tar")[0]
            project = unpack(source, Path(tmp) / "projects")
            row = measure(name, project, args.repeat)
            print(json.dumps(row.__dict__, default=str), file=sys.stderr)
            rows.append(row)
        prints = printing(Path(tmp) / "many-problems", args.repeat)
    text = write_report(rows, prints, args.repeat, [str(a) for a in args.also])
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
