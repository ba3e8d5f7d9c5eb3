"""The offline rules: a clean package passes, and each rule catches exactly its own violation."""

from __future__ import annotations

import itertools
import random
import string
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit.metadata.rules as rules_module
from toolkit.errors import ConfigError
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.model import load_model
from toolkit.metadata.packaging import PackageLimits
from toolkit.metadata.rules import RULES, Problem, api_name_error, check

MD = "http://soap.sforce.com/2006/04/metadata"
API = "66.0"
SRC = "force-app/main/default"


# --- a small package builder: the same spec renders to either format -----------------------------


@dataclass
class Obj:
    label: str | None = "Course"
    plural: str | None = "Courses"
    name_field: str | None = "<label>Course Name</label>\n<type>Text</type>"
    fields: dict[str, str] = field(default_factory=dict)
    web_links: dict[str, str] = field(default_factory=dict)


@dataclass
class Package:
    objects: dict[str, Obj]
    layouts: dict[str, str]
    permission_sets: dict[str, str]
    tabs: dict[str, str]
    manifest: dict[str, list[str]] | None


def _indent(inner: str, depth: int) -> str:
    pad = "    " * depth
    return "\n".join(pad + line for line in inner.strip().splitlines())


def _xml(root: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{MD}">\n'
        f"{body}\n</{root}>\n".encode()
    )


def _object_head(obj: Obj) -> list[str]:
    """Object-level elements; a standard object (no label) only carries its children."""
    if obj.label is None:
        return []
    parts = ["<deploymentStatus>Deployed</deploymentStatus>", f"<label>{obj.label}</label>"]
    if obj.name_field is not None:
        parts.append(f"<nameField>\n{_indent(obj.name_field, 1)}\n</nameField>")
    if obj.plural is not None:
        parts.append(f"<pluralLabel>{obj.plural}</pluralLabel>")
    parts.append("<sharingModel>ReadWrite</sharingModel>")
    return parts


def build(pkg: Package, fmt: str = "mdapi") -> list[MetadataFile]:
    files: list[MetadataFile] = []
    root = "" if fmt == "mdapi" else SRC + "/"
    meta = "" if fmt == "mdapi" else "-meta.xml"
    for name, obj in pkg.objects.items():
        if fmt == "mdapi":
            parts = _object_head(obj)
            parts += [
                f"<fields>\n    <fullName>{fname}</fullName>\n{_indent(inner, 1)}\n</fields>"
                for fname, inner in obj.fields.items()
            ]
            parts += [
                f"<webLinks>\n    <fullName>{lname}</fullName>\n{_indent(inner, 1)}\n</webLinks>"
                for lname, inner in obj.web_links.items()
            ]
            body = _indent("\n".join(parts), 1)
            files.append(MetadataFile(f"objects/{name}.object", _xml("CustomObject", body)))
            continue
        folder = f"{root}objects/{name}"
        head = _object_head(obj)
        if head:  # source format has no object file for a standard object it only extends
            body = _indent("\n".join(head), 1)
            files.append(
                MetadataFile(f"{folder}/{name}.object-meta.xml", _xml("CustomObject", body))
            )
        for fname, inner in obj.fields.items():
            body = _indent(f"<fullName>{fname}</fullName>\n{inner}", 1)
            files.append(
                MetadataFile(f"{folder}/fields/{fname}.field-meta.xml", _xml("CustomField", body))
            )
        for lname, inner in obj.web_links.items():
            body = _indent(f"<fullName>{lname}</fullName>\n{inner}", 1)
            files.append(
                MetadataFile(f"{folder}/webLinks/{lname}.webLink-meta.xml", _xml("WebLink", body))
            )
    for name, body in pkg.layouts.items():
        files.append(
            MetadataFile(f"{root}layouts/{name}.layout{meta}", _xml("Layout", _indent(body, 1)))
        )
    for name, body in pkg.permission_sets.items():
        files.append(
            MetadataFile(
                f"{root}permissionsets/{name}.permissionset{meta}",
                _xml("PermissionSet", _indent(body, 1)),
            )
        )
    for name, body in pkg.tabs.items():
        files.append(
            MetadataFile(f"{root}tabs/{name}.tab{meta}", _xml("CustomTab", _indent(body, 1)))
        )
    if pkg.manifest is not None:
        types = "\n".join(
            "<types>\n"
            + "".join(f"    <members>{m}</members>\n" for m in members)
            + f"    <name>{tname}</name>\n</types>"
            for tname, members in sorted(pkg.manifest.items())
        )
        body = _indent(f"{types}\n<version>{API}</version>", 1)
        path = "package.xml" if fmt == "mdapi" else "manifest/package.xml"
        files.append(MetadataFile(path, _xml("Package", body)))
    return files


def text_field(label: str = "Status", length: int = 80) -> str:
    return f"<label>{label}</label>\n<length>{length}</length>\n<type>Text</type>"


