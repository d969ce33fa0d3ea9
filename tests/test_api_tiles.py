"""Tiles, tilesets, TileJSON and WMTS capabilities, decoded down to the pixel."""

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

import morecantile
import numpy
import pytest
from fastapi.testclient import TestClient

from tests.conftest import (
    GRID_BOUNDS,
    GRID_SIZE,
    MERCATOR_TILE,
    READABLE_FILES,
    UTM_TILE,
    Generated,
    band_values,
    data_path,
    decode_image,
    decode_npy,
)

#: The generated EPSG:4326 grid is exactly this WorldCRS84Quad tile.
GRID_TILE = morecantile.Tile(x=4, y=1, z=2)
GRID_TILE_PATH = "/cog/tiles/WorldCRS84Quad/2/4/1"
#: Real rasters that are not on Earth: no Earth tile matrix set can tile them.
OFF_EARTH = {"cog_hirise_mars.tif"}

WMTS = "{http://www.opengis.net/wmts/1.0}"
OWS = "{http://www.opengis.net/ows/1.1}"


def byte_values() -> numpy.ndarray:
    """The single band of the generated uint8 rasters."""
    return (band_values(GRID_SIZE, GRID_SIZE)[0] % 200 + 10).astype("uint8")


def tile_request(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response


# --- pixels of tiles in three tile matrix sets ------------------------------------------------


@pytest.mark.parametrize(
    ("tms_id", "tile", "case", "crs"),
    [
        ("WorldCRS84Quad", GRID_TILE, "uint16", "http://www.opengis.net/def/crs/OGC/0/CRS84"),
        (
            "WebMercatorQuad",
            MERCATOR_TILE,
            "mercator",
            "http://www.opengis.net/def/crs/EPSG/0/3857",
        ),
        ("UTM31WGS84Quad", UTM_TILE, "utm31", "http://www.opengis.net/def/crs/EPSG/0/32631"),
    ],
)
def test_tile_on_the_grid_of_the_data_returns_the_exact_values(
    client: TestClient,
    generated: Generated,
    tms_id: str,
    tile: morecantile.Tile,
    case: str,
    crs: str,
) -> None:
    path = f"/cog/tiles/{tms_id}/{tile.z}/{tile.x}/{tile.y}.npy"
    response = tile_request(client, path, url=getattr(generated, case), tilesize=GRID_SIZE)
    array = decode_npy(response.content)
    assert array.shape == (3, GRID_SIZE, GRID_SIZE)
    numpy.testing.assert_array_equal(array[:2], band_values(GRID_SIZE, GRID_SIZE))
    assert (array[2] == numpy.iinfo(array.dtype).max).all()  # every pixel valid
    assert response.headers["content-crs"] == f"<{crs}>"
    tms = morecantile.tms.get(tms_id)
    bbox = [float(value) for value in response.headers["content-bbox"].split(",")]
    assert bbox == pytest.approx(list(tms.xy_bounds(tile)), abs=1e-6)


def test_tile_in_web_mercator_of_a_geographic_raster(
    client: TestClient, generated: Generated
) -> None:
    # WebMercatorQuad 3/4/3 covers lon 0..45, lat 0..40.98: inside the 0..45 degrees grid.
    response = tile_request(
        client, "/cog/tiles/WebMercatorQuad/3/4/3.npy", url=generated.uint16, tilesize=32
    )
    array = decode_npy(response.content)
    assert array.shape == (3, 32, 32)
    values = band_values(GRID_SIZE, GRID_SIZE)
    assert (array[2] == 65535).all()
    # Top-left pixel of the tile is near lon 0, lat 40.98: grid row 5 or 6, column 0 or 1.
    assert array[0, 0, 0] in values[0, 5:7, 0:2]
    # Bottom-right is near lon 45, lat 0: the last row and column.
    assert array[0, -1, -1] in values[0, 62:, 62:]
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"


def test_tile_partly_outside_the_data_is_masked_there(
    client: TestClient, generated: Generated
) -> None:
    # WorldCRS84Quad 1/2/0 covers lon 0..90, lat 0..90: the grid is its lower-left quarter.
    response = tile_request(
        client, "/cog/tiles/WorldCRS84Quad/1/2/0.png", url=generated.uint16, tilesize=64, bidx=1
    )
    image = decode_image(response.content)
    assert image.mask is not None
    assert (image.mask[32:, :32] == 65535).all()
    assert (image.mask[:32, :] == 0).all()
    assert (image.mask[:, 32:] == 0).all()
    # Each tile pixel covers 2x2 grid pixels; nearest picks one of the top-left block.
    assert image.data[0, 32, 0] in band_values(GRID_SIZE, GRID_SIZE)[0, :2, :2]


# --- output formats -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "pngraw", "tif"])
def test_lossless_formats_keep_uint16_values_and_the_mask(
    client: TestClient, generated: Generated, fmt: str
) -> None:
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.{fmt}",
        url=generated.uint16_nodata,
        tilesize=GRID_SIZE,
        bidx=[1, 2, 1],
    )
    image = decode_image(response.content)
    values = band_values(GRID_SIZE, GRID_SIZE)
    assert image.data.dtype == numpy.uint16
    numpy.testing.assert_array_equal(image.data[:, :32, :32], values[[0, 1, 0], :32, :32])
    assert image.mask is not None
    assert (image.mask[32:, 32:] == 0).all()
    assert (image.mask[:32, :] == 65535).all()
    assert response.headers["content-type"].startswith("image/")


