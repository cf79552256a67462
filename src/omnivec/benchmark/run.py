"""One benchmark run: every system on the same corpus, interleaved round by round.

Each round measures every system once, in the same order, so a burst of load from elsewhere on
a shared machine hits one round rather than one system; the best round of each system counts.
Everything is reported as a ratio to the ceiling measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnivec.benchmark import reference
from omnivec.benchmark.clients import GeminiRestClient, GeminiSdkClient, OpenAIEmbeddingsClient
from omnivec.benchmark.corpus import Corpus, build_corpus
from omnivec.benchmark.infinity import SERVED_NAME, InfinityUnavailable, ensure_installed, infinity_server
from omnivec.benchmark.load import chunks, latencies_ms, run_jobs
from omnivec.benchmark.machine import describe_machine
from omnivec.benchmark.measure import Latency, Memory, Throughput, percentile
from omnivec.benchmark.options import BenchOptions
from omnivec.benchmark.server import ManagedServer, RssSampler, ServerFailed, free_port
from omnivec.bootstrap import batch_limits, load_backends
from omnivec.errors import ModelLoadError
from omnivec.library import AsyncEmbedder
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.device import current_torch_threads
from omnivec.runtime.backends.loader import load_backend, model_directory
from omnivec.runtime.backends.precision import native_bf16_on_cpu
from omnivec.settings import Settings, child_process_env, split_model_spec

INT8_ENGINE = "onnx-int8"
BF16_ENGINE = "bf16"
# Requests each client sends before timing starts: connections, caches and lazy set-up.
_WARMUP_REQUESTS = 2


@dataclass
class RunResults:
    options: BenchOptions
    model_id: str
    machine: dict[str, Any]
    corpus: dict[str, Any]
    throughput: dict[str, Throughput] = field(default_factory=dict)
    latency: dict[str, Latency] = field(default_factory=dict)
    memory: dict[str, Memory] = field(default_factory=dict)
    parity: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Run:
    """One measured thing: ``measure`` runs it once and returns wall seconds (throughput) or
    per-call milliseconds (latency)."""

    measure: Callable[[], Awaitable[Any]]
    record: Callable[[Any, float], None]  # (measurement, CPU seconds it took)
    cpu_clock: Callable[[], float]  # cumulative CPU seconds of the process doing the work


@dataclass
class _Workloads:
    texts: dict[str, tuple[str, ...]]
    tokens: dict[str, int]


class Bench:
    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.logs = options.out_dir / "logs"
        self._runs: list[_Run] = []
        self._warmups: list[Callable[[], Awaitable[object]]] = []
        self._samplers: dict[str, RssSampler] = {}
        self.results: RunResults | None = None

    async def run(self) -> RunResults:
        started = time.monotonic()
        o = self.options
        corpus = build_corpus(o.paragraphs, o.long_passages, o.short_texts, seed=o.seed)
        # The ceiling every row is a ratio to is the model's own fp32 forward pass.
        settings = Settings.load(
            models=[o.model],
            offline=True,
            torch_threads=o.torch_threads,
            data_dir=o.data_dir,
            backend_engine={"*": "fp32"},
        )
        backend = load_backends(settings)[0]
        model_id = backend.info.model_id
        r = self.results = RunResults(
            o, model_id, describe_machine(current_torch_threads()), _corpus_info(corpus)
        )
        texts = {n: t for n, t in (("paragraphs", corpus.texts), ("long", corpus.long_texts)) if t}
        prepared = {name: reference.prepare_texts(backend, t) for name, t in texts.items()}
        work = _Workloads(texts, {name: sum(p.cost for p in items) for name, items in prepared.items()})
        r.corpus["tokens"] = work.tokens
        native, why = native_bf16_on_cpu()
        bf16_on = o.bf16 if o.bf16 is not None else native
        r.machine["native_bf16"] = native
        if not bf16_on:
            r.notes.append(f"bf16 rows: skipped, {why} (emulated bf16 is slow; --bf16 measures it anyway).")
        self._log(
            f"model {model_id}; corpus {len(corpus.texts)} paragraphs, {len(corpus.long_texts)} long passages"
        )

        limits = batch_limits(settings)
        for name, items in prepared.items():
            batches = reference.token_budget_batches(items, limits)
            self._throughput(
                work,
                f"ceiling/{name}",
                "ceiling: fp32 model forward alone",
                name,
                _timed(reference.time_forward, backend, batches),
            )
        bf16 = await self._add_bf16_ceiling(settings, backend, work, prepared) if bf16_on else None
        st_model = reference.sentence_transformers_model(backend)
        if st_model is None:
            r.notes.append(
                f"sentence-transformers encode: skipped, {o.model} is not a sentence-transformers model."
            )
        else:
            for name, t in texts.items():
                self._throughput(
                    work,
                    f"st/{name}",
                    "sentence-transformers encode",
                    name,
                    _timed(reference.time_st_encode, st_model, t),
                )
            if bf16 is not None:
                self._throughput(
                    work,
                    "st-bf16/paragraphs",
                    "sentence-transformers encode, bf16 autocast",
                    "paragraphs",
                    _timed(functools.partial(reference.time_st_encode, bf16=True), st_model, corpus.texts),
                )

        async with contextlib.AsyncExitStack() as stack:
            embedder = await stack.enter_async_context(AsyncEmbedder(settings=settings, backends=[backend]))
            library_jobs = chunks(corpus.texts, o.batch_size)

            async def library_call(batch: list[str]) -> object:
                return await embedder.batch_embed_contents(model_id, batch)

            self._throughput(
                work,
                "library/paragraphs",
                "omnivec library, 4 tasks",
                "paragraphs",
                _load(library_jobs, 4, library_call),
            )
            http = await self._add_omnivec(stack, work, corpus, model_id)
            if bf16 is not None:
                await self._add_omnivec_bf16(stack, work, corpus, model_id)
            if o.int8:
                await self._add_int8(stack, settings, backend, work, corpus, model_id)
            if o.infinity:
                await self._add_infinity(stack, work, None)
                if bf16 is not None:
                    await self._add_infinity(stack, work, "bfloat16")
            else:
                r.notes.append("Infinity: skipped (--no-infinity).")
            self._add_latency(backend, http, corpus)

            self._log("warming up")
            for warm in self._warmups:
                for _ in range(_WARMUP_REQUESTS):
                    await warm()
            for round_no in range(o.rounds):
                self._log(f"round {round_no + 1} of {o.rounds}")
                for run in self._runs:
                    cpu_before = run.cpu_clock()
                    value = await run.measure()
                    run.record(value, run.cpu_clock() - cpu_before)
            await self._burst(http, corpus)
            await self._soak(http, corpus)
        r.seconds = time.monotonic() - started
        return r

    # --- what is measured --------------------------------------------------------------------
    def _throughput(
        self,
        work: _Workloads,
        key: str,
        label: str,
        workload: str,
        measure: Callable[[], Awaitable[float]],
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        assert self.results is not None
        row = Throughput(key, label, workload, len(work.texts[workload]), work.tokens[workload])
        self.results.throughput[key] = row

        def record(seconds: float, cpu: float) -> None:
            row.seconds.append(seconds)
            row.cpu_seconds.append(cpu)
            self._log(f"  {label} [{workload}]: {row.tokens / seconds:,.0f} tokens/s")

        self._runs.append(_Run(measure, record, cpu_clock))

    def _latency(self, key: str, label: str, measure: Callable[[], Awaitable[list[float]]]) -> None:
        assert self.results is not None
        row = self.results.latency[key] = Latency(key, label)

        def record(samples: list[float], cpu: float) -> None:
            row.rounds.append(samples)
            self._log(f"  {label}: p50 {percentile(samples, 50):.1f} ms")

        self._runs.append(_Run(measure, record, time.process_time))

    async def _add_omnivec(
        self, stack: contextlib.AsyncExitStack, work: _Workloads, corpus: Corpus, model_id: str
    ) -> GeminiRestClient:
        o = self.options
        server = await stack.enter_async_context(self._omnivec_server("omnivec", "fp32", model_id))
        http = GeminiRestClient(server.base_url, model_id, max(o.concurrency))
        stack.push_async_callback(http.aclose)
        self._http_rows(work, "omnivec", "omnivec HTTP fp32", http, server)
        if o.batch_api:
            jobs = [list(corpus.texts)]  # the whole corpus as one job, as a batch user sends it
            label = "omnivec Batch API, fp32, inline requests"
            self._throughput(
                work,
                "batchapi/paragraphs",
                label,
                "paragraphs",
                _load(jobs, 1, http.batch_job),
                server.cpu_seconds,
            )
        self._warmups.append(lambda: http.batch(http.batch_body(corpus.texts[:8])))
        if o.sdk:
            sdk = GeminiSdkClient(server.base_url, model_id)
            stack.push_async_callback(sdk.aclose)
            sdk_jobs = chunks(corpus.texts, o.batch_size)
            label = "omnivec via google-genai SDK, 4 clients"
            self._throughput(
                work,
                "sdk/paragraphs/c4",
                label,
                "paragraphs",
                _load(sdk_jobs, 4, sdk.batch),
                server.cpu_seconds,
            )
            self._warmups.append(lambda: sdk.batch(list(corpus.texts[:8])))
        return http

    async def _add_int8(
        self,
        stack: contextlib.AsyncExitStack,
        settings: Settings,
        fp32: Backend,
        work: _Workloads,
        corpus: Corpus,
        model_id: str,
    ) -> None:
        assert self.results is not None
        r, o = self.results, self.options
        source = split_model_spec(o.model)[1]
        try:
            int8 = await asyncio.to_thread(
                load_backend, model_id, source, offline=True, engine=INT8_ENGINE, cache_dir=settings.data_dir,
                threads=o.torch_threads,
            )  # fmt: skip
        except (ModelLoadError, ImportError) as exc:  # an optional engine: say why, measure the rest
            r.notes.append(f"ONNX int8: skipped ({exc}).")
            return
        stack.callback(int8.close)
        items = reference.prepare_texts(int8, corpus.texts)
        batches = reference.token_budget_batches(items, batch_limits(settings))
        r.parity[INT8_ENGINE] = _cosine_stats(fp32, int8, batches)
        self._throughput(
            work,
            "int8/forward",
            "int8 ONNX forward alone",
            "paragraphs",
            _timed(reference.time_forward, int8, batches),
        )
        try:
            server = await stack.enter_async_context(
                self._omnivec_server("omnivec-int8", INT8_ENGINE, model_id)
            )
        except ServerFailed as exc:
            r.notes.append(f"ONNX int8 server: did not start ({exc}).")
            return
        client = GeminiRestClient(server.base_url, model_id, 4)
        stack.push_async_callback(client.aclose)
        jobs = [client.batch_body(c) for c in chunks(corpus.texts, o.batch_size)]
        label = "omnivec HTTP int8, 4 clients"
        self._throughput(
            work, "int8/paragraphs/c4", label, "paragraphs", _load(jobs, 4, client.batch), server.cpu_seconds
        )
        self._warmups.append(lambda: client.batch(jobs[0]))

    async def _add_bf16_ceiling(
        self, settings: Settings, fp32: Backend, work: _Workloads, prepared: dict[str, list[Any]]
    ) -> Backend | None:
        """The bf16 engine's forward pass alone, and how close its vectors are to fp32's."""
        assert self.results is not None
        r, o = self.results, self.options
        try:
            bf16 = await asyncio.to_thread(
                load_backend, fp32.info.model_id, split_model_spec(o.model)[1], offline=True,
                engine=BF16_ENGINE, cache_dir=settings.data_dir, threads=o.torch_threads,
            )  # fmt: skip
        except ModelLoadError as exc:
            r.notes.append(f"bf16: skipped ({exc}).")
            return None
        limits = batch_limits(settings)
        batches = reference.token_budget_batches(
            reference.prepare_texts(bf16, work.texts["paragraphs"]), limits
        )
        r.parity[BF16_ENGINE] = _cosine_stats(
            fp32, bf16, reference.token_budget_batches(prepared["paragraphs"], limits)
        )
        self._throughput(
            work,
            "ceiling-bf16/paragraphs",
            "bf16 model forward alone",
            "paragraphs",
            _timed(reference.time_forward, bf16, batches),
        )
        return bf16

    async def _add_omnivec_bf16(
        self, stack: contextlib.AsyncExitStack, work: _Workloads, corpus: Corpus, model_id: str
    ) -> None:
        assert self.results is not None
        try:
            server = await stack.enter_async_context(
                self._omnivec_server("omnivec-bf16", BF16_ENGINE, model_id)
            )
        except ServerFailed as exc:
            self.results.notes.append(f"bf16 server: did not start ({exc}).")
            return
        client = GeminiRestClient(server.base_url, model_id, 16)
        stack.push_async_callback(client.aclose)
        jobs = [client.batch_body(c) for c in chunks(corpus.texts, self.options.batch_size)]
        for c in (4, 16):
            label = f"omnivec HTTP bf16, {_clients(c)}"
            measure = _load(jobs, c, client.batch)
            self._throughput(work, f"bf16/paragraphs/c{c}", label, "paragraphs", measure, server.cpu_seconds)
        self._warmups.append(lambda: client.batch(jobs[0]))

    async def _add_infinity(
        self, stack: contextlib.AsyncExitStack, work: _Workloads, dtype: str | None
    ) -> None:
        assert self.results is not None
        r, o = self.results, self.options
        model_dir = model_directory(split_model_spec(o.model)[1])
        if model_dir is None:
            r.notes.append(f"Infinity: skipped, {o.model} has no model directory to give it.")
            return
        try:
            self._log("installing Infinity into its own environment (first run only)")
            executable = await asyncio.to_thread(
                ensure_installed, o.infinity_venv.resolve(), self.logs / "infinity-install.log"
            )
            port = free_port()
            label = "infinity" if dtype is None else f"infinity-{dtype}"
            server = stack.enter_context(
                infinity_server(
                    executable,
                    model_dir,
                    port,
                    self.logs / f"{label}.log",
                    child_process_env({}),
                    dtype=dtype,
                )
            )
            self._log(f"starting Infinity on port {port}")
            await asyncio.to_thread(server.start)
        except (InfinityUnavailable, ServerFailed) as exc:
            r.notes.append(f"Infinity: skipped ({exc}).")
            return
        await stack.enter_async_context(self._watch_memory(server, label))
        client = OpenAIEmbeddingsClient(server.base_url, SERVED_NAME, max(o.concurrency))
        stack.push_async_callback(client.aclose)
        if dtype is None:
            self._http_rows(work, "infinity", "Infinity HTTP", client, server)
        else:
            jobs = [client.batch_body(c) for c in chunks(work.texts["paragraphs"], o.batch_size)]
            self._throughput(
                work,
                f"{label}/paragraphs/c4",
                f"Infinity HTTP --dtype {dtype}, 4 clients",
                "paragraphs",
                _load(jobs, 4, client.batch),
                server.cpu_seconds,
            )
        self._warmups.append(lambda: client.batch(client.batch_body(work.texts["paragraphs"][:8])))

    def _http_rows(
        self,
        work: _Workloads,
        key: str,
        label: str,
        client: GeminiRestClient | OpenAIEmbeddingsClient,
        server: ManagedServer,
    ) -> None:
        """Batch requests of ``batch_size`` texts: every concurrency on the paragraphs, four
        clients on the long passages."""
        for name, texts in work.texts.items():
            jobs = [client.batch_body(c) for c in chunks(texts, self.options.batch_size)]
            for c in self.options.concurrency if name == "paragraphs" else (4,):
                measure = _load(jobs, c, client.batch)
                self._throughput(
                    work, f"{key}/{name}/c{c}", f"{label}, {_clients(c)}", name, measure, server.cpu_seconds
                )

    def _add_latency(self, backend: Backend, http: GeminiRestClient, corpus: Corpus) -> None:
        short_items = reference.prepare_texts(backend, corpus.short_texts)

        async def forward_alone() -> list[float]:
            return reference.single_item_forward_ms(backend, short_items)

        self._latency("ceiling", "ceiling: single-item forward", forward_alone)
        bodies = [http.single_body(t) for t in corpus.short_texts]
        for c in (1, 16):
            self._latency(
                f"omnivec/c{c}", f"omnivec embedContent, {_clients(c)}", _samples(bodies, c, http.single)
            )

    async def _burst(self, http: GeminiRestClient, corpus: Corpus) -> None:
        """``burst_clients`` requests at once, each on its own connection, on the quiet fp32
        server, its RSS sampled."""
        assert self.results is not None
        o = self.options
        sampler = self._samplers["omnivec"]
        memory = self.results.memory["omnivec"]
        await asyncio.sleep(4.0)  # quiet: the server has handed back what its last batches freed
        memory.burst_idle = sampler.server.rss()
        client = GeminiRestClient(sampler.server.base_url, http.model, o.burst_clients, timeout_s=1800.0)
        jobs = [client.batch_body(c) for c in chunks(corpus.texts, o.burst_texts or o.batch_size)]
        burst = [jobs[i % len(jobs)] for i in range(o.burst_clients)]
        self._log(f"burst of {o.burst_clients} clients")
        sampler.record()
        try:
            await run_jobs(burst, o.burst_clients, client.batch)
        finally:
            await client.aclose()
        await asyncio.sleep(0.5)
        series = sampler.stop_recording()
        memory.burst_clients = o.burst_clients
        memory.burst_peak = max([rss for _, rss in series] + [sampler.server.rss()])

    async def _soak(self, http: GeminiRestClient, corpus: Corpus) -> None:
        """Sustained batch load on the omnivec server while its memory is sampled."""
        assert self.results is not None
        o = self.options
        if o.soak_s <= 0:
            return
        self._log(f"sustained load for {o.soak_s:g} s")
        sampler = self._samplers["omnivec"]
        jobs = [http.batch_body(c) for c in chunks(corpus.texts, o.batch_size)]
        deadline = time.monotonic() + o.soak_s
        sampler.record()
        while time.monotonic() < deadline:
            await run_jobs(jobs, 4, http.batch)
        self.results.memory["omnivec"].soak_samples = sampler.stop_recording()

    # --- servers -----------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _omnivec_server(
        self, label: str, engine: str | None, model_id: str
    ) -> AsyncIterator[ManagedServer]:
        o = self.options
        port = free_port()
        argv = [
            sys.executable, "-m", "omnivec", "serve", "--model", o.model, "--host", "127.0.0.1",
            "--port", str(port), "--offline", "--data-dir", str(o.data_dir), "--log-level", "warning",
        ]  # fmt: skip
        if o.torch_threads:
            argv += ["--torch-threads", str(o.torch_threads)]
        if engine:
            argv += ["--engine", engine]
        server = ManagedServer(
            label,
            argv,
            port=port,
            # Alive is enough to answer: the cold start is the first answered embedding. Ready
            # (below) may come later, when a compiled engine has taken over.
            ready_path="/healthz",
            log_path=self.logs / f"{label}.log",
            # A burst on a slow or busy machine may take longer than the default request deadline;
            # the benchmark measures throughput and memory, not the deadline.
            env=child_process_env({"HF_HUB_OFFLINE": "1", "OMNIVEC_LIMITS__REQUEST_TIMEOUT_S": "900"}),
        )
        self._log(f"starting {label} on port {port}")
        with server:
            started = time.monotonic()
            await asyncio.to_thread(server.start)
            first = GeminiRestClient(server.base_url, model_id, 1)
            try:
                await first.single(first.single_body("The first request after start-up."))
            finally:
                await first.aclose()
            cold_start = time.monotonic() - started
            await asyncio.to_thread(server.wait_ready, "/readyz")
            ready = time.monotonic() - started
            async with self._watch_memory(server, label) as memory:
                memory.cold_start_s = cold_start
                memory.ready_s = ready
                yield server

    @contextlib.asynccontextmanager
    async def _watch_memory(self, server: ManagedServer, label: str) -> AsyncIterator[Memory]:
        assert self.results is not None
        memory = self.results.memory[label] = Memory(label, idle_start=server.rss())
        with RssSampler(server) as sampler:
            self._samplers[label] = sampler
            yield memory
            # Quiet long enough for the server to hand freed memory back, then call it idle.
            await asyncio.sleep(4.0)
            memory.idle_end = server.rss()
            memory.idle_end_anonymous = server.anonymous_rss()
            memory.peak = max(sampler.peak, server.peak_rss() or 0, memory.idle_end)

    def _log(self, message: str) -> None:
        print(f"[bench] {message}", flush=True)


def _timed(fn: Callable[..., float], *args: Any) -> Callable[[], Awaitable[float]]:
    async def measure() -> float:
        return fn(*args)

    return measure


def _load(
    jobs: Sequence[Any], concurrency: int, call: Callable[[Any], Awaitable[object]]
) -> Callable[[], Awaitable[float]]:
    async def measure() -> float:
        return await run_jobs(jobs, concurrency, call)

    return measure


def _samples(
    jobs: Sequence[Any], concurrency: int, call: Callable[[Any], Awaitable[object]]
) -> Callable[[], Awaitable[list[float]]]:
    async def measure() -> list[float]:
        return await latencies_ms(jobs, concurrency, call)

    return measure


def _clients(n: int) -> str:
    return f"{n} client{'s' if n > 1 else ''}"


def _cosine_stats(reference_backend: Backend, other: Backend, batches: Sequence[Any]) -> dict[str, float]:
    """How close ``other``'s vectors are to the reference's on the benchmark corpus, in batches
    formed as the server forms them (int8 quantises activations per batch)."""
    a = np.concatenate([reference_backend.finalize(reference_backend.forward(b)) for b in batches])
    b = np.concatenate([other.finalize(other.forward(b)) for b in batches])
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"min_cosine": round(float(cos.min()), 5), "mean_cosine": round(float(cos.mean()), 5)}


def _corpus_info(corpus: Corpus) -> dict[str, Any]:
    return {
        "source": "Python standard library docstrings",
        "paragraphs": len(corpus.texts),
        "long_passages": len(corpus.long_texts),
        "short_texts": len(corpus.short_texts),
        "seed": corpus.seed,
        "fingerprint": corpus.fingerprint,
    }
