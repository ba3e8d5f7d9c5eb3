"""Issue 6 against local orgs over HTTPS, through the library a CI pipeline imports: snapshots
before deploys, verified rollbacks (of deploys, failed deploys and rollbacks), tampered
snapshots refused, plans, no-op and --only-changed deploys, backups in batches, and the
sandbox-before-production rule with promotion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from toolkit.deploy import commands, promotion, recovery, retrieval
from toolkit.deploy.ledger import Ledger
from toolkit.deploy.policy import Outcome
from toolkit.deploy.snapshots import SnapshotStore
from toolkit.errors import NotProven, SnapshotInvalid, UsageError
from toolkit.localorg.org import RunningOrg
from toolkit.metadata import normalize
from toolkit.metadata.changes import Status
from toolkit.metadata.manifest import ComponentRef as Ref
from toolkit.project import Project, open_project

if TYPE_CHECKING:
    from tests.conftest import ProjectOrg

MD = "http://soap.sforce.com/2006/04/metadata"
CONFIG = """[project]
name = "apiary"
api_version = "63.0"

[permission_sets.Keepers]
label = "Keepers"

[orgs.staging]
kind = "sandbox"
auth = "local"

[orgs.prod]
kind = "production"
auth = "local"
"""
HIVE = """label = "Hive"
plural_label = "Hives"

[tab]
motif = "Custom55: Books"

[fields.Frames__c]
type = "Number"
label = "Frames"
precision = 3
scale = 0

[fields.Keeper__c]
type = "Lookup"
label = "Keeper"
reference_to = "Contact"
relationship_name = "Hives"

[layouts."Hive Layout"]
[[layouts."Hive Layout".sections]]
label = "Hive"
columns = [["Name", "Frames__c"], ["Keeper__c"]]

[access.Keepers]
object = ["create", "read", "edit"]
read = "*"
edit = "*"
"""
CONTACT = """[fields.Hive_Count__c]
type = "Number"
label = "Hive Count"
precision = 5
scale = 0

[fields.Beekeeper_Since__c]
type = "Date"
label = "Beekeeper Since"

[layouts."Contact Layout"]
[[layouts."Contact Layout".sections]]
label = "Contact Information"
columns = [["LastName", "FirstName", "Email"], ["Hive_Count__c", "Beekeeper_Since__c"]]
"""
CONTACT_LAYOUT = Ref("Layout", "Contact-Contact Layout")
NEW_FIELDS = (
    Ref("CustomField", "Contact.Hive_Count__c"),
    Ref("CustomField", "Contact.Beekeeper_Since__c"),
)
BACKUP_TYPES = ("CustomObject", "CustomTab", "Layout", "PermissionSet")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "apiary"
    (root / "objects").mkdir(parents=True)
    (root / "sftk.toml").write_text(CONFIG)
    (root / "objects" / "Hive__c.toml").write_text(HIVE)
    (root / "objects" / "Contact.toml").write_text(CONTACT)
    return root


@pytest.fixture
def org(root: Path, project_org: ProjectOrg) -> RunningOrg:
    """The project's local org left running, as `sftk org serve` leaves it; commands reuse it."""
    return project_org(root)


def _project(root: Path) -> Project:
    return open_project(root, no_plugins=True)


def _org_metadata(project: Project, org: str = "local") -> dict[Ref, str]:
    """Every component of the types the package touches, as the org holds them now."""
    snapshot = recovery.backup(project, org, types=BACKUP_TYPES)
    return {c.ref: c.sha256 or "" for c in snapshot.components}


def _history_size(root: Path) -> int:
    path = root / ".sftk" / "deploys.json"
    return sum(len(v) for v in json.loads(path.read_text()).values()) if path.exists() else 0


def test_a_deploy_is_rolled_back_and_the_org_retrieves_as_before(
    root: Path, org: RunningOrg
) -> None:
    project = _project(root)
    before = _org_metadata(project)
    assert CONTACT_LAYOUT in before and Ref("CustomObject", "Hive__c") not in before

    run = commands.deploy(project, "local")
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED
    snapshot = run.snapshot
    assert snapshot is not None and snapshot.kind == "deploy"
    layout = snapshot.component(CONTACT_LAYOUT)
    assert layout is not None and layout.existed and layout.sha256 == before[CONTACT_LAYOUT]
    assert {c.ref for c in snapshot.components if c.new} >= {
        *NEW_FIELDS,
        Ref("CustomObject", "Hive__c"),
    }
    outcome = SnapshotStore(root / ".sftk").outcome(snapshot.id)
    assert outcome.outcome == "succeeded" and outcome.deploy_ids == (run.report.deploy_id,)
    during = _org_metadata(project)
    assert during[CONTACT_LAYOUT] != before[CONTACT_LAYOUT]

    undone = recovery.rollback(project, "local")
    assert undone.verified and undone.mismatches == () and undone.manual == ()
    assert [s.title for s in undone.steps] == [
        "restore earlier versions, delete new components that refer to fields or objects",
        "delete new CustomField components",
        "delete new objects",
    ]
    assert undone.steps[0].restores == (CONTACT_LAYOUT,)
    assert _org_metadata(project) == before  # hash for hash, every component of those types
    fields = commands.plan(project, "local")
    assert {c.ref: c.status for c in fields.changes if c.ref in NEW_FIELDS} == dict.fromkeys(
        NEW_FIELDS, Status.NEW
    )


