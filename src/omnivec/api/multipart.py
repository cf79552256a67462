"""Google's single-request multipart upload: a ``multipart/related`` body whose first part is
the JSON metadata and whose second part is the media. Parsed as it streams in (python-multipart's
incremental parser), so the media goes to disk piece by piece, never whole into memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

from omnivec.errors import InvalidArgument

_MAX_METADATA = 1 << 20


class RelatedUpload:
    def __init__(self, content_type: str, body: AsyncIterator[bytes]) -> None:
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise InvalidArgument("A multipart upload needs a boundary in its Content-Type.")
        self._body = body
        self._part = -1
        self._header_name = b""
        self._header_value = b""
        self._headers_done = False
        self._ended = False
        self.metadata = bytearray()
        self.media_type: str | None = None
        self._pending: list[bytes] = []
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_end": self._on_end,
            },
        )

    async def read_metadata(self) -> bytes:
        """Feed the parser until the metadata part is whole and the media part's headers are read."""
        while not (self._part >= 1 and self._headers_done) and not self._ended:
            if not await self._feed():
                break
        if self._part < 1:
            raise InvalidArgument("A multipart upload needs two parts: the JSON metadata, then the media.")
        return bytes(self.metadata)

    async def media(self) -> AsyncIterator[bytes]:
        """The media part's bytes, as they arrive."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._ended or not await self._feed():
                break
        while self._pending:
            yield self._pending.pop(0)

    async def _feed(self) -> bool:
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            return False
        try:
            self._parser.write(chunk)
        except InvalidArgument:
            raise
        except Exception:
            raise InvalidArgument("The multipart body is malformed.") from None
        return True

    def _on_part_begin(self) -> None:
        self._part += 1
        self._headers_done = False
        if self._part > 1:
            raise InvalidArgument(
                "A multipart upload has exactly two parts: the JSON metadata and the media."
            )

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == 0:
            if len(self.metadata) + end - start > _MAX_METADATA:
                raise InvalidArgument("The metadata part of the upload is too large.")
            self.metadata += data[start:end]
        elif self._part == 1:
            self._pending.append(bytes(data[start:end]))

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._part == 1 and self._header_name.strip().lower() == b"content-type":
            self.media_type = self._header_value.strip().decode("latin-1")
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        self._headers_done = True

    def _on_end(self) -> None:
        self._ended = True
