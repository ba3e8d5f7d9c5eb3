"""The coverage gate: the project's own bars over the coverage Salesforce measured.

Salesforce enforces its own minimum and stops at its first complaint; the gate lets a project ask
for more, or for particular classes, and names every shortfall at once. Percentages are compared
exactly (covered lines over lines, against the bar as the user wrote it), so 74.99% never passes a
75% bar through float rounding; they are shown floored to one decimal, so a miss never reads as
reaching its bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from fractions import Fraction

from toolkit.config import CoveragePolicy
from toolkit.salesforce.results import ClassCoverage


@dataclass(frozen=True)
class ClassMiss:
    """A class or trigger under its bar; ``pattern`` is None when the ``per_class`` bar applied.
    ``name`` is namespace-qualified, because two namespaces may each hold a class of that name."""

    name: str
    type: str
    percent: float
    covered: int
    lines: int
    bar: float
    pattern: str | None = None

    @property
    def uncovered(self) -> int:
        return self.lines - self.covered


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict. ``percent`` is org-wide (all lines of everything measured, as Salesforce
    counts it); ``misses`` are sorted worst first; ``notes`` explain figures that are not
    measurements."""

    percent: float
    covered: int
    lines: int
    measured: int
    org_wide_bar: float
    org_wide_passed: bool
    misses: tuple[ClassMiss, ...] = ()
    notes: tuple[str, ...] = ()
    # A field rather than a property so that reports built with dataclasses.asdict carry it.
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", self.org_wide_passed and not self.misses)


def qualified_name(name: str, namespace: str | None) -> str:
    """Apex's own spelling of a name in a namespace (``ns.Name``)."""
    return f"{namespace}.{name}" if namespace else name


def floored_percent(covered: int, lines: int) -> str:
    """One decimal, rounded down in integers: 7496 of 10000 lines shows as 74.9, not 75.0."""
    if lines == 0:
        return "100.0"
    tenths = 1000 * covered // lines
    return f"{tenths // 10}.{tenths % 10}"


def bar_text(bar: float) -> str:
    """The bar as the user wrote it (75 rather than 75.0, 74.95 rather than 75.0)."""
    text = repr(bar)
    return text.removesuffix(".0")


def evaluate(policy: CoveragePolicy, coverage: Sequence[ClassCoverage]) -> GateResult:
    """Apply ``policy`` to the coverage of one test run.

    The same class or trigger twice means results of different runs were mixed: its lines would
    count twice org-wide and neither entry is more right, so that is refused rather than guessed.
    """
    seen: set[tuple[str, str]] = set()
    for item in coverage:
        key = (item.type.casefold(), qualified_name(item.name, item.namespace).casefold())
        if key in seen:
            raise ValueError(
                f"{item.type} {qualified_name(item.name, item.namespace)} appears twice in the "
                "coverage results; evaluate one test run at a time"
            )
        seen.add(key)

    covered = sum(item.covered for item in coverage)
    lines = sum(item.num_locations for item in coverage)
    org_wide = _exact_percent(covered, lines)
    notes: list[str] = []
    if not coverage:
        notes.append("no Apex classes or triggers were measured; org-wide coverage counts as 100%")
    elif lines == 0:
        notes.append(
            f"the {len(coverage)} Apex classes and triggers measured have no coverable lines; "
            "org-wide coverage counts as 100%"
        )

    misses = [miss for item in coverage if (miss := _miss(policy, item)) is not None]
    misses.sort(
        key=lambda m: (_exact_percent(m.covered, m.lines), -m.uncovered, m.name.casefold(), m.type)
    )
    return GateResult(
        percent=float(org_wide),
        covered=covered,
        lines=lines,
        measured=len(coverage),
        org_wide_bar=policy.org_wide,
        org_wide_passed=org_wide >= _exact_bar(policy.org_wide),
        misses=tuple(misses),
        notes=tuple(notes),
    )


def summary_lines(result: GateResult) -> list[str]:
    """What a person reads after a deploy: the org-wide figure, then every class or trigger under
    its bar, worst first, with the numbers to act on."""
    verdict = "meets" if result.org_wide_passed else "is under"
    lines = [
        f"Org-wide coverage {floored_percent(result.covered, result.lines)}% "
        f"({result.covered} of {result.lines} lines) {verdict} the "
        f"{bar_text(result.org_wide_bar)}% bar.",
        *(f"Note: {note}." for note in result.notes),
    ]
    if not result.misses:
        lines.append("Every class and trigger meets its bar.")
        return lines
    count = len(result.misses)
    if count == 1:
        lines.append("1 class or trigger is under its bar:")
    else:
        lines.append(f"{count} classes or triggers are under their bars:")
    for miss in result.misses:
        source = f"pattern '{miss.pattern}'" if miss.pattern is not None else "per-class bar"
        lines.append(
            f"  {miss.type} {miss.name}: {floored_percent(miss.covered, miss.lines)}% "
            f"({miss.covered} of {miss.lines} lines, {miss.uncovered} uncovered), "
            f"bar {bar_text(miss.bar)}% ({source})"
        )
    return lines


def _miss(policy: CoveragePolicy, item: ClassCoverage) -> ClassMiss | None:
    bar, pattern = _bar_for(policy, item)
    if _exact_percent(item.covered, item.num_locations) >= _exact_bar(bar):
        return None
    return ClassMiss(
        name=qualified_name(item.name, item.namespace),
        type=item.type,
        percent=item.percent,
        covered=item.covered,
        lines=item.num_locations,
        bar=bar,
        pattern=pattern,
    )


def _bar_for(policy: CoveragePolicy, item: ClassCoverage) -> tuple[float, str | None]:
    """First matching pattern wins. Apex names are case-insensitive, so matching is too; a pattern
    may name the bare class or the namespace-qualified one (``ns.*``)."""
    names = {item.name.casefold(), qualified_name(item.name, item.namespace).casefold()}
    for pattern, bar in policy.patterns:
        if any(fnmatchcase(name, pattern.casefold()) for name in names):
            return bar, pattern
    return policy.per_class, None


def _exact_percent(covered: int, lines: int) -> Fraction:
    """A class without coverable lines counts as fully covered, as Salesforce counts it."""
    return Fraction(100 * covered, lines) if lines else Fraction(100)


def _exact_bar(bar: float) -> Fraction:
    """The decimal the user wrote: a bar of 74.9 is 749/10, not the binary float just above it."""
    return Fraction(repr(bar))
