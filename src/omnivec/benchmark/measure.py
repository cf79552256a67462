"""What a benchmark run records: throughput rows, latency rows, memory, and their summaries."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Throughput:
    """One system on one workload; ``seconds`` holds one wall time per round."""

    key: str
    label: str
    workload: str  # "paragraphs" or "long"
    items: int
    tokens: int
    seconds: list[float] = field(default_factory=list)
    # CPU seconds the measured process spent per round: less sensitive to other load on the
    # machine than wall time, so it shows overhead even when wall times are noisy.
    cpu_seconds: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def best_s(self) -> float:
        return min(self.seconds)

    @property
    def tokens_per_s(self) -> float:
        """From the best round: interference on a shared machine only ever slows a run down."""
        return self.tokens / self.best_s

    @property
    def median_tokens_per_s(self) -> float:
        return self.tokens / statistics.median(self.seconds)

    @property
    def tokens_per_cpu_s(self) -> float | None:
        least = min(self.cpu_seconds, default=0.0)
        return self.tokens / least if least > 0 else None

    @property
    def spread(self) -> float:
        """Slowest round over fastest: 1.0 is a quiet machine."""
        return max(self.seconds) / min(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "workload": self.workload,
            "items": self.items,
            "tokens": self.tokens,
            "seconds": [round(s, 4) for s in self.seconds],
            "tokens_per_s": round(self.tokens_per_s, 1),
            "texts_per_s": round(self.items / self.best_s, 1),
            "median_tokens_per_s": round(self.median_tokens_per_s, 1),
            "spread": round(self.spread, 3),
            "cpu_seconds": [round(s, 4) for s in self.cpu_seconds],
            "tokens_per_cpu_s": round(self.tokens_per_cpu_s, 1) if self.tokens_per_cpu_s else None,
            "note": self.note,
        }


@dataclass(slots=True)
class Latency:
    """Per-call latencies of one system, one list per round."""

    key: str
    label: str
    rounds: list[list[float]] = field(default_factory=list)

    @property
    def samples_ms(self) -> list[float]:
        """The round with the lowest median: like throughput, the least disturbed one counts."""
        return min(self.rounds, key=lambda s: percentile(s, 50)) if self.rounds else []

    def percentile(self, q: float) -> float:
        return percentile(self.samples_ms, q)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "count": len(self.samples_ms),
            "round_p50_ms": [round(percentile(s, 50), 3) for s in self.rounds],
            "p50_ms": round(self.percentile(50), 3),
            "p95_ms": round(self.percentile(95), 3),
            "p99_ms": round(self.percentile(99), 3),
        }


@dataclass(slots=True)
class Memory:
    """Resident memory of one server process, in bytes."""

    label: str
    idle_start: int = 0  # after start-up, before any request
    peak: int = 0
    idle_end: int = 0  # after all load, once quiet
    idle_end_anonymous: int | None = None  # of which the process's own pages (not library code)
    soak_samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds into soak, rss)
    # The burst: RSS once loaded and quiet, the peak while ``burst_clients`` send at once.
    burst_idle: int = 0
    burst_peak: int = 0
    burst_clients: int = 0
    # Seconds from starting the process to its first answered embedding.
    cold_start_s: float | None = None
    # Seconds from starting the process until /readyz answers 200 (a compiled engine serving).
    ready_s: float | None = None

    @property
    def burst_growth(self) -> float | None:
        return self.burst_peak / self.burst_idle - 1.0 if self.burst_idle and self.burst_peak else None

    @property
    def soak_drift(self) -> float | None:
        """Median RSS of the soak's last fifth over its first fifth, minus one."""
        if len(self.soak_samples) < 5:
            return None
        fifth = max(1, len(self.soak_samples) // 5)
        first = statistics.median(r for _, r in self.soak_samples[:fifth])
        last = statistics.median(r for _, r in self.soak_samples[-fifth:])
        return last / first - 1.0

    def as_dict(self) -> dict[str, Any]:
        mib = 1 << 20
        rss = [r for _, r in self.soak_samples]
        drift = self.soak_drift
        return {
            "label": self.label,
            "idle_start_mib": round(self.idle_start / mib, 1),
            "peak_mib": round(self.peak / mib, 1),
            "idle_end_mib": round(self.idle_end / mib, 1),
            "idle_end_anonymous_mib": round(self.idle_end_anonymous / mib, 1)
            if self.idle_end_anonymous
            else None,
            "soak_seconds": round(self.soak_samples[-1][0], 1) if self.soak_samples else 0,
            "soak_min_mib": round(min(rss) / mib, 1) if rss else None,
            "soak_max_mib": round(max(rss) / mib, 1) if rss else None,
            "soak_drift": round(drift, 4) if drift is not None else None,
            "burst_clients": self.burst_clients,
            "burst_idle_mib": round(self.burst_idle / mib, 1),
            "burst_peak_mib": round(self.burst_peak / mib, 1),
            "burst_growth": round(self.burst_growth, 4) if self.burst_growth is not None else None,
            "cold_start_s": round(self.cold_start_s, 2) if self.cold_start_s is not None else None,
            "ready_s": round(self.ready_s, 2) if self.ready_s is not None else None,
            # one sample per second: (seconds, MiB)
            "soak_series": [(round(t), round(r / mib, 1)) for t, r in _per_second(self.soak_samples)],
        }


def _per_second(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    seen: set[int] = set()
    out = []
    for t, rss in samples:
        if int(t) not in seen:
            seen.add(int(t))
            out.append((t, rss))
    return out


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
