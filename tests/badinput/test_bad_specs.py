"""Bad specs, spec folders, templates and metadata folders through the installed ``sftk``:
each refusal has its documented exit code, names the file (and line) and leaves the project
and its rendered output as they were; what sftk skips or guesses is said, naming the file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from badinput import Sftk, refused, tree

from toolkit.errors import ExitCode

SPEC = "objects/Site_Visit__c.toml"


def _add_spec(project: Path, name: str, content: bytes) -> None:
    (project / "objects" / name).write_bytes(content)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('label = "Café"\nplural_label = "Cafés"\n'.encode("latin-1"), "Bad__c.toml:1:"),
        ('label = "Café"\nplural_label = "Cafés"\n'.encode("utf-16"), "Bad__c.toml"),
    ],
    ids=["latin-1", "utf-16"],
)
def test_a_spec_that_is_not_utf8(sftk: Sftk, project: Path, content: bytes, named: str) -> None:
    _add_spec(project, "Bad__c.toml", content)
    before = tree(project)
    for command in ("render", "validate"):
        printed = refused(sftk(command, cwd=project), ExitCode.USAGE, named, "UTF-8")
        assert "save the file as UTF-8" in printed
    assert tree(project) == before


def test_specs_that_are_not_files(sftk: Sftk, project: Path) -> None:
    objects = project / "objects"
    before = tree(project)
    cases = {
        "X__c.toml": "is a folder",
        "Gone__c.toml": "symbolic link to nowhere.toml, which does not exist",
        "Loop__c.toml": "symbolic link loop",
        "Pipe__c.toml": "not a regular file",
    }
    for name, why in cases.items():
        if name == "X__c.toml":
            (objects / name).mkdir()
        elif name == "Gone__c.toml":
            (objects / name).symlink_to("nowhere.toml")
        elif name == "Loop__c.toml":
            (objects / name).symlink_to(name)
        else:
            os.mkfifo(objects / name)
        refused(sftk("render", cwd=project, timeout=30), ExitCode.USAGE, f"objects/{name}", why)
        entry = objects / name
        entry.rmdir() if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    assert tree(project) == before


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda folder: (folder / "b").symlink_to("a") or (folder / "a").symlink_to("b"), "loop"),
        (lambda folder: (folder / "Z__c.object").symlink_to("nowhere"), "does not exist"),
        (lambda folder: os.mkfifo(folder / "P__c.object"), "not a regular file"),
    ],
    ids=["loop", "dangling", "fifo"],
)
def test_a_metadata_folder_with_links_that_lead_nowhere(
    sftk: Sftk, project: Path, make: object, why: str
) -> None:
    """A link in a carried folder that resolves to no file was left out without a word."""
    objects = project / "legacy" / "objects"
    objects.mkdir(parents=True)
    assert callable(make)
    make(objects)
    config = project / "sftk.toml"
    config.write_text(
        config.read_text().replace("metadata_dirs = []", 'metadata_dirs = ["legacy"]')
    )
    before = tree(project)
    refused(sftk("render", cwd=project, timeout=30), ExitCode.USAGE, "legacy/objects/", why)
    refused(sftk("validate", "legacy", cwd=project, timeout=30), ExitCode.USAGE, why)
    assert tree(project) == before


def test_the_specs_folder_that_cannot_be_read_is_an_error(sftk: Sftk, project: Path) -> None:
    objects = project / "objects"
    kept = project / "kept"
    objects.rename(kept)
    before = tree(project)
    printed = refused(
        sftk("render", cwd=project), ExitCode.USAGE, "sftk.toml:", "objects_dir", "does not exist"
    )
    assert "mkdir objects" in printed
    objects.write_text("")
    refused(sftk("render", cwd=project), ExitCode.USAGE, "objects_dir", "is a file")
    objects.unlink()
    objects.symlink_to("objects")
    refused(sftk("validate", cwd=project), ExitCode.USAGE, "objects_dir", "symbolic link loop")
    objects.unlink()
    assert tree(project) == before


def test_what_a_specs_folder_holds_besides_specs_is_named(sftk: Sftk, project: Path) -> None:
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("not a spec")
    (elsewhere / "Course__c.tml").write_text('label = "Course"\n')
    config = project / "sftk.toml"
    config.write_text(
        config.read_text().replace('objects_dir = "objects"', 'objects_dir = "../elsewhere"')
    )
    rendered = sftk("render", cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    assert re.search(
        r"warning: \.\./elsewhere: 2 entries are not specs.*Course__c\.tml", rendered.stderr
    )


def test_a_spec_named_neither_custom_nor_standard(sftk: Sftk, project: Path) -> None:
    _add_spec(project, "Select.toml", b'[fields.Flavour__c]\ntype = "Text"\nlength = 20\n')
    rendered = sftk("render", cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    assert (
        "warning: objects/Select.toml: Select is not a standard object sftk knows"
        in rendered.stderr
    )
    assert "Select__c.toml" in rendered.stderr
    validated = sftk("validate", "--json", cwd=project)
    assert "objects/Select.toml" in validated.stdout
    _add_spec(project, "Select.toml", b'label = "Select"\nplural_label = "Selects"\n')
    before = tree(project)
    refused(
        sftk("render", cwd=project),
        ExitCode.USAGE,
        "objects/Select.toml:1: label",
        "Select__c.toml",
    )
    assert tree(project) == before


def test_a_custom_field_without_its_suffix(sftk: Sftk, project: Path) -> None:
    spec = project / SPEC
    spec.write_text(spec.read_text() + '\n[fields.Id]\ntype = "Text"\nlength = 10\n')
    line = spec.read_text().splitlines().index("[fields.Id]") + 1
    before = tree(project)
    printed = refused(sftk("render", cwd=project), ExitCode.USAGE, f"{SPEC}:{line}: fields.Id")
    assert "system field" in printed and "Id__c" in printed
    assert tree(project) == before


def test_a_template_that_writes_malformed_xml(sftk: Sftk, project: Path) -> None:
    template = project / "templates" / "WebLink.xml.j2"
    builtin = Path(__file__).parents[2] / "templates" / "metadata" / "WebLink.xml.j2"
    lines = builtin.read_text().splitlines(keepends=True)
    line = next(n for n, text in enumerate(lines, 1) if "<masterLabel>" in text)
    lines[line - 1] = lines[line - 1].replace("</masterLabel>", "</mastrLabel>")
    template.write_text("".join(lines))
    before = tree(project)
    printed = refused(
        sftk("render", cwd=project), ExitCode.USAGE, f"templates/WebLink.xml.j2:{line}:"
    )
    assert "not well-formed" in printed and "objects/Site_Visit__c.object" in printed
    assert tree(project) == before


@pytest.mark.parametrize(
    "files",
    [{}, {"readme.txt": "hello"}, {"notes/todo.md": "- write specs"}],
    ids=["empty", "a text file", "a folder of notes"],
)
def test_validate_says_when_there_is_nothing_to_check(
    sftk: Sftk, tmp_path: Path, files: dict[str, str]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    printed = refused(
        sftk("validate", "folder", cwd=tmp_path), ExitCode.USAGE, "folder", "nothing to check"
    )
    assert "clean" not in printed


@pytest.mark.parametrize("path", ["package.xml", "objects/A__c.object"])
def test_an_external_entity_in_a_metadata_file(sftk: Sftk, tmp_path: Path, path: str) -> None:
    root = "Package" if path == "package.xml" else "CustomObject"
    target = tmp_path / "md" / path
    target.parent.mkdir(parents=True)
    target.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        f'<{root} xmlns="http://soap.sforce.com/2006/04/metadata"><label>&e;</label></{root}>\n'
    )
    printed = refused(sftk("validate", "md", cwd=tmp_path), ExitCode.PROBLEMS_FOUND, f"{path}:2:")
    assert "DOCTYPE" in printed and "root:" not in printed


def test_locations_and_user_text_print_as_written(sftk: Sftk, project: Path) -> None:
    """``file.toml:100:`` is no emoji code, and a key in rich's markup is no style."""
    spec = project / SPEC
    text = spec.read_text().rstrip("\n") + "\n"
    text += "\n" * (99 - text.count("\n")) + '"[bold red]:skull:" = 1\n'
    spec.write_text(text)
    printed = refused(sftk("render", cwd=project), ExitCode.USAGE, f"{SPEC}:100: ")
    assert "'[bold red]:skull:'" in printed
    assert "\N{HUNDRED POINTS SYMBOL}" not in printed and "\N{SKULL}" not in printed


