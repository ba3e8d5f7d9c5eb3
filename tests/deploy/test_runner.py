"""The deploy engine against the local org over HTTPS: outcomes, the coverage gate, partial
success, cancel, quick deploy, timeouts, resuming, and faults while polling."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from toolkit.config import CoveragePolicy
from toolkit.deploy.history import DeployHistory
from toolkit.deploy.package import DeployPackage
from toolkit.deploy.policy import Outcome, PollSchedule
from toolkit.deploy.runner import Deployer, options_for
from toolkit.errors import UsageError
from toolkit.localorg import deploys
from toolkit.localorg.org import RunningOrg
from toolkit.metadata.files import MetadataFile
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.metadata_client import MetadataClient
from toolkit.salesforce.results import DeployResult

if TYPE_CHECKING:
    from tests.conftest import Control

MD = "http://soap.sforce.com/2006/04/metadata"
FAST = PollSchedule(first=0.05, factor=1.5, ceiling=0.2, quick_polls=3)


def _package(*files: tuple[str, str], types: dict[str, list[str]]) -> DeployPackage:
    body = "".join(
        f"<types>{''.join(f'<members>{m}</members>' for m in members)}<name>{kind}</name></types>"
        for kind, members in sorted(types.items())
    )
    manifest = f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="{MD}">{body}'
    manifest += "<version>63.0</version></Package>"
    made = [MetadataFile(path, text.encode()) for path, text in files]
    made.append(MetadataFile("package.xml", manifest.encode()))
    return DeployPackage(tuple(sorted(made, key=lambda f: f.path)), "test")


def _object(name: str, label: str) -> tuple[str, str]:
    return (
        f"objects/{name}.object",
        f'<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="{MD}">'
        "<deploymentStatus>Deployed</deploymentStatus>"
        f"<label>{label}</label><nameField><label>Name</label><type>Text</type></nameField>"
        f"<pluralLabel>{label}s</pluralLabel><sharingModel>ReadWrite</sharingModel>"
        "</CustomObject>",
    )


def _apex(name: str, body: str) -> list[tuple[str, str]]:
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?><ApexClass xmlns="{MD}">'
        "<apiVersion>63.0</apiVersion><status>Active</status></ApexClass>"
    )
    return [(f"classes/{name}.cls", body), (f"classes/{name}.cls-meta.xml", meta)]


GOOD = _package(_object("Hive__c", "Hive"), types={"CustomObject": ["Hive__c"]})
BROKEN = _package(
    _object("Frame__c", "Frame"),
    ("objects/Comb__c.object", f'<CustomObject xmlns="{MD}"><label>Comb</label>'),
    types={"CustomObject": ["Frame__c", "Comb__c"]},
)
APEX = _package(
    *_apex("Keeper", "public class Keeper {\n  public Integer count() {\n    return 1;\n  }\n}\n"),
    *_apex(
        "KeeperTest", "@isTest\nprivate class KeeperTest {\n  @isTest static void counts() {}\n}\n"
    ),
    types={"ApexClass": ["Keeper", "KeeperTest"]},
)


@pytest.fixture
def history(tmp_path: Path) -> DeployHistory:
    return DeployHistory(tmp_path / ".sftk")


@pytest.fixture
def seen() -> list[DeployResult]:
    return []


@pytest.fixture
def deployer(
    connection: OrgConnection, history: DeployHistory, seen: list[DeployResult]
) -> Deployer:
    return Deployer(
        MetadataClient(connection),
        history,
        "local",
        CoveragePolicy(),
        on_progress=seen.append,
        schedule=FAST,
        sleep=lambda s: time.sleep(min(s, 0.2)),
    )


@pytest.fixture(autouse=True)
def quick_org(local_org: RunningOrg, control: Control) -> Iterator[None]:
    deploys.set_component_delay(local_org.org, 0)
    control.coverage({"classes": {}, "triggers": {}, "tests": {}})
    yield
    control.call("DELETE", "/_sftk/faults")


def _coverage(control: Control, covered: int, uncovered: int, failing: bool = False) -> None:
    tests: dict[str, Any] = {"methods": ["counts"]}
    if failing:
        tests["failures"] = {
            "counts": {"message": "expected 2", "stackTrace": "Class.KeeperTest.counts: line 3"}
        }
    control.coverage(
        {
            "classes": {
                "Keeper": {
                    "covered": list(range(1, covered + 1)),
                    "uncovered": list(range(covered + 1, covered + uncovered + 1)),
                }
            },
            "triggers": {},
            "tests": {"KeeperTest": tests},
        }
    )


def _sandbox() -> Any:
    return options_for(
        "sandbox", check_only=False, test_level=None, tests=(), ignore_warnings=False
    )


def test_a_deploy_succeeds_and_is_remembered(
    deployer: Deployer, history: DeployHistory, seen: list[DeployResult]
) -> None:
    report = deployer.deploy(GOOD, _sandbox(), wait_minutes=2)
    assert report.outcome is Outcome.SUCCEEDED
    assert report.result is not None and report.result.number_components_deployed == 1
    assert seen and seen[-1].done
    record = history.latest("local")
    assert record is not None and record.id == report.deploy_id
    assert record.outcome == "succeeded" and record.package_hash == GOOD.content_hash


def test_component_failures_name_file_and_problem(deployer: Deployer) -> None:
    report = deployer.deploy(BROKEN, _sandbox(), wait_minutes=2)
    assert report.outcome is Outcome.FAILED
    assert report.result is not None
    [failure] = report.result.component_failures
    assert failure.file_name.endswith("Comb__c.object") and failure.problem
    assert failure.line is not None


def test_partial_success_on_a_sandbox(deployer: Deployer, control: Control) -> None:
    control.call("PATCH", "/_sftk/org", {"is_sandbox": True})
    options = options_for(
        "sandbox",
        check_only=False,
        test_level=None,
        tests=(),
        ignore_warnings=False,
        allow_partial=True,
    )
    assert options.rollback_on_error is False
    try:
        report = deployer.deploy(BROKEN, options, wait_minutes=2)
    finally:
        control.call("PATCH", "/_sftk/org", {"is_sandbox": False})
    assert report.outcome is Outcome.PARTIAL
    assert report.result is not None and report.result.number_components_deployed == 1


def test_production_guards() -> None:
    options = options_for(
        "production", check_only=False, test_level=None, tests=(), ignore_warnings=True
    )
    assert options.rollback_on_error and not options.purge_on_delete
    assert options.test_level == "RunLocalTests"
    with pytest.raises(UsageError):
        options_for(
            "production",
            check_only=False,
            test_level=None,
            tests=(),
            ignore_warnings=False,
            allow_partial=True,
        )
    with pytest.raises(UsageError):
        options_for(
            "sandbox",
            check_only=False,
            test_level="RunLocalTests",
            tests=("A",),
            ignore_warnings=False,
        )


def test_failed_tests_fail_the_deploy(deployer: Deployer, control: Control) -> None:
    _coverage(control, covered=3, uncovered=0, failing=True)
    options = options_for(
        "sandbox", check_only=True, test_level="RunLocalTests", tests=(), ignore_warnings=False
    )
    report = deployer.deploy(APEX, options, wait_minutes=2)
    assert report.outcome is Outcome.FAILED
    assert report.result is not None
    [failure] = report.result.tests.failures
    assert (failure.class_name, failure.method_name) == ("KeeperTest", "counts")
    assert "line 3" in failure.stack_trace


def test_coverage_gate_misses_per_class(
    connection: OrgConnection, history: DeployHistory, control: Control
) -> None:
    _coverage(control, covered=4, uncovered=1)  # 80%: the org is satisfied
    strict = Deployer(
        MetadataClient(connection),
        history,
        "local",
        CoveragePolicy(org_wide=75, per_class=75, patterns=(("Keep*", 90.0),)),
        schedule=FAST,
    )
    options = options_for(
        "sandbox", check_only=True, test_level="RunLocalTests", tests=(), ignore_warnings=False
    )
    report = strict.deploy(APEX, options, wait_minutes=2)
    assert report.outcome is Outcome.COVERAGE_MISS
    assert report.gate is not None and not report.gate.passed
    assert [m.name for m in report.gate.misses] == ["Keeper"]


def test_org_wide_coverage_under_75_fails_in_the_org(deployer: Deployer, control: Control) -> None:
    _coverage(control, covered=1, uncovered=3)
    options = options_for(
        "sandbox", check_only=True, test_level="RunLocalTests", tests=(), ignore_warnings=False
    )
    report = deployer.deploy(APEX, options, wait_minutes=2)
    assert report.outcome is Outcome.FAILED
    assert report.result is not None and report.result.tests.coverage_warnings


def test_quick_deploy_of_a_validation_and_its_refusal(deployer: Deployer, control: Control) -> None:
    _coverage(control, covered=5, uncovered=0)
    options = options_for(
        "sandbox", check_only=True, test_level="RunLocalTests", tests=(), ignore_warnings=False
    )
    validation = deployer.deploy(APEX, options, wait_minutes=2)
    assert validation.outcome is Outcome.SUCCEEDED and validation.check_only
    quick = deployer.quick(validation.deploy_id, wait_minutes=2)
    assert quick.outcome is Outcome.SUCCEEDED and not quick.check_only
    check = options_for(
        "sandbox", check_only=True, test_level=None, tests=(), ignore_warnings=False
    )
    failed = deployer.deploy(BROKEN, check, wait_minutes=2)
    assert failed.outcome is Outcome.FAILED
    refused = deployer.quick(failed.deploy_id, wait_minutes=2)
    assert refused.outcome is Outcome.FAILED and refused.note
    assert "INVALID_ID_FIELD" in refused.note


def test_timeout_then_resume(deployer: Deployer, local_org: RunningOrg) -> None:
    deploys.set_component_delay(local_org.org, 0.6)
    report = deployer.deploy(GOOD, _sandbox(), wait_minutes=0.005)
    assert report.outcome is Outcome.TIMED_OUT and report.note
    assert "resume" in report.note
    resumed = deployer.wait(report.deploy_id, 2)
    assert resumed.outcome is Outcome.SUCCEEDED


def test_interrupted_wait_leaves_the_deploy_running(
    connection: OrgConnection, history: DeployHistory, local_org: RunningOrg
) -> None:
    deploys.set_component_delay(local_org.org, 0.5)

    def interrupt(result: DeployResult) -> None:
        raise KeyboardInterrupt

    impatient = Deployer(
        MetadataClient(connection), history, "local", CoveragePolicy(), on_progress=interrupt
    )
    report = impatient.deploy(GOOD, _sandbox(), wait_minutes=2)
    assert report.outcome is Outcome.INTERRUPTED
    patient = Deployer(
        MetadataClient(connection), history, "local", CoveragePolicy(), schedule=FAST
    )
    assert patient.wait(report.deploy_id, 2).outcome is Outcome.SUCCEEDED


def test_cancel(deployer: Deployer, local_org: RunningOrg) -> None:
    deploys.set_component_delay(local_org.org, 1.0)
    big = _package(
        *(_object(f"Cell{n}__c", f"Cell {n}") for n in range(5)),
        types={"CustomObject": [f"Cell{n}__c" for n in range(5)]},
    )
    submitted = deployer.deploy(big, _sandbox(), wait_minutes=None)
    assert submitted.outcome is Outcome.SUBMITTED
    cancel = deployer.cancel(submitted.deploy_id, wait_minutes=2)
    assert cancel.report.outcome is Outcome.CANCELED and not cancel.already_finished


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http_5xx", "status": 503, "count": 2},
        {"kind": "drop", "count": 2},
        {"kind": "UNABLE_TO_LOCK_ROW", "count": 2},
        {"kind": "http_5xx", "status": 502, "count": 1},
        {"kind": "REQUEST_LIMIT_EXCEEDED", "count": 1},
        {"kind": "latency", "seconds": 0.3, "count": 2},
    ],
)
def test_faults_while_polling_are_retried_without_redeploying(
    deployer: Deployer, control: Control, history: DeployHistory, fault: dict[str, Any]
) -> None:
    submitted = deployer.deploy(GOOD, _sandbox(), wait_minutes=None)
    control.fault(route="soap.metadata", **fault)
    report = deployer.wait(submitted.deploy_id, 2)
    assert report.outcome is Outcome.SUCCEEDED
    assert len(history.records("local")) == 1
    assert control.call("GET", "/_sftk/faults") == []


def test_a_zip_read_back_is_the_same_package() -> None:
    files = zipfile.ZipFile(io.BytesIO(GOOD.zip)).namelist()
    assert sorted(files) == sorted(f.path for f in GOOD.files)
