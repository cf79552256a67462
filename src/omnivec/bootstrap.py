"""Composition root: settings -> runtime, stores, services, worker. The only place that wires
concrete classes together; everything else receives its dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend, BackendInfo
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.runtime import Runtime
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import EmbeddingService
from omnivec.settings import Settings, split_model_spec
from omnivec.types import Modality, ModelDescriptor

log = get_logger(__name__)


@dataclass
class Container:
    """Everything a door (HTTP app, library, CLI) needs, built from one Settings."""

    settings: Settings
    runtime: Runtime
    catalogue: ModelCatalogue
    embeddings: EmbeddingService
    extras: dict[str, Any] = field(default_factory=dict)
    _started: bool = False

    @property
    def is_started(self) -> bool:
        return self._started

    async def start(self) -> None:
        if not self._started:
            self.runtime.start()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            self.runtime.stop()
            self._started = False


def load_backends(settings: Settings) -> list[Backend]:
    from omnivec.runtime.backends.loader import load_backend

    _apply_torch_threads(settings)
    backends: list[Backend] = []
    seen: set[str] = set()
    for spec in settings.models:
        model_id, source = split_model_spec(spec)
        if model_id.lower() in seen:
            raise ValueError(f"two models are served as {model_id}; name one with --model ID=SOURCE")
        seen.add(model_id.lower())
        backends.append(
            load_backend(
                model_id,
                source,
                device=settings.device,
                offline=settings.offline,
                trust_remote_code=settings.trust_remote_code,
                prompt_style=settings.prompt_styles.get(model_id),
                modalities=_modalities(settings, model_id),
            )
        )
    return backends


def build(settings: Settings, backends: list[Backend] | None = None) -> Container:
    """Build the container. ``backends`` may be given ready-made (tests, benchmarks)."""
    if backends is None:
        backends = load_backends(settings)
    limits = BatchLimits(
        max_batch_tokens=settings.batching.max_batch_tokens,
        max_batch_items=settings.batching.max_batch_items,
        max_wait_s=settings.batching.max_wait_ms / 1000.0,
        max_queue_items=settings.batching.max_queue_items,
    )
    runtime = Runtime(backends, limits)
    descriptors = {b.info.model_id: describe(b.info) for b in backends}
    first = backends[0].info.model_id
    aliases = {name: (target or first) for name, target in settings.aliases.items()}
    catalogue = ModelCatalogue(descriptors, aliases)
    embeddings = EmbeddingService(
        runtime,
        catalogue,
        max_parts_per_content=settings.limits.max_parts_per_content,
        max_text_chars=settings.limits.max_text_chars,
    )
    return Container(settings, runtime, catalogue, embeddings)


def _modalities(settings: Settings, model_id: str) -> frozenset[Modality] | None:
    wanted = settings.model_modalities.get(model_id)
    return frozenset(wanted) if wanted else None


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
        extra={
            "source": info.source,
            "normalized": info.normalized,
            "interleaved": info.interleaved,
            # The rate the media layer resamples audio to for this model.
            **({"audioSampleRate": info.audio_sample_rate} if info.audio_sample_rate else {}),
        },
    )


def _apply_torch_threads(settings: Settings) -> None:
    if settings.torch_threads is None:
        return
    from omnivec.runtime.backends.text import set_torch_threads

    set_torch_threads(settings.torch_threads)
