"""Choosing a backend engine per model, from settings and from the command line."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from omnivec.bootstrap import build, load_backends
from omnivec.cli.commands import load_settings
from omnivec.cli.main import build_parser
from omnivec.runtime.backends.device import accelerator_model_kwargs
from omnivec.settings import Settings, SettingsError


def test_engine_defaults_to_auto_and_can_be_set_per_model_or_for_all() -> None:
    assert Settings.load().engine_for("all-MiniLM-L6-v2") == "auto"
    s = Settings.load(backend_engine={"*": "onnx", "small": "onnx-int8"})
    assert s.engine_for("small") == "onnx-int8"
    assert s.engine_for("other") == "onnx"


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(SettingsError, match="not one of auto, fp32, bf16, torch, onnx, onnx-int8"):
        Settings.load(backend_engine={"m": "tensorrt"})


def test_cli_engine_flag() -> None:
    args = build_parser().parse_args(["serve", "--engine", "onnx-int8", "--engine", "b=bf16"])
    settings = load_settings(args)
    assert settings.backend_engine == {"*": "onnx-int8", "b": "bf16"}


def test_the_probe_threshold_is_a_cosine() -> None:
    assert Settings.load().engine_min_cosine == 0.9999
    with pytest.raises(SettingsError):
        Settings.load(engine_min_cosine=1.5)


def test_batching_defaults_do_not_linger() -> None:
    b = Settings.load().batching
    assert b.max_wait_ms == 0.0
    assert b.max_batch_tokens == 1024


def test_cuda_loads_fp16_with_fused_attention_and_cpu_keeps_the_checkpoint_dtype() -> None:
    cuda = torch.device("cuda")
    assert accelerator_model_kwargs(torch.device("cpu"), None) == {}
    assert accelerator_model_kwargs(torch.device("cpu"), True) == {}
    assert accelerator_model_kwargs(cuda, None) == {"attn_implementation": "sdpa", "dtype": torch.float16}
    assert accelerator_model_kwargs(cuda, False) == {"attn_implementation": "sdpa"}


def test_replicas_are_copies_of_one_model_behind_one_queue(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(models=["fake:8"], replicas=3)
    backends = load_backends(settings)
    assert [b.info.model_id for b in backends] == ["fake"] * 3
    assert len({id(b) for b in backends}) == 3
    container = build(settings, backends)
    try:
        assert list(container.runtime.runners) == ["fake"]
        assert [m.name for m in container.catalogue.list() if m.alias_of is None] == ["fake"]
    finally:
        container.stores.close()


def test_the_serving_process_tunes_glibcs_allocator() -> None:
    import platform

    from omnivec.runtime.memory import tune_allocator

    assert Settings.load().tune_allocator is True
    # glibc takes the setting; other C libraries have no mallopt to take it.
    assert tune_allocator() is (platform.libc_ver()[0] == "glibc")