def test_a_failed_deploy_keeps_its_snapshot_and_its_rollback_is_a_verified_no_op(
    root: Path, org: RunningOrg
) -> None:
    project = _project(root)
    broken = root / "broken" / "objects"
    broken.mkdir(parents=True)
    (broken / "Swarm__c.object").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="{MD}">\n'
        "    <label>Swarm</label>\n    <colour>gold</colour>\n</CustomObject>\n"
    )
    run = commands.deploy(project, "local", path=root / "broken")
    assert run.report is not None and run.report.outcome is Outcome.FAILED
    assert run.snapshot is not None
    store = SnapshotStore(root / ".sftk")
    assert store.outcome(run.snapshot.id).outcome == "failed"
    deploys_before = _history_size(root)
    with pytest.raises(UsageError, match="no deploy to local is left to undo"):
        recovery.rollback(project, "local")  # a failed deploy is not what a plain rollback undoes
    kept = store.ids()
    undone = recovery.rollback(project, "local", run.snapshot.id)
    assert undone.snapshot.id == run.snapshot.id
    assert undone.verified and undone.steps == () and undone.own_snapshot is None
    assert _history_size(root) == deploys_before  # nothing was sent
    assert store.ids() == kept  # and no snapshot of a rollback that did nothing


def test_a_rollback_is_undone_by_rolling_back_its_own_snapshot(root: Path, org: RunningOrg) -> None:
    project = _project(root)
    commands.deploy(project, "local")
    deployed = _org_metadata(project)
    undone = recovery.rollback(project, "local")
    assert undone.verified
    own = undone.own_snapshot
    assert own is not None and own.kind == "rollback" and own.undoes == undone.snapshot.id

    redone = recovery.rollback(project, "local", own.id[:10])
    assert redone.verified
    assert _org_metadata(project) == deployed
    assert all(c.status is Status.UNCHANGED for c in commands.plan(project, "local").changes)
    # without a snapshot named, rollback undoes the latest deploy, never a rollback
    assert recovery.rollback(project, "local").snapshot.id == undone.snapshot.id


def test_a_tampered_snapshot_is_refused_and_nothing_is_deployed(
    root: Path, org: RunningOrg
) -> None:
    project = _project(root)
    run = commands.deploy(project, "local")
    assert run.snapshot is not None
    path = root / ".sftk" / "snapshots" / f"{run.snapshot.id}.json"
    path.write_text(path.read_text().replace('"existed": true', '"existed": false'))
    sent = _history_size(root)
    with pytest.raises(SnapshotInvalid, match="cannot tell which deploy is the latest"):
        recovery.rollback(project, "local")
    with pytest.raises(SnapshotInvalid, match="does not match its signature"):
        recovery.rollback(project, "local", run.snapshot.id)
    assert _history_size(root) == sent
    with pytest.raises(SnapshotInvalid):
        recovery.show_snapshot(project, run.snapshot.id)


def test_plan_and_deploys_that_send_only_what_changed(root: Path, org: RunningOrg) -> None:
    project = _project(root)
    first = commands.plan(project, "local")
    assert first.count(Status.CHANGED) == 1 and first.count(Status.UNCHANGED) == 0
    assert {c.ref for c in first.changes if c.status is Status.CHANGED} == {CONTACT_LAYOUT}
    assert first.count(Status.NEW) == len(first.changes) - 1
    commands.deploy(project, "local")

    sent = _history_size(root)
    again = commands.deploy(project, "local")
    assert again.unchanged and again.report is None and again.snapshot is None
    assert _history_size(root) == sent  # no deploy call

    spec = root / "objects" / "Hive__c.toml"
    spec.write_text(spec.read_text().replace('label = "Frames"', 'label = "Brood Frames"'))
    project = _project(root)
    plan = commands.plan(project, "local")
    changed = [c for c in plan.changes if c.status is Status.CHANGED]
    assert [c.ref for c in changed] == [Ref("CustomField", "Hive__c.Frames__c")]
    assert "-    <label>Frames</label>" in changed[0].diff()
    assert "+    <label>Brood Frames</label>" in changed[0].diff()

    only = commands.deploy(project, "local", only_changed=True)
    assert only.report is not None and only.report.result is not None
    assert only.report.result.number_components_total == 1
    assert only.snapshot is not None and [c.ref for c in only.snapshot.components] == [
        Ref("CustomField", "Hive__c.Frames__c")
    ]
    assert all(c.status is Status.UNCHANGED for c in commands.plan(project, "local").changes)
    forced = commands.deploy(project, "local", force=True)
    assert forced.report is not None and forced.report.outcome is Outcome.SUCCEEDED


