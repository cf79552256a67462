"""A content-addressed cache of full model vectors, in front of the runtime.

The key is the served model, the input exactly as the model would see it (its text with the task
and title, or its token ids), the truncation setting and the side a cut takes; the value is the
model's full-width vector and its token counts, so a Matryoshka cut is applied after the cache
and every output size shares one entry. Only text and token-id inputs are cached (media parts
are decoded objects without a stable content key).

The memory tier is an LRU bounded in bytes; an optional persistent tier (any ``VectorStore``,
SQLite in the data directory by default) keeps entries across restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import orjson

from omnivec.runtime.inputs import EncodedItem, ModelInput
from omnivec.types import Modality, TokenIdsPart

# Bookkeeping per memory entry beyond the vector bytes (key, tuple, dict, OrderedDict node).
_ENTRY_OVERHEAD = 400


class VectorStore(Protocol):
    """The persistent tier: opaque values by key (blocking; called off the event loop)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    bytes: int


def cache_key(model: str, item: ModelInput, auto_truncate: bool) -> bytes | None:
    if len(item.parts) == 1 and isinstance(item.parts[0], TokenIdsPart):
        kind, parts = b"ids", [np.asarray(item.parts[0].ids, dtype="<i8").tobytes()]
    elif item.is_text_only:
        kind, parts = b"text", [p.encode("utf-8", "surrogatepass") for p in item.parts]
    else:
        return None
    digest = hashlib.sha256()
    # The side a cut takes changes what the model reads of an over-long input.
    side = item.truncation.value.encode() if item.truncation is not None else b"-"
    digest.update(b"\0".join((model.encode(), b"T" if auto_truncate else b"F", side, kind, b"")))
    # The task and title become part of the prompt the model reads: they are part of the input.
    for field in (item.task.value if item.task else "", item.title if item.title is not None else "\x00none"):
        encoded = field.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    for encoded in parts:
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.digest()


def _pack(item: EncodedItem) -> bytes:
    header = orjson.dumps(
        {
            "t": item.token_count,
            "m": {k.value: v for k, v in item.tokens_by_modality.items()},
            "x": item.truncated,
        }
    )
    vector = np.asarray(item.vector, dtype=np.float32).tobytes()
    return len(header).to_bytes(4, "little") + header + vector


def _unpack(value: bytes) -> EncodedItem:
    size = int.from_bytes(value[:4], "little")
    header = orjson.loads(value[4 : 4 + size])
    vector = np.frombuffer(value[4 + size :], dtype=np.float32)
    modalities = {Modality(k): int(v) for k, v in header["m"].items()}
    return EncodedItem(vector, int(header["t"]), modalities, bool(header["x"]))


class EmbeddingCache:
    def __init__(self, max_bytes: int, persistent: VectorStore | None = None) -> None:
        self.max_bytes = max_bytes
        self.persistent = persistent
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.hits, self.misses, len(self._entries), self._bytes)

    async def get_many(self, keys: list[bytes | None]) -> list[EncodedItem | None]:
        found: list[EncodedItem | None] = []
        missing: list[int] = []
        with self._lock:
            for i, key in enumerate(keys):
                value = self._entries.get(key) if key is not None else None
                if value is not None:
                    self._entries.move_to_end(key)  # type: ignore[arg-type]
                    found.append(_unpack(value))
                else:
                    found.append(None)
                    if key is not None:
                        missing.append(i)
        if missing and self.persistent is not None:
            store = self.persistent
            values = await asyncio.to_thread(lambda: [store.get(keys[i]) for i in missing])  # type: ignore[arg-type]
            for i, value in zip(missing, values, strict=True):
                if value is not None:
                    found[i] = _unpack(value)
                    self._remember(keys[i], value)  # type: ignore[arg-type]
        counted = [f for k, f in zip(keys, found, strict=True) if k is not None]
        with self._lock:
            self.hits += sum(f is not None for f in counted)
            self.misses += sum(f is None for f in counted)
        return found

    async def put_many(self, items: list[tuple[bytes, EncodedItem]]) -> None:
        packed = [(key, _pack(item)) for key, item in items]
        for key, value in packed:
            self._remember(key, value)
        if packed and self.persistent is not None:
            store = self.persistent

            def write_all() -> None:
                for key, value in packed:
                    store.put(key, value)

            await asyncio.to_thread(write_all)

    def _remember(self, key: bytes, value: bytes) -> None:
        size = len(value) + _ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old) + _ENTRY_OVERHEAD
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted) + _ENTRY_OVERHEAD
