"""Google-format errors for what clients send wrong, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import RunningServer


@pytest.fixture
def http(fake_server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=fake_server.base_url, timeout=30)


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/v1beta/models/fake:embedContent", b"{not json", 400, "Invalid JSON payload"),
        ("/v1beta/models/fake:embedContent", b"", 400, "empty"),
        ("/v1beta/models/fake:embedContent", b'{"content": {"parts": []}}', 400, "content.parts"),
        ("/v1beta/models/fake:embedContent", b'{"content": {"parts": [{}]}}', 400, "content.parts[0]"),
        ("/v1beta/models/fake:embedContent", b'{"content": 5}', 400, "content"),
        ("/v1beta/models/fake:embedContent", b'{"content": {"parts": [{"text": 1}]}}', 400, "text"),
        (
            "/v1beta/models/fake:embedContent",
            b'{"content": {"parts": [{"text": "x"}]}, "taskType": "NOPE"}',
            400,
            "taskType",
        ),
        (
            "/v1beta/models/fake:embedContent",
            b'{"content": {"parts": [{"inlineData": {"data": "@@@"}}]}}',
            400,
            "base64",
        ),
        (
            "/v1beta/models/fake:embedContent",
            b'{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}}',
            400,
            "inlineData",
        ),
        ("/v1beta/models/fake:batchEmbedContents", b'{"requests": []}', 400, "requests"),
        (
            "/v1beta/models/fake:batchEmbedContents",
            b'{"requests": [{"model": "models/other", "content": {"parts": [{"text": "x"}]}}]}',
            404,
            "models/other",
        ),
        ("/v1beta/models/fake:frobnicate", b"{}", 404, "Method not found"),
        ("/v1beta/models/..%2F..%2Fetc:embedContent", b'{"content": {"parts": [{"text": "x"}]}}', 404, ""),
        ("/v1beta/nothing/here", b"{}", 404, ""),
    ],
)
def test_client_mistakes_get_4xx_in_googles_format(
    http: httpx.Client, path: str, body: bytes, status: int, fragment: str
) -> None:
    r = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == status and error["status"] in {"INVALID_ARGUMENT", "NOT_FOUND"}
    assert fragment in error["message"] + str(error.get("details", ""))
    assert "Traceback" not in r.text


def test_field_violations_carry_the_path(http: httpx.Client) -> None:
    r = http.post(
        "/v1beta/models/fake:batchEmbedContents",
        json={
            "requests": [
                {"content": {"parts": [{"text": "ok"}]}},
                {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": "wide"},
            ]
        },
    )
    assert r.status_code == 400
    violation = r.json()["error"]["details"][0]["fieldViolations"][0]
    assert violation["field"] == "requests[1].outputDimensionality"


def test_auto_truncate_false_refuses_long_input(http: httpx.Client) -> None:
    long_text = "word " * 3000  # the fake backend counts words; its limit is 2048
    r = http.post(
        "/v1beta/models/fake:embedContent",
        json={"content": {"parts": [{"text": long_text}]}, "embedContentConfig": {"autoTruncate": False}},
    )
    assert r.status_code == 400 and "autoTruncate" in r.json()["error"]["message"]
    ok = http.post("/v1beta/models/fake:embedContent", json={"content": {"parts": [{"text": long_text}]}})
    assert ok.status_code == 200


@pytest.mark.parametrize("path", ["embedContent", "batchEmbedContents"])
def test_top_level_auto_truncate_false_is_honoured(http: httpx.Client, path: str) -> None:
    """Vertex documents ``autoTruncate`` at the top level of the request: never cut silently
    what the caller asked not to cut; the config, when it says, wins."""
    request = {"content": {"parts": [{"text": "word " * 3000}]}, "autoTruncate": False}
    body = {"requests": [request]} if path == "batchEmbedContents" else request
    r = http.post(f"/v1beta/models/fake:{path}", json=body)
    assert r.status_code == 400, r.text
    assert "autoTruncate" in r.json()["error"]["message"]
    request["embedContentConfig"] = {"autoTruncate": True}
    assert http.post(f"/v1beta/models/fake:{path}", json=body).status_code == 200


def test_request_id_header_and_no_version_prefix(http: httpx.Client) -> None:
    r = http.get("/models/fake", headers={"x-request-id": "abc-123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-123"
    assert r.json()["name"] == "models/fake"
    assert http.get("/v1alpha/models").status_code == 200


def test_oversized_body_is_refused_before_reading(serve) -> None:  # type: ignore[no-untyped-def]
    from omnivec.settings import LimitSettings

    server = serve(limits=LimitSettings(max_body_bytes=2048))
    r = httpx.post(
        f"{server.base_url}/v1beta/models/fake:embedContent",
        content=b'{"content": {"parts": [{"text": "' + b"x" * 5000 + b'"}]}}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Request payload size exceeds the limit: 2048 bytes."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # The SDK's snake_case and the curl samples' camelCase name the same field one way.
        ({"content": {"parts": [{"text": "x"}]}, "output_dimensionality": "many"}, "outputDimensionality"),
        ({"content": {"parts": [{"text": "x"}]}, "outputDimensionality": "many"}, "outputDimensionality"),
        ({"content": {"parts": [{"inline_data": {"data": "AAAA"}}]}}, "content.parts[0].inlineData.mimeType"),
        (
            {"content": {"parts": [{"file_data": {"file_uri": "https://example.com/x"}}]}},
            "content.parts[0].fileData.fileUri",
        ),
    ],
)
def test_field_paths_are_camel_case_however_the_key_was_spelled(
    http: httpx.Client, body: dict[str, object], field: str
) -> None:
    r = http.post("/v1beta/models/fake:embedContent", json=body)
    assert r.status_code == 400, r.text
    violations = [v["field"] for d in r.json()["error"]["details"] for v in d.get("fieldViolations", ())]
    assert violations == [field]
