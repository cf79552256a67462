"""``file_data`` parts: the stored bytes a part names, for the embedding service."""

from __future__ import annotations

import asyncio

from omnivec.errors import InvalidArgument, NotFound
from omnivec.services.file_names import file_id_from_uri
from omnivec.services.files import FilesService
from omnivec.types import BlobPart, FileRefPart


class StoredFileResolver:
    """The ``FileResolver`` over this server's Files API: only the owner's own files, within the
    size one request may embed, charged to the memory budget before they are read."""

    def __init__(self, files: FilesService) -> None:
        self.files = files

    async def resolve(self, part: FileRefPart, owner: str, field: str) -> BlobPart:
        """The stored bytes behind a ``file_data`` part (FileResolver for EmbeddingService)."""
        where = f"{field}.fileData.fileUri"
        file_id = file_id_from_uri(part.file_uri)
        if file_id is None:
            raise InvalidArgument.at(
                where,
                f"{part.file_uri[:120]!r} is not a file of this server: use files/ID or the uri "
                "the Files API returned (other URLs are never fetched)",
            )
        record = await asyncio.to_thread(self.files.store.get, owner, file_id)
        if record is None or record.expire_time <= self.files.clock():
            raise NotFound(f"File files/{file_id} ({where}) does not exist or has expired.")
        if record.size_bytes > self.files.limits.max_resolve_bytes:
            raise InvalidArgument.at(
                where,
                f"files/{file_id} has {record.size_bytes} bytes, more than the "
                f"{self.files.limits.max_resolve_bytes} one request may embed",
            )
        # Taken from the memory budget before a byte is read (429 when spent), held until the
        # embedding call that asked for it returns.
        self.files.budget.charge(record.size_bytes)
        data = await asyncio.to_thread(lambda: b"".join(self.files.open_bytes(record)))
        return BlobPart(part.mime_type or record.mime_type, data, part.clip)
