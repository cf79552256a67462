"""Google's REST samples from the embeddings docs and cookbook, replayed with the real curl."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable

import pytest

from tests.support.server import RunningServer

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

KEY = "test-key-123"


@pytest.fixture
def server(serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(models=["fake:3072"], api_keys=[KEY])


def curl(*args: str) -> tuple[int, dict]:
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)


def test_embed_content_doc_sample(server: RunningServer) -> None:
    code, body = curl(
        f"{server.base_url}/v1beta/models/gemini-embedding-001:embedContent",
        "-H", f"x-goog-api-key: {KEY}",
        "-H", "Content-Type: application/json",
        "-d", '{"model": "models/gemini-embedding-001",\n     "content": {"parts":[{"text": "What is the meaning of life?"}]}\n    }',
    )  # fmt: skip
    assert code == 200
    assert len(body["embedding"]["values"]) == 3072
    assert body["usageMetadata"]["promptTokenCount"] > 0


def test_cookbook_sample_with_query_key_and_trailing_comma(server: RunningServer) -> None:
    code, body = curl(
        f"{server.base_url}/v1beta/models/gemini-embedding-001:embedContent?key={KEY}",
        "-H", "Content-Type: application/json",
        "-X", "POST",
        "-d", '{"model": "models/gemini-embedding-001", "content": {\n    "parts":[{\n      "text": "Hello world"}]}, }',
    )  # fmt: skip
    assert code == 200 and len(body["embedding"]["values"]) == 3072


def test_output_dimensionality_and_task_type_snake_case(server: RunningServer) -> None:
    code, body = curl(
        f"{server.base_url}/v1beta/models/gemini-embedding-001:embedContent",
        "-H", f"x-goog-api-key: {KEY}",
        "-H", "Content-Type: application/json",
        "-d", '{"content": {"parts":[{"text": "Hello"}]}, "task_type": "SEMANTIC_SIMILARITY", "output_dimensionality": 768}',
    )  # fmt: skip
    assert code == 200 and len(body["embedding"]["values"]) == 768


def test_batch_embed_contents_doc_sample(server: RunningServer) -> None:
    payload = {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": t}]}}
            for t in (
                "What is the meaning of life?",
                "How much wood would a woodchuck chuck?",
                "How does the brain work?",
            )
        ]
    }
    code, body = curl(
        f"{server.base_url}/v1beta/models/gemini-embedding-001:batchEmbedContents",
        "-H", f"x-goog-api-key: {KEY}",
        "-H", "Content-Type: application/json",
        "-X", "POST",
        "-d", json.dumps(payload),
    )  # fmt: skip
    assert code == 200 and len(body["embeddings"]) == 3


def test_single_quoted_body_and_v1_path(server: RunningServer) -> None:
    code, body = curl(
        f"{server.base_url}/v1/models/gemini-embedding-001:embedContent?key={KEY}",
        "-H", "Content-Type: application/json",
        "-d", "{'content': {'parts': [{'text': 'single quotes'}]}}",
    )  # fmt: skip
    assert code == 200 and len(body["embedding"]["values"]) == 3072


def test_missing_and_wrong_keys_get_googles_errors(server: RunningServer) -> None:
    url = f"{server.base_url}/v1beta/models/gemini-embedding-001:embedContent"
    data = '{"content": {"parts": [{"text": "x"}]}}'
    code, body = curl(url, "-H", "Content-Type: application/json", "-d", data)
    assert code == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    code, body = curl(url + "?key=nope", "-H", "Content-Type: application/json", "-d", data)
    assert code == 400 and body["error"]["message"] == "API key not valid. Please pass a valid API key."
