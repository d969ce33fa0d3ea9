"""Shared fixtures: the app over the real rasters and a directory of rasters generated per case.

The generated rasters have exactly the CRS, dtype, nodata, mask or alpha a case needs and values
known in advance, so tests can assert point values, statistics and tile pixels exactly.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import morecantile
import numpy
import pytest
import rasterio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasterio.crs import CRS
from rasterio.io import MemoryFile
from rasterio.transform import Affine, from_bounds

from titiler.main import create_app
from titiler.reader import forget_open_datasets
from titiler.settings import ApiSettings

#: The real rasters shared between projects (never copied into this one).
DATA_DIR = (Path(__file__).parents[1] / ".." / "shared" / "data").resolve()

#: Every real raster a client can read pixels from (corrupt.tif is tested on its own).
READABLE_FILES = (
    "RGB.byte.tif",
    "RGBA.byte.tif",
    "cog.tif",
    "cog_cmap.tif",
    "cog_dateline.tif",
    "cog_fullearth.tif",
    "cog_gcps.tif",
    "cog_hirise_mars.tif",
    "cog_int16.tif",
    "cog_nodata.tif",
    "cog_nodata_nan.tif",
    "cog_rgb_mask.tif",
    "cog_rgba.tif",
    "cog_scale.tif",
    "cog_tags.tif",
    "cog_world.tif",
    "mosaic_cog1.tif",
    "mosaic_cog2.tif",
    "nocog.tif",
    "shade.tif",
    "web.tif",
    "world.rgb.tif",
)
CORRUPT_FILE = "corrupt.tif"

#: The generated 2-band uint16 grid: 64x64 pixels over lon 0..45, lat 0..45 (EPSG:4326), which is
#: exactly WorldCRS84Quad tile z=2, x=4, y=1.
GRID_SIZE = 64
GRID_BOUNDS = (0.0, 0.0, 45.0, 45.0)
GRID_PIXEL = 45.0 / GRID_SIZE
#: WebMercatorQuad tile covered exactly by the generated EPSG:3857 raster.
MERCATOR_TILE = morecantile.Tile(x=2, y=1, z=2)
#: UTM31WGS84Quad tile covered exactly by the generated EPSG:32631 raster.
UTM_TILE = morecantile.Tile(x=32, y=48, z=7)


@pytest.fixture(autouse=True)
def fresh_open_datasets() -> None:
    """Each test starts with no dataset kept open by an earlier one (tests that count opens or
    change GDAL settings would otherwise see another test's dataset).
    """
    forget_open_datasets()


def data_path(name: str) -> str:
    """The absolute path of a real raster, as a client would send it in `url`."""
    return str(DATA_DIR / name)


def band_values(rows: int, cols: int) -> numpy.ndarray:
    """The 2-band uint16 values: b1 = 100 * row + col + 1, b2 = 10000 + 3 * b1."""
    row, col = numpy.mgrid[0:rows, 0:cols]
    b1 = (100 * row + col + 1).astype("uint16")
    b2 = (10000 + 3 * b1.astype("uint32")).astype("uint16")
    return numpy.stack([b1, b2])


def grid_lonlat(row: int, col: int) -> tuple[float, float]:
    """The centre of pixel (row, col) of the generated EPSG:4326 grid."""
    return (col + 0.5) * GRID_PIXEL, GRID_BOUNDS[3] - (row + 0.5) * GRID_PIXEL


@dataclass(frozen=True)
class Generated:
    """Paths of the generated rasters, one per case."""

    directory: Path

    def __getattr__(self, name: str) -> str:
        path = self.directory / f"{name}.tif"
        if not path.exists():
            raise AttributeError(name)
        return str(path)


def _write(path: Path, data: numpy.ndarray, **profile: Any) -> None:
    count = data.shape[0]
    base = {
        "driver": "GTiff",
        "count": count,
        "height": data.shape[1],
        "width": data.shape[2],
        "dtype": str(data.dtype),
    }
    with rasterio.open(path, "w", **{**base, **profile}) as dst:
        dst.write(data)


def _tile_transform(tms: morecantile.TileMatrixSet, tile: morecantile.Tile, size: int) -> Affine:
    bounds = tms.xy_bounds(tile)
    return from_bounds(*bounds, size, size)


def _generate(directory: Path) -> None:
    wgs84 = CRS.from_epsg(4326)
    grid = from_bounds(*GRID_BOUNDS, GRID_SIZE, GRID_SIZE)
    values = band_values(GRID_SIZE, GRID_SIZE)

    # A 2-band uint16 with known values and no nodata (every pixel valid).
    _write(directory / "uint16.tif", values, crs=wgs84, transform=grid)

    # The same values with nodata=1 (pixel 0,0) plus a nodata block in the lower-right quarter.
    with_nodata = values.copy()
    with_nodata[:, 32:, 32:] = 1
    _write(directory / "uint16_nodata.tif", with_nodata, crs=wgs84, transform=grid, nodata=1)

    # Band 1 as uint8 with an internal (per-dataset) mask hiding the left half.
    byte_values = (values[:1] % 200 + 10).astype("uint8")
    mask = numpy.full((GRID_SIZE, GRID_SIZE), 255, dtype="uint8")
    mask[:, :32] = 0
    with (
        rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True),
        rasterio.open(
            directory / "uint8_mask.tif",
            "w",
            driver="GTiff",
            count=1,
            height=GRID_SIZE,
            width=GRID_SIZE,
            dtype="uint8",
            crs=wgs84,
            transform=grid,
        ) as dst,
    ):
        dst.write(byte_values)
        dst.write_mask(mask)

    # RGBA with an alpha band that hides the top half.
    rgb = numpy.stack([byte_values[0], 255 - byte_values[0], numpy.full_like(byte_values[0], 77)])
    alpha = numpy.full((1, GRID_SIZE, GRID_SIZE), 255, dtype="uint8")
    alpha[:, :32, :] = 0
    _write(
        directory / "rgba.tif",
        numpy.concatenate([rgb, alpha]),
        crs=wgs84,
        transform=grid,
        photometric="RGB",
        alpha="YES",
    )

    # float32 with NaN nodata in the top-left quarter, and one with no valid pixel at all.
    floats = values[0].astype("float32")[numpy.newaxis] / 4
    floats[:, :32, :32] = numpy.nan
    _write(directory / "float_nan.tif", floats, crs=wgs84, transform=grid, nodata=numpy.nan)
    empty = numpy.full((1, GRID_SIZE, GRID_SIZE), numpy.nan, dtype="float32")
    _write(directory / "float_all_nan.tif", empty, crs=wgs84, transform=grid, nodata=numpy.nan)

    # int16 with scale/offset: unscaled value = raw * 0.5 - 10.
    raw = (values[0].astype("int32") - 3000).astype("int16")[numpy.newaxis]
    path = directory / "int16_scaled.tif"
    _write(path, raw, crs=wgs84, transform=grid, nodata=-9999)
    with rasterio.open(path, "r+") as dst:
        dst.scales = (0.5,)
        dst.offsets = (-10.0,)

    # uint8 with a dataset colormap: value 1 red, 2 green, 0 is nodata.
    classes = numpy.zeros((1, GRID_SIZE, GRID_SIZE), dtype="uint8")
    classes[:, :, :32] = 1
    classes[:, :, 32:] = 2
    classes[:, :8, :8] = 0
    path = directory / "classes_cmap.tif"
    _write(path, classes, crs=wgs84, transform=grid, nodata=0)
    with rasterio.open(path, "r+") as dst:
        dst.write_colormap(1, {0: (0, 0, 0, 0), 1: (255, 0, 0, 255), 2: (0, 255, 0, 255)})

    # Exactly one WebMercatorQuad tile and one UTM31WGS84Quad tile, 64x64 each.
    mercator = morecantile.tms.get("WebMercatorQuad")
    _write(
        directory / "mercator.tif",
        values,
        crs=CRS.from_epsg(3857),
        transform=_tile_transform(mercator, MERCATOR_TILE, GRID_SIZE),
    )
    utm = morecantile.tms.get("UTM31WGS84Quad")
    _write(
        directory / "utm31.tif",
        values,
        crs=CRS.from_epsg(32631),
        transform=_tile_transform(utm, UTM_TILE, GRID_SIZE),
    )

    # A GeoTIFF with no georeferencing at all.
    _write(directory / "no_crs.tif", values[:1])

    # A file that is not a raster.
    (directory / "not_a_raster.tif").write_text("this is not a GeoTIFF\n")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The generated rasters (paths through attribute access: `generated.uint16`)."""
    directory = tmp_path_factory.mktemp("rasters")
    _generate(directory)
    return Generated(directory)


def make_app(generated_dir: Path, **settings: Any) -> FastAPI:
    """The app allowing the real data and the generated rasters, with extra settings."""
    allowed = [f"{DATA_DIR}/", f"{generated_dir}/"]
    # No `.env` file: a developer's local settings must not change what the tests see.
    return create_app(ApiSettings(_env_file=None, allowed_sources=allowed, **settings))


@pytest.fixture(scope="session")
def app(generated: Generated) -> FastAPI:
    """The app as deployed, allowing ../shared/data and the generated rasters."""
    return make_app(generated.directory)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that gets the app's error responses instead of exceptions."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Decoded:
    """An image response read back: data bands, the mask (alpha or GDAL mask) and its profile."""

    data: numpy.ndarray
    mask: numpy.ndarray | None
    profile: dict[str, Any]

    @property
    def width(self) -> int:
        return int(self.data.shape[2])

    @property
    def height(self) -> int:
        return int(self.data.shape[1])


def decode_image(content: bytes) -> Decoded:
    """Decode PNG/JPEG/WebP/JP2/GeoTIFF bytes; an alpha band or a GDAL mask becomes `mask`."""
    with MemoryFile(content) as memfile, memfile.open() as src:
        array = src.read()
        profile = dict(src.profile)
        profile["transform"] = src.transform
        profile["crs"] = src.crs
        profile["driver"] = src.driver
        alpha = [i for i, c in enumerate(src.colorinterp) if c.name == "alpha"]
        if alpha:
            index = alpha[0]
            data = numpy.delete(array, index, axis=0)
            return Decoded(data, array[index], profile)
        flags = src.mask_flag_enums[0]
        if any(flag.name == "per_dataset" for flag in flags):
            return Decoded(array, src.dataset_mask(), profile)
        return Decoded(array, None, profile)


def decode_npy(content: bytes) -> numpy.ndarray:
    """The array of an `.npy` response (data bands followed by the mask band)."""
    return numpy.load(BytesIO(content))


def error_detail(response: Any) -> str:
    """The JSON `detail` of an error response, asserting the error shape on the way."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"detail"}
    detail = body["detail"]
    text = detail if isinstance(detail, str) else str(detail)
    assert "Traceback" not in text
    return text
