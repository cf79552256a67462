"""The HTTP clients the benchmark drives: raw Gemini REST, the google-genai SDK, and the
OpenAI-style ``/embeddings`` route of peer servers. Each checks every answer it gets, so a
server that fails fast cannot look fast."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson


class BenchmarkError(RuntimeError):
    """A measured system answered wrongly; the run stops rather than report a bogus number."""


class GeminiRestClient:
    """``batchEmbedContents`` and ``embedContent`` over one pooled httpx client."""

    def __init__(self, base_url: str, model: str, connections: int, *, timeout_s: float = 300.0) -> None:
        import httpx

        self.model = model
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/v1beta/",
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def batch_body(self, texts: Sequence[str]) -> tuple[bytes, int]:
        requests = [{"model": f"models/{self.model}", "content": {"parts": [{"text": t}]}} for t in texts]
        return orjson.dumps({"requests": requests}), len(texts)

    def single_body(self, text: str) -> bytes:
        return orjson.dumps({"content": {"parts": [{"text": text}]}})

    async def batch(self, job: tuple[bytes, int]) -> None:
        body, expected = job
        data = await self._post(f"models/{self.model}:batchEmbedContents", body)
        got = len(data.get("embeddings", ()))
        if got != expected:
            raise BenchmarkError(f"batchEmbedContents returned {got} embeddings for {expected} texts")

    async def batch_job(self, texts: Sequence[str]) -> None:
        """One Batch API job of ``texts`` as inline requests, from creation until it is done."""
        import asyncio

        requests = [{"request": {"content": {"parts": [{"text": t}]}}} for t in texts]
        body = orjson.dumps({"batch": {"inputConfig": {"requests": {"requests": requests}}}})
        op = await self._post(f"models/{self.model}:asyncBatchEmbedContent", body)
        while not op.get("done"):
            await asyncio.sleep(0.02)
            response = await self._http.get(op["name"])
            if response.status_code != 200:
                raise BenchmarkError(f"GET {op['name']} answered {response.status_code}")
            op = orjson.loads(response.content)
        stats = op.get("metadata", {}).get("batchStats", {})
        if op["metadata"].get("state") != "BATCH_STATE_SUCCEEDED" or stats.get(
            "successfulRequestCount"
        ) != str(len(texts)):
            raise BenchmarkError(f"the batch job ended {op['metadata'].get('state')} with {stats}")

    async def single(self, body: bytes) -> None:
        data = await self._post(f"models/{self.model}:embedContent", body)
        if not data.get("embedding", {}).get("values"):
            raise BenchmarkError("embedContent returned no values")

    async def _post(self, path: str, body: bytes) -> dict[str, Any]:
        response = await self._http.post(path, content=body, headers={"content-type": "application/json"})
        if response.status_code != 200:
            raise BenchmarkError(f"POST {path} answered {response.status_code}: {response.text[:300]}")
        data: dict[str, Any] = orjson.loads(response.content)
        return data

    async def aclose(self) -> None:
        await self._http.aclose()


class GeminiSdkClient:
    """The official google-genai SDK, as an application would use it."""

    def __init__(self, base_url: str, model: str) -> None:
        from google import genai
        from google.genai import types

        self.model = model
        self._client = genai.Client(
            api_key="benchmark", http_options=types.HttpOptions(base_url=base_url, api_version="v1beta")
        )

    async def batch(self, texts: list[str]) -> None:
        result = await self._client.aio.models.embed_content(model=self.model, contents=texts)  # type: ignore[arg-type]
        got = len(result.embeddings or ())
        if got != len(texts):
            raise BenchmarkError(f"the SDK returned {got} embeddings for {len(texts)} texts")

    async def aclose(self) -> None:
        await self._client.aio.aclose()


class OpenAIEmbeddingsClient:
    """``POST /embeddings`` with ``{"model", "input": [...]}``, as Infinity serves it."""

    def __init__(self, base_url: str, model: str, connections: int) -> None:
        import httpx

        self.model = model
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(300.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def batch_body(self, texts: Sequence[str]) -> tuple[bytes, int]:
        return orjson.dumps({"model": self.model, "input": list(texts)}), len(texts)

    async def batch(self, job: tuple[bytes, int]) -> None:
        body, expected = job
        response = await self._http.post(
            "/embeddings", content=body, headers={"content-type": "application/json"}
        )
        if response.status_code != 200:
            raise BenchmarkError(f"POST /embeddings answered {response.status_code}: {response.text[:300]}")
        got = len(orjson.loads(response.content).get("data", ()))
        if got != expected:
            raise BenchmarkError(f"/embeddings returned {got} embeddings for {expected} texts")

    async def aclose(self) -> None:
        await self._http.aclose()
