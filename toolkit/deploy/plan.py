"""What a package would do to an org right now: one retrieve of every component it deploys or
deletes, compared by meaning. The same retrieve is the backup a committing deploy stores, so
a deploy costs one retrieve for both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from toolkit.deploy.package import DeployPackage
from toolkit.deploy.retrieval import Retrieved, Retriever
from toolkit.deploy.snapshots import Snapshot, Source, make_snapshot
from toolkit.metadata import changes, normalize
from toolkit.metadata.changes import Change, Status
from toolkit.metadata.manifest import ComponentRef
from toolkit.salesforce.connection import OrgConnection


@dataclass(frozen=True)
class Plan:
    package: DeployPackage
    changes: tuple[Change, ...]
    retrieved: Retrieved = field(repr=False)
    org_bodies: Mapping[ComponentRef, bytes] = field(repr=False)
    package_bodies: Mapping[ComponentRef, bytes] = field(repr=False)

    @property
    def effective(self) -> list[Change]:
        return changes.effective(self.changes)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.changes if c.status is status)

    def only_effective(self) -> DeployPackage:
        """The package cut down to its new and changed components (deletes kept)."""
        keep = [c.ref for c in self.changes if c.status in (Status.NEW, Status.CHANGED)]
        return self.package.only(keep)

    def snapshot(
        self, kind: str, connection: OrgConnection, created_at: str, sent: DeployPackage
    ) -> Snapshot:
        """The backup to store before deploying ``sent`` (this package, or part of it)."""
        actions = {ref: "deploy" for ref in normalize.bodies(sent.files)}
        actions.update({ref: "delete" for ref in sent.deletes})
        return make_snapshot(
            kind=kind,
            source=Source.of(connection),
            api_version=sent.api_version,
            created_at=created_at,
            package_hash=sent.content_hash,
            refs=actions,
            before=self.org_bodies,
            package_bodies=self.package_bodies,
            zips=self.retrieved.zips,
        )


def make_plan(retriever: Retriever, package: DeployPackage) -> Plan:
    package_bodies = normalize.bodies(package.files)
    retrieved = retriever.components([*package_bodies, *package.deletes])
    org_bodies = normalize.bodies(retrieved.files)
    found = changes.compare(package_bodies, org_bodies, package.deletes)
    return Plan(package, found, retrieved, org_bodies, package_bodies)
