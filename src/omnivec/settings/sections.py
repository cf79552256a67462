"""The sections of the settings tree (``[batching]``, ``[limits]``, ``[ray]`` …): plain pydantic
models, validated with the rest; only ``omnivec.settings`` reads the environment and files."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)


class BatchingSettings(BaseModel):
    """The dynamic batcher in front of each model."""

    model_config = ConfigDict(extra="forbid")

    # Defaults measured with the benchmark (bench/): on CPU a MiniLM-size forward pass runs at
    # its best between about 1k and 4k padded tokens and slows past that as activations outgrow
    # the caches; one pass costs about as much as 50-60 tokens before its first token. 1024 keeps a
    # burst's activations small at the same throughput (two executors over one model: burst RSS
    # +14 % instead of +19 % with bf16).
    max_batch_tokens: int = Field(
        1024, ge=1, description="Padded tokens per forward pass (raise it on a GPU, e.g. 8192)."
    )
    max_batch_items: int = Field(128, ge=1, description="Items per forward pass.")
    pass_overhead_tokens: int = Field(
        64,
        ge=0,
        description="The fixed cost of one forward pass, in tokens' worth of compute. Larger values "
        "make batches bigger and more ragged (large models, GPUs); smaller, tighter.",
    )
    max_wait_ms: float = Field(
        0.0,
        ge=0,
        description="How long a lone item waits for company. Work that arrives while the model is "
        "busy batches up anyway, so waiting only adds latency unless requests trickle in.",
    )
    max_queue_items: int = Field(8192, ge=1, description="Queued items before new requests get 429.")


class LimitSettings(BaseModel):
    """Per-request limits; every refusal is a 400 that names the limit."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    max_batch_requests: int = Field(100, ge=1, description="requests[] per batchEmbedContents call.")
    max_parts_per_content: int = Field(64, ge=1)
    max_text_chars: int = Field(1_000_000, ge=1, description="Characters in one text part.")
    request_timeout_s: float = Field(120.0, gt=0, description="Whole embedding call, from parsing to result.")
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        description="To receive a request body, once its headers arrived (uploads: plus one second per "
        "min_upload_bytes_per_s bytes).",
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="To receive a request's headers, from the connection or the last response."
    )
    min_upload_bytes_per_s: int = Field(
        64 * 1024, ge=1, description="Slowest upload rate accepted: uploads get this much more time per byte."
    )
    max_body_slots_per_client: int = Field(
        64, ge=1, description="Request bodies one client address may be sending at once; then 429."
    )
    max_concurrent_requests: int = Field(
        1024, ge=1, description="HTTP requests in progress at once; more get 429 before their body is read."
    )
    max_body_bytes_in_flight: int = Field(
        1024 * 1024 * 1024,
        ge=1024,
        description="Bytes held for all requests together (bodies, stored files read for them, decoded "
        "media); past it new requests get 429.",
    )

    @model_validator(mode="after")
    def _budget_holds_one_body(self) -> LimitSettings:
        if self.max_body_bytes_in_flight < self.max_body_bytes:
            raise ValueError("limits.max_body_bytes_in_flight must be at least limits.max_body_bytes")
        return self


class FileSettings(BaseModel):
    """The Files API: size limits, retention, resumable-upload sessions."""

    model_config = ConfigDict(extra="forbid")

    ttl_hours: float = Field(default=48.0, gt=0, description="How long a file is kept after it is created.")
    max_file_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest single file.")
    max_total_bytes: int = Field(default=20 * 1024**3, ge=1, description="Stored bytes per owner (API key).")
    upload_session_ttl_hours: float = Field(
        default=24.0, gt=0, description="How long an unfinished resumable upload can still be resumed."
    )
    sweep_interval_s: float = Field(default=60.0, gt=0, description="How often expired files are removed.")
    max_open_uploads: int = Field(
        default=16, ge=1, description="Unfinished resumable uploads one owner (API key) may have open."
    )


class BatchSettings(BaseModel):
    """The asynchronous Batch API and its worker."""

    model_config = ConfigDict(extra="forbid")

    chunk_items: int = Field(default=256, ge=1, description="Items embedded and checkpointed together.")
    job_ttl_hours: float = Field(
        default=48.0, gt=0, description="Jobs not finished this long after creation expire."
    )
    max_requests: int = Field(default=1_000_000, ge=1, description="Requests in one batch job.")
    max_inline_requests: int = Field(
        default=10_000,
        ge=1,
        le=20_000,
        description="Requests in one inline batch (inputConfig.requests); larger jobs go in a JSONL file.",
    )
    poll_interval_s: float = Field(default=2.0, gt=0, description="How often an idle worker looks for jobs.")
    stop_timeout_s: float = Field(
        default=10.0, gt=0, description="How long shutdown waits for a running chunk."
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Failed turns in a row after which a job is FAILED with the reason."
    )
    stuck_after_s: float = Field(
        default=600.0, gt=0, description="A worker holding a job this long without progress fails /healthz."
    )


