"""The one settings tree. The ONLY module that reads environment variables or config files.

Precedence, highest first: explicit values (CLI flags, library arguments) > ``OMNIVEC_*`` env vars
> the TOML config file (``--config`` or ``OMNIVEC_CONFIG``) > defaults. Nested fields use ``__``
in env names, e.g. ``OMNIVEC_BATCHING__MAX_BATCH_TOKENS=16384``.
"""

from __future__ import annotations

import contextvars
import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from omnivec.settings.sections import (
    BatchingSettings,
    BatchSettings,
    CacheSettings,
    FileSettings,
    LimitSettings,
    MediaSettings,
    RaySettings,
    SearchStoreSettings,
)
from omnivec.types import Modality, PromptStyle

DEFAULT_MODEL = "default"  # the bundled all-MiniLM-L6-v2
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_ALIASES = ("gemini-embedding-001", "gemini-embedding-2", "gemini-embedding-2-preview")
# How a text model's transformer runs: auto (bf16 where the device computes it natively and it
# passes its parity probe, else fp32), fp32, bf16 (checked to cosine 0.9999 of fp32 at load),
# torch (the checkpoint's dtype; fp16 on CUDA), ONNX Runtime fp32, or ONNX Runtime with int8
# weights (faster on CPU, checked to cosine 0.99 of torch at load).
ENGINES = ("auto", "fp32", "bf16", "torch", "onnx", "onnx-int8")
ALL_MODELS = "*"
# 'auto', 'cpu', 'mps', 'cuda' or 'cuda:N'.
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
ENV_PREFIX = "OMNIVEC_"
# Environment variables with the prefix that are not settings.
_ENV_NOT_SETTINGS = {"OMNIVEC_CONFIG"}


