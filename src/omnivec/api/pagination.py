"""Opaque page tokens for every list call (models, files, batches)."""

from __future__ import annotations

import base64

from omnivec.errors import InvalidArgument


def page_size(value: str | None, *, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise InvalidArgument.at("pageSize", f"must be an integer (got {value[:40]!r})") from None
    if n <= 0:
        return default
    return min(n, maximum)


def encode_token(kind: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode().rstrip("=")


def decode_token(kind: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, offset = raw.partition(":")
        if prefix != kind:
            raise ValueError
        value = int(offset)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise InvalidArgument.at("pageToken", "is not a page token this list returned") from None
