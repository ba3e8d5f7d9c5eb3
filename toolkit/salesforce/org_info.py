"""Who and what an org is, as ``sftk org show`` reports it: the Organization record, the
connection's user and API version, and how much of the day's API allowance is left."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from toolkit.errors import OrgError
from toolkit.salesforce import rest
from toolkit.salesforce.connection import OrgConnection

ORGANIZATION_SOQL = (
    "SELECT Name, OrganizationType, IsSandbox, InstanceName, TrialExpirationDate FROM Organization"
)


@dataclass(frozen=True)
class Organization:
    """What the org says it is (its Organization record), whatever its profile says."""

    name: str
    edition: str  # OrganizationType: "Developer Edition", "Enterprise Edition", ...
    is_sandbox: bool
    instance_name: str | None
    trial_expiration_date: str | None  # set for scratch orgs and trials


def read_organization(conn: OrgConnection) -> Organization:
    rows = rest.query(conn, ORGANIZATION_SOQL)
    if not rows:
        raise OrgError(
            f"org profile {conn.profile!r}: the org returned no Organization record",
            code="NO_ORGANIZATION",
            hint="the user may lack access to the Organization object",
        )
    row = rows[0]
    return Organization(
        name=str(row.get("Name") or ""),
        edition=str(row.get("OrganizationType") or ""),
        is_sandbox=bool(row.get("IsSandbox")),
        instance_name=row.get("InstanceName"),
        trial_expiration_date=row.get("TrialExpirationDate"),
    )


@dataclass(frozen=True)
class OrgSummary:
    """``edition`` is Organization.OrganizationType ("Developer Edition", "Enterprise
    Edition", ...); the API request figures are DailyApiRequests from ``/limits``."""

    profile: str
    kind: str
    instance_url: str
    username: str | None
    org_id: str | None
    user_id: str | None
    api_version: str
    name: str
    edition: str
    is_sandbox: bool
    instance_name: str | None
    api_requests_remaining: int | None
    api_requests_max: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_org(conn: OrgConnection) -> OrgSummary:
    organization = read_organization(conn)
    daily = rest.limits(conn).get("DailyApiRequests", {})
    return OrgSummary(
        profile=conn.profile,
        kind=conn.kind,
        instance_url=conn.instance_url,
        username=conn.username,
        org_id=conn.org_id,
        user_id=conn.user_id,
        api_version=conn.api_version,
        name=organization.name,
        edition=organization.edition,
        is_sandbox=organization.is_sandbox,
        instance_name=organization.instance_name,
        api_requests_remaining=daily.get("Remaining"),
        api_requests_max=daily.get("Max"),
    )
