"""The snapshot store on disk: content-addressed, checked by hash when read, refusing any
change to a manifest or a zip, free of credentials, and written without partial files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.deploy.snapshots import (
    Snapshot,
    SnapshotOutcome,
    SnapshotStore,
    Source,
    make_snapshot,
)
from toolkit.errors import ConfigError, ExitCode, SnapshotInvalid
from toolkit.metadata import normalize
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.packaging import build_zip

MD = "http://soap.sforce.com/2006/04/metadata"
LAYOUT = ComponentRef("Layout", "Contact-Contact Layout")
FIELD = ComponentRef("CustomField", "Contact.Hives__c")
TOKEN = "00Dxx0000001gPL!AQ4AQFakeSessionTokenValue"


def _retrieved(label: str = "Contact Information") -> list[MetadataFile]:
    body = f'<Layout xmlns="{MD}"><layoutSections><label>{label}</label></layoutSections></Layout>'
    return [MetadataFile("layouts/Contact-Contact Layout.layout", body.encode())]


def _snapshot(
    files: list[MetadataFile], created_at: str = "2026-12-01T10:00:00Z"
) -> tuple[Snapshot, bytes]:
    data = build_zip([*files, MetadataFile("package.xml", b"<Package/>")])
    before = normalize.bodies(files)
    snapshot = make_snapshot(
        kind="deploy",
        source=Source("uat", "00D000000000042EAA", "deployer@example.com", "sandbox"),
        api_version="63.0",
        created_at=created_at,
        package_hash="ab" * 32,
        refs={LAYOUT: "deploy", FIELD: "deploy"},
        before=before,
        package_bodies={},
        zips=[data],
    )
    return snapshot, data


def test_a_snapshot_is_named_by_its_content_and_reads_back(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot, data = _snapshot(_retrieved())
    store.save(snapshot, [data])
    again, _ = _snapshot(_retrieved())
    assert again.id == snapshot.id  # same content, same id
    loaded, files = store.load(snapshot.id)
    assert loaded == snapshot and loaded.id == snapshot.id
    assert [f.path for f in files] == ["layouts/Contact-Contact Layout.layout"]
    layout, field = loaded.component(LAYOUT), loaded.component(FIELD)
    assert layout is not None and layout.existed and not layout.new and layout.size
    assert field is not None and field.new and field.sha256 is None
    other, _ = _snapshot(_retrieved("Other"))
    assert other.id != snapshot.id
    assert not list(tmp_path.rglob("*.tmp*"))  # written to temporary names, then moved


def test_ids_are_found_by_prefix(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot, data = _snapshot(_retrieved())
    store.save(snapshot, [data])
    assert store.resolve(snapshot.id[:8].upper()) == snapshot.id
    with pytest.raises(ConfigError, match="too short"):
        store.resolve(snapshot.id[:3])
    with pytest.raises(ConfigError, match="no snapshot"):
        store.resolve("0" * 10 if not snapshot.id.startswith("0") else "f" * 10)


def test_an_edited_manifest_is_refused(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot, data = _snapshot(_retrieved())
    store.save(snapshot, [data])
    path = tmp_path / "snapshots" / f"{snapshot.id}.json"
    manifest = json.loads(path.read_text())
    manifest["components"][1]["existed"] = False  # pretend the layout was new
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    with pytest.raises(SnapshotInvalid, match="does not match its hash") as caught:
        store.load(snapshot.id)
    assert caught.value.exit_code == ExitCode.SNAPSHOT_INVALID
    assert store.damaged() == [snapshot.id] and store.all() == []


def test_a_changed_or_missing_zip_is_refused(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot, data = _snapshot(_retrieved())
    store.save(snapshot, [data])
    blob = tmp_path / "snapshots" / "blobs" / snapshot.zips[0].sha256
    blob.write_bytes(build_zip(_retrieved("Tampered")))
    with pytest.raises(SnapshotInvalid, match=r"zip .* does not match its hash"):
        store.load(snapshot.id)
    blob.unlink()
    with pytest.raises(SnapshotInvalid, match="is missing"):
        store.load(snapshot.id)


def test_a_zip_that_disagrees_with_its_manifest_is_refused(tmp_path: Path) -> None:
    """Even with every file hash consistent, a manifest whose component hashes do not match
    the zip it names is refused."""
    store = SnapshotStore(tmp_path)
    snapshot, _ = _snapshot(_retrieved())
    other = build_zip(_retrieved("Somebody else's"))
    forged = make_snapshot(
        kind=snapshot.kind,
        source=snapshot.source,
        api_version=snapshot.api_version,
        created_at=snapshot.created_at,
        package_hash=snapshot.package_hash,
        refs={LAYOUT: "deploy"},
        before=normalize.bodies(_retrieved()),
        package_bodies={},
        zips=[other],
    )
    store.save(forged, [other])
    with pytest.raises(SnapshotInvalid, match="Layout:Contact-Contact Layout in its zips"):
        store.load(forged.id)


def test_credentials_never_reach_a_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    leaky = [
        MetadataFile(
            "remoteSiteSettings/X.remoteSite",
            f'<RemoteSiteSetting xmlns="{MD}"><description>{TOKEN}</description>'
            "</RemoteSiteSetting>".encode(),
        )
    ]
    snapshot, data = _snapshot(leaky)
    with pytest.raises(ConfigError, match="contains a credential"):
        store.save(snapshot, [data], secrets=[TOKEN])
    assert not (tmp_path / "snapshots").exists() or not list((tmp_path / "snapshots").rglob("*"))
    clean, data = _snapshot(_retrieved())
    store.save(clean, [data], secrets=[TOKEN])
    assert all(TOKEN.encode() not in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_outcomes_are_kept_beside_the_manifest_and_found_by_deploy(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first, data = _snapshot(_retrieved(), "2026-12-01T10:00:00Z")
    second, data2 = _snapshot(_retrieved("Later"), "2026-12-02T10:00:00Z")
    store.save(first, [data])
    store.save(second, [data2])
    assert store.outcome(first.id).outcome == "pending"
    store.record(first.id, SnapshotOutcome(("0Af000000000007CAA",), "succeeded", "now"))
    assert store.by_deploy("0Af000000000007CAA") == first.id
    assert store.by_deploy("0Af000000000008CAA") is None
    assert store.load(first.id)[0] == first  # the outcome is not part of the hashed manifest
    assert [s.id for s in store.all("uat")] == [second.id, first.id]
    assert store.latest("uat", ["deploy"]) == second
    assert store.all("prod") == []
