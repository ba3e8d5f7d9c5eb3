from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from toolkit.errors import ConfigError
from toolkit.metadata import fieldtypes
from toolkit.metadata.spec_loader import load_object_dir, load_object_text
from toolkit.metadata.specs import FieldSpec

BASE = 'label = "Course"\nplural_label = "Courses"\n'


def load(text: str, name: str = "Course__c"):  # type: ignore[no-untyped-def]
    return load_object_text(text, f"objects/{name}.toml", name)


def test_object_attributes_and_name_field() -> None:
    spec = load(
        BASE
        + 'sharing_model = "Private"\nenable_history = true\n'
        + '[name_field]\nlabel = "No."\ntype = "AutoNumber"\ndisplay_format = "C-{0000}"\n'
    )
    assert spec.custom and spec.sharing_model == "Private" and spec.enable_history
    assert spec.name_field is not None
    assert (spec.name_field.type, spec.name_field.display_format) == ("AutoNumber", "C-{0000}")


def test_custom_object_needs_labels() -> None:
    with pytest.raises(ConfigError, match="plural_label: is required"):
        load('label = "Course"\n')


def test_standard_object_takes_fields_only() -> None:
    spec = load('[fields.Level__c]\ntype = "Number"\nprecision = 3\nscale = 0\n', "Contact")
    assert not spec.custom and spec.name_field is None
    assert spec.fields[0].precision == 3


REQUIRED_OPTION_VALUES = {
    "values": '["A", "B"]',
    "reference_to": '"Account"',
    "relationship_name": '"Courses"',
    "display_format": '"N-{000}"',
    "formula": '"Price__c * 2"',
    "returns": '"Number"',
    "summary_operation": '"count"',
    "summary_foreign_key": '"Enrollment__c.Course__c"',
    "scale": "4",
}


def _with_required_options(type_name: str) -> list[str]:
    """The TOML lines of a field of ``type_name`` with every option its type requires (and a
    picklist's values, which it requires unless it takes a global value set's)."""
    ftype = fieldtypes.FIELD_TYPES[type_name]
    required = sorted(ftype.required_options | ({"values"} if ftype.is_picklist else set()))
    return [f'type = "{type_name}"'] + [f"{k} = {REQUIRED_OPTION_VALUES[k]}" for k in required]


@pytest.mark.parametrize("type_name", fieldtypes.FIELD_TYPE_NAMES)
def test_every_field_type_loads_with_its_required_options(type_name: str) -> None:
    ftype = fieldtypes.FIELD_TYPES[type_name]
    lines = _with_required_options(type_name)
    spec = load(BASE + "[fields.F__c]\n" + "\n".join(lines) + "\n")
    field = spec.fields[0]
    assert field.type == type_name
    assert field.length == ftype.default_length
    assert field.visible_lines == ftype.default_visible_lines


def test_unknown_field_type_lists_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        load(BASE + '[fields.F__c]\ntype = "Strng"\n')
    assert "objects/Course__c.toml:4: fields.F__c.type" in caught.value.message
    assert caught.value.hint is not None and "LongTextArea" in caught.value.hint


def test_option_of_another_type_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load(BASE + '[fields.F__c]\ntype = "Checkbox"\nlength = 5\n')
    assert "'length' does not apply to Checkbox" in caught.value.message
    assert caught.value.hint is not None and "default" in caught.value.hint


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load(BASE + '[fields.F__c]\ntype = "Text"\ncolour = "red"\n')


def test_missing_required_option() -> None:
    with pytest.raises(ConfigError, match="reference_to: is required for Lookup"):
        load(BASE + '[fields.F__c]\ntype = "Lookup"\nrelationship_name = "X"\n')


def test_picklist_default_becomes_a_flag() -> None:
    spec = load(
        BASE + '[fields.S__c]\ntype = "Picklist"\nvalues = ["A", { name = "B", label = "Bee" }]\n'
        'default = "B"\n'
    )
    values = spec.fields[0].values
    assert [(v.name, v.label, v.default) for v in values] == [("A", "A", False), ("B", "Bee", True)]
    assert spec.fields[0].default_value is None


def test_picklist_default_must_be_a_value() -> None:
    with pytest.raises(ConfigError, match="'C' is not one of the values"):
        load(BASE + '[fields.S__c]\ntype = "Picklist"\nvalues = ["A"]\ndefault = "C"\n')


@pytest.mark.parametrize(
    ("type_name", "literal", "formula"),
    [
        ("Text", '"say \\"hi\\""', '"say \\"hi\\""'),
        ("Number", "5", "5"),
        ("Checkbox", "true", "true"),
        ("Date", "2024-02-03", "DATE(2024,2,3)"),
    ],
)
def test_literal_defaults_become_formulas(type_name: str, literal: str, formula: str) -> None:
    spec = load(BASE + f'[fields.F__c]\ntype = "{type_name}"\ndefault = {literal}\n')
    assert spec.fields[0].default_value == formula


