"""Reading an org's metadata back: the components a package names, or every component of some
types, retrieved in batches that stay inside the Metadata API's limits and polled to the end.

A retrieve only reads, so unlike a deploy every call of it may be sent again after a
retryable fault. A component the org does not have is not an error: the org says it cannot
be found and leaves it out of the zip, which is how snapshots learn what is new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from toolkit.deploy.policy import (
    DEFAULT_WAIT_MINUTES,
    LIST_QUERIES_PER_CALL,
    POLL_SCHEDULE,
    RETRIEVE_BATCH,
    PollSchedule,
)
from toolkit.errors import OrgError
from toolkit.metadata import packaging
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.types import BY_NAME, MANIFEST_NAMES
from toolkit.salesforce.retrieve_results import (
    DescribeMetadataResult,
    FileProperties,
    ListMetadataQuery,
    RetrieveRequest,
    RetrieveResult,
)
from toolkit.salesforce.retry import retried

T = TypeVar("T")


class RetrieveApi(Protocol):
    """The Metadata API calls a retrieve needs (``MetadataClient`` is the real one)."""

    def retrieve(self, request: RetrieveRequest) -> str: ...

    def check_retrieve_status(
        self, retrieve_id: str, include_zip: bool = True
    ) -> RetrieveResult: ...

    def list_metadata(
        self, queries: Sequence[ListMetadataQuery], api_version: str | None = None
    ) -> list[FileProperties]: ...

    def describe_metadata(self, api_version: str | None = None) -> DescribeMetadataResult: ...


@dataclass(frozen=True)
class Retrieved:
    """What came back: the files of every batch (manifests left out) and each batch's zip as
    the org sent it, kept so that a snapshot stores exactly what the org said."""

    files: tuple[MetadataFile, ...]
    zips: tuple[bytes, ...]


class Retriever:
    def __init__(
        self,
        api: RetrieveApi,
        api_version: str,
        *,
        schedule: PollSchedule = POLL_SCHEDULE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wait_minutes: float = DEFAULT_WAIT_MINUTES,
    ) -> None:
        self.api = api
        self.api_version = api_version
        self.schedule = schedule
        self.sleep = sleep
        self.clock = clock
        self.wait_minutes = wait_minutes

    def components(self, refs: Iterable[ComponentRef]) -> Retrieved:
        """The org's current version of ``refs``; those it lacks are simply absent."""
        files: list[MetadataFile] = []
        zips: list[bytes] = []
        for batch in _batches(sorted(set(refs)), RETRIEVE_BATCH):
            data = self._retrieve(_request(batch, self.api_version))
            zips.append(data)
            files.extend(_package_files(data))
        return Retrieved(tuple(sorted(files, key=lambda f: f.path)), tuple(zips))

    def everything(self, types: Iterable[str]) -> Retrieved:
        """Every component of ``types`` the org lists (a backup)."""
        return self.components(self.listed(types))

    def listed(self, types: Iterable[str]) -> list[ComponentRef]:
        """What listMetadata names for ``types``; in-folder types are listed folder by folder,
        since Salesforce lists their components only for a named folder."""
        wanted = sorted(set(types))
        found: set[ComponentRef] = set()
        plain = [t for t in wanted if not (t in BY_NAME and BY_NAME[t].in_folder)]
        folders_of = {BY_NAME[t].folder_type: t for t in wanted if t not in plain}
        for entry in self._list([ListMetadataQuery(t) for t in plain]):
            found.add(ComponentRef(entry.type, entry.full_name))
        folder_queries: list[ListMetadataQuery] = []
        for entry in self._list([ListMetadataQuery(t) for t in sorted(folders_of)]):
            found.add(ComponentRef(folders_of[entry.type], entry.full_name))
            folder_queries.append(ListMetadataQuery(folders_of[entry.type], entry.full_name))
        for entry in self._list(folder_queries):
            found.add(ComponentRef(entry.type, entry.full_name))
        return sorted(found)

    def retrievable_types(self) -> list[str]:
        """The types the org describes that sftk can store and restore."""
        described = retried(lambda: self.api.describe_metadata(self.api_version), self.sleep)
        return sorted(o.xml_name for o in described.metadata_objects if o.xml_name in BY_NAME)

    def _list(self, queries: Sequence[ListMetadataQuery]) -> list[FileProperties]:
        out: list[FileProperties] = []
        for batch in _batches(list(queries), LIST_QUERIES_PER_CALL):
            out.extend(self._list_batch(batch))
        return out

    def _list_batch(self, batch: Sequence[ListMetadataQuery]) -> list[FileProperties]:
        return retried(lambda: self.api.list_metadata(batch, self.api_version), self.sleep)

    def _retrieve(self, request: RetrieveRequest) -> bytes:
        retrieve_id = retried(lambda: self.api.retrieve(request), self.sleep)
        deadline = self.clock() + self.wait_minutes * 60
        intervals: Iterator[float] = self.schedule.intervals()
        while True:
            result = retried(lambda: self.api.check_retrieve_status(retrieve_id, False), self.sleep)
            if result.final:
                break
            left = deadline - self.clock()
            if left <= 0:
                raise OrgError(
                    f"retrieve {retrieve_id} was still {result.status} after "
                    f"{self.wait_minutes:g} minutes",
                    code="TIMEOUT",
                    hint="the org is busy; try again later",
                )
            self.sleep(min(next(intervals), left))
        result = retried(lambda: self.api.check_retrieve_status(retrieve_id, True), self.sleep)
        if not result.success or result.status == "Failed":
            raise OrgError(
                f"retrieve {retrieve_id} failed: {result.error_message or result.status}",
                code=result.error_status_code or "RETRIEVE_FAILED",
            )
        return result.zip_file


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _request(refs: Sequence[ComponentRef], api_version: str) -> RetrieveRequest:
    types: dict[str, list[str]] = {}
    for ref in refs:
        types.setdefault(ref.type, []).append(ref.full_name)
    return RetrieveRequest(
        types={name: tuple(sorted(members)) for name, members in types.items()},
        api_version=api_version,
    )


def _package_files(data: bytes) -> list[MetadataFile]:
    """A retrieved zip's component files: package.xml says what was asked, not what came."""
    return [f for f in packaging.read_zip(data, source="retrieve") if f.path not in MANIFEST_NAMES]
