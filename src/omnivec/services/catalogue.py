"""The models catalogue: served models and the aliases that point at them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from omnivec.errors import NotFound
from omnivec.types import ModelDescriptor, ModelKind


class ModelCatalogue:
    def __init__(self, models: Mapping[str, ModelDescriptor], aliases: Mapping[str, str]) -> None:
        self._models = dict(models)
        self._by_lower = {name.lower(): name for name in self._models}
        self._aliases: dict[str, str] = {}
        for alias, target in aliases.items():
            resolved = self._by_lower.get(target.lower())
            if resolved is None:
                raise ValueError(f"alias {alias} points at {target}, which is not a served model")
            if alias.lower() in self._by_lower:
                continue  # a served model of that name wins over an alias
            self._aliases[alias] = resolved
        self._aliases_lower = {a.lower(): a for a in self._aliases}

    def resolve(self, name: str) -> ModelDescriptor:
        """The served model behind ``name`` ('x', 'models/x', or an alias), case-insensitively."""
        key = _strip(name).lower()
        if key in self._by_lower:
            return self._models[self._by_lower[key]]
        if key in self._aliases_lower:
            return self._models[self._aliases[self._aliases_lower[key]]]
        raise NotFound(
            f"models/{_strip(name)[:200]} is not found, or is not supported for embedContent. "
            "Call ListModels to see the list of available models and their supported methods."
        )

    def get(self, name: str) -> ModelDescriptor:
        """The descriptor as listed: an alias is shown as an alias, not as the model itself."""
        key = _strip(name).lower()
        if key in self._aliases_lower:
            alias = self._aliases_lower[key]
            return self._alias_descriptor(alias, self._models[self._aliases[alias]])
        return self.resolve(name)

    def first(self, kind: ModelKind) -> ModelDescriptor | None:
        """The first served model of ``kind`` (what a request that names no model gets)."""
        return next((m for m in self._models.values() if m.kind is kind), None)

    def list(self) -> list[ModelDescriptor]:
        served = list(self._models.values())
        aliases = [self._alias_descriptor(a, self._models[t]) for a, t in self._aliases.items()]
        return served + aliases

    @staticmethod
    def _alias_descriptor(alias: str, target: ModelDescriptor) -> ModelDescriptor:
        # Every fact is the target's; only the names say it is an alias.
        return replace(
            target,
            name=alias,
            display_name=f"{alias} (alias of {target.name})",
            description=f"Alias served by omnivec: requests for {alias} are embedded by the open model "
            f"{target.name}. Vectors are not Google's and are not comparable with them.",
            alias_of=target.name,
        )


def _strip(name: str) -> str:
    return name[len("models/") :] if name.startswith("models/") else name
