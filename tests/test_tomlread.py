from __future__ import annotations

import pytest

from toolkit.errors import ConfigError
from toolkit.tomlread import Document

TEXT = """\
name = "A"

[fields.Status__c]
type = "Text"
lenght = 5

[[layouts."Main Layout".sections]]
label = "x"
"""


def test_line_of_finds_keys_headers_and_root_keys() -> None:
    doc = Document("x.toml", TEXT)
    assert doc.line_of(["name"]) == 1
    assert doc.line_of(["fields", "Status__c"]) == 3
    assert doc.line_of(["fields", "Status__c", "lenght"]) == 5
    assert doc.line_of(["layouts", "Main Layout", "sections"]) == 7


def test_malformed_toml_names_file_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        Document("objects/Bad__c.toml", 'label = "x"\nplural = \n')
    assert "objects/Bad__c.toml" in caught.value.message
    assert "line 2" in caught.value.message


def test_unknown_key_lists_valid_keys_with_line() -> None:
    table = Document("x.toml", TEXT).root().table("fields")
    assert table is not None
    status = table.table("Status__c")
    assert status is not None
    status.string("type")
    status.integer("length")
    with pytest.raises(ConfigError) as caught:
        status.finish()
    assert caught.value.message.startswith("x.toml:5: fields.Status__c.lenght")
    assert caught.value.hint is not None and "length" in caught.value.hint


def test_wrong_value_kind_is_named() -> None:
    root = Document("x.toml", 'flag = "yes"\n').root()
    with pytest.raises(ConfigError, match="expected true or false, got a string"):
        root.flag("flag")


def test_choice_lists_choices() -> None:
    root = Document("x.toml", 'kind = "Strng"\n').root()
    with pytest.raises(ConfigError) as caught:
        root.choice("kind", ["Text", "Number"])
    assert caught.value.hint == "choose one of: Text, Number"
