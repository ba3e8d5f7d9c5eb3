"""Backup snapshots: what an org held of a package's components just before a deploy.

Salesforce cannot undo a deploy; it can only take back metadata someone saved beforehand. A
snapshot is that saving: the zips the org returned for every component the package deploys or
deletes, and a manifest saying, per component, whether it existed and the sha256 of its
normalised body. Rollback deploys the earlier versions back and deletes what was new, then
compares the org with the manifest.

On disk, in the project's ``.sftk/snapshots/``:

- ``<id>.json``: the manifest, canonical JSON; ``id`` is the HMAC-SHA256 of those bytes under
  the project's snapshot key;
- ``blobs/<sha256>``: the retrieved zips, named by their own hash;
- ``outcomes/<id>.json``: the deploys that followed and how they ended (written later, so it
  is not part of the signed manifest).

The key (``SFTK_SNAPSHOT_KEY``, else ``.sftk/snapshot.key``, made on first use) is kept
outside the snapshot folder, so a manifest edited and renamed to its own new hash is still
refused: only a holder of the key can name a manifest. The manifest names its zips by hash,
and each component by the hash of its body, so the key covers everything a rollback deploys.

Every file is written to a temporary name and moved into place. Reading a snapshot checks the
manifest's signature, each zip's hash and each component's hash, and refuses it when one
differs. Snapshots hold the org's id, the user name and metadata, never a token or password.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as random_secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError, SnapshotInvalid
from toolkit.fsio import atomic_write_bytes, read_regular_file, unwritable
from toolkit.metadata import normalize, packaging
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.types import MANIFEST_NAMES
from toolkit.salesforce.connection import OrgConnection

SNAPSHOTS_DIR = "snapshots"
KEY_ENV = "SFTK_SNAPSHOT_KEY"
KEY_FILE = "snapshot.key"  # in the state folder, beside (not inside) the snapshot folder
MIN_KEY_LENGTH = 32
KEY_FILE_LIMIT = 4096
FORMAT = 1
KINDS = ("deploy", "quick", "rollback", "backup")  # what the snapshot was taken before
SHORT_ID = 12  # characters of an id shown to people; any unique prefix of 6 or more is taken
MIN_PREFIX = 6


@dataclass(frozen=True, order=True)
class SnapshotComponent:
    """One component as the org had it. ``action`` is what the deploy that followed did to it
    (``deploy``, ``delete``; ``keep`` in a backup)."""

    type: str
    full_name: str
    existed: bool
    sha256: str | None = None  # of the normalised body, when it existed
    size: int | None = None  # of that body, in bytes
    action: str = "deploy"
    package_sha256: str | None = None  # the body the package deploys, when it deploys one

    @property
    def ref(self) -> ComponentRef:
        return ComponentRef(self.type, self.full_name)

    @property
    def new(self) -> bool:
        """Created by the deploy that followed: the org did not have it before."""
        return not self.existed and self.action == "deploy"


@dataclass(frozen=True)
class StoredZip:
    sha256: str
    size: int


@dataclass(frozen=True)
class Snapshot:
    """A snapshot's manifest; ``id`` is the HMAC of its canonical form (``id`` excluded) under
    the project's key, given when the store saves it ("" before)."""

    kind: str
    org: str  # profile name
    org_id: str | None
    username: str | None
    org_kind: str
    api_version: str
    created_at: str
    package_hash: str | None
    components: tuple[SnapshotComponent, ...]
    zips: tuple[StoredZip, ...]
    undoes: str | None = None  # a rollback's snapshot: the snapshot it rolls back
    id: str = field(default="", compare=False)

    @property
    def source(self) -> Source:
        return Source(self.org, self.org_id, self.username, self.org_kind)

    @property
    def short_id(self) -> str:
        return self.id[:SHORT_ID]

    def component(self, ref: ComponentRef) -> SnapshotComponent | None:
        return next((c for c in self.components if c.ref == ref), None)

    def canonical(self) -> bytes:
        data = asdict(self)
        del data["id"]
        data["format"] = FORMAT
        return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class SnapshotOutcome:
    """What followed a snapshot: the deploy ids (a rollback may take several) and the end."""

    deploy_ids: tuple[str, ...] = ()
    outcome: str = "pending"
    updated_at: str = ""
    note: str | None = None