def test_png_and_pngraw_have_the_png_media_type(client: TestClient, generated: Generated) -> None:
    for fmt in ("png", "pngraw"):
        response = tile_request(
            client, f"{GRID_TILE_PATH}.{fmt}", url=generated.uint16, tilesize=16, bidx=1
        )
        assert response.headers["content-type"] == "image/png"
        assert decode_image(response.content).profile["driver"] == "PNG"


def test_geotiff_tile_is_georeferenced(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.tif", url=generated.uint16, tilesize=GRID_SIZE
    )
    assert response.headers["content-type"] == "image/tiff; application=geotiff"
    image = decode_image(response.content)
    assert image.profile["crs"].to_epsg() == 4326
    transform = image.profile["transform"]
    pixel = 45.0 / GRID_SIZE
    assert (transform.a, transform.c, transform.e, transform.f) == pytest.approx(
        (pixel, 0.0, -pixel, 45.0)
    )
    numpy.testing.assert_array_equal(image.data, band_values(GRID_SIZE, GRID_SIZE))


def test_geotiff_tile_in_utm_is_georeferenced(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, "/cog/tiles/UTM31WGS84Quad/7/32/48.tif", url=generated.utm31, tilesize=32
    )
    image = decode_image(response.content)
    assert image.profile["crs"].to_epsg() == 32631
    bounds = morecantile.tms.get("UTM31WGS84Quad").xy_bounds(UTM_TILE)
    transform = image.profile["transform"]
    assert transform.c == pytest.approx(bounds.left)
    assert transform.f == pytest.approx(bounds.top)
    assert transform.a == pytest.approx((bounds.right - bounds.left) / 32)
    # Downsampled 2x with nearest: one pixel of each 2x2 block of the source.
    values = band_values(GRID_SIZE, GRID_SIZE)
    assert any(
        numpy.array_equal(image.data, values[:, row::2, col::2]) for row in (0, 1) for col in (0, 1)
    )


@pytest.mark.parametrize(("fmt", "media_type"), [("jpeg", "image/jpeg"), ("jpg", "image/jpg")])
def test_jpeg_tile(client: TestClient, generated: Generated, fmt: str, media_type: str) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.{fmt}", url=generated.uint8_mask, tilesize=GRID_SIZE
    )
    assert response.headers["content-type"] == media_type
    image = decode_image(response.content)
    assert image.profile["driver"] == "JPEG"
    assert image.mask is None  # JPEG has no alpha
    expected = byte_values().astype(int)
    # Lossy: compare the valid (right) half on average, away from the mask edge.
    assert numpy.abs(image.data[0, :, 40:].astype(int) - expected[:, 40:]).mean() < 4
    # Masked pixels are written as 0.
    assert image.data[0, :, :24].mean() < 4


def test_webp_tile_keeps_the_mask_as_alpha(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.webp", url=generated.rgba, tilesize=GRID_SIZE
    )
    assert response.headers["content-type"] == "image/webp"
    image = decode_image(response.content)
    assert image.data.shape == (3, GRID_SIZE, GRID_SIZE)
    assert image.mask is not None
    assert (image.mask[:32] == 0).all()
    assert (image.mask[32:] == 255).all()
    assert abs(image.data[2, 40:, :].mean() - 77) < 8  # lossy: right on average


def test_jp2_tile(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.jp2", url=generated.uint16, tilesize=GRID_SIZE, bidx=1
    )
    assert response.headers["content-type"] == "image/jp2"
    image = decode_image(response.content)
    assert image.profile["driver"] == "JP2OpenJPEG"
    assert image.data.dtype == numpy.uint16
    expected = band_values(GRID_SIZE, GRID_SIZE)[0].astype(int)
    assert numpy.abs(image.data[0].astype(int) - expected).mean() < 50  # lossy, values ~0..6400


def test_npy_tile_is_data_then_mask(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.npy", url=generated.float_nan, tilesize=GRID_SIZE
    )
    assert response.headers["content-type"] == "application/x-binary"
    array = decode_npy(response.content)
    assert array.dtype == numpy.float32
    assert array.shape == (2, GRID_SIZE, GRID_SIZE)
    expected = band_values(GRID_SIZE, GRID_SIZE)[0].astype("float32") / 4
    numpy.testing.assert_array_equal(array[0, 32:, :], expected[32:, :])
    # The mask band spans the data type: its minimum where masked, its maximum where valid.
    limits = numpy.finfo(numpy.float32)
    assert (array[1, :32, :32] == limits.min).all()
    assert (array[1, 32:, :] == limits.max).all()


