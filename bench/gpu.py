"""The GPU check: the model's raw forward pass (the ceiling) and omnivec over HTTP, on CUDA,
in fp32, fp16 and bf16, with one and several replicas. ``bench/gpu.sh`` installs what it needs
and runs this; it also runs on CPU (``--device cpu``) so its logic is checked without a GPU.

    python -m bench.gpu [--device cuda] [--engines fp32 fp16 bf16] [--replicas 1 2 4]

Engines: ``fp32`` and ``bf16`` are omnivec's engines of that name (bf16: autocast, checked to
cosine 0.9999 of fp32 at load); ``fp16`` is engine ``torch``, fp16 weights on CUDA. Results go to
bench/results/gpu.{md,json}; every ratio is to the fp32 ceiling of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from omnivec.benchmark import reference
from omnivec.benchmark.clients import GeminiRestClient
from omnivec.benchmark.corpus import build_corpus
from omnivec.benchmark.load import chunks, run_jobs
from omnivec.benchmark.server import ManagedServer, free_port
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.batcher import BatchLimits
from omnivec.settings import child_process_env, split_model_spec

RESULTS = Path(__file__).resolve().parent / "results"
# omnivec engine for each precision the check measures.
ENGINES = {"fp32": "fp32", "fp16": "torch", "bf16": "bf16"}
# A GPU forward pass is cheap to start and wide: bigger batches than the CPU default.
GPU_BATCH_TOKENS = 32768
GPU_BATCH_ITEMS = 512


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu check: CUDA is not available to torch here; nothing to measure.", file=sys.stderr)
        return 2
    corpus = build_corpus(args.paragraphs, 0, 0, seed=0)
    texts = corpus.texts
    machine = _machine(args.device)
    print(f"[gpu] {machine}", flush=True)
    rows: list[dict[str, Any]] = []
    limits = BatchLimits(GPU_BATCH_TOKENS, GPU_BATCH_ITEMS, 0.0, 65536, 64)
    corpus_tokens = 0
    for precision in args.engines:
        row, corpus_tokens = _ceiling(args, precision, texts, limits)
        rows.append(row)
    asyncio.run(_servers(args, texts, corpus_tokens, rows))
    ceiling = next((r for r in rows if r["row"] == "ceiling fp32"), None)
    for row in rows:
        row["x_fp32_ceiling"] = round(row["tokens_per_s"] / ceiling["tokens_per_s"], 3) if ceiling else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    table = _table(machine, rows, len(texts))
    (out / "gpu.md").write_text(table)
    print(table, flush=True)
    return 0


def _ceiling(
    args: argparse.Namespace, precision: str, texts: tuple[str, ...], limits: BatchLimits
) -> tuple[dict[str, Any], int]:
    """The model's forward pass alone in ``precision``; also the corpus's token count."""
    import torch

    backend = load_backend(
        _served_id(args.model),
        split_model_spec(args.model)[1],
        device=args.device,
        offline=True,
        engine=ENGINES[precision],
        cache_dir=Path(args.data_dir),
    )
    items = reference.prepare_texts(backend, texts)
    batches = reference.token_budget_batches(items, limits)
    reference.time_forward(backend, batches[:2])  # warm-up: kernels, cuBLAS handles, allocator
    best = min(reference.time_forward(backend, batches) for _ in range(args.rounds))
    tokens = sum(i.cost for i in items)
    print(f"[gpu] ceiling {precision}: {tokens / best:,.0f} tokens/s", flush=True)
    backend.close()
    del backend
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    row = {
        "row": f"ceiling {precision}",
        "tokens_per_s": round(tokens / best, 1),
        "texts_per_s": round(len(texts) / best, 1),
    }
    return row, tokens


async def _servers(
    args: argparse.Namespace, texts: tuple[str, ...], corpus_tokens: int, rows: list[dict[str, Any]]
) -> None:
    for precision in args.engines:
        for replicas in args.replicas:
            port = free_port()
            argv = [
                sys.executable, "-m", "omnivec", "serve", "--model", args.model, "--host", "127.0.0.1",
                "--port", str(port), "--offline", "--data-dir", args.data_dir, "--log-level", "warning",
                "--device", args.device, "--engine", ENGINES[precision],
            ]  # fmt: skip
            env = child_process_env(
                {
                    "HF_HUB_OFFLINE": "1",
                    "OMNIVEC_REPLICAS": str(replicas),
                    "OMNIVEC_BATCHING__MAX_BATCH_TOKENS": str(GPU_BATCH_TOKENS),
                    "OMNIVEC_BATCHING__MAX_BATCH_ITEMS": str(GPU_BATCH_ITEMS),
                }
            )
            label = f"omnivec HTTP {precision}, {replicas} replica{'s' if replicas > 1 else ''}"
            log = Path(args.out) / "logs" / f"gpu-{precision}-r{replicas}.log"
            with ManagedServer(label, argv, port=port, ready_path="/readyz", log_path=log, env=env) as server:
                started = time.monotonic()
                server.start()
                client = GeminiRestClient(server.base_url, _served_id(args.model), args.clients)
                jobs = [client.batch_body(c) for c in chunks(texts, 100)]
                await client.batch(jobs[0])
                cold_start = time.monotonic() - started  # to the first answered request
                await run_jobs(jobs[: args.clients], args.clients, client.batch)  # warm-up
                best = min([await run_jobs(jobs, args.clients, client.batch) for _ in range(args.rounds)])
                await client.aclose()
            row = {
                "row": label,
                "tokens_per_s": round(corpus_tokens / best, 1),
                "texts_per_s": round(len(texts) / best, 1),
                "clients": args.clients,
                "cold_start_s": round(cold_start, 2),
            }
            print(f"[gpu] {label}: {row['tokens_per_s']:,.0f} tokens/s", flush=True)
            rows.append(row)


def _served_id(model: str) -> str:
    return split_model_spec(model)[0]


def _machine(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__, "device": device}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
        info["bf16"] = torch.cuda.is_bf16_supported()
    return info


def _table(machine: dict[str, Any], rows: list[dict[str, Any]], n_texts: int) -> str:
    lines = [
        "# GPU check",
        "",
        f"Machine: {', '.join(f'{k} {v}' for k, v in machine.items())}; {n_texts} mixed-length paragraphs, "
        "best round shown.",
        "",
        "| Row | tokens/s | texts/s | x fp32 ceiling | cold start (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        x = r.get("x_fp32_ceiling")
        cold = r.get("cold_start_s")
        lines.append(
            f"| {r['row']} | {r['tokens_per_s']:,.0f} | {r['texts_per_s']:,.1f} | "
            f"{'-' if x is None else f'{x:.2f}'} | {'-' if cold is None else cold} |"
        )
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--model", default="default")
    p.add_argument("--engines", nargs="+", choices=list(ENGINES), default=["fp32", "fp16", "bf16"])
    p.add_argument("--replicas", nargs="+", type=int, default=[1, 2, 4])
    p.add_argument("--paragraphs", type=int, default=4000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--data-dir", default="bench/.data-gpu")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