def test_production_takes_only_what_a_sandbox_took_and_promote_does_both_steps(root: Path) -> None:
    project = _project(root)
    with pytest.raises(NotProven, match="prod is a production org"):
        commands.deploy(project, "prod")
    with pytest.raises(NotProven):
        commands.deploy(project, "prod", check_only=True)
    with pytest.raises(NotProven, match="never deployed successfully to staging"):
        promotion.promote(project, "staging", "prod")

    assert commands.deploy(project, "staging").report is not None
    run = promotion.promote(project, "staging", "prod")
    assert run.validation is not None and run.validation.report is not None
    assert run.validation.report.check_only and run.validation.report.outcome is Outcome.SUCCEEDED
    assert run.deploy is not None and run.deploy.report is not None
    assert run.deploy.report.outcome is Outcome.SUCCEEDED and not run.deploy.report.check_only
    assert run.deploy.snapshot is not None and run.deploy.snapshot.kind == "quick"
    assert run.deploy.snapshot.org_kind == "production"
    entries = Ledger(root / ".sftk").entries()
    assert [(e.org, e.kind, e.action) for e in entries] == [
        ("staging", "sandbox", "deploy"),
        ("prod", "production", "validate"),
        ("prod", "production", "quick"),
    ]
    assert entries[2].validation_id == run.validation.report.deploy_id
    assert len({e.package_hash for e in entries}) == 1 and entries[0].who
    # production is an Enterprise org that is no sandbox: tests ran for the validation
    result = run.validation.report.result
    assert result is not None and result.run_tests_enabled


def test_a_forced_production_deploy_records_its_reason(root: Path) -> None:
    project = _project(root)
    with pytest.raises(UsageError, match="needs --reason"):
        commands.deploy(project, "prod", force=True)
    run = commands.deploy(project, "prod", force=True, reason="INC-42: hive data lost")
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED
    (entry,) = Ledger(root / ".sftk").entries()
    assert entry.forced_reason == "INC-42: hive data lost" and entry.kind == "production"


def test_a_validation_run_ahead_is_promoted_later_by_id(root: Path) -> None:
    project = _project(root)
    commands.deploy(project, "staging")
    ahead = promotion.promote(project, "staging", "prod", check_only=True)
    assert ahead.deploy is None and ahead.validation_id
    assert commands.plan(project, "prod").count(Status.NEW) > 0  # nothing deployed yet

    spec = root / "objects" / "Hive__c.toml"  # the project moves on after the validation
    spec.write_text(spec.read_text().replace('label = "Frames"', 'label = "Brood Frames"'))
    later = promotion.promote(_project(root), "staging", "prod", validation_id=ahead.validation_id)
    assert later.validation is None and later.deploy is not None and later.deploy.report is not None
    assert later.deploy.report.outcome is Outcome.SUCCEEDED
    assert later.deploy.snapshot is not None  # the validated package was kept, so it had one
    actions = [e.action for e in Ledger(root / ".sftk").entries() if e.org == "prod"]
    assert actions == ["validate", "quick"]
    with pytest.raises(UsageError, match="no successful validation"):
        promotion.promote(project, "staging", "prod", validation_id="0Af00000000zzzzAAA")


