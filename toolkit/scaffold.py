"""``sftk init``: a new project that renders and validates as it stands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toolkit.config import CONFIG_NAME
from toolkit.errors import ConfigError
from toolkit.fsio import atomic_write_bytes, unwritable

CONFIG_TEMPLATE = """\
# sftk project configuration. Paths are relative to this file.

[project]
name = "{name}"
# The org profile of commands given no --org (the SFTK_ORG environment variable comes first).
# default_org = "local"
# Metadata API version written to package.xml. Left out, sftk uses the version of the
# Metadata API schema it validates against ({api_version} today); later, an org's own.
api_version = "{api_version}"
# Object specs: one TOML file per object (custom objects, or fields on standard objects).
objects_dir = "objects"
# Your own Jinja templates (<MetadataType>.xml.j2) override plugins' and the built-in ones.
templates_dir = "templates"
# Where `sftk render` writes, and in which format: "mdapi" (Metadata API) or "source" (DX).
output_dir = "build/metadata"
format = "mdapi"
# Hand-written metadata folders (either format) carried into the package as they are.
metadata_dirs = []

# Labels of the permission sets your specs grant access in ([access.<Name>] in a spec).
[permission_sets.Site_Visit_User]
label = "Site Visit User"
description = "Plan and record site visits"

# Components to delete on deploy, written to a destructive changes manifest.
# [deletions]
# components = ["CustomField:Account.Legacy_Code__c"]
# when = "post"            # "default", "pre" or "post"

# Org profiles (`sftk org list`, `--org NAME`). kind is one of production, sandbox, developer,
# local. "local" is sftk's own org on loopback: no credentials, nothing leaves this machine;
# `--org local` works even without this table.
[orgs.local]
kind = "local"

# Rehearsal orgs: more local orgs (auth = "local", each in .sftk/orgs/NAME), one behaving as a
# sandbox and one as production (an Enterprise org that is not a sandbox), to try the whole
# path to production with no org at hand: `sftk deploy --org rehearsal-sandbox`, then
# `sftk promote --from rehearsal-sandbox --to rehearsal-prod`.
[orgs.rehearsal-sandbox]
kind = "sandbox"
auth = "local"

[orgs.rehearsal-prod]
kind = "production"
auth = "local"

# Other orgs log in with auth = "jwt", "password", "token" or "sfdx". Secrets never go in this
# file: *_env keys name the environment variables that hold them. login_url is "login"
# (default), "test" (default for sandboxes) or your My Domain URL.
#
# CI, JWT bearer flow: a connected app with your certificate, pre-authorized for the user.
# [orgs.prod]
# kind = "production"
# auth = "jwt"
# username = "deploy@example.com"
# client_id_env = "SF_CLIENT_ID"          # the connected app's consumer key
# private_key_file = "certs/server.key"   # or private_key_env = "SF_JWT_KEY"
# login_url = "https://example.my.salesforce.com"
#
# Username and password (+ security token), by SOAP login(); with client_id_env (and
# client_secret_env), by the OAuth username-password flow of that connected app.
# [orgs.uat]
# kind = "sandbox"
# auth = "password"
# username = "deploy@example.com.uat"
# password_env = "SF_PASSWORD"
# security_token_env = "SF_SECURITY_TOKEN"
#
# An access token you already have, and the org's URL.
# [orgs.dev]
# kind = "developer"
# auth = "token"
# access_token_env = "SF_ACCESS_TOKEN"
# instance_url_env = "SF_INSTANCE_URL"
#
# An org the Salesforce CLI has authorized (`sf org login web --alias my-scratch`).
# [orgs.scratch]
# kind = "developer"
# auth = "sfdx"
# alias = "my-scratch"

# The coverage gate of deploys that run tests, in percent. Class patterns match class and
# trigger names (* and ?); the first match wins, others must reach per_class.
# [coverage]
# org_wide = 75
# per_class = 75
# [coverage.classes]
# "Legacy*" = 0
# "Billing*" = 90

# Plugins contribute object specs, templates and sources of records; none is used until you
# enable it here. Installed: {installed}. To enable one, list it: enabled = ["lms"]
# A spec of yours named like a plugin's object, without label, adds fields to that object.
# SFTK_PLUGINS=name,... limits which load; `sftk --no-plugins` turns them all off.
[plugins]
enabled = []
# Each plugin may read its own settings table:
# [plugins.lms]

# The built-in "files" source: CSV or JSON Lines files into any object, upserted by an
# External ID (`sftk sync --org local`; a second run sends only what changed). Parents load
# first; a child names its parent by the parent stream's source key. See docs/sync.md.
[plugins.files.streams.customers]
path = "data/customers.csv"
object = "Account"
key = "Customer_Key__c"          # the External ID field (objects/Account.toml)
source_key = "id"                # the column holding each row's stable key
cursor = "updated_at"            # later runs read from the last value seen

[plugins.files.streams.site_visits]
path = "data/site_visits.csv"
object = "Site_Visit__c"
key = "Visit_Key__c"
source_key = "visit_id"
parents = {{ Account__c = {{ stream = "customers", column = "customer_id" }} }}
on_delete = "delete"             # a row removed from the file deletes its record

# Every other column goes to the field of the same name; change that per stream:
# [mappings.files.customers]
# Phone = {{ source = "phone", transforms = ["trim"] }}
# Industry = {{ skip = true }}

