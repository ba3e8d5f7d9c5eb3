"""Field mappings: a stream's source fields to Salesforce fields.

A stream's mapping is the plugin's defaults with the project's ``[mappings.<plugin>.<stream>]``
laid over them, line by line (each line knows where it came from, for ``sftk mappings show``).
Against the org's describe it is checked (fields exist and take writes, types fit, restricted
picklists know the values) and compiled into a ``RecordMapper``, which turns a source record
into the payload an upsert sends, coerced through the one field-type table, and its content
hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.config import MappingOverride
from toolkit.errors import ConfigError
from toolkit.metadata.fieldtypes import WireValue, csv_cell, wire_converter, wire_value
from toolkit.salesforce.records import FieldDescribe, ObjectDescribe
from toolkit.sync.contract import FieldMapping, MatchBy, ParentRef, StreamSpec

KEY_ORIGIN = "key"
DEFAULT_ORIGIN = "default"
PARENT_ORIGIN = "parent"
LOOKUP_ORIGIN = "lookup"
MATCH_ORIGIN = "match"
_TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox",
     "encryptedstring"}
)  # fmt: skip
_DATE_TYPES = frozenset({"date", "datetime"})


@dataclass(frozen=True)
class MappingLine:
    mapping: FieldMapping
    origin: str  # "key", "default", or where the override is: "sftk.toml:14"


@dataclass(frozen=True)
class StreamMapping:
    """A stream's mapping: the key line first, then one line per field, by field name."""

    plugin: str
    stream: StreamSpec
    lines: tuple[MappingLine, ...]


@dataclass(frozen=True)
class ParentLink:
    """A parent reference compiled against the describes: the child's lookup ``field``, the
    relationship name a record uses for it, and the parent stream's External ID field."""

    ref: ParentRef
    relationship: str
    parent_key: str


@dataclass(frozen=True)
class MappingProblem:
    """``severity`` error stops a sync before it writes; warning is shown."""

    target: str
    severity: str
    message: str
    hint: str
    origin: str


class MappingError(ValueError):
    """A record whose value cannot be written to a field: the record is dead-lettered."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def resolve(
    plugin: str,
    stream: StreamSpec,
    defaults: Sequence[FieldMapping],
    overrides: Sequence[MappingOverride],
) -> StreamMapping:
    """The plugin's default lines with the project's overrides applied."""
    fixed = {
        stream.key.lower(): "the stream's key",
        **{p.field.lower(): "a parent" for p in stream.parents},
        **{t.field.lower(): "a lookup" for ref in stream.lookups for t in ref.targets},
    }
    lines: dict[str, MappingLine] = {}
    for mapping in defaults:
        if mapping.target.lower() not in fixed:
            lines[mapping.target.lower()] = MappingLine(mapping, DEFAULT_ORIGIN)
    for override in overrides:
        if (override.plugin, override.stream) != (plugin, stream.name):
            continue
        target = override.mapping.target
        if target.lower() in fixed:
            raise ConfigError(
                f"{override.where}: {target} is {fixed[target.lower()]} of stream "
                f"{plugin}.{stream.name}, which sftk maps itself",
                hint=f"remove {target} from [mappings.{plugin}.{stream.name}]",
            )
        if override.skip:
            lines.pop(target.lower(), None)
        else:
            lines[target.lower()] = MappingLine(override.mapping, override.where)
    key = MappingLine(FieldMapping(stream.key, source=stream.source_key), KEY_ORIGIN)
    ordered = sorted(lines.values(), key=lambda line: line.mapping.target.lower())
    return StreamMapping(plugin, stream, (key, *ordered))


def unknown_overrides(
    overrides: Sequence[MappingOverride], streams: Mapping[tuple[str, str], StreamSpec]
) -> list[MappingOverride]:
    """Overrides for a plugin or stream that does not exist (a typo in sftk.toml)."""
    return [o for o in overrides if (o.plugin, o.stream) not in streams]


# --- checking against the org ------------------------------------------------------------------


def check(
    mapping: StreamMapping,
    describe: ObjectDescribe,
    parents: Mapping[str, ObjectDescribe],
    parent_keys: Mapping[str, str],
) -> list[MappingProblem]:
    """Every problem of a stream's mapping against the org's describe of its object and of
    its parents' objects (by parent stream name; ``parent_keys`` their External ID fields)."""
    problems: list[MappingProblem] = []
    stream = mapping.stream
    for line in mapping.lines:
        problems += _check_line(line, describe, is_key=line.origin == KEY_ORIGIN)
    for ref in stream.parents:
        problems += _check_parent(
            ref, describe, parents.get(ref.stream), parent_keys.get(ref.stream)
        )
    problems += _check_match(mapping, describe)
    return problems


