"""How multimodal checkpoints are found and loaded: hub ids from the local hub cache, the served
modalities setting, and refusals that must stay start-up errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from omnivec.bootstrap import build
from omnivec.errors import ModelLoadError
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.inputs import ModelInput
from omnivec.settings import Settings
from omnivec.types import Modality


def hub_cache_with(root: Path, repo: str, checkpoint: Path) -> Path:
    """A Hugging Face hub cache holding ``repo`` at one revision, laid out as downloads leave it."""
    cache = root / "hub"
    folder = cache / f"models--{repo.replace('/', '--')}"
    revision = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(checkpoint, folder / "snapshots" / revision)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(revision)
    return cache


@pytest.mark.parametrize(
    ("name", "backend_class"), [("clip", "DualEncoderBackend"), ("eg2", "EmbeddingGemma2Backend")]
)
def test_hub_id_resolves_through_the_hub_cache(
    tiny_dir: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    backend_class: str,
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(
        constants, "HF_HUB_CACHE", str(hub_cache_with(tmp_path, f"tiny/{name}", tiny_dir(name)))
    )
    backend = load_backend(name, f"tiny/{name}", device="cpu", offline=True)
    assert type(backend).__name__ == backend_class
    assert backend.info.source == f"tiny/{name}"


def test_unknown_hub_id_offline_is_a_start_up_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelLoadError, match="not in the local model cache"):
        load_backend("x", "nobody/no-such-model", device="cpu", offline=True)


def test_served_modalities_setting_loads_only_those_towers(
    tiny_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    settings = Settings(
        models=[f"eg2={tiny_dir('eg2')}", f"clip={tiny_dir('clip')}"],
        model_modalities={"eg2": ["text", "audio"], "clip": ["TEXT", "IMAGE"]},
        data_dir=tmp_path,
        device="cpu",
        offline=True,
    )
    container = build(settings)
    eg2 = container.catalogue.resolve("eg2")
    assert eg2.modalities == {Modality.TEXT, Modality.AUDIO}
    assert eg2.audio_sample_rate == 16_000
    backend = container.runtime.runners["eg2"].backend
    assert backend.model.vision_tower is None and backend.model.audio_tower is not None  # type: ignore[attr-defined]
    assert container.catalogue.resolve("clip").modalities == {Modality.TEXT, Modality.IMAGE}
    assert container.catalogue.resolve("clip").audio_sample_rate is None


def test_text_model_cannot_be_served_without_text() -> None:
    with pytest.raises(ModelLoadError, match="text model"):
        load_backend("m", "default", device="cpu", offline=True, modalities=frozenset({Modality.IMAGE}))


def test_sentence_transformers_clip_layout(tiny_dir: Callable[[str], Path], tmp_path: Path) -> None:
    """The older sentence-transformers CLIP repositories keep the checkpoint in a module folder."""
    root = tmp_path / "st-clip"
    shutil.copytree(tiny_dir("clip"), root / "0_CLIPModel")
    modules = [
        {"idx": 0, "name": "0", "path": "0_CLIPModel", "type": "sentence_transformers.models.CLIPModel"}
    ]
    (root / "modules.json").write_text(json.dumps(modules))
    backend = load_backend("st-clip", str(root), device="cpu", offline=True)
    reference = load_backend("clip", str(tiny_dir("clip")), device="cpu", offline=True)
    assert backend.info.modalities == reference.info.modalities
    inputs = [ModelInput(("a red cat",))]
    np.testing.assert_allclose(
        backend.finalize(backend.forward(backend.prepare(inputs, auto_truncate=True))),
        reference.finalize(reference.forward(reference.prepare(inputs, auto_truncate=True))),
        atol=1e-6,
    )
