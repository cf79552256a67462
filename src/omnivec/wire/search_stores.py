"""File Search stores on the wire: FileSearchStore, Document, Operation and ``relevantChunks``.

Google's proto JSON: int64 fields as strings, zero counts omitted, RFC 3339 times. Requests come
from the SDK with top-level camelCase and nested snake_case (``string_value``,
``white_space_config``), from curl in camelCase throughout: both spellings are read.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from omnivec.errors import InvalidArgument
from omnivec.types import (
    ChunkingConfig,
    DocumentState,
    MetadataEntry,
    RelevantChunk,
    SearchStore,
    StoreDocument,
)

MAX_METADATA_ENTRIES = 20
MAX_WORDS_PER_CHUNK = 512
MAX_METADATA_KEY_CHARS = 128
MAX_METADATA_STRING_CHARS = 1024
MAX_METADATA_LIST_VALUES = 64
_TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1main."


def store_name(store_id: str) -> str:
    return f"fileSearchStores/{store_id}"


def document_name(store_id: str, document_id: str) -> str:
    return f"fileSearchStores/{store_id}/documents/{document_id}"


def operation_name(doc: StoreDocument) -> str:
    middle = "upload/operations" if doc.origin == "upload" else "operations"
    return f"fileSearchStores/{doc.store_id}/{middle}/{doc.document_id}"


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- resources ---------------------------------------------------------------------------------
def store_json(store: SearchStore) -> dict[str, Any]:
    body: dict[str, Any] = {"name": store_name(store.store_id)}
    if store.display_name:
        body["displayName"] = store.display_name
    body["createTime"] = rfc3339(store.create_time)
    body["updateTime"] = rfc3339(store.update_time)
    body["embeddingModel"] = f"models/{store.embedding_model or store.model}"
    for key, value in (
        ("activeDocumentsCount", store.active_documents),
        ("pendingDocumentsCount", store.pending_documents),
        ("failedDocumentsCount", store.failed_documents),
        ("sizeBytes", store.size_bytes),
    ):
        if value:
            body[key] = str(value)
    return body


def document_json(doc: StoreDocument) -> dict[str, Any]:
    body: dict[str, Any] = {"name": document_name(doc.store_id, doc.document_id)}
    if doc.display_name:
        body["displayName"] = doc.display_name
    if doc.custom_metadata:
        body["customMetadata"] = custom_metadata_json(doc.custom_metadata)
    body["updateTime"] = rfc3339(doc.update_time)
    body["createTime"] = rfc3339(doc.create_time)
    body["state"] = doc.state.value
    body["sizeBytes"] = str(doc.size_bytes)
    body["mimeType"] = doc.mime_type
    if doc.sha256_hex:  # an omnivec extension, encoded like the Files API's sha256Hash
        body["sha256Hash"] = base64.b64encode(doc.sha256_hex.encode("ascii")).decode("ascii")
    return body


def operation_json(doc: StoreDocument) -> dict[str, Any]:
    """The long-running operation that ingests ``doc``: done once the document is ACTIVE or
    FAILED; a FAILED one carries the reason as the operation's error."""
    body: dict[str, Any] = {"name": operation_name(doc)}
    if doc.state is DocumentState.PENDING:
        return body
    body["done"] = True
    if doc.state is DocumentState.FAILED:
        body["error"] = {"code": 3, "message": doc.error or "The document could not be ingested."}
        return body
    response: dict[str, Any] = {
        "parent": store_name(doc.store_id),
        "documentName": document_name(doc.store_id, doc.document_id),
    }
    if doc.origin == "upload":
        response = {
            "@type": _TYPE_PREFIX + "UploadToFileSearchStoreResponse",
            **response,
            "mimeType": doc.mime_type,
            "sizeBytes": str(doc.size_bytes),
        }
    else:
        response = {"@type": _TYPE_PREFIX + "ImportFileResponse", **response}
    body["response"] = response
    return body


