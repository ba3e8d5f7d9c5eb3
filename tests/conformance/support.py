"""What the conformance tests share besides fixtures: the org's state as the tests read it,
client answers, and the packages of packages/ as zips."""

from __future__ import annotations

import base64
import io
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).parent
PACKAGES = HERE / "packages"
API_VERSION = "63.0"


@dataclass(frozen=True)
class Answer:
    """What a client command did: its exit status, its stdout read as JSON, its stderr."""

    status: int
    data: Any
    stderr: str


@dataclass(frozen=True)
class LocalOrg:
    """The served org as connection.json describes it, with a client for checking its state."""

    connection: dict[str, str]
    state_dir: Path
    session: requests.Session

    @property
    def url(self) -> str:
        return self.connection["instance_url"]

    def get(self, path: str, **params: str) -> Any:
        answer = self.session.get(self.url + path, params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def query(self, soql: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.get(f"/services/data/v{API_VERSION}/query", q=soql)[
            "records"
        ]
        return [{k: v for k, v in r.items() if k != "attributes"} for r in records]

    def fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        described = self.get(f"/services/data/v{API_VERSION}/sobjects/{sobject}/describe")
        return {f["name"]: f for f in described["fields"]}

    def components(self, type_name: str) -> set[str]:
        """Names of the deployed components of a metadata type, read from the org's store."""
        db = sqlite3.connect(f"file:{self.state_dir / 'org.sqlite3'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT full_name FROM md_components WHERE type = ?", (type_name,))
            return {str(row[0]) for row in rows}
        finally:
            db.close()


def package_zip(name: str) -> bytes:
    """A package folder of packages/ as a zip, files at its root (singlePackage)."""
    buffer = io.BytesIO()
    root = PACKAGES / name
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def zip_base64(name: str) -> str:
    return base64.b64encode(package_zip(name)).decode("ascii")