def test_all_problems_of_a_spec_at_once(sftk: Sftk, project: Path) -> None:
    spec = project / SPEC
    spec.write_text(
        spec.read_text()
        + '\n[fields.A__c]\ntype = "Text"\nlenght = 3\nscale = 2\n'
        + '\n[fields.B__c]\ntype = "Txt"\n'
        + '\n[layouts.Other]\nsections = []\ncolour = "red"\n'
    )
    lines = spec.read_text().splitlines()

    def at(text: str) -> str:  # the line added last that reads so
        return f"{SPEC}:{len(lines) - lines[::-1].index(text)}"

    before = tree(project)
    printed = refused(
        sftk("render", cwd=project),
        ExitCode.USAGE,
        f"{at('lenght = 3')}: fields.A__c.lenght: unknown key 'lenght'",
        f"{at('scale = 2')}: fields.A__c.scale: option 'scale' does not apply",
        at('type = "Txt"') + ": fields.B__c.type: unknown value 'Txt'",
        at('colour = "red"') + ": layouts.Other.colour: unknown key",
    )
    assert "4 problems" in printed
    as_json = sftk("render", "--json", cwd=project)
    problems = json.loads(as_json.stdout)["error"]["problems"]
    assert [p["message"].split(": ")[1] for p in problems] == [
        "fields.A__c.scale",
        "fields.A__c.lenght",
        "fields.B__c.type",
        "layouts.Other.colour",
    ]
    assert all(p["hint"] for p in problems)
    assert tree(project) == before


def test_all_problems_of_the_plugin_settings_at_once(sftk: Sftk, project: Path) -> None:
    config = project / "sftk.toml"
    text = config.read_text()
    text = text.replace('source_key = "id"  ', 'source_keys = "id"  ', 1)
    text = text.replace('on_delete = "delete"', 'on_delete = "purge"', 1)
    config.write_text(text)
    refused(
        sftk("render", cwd=project),
        ExitCode.USAGE,
        "plugins.files.streams.customers.source_keys: unknown key",
        "plugins.files.streams.site_visits.on_delete: unknown value 'purge'",
    )
