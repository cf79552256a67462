"""Logging set-up with a per-request id carried in a context variable."""

from __future__ import annotations

import contextvars
import logging
import sys

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("omnivec_request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure(level: str = "INFO") -> None:
    """Idempotent: safe to call from the CLI, the library and tests."""
    root = logging.getLogger("omnivec")
    root.setLevel(level.upper())
    if any(getattr(h, "_omnivec", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler._omnivec = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("omnivec") else f"omnivec.{name}")
