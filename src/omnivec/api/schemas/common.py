"""Shared pieces of the wire schemas."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from omnivec.types import TaskType


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        frozen=True,
    )


_B64_JUNK = re.compile(rb"[\s]")


def decode_base64(value: Any) -> bytes:
    """bytes fields: standard or URL-safe alphabet, padding optional, whitespace ignored."""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        try:
            raw = value.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("is not valid base64 (non-ASCII characters)") from None
    else:
        raise ValueError("must be a base64 string")
    raw = _B64_JUNK.sub(b"", raw).replace(b"-", b"+").replace(b"_", b"/")
    raw = raw.rstrip(b"=")
    if len(raw) % 4 == 1:
        raise ValueError("is not valid base64 (bad length)")
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


Base64Bytes = Annotated[bytes, BeforeValidator(decode_base64)]

_TASK_BY_NUMBER = list(TaskType)


def parse_task_type(value: Any) -> TaskType | None:
    """Enum names case-insensitively (the SDK passes user spelling through), or proto numbers."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be a TaskType name")
    if isinstance(value, int):
        if 0 <= value < len(_TASK_BY_NUMBER):
            return _TASK_BY_NUMBER[value]
        raise ValueError(f"{value} is not a TaskType number")
    if isinstance(value, str):
        try:
            return TaskType(value.strip().upper())
        except ValueError:
            pass
    names = ", ".join(t.value for t in TaskType)
    raise ValueError(f"must be one of {names}")


TaskTypeField = Annotated[TaskType | None, BeforeValidator(parse_task_type)]


def _not_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; proto3 JSON does not, and a client that sends
    # "outputDimensionality": true has made a mistake worth reporting.
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# proto int32: a number or a numeric string, within 32 bits.
Int32 = Annotated[int, BeforeValidator(_not_bool), Field(ge=-(2**31), le=2**31 - 1)]


def check_utf8(value: str) -> str:
    """JSON escapes can smuggle lone surrogates into a str; no model can tokenise those."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid UTF-8 text (lone surrogate escape)") from None
    return value