def test_a_backup_is_retrieved_in_batches_and_checked(
    root: Path, org: RunningOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(root)
    commands.deploy(project, "local")
    monkeypatch.setattr(retrieval, "RETRIEVE_BATCH", 3)
    snapshot = recovery.backup(project, "local")
    assert len(snapshot.zips) > 2 and snapshot.kind == "backup"
    assert all(c.existed and c.action == "keep" for c in snapshot.components)
    refs = {c.ref for c in snapshot.components}
    assert {Ref("CustomObject", "Hive__c"), CONTACT_LAYOUT, *NEW_FIELDS} <= refs
    view = recovery.show_snapshot(project, snapshot.id)  # every zip and hash checked
    assert view.snapshot == snapshot
    with pytest.raises(UsageError, match="unknown metadata type Layouts"):
        recovery.backup(project, "local", types=["Layouts"])


def test_an_async_deploy_is_settled_when_resumed(root: Path, org: RunningOrg) -> None:
    project = _project(root)
    run = commands.deploy(project, "local", wait_minutes=None)
    assert run.report is not None and run.report.outcome is Outcome.SUBMITTED
    assert run.snapshot is not None
    store = SnapshotStore(root / ".sftk")
    assert store.outcome(run.snapshot.id).outcome == "submitted"
    assert Ledger(root / ".sftk").entries() == []
    done = commands.resume(project, "local", run.report.deploy_id)
    assert done.outcome is Outcome.SUCCEEDED
    assert store.outcome(run.snapshot.id).outcome == "succeeded"
    (entry,) = Ledger(root / ".sftk").entries()
    assert entry.deploy_id == done.deploy_id and entry.action == "deploy"
    commands.report(project, "local", done.deploy_id)  # learning it again adds nothing
    assert len(Ledger(root / ".sftk").entries()) == 1


def test_snapshot_bodies_match_what_the_org_retrieves(root: Path, org: RunningOrg) -> None:
    """The snapshot's hashes are of the org's own retrieve, normalised; a second retrieve of
    the same unchanged org hashes the same."""
    project = _project(root)
    run = commands.deploy(project, "local")
    assert run.snapshot is not None
    again = commands.deploy(project, "local", force=True)
    assert again.snapshot is not None
    by_ref = {c.ref: c.sha256 for c in again.snapshot.components}
    plan_bodies = commands.plan(project, "local").package_bodies
    assert all(by_ref[ref] == normalize.digest(body) for ref, body in plan_bodies.items())


def _hand_written(folder: Path) -> None:
    """Components of every layout kind: a bundle, a folder and its report, an email template
    with its meta file, an Apex class."""
    files = {
        "lwc/hiveMap/hiveMap.js": "export default class HiveMap {}\n",
        "lwc/hiveMap/hiveMap.js-meta.xml": f'<LightningComponentBundle xmlns="{MD}">'
        "<apiVersion>63.0</apiVersion><isExposed>false</isExposed></LightningComponentBundle>",
        "reports/Apiary-meta.xml": f'<ReportFolder xmlns="{MD}"><accessType>Public</accessType>'
        "<name>Apiary</name><publicFolderAccess>ReadWrite</publicFolderAccess></ReportFolder>",
        "reports/Apiary/Hives.report": f'<Report xmlns="{MD}"><format>Tabular</format>'
        "<name>Hives</name><reportType>Account</reportType><scope>organization</scope>"
        "<showDetails>true</showDetails></Report>",
        "email/unfiled$public/Swarm.email": "A swarm left {!Contact.Name}'s hive.\n",
        "email/unfiled$public/Swarm.email-meta.xml": f'<EmailTemplate xmlns="{MD}">'
        "<available>true</available><encodingKey>UTF-8</encodingKey><name>Swarm</name>"
        "<style>none</style><subject>Swarm</subject><type>text</type></EmailTemplate>",
        "classes/HiveCount.cls": "public class HiveCount {}\n",
        "classes/HiveCount.cls-meta.xml": f'<ApexClass xmlns="{MD}"><apiVersion>63.0'
        "</apiVersion><status>Active</status></ApexClass>",
    }
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_bundles_folders_and_content_types_deploy_plan_and_roll_back(
    root: Path, org: RunningOrg
) -> None:
    project = _project(root)
    folder = root / "handwritten"
    _hand_written(folder)
    wanted = {
        Ref("LightningComponentBundle", "hiveMap"),
        Ref("Report", "Apiary"),
        Ref("Report", "Apiary/Hives"),
        Ref("EmailTemplate", "unfiled$public/Swarm"),
        Ref("ApexClass", "HiveCount"),
    }
    first = commands.plan(project, "local", path=folder)
    assert {c.ref: c.status for c in first.changes} == dict.fromkeys(wanted, Status.NEW)
    run = commands.deploy(project, "local", path=folder)
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED
    assert all(
        c.status is Status.UNCHANGED for c in commands.plan(project, "local", path=folder).changes
    )
    backed = recovery.backup(project, "local", types=["Report", "EmailTemplate", "ApexClass"])
    assert {
        Ref("Report", "Apiary/Hives"),
        Ref("Report", "Apiary"),
        Ref("ApexClass", "HiveCount"),
    } <= {c.ref for c in backed.components}
    undone = recovery.rollback(project, "local")
    assert undone.verified, undone.mismatches
    assert {
        c.ref: c.status for c in commands.plan(project, "local", path=folder).changes
    } == dict.fromkeys(wanted, Status.NEW)
