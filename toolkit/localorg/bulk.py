"""Bulk API 2.0 ingest jobs of the local org: create, upload CSV, close, poll, read results.

Rows go through ``records`` in chunks of 200 (each chunk its own transaction, as Salesforce
commits a chunk at a time), so a bulk load validates exactly like REST does. Jobs, uploads and
results live in the Store: a restart keeps finished results readable and resumes a job that was
still processing from the first row without a stored result.

Refusals not spelled out by the documentation follow the Bulk API's own vocabulary: a bad job
request is ``400 [{"errorCode": "INVALIDJOB", ...}]`` and a CSV whose header names an unknown
field fails the job with ``errorMessage`` ``InvalidBatch : Field name not found : <name>`` (a
header naming a field twice fails it the same way). A row with more values than the header has
columns fails alone, in ``failedResults``: its extra values would otherwise be dropped unseen.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from toolkit.localorg import components, records
from toolkit.localorg.http import Request, Response, Router
from toolkit.localorg.ids import to18
from toolkit.localorg.records import RecordError, RequestRefused, SaveResult
from toolkit.localorg.store import register_schema

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

register_schema(
    """
CREATE TABLE IF NOT EXISTS bulk_jobs (id TEXT PRIMARY KEY, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bulk_uploads (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS bulk_results (
    job_id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, rows TEXT NOT NULL,
    PRIMARY KEY (job_id, kind, seq)
);
"""
)

JOB_PREFIX = "750"
CHUNK = 200
OPERATIONS = ("insert", "update", "upsert", "delete")
DELIMITERS = {
    "COMMA": ",",
    "BACKQUOTE": "`",
    "CARET": "^",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS = ("LF", "CRLF")
TERMINAL = ("JobComplete", "Failed", "Aborted")
_DELETABLE = ("UploadComplete", *TERMINAL)
_ABORTABLE = ("Open", "UploadComplete", "InProgress")
_NULL = "#N/A"
_CSV = "text/csv"
_SUCCESS, _FAILED = "success", "failed"
BASE = r"/services/data/v(?P<version>\d+\.\d)/jobs/ingest"
_JOB = BASE + r"/(?P<job>[0-9A-Za-z]{15,18})"
_log = logging.getLogger(__name__)


class _InvalidBatch(Exception):
    """The uploaded data cannot be processed at all: the job fails with this message."""


def _now() -> str:
    return records.format_datetime(dt.datetime.now(dt.UTC))


def _refuse(message: str) -> RequestRefused:
    return RequestRefused("INVALIDJOB", message)


# --- stored jobs ---------------------------------------------------------------------------------


def _load(org: Org, raw_id: str) -> dict[str, Any] | None:
    job_id = to18(raw_id)
    if job_id is None:
        return None
    row = (
        org.store.connection()
        .execute("SELECT info FROM bulk_jobs WHERE id = ?", (job_id,))
        .fetchone()
    )
    return None if row is None else dict(json.loads(row["info"]))


def _must_load(org: Org, raw_id: str) -> dict[str, Any]:
    job = _load(org, raw_id)
    if job is None:
        raise RequestRefused("NOT_FOUND", "The requested resource does not exist", 404)
    return job


def _change(
    org: Org, job_id: str, changes: dict[str, Any], *, only_from: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Apply ``changes`` atomically; None if the job is gone or not in one of ``only_from``."""
    with org.store.transaction() as db:
        row = db.execute("SELECT info FROM bulk_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = dict(json.loads(row["info"]))
        if only_from and job["state"] not in only_from:
            return None
        job.update(changes)
        job["systemModstamp"] = _now()
        db.execute("UPDATE bulk_jobs SET info = ? WHERE id = ?", (json.dumps(job), job_id))
    return job


def job_info(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it (internal bookkeeping left out)."""
    info: dict[str, Any] = {
        "id": job["id"],
        "operation": job["operation"],
        "object": job["object"],
        "createdById": job["createdById"],
        "createdDate": job["createdDate"],
        "systemModstamp": job["systemModstamp"],
        "state": job["state"],
    }
    if job.get("externalIdFieldName"):
        info["externalIdFieldName"] = job["externalIdFieldName"]
    info.update(
        {
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": job["apiVersion"],
            "contentUrl": f"services/data/v{job['apiVersion']:.1f}/jobs/ingest/{job['id']}/batches",
            "jobType": "V2Ingest",
            "lineEnding": job["lineEnding"],
            "columnDelimiter": job["columnDelimiter"],
            "numberRecordsProcessed": job["numberRecordsProcessed"],
            "numberRecordsFailed": job["numberRecordsFailed"],
            "retries": 0,
            "totalProcessingTime": job["totalProcessingTime"],
            "apiActiveProcessingTime": job["totalProcessingTime"],
            "apexProcessingTime": 0,
        }
    )
    if job.get("errorMessage"):
        info["errorMessage"] = job["errorMessage"]
    return info


# --- CSV -----------------------------------------------------------------------------------------


def _parse(data: bytes, delimiter: str) -> Iterator[list[str]]:
    """One upload's non-empty rows, decoded and parsed as they are read."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if row:
                yield row
    except UnicodeDecodeError:
        raise _InvalidBatch("InvalidBatch : The CSV data is not UTF-8") from None
    except csv.Error as exc:
        raise _InvalidBatch(f"InvalidBatch : Failed to parse CSV: {exc}") from None


def _uploads(org: Org, job: dict[str, Any]) -> Iterator[Iterator[list[str]]]:
    """Each upload's rows (header first), one upload read from the store at a time."""
    db = org.store.connection()
    seqs = [
        int(r["seq"])
        for r in db.execute(
            "SELECT seq FROM bulk_uploads WHERE job_id = ? ORDER BY seq", (job["id"],)
        )
    ]
    delimiter = DELIMITERS[job["columnDelimiter"]]
    for seq in seqs:
        row = db.execute(
            "SELECT data FROM bulk_uploads WHERE job_id = ? AND seq = ?", (job["id"], seq)
        ).fetchone()
        yield _parse(bytes(row["data"]), delimiter)


def _rows(org: Org, job: dict[str, Any]) -> tuple[list[str], Iterator[list[str]]]:
    """The job's header and its data rows across all uploads, which must share that header;
    rows are parsed as the caller reads them."""
    uploads = _uploads(org, job)
    first = next(uploads, None)
    header = next(first, None) if first is not None else None
    if first is None or header is None:
        return [], iter(())

    def rows() -> Iterator[list[str]]:
        yield from first
        for upload in uploads:
            if next(upload, header) != header:
                raise _InvalidBatch("InvalidBatch : Every upload of a job must have one header")
            yield from upload

    return header, rows()


def _parsed_header(org: Org, job: dict[str, Any]) -> list[str]:
    """The header, after reading every upload once: bad CSV anywhere fails the job whole,
    before any row is saved."""
    header, rows = _rows(org, job)
    for _ in rows:
        pass
    return header


def _check_header(org: Org, job: dict[str, Any], header: list[str]) -> None:
    obj = records.describe(org, job["object"])
    if obj is None:
        raise _InvalidBatch(f"InvalidBatch : Unable to find object: {job['object']}")
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise _InvalidBatch(f"InvalidBatch : Duplicate field name in the header : {name}")
        seen.add(name.lower())
        if "." in name:
            known = obj.relationship(name.split(".", 1)[0]) is not None
        else:
            known = obj.field(name) is not None
        if not known:
            raise _InvalidBatch(f"InvalidBatch : Field name not found : {name}")
    if job["operation"] in ("update", "delete") and not any(n.lower() == "id" for n in header):
        raise _InvalidBatch("InvalidBatch : Field name not found : Id")


def _record(header: list[str], cells: list[str]) -> dict[str, Any]:
    """A CSV row as ``records`` takes it: blank is no value, ``#N/A`` is null, and
    ``Parent__r.Key__c`` names the parent by one of its keys."""
    row: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=False):
        if cell == "":
            continue
        value = None if cell == _NULL else cell
        if "." in name:
            relationship, key = name.split(".", 1)
            row[relationship] = None if value is None else {key: value}
        else:
            row[name] = value
    return row


def _csv_line(values: Sequence[str], quote_all: bool) -> str:
    buffer = io.StringIO()
    if quote_all:
        csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(values)
    else:
        csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _error_text(result: SaveResult) -> str:
    """``CODE:message:fields --`` as Salesforce writes ``sf__Error`` (first error only)."""
    if not result.errors:
        return "UNKNOWN_EXCEPTION:The row was not processed:--"
    error = result.errors[0]
    fields = ",".join(error.fields)
    return (
        f"{error.code}:{error.message}:{fields} --"
        if fields
        else f"{error.code}:{error.message}:--"
    )


# --- processing ----------------------------------------------------------------------------------


def _save(
    org: Org, job: dict[str, Any], header: list[str], chunk: list[list[str]]
) -> list[SaveResult]:
    """The chunk's results in row order; a row with more values than the header has columns
    fails on its own (its extra values belong to no field) and the others are saved."""
    long_rows = {i: len(cells) for i, cells in enumerate(chunk) if len(cells) > len(header)}
    rows = [_record(header, cells) for i, cells in enumerate(chunk) if i not in long_rows]
    saved = iter(_save_rows(org, job, rows))
    return [
        SaveResult(None, False, (_too_many_values(long_rows[i], len(header)),))
        if i in long_rows
        else next(saved)
        for i in range(len(chunk))
    ]


def _too_many_values(values: int, columns: int) -> RecordError:
    return RecordError(
        "INVALID_FIELD",
        f"The row has {values} values but the header names {columns} columns",
    )


def _save_rows(org: Org, job: dict[str, Any], rows: list[dict[str, Any]]) -> list[SaveResult]:
    operation, name = job["operation"], job["object"]
    if not rows:
        return []
    if operation == "insert":
        return records.insert_many(org, name, rows)
    if operation == "update":
        return records.update_many(org, name, rows)
    if operation == "upsert":
        return records.upsert_many(org, name, job["externalIdFieldName"], rows)
    ids = [str(next((v for k, v in r.items() if k.lower() == "id"), "") or "") for r in rows]
    return records.delete_many(org, name, ids)


def _given_id(header: list[str], cells: list[str]) -> str:
    for name, cell in zip(header, cells, strict=False):
        if name.lower() == "id":
            return cell
    return ""


def _store_chunk(
    org: Org,
    job: dict[str, Any],
    header: list[str],
    chunk: list[list[str]],
    results: list[SaveResult],
    seq: int,
) -> None:
    created_default = "true" if job["operation"] == "insert" else "false"
    good: list[str] = []
    bad: list[str] = []
    for cells, result in zip(chunk, results, strict=True):
        padded = (cells + [""] * len(header))[: len(header)]
        if result.success:
            created = created_default if result.created is None else str(result.created).lower()
            good.append(_csv_line([result.id or "", created, *padded], True))
        else:
            bad.append(_csv_line([_given_id(header, cells), _error_text(result), *padded], True))
    with org.store.transaction() as db:
        for kind, lines in ((_SUCCESS, good), (_FAILED, bad)):
            if lines:
                db.execute(
                    "INSERT OR REPLACE INTO bulk_results (job_id, kind, seq, rows) "
                    "VALUES (?, ?, ?, ?)",
                    (job["id"], kind, seq, "".join(lines)),
                )


def _process(org: Org, job_id: str) -> None:
    """Run a closed job to its end; stops between chunks once the job is aborted or deleted."""
    job = _change(org, job_id, {"state": "InProgress"}, only_from=("UploadComplete", "InProgress"))
    if job is None:
        return
    started = time.monotonic()
    done, failed = int(job["rowsDone"]), int(job["numberRecordsFailed"])
    elapsed = int(job["totalProcessingTime"])
    try:
        header = _parsed_header(org, job)
        _check_header(org, job, header)
        _change(org, job_id, {"columns": header})
        _, rows = _rows(org, job)
        remaining = itertools.islice(rows, done, None)
        seq = done // CHUNK
        while chunk := list(itertools.islice(remaining, CHUNK)):
            current = _load(org, job_id)
            if current is None or current["state"] != "InProgress":
                return
            results = _save(org, job, header, chunk)
            _store_chunk(org, job, header, chunk, results, seq)
            done += len(chunk)
            failed += sum(1 for r in results if not r.success)
            seq += 1
            _change(
                org,
                job_id,
                {
                    "rowsDone": done,
                    "numberRecordsProcessed": done,
                    "numberRecordsFailed": failed,
                    "totalProcessingTime": elapsed + int((time.monotonic() - started) * 1000),
                },
            )
    except _InvalidBatch as invalid:
        _change(org, job_id, {"state": "Failed", "errorMessage": str(invalid)})
        return
    except Exception:
        _log.exception("local org: bulk job %s failed", job_id)
        _change(
            org,
            job_id,
            {"state": "Failed", "errorMessage": "UNKNOWN_EXCEPTION : An unexpected error occurred"},
        )
        return
    _change(org, job_id, {"state": "JobComplete"}, only_from=("InProgress",))


def _start(org: Org, job_id: str) -> None:
    threading.Thread(
        target=_process, args=(org, job_id), name=f"localorg-bulk-{job_id}", daemon=True
    ).start()


# --- handlers ------------------------------------------------------------------------------------


def _create(request: Request, org: Org) -> Response:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestRefused("JSON_PARSER_ERROR", f"The request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestRefused("JSON_PARSER_ERROR", "The request body must be a JSON object")
    name, operation = body.get("object"), body.get("operation")
    if not isinstance(operation, str) or not operation:
        raise _refuse("InvalidJob : operation is required")
    if operation == "hardDelete":
        raise _refuse(
            "InvalidJob : hardDelete needs the Bulk API Hard Delete permission, which this org "
            "does not grant"
        )
    if operation not in OPERATIONS:
        raise _refuse(f"InvalidJob : Invalid operation: {operation}")
    if not isinstance(name, str) or not name:
        raise _refuse("InvalidJob : object is required")
    obj = records.describe(org, name)
    if obj is None:
        raise _refuse(f"InvalidJob : Unable to find object: {name}")
    if body.get("contentType", "CSV") != "CSV":
        raise _refuse(f"InvalidJob : Invalid contentType: {body.get('contentType')}")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        raise _refuse(f"InvalidJob : Invalid columnDelimiter: {delimiter}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        raise _refuse(f"InvalidJob : Invalid lineEnding: {line_ending}")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        if not isinstance(external, str) or not external:
            raise _refuse(
                f"InvalidJob : External ID was blank for {obj.name}. An External ID must be "
                "specified for upsert."
            )
        key = obj.field(external)
        if key is None or not key.id_lookup:
            raise _refuse(
                "InvalidJob : Invalid field for upsert, must be an External Id custom or "
                f"standard indexed field: {external}"
            )
        external = key.name
    else:
        external = None
    now = _now()
    with org.store.transaction() as db:
        job_id = components.next_id(db, JOB_PREFIX)
        job = {
            "id": job_id,
            "operation": operation,
            "object": obj.name,
            "externalIdFieldName": external,
            "createdById": org.facts.user_id,
            "createdDate": now,
            "systemModstamp": now,
            "state": "Open",
            "apiVersion": float(request.params["version"]),
            "lineEnding": line_ending,
            "columnDelimiter": delimiter,
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "totalProcessingTime": 0,
            "rowsDone": 0,
            "columns": [],
        }
        db.execute("INSERT INTO bulk_jobs (id, info) VALUES (?, ?)", (job_id, json.dumps(job)))
    return Response.json(job_info(job))


def _list(request: Request, org: Org) -> Response:
    rows = org.store.connection().execute("SELECT info FROM bulk_jobs ORDER BY id").fetchall()
    jobs = [job_info(json.loads(r["info"])) for r in rows]
    return Response.json({"done": True, "nextRecordsUrl": None, "records": jobs})


def _get(request: Request, org: Org) -> Response:
    return Response.json(job_info(_must_load(org, request.params["job"])))


def _upload(request: Request, org: Org) -> Response:
    job = _must_load(org, request.params["job"])
    if job["state"] != "Open":
        raise _refuse(
            f"InvalidJob : Data can only be uploaded to an Open job; it is {job['state']}"
        )
    if not request.body:
        raise _refuse("InvalidJob : The upload has no data")
    with org.store.transaction() as db:
        row = db.execute(
            "SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM bulk_uploads WHERE job_id = ?",
            (job["id"],),
        ).fetchone()
        db.execute(
            "INSERT INTO bulk_uploads (job_id, seq, data) VALUES (?, ?, ?)",
            (job["id"], int(row["next"]), request.body),
        )
    return Response(201, b"", _CSV)


def _patch(request: Request, org: Org) -> Response:
    job = _must_load(org, request.params["job"])
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestRefused("JSON_PARSER_ERROR", f"The request body is not JSON: {exc}") from None
    state = body.get("state") if isinstance(body, dict) else None
    if state == "UploadComplete":
        changed = _change(org, job["id"], {"state": state}, only_from=("Open",))
    elif state == "Aborted":
        changed = _change(org, job["id"], {"state": state}, only_from=_ABORTABLE)
    else:
        raise _refuse(
            f"InvalidJob : A job's state can be set to UploadComplete or Aborted: {state}"
        )
    if changed is None:
        raise _refuse(f"InvalidJob : The job is {job['state']} and cannot become {state}")
    if state == "UploadComplete":
        _start(org, job["id"])
    return Response.json(job_info(changed))


def _delete(request: Request, org: Org) -> Response:
    job = _must_load(org, request.params["job"])
    if job["state"] not in _DELETABLE:
        raise _refuse(f"InvalidJob : A job that is {job['state']} cannot be deleted")
    with org.store.transaction() as db:
        for table in ("bulk_results", "bulk_uploads"):
            db.execute(f"DELETE FROM {table} WHERE job_id = ?", (job["id"],))
        db.execute("DELETE FROM bulk_jobs WHERE id = ?", (job["id"],))
    return Response(204, b"", _CSV)


def _header(org: Org, job: dict[str, Any], first: Sequence[str]) -> str:
    """Result columns first (quoted, as Salesforce writes them), then the uploaded header."""
    columns = job["columns"]
    if not columns:
        try:
            columns, _ = _rows(org, job)
        except _InvalidBatch:
            columns = []
    leading = ",".join(f'"{c}"' for c in first)
    return leading + ("," + _csv_line(columns, False) if columns else "\n")


def _stored_results(org: Org, job: dict[str, Any], kind: str) -> Iterator[bytes]:
    for (rows,) in org.store.read(
        "SELECT rows FROM bulk_results WHERE job_id = ? AND kind = ? ORDER BY seq",
        (job["id"], kind),
    ):
        yield str(rows).encode("utf-8")


def _csv_stream(head: str, rest: Iterator[bytes]) -> Response:
    return Response(200, content_type=_CSV, stream=itertools.chain([head.encode("utf-8")], rest))


def _successful(request: Request, org: Org) -> Response:
    job = _must_load(org, request.params["job"])
    head = _header(org, job, ("sf__Id", "sf__Created"))
    return _csv_stream(head, _stored_results(org, job, _SUCCESS))


def _failed(request: Request, org: Org) -> Response:
    job = _must_load(org, request.params["job"])
    head = _header(org, job, ("sf__Id", "sf__Error"))
    return _csv_stream(head, _stored_results(org, job, _FAILED))


def _unprocessed(request: Request, org: Org) -> Response:
    """Rows no chunk got to: only aborted and failed jobs leave any."""
    job = _must_load(org, request.params["job"])
    try:
        header = _parsed_header(org, job)
    except _InvalidBatch:
        header = []
    if not header:
        return _csv_stream("\n", iter(()))
    if job["state"] not in ("Aborted", "Failed"):
        return _csv_stream(_csv_line(header, False), iter(()))
    _, rows = _rows(org, job)
    left = itertools.islice(rows, int(job["rowsDone"]), None)
    return _csv_stream(
        _csv_line(header, False), (_csv_line(cells, True).encode("utf-8") for cells in left)
    )


def _guarded(handler: Any) -> Any:
    def run(request: Request, org: Org) -> Response:
        try:
            response: Response = handler(request, org)
        except RequestRefused as refusal:
            return Response.json(
                [{"errorCode": refusal.code, "message": refusal.message}], refusal.status
            )
        return response

    return run


def register(router: Router) -> None:
    routes = (
        ("POST", BASE + r"/?", _create, "bulk2.ingest.create"),
        ("GET", BASE + r"/?", _list, "bulk2.ingest.list"),
        ("GET", _JOB + r"/?", _get, "bulk2.ingest.get"),
        ("PATCH", _JOB + r"/?", _patch, "bulk2.ingest.state"),
        ("DELETE", _JOB + r"/?", _delete, "bulk2.ingest.delete"),
        ("PUT", _JOB + r"/batches/?", _upload, "bulk2.ingest.upload"),
        ("GET", _JOB + r"/successfulResults/?", _successful, "bulk2.ingest.successful"),
        ("GET", _JOB + r"/failedResults/?", _failed, "bulk2.ingest.failed"),
        ("GET", _JOB + r"/unprocessed[rR]ecords/?", _unprocessed, "bulk2.ingest.unprocessed"),
    )
    for method, pattern, handler, name in routes:
        router.add(method, pattern, _guarded(handler), name=name)


def prepare(org: Org) -> None:
    """Jobs a stop interrupted carry on from their first row without a stored result."""
    for row in org.store.connection().execute("SELECT info FROM bulk_jobs").fetchall():
        job = json.loads(row["info"])
        if job["state"] in ("UploadComplete", "InProgress"):
            _start(org, job["id"])
