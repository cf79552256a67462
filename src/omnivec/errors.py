"""The one domain error hierarchy. Each class carries a Google status; ``api/errors.py`` turns
them into ``{"error": {"code", "message", "status", "details"}}``.

Messages are written for the client: they name the field and the limit, never internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class OmnivecError(Exception):
    """Base class. ``status`` is the google.rpc code name, ``http_status`` its HTTP mapping."""

    status: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        violations: tuple[FieldViolation, ...] = (),
        details: tuple[dict[str, Any], ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.violations = violations
        self.details = details


class InvalidArgument(OmnivecError):
    status = "INVALID_ARGUMENT"
    http_status = 400

    @classmethod
    def at(cls, field: str, description: str) -> InvalidArgument:
        """An error about one field, with the field path in ``BadRequest.fieldViolations``."""
        return cls(
            f"Invalid value at '{field}': {description}", violations=(FieldViolation(field, description),)
        )


class FailedPrecondition(OmnivecError):
    status = "FAILED_PRECONDITION"
    http_status = 400


class PermissionDenied(OmnivecError):
    status = "PERMISSION_DENIED"
    http_status = 403


class NotFound(OmnivecError):
    status = "NOT_FOUND"
    http_status = 404


class AlreadyExists(OmnivecError):
    status = "ALREADY_EXISTS"
    http_status = 409


class ResourceExhausted(OmnivecError):
    """Overload or quota. ``retry_after_s`` becomes a ``RetryInfo`` detail and ``Retry-After``."""

    status = "RESOURCE_EXHAUSTED"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Internal(OmnivecError):
    status = "INTERNAL"
    http_status = 500


class Unavailable(OmnivecError):
    status = "UNAVAILABLE"
    http_status = 503


class DeadlineExceeded(OmnivecError):
    status = "DEADLINE_EXCEEDED"
    http_status = 504


class ModelLoadError(OmnivecError):
    """A model could not be loaded at start-up. Never reaches a client: the server refuses to start."""

    status = "FAILED_PRECONDITION"
    http_status = 400


# google.rpc.Code numbers, used inside Operation and batch-item Status objects.
RPC_CODES: dict[str, int] = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}