class MediaSettings(BaseModel):
    """Limits and decoding choices for media parts (``inline_data`` and resolved ``file_data``).

    Counts and lengths are per Content (one embed request); every refusal is a 400 that names
    the part, the limit and what was found.
    """

    model_config = ConfigDict(extra="forbid")

    max_part_bytes: int = Field(100 * 1024 * 1024, ge=1, description="Bytes of one media part.")
    max_images: int = Field(6, ge=1, description="Image parts in one Content.")
    max_image_pixels: int = Field(
        40_000_000,
        ge=1,
        # Pillow's own decompression-bomb threshold: above it Pillow refuses before we could.
        le=89_478_485,
        description="Width x height an image may announce; larger ones are refused before decoding.",
    )
    image_max_side: int = Field(
        2048, ge=64, description="Decoded images and rendered PDF pages are scaled down to this longest side."
    )
    max_audio_s: float = Field(80.0, gt=0, le=180.0, description="Seconds of audio in one Content.")
    max_video_s: float = Field(128.0, gt=0, le=3600.0, description="Seconds of video in one Content.")
    video_fps: float = Field(1.0, gt=0, le=30.0, description="Frames sampled per second of video.")
    max_video_frames: int = Field(32, ge=1, le=1024, description="Frames kept per video, spread over it.")
    max_video_frame_pixels: int = Field(
        3840 * 2160, ge=1, description="Width x height of a video frame; larger videos are refused."
    )
    video_frame_max_side: int = Field(768, ge=32, description="Longest side of sampled frames.")
    max_pdf_pages: int = Field(6, ge=1, description="PDF pages in one Content.")
    pdf_render_dpi: float = Field(144.0, gt=0, le=600.0, description="Resolution of rendered PDF pages.")
    decode_concurrency: int = Field(4, ge=1, description="Media decodes running at once (bounds memory).")
    pdf_workers: int = Field(2, ge=1, description="Worker processes that parse PDFs (PDFs read at once).")
    pdf_worker_memory_bytes: int = Field(
        1024 * 1024 * 1024,
        ge=64 * 1024 * 1024,
        description="Memory one PDF worker may grow by while reading a PDF; past it the PDF is refused.",
    )
    pdf_timeout_s: float = Field(
        20.0, gt=0, description="Time to read one PDF; past it the worker is killed and the PDF refused."
    )


class SearchStoreSettings(BaseModel):
    """File Search stores: document limits and the ingestion worker."""

    max_document_bytes: int = Field(100 * 1024 * 1024, ge=1, description="Largest document of a store.")
    chunks_per_step: int = Field(32, ge=1, description="Chunks embedded and indexed together.")
    media_window_s: float = Field(
        30.0, gt=0, description="Audio and video documents are chunked into windows of this many seconds."
    )
    pdf_timeout_s: float = Field(
        300.0,
        gt=0,
        description="Time to read one PDF document (or render one step's pages); past it the document fails.",
    )
    poll_interval_s: float = Field(
        2.0, gt=0, description="How often an idle ingestion worker looks for work."
    )


class CacheSettings(BaseModel):
    """The embedding cache: full model vectors by (model, prompted text, truncation)."""

    memory_mb: float = Field(0.0, ge=0, description="Memory for cached vectors; 0 turns the cache off.")
    persistent_mb: float = Field(
        0.0, ge=0, description="A persistent tier in the data directory (needs memory_mb > 0); 0: none."
    )


class RaySettings(BaseModel):
    """Scale-out on a Ray cluster (the distributed extra): each served model becomes a Ray Serve
    deployment whose replicas each run omnivec's own backend and batcher."""

    address: str | None = Field(
        None,
        description="'auto' (the cluster this machine belongs to) or HOST:PORT of its head; unset: no Ray.",
    )
    replicas: int = Field(1, ge=1, description="Replicas of each model (without autoscaling).")
    min_replicas: int | None = Field(None, ge=0, description="Autoscaling lower bound (with max_replicas).")
    max_replicas: int | None = Field(None, ge=1, description="Autoscaling upper bound.")
    replica_cpus: float = Field(
        0.5, gt=0, description="CPUs each replica reserves; fractional, so tokenisation and I/O keep some."
    )
    replica_gpus: float = Field(0.0, ge=0, description="GPUs each replica reserves (fractional allowed).")
    max_ongoing_requests: int = Field(
        64, ge=1, description="Requests one replica takes at once; its batcher batches across them."
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="How long to try to reach the cluster.")
    batch_chunk_items: int = Field(
        1000,
        ge=1,
        description="Batch API jobs: items one Ray Data run embeds and commits together (a restart "
        "re-runs at most one such chunk).",
    )
    batch_prepare_cpus: float = Field(
        0.25,
        gt=0,
        description="Batch API jobs: CPUs each actor of the CPU stage (parse, decode, tokenise) reserves.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> RaySettings:
        if (self.min_replicas is None) != (self.max_replicas is None):
            raise ValueError("ray.min_replicas and ray.max_replicas go together")
        if (
            self.min_replicas is not None
            and self.max_replicas is not None
            and self.min_replicas > self.max_replicas
        ):
            raise ValueError("ray.min_replicas must not exceed ray.max_replicas")
        return self
