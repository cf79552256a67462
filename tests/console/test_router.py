"""The console's assets over plain HTTP: only shipped files, open without a key, under a
policy that keeps the pages on this server; everything else still asks for the key."""

from __future__ import annotations

import httpx

from tests.console.conftest import KEY
from tests.support.server import RunningServer


def test_assets_need_no_key_but_the_api_does(keyed_server: RunningServer) -> None:
    with httpx.Client(base_url=keyed_server.base_url) as http:
        for path in ("/", "/console", "/console/", "/console/main.js", "/console/console.css"):
            r = http.get(path)
            assert r.status_code == 200, path
            assert "connect-src 'self'" in r.headers["content-security-policy"]
        assert http.get("/console/main.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/v1beta/models").status_code == 403
        assert http.get("/v1beta/models", headers={"x-goog-api-key": KEY}).status_code == 200
        # Only GET is open: the same paths by other methods are the API's and need the key.
        assert http.post("/console/main.js").status_code == 403


def test_only_shipped_files_are_served(console_server: RunningServer) -> None:
    with httpx.Client(base_url=console_server.base_url) as http:
        for path in ("/console/nothing.js", "/console/..%2Fapi%2Fapp.py", "/console/__init__.py"):
            r = http.get(path)
            assert r.status_code == 404, path
            assert r.json()["error"]["status"] == "NOT_FOUND"
        assert http.get("/console/%2e%2e/settings.py").status_code == 404
