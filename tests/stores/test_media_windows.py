"""Audio and video documents in a store whose model takes them: one chunk per time window, each
embedded from its clip of the file, knowing its start and end seconds; a query with the same
clip (``videoMetadata`` offsets on the query part) finds that window first. The fake model
stands in for the model here: what is tested is the server cutting, decoding and indexing the
windows (its vectors follow the decoded clip's content hash)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.media import samples
from tests.stores.test_image_store import add
from tests.support.server import RunningServer

pytestmark = [pytest.mark.timeout(300)]


def create_store(base: str, name: str) -> str:
    response = httpx.post(f"{base}/v1beta/fileSearchStores", json={"displayName": name}, timeout=60)
    assert response.status_code == 200, response.text
    return str(response.json()["name"])


def documents(base: str, store: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{base}/v1beta/{store}/documents").json()["documents"])


def clip_query(base: str, store: str, data: bytes, mime: str, start: str, end: str) -> list[dict[str, Any]]:
    part = {
        "inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()},
        "videoMetadata": {"startOffset": start, "endOffset": end},
    }
    response = httpx.post(
        f"{base}/v1beta/{store}:query",
        json={"content": {"parts": [part]}, "resultsCount": 10, "searchMode": "DENSE"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["relevantChunks"])


def test_audio_and_video_become_time_windows(serve: Callable[..., RunningServer], tmp_path: Path) -> None:
    server = serve(models=["fake:32"], search_stores={"media_window_s": 3.0})
    base = server.base_url
    store = create_store(base, "recordings")
    talk = samples.wav(seconds=8.0, rate=16_000, channels=1)
    film = samples.video(seconds=6, fps=5, audio=True)
    assert "error" not in add(base, store, talk, "audio/wav", "talk.wav")
    assert "error" not in add(base, store, film, "video/mp4", "film.mp4")
    assert {d["state"] for d in documents(base, store)} == {"STATE_ACTIVE"}

    hits = clip_query(base, store, talk, "audio/wav", "3s", "6s")
    spans = sorted(
        (h["document"]["displayName"], h["chunk"]["startOffsetSeconds"], h["chunk"]["endOffsetSeconds"])
        for h in hits
    )
    assert spans == [
        ("film.mp4", 0.0, 3.0),
        ("film.mp4", 3.0, 6.0),
        ("talk.wav", 0.0, 3.0),
        ("talk.wav", 3.0, 6.0),
        ("talk.wav", 6.0, 8.0),
    ]
    top = hits[0]["chunk"]
    assert hits[0]["document"]["displayName"] == "talk.wav"
    assert (top["startOffsetSeconds"], top["endOffsetSeconds"]) == (3.0, 6.0)
    assert top["data"]["stringValue"] == "talk.wav, 3-6 s"
    assert hits[0]["chunkRelevanceScore"] > 0.999
    media = httpx.get(f"{base}/v1beta/{top['mediaId']}", params={"alt": "media"})
    assert media.content == talk

    tail = clip_query(base, store, film, "video/mp4", "3s", "6s")[0]
    assert tail["document"]["displayName"] == "film.mp4"
    assert (tail["chunk"]["startOffsetSeconds"], tail["chunk"]["endOffsetSeconds"]) == (3.0, 6.0)


def test_a_text_model_store_fails_audio_with_a_reason(serve: Callable[..., RunningServer]) -> None:
    server = serve(models=["default"])
    store = create_store(server.base_url, "texts")
    op = add(server.base_url, store, samples.wav(seconds=1.0), "audio/wav", "talk.wav")
    assert "Audio is not supported by this store's model" in op["error"]["message"]


def test_a_clip_outside_the_media_is_a_400(serve: Callable[..., RunningServer]) -> None:
    server = serve(models=["fake:32"])
    part = {
        "inlineData": {"mimeType": "audio/wav", "data": base64.b64encode(samples.wav(seconds=2.0)).decode()},
        "videoMetadata": {"startOffset": "5s", "endOffset": "7s"},
    }
    url = f"{server.base_url}/v1beta/models/fake:embedContent"
    response = httpx.post(url, json={"content": {"parts": [part]}})
    assert response.status_code == 400, response.text
    assert "after the end of the audio" in response.json()["error"]["message"]
    part["videoMetadata"] = {"startOffset": "2s", "endOffset": "1s"}
    response = httpx.post(url, json={"content": {"parts": [part]}})
    assert response.status_code == 400 and "end_offset must come after" in response.text
    part["videoMetadata"] = {"startOffset": "soon"}
    assert httpx.post(url, json={"content": {"parts": [part]}}).status_code == 400
