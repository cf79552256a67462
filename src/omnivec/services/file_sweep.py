"""Removing what has expired from the Files API's storage: files, unfinished uploads, and blobs
no record refers to."""

from __future__ import annotations

from datetime import datetime, timedelta

from omnivec.logging import get_logger
from omnivec.storage.interfaces import BlobStore, FileStore

log = get_logger(__name__)

# Blobs no record refers to are removed once they are this old (younger ones may be mid-write).
_ORPHAN_GRACE = timedelta(hours=1)


def sweep_expired(store: FileStore, blobs: BlobStore, now: datetime) -> int:
    """Remove expired files, expired upload sessions and unreferenced blobs (blocking); returns
    how many things were removed."""
    removed = 0
    while expired := store.expired(now, 500):
        for record in expired:
            if store.remove(record.owner, record.file_id) is not None:
                blobs.delete(record.blob_id)
                removed += 1
    while sessions := store.expired_sessions(now, 500):
        for session in sessions:
            store.close_session(session.upload_id)
            blobs.delete(session.blob_id)
            removed += 1
    referenced = store.blob_ids()
    for blob_id, modified in blobs.ids():
        if blob_id not in referenced and modified < now - _ORPHAN_GRACE:
            blobs.delete(blob_id)
            removed += 1
    if removed:
        log.info("removed %d expired files, uploads or orphaned blobs", removed)
    return removed
