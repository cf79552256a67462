"""Domain values shared by every layer: frozen dataclasses and enums, stdlib only.

Wire names (``EmbedContentRequest`` …) live in ``api/schemas``; these are the names the rest of
the code speaks.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is only needed for annotations here; the leaf stays stdlib-only at run time.
    import numpy as np


class TaskType(enum.StrEnum):
    """Gemini's task types. ``UNSPECIFIED`` behaves as no task type."""

    TASK_TYPE_UNSPECIFIED = "TASK_TYPE_UNSPECIFIED"
    RETRIEVAL_QUERY = "RETRIEVAL_QUERY"
    RETRIEVAL_DOCUMENT = "RETRIEVAL_DOCUMENT"
    SEMANTIC_SIMILARITY = "SEMANTIC_SIMILARITY"
    CLASSIFICATION = "CLASSIFICATION"
    CLUSTERING = "CLUSTERING"
    QUESTION_ANSWERING = "QUESTION_ANSWERING"
    FACT_VERIFICATION = "FACT_VERIFICATION"
    CODE_RETRIEVAL_QUERY = "CODE_RETRIEVAL_QUERY"


class PromptStyle(enum.StrEnum):
    """The task-prompt convention a model was trained with; each backend family renders it."""

    NONE = "none"
    GEMMA = "gemma"  # EmbeddingGemma / Gemini Embedding 2: "task: … | query: …", "title: … | text: …"
    E5 = "e5"  # "query: …" / "passage: …"
    QWEN3 = "qwen3"  # "Instruct: …\nQuery:…"
    NOMIC = "nomic"  # "search_query: …" / "search_document: …"


class Truncation(enum.StrEnum):
    """Which side of an over-long input is cut away. Unset (``None`` in ``EmbedOptions``), the
    model's own tokenizer decides: the end, for nearly every model."""

    END = "END"  # keep the start of the text
    START = "START"  # keep the end of the text (task prompt and special tokens stay in place)


class Modality(enum.StrEnum):
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"
    DOCUMENT = "DOCUMENT"


class ModelKind(enum.StrEnum):
    """What a served model does: embed inputs into vectors, or score (query, document) pairs."""

    EMBEDDING = "embedding"
    RERANK = "rerank"


class ScoreActivation(enum.StrEnum):
    """What a reranker applies to its logit to give the score it reports (sentence-transformers'
    ``CrossEncoder`` default for one label is the sigmoid)."""

    SIGMOID = "sigmoid"
    IDENTITY = "identity"


class Priority(enum.IntEnum):
    """Lower runs first: online requests never wait behind batch-job work."""

    ONLINE = 0
    BATCH = 1


class BatchState(enum.StrEnum):
    """A batch job's life: PENDING -> RUNNING -> one terminal state (legal moves: jobs/states.py)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self not in (BatchState.PENDING, BatchState.RUNNING)


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class Clip:
    """The span of an audio or video part to embed, in seconds from its start (a Part's
    ``videoMetadata.startOffset``/``endOffset``); ``end_s`` None runs to the end."""

    start_s: float = 0.0
    end_s: float | None = None

    def __post_init__(self) -> None:
        if self.start_s < 0 or (self.end_s is not None and self.end_s <= self.start_s):
            raise ValueError(f"a clip runs forward from 0 s; got {self.start_s} s to {self.end_s} s")


@dataclass(frozen=True, slots=True)
class BlobPart:
    """Inline bytes (``inline_data``), already base64-decoded."""

    mime_type: str
    data: bytes
    clip: Clip | None = None


@dataclass(frozen=True, slots=True)
class FileRefPart:
    """A reference to a file of this server's Files API (``file_data``)."""

    file_uri: str
    mime_type: str | None = None
    clip: Clip | None = None


@dataclass(frozen=True, slots=True)
class TokenIdsPart:
    """A whole Content given as token ids of the served model's own tokenizer, without its
    special tokens (those are added as the tokenizer adds them) and without a task prompt."""

    ids: tuple[int, ...]


Part = TextPart | BlobPart | FileRefPart | TokenIdsPart


@dataclass(frozen=True, slots=True)
class EmbedOptions:
    task_type: TaskType | None = None
    title: str | None = None
    output_dimensionality: int | None = None
    auto_truncate: bool = True
    truncation: Truncation | None = None


