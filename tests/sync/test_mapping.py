"""Mappings without an org: defaults and overrides, transforms, coercion through the field-type
table, checks against a describe, and cursors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.config import MappingOverride, load_config
from toolkit.errors import ConfigError
from toolkit.salesforce.records import FieldDescribe, ObjectDescribe
from toolkit.sync import cursor as cursors
from toolkit.sync.contract import FieldMapping, ParentRef, StreamSpec
from toolkit.sync.mapping import (
    MappingError,
    RecordMapper,
    check,
    content_hash,
    link_parents,
    resolve,
)


def field(name: str, type_: str = "string", **facts: Any) -> FieldDescribe:
    values: dict[str, Any] = {
        "name": name,
        "type": type_,
        "length": 40 if type_ in ("string", "picklist") else 0,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaulted_on_create": False,
        "external_id": False,
        "id_lookup": False,
        "calculated": False,
        "restricted_picklist": False,
        "picklist_values": (),
        "reference_to": (),
        "relationship_name": None,
    }
    values.update(facts)
    return FieldDescribe(**values)


COURSE = ObjectDescribe(
    "Course__c",
    {
        f.name: f
        for f in (
            field("Code__c", external_id=True, id_lookup=True),
            field("Name"),
            field(
                "Level__c",
                "picklist",
                restricted_picklist=True,
                picklist_values=("Intro", "Advanced"),
            ),
            field("Starts__c", "date"),
            field("Hours__c", "double"),
            field("Active__c", "boolean"),
            field("Total__c", "double", calculated=True, createable=False, updateable=False),
            field(
                "Program__c",
                "reference",
                reference_to=("Program__c",),
                relationship_name="Program__r",
            ),
        )
    },
)
PROGRAM = ObjectDescribe("Program__c", {"Ext__c": field("Ext__c", external_id=True)})
STREAM = StreamSpec(
    "courses",
    "Course__c",
    key="Code__c",
    source_key="code",
    parents=(ParentRef("Program__c", "programs", "program"),),
)


def override(target: str, **how: Any) -> MappingOverride:
    skip = how.pop("skip", False)
    return MappingOverride("lms", "courses", FieldMapping(target, **how), skip, "sftk.toml:9")


def test_overrides_replace_add_and_skip_default_lines() -> None:
    defaults = [FieldMapping("Name", source="title"), FieldMapping("Hours__c", source="hours")]
    mapping = resolve(
        "lms",
        STREAM,
        defaults,
        [
            override("Name", source="long_title", transforms=("trim",)),
            override("Hours__c", skip=True),
            override("Active__c", constant=True),
            MappingOverride("other", "courses", FieldMapping("Name", source="x"), False, "-"),
        ],
    )
    assert [(line.mapping.target, line.origin) for line in mapping.lines] == [
        ("Code__c", "key"),
        ("Active__c", "sftk.toml:9"),
        ("Name", "sftk.toml:9"),
    ]
    with pytest.raises(ConfigError, match="Code__c is the stream's key"):
        resolve("lms", STREAM, defaults, [override("Code__c", source="id")])
    with pytest.raises(ConfigError, match="Program__c is a parent"):
        resolve("lms", STREAM, defaults, [override("Program__c", source="id")])


def mapper(*lines: FieldMapping) -> RecordMapper:
    mapping = resolve("lms", STREAM, lines, [])
    assert check(mapping, COURSE, {"programs": PROGRAM}, {"programs": "Ext__c"}) == []
    return RecordMapper(mapping, COURSE, link_parents(STREAM, COURSE, {"programs": "Ext__c"}))


def test_a_record_is_transformed_and_coerced_by_the_field_type_table() -> None:
    compiled = mapper(
        FieldMapping("Name", source="title", transforms=("trim", "upper")),
        FieldMapping("Level__c", source="level", values=(("1", "Intro"), ("2", "Advanced"))),
        FieldMapping("Starts__c", source="start", date_format="%d/%m/%Y"),
        FieldMapping("Hours__c", source="hours", default="0"),
        FieldMapping("Active__c", source="active"),
    )
    payload = compiled.payload(
        {"code": "C-1", "title": "  intro to x ", "level": "2", "start": "05/09/2026",
         "hours": "", "active": "yes", "program": "P-9"}
    )  # fmt: skip
    assert payload == {
        "Code__c": "C-1",
        "Active__c": True,
        "Hours__c": 0,
        "Level__c": "Advanced",
        "Name": "INTRO TO X",
        "Starts__c": "2026-09-05",
        "Program__r": {"Ext__c": "P-9"},
    }
    assert compiled.columns == [
        "Code__c", "Active__c", "Hours__c", "Level__c", "Name", "Starts__c",
        "Program__r.Ext__c", "Program__c",
    ]  # fmt: skip
    assert compiled.csv_row(payload) == [
        "C-1", "true", "0", "Advanced", "INTRO TO X", "2026-09-05", "P-9", "",
    ]  # fmt: skip
    orphan = compiled.payload({"code": "C-2", "title": None, "program": ""})
    assert orphan["Program__c"] is None and orphan["Name"] is None
    assert compiled.csv_row(orphan)[-2:] == ["", "#N/A"]


def test_a_value_that_does_not_fit_names_the_field() -> None:
    compiled = mapper(FieldMapping("Hours__c", source="hours"))
    with pytest.raises(MappingError, match="hours = 'many' cannot be written to Hours__c") as bad:
        compiled.payload({"code": "C-1", "hours": "many"})
    assert bad.value.field == "Hours__c"


def test_checks_name_every_problem_of_a_mapping() -> None:
    mapping = resolve(
        "lms",
        STREAM,
        [
            FieldMapping("Nmae", source="title"),
            FieldMapping("Total__c", source="total"),
            FieldMapping("Level__c", constant="Expert"),
            FieldMapping("Hours__c", source="h", date_format="%Y"),
        ],
        [],
    )
    broken_parent = ObjectDescribe("Program__c", {"Ext__c": field("Ext__c")})
    problems = {
        (p.target, p.severity, p.message)
        for p in check(mapping, COURSE, {"programs": broken_parent}, {"programs": "Ext__c"})
    }
    assert problems == {
        ("Nmae", "error", "Course__c has no field Nmae"),
        ("Total__c", "error", "Course__c.Total__c is read-only (formula, auto number or system)"),
        ("Level__c", "error", "'Expert' is not a value of the restricted picklist Level__c"),
        ("Hours__c", "error", "a date format is given, but Hours__c is a double field"),
        (
            "Program__c",
            "error",
            "Program__c.Ext__c is not an External ID field, so records cannot refer to their "
            "parent by it",
        ),
    }


def test_mapping_tables_in_sftk_toml_are_read_with_their_lines(tmp_path: Path) -> None:
    (tmp_path / "sftk.toml").write_text(
        '[mappings.files.accounts]\nName = "company"\n'
        'Tier__c = { source = "tier", transforms = ["trim"], values = { g = "Gold" } }\n'
        "Phone = { skip = true }\n"
        "Since__c = { constant = 2026-01-02 }\n"
    )
    config = load_config(tmp_path / "sftk.toml")
    by_target = {o.mapping.target: o for o in config.mappings}
    assert by_target["Name"].mapping == FieldMapping("Name", source="company")
    assert by_target["Tier__c"].mapping.values == (("g", "Gold"),)
    assert by_target["Phone"].skip and by_target["Since__c"].mapping.constant == "2026-01-02"
    assert by_target["Tier__c"].where == "sftk.toml:3: mappings.files.accounts.Tier__c"
    (tmp_path / "sftk.toml").write_text(
        '[mappings.files.accounts]\nName = { source = "a", transforms = ["shout"] }\n'
    )
    with pytest.raises(ConfigError, match=r"sftk.toml:2: .*unknown transform 'shout'"):
        load_config(tmp_path / "sftk.toml")
    (tmp_path / "sftk.toml").write_text(
        '[mappings.files.accounts]\nName = { source = "a", constant = "b" }\n'
    )
    with pytest.raises(ConfigError, match="exactly one of source and constant"):
        load_config(tmp_path / "sftk.toml")


@given(
    st.dictionaries(
        st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=5)), min_size=1
    )
)
def test_the_content_hash_changes_with_any_value_or_field_name(payload: dict[str, Any]) -> None:
    assert content_hash(payload) == content_hash(dict(payload))
    key, value = next(iter(payload.items()))
    assert content_hash({**payload, key: [value]}) != content_hash(payload)
    renamed = {(k + "_" if k == key else k): v for k, v in payload.items()}
    if (key + "_") not in payload:
        assert content_hash(renamed) != content_hash(payload)


def test_cursors_compare_timestamps_across_offsets_and_numbers_as_numbers() -> None:
    assert cursors.parse("2026-03-01T10:00:00+01:00") < cursors.parse("2026-03-01T09:30:00Z")
    assert cursors.parse("9") < cursors.parse("10")
    assert cursors.parse(dt.date(2026, 3, 1)) == cursors.parse("2026-03-01T00:00:00Z")
    assert cursors.text(cursors.parse("2026-03-01T10:00:00+01:00")) == "2026-03-01T09:00:00.000000Z"
    bound = cursors.lower_bound("2026-03-01T10:00:00Z", 3600)
    assert bound == cursors.parse("2026-03-01T09:00:00Z")
    assert cursors.lower_bound("41", 3600) == cursors.parse(41)
    with pytest.raises(cursors.CursorError, match="neither"):
        cursors.parse("last tuesday")
