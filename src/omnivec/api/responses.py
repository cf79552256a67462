"""JSON responses: orjson with native numpy serialisation, Google's error envelope."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from omnivec.api.dialect import RenderedError, current_dialect
from omnivec.errors import OmnivecError, ResourceExhausted

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(content: Any) -> bytes:
    """JSON as every response here writes it."""
    return orjson.dumps(content, option=_OPTIONS)


class JSONResponse(Response):
    media_type = "application/json; charset=UTF-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)


def error_body(error: OmnivecError, *, request_id: str | None = None) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    if error.violations:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {"field": v.field, "description": v.description} for v in error.violations
                ],
            }
        )
    if isinstance(error, ResourceExhausted):
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{error.retry_after_s:g}s"}
        )
    details.extend(error.details)
    if request_id and error.http_status >= 500:
        details.append({"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id})
    body: dict[str, Any] = {"code": error.http_status, "message": error.message, "status": error.status}
    if details:
        body["details"] = details
    return {"error": body}


def google_error(error: OmnivecError, request_id: str | None) -> RenderedError:
    """Google's envelope: the Gemini and Vertex AI dialects."""
    return RenderedError(error.http_status, error_body(error, request_id=request_id))


def error_response(
    error: OmnivecError, *, request_id: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error in the shape of the dialect the caller speaks (Google's when none claimed it)."""
    dialect = current_dialect.get()
    rendered = (dialect.render_error if dialect else google_error)(error, request_id)
    extra = dict(headers or {})
    extra.update(rendered.headers)
    if isinstance(error, ResourceExhausted):
        extra["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return JSONResponse(rendered.body, status_code=rendered.status, headers=extra)
