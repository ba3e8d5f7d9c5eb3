"""``sftk import``'s core on metadata the tests make and on real projects: what becomes specs,
what stays hand-written and why, and the round trip (specs and kept files rendered back, as a
build merges them, compared with the original for what it means)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from toolkit.errors import UsageError
from toolkit.metadata import brownfield, meaning
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.importing import Existing
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.project import build_package, open_project
from toolkit.spec_import import read_folder

if TYPE_CHECKING:
    from tests.conftest import Catalogue


@pytest.fixture(scope="module")
def catalogue(
    tmp_path_factory: pytest.TempPathFactory, docs_catalogue: Catalogue
) -> list[MetadataFile]:
    root = docs_catalogue(tmp_path_factory.mktemp("catalogue"))
    return [f for f in build_package(open_project(root, no_plugins=True)).files]


def _import(
    files: list[MetadataFile], schema: MetadataSchema, objects: list[str] | None = None
) -> brownfield.ImportResult:
    return brownfield.import_metadata(files, objects, Renderer(), schema, Existing())


def _edit(files: list[MetadataFile], path: str, old: str, new: str) -> list[MetadataFile]:
    out = []
    for file in files:
        if file.path == path:
            text = file.content.decode()
            assert old in text, old
            file = MetadataFile(path, text.replace(old, new, 1).encode())
        out.append(file)
    return out


def test_a_model_written_as_specs_comes_back_as_specs(
    catalogue: list[MetadataFile], metadata_schema: MetadataSchema
) -> None:
    result = _import(catalogue, metadata_schema)
    assert result.kept == () and result.kept_files == ()
    assert result.differences == ()
    assert [name for name, _ in result.specs] == ["Course__c", "Enrollment__c"]
    specced = set(result.specced)
    for component in (
        "CustomObject:Course__c",
        "CustomField:Course__c.Price_Per_Hour__c",
        "CustomField:Course__c.Enrollment_Count__c",
        "CustomField:Enrollment__c.Sub_Status__c",
        "CustomField:Enrollment__c.Learner__c",
        "ValidationRule:Course__c.Price_Not_Negative",
        "RecordType:Course__c.Online",
        "ListView:Course__c.Beginner_Courses",
        "CompactLayout:Course__c.Course_Highlights",
        "FieldSet:Course__c.Catalogue",
        "Layout:Course__c-Course Layout",
        "CustomTab:Enrollment__c",
        "PermissionSet:LMS_Manager",
        "GlobalValueSet:Delivery",
    ):
        assert component in specced, component
    course = dict(result.specs)["Course__c"]
    assert 'layouts = { Admin = "Online Course Layout" }' in course or (
        '[record_types.Online.layouts]\nAdmin = "Online Course Layout"' in course
    )
    assert "[permission_sets.LMS_Manager]" in result.config_sections
    assert "[global_value_sets.Delivery]" in result.config_sections


def test_what_specs_cannot_say_is_kept_with_the_reason(
    catalogue: list[MetadataFile], metadata_schema: MetadataSchema
) -> None:
    course = "objects/Course__c.object"
    files = _edit(
        catalogue,
        course,
        "<type>Time</type>",
        "<trackTrending>true</trackTrending><type>Time</type>",
    )
    files = _edit(
        files,
        course,
        "<label>All Courses</label>",
        "<label>All Courses</label><sharedTo><allInternalUsers/></sharedTo>",
    )
    files = _edit(
        files,
        course,
        "<compactLayoutAssignment>",
        "<actionOverrides><actionName>View</actionName><content>Course_Page</content>"
        "<formFactor>Large</formFactor><skipRecordTypeSelect>false</skipRecordTypeSelect>"
        "<type>Flexipage</type></actionOverrides><compactLayoutAssignment>",
    )
    result = _import(files, metadata_schema)
    kept = {k.component: k.reason for k in result.kept}
    assert kept["CustomField:Course__c.Starts_At__c"] == (
        "field Starts_At__c: specs have no key for <trackTrending>"
    )
    assert "ListView:Course__c.All_Courses" in kept
    assert "CustomObject:Course__c" not in kept  # the spec keeps the labels, the file the override
    [kept_file] = result.kept_files
    text = kept_file.content.decode()
    assert kept_file.path == course
    assert "<actionOverrides>" in text and "<fullName>Starts_At__c</fullName>" in text
    assert "<label>Course</label>" not in text and "<fullName>Price__c</fullName>" not in text
    assert result.differences == ()


def test_an_own_part_the_spec_would_write_differently_is_kept_whole(
    catalogue: list[MetadataFile], metadata_schema: MetadataSchema
) -> None:
    files = _edit(
        catalogue,
        "objects/Enrollment__c.object",
        "<startingNumber>1</startingNumber>\n        <type>AutoNumber</type>\n    </nameField>",
        "<type>AutoNumber</type>\n    </nameField>",
    )
    result = _import(files, metadata_schema)
    kept = {k.component: k.reason for k in result.kept}
    assert kept["CustomObject:Enrollment__c"].startswith("<nameField>: the spec would write it")
    assert "CustomTab:Enrollment__c" in kept
    spec = dict(result.specs)["Enrollment__c"]
    assert "label =" not in spec.partition("[")[0]  # it only adds the children
    assert "[fields.Course__c]" in spec
    assert result.differences == ()


def test_a_permission_set_granting_more_than_specs_say_is_kept(
    catalogue: list[MetadataFile], metadata_schema: MetadataSchema
) -> None:
    files = _edit(
        catalogue,
        "permissionsets/LMS_Manager.permissionset",
        "<label>LMS Manager</label>",
        "<label>LMS Manager</label><userPermissions><enabled>true</enabled>"
        "<name>ApiEnabled</name></userPermissions>",
    )
    result = _import(files, metadata_schema)
    kept = {k.component: k.reason for k in result.kept}
    assert "userPermissions" in kept["PermissionSet:LMS_Manager"]
    assert "[access.LMS_Manager]" not in dict(result.specs)["Course__c"]
    assert "permission_sets" not in result.config_sections
    assert result.differences == ()


def test_only_the_objects_asked_for(
    catalogue: list[MetadataFile], metadata_schema: MetadataSchema
) -> None:
    result = _import(catalogue, metadata_schema, ["enrollment__c"])
    assert [name for name, _ in result.specs] == ["Enrollment__c"]
    # the permission set also grants on Course__c, which is not imported
    assert "PermissionSet:LMS_Manager" in {k.component for k in result.kept}
    assert "CustomField:Course__c.Price__c" in result.left_out
    with pytest.raises(UsageError, match="the source has no object Cours__c"):
        _import(catalogue, metadata_schema, ["Cours__c"])


# --- real projects -------------------------------------------------------------------------


def _round_trip(
    project: Path,
    files: list[MetadataFile],
    result: brownfield.ImportResult,
    schema: MetadataSchema,
) -> list[str]:
    """Write the import into a new project and build it as sftk builds any project: what the
    build gives of the imported components must mean what the source said."""
    from toolkit.spec_import import _as_source

    (project / "objects").mkdir(parents=True)
    for name, text in result.specs:
        (project / "objects" / f"{name}.toml").write_text(text)
    for file in _as_source(list(result.kept_files), "66.0"):
        path = project / "metadata" / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.content)
    (project / "sftk.toml").write_text(
        '[project]\nmetadata_dirs = ["metadata"]\n' + result.config_sections
    )
    built = meaning.bodies(
        list(build_package(open_project(project, no_plugins=True)).files), schema
    )
    original = meaning.bodies(files, schema)
    involved = [
        ComponentRef.parse(text) for text in (*result.specced, *(k.component for k in result.kept))
    ]
    return [str(ref) for ref in involved if built.get(ref) != original.get(ref)]


@pytest.mark.parametrize(
    ("name", "specced"),
    [
        (
            "trailheadapps+easy-spaces-lwc",
            {
                "CustomObject:Market__c",
                "CustomObject:Space__c",
                "CustomField:Space__c.Market__c",
                "CustomField:Market__c.Total_Daily_Booking_Rate__c",
                "CustomField:Reservation__c.Status__c",
                "CustomField:Contact.Reservation_Status__c",
                "ListView:Space__c.All",
                "CustomTab:Space__c",
                "PermissionSet:EasySpacesObjects",
            },
        ),
        (
            "trailheadapps+apex-recipes",
            {
                "CustomField:Junction__c.parent1__c",
                "CustomField:Junction__c.Parent2__c",
                "CustomField:Account.ExternalSalesforceId__c",
                "Layout:Junction_Demo_1__c-Junction Demo 1 Layout",
                "ListView:LogEvent__c.All",
            },
        ),
        ("trailheadapps+lwc-recipes", {"ListView:Contact.All_Recipes_Contacts"}),
    ],
)
def test_a_real_project_renders_back_with_no_difference(
    name: str,
    specced: set[str],
    corpus: Callable[[str], Path],
    tmp_path: Path,
    metadata_schema: MetadataSchema,
) -> None:
    files, _, _ = read_folder(corpus(name))
    result = _import(files, metadata_schema)
    assert result.differences == ()
    assert specced <= set(result.specced), specced - set(result.specced)
    assert _round_trip(tmp_path / "project", files, result, metadata_schema) == []
