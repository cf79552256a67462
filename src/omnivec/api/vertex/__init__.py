"""The Vertex AI dialect, as google-genai sends it with ``vertexai=True``: express mode
(``/v1beta1/publishers/google/models/{m}:verb``) and project mode
(``/v1*/projects/{p}/locations/{l}/publishers/google/models/{m}:verb``). Errors keep Google's
envelope; a Bearer token is taken as the API key (as everywhere)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from omnivec.api.dialect import Dialect
from omnivec.api.responses import google_error
from omnivec.api.vertex.routes import router

_VERTEX_PATH = re.compile(r"^/v1[a-z0-9]*/(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/")


def claims(method: str, path: str, headers: Mapping[bytes, bytes]) -> bool:
    return bool(_VERTEX_PATH.match(path))


DIALECT = Dialect(name="vertex", claims=claims, routes=tuple(router.routes), render_error=google_error)
