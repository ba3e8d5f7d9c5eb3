"""How a rollback is worked out, without an org: what is restored, what is deleted and in
which order, what is left to a person; and the sandbox-first rule of the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.config import OrgProfile
from toolkit.deploy.ledger import Ledger, LedgerEntry, require_proof
from toolkit.deploy.rollback import mismatches, plan_rollback, step_package
from toolkit.deploy.snapshots import Snapshot, Source, make_snapshot
from toolkit.errors import ExitCode, NotProven, UsageError
from toolkit.metadata import manifest, normalize
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef as Ref

MD = "http://soap.sforce.com/2006/04/metadata"


def _lookup(target: str) -> bytes:
    return (
        f'<CustomField xmlns="{MD}"><fullName>X</fullName><referenceTo>{target}</referenceTo>'
        "<type>Lookup</type></CustomField>"
    ).encode()


def _snapshot(before: dict[Ref, bytes], actions: dict[Ref, str]) -> Snapshot:
    return make_snapshot(
        kind="deploy",
        source=Source("uat", None, None, "sandbox"),
        api_version="63.0",
        created_at="2026-12-01T10:00:00Z",
        package_hash="cd" * 32,
        refs=actions,
        before=before,
        package_bodies={},
        zips=[],
    )


LAYOUT = Ref("Layout", "Contact-Contact Layout")
HIVES = Ref("CustomField", "Contact.Hives__c")
APIARY = Ref("CustomField", "Contact.Apiary__c")
HIVE, YARD = Ref("CustomObject", "Hive__c"), Ref("CustomObject", "Yard__c")
HIVE_YARD = Ref("CustomField", "Hive__c.Yard__c")
HIVE_TAB, HIVE_LAYOUT = Ref("CustomTab", "Hive__c"), Ref("Layout", "Hive__c-Hive Layout")
KEEPERS = Ref("PermissionSet", "Keepers")


def test_changed_components_come_back_and_new_ones_go_in_reference_order() -> None:
    snapshot = _snapshot(
        {LAYOUT: b"<old/>", KEEPERS: b"<k/>"},
        {
            r: "deploy"
            for r in (LAYOUT, HIVES, APIARY, HIVE, YARD, HIVE_YARD, HIVE_TAB, HIVE_LAYOUT, KEEPERS)
        },
    )
    now = {
        LAYOUT: b"<new/>",  # changed by the deploy
        KEEPERS: b"<k/>",  # unchanged: left alone
        HIVES: b"<f/>",
        APIARY: _lookup("Yard__c"),
        HIVE: b"<o/>",
        YARD: b"<o/>",
        HIVE_YARD: _lookup("Yard__c"),  # Hive__c points at Yard__c: Hive__c goes first
        HIVE_TAB: b"<t/>",
        HIVE_LAYOUT: b"<l/>",
    }
    plan = plan_rollback(snapshot, now)
    titles = [(s.title, s.restores, s.deletes) for s in plan.steps]
    assert titles == [
        (
            "restore earlier versions, delete new components that refer to fields or objects",
            (LAYOUT,),
            (HIVE_TAB, HIVE_LAYOUT),
        ),
        ("delete new CustomField components", (), (APIARY, HIVES)),
        ("delete new objects that no other new object looks up", (), (HIVE,)),
        ("delete new objects that the objects deleted before looked up", (), (YARD,)),
    ]
    assert plan.manual == ()
    actions = plan.actions(list(now))
    assert actions[HIVE_YARD] == "delete"  # goes with its object, not on its own
    assert actions[KEEPERS] == "keep" and actions[LAYOUT] == "deploy"


def test_nothing_to_do_when_the_org_already_matches() -> None:
    snapshot = _snapshot({LAYOUT: b"<old/>"}, {LAYOUT: "deploy", HIVES: "deploy"})
    plan = plan_rollback(snapshot, {LAYOUT: b"<old/>"})  # the deploy failed: nothing changed
    assert plan.steps == () and plan.manual == ()
    assert mismatches(snapshot, {LAYOUT: b"<old/>"}) == []
    assert [(m.ref, m.found) for m in mismatches(snapshot, {LAYOUT: b"<x/>", HIVES: b"<f/>"})] == [
        (HIVES, "present"),
        (LAYOUT, "different"),
    ]


def test_what_the_metadata_api_cannot_delete_is_left_to_a_person() -> None:
    settings = Ref("Settings", "Account")
    standard = Ref("CustomField", "Contact.Department")
    flow = Ref("Flow", "Swarm_Alert")
    snapshot = _snapshot({}, {settings: "deploy", standard: "deploy", flow: "deploy"})
    plan = plan_rollback(snapshot, {settings: b"<s/>", standard: b"<d/>", flow: b"<f/>"})
    assert plan.steps == ()
    reasons = {m.ref: m.why for m in plan.manual}
    assert "cannot be deleted, only changed" in reasons[settings]
    assert "standard" in reasons[standard] and "active flow" in reasons[flow]
    assert all(m.todo for m in plan.manual)


def test_an_object_the_deploy_deleted_comes_back_whole() -> None:
    own = Ref("CustomObject", "Yard__c")
    child = Ref("CustomField", "Yard__c.Size__c")
    snapshot = _snapshot({own: b"<o/>"}, {own: "delete"})
    plan = plan_rollback(snapshot, {}, {own: b"<o/>", child: b"<f/>"})
    assert [s.restores for s in plan.steps] == [(child, own)]


def test_each_step_is_a_deploy_package_of_its_own() -> None:
    before = [
        MetadataFile(
            "layouts/Contact-Contact Layout.layout",
            f'<Layout xmlns="{MD}"><layoutSections><label>Old</label>'
            "</layoutSections></Layout>".encode(),
        )
    ]
    snapshot = _snapshot(
        normalize.bodies(before), {LAYOUT: "deploy", HIVE_TAB: "deploy", HIVES: "deploy"}
    )
    plan = plan_rollback(snapshot, {LAYOUT: b"<new/>", HIVE_TAB: b"<t/>", HIVES: b"<f/>"})
    first, second = (step_package(s, before, "63.0", "rollback") for s in plan.steps)
    paths = [f.path for f in first.files]
    assert paths == [
        "destructiveChangesPost.xml",
        "layouts/Contact-Contact Layout.layout",
        "package.xml",
    ]
    assert first.components == [LAYOUT] and first.deletes == [HIVE_TAB]
    assert [f.path for f in second.files] == ["destructiveChanges.xml", "package.xml"]
    assert second.deletes == [HIVES] and second.components == []
    listed = manifest.listed(next(f.content for f in second.files if f.path == "package.xml"), "p")
    assert listed == [] and second.api_version == "63.0"


# --- the ledger's sandbox-first rule --------------------------------------------------------


def _entry(
    org: str,
    kind: str,
    action: str,
    package_hash: str,
    *,
    is_sandbox: bool = True,
    local: bool = False,
) -> LedgerEntry:
    return LedgerEntry(
        org=org,
        org_id=None,
        kind=kind,
        action=action,
        package_hash=package_hash,
        deploy_id="0Af000000000001CAA",
        at="2026-12-01T10:00:00Z",
        who="ana",
        username=None,
        org_is_sandbox=is_sandbox,
        local=local,
    )


PROD = OrgProfile(name="prod", kind="production", auth="token")
REHEARSAL_PROD = OrgProfile(name="rehearsal-prod", kind="production", auth="local")
UAT = OrgProfile(name="uat", kind="sandbox", auth="token")


def test_production_takes_only_what_a_sandbox_took(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    with pytest.raises(NotProven, match="never deployed successfully") as refused:
        require_proof(ledger, PROD, "aa" * 32)
    assert refused.value.exit_code == ExitCode.NOT_PROVEN
    assert require_proof(ledger, UAT, "aa" * 32) is None  # sandboxes take anything
    ledger.add(_entry("uat", "sandbox", "validate", "aa" * 32))  # a validation proves nothing
    ledger.add(_entry("prod", "production", "deploy", "aa" * 32))  # nor production itself
    ledger.add(_entry("uat", "sandbox", "deploy", "bb" * 32))  # nor another package
    with pytest.raises(NotProven):
        require_proof(ledger, PROD, "aa" * 32)
    ledger.add(_entry("dev", "developer", "deploy", "aa" * 32, is_sandbox=False))  # nor a dev org
    ledger.add(_entry("local", "local", "deploy", "aa" * 32, is_sandbox=False, local=True))
    ledger.add(_entry("uat", "sandbox", "deploy", "aa" * 32, is_sandbox=False))  # org says no
    ledger.add(_entry("uat", "sandbox", "deploy", "aa" * 32, is_sandbox=None))  # nobody asked
    with pytest.raises(NotProven):
        require_proof(ledger, PROD, "aa" * 32)
    ledger.add(_entry("uat", "sandbox", "deploy", "aa" * 32))
    assert require_proof(ledger, PROD, "aa" * 32) is None
    assert ledger.proof("aa" * 32, from_org="uat") is not None
    assert ledger.proof("aa" * 32, from_org="dev") is None


def test_a_local_sandbox_proves_only_for_a_local_production(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.add(_entry("rehearsal-sandbox", "sandbox", "deploy", "aa" * 32, local=True))
    assert require_proof(ledger, REHEARSAL_PROD, "aa" * 32) is None
    with pytest.raises(NotProven, match="proven only on the local org rehearsal-sandbox"):
        require_proof(ledger, PROD, "aa" * 32)
    ledger.add(_entry("uat", "sandbox", "verify", "aa" * 32))  # held, found by retrieving
    assert require_proof(ledger, PROD, "aa" * 32) is None


def test_forcing_production_needs_a_reason_which_is_returned_to_record(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    with pytest.raises(UsageError, match="needs --reason"):
        require_proof(ledger, PROD, "aa" * 32, force=True)
    assert (
        require_proof(ledger, PROD, "aa" * 32, force=True, reason=" INC-7 hotfix ")
        == "INC-7 hotfix"
    )


def test_a_damaged_ledger_stops_production_deploys(tmp_path: Path) -> None:
    (tmp_path / "ledger.json").write_text("{not json")
    with pytest.raises(Exception, match="cannot be read"):
        require_proof(Ledger(tmp_path), PROD, "aa" * 32)
