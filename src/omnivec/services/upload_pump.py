"""Streaming an upload's bytes to disk: a piece at a time, off the event loop, within limits."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable

from omnivec.errors import InvalidArgument
from omnivec.storage.interfaces import StagedBlob

# Bytes handed to the writer thread at a time when streaming an upload to disk.
WRITE_PIECE = 1 << 20


async def pump(
    staged: StagedBlob,
    chunks: AsyncIterable[bytes],
    *,
    start: int,
    limit: int,
    hasher: hashlib._Hash | None = None,
    declared_size: int | None = None,
) -> int:
    """Stream ``chunks`` into ``staged`` (which already holds ``start`` bytes) and commit; the
    disk writes run off the event loop, a piece at a time, so memory stays bounded. Returns the
    staged size. Raises (before writing past it) when the size would exceed ``limit`` or
    ``declared_size``."""
    size = start
    buffer = bytearray()

    def flush(data: bytes) -> None:
        staged.write(data)
        if hasher is not None:
            hasher.update(data)

    async for piece in chunks:
        size += len(piece)
        if size > limit:
            raise InvalidArgument(f"The file is larger than the {limit} bytes a file may have.")
        if declared_size is not None and size > declared_size:
            raise InvalidArgument(
                f"More bytes were sent than the {declared_size} the upload declared "
                "(X-Goog-Upload-Header-Content-Length)."
            )
        buffer += piece
        if len(buffer) >= WRITE_PIECE:
            await asyncio.to_thread(flush, bytes(buffer))
            buffer.clear()
    if buffer:
        await asyncio.to_thread(flush, bytes(buffer))
    return await asyncio.to_thread(staged.commit)