def custom_metadata_json(entries: Sequence[MetadataEntry]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in entries:
        if isinstance(e.value, tuple):
            out.append({"key": e.key, "stringListValue": {"values": list(e.value)}})
        elif isinstance(e.value, float):
            out.append({"key": e.key, "numericValue": e.value})
        else:
            out.append({"key": e.key, "stringValue": e.value})
    return out


def relevant_chunks_json(hits: Sequence[RelevantChunk]) -> dict[str, Any]:
    chunks = []
    for hit in hits:
        doc = hit.document
        chunk: dict[str, Any] = {
            "name": f"{document_name(doc.store_id, doc.document_id)}/chunks/{hit.chunk.index}",
            "data": {"stringValue": hit.chunk.text},
            "state": "STATE_ACTIVE",
        }
        if doc.custom_metadata:
            chunk["customMetadata"] = custom_metadata_json(doc.custom_metadata)
        if hit.chunk.page_number is not None:
            chunk["pageNumber"] = hit.chunk.page_number
        if hit.chunk.start_offset_s is not None:
            chunk["startOffsetSeconds"] = hit.chunk.start_offset_s
        if hit.chunk.end_offset_s is not None:
            chunk["endOffsetSeconds"] = hit.chunk.end_offset_s
        if hit.media_id is not None:
            chunk["mediaId"] = hit.media_id
        chunks.append({"chunkRelevanceScore": hit.score, "chunk": chunk, "document": document_json(doc)})
    return {"relevantChunks": chunks} if chunks else {}


# --- request fields ----------------------------------------------------------------------------
def field(data: Mapping[str, Any], camel: str) -> Any:
    """A request field in camelCase or its snake_case spelling (the SDK nests snake_case)."""
    if camel in data:
        return data[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return data.get(snake)


def parse_custom_metadata(raw: Any, where: str = "customMetadata") -> tuple[MetadataEntry, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidArgument.at(
            where, "must be a list of {key, stringValue | numericValue | stringListValue}"
        )
    if len(raw) > MAX_METADATA_ENTRIES:
        raise InvalidArgument.at(
            where, f"has {len(raw)} entries; a document may have at most {MAX_METADATA_ENTRIES}"
        )
    entries: list[MetadataEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidArgument.at(at, "must be an object with a key and one value")
        key = item.get("key")
        if not isinstance(key, str) or not key.strip():
            raise InvalidArgument.at(f"{at}.key", "must be a non-empty string")
        if len(key) > MAX_METADATA_KEY_CHARS or not key.replace("_", "a").replace("-", "a").isalnum():
            raise InvalidArgument.at(
                f"{at}.key", f"must be at most {MAX_METADATA_KEY_CHARS} letters, digits, '_' or '-'"
            )
        if key in seen:
            raise InvalidArgument.at(f"{at}.key", f"{key!r} appears more than once")
        seen.add(key)
        values = {
            name: value
            for name in ("stringValue", "numericValue", "stringListValue")
            if (value := field(item, name)) is not None
        }
        if len(values) != 1:
            raise InvalidArgument.at(
                at, "must have exactly one of stringValue, numericValue, stringListValue"
            )
        ((kind, value),) = values.items()
        entries.append(MetadataEntry(key, _metadata_value(kind, value, f"{at}.{kind}")))
    return tuple(entries)


def _metadata_value(kind: str, value: Any, at: str) -> str | float | tuple[str, ...]:
    if kind == "stringValue":
        if not isinstance(value, str):
            raise InvalidArgument.at(at, "must be a string")
        return _bounded(value, at)
    if kind == "numericValue":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArgument.at(at, "must be a number")
        if not math.isfinite(value):
            raise InvalidArgument.at(at, "must be a finite number")
        return float(value)
    values = value.get("values") if isinstance(value, Mapping) else None
    if values is None and isinstance(value, Mapping):
        values = []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidArgument.at(at, 'must be {"values": [strings]}')
    if len(values) > MAX_METADATA_LIST_VALUES:
        raise InvalidArgument.at(at, f"may hold at most {MAX_METADATA_LIST_VALUES} strings")
    return tuple(_bounded(v, at) for v in values)


def _bounded(value: str, at: str) -> str:
    if len(value) > MAX_METADATA_STRING_CHARS:
        raise InvalidArgument.at(at, f"is longer than {MAX_METADATA_STRING_CHARS} characters")
    return value


def parse_chunking_config(raw: Any, where: str = "chunkingConfig") -> ChunkingConfig:
    if raw is None:
        return ChunkingConfig()
    if not isinstance(raw, Mapping):
        raise InvalidArgument.at(where, "must be an object with whiteSpaceConfig")
    white = field(raw, "whiteSpaceConfig")
    if white is None:
        return ChunkingConfig()
    at = f"{where}.whiteSpaceConfig"
    if not isinstance(white, Mapping):
        raise InvalidArgument.at(at, "must be an object with maxTokensPerChunk and maxOverlapTokens")
    max_tokens = _whole(field(white, "maxTokensPerChunk"), f"{at}.maxTokensPerChunk")
    overlap = _whole(field(white, "maxOverlapTokens"), f"{at}.maxOverlapTokens")
    if max_tokens is not None and not 1 <= max_tokens <= MAX_WORDS_PER_CHUNK:
        raise InvalidArgument.at(f"{at}.maxTokensPerChunk", f"must be between 1 and {MAX_WORDS_PER_CHUNK}")
    if overlap is not None and overlap < 0:
        raise InvalidArgument.at(f"{at}.maxOverlapTokens", "must not be negative")
    if overlap is not None and max_tokens is not None and overlap >= max_tokens:
        raise InvalidArgument.at(f"{at}.maxOverlapTokens", "must be less than maxTokensPerChunk")
    return ChunkingConfig(max_tokens, overlap)


def _whole(value: Any, at: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument.at(at, "must be a whole number")
    return value


def parse_search_mode(raw: Any) -> str:
    if raw is None:
        return "HYBRID"
    if not isinstance(raw, str) or raw.upper() not in ("HYBRID", "DENSE", "LEXICAL"):
        raise InvalidArgument.at("searchMode", "must be HYBRID, DENSE or LEXICAL")
    return raw.upper()
