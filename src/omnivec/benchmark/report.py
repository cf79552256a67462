"""The run's results as a text table, JSON and a PNG bar chart, plus the targets they meet."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from omnivec.benchmark.measure import Throughput
from omnivec.benchmark.run import RunResults

_MIB = 1 << 20
_WORKLOADS = {"paragraphs": "mixed-length paragraphs", "long": "long passages (near 256 tokens)"}


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    goal: str
    met: bool | None  # None: not measured in this run
    shown: str


def targets(r: RunResults) -> list[Target]:
    """The project's performance targets, judged on same-run ratios."""
    out: list[Target] = []
    ceiling = "ceiling/paragraphs"
    # The served engine: bf16 where it was measured, else fp32.
    http = "bf16/paragraphs/c4" if _measured(r, "bf16/paragraphs/c4") else "omnivec/paragraphs/c4"
    engine = "bf16" if http.startswith("bf16") else "fp32"

    def ratio_target(name: str, goal: float, num: str | None, den: str | None) -> None:
        v = _ratio(r, num, den) if num and den else None
        out.append(
            Target(name, f">= {goal:.2f}x", None if v is None else v >= goal, f"{v:.2f}x" if v else "-")
        )

    ratio_target(f"HTTP {engine}, 4 clients / fp32 ceiling", 2.3, http, ceiling)
    peers = [k for k in ("st/paragraphs", "st-bf16/paragraphs", "infinity/paragraphs/c4") if _measured(r, k)]
    peers += [k for k in r.throughput if k.startswith("infinity-") and _measured(r, k)]
    best_peer = max(peers, key=lambda k: r.throughput[k].tokens_per_s, default=None)
    ratio_target(f"HTTP {engine}, 4 clients / best peer setting", 1.2, http, best_peer)
    ratio_target("int8 HTTP, 4 clients / fp32 ceiling", 1.4, "int8/paragraphs/c4", ceiling)
    ratio_target("Batch API / online (fp32, 4 clients)", 1.0, "batchapi/paragraphs", "omnivec/paragraphs/c4")
    lat = r.latency
    if lat.get("omnivec/c1") and lat.get("ceiling") and lat["omnivec/c1"].rounds and lat["ceiling"].rounds:
        p50, floor = lat["omnivec/c1"].percentile(50), lat["ceiling"].percentile(50)
        shown = f"{p50:.1f} ms vs {floor:.1f} + 3 ms"
        out.append(Target("one short text, p50, 1 client", "<= forward + 3 ms", p50 <= floor + 3.0, shown))
    for parity in ("bf16",):
        stats = r.parity.get(parity)
        if stats is not None:
            shown = f"min {stats['min_cosine']}"
            out.append(Target(f"{parity} cosine to fp32", ">= 0.9999", stats["min_cosine"] >= 0.9999, shown))
    mem = r.memory.get("omnivec")
    if mem is not None:
        idle = mem.idle_start / _MIB
        out.append(Target("idle RSS, started", "<= 600 MiB", idle <= 600, f"{idle:.0f} MiB"))
        growth = mem.burst_growth
        shown = (
            f"{growth * 100:+.1f} % ({mem.burst_idle / _MIB:.0f} -> {mem.burst_peak / _MIB:.0f} MiB)"
            if growth is not None
            else "-"
        )
        out.append(
            Target(
                f"RSS in a burst of {mem.burst_clients} clients",
                "<= +20 % of idle",
                None if growth is None else growth <= 0.2,
                shown,
            )
        )
        drift = mem.soak_drift
        shown = f"{drift * 100:+.1f} % over {mem.soak_samples[-1][0]:.0f} s" if drift is not None else "-"
        out.append(
            Target(
                "RSS under sustained load",
                "flat, +-10 %",
                None if drift is None else abs(drift) <= 0.1,
                shown,
            )
        )
    return out


