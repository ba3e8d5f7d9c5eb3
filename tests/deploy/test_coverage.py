"""The coverage gate: Salesforce's arithmetic, the project's bars, and what a person reads."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from toolkit.config import CoveragePolicy
from toolkit.deploy.coverage import (
    ClassMiss,
    bar_text,
    evaluate,
    floored_percent,
    summary_lines,
)
from toolkit.salesforce.results import ClassCoverage


def apex(
    name: str,
    lines: int,
    covered: int,
    kind: str = "Class",
    namespace: str | None = None,
) -> ClassCoverage:
    return ClassCoverage(
        name=name,
        type=kind,
        num_locations=lines,
        num_not_covered=lines - covered,
        namespace=namespace,
    )


def test_org_wide_is_lines_covered_over_all_lines_not_an_average_of_classes() -> None:
    # Per-class percentages average to 66.7%; Salesforce counts lines, which gives 50%.
    result = evaluate(
        CoveragePolicy(org_wide=60, per_class=0),
        [apex("Lighthouse", 2, 2), apex("Harbour", 6, 2)],
    )
    assert (result.covered, result.lines, result.measured) == (4, 8, 2)
    assert result.percent == 50.0
    assert not result.org_wide_passed
    assert result.misses == ()
    assert not result.passed


def test_triggers_count_org_wide_alongside_classes() -> None:
    result = evaluate(
        CoveragePolicy(org_wide=75, per_class=0),
        [apex("Ledger", 10, 10), apex("LedgerTrigger", 10, 5, kind="Trigger")],
    )
    assert (result.covered, result.lines) == (15, 20)
    assert result.percent == 75.0
    assert result.passed


@pytest.mark.parametrize(
    ("covered", "lines", "passes"),
    [
        (7499, 10000, False),  # 74.99%
        (75, 100, True),  # exactly the bar
        (3, 4, True),
        (7501, 10000, True),
        (2, 3, False),
        # 74.999999999999999%: a float would round this up to 75.0; the gate does not.
        (75 * 10**15 - 1, 10**17, False),
    ],
)
def test_the_bar_is_compared_unrounded(covered: int, lines: int, passes: bool) -> None:
    policy = CoveragePolicy(org_wide=75, per_class=75)
    result = evaluate(policy, [apex("Beacon", lines, covered)])
    assert result.org_wide_passed is passes
    assert (result.misses == ()) is passes
    assert result.passed is passes


def test_a_decimal_bar_means_the_decimal_the_user_wrote() -> None:
    policy = CoveragePolicy(org_wide=0, per_class=74.9)
    assert evaluate(policy, [apex("Quay", 1000, 749)]).passed
    assert not evaluate(policy, [apex("Quay", 10000, 7489)]).passed


def test_each_class_and_trigger_below_its_bar_is_a_miss_with_its_numbers() -> None:
    result = evaluate(
        CoveragePolicy(org_wide=0, per_class=80),
        [
            apex("Anchor", 40, 30),
            apex("AnchorTrigger", 20, 2, kind="Trigger"),
            apex("Rope", 10, 9),
        ],
    )
    assert result.misses == (
        ClassMiss("AnchorTrigger", "Trigger", 10.0, 2, 20, 80, None),
        ClassMiss("Anchor", "Class", 75.0, 30, 40, 80, None),
    )
    assert result.misses[0].uncovered == 18
    assert result.org_wide_passed
    assert not result.passed


def test_patterns_set_bars_and_the_first_match_wins() -> None:
    policy = CoveragePolicy(
        org_wide=0,
        per_class=75,
        patterns=(("Legacy*", 0.0), ("*Service", 90.0), ("Legacy*Service", 100.0)),
    )
    result = evaluate(
        policy,
        [
            apex("LegacyBillingService", 100, 10),  # "Legacy*" comes first: exempt
            apex("InvoiceService", 100, 89),  # "*Service": 90
            apex("InvoiceHelper", 100, 74),  # no pattern: per_class 75
            apex("PaymentService", 100, 90),  # exactly 90: passes
        ],
    )
    assert [(m.name, m.bar, m.pattern) for m in result.misses] == [
        ("InvoiceHelper", 75, None),
        ("InvoiceService", 90.0, "*Service"),
    ]


def test_patterns_ignore_case_like_apex_and_may_name_the_namespace() -> None:
    policy = CoveragePolicy(
        org_wide=0, per_class=0, patterns=(("acme.*", 95.0), ("*HANDLER", 85.0))
    )
    result = evaluate(
        policy,
        [
            apex("OrderHandler", 100, 80),
            apex("Pricing", 100, 94, namespace="acme"),
            apex("Pricing", 100, 94),  # same name, no namespace: no pattern applies
        ],
    )
    assert [(m.name, m.bar, m.pattern) for m in result.misses] == [
        ("OrderHandler", 85.0, "*HANDLER"),
        ("acme.Pricing", 95.0, "acme.*"),
    ]


def test_a_pattern_may_match_the_bare_name_of_a_namespaced_class() -> None:
    policy = CoveragePolicy(org_wide=0, per_class=0, patterns=(("Tide*", 50.0),))
    result = evaluate(policy, [apex("TideTable", 10, 4, namespace="sea")])
    assert [(m.name, m.pattern) for m in result.misses] == [("sea.TideTable", "Tide*")]


def test_same_name_in_two_namespaces_are_two_classes() -> None:
    result = evaluate(
        CoveragePolicy(org_wide=0, per_class=75),
        [apex("Util", 10, 1, namespace="north"), apex("Util", 10, 2, namespace="south")],
    )
    assert [m.name for m in result.misses] == ["north.Util", "south.Util"]


def test_a_class_and_a_trigger_may_share_a_name() -> None:
    result = evaluate(
        CoveragePolicy(org_wide=0, per_class=75),
        [apex("Cargo", 10, 1), apex("Cargo", 10, 2, kind="Trigger")],
    )
    assert [(m.type, m.name) for m in result.misses] == [("Class", "Cargo"), ("Trigger", "Cargo")]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (apex("Dock", 10, 1), apex("Dock", 10, 9)),
        (apex("Dock", 10, 1), apex("DOCK", 10, 9)),  # Apex names ignore case
        (apex("Dock", 10, 1, namespace="ns"), apex("Dock", 10, 9, namespace="ns")),
    ],
)
def test_the_same_class_twice_is_refused(first: ClassCoverage, second: ClassCoverage) -> None:
    with pytest.raises(ValueError, match="appears twice"):
        evaluate(CoveragePolicy(), [first, second])


def test_zero_line_classes_pass_and_do_not_move_the_org_wide_figure() -> None:
    result = evaluate(
        CoveragePolicy(org_wide=75, per_class=100),
        [apex("Constants", 0, 0), apex("Sail", 4, 3)],
    )
    assert (result.covered, result.lines) == (3, 4)
    assert result.percent == 75.0
    assert [m.name for m in result.misses] == ["Sail"]
    assert result.notes == ()


def test_only_zero_line_classes_count_as_full_coverage_with_a_note() -> None:
    result = evaluate(CoveragePolicy(org_wide=100, per_class=100), [apex("Constants", 0, 0)])
    assert result.percent == 100.0
    assert result.passed
    assert result.notes == (
        "the 1 Apex classes and triggers measured have no coverable lines; "
        "org-wide coverage counts as 100%",
    )


def test_nothing_measured_counts_as_full_coverage_with_a_note() -> None:
    result = evaluate(CoveragePolicy(org_wide=100, per_class=100), [])
    assert (result.percent, result.covered, result.lines, result.measured) == (100.0, 0, 0, 0)
    assert result.passed
    assert result.notes == (
        "no Apex classes or triggers were measured; org-wide coverage counts as 100%",
    )


def test_misses_are_sorted_worst_first_then_by_work_left_then_name() -> None:
    result = evaluate(
        CoveragePolicy(org_wide=0, per_class=75),
        [
            apex("Mast", 10, 5),
            apex("keel", 100, 50),
            apex("Hull", 100, 50),
            apex("Bow", 10, 1),
            apex("Stern", 100, 74),
        ],
    )
    assert [m.name for m in result.misses] == ["Bow", "Hull", "keel", "Mast", "Stern"]


def test_passed_travels_with_the_result_as_data() -> None:
    result = evaluate(CoveragePolicy(org_wide=75, per_class=75), [apex("Buoy", 4, 2)])
    data = asdict(result)
    assert data["passed"] is False
    assert data["misses"][0]["name"] == "Buoy"


@pytest.mark.parametrize(
    ("covered", "lines", "shown"),
    [
        (7496, 10000, "74.9"),
        (7499, 10000, "74.9"),
        (3, 4, "75.0"),
        (2, 3, "66.6"),
        (1, 1, "100.0"),
        (0, 5, "0.0"),
        (0, 0, "100.0"),
        (1, 1000, "0.1"),
    ],
)
def test_percentages_show_one_decimal_rounded_down(covered: int, lines: int, shown: str) -> None:
    assert floored_percent(covered, lines) == shown


@pytest.mark.parametrize(("bar", "shown"), [(75.0, "75"), (74.95, "74.95"), (100, "100")])
def test_bars_show_as_written(bar: float, shown: str) -> None:
    assert bar_text(bar) == shown


def test_summary_names_every_miss_worst_first_with_its_numbers_and_bar() -> None:
    policy = CoveragePolicy(org_wide=80, per_class=75, patterns=(("Freight*", 90.0),))
    result = evaluate(
        policy,
        [
            apex("FreightRouter", 10000, 8996),
            apex("Customs", 10000, 7496),
            apex("FreightTrigger", 8, 1, kind="Trigger"),
            apex("Manifest", 50, 50),
        ],
    )
    assert summary_lines(result) == [
        "Org-wide coverage 82.4% (16543 of 20058 lines) meets the 80% bar.",
        "3 classes or triggers are under their bars:",
        "  Trigger FreightTrigger: 12.5% (1 of 8 lines, 7 uncovered), bar 90% (pattern 'Freight*')",
        "  Class Customs: 74.9% (7496 of 10000 lines, 2504 uncovered), bar 75% (per-class bar)",
        "  Class FreightRouter: 89.9% (8996 of 10000 lines, 1004 uncovered), bar 90% "
        "(pattern 'Freight*')",
    ]


def test_summary_of_a_failing_org_wide_figure_never_rounds_up_to_the_bar() -> None:
    result = evaluate(CoveragePolicy(org_wide=75, per_class=0), [apex("Jetty", 10000, 7496)])
    assert summary_lines(result) == [
        "Org-wide coverage 74.9% (7496 of 10000 lines) is under the 75% bar.",
        "Every class and trigger meets its bar.",
    ]


def test_summary_of_a_single_miss_and_of_nothing_measured() -> None:
    one = evaluate(CoveragePolicy(org_wide=0, per_class=75), [apex("Pier", 4, 1, namespace="ns")])
    assert summary_lines(one)[1:] == [
        "1 class or trigger is under its bar:",
        "  Class ns.Pier: 25.0% (1 of 4 lines, 3 uncovered), bar 75% (per-class bar)",
    ]
    nothing = evaluate(CoveragePolicy(), [])
    assert summary_lines(nothing) == [
        "Org-wide coverage 100.0% (0 of 0 lines) meets the 75% bar.",
        "Note: no Apex classes or triggers were measured; org-wide coverage counts as 100%.",
        "Every class and trigger meets its bar.",
    ]
