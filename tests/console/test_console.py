"""The web console in a real browser: every page loads clean and talks only to the server, the
playground embeds text and a PDF and draws an N x N heat-map, a batch submitted from the page
runs to completion with its progress shown, and File Search stores ingest and answer."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import Watched, watch
from tests.media import samples
from tests.support.server import RunningServer

# Each page, and an element that exists only once its data has arrived from the API.
PAGES = {
    "playground": "#pg-model option",
    "models": "#models-rows tr td:nth-child(7):not(:text('…'))",
    "jobs": "#batch-model option",
    "stores": "#store-create",
    "health": "#health-status:text('Server: ok')",
}


def create_store(page: Any, name: str) -> None:
    """Create a store from the page and wait until it is the one selected."""
    page.goto("/console/#stores")
    page.locator("#store-name").fill(name)
    page.locator("#store-create").click()
    page.locator("#store-select option:checked", has_text=f"{name} ·").wait_for(state="attached")


@pytest.mark.parametrize("path", ["/", "/console/"])
def test_the_console_is_served_at_the_root_and_under_console(console: Watched, path: str) -> None:
    response = console.page.goto(path)
    assert response is not None and response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    console.page.wait_for_selector("#pg-model option", state="attached")
    assert console.errors == []


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_loads_without_errors_or_foreign_requests(console: Watched, name: str) -> None:
    console.page.goto(f"/console/#{name}")
    console.page.wait_for_selector(PAGES[name], state="attached")
    console.page.wait_for_load_state("networkidle")
    assert console.page.locator("main h1").count() == 1
    assert console.errors == []
    assert console.foreign_requests() == []
    assert [r for r in console.responses if r[1] >= 400] == []


def test_the_models_page_lists_models_with_their_facts(console: Watched) -> None:
    console.page.goto("/console/#models")
    row = console.page.locator("#models-rows tr", has_text="gemini-embedding-001")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "fake"  # alias of
    assert "pdf" in cells[1] or "document" in cells[1]
    assert cells[2].startswith("64")


def test_a_text_and_a_pdf_embed_and_the_heat_map_has_n_by_n_cells(console: Watched, tmp_path: Path) -> None:
    page = console.page
    page.goto("/console/#playground")
    page.wait_for_selector("#pg-model option", state="attached")
    pdf = tmp_path / "storm.pdf"
    pdf.write_bytes(samples.pdf_text(["The storm rolled across the harbour.", "The light held."]))
    page.locator("#pg-add").click()
    page.locator(".pg-text").nth(2).fill("Quarterly revenue grew by four percent.")
    page.locator("#pg-files").set_input_files(str(pdf))
    assert page.locator("#pg-inputs > li").count() == 4
    page.locator("#pg-embed").click()
    page.wait_for_selector("#pg-heatmap rect.cell")
    assert page.locator("#pg-inputs canvas.spark").count() == 4
    assert page.locator("#pg-inputs .error").count() == 0
    pdf_facts = page.locator("#pg-inputs > li").nth(3).locator("dd").all_inner_texts()
    assert pdf_facts[0] == "64"
    assert re.fullmatch(r"(text|document) \d+", pdf_facts[2])
    assert abs(float(pdf_facts[1]) - 1.0) < 1e-3  # a normalised vector

    cells = page.locator("#pg-heatmap rect.cell")
    assert cells.count() == 16
    diagonal = [float(cells.nth(i * 4 + i).get_attribute("data-cosine") or "nan") for i in range(4)]
    assert diagonal == pytest.approx([1.0] * 4, abs=1e-3)
    before = cells.nth(1).get_attribute("data-cosine")

    # Matryoshka: fewer dimensions, other similarities, same cell count.
    page.locator("#pg-dims").fill("8")
    assert page.locator("#pg-dims-value").inner_text() == "8"
    assert cells.count() == 16
    assert cells.nth(1).get_attribute("data-cosine") != before

    # The page's own cut matches the server's outputDimensionality.
    texts = page.locator(".pg-text")
    body = {"content": {"parts": [{"text": texts.nth(0).input_value()}]}, "outputDimensionality": 8}
    other = {"content": {"parts": [{"text": texts.nth(1).input_value()}]}, "outputDimensionality": 8}
    a = httpx.post(f"{console.base_url}/v1beta/models/fake:embedContent", json=body).json()["embedding"][
        "values"
    ]
    b = httpx.post(f"{console.base_url}/v1beta/models/fake:embedContent", json=other).json()["embedding"][
        "values"
    ]
    server_cosine = sum(x * y for x, y in zip(a, b, strict=True))
    assert float(cells.nth(1).get_attribute("data-cosine") or "nan") == pytest.approx(server_cosine, abs=1e-3)
    assert console.errors == []


def test_a_batch_submitted_from_the_console_shows_progress_and_completes(
    browser: Any, slow_server: RunningServer, tmp_path: Path
) -> None:
    console = watch(browser, slow_server.base_url)
    page = console.page
    lines = [
        {"key": f"k{i}", "request": {"content": {"parts": [{"text": f"line number {i}"}]}}}
        for i in range(300)
    ]
    lines.append({"key": "bad", "request": {"content": {"parts": []}}})
    jsonl = tmp_path / "requests.jsonl"
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines))
    try:
        page.goto("/console/#jobs")
        page.wait_for_selector("#batch-model option", state="attached")
        page.locator("#file-input").set_input_files(str(jsonl))
        page.locator("#upload-button").click()
        page.wait_for_selector("#upload-progress [role=progressbar][aria-valuenow='100']")
        page.locator("#file-rows tr", has_text="requests.jsonl").wait_for()
        page.locator("#batch-name").fill("from the console")
        page.locator("#batch-submit").click()
        row = page.locator("#batch-rows tr", has_text="from the console")
        row.wait_for()

        # Watch the page until the job is done: it must have shown progress on the way.
        seen: set[int] = set()
        rates: list[str] = []
        while row.get_attribute("data-state") not in ("SUCCEEDED", "FAILED", "CANCELLED"):
            seen.add(int(row.locator("[role=progressbar]").get_attribute("aria-valuenow") or "-1"))
            rates.append(row.locator("td").nth(2).inner_text())
            page.wait_for_timeout(200)
        assert row.get_attribute("data-state") == "SUCCEEDED"
        assert any(0 < value < 100 for value in seen), seen
        assert any(re.fullmatch(r"[\d.]+/s · ETA \d+ s", r) for r in rates), rates
        assert row.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"
        assert row.locator(".counts").inner_text() == "300 ok · 1 failed · 0 pending of 301"

        row.get_by_role("button", name="Failures").click()
        failures = page.locator("#batch-failures li")
        failures.first.wait_for()
        assert failures.count() == 1
        assert failures.first.inner_text().startswith("bad ")
        with page.expect_download() as download:
            row.get_by_role("button", name="Results").click()
        saved = Path(download.value.path()).read_text().splitlines()
        assert len(saved) == 301
        assert console.errors == []
        assert console.foreign_requests() == []
    finally:
        page.context.close()


def test_a_store_ingests_a_file_and_search_highlights_the_chunk(console: Watched, tmp_path: Path) -> None:
    page = console.page
    note = tmp_path / "lighthouse.txt"
    note.write_text("The lighthouse keeper logged every storm in a leather notebook.")
    create_store(page, "notes")
    page.locator("#store-files").set_input_files(str(note))
    page.wait_for_selector("#doc-rows tr[data-state='STATE_ACTIVE']")
    page.locator("#store-query").fill("lighthouse storm")
    page.locator("#store-search").click()
    hit = page.locator("#store-hits li.hit").first
    hit.wait_for()
    assert "lighthouse.txt" in hit.inner_text()
    assert sorted(m.lower() for m in hit.locator("mark").all_inner_texts()) == ["lighthouse", "storm"]
    assert console.errors == []


def test_the_store_map_places_chunks_and_clicking_one_shows_it(console: Watched, tmp_path: Path) -> None:
    page = console.page
    texts = {
        "tide.txt": "High tide floods the lower quay twice a day.",
        "bread.txt": "The bakery opens at six with rye and sourdough loaves.",
        "rail.txt": "The night train to the coast leaves from platform four.",
        "wind.txt": "Westerly winds bring rain to the harbour in autumn.",
    }
    paths = []
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    create_store(page, "map")
    page.locator("#store-files").set_input_files(paths)
    page.locator("#doc-rows tr[data-state='STATE_ACTIVE']").nth(3).wait_for()
    page.locator("#store-query").fill("harbour weather")
    page.locator("#store-search").click()
    points = page.locator("#store-map circle.point")
    points.first.wait_for()
    assert points.count() == 4
    assert page.locator("#store-map path.query").count() == 1
    assert len({(p.get_attribute("cx"), p.get_attribute("cy")) for p in points.all()}) == 4
    points.first.focus()
    page.keyboard.press("Enter")
    shown = page.locator("#map-chunk p").inner_text()
    assert shown in texts.values()
    assert console.errors == []


def test_a_pdf_hit_names_its_page_and_opens_the_pdf_there(console: Watched, tmp_path: Path) -> None:
    page = console.page
    pdf = tmp_path / "almanac.pdf"
    pdf.write_bytes(
        samples.pdf_text(["Tide tables for the spring.", "The lighthouse keeper's log of storms."])
    )
    create_store(page, "almanac")
    page.locator("#store-files").set_input_files(str(pdf))
    page.wait_for_selector("#doc-rows tr[data-state='STATE_ACTIVE']")
    page.locator("#store-query").fill("lighthouse keeper")
    page.locator("#store-search").click()
    hit = page.locator("#store-hits li.hit", has_text="lighthouse").first
    hit.wait_for()
    assert "page 2" in hit.inner_text()
    hit.get_by_role("button", name="Preview").click()
    link = hit.get_by_role("link", name="Open page 2")
    link.wait_for()
    assert (link.get_attribute("href") or "").startswith("blob:")
    assert console.errors == []


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_fits_a_phone_width(console: Watched, name: str) -> None:
    page = console.page
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"/console/#{name}")
    page.wait_for_selector(PAGES[name], state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_pages_are_reached_from_the_keyboard(console: Watched) -> None:
    page = console.page
    page.goto("/console/")
    page.wait_for_selector("#pg-model option", state="attached")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(3):  # Playground, Models, Files & batches
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Files & batches"
    page.keyboard.press("Enter")
    page.wait_for_selector("#batch-model option", state="attached")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Files & batches"
    assert page.locator("main h1").inner_text() == "Files and batches"


def test_a_file_larger_than_one_upload_chunk_arrives_whole(console: Watched, tmp_path: Path) -> None:
    page = console.page
    big = tmp_path / "big.bin"
    data = bytes(range(256)) * (9 * 4096 + 1)  # 9 MiB and 256 bytes: two chunks of the protocol
    big.write_bytes(data)
    page.goto("/console/#jobs")
    page.wait_for_selector("#batch-model option", state="attached")
    page.locator("#file-input").set_input_files(str(big))
    page.locator("#upload-button").click()
    row = page.locator("#file-rows tr", has_text="big.bin")
    row.wait_for()
    uploads = [u for u in console.requests if "upload_id=" in u]
    assert len(uploads) == 2
    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_bytes() == data
    row.get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert console.errors == []


def test_files_dropped_on_a_store_are_ingested(console: Watched) -> None:
    page = console.page
    create_store(page, "dropped")
    transfer = page.evaluate_handle(
        """() => {
            const t = new DataTransfer();
            t.items.add(new File(["Gulls circle the pier at dawn."], "gulls.txt", { type: "text/plain" }));
            t.items.add(new File(["Nets dry on the sea wall."], "nets.txt", { type: "text/plain" }));
            return t;
        }"""
    )
    page.locator("#store-drop").dispatch_event("drop", {"dataTransfer": transfer})
    page.locator("#doc-rows tr[data-state='STATE_ACTIVE']").nth(1).wait_for()
    names = sorted(page.locator("#doc-rows th").all_inner_texts())
    assert names == ["gulls.txt", "nets.txt"]
    assert console.errors == []


def test_an_image_dropped_in_the_playground_embeds_as_an_image(console: Watched) -> None:
    page = console.page
    page.goto("/console/#playground")
    page.wait_for_selector("#pg-model option", state="attached")
    png = base64.b64encode(samples.png()).decode()
    transfer = page.evaluate_handle(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const t = new DataTransfer();
            t.items.add(new File([bytes], "dot.png", { type: "image/png" }));
            return t;
        }""",
        png,
    )
    page.locator("label.drop").dispatch_event("drop", {"dataTransfer": transfer})
    assert page.locator("#pg-inputs > li").count() == 3
    page.locator("#pg-embed").click()
    page.locator("#pg-heatmap rect.cell").first.wait_for()
    assert page.locator("#pg-heatmap rect.cell").count() == 9
    facts = page.locator("#pg-inputs > li").nth(2).locator("dd").all_inner_texts()
    assert re.fullmatch(r"image \d+", facts[2]), facts
    assert console.errors == []
