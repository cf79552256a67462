"""/metrics: request counts by route and status, stage histograms, queue and batch figures, no key
needed, no request data exposed."""

from __future__ import annotations

import httpx

from .harness import ThreadServer, scrape, thread_settings, value

KEY = "metrics-test-key-3f9a"
SECRET_TEXT = "confidential-user-text-81c2"
SECRET_MODEL = "private-model-name-77d0"


def test_metrics_count_requests_and_stages_without_request_data() -> None:
    settings = thread_settings(api_keys=[KEY], batching={"max_queue_items": 100})
    with (
        ThreadServer(settings) as server,
        httpx.Client(base_url=server.url, headers={"x-goog-api-key": KEY}) as http,
    ):
        embed = "/v1beta/models/fake:embedContent"
        for i in range(3):
            assert (
                http.post(embed, json={"content": {"parts": [{"text": f"{SECRET_TEXT} {i}"}]}}).status_code
                == 200
            )
        batch = {"requests": [{"content": {"parts": [{"text": SECRET_TEXT}]}}] * 5}
        assert http.post("/v1/models/fake:batchEmbedContents", json=batch).status_code == 200
        assert http.post(embed, content=b"{nope").status_code == 400
        assert http.post(f"/v1beta/models/{SECRET_MODEL}:embedContent", json=batch).status_code == 400
        assert http.get(f"/v1beta/{SECRET_MODEL}/x").status_code == 404
        assert httpx.post(server.url + embed, json={}).status_code == 403  # no key
        assert httpx.post(server.url + embed, json={}, headers={"x-goog-api-key": "wrong"}).status_code == 400

        exposition = httpx.get(server.url + "/metrics").text  # no key needed
        samples = scrape(server.url)

    for secret in (SECRET_TEXT, SECRET_MODEL, KEY, "wrong"):
        assert secret not in exposition
    route = "/models/{model}:embedContent"
    requests = "omnivec_http_requests_total"
    assert value(samples, requests, route=route, method="POST", status="200") == 3
    assert (
        value(samples, requests, route=route, method="POST", status="400") == 3
    )  # bad JSON, bad key, bad body
    assert value(samples, requests, route=route, method="POST", status="403") == 1
    assert (
        value(samples, requests, route="/models/{model}:batchEmbedContents", method="POST", status="200") == 1
    )
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1
    assert value(samples, "omnivec_http_request_duration_seconds_count", route=route) == 7

    model = {"model": "fake"}
    assert value(samples, "omnivec_prepare_duration_seconds_count", **model) == 4  # one per embed call
    assert value(samples, "omnivec_queue_wait_seconds_count", **model) == 8  # one per input
    assert value(samples, "omnivec_runner_items_total", **model) == 8
    batches = value(samples, "omnivec_runner_batches_total", **model)
    assert 1 <= batches <= 8
    assert value(samples, "omnivec_forward_duration_seconds_count", **model) == batches
    assert value(samples, "omnivec_batch_items_sum", **model) == 8
    assert value(samples, "omnivec_batch_padded_tokens_count", **model) == batches
    assert value(samples, "omnivec_runner_failed_batches_total", **model) == 0
    assert value(samples, "omnivec_queue_depth", **model) == 0
    assert value(samples, "omnivec_admitted_inputs", **model) == 0
    assert value(samples, "omnivec_queue_capacity", **model) == 100
    assert value(samples, "omnivec_http_requests_in_flight") == 1  # the scrape itself


def test_probes_answer_without_a_key() -> None:
    with ThreadServer(thread_settings(api_keys=[KEY])) as server:
        for path in ("/healthz", "/readyz", "/metrics", "/v1beta/healthz"):
            assert httpx.get(server.url + path).status_code == 200, path
