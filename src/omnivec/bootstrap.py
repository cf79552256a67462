"""Composition root: settings -> runtime, stores, services, worker. The only place that wires
concrete classes together; everything else receives its dependencies."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from omnivec import media
from omnivec.index.base import Filter, VectorStore
from omnivec.jobs.chunks import ChunkRunner
from omnivec.jobs.ingestion import IngestionWorker, IngestionWorkerSettings
from omnivec.jobs.sweeper import Sweeper
from omnivec.jobs.worker import BatchWorker, WorkerSettings
from omnivec.logging import get_logger
from omnivec.media.document_text import DocumentReader
from omnivec.media.pdf_workers import PdfWorkerLimits, PdfWorkers
from omnivec.runtime.backends.base import Backend, BackendInfo
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.executors import plan_executors
from omnivec.runtime.runtime import Runtime
from omnivec.services.batches import BatchService, JobLimits
from omnivec.services.calibration import QuantizationRanges
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embedding_cache import EmbeddingCache
from omnivec.services.embeddings import EmbeddingService, PartDecoder, TextOnlyParts
from omnivec.services.file_resolver import StoredFileResolver
from omnivec.services.files import FileLimits, FilesService
from omnivec.services.memory_budget import MemoryBudget
from omnivec.services.search_store_ingestion import DocumentIngestor, IngestionSettings
from omnivec.services.search_stores import SearchStoreLimits, SearchStoreService
from omnivec.services.store_points import VectorStoreHandle
from omnivec.services.uploads import ResumableUploads
from omnivec.settings import Settings, hub_offline_env, split_model_spec
from omnivec.storage.local import DataDirLock, Stores, open_local
from omnivec.storage.sqlite_search_stores import SqliteSearchStoreStore
from omnivec.storage.vector_cache import SqliteVectorCache
from omnivec.types import Modality, ModelDescriptor, ModelKind

log = get_logger(__name__)


@dataclass
class Container:
    """Everything a door (HTTP app, library, CLI) needs, built from one Settings."""

    settings: Settings
    runtime: Runtime
    catalogue: ModelCatalogue
    embeddings: EmbeddingService
    stores: Stores
    files: FilesService
    uploads: ResumableUploads
    batches: BatchService
    worker: BatchWorker
    sweeper: Sweeper
    quantization: QuantizationRanges | None = None
    memory: MemoryBudget = field(default_factory=lambda: MemoryBudget(None))
    _started: bool = False
    search_stores: SearchStoreService | None = None
    ingestion: IngestionWorker | None = None

    @property
    def is_started(self) -> bool:
        return self._started

    async def start(self, *, background_jobs: bool = True) -> None:
        """Start the runtime and, unless ``background_jobs`` is false (the library and one-shot
        CLI calls, which must not pick up the data directory's batch jobs), the batch worker
        and the expiry sweeper."""
        if not self._started:
            self.runtime.start()
            if background_jobs:
                await self.worker.start()
                await self.sweeper.start()
                if self.ingestion is not None:
                    await self.ingestion.start()
            self._started = True

    async def stop(self) -> None:
        """Background tasks first (the worker may finish its chunk on the still-running
        runtime), then the runtime, then storage. Each step is bounded."""
        if self._started:
            await self.sweeper.stop()
            if self.ingestion is not None:
                await self.ingestion.stop()
            await self.worker.stop()
            # Joining the executor threads waits for the batch on the device: off the event
            # loop, which keeps answering (health checks, refusals) meanwhile.
            await asyncio.to_thread(self.runtime.stop)
            if self.search_stores is not None:
                self.search_stores.vectors.close()
            self.embeddings.decoder.close()
            self.stores.close()
            self._started = False


def load_backends(
    settings: Settings, *, show_progress: bool = False, owns_process: bool = False
) -> list[Backend]:
    """One backend per served model, plus more executors of each (same id): the same object where
    the model can run several passes at once over its weights (torch on a CPU; the executors then
    share torch's threads pass by pass), else copies. How many: ``settings.replicas``, or without
    it two for such a model where the process is omnivec's own (``owns_process``: the CLI, not
    the library), see ``runtime.executors``. ``show_progress``: download and loading bars (the
    CLI at a terminal; never the library)."""
    from omnivec.runtime.backends.device import current_torch_threads
    from omnivec.runtime.backends.loader import load_backend

    _apply_torch_threads(settings)
    cores = current_torch_threads()
    backends: list[Backend] = []
    seen: set[str] = set()
    for spec in settings.models:
        model_id, source = split_model_spec(spec)
        if model_id.lower() in seen:
            raise ValueError(f"two models are served as {model_id}; name one with --model ID=SOURCE")
        seen.add(model_id.lower())
        options = load_options(settings, model_id)
        first = load_backend(model_id, source, **options, show_progress=show_progress)
        plan = plan_executors(
            first.info,
            settings.replicas,
            owns_process=owns_process,
            torch_threads=settings.torch_threads,
            cores=cores,
        )
        backends.append(first)
        for _ in range(plan.executors - 1):
            backends.append(first if plan.shared else load_backend(model_id, source, **options))
        if plan.shared:
            log.info("%s: %d executors share its weights and its torch threads", model_id, plan.executors)
    return backends


def load_options(settings: Settings, model_id: str) -> dict[str, Any]:
    """How one served model loads (``load_backend``'s keywords): the same in this process and in
    every Ray replica, so a replica serves exactly what the single-process server would."""
    return {
        "device": settings.device,
        "offline": settings.offline or hub_offline_env(),
        "trust_remote_code": settings.trust_remote_code,
        "prompt_style": settings.prompt_styles.get(model_id),
        "modalities": _modalities(settings, model_id),
        "engine": settings.engine_for(model_id),
        "cache_dir": settings.data_dir,
        "threads": settings.torch_threads,
        "half_precision": settings.half_precision,
        "engine_min_cosine": settings.engine_min_cosine,
        "kernel_cache_entries": settings.kernel_cache_entries,
    }


def build(
    settings: Settings,
    backends: list[Backend] | None = None,
    stores: Stores | None = None,
    *,
    show_progress: bool = False,
    owns_process: bool = False,
) -> Container:
    """Build the container. ``backends`` may be given ready-made (tests, benchmarks); an empty
    list gives a container that serves no model but manages files and batch jobs (the CLI's
    in-process ``files`` and ``batch`` commands). ``stores`` defaults to the data directory.
    ``owns_process``: the process is omnivec's own (the CLI), see ``load_backends``."""
    limits = batch_limits(settings)
    ray_runtime = ray_runtime_for(settings, limits) if backends is None and settings.ray.address else None
    if backends is None and ray_runtime is None:
        backends = load_backends(settings, show_progress=show_progress, owns_process=owns_process)
    # The bf16 engine compiles in omnivec's own process unless configured (``engine_compile``).
    compile_engines = owns_process if settings.engine_compile is None else settings.engine_compile
    runtime = ray_runtime or Runtime(backends or [], limits, compile_engines=compile_engines)
    infos = [runtime.info(model_id) for model_id in runtime.model_ids()]
    descriptors = {info.model_id: describe(info) for info in infos}
    first = first_embedding_model(infos)
    aliases = {name: (target or first) for name, target in settings.aliases.items()} if first else {}
    catalogue = ModelCatalogue(descriptors, aliases)
    stores = stores or open_local(settings.data_dir)
    memory = MemoryBudget(settings.limits.max_body_bytes_in_flight)
    files = FilesService(
        stores.files,
        stores.blobs,
        FileLimits(
            max_file_bytes=settings.files.max_file_bytes,
            max_total_bytes=settings.files.max_total_bytes,
            ttl=timedelta(hours=settings.files.ttl_hours),
            upload_session_ttl=timedelta(hours=settings.files.upload_session_ttl_hours),
            max_resolve_bytes=settings.limits.max_body_bytes,
            max_open_uploads=settings.files.max_open_uploads,
        ),
        budget=memory,
    )
    embeddings = EmbeddingService(
        runtime,
        catalogue,
        max_parts_per_content=settings.limits.max_parts_per_content,
        max_text_chars=settings.limits.max_text_chars,
        files=StoredFileResolver(files),
        decoder=part_decoder(settings, catalogue, memory),
        cache=embedding_cache(settings),
        budget=memory,
    )
    worker = BatchWorker(
        stores.batches,
        embeddings,
        files,
        stores.worker_lock,
        WorkerSettings(
            chunk_items=settings.ray.batch_chunk_items if ray_runtime else settings.batches.chunk_items,
            poll_interval_s=settings.batches.poll_interval_s,
            stop_timeout_s=settings.batches.stop_timeout_s,
            max_attempts=settings.batches.max_attempts,
            stuck_after_s=settings.batches.stuck_after_s,
        ),
        chunks=ray_batch_chunks(settings, catalogue, embeddings) if ray_runtime else None,
    )
    batches = BatchService(
        stores.batches,
        files,
        catalogue,
        worker,
        JobLimits(
            max_requests=settings.batches.max_requests,
            ttl=timedelta(hours=settings.batches.job_ttl_hours),
            max_line_bytes=settings.limits.max_body_bytes,
        ),
    )
    compact = stores.database.compact if stores.database is not None else None
    sweeper = Sweeper(files, worker, settings.files.sweep_interval_s, compact)
    uploads = ResumableUploads(files)
    container = Container(
        settings,
        runtime,
        catalogue,
        embeddings,
        stores,
        files,
        uploads,
        batches,
        worker,
        sweeper,
        quantization=QuantizationRanges(embeddings, settings.data_dir / "calibration"),
        memory=memory,
    )
    if stores.search_stores is not None:
        _add_search_stores(container, stores.search_stores)
    return container


def _add_search_stores(container: Container, store: SqliteSearchStoreStore) -> None:
    """File Search stores: the service, and the worker that ingests their documents."""
    settings = container.settings
    vectors = VectorStoreHandle(vector_store_opener(settings))
    # store PDFs are read by the same worker processes as the PDFs of requests
    pdf_workers = container.embeddings.decoder.pdf_workers
    reader = DocumentReader(settings.media, pdf_workers, settings.search_stores.pdf_timeout_s)
    ingestor = DocumentIngestor(
        store,
        container.stores.blobs,
        container.catalogue,
        container.embeddings,
        vectors,
        reader,
        IngestionSettings(
            chunks_per_step=settings.search_stores.chunks_per_step,
            media_window_s=settings.search_stores.media_window_s,
        ),
    )
    worker = IngestionWorker(
        store,
        ingestor,
        DataDirLock(settings.data_dir / "ingestion.lock"),
        IngestionWorkerSettings(poll_interval_s=settings.search_stores.poll_interval_s),
    )
    container.ingestion = worker
    container.search_stores = SearchStoreService(
        store,
        container.stores.blobs,
        container.files,
        container.uploads,
        container.catalogue,
        container.embeddings,
        vectors,
        metadata_filter_parser(),
        SearchStoreLimits(max_document_bytes=settings.search_stores.max_document_bytes),
        wake=worker.wake,
    )


def vector_store_opener(settings: Settings) -> Callable[[], VectorStore] | None:
    """Opens the configured vector store on first use; None when no adapter is installed."""
    try:
        from omnivec.index.registry import open_vector_store
    except ImportError:
        return None
    return lambda: open_vector_store(settings.vector_store, settings.data_dir)


def metadata_filter_parser() -> Callable[[str], Filter | None] | None:
    try:
        from omnivec.index.metadata_filter import parse_metadata_filter
    except ImportError:
        return None
    return parse_metadata_filter


def embedding_service(settings: Settings, *, device: str | None = None) -> EmbeddingService:
    """The embedding path alone (model, runtime, service; no storage, no files): what each actor
    of a Ray Data batch pipeline runs. The caller starts its runtime. ``device`` overrides the
    configured one (the pipeline's CPU stage tokenises on the CPU)."""
    if device is not None:
        settings = settings.model_copy(update={"device": device})
    backends = load_backends(settings)
    runtime = Runtime(backends, batch_limits(settings))
    descriptors = {b.info.model_id: describe(b.info) for b in backends}
    first = first_embedding_model([b.info for b in backends]) or backends[0].info.model_id
    catalogue = ModelCatalogue(
        descriptors, {name: target or first for name, target in settings.aliases.items()}
    )
    return EmbeddingService(
        runtime,
        catalogue,
        max_parts_per_content=settings.limits.max_parts_per_content,
        max_text_chars=settings.limits.max_text_chars,
        decoder=part_decoder(settings, catalogue),
    )


def ray_runtime_for(settings: Settings, limits: BatchLimits) -> Runtime:
    """Models as Ray Serve deployments on the cluster at ``settings.ray.address`` (the
    distributed extra); raises ModelLoadError when Ray, the cluster or a model is not there."""
    from omnivec.runtime.ray.cluster import connect

    ray_settings = settings.ray
    assert ray_settings.address is not None
    connect(ray_settings.address, ray_settings.connect_timeout_s)
    from omnivec.runtime.ray.replica import ModelSpec
    from omnivec.runtime.ray.runtime import RayRuntime, ReplicaOptions

    specs = []
    for spec in settings.models:
        model_id, source = split_model_spec(spec)
        specs.append(ModelSpec(model_id, source, load_options(settings, model_id)))
    runtime = RayRuntime(
        limits,
        ReplicaOptions(
            replicas=ray_settings.replicas,
            min_replicas=ray_settings.min_replicas,
            max_replicas=ray_settings.max_replicas,
            cpus=ray_settings.replica_cpus,
            gpus=ray_settings.replica_gpus,
            max_ongoing_requests=ray_settings.max_ongoing_requests,
            stall_after_s=settings.limits.request_timeout_s,
        ),
    )
    try:
        runtime.deploy(specs)
    except BaseException:
        runtime.stop()
        raise
    return runtime


def ray_batch_chunks(
    settings: Settings, catalogue: ModelCatalogue, embeddings: EmbeddingService
) -> ChunkRunner:
    """With ``--ray``, Batch API jobs run their chunks as Ray Data pipelines: a CPU stage, then
    a pool of model actors sized like the model's Serve deployment (replicas, CPUs, GPUs)."""
    from omnivec.jobs.ray_chunks import RayDataChunks
    from omnivec.jobs.ray_data import PipelineOptions

    ray = settings.ray
    specs = {split_model_spec(spec)[0]: spec for spec in settings.models}

    def service_for(model: str) -> Callable[[], EmbeddingService]:
        model_id = catalogue.resolve(model).name
        # Each actor loads only this model, as this process would, without Ray.
        one_model = settings.model_copy(update={"models": [specs[model_id]], "aliases": {}})
        return functools.partial(embedding_service, one_model)

    def options_for(model: str) -> PipelineOptions:
        most = ray.max_replicas if ray.max_replicas is not None else ray.replicas
        return PipelineOptions(
            model=catalogue.resolve(model).name,
            actors_min=1,
            actors_max=max(1, most),
            actor_cpus=ray.replica_cpus,
            actor_gpus=ray.replica_gpus,
            prepare_actors_max=max(1, most),
            prepare_cpus=ray.batch_prepare_cpus,
        )

    return RayDataChunks(service_for, options_for, embeddings.files)


def _modalities(settings: Settings, model_id: str) -> frozenset[Modality] | None:
    wanted = settings.model_modalities.get(model_id)
    return frozenset(wanted) if wanted else None


def embedding_cache(settings: Settings) -> EmbeddingCache | None:
    """The vector cache when ``cache.memory_mb`` is set, with its persistent tier if asked for."""
    if settings.cache.memory_mb <= 0:
        return None
    persistent = None
    if settings.cache.persistent_mb > 0:
        persistent = SqliteVectorCache(
            settings.data_dir / "cache" / "vectors.sqlite3", int(settings.cache.persistent_mb * 1024 * 1024)
        )
    return EmbeddingCache(int(settings.cache.memory_mb * 1024 * 1024), persistent)


def part_decoder(
    settings: Settings, catalogue: ModelCatalogue, memory: MemoryBudget | None = None
) -> PartDecoder:
    """Media parts are decoded when the media extra is installed; without it only text is taken."""
    if not media.available():
        log.info("media libraries not installed: only text parts are accepted")
        return TextOnlyParts()
    from omnivec.services.media_decoding import MediaPartDecoder

    m = settings.media
    pdf_workers = PdfWorkers(PdfWorkerLimits(m.pdf_workers, m.pdf_worker_memory_bytes, m.pdf_timeout_s))
    return MediaPartDecoder(catalogue, settings.media, pdf_workers, memory)


def batch_limits(settings: Settings) -> BatchLimits:
    b = settings.batching
    return BatchLimits(
        max_batch_tokens=b.max_batch_tokens,
        max_batch_items=b.max_batch_items,
        max_wait_s=b.max_wait_ms / 1000.0,
        max_queue_items=b.max_queue_items,
        pass_overhead_tokens=b.pass_overhead_tokens,
    )


def describe(info: BackendInfo) -> ModelDescriptor:
    return ModelDescriptor(
        name=info.model_id,
        display_name=info.model_id,
        description=info.description or f"Open embedding model {info.model_id} served by omnivec.",
        dimensions=info.dimensions,
        input_token_limit=info.max_tokens,
        modalities=info.modalities,
        matryoshka=info.matryoshka,
        prompt_style=info.prompt_style,
        source=info.source,
        normalized=info.normalized,
        interleaved=info.interleaved,
        audio_sample_rate=info.audio_sample_rate,
        engine=info.engine,
        vocab_size=info.vocab_size,
        kind=info.kind,
        score_activation=info.score_activation,
    )


def first_embedding_model(infos: list[BackendInfo]) -> str | None:
    """What aliases point at unless told otherwise: the first served embedding model (a reranker
    embeds nothing), else the first served model."""
    for info in infos:
        if info.kind is ModelKind.EMBEDDING:
            return info.model_id
    return infos[0].model_id if infos else None


def _apply_torch_threads(settings: Settings) -> None:
    if settings.torch_threads is None:
        return
    from omnivec.runtime.backends.device import set_torch_threads

    set_torch_threads(settings.torch_threads)
