from __future__ import annotations

from pathlib import Path

import pytest

from omnivec.settings import Settings, split_model_spec


def test_defaults_serve_bundled_model_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNIVEC_CONFIG", raising=False)
    s = Settings.load()
    assert s.host == "127.0.0.1" and s.port == 8080
    assert s.models == ["default"]
    assert set(s.aliases) >= {"gemini-embedding-001", "gemini-embedding-2"}


def test_env_then_file_then_explicit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "omnivec.toml"
    config.write_text('port = 9000\nmodels = ["fake:8"]\n[batching]\nmax_batch_tokens = 1234\n')
    s = Settings.load(config)
    assert (s.port, s.models, s.batching.max_batch_tokens) == (9000, ["fake:8"], 1234)
    monkeypatch.setenv("OMNIVEC_PORT", "9100")
    monkeypatch.setenv("OMNIVEC_BATCHING__MAX_WAIT_MS", "7")
    s = Settings.load(config)
    assert s.port == 9100 and s.batching.max_wait_ms == 7 and s.batching.max_batch_tokens == 1234
    s = Settings.load(config, port=9200, host=None)
    assert s.port == 9200 and s.host == "127.0.0.1"


def test_model_specs() -> None:
    assert split_model_spec("default") == ("all-MiniLM-L6-v2", "default")
    assert split_model_spec("fake:16") == ("fake", "fake:16")
    assert split_model_spec("mine=/models/e5-small/") == ("mine", "/models/e5-small/")
    assert split_model_spec("intfloat/multilingual-e5-small") == (
        "multilingual-e5-small",
        "intfloat/multilingual-e5-small",
    )


def test_invalid_settings_rejected() -> None:
    with pytest.raises(ValueError):
        Settings(models=[])
    with pytest.raises(ValueError):
        Settings(port=70000)


def test_a_prompt_style_typo_is_refused_not_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from omnivec.types import PromptStyle

    with pytest.raises(ValueError, match="'e5'"):
        Settings(prompt_styles={"mine": "e-5"})
    monkeypatch.setenv("OMNIVEC_PROMPT_STYLES", '{"mine": "qwen"}')
    with pytest.raises(ValueError, match="'qwen3'"):
        Settings.load()
    config = tmp_path / "omnivec.toml"
    config.write_text('[prompt_styles]\nmine = "e5"\n')
    monkeypatch.delenv("OMNIVEC_PROMPT_STYLES")
    assert Settings.load(config).prompt_styles == {"mine": PromptStyle.E5}
