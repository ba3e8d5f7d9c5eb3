"""Bulk API 2.0 ingest jobs, one call per function: create, upload, close, read, abort, and the
failed and unprocessed rows. JSON calls go through simple-salesforce; CSV bodies stream from
and to files through the connection's own session (simple-salesforce holds a whole upload in
memory), so a job of a million rows costs no more memory than one of ten."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from toolkit.errors import OrgError
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.rest import calling

TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")
MAX_UPLOAD_BYTES = 100_000_000  # one upload per job; Salesforce takes 150 MB, base64 included
NULL = "#N/A"  # a CSV cell that sets the field to null
TRANSFER_TIMEOUT = (10, 600)  # connect, read: an upload or a result file may take minutes


@dataclass(frozen=True)
class JobInfo:
    id: str
    state: str
    processed: int
    failed: int
    error_message: str | None

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


def _job(answer: Any) -> JobInfo:
    return JobInfo(
        str(answer["id"]),
        str(answer["state"]),
        int(answer.get("numberRecordsProcessed") or 0),
        int(answer.get("numberRecordsFailed") or 0),
        answer.get("errorMessage"),
    )


def create_upsert_job(sf: Salesforce, object_name: str, key_field: str) -> JobInfo:
    body = {
        "object": object_name,
        "operation": "upsert",
        "externalIdFieldName": key_field,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    answer = calling(
        f"create a Bulk API 2.0 job for {object_name}",
        lambda: sf.restful("jobs/ingest", method="POST", data=json.dumps(body)),
    )
    return _job(answer)


def job_info(sf: Salesforce, job_id: str) -> JobInfo:
    return _job(calling(f"read Bulk API job {job_id}", lambda: sf.restful(f"jobs/ingest/{job_id}")))


def _set_state(sf: Salesforce, job_id: str, state: str) -> JobInfo:
    return _job(
        calling(
            f"set Bulk API job {job_id} to {state}",
            lambda: sf.restful(
                f"jobs/ingest/{job_id}", method="PATCH", data=json.dumps({"state": state})
            ),
        )
    )


def close(sf: Salesforce, job_id: str) -> JobInfo:
    """Upload complete: Salesforce starts processing the job."""
    return _set_state(sf, job_id, "UploadComplete")


def abort(sf: Salesforce, job_id: str) -> JobInfo:
    return _set_state(sf, job_id, "Aborted")


def _url(conn: OrgConnection, job_id: str, tail: str) -> str:
    return f"{conn.instance_url}/services/data/v{conn.api_version}/jobs/ingest/{job_id}/{tail}"


def _headers(conn: OrgConnection, content_type: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {conn.access_token}", "Content-Type": content_type}


def _refusal(what: str, answer: requests.Response) -> OrgError:
    try:
        body = answer.json()
        first = body[0] if isinstance(body, list) and body else body
        code = str(first.get("errorCode", f"HTTP_{answer.status_code}"))
        message = str(first.get("message", answer.reason))
    except (ValueError, AttributeError):
        code, message = f"HTTP_{answer.status_code}", answer.reason or "no answer"
    return OrgError(f"{what}: {code}: {message}", code=code, status=answer.status_code)


def _transfer(what: str, call: Any) -> requests.Response:
    try:
        answer: requests.Response = call()
    except requests.Timeout:
        raise OrgError(f"{what}: the org did not answer in time", code="TIMEOUT") from None
    except requests.RequestException as error:
        raise OrgError(
            f"{what}: cannot reach the org ({type(error).__name__})", code="CONNECTION"
        ) from None
    if answer.status_code >= 300:
        raise _refusal(what, answer)
    return answer


def upload(conn: OrgConnection, job_id: str, csv_file: Path) -> None:
    """Send the job's CSV, read from ``csv_file`` as it goes."""
    what = f"upload the rows of Bulk API job {job_id}"
    with csv_file.open("rb") as body:
        _transfer(
            what,
            lambda: conn.session.put(
                _url(conn, job_id, "batches"),
                data=body,
                headers={
                    **_headers(conn, "text/csv"),
                    "Content-Length": str(csv_file.stat().st_size),
                },
                timeout=TRANSFER_TIMEOUT,
            ),
        )


def _download(conn: OrgConnection, job_id: str, tail: str, dest: Path) -> None:
    what = f"read the {tail} of Bulk API job {job_id}"
    answer = _transfer(
        what,
        lambda: conn.session.get(
            _url(conn, job_id, tail),
            headers=_headers(conn, "application/json") | {"Accept": "text/csv"},
            stream=True,
            timeout=TRANSFER_TIMEOUT,
        ),
    )
    try:
        with answer, dest.open("wb") as out:
            for chunk in answer.iter_content(chunk_size=1 << 16):
                out.write(chunk)
    except requests.RequestException as error:
        raise OrgError(
            f"{what}: the answer was cut short ({type(error).__name__})", code="CONNECTION"
        ) from None


def failed_rows(conn: OrgConnection, job_id: str, dest: Path) -> None:
    """The failed rows as CSV: ``sf__Id``, ``sf__Error`` (``CODE:message:fields --``), then
    the columns sent."""
    _download(conn, job_id, "failedResults", dest)


def unprocessed_rows(conn: OrgConnection, job_id: str, dest: Path) -> None:
    """Rows Salesforce never processed (an aborted or failed job), as sent."""
    _download(conn, job_id, "unprocessedrecords", dest)