@pytest.mark.parametrize(
    ("case", "expected_type"),
    [
        ("uint16_nodata", "image/png"),
        ("uint8_mask", "image/png"),
        ("rgba", "image/png"),
        ("float_nan", "image/png"),
        ("uint16", "image/jpeg"),
    ],
)
def test_auto_format_is_png_when_masked_and_jpeg_otherwise(
    client: TestClient, generated: Generated, case: str, expected_type: str
) -> None:
    response = tile_request(
        client, GRID_TILE_PATH, url=getattr(generated, case), tilesize=GRID_SIZE, bidx=1
    )
    assert response.headers["content-type"] == expected_type
    image = decode_image(response.content)
    assert image.data.dtype == numpy.uint8  # one bit depth for a whole tile set
    if expected_type == "image/png":
        assert image.mask is not None
        assert (image.mask == 0).any() and (image.mask == 255).any()


def test_auto_format_stretches_uint16_to_8_bits(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, GRID_TILE_PATH, url=generated.uint16_nodata, tilesize=GRID_SIZE, bidx=2
    )
    image = decode_image(response.content)
    values = band_values(GRID_SIZE, GRID_SIZE)[1].astype(float)
    expected = numpy.round(values / 65535 * 255)
    assert numpy.abs(image.data[0, :32, :].astype(float) - expected[:32, :]).max() <= 1


def test_format_query_parameter_on_the_tile_route(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, GRID_TILE_PATH, url=generated.uint16, tilesize=16, bidx=1, format="tif"
    )
    assert response.headers["content-type"] == "image/tiff; application=geotiff"
    image = decode_image(response.content)
    assert image.profile["crs"].to_epsg() == 4326
    # 16 pixels over the 64-pixel grid: one value of each 4x4 block.
    values = band_values(GRID_SIZE, GRID_SIZE)[0]
    assert image.data[0, 0, 0] in values[:4, :4]
    assert image.data[0, -1, -1] in values[-4:, -4:]


# --- real rasters -------------------------------------------------------------------------------


def centre_tile(client: TestClient, url: str, tms_id: str = "WebMercatorQuad") -> morecantile.Tile:
    tilejson = client.get(f"/cog/{tms_id}/tilejson.json", params={"url": url}).json()
    lon, lat, zoom = tilejson["center"]
    return morecantile.tms.get(tms_id).tile(lon, lat, zoom)


@pytest.mark.parametrize("name", sorted(set(READABLE_FILES) - OFF_EARTH))
def test_centre_tile_of_every_real_file(client: TestClient, name: str) -> None:
    url = data_path(name)
    tile = centre_tile(client, url)
    info = client.get("/cog/info", params={"url": url}).json()
    # Two data bands and an alpha make a 3-band PNG that reads as RGB: render one band.
    params = {"bidx": 1} if info["count"] == 2 and info["nodata_type"] != "Alpha" else {}
    response = tile_request(
        client,
        f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png",
        url=url,
        tilesize=64,
        **params,
    )
    image = decode_image(response.content)
    assert (image.width, image.height) == (64, 64)
    assert image.mask is not None
    assert (image.mask > 0).any(), "the centre tile shows some data"
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"


@pytest.mark.parametrize(
    "name", ["RGB.byte.tif", "cog_dateline.tif", "mosaic_cog1.tif", "cog_gcps.tif", "web.tif"]
)
def test_real_files_in_world_crs84_quad(client: TestClient, name: str) -> None:
    url = data_path(name)
    tile = centre_tile(client, url, "WorldCRS84Quad")
    response = tile_request(
        client,
        f"/cog/tiles/WorldCRS84Quad/{tile.z}/{tile.x}/{tile.y}.tif",
        url=url,
        tilesize=32,
    )
    image = decode_image(response.content)
    assert image.profile["crs"].to_epsg() == 4326
    assert (image.width, image.height) == (32, 32)
    assert image.mask is not None and (image.mask > 0).any()
    assert len(numpy.unique(image.data[:, image.mask > 0])) > 1  # real content, not a fill


def test_rgb_with_nodata_masks_the_collar(client: TestClient) -> None:
    url = data_path("RGB.byte.tif")
    # At its minimum zoom the whole scene fits in the centre tile, with its nodata (0) collar.
    tile = centre_tile(client, url)
    path = f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    response = tile_request(client, path, url=url, tilesize=64)
    assert response.headers["content-type"] == "image/png"
    image = decode_image(response.content)
    assert image.mask is not None
    assert image.mask[0, 0] == 0
    assert (image.mask == 255).any()
    assert (image.data[:, image.mask == 0] == 0).all()