class SettingsError(ValueError):
    """Settings that cannot be used: a missing or malformed config file, an unknown key, a value
    out of range. The message names the key (or file) and says what to do."""


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("omnivec"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OMNIVEC_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    models: list[str] = Field(
        default_factory=lambda: [DEFAULT_MODEL],
        description="Models to serve: SOURCE or ID=SOURCE; SOURCE is 'default', 'fake[:DIM]', a directory "
        "or a hub id. The first embedding model is the default target of aliases; a cross-encoder checkpoint "
        "serves /v1/rerank.",
    )
    aliases: dict[str, str] = Field(
        default_factory=lambda: dict.fromkeys(DEFAULT_ALIASES, ""),
        description="NAME -> served model id; an empty target means the first served embedding model.",
    )
    api_keys: list[SecretStr] = Field(default_factory=list)
    allow_public_bind_without_keys: bool = False
    data_dir: Path = Field(default_factory=_default_data_dir)
    public_url: str | None = Field(
        None, description="Base URL clients reach this server at (for upload URLs)."
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text",
        description="'text' (one line per event) or 'json' (one JSON object per line, for log shippers).",
    )
    shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM, how long queued requests may still run before they get 503."
    )
    device: str = Field("auto", description="'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.")
    torch_threads: int | None = Field(None, ge=1)
    half_precision: bool | None = Field(
        None,
        description="fp16 weights on CUDA with engine torch (None: on for CUDA, off elsewhere; CPU always "
        "runs fp32). The other engines set their own precision.",
    )
    replicas: int | None = Field(
        None,
        ge=1,
        description="Executors of each model, taking batches from one queue. A model that can run several "
        "passes at once over its weights (torch on a CPU) shares them and its threads; others load a copy "
        "each (a GPU that one copy cannot keep busy). None: 2 for such a model in omnivec's own process "
        "(the CLI) when torch has at least 2 threads and --torch-threads is not set, else 1.",
    )
    offline: bool = Field(False, description="Never contact a model hub; only local files.")
    trust_remote_code: bool = False
    prompt_styles: dict[str, PromptStyle] = Field(
        default_factory=dict,
        description="Served model id -> prompt style (none, gemma, e5, qwen3, nomic), overriding detection.",
    )
    model_modalities: dict[str, list[Modality]] = Field(
        default_factory=dict,
        description="Served model id -> the modalities to serve it for; towers not needed are not "
        "loaded (e.g. ['TEXT'] serves EmbeddingGemma 2 as its text backbone alone).",
    )
    backend_engine: dict[str, str] = Field(
        default_factory=dict,
        description=f"Served model id (or {ALL_MODELS!r} for every model) -> engine: {', '.join(ENGINES)}.",
    )
    engine_min_cosine: float = Field(
        0.9999,
        gt=0,
        le=1.0,
        description="Cosine to fp32 the bf16 engine must reach on every probe text to serve; below it "
        "auto falls back to fp32 and a forced bf16 refuses to start.",
    )
    engine_compile: bool | None = Field(
        None,
        description="Compile the bf16 engine's transformer on a CPU with TorchInductor (needs a C++ "
        "compiler) in the background after start; it takes over from the eager engine once built and "
        "probed (20-40 s of the CPU at start; MiniLM on 2 cores: 1.11-1.14x the eager throughput over HTTP, "
        "about 200 MB more memory). None: "
        "in omnivec's own process (the CLI), not in the library.",
    )
    kernel_cache_entries: int = Field(
        64,
        ge=1,
        description="Compiled CPU matrix kernels PyTorch and oneDNN each keep, one per input shape. Their "
        "default, 1024 each, lets a bf16 server grow by hundreds of MB as batches of new shapes arrive; "
        "64 keeps it flat for 5-10 % of bf16 throughput.",
    )
    tune_allocator: bool = Field(
        True,
        description="omnivec serve: cap glibc's malloc arenas at two, so memory stays flat under bursts "
        "of requests (no effect on other allocators).",
    )
    batching: BatchingSettings = Field(default_factory=BatchingSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    files: FileSettings = Field(default_factory=FileSettings)
    batches: BatchSettings = Field(default_factory=BatchSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    vector_store: str | None = Field(
        None,
        description="Where File Search stores keep their vectors: unset for the embedded Qdrant Edge under "
        "the data directory, or qdrant+http://HOST:PORT for a Qdrant server or cluster.",
    )
    search_stores: SearchStoreSettings = Field(default_factory=SearchStoreSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    ray: RaySettings = Field(default_factory=RaySettings)

    @field_validator("model_modalities", mode="before")
    @classmethod
    def _modality_names(cls, v: Any) -> Any:
        """Modality names in any letter case: ``["text"]`` is ``[Modality.TEXT]``."""
        if not isinstance(v, dict):
            return v
        return {k: [m.upper() for m in ms] if isinstance(ms, list) else ms for k, ms in v.items()}

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, v: str) -> str:
        # Lower levels (uvicorn's "trace") would log whole requests, API keys included.
        if v.upper() not in _LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(_LOG_LEVELS)}")
        return v.upper()

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        if not _DEVICE.match(v.strip().lower()):
            raise ValueError(f"device {v!r} is not one of auto, cpu, cuda, cuda:N, mps")
        return v.strip().lower()

    @field_validator("aliases")
    @classmethod
    def _aliases_add_to_defaults(cls, v: dict[str, str]) -> dict[str, str]:
        """One rule wherever aliases come from (file, env, flags): they add to the Gemini names
        and may re-point them; the first served model stays the target of those not named."""
        return {**dict.fromkeys(DEFAULT_ALIASES, ""), **{k.strip(): t.strip() for k, t in v.items()}}

    @model_validator(mode="after")
    def _aliases_name_served_models(self) -> Settings:
        served = {split_model_spec(spec)[0].lower() for spec in self.models}
        for alias, target in self.aliases.items():
            wanted = target.removeprefix("models/").lower()
            if wanted and wanted not in served:
                names = ", ".join(sorted(split_model_spec(spec)[0] for spec in self.models))
                raise ValueError(f"alias {alias} points at {target!r}, which is not a served model ({names})")
        return self

    @field_validator("models")
    @classmethod
    def _at_least_one_model(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one model must be served")
        return v

    @field_validator("backend_engine")
    @classmethod
    def _known_engines(cls, v: dict[str, str]) -> dict[str, str]:
        for model, engine in v.items():
            if engine not in ENGINES:
                raise ValueError(f"engine {engine!r} for {model} is not one of {', '.join(ENGINES)}")
        return v

    def engine_for(self, model_id: str) -> str:
        return self.backend_engine.get(model_id, self.backend_engine.get(ALL_MODELS, "auto"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file_path()
        if config_file is not None:
            sources.append(InitSettingsSource(settings_cls, init_kwargs=read_config_file(config_file)))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """Build settings; ``overrides`` set to None are ignored so CLI defaults do not mask env vars.

        Raises ``SettingsError`` naming the key, variable or file at fault: a missing or
        malformed config file, a key no setting has (with the nearest one that exists), a value
        out of range. Nested overrides (``batching={...}``) merge with the other sources."""
        values = {k: v for k, v in overrides.items() if v is not None}
        path = Path(config_file) if config_file else None
        token = _CONFIG_FILE.set(path)
        try:
            file = _config_file_path()
            if file is not None:
                _check_keys(read_config_file(file), cls, f"{file}: ")
            _check_env_names()
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(_describe_validation_error(exc)) from None
        finally:
            _CONFIG_FILE.reset(token)


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML config file as a dict; a missing or malformed file is a SettingsError."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist (check --config / OMNIVEC_CONFIG)") from None
    except IsADirectoryError:
        raise SettingsError(f"config file {path} is a directory; name a TOML file") from None
    except OSError as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None


def _check_keys(data: dict[str, Any], model: type[BaseModel], where: str, prefix: str = "") -> None:
    """Every key of a config table must name a setting; a misspelt one is an error with the
    nearest real name, never silently ignored."""
    fields = model.model_fields
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            raise SettingsError(f"{where}unknown setting {prefix}{key}{_did_you_mean(key, fields)}")
        nested = field.annotation
        if isinstance(value, dict) and isinstance(nested, type) and issubclass(nested, BaseModel):
            _check_keys(value, nested, where, f"{prefix}{key}.")


def _check_env_names() -> None:
    """An ``OMNIVEC_*`` variable that names no setting is an error, as a misspelt file key is."""
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in _ENV_NOT_SETTINGS:
            continue
        path = upper[len(ENV_PREFIX) :].lower().split("__")
        model: type[BaseModel] = Settings
        for depth, key in enumerate(path):
            field = model.model_fields.get(key)
            if field is None:
                near = _nearest(key, model.model_fields)
                hint = (
                    f" (did you mean {ENV_PREFIX}{'__'.join([*path[:depth], near]).upper()}?)" if near else ""
                )
                raise SettingsError(f"environment variable {name} names no setting{hint}")
            nested = field.annotation
            if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
                break
            model = nested


def _nearest(key: str, known: Any) -> str | None:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(key: str, known: Any) -> str:
    near = _nearest(key, known)
    return f" (did you mean {near!r}?)" if near else ""


def _describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the setting: 'batching.max_batch_tokens: must be ≥ 1'."""
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{key}: {message}" if key else message)
    return "; ".join(lines)


def split_model_spec(spec: str) -> tuple[str, str]:
    if "=" in spec:
        served_id, source = spec.split("=", 1)
        return served_id.strip(), source.strip()
    source = spec.strip()
    if source == DEFAULT_MODEL:
        return "all-MiniLM-L6-v2", source
    if source.startswith("fake"):
        return "fake", source
    return Path(source.rstrip("/")).name or source, source


# The config file named on the command line travels to the settings source through a context
# variable, because pydantic-settings builds sources inside the constructor.
_CONFIG_FILE: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "omnivec_config_file", default=None
)


def _config_file_path() -> Path | None:
    explicit = _CONFIG_FILE.get()
    if explicit is not None:
        return explicit
    from_env = os.environ.get("OMNIVEC_CONFIG")
    return Path(from_env) if from_env else None


def hub_offline_env() -> bool:
    """Whether the Hugging Face offline switch is set in the environment (read here, not elsewhere)."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def child_process_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for a child process (a server under benchmark): ours plus ``extra``."""
    return {**os.environ, **extra}


def explain(config_file: str | Path | None = None, **overrides: Any) -> list[tuple[str, Any, str]]:
    """The effective settings as ``(key, value, source)`` rows, ``source`` being where the value
    came from: ``flag``, the environment variable, the config file, or ``default``. Secrets show
    masked."""
    settings = Settings.load(config_file, **overrides)
    given = {k: v for k, v in overrides.items() if v is not None}
    path = Path(config_file) if config_file else _config_file_path()
    from_file = read_config_file(path) if path is not None else {}
    from_env = EnvSettingsSource(Settings)()
    values = settings.model_dump(mode="json")
    rows: list[tuple[str, Any, str]] = []

    def walk(model: type[BaseModel], prefix: tuple[str, ...]) -> None:
        for key, field in model.model_fields.items():
            at = (*prefix, key)
            nested = field.annotation
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                walk(nested, at)
                continue
            if _has(given, at):
                source = "flag"
            elif _has(from_env, at):
                source = "env " + ENV_PREFIX + "__".join(at).upper()
            elif _has(from_file, at):
                source = f"file {path}"
            else:
                source = "default"
            value: Any = values
            for part in at:
                value = value[part]
            rows.append((".".join(at), value, source))

    walk(Settings, ())
    return rows


def _has(tree: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