@dataclass(frozen=True)
class Source:
    """The org a snapshot is taken of: its profile, id, the user and the profile's kind."""

    org: str
    org_id: str | None
    username: str | None
    org_kind: str

    @classmethod
    def of(cls, connection: OrgConnection) -> Source:
        return cls(connection.profile, connection.org_id, connection.username, connection.kind)


def make_snapshot(
    *,
    kind: str,
    source: Source,
    api_version: str,
    created_at: str,
    package_hash: str | None,
    refs: Mapping[ComponentRef, str],
    before: Mapping[ComponentRef, bytes],
    package_bodies: Mapping[ComponentRef, bytes],
    zips: Sequence[bytes],
    undoes: str | None = None,
) -> Snapshot:
    """The manifest of a snapshot. ``refs`` maps each component to what the deploy does to it,
    ``before`` holds the org's normalised bodies, ``package_bodies`` the package's."""
    components = []
    for ref, action in sorted(refs.items()):
        body = before.get(ref)
        planned = package_bodies.get(ref)
        components.append(
            SnapshotComponent(
                type=ref.type,
                full_name=ref.full_name,
                existed=body is not None,
                sha256=None if body is None else normalize.digest(body),
                size=None if body is None else len(body),
                action=action,
                package_sha256=None if planned is None else normalize.digest(planned),
            )
        )
    stored = tuple(StoredZip(hashlib.sha256(z).hexdigest(), len(z)) for z in zips)
    return Snapshot(
        kind=kind,
        org=source.org,
        org_id=source.org_id,
        username=source.username,
        org_kind=source.org_kind,
        api_version=api_version,
        created_at=created_at,
        package_hash=package_hash,
        components=tuple(components),
        zips=stored,
        undoes=undoes,
    )


def snapshot_key(state_dir: Path) -> bytes:
    """The key that signs this project's snapshots: ``SFTK_SNAPSHOT_KEY`` (a CI secret shared
    by the jobs that deploy and roll back), else ``.sftk/snapshot.key``, made on first use."""
    given = os.environ.get(KEY_ENV)
    if given is not None:
        return _checked_key(given.strip().encode(), f"environment variable {KEY_ENV}")
    path = state_dir / KEY_FILE
    if os.path.lexists(path):
        return _read_key(path)
    made = random_secrets.token_hex(MIN_KEY_LENGTH).encode()
    with unwritable(path, "no snapshot was taken"):
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another sftk made it meanwhile
            return _read_key(path)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(made + b"\n")
    return made


def _read_key(path: Path) -> bytes:
    data = read_regular_file(
        path,
        limit=KEY_FILE_LIMIT,
        hint=f"it holds the key that signs snapshots ({KEY_ENV} takes its place when set)",
    )
    return _checked_key(data.strip(), str(path))


def _checked_key(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the snapshot key in {where} is shorter than {MIN_KEY_LENGTH} characters",
            hint=f"use a random value, e.g. `python3 -c 'import secrets; print(secrets.token_hex"
            f"({MIN_KEY_LENGTH}))'`; snapshots signed with another key are refused",
        )
    return key


