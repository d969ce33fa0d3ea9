"""Datasets kept open between requests: reused only while they are the same file, never past
the source policy, and never carrying one file's GDAL error into another's request.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_bounds

from titiler import reader
from titiler.concurrency import worker_pool
from titiler.main import create_app
from titiler.settings import ApiSettings

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
FEATURE = {
    "type": "Feature",
    "properties": {},
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]},
}


def write_constant(path: Path, value: int) -> None:
    """A 64x64 single-band uint16 GeoTIFF over lon/lat 0..45 where every pixel is `value`."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=1,
        dtype="uint16",
        crs="EPSG:4326",
        transform=from_bounds(0, 0, 45, 45, 64, 64),
    ) as dataset:
        dataset.write(np.full((1, 64, 64), value, dtype="uint16"))


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    write_constant(tmp_path / "constant.tif", 7)
    shutil.copy(DATA / "corrupt.tif", tmp_path / "corrupt.tif")
    return tmp_path


@pytest.fixture
def client(directory: Path) -> Iterator[TestClient]:
    app = create_app(ApiSettings(allowed_sources=[f"{directory}/"]))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path rasterio opens through the reader."""
    calls: list[str] = []
    original = reader.rasterio.open

    def counting_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(reader.rasterio, "open", counting_open)
    return calls


def point_value(client: TestClient, path: Path) -> Any:
    response = client.get("/cog/point/5,5", params={"url": str(path)})
    assert response.status_code == 200, response.text
    return response.json()["values"][0]


def test_a_warm_thread_reads_without_opening_again(directory: Path, opens: list[str]) -> None:
    # One worker thread, as on Lambda: each thread keeps its own datasets.
    app = create_app(ApiSettings(allowed_sources=[f"{directory}/"], worker_threads=1))
    try:
        with TestClient(app) as client:
            for _ in range(3):
                assert point_value(client, directory / "constant.tif") == 7
        assert opens.count(str(directory / "constant.tif")) == 1
    finally:
        create_app(ApiSettings())  # back to the default pool


def test_a_rewritten_file_is_opened_again(client: TestClient, directory: Path) -> None:
    assert point_value(client, directory / "constant.tif") == 7
    replacement = directory / "replacement.tif"
    write_constant(replacement, 9)
    replacement.replace(directory / "constant.tif")

    assert point_value(client, directory / "constant.tif") == 9


def test_a_deleted_file_is_a_404_even_when_it_was_open(client: TestClient, directory: Path) -> None:
    assert point_value(client, directory / "constant.tif") == 7
    (directory / "constant.tif").unlink()

    response = client.get("/cog/point/5,5", params={"url": str(directory / "constant.tif")})
    assert response.status_code == 404


def test_the_policy_is_checked_on_every_request(client: TestClient, directory: Path) -> None:
    assert point_value(client, directory / "constant.tif") == 7
    elsewhere = create_app(ApiSettings(allowed_sources=[f"{DATA}/"]))
    with TestClient(elsewhere) as restricted:
        response = restricted.get("/cog/point/5,5", params={"url": str(directory / "constant.tif")})
    assert response.status_code == 403


def test_a_corrupt_file_error_does_not_leak_into_the_next_request(
    client: TestClient, directory: Path
) -> None:
    """Found by the middleware tests: GDAL's last error outlived the corrupt file's request."""
    url = str(directory / "constant.tif")
    assert client.post("/cog/statistics", params={"url": url}, json=FEATURE).status_code == 200
    corrupt = client.get("/cog/preview.png", params={"url": str(directory / "corrupt.tif")})
    assert corrupt.status_code == 422

    response = client.post("/cog/statistics", params={"url": url}, json=FEATURE)
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["statistics"]["b1"]["max"] == 7


def test_reuse_can_be_turned_off(directory: Path, opens: list[str]) -> None:
    app = create_app(ApiSettings(allowed_sources=[f"{directory}/"], open_datasets_per_thread=0))
    try:
        with TestClient(app) as client:
            for _ in range(3):
                assert point_value(client, directory / "constant.tif") == 7
        assert opens.count(str(directory / "constant.tif")) == 3
    finally:
        reader.configure_open_datasets(reader.DEFAULT_OPEN_DATASETS)


def test_least_recently_used_datasets_are_closed(directory: Path) -> None:
    for index in range(4):
        write_constant(directory / f"file{index}.tif", index)
    app = create_app(ApiSettings(allowed_sources=[f"{directory}/"], open_datasets_per_thread=2))
    try:
        with TestClient(app) as client:
            for index in range(4):
                assert point_value(client, directory / f"file{index}.tif") == index
            # The requests ran on the pool's threads, which hold the open datasets: ask them.
            sizes = [
                worker_pool().submit(lambda: len(reader._open_datasets.entries)).result()
                for _ in range(4)
            ]
        assert max(sizes) <= 2
    finally:
        reader.configure_open_datasets(reader.DEFAULT_OPEN_DATASETS)