def test_rgba_alpha_and_internal_mask_become_the_tile_mask(client: TestClient) -> None:
    for name in ("RGBA.byte.tif", "cog_rgb_mask.tif", "cog_rgba.tif"):
        url = data_path(name)
        tile = centre_tile(client, url)
        response = tile_request(
            client,
            f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png",
            url=url,
            tilesize=64,
        )
        image = decode_image(response.content)
        assert image.data.shape[0] == 3, name  # the alpha band is the mask, not a 4th colour
        assert image.mask is not None


def test_colormap_file_renders_its_palette(client: TestClient) -> None:
    url = data_path("cog_cmap.tif")
    info = client.get("/cog/info", params={"url": url}).json()
    palette = {tuple(color[:3]) for color in info["colormap"].values()}
    tile = centre_tile(client, url)
    response = tile_request(
        client, f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png", url=url, tilesize=64
    )
    image = decode_image(response.content)
    assert image.data.shape[0] == 3
    assert image.mask is not None
    colours = {
        tuple(image.data[:, row, col]) for row, col in zip(*numpy.nonzero(image.mask), strict=False)
    }
    assert colours <= palette


def test_float_nan_file_masks_nan(client: TestClient) -> None:
    url = data_path("cog_nodata_nan.tif")
    tile = centre_tile(client, url)
    response = tile_request(
        client, f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.npy", url=url, tilesize=64
    )
    array = decode_npy(response.content)
    data, mask = array[0], array[1]
    assert not numpy.isnan(data[mask > 0]).any()


def test_unscale_on_real_tiles(client: TestClient) -> None:
    url = data_path("cog_tags.tif")
    info = client.get("/cog/info", params={"url": url}).json()
    tile = centre_tile(client, url)
    path = f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.npy"
    raw = decode_npy(tile_request(client, path, url=url, tilesize=32).content)
    scaled = decode_npy(tile_request(client, path, url=url, tilesize=32, unscale="true").content)
    valid = raw[-1] > 0
    expected = raw[0][valid] * info["scales"][0] + info["offsets"][0]
    numpy.testing.assert_allclose(scaled[0][valid], expected, rtol=1e-5)


# --- rendering parameters -----------------------------------------------------------------------


def test_tilesize(client: TestClient, generated: Generated) -> None:
    for size in (16, 64, 256):
        response = tile_request(
            client, f"{GRID_TILE_PATH}.png", url=generated.uint16, tilesize=size, bidx=1
        )
        image = decode_image(response.content)
        assert (image.width, image.height) == (size, size)
    default = decode_image(
        tile_request(client, f"{GRID_TILE_PATH}.png", url=generated.uint16, bidx=1).content
    )
    assert default.width == 256


def test_buffer_adds_pixels_on_each_side(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.npy", url=generated.uint16, tilesize=GRID_SIZE, buffer=2
    )
    array = decode_npy(response.content)
    assert array.shape == (3, GRID_SIZE + 4, GRID_SIZE + 4)
    numpy.testing.assert_array_equal(array[:2, 2:-2, 2:-2], band_values(GRID_SIZE, GRID_SIZE))
    assert (array[2, :2, :] == 0).all()  # the buffer above the grid is outside the data
    pixel = 45.0 / GRID_SIZE
    bbox = [float(v) for v in response.headers["content-bbox"].split(",")]
    assert bbox == pytest.approx([-2 * pixel, -2 * pixel, 45 + 2 * pixel, 45 + 2 * pixel])


def test_padding_keeps_the_tile_size(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.npy", url=generated.uint16, tilesize=GRID_SIZE, padding=2
    )
    array = decode_npy(response.content)
    assert array.shape == (3, GRID_SIZE, GRID_SIZE)
    numpy.testing.assert_array_equal(array[:2], band_values(GRID_SIZE, GRID_SIZE))


def test_bidx_and_expression(client: TestClient, generated: Generated) -> None:
    values = band_values(GRID_SIZE, GRID_SIZE).astype("float64")
    array = decode_npy(
        tile_request(
            client, f"{GRID_TILE_PATH}.npy", url=generated.uint16, tilesize=GRID_SIZE, bidx=2
        ).content
    )
    numpy.testing.assert_array_equal(array[0], values[1])
    array = decode_npy(
        tile_request(
            client,
            f"{GRID_TILE_PATH}.npy",
            url=generated.uint16,
            tilesize=GRID_SIZE,
            expression="b2-b1;b1*2",
        ).content
    )
    assert array.shape == (3, GRID_SIZE, GRID_SIZE)
    numpy.testing.assert_allclose(array[0], values[1] - values[0])
    numpy.testing.assert_allclose(array[1], values[0] * 2)


def test_nodata_override_masks_that_value(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.png",
        url=generated.uint16,
        tilesize=GRID_SIZE,
        bidx=1,
        nodata=102,
    )
    image = decode_image(response.content)
    assert image.mask is not None
    assert image.mask[1, 1] == 0  # b1 = 100 * 1 + 1 + 1
    assert (image.mask == 0).sum() == 1


