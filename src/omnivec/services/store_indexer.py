"""Indexing local files and folders into a store (the command line and the library): each file
becomes a document named by its path, a file whose bytes have not changed since it was last
indexed is skipped, and a changed one replaces its earlier document."""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from omnivec.services.search_stores import SearchStoreService
from omnivec.types import ChunkingConfig, DocumentState, MetadataEntry, StoreDocument


class Outcome(enum.StrEnum):
    ADDED = "added"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: Path
    display_name: str  # the same for a file however it was named on the command line


def find_files(paths: Iterable[Path]) -> list[LocalFile]:
    """Files named, and every file under folders named (recursively, hidden ones skipped)."""
    found: list[LocalFile] = []
    for root in paths:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                    found.append(LocalFile(path, document_name(path)))
        elif root.is_file():
            found.append(LocalFile(root, document_name(root)))
        else:
            raise FileNotFoundError(str(root))
    return found


def document_name(path: Path) -> str:
    """The file's path relative to the working directory when it lies below it, else absolute:
    one name per file, so an unchanged file is recognised on the next run."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class StoreIndexer:
    def __init__(self, service: SearchStoreService) -> None:
        self.service = service

    async def add_file(
        self,
        owner: str,
        store: str,
        file: LocalFile,
        *,
        mime_type: str = "",
        custom_metadata: tuple[MetadataEntry, ...] = (),
        chunking: ChunkingConfig | None = None,
    ) -> tuple[Outcome, StoreDocument | None]:
        """Add ``file`` unless an ACTIVE or PENDING document of the same name has the same bytes."""
        digest = await asyncio.to_thread(sha256_of, file.path)
        earlier = await self.service.documents_named(owner, store, file.display_name)
        if any(d.sha256_hex == digest and d.state is not DocumentState.FAILED for d in earlier):
            return Outcome.UNCHANGED, None
        self.service.check_size(file.path.stat().st_size)
        data = await asyncio.to_thread(file.path.read_bytes)
        doc = await self.service.add_bytes(
            owner,
            store,
            data,
            display_name=file.display_name,
            mime_type=mime_type,
            sha256_hex=digest,
            custom_metadata=custom_metadata,
            chunking=chunking,
        )
        for old in earlier:
            await self.service.delete_document(owner, store, old.document_id, force=True)
        return (Outcome.REPLACED if earlier else Outcome.ADDED), doc
