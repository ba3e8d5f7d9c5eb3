"""What a source plugin promises, one check each, run by the contract suite
(``toolkit.testing.contract``) against a project enabling the plugin on the kit's org.

A broken promise raises ``PromiseBroken``: the promise in words, then what was seen (the
stream, the record key, the field, the values) and how such a break usually comes about, so
that the author can fix the plugin from the message alone.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from toolkit.config import PluginSettings
from toolkit.errors import SftkError
from toolkit.hookspecs import ENTRY_POINT_GROUP
from toolkit.sync import cursor as cursors
from toolkit.sync.contract import (
    TRANSFORMS,
    Bookmark,
    FieldMapping,
    ReadRequest,
    SettingProblem,
    SourceItem,
    SourceRecord,
    StreamSpec,
)
from toolkit.sync.mappings_view import show_mappings
from toolkit.sync.report import RunReport, stream_line
from toolkit.sync.streams import PlannedStream, all_streams, default_mappings
from toolkit.testing.kit import PROFILE, DeployFailed, KitProject, command_env
from toolkit.validation import validate_project

PROMISES = {
    "loads": "the plugin loads with no warnings",
    "settings": "its settings are validated",
    "specs": "its specs are well formed, render and pass sftk validate",
    "deploys": "its metadata deploys to the local org",
    "mappings": "every default mapping targets a field that exists and is writable",
    "first_sync": "a first sync writes",
    "second_sync": "a second sync writes nothing",
    "future_cursor": "a cursor in the future reads nothing",
    "bad_record": "a record made bad on purpose is dead-lettered while the others land",
    "killed_run": "a sync killed mid-run and run again leaves no duplicates",
}
UNKNOWN_KEY = "sftk_contract_unknown_key"  # a settings key no plugin takes
SHOWN = 5  # keys or records named in a message before "…"
# The calls that write records: a sync killed while one of them is in flight.
WRITE_ROUTES = r"rest\.collections\.(create|update|upsert)|bulk2\.ingest\.state"
KILL_LATENCY = 1.0  # seconds the org holds the first write call, while the sync is killed
START_TIMEOUT = 120.0  # seconds a killed run may take to reach its first write call
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PYTHON_WARNING = re.compile(r"^(?P<file>.+?):\d+: \w*Warning: ")


class PromiseBroken(AssertionError):
    def __init__(self, promise: str, problems: Sequence[str], hint: str | None = None) -> None:
        self.promise = promise
        self.problems = tuple(problems)
        lines = [f"promise broken: {PROMISES[promise]}", *(f"  {p}" for p in problems)]
        if hint:
            lines.append(f"  hint: {hint}")
        super().__init__("\n".join(lines))


def _broken(promise: str, problems: Sequence[str], hint: str | None = None) -> NoReturn:
    raise PromiseBroken(promise, problems, hint)


def _some(items: Iterable[Any]) -> str:
    listed = sorted(str(item) for item in items)
    more = f" (and {len(listed) - SHOWN} more)" if len(listed) > SHOWN else ""
    return ", ".join(listed[:SHOWN]) + more


# --- what the promises share -------------------------------------------------------------------


def plugin_streams(project: KitProject, plugin: str, promise: str) -> list[PlannedStream]:
    try:
        planned = [s for s in all_streams(project.open()) if s.plugin == plugin]
    except SftkError as exc:
        _broken(promise, [f"its streams cannot be listed: {exc.message}"], exc.hint)
    if not planned:
        _broken(
            promise,
            [f"plugin {plugin} declares no stream (sftk_sources returned none)"],
            "a source plugin returns a SourceSpec with its streams from sftk_sources; check "
            "that the plugin is enabled and its settings are the ones its sources need",
        )
    return planned


def read_items(planned: PlannedStream, request: ReadRequest, promise: str) -> list[SourceItem]:
    try:
        return list(planned.source.read(planned.stream, request))
    except Exception as exc:  # the plugin's reader is under test: say where it broke
        _broken(
            promise,
            [f"stream {planned.label}: reading failed: {type(exc).__name__}: {exc}"],
            "SourceSpec.read should raise SourceError for a source it cannot read",
        )


def live_records(items: Iterable[SourceItem]) -> list[SourceRecord]:
    return [item for item in items if isinstance(item, SourceRecord) and not item.deleted]


def source_keys(planned: PlannedStream, promise: str) -> set[str]:
    """The keys of every record the stream's source yields now, as the engine reads them."""
    records = live_records(read_items(planned, ReadRequest(), promise))
    key = planned.stream.source_key
    return {str(r.data[key]) for r in records if r.data.get(key) not in (None, "")}


