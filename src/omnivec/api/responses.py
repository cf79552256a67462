"""JSON responses: orjson with native numpy serialisation, Google's error envelope."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

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


def error_response(
    error: OmnivecError, *, request_id: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    extra = dict(headers or {})
    if isinstance(error, ResourceExhausted):
        extra["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return JSONResponse(
        error_body(error, request_id=request_id), status_code=error.http_status, headers=extra
    )
