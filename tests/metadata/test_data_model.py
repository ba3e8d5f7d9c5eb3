"""Specs of a real data model: formula, roll-up summary, geolocation, encrypted text, global and
dependent picklists, lookup filters, validation rules, record types, list views, compact
layouts, field sets, search layouts, permission-set grants, apps; loaded, rendered valid
against the Metadata API schema, and checked by the rules each needs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lxml import etree

from toolkit.errors import ConfigError
from toolkit.metadata import rules, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.render import Renderer
from toolkit.metadata.schema import MetadataSchema
from toolkit.metadata.spec_loader import load_object_text
from toolkit.project import build_package, open_project

if TYPE_CHECKING:
    from tests.conftest import Catalogue

NS = {"m": METADATA_NS}
BASE = 'label = "Course"\nplural_label = "Courses"\n'


def load(text: str, name: str = "Course__c"):  # type: ignore[no-untyped-def]
    return load_object_text(text, f"objects/{name}.toml", name)


def refused(text: str, name: str = "Course__c") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(text, name)
    return caught.value


# --- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ('type = "Formula"\nreturns = "Currency"\n', "formula: is required for Formula"),
        ('type = "Formula"\nformula = "1"\nreturns = "Money"\n', "unknown value 'Money'"),
        (
            'type = "Formula"\nformula = "Name"\nreturns = "Text"\nprecision = 3\n',
            "a formula returning Text has no precision",
        ),
        ('type = "Formula"\nformula = "1"\nreturns = "Number"\nblank_as = "nil"\n', "'nil'"),
        (
            'type = "Summary"\nsummary_operation = "count"\nsummary_foreign_key = "E__c.C__c"\n'
            'summarized_field = "E__c.H__c"\n',
            "a count takes no summarized_field",
        ),
        (
            'type = "Summary"\nsummary_operation = "sum"\nsummary_foreign_key = "E__c.C__c"\n',
            "summarized_field: is required for a sum roll-up",
        ),
        ('type = "Summary"\nsummary_operation = "avg"\nsummary_foreign_key = "E__c.C__c"\n', "avg"),
        ('type = "Picklist"\n', "give the values, or the global value set"),
        (
            'type = "Picklist"\nvalues = ["A"]\nglobal_value_set = "G"\n',
            "give the values, or the global value set the field takes them from, not both",
        ),
        (
            'type = "Picklist"\nvalues = ["A"]\nvalue_settings = { A = ["X"] }\n',
            "needs controlling_field",
        ),
        (
            'type = "Lookup"\nreference_to = "Contact"\nrelationship_name = "Cs"\n'
            "lookup_filter = { error_message = 'no' }\n",
            "a lookup filter needs at least one item",
        ),
        ('type = "Location"\n', "scale: is required for Location"),
        ('type = "Text"\nformula = "1"\n', "'formula' does not apply to Text fields"),
    ],
)
def test_field_specs_that_cannot_render_are_refused(fragment: str, message: str) -> None:
    error = refused(BASE + "[fields.F__c]\n" + fragment)
    assert message in error.message, error.message
    assert "objects/Course__c.toml" in error.message


def test_new_field_types_load_with_their_keys() -> None:
    spec = load(
        BASE + '[fields.P__c]\ntype = "Formula"\nreturns = "Checkbox"\nformula = "Price__c > 9"\n'
        '[fields.S__c]\ntype = "Summary"\nsummary_operation = "max"\n'
        'summary_foreign_key = "E__c.Course__c"\nsummarized_field = "E__c.Done__c"\n'
        'summary_filters = [{ field = "E__c.Status__c", operation = "equals", value = "Done" }]\n'
        '[fields.D__c]\ntype = "Picklist"\nvalues = ["x", "y"]\ncontrolling_field = "C__c"\n'
        '[fields.D__c.value_settings]\ny = ["checked"]\nx = ["checked", "unchecked"]\n'
    )
    formula, summary, dependent = spec.fields
    assert (formula.type, formula.returns, formula.xml_type) == ("Formula", "Checkbox", "Checkbox")
    assert summary.summary_filters[0].value == "Done"
    assert [(s.value, s.controlling_values) for s in dependent.value_settings] == [
        ("y", ("checked",)),
        ("x", ("checked", "unchecked")),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE + '[record_types.R]\nlabel = "R"\n[record_types.R.picklist_values]\n'
            'L__c = { values = ["A"], default = "B" }\n',
            "'B' is not one of the record type's values",
        ),
        (
            BASE + '[field_sets.F]\nlabel = "F"\ndescription = "d"\nfields = ["A__c"]\n'
            'required = ["B__c"]\n',
            "'B__c' is not one of the field set's fields",
        ),
        (BASE + '[validation_rules.V]\nformula = "true"\n', "message: is required"),
        ('compact_layout = "C"\n', "Contact is a standard object"),
        ('[fields.A__c]\ntype = "Text"\n[search_layouts]\nlookup_filter_fields = ["A__c"]\n', ""),
        (
            BASE + '[[layouts.L.sections]]\nlabel = "S"\ncolumns = [["A"], ["B"], ["C"]]\n',
            "needs 1 to 2 columns, got 3",
        ),
    ],
)
def test_object_parts_that_cannot_render_are_refused(text: str, message: str) -> None:
    name = "Contact" if "compact_layout" in text else "Course__c"
    if not message:  # a custom object's spec without labels adds, so it has no search layouts
        error = refused(text, "Hall__c")
        assert "belongs to the object itself" in error.message
        return
    assert message in refused(text, name).message


# --- rendering -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(
    tmp_path_factory: pytest.TempPathFactory, docs_catalogue: Catalogue
) -> dict[str, MetadataFile]:
    root = docs_catalogue(tmp_path_factory.mktemp("catalogue"))
    return {f.path: f for f in build_package(open_project(root, no_plugins=True)).files}


def _root(files: dict[str, MetadataFile], path: str) -> etree._Element:
    return xmlsafe.parse(files[path].content, path)


def _child(root: etree._Element, tag: str, name: str) -> etree._Element:
    found = root.find(f"m:{tag}[m:fullName='{name}']", NS)
    assert found is not None, (tag, name)
    return found


def _texts(el: etree._Element) -> dict[str, str]:
    return {etree.QName(c).localname: (c.text or "").strip() for c in el if len(c) == 0}


def test_the_docs_example_is_valid_as_written(
    catalogue: dict[str, MetadataFile], metadata_schema: MetadataSchema
) -> None:
    assert sorted(catalogue) == [
        "applications/Learning.app",
        "customPermissions/Approve_Refunds.customPermission",
        "globalValueSets/Delivery.globalValueSet",
        "layouts/Course__c-Course Layout.layout",
        "layouts/Course__c-Online Course Layout.layout",
        "objects/Course__c.object",
        "objects/Enrollment__c.object",
        "package.xml",
        "permissionsets/LMS_Manager.permissionset",
        "profiles/Admin.profile",
        "tabs/Course__c.tab",
        "tabs/Enrollment__c.tab",
    ]
    for path, file in catalogue.items():
        tree = etree.fromstring(file.content, xmlsafe.parser())
        assert [e.message for e in metadata_schema.errors(tree)] == [], path
    problems = rules.check(list(catalogue.values()), api_version="66.0")
    assert [p for p in problems if p.severity == "error"] == []


def test_formula_and_roll_up_fields(catalogue: dict[str, MetadataFile]) -> None:
    course = _root(catalogue, "objects/Course__c.object")
    formula = _texts(_child(course, "fields", "Price_Per_Hour__c"))
    assert formula == {
        "fullName": "Price_Per_Hour__c",
        "formula": "IF(Hours__c > 0, Price__c / Hours__c, NULL)",
        "formulaTreatBlanksAs": "BlankAsBlank",
        "label": "Price Per Hour",
        "precision": "10",
        "scale": "2",
        "type": "Currency",
    }
    count = _texts(_child(course, "fields", "Enrollment_Count__c"))
    assert count == {
        "fullName": "Enrollment_Count__c",
        "label": "Enrollments",
        "summaryForeignKey": "Enrollment__c.Course__c",
        "summaryOperation": "count",
        "type": "Summary",
    }
    hours = _child(course, "fields", "Hours_Completed__c")
    assert _texts(hours)["summarizedField"] == "Enrollment__c.Hours_Done__c"
    assert [_texts(item) for item in hours.iterfind("m:summaryFilterItems", NS)] == [
        {"field": "Enrollment__c.Status__c", "operation": "equals", "value": "Completed"}
    ]


def test_geolocation_encrypted_text_and_a_global_picklist(
    catalogue: dict[str, MetadataFile],
) -> None:
    course = _root(catalogue, "objects/Course__c.object")
    assert _texts(_child(course, "fields", "Campus__c")) == {
        "fullName": "Campus__c",
        "displayLocationInDecimal": "false",
        "label": "Campus",
        "required": "false",
        "scale": "6",
        "type": "Location",
    }
    encrypted = _texts(_child(course, "fields", "Vendor_Key__c"))
    assert (encrypted["maskChar"], encrypted["maskType"], encrypted["length"]) == (
        "asterisk",
        "lastFour",
        "40",
    )
    value_set = _child(course, "fields", "Delivery__c").find("m:valueSet", NS)
    assert value_set is not None and _texts(value_set) == {
        "restricted": "true",
        "valueSetName": "Delivery",
    }
    delivery = _root(catalogue, "globalValueSets/Delivery.globalValueSet")
    assert [
        v.findtext("m:fullName", namespaces=NS) for v in delivery.iterfind("m:customValue", NS)
    ] == [
        "Video",
        "Live",
        "Blended",
    ]


def test_dependent_picklist_and_lookup_filter(catalogue: dict[str, MetadataFile]) -> None:
    enrollment = _root(catalogue, "objects/Enrollment__c.object")
    value_set = _child(enrollment, "fields", "Sub_Status__c").find("m:valueSet", NS)
    assert value_set is not None
    assert value_set.findtext("m:controllingField", namespaces=NS) == "Status__c"
    settings = [
        (
            s.findtext("m:valueName", namespaces=NS),
            [c.text for c in s.iterfind("m:controllingFieldValue", NS)],
        )
        for s in value_set.iterfind("m:valueSettings", NS)
    ]
    assert settings[-1] == ("Failed", ["Completed", "Dropped"])
    lookup = _child(enrollment, "fields", "Learner__c").find("m:lookupFilter", NS)
    assert lookup is not None
    assert _texts(lookup) == {
        "active": "true",
        "errorMessage": "Learners need an email address.",
        "isOptional": "false",
    }


def test_object_parts(catalogue: dict[str, MetadataFile]) -> None:
    course = _root(catalogue, "objects/Course__c.object")
    assert _texts(_child(course, "validationRules", "Price_Not_Negative")) == {
        "fullName": "Price_Not_Negative",
        "active": "true",
        "errorConditionFormula": "Price__c < 0",
        "errorDisplayField": "Price__c",
        "errorMessage": "A course cannot cost less than nothing.",
    }
    online = _child(course, "recordTypes", "Online")
    values = [v.findtext("m:fullName", namespaces=NS) for v in online.iterfind(".//m:values", NS)]
    assert values == ["Beginner", "Intermediate"]
    classroom = _child(course, "recordTypes", "Classroom")
    defaults = {
        v.findtext("m:fullName", namespaces=NS): v.findtext("m:default", namespaces=NS)
        for v in classroom.iterfind(".//m:values", NS)
    }
    assert defaults == {"Beginner": "true", "Intermediate": "false", "Advanced": "false"}
    beginners = _child(course, "listViews", "Beginner_Courses")
    assert _texts(beginners.find("m:filters", NS)) == {  # type: ignore[arg-type]
        "field": "Level__c",
        "operation": "equals",
        "value": "Beginner",
    }
    assert course.findtext("m:compactLayoutAssignment", namespaces=NS) == "Course_Highlights"
    highlights = _child(course, "compactLayouts", "Course_Highlights")
    assert [f.text for f in highlights.iterfind("m:fields", NS)] == [
        "Name",
        "Level__c",
        "Price_Per_Hour__c",
    ]
    catalogue_set = _child(course, "fieldSets", "Catalogue")
    required = {
        item.findtext("m:field", namespaces=NS): item.findtext("m:isRequired", namespaces=NS)
        for item in catalogue_set.iterfind("m:displayedFields", NS)
    }
    assert required == {"Name": "false", "Level__c": "true", "Price__c": "false"}
    search = course.find("m:searchLayouts", NS)
    assert search is not None
    assert [e.text for e in search] == ["Level__c", "Price__c"]
    tags = [etree.QName(e).localname for e in course]
    assert tags == sorted(tags)  # the XSD sequence of CustomObject: ASCII order


def test_permission_set_profile_and_app(catalogue: dict[str, MetadataFile]) -> None:
    manager = _root(catalogue, "permissionsets/LMS_Manager.permissionset")
    assert [
        e.findtext("m:application", namespaces=NS)
        for e in manager.iterfind("m:applicationVisibilities", NS)
    ] == ["Learning"]
    assert [_texts(e) for e in manager.iterfind("m:customPermissions", NS)] == [
        {"enabled": "true", "name": "Approve_Refunds"}
    ]
    assert [_texts(e)["recordType"] for e in manager.iterfind("m:recordTypeVisibilities", NS)] == [
        "Course__c.Classroom",
        "Course__c.Online",
    ]
    assert [_texts(e) for e in manager.iterfind("m:tabSettings", NS)] == [
        {"tab": "Course__c", "visibility": "Visible"},
        {"tab": "Enrollment__c", "visibility": "Visible"},
    ]
    editable = {
        _texts(e)["field"]: _texts(e)["editable"]
        for e in manager.iterfind("m:fieldPermissions", NS)
    }
    # edit = "*" leaves out what nobody edits: formulas and roll-ups (and auto numbers)
    assert editable["Course__c.Price_Per_Hour__c"] == "false"
    assert editable["Course__c.Enrollment_Count__c"] == "false"
    assert editable["Course__c.Price__c"] == "true"
    admin = _root(catalogue, "profiles/Admin.profile")
    assert [_texts(e) for e in admin.iterfind("m:layoutAssignments", NS)] == [
        {"layout": "Course__c-Online Course Layout", "recordType": "Course__c.Online"}
    ]
    app = _texts(_root(catalogue, "applications/Learning.app"))
    assert (app["label"], app["navType"], app["uiType"]) == ("Learning", "Standard", "Lightning")
    tabs = [t.text for t in _root(catalogue, "applications/Learning.app").iterfind("m:tabs", NS)]
    assert tabs == ["standard-home", "Course__c", "Enrollment__c", "standard-Contact"]


def test_the_manifest_lists_every_new_component(catalogue: dict[str, MetadataFile]) -> None:
    manifest = catalogue["package.xml"].content.decode()
    for member in (
        "<members>Course__c.Price_Not_Negative</members>",
        "<members>Course__c.Online</members>",
        "<members>Course__c.Beginner_Courses</members>",
        "<members>Course__c.Course_Highlights</members>",
        "<members>Course__c.Catalogue</members>",
        "<members>Learning</members>",
        "<members>Delivery</members>",
        "<members>Admin</members>",
        "<members>Approve_Refunds</members>",
    ):
        assert member in manifest


def test_rendering_stays_byte_identical(
    docs_catalogue: Catalogue, tmp_path: Path, catalogue: dict[str, MetadataFile]
) -> None:
    again = build_package(open_project(docs_catalogue(tmp_path), no_plugins=True))
    assert {f.path: f.content for f in again.files} == {p: f.content for p, f in catalogue.items()}


# --- rules -----------------------------------------------------------------------------------


def _problems(files: dict[str, MetadataFile], edits: dict[str, tuple[str, str]]) -> list[str]:
    changed = []
    for path, file in files.items():
        content = file.content.decode()
        if path in edits:
            old, new = edits[path]
            assert old in content, old
            content = content.replace(old, new)
        changed.append(MetadataFile(path, content.encode()))
    found = rules.check(changed, api_version="66.0")
    return [f"{p.rule}: {p.message}" for p in found if p.severity == "error"]


COURSE = "objects/Course__c.object"
ENROLLMENT = "objects/Enrollment__c.object"


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (
            COURSE,
            "Price__c / Hours__c",
            "Price__c / Hourz__c",
            "formula-reference: the formula names Hourz__c: Course__c has no field Hourz__c",
        ),
        (
            COURSE,
            "<errorConditionFormula>Price__c &lt; 0",
            "<errorConditionFormula>Enrollments__r.Missing__c &lt; 0",
            "formula-reference: the formula names Enrollments__r.Missing__c: Course__c has no "
            "relationship field Enrollments__c",
        ),
        (
            COURSE,
            "<summarizedField>Enrollment__c.Hours_Done__c",
            "<summarizedField>Enrollment__c.Status__c",
            "roll-up-summary: a sum roll-up cannot take Enrollment__c.Status__c, a Picklist field",
        ),
        (
            ENROLLMENT,
            "<type>MasterDetail</type>",
            "<type>Lookup</type>",
            "roll-up-summary: Enrollment__c.Course__c is a Lookup field: a roll-up summary only "
            "sums up the children of a master-detail relationship",
        ),
        (
            COURSE,
            "<summaryForeignKey>Enrollment__c.Course__c</summaryForeignKey>\n        "
            "<summaryOperation>count",
            "<summaryForeignKey>Enrollment__c.Learner__c</summaryForeignKey>\n        "
            "<summaryOperation>count",
            "roll-up-summary: Enrollment__c.Learner__c is a Lookup field",
        ),
        (
            COURSE,
            "<picklist>Level__c</picklist>\n            <values>\n                "
            "<fullName>Beginner</fullName>",
            "<picklist>Level__c</picklist>\n            <values>\n                "
            "<fullName>Expert</fullName>",
            "record-type-values: the record type offers 'Expert' for Level__c, which is not one "
            "of the picklist's values",
        ),
        (
            ENROLLMENT,
            "<controllingFieldValue>Dropped</controllingFieldValue>",
            "<controllingFieldValue>Gone</controllingFieldValue>",
            "dependent-picklist: a value setting names 'Gone', which is not a value of the "
            "controlling field Status__c",
        ),
        (
            ENROLLMENT,
            "<controllingField>Status__c</controllingField>",
            "<controllingField>Hours_Done__c</controllingField>",
            "dependent-picklist: its controlling field Hours_Done__c is a Number field",
        ),
        (
            COURSE,
            "<columns>Enrollment_Count__c</columns>",
            "<columns>Enrolment_Count__c</columns>",
            "part-reference: field Course__c.Enrolment_Count__c is not in the package",
        ),
        (
            COURSE,
            "<errorDisplayField>Price__c</errorDisplayField>",
            "<errorDisplayField>Cost__c</errorDisplayField>",
            "part-reference: field Course__c.Cost__c is not in the package",
        ),
    ],
)
def test_each_rule_names_what_is_wrong(
    catalogue: dict[str, MetadataFile], path: str, old: str, new: str, expected: str
) -> None:
    found = _problems(catalogue, {path: (old, new)})
    assert any(problem.startswith(expected) for problem in found), found


def test_a_global_value_set_not_in_the_package_is_a_warning(
    catalogue: dict[str, MetadataFile],
) -> None:
    files = [f for p, f in catalogue.items() if not p.startswith("globalValueSets/")]
    found = rules.check(files, api_version="66.0")
    [warning] = [p for p in found if p.rule == "global-value-set"]
    assert warning.severity == "warning" and "the org must already have it" in warning.message


def test_formula_fields_are_never_required_nor_editable_by_grants() -> None:
    spec = load(
        BASE + '[fields.P__c]\ntype = "Formula"\nreturns = "Number"\nformula = "1"\n'
        '[access.Set]\nedit = "*"\n'
    )
    [permission_set] = [
        f for f in Renderer().render([spec]) if f.path.startswith("permissionsets/")
    ]
    assert b"Course__c.P__c" not in permission_set.content
