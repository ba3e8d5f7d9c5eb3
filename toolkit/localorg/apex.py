"""Apex in the local org: stored as deployed, never compiled or run, tested by proxy.

No Apex runtime exists outside Salesforce, so the org cannot find out which lines a test
executes. The user tells it instead, in a coverage profile (``PUT /_sftk/coverage``): covered
and uncovered lines per class and trigger, and the methods of test classes with the ones that
fail. Deploys then apply Salesforce's own rules to that profile, so a tool sees exactly the
runTestResult, warnings and verdict a real org would give for code with that coverage.

Defaults for what the profile leaves out:

* a deployed class whose source carries ``@isTest`` (any case) is a test class with one passing
  method ``test``; a class named under ``tests`` is a test class whatever its source says;
* a class or trigger without a coverage entry is 0% covered over its *countable lines*: the
  lines holding code once comments and string contents are set aside, except lines holding
  only braces, parentheses or semicolons and lines holding only an annotation;
* a test run that executes no test method covers nothing, whatever the profile says.

Test levels: RunRelevantTests runs every local test (the org cannot judge relevance) and,
as the Metadata API documents for it, needs 75% for each class and trigger of the package,
like RunSpecifiedTests. RunLocalTests and RunAllTestsInOrg (the same here: the local org has
no managed packages) need 75% org-wide and some coverage on every trigger.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from toolkit.localorg import components
from toolkit.localorg.http import Request, Response, Router
from toolkit.localorg.ids import make_id
from toolkit.localorg.soap import NIL
from toolkit.localorg.store import Store

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

PROFILE_KEY = "apex.coverage_profile"
_T = TypeVar("_T")
CLASS = "ApexClass"
TRIGGER = "ApexTrigger"
REQUIRED_PERCENT = 75
DEFAULT_METHOD = "test"
ORG_WIDE_LEVELS = frozenset({"RunLocalTests", "RunAllTestsInOrg"})
PER_COMPONENT_LEVELS = frozenset({"RunSpecifiedTests", "RunRelevantTests"})
MAX_LINE = 1_000_000
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TEST_ANNOTATION = re.compile(r"@istest\b", re.IGNORECASE)
# Block comments, line comments and string literals, matched left to right so that a ``//``
# inside a string or a quote inside a comment is read as what it sits in.
_NOISE = re.compile(r"/\*.*?(?:\*/|\Z)|//[^\n]*|'(?:\\.|[^'\\\n])*'", re.DOTALL)
_NOT_CODE = re.compile(r"[\s{}();]*")
_ANNOTATION_ONLY = re.compile(r"\s*@\w+\s*(?:\(.*\))?\s*")
_NILLABLE = {
    "codeCoverage": ("namespace",),
    "codeCoverageWarnings": ("name", "namespace"),
    "failures": ("methodName", "namespace", "stackTrace"),
    "successes": ("namespace",),
}


class ProfileError(ValueError):
    """A coverage profile the org refuses; the message names the offending entry."""


# --- the profile --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineCoverage:
    covered: tuple[int, ...] = ()
    uncovered: tuple[int, ...] = ()


@dataclass(frozen=True)
class TestFailure:
    message: str
    stack_trace: str | None = None


@dataclass(frozen=True)
class TestClass:
    methods: tuple[str, ...]
    failures: Mapping[str, TestFailure]


@dataclass(frozen=True)
class CoverageProfile:
    classes: Mapping[str, LineCoverage]
    triggers: Mapping[str, LineCoverage]
    tests: Mapping[str, TestClass]

    def coverage(self, kind: str, name: str) -> LineCoverage | None:
        """Apex names are case-insensitive, so lookups are too."""
        return _find(self.classes if kind == CLASS else self.triggers, name)

    def test_class(self, name: str) -> TestClass | None:
        return _find(self.tests, name)

    def to_json(self) -> dict[str, Any]:
        def lines(entries: Mapping[str, LineCoverage]) -> dict[str, Any]:
            return {
                name: {"covered": list(c.covered), "uncovered": list(c.uncovered)}
                for name, c in sorted(entries.items())
            }

        tests: dict[str, Any] = {}
        for name, test in sorted(self.tests.items()):
            failures = {
                method: {"message": f.message, "stackTrace": f.stack_trace}
                for method, f in sorted(test.failures.items())
            }
            tests[name] = {"methods": list(test.methods), "failures": failures}
        return {"classes": lines(self.classes), "triggers": lines(self.triggers), "tests": tests}


EMPTY_PROFILE = CoverageProfile({}, {}, {})


def _find(entries: Mapping[str, _T], name: str) -> _T | None:
    folded = name.lower()
    return next((value for key, value in entries.items() if key.lower() == folded), None)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


def _keys(value: dict[str, Any], where: str, allowed: Sequence[str]) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ProfileError(
            f"{where} has an unknown member '{unknown[0]}'; allowed: {', '.join(allowed)}"
        )


def _names(value: dict[str, Any], where: str) -> None:
    seen: dict[str, str] = {}
    for name in value:
        if not _NAME.fullmatch(name):
            raise ProfileError(
                f"{where}: '{name}' is not an Apex name (a letter, then letters, digits or _)"
            )
        if name.lower() in seen:
            raise ProfileError(
                f"{where} names '{seen[name.lower()]}' and '{name}': Apex names ignore case"
            )
        seen[name.lower()] = name


def _lines(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ProfileError(f"{where} must be a list of line numbers")
    for index, line in enumerate(value):
        if isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= MAX_LINE:
            raise ProfileError(
                f"{where}[{index}] is {line!r}; line numbers are whole numbers from 1 to {MAX_LINE}"
            )
    if len(set(value)) != len(value):
        twice = next(line for line in value if value.count(line) > 1)
        raise ProfileError(f"{where} lists line {twice} twice")
    return tuple(sorted(value))


def _line_coverage(value: Any, where: str) -> LineCoverage:
    entry = _object(value, where)
    _keys(entry, where, ("covered", "uncovered"))
    covered = _lines(entry.get("covered", []), f"{where}.covered")
    uncovered = _lines(entry.get("uncovered", []), f"{where}.uncovered")
    both = sorted(set(covered) & set(uncovered))
    if both:
        raise ProfileError(f"{where}: line {both[0]} is both covered and uncovered")
    return LineCoverage(covered, uncovered)


def _text(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where} must be a non-empty string")
    return value


def _test_class(value: Any, where: str) -> TestClass:
    entry = _object(value, where)
    _keys(entry, where, ("methods", "failures"))
    methods = entry.get("methods", [DEFAULT_METHOD])
    if not isinstance(methods, list) or not methods:
        raise ProfileError(f"{where}.methods must be a non-empty list of test method names")
    for index, method in enumerate(methods):
        if not isinstance(method, str) or not _NAME.fullmatch(method):
            raise ProfileError(f"{where}.methods[{index}] is {method!r}, not an Apex method name")
    folded = [m.lower() for m in methods]
    if len(set(folded)) != len(folded):
        twice = next(m for m in methods if folded.count(m.lower()) > 1)
        raise ProfileError(f"{where}.methods lists '{twice}' twice")
    failures: dict[str, TestFailure] = {}
    raw_failures = _object(entry.get("failures", {}), f"{where}.failures")
    for method, failure in raw_failures.items():
        at = f"{where}.failures.{method}"
        if method.lower() not in folded:
            raise ProfileError(f"{at}: '{method}' is not one of the methods {methods}")
        detail = _object(failure, at)
        _keys(detail, at, ("message", "stackTrace"))
        message = _text(detail.get("message"), f"{at}.message")
        stack = _text(detail.get("stackTrace"), f"{at}.stackTrace", optional=True)
        failures[methods[folded.index(method.lower())]] = TestFailure(str(message), stack)
    return TestClass(tuple(methods), failures)


def parse_profile(data: Any) -> CoverageProfile:
    """A profile from its JSON form; raises ProfileError naming the first bad entry."""
    root = _object(data, "the coverage profile")
    _keys(root, "the coverage profile", ("classes", "triggers", "tests"))
    parsed: dict[str, dict[str, Any]] = {}
    for section in ("classes", "triggers", "tests"):
        entries = _object(root.get(section, {}), section)
        _names(entries, section)
        if section == "tests":
            parsed[section] = {n: _test_class(v, f"tests.{n}") for n, v in entries.items()}
        else:
            parsed[section] = {n: _line_coverage(v, f"{section}.{n}") for n, v in entries.items()}
    both = sorted(name for name in parsed["classes"] if _find(parsed["tests"], name) is not None)
    if both:
        raise ProfileError(
            f"'{both[0]}' is under both classes and tests: test classes are not counted in "
            "code coverage"
        )
    return CoverageProfile(parsed["classes"], parsed["triggers"], parsed["tests"])


def load_profile(store: Store) -> CoverageProfile:
    data = store.get(PROFILE_KEY)
    return EMPTY_PROFILE if data is None else parse_profile(data)


def save_profile(store: Store, profile: CoverageProfile) -> None:
    store.put(PROFILE_KEY, profile.to_json())


# --- Apex sources -------------------------------------------------------------------------------


def _code(source: bytes) -> list[str]:
    """The source's lines with comments removed and string contents emptied."""
    text = source.decode("utf-8", errors="replace")

    def blank(found: re.Match[str]) -> str:
        piece = found.group(0)
        return "''" if piece.startswith("'") else "\n" * piece.count("\n")

    return _NOISE.sub(blank, text).split("\n")


