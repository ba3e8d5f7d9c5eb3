"""The plugin's layout patches through sftk's deploy, on an org of the test's own (a rollback
would otherwise take the plugin's metadata from the session's org): the standard Contact and
Lead layouts gain the Appointments related list and the booking button, keep the rest, a
second deploy changes nothing and a rollback restores them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from toolkit.deploy import commands, recovery
from toolkit.metadata.changes import Status
from toolkit.metadata.manifest import ComponentRef as Ref
from toolkit.testing.kit import KitOrg

NS = {"m": "http://soap.sforce.com/2006/04/metadata"}
LAYOUTS = {
    "Contact": Ref("Layout", "Contact-Contact Layout"),
    "Lead": Ref("Layout", "Lead-Lead Layout"),
}


@pytest.fixture
def own_org(tmp_path: Path) -> Iterator[KitOrg]:
    org = KitOrg.start(tmp_path / "org")
    try:
        yield org
    finally:
        org.stop()


def layouts(plan: commands.Plan) -> dict[str, etree._Element]:
    bodies = {c.ref: c.org_body for c in plan.changes}
    return {obj: etree.fromstring(bodies[ref] or b"") for obj, ref in LAYOUTS.items()}


def test_contact_and_lead_layouts_are_patched_once_and_restored_by_a_rollback(
    own_org: KitOrg, tmp_path: Path
) -> None:
    settings = {"ics": ["none.ics"], "booking_url": "https://book.example.com/?e={email}"}
    project = own_org.project(tmp_path / "clinic", ["scheduling"], {"scheduling": settings})
    opened = project.open()
    before = layouts(commands.plan(opened, "local"))
    assert all(not layout.findall("m:relatedLists", NS) for layout in before.values())

    run = commands.deploy(opened, "local", skip_preflight=True)
    assert run.report is not None and run.report.deploy_id
    after = commands.plan(opened, "local")
    assert {c.ref: c.status for c in after.changes if c.ref in LAYOUTS.values()} == dict.fromkeys(
        LAYOUTS.values(), Status.UNCHANGED
    )
    for obj, layout in layouts(after).items():
        assert layout.xpath("m:customButtons/text()", namespaces=NS) == ["Book_Appointment"]
        assert layout.xpath("m:relatedLists/m:relatedList/text()", namespaces=NS) == [
            f"Appointment__c.{obj}__c"
        ]
        kept = before[obj].xpath("//m:layoutItems/m:field/text()", namespaces=NS)
        assert layout.xpath("//m:layoutItems/m:field/text()", namespaces=NS) == kept

    again = commands.deploy(opened, "local", skip_preflight=True)
    assert again.unchanged

    undone = recovery.rollback(opened, "local")
    assert undone.verified
    restored = layouts(commands.plan(opened, "local"))
    for obj, layout in restored.items():
        assert etree.tostring(layout) == etree.tostring(before[obj])
