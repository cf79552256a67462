"""Refresh the README's console screenshots: ``python -m tests.console.screenshots``.

Starts a server on the fake backend, puts a little data through each page, and saves one
screenshot per page under docs/screenshots/.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from omnivec.bootstrap import build
from omnivec.settings import Settings
from tests.console.conftest import CHROMIUM
from tests.media import samples
from tests.support.server import start_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = start_server(build(Settings(models=["fake:64"], data_dir=work / "data")))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(base_url=server.base_url, viewport={"width": 1200, "height": 900})
                shoot(page, work, server.base_url)
                dark = browser.new_page(
                    base_url=server.base_url, viewport={"width": 1200, "height": 900}, color_scheme="dark"
                )
                dark.goto("/console/#stores")
                dark.locator("#store-query").fill("storm at the lighthouse")
                dark.locator("#store-search").click()
                dark.locator("#store-map circle.point").first.wait_for()
                dark.screenshot(path=OUT / "stores-dark.png", full_page=True)
                browser.close()
        finally:
            server.stop()


def shoot(page: object, work: Path, base_url: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    pdf = work / "harbour.pdf"
    pdf.write_bytes(samples.pdf_text(["The storm rolled across the harbour.", "The light held all night."]))
    page.goto("/console/#playground")
    page.wait_for_selector("#pg-model option", state="attached")
    page.locator("#pg-add").click()
    page.locator(".pg-text").nth(2).fill("Quarterly revenue grew by four percent.")
    page.locator("#pg-files").set_input_files(str(pdf))
    page.locator("#pg-embed").click()
    page.wait_for_selector("#pg-heatmap rect.cell")
    page.locator("#pg-dims").fill("16")
    page.screenshot(path=OUT / "playground.png", full_page=True)

    page.goto("/console/#models")
    page.wait_for_timeout(2500)
    page.screenshot(path=OUT / "models.png", full_page=True)

    jsonl = work / "requests.jsonl"
    lines = [
        {"key": f"k{i}", "request": {"content": {"parts": [{"text": f"line {i}"}]}}} for i in range(2000)
    ]
    lines.append({"key": "empty", "request": {"content": {"parts": []}}})
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines))
    page.goto("/console/#jobs")
    page.wait_for_selector("#batch-model option", state="attached")
    page.locator("#file-input").set_input_files(str(jsonl))
    page.locator("#upload-button").click()
    page.locator("#file-rows tr", has_text="requests.jsonl").wait_for()
    page.locator("#batch-name").fill("nightly corpus")
    page.locator("#batch-submit").click()
    page.wait_for_selector("#batch-rows tr[data-state='SUCCEEDED']")
    page.locator("#batch-rows").get_by_role("button", name="Failures").click()
    page.locator("#batch-failures li").first.wait_for()
    page.screenshot(path=OUT / "jobs.png", full_page=True)

    page.goto("/console/#stores")
    page.locator("#store-name").fill("handbook")
    page.locator("#store-create").click()
    page.wait_for_selector("#store-select option", state="attached")
    docs = []
    for name, text in [
        ("lighthouse.txt", "The lighthouse keeper logged every storm in a leather notebook."),
        ("harbour.txt", "Fishing boats stay in the harbour when the storm warning is raised."),
        ("revenue.txt", "Quarterly revenue grew by four percent on strong demand."),
    ]:
        path = work / name
        path.write_text(text)
        docs.append(str(path))
    page.locator("#store-files").set_input_files(docs)
    page.locator("#doc-rows tr[data-state='STATE_ACTIVE']").nth(2).wait_for()
    page.locator("#store-query").fill("storm at the lighthouse")
    page.locator("#store-search").click()
    page.locator("#store-hits li.hit").first.wait_for()
    page.wait_for_timeout(500)
    page.screenshot(path=OUT / "stores.png", full_page=True)

    page.goto("/console/#health")
    for i in range(8):
        texts = [f"sentence {i}.{j}" for j in range(20 * (i % 4 + 1))]
        body = {"requests": [{"content": {"parts": [{"text": t}]}} for t in texts]}
        httpx.post(f"{base_url}/v1beta/models/fake:batchEmbedContents", json=body, timeout=30)
        page.wait_for_timeout(2000)
    page.screenshot(path=OUT / "health.png", full_page=True)


if __name__ == "__main__":
    main()