# How records are loaded: Bulk API 2.0 from this many changed records of a stream, and the
# share of the org's remaining daily API requests a run may use.
# [sync]
# bulk_threshold = 2000
# api_share = 0.5
# lookback = "1h"
"""

GITIGNORE = """\
# sftk: never share the local orgs (their access tokens and TLS keys) or the key that signs
# snapshots (CI gets it from SFTK_SNAPSHOT_KEY). The rest of .sftk/ (ledger.json,
# deploys.json, snapshots/, packages/) may be committed or passed between CI jobs: see
# docs/undo.md of sftk. A local org profile with its own state = "DIR" keeps its secrets there.
/.sftk/localorg/
/.sftk/orgs/
/.sftk/snapshot.key
/build/
"""

EXAMPLE_OBJECT = """\
# A custom object spec. The file name is the object's API name.
label = "Site Visit"
plural_label = "Site Visits"
description = "A consultant's visit to a customer site."
enable_reports = true
enable_activities = true

[name_field]
label = "Visit Number"
type = "AutoNumber"
display_format = "SV-{0000}"

[tab]
motif = "Custom20: Airplane"

[fields.Visit_Key__c]
type = "Text"
label = "Visit Key"
length = 40
external_id = true
unique = true

[fields.Account__c]
type = "Lookup"
label = "Account"
reference_to = "Account"
relationship_name = "Site_Visits"
relationship_label = "Site Visits"

[fields.Visit_Date__c]
type = "Date"
label = "Visit Date"
required = true

[fields.Status__c]
type = "Picklist"
label = "Status"
values = ["Planned", "Done", "Cancelled"]
default = "Planned"
restricted = true

[fields.Expenses__c]
type = "Currency"
label = "Expenses"
precision = 10
scale = 2

[fields.Follow_Up__c]
type = "Checkbox"
label = "Follow-up Needed"

[fields.Notes__c]
type = "LongTextArea"
label = "Notes"
length = 32768
visible_lines = 6

[web_links.Open_Map]
label = "Open Map"
url = "https://maps.example.com/?q={!Site_Visit__c.Account__c}"
display_type = "button"

[layouts."Site Visit Layout"]
buttons = ["Open_Map"]

[[layouts."Site Visit Layout".sections]]
label = "Visit"
columns = [
    [
        { field = "Name", behavior = "Readonly" },
        "Account__c",
        { field = "Visit_Date__c", behavior = "Required" },
    ],
    ["Status__c", "Expenses__c", "Follow_Up__c"],
]

[[layouts."Site Visit Layout".sections]]
label = "Notes"
columns = [["Notes__c"]]

[access.Site_Visit_User]
object = ["create", "read", "edit"]
read = "*"
edit = "*"
"""


ACCOUNT_FIELDS = """\
# Fields added to the standard Account object: the External ID the customers stream upserts by.
[fields.Customer_Key__c]
type = "Text"
label = "Customer Key"
length = 40
external_id = true
unique = true
"""

CUSTOMERS = """\
id,Name,Industry,Phone,updated_at
CUST-001,Northwind Traders,Retail,+1 206 555 0100,2026-11-02T09:15:00Z
CUST-002,Contoso Pharmaceuticals,Healthcare,+1 425 555 0142,2026-11-03T14:40:00Z
CUST-003,Fabrikam Robotics,Manufacturing,+49 30 5550 1733,2026-11-04T08:05:00Z
"""

SITE_VISITS = """\
visit_id,customer_id,Visit_Date__c,Status__c,Expenses__c,Follow_Up__c,Notes__c
V-1001,CUST-001,2026-11-10,Done,182.40,true,Walked the new warehouse layout with the ops lead.
V-1002,CUST-001,2026-12-14,Planned,,false,
V-1003,CUST-002,2026-11-21,Done,96.00,false,Quarterly review; no open issues.
V-1004,CUST-003,2026-12-02,Cancelled,,false,Postponed by the customer.
"""


def init_project(
    folder: Path, *, api_version: str, installed_plugins: Sequence[str], force: bool = False
) -> list[Path]:
    """Write a new project into ``folder``; refuse to overwrite one unless ``force``."""
    config = folder / CONFIG_NAME
    starters = {
        folder / "objects" / "Site_Visit__c.toml": EXAMPLE_OBJECT,
        folder / "objects" / "Account.toml": ACCOUNT_FIELDS,
        folder / "data" / "customers.csv": CUSTOMERS,
        folder / "data" / "site_visits.csv": SITE_VISITS,
    }
    if not force:
        for path in (config, *starters):
            if path.exists():
                raise ConfigError(
                    f"{path} already exists", hint="use --force to overwrite the starter files"
                )
    text = CONFIG_TEMPLATE.format(
        name=folder.resolve().name,
        api_version=api_version,
        installed=", ".join(installed_plugins) or "none",
    )
    with unwritable(folder, "the project was not created"):
        for name in ("objects", "data", "templates"):
            (folder / name).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(config, text.encode("utf-8"))
    for path, content in starters.items():
        atomic_write_bytes(path, content.encode("utf-8"))
    ignore = folder / ".gitignore"
    written = _ignore_secrets(ignore)
    return [config, *starters, *([ignore] if written else [])]


def _ignore_secrets(path: Path) -> bool:
    """Write the .gitignore, or add to one the lines it lacks; False when it had them all."""
    wanted = GITIGNORE.splitlines()
    if not path.exists():
        atomic_write_bytes(path, GITIGNORE.encode("utf-8"))
        return True
    text = path.read_text(encoding="utf-8")
    have = set(text.splitlines())
    missing = [line for line in wanted if line.startswith("/") and line not in have]
    if not missing:
        return False
    comment = [line for line in wanted if line.startswith("#")]
    added = "\n".join([*comment, *missing]) + "\n"
    atomic_write_bytes(path, (text.rstrip("\n") + "\n\n" + added).encode("utf-8"))
    return True
