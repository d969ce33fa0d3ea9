"""The demo dataset: a valid, deterministic COG with the documented extent, overviews and lake."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from titiler import demo


@pytest.fixture(scope="module")
def demo_cog(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("demo") / demo.DEMO_FILENAME)
    demo.write_demo_cog(path)
    return path


def test_demo_is_a_valid_cog(demo_cog: str) -> None:
    is_valid, errors, warnings = cog_validate(demo_cog, quiet=True)
    assert is_valid, errors
    assert warnings == []


def test_demo_profile_is_as_documented(demo_cog: str) -> None:
    with rasterio.open(demo_cog) as dataset:
        assert dataset.crs.to_string() == demo.DEMO_CRS
        assert tuple(dataset.bounds) == pytest.approx(demo.DEMO_BOUNDS)
        assert (dataset.width, dataset.height) == (demo.DEMO_WIDTH, demo.DEMO_HEIGHT)
        assert dataset.count == 1
        assert dataset.dtypes[0] == demo.DEMO_DTYPE
        assert dataset.nodata == demo.DEMO_NODATA
        assert dataset.block_shapes[0] == (demo.DEMO_BLOCKSIZE, demo.DEMO_BLOCKSIZE)
        assert dataset.compression is not None
        assert dataset.compression.name == "deflate"
        assert dataset.overviews(1) == list(demo.DEMO_OVERVIEW_FACTORS)
        assert dataset.descriptions == ("elevation",)
        assert dataset.tags(1)["units"] == "m"


def test_demo_values_read_at_known_places(demo_cog: str) -> None:
    lake_lon, lake_lat, _, _ = demo.DEMO_LAKE
    peak_lon, peak_lat = 7.66, 45.98
    with rasterio.open(demo_cog) as dataset:
        lake, peak = (
            value[0] for value in dataset.sample([(lake_lon, lake_lat), (peak_lon, peak_lat)])
        )
        elevation = dataset.read(1, masked=True)
        overview = dataset.read(1, out_shape=(128, 128), masked=True)
    assert lake == demo.DEMO_NODATA
    assert peak > 2500
    assert 0 < elevation.mask.mean() < 0.05, "a lake of nodata, not a missing or huge mask"
    low, high = demo.DEMO_ELEVATION_RANGE
    assert low <= elevation.min() < 500
    assert 2000 < elevation.max() <= high
    assert overview.mask.any(), "the lake survives in the overviews"


def test_demo_is_deterministic(demo_cog: str, tmp_path: Path) -> None:
    second = str(tmp_path / "again.tif")
    demo.write_demo_cog(second)
    with rasterio.open(demo_cog) as first_dataset, rasterio.open(second) as second_dataset:
        np.testing.assert_array_equal(first_dataset.read(), second_dataset.read())
        for factor in demo.DEMO_OVERVIEW_FACTORS:
            shape = (demo.DEMO_HEIGHT // factor, demo.DEMO_WIDTH // factor)
            np.testing.assert_array_equal(
                first_dataset.read(1, out_shape=shape), second_dataset.read(1, out_shape=shape)
            )


def test_demo_path_is_in_demo_directory() -> None:
    assert demo.demo_path() == os.path.join(demo.DEMO_DIRECTORY, "demo.tif")


def test_command_line_writes_demo_and_prints_its_path(tmp_path: Path) -> None:
    output = tmp_path / "nested" / "dir"
    completed = subprocess.run(
        [sys.executable, "-m", "titiler.demo", "--output", str(output)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    written = output / demo.DEMO_FILENAME
    assert completed.stdout.strip() == str(written)
    assert written.stat().st_mode & 0o044 == 0o044, "readable by the server's user"
    assert [entry.name for entry in output.iterdir()] == [demo.DEMO_FILENAME], "no temp file left"
    assert cog_validate(str(written), quiet=True)[0]
