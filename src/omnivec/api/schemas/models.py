"""The Model resource (its JSON is written by ``omnivec.wire.models``)."""

from __future__ import annotations

from omnivec.wire.models import EMBED_METHODS, model_json

__all__ = ["EMBED_METHODS", "model_json"]
