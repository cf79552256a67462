"""Request bodies of the File Search store routes. ``customMetadata`` and ``chunkingConfig`` are
read by ``wire/search_stores.py`` (both spellings, Google's limits), so they pass through here
as plain JSON."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from omnivec.api.schemas.common import Int32, WireModel
from omnivec.api.schemas.embeddings import ContentSchema, Utf8Str


class CreateFileSearchStoreSchema(WireModel):
    display_name: Utf8Str | None = None
    embedding_model: Utf8Str | None = None


class DocumentSettingsSchema(WireModel):
    """What the SDK sends to start an upload, and with importFile."""

    display_name: Utf8Str | None = None
    mime_type: Utf8Str | None = None
    custom_metadata: Any = None
    chunking_config: Any = None


class ImportFileSchema(DocumentSettingsSchema):
    file_name: Utf8Str | None = None


class QueryFileSearchStoreSchema(WireModel):
    """omnivec's retrieval call, in the shape of Google's former Semantic Retrieval API."""

    query: Utf8Str | None = None
    content: ContentSchema | None = None
    results_count: Int32 | None = Field(None, description="1..100, default 10")
    metadata_filter: Utf8Str | None = Field(
        None, description='AIP-160, e.g. author = "Robert Graves" AND year > 1930'
    )
    search_mode: Utf8Str | None = Field(None, description="HYBRID (default), DENSE or LEXICAL")
    file_search_store_names: list[Utf8Str] | None = None
