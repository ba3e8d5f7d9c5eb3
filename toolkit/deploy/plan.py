"""What a package would do to an org right now: one retrieve of every component it deploys or
deletes, compared by meaning (``meaning.reduced``: element order, and the defaults an org's
retrieve spells out, do not count). The same retrieve is the backup a committing deploy
stores, so a deploy costs one retrieve for both."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from toolkit.deploy.package import DeployPackage
from toolkit.deploy.retrieval import Retrieved, Retriever
from toolkit.deploy.snapshots import Snapshot, Source, make_snapshot
from toolkit.metadata import changes, meaning, normalize
from toolkit.metadata.changes import Change, Status
from toolkit.metadata.manifest import CHILD_TYPES, ComponentRef
from toolkit.metadata.schema import MetadataSchema
from toolkit.salesforce.connection import OrgConnection


@dataclass(frozen=True)
class Plan:
    package: DeployPackage
    changes: tuple[Change, ...]
    retrieved: Retrieved = field(repr=False)
    org_bodies: Mapping[ComponentRef, bytes] = field(repr=False)
    package_bodies: Mapping[ComponentRef, bytes] = field(repr=False)
    # in the org, not in the project: what the org has of the project's objects (and of what
    # the project deployed there before) that the package no longer declares
    drift: tuple[ComponentRef, ...] = ()

    @property
    def effective(self) -> list[Change]:
        return changes.effective(self.changes)

    @property
    def already_absent(self) -> list[ComponentRef]:
        """What the delete manifests name and the org does not have."""
        return [c.ref for c in self.changes if c.status is Status.ALREADY_ABSENT]

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


def absent(retriever: Retriever, refs: Sequence[ComponentRef]) -> list[ComponentRef]:
    """Which of ``refs`` the org does not have (one retrieve of just those)."""
    if not refs:
        return []
    found = normalize.bodies(retriever.components(refs).files)
    return [ref for ref in refs if ref not in found]


def make_plan(retriever: Retriever, package: DeployPackage) -> Plan:
    package_bodies = normalize.bodies(package.files)
    retrieved = retriever.components([*package_bodies, *package.deletes])
    org_bodies = normalize.bodies(retrieved.files)
    schema = MetadataSchema.for_version(package.api_version)
    meant = (meaning.reduced(package_bodies, schema), meaning.reduced(org_bodies, schema))
    found = changes.compare(package_bodies, org_bodies, package.deletes, meant)
    return Plan(package, found, retrieved, org_bodies, package_bodies)


def find_drift(
    retriever: Retriever, package: DeployPackage, deployed_before: Iterable[ComponentRef] = ()
) -> tuple[ComponentRef, ...]:
    """What the org holds that the project once declared and no longer does: the children and
    layouts of the package's custom objects that the package does not name, and components
    an earlier deploy of the project put in this org (``deployed_before``). Listed with
    listMetadata; nothing is deleted."""
    declared = {*normalize.bodies(package.files), *package.deletes}
    objects = {
        ref.full_name for ref in declared if ref.type == "CustomObject" and _custom(ref.full_name)
    }
    earlier = set(deployed_before) - declared
    types = {*CHILD_TYPES, "Layout", *(ref.type for ref in earlier)} if objects or earlier else ()
    found = [
        ref
        for ref in retriever.listed(types)
        if ref not in declared and (ref in earlier or _belongs_to(ref, objects))
    ]
    return tuple(sorted(found))


def _belongs_to(ref: ComponentRef, objects: set[str]) -> bool:
    """A custom child (field, list view, link ...) or a layout of one of ``objects``."""
    if ref.type == "Layout":
        return ref.full_name.partition("-")[0] in objects
    parent, _, member = ref.full_name.partition(".")
    standard_field = ref.type == "CustomField" and not _custom(member)
    return ref.type in CHILD_TYPES and parent in objects and not standard_field


def _custom(name: str) -> bool:
    return "__" in name
