"""JUnit and Cobertura files as CI systems read them: valid against the formats' own rules, with
counts, rates and text that say what Salesforce said, and nothing XML 1.0 cannot carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from toolkit.deploy.ci_reports import cobertura_xml, junit_xml
from toolkit.metadata import xmlsafe

# Imported under other names: pytest would try to collect classes whose names start with "Test".
from toolkit.salesforce.results import ClassCoverage
from toolkit.salesforce.results import TestFailure as Failure
from toolkit.salesforce.results import TestResults as Results
from toolkit.salesforce.results import TestSuccess as Success

DATA = Path(__file__).parent / "data"
JUNIT_SCHEMA = etree.XMLSchema(etree.parse(str(DATA / "junit.xsd"), xmlsafe.parser()))
COBERTURA_DTD = etree.DTD(str(DATA / "coverage-04.dtd"))

# Characters XML 1.0 cannot carry at all, escaped or not.
NOT_XML = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ud800", "\udfff", "\ufffe"]


def junit(tests: Results, timestamp: str | None = None) -> etree._Element:
    document = junit_xml(tests, "harbour-ci", timestamp)
    root = xmlsafe.parse(document, "junit")
    JUNIT_SCHEMA.assertValid(root)
    return root


def cobertura(coverage: list[ClassCoverage], **options: str) -> etree._Element:
    root = xmlsafe.parse(cobertura_xml(coverage, 1717243200000, **options), "cobertura")
    assert COBERTURA_DTD.validate(root), str(COBERTURA_DTD.error_log)
    return root


RUN = Results(
    num_tests_run=4,
    num_failures=2,
    total_time_ms=2345.0,
    failures=(
        Failure(
            "VoyageTest",
            "departsOnTime",
            "System.AssertException: Assertion Failed: Expected: 9, Actual: 10",
            "Class.VoyageTest.departsOnTime: line 12, column 1",
            time_ms=40.0,
        ),
        Failure(
            "CrewTest",
            "countsSailors",
            "Rope frayed",
            "Class.ns.CrewTest.countsSailors: line 3, column 1",
            time_ms=7.0,
            namespace="ns",
        ),
    ),
    successes=(
        Success("VoyageTest", "arrives", time_ms=1500.0),
        Success("AnchorTest", "holds", time_ms=2.5),
    ),
)


def test_one_suite_with_a_case_per_method_classed_by_apex_class() -> None:
    root = junit(RUN, "2024-06-01T12:00:00.000Z")
    assert root.tag == "testsuites"
    assert root.get("name") == "harbour-ci"
    (suite,) = root
    assert suite.tag == "testsuite"
    assert dict(suite.items()) == {
        "name": "harbour-ci",
        "tests": "4",
        "failures": "2",
        "errors": "0",
        "skipped": "0",
        "time": "2.345",
        "timestamp": "2024-06-01T12:00:00",
    }
    for name in ("tests", "failures", "errors", "skipped", "time"):
        assert root.get(name) == suite.get(name)
    cases = [(c.get("classname"), c.get("name"), c.get("time")) for c in suite]
    assert cases == [
        ("AnchorTest", "holds", "0.003"),
        ("ns.CrewTest", "countsSailors", "0.007"),
        ("VoyageTest", "arrives", "1.500"),
        ("VoyageTest", "departsOnTime", "0.040"),
    ]


def test_failures_carry_message_exception_type_and_stack_trace() -> None:
    suite = junit(RUN)[0]
    failures = {c.get("name"): c.find("failure") for c in suite}
    assert failures["holds"] is None
    assert failures["arrives"] is None
    assertion = failures["departsOnTime"]
    assert assertion is not None
    assert assertion.get("message") == (
        "System.AssertException: Assertion Failed: Expected: 9, Actual: 10"
    )
    assert assertion.get("type") == "System.AssertException"
    assert assertion.text == "Class.VoyageTest.departsOnTime: line 12, column 1"
    plain = failures["countsSailors"]
    assert plain is not None
    assert plain.get("type") == "ApexTestFailure"
    assert plain.get("message") == "Rope frayed"


def test_counts_come_from_the_cases_written() -> None:
    lagging = Results(
        num_tests_run=9,
        num_failures=5,
        successes=(Success("TideTest", "rises"),),
    )
    suite = junit(lagging)[0]
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


def test_markup_characters_survive_escaped_and_control_characters_are_dropped() -> None:
    message = 'System.TypeException: <Cargo> & "hold"\x00\x1b\ttabbed\r\nnext'
    trace = "Class.Hold.load: line 1\x0c\x01 <&> ]]> é 日本 \ud800😀"
    tests = Results(
        num_tests_run=1,
        num_failures=1,
        failures=(Failure("Hold\x07Test", "load<&>", message, trace),),
    )
    document = junit_xml(tests, 'ci "main" <&>\x02')
    assert b"&lt;Cargo&gt; &amp; &quot;hold&quot;" in document
    assert "é 日本 😀".encode() in document
    root = xmlsafe.parse(document, "junit")
    JUNIT_SCHEMA.assertValid(root)
    assert root.get("name") == 'ci "main" <&>'
    case = root[0][0]
    assert (case.get("classname"), case.get("name")) == ("HoldTest", "load<&>")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == 'System.TypeException: <Cargo> & "hold"\ttabbed\r\nnext'
    assert failure.get("type") == "System.TypeException"
    assert failure.text == "Class.Hold.load: line 1 <&> ]]> é 日本 😀"


@pytest.mark.parametrize(
    ("given_as", "written"),
    [
        ("2024-06-01T12:00:00.000Z", "2024-06-01T12:00:00"),
        ("2024-06-01T14:30:15.999+02:00", "2024-06-01T12:30:15"),
        ("2024-06-01T12:00:00", "2024-06-01T12:00:00"),
    ],
)
def test_timestamps_are_written_in_utc_without_zone(given_as: str, written: str) -> None:
    assert junit(RUN, given_as)[0].get("timestamp") == written


def test_no_timestamp_means_none_is_written_and_the_output_never_reads_the_clock() -> None:
    first = junit_xml(RUN, "harbour-ci")
    assert b"timestamp" not in first
    assert junit_xml(RUN, "harbour-ci") == first


def test_a_timestamp_that_is_not_iso_8601_is_refused() -> None:
    with pytest.raises(ValueError):
        junit_xml(RUN, "harbour-ci", "yesterday at noon")


def test_output_does_not_depend_on_the_order_salesforce_listed_results_in() -> None:
    shuffled = Results(
        num_tests_run=4,
        num_failures=2,
        total_time_ms=2345.0,
        failures=tuple(reversed(RUN.failures)),
        successes=tuple(reversed(RUN.successes)),
    )
    assert junit_xml(shuffled, "harbour-ci", "2024-06-01T12:00:00") == junit_xml(
        RUN, "harbour-ci", "2024-06-01T12:00:00"
    )


def test_a_run_without_tests_is_a_valid_empty_suite() -> None:
    root = junit(Results())
    (suite,) = root
    assert len(suite) == 0
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("0", "0", "0.000")


def test_the_document_declares_utf8() -> None:
    assert junit_xml(RUN, "x").startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert cobertura_xml([], 0).startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


# Text with everything that trips XML writers: markup, CDATA ends, non-BMP and illegal characters.
awkward_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from([*NOT_XML, "<", ">", "&", '"', "'", "]]>", "\r", "\n", "\t", "😀"]),
    ),
    max_size=30,
).map("".join)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)
namespaces = st.none() | names
millis = st.floats(min_value=0, max_value=10**7, allow_nan=False)
failures = st.builds(Failure, names, names, awkward_text, awkward_text, millis, namespaces)
successes = st.builds(Success, names, names, millis, namespaces)


@settings(max_examples=150, deadline=None)
@given(
    failed=st.lists(failures, max_size=8),
    passed=st.lists(successes, max_size=8),
    total=millis,
    suite=awkward_text,
)
def test_any_run_gives_a_valid_junit_document_whose_counts_match(
    failed: list[Failure], passed: list[Success], total: float, suite: str
) -> None:
    tests = Results(
        num_tests_run=len(failed) + len(passed),
        num_failures=len(failed),
        total_time_ms=total,
        failures=tuple(failed),
        successes=tuple(passed),
    )
    root = xmlsafe.parse(junit_xml(tests, suite, "2024-06-01T12:00:00Z"), "junit")
    JUNIT_SCHEMA.assertValid(root)
    (testsuite,) = root
    cases = testsuite.findall("testcase")
    written_failures = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert testsuite.get("tests") == root.get("tests") == str(len(failed) + len(passed))
    assert testsuite.get("failures") == root.get("failures") == str(len(failed))
    assert len(cases) == len(failed) + len(passed)
    assert len(written_failures) == len(failed)
    legal = {c for text in (f.message for f in failed) for c in text if c not in NOT_XML}
    for element in written_failures:
        assert element is not None
        assert set(element.get("message", "")) <= legal


COVERAGE = [
    ClassCoverage("ShipService", "Class", 12, 4, (9, 3, 7, 3, 8)),
    ClassCoverage("PortTrigger", "Trigger", 3, 1, (2,)),
    ClassCoverage("Constants", "Class", 0, 0),
    ClassCoverage("ShipService", "Class", 6, 0, namespace="fleet"),
]


def test_cobertura_totals_and_rates_come_from_salesforce_counts() -> None:
    root = cobertura(COVERAGE)
    assert dict(root.items()) == {
        "line-rate": "0.7619",  # 16 of 21, rounded down
        "branch-rate": "0",
        "lines-covered": "16",
        "lines-valid": "21",
        "branches-covered": "0",
        "branches-valid": "0",
        "complexity": "0",
        "version": root.get("version"),
        "timestamp": "1717243200000",
    }
    assert (root.get("version") or "").startswith("sftk ")
    assert [s.text for s in root.iterfind("sources/source")] == ["."]
    packages = {p.get("name"): p.get("line-rate") for p in root.iterfind("packages/package")}
    assert packages == {
        "force-app/main/default/classes": "0.7777",  # 14 of 18
        "force-app/main/default/triggers": "0.6666",  # 2 of 3
    }


def test_cobertura_classes_files_and_only_uncovered_lines() -> None:
    root = cobertura(COVERAGE)
    classes = {
        c.get("name"): (
            c.get("filename"),
            c.get("line-rate"),
            [(line.get("number"), line.get("hits")) for line in c.iterfind("lines/line")],
        )
        for c in root.iterfind(".//class")
    }
    assert classes == {
        "Constants": ("force-app/main/default/classes/Constants.cls", "1.0000", []),
        "ShipService": (
            "force-app/main/default/classes/ShipService.cls",
            "0.6666",
            [("3", "0"), ("7", "0"), ("8", "0"), ("9", "0")],
        ),
        "fleet.ShipService": ("force-app/main/default/classes/ShipService.cls", "1.0000", []),
        "PortTrigger": (
            "force-app/main/default/triggers/PortTrigger.trigger",
            "0.6666",
            [("2", "0")],
        ),
    }
    assert [len(m) for m in root.iterfind(".//class/methods")] == [0, 0, 0, 0]
    assert [c.get("name") for c in root.iterfind(".//class")] == [
        "Constants",
        "fleet.ShipService",
        "ShipService",
        "PortTrigger",
    ]


@pytest.mark.parametrize(
    ("folder", "class_file", "trigger_file"),
    [
        ("", "classes/ShipService.cls", "triggers/PortTrigger.trigger"),
        (".", "classes/ShipService.cls", "triggers/PortTrigger.trigger"),
        ("src/", "src/classes/ShipService.cls", "src/triggers/PortTrigger.trigger"),
    ],
)
def test_cobertura_folder_is_a_parameter(folder: str, class_file: str, trigger_file: str) -> None:
    root = cobertura(COVERAGE[:2], folder=folder, source="/builds/harbour")
    assert [c.get("filename") for c in root.iterfind(".//class")] == [class_file, trigger_file]
    assert [s.text for s in root.iterfind("sources/source")] == ["/builds/harbour"]


def test_cobertura_is_deterministic_and_order_free() -> None:
    assert cobertura_xml(COVERAGE, 5) == cobertura_xml(list(reversed(COVERAGE)), 5)


def test_cobertura_of_nothing_is_valid_and_full() -> None:
    root = cobertura([])
    assert (root.get("line-rate"), root.get("lines-valid")) == ("1.0000", "0")
    packages = root.find("packages")
    assert packages is not None
    assert len(packages) == 0


def test_cobertura_rates_never_round_up_to_full() -> None:
    root = cobertura([ClassCoverage("Rudder", "Class", 100000, 1, (77,))])
    assert root.get("line-rate") == "0.9999"
    assert [c.get("line-rate") for c in root.iterfind(".//class")] == ["0.9999"]


def test_cobertura_strips_what_xml_cannot_carry_from_the_source_path() -> None:
    root = cobertura([], source="/builds/\x00harbour & <co>")
    assert [s.text for s in root.iterfind("sources/source")] == ["/builds/harbour & <co>"]
