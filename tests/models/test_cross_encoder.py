"""The cross-encoder family: chosen by the checkpoint's ``…ForSequenceClassification`` head,
pairs cut exactly as the tokenizer's ``only_second`` truncation cuts them, logits equal to
transformers' own through the runtime's batcher, and checkpoints it cannot serve refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from omnivec.errors import ModelLoadError
from omnivec.runtime.backends.cross_encoder import CrossEncoderBackend
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.backends.registry import family_for
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.runtime import Runtime
from omnivec.types import ModelKind, ScoreActivation
from tests.support import tiny_cross_encoders as tiny

QUERY = "what is the red planet"
DOCUMENTS = ["mars is the red planet", "the cat sat on the mat " * 8, "how the brain works", "a"]
BUILDERS = [tiny.build_bert_cross_encoder, tiny.build_xlmr_cross_encoder]


def test_the_head_decides_the_family() -> None:
    assert family_for("bert", ("BertForSequenceClassification",)).name == "cross-encoder"
    assert family_for("xlm-roberta", ("XLMRobertaForSequenceClassification",)).name == "cross-encoder"
    assert family_for("bert", ("BertModel",)).name == "sentence-transformers"
    assert family_for("clip", ()).name == "dual-encoder"


@pytest.mark.parametrize("builder", BUILDERS)
def test_pairs_are_cut_as_only_second_truncation(tmp_path: Path, builder: Callable[[Path], Path]) -> None:
    backend = load_backend("tiny", str(builder(tmp_path)), device="cpu", offline=True)
    assert isinstance(backend, CrossEncoderBackend)
    assert backend.info.kind is ModelKind.RERANK and backend.info.score_activation is ScoreActivation.SIGMOID
    assert backend.info.max_tokens == tiny.MAX_LENGTH
    prepared = backend.prepare_pairs(QUERY, DOCUMENTS, auto_truncate=True)
    want = backend.tokenizer(
        [QUERY] * len(DOCUMENTS), DOCUMENTS, truncation="only_second", max_length=tiny.MAX_LENGTH
    )
    for i, item in enumerate(prepared):
        assert item.payload.input_ids.tolist() == want["input_ids"][i]
        if item.payload.token_type_ids is not None:
            assert item.payload.token_type_ids.tolist() == want["token_type_ids"][i]
    assert [p.truncated for p in prepared] == [False, True, False, False]


@pytest.mark.parametrize("builder", BUILDERS)
def test_logits_through_the_runtime_equal_transformers(
    tmp_path: Path, builder: Callable[[Path], Path]
) -> None:
    path = builder(tmp_path)
    backend = load_backend("tiny", str(path), device="cpu", offline=True)
    # A small token budget: the pairs go through the batcher in several batches.
    runtime = Runtime(
        [backend], BatchLimits(max_batch_tokens=64, max_batch_items=2, max_wait_s=0.0, max_queue_items=64)
    )
    runtime.start()
    try:
        scored = asyncio.run(runtime.score_pairs("tiny", QUERY, DOCUMENTS))
    finally:
        runtime.stop()
    got = np.array([s.vector[0] for s in scored])
    want = np.array(tiny.reference_logits(path, QUERY, DOCUMENTS))
    assert np.abs(got - want).max() <= 1e-5
    assert runtime.runners["tiny"].stats.batches >= 2


def test_a_classifier_with_several_labels_is_refused(tmp_path: Path) -> None:
    path = tiny.build_bert_cross_encoder(tmp_path, num_labels=3)
    with pytest.raises(ModelLoadError, match="3 labels"):
        load_backend("tiny", str(path), device="cpu", offline=True)


@pytest.mark.parametrize("activation", [ScoreActivation.IDENTITY, ScoreActivation.SIGMOID])
def test_a_sentence_transformers_save_keeps_its_activation(
    tmp_path: Path, activation: ScoreActivation
) -> None:
    """A checkpoint saved by sentence-transformers' CrossEncoder (modules.json, its activation
    in config_sentence_transformers.json) serves the activation it was saved with."""
    import torch
    from sentence_transformers import CrossEncoder

    modules = {ScoreActivation.IDENTITY: torch.nn.Identity(), ScoreActivation.SIGMOID: torch.nn.Sigmoid()}
    cross_encoder = CrossEncoder(
        str(tiny.build_bert_cross_encoder(tmp_path)), device="cpu", activation_fn=modules[activation]
    )
    saved = tmp_path / "saved"
    cross_encoder.save(str(saved))
    backend = load_backend("tiny", str(saved), device="cpu", offline=True)
    assert isinstance(backend, CrossEncoderBackend)
    assert backend.info.score_activation is activation
    logits = backend.finalize(
        backend.forward(backend.prepare_pairs(QUERY, DOCUMENTS[:1], auto_truncate=False))
    )
    want = cross_encoder.predict([(QUERY, DOCUMENTS[0])], activation_fn=torch.nn.Identity())
    assert abs(float(logits[0, 0]) - float(want[0])) <= 1e-5
