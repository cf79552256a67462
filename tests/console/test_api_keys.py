"""With API keys configured, the console shows nothing but the key form until the server has
accepted a key, which then lives in the tab's session storage only."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import KEY, watch
from tests.support.server import RunningServer


def test_nothing_loads_without_a_key(browser: Any, keyed_server: RunningServer) -> None:
    console = watch(browser, keyed_server.base_url)
    page = console.page
    try:
        page.goto("/console/#models")
        page.wait_for_selector("#key-form:not([hidden])")
        page.wait_for_load_state("networkidle")
        assert page.locator("main").inner_html() == ""
        api = [(u, s) for u, s in console.responses if "/v1beta/" in u]
        assert api and all(status == 403 for _, status in api)

        for name in ("playground", "jobs", "stores", "health"):
            page.goto(f"/console/#{name}")
            page.wait_for_selector("#key-form:not([hidden])")
            assert page.locator("main").inner_html() == ""

        page.locator("#key-input").fill("not-the-key")
        page.locator("#key-form button").click()
        page.wait_for_selector("#key-error:text('That key was refused.')")
        assert page.locator("main").inner_html() == ""

        page.locator("#key-input").fill(KEY)
        page.locator("#key-form button").click()
        page.wait_for_selector("#health-status:text('Server: ok')")
        assert page.locator("#key-form").is_hidden()
        assert page.evaluate("sessionStorage.getItem('omnivec.apiKey')") == KEY
        assert page.evaluate("localStorage.length") == 0
        page.goto("/console/#models")
        page.locator("#models-rows tr").first.wait_for()
        assert console.foreign_requests() == []
    finally:
        page.context.close()