def _check_match(mapping: StreamMapping, describe: ObjectDescribe) -> list[MappingProblem]:
    """The stream's ``match`` fields exist and its mapping writes them (the values compared
    are those the record would be written with)."""
    written = {line.mapping.target.lower() for line in mapping.lines}
    problems = []
    for name in mapping.stream.match:
        line = MappingLine(FieldMapping(name), MATCH_ORIGIN)
        if describe.field(name) is None:
            problems.append(
                _problem(
                    line,
                    "error",
                    f"{describe.name} has no field {name} to match records by",
                    "deploy the field, or match by another one",
                )
            )
        elif name.lower() not in written:
            problems.append(
                _problem(
                    line,
                    "error",
                    f"the stream matches records by {name}, which its mapping does not write",
                    f"map {name} (or remove it from [mappings] skips)",
                )
            )
    return problems


def _problem(line: MappingLine, severity: str, message: str, hint: str) -> MappingProblem:
    return MappingProblem(line.mapping.target, severity, message, hint, line.origin)


def _check_line(
    line: MappingLine, describe: ObjectDescribe, *, is_key: bool
) -> list[MappingProblem]:
    mapping = line.mapping
    found = describe.field(mapping.target)
    if found is None:
        return [
            _problem(
                line,
                "error",
                f"{describe.name} has no field {mapping.target}",
                "deploy the field first (sftk deploy), or fix or skip the line in [mappings]"
                if not is_key
                else "deploy the External ID field first",
            )
        ]
    problems = []
    if is_key and not (found.external_id or found.id_lookup):
        problems.append(
            _problem(
                line,
                "error",
                f"{describe.name}.{found.name} is not an External ID field",
                "mark it external_id = true in its spec and deploy, or key the stream on "
                "a field that is one",
            )
        )
    if found.calculated or not (found.createable or found.updateable):
        problems.append(
            _problem(
                line,
                "error",
                f"{describe.name}.{found.name} is read-only (formula, auto number or system)",
                "remove the line or map another field",
            )
        )
    elif not found.createable:
        problems.append(
            _problem(line, "warning", f"{found.name} cannot be set on new records", "-")
        )
    elif not found.updateable and not is_key:
        problems.append(
            _problem(line, "warning", f"{found.name} cannot be changed once a record exists", "-")
        )
    problems += _check_values(line, found)
    return problems


def _check_values(line: MappingLine, found: FieldDescribe) -> list[MappingProblem]:
    mapping = line.mapping
    problems = []
    if (mapping.date_format or mapping.datetime_format) and found.type not in _DATE_TYPES:
        problems.append(
            _problem(
                line,
                "error",
                f"a date format is given, but {found.name} is a {found.type} field",
                "remove date_format / datetime_format from the line",
            )
        )
    fixed: list[object] = [v for _, v in mapping.values]
    if mapping.source is None and mapping.constant is not None:
        fixed.append(mapping.constant)
    if mapping.default is not None:
        fixed.append(mapping.default)
    for value in fixed:
        try:
            wired = wire_value(found.type, value)
        except ValueError as exc:
            problems.append(
                _problem(
                    line, "error", f"{value!r} does not fit {found.name}: {exc}", "fix the value"
                )
            )
            continue
        problems += _picklist_problems(line, found, wired)
    return problems