def _measured(r: RunResults, key: str) -> bool:
    t = r.throughput.get(key)
    return t is not None and bool(t.seconds)


def _ratio(r: RunResults, num: str, den: str) -> float | None:
    a, b = r.throughput.get(num), r.throughput.get(den)
    if a is None or b is None or not a.seconds or not b.seconds:
        return None
    return a.tokens_per_s / b.tokens_per_s


def _x_ceiling(r: RunResults, t: Throughput) -> float | None:
    return _ratio(r, t.key, f"ceiling/{t.workload}")


def render_text(r: RunResults) -> str:
    o, m = r.options, r.machine
    tokens = r.corpus.get("tokens", {})
    lines = [
        f"omnivec benchmark: {r.model_id}, profile {o.profile}, {o.rounds} round(s), best round shown",
        f"machine: {m['cpu']} ({' '.join(m['cpu_features']) or 'no AVX2'}), "
        f"{m['usable_cores']} usable cores, torch threads {m['torch_threads']}, "
        f"load average {m['load_average_at_start'][0]} at start",
        f"corpus: {r.corpus['paragraphs']} paragraphs ({tokens.get('paragraphs', 0):,} tokens), "
        f"{r.corpus['long_passages']} long passages ({tokens.get('long', 0):,} tokens); "
        f"{o.batch_size} texts per request",
        "",
    ]
    for workload, title in _WORKLOADS.items():
        rows = [t for t in r.throughput.values() if t.workload == workload and t.seconds]
        if not rows:
            continue
        lines.append(
            f"{'Throughput, ' + title:<50}{'tokens/s':>9}{'texts/s':>9}{'x ceil':>8}"
            f"{'spread':>8}{'tok/CPU-s':>11}"
        )
        for t in rows:
            x = _x_ceiling(r, t)
            per_cpu = f"{t.tokens_per_cpu_s:,.0f}" if t.tokens_per_cpu_s else "-"
            lines.append(
                f"  {t.label:<48}{t.tokens_per_s:>9,.0f}{t.items / t.best_s:>9,.1f}"
                f"{f'{x:.2f}' if x else '-':>8}{t.spread:>8.2f}{per_cpu:>11}"
            )
        lines.append("")
    if r.latency:
        lines.append(f"{'Latency, one short text (ms)':<50}{'p50':>9}{'p95':>9}{'p99':>8}")
        for lat in r.latency.values():
            if lat.rounds:
                p50, p95, p99 = (lat.percentile(q) for q in (50, 95, 99))
                lines.append(f"  {lat.label:<48}{p50:>9.1f}{p95:>9.1f}{p99:>8.1f}")
        lines.append("")
    if r.memory:
        lines.append(
            f"{'Resident memory (MiB)':<50}{'start':>9}{'peak':>9}{'after':>8}"
            f"{'of it anon':>12}{'soak drift':>12}"
        )
        for mem in r.memory.values():
            drift = mem.soak_drift
            shown = f"{drift * 100:+.1f} %" if drift is not None else "-"
            anon = f"{mem.idle_end_anonymous / _MIB:.0f}" if mem.idle_end_anonymous else "-"
            lines.append(
                f"  {mem.label:<48}{mem.idle_start / _MIB:>9.0f}{mem.peak / _MIB:>9.0f}"
                f"{mem.idle_end / _MIB:>8.0f}{anon:>12}{shown:>12}"
            )
        for mem in r.memory.values():
            if mem.burst_growth is not None:
                lines.append(
                    f"  {mem.label}: burst of {mem.burst_clients} clients {mem.burst_idle / _MIB:.0f} -> "
                    f"{mem.burst_peak / _MIB:.0f} MiB ({mem.burst_growth * 100:+.1f} %)"
                )
        lines.append("")
        starts = [m for m in r.memory.values() if m.cold_start_s is not None]
        if starts:
            lines.append("Cold start, process start to first answered embedding / to ready (s)")
            for started in starts:
                ready = f"{started.ready_s:>9.2f}" if started.ready_s is not None else ""
                lines.append(f"  {started.label:<48}{started.cold_start_s:>9.2f}{ready}")
            lines.append("")
    for engine, stats in r.parity.items():
        lines.append(
            f"{engine} vs fp32 on this corpus: cosine min {stats['min_cosine']}, mean {stats['mean_cosine']}"
        )
    lines.append("")
    lines.append("Targets")
    for target in targets(r):
        verdict = "n/a" if target.met is None else "met" if target.met else "NOT met"
        lines.append(f"  {target.name:<42}{target.goal:<20}{target.shown:<36}{verdict}")
    lines.extend(f"note: {note}" for note in r.notes)
    lines.append(f"run took {r.seconds:.0f} s")
    return "\n".join(lines) + "\n"