def test_nodata_nan_override(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client, f"{GRID_TILE_PATH}.npy", url=generated.float_nan, tilesize=GRID_SIZE, nodata="nan"
    )
    array = decode_npy(response.content)
    assert (array[1, :32, :32] == numpy.finfo(numpy.float32).min).all()


def test_rescale_one_range_per_band(client: TestClient, generated: Generated) -> None:
    response = client.get(
        f"{GRID_TILE_PATH}.png",
        params=[
            ("url", generated.uint16),
            ("tilesize", GRID_SIZE),
            ("bidx", 1),
            ("bidx", 2),
            ("bidx", 1),
            ("rescale", "0,6400"),
            ("rescale", "10000,30000"),
            ("rescale", "0,255"),
        ],
    )
    assert response.status_code == 200
    image = decode_image(response.content)
    assert image.data.dtype == numpy.uint8
    values = band_values(GRID_SIZE, GRID_SIZE).astype(float)
    expected_1 = numpy.clip(values[0] / 6400 * 255, 0, 255)
    expected_2 = numpy.clip((values[1] - 10000) / 20000 * 255, 0, 255)
    expected_3 = numpy.clip(values[0], 0, 255)
    assert numpy.abs(image.data[0] - expected_1).max() <= 1
    assert numpy.abs(image.data[1] - expected_2).max() <= 1
    assert numpy.abs(image.data[2] - expected_3).max() <= 1


def test_one_rescale_applies_to_every_band(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.png",
        url=generated.uint16,
        tilesize=GRID_SIZE,
        bidx=[1, 1, 1],
        rescale="0,6400",
    )
    image = decode_image(response.content)
    assert (image.data[0] == image.data[1]).all() and (image.data[1] == image.data[2]).all()
    assert image.data[0, -1, -1] in (253, 254)  # 6364 / 6400 * 255


def test_color_formula(client: TestClient, generated: Generated) -> None:
    plain = decode_image(
        tile_request(
            client, f"{GRID_TILE_PATH}.png", url=generated.rgba, tilesize=GRID_SIZE
        ).content
    )
    gamma = decode_image(
        tile_request(
            client,
            f"{GRID_TILE_PATH}.png",
            url=generated.rgba,
            tilesize=GRID_SIZE,
            color_formula="gamma RGB 2",
        ).content
    )
    value = plain.data[2, 40, 40] / 255  # blue is 77 everywhere
    assert gamma.data[2, 40, 40] == pytest.approx(255 * value ** (1 / 2), abs=1)
    numpy.testing.assert_array_equal(gamma.mask, plain.mask)


def test_colormap_name(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.png",
        url=generated.uint16,
        tilesize=GRID_SIZE,
        bidx=1,
        rescale="1,6364",
        colormap_name="viridis",
    )
    image = decode_image(response.content)
    viridis = client.get("/colorMaps/viridis").json()
    assert image.data.shape[0] == 3
    assert list(image.data[:, 0, 0]) == viridis["0"][:3]
    assert list(image.data[:, -1, -1]) == viridis["255"][:3]


def test_colormap_json_values(client: TestClient, generated: Generated) -> None:
    colormap = json.dumps({"1": "#ff0000", "2": [0, 0, 255, 255]})
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.png",
        url=generated.classes_cmap,
        tilesize=GRID_SIZE,
        colormap=colormap,
    )
    image = decode_image(response.content)
    assert list(image.data[:, 20, 0]) == [255, 0, 0]
    assert list(image.data[:, 20, 40]) == [0, 0, 255]
    assert image.mask is not None
    assert image.mask[0, 0] == 0  # nodata stays transparent
    assert image.mask[20, 0] == 255


def test_colormap_json_intervals(client: TestClient, generated: Generated) -> None:
    colormap = json.dumps([[[0, 3000], "#ff0000"], [[3000, 7000], [0, 0, 255, 255]]])
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.png",
        url=generated.uint16,
        tilesize=GRID_SIZE,
        bidx=1,
        colormap=colormap,
    )
    image = decode_image(response.content)
    assert list(image.data[:, 0, 0]) == [255, 0, 0]  # value 1
    assert list(image.data[:, 40, 0]) == [0, 0, 255]  # value 4001


def test_dataset_colormap_is_applied(client: TestClient, generated: Generated) -> None:
    response = tile_request(client, GRID_TILE_PATH, url=generated.classes_cmap, tilesize=GRID_SIZE)
    assert response.headers["content-type"] == "image/png"
    image = decode_image(response.content)
    assert list(image.data[:, 20, 0]) == [255, 0, 0]
    assert list(image.data[:, 20, 40]) == [0, 255, 0]
    assert image.mask is not None
    assert image.mask[0, 0] == 0 and image.mask[20, 0] == 255