def lookup(parent: str, rel: str, kind: str = "Lookup", label: str = "Parent") -> str:
    extra = "<deleteConstraint>SetNull</deleteConstraint>\n" if kind == "Lookup" else ""
    return (
        f"{extra}<label>{label}</label>\n<referenceTo>{parent}</referenceTo>\n"
        f"<relationshipLabel>{rel}</relationshipLabel>\n"
        f"<relationshipName>{rel}</relationshipName>\n<type>{kind}</type>"
    )


def picklist(*values: tuple[str, bool]) -> str:
    items = "\n".join(
        f"            <value>\n                <fullName>{v}</fullName>\n"
        f"                <default>{str(d).lower()}</default>\n"
        f"                <label>{v}</label>\n            </value>"
        for v, d in values
    )
    return (
        "<label>Level</label>\n<type>Picklist</type>\n<valueSet>\n"
        "    <restricted>true</restricted>\n    <valueSetDefinition>\n"
        f"        <sorted>false</sorted>\n{items.strip()}\n    </valueSetDefinition>\n</valueSet>"
    )


def layout(*fields: str, extra: str = "") -> str:
    items = "\n".join(
        f"            <layoutItems>\n                <behavior>Edit</behavior>\n"
        f"                <field>{f}</field>\n            </layoutItems>"
        for f in fields
    )
    return (
        f"{extra}<layoutSections>\n    <editHeading>true</editHeading>\n"
        "    <label>Information</label>\n    <layoutColumns>\n"
        f"{items.strip()}\n    </layoutColumns>\n    <style>OneColumn</style>\n"
        "</layoutSections>"
    ).lstrip()


def field_perm(name: str, editable: bool = True) -> str:
    return (
        f"<fieldPermissions>\n    <editable>{str(editable).lower()}</editable>\n"
        f"    <field>{name}</field>\n    <readable>true</readable>\n</fieldPermissions>"
    )


def object_perm(name: str) -> str:
    flags = "".join(
        f"    <{flag}>true</{flag}>\n"
        for flag in ("allowCreate", "allowDelete", "allowEdit", "allowRead")
    )
    return (
        f"<objectPermissions>\n{flags}    <modifyAllRecords>false</modifyAllRecords>\n"
        f"    <object>{name}</object>\n    <viewAllRecords>false</viewAllRecords>\n"
        "</objectPermissions>"
    )


def clean() -> Package:
    """A package that breaks no rule, using a bit of everything the rules look at."""
    course = Obj(
        fields={
            "Code__c": "<externalId>true</externalId>\n" + text_field("Code", 20),
            "Summary__c": "<label>Summary</label>\n<length>32768</length>\n"
            "<type>LongTextArea</type>\n<visibleLines>5</visibleLines>",
            "Fee__c": "<label>Fee</label>\n<precision>10</precision>\n<scale>2</scale>\n"
            "<type>Currency</type>",
            "Level__c": picklist(("Beginner", True), ("Advanced", False)),
            "Sponsor__c": lookup("Account", "Sponsored_Courses"),
            "Title__c": "<required>true</required>\n" + text_field("Title", 120),
        },
        web_links={
            "Open_Catalog": "<availability>online</availability>\n"
            "<displayType>button</displayType>\n<linkType>url</linkType>\n"
            "<masterLabel>Open Catalog</masterLabel>\n<openType>newWindow</openType>\n"
            "<protected>false</protected>\n<url>https://example.org</url>",
        },
    )
    enrollment = Obj(
        label="Enrollment",
        plural="Enrollments",
        name_field="<displayFormat>E-{0000}</displayFormat>\n<label>Number</label>\n"
        "<type>AutoNumber</type>",
        fields={
            "Course__c": lookup("Course__c", "Enrollments", kind="MasterDetail", label="Course"),
            "Learner__c": lookup("Contact", "Enrollments", label="Learner"),
            "Score__c": "<label>Score</label>\n<precision>5</precision>\n<scale>1</scale>\n"
            "<type>Percent</type>",
        },
    )
    account = Obj(
        label=None,
        plural=None,
        name_field=None,
        fields={"Tier__c": text_field("Tier", 10)},
    )
    layouts = {
        "Course__c-Course Layout": layout(
            "Name",
            "Code__c",
            "Level__c",
            "Sponsor__c",
            "OwnerId",
            extra="<customButtons>Open_Catalog</customButtons>\n",
        )
        + "\n<relatedLists>\n    <relatedList>Enrollment__c.Course__c</relatedList>\n"
        "</relatedLists>",
        "Contact-Learner Layout": layout("Name", "AccountId", "Email", "MailingAddress"),
        "Account-Sponsor Layout": layout("Name", "Industry", "Tier__c"),
    }
    permission_sets = {
        "Course_Manager": "<label>Course Manager</label>\n"
        + object_perm("Course__c")
        + "\n"
        + object_perm("Account")
        + "\n"
        + field_perm("Course__c.Code__c")
        + "\n"
        + field_perm("Enrollment__c.Learner__c")
        + "\n"
        + field_perm("Contact.Email")
        + "\n"
        + field_perm("Account.Tier__c", editable=False)
    }
    tabs = {"Course__c": "<customObject>true</customObject>\n<motif>Custom18: Books</motif>"}
    manifest = {
        "CustomObject": ["Course__c", "Enrollment__c"],
        "CustomField": ["Account.Tier__c", "Course__c.Fee__c"],
        "Layout": ["*"],
        "PermissionSet": ["Course_Manager"],
        "CustomTab": ["Course__c"],
    }
    return Package(
        objects={"Account": account, "Course__c": course, "Enrollment__c": enrollment},
        layouts=layouts,
        permission_sets=permission_sets,
        tabs=tabs,
        manifest=manifest,
    )


