"""The one table that turns exceptions into Google-format error responses.

Domain errors carry their own status. Framework errors (no route, wrong method, bad query
parameter) are mapped here. Anything unexpected becomes INTERNAL with the request id: the
traceback goes to the log, never into the body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from omnivec.api.dialect import current_dialect
from omnivec.api.responses import JSONResponse, error_response
from omnivec.errors import FieldViolation, Internal, InvalidArgument, NotFound, OmnivecError
from omnivec.logging import get_logger, request_id_var

log = get_logger(__name__)

_HTTP_STATUS_ERRORS: dict[int, tuple[type[OmnivecError], str]] = {
    404: (NotFound, "Method not found."),
    405: (NotFound, "Method not found."),
}


def validation_error(exc: ValidationError | RequestValidationError, prefix: str = "") -> InvalidArgument:
    """A pydantic failure as INVALID_ARGUMENT with one field violation per problem."""
    violations = []
    for err in exc.errors()[:20]:
        loc = list(err.get("loc", ()))
        if isinstance(exc, RequestValidationError) and loc and loc[0] in ("body", "query", "path"):
            # FastAPI's parameter location, not a field (a body field may be called "query")
            loc = loc[1:]
        loc = [p for p in loc if p != "function-after"]
        field = _format_loc(prefix, loc)
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        violations.append(FieldViolation(field or "(body)", message))
    first = violations[0] if violations else FieldViolation("(body)", "is invalid")
    return InvalidArgument(
        f"Invalid value at '{first.field}': {first.description}"
        + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
        violations=tuple(violations),
    )


def _format_loc(prefix: str, loc: list[Any]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not part.startswith(("function-", "union[", "nullable[")):
            # One casing for every field path: proto3 JSON's lowerCamelCase, however the
            # client spelled the key (the SDK sends snake_case, curl samples camelCase).
            name = to_camel(part) if _gemini_casing() else part
            out += f".{name}" if out else name
    return out


def unexpected_error_response(exc: BaseException, request_id: str) -> JSONResponse:
    """INTERNAL with the request id in the body; the traceback, with the same id, in the log."""
    token = request_id_var.set(request_id)
    try:
        log.error("unexpected error", exc_info=exc)
    finally:
        request_id_var.reset(token)
    return error_response(
        Internal(f"An internal error has occurred (request id {request_id}). Please retry or report it."),
        request_id=request_id,
    )


def install(app: FastAPI) -> None:
    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OmnivecError)
        if exc.http_status >= 500:
            log.warning("%s: %s", exc.status, exc.message)
        return error_response(exc, request_id=request_id_var.get())

    async def request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc))

    async def pydantic_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        return error_response(validation_error(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        cls, message = _HTTP_STATUS_ERRORS.get(exc.status_code, (InvalidArgument, "Invalid request."))
        return error_response(cls(message))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Normally UnexpectedErrorMiddleware answers first; this runs outside every middleware,
        # where the request id survives only in the scope's state.
        request_id = str(request.scope.get("state", {}).get("request_id", request_id_var.get()))
        return unexpected_error_response(exc, request_id)

    app.add_exception_handler(OmnivecError, domain)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(ValidationError, pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _gemini_casing() -> bool:
    """Google's APIs name fields in proto3 JSON (lowerCamelCase); the other dialects keep their
    own snake_case names (OpenAI's ``encoding_format``, Cohere's ``input_type``)."""
    dialect = current_dialect.get()
    return dialect is None or dialect.name in ("gemini", "vertex")
