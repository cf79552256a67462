"""Schemathesis against the served OpenAPI document of a real server: whatever it generates from
the declared schemas, inside them (positive) and outside them (negative), the answer is never a
5xx.

Schemathesis's pytest plugin does not run under this pytest, so each operation's hypothesis
strategy is driven directly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .harness import ThreadServer, thread_settings

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def served_schema() -> Iterator[schemathesis.BaseSchema]:
    with ThreadServer(thread_settings(limits={"max_body_bytes": 1 << 20})) as server:
        yield schemathesis.openapi.from_url(server.url + "/openapi.json")


def operations(schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    return [result.ok() for result in schema.get_all_operations()]


def test_embed_routes_declare_their_bodies(served_schema: schemathesis.BaseSchema) -> None:
    with_bodies = {op.path for op in operations(served_schema) if op.body}
    assert {
        "/models/{model}:embedContent",
        "/models/{model}:batchEmbedContents",
        "/models/{model}:asyncBatchEmbedContent",
    } <= with_bodies


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_no_server_errors(served_schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode) -> None:
    tried = []
    for operation in operations(served_schema):
        if mode is schemathesis.GenerationMode.NEGATIVE and not operation.body:
            continue  # a bare string path parameter has no outside: every path is a string

        @given(operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=30)

        call()
        tried.append(operation.label)
    assert {"POST /models/{model}:embedContent", "POST /models/{model}:batchEmbedContents"} <= set(tried), (
        tried
    )