def file_named(files: list[MetadataFile], suffix: str) -> MetadataFile:
    return next(f for f in files if f.path.endswith(suffix))


def line_of(file: MetadataFile, needle: str, offset: int = 0, *, after: str = "") -> int:
    """1-based line of the first ``needle`` (below the first ``after``), plus ``offset``."""
    lines = file.content.decode().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines[start:], start + 1) if needle in line) + offset


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# --- the clean package -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_clean_package_has_no_problems(fmt: str) -> None:
    assert check(build(clean(), fmt), api_version=API) == []


def test_every_rule_id_is_kebab_case_and_described() -> None:
    for rule, description in RULES.items():
        assert rule == rule.lower() and " " not in rule and "_" not in rule
        assert description


def test_bad_api_version_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="version"):
        check([], api_version="latest")


def test_pre_loaded_model_is_used() -> None:
    files = build(clean())
    pkg = clean()
    pkg.objects["Course__c"].fields["Code__c"] = text_field(length=300)
    other = load_model(build(pkg))
    assert only(check(files, api_version=API, model=other)).rule == "field-length"


# --- rule 1: names and labels --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "path"),
    [
        ("mdapi", "objects/Course__c.object"),
        ("source", "objects/Course__c/fields/Bad__Name__c.field-meta.xml"),
    ],
)
def test_field_name_with_double_underscore(fmt: str, path: str) -> None:
    """``Bad__`` reads as a managed package's namespace: a warning, as sftk cannot know."""
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Course__c"].fields["Bad__Name__c"] = text_field()
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.severity) == ("api-name", "warning")
    assert problem.component == "CustomField Course__c.Bad__Name__c"
    target = file_named(files, path)
    assert problem.file == target.path
    # the field starts one line above its fullName: <fields> or the <CustomField> root
    assert problem.line == line_of(target, "<fullName>Bad__Name__c<", -1)
    assert "namespace prefix Bad__" in problem.message
    assert "two underscores" in problem.hint
    assert check(files, api_version=API, namespace="bad") == []  # the project's own


def test_field_name_with_double_underscore_after_a_namespace_is_an_error() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Course__c"].fields["acme__Bad__Name__c"] = text_field()
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.severity) == ("api-name", "error")
    assert "'acme__Bad__Name' must not contain two underscores" in problem.message


def test_object_name_too_long() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.tabs = {}
    name = "A" * 41 + "__c"
    pkg.objects[name] = pkg.objects.pop("Course__c")
    pkg.layouts = {}
    pkg.permission_sets = {}
    pkg.objects["Enrollment__c"].fields.pop("Course__c")
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.file, problem.line) == ("api-name", f"objects/{name}.object", 2)
    assert problem.component == f"CustomObject {name}"
    assert "41 characters" in problem.message


def test_relationship_name_syntax() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Sponsor__c"] = lookup("Account", "Sponsor__r")
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert problem.rule == "api-name"
    assert problem.component == "CustomField Course__c.Sponsor__c"
    assert problem.line == line_of(files[1], "<relationshipName>Sponsor__r")


def test_permission_set_name_syntax() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.permission_sets["1st_Set"] = "<label>First</label>"
    problem = only(check(build(pkg), api_version=API))
    assert problem.rule == "api-name"
    assert problem.component == "PermissionSet 1st_Set"
    assert problem.file == "permissionsets/1st_Set.permissionset"


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_custom_field_without_suffix(fmt: str) -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Account"].fields["Loyalty"] = text_field("Loyalty")
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert problem.rule == "custom-suffix"
    assert problem.component == "CustomField Account.Loyalty"
    assert "__c" in problem.hint


def test_standard_field_customised_on_standard_object_is_fine() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Account"].fields["Industry"] = "<trackHistory>true</trackHistory>"
    assert check(build(pkg), api_version=API) == []


def test_unknown_non_custom_object_is_a_warning() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Course"] = Obj()
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.severity) == ("custom-suffix", "warning")
    assert problem.component == "CustomObject Course"


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_field_label_too_long(fmt: str) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Code__c"] = text_field("L" * 41, 20)
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert problem.rule == "label-length"
    assert problem.component == "CustomField Course__c.Code__c"
    target = file_named(files, "Course__c.object" if fmt == "mdapi" else "Code__c.field-meta.xml")
    assert (problem.file, problem.line) == (target.path, line_of(target, "L" * 41))


