"""What the stores keep: plain frozen records, no behaviour beyond derived values."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from omnivec.errors import RPC_CODES
from omnivec.types import BatchState

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class FileSource(enum.StrEnum):
    UPLOADED = "UPLOADED"
    GENERATED = "GENERATED"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of the Files API. ``file_id`` is the name without ``files/``; it is unique per owner.
    ``blob_id`` is server-generated and names the bytes in the blob store."""

    owner: str
    file_id: str
    display_name: str
    mime_type: str
    size_bytes: int
    sha256_hex: str
    blob_id: str
    source: FileSource
    create_time: datetime
    update_time: datetime
    expire_time: datetime


@dataclass(frozen=True, slots=True)
class UploadSession:
    """A resumable upload in progress. ``received`` bytes are durably staged under ``blob_id``."""

    upload_id: str
    owner: str
    file_id: str
    display_name: str
    mime_type: str
    declared_size: int | None
    received: int
    blob_id: str
    create_time: datetime
    expire_time: datetime


@dataclass(frozen=True, slots=True)
class ItemError:
    """A google.rpc.Status for one item or a whole job: numeric code, status name, message."""

    code: int
    status: str
    message: str

    @staticmethod
    def of(status: str, message: str) -> ItemError:
        """The Status for a google.rpc code name, its number looked up, never written by hand."""
        return ItemError(RPC_CODES.get(status, RPC_CODES["UNKNOWN"]), status, message)


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One request of a batch job as stored at submission. ``payload`` is the encoded request
    (opaque to storage); ``error`` is set instead when the request could not be read."""

    index: int
    key: str | None
    metadata: bytes | None  # JSON, echoed back with the result
    payload: bytes | None
    error: ItemError | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome of one item: a float32 vector (raw bytes) and its token count, or an error."""

    index: int
    vector: bytes | None
    token_count: int = 0
    error: ItemError | None = None


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A batch job. ``checkpoint`` items (from index 0) have their results stored."""

    job_id: str
    owner: str
    model: str
    display_name: str
    priority: int
    state: BatchState
    input_file: str | None
    request_count: int
    succeeded: int
    failed: int
    checkpoint: int
    create_time: datetime
    update_time: datetime
    expire_time: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    output_file: str | None = None
    error: ItemError | None = None
    cancel_requested: bool = False

    @property
    def pending(self) -> int:
        return self.request_count - self.succeeded - self.failed