def countable_lines(source: bytes) -> tuple[int, ...]:
    """The lines a class without a coverage entry counts as (uncovered) locations."""
    return tuple(
        number
        for number, line in enumerate(_code(source), 1)
        if not _NOT_CODE.fullmatch(line) and not _ANNOTATION_ONLY.fullmatch(line)
    )


def is_test_source(source: bytes) -> bool:
    return any(_TEST_ANNOTATION.search(line) for line in _code(source))


@dataclass(frozen=True)
class ApexSource:
    """A class or trigger as the org holds it (or will, once the deploy under way commits)."""

    kind: str
    name: str
    id: str
    source: bytes
    in_package: bool = False


@dataclass(frozen=True)
class PackageApex:
    """A class or trigger a deploy brings (or deletes), as far as tests care."""

    kind: str
    name: str
    source: bytes
    delete: bool = False


def stored_sources(db: sqlite3.Connection) -> list[ApexSource]:
    return [
        ApexSource(kind, stored.full_name, stored.id, stored.content)
        for kind in (CLASS, TRIGGER)
        for stored in components.list_type(db, kind)
    ]


def _next_number(db: sqlite3.Connection, prefix: str) -> int:
    row = db.execute("SELECT n FROM md_sequences WHERE prefix = ?", (prefix,)).fetchone()
    return 1 + (0 if row is None else int(row["n"]))


