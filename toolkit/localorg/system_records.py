"""The records a real org keeps about itself: its Organization, the running User, that user's
Profile and the user's UserPermissionAccess row, which is what a preflight queries to learn the
edition, the sandbox flag and whether the user may deploy.

Here they are derived from the org facts (``facts.py``), written when the org starts and again
whenever ``PATCH /_sftk/org`` changes the facts, so a test that turns an org into a sandbox or
takes ModifyMetadata away sees the queries answer differently at once. Clients cannot write
them (``records.FACT_OBJECTS``): the facts are the one way to change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.localorg import identity, records
from toolkit.localorg.facts import OrgFacts
from toolkit.localorg.http import Router
from toolkit.localorg.ids import make_id
from toolkit.metadata import fieldtypes
from toolkit.metadata.standard_objects import USER_PERMISSIONS

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

# UserPermissionAccess describes the session, not a stored entity: its one row's Id is zeros.
ACCESS_ID = make_id("000", 0)
# Locale, time zone and language as getUserInfo reports them for the local org's user.
_LOCALE = "en_US"
_TIME_ZONE = "GMT"
_USER_TYPE = "Standard"


def _trial_expiration(facts: OrgFacts) -> str | None:
    if facts.trial_expiration_date is None:
        return None
    moment = fieldtypes.coerce_value("datetime", facts.trial_expiration_date)
    return records.format_datetime(moment)


def _permissions(facts: OrgFacts) -> dict[str, bool]:
    return {f"Permissions{name}": facts.has(name) for name in USER_PERMISSIONS}


def fact_records(facts: OrgFacts) -> list[tuple[str, str, dict[str, Any]]]:
    """(object, Id, field values) of every record the facts define, parents first."""
    profile_id = identity.profile_id(facts)
    full_name = f"{facts.first_name} {facts.last_name}".strip()
    return [
        (
            "Organization",
            facts.org_id,
            {
                "Name": facts.org_name,
                "OrganizationType": facts.organization_type,
                "IsSandbox": facts.is_sandbox,
                "InstanceName": facts.instance_name,
                "TrialExpirationDate": _trial_expiration(facts),
                "PrimaryContact": full_name,
                "DefaultLocaleSidKey": _LOCALE,
                "TimeZoneSidKey": _TIME_ZONE,
                "LanguageLocaleKey": _LOCALE,
            },
        ),
        (
            "Profile",
            profile_id,
            {"Name": facts.profile, "UserType": _USER_TYPE, **_permissions(facts)},
        ),
        (
            "User",
            facts.user_id,
            {
                "Username": facts.username,
                "FirstName": facts.first_name,
                "LastName": facts.last_name,
                "Name": full_name,
                "Email": facts.email,
                "Alias": (facts.first_name[:1] + facts.last_name[:4]).lower(),
                "CommunityNickname": facts.username.split("@")[0],
                "IsActive": True,
                "ProfileId": profile_id,
                "UserType": _USER_TYPE,
                "TimeZoneSidKey": _TIME_ZONE,
                "LocaleSidKey": _LOCALE,
                "LanguageLocaleKey": _LOCALE,
                "EmailEncodingKey": "UTF-8",
            },
        ),
        ("UserPermissionAccess", ACCESS_ID, _permissions(facts)),
    ]


def sync(org: Org) -> None:
    """Bring the records in step with the facts, all in one transaction."""
    facts = org.facts
    with org.store.transaction() as db:
        for object_name, record_id, values in fact_records(facts):
            records.write_fact_record(
                db,
                object_name,
                record_id,
                values,
                user_id=facts.user_id,
                stamped=("LastCacheUpdate",) if object_name == "UserPermissionAccess" else (),
            )


def prepare(org: Org) -> None:
    """Runs after ``metadata_api`` has seeded the standard objects these records belong to."""
    sync(org)


def register(router: Router) -> None:
    """No routes of its own: the records are read through the REST and query routes."""