def test_plural_label_too_long() -> None:
    pkg = clean()
    pkg.objects["Course__c"].plural = "P" * 41
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == ("label-length", "CustomObject Course__c")
    assert problem.line == line_of(files[1], "<pluralLabel>")


def test_permission_set_label_limit_is_80() -> None:
    pkg = clean()
    body = pkg.permission_sets["Course_Manager"]
    pkg.permission_sets["Course_Manager"] = body.replace("Course Manager", "M" * 80)
    assert check(build(pkg), api_version=API) == []
    pkg.permission_sets["Course_Manager"] = body.replace("Course Manager", "M" * 81)
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == ("label-length", "PermissionSet Course_Manager")
    assert problem.line == line_of(file_named(files, ".permissionset"), "<label>")


def test_custom_object_without_plural_label() -> None:
    pkg = clean()
    pkg.objects["Course__c"].plural = None
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.file) == ("custom-object-parts", "objects/Course__c.object")
    assert "<pluralLabel>" in problem.message


# --- rule 2: sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
@pytest.mark.parametrize("length", [0, 256])
def test_text_length_out_of_range(fmt: str, length: int) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Code__c"] = text_field(length=length)
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == ("field-length", "CustomField Course__c.Code__c")
    target = file_named(files, "Course__c.object" if fmt == "mdapi" else "Code__c.field-meta.xml")
    assert (problem.file, problem.line) == (target.path, line_of(target, f"<length>{length}<"))


def test_text_length_at_the_limits_is_fine() -> None:
    for length in (1, 255):
        pkg = clean()
        pkg.objects["Course__c"].fields["Code__c"] = text_field(length=length)
        assert check(build(pkg), api_version=API) == []


def test_text_without_length() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Code__c"] = "<label>Code</label>\n<type>Text</type>"
    assert only(check(build(pkg), api_version=API)).rule == "field-length"


def test_text_formula_needs_no_length() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Code__c"] = (
        "<formula>Name</formula>\n<label>Code</label>\n<type>Text</type>"
    )
    assert check(build(pkg), api_version=API) == []


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
@pytest.mark.parametrize("length", [255, 131_073])
def test_long_text_length_out_of_range(fmt: str, length: int) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Summary__c"] = (
        f"<label>Summary</label>\n<length>{length}</length>\n<type>Html</type>\n"
        "<visibleLines>25</visibleLines>"
    )
    problem = only(check(build(pkg, fmt), api_version=API))
    assert (problem.rule, problem.component) == (
        "field-length",
        "CustomField Course__c.Summary__c",
    )


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_long_text_without_visible_lines(fmt: str) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Summary__c"] = (
        "<label>Summary</label>\n<length>1000</length>\n<type>LongTextArea</type>"
    )
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "visible-lines",
        "CustomField Course__c.Summary__c",
    )
    assert "<visibleLines>3</visibleLines>" in problem.hint


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
@pytest.mark.parametrize(
    ("precision", "scale", "needle"),
    [(19, 2, "<precision>19"), (4, 5, "<scale>5"), (None, 2, "<fullName>Fee__c")],
)
def test_numeric_precision_and_scale(
    fmt: str, precision: int | None, scale: int, needle: str
) -> None:
    pkg = clean()
    precision_xml = "" if precision is None else f"<precision>{precision}</precision>\n"
    pkg.objects["Course__c"].fields["Fee__c"] = (
        f"<label>Fee</label>\n{precision_xml}<scale>{scale}</scale>\n<type>Number</type>"
    )
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "numeric-precision",
        "CustomField Course__c.Fee__c",
    )
    target = file_named(files, "Course__c.object" if fmt == "mdapi" else "Fee__c.field-meta.xml")
    expected = line_of(target, needle)
    if needle.startswith("<fullName>"):
        expected = expected - 1 if fmt == "mdapi" else 2
    assert (problem.file, problem.line) == (target.path, expected)


# --- rule 3: external IDs ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_external_id_on_a_picklist(fmt: str) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Level__c"] = "<externalId>true</externalId>\n" + picklist(
        ("Beginner", False)
    )
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "external-id-type",
        "CustomField Course__c.Level__c",
    )
    target = file_named(files, "Course__c.object" if fmt == "mdapi" else "Level__c.field-meta.xml")
    assert problem.line == line_of(target, "<externalId>true", after="Level__c")
    assert "Text" in problem.message and "AutoNumber" in problem.message


def test_external_id_on_email_and_number_is_fine() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Contact_Email__c"] = (
        "<externalId>true</externalId>\n<label>Email</label>\n<type>Email</type>"
    )
    pkg.objects["Course__c"].fields["Fee__c"] = (
        "<externalId>true</externalId>\n<label>Fee</label>\n<precision>10</precision>\n"
        "<scale>0</scale>\n<type>Number</type>"
    )
    pkg.manifest = None
    assert check(build(pkg), api_version=API) == []


