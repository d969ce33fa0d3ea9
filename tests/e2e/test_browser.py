"""A person's first look: headless Chromium opens the demo map from the landing page.

Targets (pick with `TITILER_E2E_TARGETS`, comma separated; default both):
- `uvicorn`: the app served by uvicorn in this process, on a free port of 127.0.0.1;
- `sam`: the app behind `sam local start-api` (session fixture of `tests/e2e/conftest.py`).

Screenshots of the map: `artifacts/viewer.png` and `artifacts/viewer-<target>.png`.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import uvicorn
from numpy.typing import NDArray
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from rasterio.io import MemoryFile

from titiler import demo
from titiler.main import create_app
from titiler.settings import ApiSettings

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
#: `#map` background in viewer.css.
BACKGROUND = np.array([0xE8, 0xEC, 0xEF])
#: The first request to a cold Lambda container (sam local) can take tens of seconds.
LOAD_TIMEOUT_MS = 120_000

TARGETS = [
    target.strip()
    for target in os.environ.get("TITILER_E2E_TARGETS", "uvicorn,sam").split(",")
    if target.strip()
]


@pytest.fixture(scope="session")
def uvicorn_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with a freshly written demo, served by uvicorn on a free local port."""
    directory = tmp_path_factory.mktemp("e2e-demo")
    demo.write_demo_cog(str(directory / demo.DEMO_FILENAME))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "DEMO_DIRECTORY", str(directory))
        app = create_app(ApiSettings(allowed_sources=[f"{directory}/"]))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()


@pytest.fixture(params=["uvicorn", "sam"])
def target(request: pytest.FixtureRequest) -> str:
    """Name of the server under test (skipped unless listed in TITILER_E2E_TARGETS)."""
    name = str(request.param)
    if name not in TARGETS:
        pytest.skip(f"target {name} not in TITILER_E2E_TARGETS")
    return name


@pytest.fixture
def base_url(target: str, request: pytest.FixtureRequest) -> str:
    """Base URL of the target."""
    if target == "uvicorn":
        return str(request.getfixturevalue("uvicorn_base_url"))
    return str(request.getfixturevalue("sam_local_api")).rstrip("/")


@dataclass
class BrowserLog:
    """What the page asked for and complained about."""

    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return self.failed_requests + self.error_responses + self.console_errors