def test_layout_sections_items_and_related_lists() -> None:
    spec = load(
        BASE + '[layouts."Main"]\nbuttons = ["Go"]\n[[layouts."Main".sections]]\nlabel = "Info"\n'
        'columns = [["Name", { field = "S__c", behavior = "Readonly" }], ["T__c"]]\n'
        '[[layouts."Main".sections]]\nlabel = "Notes"\ncolumns = [["N__c"]]\n'
        '[[layouts."Main".related_lists]]\nname = "RelatedNoteList"\nfields = ["TITLE"]\n'
    )
    layout = spec.layouts[0]
    assert layout.full_name == "Course__c-Main"
    assert [s.style for s in layout.sections] == ["TwoColumnsTopToBottom", "OneColumn"]
    assert layout.sections[0].columns[0][1].behavior == "Readonly"
    assert layout.related_lists[0].fields == ("TITLE",)


def test_layout_with_three_columns_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs 1 to 2 columns, got 3"):
        load(BASE + '[[layouts.M.sections]]\nlabel = "x"\ncolumns = [["A"], ["B"], ["C"]]\n')


def test_bad_layout_behavior() -> None:
    with pytest.raises(ConfigError, match="bad item"):
        load(
            BASE
            + '[[layouts.M.sections]]\nlabel = "x"\n'
            + 'columns = [[{ field = "A", behavior = "Hide" }]]\n'
        )


def test_access_permissions() -> None:
    spec = load(BASE + '[access.Ops]\nobject = ["read", "create"]\nread = "*"\nedit = ["S__c"]\n')
    access = spec.access[0]
    assert access.object_permissions == ("create", "read")
    assert access.read_fields == ("*",) and access.edit_fields == ("S__c",)
    with pytest.raises(ConfigError, match="unknown object permission 'write'"):
        load(BASE + '[access.Ops]\nobject = ["write"]\n')


def test_tab_on_standard_object_is_refused() -> None:
    with pytest.raises(ConfigError, match="custom tabs are for custom objects"):
        load("[tab]\n", "Contact")


def test_load_object_dir_sorts_and_names_files(tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "B__c.toml").write_text(BASE)
    (tmp_path / "objects" / "A__c.toml").write_text(BASE)
    specs = load_object_dir(tmp_path / "objects", display_root=tmp_path)
    assert [s.name for s in specs] == ["A__c", "B__c"]
    assert specs[0].source == "objects/A__c.toml"


def test_two_files_for_one_object_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('name = "X__c"\n' + BASE)
    (tmp_path / "b.toml").write_text('name = "X__c"\n' + BASE)
    with pytest.raises(ConfigError, match="already described"):
        load_object_dir(tmp_path)


def test_every_field_option_has_a_declared_kind() -> None:
    from toolkit.metadata import spec_loader

    declared = set(spec_loader._FIELD_KEY_KINDS)
    assert declared == set(spec_loader.COMMON_FIELD_KEYS) | spec_loader._ALL_TYPE_OPTIONS


def test_field_option_of_the_wrong_kind_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        load(BASE + '[fields.F__c]\ntype = "Text"\nlength = "40"\n')
    assert "objects/Course__c.toml:5: fields.F__c.length" in caught.value.message
    assert "expected an integer, got a string" in caught.value.message


@pytest.mark.parametrize("type_name", fieldtypes.FIELD_TYPE_NAMES)
def test_field_specs_hold_every_attribute(type_name: str) -> None:
    # The loader makes FieldSpecs without __init__; they must equal ones made with it.
    lines = _with_required_options(type_name)
    field = load(BASE + "[fields.F__c]\n" + "\n".join(lines) + "\n").fields[0]
    names = {f.name for f in dataclasses.fields(FieldSpec)}
    assert set(vars(field)) == names
    rebuilt = FieldSpec(**{name: getattr(field, name) for name in names})
    assert rebuilt == field and hash(rebuilt) == hash(field)


def test_delete_constraint_defaults_and_choices() -> None:
    lookup = '[fields.P__c]\ntype = "Lookup"\nreference_to = "Account"\nrelationship_name = "Ps"\n'
    assert load(BASE + lookup).fields[0].delete_constraint == "SetNull"
    assert load(BASE + lookup + 'delete_constraint = "Restrict"\n').fields[0].delete_constraint == (
        "Restrict"
    )
    with pytest.raises(ConfigError) as caught:
        load(BASE + lookup + 'delete_constraint = "Never"\n')
    assert "fields.P__c.delete_constraint: unknown value 'Never'" in caught.value.message
    assert "SetNull" in (caught.value.hint or "")


def test_field_type_of_the_wrong_kind_is_named() -> None:
    with pytest.raises(ConfigError, match=r"fields\.F__c\.type: expected a string, got a boolean"):
        load(BASE + "[fields.F__c]\ntype = true\n")