# --- rule 4: master-detail count -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_third_master_detail_field(fmt: str) -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Term__c"] = Obj(label="Term", plural="Terms")
    pkg.objects["Venue__c"] = Obj(label="Venue", plural="Venues")
    fields = pkg.objects["Enrollment__c"].fields
    fields["Term__c"] = lookup("Term__c", "Enrollments", kind="MasterDetail")
    fields["Venue__c"] = lookup("Venue__c", "Enrollments", kind="MasterDetail")
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "master-detail-limit",
        "CustomField Enrollment__c.Venue__c",
    )
    assert "3 master-detail fields" in problem.message


# --- rule 5: relationships -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_lookup_without_relationship_name(fmt: str) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Sponsor__c"] = (
        "<label>Sponsor</label>\n<referenceTo>Account</referenceTo>\n<type>Lookup</type>"
    )
    problem = only(check(build(pkg, fmt), api_version=API))
    assert (problem.rule, problem.component) == (
        "relationship-name",
        "CustomField Course__c.Sponsor__c",
    )


def test_relationship_names_clash_under_one_parent() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.objects["Review__c"] = Obj(
        label="Review",
        plural="Reviews",
        fields={"Course__c": lookup("Course__c", "enrollments")},
    )
    files = build(pkg)
    problems = check(files, api_version=API)
    assert {p.rule for p in problems} == {"relationship-name-clash"}
    assert {p.component for p in problems} == {
        "CustomField Enrollment__c.Course__c",
        "CustomField Review__c.Course__c",
    }
    review = next(p for p in problems if "Review__c" in p.component)
    target = file_named(files, "Review__c.object")
    assert (review.file, review.line) == (target.path, line_of(target, "<relationshipName>"))
    assert "Enrollment__c.Course__c" in review.message


def test_same_relationship_name_under_different_parents_is_fine() -> None:
    # Enrollment__c.Learner__c (-> Contact) and Enrollment__c.Course__c (-> Course__c) are both
    # called Enrollments in the clean package.
    assert check(build(clean()), api_version=API) == []


# --- rule 6: picklists ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_picklist_values_differing_only_in_case(fmt: str) -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Level__c"] = picklist(("Beginner", False), ("BEGINNER", False))
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "picklist-values",
        "CustomField Course__c.Level__c",
    )
    target = file_named(files, "Course__c.object" if fmt == "mdapi" else "Level__c.field-meta.xml")
    assert (problem.file, problem.line) == (target.path, line_of(target, "BEGINNER", -1))


def test_picklist_with_two_defaults() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Level__c"] = picklist(("Beginner", True), ("Advanced", True))
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "picklist-default",
        "CustomField Course__c.Level__c",
    )
    assert problem.line == line_of(files[1], "<fullName>Advanced", -1)


def test_picklist_default_value_not_among_values() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Level__c"] = "<defaultValue>'Expert'</defaultValue>\n" + (
        picklist(("Beginner", False), ("Advanced", False))
    )
    problem = only(check(build(pkg), api_version=API))
    assert problem.rule == "picklist-default"
    assert "'Expert'" in problem.message


def test_legacy_picklist_element_is_checked_too() -> None:
    pkg = clean()
    pkg.objects["Course__c"].fields["Level__c"] = (
        "<label>Level</label>\n<picklist>\n    <picklistValues>\n"
        "        <fullName>One</fullName>\n        <default>false</default>\n"
        "    </picklistValues>\n    <picklistValues>\n        <fullName>one</fullName>\n"
        "        <default>false</default>\n    </picklistValues>\n"
        "    <sorted>false</sorted>\n</picklist>\n<type>Picklist</type>"
    )
    assert only(check(build(pkg), api_version=API)).rule == "picklist-values"


# --- rule 7: references ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_layout_names_a_missing_field(fmt: str) -> None:
    pkg = clean()
    pkg.layouts["Course__c-Course Layout"] = layout("Name", "Ghost__c", "OwnerId")
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "layout-reference",
        "Layout Course__c-Course Layout",
    )
    target = file_named(
        files, "Course__c-Course Layout.layout" + ("" if fmt == "mdapi" else "-meta.xml")
    )
    assert (problem.file, problem.line) == (target.path, line_of(target, "Ghost__c", -2))
    assert problem.severity == "error"


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_layout_for_an_object_not_in_the_package(fmt: str) -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.layouts["Ghost__c-Ghost Layout"] = layout("Name")
    problem = only(check(build(pkg, fmt), api_version=API))
    assert (problem.rule, problem.component) == ("layout-object", "Layout Ghost__c-Ghost Layout")
    assert problem.line == 2
    # The org may have the object (from another package, an earlier deploy): sftk cannot know.
    assert problem.severity == "warning"
    assert "the org must already have it" in problem.message


