"""Command-line options of the benchmark, shared by ``omnivec bench`` and ``python -m bench``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Profile:
    paragraphs: int
    long_passages: int
    short_texts: int
    rounds: int
    soak_s: float


# quick: a smoke run; default: stable ratios in a few minutes; full: the release numbers,
# with the five-minute memory soak.
PROFILES = {
    "quick": Profile(paragraphs=300, long_passages=40, short_texts=60, rounds=1, soak_s=10.0),
    "default": Profile(paragraphs=1000, long_passages=100, short_texts=200, rounds=2, soak_s=30.0),
    "full": Profile(paragraphs=3000, long_passages=300, short_texts=500, rounds=3, soak_s=300.0),
}


@dataclass(frozen=True, slots=True)
class BenchOptions:
    model: str
    profile: str
    paragraphs: int
    long_passages: int
    short_texts: int
    rounds: int
    soak_s: float
    batch_size: int  # texts per HTTP request
    concurrency: tuple[int, ...]
    seed: int
    out_dir: Path
    data_dir: Path
    infinity: bool
    infinity_venv: Path
    int8: bool
    sdk: bool
    torch_threads: int | None
    bf16: bool | None  # None: where the CPU computes bf16 natively
    burst_clients: int
    burst_texts: int | None  # texts per burst request; None: batch_size
    batch_api: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        name = "quick" if args.quick else "full" if args.full else "default"
        profile = PROFILES[name]
        return cls(
            model=args.model,
            profile=name,
            paragraphs=args.paragraphs or profile.paragraphs,
            long_passages=args.long if args.long is not None else profile.long_passages,
            short_texts=args.short or profile.short_texts,
            rounds=args.rounds or profile.rounds,
            soak_s=args.soak_seconds if args.soak_seconds is not None else profile.soak_s,
            batch_size=args.batch_size,
            concurrency=tuple(sorted(set(args.concurrency))),
            seed=args.seed,
            out_dir=Path(args.out),
            data_dir=Path(args.data_dir),
            infinity=not args.no_infinity,
            infinity_venv=Path(args.infinity_venv),
            int8=not args.no_int8,
            sdk=not args.no_sdk,
            torch_threads=args.torch_threads,
            bf16=args.bf16,
            burst_clients=args.burst_clients,
            burst_texts=args.burst_texts,
            batch_api=not args.no_batch_api,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="Small corpus, one round: a smoke run (about a minute)."
    )
    size.add_argument(
        "--full", action="store_true", help="Large corpus, three rounds, five-minute memory soak."
    )
    parser.add_argument(
        "--model", default="default", help="Model source to serve (default: the bundled MiniLM)."
    )
    parser.add_argument("--paragraphs", type=int, help="Mixed-length paragraphs in the corpus.")
    parser.add_argument("--long", type=int, help="Passages near the 256-token limit (0 to skip).")
    parser.add_argument("--short", type=int, help="Short texts for the latency runs.")
    parser.add_argument("--rounds", type=int, help="Times each throughput run repeats; the best counts.")
    parser.add_argument("--soak-seconds", type=float, help="Length of the sustained-load memory window.")
    parser.add_argument("--batch-size", type=int, default=100, help="Texts per HTTP request (default 100).")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="Concurrent HTTP clients (default 1 4 16).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Corpus seed.")
    parser.add_argument("--out", default="bench/results", help="Where the table, JSON and chart go.")
    parser.add_argument("--data-dir", default="bench/.data", help="Data directory of the servers under test.")
    parser.add_argument("--no-infinity", action="store_true", help="Skip Infinity.")
    parser.add_argument(
        "--infinity-venv",
        default="bench/.venv-infinity",
        help="Virtual environment Infinity is installed into.",
    )
    parser.add_argument("--no-int8", action="store_true", help="Skip the ONNX Runtime int8 engine.")
    parser.add_argument("--no-sdk", action="store_true", help="Skip the google-genai SDK run.")
    parser.add_argument(
        "--torch-threads", type=int, help="Intra-op threads for torch, here and in the servers."
    )
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Measure the bf16 rows (default: only where the CPU computes bf16 natively; elsewhere it "
        "is emulated and very slow).",
    )
    parser.add_argument(
        "--burst-clients", type=int, default=64, help="Clients sending at once in the memory burst."
    )
    parser.add_argument(
        "--burst-texts", type=int, help="Texts per request in the burst (default: --batch-size)."
    )
    parser.add_argument("--no-batch-api", action="store_true", help="Skip the Batch API run.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnivec bench",
        description="Measure omnivec against the model's own forward pass and its peers, in one run.",
    )
    add_arguments(parser)
    return parser