def sources_after(db: sqlite3.Connection, package: Sequence[PackageApex]) -> list[ApexSource]:
    """The org's Apex as it would be after the package: replaced, added, deleted.

    A class the package creates has no Id until the commit; it gets the Id the commit will
    most likely give it (the next of its key prefix), and the engine corrects it after the
    commit with ``replace_ids``.
    """
    current = {(s.kind, s.name.lower()): s for s in stored_sources(db)}
    numbers: dict[str, int] = {}
    for item in package:
        key = (item.kind, item.name.lower())
        if item.delete:
            current.pop(key, None)
            continue
        existing = current.get(key)
        if existing is not None:
            current[key] = replace(existing, source=item.source, in_package=True)
            continue
        prefix = components.id_prefix(item.kind)
        number = numbers.get(prefix) or _next_number(db, prefix)
        numbers[prefix] = number + 1
        current[key] = ApexSource(item.kind, item.name, make_id(prefix, number), item.source, True)
    return sorted(current.values(), key=lambda s: (s.kind, s.name.lower()))


def is_test(source: ApexSource, profile: CoverageProfile) -> bool:
    return source.kind == CLASS and (
        profile.test_class(source.name) is not None or is_test_source(source.source)
    )


# --- a test run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestMethod:
    """One test method of a run; ``method`` None marks a runTests name that is no test class."""

    class_name: str
    class_id: str
    method: str | None
    failure: TestFailure | None


@dataclass(frozen=True)
class TestRun:
    level: str
    methods: tuple[TestMethod, ...]
    sources: tuple[ApexSource, ...]
    profile: CoverageProfile

    @property
    def executed(self) -> bool:
        return any(m.method is not None for m in self.methods)


def _methods(source: ApexSource, profile: CoverageProfile) -> list[TestMethod]:
    test = profile.test_class(source.name)
    names = test.methods if test is not None else (DEFAULT_METHOD,)
    failures = test.failures if test is not None else {}
    return [TestMethod(source.name, source.id, m, failures.get(m)) for m in names]


