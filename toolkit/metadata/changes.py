"""What a package would change in an org, component by component, from normalised bodies.

Pure: the caller retrieves the org's side and normalises both (``normalize.bodies``); this
module only compares. ``sftk plan`` prints the result, ``sftk deploy`` skips a package that
changes nothing, and ``--only-changed`` deploys just what is new or changed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from toolkit.metadata import normalize
from toolkit.metadata.manifest import ComponentRef


class Status(enum.Enum):
    NEW = "new"  # in the package, not in the org
    CHANGED = "changed"  # in both, different once normalised
    UNCHANGED = "unchanged"
    DELETED = "deleted"  # a delete manifest names it and the org has it
    ALREADY_ABSENT = "already absent"  # a delete manifest names it; the org does not have it


# What a deploy would actually do something about.
EFFECTIVE = frozenset({Status.NEW, Status.CHANGED, Status.DELETED})


@dataclass(frozen=True)
class Change:
    ref: ComponentRef
    status: Status
    org_body: bytes | None = field(default=None, repr=False)
    package_body: bytes | None = field(default=None, repr=False)

    def diff(self) -> str:
        """The unified diff from the org's version to the package's ('' when unchanged)."""
        if self.status is Status.UNCHANGED:
            return ""
        package = (
            None if self.status in (Status.DELETED, Status.ALREADY_ABSENT) else self.package_body
        )
        return normalize.unified_diff(self.org_body, package, str(self.ref))


def compare(
    package: Mapping[ComponentRef, bytes],
    org: Mapping[ComponentRef, bytes],
    deletes: Iterable[ComponentRef] = (),
    meant: tuple[Mapping[ComponentRef, bytes], Mapping[ComponentRef, bytes]] | None = None,
) -> tuple[Change, ...]:
    """One change per component the package deploys or deletes, in component order. With
    ``meant`` (the package's and the org's bodies reduced to their meaning, ``meaning.reduced``)
    a component is unchanged when those are equal; the diffs still show the bodies as given."""
    meant_package, meant_org = meant if meant is not None else (package, org)
    out: list[Change] = []
    for ref, body in package.items():
        before = org.get(ref)
        if before is None:
            status = Status.NEW
        elif meant_org.get(ref) == meant_package.get(ref):
            status = Status.UNCHANGED
        else:
            status = Status.CHANGED
        out.append(Change(ref, status, before, body))
    for ref in set(deletes) - set(package):
        before = org.get(ref)
        status = Status.ALREADY_ABSENT if before is None else Status.DELETED
        out.append(Change(ref, status, before, None))
    return tuple(sorted(out, key=lambda c: c.ref))


def effective(changes: Iterable[Change]) -> list[Change]:
    """The changes a deploy would make (new, changed, deleted)."""
    return [c for c in changes if c.status in EFFECTIVE]
