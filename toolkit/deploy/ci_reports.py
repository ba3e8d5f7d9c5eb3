"""Test and coverage results in the files CI systems read: JUnit XML and Cobertura XML.

JUnit: one ``<testsuite>`` for the whole run, each ``<testcase>``'s ``classname`` being the
(namespace-qualified) Apex test class. A RunTestsResult is one run with one total time and one
start, which is what a suite's ``time`` and ``timestamp`` describe; Salesforce's total includes
work no single class owns, so per-class suites would have to invent times. Jenkins, GitLab,
GitHub reporters and Azure all group test cases by ``classname``, so nothing is lost. Salesforce
does not tell assertion failures from unexpected exceptions, so every failure is a ``<failure>``
and ``errors`` is 0; nor does it report skipped tests, so ``skipped`` is 0.

Cobertura: Salesforce reports, per class or trigger, the number of coverable lines, how many of
them ran, and the numbers of the lines that did not; it never names the lines that ran. The
report therefore carries the rates and counts computed from Salesforce's numbers, and lists only
the uncovered lines (``hits="0"``); covered lines are not invented, because any numbers sftk
picked would mark comments or blank lines as covered in diff views. Readers that recompute
coverage from ``<line>`` elements instead of reading the rate attributes will show these classes
as uncovered: no file sftk could write would be true for them. Branch coverage is not measured
by Salesforce and is reported as 0 of 0 branches.

Both are deterministic for the same input (sorted, no clock, no generated ids), UTF-8, and free
of the control characters XML 1.0 cannot carry (Apex stack traces and messages may hold them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from lxml import etree

import toolkit
from toolkit.deploy.coverage import qualified_name
from toolkit.salesforce.results import ClassCoverage, TestFailure, TestResults, TestSuccess

# Everything outside XML 1.0's Char production: C0 controls but tab, LF and CR; surrogates;
# U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# "System.AssertException: Assertion Failed" -> the exception's name as the failure's type.
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Exception|Error))\s*:")
_FAILURE_TYPE = "ApexTestFailure"
_RATE_DIGITS = 4


def junit_xml(tests: TestResults, suite: str, timestamp: str | None = None) -> bytes:
    """JUnit XML for one test run. ``timestamp`` is any ISO 8601 date-time (Salesforce's
    ``2024-05-01T10:00:00.000Z`` included); it is written in UTC without zone or fraction,
    the form the Jenkins-style schema requires. Counts come from the test cases written, so the
    document agrees with itself even if Salesforce's counters lag behind its lists."""
    cases: list[tuple[str, str, float, TestFailure | None]] = [
        (_class(t), _clean(t.method_name), t.time_ms, t) for t in tests.failures
    ]
    cases += [(_class(t), _clean(t.method_name), t.time_ms, None) for t in tests.successes]
    cases.sort(key=lambda c: (c[0].casefold(), c[1].casefold(), c[0], c[1], c[3] is None))

    counts = {
        "tests": str(len(cases)),
        "failures": str(len(tests.failures)),
        "errors": "0",
        "skipped": "0",
        "time": _seconds(tests.total_time_ms),
    }
    root = etree.Element("testsuites", {"name": _clean(suite), **counts})
    attributes = {"name": _clean(suite), **counts}
    if timestamp is not None:
        attributes["timestamp"] = _utc(timestamp)
    testsuite = etree.SubElement(root, "testsuite", attributes)
    for classname, method, time_ms, failure in cases:
        case = etree.SubElement(
            testsuite,
            "testcase",
            {"classname": classname, "name": method, "time": _seconds(time_ms)},
        )
        if failure is not None:
            message = _clean(failure.message)
            element = etree.SubElement(
                case, "failure", {"message": message, "type": _failure_type(message)}
            )
            element.text = _clean(failure.stack_trace)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def cobertura_xml(
    coverage: Sequence[ClassCoverage],
    timestamp: int,
    source: str = ".",
    *,
    folder: str = "force-app/main/default",
    files: Mapping[tuple[str, str], str] | None = None,
) -> bytes:
    """Cobertura XML for the coverage of one test run; ``timestamp`` is in milliseconds since the
    epoch, as Cobertura writes it. A class's file name is where ``files`` says it lives (by
    ("Class" or "Trigger", lower-case name), relative to ``source``), else
    ``<folder>/classes/<Name>.cls`` or ``<folder>/triggers/<Name>.trigger`` (an empty or "."
    ``folder`` gives ``classes/<Name>.cls``). Packages are the files' folders, as coverage
    tools for other languages use directories."""
    covered = sum(item.covered for item in coverage)
    lines = sum(item.num_locations for item in coverage)
    root = etree.Element(
        "coverage",
        {
            "line-rate": _rate(covered, lines),
            "branch-rate": "0",
            "lines-covered": str(covered),
            "lines-valid": str(lines),
            "branches-covered": "0",
            "branches-valid": "0",
            "complexity": "0",
            "version": f"sftk {toolkit.__version__}",
            "timestamp": str(timestamp),
        },
    )
    sources = etree.SubElement(root, "sources")
    etree.SubElement(sources, "source").text = _clean(source)
    packages = etree.SubElement(root, "packages")

    known = files or {}
    paths = {id(item): _path_of(item, folder, known) for item in coverage}
    by_folder: dict[str, list[ClassCoverage]] = {}
    for item in coverage:
        by_folder.setdefault(paths[id(item)].rpartition("/")[0], []).append(item)
    for package_name in sorted(by_folder):
        items = sorted(
            by_folder[package_name],
            key=lambda i: (qualified_name(i.name, i.namespace).casefold(), i.namespace or ""),
        )
        package = etree.SubElement(
            packages,
            "package",
            {
                "name": _clean(package_name),
                "line-rate": _rate(
                    sum(i.covered for i in items), sum(i.num_locations for i in items)
                ),
                "branch-rate": "0",
                "complexity": "0",
            },
        )
        classes = etree.SubElement(package, "classes")
        for item in items:
            _class_element(classes, item, paths[id(item)])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _class_element(parent: etree._Element, item: ClassCoverage, path: str) -> None:
    element = etree.SubElement(
        parent,
        "class",
        {
            "name": _clean(qualified_name(item.name, item.namespace)),
            "filename": _clean(path),
            "line-rate": _rate(item.covered, item.num_locations),
            "branch-rate": "0",
            "complexity": "0",
        },
    )
    etree.SubElement(element, "methods")
    lines = etree.SubElement(element, "lines")
    for number in sorted(set(item.uncovered_lines)):
        etree.SubElement(lines, "line", {"number": str(number), "hits": "0"})