def _picklist_problems(
    line: MappingLine, found: FieldDescribe, wired: WireValue
) -> list[MappingProblem]:
    if not found.restricted_picklist or wired is None:
        return []
    values = str(wired).split(";") if found.type == "multipicklist" else [str(wired)]
    unknown = [v for v in values if v not in found.picklist_values]
    if not unknown:
        return []
    return [
        _problem(
            line,
            "error",
            f"{unknown[0]!r} is not a value of the restricted picklist {found.name}",
            "values: " + ", ".join(found.picklist_values),
        )
    ]


def _check_parent(
    ref: ParentRef,
    describe: ObjectDescribe,
    parent: ObjectDescribe | None,
    parent_key: str | None,
) -> list[MappingProblem]:
    line = MappingLine(FieldMapping(ref.field, source=ref.source_field), PARENT_ORIGIN)
    found = describe.field(ref.field)
    if found is None or found.type != "reference":
        return [
            _problem(
                line,
                "error",
                f"{describe.name}.{ref.field} is not a lookup or master-detail field",
                "name the child's relationship field, like AccountId or Course__c",
            )
        ]
    if parent is None or parent_key is None:
        return []
    problems = []
    if parent.name not in found.reference_to:
        problems.append(
            _problem(
                line,
                "error",
                f"{describe.name}.{found.name} refers to {', '.join(found.reference_to)}, "
                f"not to {parent.name} (stream {ref.stream})",
                "point the parent at the stream of the object the field refers to",
            )
        )
    key = parent.field(parent_key)
    if key is None or not (key.external_id or key.id_lookup):
        problems.append(
            _problem(
                line,
                "error",
                f"{parent.name}.{parent_key} is not an External ID field, so records cannot "
                "refer to their parent by it",
                f"mark {parent_key} external_id = true on {parent.name} and deploy",
            )
        )
    return problems


def match_objects(stream: StreamSpec) -> list[str]:
    """The objects a stream finds records in by a field (its lookups, ``unless_found``)."""
    matches = [t.match for ref in stream.lookups for t in ref.targets] + list(stream.unless_found)
    return list(dict.fromkeys(m.object for m in matches))


def check_lookups(
    stream: StreamSpec,
    describe: ObjectDescribe,
    others: Mapping[str, ObjectDescribe | None],
) -> list[MappingProblem]:
    """Problems of the stream's lookups, ``unless_found`` and guard against the org: each
    lookup field refers to the object its target searches, every field searched exists,
    the guard reads fields the object has. ``others``: the describes of the objects searched
    (None for one the org lacks)."""
    problems: list[MappingProblem] = []
    for ref in stream.lookups:
        for target in ref.targets:
            line = MappingLine(FieldMapping(target.field, source=ref.source_field), LOOKUP_ORIGIN)
            found = describe.field(target.field)
            if found is None or found.type != "reference":
                problems.append(
                    _problem(
                        line,
                        "error",
                        f"{describe.name}.{target.field} is not a lookup field",
                        "deploy the lookup first (sftk deploy), or fix the stream's lookups",
                    )
                )
                continue
            if target.match.object not in found.reference_to:
                problems.append(
                    _problem(
                        line,
                        "error",
                        f"{describe.name}.{found.name} refers to {', '.join(found.reference_to)}, "
                        f"not to {target.match.object}",
                        "point the lookup target at the object the field refers to",
                    )
                )
            if not (found.createable and found.updateable):
                problems.append(
                    _problem(line, "error", f"{describe.name}.{found.name} is read-only", "-")
                )
            problems += _match_problems(line, target.match, others)
    for match in stream.unless_found:
        line = MappingLine(FieldMapping(stream.key, source=stream.source_key), LOOKUP_ORIGIN)
        problems += _match_problems(line, match, others)
    if stream.guard is not None:
        line = MappingLine(FieldMapping(stream.key), "guard")
        missing = [name for name in stream.guard.fields if describe.field(name) is None]
        if missing:
            problems.append(
                _problem(
                    line,
                    "error",
                    f"the stream's guard reads {', '.join(missing)}, which {describe.name} lacks",
                    "deploy the plugin's metadata first (sftk deploy)",
                )
            )
    return problems


