"""OpenAI's embeddings request."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

# Ids of the served model's own vocabulary; their range is checked against that model.
TokenIds = list[StrictInt]


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    model: StrictStr
    input: StrictStr | list[StrictStr] | TokenIds | list[TokenIds]
    dimensions: Annotated[StrictInt, Field(ge=1)] | None = None
    encoding_format: Literal["float", "base64", "int8", "uint8", "binary", "ubinary"] = "float"
    user: StrictStr | None = None