def _path_of(item: ClassCoverage, folder: str, files: Mapping[tuple[str, str], str]) -> str:
    kind = "Trigger" if _is_trigger(item) else "Class"
    known = files.get((kind, item.name.lower()))
    if known is not None:
        return known
    leaf, extension = ("triggers", "trigger") if _is_trigger(item) else ("classes", "cls")
    base = folder.strip("/")
    where = leaf if base in ("", ".") else f"{base}/{leaf}"
    return f"{where}/{item.name}.{extension}"


def _is_trigger(item: ClassCoverage) -> bool:
    return item.type.casefold() == "trigger"


def _class(test: TestFailure | TestSuccess) -> str:
    return _clean(qualified_name(test.class_name, test.namespace))


def _failure_type(message: str) -> str:
    found = _EXCEPTION.match(message)
    return found.group(1) if found else _FAILURE_TYPE


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


def _rate(covered: int, lines: int) -> str:
    """Rounded down, so a rate never reads as full coverage that is not; no lines is full."""
    scaled = covered * 10**_RATE_DIGITS // lines if lines else 10**_RATE_DIGITS
    whole, fraction = divmod(scaled, 10**_RATE_DIGITS)
    return f"{whole}.{fraction:0{_RATE_DIGITS}d}"


def _utc(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
