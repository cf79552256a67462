"""Ollama's request bodies. ``options`` and ``keep_alive`` are accepted and ignored: omnivec
keeps its models loaded and tunes them by its own settings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class OllamaModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EmbedRequest(OllamaModel):
    model: StrictStr
    input: StrictStr | list[StrictStr]
    truncate: StrictBool = True
    dimensions: Annotated[StrictInt, Field(ge=1)] | None = None
    options: dict[str, Any] | None = None
    keep_alive: StrictStr | float | None = None


class EmbeddingsRequest(OllamaModel):
    model: StrictStr
    prompt: StrictStr
    options: dict[str, Any] | None = None
    keep_alive: StrictStr | float | None = None


class ShowRequest(OllamaModel):
    model: StrictStr | None = None
    name: StrictStr | None = None  # the older spelling
