"""The Batch API through the official SDK (and raw HTTP for what the SDK cannot send)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.support.server import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning")


def client(server: RunningServer, api_key: str = "unused", api_version: str | None = None) -> genai.Client:
    return genai.Client(
        api_key=api_key, http_options=types.HttpOptions(base_url=server.base_url, api_version=api_version)
    )


@pytest.fixture
def server(serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(models=["fake:64"], batches={"poll_interval_s": 0.05})


def wait(c: genai.Client, name: str, timeout: float = 30) -> types.BatchJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.batches.get(name=name)
        if job.done:
            return job
        time.sleep(0.05)
    raise AssertionError(f"{name} did not finish")


@pytest.mark.parametrize("api_version", [None, "v1beta"], ids=["v1", "v1beta"])
def test_inline_batch_equals_embed_content(server: RunningServer, api_version: str | None) -> None:
    c = client(server, api_version=api_version)
    contents = ["alpha", "beta", "gamma"]
    config = {"output_dimensionality": 16, "task_type": "CLUSTERING"}
    job = c.batches.create_embeddings(
        model="gemini-embedding-001",
        src={"inlined_requests": {"contents": contents, "config": config}},  # type: ignore[typeddict-item]
        config={"display_name": "inline"},
    )
    assert job.name is not None and job.name.startswith("batches/")
    assert job.state == types.JobState.JOB_STATE_PENDING and job.model == "models/gemini-embedding-001"
    assert job.display_name == "inline"
    done = wait(c, job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.end_time is not None
    assert done.dest is not None and done.dest.inlined_embed_content_responses is not None
    online = c.models.embed_content(model="gemini-embedding-001", contents=contents, config=config)  # type: ignore[arg-type]
    assert online.embeddings is not None
    batch_vectors = [r.response.embedding.values for r in done.dest.inlined_embed_content_responses]  # type: ignore[union-attr]
    assert batch_vectors == [e.values for e in online.embeddings]
    assert all(r.response.token_count for r in done.dest.inlined_embed_content_responses)  # type: ignore[union-attr]


def test_file_batch_equals_embed_content(server: RunningServer) -> None:
    c = client(server)
    texts = [f"document number {i}" for i in range(25)]
    lines = [
        {
            "key": f"req-{i}",
            "request": {"content": {"parts": [{"text": t}]}, "task_type": "RETRIEVAL_DOCUMENT"},
        }
        for i, t in enumerate(texts)
    ]
    jsonl = "\n".join(json.dumps(line) for line in lines).encode() + b"\n\n"
    source = c.files.upload(file=io.BytesIO(jsonl), config={"mime_type": "jsonl"})
    job = c.batches.create_embeddings(model="gemini-embedding-001", src={"file_name": source.name})  # type: ignore[typeddict-item]
    raw = httpx.get(f"{server.base_url}/v1beta/{job.name}").json()
    assert raw["metadata"]["inputConfig"] == {"fileName": source.name}
    assert raw["metadata"]["batchStats"]["requestCount"] == "25"
    done = wait(c, job.name)  # type: ignore[arg-type]
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest is not None and done.dest.file_name == f"files/batch-{job.name.removeprefix('batches/')}"  # type: ignore[union-attr]
    output = c.files.download(file=c.files.get(name=done.dest.file_name))
    rows = [json.loads(line) for line in output.decode().splitlines()]
    assert [r["key"] for r in rows] == [f"req-{i}" for i in range(25)]
    online = c.models.embed_content(
        model="gemini-embedding-001", contents=texts, config={"task_type": "RETRIEVAL_DOCUMENT"}
    )
    assert online.embeddings is not None
    assert [r["response"]["embedding"]["values"] for r in rows] == [e.values for e in online.embeddings]
    assert all(isinstance(r["response"]["tokenCount"], str) for r in rows)


def test_list_cancel_delete(server: RunningServer) -> None:
    c = client(server)
    names = []
    for i in range(3):
        job = c.batches.create_embeddings(
            model="gemini-embedding-001",
            src={"inlined_requests": {"contents": [f"x{i}"]}},  # type: ignore[typeddict-item]
        )
        names.append(job.name)
    pager = c.batches.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert sorted(j.name for j in pager) == sorted(names)  # type: ignore[type-var]
    c.batches.cancel(name=names[0])  # finished or not, cancel answers 200
    c.batches.delete(name=names[1])
    with pytest.raises(errors.ClientError) as info:
        c.batches.get(name=names[1])
    assert info.value.code == 404
    assert len(list(c.batches.list())) == 2


def test_operation_shape(server: RunningServer) -> None:
    body = {
        "batch": {
            "inputConfig": {"requests": {"requests": [{"request": {"content": {"parts": [{"text": "a"}]}}}]}}
        }
    }
    created = httpx.post(
        f"{server.base_url}/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent", json=body
    )
    assert created.status_code == 200
    op = created.json()
    meta = op["metadata"]
    assert op["name"] == meta["name"] and op["name"].startswith("batches/")
    assert meta["@type"].endswith("EmbedContentBatch") and meta["state"] == "BATCH_STATE_PENDING"
    assert meta["batchStats"] == {
        "requestCount": "1", "pendingRequestCount": "1", "successfulRequestCount": "0", "failedRequestCount": "0",
    }  # fmt: skip
    assert meta["priority"] == "0" and meta["createTime"].endswith("Z") and "done" not in op
    for _ in range(200):
        op = httpx.get(f"{server.base_url}/v1beta/{op['name']}").json()
        if op.get("done"):
            break
        time.sleep(0.02)
    assert op["done"] is True and op["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert op["response"]["output"] == op["metadata"]["output"]
    assert httpx.post(f"{server.base_url}/v1beta/{op['name']}:cancel").json() == {}
    assert httpx.delete(f"{server.base_url}/v1beta/{op['name']}").json() == {}


def test_malformed_items_fail_in_place(server: RunningServer) -> None:
    requests: list[Any] = [
        {"request": {"content": {"parts": [{"text": "fine"}]}}, "metadata": {"id": 1}},
        {"request": {"content": {"parts": [{"wrong": 1}]}}, "metadata": {"id": 2}},
        {"request": {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 4096}},
        "not even an object",
        {"request": {"content": {"parts": [{"text": "y"}]}, "model": "models/other-model"}},
        {"request": {"content": {"parts": [{"text": "also fine"}]}}},
    ]
    body = {"batch": {"displayName": "messy", "inputConfig": {"requests": {"requests": requests}}}}
    op = httpx.post(f"{server.base_url}/v1beta/models/fake:asyncBatchEmbedContent", json=body).json()
    c = client(server)
    wait(c, op["name"])
    final = httpx.get(f"{server.base_url}/v1beta/{op['name']}").json()
    meta = final["metadata"]
    assert meta["state"] == "BATCH_STATE_SUCCEEDED"
    assert (
        meta["batchStats"]["successfulRequestCount"] == "2"
        and meta["batchStats"]["failedRequestCount"] == "4"
    )
    items = meta["output"]["inlinedResponses"]["inlinedResponses"]
    assert [("response" in i, "error" in i) for i in items] == [(True, False)] + [(False, True)] * 4 + [
        (True, False)
    ]
    assert items[0]["metadata"] == {"id": 1} and items[1]["metadata"] == {"id": 2}
    assert all(i["error"]["code"] in (3, 5) for i in items[1:5])
    assert "outputDimensionality" in items[2]["error"]["message"]


def test_file_with_malformed_lines(server: RunningServer) -> None:
    c = client(server)
    jsonl = b"\xef\xbb\xbf" + b"\n".join(
        [
            b'{"key": "ok-1", "request": {"content": {"parts": [{"text": "one"}]}}}',
            b"{this is not json",
            b'{"key": "no-request"}',
            b'{"key": "ok-2", "request": {"content": {"parts": [{"text": "two"}]}}}',
        ]
    )
    source = c.files.upload(file=io.BytesIO(jsonl), config={"mime_type": "application/jsonl"})
    job = c.batches.create_embeddings(model="fake", src={"file_name": source.name})  # type: ignore[typeddict-item]
    done = wait(c, job.name)  # type: ignore[arg-type]
    assert done.dest is not None and done.dest.file_name is not None
    rows = [json.loads(line) for line in c.files.download(file=done.dest.file_name).decode().splitlines()]
    assert [(r.get("key"), "response" in r) for r in rows] == [
        ("ok-1", True), (None, False), ("no-request", False), ("ok-2", True),
    ]  # fmt: skip
    assert "line 2" in rows[1]["error"]["message"] and rows[2]["error"]["code"] == 3


def test_requests_the_server_refuses(server: RunningServer) -> None:
    url = f"{server.base_url}/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent"
    inline = {"requests": {"requests": [{"request": {"content": {"parts": [{"text": "a"}]}}}]}}
    cases = [
        ({"batch": {"inputConfig": {}}}, 400),
        ({"batch": {"inputConfig": {**inline, "fileName": "files/x"}}}, 400),
        ({"batch": {"inputConfig": {"fileName": "files/missing"}}}, 404),
        ({"batch": {"inputConfig": {"requests": {"requests": []}}}}, 400),
        ({"batch": {"model": "models/fake-other", "inputConfig": inline}}, 404),
        ({"nobatch": 1}, 400),
    ]
    for body, status in cases:
        r = httpx.post(url, json=body)
        assert r.status_code == status, (body, r.text)
    assert (
        httpx.post(
            f"{server.base_url}/v1beta/models/unknown:asyncBatchEmbedContent",
            json={"batch": {"inputConfig": inline}},
        ).status_code
        == 404
    )
    assert httpx.get(f"{server.base_url}/v1beta/batches/nope").status_code == 404
    assert httpx.get(f"{server.base_url}/v1beta/batches?pageToken=garbage").status_code == 400
    models = httpx.get(f"{server.base_url}/v1beta/models/fake").json()
    assert "asyncBatchEmbedContent" in models["supportedGenerationMethods"]