def org_keys(project: KitProject, stream: StreamSpec) -> Counter[str]:
    """How many records of the stream's object hold each External ID value."""
    rows = project.org.records(stream.object, stream.key, f"{stream.key} != null")
    return Counter(_key_text(row[stream.key]) for row in rows)


def _key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ready(project: KitProject, promise: str) -> None:
    """Deploy the project's metadata (once per session) and empty its streams' objects."""
    try:
        project.deploy()
        project.reset()
    except DeployFailed as exc:
        _broken(promise, [f"cannot be checked: {exc}"], f"see '{PROMISES['deploys']}'")
    except SftkError as exc:
        _broken(promise, [f"cannot be checked: {exc.message}"], exc.hint)


def run_sync(project: KitProject, promise: str, **options: Any) -> RunReport:
    try:
        return project.sync(**options)
    except SftkError as exc:
        _broken(promise, [f"the sync stopped: {exc.message}"], exc.hint)


def run_problems(report: RunReport) -> list[str]:
    """What went wrong in a run that should have succeeded, as lines."""
    if report.status == "succeeded":
        return []
    lines = [f"the sync ended {report.status}" + (f": {report.error}" if report.error else "")]
    lines += [stream_line(stream).strip() for stream in report.streams]
    lines += [
        f"dead letter {f.stream} {f.key}: {f.code}: {f.message}" for f in report.failures[:SHOWN]
    ]
    return lines


# --- the promises ------------------------------------------------------------------------------


def loads(project: KitProject, plugin: str) -> None:
    """``sftk plugins`` lists the plugin enabled with no error (sftk's warnings say the same),
    and Python warns of nothing in the plugin's code."""
    promise = "loads"
    result = project.run("plugins", "--json", env={"PYTHONWARNINGS": "default"})
    if result.returncode != 0:
        _broken(promise, [f"sftk plugins exited {result.returncode}: {result.stderr.strip()}"])
    found = {entry["name"]: entry for entry in json.loads(result.stdout)}
    entry = found.get(plugin)
    if entry is None or not (entry["distribution"] or entry["builtin"]):
        _broken(
            promise,
            [f"no plugin named {plugin} is installed (entry-point group {ENTRY_POINT_GROUP})"],
            "install the plugin (pip install -e . in its folder); its pyproject.toml declares "
            f'[project.entry-points."{ENTRY_POINT_GROUP}"] {plugin} = "its_module"',
        )
    problems = []
    if entry["status"] != "enabled" or entry["error"]:
        problems.append(f"sftk plugins shows it {entry['status']}: {entry['error']}")
    folder = _module_folder(plugin)
    for line in result.stderr.splitlines():
        python = _PYTHON_WARNING.match(line)
        if python and folder is not None and Path(python["file"]).is_relative_to(folder):
            problems.append(line.strip())
    if problems:
        _broken(promise, problems)


