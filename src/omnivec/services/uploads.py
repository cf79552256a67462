"""Resumable uploads (Google's ``X-Goog-Upload-Protocol: resumable``).

``start`` opens a session and hands back an unguessable upload id, the only credential chunk
requests carry. Each chunk is appended at the offset the client names, made durable, and only
then counted as received, so ``query`` after a crash or a dropped connection tells the client
exactly where to resume. ``finalize`` publishes the bytes as a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import weakref
from collections.abc import AsyncIterable

from omnivec.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from omnivec.services.files import FilesService
from omnivec.services.upload_pump import pump
from omnivec.storage.interfaces import BlobStore, DuplicateName, OverQuota, TooManySessions
from omnivec.storage.local_blobs import new_blob_id
from omnivec.storage.records import StoredFile, UploadSession


class ResumableUploads:
    def __init__(self, files: FilesService) -> None:
        self.files = files
        self.store = files.store
        self.blobs = files.blobs
        # One chunk at a time per session: two racing chunks must not interleave on disk.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def start(
        self,
        owner: str,
        *,
        name: str | None,
        display_name: str,
        mime_type: str,
        declared_size: int | None,
    ) -> UploadSession:
        file_id = await self.files.claim_name(owner, name)
        if declared_size is not None:
            if declared_size < 0:
                raise InvalidArgument.at("X-Goog-Upload-Header-Content-Length", "must not be negative")
            total = await asyncio.to_thread(self.store.total_bytes, owner)
            self.files.check_size(declared_size, owner_total=total)
        limits = self.files.limits
        now = self.files.clock()
        session = UploadSession(
            upload_id=secrets.token_urlsafe(32),
            owner=owner,
            file_id=file_id,
            display_name=display_name,
            mime_type=mime_type or "application/octet-stream",
            declared_size=declared_size,
            received=0,
            blob_id=new_blob_id(),
            create_time=now,
            expire_time=now + self.files.limits.upload_session_ttl,
        )
        # The declared size counts against the quota from now on, and the key's open sessions are
        # limited: unfinished uploads cannot hold storage the quota would refuse to files.
        try:
            await asyncio.to_thread(
                self.store.open_session,
                session,
                quota_bytes=limits.max_total_bytes,
                max_sessions=limits.max_open_uploads,
            )
        except OverQuota:
            total = await asyncio.to_thread(self.store.total_bytes, owner)
            raise self.files.quota_error(declared_size or 0, total) from None
        except TooManySessions:
            raise ResourceExhausted(
                f"This API key has {limits.max_open_uploads} unfinished resumable uploads, as many as it may "
                "have open; finish or cancel one first (unfinished uploads expire after "
                f"{limits.upload_session_ttl.total_seconds() / 3600:g} h).",
                retry_after_s=60.0,
            ) from None
        return session

    async def query(self, upload_id: str) -> UploadSession:
        return await self._session(upload_id)

    async def is_open(self, upload_id: str) -> bool:
        session = await asyncio.to_thread(self.store.session, upload_id)
        return session is not None and session.expire_time > self.files.clock()

    async def cancel(self, upload_id: str) -> None:
        async with self._lock(upload_id):
            session = await self._session(upload_id)
            await self._discard(session)

    async def write(
        self, upload_id: str, chunks: AsyncIterable[bytes], *, offset: int | None, finalize: bool
    ) -> UploadSession | StoredFile:
        """Append one chunk at ``offset`` (None: wherever the session is); with ``finalize``,
        turn the session into a file. Errors that leave the session usable (a wrong offset)
        keep it open; errors that cannot be recovered from discard it."""
        async with self._lock(upload_id):
            session = await self._session(upload_id)
            if offset is not None and offset != session.received:
                raise InvalidArgument(
                    f"X-Goog-Upload-Offset is {offset} but {session.received} bytes have been received; "
                    "send the rest from that offset (ask with X-Goog-Upload-Command: query)."
                )
            staged = await asyncio.to_thread(self.blobs.stage, session.blob_id, session.received)
            try:
                received = await pump(
                    staged,
                    chunks,
                    start=session.received,
                    limit=self.files.limits.max_file_bytes,
                    declared_size=session.declared_size,
                )
            except InvalidArgument:
                await self._discard(session)
                raise
            finally:
                await asyncio.to_thread(staged.close)
            if not await asyncio.to_thread(self.store.advance_session, upload_id, session.received, received):
                raise NotFound(_GONE)  # cancelled or expired while the chunk was in flight
            session = await self._session(upload_id)
            if not finalize:
                return session
            return await self._finalize(session)

    async def _finalize(self, session: UploadSession) -> StoredFile:
        if session.declared_size is not None and session.received != session.declared_size:
            await self._discard(session)
            raise InvalidArgument(
                f"The upload was finalized after {session.received} bytes but declared "
                f"{session.declared_size} (X-Goog-Upload-Header-Content-Length)."
            )
        await asyncio.to_thread(self.blobs.publish, session.blob_id)
        digest = await asyncio.to_thread(_sha256_hex, self.blobs, session.blob_id)
        record = self.files.new_record(
            session.owner,
            session.file_id,
            session.display_name,
            session.mime_type,
            session.received,
            digest,
            session.blob_id,
        )
        try:
            await asyncio.to_thread(
                self.store.finish_session,
                session.upload_id,
                record,
                quota_bytes=self.files.limits.max_total_bytes,
            )
        except DuplicateName:
            await self._discard(session)
            raise AlreadyExists(f"File files/{session.file_id} already exists.") from None
        except OverQuota:
            await self._discard(session)
            total = await asyncio.to_thread(self.store.total_bytes, session.owner)
            raise self.files.quota_error(session.received, total) from None
        return record

    async def _session(self, upload_id: str) -> UploadSession:
        session = await asyncio.to_thread(self.store.session, upload_id) if upload_id else None
        if session is None:
            raise NotFound(_GONE)
        if session.expire_time <= self.files.clock():
            await self._discard(session)
            raise NotFound(_GONE)
        return session

    async def _discard(self, session: UploadSession) -> None:
        await asyncio.to_thread(self.store.close_session, session.upload_id)
        await asyncio.to_thread(self.blobs.delete, session.blob_id)

    def _lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[upload_id] = lock
        return lock


_GONE = (
    "No upload session has this upload_id: it may be unknown, finished, cancelled or expired. "
    "Start a new upload."
)


def _sha256_hex(blobs: BlobStore, blob_id: str) -> str:
    hasher = hashlib.sha256()
    for chunk in blobs.read(blob_id):
        hasher.update(chunk)
    return hasher.hexdigest()
