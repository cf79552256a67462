"""The model-family registry: each backend module declares its family; the checkpoint's
model_type picks it; an unknown family is a clear error; families stay independent."""

from __future__ import annotations

import pytest

from omnivec.errors import ModelLoadError
from omnivec.runtime.backends.registry import ModelFamily, families, family, family_for, register


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [
        ("clip", "dual-encoder"),
        ("siglip2", "dual-encoder"),
        ("clap", "dual-encoder"),
        ("embedding_gemma2", "embedding-gemma2"),
        ("embedding_gemma2_text", "embedding-gemma2"),
        ("qwen3_vl", "qwen3-vl-embedding"),
        # Every other checkpoint is a sentence-transformers text model.
        ("bert", "sentence-transformers"),
        ("qwen3", "sentence-transformers"),
        (None, "sentence-transformers"),
    ],
)
def test_the_checkpoint_model_type_picks_the_family(model_type: str | None, expected: str) -> None:
    assert family_for(model_type).name == expected


def test_an_unknown_family_is_a_clear_error() -> None:
    with pytest.raises(
        ModelLoadError, match="Unknown model family 'clipp'; the families are cross-encoder, dual-encoder"
    ):
        family("clipp")


def test_a_model_type_belongs_to_one_family() -> None:
    before = families()
    with pytest.raises(ValueError, match="clip"):
        register(ModelFamily("another-clip", family("dual-encoder").load, model_types=frozenset({"clip"})))
    with pytest.raises(ValueError, match="any checkpoint"):
        register(ModelFamily("another-text", family("sentence-transformers").load, fallback=True))
    assert families() == before


def test_family_modules_do_not_import_each_other() -> None:
    """Also for families added later: shared code goes in a common module, not in a family."""
    import grimp

    graph = grimp.build_graph("omnivec")
    modules = {f.load.__module__ for f in families()} | {"omnivec.runtime.backends.fake"}
    assert len(modules) >= 5
    for importer in modules:
        for imported in modules - {importer}:
            assert not graph.chain_exists(importer, imported), f"{importer} imports {imported}"