def plan_run(
    db: sqlite3.Connection,
    profile: CoverageProfile,
    level: str,
    run_tests: Sequence[str],
    package: Sequence[PackageApex],
) -> TestRun:
    """The test methods a deploy at ``level`` runs, against the org as the package leaves it."""
    sources = sources_after(db, package)
    tests = {s.name.lower(): s for s in sources if is_test(s, profile)}
    methods: list[TestMethod] = []
    if level == "RunSpecifiedTests":
        seen: set[str] = set()
        for name in run_tests:
            if name.lower() in seen:
                continue
            seen.add(name.lower())
            found = tests.get(name.lower())
            if found is not None:
                methods.extend(_methods(found, profile))
                continue
            other = next(
                (s for s in sources if s.kind == CLASS and s.name.lower() == name.lower()), None
            )
            methods.append(
                TestMethod(
                    name,
                    other.id if other is not None else make_id(components.id_prefix(CLASS), 0),
                    None,
                    TestFailure(
                        f"This class name's value is invalid: {name}. Provide the name of an "
                        "Apex class that has test methods."
                    ),
                )
            )
    else:
        for key in sorted(tests):
            methods.extend(_methods(tests[key], profile))
    return TestRun(level, tuple(methods), tuple(sources), profile)


@dataclass(frozen=True)
class RunOutcome:
    """The runTestResult of a run (WSDL order, None for nil) and whether the deploy may pass."""

    result: dict[str, Any]
    passed: bool


def _kind_word(kind: str) -> str:
    return "Class" if kind == CLASS else "Trigger"


