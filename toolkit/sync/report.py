"""What a sync run did, per stream and in all: the report printed at the end, kept in the run
history, returned to Python callers and handed to the ``sftk_sync_finished`` hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import ExitCode
from toolkit.sync.contract import RecordFailure

# Each record read ends in exactly one of these; ``reconciled`` counts the written records a
# --reconcile run found changed in Salesforce (a subset of ``written``); ``kept``: the stream's
# own rules left the org's record as it was (``StreamSpec.guard``, ``unless_found``).
OUTCOMES = ("written", "unchanged", "deleted", "dead_lettered", "before_cursor", "kept")
STATUSES = ("succeeded", "partial", "stopped", "failed", "interrupted")


@dataclass(frozen=True)
class StreamReport:
    plugin: str
    stream: str
    object: str
    read: int = 0
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    before_cursor: int = 0
    reconciled: int = 0
    kept: int = 0
    matched: int = 0  # written records that adopted an org record found by the match fields
    method: str = "none"  # how records were written: none, collections, bulk, or both
    completed: bool = False  # read to the end (the cursor and bookmark were kept)
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "stream": self.stream,
            "object": self.object,
            "read": self.read,
            "written": self.written,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "dead_lettered": self.dead_lettered,
            "before_cursor": self.before_cursor,
            "reconciled": self.reconciled,
            "kept": self.kept,
            "matched": self.matched,
            "method": self.method,
            "completed": self.completed,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class RunReport:
    """``status``: succeeded (every record landed or was unchanged), partial (some were
    dead-lettered), stopped (the API guard, or the org's daily limit, stopped the run; run
    again later to resume), failed (a source could not be read, or an error stopped the run;
    ``error`` says which), interrupted (Ctrl-C, or the process was killed)."""

    run_id: str
    org: str
    org_id: str | None
    kind: str
    mode: str
    status: str
    started: str
    finished: str
    duration_seconds: float
    streams: tuple[StreamReport, ...]
    api_calls: tuple[tuple[str, int], ...]
    failures: tuple[RecordFailure, ...] = ()  # the first few dead letters of this run
    stop_reason: str | None = None
    error: str | None = None
    forced_reason: str | None = None
    plugins: tuple[str, ...] = field(default=())

    def total(self, outcome: str) -> int:
        """The sum over streams of one count (``written``, ``dead_lettered``, ``read``…)."""
        return sum(int(getattr(stream, outcome)) for stream in self.streams)

    @property
    def write_calls(self) -> int:
        calls = dict(self.api_calls)
        return calls.get("collections", 0) + calls.get("bulk", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "org": self.org,
            "org_id": self.org_id,
            "kind": self.kind,
            "mode": self.mode,
            "status": self.status,
            "started": self.started,
            "finished": self.finished,
            "duration_seconds": round(self.duration_seconds, 3),
            "plugins": list(self.plugins),
            "streams": [stream.to_json() for stream in self.streams],
            "totals": {outcome: self.total(outcome) for outcome in ("read", *OUTCOMES)},
            "api_calls": dict(self.api_calls),
            "failures": [failure_json(f) for f in self.failures],
            "stop_reason": self.stop_reason,
            "error": self.error,
            "forced_reason": self.forced_reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunReport:
        return cls(
            run_id=data["run_id"],
            org=data["org"],
            org_id=data["org_id"],
            kind=data["kind"],
            mode=data["mode"],
            status=data["status"],
            started=data["started"],
            finished=data["finished"],
            duration_seconds=float(data["duration_seconds"]),
            streams=tuple(
                StreamReport(**{**stream, "warnings": tuple(stream.get("warnings", ()))})
                for stream in data["streams"]
            ),
            api_calls=tuple(sorted(data["api_calls"].items())),
            failures=tuple(
                RecordFailure(**{**f, "fields": tuple(f["fields"])}) for f in data["failures"]
            ),
            stop_reason=data.get("stop_reason"),
            error=data.get("error"),
            forced_reason=data.get("forced_reason"),
            plugins=tuple(data.get("plugins", ())),
        )


def failure_json(failure: RecordFailure) -> dict[str, Any]:
    return {
        "plugin": failure.plugin,
        "stream": failure.stream,
        "key": failure.key,
        "code": failure.code,
        "message": failure.message,
        "fields": list(failure.fields),
    }


EXIT_CODES = {
    "succeeded": ExitCode.OK,
    "partial": ExitCode.RECORDS_FAILED,
    "stopped": ExitCode.API_GUARD_STOPPED,
    "failed": ExitCode.SOURCE_FAILED,
    "interrupted": ExitCode.INTERRUPTED,
}


def stream_line(stream: StreamReport) -> str:
    parts = [
        f"read {stream.read}",
        f"written {stream.written}",
        f"unchanged {stream.unchanged}",
    ]
    for label, count in (
        ("before the cursor", stream.before_cursor),
        ("kept as the org has them", stream.kept),
        ("deleted", stream.deleted),
        ("dead-lettered", stream.dead_lettered),
        ("reconciled", stream.reconciled),
        ("matched", stream.matched),
    ):
        if count:
            parts.append(f"{label} {count}")
    via = f" via {stream.method}" if stream.method != "none" else ""
    unfinished = "" if stream.completed else " [not read to the end]"
    return (
        f"  {stream.plugin}.{stream.stream} -> {stream.object}: {', '.join(parts)}{via}{unfinished}"
    )


def run_lines(report: RunReport) -> list[str]:
    """The report as a person reads it: the verdict first, a line per stream, calls, the
    first dead letters and what to do next."""
    lines = [
        f"sync {report.status}: run {report.run_id} ({report.mode}) into {report.org} "
        f"in {report.duration_seconds:.2f} s"
    ]
    lines += [stream_line(stream) for stream in report.streams]
    lines += [f"  warning: {s.stream}: {w}" for s in report.streams for w in s.warnings]
    calls = ", ".join(f"{kind} {count}" for kind, count in report.api_calls) or "none"
    lines.append(f"API calls: {calls} (write calls: {report.write_calls})")
    if report.forced_reason:
        lines.append(f"forced into production without a sandbox run: {report.forced_reason}")
    if report.stop_reason:
        lines.append(f"stopped: {report.stop_reason}")
    if report.error:  # one error a line (a hint indented under its own)
        lines += [
            line if line.startswith(" ") else f"error: {line}" for line in report.error.splitlines()
        ]
    for failure in report.failures:
        fields = f" [{', '.join(failure.fields)}]" if failure.fields else ""
        lines.append(
            f"  dead letter {failure.stream} {failure.key}: {failure.code}: {failure.message}"
            f"{fields}"
        )
    if report.total("dead_lettered"):
        lines.append(
            f"{report.total('dead_lettered')} record(s) dead-lettered: `sftk deadletters list "
            f"--org {report.org}` shows them; fix the source and run `sftk deadletters retry "
            f"--org {report.org}`"
        )
    return lines