# Module scope: Playwright's sync API keeps an asyncio loop running on the main thread while it is
# open, and Mangum (test_handler.py) cannot run its own loop until it is closed.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_and_log(browser: Browser) -> Iterator[tuple[Page, BrowserLog]]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    log = BrowserLog()
    page.on("request", lambda request: log.requests.append(request.url))
    page.on(
        "requestfailed",
        lambda request: log.failed_requests.append(f"{request.url}: {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            log.error_responses.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            log.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: log.console_errors.append(f"page error: {error}"))
    yield page, log
    context.close()


def demo_viewer_url(base_url: str) -> str:
    """The landing page's link to the demo map."""
    landing = httpx.get(f"{base_url}/", params={"f": "json"}, timeout=LOAD_TIMEOUT_MS / 1000)
    assert landing.status_code == 200, landing.text
    previews = [link["href"] for link in landing.json()["links"] if link["rel"] == "preview"]
    assert previews, "the landing page links to the demo map"
    return str(previews[0])


def wait_for_tiles(page: Page, more_than: int = 0) -> None:
    """Until the tile layer reports `load` and every tile finished fading in."""
    page.wait_for_function(
        f"""window.__tilesLoaded === true && window.__tileCount > {more_than} &&
        [...document.querySelectorAll(".leaflet-tile-container img")].every(
            (tile) => tile.style.opacity === "" || tile.style.opacity === "1")""",
        timeout=LOAD_TIMEOUT_MS,
    )


def raster_pixels(page: Page) -> NDArray[np.uint8]:
    """Screenshot pixels inside the dataset's bounds rectangle, as (rows, columns, RGB)."""
    box = page.locator(".leaflet-overlay-pane path").bounding_box()
    assert box is not None, "the bounds rectangle is drawn"
    assert box["width"] > 200 and box["height"] > 200, box
    with MemoryFile(page.screenshot()) as memory, memory.open() as image:
        bands = image.read()
    rgb: NDArray[np.uint8] = np.moveaxis(bands[:3], 0, -1)
    # A few pixels inside the rectangle's stroke.
    top, left = int(box["y"]) + 4, int(box["x"]) + 4
    bottom, right = int(box["y"] + box["height"]) - 4, int(box["x"] + box["width"]) - 4
    return rgb[top:bottom, left:right]


def assert_shows_raster(pixels: NDArray[np.uint8]) -> None:
    """The dataset area is drawn, with many colours: not blank, not one error colour."""
    flat = pixels.reshape(-1, 3).astype(np.int16)
    drawn = np.abs(flat - BACKGROUND).sum(axis=1) > 12
    # Only the nodata lake (about 1.5% of the dataset) shows the background.
    assert drawn.mean() > 0.9, f"only {drawn.mean():.0%} of the dataset area is drawn"
    colours, counts = np.unique(flat[drawn], axis=0, return_counts=True)
    assert len(colours) > 200, f"only {len(colours)} distinct colours"
    assert counts.max() / counts.sum() < 0.2, "one colour dominates the raster"


def test_demo_map_shows_the_raster(
    target: str, base_url: str, page_and_log: tuple[Page, BrowserLog]
) -> None:
    page, log = page_and_log
    viewer_url = demo_viewer_url(base_url)

    page.goto(viewer_url)
    wait_for_tiles(page)
    ARTIFACTS.mkdir(exist_ok=True)
    # viewer.png is the last target's (sam when both run); each target keeps its own copy too.
    for name in (f"viewer-{target}.png", "viewer.png"):
        page.screenshot(path=str(ARTIFACTS / name))

    status = page.locator("#status")
    assert status.get_attribute("data-kind") == "ok", status.text_content()
    assert page.input_value("#rescale-min") == "0"
    assert page.input_value("#rescale-max") == "3000"
    assert page.input_value("#colormap") == "terrain"
    assert page.locator("#colormap option").count() > 20
    assert "1024 \u00d7 1024" in page.locator("#info-list").inner_text()
    assert_shows_raster(raster_pixels(page))

    host = urlsplit(base_url).netloc
    assert log.requests
    assert all(urlsplit(url).netloc == host for url in log.requests), log.requests
    assert log.problems() == []


def test_changing_the_colormap_redraws_the_tiles(
    base_url: str, page_and_log: tuple[Page, BrowserLog]
) -> None:
    page, log = page_and_log
    page.goto(demo_viewer_url(base_url))
    wait_for_tiles(page)
    before = raster_pixels(page)
    loaded = page.evaluate("window.__tileCount")

    page.select_option("#colormap", "viridis")
    wait_for_tiles(page, more_than=loaded)
    after = raster_pixels(page)

    sources = page.eval_on_selector_all(
        ".leaflet-tile-container img", "images => images.map(image => image.src)"
    )
    assert sources
    assert all("colormap_name=viridis" in source for source in sources)
    assert "colormap_name=viridis" in page.url
    assert_shows_raster(after)
    changed = np.abs(after.astype(np.int16) - before.astype(np.int16)).sum(axis=-1) > 30
    assert changed.mean() > 0.3
    assert log.problems() == []


def test_a_missing_dataset_is_reported_on_the_page(
    base_url: str, page_and_log: tuple[Page, BrowserLog]
) -> None:
    page, log = page_and_log
    missing = os.path.join(os.path.dirname(demo_url_path(base_url)), "missing.tif")
    page.goto(f"{base_url}/cog/WebMercatorQuad/map.html?url={missing}")
    status = page.locator('#status[data-kind="error"]')
    status.wait_for(timeout=LOAD_TIMEOUT_MS)
    assert "404" in status.inner_text()
    assert any(" 404 " in f" {entry} " for entry in log.error_responses)


def demo_url_path(base_url: str) -> str:
    """The `url` the landing page uses for the demo dataset."""
    query = urlsplit(demo_viewer_url(base_url)).query
    return str(httpx.QueryParams(query)["url"])