def to_json(r: RunResults) -> dict[str, Any]:
    o = r.options
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": r.model_id,
        "profile": o.profile,
        "rounds": o.rounds,
        "texts_per_request": o.batch_size,
        "machine": r.machine,
        "corpus": r.corpus,
        "throughput": [
            t.as_dict() | {"x_ceiling": _round(_x_ceiling(r, t))} for t in r.throughput.values() if t.seconds
        ],
        "latency": [lat.as_dict() for lat in r.latency.values() if lat.rounds],
        "memory": [mem.as_dict() for mem in r.memory.values()],
        "parity": r.parity,
        "targets": [asdict(t) for t in targets(r)],
        "notes": r.notes,
        "seconds": round(r.seconds, 1),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def write_chart(r: RunResults, path: Path) -> None:
    """Bars of tokens/s as a multiple of the ceiling, one panel per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {w: [t for t in r.throughput.values() if t.workload == w and t.seconds] for w in _WORKLOADS}
    panels = {w: rows for w, rows in panels.items() if rows}
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(9.5, 1.4 + 0.38 * sum(len(rows) for rows in panels.values())),
        squeeze=False,
        gridspec_kw={"height_ratios": [len(rows) for rows in panels.values()]},
        constrained_layout=True,
    )
    for ax, (workload, rows) in zip(axes[:, 0], panels.items(), strict=True):
        values = [_x_ceiling(r, t) or 0.0 for t in rows]
        ax.barh([t.label for t in rows], values, color=[_colour(t) for t in rows])
        for y, (t, v) in enumerate(zip(rows, values, strict=True)):
            ax.text(v, y, f" {v:.2f}x  ({t.tokens_per_s:,.0f} tok/s)", va="center", fontsize=8)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_xlim(0, max([*values, 1.0]) * 1.4)
        ax.set_title(
            f"{_WORKLOADS[workload]}: tokens/s as a multiple of the model's forward pass", fontsize=9
        )
        ax.tick_params(labelsize=8)
    m = r.machine
    fig.suptitle(
        f"omnivec benchmark, {r.model_id} | {m['cpu']}, {m['usable_cores']} cores, "
        f"torch threads {m['torch_threads']}",
        fontsize=9,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _colour(t: Throughput) -> str:
    if t.key.startswith("ceiling"):
        return "#7f7f7f"
    if t.key.startswith(("st/", "infinity/")):
        return "#d62728"
    return "#1f77b4"


def write_results(r: RunResults, out_dir: Path) -> list[Path]:
    """``latest.txt``, ``latest.json`` and (with matplotlib) ``latest.png`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "latest.png"
    try:
        write_chart(r, png)
        written = [png]
    except ImportError:
        r.notes.append("chart: skipped, matplotlib is not installed (pip install 'omnivec[bench]').")
        written = []
    text, data = out_dir / "latest.txt", out_dir / "latest.json"
    text.write_text(render_text(r), encoding="utf-8")
    data.write_bytes(orjson.dumps(to_json(r), option=orjson.OPT_INDENT_2))
    return [text, data, *written]
