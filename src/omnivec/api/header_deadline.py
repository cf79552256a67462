"""A deadline on request headers, which uvicorn does not have.

uvicorn times out idle keep-alive connections, but a connection that sends its request line and
headers a byte at a time is never timed out: each byte resets nothing and nothing runs out, so
a few thousand such connections hold the server's sockets for as long as the sender likes. This
protocol (uvicorn's own, with a timer) closes a connection whose headers are not complete within
``header_timeout_s`` of its opening or of the previous response. Bodies have their own deadlines
(``BodyLimitMiddleware``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


def with_header_deadline(header_timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, closing connections whose headers are late."""

    class HeaderDeadlineProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's headers are due in time too

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                return  # the headers came: a request is being handled
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineProtocol
