"""An authenticated connection to one org: where it is, the token, the API version, and the
HTTP session every client (Metadata API, REST through simple-salesforce) shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from simple_salesforce.api import Salesforce


@dataclass(frozen=True)
class OrgConnection:
    """``profile`` is the sftk.toml org profile name; ``kind`` its kind (production, sandbox,
    developer, local). The token never appears in repr() or logs."""

    profile: str
    kind: str
    instance_url: str
    access_token: str = field(repr=False)
    api_version: str
    session: requests.Session = field(repr=False, compare=False)
    username: str | None = None
    org_id: str | None = None
    user_id: str | None = None

    def rest(self) -> Salesforce:
        """simple-salesforce on this connection, for REST, queries and the Tooling API."""
        return Salesforce(
            instance_url=self.instance_url,
            session_id=self.access_token,
            session=self.session,
            version=self.api_version,
        )

    @property
    def metadata_url(self) -> str:
        """The Metadata API SOAP endpoint for this connection's API version."""
        return f"{self.instance_url}/services/Soap/m/{self.api_version}"