def test_layout_standard_field_unknown_to_the_table_is_a_warning() -> None:
    pkg = clean()
    pkg.layouts["Contact-Learner Layout"] = layout("Name", "Pronouns")
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.severity) == ("layout-reference", "warning")


def test_layout_custom_button_not_in_the_package() -> None:
    pkg = clean()
    pkg.objects["Course__c"].web_links.clear()
    pkg.manifest = None
    problem = only(check(build(pkg), api_version=API))
    assert problem.rule == "layout-reference"
    assert "Course__c.Open_Catalog" in problem.message
    assert problem.severity == "error"  # Course__c is the package's own, wholly defined


def test_layout_related_list_to_a_missing_field() -> None:
    pkg = clean()
    pkg.layouts["Course__c-Course Layout"] += (
        "\n<relatedLists>\n    <relatedList>Enrollment__c.Missing__c</relatedList>\n</relatedLists>"
    )
    problem = only(check(build(pkg), api_version=API))
    assert problem.rule == "layout-reference"
    assert "Enrollment__c.Missing__c" in problem.message


@pytest.mark.parametrize(
    ("entry", "message", "severity"),
    [
        (field_perm("Course__c.Ghost__c"), "Course__c.Ghost__c", "error"),
        (field_perm("Ghost__c.Name__c"), "Ghost__c", "warning"),
        (field_perm("Account.Ghost__c"), "Account.Ghost__c", "warning"),
        (object_perm("Ghost__c"), "Ghost__c", "warning"),
    ],
)
def test_permission_set_names_something_missing(entry: str, message: str, severity: str) -> None:
    """Only a custom field of a custom object the package defines cannot exist elsewhere."""
    pkg = clean()
    pkg.permission_sets["Course_Manager"] += "\n" + entry
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "permission-reference",
        "PermissionSet Course_Manager",
    )
    target = file_named(files, ".permissionset")
    first_line_of_entry = entry.splitlines()[0]
    lines = target.content.decode().splitlines()
    assert lines[problem.line - 1].strip() == first_line_of_entry
    assert message in problem.message
    assert problem.severity == severity


def test_field_permission_without_a_field() -> None:
    pkg = clean()
    pkg.permission_sets["Course_Manager"] += (
        "\n<fieldPermissions>\n    <editable>true</editable>\n    <readable>true</readable>\n"
        "</fieldPermissions>"
    )
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.message) == (
        "permission-reference",
        "field permission '' does not name Object.Field",
    )


def test_quick_field_permission_check_agrees_with_the_full_one() -> None:
    """A sound permission set is checked name by name without records; the answer must be
    the one the per-entry rules give."""
    ctx = rules_module._Context(load_model(build(clean())))
    objects = [
        "Course__c",
        "course__C",
        "Enrollment__c",
        "Account",
        "Contact",
        "Ghost__c",
        "Gizmo",
        "",
    ]
    fields = ["Code__c", "title__c", "Course__c", "Tier__c", "Email", "LastName", "Ghost__c", ""]
    for obj, dot, field_name in itertools.product(objects, [".", "", ".."], fields):
        name = obj + dot + field_name
        full = list(rules_module._field_permission_rules("f", 1, "c", name, "edit", ctx))
        assert rules_module._field_permission_ok(name, ctx) == (full == []), name


def test_field_element_outside_layout_items_is_no_reference() -> None:
    pkg = clean()
    pkg.layouts["Course__c-Course Layout"] += "\n<field>Ghost__c</field>"
    assert check(build(pkg), api_version=API) == []


def test_tab_for_an_object_not_in_the_package() -> None:
    pkg = clean()
    pkg.manifest = None
    pkg.tabs["Ghost__c"] = "<customObject>true</customObject>\n<motif>Custom1: Heart</motif>"
    problem = only(check(build(pkg), api_version=API))
    assert (problem.rule, problem.component, problem.file, problem.severity) == (
        "tab-object",
        "CustomTab Ghost__c",
        "tabs/Ghost__c.tab",
        "warning",
    )


# --- references outside the package: namespaces, what the org must have ---------------------


def test_references_into_managed_packages_are_warnings_naming_the_namespace() -> None:
    pkg = clean()
    pkg.layouts["Account-Donor Layout"] = layout("Name", "npe01__One2OneContact__c")
    pkg.permission_sets["Course_Manager"] += "\n" + object_perm("npe03__Recurring_Donation__c")
    problems = check(build(pkg), api_version=API)
    assert [(p.rule, p.severity) for p in problems] == [
        ("layout-reference", "warning"),
        ("permission-reference", "warning"),
    ]
    for problem, namespace in zip(problems, ("npe01", "npe03"), strict=True):
        assert f"managed package with namespace {namespace} installed" in problem.message


