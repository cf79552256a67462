"""The embedding cache in /metrics: hits, misses, entries and bytes, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from omnivec.services.embedding_cache import EmbeddingCache


class CacheCollector(Collector):
    def __init__(self, cache: EmbeddingCache) -> None:
        self.cache = cache

    def collect(self) -> Iterable[Metric]:
        stats = self.cache.stats()
        yield CounterMetricFamily(
            "omnivec_cache_hits", "Inputs answered from the embedding cache.", value=stats.hits
        )
        yield CounterMetricFamily(
            "omnivec_cache_misses", "Cacheable inputs the model had to embed.", value=stats.misses
        )
        yield GaugeMetricFamily("omnivec_cache_entries", "Vectors in the memory tier.", value=stats.entries)
        yield GaugeMetricFamily("omnivec_cache_bytes", "Bytes held by the memory tier.", value=stats.bytes)


def install(registry: CollectorRegistry, cache: EmbeddingCache | None) -> None:
    if cache is not None:
        registry.register(CacheCollector(cache))