def test_return_mask_false_drops_the_alpha(client: TestClient, generated: Generated) -> None:
    response = tile_request(
        client,
        f"{GRID_TILE_PATH}.png",
        url=generated.uint8_mask,
        tilesize=GRID_SIZE,
        return_mask="false",
    )
    image = decode_image(response.content)
    assert image.data.shape[0] == 1
    assert image.mask is None
    numpy.testing.assert_array_equal(image.data[0, :, 32:], byte_values()[:, 32:])


def test_resampling_and_reproject_methods(client: TestClient, generated: Generated) -> None:
    path = f"{GRID_TILE_PATH}.npy"
    params = {"url": generated.uint16, "tilesize": 32, "bidx": 1}
    nearest = decode_npy(tile_request(client, path, **params).content)[0]
    values = band_values(GRID_SIZE, GRID_SIZE)[0]
    assert set(nearest.ravel()) <= set(values.ravel())
    averaged = decode_npy(
        tile_request(client, path, **params, resampling="average", reproject="average").content
    )[0]
    blocks = values.reshape(32, 2, 32, 2).mean(axis=(1, 3))
    assert numpy.abs(averaged - blocks).max() <= 51  # one row step (100) halved, at most
    assert not numpy.array_equal(averaged, nearest)
    bilinear = decode_npy(tile_request(client, path, **params, reproject="bilinear").content)[0]
    assert bilinear.shape == (32, 32)


# --- /cog/tiles and /cog/tiles/{tms} -----------------------------------------------------------


