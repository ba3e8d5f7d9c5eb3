"""THE field-type table: every fact sftk knows about a custom field type lives in one row here.

The spec loader reads which options a type takes, the renderer reads the XML values and
defaults, the offline rules read the limits, and later the local org and the sync mapper read
the describe type and the value coercion. Limits are Salesforce's documented ones.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TEXT_MAX = 255
LONG_TEXT_MIN = 256
LONG_TEXT_MAX = 131_072
LONG_TEXT_DEFAULT = 32_768
NUMERIC_MAX_PRECISION = 18
EMAIL_MAX = 80
ENCRYPTED_TEXT_MAX = 175
MAX_MASTER_DETAIL_PER_OBJECT = 2
PICKLIST_VALUE_MAX = 255


def _text(value: Any) -> str:
    return str(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _decimal(value: Any) -> decimal.Decimal:
    try:
        return decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _time(value: Any) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value).rstrip("Z"))


def _multi(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class FieldType:
    """One custom field type.

    ``options`` are the spec keys this type accepts beyond the common ones; ``required_options``
    must be given. ``implicitly_required`` types (master-detail) and ``read_only`` types (auto
    numbers, formulas, roll-up summaries) take no field permissions Salesforce would refuse.
    ``calculated`` types are computed by the org (formulas, roll-up summaries): a describe says
    so and writes refuse them. ``xml_defaults`` are elements the renderer emits when the spec
    leaves them out (Salesforce insists on them, e.g. a Checkbox's defaultValue).
    """

    name: str
    describe_type: str
    coerce: Callable[[Any], Any]
    options: frozenset[str] = frozenset()
    required_options: frozenset[str] = frozenset()
    length_range: tuple[int, int] | None = None
    default_length: int | None = None
    default_visible_lines: int | None = None
    numeric: bool = False
    external_id_allowed: bool = False
    unique_allowed: bool = False
    case_sensitive_allowed: bool = False
    can_be_required: bool = True
    implicitly_required: bool = False
    read_only: bool = False
    calculated: bool = False
    is_relationship: bool = False
    is_picklist: bool = False
    default_value_allowed: bool = True
    xml_defaults: tuple[tuple[str, str], ...] = ()


_NUMERIC_OPTIONS = frozenset({"precision", "scale"})
_PICKLIST_OPTIONS = frozenset(
    {"values", "restricted", "sorted", "global_value_set", "controlling_field", "value_settings"}
)

FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType(
            "Text",
            "string",
            _text,
            options=frozenset({"length"}),
            length_range=(1, TEXT_MAX),
            default_length=TEXT_MAX,
            external_id_allowed=True,
            unique_allowed=True,
            case_sensitive_allowed=True,
        ),
        FieldType(
            "TextArea",
            "textarea",
            _text,
            default_value_allowed=True,
        ),
        FieldType(
            "LongTextArea",
            "textarea",
            _text,
            options=frozenset({"length", "visible_lines"}),
            length_range=(LONG_TEXT_MIN, LONG_TEXT_MAX),
            default_length=LONG_TEXT_DEFAULT,
            default_visible_lines=3,
            can_be_required=False,
            default_value_allowed=False,
        ),
        FieldType(
            "Html",
            "textarea",
            _text,
            options=frozenset({"length", "visible_lines"}),
            length_range=(LONG_TEXT_MIN, LONG_TEXT_MAX),
            default_length=LONG_TEXT_DEFAULT,
            default_visible_lines=25,
            can_be_required=False,
            default_value_allowed=False,
        ),
        FieldType(
            "Email",
            "email",
            _text,
            external_id_allowed=True,
            unique_allowed=True,
        ),
        FieldType("Phone", "phone", _text),
        FieldType("Url", "url", _text),
        FieldType(
            "Number",
            "double",
            _decimal,
            options=_NUMERIC_OPTIONS,
            numeric=True,
            external_id_allowed=True,
            unique_allowed=True,
            xml_defaults=(("precision", "18"), ("scale", "0")),
        ),
        FieldType(
            "Currency",
            "currency",
            _decimal,
            options=_NUMERIC_OPTIONS,
            numeric=True,
            xml_defaults=(("precision", "18"), ("scale", "2")),
        ),
        FieldType(
            "Percent",
            "percent",
            _decimal,
            options=_NUMERIC_OPTIONS,
            numeric=True,
            xml_defaults=(("precision", "5"), ("scale", "2")),
        ),
        FieldType(
            "Checkbox",
            "boolean",
            _boolean,
            can_be_required=False,
            xml_defaults=(("defaultValue", "false"),),
        ),
        FieldType("Date", "date", _date),
        FieldType("DateTime", "datetime", _datetime),
        FieldType("Time", "time", _time),
        FieldType(
            "Picklist",
            "picklist",
            _text,
            options=_PICKLIST_OPTIONS,
            is_picklist=True,
            default_value_allowed=False,
        ),
        FieldType(
            "MultiselectPicklist",
            "multipicklist",
            _multi,
            options=_PICKLIST_OPTIONS | {"visible_lines"},
            default_visible_lines=4,
            is_picklist=True,
            default_value_allowed=False,
        ),
        FieldType(
            "Lookup",
            "reference",
            _text,
            options=frozenset(
                {
                    "reference_to",
                    "relationship_name",
                    "relationship_label",
                    "delete_constraint",
                    "lookup_filter",
                }
            ),
            required_options=frozenset({"reference_to", "relationship_name"}),
            is_relationship=True,
            default_value_allowed=False,
        ),
        FieldType(
            "MasterDetail",
            "reference",
            _text,
            options=frozenset(
                {
                    "reference_to",
                    "relationship_name",
                    "relationship_label",
                    "reparentable",
                    "write_requires_master_read",
                    "lookup_filter",
                }
            ),
            required_options=frozenset({"reference_to", "relationship_name"}),
            is_relationship=True,
            can_be_required=False,
            implicitly_required=True,
            default_value_allowed=False,
        ),
        FieldType(
            "AutoNumber",
            "string",
            _text,
            options=frozenset({"display_format", "starting_number"}),
            required_options=frozenset({"display_format"}),
            external_id_allowed=True,
            can_be_required=False,
            read_only=True,
            default_value_allowed=False,
        ),
        # A formula's <type> is its result type (FieldSpec.xml_type), whose row gives the
        # describe type and coercion; this row holds what the spec of one may say.
        FieldType(
            "Formula",
            "string",
            _text,
            options=frozenset({"formula", "returns", "blank_as", "precision", "scale"}),
            required_options=frozenset({"formula", "returns"}),
            can_be_required=False,
            read_only=True,
            calculated=True,
            default_value_allowed=False,
        ),
        # A roll-up summary; its describe type is its summarized field's (double for count).
        FieldType(
            "Summary",
            "double",
            _decimal,
            options=frozenset(
                {"summary_operation", "summary_foreign_key", "summarized_field", "summary_filters"}
            ),
            required_options=frozenset({"summary_operation", "summary_foreign_key"}),
            can_be_required=False,
            read_only=True,
            calculated=True,
            default_value_allowed=False,
        ),
        # Geolocation: a latitude and a longitude (X__Latitude__s, X__Longitude__s).
        FieldType(
            "Location",
            "location",
            _text,
            options=frozenset({"scale", "display_location_in_decimal"}),
            required_options=frozenset({"scale"}),
            default_value_allowed=False,
        ),
        FieldType(
            "EncryptedText",
            "encryptedstring",
            _text,
            options=frozenset({"length", "mask_char", "mask_type"}),
            length_range=(1, ENCRYPTED_TEXT_MAX),
            default_length=ENCRYPTED_TEXT_MAX,
            default_value_allowed=False,
            xml_defaults=(("maskChar", "asterisk"), ("maskType", "all")),
        ),
    )
}

FIELD_TYPE_NAMES: tuple[str, ...] = tuple(FIELD_TYPES)
DELETE_CONSTRAINTS = ("SetNull", "Restrict", "Cascade")
# The types a formula may return, the numeric ones among them (which take precision and
# scale), and how it counts blank fields (spec word -> <formulaTreatBlanksAs>).
FORMULA_RETURNS = ("Checkbox", "Currency", "Date", "DateTime", "Number", "Percent", "Text", "Time")
NUMERIC_RETURNS = frozenset(name for name in FORMULA_RETURNS if FIELD_TYPES[name].numeric)
BLANK_AS = {"zero": "BlankAsZero", "blank": "BlankAsBlank"}
SUMMARY_OPERATIONS = ("count", "sum", "min", "max")


def field_type(name: str) -> FieldType | None:
    return FIELD_TYPES.get(name)


# Describe types of standard fields that no custom field type produces.
_STANDARD_DESCRIBE_COERCE: dict[str, Callable[[Any], Any]] = {
    "int": _decimal,
    "combobox": _text,
    "id": _text,
}
_COERCE_BY_DESCRIBE: dict[str, Callable[[Any], Any]] = dict(_STANDARD_DESCRIBE_COERCE)
for _type in FIELD_TYPES.values():
    _COERCE_BY_DESCRIBE.setdefault(_type.describe_type, _type.coerce)


def coerce_value(describe_type: str, value: Any) -> Any:
    """A value for a field known only by its describe type (as the live schema has it), so
    standard fields (``int``, ``combobox``) coerce through the same table as custom ones."""
    coerce: Callable[[Any], Any] = _COERCE_BY_DESCRIBE.get(describe_type) or _text
    return coerce(value)


WireValue = str | int | float | bool | None
CSV_NULL = "#N/A"  # Bulk API: the cell that sets a field to null (a blank cell leaves it)


def wire_value(describe_type: str, value: Any) -> WireValue:
    """A value as Salesforce's REST JSON takes it for a field of ``describe_type``: coerced
    through the table, then numbers as JSON numbers, dates and times in ISO 8601 (a date-time
    without an offset is taken as UTC), multi-select values joined with ``;``. None and the
    empty string are null: a value gone from the source is cleared in Salesforce."""
    if value is None or value == "":
        return None
    coerced = coerce_value(describe_type, value)
    if isinstance(coerced, decimal.Decimal):
        if not coerced.is_finite():
            raise ValueError(f"not a number: {value!r}")
        integral = coerced == coerced.to_integral_value() and abs(coerced) < 2**53
        return int(coerced) if integral else float(coerced)
    if isinstance(coerced, dt.datetime):
        moment = coerced if coerced.tzinfo else coerced.replace(tzinfo=dt.UTC)
        utc = moment.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(coerced, dt.date):
        return coerced.isoformat()
    if isinstance(coerced, dt.time):
        return coerced.strftime("%H:%M:%S.") + f"{coerced.microsecond // 1000:03d}Z"
    if isinstance(coerced, bool | str):
        return coerced
    return str(coerced)


_TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "combobox", "id", "reference",
     "encryptedstring"}
)  # fmt: skip
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, True: True, False: False}


def wire_converter(describe_type: str) -> Callable[[Any], WireValue]:
    """``wire_value`` for one describe type, made once: a sync converts millions of values,
    and text and checkbox values, the common ones, take a short path."""
    if describe_type in _TEXT_TYPES:

        def text(value: Any) -> WireValue:
            if value is None or value == "":
                return None
            return value if isinstance(value, str) else str(value)

        return text
    if describe_type == "boolean":

        def boolean(value: Any) -> WireValue:
            found = _BOOLEANS.get(value) if isinstance(value, str | bool) else None
            return found if found is not None else wire_value("boolean", value)

        return boolean
    return functools.partial(wire_value, describe_type)


def csv_cell(value: WireValue) -> str:
    """A wire value as a Bulk API 2.0 CSV cell."""
    if value is None:
        return CSV_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
