"""A tiny stdlib HTTP client for ``--remote``: the CLI talks to a running server's REST API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from omnivec.cli.commands import CliError


class RemoteClient:
    def __init__(self, base_url: str, api_key: str | None = None, api_version: str = "v1beta") -> None:
        self.base = base_url.rstrip("/") + f"/{api_version}/"
        self.api_key = api_key

    def get(self, path: str) -> Any:
        return self._send(urllib.request.Request(self.base + path, method="GET"))

    def post(self, path: str, body: Any) -> Any:
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Any:
        if self.api_key:
            request.add_header("x-goog-api-key", self.api_key)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = exc.reason
            raise CliError(f"server answered {exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            raise CliError(f"cannot reach {self.base}: {exc.reason}") from None
