"""The parts of scale-out on Ray that need no cluster: bad input at the command line, what
crosses between the API process and a replica, and how batch results are written."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from omnivec.errors import ResourceExhausted
from omnivec.jobs.ray_data import ResultWriter, input_kind
from omnivec.runtime.backends.base import InputTooLong
from omnivec.runtime.ray.transport import RemoteFailure
from omnivec.settings import RaySettings

SRC = Path(__file__).resolve().parents[2] / "src"


def omnivec_cli(*args: str, hide_ray: bool = False) -> subprocess.CompletedProcess[str]:
    prelude = "import sys; sys.modules['ray'] = None; " if hide_ray else "import sys; "
    code = prelude + "from omnivec.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )


def test_serve_on_ray_without_ray_says_which_extra_to_install(tmp_path: Path) -> None:
    r = omnivec_cli("serve", "--ray", "auto", "--model", "fake:8", "--data-dir", str(tmp_path), hide_ray=True)
    assert r.returncode == 3  # unavailable: Ray, its cluster or the model is not there
    assert r.stderr.strip().splitlines() == [
        "omnivec: --ray needs Ray, which is not installed: pip install 'omnivec[distributed]'"
    ]


def test_batch_run_without_ray_says_which_extra_to_install(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"key": "a", "request": {"content": {"parts": [{"text": "x"}]}}}\n')
    r = omnivec_cli(
        "batch",
        "run",
        str(src),
        "--ray",
        "auto",
        "--model",
        "fake:8",
        "-o",
        str(tmp_path / "o.jsonl"),
        hide_ray=True,
    )
    assert r.returncode == 3  # unavailable: Ray, its cluster or the model is not there
    assert "pip install 'omnivec[distributed]'" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_address_where_no_cluster_answers_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    r = omnivec_cli("serve", "--ray", "127.0.0.1:1", "--model", "fake:8", "--data-dir", str(tmp_path))
    assert r.returncode == 3  # unavailable: Ray, its cluster or the model is not there
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("omnivec: no Ray cluster answers at 127.0.0.1:1")
    assert "Traceback" not in r.stderr


def test_replica_errors_cross_back_as_the_same_domain_error() -> None:
    too_long = pickle.loads(pickle.dumps(RemoteFailure.of(InputTooLong(3, 600, 256)))).error()
    assert isinstance(too_long, InputTooLong)
    assert (too_long.index, too_long.tokens, too_long.limit) == (3, 600, 256)
    full = RemoteFailure.of(ResourceExhausted("queue full", retry_after_s=2.5)).error()
    assert isinstance(full, ResourceExhausted) and full.retry_after_s == 2.5


def test_ray_settings_take_autoscaling_bounds_together() -> None:
    with pytest.raises(ValidationError):
        RaySettings(min_replicas=1)
    with pytest.raises(ValidationError):
        RaySettings(min_replicas=3, max_replicas=2)
    assert RaySettings(min_replicas=0, max_replicas=4).max_replicas == 4


def test_input_kind(tmp_path: Path) -> None:
    assert input_kind([tmp_path / "a.jsonl", tmp_path / "b.jsonl"]) == "jsonl"
    assert input_kind([tmp_path / "a.parquet"]) == "parquet"
    assert input_kind([tmp_path]) == "files"
    with pytest.raises(ValueError, match="one kind"):
        input_kind([tmp_path, tmp_path / "a.parquet"])


def _batch() -> dict[str, np.ndarray]:
    error = json.dumps({"code": 3, "status": "INVALID_ARGUMENT", "message": "bad"})
    return {
        "key": np.array(["a", "", "c"], dtype=object),
        "has_key": np.array([True, False, True]),
        "metadata": np.array(['{"n": 1}', "", ""], dtype=object),
        "vector": np.array([[1, 0], [0, 1], [0, 0]], dtype=np.float32),
        "token_count": np.array([4, 5, 0]),
        "error": np.array(["", "", error], dtype=object),
    }


def test_jsonl_results_are_batch_api_output_lines(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with ResultWriter(out) as writer:
        writer.write(_batch())
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0] == {
        "key": "a",
        "response": {"embedding": {"values": [1.0, 0.0]}, "tokenCount": "4"},
        "metadata": {"n": 1},
    }
    assert "key" not in lines[1] and lines[1]["response"]["embedding"]["values"] == [0.0, 1.0]
    assert lines[2] == {"key": "c", "error": {"code": 3, "message": "bad"}}
    assert (writer.stats.requests, writer.stats.succeeded, writer.stats.failed) == (3, 2, 1)


def test_parquet_results_have_key_vector_tokens_error(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out.parquet"
    with ResultWriter(out) as writer:
        writer.write(_batch())
    table = pq.read_table(out).to_pydict()
    assert table["key"] == ["a", "1", "c"]
    assert table["vector"] == [[1.0, 0.0], [0.0, 1.0], None]
    assert table["token_count"] == [4, 5, 0]
    assert table["error"][:2] == [None, None] and "bad" in table["error"][2]


def test_a_failed_run_leaves_no_output(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), ResultWriter(out) as writer:
        writer.write(_batch())
        raise RuntimeError("the cluster went away")
    assert list(tmp_path.iterdir()) == []


def test_the_pipeline_stages_read_and_embed_like_the_batch_api(tmp_path: Path) -> None:
    """The CPU stage and the model actor of the pipeline, called as Ray Data calls them,
    without a cluster: the CPU stage reads and tokenises, the model actor only embeds."""
    import functools

    from omnivec.bootstrap import embedding_service
    from omnivec.cli.ray_batch import _line_reader
    from omnivec.jobs.ray_data import ForwardStage, PipelineOptions, RequestStage
    from omnivec.settings import Settings

    make_service = functools.partial(embedding_service, Settings(models=["fake:16"], data_dir=tmp_path))
    options = PipelineOptions(model="gemini-embedding-001")
    read = RequestStage(make_service, _line_reader, options, "jsonl")
    embed = ForwardStage(make_service, options)
    lines = [
        json.dumps({"key": "a", "request": {"content": {"parts": [{"text": "alpha"}]}}}),
        json.dumps(
            {"key": "b", "request": {"content": {"parts": [{"text": "beta"}]}, "outputDimensionality": 4}}
        ),
        "{not json",
        json.dumps({"key": "d", "request": {"model": "models/other", "content": {"parts": [{"text": "x"}]}}}),
        json.dumps({"key": "e", "request": {"content": {"parts": []}}}),
    ]
    prepared = read({"text": np.array(lines, dtype=object)})
    # Tokenised in the CPU stage: what reaches the model actor is ready for the device.
    assert [bool(p) for p in prepared["prepared"]] == [True, True, False, False, False]
    out = embed(prepared)
    assert list(out["key"]) == ["a", "b", "", "d", "e"]
    assert [len(v) for v in out["vector"]] == [16, 4, 0, 0, 0]
    assert [bool(e) for e in out["error"]] == [False, False, True, True, True]
    assert json.loads(out["error"][3])["status"] == "NOT_FOUND"  # no model "other" here
    assert "'content.parts'" in json.loads(out["error"][4])["message"]
    # The same vectors as the single-process path gives for the same requests.
    single = embedding_service(Settings(models=["fake:16"], data_dir=tmp_path))
    single.runtime.start()
    try:
        import asyncio

        from omnivec.types import EmbedInput, EmbedOptions, TextPart

        expected = asyncio.run(
            single.embed(
                "fake",
                [
                    EmbedInput((TextPart("alpha"),), EmbedOptions()),
                    EmbedInput((TextPart("beta"),), EmbedOptions(output_dimensionality=4)),
                ],
            )
        )
    finally:
        single.runtime.stop()
    np.testing.assert_array_equal(out["vector"][0], expected[0].values)
    np.testing.assert_array_equal(out["vector"][1], expected[1].values)
    assert [int(t) for t in out["token_count"][:2]] == [e.token_count for e in expected]


def test_the_cpu_stage_reads_a_jobs_stored_requests(tmp_path: Path) -> None:
    """Batch API jobs on Ray send their stored requests (with their indices) through the same
    stages; an over-long input with autoTruncate off is the item's own error, as in the worker."""
    import functools

    from omnivec.bootstrap import embedding_service
    from omnivec.jobs.ray_data import STORED, ForwardStage, PipelineOptions, RequestStage, read_error
    from omnivec.services.batch_items import encode_input
    from omnivec.settings import Settings
    from omnivec.types import EmbedInput, EmbedOptions, TextPart

    settings = Settings(models=["fake:16"], data_dir=tmp_path)
    make_service = functools.partial(embedding_service, settings)
    options = PipelineOptions(model="fake")
    payloads = [
        encode_input(EmbedInput((TextPart("alpha"),), EmbedOptions())),
        encode_input(EmbedInput((TextPart("word " * 3000),), EmbedOptions(auto_truncate=False))),
        b"{damaged",
    ]
    batch = {"index": np.array([7, 8, 9]), "payload": np.array(payloads, dtype=object)}
    out = ForwardStage(make_service, options)(RequestStage(make_service, None, options, STORED)(batch))
    assert list(out["index"]) == [7, 8, 9]
    assert len(out["vector"][0]) == 16 and not out["error"][0]
    too_long = read_error(out["error"][1])
    assert too_long.status == "INVALID_ARGUMENT" and "'content'" in too_long.message
    assert read_error(out["error"][2]).status == "INTERNAL"
