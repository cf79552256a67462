"""OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from omnivec.api.dialect import RenderedError, client_status
from omnivec.errors import OmnivecError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
}


def render_error(error: OmnivecError, request_id: str | None) -> RenderedError:
    status = client_status(error)
    param = error.violations[0].field if error.violations else None
    return RenderedError(
        status,
        {
            "error": {
                "message": error.message,
                "type": _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
                "param": param,
                "code": error.status.lower(),
            }
        },
    )