def _module_folder(plugin: str) -> Path | None:
    """Where the plugin's code lives, found without importing it."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=plugin):
        spec = importlib.util.find_spec(ep.module.split(".")[0])
        if spec is not None and spec.origin:
            return Path(spec.origin).resolve().parent
    return None


def settings(
    project: KitProject,
    plugin: str,
    table: Mapping[str, Any],
    bad: Sequence[tuple[Mapping[str, Any], str]],
) -> None:
    """The plugin checks its ``[plugins.NAME]`` table: ``table`` passes, an unknown key is
    named, and each of ``bad`` (changes to ``table``, the key they spoil) is named."""
    promise = "settings"
    plugins = project.open().plugins
    hook = plugins.manager.hook.sftk_validate_settings
    if not any(impl.plugin_name == plugin for impl in hook.get_hookimpls()):
        _broken(
            promise,
            [f"plugin {plugin} does not implement sftk_validate_settings"],
            f"without it a misspelled key in [plugins.{plugin}] goes unnoticed; return a "
            "SettingProblem for each unknown key and bad value",
        )

    def problems_of(candidate: Mapping[str, Any]) -> list[SettingProblem]:
        wrapped = PluginSettings(
            (plugin,), MappingProxyType({plugin: MappingProxyType(dict(candidate))})
        )
        try:
            found = plugins.call_one(plugin, "sftk_validate_settings", wrapped, root=project.root)
        except SftkError as exc:
            _broken(promise, [f"checking {dict(candidate)!r}: {exc.message}"], exc.hint)
        found = list(found or ())
        strays = [p for p in found if not isinstance(p, SettingProblem)]
        if strays:
            _broken(
                promise,
                [f"sftk_validate_settings returned {type(strays[0]).__name__}"],
                "return toolkit.sync.contract.SettingProblem values",
            )
        return found

    problems = [
        f"the contract's own settings are refused: {p.key}: {p.message}" for p in problems_of(table)
    ]
    cases = [({**table, UNKNOWN_KEY: True}, UNKNOWN_KEY)]
    cases += [({**table, **changes}, key) for changes, key in bad]
    for candidate, key in cases:
        named = [p.key for p in problems_of(candidate)]
        if not any(k == key or k.startswith(f"{key}.") for k in named):
            seen = f" (it named: {', '.join(named)})" if named else ""
            problems.append(
                f"[plugins.{plugin}] {_changed(table, candidate)}: no problem names {key}{seen}"
            )
    if problems:
        _broken(promise, problems, "unknown keys and bad values must each be a SettingProblem")


def _changed(base: Mapping[str, Any], candidate: Mapping[str, Any]) -> str:
    changes = {k: v for k, v in candidate.items() if base.get(k, object()) != v}
    return ", ".join(f"{k} = {v!r}" for k, v in changes.items()) or "(unchanged)"


def specs(project: KitProject, plugin: str) -> None:
    """Streams and default mappings are well formed; the metadata renders and validates."""
    promise = "specs"
    opened = project.open()
    problems = []
    for planned in plugin_streams(project, plugin, promise):
        problems += _stream_problems(planned)
        try:
            defaults = default_mappings(opened, planned)
        except SftkError as exc:
            problems.append(exc.message)
            continue
        problems += _mapping_problems(planned, defaults)
    try:
        report = validate_project(opened)
    except SftkError as exc:
        problems.append(f"the metadata does not render: {exc.message}")
    else:
        for found in report.problems:
            if found.severity != "error":
                continue
            origin = report.origin_of(found.file)
            spec = f" (from {origin})" if origin else ""
            problems.append(
                f"{found.file}:{found.line}{spec}: {found.rule}: {found.message} ({found.hint})"
            )
    if problems:
        _broken(promise, problems)


def _stream_problems(planned: PlannedStream) -> list[str]:
    stream, label = planned.stream, planned.label
    problems = [
        f"stream {label}: {what} {value!r} is not an API name"
        for what, value in (
            ("object", stream.object),
            ("key", stream.key),
            *(("parent field", ref.field) for ref in stream.parents),
        )
        if not _API_NAME.match(value)
    ]
    if not stream.source_key:
        problems.append(f"stream {label}: source_key is empty")
    if stream.cursor is not None and not stream.cursor:
        problems.append(f"stream {label}: cursor is empty (write None for no cursor)")
    return problems


def _mapping_problems(planned: PlannedStream, defaults: list[Any]) -> list[str]:
    label, stream = planned.label, planned.stream
    fixed = {stream.key.lower(), *(ref.field.lower() for ref in stream.parents)}
    problems = []
    targets: Counter[str] = Counter()
    for mapping in defaults:
        if not isinstance(mapping, FieldMapping):
            problems.append(
                f"stream {label}: sftk_default_mappings returned {type(mapping).__name__}, "
                "not FieldMapping"
            )
            continue
        targets[mapping.target.lower()] += 1
        where = f"stream {label}, mapping to {mapping.target}"
        if not _API_NAME.match(mapping.target):
            problems.append(f"{where}: the target is not an API name")
        if mapping.target.lower() in fixed:
            problems.append(f"{where}: sftk maps the stream's key and parents itself")
        unknown = [t for t in mapping.transforms if t not in TRANSFORMS]
        if unknown:
            problems.append(
                f"{where}: unknown transform {unknown[0]!r} (known: {', '.join(TRANSFORMS)})"
            )
    problems += [
        f"stream {label}: {count} mappings write {target}"
        for target, count in targets.items()
        if count > 1
    ]
    return problems


def deploys(project: KitProject) -> None:
    promise = "deploys"
    try:
        project.deploy(again=True)
    except DeployFailed as exc:
        _broken(promise, [str(exc)])
    except SftkError as exc:
        _broken(promise, [exc.message], exc.hint)


def mappings(project: KitProject, plugin: str) -> None:
    """``sftk mappings show --org local`` finds nothing wrong with the default mappings."""
    promise = "mappings"
    ready(project, promise)
    try:
        views = show_mappings(project.open(), plugin, None, PROFILE)
    except SftkError as exc:
        _broken(promise, [exc.message], exc.hint)
    problems = [
        f"stream {plugin}.{view.stream} -> {view.object}: {row.target} <- {row.source} "
        f"({row.origin}): {problem}"
        for view in views
        for row in view.rows
        for problem in row.problems
    ]
    if problems:
        _broken(
            promise,
            problems,
            "map each field to one the plugin's object specs create (and deploy), and to no "
            "formula, auto number or system field",
        )


def first_sync(project: KitProject, plugin: str) -> None:
    """Every stream reads and writes records, and they are in the org afterwards."""
    promise = "first_sync"
    planned = plugin_streams(project, plugin, promise)
    ready(project, promise)
    report = run_sync(project, promise)
    problems = run_problems(report)
    by_name = {s.stream: s for s in report.streams if s.plugin == plugin}
    for item in planned:
        stream = by_name.get(item.stream.name)
        if stream is None or stream.read == 0:
            problems.append(
                f"stream {item.label} read no records: give it sample data so the suite can "
                "exercise it (the contract's settings)"
            )
        elif stream.written == 0:
            problems.append(f"stream {item.label} wrote nothing: {stream_line(stream).strip()}")
        missing = source_keys(item, promise) - set(org_keys(project, item.stream))
        if missing:
            problems.append(
                f"stream {item.label}: {len(missing)} record(s) read but not in "
                f"{item.stream.object} by {item.stream.key}: {_some(missing)}"
            )
    if problems:
        _broken(promise, problems)


def second_sync(project: KitProject, plugin: str) -> None:
    """A run with nothing changed in the source makes no write call; when it does, the
    fields whose values changed between the runs are named."""
    promise = "second_sync"
    planned = plugin_streams(project, plugin, promise)
    ready(project, promise)
    first = run_sync(project, promise)
    if first.status != "succeeded":
        _broken(
            promise,
            [
                "the first sync did not succeed, so the second cannot be judged",
                *run_problems(first),
            ],
        )
    before = {item.label: _snapshot(project, item) for item in planned}
    second = run_sync(project, promise)
    problems = run_problems(second)
    for stream in second.streams:
        if stream.plugin == plugin and (stream.written or stream.deleted):
            problems.append(
                f"stream {plugin}.{stream.stream} wrote {stream.written} and deleted "
                f"{stream.deleted} record(s) again although the source did not change "
                f"(unchanged: {stream.unchanged})"
            )
    if second.write_calls:
        calls = ", ".join(f"{kind} {count}" for kind, count in second.api_calls)
        problems.append(f"the second run made {second.write_calls} write call(s) ({calls})")
    if not problems:
        return
    for item in planned:
        after = _snapshot(project, item)
        problems += _differences(item, before[item.label], after)
    _broken(
        promise,
        problems,
        "a value made while reading (the time of the read, a random id, a counter) changes the "
        "record on every run; give each record only what the source holds",
    )


def _snapshot(project: KitProject, planned: PlannedStream) -> dict[str, dict[str, Any]]:
    """The stream's records in the org by key, with every field its mapping writes."""
    stream = planned.stream
    targets = [m.target for m in default_mappings(project.open(), planned)]
    fields = dict.fromkeys([stream.key, *targets, *(r.field for r in stream.parents)])
    rows = project.org.records(stream.object, list(fields), f"{stream.key} != null")
    return {_key_text(row[stream.key]): row for row in rows}