@dataclass(frozen=True, slots=True)
class EmbedInput:
    """One Content to embed: all its parts become ONE vector."""

    parts: tuple[Part, ...]
    options: EmbedOptions = field(default_factory=EmbedOptions)


@dataclass(frozen=True, slots=True)
class Embedding:
    """One result vector (float32, already cut and normalised as requested)."""

    values: np.ndarray
    token_count: int
    tokens_by_modality: Mapping[Modality, int]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_token_count: int
    tokens_by_modality: Mapping[Modality, int]

    @staticmethod
    def of(embeddings: list[Embedding]) -> Usage:
        by_modality: dict[Modality, int] = {}
        for e in embeddings:
            for modality, n in e.tokens_by_modality.items():
                by_modality[modality] = by_modality.get(modality, 0) + n
        return Usage(sum(e.token_count for e in embeddings), by_modality)


@dataclass(frozen=True, slots=True)
class ModelDescriptor:
    """What ``models.get`` reports about a served model or an alias."""

    name: str  # the id clients use, without "models/"
    display_name: str
    description: str
    dimensions: int
    input_token_limit: int
    modalities: frozenset[Modality]
    matryoshka: bool
    prompt_style: PromptStyle
    alias_of: str | None = None
    # Where the model came from as clients may see it: a hub id, or a local directory's name
    # (never its path on this machine).
    source: str = ""
    normalized: bool = True
    # Whether the parts of one Content are read together, in order, by the model itself
    # (otherwise all text forms one passage and media vectors are averaged with it).
    interleaved: bool = False
    # The rate (Hz) the model's audio front end takes; None when it takes no audio.
    audio_sample_rate: int | None = None
    # Which engine computes the vectors (fp32, bf16, onnx, onnx-int8, torch).
    engine: str = ""
    # How many token ids the model's tokenizer knows (inputs given as ids must be below it);
    # None when the model cannot take token ids.
    vocab_size: int | None = None
    # An embedding model, or a reranker (a cross-encoder: it scores pairs, it has no vectors).
    kind: ModelKind = ModelKind.EMBEDDING
    # A reranker's logit -> score; None for an embedding model.
    score_activation: ScoreActivation | None = None


# --- File Search stores ---------------------------------------------------------------------


class DocumentState(enum.StrEnum):
    """A search-store document's life: PENDING until every chunk is embedded and indexed."""

    PENDING = "STATE_PENDING"
    ACTIVE = "STATE_ACTIVE"
    FAILED = "STATE_FAILED"


MetadataValue = str | float | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MetadataEntry:
    """One ``customMetadata`` entry: a string, a number or a list of strings."""

    key: str
    value: MetadataValue


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    """``whiteSpaceConfig``: words per chunk and words shared by neighbouring chunks.
    ``None`` means the store's default, chosen from the model's token limit."""

    max_tokens_per_chunk: int | None = None
    max_overlap_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class SearchStore:
    """A File Search store. ``store_id`` is the name without ``fileSearchStores/``; ``model`` is
    the served model its vectors come from."""

    owner: str
    store_id: str
    display_name: str
    model: str
    create_time: datetime
    update_time: datetime
    active_documents: int = 0
    pending_documents: int = 0
    failed_documents: int = 0
    size_bytes: int = 0
    embedding_model: str = ""  # the name it was created with (an alias stays an alias)


@dataclass(frozen=True, slots=True)
class StoreDocument:
    """A document of a store: its source bytes (``blob_id``), how to chunk it, and its state.
    ``origin`` is ``upload`` or ``import`` and decides the name of its operation."""

    owner: str
    store_id: str
    document_id: str
    display_name: str
    mime_type: str
    size_bytes: int
    sha256_hex: str
    blob_id: str
    origin: str
    state: DocumentState
    custom_metadata: tuple[MetadataEntry, ...]
    chunking: ChunkingConfig
    create_time: datetime
    update_time: datetime
    chunk_count: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoreChunk:
    """One retrievable piece of a document, as it is embedded and indexed."""

    index: int
    text: str
    page_number: int | None = None
    start_offset_s: float | None = None
    end_offset_s: float | None = None


@dataclass(frozen=True, slots=True)
class RelevantChunk:
    """One retrieval hit: the chunk, its score and its document."""

    score: float
    chunk: StoreChunk
    document: StoreDocument
    media_id: str | None = None