def _coverage(source: ApexSource, run: TestRun) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Covered and uncovered lines of one class or trigger in this run."""
    entry = run.profile.coverage(source.kind, source.name)
    if entry is None:
        return (), countable_lines(source.source)
    if not run.executed:
        return (), tuple(sorted(entry.covered + entry.uncovered))
    return entry.covered, entry.uncovered


def _column(lines: list[str], line: int) -> int:
    """Where the code of ``line`` starts (1-based), 0 for a line the source does not have."""
    if not 1 <= line <= len(lines) or not lines[line - 1].strip():
        return 0
    text = lines[line - 1]
    return len(text) - len(text.lstrip()) + 1


def _percent(covered: int, total: int) -> int:
    return covered * 100 // total if total else 0


def _short(covered: int, total: int, required: int) -> bool:
    return total > 0 and covered * 100 < required * total


def outcome(run: TestRun, org_id: str) -> RunOutcome:
    successes: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for test in run.methods:
        if test.failure is None:
            successes.append(
                {
                    "id": test.class_id,
                    "methodName": test.method,
                    "name": test.class_name,
                    "namespace": None,
                    "time": 0.0,
                }
            )
            continue
        failures.append(
            {
                "id": test.class_id,
                "message": test.failure.message,
                "methodName": test.method,
                "name": test.class_name,
                "namespace": None,
                "packageName": test.class_name,
                "stackTrace": test.failure.stack_trace,
                "time": 0.0,
                "type": "Class",
            }
        )
    counted = [s for s in run.sources if not is_test(s, run.profile)]
    coverage: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    totals = [0, 0]
    for source in sorted(counted, key=lambda s: (s.name.lower(), s.kind)):
        covered, uncovered = _coverage(source, run)
        total = len(covered) + len(uncovered)
        totals[0] += len(covered)
        totals[1] += total
        lines = source.source.decode("utf-8", errors="replace").split("\n")
        coverage.append(
            {
                "id": source.id,
                "locationsNotCovered": [
                    {"column": _column(lines, line), "line": line, "numExecutions": 0, "time": 0.0}
                    for line in uncovered
                ],
                "name": source.name,
                "namespace": None,
                "numLocations": total,
                "numLocationsNotCovered": len(uncovered),
                "type": _kind_word(source.kind),
            }
        )
        kind = _kind_word(source.kind)
        percent = _percent(len(covered), total)
        if run.level in PER_COMPONENT_LEVELS and source.in_package:
            if _short(len(covered), total, REQUIRED_PERCENT):
                warnings.append(
                    _warning(
                        source.id,
                        f"Test coverage of selected Apex {kind} is {percent}%, at least "
                        f"{REQUIRED_PERCENT}% required",
                        source.name,
                    )
                )
        elif run.level in ORG_WIDE_LEVELS and source.kind == TRIGGER and total and not covered:
            warnings.append(
                _warning(
                    source.id,
                    "Test coverage of selected Apex Trigger is 0%, at least 1% test coverage is "
                    "required",
                    source.name,
                )
            )
    if run.level in ORG_WIDE_LEVELS and _short(totals[0], totals[1], REQUIRED_PERCENT):
        warnings.insert(
            0,
            _warning(
                org_id,
                "Average test coverage across all Apex Classes and Triggers is "
                f"{_percent(totals[0], totals[1])}%, at least {REQUIRED_PERCENT}% test coverage "
                "is required.",
                None,
            ),
        )
    result = {
        "codeCoverage": coverage,
        "codeCoverageWarnings": warnings,
        "failures": failures,
        "numFailures": len(failures),
        "numTestsRun": sum(1 for m in run.methods if m.method is not None),
        "successes": successes,
        "totalTime": 0.0,
    }
    return RunOutcome(result, not failures and not warnings)


def _warning(component_id: str, message: str, name: str | None) -> dict[str, Any]:
    return {"id": component_id, "message": message, "name": name, "namespace": None}


def replace_ids(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with every ``id`` member found in ``ids`` replaced (the committed Ids)."""
    if isinstance(value, dict):
        return {
            k: ids.get(v, v) if k == "id" and isinstance(v, str) else replace_ids(v, ids)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [replace_ids(v, ids) for v in value]
    return value


def committed_ids(db: sqlite3.Connection, run: TestRun) -> dict[str, str]:
    """Provisional Id -> the Id the commit gave, for the package's classes and triggers."""
    found: dict[str, str] = {}
    for source in run.sources:
        if source.in_package:
            stored = components.get(db, source.kind, source.name)
            if stored is not None and stored.id != source.id:
                found[source.id] = stored.id
    return found


def soap_view(result: dict[str, Any]) -> dict[str, Any]:
    """A DeployResult for SOAP: runTestResult members that are required but nillable and have
    no value become ``xsi:nil`` (the stored result is JSON, which has no nil marker)."""
    details = result.get("details")
    if not isinstance(details, dict) or not isinstance(details.get("runTestResult"), dict):
        return result
    tests = dict(details["runTestResult"])
    for member, names in _NILLABLE.items():
        if isinstance(tests.get(member), list):
            tests[member] = [
                {k: NIL if k in names and v is None else v for k, v in entry.items()}
                for entry in tests[member]
            ]
    return {**result, "details": {**details, "runTestResult": tests}}


# --- coverage outside a deploy (the Tooling API's view) -----------------------------------------


@dataclass(frozen=True)
class ComponentCoverage:
    kind: str
    name: str
    id: str
    covered: tuple[int, ...]
    uncovered: tuple[int, ...]


def org_coverage(db: sqlite3.Connection, profile: CoverageProfile) -> list[ComponentCoverage]:
    """Coverage of every class and trigger in the org that counts (test classes do not)."""
    found: list[ComponentCoverage] = []
    for source in stored_sources(db):
        if is_test(source, profile):
            continue
        entry = profile.coverage(source.kind, source.name)
        covered, uncovered = (
            (entry.covered, entry.uncovered)
            if entry is not None
            else ((), countable_lines(source.source))
        )
        found.append(ComponentCoverage(source.kind, source.name, source.id, covered, uncovered))
    return sorted(found, key=lambda c: (c.name.lower(), c.kind))


def org_wide_percent(entries: Iterable[ComponentCoverage]) -> int:
    covered = total = 0
    for entry in entries:
        covered += len(entry.covered)
        total += len(entry.covered) + len(entry.uncovered)
    return _percent(covered, total)


# --- the control endpoint -----------------------------------------------------------------------


def _bad_profile(message: str) -> Response:
    return Response.json([{"errorCode": "INVALID_FIELD", "message": message}], 400)


def _get(request: Request, org: Org) -> Response:
    return Response.json(load_profile(org.store).to_json())


def _put(request: Request, org: Org) -> Response:
    try:
        data = request.json()
    except (UnicodeDecodeError, ValueError) as exc:
        return _bad_profile(f"the body is not JSON: {exc}")
    try:
        profile = parse_profile(data)
    except ProfileError as exc:
        return _bad_profile(str(exc))
    save_profile(org.store, profile)
    return Response.json(profile.to_json())


def register(router: Router) -> None:
    router.add("GET", r"/_sftk/coverage/?", _get, name="control.coverage.get")
    router.add("PUT", r"/_sftk/coverage/?", _put, name="control.coverage.set")


def prepare(org: Org) -> None:
    """Nothing to make: no profile means every class is uncovered and every test passes."""
