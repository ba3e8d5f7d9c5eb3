"""The configurable facts of the local org: edition, sandbox flag, instance, the current user
and their permissions, limits. Every preflight outcome can be reproduced by changing them."""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from toolkit.localorg.ids import make_id
from toolkit.localorg.store import Store
from toolkit.metadata import fieldtypes
from toolkit.metadata.standard_objects import ORGANIZATION_TYPES, USER_PERMISSIONS

FACTS_KEY = "facts"
ORG_NUMBERS = 62**8
API_VERSION_MIN = "51.0"
API_VERSION_MAX = "66.0"
_VERSION = re.compile(r"[1-9][0-9]?\.0")


@dataclass(frozen=True)
class OrgFacts:
    org_id: str
    user_id: str
    org_name: str = "sftk Local Org"
    organization_type: str = "Developer Edition"
    is_sandbox: bool = False
    instance_name: str = "LOCAL1"
    trial_expiration_date: str | None = None
    username: str = "admin@local.sftk"
    email: str = "admin@local.sftk"
    first_name: str = "Local"
    last_name: str = "Admin"
    profile: str = "System Administrator"
    permissions: tuple[str, ...] = field(default=USER_PERMISSIONS)
    daily_api_requests: int = 15_000
    api_version_min: str = API_VERSION_MIN
    api_version_max: str = API_VERSION_MAX

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    def api_versions(self) -> list[str]:
        low = int(float(self.api_version_min))
        high = int(float(self.api_version_max))
        return [f"{v}.0" for v in range(low, high + 1)]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["permissions"] = list(self.permissions)
        return data


def load_facts(store: Store) -> OrgFacts:
    """The org's facts; a fresh state folder gets a new org with its own Ids."""
    data = store.get(FACTS_KEY)
    if data is None:
        # each new org its own Id, as in Salesforce, so snapshots and ledgers tell orgs apart
        number = secrets.randbelow(ORG_NUMBERS) + 1
        facts = OrgFacts(org_id=make_id("00D", number), user_id=make_id("005", 1))
        store.put(FACTS_KEY, facts.to_json())
        return facts
    known = {f.name for f in fields(OrgFacts)}
    values = {k: v for k, v in data.items() if k in known}
    values["permissions"] = tuple(values.get("permissions", USER_PERMISSIONS))
    return OrgFacts(**values)


def _is_datetime(text: str) -> bool:
    """Organization.TrialExpirationDate is a dateTime: the fact must read as one."""
    try:
        fieldtypes.coerce_value("datetime", text)
    except ValueError:
        return False
    return True


def _check_value(name: str, value: Any, current: Any) -> None:
    """Changes arrive as JSON from the control endpoint: each must keep its fact's type."""
    if name == "trial_expiration_date":
        ok = value is None or (isinstance(value, str) and _is_datetime(value))
    elif name == "permissions":
        ok = isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)
    elif isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    else:
        ok = isinstance(value, str) and bool(value.strip())
    if not ok:
        raise ValueError(f"org fact {name!r} cannot be {value!r}; it is like {current!r}")
    if name.startswith("api_version_") and not _VERSION.fullmatch(value):
        raise ValueError(f"org fact {name!r} must be a version like '{API_VERSION_MAX}'")
    if name == "organization_type" and value not in ORGANIZATION_TYPES:
        raise ValueError(
            f"unknown OrganizationType {value!r}; valid: {', '.join(ORGANIZATION_TYPES)}"
        )


def update_facts(store: Store, changes: dict[str, Any]) -> OrgFacts:
    """Change some facts (unknown names or values of the wrong type raise ValueError)."""
    current = load_facts(store)
    known = {f.name for f in fields(OrgFacts)} - {"org_id", "user_id"}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown org fact {unknown[0]!r}; valid: {', '.join(sorted(known))}")
    for name, value in changes.items():
        _check_value(name, value, getattr(current, name))
    if "permissions" in changes:
        bad = sorted(set(changes["permissions"]) - set(USER_PERMISSIONS))
        if bad:
            raise ValueError(f"unknown permission {bad[0]!r}; valid: {', '.join(USER_PERMISSIONS)}")
        changes = {**changes, "permissions": tuple(changes["permissions"])}
    facts = replace(current, **changes)
    if float(facts.api_version_min) > float(facts.api_version_max):
        raise ValueError(
            f"api_version_min {facts.api_version_min} is above api_version_max "
            f"{facts.api_version_max}"
        )
    store.put(FACTS_KEY, facts.to_json())
    return facts
