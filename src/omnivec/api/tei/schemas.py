"""TEI's request bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class TeiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EmbedRequest(TeiModel):
    inputs: StrictStr | list[StrictStr]
    normalize: StrictBool = True
    truncate: StrictBool = False
    truncation_direction: Literal["right", "Right", "left", "Left"] = "right"
    prompt_name: StrictStr | None = None
    dimensions: Annotated[StrictInt, Field(ge=1)] | None = None


class TokenizeRequest(TeiModel):
    inputs: StrictStr | list[StrictStr]
    add_special_tokens: StrictBool = True
    prompt_name: StrictStr | None = None


class RerankRequest(TeiModel):
    # An omnivec extension: which served model reranks (TEI serves one; omnivec may serve several).
    model: StrictStr | None = None
    query: StrictStr
    texts: list[StrictStr]
    raw_scores: StrictBool = False
    return_text: StrictBool = False
    truncate: StrictBool = False
    truncation_direction: Literal["right", "Right"] = "right"
