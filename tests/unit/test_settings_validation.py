"""Settings are validated whole before anything loads: missing and malformed config files,
unknown keys (with the nearest real one), values out of range, one merge rule for aliases, and
where each effective value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnivec.settings import DEFAULT_ALIASES, Settings, SettingsError, explain


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNIVEC_CONFIG", raising=False)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"config file .*missing\.toml does not exist"):
        Settings.load(tmp_path / "missing.toml")


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = 9000\nhost = \n")
    with pytest.raises(SettingsError, match=r"bad\.toml is not valid TOML: .*line"):
        Settings.load(config)


def test_unknown_keys_are_errors_with_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "omnivec.toml"
    config.write_text("prot = 9000\n")
    with pytest.raises(SettingsError, match=r"unknown setting prot \(did you mean 'port'\?\)"):
        Settings.load(config)
    config.write_text("[batching]\nmax_bach_tokens = 10\n")
    with pytest.raises(SettingsError, match=r"batching\.max_bach_tokens \(did you mean 'max_batch_tokens'"):
        Settings.load(config)
    monkeypatch.setenv("OMNIVEC_BATCHING__MAX_BACH_TOKENS", "3")
    with pytest.raises(SettingsError, match="did you mean OMNIVEC_BATCHING__MAX_BATCH_TOKENS"):
        Settings.load()


def test_out_of_range_values_name_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"batching\.max_batch_tokens: .*greater than or equal to 1"):
        Settings.load(batching={"max_batch_tokens": -5, "max_queue_items": 0})
    with pytest.raises(SettingsError, match="device 'gpu' is not one of"):
        Settings.load(device="gpu")
    assert Settings.load(device="CUDA:1").device == "cuda:1"


def test_aliases_add_to_the_gemini_names_from_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "omnivec.toml"
    config.write_text(
        'models = ["default", "e5=fake:8"]\n[aliases]\ngemini-embedding-001 = "e5"\nfrom-file = "e5"\n'
    )
    monkeypatch.setenv("OMNIVEC_ALIASES", '{"from-env": "e5"}')
    s = Settings.load(config, aliases={"from-flag": ""})
    assert set(DEFAULT_ALIASES) <= set(s.aliases)
    assert s.aliases["gemini-embedding-001"] == "e5" and s.aliases["gemini-embedding-2"] == ""
    assert {"from-file", "from-env", "from-flag"} <= set(s.aliases)


def test_alias_to_a_model_not_served_fails_before_loading() -> None:
    with pytest.raises(SettingsError, match="alias x points at 'model', which is not a served model"):
        Settings.load(aliases={"x": "model"})


def test_explain_names_the_source_of_each_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "omnivec.toml"
    config.write_text("port = 9000\n[batching]\nmax_batch_items = 7\n")
    monkeypatch.setenv("OMNIVEC_HOST", "127.0.0.2")
    rows = {key: (value, source) for key, value, source in explain(config, log_level="DEBUG")}
    assert rows["port"] == (9000, f"file {config}")
    assert rows["host"] == ("127.0.0.2", "env OMNIVEC_HOST")
    assert rows["log_level"] == ("DEBUG", "flag")
    assert rows["batching.max_batch_items"] == (7, f"file {config}")
    assert rows["batching.max_batch_tokens"] == (1024, "default")
    monkeypatch.setenv("OMNIVEC_API_KEYS", '["secret-key"]')
    assert "secret-key" not in repr(explain())
