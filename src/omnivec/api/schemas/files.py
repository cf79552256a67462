"""The File resource and the metadata that starts an upload."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from omnivec.api.schemas.common import WireModel
from omnivec.storage.records import FileSource, StoredFile


def _int64(value: Any) -> Any:
    """int64 fields arrive as JSON numbers or strings (proto3 JSON)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


# Range-checked: SQLite stores 64 bits, and a larger number would fail there, as a 500.
Int64 = Annotated[int, BeforeValidator(_int64), Field(ge=-(2**63), le=2**63 - 1)]


class FileMetadataSchema(WireModel):
    name: str | None = None
    display_name: str | None = None
    mime_type: str | None = None
    size_bytes: Int64 | None = None


class UploadStartSchema(WireModel):
    """``{"file": {...}}``; the SDK sends snake_case, older SDKs camelCase, curl single quotes."""

    file: FileMetadataSchema | None = None


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_json(record: StoredFile, base_url: str, api_version: str) -> dict[str, Any]:
    """The File as Google shows it; ``uri`` is GET-able (with ``?key=``) on this server."""
    resource = f"{base_url}/{api_version}/files/{record.file_id}"
    body: dict[str, Any] = {
        "name": f"files/{record.file_id}",
        "mimeType": record.mime_type,
        "sizeBytes": str(record.size_bytes),
        "createTime": rfc3339(record.create_time),
        "updateTime": rfc3339(record.update_time),
        "expirationTime": rfc3339(record.expire_time),
        # Google's sha256Hash is the base64 of the *hex* digest, not of the raw digest.
        "sha256Hash": base64.b64encode(record.sha256_hex.encode("ascii")).decode("ascii"),
        "uri": resource,
        "state": "ACTIVE",
        "source": record.source.value,
    }
    if record.display_name:
        body["displayName"] = record.display_name
    if record.source is FileSource.GENERATED:
        body["downloadUri"] = f"{resource}:download?alt=media"
    return body
