"""Choosing a backend engine per model, from settings and from the command line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnivec.cli.commands import load_settings
from omnivec.cli.main import build_parser
from omnivec.settings import Settings


def test_engine_defaults_to_torch_and_can_be_set_per_model_or_for_all() -> None:
    assert Settings.load().engine_for("all-MiniLM-L6-v2") == "torch"
    s = Settings.load(backend_engine={"*": "onnx", "small": "onnx-int8"})
    assert s.engine_for("small") == "onnx-int8"
    assert s.engine_for("other") == "onnx"


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValidationError, match="not one of torch, onnx, onnx-int8"):
        Settings.load(backend_engine={"m": "tensorrt"})


def test_cli_engine_flag() -> None:
    args = build_parser().parse_args(["serve", "--engine", "onnx-int8", "--engine", "b=torch"])
    settings = load_settings(args)
    assert settings.backend_engine == {"*": "onnx-int8", "b": "torch"}


def test_batching_defaults_do_not_linger() -> None:
    b = Settings.load().batching
    assert b.max_wait_ms == 0.0
    assert b.max_batch_tokens == 4096
