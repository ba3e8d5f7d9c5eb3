"""Folders sftk cannot write, state it cannot read, and files that are not what their name
promises, through the installed ``sftk``: a clear refusal naming the path, with the output
and the state as they were (a full disk is stood in for by a limit on file sizes)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path

import pytest
from badinput import Sftk, refused, tree

from toolkit.errors import ExitCode

CORRUPT = bytes(range(256)) * 32  # no SQLite header: "file is not a database"


def test_an_output_folder_that_cannot_be_written(sftk: Sftk, project: Path) -> None:
    build = project / "build"
    before = tree(project)
    build.chmod(0o555)
    try:
        printed = refused(
            sftk("render", cwd=project, read_only=True), ExitCode.USAGE, "build/metadata"
        )
        assert "Permission denied" in printed and "previous output is as it was" in printed
        refused(
            sftk("render", "--out", "build/other", cwd=project, read_only=True),
            ExitCode.USAGE,
            "build/other",
        )
    finally:
        build.chmod(0o755)
    assert tree(project) == before


def test_a_full_disk_while_rendering(sftk: Sftk, project: Path) -> None:
    before = tree(project)
    for out in ((), ("--out", "build/other")):
        printed = refused(
            sftk("render", *out, cwd=project, max_file_bytes=1024),
            ExitCode.USAGE,
            out[-1] if out else "build/metadata",
        )
        assert "File too large" in printed
    assert tree(project) == before


def test_a_read_only_state_folder(sftk: Sftk, project: Path) -> None:
    state = project / ".sftk"
    state.mkdir()
    state.chmod(0o555)
    before = tree(project)
    try:
        for command, place in (
            (("deploy", "--org", "local"), ".sftk/localorg"),
            (("sync", "--org", "local"), ".sftk/sync.sqlite3"),
            (("runs",), ".sftk/sync.sqlite3"),
        ):
            printed = refused(sftk(*command, cwd=project, read_only=True), ExitCode.USAGE, place)
            assert "writable" in printed
        assert tree(project) == before
    finally:
        state.chmod(0o755)


def test_a_local_org_database_that_is_not_one(sftk: Sftk, project: Path) -> None:
    database = project / ".sftk" / "localorg" / "org.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_bytes(CORRUPT)
    before = tree(project)
    for command in (("org", "show", "local"), ("deploy", "--org", "local"), ("org", "serve")):
        printed = refused(
            sftk(*command, cwd=project, timeout=30),
            ExitCode.USAGE,
            ".sftk/localorg/org.sqlite3",
            "not a local org database",
        )
        assert "move the file away" in printed
    assert database.read_bytes() == CORRUPT
    assert tree(project) == before


def test_serving_on_a_port_that_is_taken(sftk: Sftk, project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for option in ("--port", "--http-port"):
            printed = refused(
                sftk("org", "serve", option, port, cwd=project, timeout=30),
                ExitCode.USAGE,
                f"127.0.0.1:{port}",
            )
            assert "Address already in use" in printed and "another port" in printed


JWT_PROFILE = """
[orgs.ci]
kind = "developer"
auth = "jwt"
username = "deploy@example.com"
client_id_env = "SFTK_TEST_CLIENT_ID"
private_key_file = "certs/server.key"
"""


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "huge", "folder"])
def test_a_key_file_that_is_not_a_key(sftk: Sftk, project: Path, kind: str) -> None:
    with (project / "sftk.toml").open("a") as config:
        config.write(JWT_PROFILE)
    key = project / "certs" / "server.key"
    key.parent.mkdir()
    if kind == "/dev/zero":
        key.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(key)
    elif kind == "huge":
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 200_000)
    else:
        key.mkdir()
    shown = refused(
        sftk("org", "show", "ci", cwd=project, env={"SFTK_TEST_CLIENT_ID": "x"}, timeout=30),
        ExitCode.USAGE,
        "key file",
        "certs/server.key",
    )
    assert "private_key_file" in shown


ID_FIELD = """    <fields>
        <fullName>Id</fullName>
        <label>Id</label>
        <length>10</length>
        <type>Text</type>
    </fields>
"""


def test_a_field_named_like_a_system_field(sftk: Sftk, project: Path) -> None:
    """A hand-written object file with a field ``Id``: validate and the local org refuse it,
    so the org never describes ``Id`` as a text field."""
    md = project / "md"
    (md / "objects").mkdir(parents=True)
    rendered = (project / "build" / "metadata" / "objects" / "Site_Visit__c.object").read_text()
    (md / "objects" / "Site_Visit__c.object").write_text(
        rendered.replace("    <fields>\n", ID_FIELD + "    <fields>\n", 1)
    )
    line = (
        (md / "objects" / "Site_Visit__c.object")
        .read_text()
        .splitlines()
        .index("        <fullName>Id</fullName>")
    )
    printed = refused(
        sftk("validate", "md", cwd=project),
        ExitCode.PROBLEMS_FOUND,
        f"objects/Site_Visit__c.object:{line}:",
        "custom-suffix",
        "'Id' is a system field",
    )
    assert "Id__c" in printed
    deployed = sftk("deploy", "md", "--org", "local", "--json", cwd=project)
    assert deployed.returncode == ExitCode.DEPLOY_FAILED, deployed.stdout + deployed.stderr
    failures = json.loads(deployed.stdout)["result"]["component_failures"]
    assert [(f["full_name"], f["line"]) for f in failures] == [("Site_Visit__c.Id", line)]
    assert "must end with: __c" in failures[0]["problem"]
    database = project / ".sftk" / "localorg" / "org.sqlite3"
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT field_type FROM schema_fields WHERE object = 'Site_Visit__c' AND name = 'Id'"
        ).fetchall()
    assert rows == []


def test_creating_in_a_folder_that_cannot_be_written(sftk: Sftk, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        for command, place, kept in (
            (("init", "demo"), "demo", "the project was not created"),
            (("plugin", "new", "acme"), "acme", "nothing was written"),
        ):
            printed = refused(
                sftk(*command, cwd=folder, read_only=True), ExitCode.USAGE, place, kept
            )
            assert "Permission denied" in printed
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_a_file_the_machine_refuses_is_named_as_such(sftk: Sftk, project: Path) -> None:
    """What no code of sftk words yet, but the machine refuses (here: pruning snapshots in a
    read-only folder), is said as such and names the file, not reported as a bug in sftk."""
    for _ in range(2):
        deployed = sftk("deploy", "--org", "local", "--force", cwd=project)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    snapshots = project / ".sftk" / "snapshots"
    before = tree(snapshots)
    snapshots.chmod(0o555)
    try:
        printed = refused(
            sftk("snapshots", "prune", "--keep", "1", cwd=project, read_only=True),
            ExitCode.USAGE,
            ".sftk/snapshots/",
            "Permission denied",
        )
        assert "permissions of that path" in printed
    finally:
        snapshots.chmod(0o755)
    assert tree(snapshots) == before


@pytest.mark.parametrize(
    "command",
    [
        ("validate", "--wsdl", "given"),
        ("org", "coverage", "set", "--org", "local", "--file", "given"),
        ("retrieve", "--org", "local", "--manifest", "given", "--out", "retrieved"),
    ],
    ids=["--wsdl", "--file", "--manifest"],
)
def test_a_pipe_given_as_a_file(sftk: Sftk, project: Path, command: tuple[str, ...]) -> None:
    """A FIFO where a file is expected used to hang the command until killed."""
    os.mkfifo(project / "given")
    before = tree(project)
    refused(sftk(*command, cwd=project, timeout=30), ExitCode.USAGE, "given", "not a regular file")
    assert tree(project) == before