class SnapshotStore:
    def __init__(self, state_dir: Path, key: bytes | None = None) -> None:
        self.state_dir = state_dir
        self.root = state_dir / SNAPSHOTS_DIR
        self._key = key

    def _sign(self, manifest: bytes) -> str:
        if self._key is None:
            self._key = snapshot_key(self.state_dir)
        return hmac.new(self._key, manifest, hashlib.sha256).hexdigest()

    # --- writing ---------------------------------------------------------------------------

    def save(
        self, snapshot: Snapshot, zips: Sequence[bytes], secrets: Iterable[str] = ()
    ) -> Snapshot:
        """Store the snapshot and return it with its id. Zips first, manifest last: a
        manifest on disk always has its zips."""
        manifest = snapshot.canonical()
        _refuse_secrets([manifest, *zips], secrets)
        sealed = replace(snapshot, id=self._sign(manifest))
        for data, stored in zip(zips, snapshot.zips, strict=True):
            path = self.root / "blobs" / stored.sha256
            if not path.exists():
                atomic_write_bytes(path, data)
        atomic_write_bytes(self.root / f"{sealed.id}.json", manifest)
        return sealed

    def record(self, snapshot_id: str, outcome: SnapshotOutcome) -> None:
        text = json.dumps(asdict(outcome), indent=1, sort_keys=True) + "\n"
        atomic_write_bytes(self.root / "outcomes" / f"{snapshot_id}.json", text.encode())

    # --- reading ---------------------------------------------------------------------------

    def outcome(self, snapshot_id: str) -> SnapshotOutcome:
        path = self.root / "outcomes" / f"{snapshot_id}.json"
        if not path.exists():
            return SnapshotOutcome()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return SnapshotOutcome(
                deploy_ids=tuple(data.get("deploy_ids", ())),
                outcome=str(data.get("outcome", "pending")),
                updated_at=str(data.get("updated_at", "")),
                note=data.get("note"),
            )
        except (OSError, ValueError, TypeError, AttributeError):
            return SnapshotOutcome(outcome="unreadable")

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json"))

    def resolve(self, wanted: str) -> str:
        """The full id for an id or a unique prefix of one."""
        wanted = wanted.strip().lower()
        if len(wanted) < MIN_PREFIX:
            raise ConfigError(
                f"snapshot id {wanted!r} is too short",
                hint=f"give at least {MIN_PREFIX} characters; `sftk snapshots list` shows ids",
            )
        found = [i for i in self.ids() if i.startswith(wanted)]
        if not found:
            raise ConfigError(
                f"no snapshot {wanted} in {self.root}",
                hint="`sftk snapshots list --org NAME` shows the snapshots of this project",
            )
        if len(found) > 1:
            raise ConfigError(
                f"snapshot id {wanted} is ambiguous ({len(found)} match)",
                hint="give more characters of the id",
            )
        return found[0]

    def manifest(self, snapshot_id: str) -> Snapshot:
        """A snapshot's manifest, its signature checked (its zips are not read)."""
        path = self.root / f"{snapshot_id}.json"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SnapshotInvalid(f"snapshot {snapshot_id}: cannot be read ({exc})") from None
        if not hmac.compare_digest(self._sign(data), snapshot_id):
            raise SnapshotInvalid(
                f"snapshot {snapshot_id[:SHORT_ID]}: its manifest {path} does not match its "
                "signature under this project's snapshot key; it was changed after it was "
                f"written, or written with another key ({KEY_ENV})"
            )
        try:
            return _from_json(json.loads(data), snapshot_id)
        except (ValueError, TypeError, KeyError) as exc:
            raise SnapshotInvalid(
                f"snapshot {snapshot_id[:SHORT_ID]}: the manifest cannot be read ({exc})"
            ) from None

    def load(self, snapshot_id: str) -> tuple[Snapshot, list[MetadataFile]]:
        """A snapshot and its files, refused unless every hash matches what was written."""
        snapshot = self.manifest(snapshot_id)
        files: list[MetadataFile] = []
        for stored in snapshot.zips:
            path = self.root / "blobs" / stored.sha256
            try:
                data = path.read_bytes()
            except OSError:
                raise SnapshotInvalid(
                    f"snapshot {snapshot.short_id}: its zip {path} is missing"
                ) from None
            if hashlib.sha256(data).hexdigest() != stored.sha256:
                raise SnapshotInvalid(
                    f"snapshot {snapshot.short_id}: its zip {path} does not match its hash"
                )
            files.extend(
                f
                for f in packaging.read_zip(data, source=str(path))
                if f.path not in MANIFEST_NAMES
            )
        _check_components(snapshot, files)
        return snapshot, files

    def all(self, org: str | None = None) -> list[Snapshot]:
        """Readable manifests, newest first (damaged ones are left out: ``damaged`` names them)."""
        found = []
        for snapshot_id in self.ids():
            try:
                snapshot = self.manifest(snapshot_id)
            except SnapshotInvalid:
                continue
            if org is None or snapshot.org == org:
                found.append(snapshot)
        return sorted(found, key=lambda s: (s.created_at, s.id), reverse=True)

    def damaged(self) -> dict[str, str]:
        """Every snapshot that fails a check (manifest, zips or components), with why."""
        out = {}
        for snapshot_id in self.ids():
            try:
                self.load(snapshot_id)
            except SnapshotInvalid as exc:
                out[snapshot_id] = exc.message
        return out

    def prune(self, keep: int, org: str | None = None) -> list[Snapshot]:
        """Remove all but the ``keep`` newest snapshots of each org profile (of ``org`` only
        when given), their outcomes, and the zips no manifest names any more. Damaged
        snapshots are left for a person to look at, and so are the zips they name."""
        by_org: dict[str, list[Snapshot]] = {}
        for snapshot in self.all(org):
            by_org.setdefault(snapshot.org, []).append(snapshot)
        removed = [s for snapshots in by_org.values() for s in snapshots[keep:]]
        for snapshot in removed:
            (self.root / f"{snapshot.id}.json").unlink()
            (self.root / "outcomes" / f"{snapshot.id}.json").unlink(missing_ok=True)
        named = {blob for snapshot_id in self.ids() for blob in self._blobs_named(snapshot_id)}
        blobs = self.root / "blobs"
        for path in blobs.iterdir() if blobs.is_dir() else ():
            if path.name not in named and not path.name.startswith("."):  # "." files: being written
                path.unlink()
        return removed

    def _blobs_named(self, snapshot_id: str) -> set[str]:
        """The zips a manifest names, read without checking it (pruning keeps what a damaged
        or differently signed snapshot may still need)."""
        try:
            data = json.loads((self.root / f"{snapshot_id}.json").read_bytes())
            return {str(z["sha256"]) for z in data.get("zips", [])}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return set()

    def latest(self, org: str, kinds: Iterable[str]) -> Snapshot | None:
        wanted = set(kinds)
        return next((s for s in self.all(org) if s.kind in wanted), None)

    def deployed_to(self, org: str) -> set[ComponentRef]:
        """Every component a snapshot of ``org`` says its deploy sent."""
        return {
            c.ref
            for s in self.all(org)
            if s.kind in ("deploy", "quick")
            for c in s.components
            if c.action == "deploy"
        }

    def by_deploy(self, deploy_id: str) -> str | None:
        """The snapshot taken before the deploy ``deploy_id``."""
        for snapshot_id in self.ids():
            if deploy_id in self.outcome(snapshot_id).deploy_ids:
                return snapshot_id
        return None


