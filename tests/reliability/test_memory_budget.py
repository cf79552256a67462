"""One memory budget for everything a request makes the server hold: bodies, stored files read
for ``file_data``, decoded media. A small request naming a large stored file is refused (429)
before the file is read when the budget is spent; large batch results stream."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from omnivec.api.schemas.batches import operation_json
from tests.media import samples

from .corpus import EMBED
from .harness import ThreadServer, google_error, open_connection, thread_settings

MIB = 1024 * 1024


def padded_pdf(size: int) -> bytes:
    """A real one-page PDF made ``size`` bytes long by a comment before its trailer."""
    pdf = samples.pdf_text(["a page to embed"])
    at = pdf.rindex(b"xref")
    return pdf[:at] + b"%" + b"x" * (size - len(pdf) - 2) + b"\n" + pdf[at:]


def upload(client: httpx.Client, data: bytes) -> str:
    r = client.post(
        "/upload/v1beta/files",
        headers={"X-Goog-Upload-Protocol": "multipart"},
        files={
            "metadata": (None, orjson.dumps({"file": {"display_name": "big"}}), "application/json"),
            "file": ("big.pdf", data, "application/pdf"),
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["file"]["name"])


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    settings = thread_settings(
        limits={"max_body_bytes": MIB, "max_body_bytes_in_flight": 4 * MIB},
        media={"max_pdf_pages": 1, "pdf_workers": 1, "image_max_side": 512},
    )
    with ThreadServer(settings) as running:
        yield running


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_small_request_naming_a_large_file_waits_for_no_read_when_the_budget_is_spent(
    server: ThreadServer,
) -> None:
    budget = server.container.memory
    with httpx.Client(base_url=server.url, timeout=60) as client:
        pdf = padded_pdf(900 * 1024)
        name = upload(client, pdf)
        request = {"content": {"parts": [{"fileData": {"fileUri": name, "mimeType": "application/pdf"}}]}}
        assert len(orjson.dumps(request)) < 200
        assert client.post(EMBED, json=request).status_code == 200
        assert budget.in_use == 0  # everything held for it was given back

        # Three bodies announced and not sent hold 3 MiB of the 4 MiB budget.
        head = f"POST {EMBED} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {MIB}\r\n\r\n"
        with (
            open_connection(server.port) as a,
            open_connection(server.port) as b,
            open_connection(server.port) as c,
        ):
            for sock in (a, b, c):
                sock.sendall(head.encode())
            wait_for(lambda: budget.in_use >= 3 * MIB)
            refused = client.post(EMBED, json=request)
            assert refused.status_code == 429, refused.text
            assert google_error(refused.json())["status"] == "RESOURCE_EXHAUSTED"
            assert budget.in_use == 3 * MIB  # the 900 KB file was never taken, nor read
        wait_for(lambda: budget.in_use == 0)
        assert client.post(EMBED, json=request).status_code == 200


def test_large_inline_batch_results_stream(server: ThreadServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        requests = [{"request": {"content": {"parts": [{"text": f"item {i}"}]}}} for i in range(1200)]
        body = {"batch": {"display_name": "big", "input_config": {"requests": {"requests": requests}}}}
        created = client.post("/v1beta/models/fake:asyncBatchEmbedContent", json=body)
        assert created.status_code == 200, created.text
        name = created.json()["name"]
        deadline = time.monotonic() + 60
        while not (got := client.get(f"/v1beta/{name}")).json().get("done"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "content-length" not in got.headers  # streamed, not built whole
        job = server.container.stores.batches.get_any(name.removeprefix("batches/"))
        assert job is not None
        results = [r for page in server.container.batches.result_pages(job) for r in page]
        assert len(results) == 1200
        assert got.json() == orjson.loads(
            orjson.dumps(operation_json(job, results), option=orjson.OPT_SERIALIZE_NUMPY)
        )
        responses = got.json()["response"]["output"]["inlinedResponses"]["inlinedResponses"]
        assert len(responses) == 1200 and responses[7]["response"]["embedding"]["values"]
