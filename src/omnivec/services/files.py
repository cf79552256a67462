"""The Files API use case: store, list, read and delete files, within size limits and the
per-owner quota.

Every file belongs to one owner (API key); another owner's file is reported exactly like a
missing one. Bytes live in the blob store under server-generated ids. Names are
``file_names``; streaming uploads to disk, ``upload_pump``; expiry, ``file_sweep``; ``file_data``
parts, ``file_resolver``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from omnivec.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from omnivec.logging import get_logger
from omnivec.services.file_names import GENERATED_PREFIX, file_id_of, new_file_id
from omnivec.services.file_sweep import sweep_expired
from omnivec.services.memory_budget import MemoryBudget
from omnivec.services.upload_pump import pump
from omnivec.storage.interfaces import BlobMissing, BlobStore, DuplicateName, FileStore, OverQuota
from omnivec.storage.local_blobs import new_blob_id
from omnivec.storage.records import Clock, FileSource, StoredFile, utc_now

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_file_bytes: int = 2 * 1024**3
    max_total_bytes: int = 20 * 1024**3
    ttl: timedelta = timedelta(hours=48)
    upload_session_ttl: timedelta = timedelta(hours=24)
    max_resolve_bytes: int = 64 * 1024 * 1024  # the largest file one embed request may refer to
    max_open_uploads: int = 16  # unfinished resumable uploads per owner


class FilesService:
    def __init__(
        self,
        store: FileStore,
        blobs: BlobStore,
        limits: FileLimits | None = None,
        *,
        clock: Clock = utc_now,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.limits = limits or FileLimits()
        self.clock = clock
        self.budget = budget or MemoryBudget(None)

    # --- reading --------------------------------------------------------------------------
    async def get(self, owner: str, name: str) -> StoredFile:
        file_id = file_id_of(name)
        record = await asyncio.to_thread(self.store.get, owner, file_id)
        if record is None or record.expire_time <= self.clock():
            raise NotFound(f"File files/{file_id} does not exist or has expired.")
        return record

    async def list_files(self, owner: str, offset: int, limit: int) -> tuple[list[StoredFile], bool]:
        """One page, newest first, and whether more follow."""
        now = self.clock()
        rows = await asyncio.to_thread(self.store.list_files, owner, offset, limit + 1)
        live = [r for r in rows[:limit] if r.expire_time > now]
        return live, len(rows) > limit

    async def download(self, owner: str, name: str) -> tuple[StoredFile, Iterator[bytes]]:
        """The record and an iterator over the bytes (blocking reads: iterate off the loop)."""
        record = await self.get(owner, name)
        chunks = await asyncio.to_thread(self.open_bytes, record)
        return record, chunks

    def open_bytes(self, record: StoredFile) -> Iterator[bytes]:
        """The file's bytes (blocking). A file whose bytes are gone from the blob store (lost
        under the database: a disk fault, a hand-edited data directory) is removed, and the
        caller gets a clear 400 instead of an internal error, now and a 404 from then on."""
        try:
            return self.blobs.read(record.blob_id)
        except BlobMissing:
            if self.store.get(record.owner, record.file_id) is None:
                # Deleted between reading its record and opening its bytes: it is simply gone.
                raise NotFound(f"File files/{record.file_id} does not exist or has expired.") from None
            log.error("the bytes of files/%s are missing from storage; the file is removed", record.file_id)
            self.store.remove(record.owner, record.file_id)
            raise FailedPrecondition(
                f"The bytes of files/{record.file_id} are missing from the server's storage, so the file "
                "cannot be used and has been removed; upload it again."
            ) from None

    # --- writing --------------------------------------------------------------------------
    async def delete(self, owner: str, name: str) -> None:
        file_id = file_id_of(name)
        record = await asyncio.to_thread(self.store.remove, owner, file_id)
        if record is None:
            raise NotFound(f"File files/{file_id} does not exist or has expired.")
        await asyncio.to_thread(self.blobs.delete, record.blob_id)

    async def claim_name(self, owner: str, name: str | None, field: str = "file.name") -> str:
        """The id a new file will get: the client's (validated, not taken) or a fresh one."""
        if not name:
            return new_file_id()
        file_id = file_id_of(name, field)
        if file_id.startswith(GENERATED_PREFIX):
            raise InvalidArgument.at(
                field, f"names starting with {GENERATED_PREFIX!r} are reserved for batch outputs"
            )
        existing = await asyncio.to_thread(self.store.get, owner, file_id)
        if existing is not None and existing.expire_time > self.clock():
            raise AlreadyExists(f"File files/{file_id} already exists.")
        if existing is not None:  # expired, not yet swept: the name is free again
            await asyncio.to_thread(self.store.remove, owner, file_id)
            await asyncio.to_thread(self.blobs.delete, existing.blob_id)
        return file_id

    def check_size(self, size: int, *, owner_total: int | None = None) -> None:
        """400 when ``size`` bytes are more than one file or the owner's quota may hold."""
        if size > self.limits.max_file_bytes:
            raise InvalidArgument(
                f"The file is {size} bytes, more than the {self.limits.max_file_bytes} bytes a file may have."
            )
        if owner_total is not None and owner_total + size > self.limits.max_total_bytes:
            raise self.quota_error(size, owner_total)

    def quota_error(self, size: int, owner_total: int) -> InvalidArgument:
        return InvalidArgument(
            f"Storing {size} more bytes would exceed the {self.limits.max_total_bytes} bytes of files "
            f"this API key may keep ({owner_total} stored or declared by unfinished uploads); delete some "
            "files or cancel unfinished uploads first."
        )

    async def create(
        self,
        owner: str,
        chunks: AsyncIterable[bytes],
        *,
        name: str | None = None,
        display_name: str = "",
        mime_type: str = "application/octet-stream",
        declared_size: int | None = None,
    ) -> StoredFile:
        """A file from one stream of bytes (single-request uploads, the CLI)."""
        file_id = await self.claim_name(owner, name)
        if declared_size is not None:
            self.check_size(declared_size, owner_total=await asyncio.to_thread(self.store.total_bytes, owner))
        blob_id = new_blob_id()
        staged = await asyncio.to_thread(self.blobs.stage, blob_id, 0)
        hasher = hashlib.sha256()
        try:
            size = await pump(staged, chunks, start=0, limit=self.limits.max_file_bytes, hasher=hasher)
            if declared_size is not None and size != declared_size:
                raise InvalidArgument(f"The upload declared {declared_size} bytes but {size} were sent.")
            await asyncio.to_thread(self.blobs.publish, blob_id)
            record = self.new_record(
                owner, file_id, display_name, mime_type, size, hasher.hexdigest(), blob_id
            )
            await self.add(record)
        except BaseException:
            await asyncio.to_thread(self.blobs.delete, blob_id)
            raise
        finally:
            await asyncio.to_thread(staged.close)
        return record

    def new_record(
        self,
        owner: str,
        file_id: str,
        display_name: str,
        mime_type: str,
        size: int,
        sha256_hex: str,
        blob_id: str,
        source: FileSource = FileSource.UPLOADED,
    ) -> StoredFile:
        now = self.clock()
        return StoredFile(
            owner=owner,
            file_id=file_id,
            display_name=display_name,
            mime_type=mime_type or "application/octet-stream",
            size_bytes=size,
            sha256_hex=sha256_hex,
            blob_id=blob_id,
            source=source,
            create_time=now,
            update_time=now,
            expire_time=now + self.limits.ttl,
        )

    async def add(self, record: StoredFile) -> None:
        try:
            await asyncio.to_thread(self.store.add, record, quota_bytes=self.limits.max_total_bytes)
        except DuplicateName:
            raise AlreadyExists(f"File files/{record.file_id} already exists.") from None
        except OverQuota:
            total = await asyncio.to_thread(self.store.total_bytes, record.owner)
            raise self.quota_error(record.size_bytes, total) from None

    def write_generated(
        self, owner: str, file_id: str, display_name: str, mime_type: str, chunks: Iterable[bytes]
    ) -> StoredFile:
        """A file the server produced (a batch output). Blocking: call it off the event loop.
        Replaces an earlier version of the same name, so producing it again is harmless."""
        hasher = hashlib.sha256()

        def hashed() -> Iterator[bytes]:
            for chunk in chunks:
                hasher.update(chunk)
                yield chunk

        blob_id = new_blob_id()
        size = self.blobs.write(blob_id, hashed())
        record = self.new_record(
            owner, file_id, display_name, mime_type, size, hasher.hexdigest(), blob_id, FileSource.GENERATED
        )
        previous = self.store.get(owner, file_id)
        self.store.add(record, replace=True)
        if previous is not None and previous.blob_id != blob_id:
            self.blobs.delete(previous.blob_id)
        return record

    async def sweep(self) -> int:
        """Remove expired files, expired upload sessions and unreferenced blobs; returns how
        many things were removed."""
        if not self.store.initialized():
            return 0
        return await asyncio.to_thread(sweep_expired, self.store, self.blobs, self.clock())

    def lines(self, record: StoredFile, max_line_bytes: int | None = None) -> Iterator[bytes]:
        """The file's lines, without line ends (blocking: iterate off the event loop). A line
        longer than ``max_line_bytes`` is a 400 as soon as that many bytes of it are read."""
        limit = max_line_bytes if max_line_bytes is not None else record.size_bytes
        rest = bytearray()
        number = 1
        for chunk in self.open_bytes(record):
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                rest += chunk[start:end]
                if len(rest) > limit:
                    raise _line_too_long(record, number, limit)
                yield bytes(rest).rstrip(b"\r")
                rest.clear()
                number += 1
                start = end + 1
            rest += chunk[start:]
            if len(rest) > limit:
                raise _line_too_long(record, number, limit)
        if rest:
            yield bytes(rest).rstrip(b"\r")


def _line_too_long(record: StoredFile, number: int, limit: int) -> InvalidArgument:
    return InvalidArgument(
        f"Line {number} of files/{record.file_id} is longer than the {limit} bytes one request may have; "
        "put one request per line."
    )