def _from_json(data: dict[str, Any], snapshot_id: str) -> Snapshot:
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, this sftk reads {FORMAT}")
    return Snapshot(
        kind=data["kind"],
        org=data["org"],
        org_id=data["org_id"],
        username=data["username"],
        org_kind=data["org_kind"],
        api_version=data["api_version"],
        created_at=data["created_at"],
        package_hash=data["package_hash"],
        components=tuple(SnapshotComponent(**c) for c in data["components"]),
        zips=tuple(StoredZip(**z) for z in data["zips"]),
        undoes=data.get("undoes"),
        id=snapshot_id,
    )


def _check_components(snapshot: Snapshot, files: Sequence[MetadataFile]) -> None:
    found = normalize.hashes(files)
    for component in snapshot.components:
        held = found.get(component.ref)
        if component.existed and held != component.sha256:
            raise SnapshotInvalid(
                f"snapshot {snapshot.short_id}: {component.ref} in its zips does not match the "
                "manifest"
            )


def _refuse_secrets(blobs: Iterable[bytes], secrets: Iterable[str]) -> None:
    """A snapshot is kept on disk and may be shared: no credential may end up in one."""
    spelled = [s.encode() for s in secrets if s and len(s) >= 8]
    if not spelled:
        return
    for blob in blobs:
        for data in _inflated(blob):
            if any(secret in data for secret in spelled):
                raise ConfigError(
                    "the retrieved metadata contains a credential of this connection; the "
                    "snapshot was not written",
                    hint="remove the credential from the org's metadata, then deploy again",
                )


def _inflated(blob: bytes) -> Iterable[bytes]:
    if blob[:2] != b"PK":
        yield blob
        return
    for file in packaging.read_zip(blob, source="snapshot"):
        yield file.content