def test_the_projects_own_namespace_names_the_packages_components() -> None:
    pkg = clean()
    pkg.layouts["acme__Course__c-Acme Layout"] = layout("Name", "acme__Code__c", "Code__c")
    pkg.permission_sets["Course_Manager"] += "\n" + field_perm("acme__Course__c.acme__Summary__c")
    assert check(build(pkg), api_version=API, namespace="acme") == []
    without = check(build(pkg), api_version=API)
    assert {p.rule for p in without} == {"layout-object", "permission-reference"}


def test_fields_of_an_object_the_package_only_extends_may_exist_in_the_org() -> None:
    pkg = clean()
    pkg.objects["npe01__OppPayment__c"] = Obj(label=None, fields={"Memo__c": text_field()})
    pkg.manifest = None
    pkg.layouts["npe01__OppPayment__c-Payment Layout"] = layout("Name", "Memo__c", "Paid__c")
    problem = only(check(build(pkg, "source"), api_version=API))
    assert (problem.rule, problem.severity) == ("layout-reference", "warning")
    assert "npe01__OppPayment__c.Paid__c" in problem.message


def test_custom_metadata_types_have_their_system_fields() -> None:
    pkg = clean()
    pkg.objects["Route__mdt"] = Obj(
        name_field=None, plural="Routes", fields={"Url__c": text_field()}
    )
    pkg.manifest = None
    pkg.layouts["Route__mdt-Route Layout"] = layout(
        "MasterLabel", "DeveloperName", "NamespacePrefix", "IsProtected", "Url__c"
    )
    assert check(build(pkg), api_version=API) == []


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("Course__c", None),
        ("Account", None),
        ("Cours__c", "did you mean Course__c?"),
        ("npe01__OppPayment__c", "namespace npe01"),
        ("Spaceship__c", "check the object's API name"),
    ],
)
def test_lookups_to_an_object_nobody_defines_are_a_warning(
    target: str, expected: str | None
) -> None:
    pkg = clean()
    pkg.objects["Enrollment__c"].fields["Mentor__c"] = lookup(target, "Mentees")
    problems = [p for p in check(build(pkg), api_version=API) if p.rule == "relationship-target"]
    if expected is None:
        assert problems == []
        return
    (problem,) = problems
    assert (problem.severity, problem.component) == (
        "warning",
        "CustomField Enrollment__c.Mentor__c",
    )
    assert f"looks up {target}" in problem.message
    assert expected in problem.message + problem.hint
    files = build(pkg)
    target_file = file_named(files, "Enrollment__c.object")
    assert problem.line == line_of(target_file, f"<referenceTo>{target}<")


# --- rule 8: required fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_name", "reason"),
    [
        ("Course__c.Title__c", "is required"),
        ("Enrollment__c.Course__c", "master-detail"),
        ("Contact.LastName", "required standard field"),
    ],
)
def test_field_permission_on_a_required_field(field_name: str, reason: str) -> None:
    pkg = clean()
    pkg.permission_sets["Course_Manager"] += "\n" + field_perm(field_name)
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == (
        "required-field-permission",
        "PermissionSet Course_Manager",
    )
    target = file_named(files, ".permissionset")
    assert problem.line == line_of(target, f"<field>{field_name}<", -2)
    assert reason in problem.message and "edit access" in problem.message


# --- rule 9: package.xml -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "manifest"), [("mdapi", "package.xml"), ("source", "manifest/package.xml")]
)
def test_component_missing_from_package_xml(fmt: str, manifest: str) -> None:
    pkg = clean()
    assert pkg.manifest is not None
    pkg.manifest["CustomField"].remove("Account.Tier__c")
    files = build(pkg, fmt)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.file, problem.component) == (
        "manifest-not-listed",
        manifest,
        "CustomField Account.Tier__c",
    )
    # the problem points at the <types> block where the member belongs
    assert problem.line == line_of(file_named(files, "package.xml"), "Course__c.Fee__c", -1)
    assert "Account" in problem.message


def test_unlisted_object_and_its_children_are_all_reported() -> None:
    pkg = clean()
    assert pkg.manifest is not None
    pkg.manifest["CustomObject"].remove("Enrollment__c")
    problems = check(build(pkg), api_version=API)
    assert {p.rule for p in problems} == {"manifest-not-listed"}
    assert sorted(p.component for p in problems) == [
        "CustomField Enrollment__c.Course__c",
        "CustomField Enrollment__c.Learner__c",
        "CustomField Enrollment__c.Score__c",
        "CustomObject Enrollment__c",
    ]


def test_package_xml_lists_a_component_with_no_file() -> None:
    pkg = clean()
    assert pkg.manifest is not None
    pkg.manifest["PermissionSet"].append("Ghost_Set")
    files = build(pkg)
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.component) == ("manifest-no-file", "PermissionSet Ghost_Set")
    assert problem.line == line_of(files[-1], "Ghost_Set")


def test_wildcard_covers_its_type_and_unknown_types_are_not_compared() -> None:
    pkg = clean()
    assert pkg.manifest is not None
    pkg.manifest["CustomObject"] = ["*"]
    pkg.manifest["Report"] = ["Sales/Pipeline"]
    assert check(build(pkg), api_version=API) == []


