"""A tiny stdlib HTTP client for ``--remote``: the CLI talks to a running server's REST API."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from omnivec.cli.errors import CliError

# The SDK's chunk size; each chunk is one request.
UPLOAD_CHUNK = 8 * 1024 * 1024


class RemoteClient:
    def __init__(self, base_url: str, api_key: str | None = None, api_version: str = "v1beta") -> None:
        self.root = base_url.rstrip("/")
        self.base = self.root + f"/{api_version}/"
        self.api_version = api_version
        self.api_key = api_key

    def get(self, path: str) -> Any:
        return self._send(urllib.request.Request(self.base + path, method="GET"))

    def post(self, path: str, body: Any) -> Any:
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        return self._send(request)

    def delete(self, path: str) -> Any:
        return self._send(urllib.request.Request(self.base + path, method="DELETE"))

    def download(self, path: str, out: BinaryIO) -> None:
        """Stream ``path`` (a ``files/{id}:download`` path) into ``out``."""
        request = urllib.request.Request(self.base + path, method="GET")
        self._send(request, lambda response: shutil.copyfileobj(response, out, UPLOAD_CHUNK))

    def upload(self, path: Path, *, mime_type: str, name: str | None, display_name: str | None) -> Any:
        """The resumable protocol, as the SDK does it: start, then 8 MiB chunks, the last one
        finalizing. Returns the File."""
        size = path.stat().st_size
        meta = {"mime_type": mime_type, "size_bytes": size}
        if name:
            meta["name"] = name
        if display_name:
            meta["display_name"] = display_name
        start = urllib.request.Request(
            f"{self.root}/upload/{self.api_version}/files",
            data=json.dumps({"file": meta}).encode(),
            method="POST",
        )
        for header, value in {
            "Content-Type": "application/json",
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime_type,
        }.items():
            start.add_header(header, value)
        url = self._send(start, lambda response: response.headers.get("x-goog-upload-url"))
        if not url:
            raise CliError("the server did not answer with an upload URL")
        offset = 0
        with open(path, "rb") as f:
            while True:
                chunk = f.read(UPLOAD_CHUNK)
                last = offset + len(chunk) >= size
                request = urllib.request.Request(url, data=chunk, method="POST")
                request.add_header("X-Goog-Upload-Command", "upload, finalize" if last else "upload")
                request.add_header("X-Goog-Upload-Offset", str(offset))
                request.add_header("Content-Type", "application/octet-stream")
                body = self._send(request, with_key=False)
                offset += len(chunk)
                if last:
                    return body["file"]

    def _send(self, request: urllib.request.Request, read: Any = None, *, with_key: bool = True) -> Any:
        if self.api_key and with_key:
            request.add_header("x-goog-api-key", self.api_key)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                if read is not None:
                    return read(response)
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = exc.reason
            raise CliError(f"server answered {exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            raise CliError(f"cannot reach {self.base}: {exc.reason}") from None