def _differences(
    planned: PlannedStream,
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    lines = []
    for key in sorted(set(before) & set(after)):
        changed = [
            f"{name} was {before[key][name]!r}, then {value!r}"
            for name, value in after[key].items()
            if before[key].get(name) != value
        ]
        if changed:
            lines.append(f"{planned.stream.object} {key}: " + "; ".join(changed))
    new = sorted(set(after) - set(before))
    if new:
        lines.append(f"{planned.stream.object}: new records by key {_some(new)}")
    return lines[:SHOWN]


def future_cursor(project: KitProject, plugin: str) -> list[str]:
    """Asked for records from a cursor in the future (past every record's, and past now), a
    stream yields none; a stream without a cursor, read again from the last bookmark of a full
    read, yields none either. Returns the streams checked: those with neither a cursor nor
    bookmarks read everything every run, and promise nothing here."""
    promise = "future_cursor"
    checked, problems = [], []
    for planned in plugin_streams(project, plugin, promise):
        items = read_items(planned, ReadRequest(), promise)
        bookmarks = [item.value for item in items if isinstance(item, Bookmark)]
        if planned.stream.cursor is not None:
            checked.append(planned.label)
            problems += _past_the_cursor(planned, live_records(items))
        elif bookmarks:
            checked.append(planned.label)
            again = live_records(read_items(planned, ReadRequest(bookmark=bookmarks[-1]), promise))
            if again:
                problems.append(
                    f"stream {planned.label}: read from its last bookmark {bookmarks[-1]!r} with "
                    f"nothing changed, it yielded {len(again)} record(s): "
                    f"{_some(_keys(planned, again))}"
                )
    if problems:
        _broken(
            promise,
            problems,
            "yield only records whose cursor is at or after ReadRequest.since (sftk drops older "
            "ones, but only after the source has read them all), and give each record the time it "
            "changed in the source, not the time it was read",
        )
    return checked


def _past_the_cursor(planned: PlannedStream, records: Sequence[SourceRecord]) -> list[str]:
    cursor = planned.stream.cursor
    assert cursor is not None
    positions, problems = [], []
    for record in records:
        try:
            positions.append(cursors.parse(record.data.get(cursor)))
        except cursors.CursorError as exc:
            key = record.data.get(planned.stream.source_key)
            problems.append(
                f"stream {planned.label}: record {key} ({record.where}): {cursor}: {exc}"
            )
    if not positions or problems:
        return problems
    kind, newest = max(positions)
    if kind == 1:
        future = (kind, max(newest, dt.datetime.now(dt.UTC)) + dt.timedelta(days=1))
    else:
        future = (kind, newest + 1)
    since = cursors.text(future)
    again = live_records(read_items(planned, ReadRequest(since=since), "future_cursor"))
    if again:
        problems.append(
            f"stream {planned.label}: asked for records from {since} on (its newest is "
            f"{cursors.text((kind, newest))}), it yielded {len(again)} record(s): "
            f"{_some(_keys(planned, again))}"
        )
    return problems


def _keys(planned: PlannedStream, records: Iterable[SourceRecord]) -> list[str]:
    return [str(r.data.get(planned.stream.source_key)) for r in records]


def bad_record(
    project: KitProject, plugin: str, table: Mapping[str, Any], stream_name: str, key: str
) -> None:
    """Under ``table`` the source yields the record ``key`` of ``stream_name``, which
    Salesforce refuses: it is dead-lettered, and every other record lands."""
    promise = "bad_record"
    project.configure(settings={**project.settings, plugin: table})
    planned = plugin_streams(project, plugin, promise)
    by_name = {item.stream.name: item for item in planned}
    bad_stream = by_name.get(stream_name)
    if bad_stream is None:
        _broken(
            promise,
            [
                f"the sftk_bad_record fixture names stream {stream_name!r}, which {plugin} does "
                f"not declare (streams: {', '.join(sorted(by_name))})"
            ],
        )
    expected = {item.label: source_keys(item, promise) for item in planned}
    if key not in expected[bad_stream.label]:
        _broken(
            promise,
            [
                f"under the sftk_bad_record fixture's settings stream {bad_stream.label} yields "
                f"no record with key {key!r} (it yields {_some(expected[bad_stream.label])})"
            ],
        )
    ready(project, promise)
    report = run_sync(project, promise)
    problems = []
    dead = {(f.stream, f.key): f for f in report.failures if f.plugin == plugin}
    landed = {item.label: org_keys(project, item.stream) for item in planned}
    if (stream_name, key) not in dead:
        where = "landed in the org" if key in landed[bad_stream.label] else "was not dead-lettered"
        problems.append(
            f"the record made bad on purpose ({bad_stream.label} {key}) {where}: "
            + (stream_line(next(s for s in report.streams if s.stream == stream_name)).strip())
        )
    others = [f for k, f in dead.items() if k != (stream_name, key)]
    problems += [f"also dead-lettered: {f.stream} {f.key}: {f.code}: {f.message}" for f in others]
    for item in planned:
        wanted = expected[item.label] - ({key} if item is bad_stream else set())
        missing = wanted - set(landed[item.label])
        if missing:
            problems.append(
                f"stream {item.label}: {len(missing)} good record(s) did not land: {_some(missing)}"
            )
    if problems:
        _broken(
            promise,
            problems,
            "make the record bad in a way Salesforce refuses (a value outside a restricted "
            "picklist, a text longer than its field) and pick one no other record refers to",
        )


def killed_run(project: KitProject, plugin: str) -> None:
    """``sftk sync`` is killed (SIGKILL) while its first write call is in flight; a second
    run then leaves exactly the source's records in the org, each once."""
    promise = "killed_run"
    planned = plugin_streams(project, plugin, promise)
    ready(project, promise)
    org = project.org
    org.fault(WRITE_ROUTES, "latency", seconds=KILL_LATENCY, count=1)
    try:
        _kill_at_first_write(project, promise)
    finally:
        org.clear_faults()
    time.sleep(KILL_LATENCY + 0.5)  # the org finishes the call it was making, as a real one does
    report = run_sync(project, promise)
    problems = run_problems(report)
    for item in planned:
        expected = source_keys(item, promise)
        found = org_keys(project, item.stream)
        twice = sorted(k for k, count in found.items() if count > 1)
        if twice:
            problems.append(
                f"stream {item.label}: {len(twice)} key(s) held by several {item.stream.object} "
                f"records: {_some(twice)}"
            )
        strays = set(found) - expected
        if strays:
            problems.append(
                f"stream {item.label}: {item.stream.object} holds {len(strays)} record(s) the "
                f"source does not have (keys {_some(strays)}): a key that changes between reads "
                "makes a new record on every run"
            )
        missing = expected - set(found)
        if missing:
            problems.append(
                f"stream {item.label}: {len(missing)} source record(s) are not in the org: "
                f"{_some(missing)}"
            )
    if problems:
        _broken(promise, problems, "each record needs a stable source key (its id in the source)")


def _kill_at_first_write(project: KitProject, promise: str) -> None:
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            project.sftk("sync", "--org", PROFILE),
            cwd=project.root,
            env=command_env(),
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        for _ in _polls():
            if not project.org.pending_faults():
                break
            ended = process.poll()
            if ended is not None or time.monotonic() > deadline:
                if ended is None:
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                errors.seek(0)
                said = " ".join(errors.read().decode("utf-8", "replace").split())
                _broken(
                    promise,
                    [
                        "sftk sync "
                        + (f"ended (exit {ended})" if ended is not None else "ran too long")
                        + f" before its first write call, so it could not be killed mid-run: {said}"
                    ],
                )
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _polls() -> Iterator[None]:
    while True:
        yield
        time.sleep(0.02)
