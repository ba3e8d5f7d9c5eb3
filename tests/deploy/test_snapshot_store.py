"""The snapshot store on disk: manifests named by their HMAC under the project's key, zips by
their hash, all checked when read, refusing any change to a manifest or a zip (a manifest
renamed to its own new hash included), free of credentials, written without partial files,
and pruned without losing what a kept snapshot needs."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from toolkit.deploy.snapshots import (
    KEY_ENV,
    KEY_FILE,
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


def _save(
    store: SnapshotStore, files: list[MetadataFile], created_at: str = "2026-12-01T10:00:00Z"
) -> Snapshot:
    snapshot, data = _snapshot(files, created_at)
    return store.save(snapshot, [data])


def test_a_snapshot_is_named_by_its_signature_and_reads_back(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot, data = _snapshot(_retrieved())
    assert snapshot.id == ""  # named when stored
    saved = store.save(snapshot, [data])
    again = store.save(_snapshot(_retrieved())[0], [data])
    assert again.id == saved.id and len(saved.id) == 64  # same content, same id
    loaded, files = store.load(saved.id)
    assert loaded == saved and loaded.id == saved.id
    assert [f.path for f in files] == ["layouts/Contact-Contact Layout.layout"]
    layout, field = loaded.component(LAYOUT), loaded.component(FIELD)
    assert layout is not None and layout.existed and not layout.new and layout.size
    assert field is not None and field.new and field.sha256 is None
    other = _save(store, _retrieved("Other"))
    assert other.id != saved.id
    assert not list(tmp_path.rglob("*.tmp*"))  # written to temporary names, then moved
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64


def test_ids_are_found_by_prefix(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot, data = _snapshot(_retrieved())
    saved = store.save(snapshot, [data])
    assert store.resolve(saved.id[:8].upper()) == saved.id
    with pytest.raises(ConfigError, match="too short"):
        store.resolve(saved.id[:3])
    with pytest.raises(ConfigError, match="no snapshot"):
        store.resolve("0" * 10 if not saved.id.startswith("0") else "f" * 10)


def test_an_edited_manifest_is_refused_even_renamed_to_its_new_hash(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    saved = _save(store, _retrieved())
    path = tmp_path / "snapshots" / f"{saved.id}.json"
    manifest = json.loads(path.read_text())
    manifest["components"][1]["existed"] = False  # pretend the layout was new
    forged = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    path.write_bytes(forged)
    with pytest.raises(SnapshotInvalid, match="does not match its signature") as caught:
        store.load(saved.id)
    assert caught.value.exit_code == ExitCode.SNAPSHOT_INVALID
    path.rename(tmp_path / "snapshots" / f"{hashlib.sha256(forged).hexdigest()}.json")
    assert store.all() == []
    assert list(store.damaged()) == [hashlib.sha256(forged).hexdigest()]


def test_another_key_reads_no_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = _save(SnapshotStore(tmp_path), _retrieved())
    monkeypatch.setenv(KEY_ENV, "k" * 40)
    with pytest.raises(SnapshotInvalid, match=KEY_ENV):
        SnapshotStore(tmp_path).load(saved.id)
    monkeypatch.setenv(KEY_ENV, (tmp_path / KEY_FILE).read_text())  # CI given the same key
    assert SnapshotStore(tmp_path).load(saved.id)[0] == saved
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError, match="shorter than 32"):
        SnapshotStore(tmp_path).load(saved.id)


def test_a_changed_or_missing_zip_is_refused(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    saved = _save(store, _retrieved())
    blob = tmp_path / "snapshots" / "blobs" / saved.zips[0].sha256
    blob.write_bytes(build_zip(_retrieved("Tampered")))
    with pytest.raises(SnapshotInvalid, match=r"zip .* does not match its hash"):
        store.load(saved.id)
    assert "does not match its hash" in store.damaged()[saved.id]
    blob.unlink()
    with pytest.raises(SnapshotInvalid, match="is missing"):
        store.load(saved.id)
    assert "is missing" in store.damaged()[saved.id]


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
    saved = store.save(forged, [other])
    with pytest.raises(SnapshotInvalid, match="Layout:Contact-Contact Layout in its zips"):
        store.load(saved.id)


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
    first = _save(store, _retrieved(), "2026-12-01T10:00:00Z")
    second = _save(store, _retrieved("Later"), "2026-12-02T10:00:00Z")
    assert store.outcome(first.id).outcome == "pending"
    store.record(first.id, SnapshotOutcome(("0Af000000000007CAA",), "succeeded", "now"))
    assert store.by_deploy("0Af000000000007CAA") == first.id
    assert store.by_deploy("0Af000000000008CAA") is None
    assert store.load(first.id)[0] == first  # the outcome is not part of the signed manifest
    assert [s.id for s in store.all("uat")] == [second.id, first.id]
    assert store.latest("uat", ["deploy"]) == second
    assert store.all("prod") == []


def test_pruning_keeps_the_newest_and_what_they_need(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    shared = _retrieved()  # the oldest and the newest share one zip
    saved = [
        _save(store, files, f"2026-12-0{day}T10:00:00Z")
        for day, files in enumerate([shared, _retrieved("B"), _retrieved("C"), shared], start=1)
    ]
    store.record(saved[0].id, SnapshotOutcome(("0Af000000000001CAA",), "succeeded", "now"))
    blobs = tmp_path / "snapshots" / "blobs"
    assert len(list(blobs.iterdir())) == 3
    removed = store.prune(2)
    assert [s.id for s in removed] == [saved[1].id, saved[0].id]
    assert [s.id for s in store.all()] == [saved[3].id, saved[2].id]
    assert {p.name for p in blobs.iterdir()} == {saved[3].zips[0].sha256, saved[2].zips[0].sha256}
    assert not (tmp_path / "snapshots" / "outcomes" / f"{saved[0].id}.json").exists()
    for snapshot in store.all():
        store.load(snapshot.id)  # every kept snapshot still reads whole
