"""Logging set-up: one format for every line (ours and the HTTP server's), text or JSON, with the
request id of the request a line belongs to.

Text: ``2026-01-02T03:04:05.678Z INFO  omnivec.access [3f9c…] POST /v1beta/… 200 12.1ms``; the
``[id]`` appears only on lines logged inside a request. JSON: one object per line with ``ts``,
``level``, ``logger``, ``message``, ``request_id`` (inside a request) and the structured fields
of the event (the access log's ``method``, ``path``, ``status``…), for log shippers.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("omnivec_request_id", default="-")

FORMATS = ("text", "json")
# Loggers of the HTTP server that are routed through our handler, so there is one format.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# Structured fields an event may carry (``log.info(..., extra={"fields": {...}})``).
FIELDS_ATTR = "fields"
# Events that are shown whatever the log level: the start-up banner.
ANNOUNCE = "omnivec.announce"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class _StderrHandler(logging.StreamHandler):
    """Writes to the ``sys.stderr`` of the moment, not the one at set-up: a process (or a test
    run) that swaps stderr keeps its log lines and never writes to a closed stream."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "-")
        request = f" [{rid}]" if rid != "-" else ""
        line = f"{_timestamp(record)} {record.levelname:<5} {record.name}{request} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", "-")
        if rid != "-":
            body["request_id"] = rid
        body.update(getattr(record, FIELDS_ATTR, None) or {})
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Idempotent: safe to call from the CLI, the library and tests. A later call changes the
    level and the format of the handler already installed."""
    root = logging.getLogger("omnivec")
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, "_omnivec", False)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.addFilter(_RequestIdFilter())
        handler._omnivec = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    # The banner is shown even with --log-level warning: it says where the server listens.
    logging.getLogger(ANNOUNCE).setLevel(logging.INFO)
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers = [handler]
        server_logger.propagate = False
        # Its start-up lines repeat our banner; its warnings and errors are kept.
        server_logger.setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("omnivec") else f"omnivec.{name}")
