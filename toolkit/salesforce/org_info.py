"""Who and what an org is, as ``sftk org show`` reports it: the Organization record, the
connection's user and API version, and how much of the day's API allowance is left."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from toolkit.errors import OrgError
from toolkit.salesforce import rest
from toolkit.salesforce.connection import OrgConnection

ORGANIZATION_SOQL = "SELECT Name, OrganizationType, IsSandbox, InstanceName FROM Organization"


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
    rows = rest.query(conn, ORGANIZATION_SOQL)
    if not rows:
        raise OrgError(
            f"org profile {conn.profile!r}: the org returned no Organization record",
            code="NO_ORGANIZATION",
            hint="the user may lack access to the Organization object",
        )
    organization = rows[0]
    daily = rest.limits(conn).get("DailyApiRequests", {})
    return OrgSummary(
        profile=conn.profile,
        kind=conn.kind,
        instance_url=conn.instance_url,
        username=conn.username,
        org_id=conn.org_id,
        user_id=conn.user_id,
        api_version=conn.api_version,
        name=str(organization.get("Name") or ""),
        edition=str(organization.get("OrganizationType") or ""),
        is_sandbox=bool(organization.get("IsSandbox")),
        instance_name=organization.get("InstanceName"),
        api_requests_remaining=daily.get("Remaining"),
        api_requests_max=daily.get("Max"),
    )
