"""What the sync tests share: the data model they deploy, projects that sync files into a
local org, and fault injection. The fixtures built on it are in conftest.py."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from toolkit.localorg.org import RunningOrg
from toolkit.project import Project, open_project
from toolkit.sync.engine import sync
from toolkit.sync.options import SyncOptions
from toolkit.sync.report import RunReport

API_VERSION = "66.0"
OBJECTS = {
    "Account.toml": """
[fields.Ext_Id__c]
type = "Text"
length = 40
external_id = true
unique = true

[fields.Tier__c]
type = "Picklist"
values = ["Gold", "Silver"]
restricted = true

[fields.Code__c]
type = "Text"
length = 10

[fields.Active__c]
type = "Checkbox"

[fields.Founded__c]
type = "Date"

[fields.Revenue__c]
type = "Currency"
precision = 12
scale = 2

[fields.Status__c]
type = "Text"
length = 20
""",
    "Contact.toml": """
[fields.Ext_Id__c]
type = "Text"
length = 40
external_id = true
unique = true
""",
}
TEST_OBJECTS = ("Contact", "Account")  # children first, for cleaning up

ACCOUNTS = """
[plugins.files.streams.accounts]
path = "data/accounts.csv"
object = "Account"
key = "Ext_Id__c"
source_key = "id"
{extra}
"""
CONTACTS = """
[plugins.files.streams.contacts]
path = "data/contacts.csv"
object = "Contact"
key = "Ext_Id__c"
source_key = "id"
parents = {{ AccountId = {{ stream = "accounts", column = "account_id" }} }}
{extra}
"""


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def client(org: RunningOrg) -> Salesforce:
    session = requests.Session()
    session.verify = org.ca_bundle
    session.trust_env = False
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        session=session,
        version=API_VERSION,
    )


@dataclass(frozen=True)
class SyncOrg:
    running: RunningOrg
    state: Path


class SyncProject:
    """A project folder whose org profiles ``test`` (a sandbox) and ``prod`` (production)
    are the module's local org."""

    def __init__(self, root: Path, org: SyncOrg) -> None:
        self.root = root
        self.org = org.running
        self.state = org.state
        self.sf = client(org.running)
        self.streams: list[str] = []
        self.extra_config = ""
        self.prod_state = org.state  # another folder gives ``prod`` an org of its own

    def configure(self, *streams: str, extra: str = "") -> None:
        self.streams = list(streams)
        self.extra_config = extra
        self._write_config()

    def _write_config(self) -> None:
        state = json.dumps(str(self.state))
        prod_state = json.dumps(str(self.prod_state))
        text = f"""
[project]
name = "synctest"
api_version = "{API_VERSION}"

[orgs.test]
kind = "sandbox"
auth = "local"
state = {state}

[orgs.prod]
kind = "production"
auth = "local"
state = {prod_state}

{self.extra_config}
""" + "\n".join(self.streams)
        (self.root / "sftk.toml").write_text(text, encoding="utf-8")

    def project(self) -> Project:
        return open_project(self.root, no_plugins=True)

    def csv(self, name: str, rows: Sequence[dict[str, Any]]) -> Path:
        path = self.root / "data" / name
        write_csv(path, rows)
        return path

    def sync(self, org: str = "test", *, wait: bool = False, **options: Any) -> RunReport:
        """Sync; backoffs and Bulk polling pauses are skipped unless ``wait``."""
        pause = time.sleep if wait else (lambda _: None)
        return sync(self.project(), org, SyncOptions(**options), sleep=pause)

    def records(self, obj: str, fields: str, where: str = "") -> list[dict[str, Any]]:
        soql = f"SELECT {fields} FROM {obj}" + (f" WHERE {where}" if where else "")
        rows = self.sf.query_all(soql)["records"]
        return [{k: v for k, v in row.items() if k != "attributes"} for row in rows]


def inject(org: RunningOrg, **fault: Any) -> None:
    session = requests.Session()
    session.verify = org.ca_bundle
    session.trust_env = False
    answer = session.post(
        f"{org.instance_url}/_sftk/faults",
        json=fault,
        headers={"Authorization": f"Bearer {org.access_token}"},
        timeout=30,
    )
    assert answer.status_code < 300, answer.text
