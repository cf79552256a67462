"""File names of the Files API: the id rule, fresh ids, and ids read from names and uris."""

from __future__ import annotations

import re
import secrets
import string
from urllib.parse import urlsplit

from omnivec.errors import InvalidArgument

# Google's rule for file ids: up to 40 lowercase alphanumerics or dashes, no dash at either end.
_FILE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# Names of batch-job output files; clients cannot take them.
GENERATED_PREFIX = "batch-"
_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_file_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def file_id_of(name: str, field: str = "name") -> str:
    """``files/abc`` or ``abc`` -> ``abc``; anything else is a 400 naming ``field``."""
    file_id = name[len("files/") :] if name.startswith("files/") else name
    if not _FILE_ID.match(file_id):
        raise InvalidArgument.at(
            field,
            f"{name[:80]!r} is not a valid file name: use files/ID where ID has at most 40 lowercase "
            "letters, digits or dashes and does not start or end with a dash",
        )
    return file_id


def file_id_from_uri(uri: str) -> str | None:
    """The file id in ``files/{id}`` or in a Files API uri (this server's, or Google's
    ``https://generativelanguage.googleapis.com/v1beta/files/{id}``); None for anything else.
    Only the id is used: the uri is never fetched and never read as a local path."""
    if uri.startswith("files/"):
        candidate = uri[len("files/") :]
    else:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        head, sep, candidate = parts.path.rpartition("/files/")
        if not sep or (head and not head.startswith("/")):
            return None
    return candidate if _FILE_ID.match(candidate) else None
