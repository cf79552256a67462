"""Images and PDF pages embedded per second, end to end over HTTP, with a tiny CLIP build.

    python -m bench.multimodal [--images 48] [--pdfs 24] [--rounds 2]

The model's weights are tiny and random (built locally, see tests/support), so the forward pass
costs little and what is measured is everything around it: JSON and base64, sniffing, decoding
(1280x960 JPEGs; PDFs of three text pages, rendered at the default 144 dpi), preprocessing and
batching. Each request is one ``batchEmbedContents`` call with one part per input; the same
requests run against a server that decodes one part at a time (``decode_concurrency=1``) and one
with the default slots, to show what concurrent decoding of a request's parts buys. Results go to
bench/results/multimodal.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from bench.media_decode import encode_image, photo_like
from tests.media import samples
from tests.support.tiny_multimodal_models import build_clip

from omnivec.benchmark.server import ManagedServer, free_port
from omnivec.settings import MediaSettings, child_process_env

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_clip(Path(tmp) / "clip")
        images = [encode_image(photo_like(1280, 960, seed=i), "JPEG") for i in range(args.images)]
        pdf = samples.pdf_text([f"Page {p}: " + "Embeddings of rendered pages. " * 20 for p in range(3)])
        workloads = {
            "images": (_body("image/jpeg", images), len(images)),
            "pdf pages": (_body("application/pdf", [pdf] * args.pdfs), 3 * args.pdfs),
        }
        rows: list[dict[str, Any]] = []
        for slots in (1, MediaSettings().decode_concurrency):
            rows += asyncio.run(_measure(args, model, Path(tmp) / f"data-{slots}", slots, workloads))
    (out / "multimodal.json").write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    table = _table(rows)
    (out / "multimodal.md").write_text(table)
    print(table)
    return 0


def _body(mime: str, blobs: list[bytes]) -> bytes:
    requests = [
        {"content": {"parts": [{"inline_data": {"mime_type": mime, "data": base64.b64encode(b).decode()}}]}}
        for b in blobs
    ]
    return orjson.dumps({"requests": requests})


async def _measure(
    args: argparse.Namespace, model: Path, data_dir: Path, slots: int, workloads: dict[str, tuple[bytes, int]]
) -> list[dict[str, Any]]:
    port = free_port()
    argv = [
        sys.executable, "-m", "omnivec", "serve", "--model", f"clip={model}", "--port", str(port),
        "--offline", "--data-dir", str(data_dir), "--log-level", "warning",
    ]  # fmt: skip
    env = child_process_env(
        {
            "HF_HUB_OFFLINE": "1",
            "OMNIVEC_MEDIA__DECODE_CONCURRENCY": str(slots),
            "OMNIVEC_MEDIA__MAX_PDF_PAGES": "6",
        }
    )
    log = Path(args.out) / "logs" / f"multimodal-{slots}.log"
    rows = []
    with ManagedServer(
        f"clip-{slots}", argv, port=port, ready_path="/readyz", log_path=log, env=env
    ) as server:
        server.start()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=600) as http:
            for name, (body, units) in workloads.items():
                url = "/v1beta/models/clip:batchEmbedContents"
                headers = {"content-type": "application/json"}
                (await http.post(url, content=body, headers=headers)).raise_for_status()  # warm-up
                best = float("inf")
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    response = await http.post(url, content=body, headers=headers)
                    best = min(best, time.perf_counter() - started)
                    response.raise_for_status()
                rows.append({"workload": name, "decode_slots": slots, "per_s": round(units / best, 1)})
                print(f"[multimodal] {name}, {slots} decode slot(s): {units / best:.1f}/s", flush=True)
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Multimodal throughput, end to end (tiny CLIP, one batchEmbedContents per workload)",
        "",
        f"Machine: {os.cpu_count()} CPUs; best round shown.",
        "",
        "| Workload | decode slots | per second |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r['workload']} | {r['decode_slots']} | {r['per_s']:,.1f} |" for r in rows]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.multimodal")
    p.add_argument("--images", type=int, default=48)
    p.add_argument("--pdfs", type=int, default=24)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS))
    return p


if __name__ == "__main__":
    raise SystemExit(main())
