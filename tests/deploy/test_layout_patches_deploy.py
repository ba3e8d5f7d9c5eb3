"""Layout patches against a local org over HTTPS: the org's layout retrieved and merged, the
deploy taken with its snapshot, a second deploy sending nothing, the plan showing the patch as
a diff, and a rollback restoring the layout as it was."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lxml import etree

from toolkit.deploy import commands, recovery, retrieval
from toolkit.deploy.policy import Outcome
from toolkit.errors import ConfigError
from toolkit.localorg.org import RunningOrg
from toolkit.metadata.changes import Status
from toolkit.metadata.manifest import ComponentRef as Ref
from toolkit.project import Project, open_project
from toolkit.salesforce.auth import open_connection
from toolkit.salesforce.metadata_client import MetadataClient

if TYPE_CHECKING:
    from tests.conftest import ProjectOrg

MD = "http://soap.sforce.com/2006/04/metadata"
NS = {"m": MD}
CONFIG = """[project]
name = "clinic"
api_version = "63.0"
"""
VISIT = """label = "Visit"
plural_label = "Visits"

[fields.Patient__c]
type = "Lookup"
label = "Patient"
reference_to = "Contact"
relationship_name = "Visits"

[layouts."Visit Layout"]
[[layouts."Visit Layout".sections]]
label = "Visit"
columns = [["Name", "Patient__c"]]
"""
CONTACT = """[fields.Visits_Due__c]
type = "Number"
label = "Visits Due"
precision = 3
scale = 0

[web_links.Book_Visit]
label = "Book visit"
url = "https://book.example.com/?email={!Contact.Email}"
display_type = "button"

[layout_patches."Contact Layout"]
buttons = ["Book_Visit"]
related_lists = [{ name = "Visit__c.Patient__c", fields = ["NAME"] }]
fields = [{ section = "Care", field = "Visits_Due__c" }]
"""
LAYOUT = Ref("Layout", "Contact-Contact Layout")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "clinic"
    (root / "objects").mkdir(parents=True)
    (root / "sftk.toml").write_text(CONFIG)
    (root / "objects" / "Visit__c.toml").write_text(VISIT)
    (root / "objects" / "Contact.toml").write_text(CONTACT)
    return root


@pytest.fixture
def org(root: Path, project_org: ProjectOrg) -> RunningOrg:
    return project_org(root)


def project(root: Path) -> Project:
    return open_project(root, no_plugins=True)


def org_layout(found: Project) -> bytes:
    with open_connection(found.config, "local") as conn:
        retriever = retrieval.Retriever(MetadataClient(conn), conn.api_version)
        [file] = retriever.components([LAYOUT]).files
    return file.content


def test_a_patch_merges_into_the_orgs_layout_once_and_a_rollback_restores_it(
    root: Path, org: RunningOrg
) -> None:
    found = project(root)
    before = org_layout(found)
    original = etree.fromstring(before)
    fields_before = original.xpath("//m:layoutItems/m:field/text()", namespaces=NS)
    assert fields_before and "Visits_Due__c" not in fields_before

    plan = commands.plan(found, "local")
    change = next(c for c in plan.changes if c.ref == LAYOUT)
    assert change.status is Status.CHANGED
    diff = change.diff()
    assert "+    <customButtons>Book_Visit</customButtons>" in diff
    assert "+        <relatedList>Visit__c.Patient__c</relatedList>" in diff
    assert "+                <field>Visits_Due__c</field>" in diff, diff
    assert not [line for line in diff.splitlines() if line.startswith("-") and "---" not in line]

    run = commands.deploy(found, "local")
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED
    assert run.snapshot is not None and run.snapshot.component(LAYOUT) is not None
    patched = etree.fromstring(org_layout(found))
    assert patched.xpath("m:customButtons/text()", namespaces=NS) == ["Book_Visit"]
    assert patched.xpath("m:relatedLists/m:relatedList/text()", namespaces=NS) == [
        "Visit__c.Patient__c"
    ]
    assert set(fields_before) < set(patched.xpath("//m:field/text()", namespaces=NS))

    again = commands.deploy(found, "local")
    assert again.unchanged and again.report is None
    assert next(c for c in again.plan.changes if c.ref == LAYOUT).status is Status.UNCHANGED

    undone = recovery.rollback(found, "local")
    assert undone.verified and LAYOUT in undone.steps[0].restores
    assert org_layout(found) == before


def test_a_layout_the_project_writes_is_patched_as_written(root: Path, org: RunningOrg) -> None:
    written = (
        CONTACT
        + """
[layouts."Contact Layout"]
[[layouts."Contact Layout".sections]]
label = "Contact"
columns = [["LastName", "Email"]]
"""
    )
    (root / "objects" / "Contact.toml").write_text(written)
    found = project(root)
    run = commands.deploy(found, "local")
    assert run.report is not None and run.report.outcome is Outcome.SUCCEEDED
    layout = etree.fromstring(org_layout(found))
    sections = layout.xpath("m:layoutSections/m:label/text()", namespaces=NS)
    assert sections == ["Contact", "Care"]  # the project's layout replaced the org's, patched


def test_a_patch_of_a_layout_the_org_lacks_names_itself(root: Path, org: RunningOrg) -> None:
    (root / "objects" / "Contact.toml").write_text(
        CONTACT.replace('"Contact Layout"', '"Partner Contact Layout"')
    )
    with pytest.raises(ConfigError, match="has no layout Contact-Partner Contact Layout") as no:
        commands.deploy(project(root), "local")
    assert "objects/Contact.toml" in no.value.message