def _match_problems(
    line: MappingLine, match: MatchBy, others: Mapping[str, ObjectDescribe | None]
) -> list[MappingProblem]:
    searched = others.get(match.object)
    if searched is None:
        return [
            _problem(
                line, "error", f"the org has no object {match.object} to search", "deploy it first"
            )
        ]
    if searched.field(match.field) is None:
        return [
            _problem(
                line,
                "error",
                f"{match.object} has no field {match.field} to find records by",
                "fix the stream's lookups",
            )
        ]
    return []


def link_parents(
    stream: StreamSpec, describe: ObjectDescribe, parent_keys: Mapping[str, str]
) -> tuple[ParentLink, ...]:
    links = []
    for ref in stream.parents:
        found = describe.field(ref.field)
        assert found is not None and found.relationship_name, "checked before"
        links.append(ParentLink(ref, found.relationship_name, parent_keys[ref.stream]))
    return tuple(links)


# --- mapping records ---------------------------------------------------------------------------

Payload = dict[str, Any]


def content_hash(payload: Payload) -> bytes:
    """What a record's payload is, in 16 bytes: the same payload always gives the same hash,
    and any change of a value, a field or a parent another one. Payloads of one mapping list
    their fields in one order, so the fields are hashed as they come, not sorted."""
    text = repr((tuple(payload), tuple(payload.values())))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class _Field:
    """One mapping line compiled: where its value comes from, the steps, the conversion."""

    __slots__ = ("constant", "convert", "name", "source", "steps", "type")

    def __init__(self, mapping: FieldMapping, found: FieldDescribe) -> None:
        self.name = found.name
        self.type = found.type
        self.source = mapping.source
        self.convert = wire_converter(found.type)
        plain = not (
            mapping.transforms
            or mapping.values
            or mapping.default is not None
            or mapping.date_format
            or mapping.datetime_format
        )
        self.steps: Callable[[Any], Any] | None = None if plain else _steps(mapping)
        self.constant = mapping.constant

    def value(self, data: Mapping[str, Any]) -> WireValue:
        raw = self.constant if self.source is None else data.get(self.source)
        try:
            return self.convert(raw if self.steps is None else self.steps(raw))
        except (ValueError, TypeError, ArithmeticError) as exc:
            source = self.source or "the constant"
            raise MappingError(
                self.name,
                f"{source} = {raw!r} cannot be written to {self.name} ({self.type}): {exc}",
            ) from None


