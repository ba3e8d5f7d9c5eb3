"""The command line as a new user meets it: the installed ``sftk`` script in a fresh folder."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from test_project import many_specs

from toolkit import fsio
from toolkit.cli import LAZY_COMMANDS, cli, main
from toolkit.errors import ExitCode
from toolkit.metadata import xmlsafe
from toolkit.project import SPLIT_FROM, build_package, open_project

if TYPE_CHECKING:
    from conftest import Run  # the shared fixture's type, for readers and editors


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def init(sftk: Run, tmp_path: Path, *args: str) -> Path:
    result = sftk("init", "demo", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "demo"


def enable_plugins(project: Path) -> None:
    """Both bundled plugins, which init lists but does not enable."""
    config = project / "sftk.toml"
    text = config.read_text().replace("enabled = []", 'enabled = ["lms", "scheduling"]')
    config.write_text(text)


def test_init_render_validate(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    assert (demo / "sftk.toml").is_file() and (demo / "objects" / "Site_Visit__c.toml").is_file()
    enable_plugins(demo)
    rendered = sftk("render", cwd=demo)
    assert rendered.returncode == 0, rendered.stderr
    out = demo / "build" / "metadata"
    for path in (
        "package.xml",
        "objects/Site_Visit__c.object",
        "layouts/Site_Visit__c-Site Visit Layout.layout",
        "permissionsets/Site_Visit_User.permissionset",
        "tabs/Site_Visit__c.tab",
        "objects/Course__c.object",  # from the LMS plugin
        "objects/Contact.object",  # fields from both plugins, merged
    ):
        assert (out / path).is_file(), path
    checked = sftk("validate", cwd=demo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "clean" in checked.stdout


def test_rendering_twice_gives_identical_bytes(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    assert sftk("render", cwd=demo).returncode == 0
    first = snapshot(demo / "build" / "metadata")
    assert sftk("render", cwd=demo).returncode == 0
    assert snapshot(demo / "build" / "metadata") == first


def test_a_large_project_renders_in_two_processes_to_the_same_bytes(
    sftk: Run, tmp_path: Path
) -> None:
    many_specs(tmp_path, SPLIT_FROM + 6)
    assert sftk("--no-plugins", "render", "--out", "out", cwd=tmp_path).returncode == 0
    expected = build_package(open_project(tmp_path, no_plugins=True), split=False)
    assert snapshot(tmp_path / "out") == {f.path: f.content for f in expected.files}
    checked = sftk("--no-plugins", "validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_source_format_is_a_dx_project_that_validates(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    enable_plugins(demo)
    result = sftk("render", "--format", "source", "--out", "dx", cwd=demo)
    assert result.returncode == 0, result.stderr
    project = json.loads((demo / "dx" / "sfdx-project.json").read_text())
    assert project["packageDirectories"] == [{"default": True, "path": "force-app"}]
    base = demo / "dx" / "force-app" / "main" / "default"
    field = base / "objects" / "Site_Visit__c" / "fields" / "Status__c.field-meta.xml"
    root = xmlsafe.parse(field.read_bytes(), str(field))
    assert root.tag.endswith("CustomField")
    assert (base / "objects" / "Site_Visit__c" / "Site_Visit__c.object-meta.xml").is_file()
    assert (base / "layouts" / "Site_Visit__c-Site Visit Layout.layout-meta.xml").is_file()
    checked = sftk("validate", "dx", "--json", cwd=demo)
    assert checked.returncode == 0, checked.stdout
    report = json.loads(checked.stdout)
    assert report["ok"] is True and report["files_checked"] > 20


def test_json_output_of_render(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    result = sftk("render", "--json", cwd=demo)
    data = json.loads(result.stdout)
    assert data["format"] == "mdapi" and "package.xml" in data["files"]
    assert data["components"]["CustomObject"] >= 1
    assert list(data) == sorted(data)


def test_no_plugins_renders_only_the_project(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    result = sftk("--no-plugins", "render", "--json", cwd=demo)
    files = json.loads(result.stdout)["files"]
    assert "objects/Site_Visit__c.object" in files
    assert "objects/Course__c.object" not in files


def test_malformed_toml_is_exit_2_with_file_and_line(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    (demo / "objects" / "Broken__c.toml").write_text('label = "x"\nplural_label = \n')
    result = sftk("render", cwd=demo)
    assert result.returncode == 2
    assert "objects/Broken__c.toml: invalid TOML" in result.stderr and "line 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_field_type_lists_choices(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    spec = demo / "objects" / "Site_Visit__c.toml"
    spec.write_text(spec.read_text().replace('type = "Currency"', 'type = "Money"'))
    result = sftk("validate", "--json", cwd=demo)
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert "objects/Site_Visit__c.toml:" in error["message"] and "'Money'" in error["message"]
    assert "Currency" in error["hint"] and "MultiselectPicklist" in error["hint"]


def test_failed_render_leaves_previous_output(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    assert sftk("render", cwd=demo).returncode == 0
    before = snapshot(demo / "build" / "metadata")
    spec = demo / "objects" / "Site_Visit__c.toml"
    spec.write_text(spec.read_text().replace('label = "Expenses"', 'label = "Bad \\u0001 label"'))
    result = sftk("render", cwd=demo)
    assert result.returncode == 2 and "U+0001" in result.stderr
    assert snapshot(demo / "build" / "metadata") == before
    assert sorted(p.name for p in (demo / "build").iterdir()) == ["metadata"]


def test_template_override_from_project(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    (demo / "templates" / "CustomTab.xml.j2").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CustomTab xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        "    <customObject>true</customObject>\n"
        "    <description>Overridden</description>\n"
        "    <motif>{{ tab.motif }}</motif>\n"
        "</CustomTab>\n"
    )
    assert sftk("render", cwd=demo).returncode == 0, "render failed"
    tab = (demo / "build" / "metadata" / "tabs" / "Site_Visit__c.tab").read_text()
    assert "<description>Overridden</description>" in tab


def test_broken_template_names_template_and_line(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    (demo / "templates" / "CustomTab.xml.j2").write_text("<CustomTab>\n{{ tab.nosuch }}\n")
    result = sftk("render", cwd=demo)
    assert result.returncode == 2
    assert "CustomTab.xml.j2" in result.stderr and ":2" in result.stderr


def test_no_project_is_a_usage_error(sftk: Run, tmp_path: Path) -> None:
    result = sftk("render", cwd=tmp_path)
    assert result.returncode == 2 and "sftk init" in result.stderr


def test_destructive_manifest(sftk: Run, tmp_path: Path) -> None:
    result = sftk("destructive", "CustomField:Account.Old__c", "CustomObject:Gone__c", cwd=tmp_path)
    assert result.returncode == 0
    assert "<members>Account.Old__c</members>" in result.stdout
    bad = sftk("destructive", "Nonsense:Thing", cwd=tmp_path)
    assert bad.returncode == 2 and "CustomField" in bad.stderr


def test_deletions_in_config_produce_the_manifest(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    config = demo / "sftk.toml"
    config.write_text(
        config.read_text()
        + '\n[deletions]\ncomponents = ["CustomField:Account.Old__c"]\nwhen = "post"\n'
    )
    assert sftk("render", cwd=demo).returncode == 0
    post = (demo / "build" / "metadata" / "destructiveChangesPost.xml").read_text()
    assert "<members>Account.Old__c</members>" in post
    assert sftk("validate", cwd=demo).returncode == 0


def test_destructive_json_and_file(sftk: Run, tmp_path: Path) -> None:
    result = sftk(
        "destructive",
        "CustomObject:Gone__c",
        "--when",
        "pre",
        "--out",
        "out",
        "--json",
        cwd=tmp_path,
    )
    data = json.loads(result.stdout)
    assert data["manifest"] == "destructiveChangesPre.xml"
    assert data["components"] == ["CustomObject:Gone__c"]
    written = (tmp_path / "out" / "destructiveChangesPre.xml").read_text()
    assert written == data["xml"] and "<members>Gone__c</members>" in written


def test_validate_against_a_users_own_wsdl(sftk: Run, tmp_path: Path) -> None:
    from toolkit.metadata.schema import bundled_wsdl_path

    demo = init(sftk, tmp_path)
    own = tmp_path / "org-metadata.wsdl"
    own.write_bytes(bundled_wsdl_path().read_bytes())
    result = sftk("validate", "--wsdl", str(own), "--json", cwd=demo)
    assert result.returncode == 0, result.stdout
    broken = tmp_path / "broken.wsdl"
    broken.write_text("<definitions>\n<oops>\n")
    bad = sftk("validate", "--wsdl", str(broken), cwd=demo)
    assert bad.returncode == 2 and "broken.wsdl" in bad.stderr and "Traceback" not in bad.stderr


def test_org_list_shows_the_profiles_of_sftk_toml(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    config = demo / "sftk.toml"
    config.write_text(
        config.read_text()
        + '\n[orgs.uat]\nkind = "sandbox"\nauth = "password"\nusername = "ops@example.com.uat"\n'
        'password_env = "UAT_PASSWORD"\n'
    )
    human = sftk("org", "list", cwd=demo)
    assert human.returncode == 0, human.stderr
    assert [line.split() for line in human.stdout.splitlines()] == [
        ["local", "local", "local", "-"],
        ["rehearsal-sandbox", "sandbox", "local", "-"],
        ["rehearsal-prod", "production", "local", "-"],
        ["uat", "sandbox", "password", "https://test.salesforce.com"],
    ]
    as_json = sftk("org", "list", "--json", cwd=demo)
    assert json.loads(as_json.stdout)[3] == {
        "name": "uat",
        "kind": "sandbox",
        "auth": "password",
        "login_url": "https://test.salesforce.com",
        "username": "ops@example.com.uat",
        "alias": None,
        "api_version": None,
    }


def test_a_password_in_sftk_toml_is_refused_without_printing_it(sftk: Run, tmp_path: Path) -> None:
    demo = init(sftk, tmp_path)
    config = demo / "sftk.toml"
    text = config.read_text() + '\n[orgs.prod]\nkind = "production"\npassword = "Hunter2-Secret"\n'
    config.write_text(text)
    line = text.splitlines().index('password = "Hunter2-Secret"') + 1
    for args in (("org", "list"), ("render",)):
        result = sftk(*args, cwd=demo)
        assert result.returncode == 2
        assert f"sftk.toml:{line}: orgs.prod.password: sftk.toml must not hold secrets" in (
            result.stderr
        )
        assert "password_env" in result.stderr and "Hunter2-Secret" not in result.stderr


def test_org_commands_load_when_used_and_are_all_listed(sftk: Run, tmp_path: Path) -> None:
    for module in set(LAZY_COMMANDS.values()):
        names = {command.name for command in importlib.import_module(module).COMMANDS}
        assert names == {name for name, home in LAZY_COMMANDS.items() if home == module}
    context = click.Context(cli)
    for name in LAZY_COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
    listed = sftk("--help", cwd=tmp_path).stdout
    assert all(f"  {name} " in listed for name in LAZY_COMMANDS)
    # Rendering or validating imports neither the deploy engine nor the Salesforce clients.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, toolkit.cli; print(sorted(set(sys.modules) & "
            "{'toolkit.deploy.commands', 'simple_salesforce', 'requests'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


def test_ctrl_c_is_exit_130_and_leaves_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    many_specs(tmp_path, 2)
    out = tmp_path / "out"
    assert (
        main_exit_code(["--no-plugins", "--project", str(tmp_path), "render", "--out", str(out)])
        == 0
    )
    before = snapshot(out)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fsio, "_write_files", interrupted)
    code = main_exit_code(["--no-plugins", "--project", str(tmp_path), "render", "--out", str(out)])
    assert code == ExitCode.INTERRUPTED == 130
    assert "interrupted" in capsys.readouterr().err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if "out" in p.name) == ["out"]  # no staging


def main_exit_code(args: list[str]) -> int:
    with pytest.raises(SystemExit) as caught:
        main(args)
    return int(caught.value.code or 0)