def test_tileset_list_has_every_tile_matrix_set(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/tiles", params={"url": generated.uint16})
    assert response.status_code == 200
    tilesets = response.json()["tilesets"]
    listed = [tileset["title"].split(" ")[3] for tileset in tilesets]
    assert listed == morecantile.tms.list()
    for tileset in tilesets:
        assert tileset["boundingBox"]["lowerLeft"] == [0.0, 0.0]
        assert tileset["boundingBox"]["upperRight"] == [45.0, 45.0]
        links = {link["rel"]: link["href"] for link in tileset["links"]}
        assert parse_qs(urlsplit(links["self"]).query)["url"] == [generated.uint16]
        assert "{z}/{x}/{y}" in links["tile"]
        assert links["http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"].startswith(
            "http://testserver/tileMatrixSets/"
        )


def test_tileset_list_crs_parameter(client: TestClient, generated: Generated) -> None:
    tileset = client.get("/cog/tiles", params={"url": generated.uint16, "crs": "EPSG:3857"}).json()[
        "tilesets"
    ][0]
    box = tileset["boundingBox"]
    assert box["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert box["upperRight"][0] == pytest.approx(5009377.085697311)


def test_tileset_of_the_generated_grid(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/tiles/WorldCRS84Quad", params={"url": generated.uint16})
    assert response.status_code == 200
    tileset = response.json()
    assert tileset["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert tileset["boundingBox"]["lowerLeft"] == [0.0, 0.0]
    links = {link["rel"]: link for link in tileset["links"]}
    assert links["tile"]["templated"] is True
    assert links["tile"]["href"].startswith(
        "http://testserver/cog/tiles/WorldCRS84Quad/{z}/{x}/{y}?"
    )
    levels = client.get(
        "/cog/tiles/WorldCRS84Quad", params={"url": generated.uint16, "minzoom": 2, "maxzoom": 3}
    ).json()["tileMatrixSetLimits"]
    assert [level["tileMatrix"] for level in levels] == ["2", "3"]
    assert levels[0] == {
        "tileMatrix": "2",
        "minTileRow": 1,
        "maxTileRow": 1,
        "minTileCol": 4,
        "maxTileCol": 4,
    }
    assert levels[1] == {
        "tileMatrix": "3",
        "minTileRow": 2,
        "maxTileRow": 3,
        "minTileCol": 8,
        "maxTileCol": 9,
    }


def test_tileset_limits_do_not_include_tiles_that_only_touch_the_data(
    client: TestClient, generated: Generated
) -> None:
    levels = client.get(
        "/cog/tiles/WebMercatorQuad", params={"url": generated.uint16, "minzoom": 1, "maxzoom": 1}
    ).json()["tileMatrixSetLimits"]
    # lon 0..45, lat 0..45 is inside WebMercatorQuad 1/1/0; 1/1/1 only touches it at lat 0.
    assert levels == [
        {"tileMatrix": "1", "minTileRow": 0, "maxTileRow": 0, "minTileCol": 1, "maxTileCol": 1}
    ]


@pytest.mark.parametrize(
    "name", ["cog_world.tif", "cog_fullearth.tif", "world.rgb.tif", "RGB.byte.tif", "cog_gcps.tif"]
)
@pytest.mark.parametrize("tms_id", ["WebMercatorQuad", "WorldCRS84Quad"])
def test_tileset_limits_stay_inside_the_matrix_and_hold_data(
    client: TestClient, name: str, tms_id: str
) -> None:
    url = data_path(name)
    tms = morecantile.tms.get(tms_id)
    tileset = client.get(f"/cog/tiles/{tms_id}", params={"url": url}).json()
    for level in tileset["tileMatrixSetLimits"]:
        matrix = tms.matrix(int(level["tileMatrix"]))
        assert 0 <= level["minTileRow"] <= level["maxTileRow"] < matrix.matrixHeight
        assert 0 <= level["minTileCol"] <= level["maxTileCol"] < matrix.matrixWidth
        corners = {
            (level["minTileCol"], level["minTileRow"]),
            (level["maxTileCol"], level["maxTileRow"]),
        }
        for x, y in corners:
            response = client.get(
                f"/cog/tiles/{tms_id}/{level['tileMatrix']}/{x}/{y}.npy",
                params={"url": url, "tilesize": 16},
            )
            assert response.status_code == 200, (level, x, y)


def test_tileset_in_utm(client: TestClient, generated: Generated) -> None:
    tileset = client.get(
        "/cog/tiles/UTM31WGS84Quad", params={"url": generated.utm31, "minzoom": 7, "maxzoom": 7}
    ).json()
    assert tileset["crs"] == "http://www.opengis.net/def/crs/EPSG/0/32631"
    # The limits come from the geographic bounds, which are wider than a UTM rectangle.
    (level,) = tileset["tileMatrixSetLimits"]
    assert level["tileMatrix"] == "7"
    assert level["minTileCol"] <= UTM_TILE.x <= level["maxTileCol"]
    assert level["minTileRow"] <= UTM_TILE.y <= level["maxTileRow"]


# --- TileJSON -----------------------------------------------------------------------------------


def test_tilejson(client: TestClient, generated: Generated) -> None:
    response = client.get(
        "/cog/WorldCRS84Quad/tilejson.json",
        params=[
            ("url", generated.uint16),
            ("bidx", "1"),
            ("rescale", "0,100"),
            ("tile_format", "png"),
            ("tilesize", "64"),
        ],
    )
    assert response.status_code == 200
    tilejson = response.json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["bounds"] == list(GRID_BOUNDS)
    assert tilejson["center"] == [22.5, 22.5, tilejson["minzoom"]]
    assert tilejson["data_type"] == "uint16"
    (template,) = tilejson["tiles"]
    parts = urlsplit(template)
    assert parts.path == "/cog/tiles/WorldCRS84Quad/{z}/{x}/{y}.png"
    query = parse_qs(parts.query)
    assert query == {
        "url": [generated.uint16],
        "bidx": ["1"],
        "rescale": ["0,100"],
        "tilesize": ["64"],
    }
    tile = template.format(z=2, x=4, y=1)
    image = decode_image(client.get(tile).content)
    assert image.width == 64
    # bidx=1 and rescale=0,100 came along in the template.
    values = band_values(GRID_SIZE, GRID_SIZE)[0]
    expected = numpy.clip(values / 100 * 255, 0, 255)
    assert numpy.abs(image.data[0].astype(float) - expected).max() <= 1


def test_tilejson_default_tilesize_and_zoom_override(
    client: TestClient, generated: Generated
) -> None:
    tilejson = client.get(
        "/cog/WebMercatorQuad/tilejson.json",
        params={"url": generated.mercator, "minzoom": 1, "maxzoom": 5},
    ).json()
    assert (tilejson["minzoom"], tilejson["maxzoom"]) == (1, 5)
    query = parse_qs(urlsplit(tilejson["tiles"][0]).query)
    assert query["tilesize"] == ["512"]
    assert "minzoom" not in query and "maxzoom" not in query
    assert urlsplit(tilejson["tiles"][0]).path == "/cog/tiles/WebMercatorQuad/{z}/{x}/{y}"


def test_tilejson_across_the_antimeridian(client: TestClient) -> None:
    tilejson = client.get(
        "/cog/WebMercatorQuad/tilejson.json", params={"url": data_path("cog_dateline.tif")}
    ).json()
    west, _, east, _ = tilejson["bounds"]
    assert west > east
    lon = tilejson["center"][0]
    assert lon > west or lon < east  # the centre is on the data, not on the other side of Earth


@pytest.mark.parametrize("name", sorted(set(READABLE_FILES) - OFF_EARTH))
def test_tilejson_of_every_real_file(client: TestClient, name: str) -> None:
    response = client.get("/cog/WebMercatorQuad/tilejson.json", params={"url": data_path(name)})
    assert response.status_code == 200
    tilejson = response.json()
    assert 0 <= tilejson["minzoom"] <= tilejson["maxzoom"] <= 24
    assert len(tilejson["bounds"]) == 4


# --- WMTS ---------------------------------------------------------------------------------------


def test_wmts_has_one_layer_per_tile_matrix_set(client: TestClient, generated: Generated) -> None:
    response = client.get(
        "/cog/WMTSCapabilities.xml",
        params={"url": generated.uint16, "bidx": 1, "tile_format": "webp"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    contents = root.find(f"{WMTS}Contents")
    assert contents is not None
    layers = contents.findall(f"{WMTS}Layer")
    matrix_sets = contents.findall(f"{WMTS}TileMatrixSet")
    tms_ids = morecantile.tms.list()
    assert [layer.findtext(f"{WMTS}TileMatrixSetLink/{WMTS}TileMatrixSet") for layer in layers] == (
        tms_ids
    )
    assert [tms.findtext(f"{OWS}Identifier") for tms in matrix_sets] == tms_ids
    for layer, tms_id in zip(layers, tms_ids, strict=True):
        assert layer.findtext(f"{WMTS}Format") == "image/webp"
        resource = layer.find(f"{WMTS}ResourceURL")
        assert resource is not None
        template = resource.attrib["template"]
        parts = urlsplit(template)
        assert parts.path == f"/cog/tiles/{tms_id}/{{TileMatrix}}/{{TileCol}}/{{TileRow}}.webp"
        assert parse_qs(parts.query) == {"url": [generated.uint16], "bidx": ["1"]}
        box = layer.find(f"{OWS}WGS84BoundingBox")
        assert box is not None
        assert box.findtext(f"{OWS}LowerCorner") == "0.0 0.0"
        assert box.findtext(f"{OWS}UpperCorner") == "45.0 45.0"


def test_wmts_limits_name_matrices_of_their_set(client: TestClient, generated: Generated) -> None:
    root = ET.fromstring(
        client.get("/cog/WMTSCapabilities.xml", params={"url": generated.uint16}).content
    )
    contents = root.find(f"{WMTS}Contents")
    assert contents is not None
    matrices = {
        tms.findtext(f"{OWS}Identifier"): {
            matrix.findtext(f"{OWS}Identifier"): matrix
            for matrix in tms.findall(f"{WMTS}TileMatrix")
        }
        for tms in contents.findall(f"{WMTS}TileMatrixSet")
    }
    layer = next(
        layer
        for layer in contents.findall(f"{WMTS}Layer")
        if layer.findtext(f"{WMTS}TileMatrixSetLink/{WMTS}TileMatrixSet") == "WebMercatorQuad"
    )
    limits = layer.findall(f".//{WMTS}TileMatrixLimits")
    assert limits
    for limit in limits:
        matrix = matrices["WebMercatorQuad"][limit.findtext(f"{WMTS}TileMatrix")]
        width = int(matrix.findtext(f"{WMTS}MatrixWidth") or 0)
        assert 0 <= int(limit.findtext(f"{WMTS}MinTileCol") or -1) < width
        assert int(limit.findtext(f"{WMTS}MaxTileCol") or width) < width
    web_mercator = matrices["WebMercatorQuad"]["0"]
    assert web_mercator.findtext(f"{WMTS}MatrixWidth") == "1"
    assert web_mercator.findtext(f"{WMTS}TileWidth") == "256"


def test_wmts_use_epsg(client: TestClient, generated: Generated) -> None:
    root = ET.fromstring(
        client.get(
            "/cog/WMTSCapabilities.xml", params={"url": generated.uint16, "use_epsg": "true"}
        ).content
    )
    crs = {
        tms.findtext(f"{OWS}Identifier"): tms.findtext(f"{OWS}SupportedCRS")
        for tms in root.iter(f"{WMTS}TileMatrixSet")
        if tms.find(f"{OWS}Identifier") is not None
    }
    assert crs["WebMercatorQuad"] == "EPSG:3857"
    assert crs["UTM31WGS84Quad"] == "EPSG:32631"


@pytest.mark.parametrize("name", ["cog_dateline.tif", "cog_world.tif", "nocog.tif"])
def test_wmts_of_real_files(client: TestClient, name: str) -> None:
    response = client.get("/cog/WMTSCapabilities.xml", params={"url": data_path(name)})
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert len(root.findall(f"{WMTS}Contents/{WMTS}Layer")) == len(morecantile.tms.list())


@pytest.mark.parametrize("name", sorted(set(READABLE_FILES) - OFF_EARTH))
def test_tilesets_of_every_real_file(client: TestClient, name: str) -> None:
    url = data_path(name)
    tilesets = client.get("/cog/tiles", params={"url": url}).json()["tilesets"]
    assert len(tilesets) == len(morecantile.tms.list())
    tileset = client.get("/cog/tiles/WebMercatorQuad", params={"url": url}).json()
    tms = morecantile.tms.get("WebMercatorQuad")
    assert tileset["tileMatrixSetLimits"]
    for level in tileset["tileMatrixSetLimits"]:
        matrix = tms.matrix(int(level["tileMatrix"]))
        assert 0 <= level["minTileRow"] <= level["maxTileRow"] < matrix.matrixHeight
        assert 0 <= level["minTileCol"] <= level["maxTileCol"] < matrix.matrixWidth