class RecordMapper:
    """A stream's mapping compiled against the org's describe: source record -> payload."""

    def __init__(
        self, mapping: StreamMapping, describe: ObjectDescribe, parents: Sequence[ParentLink]
    ) -> None:
        self.mapping = mapping
        self.fields: list[tuple[FieldMapping, FieldDescribe]] = []
        for line in mapping.lines:
            found = describe.field(line.mapping.target)
            assert found is not None, "checked before"
            self.fields.append((line.mapping, found))
        self.compiled = [_Field(m, found) for m, found in self.fields]
        # Lines that take a source field as it is: converted in one pass, the common case.
        self.plain = [
            (f.name, f.source, f.convert) for f in self.compiled if f.steps is None and f.source
        ]
        self.other = [f for f in self.compiled if f.steps is not None or not f.source]
        self.parents = tuple(parents)
        self.columns = [f.name for _, f in self.fields]
        for link in self.parents:
            self.columns += [f"{link.relationship}.{link.parent_key}", link.ref.field]
        # Lookups found by a field that is not an External ID (StreamSpec.lookups), by the
        # names the org gives them; their values are set by the stream's run, not mapped.
        self.lookup_names: dict[str, str] = {}
        for ref in mapping.stream.lookups:
            for target in ref.targets:
                found_lookup = describe.field(target.field)
                assert found_lookup is not None, "checked before"
                self.lookup_names[target.field.lower()] = found_lookup.name
        self.lookup_fields = list(dict.fromkeys(self.lookup_names.values()))
        self.columns += self.lookup_fields
        self.sources = tuple(
            dict.fromkeys(
                [m.source for m, _ in self.fields if m.source is not None]
                + [link.ref.source_field for link in self.parents]
            )
        )
        self.unseen = set(self.sources)  # source fields no record has had yet
        # Everything besides the record's values that decides its payload: a change of the
        # mapping or of a field's type makes every record's hash new, so all are sent again.
        self.fingerprint = repr(
            ([(m, found.type) for m, found in self.fields], self.parents, mapping.stream.lookups)
        ).encode("utf-8")

    def source_hash(self, data: Mapping[str, Any]) -> bytes:
        """The hash of what the mapping takes from a record (with the mapping's own
        fingerprint): equal hashes mean equal payloads, without mapping the record."""
        if self.unseen:
            self.unseen.difference_update(data.keys())
        get = data.get
        text = repr(tuple([get(source) for source in self.sources]))
        return hashlib.blake2b(
            self.fingerprint + text.encode("utf-8", "surrogatepass"), digest_size=16
        ).digest()

    def payload(self, data: Mapping[str, Any]) -> Payload:
        """The fields to send; a parent is named by its External ID, or cleared when the
        record has none."""
        get = data.get
        try:
            payload: Payload = {name: convert(get(source)) for name, source, convert in self.plain}
        except (ValueError, TypeError, ArithmeticError):
            payload = {field.name: field.value(data) for field in self.compiled}  # names it
        for field in self.other:
            payload[field.name] = field.value(data)
        for link in self.parents:
            parent = data.get(link.ref.source_field)
            if parent is None or parent == "":
                payload[link.ref.field] = None
            else:
                payload[link.relationship] = {link.parent_key: str(parent)}
        return payload

    def csv_row(self, payload: Payload) -> list[str]:
        """The payload as a Bulk API row in ``columns`` order: a parent by its External ID
        column, or its lookup cleared with #N/A; blank cells are left alone."""
        row = [
            value if value.__class__ is str else csv_cell(value)
            for value in (payload[field.name] for field in self.compiled)
        ]
        for link in self.parents:
            reference = payload.get(link.relationship)
            if reference is None:
                row += ["", csv_cell(None)]
            else:
                row += [str(reference[link.parent_key]), ""]
        row += [csv_cell(payload.get(name)) for name in self.lookup_fields]
        return row


def _steps(mapping: FieldMapping) -> Callable[[Any], Any]:
    values = dict(mapping.values)

    def steps(value: Any) -> Any:
        return _transformed(mapping, values, value)

    return steps


def _transformed(mapping: FieldMapping, values: dict[str, str], value: Any) -> Any:
    if isinstance(value, str):
        for name in mapping.transforms:
            value = (
                value.strip()
                if name == "trim"
                else value.lower()
                if name == "lower"
                else value.upper()
            )
    if values and value is not None:
        value = values.get(str(value), value)
    if (value is None or value == "") and mapping.default is not None:
        value = mapping.default
    if isinstance(value, str) and value:
        if mapping.date_format:
            value = dt.datetime.strptime(value, mapping.date_format).date()
        elif mapping.datetime_format:
            value = dt.datetime.strptime(value, mapping.datetime_format)
    return value