@pytest.mark.parametrize("fmt", ["mdapi", "source"])
def test_object_holding_only_children_may_be_listed_or_not(fmt: str) -> None:
    pkg = clean()
    assert pkg.manifest is not None
    pkg.manifest["CustomObject"].append("Account")
    assert check(build(pkg, fmt), api_version=API) == []


def test_package_xml_version_differs_from_api_version() -> None:
    problem = only(check(build(clean()), api_version="65.0"))
    assert (problem.rule, problem.severity, problem.file) == (
        "manifest-version",
        "warning",
        "package.xml",
    )


# --- rule 10: package limits ---------------------------------------------------------------------


def test_too_many_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_module, "PACKAGE_LIMITS", PackageLimits(3, 10**9, 10**9))
    files = [MetadataFile(f"staticresources/R{i}.resource", b"x") for i in range(4)]
    problem = only(check(files, api_version=API))
    assert (problem.rule, problem.file, problem.component) == ("package-limits", "", "Package")
    assert "4 files" in problem.message


def test_source_format_children_count_as_the_one_file_they_are_deployed_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sf CLI merges an object's field files, and a translation's field translations, into
    one file before it deploys."""
    monkeypatch.setattr(rules_module, "PACKAGE_LIMITS", PackageLimits(2, 10**9, 10**9))
    pkg = clean()
    pkg.manifest = None
    pkg.layouts = {}
    pkg.permission_sets = {}
    pkg.tabs = {}
    pkg.objects = {"Course__c": pkg.objects["Course__c"]}
    pkg.objects["Course__c"].web_links.clear()
    files = build(pkg, "source")
    translation = f"{SRC}/objectTranslations/Course__c-de"
    files += [
        MetadataFile(f"{translation}/Course__c-de.objectTranslation-meta.xml", b"<x/>"),
        MetadataFile(f"{translation}/Code__c.fieldTranslation-meta.xml", b"<x/>"),
        MetadataFile(f"{translation}/Title__c.fieldTranslation-meta.xml", b"<x/>"),
    ]
    assert len(files) > 5
    assert [p.rule for p in check(files, api_version=API)] == []
    files.append(MetadataFile(f"{SRC}/staticresources/Logo.resource-meta.xml", b"<x/>"))
    problem = only(check(files, api_version=API))
    assert "3 files as deployed" in problem.message


def test_unzipped_and_zipped_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_module, "PACKAGE_LIMITS", PackageLimits(10, 20_000, 30_000))
    noise = random.Random(7).randbytes(40_000)
    problems = check([MetadataFile("staticresources/Noise.resource", noise)], api_version=API)
    assert [p.rule for p in problems] == ["package-limits", "package-limits"]
    assert "unzipped" in problems[0].message + problems[1].message
    assert any("zips to" in p.message for p in problems)


def test_compressible_package_over_the_zip_bound_is_measured_not_guessed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules_module, "PACKAGE_LIMITS", PackageLimits(10, 20_000, 10**9))
    text = b"<a>same</a>\n" * 5_000
    assert check([MetadataFile("staticresources/Text.resource", text)], api_version=API) == []


# --- the API-name rule as a property -------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_segment = st.text(alphabet=_ALNUM, min_size=1, max_size=6)
valid_names = st.builds(
    lambda first, rest, segments: first + rest + "".join("_" + s for s in segments),
    st.sampled_from(string.ascii_letters),
    st.text(alphabet=_ALNUM, max_size=8),
    st.lists(_segment, max_size=4),
).filter(lambda name: len(name) <= 40)


@given(valid_names)
def test_names_matching_the_documented_pattern_pass(name: str) -> None:
    assert api_name_error(name) is None


@given(valid_names, st.integers(min_value=0, max_value=40))
def test_double_underscore_fails(name: str, cut: int) -> None:
    cut = min(cut, len(name))
    bad = name[:cut] + "__" + name[cut:]
    assert api_name_error(bad) is not None


@given(st.sampled_from(string.digits), valid_names)
def test_leading_digit_fails(digit: str, name: str) -> None:
    assert api_name_error(digit + name) is not None


@settings(max_examples=25, deadline=None)
@given(valid_names.filter(lambda n: len(n) <= 37), st.booleans())
def test_field_names_through_check(name: str, break_it: bool) -> None:
    pkg = clean()
    pkg.manifest = None
    field_name = ("9" + name if break_it else name) + "__c"
    pkg.objects["Course__c"].fields[field_name] = text_field()
    problems = check(build(pkg), api_version=API)
    assert [p.rule for p in problems] == (["api-name"] if break_it else [])


def test_problem_defaults_to_error() -> None:
    problem = Problem("api-name", "f", 1, "c", "m", "h")
    assert problem.severity == "error"
    assert replace(problem, severity="warning").severity == "warning"
