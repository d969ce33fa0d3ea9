"""The function image under `sam local start-api` answers like the app does in-process.

The container cannot see this machine's files, so the requests read the demo COG baked into the
image; the in-process app reads the same demo generated into a temporary directory.
"""

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import pytest
from fastapi.testclient import TestClient
from numpy.typing import NDArray
from rasterio.io import MemoryFile

from titiler.demo import DEMO_FILENAME
from titiler.demo import main as write_demo
from titiler.main import create_app
from titiler.settings import ApiSettings

pytestmark = pytest.mark.e2e

#: Over the demo's peaks (the demo covers 7-8 E, 45.6-46.6 N), and far away from it.
DEMO_TILE = "/cog/tiles/WebMercatorQuad/9/266/181.png"
OUTSIDE_TILE = "/cog/tiles/WebMercatorQuad/9/0/0.png"
DEMO_STYLE = {"rescale": "0,3000", "colormap_name": "terrain"}


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def fetch(url: str) -> Answer:
    """GET `url` without raising on error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return Answer(response.status, response.headers["content-type"], response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers["content-type"], error.read())


def pixels(image: bytes) -> NDArray[np.generic]:
    """The bands of an encoded image, decoded by GDAL."""
    with MemoryFile(image) as memory, memory.open() as dataset:
        array: NDArray[np.generic] = dataset.read()
        return array


@pytest.fixture(scope="session")
def image_demo_url(function_image: str) -> str:
    """Path of the demo inside the function image, from the image's own environment."""
    inspected = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Env}}", function_image],
        capture_output=True,
        text=True,
        check=True,
    )
    environment = dict(item.split("=", 1) for item in json.loads(inspected.stdout))
    return f"{environment['TITILER_DEMO_DIRECTORY']}/{DEMO_FILENAME}"


@pytest.fixture(scope="session")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """The app in this process, and the URL of the same demo generated locally."""
    directory = tmp_path_factory.mktemp("demo")
    assert write_demo(["--output", str(directory)]) == 0
    app = create_app(ApiSettings(allowed_sources=[f"{directory}/"]))
    with TestClient(app) as client:
        yield client, str(directory / DEMO_FILENAME)


def both(
    local_api: str, image_demo_url: str, in_process: tuple[TestClient, str], path: str
) -> tuple[Answer, Answer]:
    """The same request to the local API and to the in-process app, each with its demo URL."""
    client, local_demo_url = in_process
    remote = fetch(f"{local_api}{path}?{urlencode({'url': image_demo_url, **DEMO_STYLE})}")
    response = client.get(path, params={"url": local_demo_url, **DEMO_STYLE})
    local = Answer(response.status_code, response.headers["content-type"], response.content)
    return remote, local


def test_info(local_api: str, image_demo_url: str, in_process: tuple[TestClient, str]) -> None:
    remote, local = both(local_api, image_demo_url, in_process, "/cog/info")

    assert remote.status == 200
    assert remote.content_type.startswith("application/json")
    assert remote.json() == local.json()


def test_tilejson(local_api: str, image_demo_url: str, in_process: tuple[TestClient, str]) -> None:
    remote, local = both(
        local_api, image_demo_url, in_process, "/cog/WebMercatorQuad/tilejson.json"
    )

    assert remote.status == 200
    document, expected = remote.json(), local.json()
    assert isinstance(document, dict) and isinstance(expected, dict)
    for key in ("bounds", "minzoom", "maxzoom", "center"):
        assert document[key] == expected[key], key
    assert document["tiles"][0].startswith(f"{local_api}/cog/tiles/WebMercatorQuad/{{z}}/{{x}}/")


def test_png_tile(local_api: str, image_demo_url: str, in_process: tuple[TestClient, str]) -> None:
    remote, local = both(local_api, image_demo_url, in_process, DEMO_TILE)

    assert remote.status == 200
    assert remote.content_type == "image/png"
    tile = pixels(remote.body)
    assert tile.shape == (4, 256, 256)  # RGB from the colormap, plus the nodata mask as alpha
    np.testing.assert_array_equal(tile, pixels(local.body))


def test_preview(local_api: str, image_demo_url: str, in_process: tuple[TestClient, str]) -> None:
    remote, local = both(local_api, image_demo_url, in_process, "/cog/preview.png")

    assert remote.status == 200
    assert remote.content_type == "image/png"
    preview = pixels(remote.body)
    assert preview.shape[1:] == (1024, 1024)
    assert 0 < np.count_nonzero(preview[-1] == 0) < preview[-1].size  # the lake is transparent
    np.testing.assert_array_equal(preview, pixels(local.body))


def test_tile_outside_the_demo_is_404(
    local_api: str, image_demo_url: str, in_process: tuple[TestClient, str]
) -> None:
    remote, local = both(local_api, image_demo_url, in_process, OUTSIDE_TILE)

    assert remote.status == 404
    assert remote.content_type.startswith("application/json")
    assert remote.json() == local.json()


def test_image_shared_libraries_resolve(function_image: str) -> None:
    """Every compiled module of the function finds its libraries (e.g. libexpat on AL2023)."""
    script = (
        'modules=$(find "$LAMBDA_TASK_ROOT" -type f -name "*.so" -not -path "*.libs/*"); '
        'echo "modules: $(echo "$modules" | wc -l)"; '
        "echo \"$modules\" | xargs ldd 2>&1 | grep 'not found' || true"
    )
    checked = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "/bin/sh", function_image, "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    summary, *missing = checked.stdout.strip().splitlines()
    assert int(summary.removeprefix("modules: ")) > 10
    assert missing == []


def test_image_has_no_build_leftovers(function_image: str) -> None:
    script = (
        'ls /tmp/certs /tmp/src 2>/dev/null; find "$LAMBDA_TASK_ROOT" -type d -name tests; '
        'ls "$LAMBDA_TASK_ROOT/bin" 2>/dev/null; true'
    )
    checked = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "/bin/sh", function_image, "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    assert checked.stdout.strip() == ""
