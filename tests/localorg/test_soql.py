"""The SOQL subset: parsing, binding to a schema, evaluating over records; no server."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.localorg.ids import make_id
from toolkit.localorg.soql import (
    And,
    BoolLit,
    Comparison,
    Condition,
    DateLit,
    DateTimeLit,
    FieldInfo,
    FieldPath,
    InList,
    LikePattern,
    Literal,
    Not,
    NullLit,
    NumberLit,
    ObjectInfo,
    Or,
    OrderItem,
    Query,
    RelativeDate,
    SoqlError,
    StringLit,
    bind,
    execute,
    json_value,
    parse,
    select,
)

NOW = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)  # a Friday, the day after a leap day
VERSION = "63.0"


def _object(name: str, *fields: FieldInfo) -> ObjectInfo:
    return ObjectInfo(name, {f.name.lower(): f for f in (FieldInfo("Id", "id"), *fields)})


class Schema:
    def __init__(self) -> None:
        objects = [
            _object("User", FieldInfo("Name", "string")),
            _object(
                "Account",
                FieldInfo("Name", "string"),
                FieldInfo("Industry", "picklist"),
                FieldInfo("AnnualRevenue", "currency"),
                FieldInfo("OwnerId", "reference", ("User",)),
                FieldInfo("ParentId", "reference", ("Account",), "Parent"),
            ),
            _object(
                "Contact",
                FieldInfo("LastName", "string"),
                FieldInfo("Email", "email"),
                FieldInfo("AccountId", "reference", ("Account",), "Account"),
                FieldInfo("Birthdate", "date"),
                FieldInfo("CreatedDate", "datetime"),
                FieldInfo("IsActive__c", "boolean"),
                FieldInfo("Score__c", "double"),
                FieldInfo("Visits__c", "int"),
            ),
            _object(
                "Enrollment__c",
                FieldInfo("Name", "string"),
                FieldInfo("Contact__c", "reference", ("Contact",), "Contact__r"),
            ),
        ]
        self.objects = {o.name.lower(): o for o in objects}

    def object(self, name: str) -> ObjectInfo | None:
        return self.objects.get(name.lower())


SCHEMA = Schema()
USER = make_id("005", 1)
ACME, GLOBEX = make_id("001", 1), make_id("001", 2)
ANN, BOB, CY = make_id("003", 1), make_id("003", 2), make_id("003", 3)
DB: dict[str, dict[str, Any]] = {
    USER: {"Id": USER, "Name": "Ada Admin"},
    ACME: {"Id": ACME, "Name": "Acme", "OwnerId": USER, "ParentId": None},
    GLOBEX: {"Id": GLOBEX, "Name": "globex", "OwnerId": USER, "ParentId": ACME},
}
CONTACTS: list[dict[str, Any]] = [
    {
        "Id": ANN,
        "LastName": "Ng",
        "Email": "ann@example.org",
        "AccountId": GLOBEX,
        "Birthdate": date(1992, 2, 29),
        "CreatedDate": datetime(2024, 2, 29, 23, 59, tzinfo=UTC),
        "IsActive__c": True,
        "Score__c": 2.5,
        "Visits__c": 3,
    },
    {
        "Id": BOB,
        "LastName": "bauer",
        "Email": None,
        "AccountId": None,
        "Birthdate": None,
        "CreatedDate": datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
        "IsActive__c": False,
        "Score__c": None,
        "Visits__c": 0,
    },
    {
        "Id": CY,
        "LastName": "O'Hara",
        "Email": "cy_100%@example.org",
        "AccountId": ACME,
        "Birthdate": date(2001, 12, 31),
        "CreatedDate": datetime(2023, 12, 31, 12, 0, tzinfo=UTC),
        "IsActive__c": True,
        "Score__c": 10.0,
        "Visits__c": 12,
    },
]
DB.update({c["Id"]: c for c in CONTACTS})


def resolve(object_name: str, record_id: str) -> Mapping[str, Any] | None:
    return DB.get(record_id)


def run(text: str, records: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    bound = bind(parse(text), SCHEMA)
    return execute(bound, CONTACTS if records is None else records, resolve, NOW, VERSION).records


def names(text: str) -> list[str]:
    return [r["LastName"] for r in run(text)]


def refused(text: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        bind(parse(text), SCHEMA)
    return caught.value


# --- Parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Id FROM Contact",
        "select id, account.owner.name from contact where lastname = 'x' limit 1",
        "SELECT COUNT() FROM Contact WHERE IsActive__c = true",
        "SELECT COUNT(Email) total FROM Contact",
        "SELECT Id FROM Contact WHERE (Score__c > 1 OR Score__c = null) AND NOT Email LIKE '%x%'",
        "SELECT Id FROM Contact WHERE Visits__c NOT IN (1, 2, -3) AND Score__c <> 1.25",
        "SELECT Id FROM Contact WHERE Birthdate >= 2020-01-01 AND CreatedDate < "
        "2024-01-31T10:00:00.5+05:30",
        "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:30 OR CreatedDate = THIS_YEAR",
        "SELECT Id FROM Contact ORDER BY Account.Name DESC NULLS LAST, LastName LIMIT 5 OFFSET 2",
        "SELECT Id FROM Order ORDER BY Id",
        "SELECT Id FROM Contact WHERE LastName = 'tab\\there \\'quoted\\' \\\\ \\\"dq\\\" \\n'",
    ],
)
def test_valid_queries_print_and_parse_back_to_the_same_tree(text: str) -> None:
    query = parse(text)
    assert parse(str(query)) == query


def test_parse_builds_the_expected_tree() -> None:
    query = parse(
        "SELECT Id, Contact__r.Email FROM Enrollment__c WHERE Name <> 'a\\'b' AND "
        "(Contact__r.Score__c >= 2.50 OR Contact__r.IsActive__c = FALSE) "
        "ORDER BY Name DESC NULLS FIRST LIMIT 10 OFFSET 20"
    )
    assert query.fields == (FieldPath(("Id",)), FieldPath(("Contact__r", "Email")))
    assert query.sobject == "Enrollment__c" and not query.count_all
    assert query.where == And(
        (
            Comparison(FieldPath(("Name",)), "!=", StringLit("a\\'b")),
            Or(
                (
                    Comparison(
                        FieldPath(("Contact__r", "Score__c")), ">=", NumberLit(Decimal("2.5"))
                    ),
                    Comparison(FieldPath(("Contact__r", "IsActive__c")), "=", BoolLit(False)),
                )
            ),
        )
    )
    assert isinstance(query.where, And)
    first = query.where.operands[0]
    assert isinstance(first, Comparison) and isinstance(first.value, StringLit)
    assert first.value.value == "a'b"
    assert query.order_by == (OrderItem(FieldPath(("Name",)), True, "FIRST"),)
    assert query.order_by[0].nulls_last is False
    assert (query.limit, query.offset) == (10, 20)


def test_literal_kinds() -> None:
    where = parse(
        "SELECT Id FROM X WHERE a IN (null, true, 7, -0.5, 2024-01-31, 2024-01-31T10:00:00Z, "
        "2024-01-31T12:00:00+02:00, TODAY, next_n_days:3, 's')"
    ).where
    assert isinstance(where, InList)
    assert where.values == (
        NullLit(),
        BoolLit(True),
        NumberLit(7),
        NumberLit(Decimal("-0.5")),
        DateLit(date(2024, 1, 31)),
        DateTimeLit(datetime(2024, 1, 31, 10, tzinfo=UTC)),
        DateTimeLit(datetime(2024, 1, 31, 10, tzinfo=UTC)),
        RelativeDate("TODAY"),
        RelativeDate("NEXT_N_DAYS", 3),
        StringLit("s"),
    )
    shifted = where.values[6]
    assert isinstance(shifted, DateTimeLit)
    assert shifted.value.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("text", "token", "column"),
    [
        ("SELECT Id FORM Contact", "FORM", 11),
        ("SELECT Id FROM", "<EOF>", 15),
        ("SELECT FROM Contact", "FROM", 8),
        ("SELECT Id FROM Contact WHERE a = 1 AND b = 2 OR c = 3", "OR", 46),
        ("SELECT Id FROM Contact WHERE a = 1 OR b = 2 AND c = 3", "AND", 45),
        ("SELECT Id FROM Contact WHERE a = Foo", "Foo", 34),
        ("SELECT Id FROM Contact WHERE a IN ()", ")", 36),
        ("SELECT Id FROM Contact WHERE a = LAST_N_DAYS", "<EOF>", 45),
        ("SELECT Id FROM Contact WHERE a = LAST_N_DAYS:x", "x", 46),
        ("SELECT Id FROM Contact WHERE d = 2024-02-30", "2024-02-30", 34),
        ("SELECT Id FROM Contact LIMIT 1.5", "1.5", 30),
        ("SELECT Id FROM Contact LIMIT 5 WHERE a = 1", "WHERE", 32),
        ("SELECT Id FROM Contact ORDER BY Name NULLS", "<EOF>", 43),
        ("SELECT Id FROM Contact WHERE a = 1 #", "#", 36),
        ("SELECT Id,\nName FRM Contact", "FRM", 6),
    ],
)
def test_malformed_queries_name_the_token_and_where_it_is(
    text: str, token: str, column: int
) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(text)
    error = caught.value
    assert error.code == "MALFORMED_QUERY"
    assert error.message == f"unexpected token: '{token}'"
    assert error.column == column
    assert error.position == text.rfind(token) if token != "<EOF>" else len(text)


def test_full_message_has_the_query_line_a_caret_and_row_and_column() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id\nFROM Contact WHERE")
    assert caught.value.row == 2
    assert caught.value.full_message == (
        "\nFROM Contact WHERE\n"
        "                  ^\n"
        "ERROR at Row:2:Column:19\n"
        "unexpected token: '<EOF>'"
    )
    assert str(caught.value).startswith("MALFORMED_QUERY: \nFROM Contact WHERE")


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (
            "SELECT Id FROM Contact WHERE a = :name",
            "MALFORMED_QUERY",
            "Bind variables only allowed in Apex code",
        ),
        (
            "SELECT Id FROM Contact WHERE a = 'x\\q'",
            "MALFORMED_QUERY",
            "Invalid string literal 'x\\q'. Illegal character sequence '\\q' in string literal.",
        ),
        (
            "SELECT Id FROM Contact WHERE a = 'open",
            "MALFORMED_QUERY",
            "unterminated string literal",
        ),
        (
            "SELECT Id FROM Contact OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
        (
            "SELECT Name, COUNT(Id) FROM Contact",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT COUNT(Id), Name FROM Contact",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
    ],
)
def test_other_parse_errors(text: str, code: str, message: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(text)
    assert (caught.value.code, caught.value.message) == (code, message)


# --- Binding ---------------------------------------------------------------------------------


def test_binding_resolves_canonical_names_and_relationships() -> None:
    bound = bind(
        parse(
            "select id, ACCOUNT.owner.NAME, account.parent.name, contact.email from contact "
            "where account.name = 'x'"
        ),
        SCHEMA,
    )
    assert bound.sobject == "Contact"
    assert [c.name for c in bound.columns] == [
        "Id",
        "Account.Owner.Name",
        "Account.Parent.Name",
        "Email",
    ]
    assert [h.target for h in bound.columns[1].hops] == ["Account", "User"]
    assert bound.columns[1].object_name == "User"


def test_unknown_object_is_invalid_type() -> None:
    error = refused("SELECT Id FROM Contakt")
    assert error.code == "INVALID_TYPE"
    assert error.message.startswith("sObject type 'Contakt' is not supported. If you are")
    assert error.column == 16


def test_unknown_field_and_relationship_are_invalid_field() -> None:
    error = refused("SELECT Id, Emial FROM Contact")
    assert (error.code, error.column) == ("INVALID_FIELD", 12)
    assert error.message == (
        "No such column 'Emial' on entity 'Contact'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names."
    )
    assert refused("SELECT Id FROM Contact WHERE Account.Nmae = 'x'").message.startswith(
        "No such column 'Nmae' on entity 'Account'."
    )
    error = refused("SELECT Contact.Email FROM Enrollment__c")
    assert error.code == "INVALID_FIELD"
    assert error.message.startswith("Didn't understand relationship 'Contact' in field path.")
    assert refused("SELECT Account FROM Contact").code == "INVALID_FIELD"
    assert refused("SELECT Id, id FROM Contact").message == "duplicate field selected: Id"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            "LastName = 5",
            "field 'LastName' must be of type string and should be enclosed in quotes",
        ),
        ("Score__c = '5'", "field 'Score__c' must be of type double and should not be enclosed"),
        ("IsActive__c = 'true'", "field 'IsActive__c' must be of type boolean and should not"),
        ("Birthdate = '2024-01-01'", "field 'Birthdate' must be of type date and should not"),
        ("Birthdate = 2024-01-01T00:00:00Z", "field 'Birthdate' must be of type date"),
        ("CreatedDate = 2024-01-01", "field 'CreatedDate' must be of type dateTime"),
        ("LastName IN ('a', TODAY)", "field 'LastName' must be of type string"),
        ("AccountId = 1", "field 'AccountId' must be of type id and should be enclosed"),
        ("Email LIKE null", "field 'Email' must be of type string"),
    ],
)
def test_filter_values_must_match_the_field_type(where: str, message: str) -> None:
    error = refused(f"SELECT Id FROM Contact WHERE {where}")
    assert error.code == "INVALID_FIELD"
    assert error.message.startswith("value of filter criterion for " + message)


def test_bad_ids_and_operators() -> None:
    error = refused("SELECT Id FROM Contact WHERE AccountId = '001nope'")
    assert (error.code, error.message) == (
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: 001nope",
    )
    error = refused("SELECT Id FROM Contact WHERE Score__c LIKE '1%'")
    assert (error.code, error.message) == (
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid operator on double field",
    )
    assert refused("SELECT Id FROM Contact WHERE Id LIKE '003%'").message == (
        "invalid operator on id field"
    )


# --- Evaluation ------------------------------------------------------------------------------


def test_projection_nests_parents_and_nulls_missing_ones() -> None:
    rows = run("SELECT Id, LastName, Account.Name, Account.Owner.Name FROM Contact ORDER BY Id")
    url = f"/services/data/v{VERSION}/sobjects"
    assert rows[0] == {
        "attributes": {"type": "Contact", "url": f"{url}/Contact/{ANN}"},
        "Id": ANN,
        "LastName": "Ng",
        "Account": {
            "attributes": {"type": "Account", "url": f"{url}/Account/{GLOBEX}"},
            "Name": "globex",
            "Owner": {
                "attributes": {"type": "User", "url": f"{url}/User/{USER}"},
                "Name": "Ada Admin",
            },
        },
    }
    assert rows[1]["Account"] is None
    assert list(rows[1]) == ["attributes", "Id", "LastName", "Account"]


def test_json_values() -> None:
    rows = run(
        f"SELECT Birthdate, CreatedDate, Score__c, IsActive__c FROM Contact WHERE Id = '{ANN}'"
    )
    assert rows[0]["Birthdate"] == "1992-02-29"
    assert rows[0]["CreatedDate"] == "2024-02-29T23:59:00.000+0000"
    assert rows[0]["Score__c"] == 2.5 and rows[0]["IsActive__c"] is True
    assert json_value(Decimal("1.50")) == 1.5
    assert json_value(datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-01-01T10:00:00.000+0000"
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("LastName = 'NG'", ["Ng"]),
        ("LastName != 'ng'", ["bauer", "O'Hara"]),
        ("LastName <> 'ng'", ["bauer", "O'Hara"]),
        ("LastName = 'O\\'Hara'", ["O'Hara"]),
        ("Email = null", ["bauer"]),
        ("Email != null", ["Ng", "O'Hara"]),
        ("Email != 'ann@example.org'", ["bauer", "O'Hara"]),
        ("Score__c > 2.5", ["O'Hara"]),
        ("Score__c >= 2.5", ["Ng", "O'Hara"]),
        ("Score__c < 10", ["Ng"]),
        ("Score__c <= 10.0", ["Ng", "O'Hara"]),
        ("Visits__c = 0", ["bauer"]),
        ("IsActive__c = false", ["bauer"]),
        ("LastName < 'c'", ["bauer"]),
        ("LastName IN ('ng', 'BAUER')", ["Ng", "bauer"]),
        ("LastName NOT IN ('ng', 'BAUER')", ["O'Hara"]),
        ("Email NOT IN ('ann@example.org')", ["bauer", "O'Hara"]),
        ("Email IN (null, 'ANN@example.org')", ["Ng", "bauer"]),
        ("Email LIKE '%EXAMPLE%'", ["Ng", "O'Hara"]),
        ("Email LIKE 'cy\\_100\\%@%'", ["O'Hara"]),
        ("Email LIKE 'a_n@%'", ["Ng"]),
        ("Email LIKE 'cy_1000%'", []),
        ("NOT Email LIKE 'a%'", ["bauer", "O'Hara"]),
        ("NOT (IsActive__c = true AND Score__c > 5)", ["Ng", "bauer"]),
        ("(IsActive__c = true AND Score__c > 5) OR LastName = 'bauer'", ["bauer", "O'Hara"]),
        ("Account.Name = 'ACME'", ["O'Hara"]),
        ("Account.Parent.Name = 'acme'", ["Ng"]),
        ("Account.Name = null", ["bauer"]),
        ("Account.Owner.Name LIKE 'ada%'", ["Ng", "O'Hara"]),
        (f"AccountId = '{ACME[:15]}'", ["O'Hara"]),
        (f"AccountId IN ('{ACME}', '{GLOBEX}')", ["Ng", "O'Hara"]),
        ("Birthdate = 1992-02-29", ["Ng"]),
        ("Birthdate > 1992-02-29", ["O'Hara"]),
        ("CreatedDate >= 2024-03-01T00:00:00Z", ["bauer"]),
        ("CreatedDate > 2024-03-01T00:30:00+01:00", ["Ng", "bauer"]),
        ("CreatedDate = 2024-03-01T01:00:00+01:00", ["bauer"]),
    ],
)
def test_operators(where: str, expected: list[str]) -> None:
    assert names(f"SELECT LastName FROM Contact WHERE {where} ORDER BY Id") == expected


def _created_on(*days: date) -> list[dict[str, Any]]:
    return [
        {
            "Id": make_id("003", 100 + i),
            "LastName": day.isoformat(),
            "Birthdate": day,
            "CreatedDate": datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC),
        }
        for i, day in enumerate(days)
    ]


def _dates_matching(literal: str, field: str, now: datetime) -> set[str]:
    records = _created_on(*(date(2023, 10, 1) + timedelta(days=d) for d in range(240)))
    bound = bind(parse(f"SELECT LastName FROM Contact WHERE {field} = {literal}"), SCHEMA)
    found = execute(bound, records, resolve, now, VERSION).records
    return {r["LastName"] for r in found}


def _span(first: str, last: str) -> set[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return {(start + timedelta(days=d)).isoformat() for d in range((end - start).days + 1)}


@pytest.mark.parametrize("field", ["Birthdate", "CreatedDate"])
@pytest.mark.parametrize(
    ("now", "literal", "first", "last"),
    [
        ("2024-03-01", "TODAY", "2024-03-01", "2024-03-01"),
        ("2024-03-01", "YESTERDAY", "2024-02-29", "2024-02-29"),
        ("2024-02-29", "TOMORROW", "2024-03-01", "2024-03-01"),
        ("2024-01-01", "YESTERDAY", "2023-12-31", "2023-12-31"),
        ("2024-03-01", "LAST_N_DAYS:2", "2024-02-28", "2024-03-01"),
        ("2024-03-01", "NEXT_N_DAYS:2", "2024-03-02", "2024-03-03"),
        ("2024-03-01", "N_DAYS_AGO:1", "2024-02-29", "2024-02-29"),
        ("2024-03-01", "THIS_WEEK", "2024-02-25", "2024-03-02"),
        ("2024-03-03", "THIS_WEEK", "2024-03-03", "2024-03-09"),
        ("2024-03-01", "LAST_WEEK", "2024-02-18", "2024-02-24"),
        ("2024-03-01", "NEXT_WEEK", "2024-03-03", "2024-03-09"),
        ("2024-03-01", "LAST_N_WEEKS:2", "2024-02-11", "2024-02-24"),
        ("2024-03-01", "THIS_MONTH", "2024-03-01", "2024-03-31"),
        ("2024-03-31", "LAST_MONTH", "2024-02-01", "2024-02-29"),
        ("2024-01-15", "LAST_MONTH", "2023-12-01", "2023-12-31"),
        ("2023-12-15", "NEXT_MONTH", "2024-01-01", "2024-01-31"),
        ("2024-03-01", "LAST_N_MONTHS:2", "2024-01-01", "2024-02-29"),
        ("2024-01-10", "N_MONTHS_AGO:1", "2023-12-01", "2023-12-31"),
        ("2024-02-10", "THIS_QUARTER", "2024-01-01", "2024-03-31"),
        ("2024-02-10", "LAST_QUARTER", "2023-10-01", "2023-12-31"),
        ("2023-12-10", "NEXT_QUARTER", "2024-01-01", "2024-03-31"),
        ("2024-04-10", "LAST_N_QUARTERS:2", "2023-10-01", "2024-03-31"),
        ("2024-03-01", "THIS_YEAR", "2024-01-01", "2024-05-27"),
        ("2024-03-01", "LAST_YEAR", "2023-10-01", "2023-12-31"),
        ("2023-11-01", "NEXT_YEAR", "2024-01-01", "2024-05-27"),
        ("2024-03-01", "LAST_90_DAYS", "2023-12-02", "2024-03-01"),
    ],
)
def test_date_literals_are_ranges_of_utc_days(
    field: str, now: str, literal: str, first: str, last: str
) -> None:
    moment = datetime.fromisoformat(now).replace(hour=23, tzinfo=UTC)
    assert _dates_matching(literal, field, moment) == _span(first, last)


def test_date_literal_comparisons_use_the_range_ends() -> None:
    days = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 2)]
    records = _created_on(*days)

    def found(where: str) -> list[str]:
        bound = bind(parse(f"SELECT LastName FROM Contact WHERE {where}"), SCHEMA)
        return [r["LastName"] for r in execute(bound, records, resolve, NOW, VERSION).records]

    assert found("Birthdate < YESTERDAY") == ["2024-02-28"]
    assert found("CreatedDate <= YESTERDAY") == ["2024-02-28", "2024-02-29"]
    assert found("Birthdate > TODAY") == ["2024-03-02"]
    assert found("CreatedDate >= TODAY") == ["2024-03-01", "2024-03-02"]
    assert found("Birthdate != TODAY") == ["2024-02-28", "2024-02-29", "2024-03-02"]
    assert found("CreatedDate IN (YESTERDAY, TOMORROW)") == ["2024-02-29", "2024-03-02"]


def test_order_by_nulls_case_and_several_keys() -> None:
    base = "SELECT LastName FROM Contact ORDER BY "
    assert names(base + "Score__c") == ["bauer", "Ng", "O'Hara"]
    assert names(base + "Score__c DESC") == ["O'Hara", "Ng", "bauer"]
    assert names(base + "Score__c NULLS LAST") == ["Ng", "O'Hara", "bauer"]
    assert names(base + "Score__c DESC NULLS FIRST") == ["bauer", "O'Hara", "Ng"]
    assert names(base + "LastName") == ["bauer", "Ng", "O'Hara"]
    assert names(base + "Account.Name DESC") == ["Ng", "O'Hara", "bauer"]
    assert names(base + "IsActive__c DESC, Visits__c DESC") == ["O'Hara", "Ng", "bauer"]
    assert names(base + "IsActive__c, LastName DESC") == ["bauer", "O'Hara", "Ng"]


def test_limit_offset_and_counts() -> None:
    base = "SELECT LastName FROM Contact ORDER BY LastName"
    assert names(base + " LIMIT 2") == ["bauer", "Ng"]
    assert names(base + " LIMIT 2 OFFSET 2") == ["O'Hara"]
    assert names(base + " OFFSET 5") == []
    assert names("SELECT LastName FROM Contact LIMIT 2 OFFSET 1") == ["bauer", "O'Hara"]
    bound = bind(parse("SELECT COUNT() FROM Contact WHERE IsActive__c = true"), SCHEMA)
    result = execute(bound, CONTACTS, resolve, NOW, VERSION)
    assert (result.total_size, result.records) == (2, [])
    assert bound.is_count
    bound = bind(parse("SELECT COUNT(Email) FROM Contact"), SCHEMA)
    result = execute(bound, CONTACTS, resolve, NOW, VERSION)
    assert result.records == [{"attributes": {"type": "AggregateResult"}, "expr0": 2}]
    bound = bind(parse("SELECT COUNT(Id) n FROM Contact WHERE Account.Name != null"), SCHEMA)
    assert execute(bound, CONTACTS, resolve, NOW, VERSION).records[0]["n"] == 2


def test_select_stops_reading_at_the_limit_without_order() -> None:
    read: list[int] = []

    def endless() -> Any:
        index = 0
        while True:
            read.append(index)
            yield {"Id": make_id("003", index + 1), "LastName": str(index)}
            index += 1

    bound = bind(parse("SELECT Id FROM Contact LIMIT 3 OFFSET 1"), SCHEMA)
    assert [r["LastName"] for r in select(bound, endless(), resolve, NOW)] == ["1", "2", "3"]
    assert len(read) <= 5


def test_matches_and_naive_datetimes_are_utc() -> None:
    bound = bind(parse("SELECT Id FROM Contact WHERE CreatedDate = TODAY"), SCHEMA)
    assert bound.matches({"CreatedDate": datetime(2024, 3, 1, 5)}, resolve, NOW)
    assert not bound.matches({"CreatedDate": datetime(2024, 2, 29, 23)}, resolve, NOW)
    late = datetime(2024, 3, 1, 23, tzinfo=timezone(timedelta(hours=-2)))
    assert not bound.matches({"CreatedDate": late}, resolve, NOW)


# --- Properties ------------------------------------------------------------------------------

FIELDS = {"LastName": "text", "Score__c": "number", "IsActive__c": "bool", "Birthdate": "date"}
_texts = st.sampled_from(["a", "B", "ab", "Ab%", "b_c", ""])
_numbers = st.sampled_from([Decimal("-1.5"), Decimal(0), Decimal(2), Decimal("2.5")])
_days = st.dates(date(2024, 2, 20), date(2024, 3, 10))


def _literal_for(kind: str) -> st.SearchStrategy[Literal]:
    values: dict[str, st.SearchStrategy[Literal]] = {
        "text": _texts.map(StringLit.of),
        "number": _numbers.map(lambda n: NumberLit(int(n) if n == int(n) else n)),
        "bool": st.booleans().map(BoolLit),
        "date": st.one_of(
            _days.map(DateLit),
            st.sampled_from(["TODAY", "YESTERDAY", "THIS_WEEK", "LAST_MONTH", "THIS_MONTH"]).map(
                RelativeDate
            ),
            st.integers(0, 5).map(lambda n: RelativeDate("LAST_N_DAYS", n)),
        ),
    }
    return st.one_of(values[kind], st.just(NullLit()))


@st.composite
def _tests(draw: st.DrawFn) -> Condition:
    name = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[name]
    path = FieldPath((name,))
    if kind == "text" and draw(st.booleans()):
        return Comparison(path, "LIKE", StringLit.of(draw(_texts)))
    if draw(st.booleans()):
        values = tuple(draw(st.lists(_literal_for(kind), min_size=1, max_size=3)))
        return InList(path, values, draw(st.booleans()))
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    return Comparison(path, op, draw(_literal_for(kind)))


_conditions = st.recursive(
    _tests(),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda cs: And(tuple(cs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs))),
    ),
    max_leaves=6,
)
_records = st.fixed_dictionaries(
    {
        "LastName": st.one_of(
            st.none(), st.sampled_from(["a", "A", "ab", "AB%", "b_c", "bxc", ""])
        ),
        "Score__c": st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 2, 2.5, Decimal("2.50")])),
        "IsActive__c": st.one_of(st.none(), st.booleans()),
        "Birthdate": st.one_of(st.none(), _days),
    }
)


def _reference_span(literal: Literal, today: date) -> tuple[Any, Any] | None:
    """Start and end (exclusive) days of a date literal, computed independently."""
    if isinstance(literal, DateLit):
        return literal.value, literal.value + timedelta(days=1)
    if not isinstance(literal, RelativeDate):
        return None
    if literal.name == "TODAY":
        return today, today + timedelta(days=1)
    if literal.name == "YESTERDAY":
        return today - timedelta(days=1), today
    if literal.name == "LAST_N_DAYS":
        return today - timedelta(days=literal.n or 0), today + timedelta(days=1)
    if literal.name == "THIS_WEEK":
        sunday = today - timedelta(days=today.isoweekday() % 7)
        return sunday, sunday + timedelta(days=7)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    if literal.name == "THIS_MONTH":
        return first, following
    return (first - timedelta(days=1)).replace(day=1), first


def _reference(condition: Condition, record: dict[str, Any], today: date) -> bool:
    if isinstance(condition, Not):
        return not _reference(condition.operand, record, today)
    if isinstance(condition, And):
        return all(_reference(c, record, today) for c in condition.operands)
    if isinstance(condition, Or):
        return any(_reference(c, record, today) for c in condition.operands)
    name = condition.path.parts[0]
    value = record[name]
    if isinstance(condition, InList):
        hit = any(_reference_compare("=", value, v, today) for v in condition.values)
        return hit != condition.negated
    if condition.op == "LIKE":
        assert isinstance(condition.value, StringLit)
        return value is not None and _like(value.lower(), condition.value.value.lower())
    return _reference_compare(condition.op, value, condition.value, today)


def _like(text: str, pattern: str) -> bool:
    if not pattern:
        return not text
    if pattern[0] == "%":
        return any(_like(text[i:], pattern[1:]) for i in range(len(text) + 1))
    if not text:
        return False
    return (pattern[0] == "_" or pattern[0] == text[0]) and _like(text[1:], pattern[1:])


def _reference_compare(op: str, value: Any, literal: Literal, today: date) -> bool:
    if isinstance(literal, NullLit):
        target: Any = None
    elif isinstance(literal, StringLit):
        target = literal.value.lower()
    elif isinstance(literal, NumberLit | BoolLit):
        target = literal.value
    else:
        span = _reference_span(literal, today)
        assert span is not None
        low, high = span
        if value is None:
            return op == "!="
        inside = bool(low <= value < high)
        outcomes = {
            "=": inside,
            "!=": not inside,
            "<": bool(value < low),
            "<=": bool(value < high),
            ">": bool(value >= high),
            ">=": bool(value >= low),
        }
        return outcomes[op]
    if isinstance(value, str):
        value = value.lower()
    if isinstance(value, float):
        value = Decimal(str(value))
    if op == "=":
        return bool(value == target)
    if op == "!=":
        return bool(value != target)
    if value is None or target is None:
        return False
    return bool(
        {"<": value < target, "<=": value <= target, ">": value > target, ">=": value >= target}[op]
    )


@settings(max_examples=300, deadline=None)
@given(
    _conditions,
    st.lists(_records, max_size=6),
    st.datetimes(datetime(2024, 2, 25), datetime(2024, 3, 5)),
)
def test_where_agrees_with_a_reference_evaluator(
    condition: Condition, records: list[dict[str, Any]], now: datetime
) -> None:
    query = Query((FieldPath(("Id",)),), "Contact", where=condition)
    reparsed = parse(str(query))
    assert reparsed == query
    bound = bind(reparsed, SCHEMA)
    aware = now.replace(tzinfo=UTC)
    for record in records:
        assert bound.matches(record, resolve, aware) == _reference(condition, record, now.date())


_names = st.sampled_from(["Id", "Name", "Account__r", "x_y__c", "Owner"])
_paths = st.lists(_names, min_size=1, max_size=3).map(lambda parts: FieldPath(tuple(parts)))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_paths, min_size=1, max_size=3),
    st.one_of(st.none(), _conditions),
    st.lists(
        st.builds(OrderItem, _paths, st.booleans(), st.sampled_from([None, "FIRST", "LAST"])),
        max_size=2,
    ),
    st.one_of(st.none(), st.integers(0, 50000)),
    st.one_of(st.none(), st.integers(0, 2000)),
)
def test_printed_queries_parse_back_to_the_same_tree(
    fields: list[FieldPath],
    where: Condition | None,
    order: list[OrderItem],
    limit: int | None,
    offset: int | None,
) -> None:
    query = Query(tuple(fields), "Thing__c", False, where, tuple(order), limit, offset)
    assert parse(str(query)) == query


_like_alphabet = st.text(alphabet="aAbß_%", max_size=8)


@given(text=st.text(alphabet="aAbß", max_size=10), pattern=_like_alphabet)
def test_like_patterns_agree_with_a_plain_definition(text: str, pattern: str) -> None:
    """``%`` any run, ``_`` any one character, the rest one character ignoring case."""
    assert LikePattern.parse(pattern).matches(text) == _like(text.lower(), pattern.lower())


def test_escaped_wildcards_are_characters() -> None:
    pattern = LikePattern.parse("100\\%\\_%")
    assert pattern.matches("100%_ sure") and not pattern.matches("1000_ sure")


def test_like_takes_no_backtracking_time() -> None:
    """A pattern a backtracking regular expression needs ~n^5 steps for (and one more power
    for each further %), on the longest value a text field holds."""
    pattern = LikePattern.parse("%a%a%a%a%a%b")
    assert not pattern.matches("a" * 255)
    assert pattern.matches("a" * 254 + "b")
    assert not LikePattern.parse("%a_a_a_a%c").matches("a" * 131_072)


@pytest.mark.parametrize(
    ("where", "code", "words"),
    [
        ("(" * 3000 + "Score__c = 1" + ")" * 3000, "QUERY_TOO_COMPLICATED", "nested more"),
        ("NOT " * 5000 + "Score__c = 1", "QUERY_TOO_COMPLICATED", "nested more than 100"),
        ("CreatedDate = LAST_N_DAYS:99999999", "MALFORMED_QUERY", "years 1 to 9999"),
        ("CreatedDate = NEXT_N_YEARS:99999", "MALFORMED_QUERY", "years 1 to 9999"),
    ],
)
def test_deep_or_huge_conditions_are_refused_by_name(where: str, code: str, words: str) -> None:
    error = refused(f"SELECT Id FROM Contact WHERE {where}")
    assert error.code == code and words in error.message


def test_limits_beyond_a_soql_integer_are_malformed() -> None:
    error = refused("SELECT Id FROM Contact LIMIT 99999999999999999999999")
    assert error.code == "MALFORMED_QUERY" and "at most 2147483647" in error.message
    assert error.column == len("SELECT Id FROM Contact LIMIT ") + 1
    nested = parse("SELECT Id FROM Contact WHERE " + "(" * 100 + "Email = 'a'" + ")" * 100)
    assert str(nested.where) == "Email = 'a'"
    assert parse("SELECT Id FROM Contact LIMIT 2147483647").limit == 2**31 - 1
