"""`/cog/preview`, `/cog/bbox` and `/cog/feature` images, decoded down to the pixel."""

import json
from typing import Any

import numpy
import pytest
from fastapi.testclient import TestClient
from rasterio.warp import transform as transform_coords
from rasterio.warp import transform_bounds

from tests.conftest import (
    GRID_SIZE,
    READABLE_FILES,
    Generated,
    band_values,
    data_path,
    decode_image,
    decode_npy,
)

ALL_FORMATS = ["png", "pngraw", "jpeg", "jpg", "webp", "tif", "jp2", "npy"]
#: One pixel of the generated grid, in degrees.
PIXEL = 45.0 / GRID_SIZE


def feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


#: A triangle over the grid's north-west quarter: lon 0..22.5, lat 22.5..45, right angle at the
#: north-west corner. In the 32x32 pixel image of its bounds, pixel (row, col) touches it when
#: row + col <= 32.
TRIANGLE = feature({"type": "Polygon", "coordinates": [[[0, 45], [22.5, 45], [0, 22.5], [0, 45]]]})


def image_of(response: Any) -> Any:
    assert response.status_code == 200, response.text
    if response.headers["content-type"] == "application/x-binary":
        return decode_npy(response.content)
    return decode_image(response.content)


# --- /cog/preview -------------------------------------------------------------------------------


def test_preview_of_a_small_raster_keeps_every_pixel(
    client: TestClient, generated: Generated
) -> None:
    response = client.get("/cog/preview.npy", params={"url": generated.uint16})
    array = image_of(response)
    assert array.shape == (3, GRID_SIZE, GRID_SIZE)
    numpy.testing.assert_array_equal(array[:2], band_values(GRID_SIZE, GRID_SIZE))
    assert response.headers["content-bbox"] == "0.0,0.0,45.0,45.0"
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"


@pytest.mark.parametrize(
    ("case", "media_type"),
    [("uint16_nodata", "image/png"), ("uint8_mask", "image/png"), ("uint16", "image/jpeg")],
)
def test_preview_auto_format(
    client: TestClient, generated: Generated, case: str, media_type: str
) -> None:
    response = client.get("/cog/preview", params={"url": getattr(generated, case), "bidx": 1})
    assert response.headers["content-type"] == media_type
    image = image_of(response)
    assert (image.width, image.height) == (GRID_SIZE, GRID_SIZE)
    if media_type == "image/png":
        assert image.mask is not None and (image.mask == 0).any()


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_preview_in_every_format(client: TestClient, generated: Generated, fmt: str) -> None:
    response = client.get(
        f"/cog/preview.{fmt}", params={"url": generated.uint16, "bidx": [1, 2, 1]}
    )
    decoded = image_of(response)
    values = band_values(GRID_SIZE, GRID_SIZE)[[0, 1, 0]]
    if fmt == "npy":
        assert decoded.shape == (4, GRID_SIZE, GRID_SIZE)
        numpy.testing.assert_array_equal(decoded[:3], values)
        return
    assert (decoded.width, decoded.height) == (GRID_SIZE, GRID_SIZE)
    assert decoded.data.shape[0] == (4 if fmt == "jp2" else 3)
    if fmt in ("png", "pngraw", "tif"):
        numpy.testing.assert_array_equal(decoded.data, values)
    elif fmt == "jp2":  # lossy, and the mask is a 4th band rather than an alpha
        assert numpy.abs(decoded.data[:3].astype(int) - values).mean() < 100
    else:  # 8-bit formats: stretched from the uint16 range, lossy
        expected = values / 65535 * 255
        assert numpy.abs(decoded.data.astype(float) - expected).mean() < 3


def test_preview_max_size(client: TestClient, generated: Generated) -> None:
    array = image_of(
        client.get("/cog/preview.npy", params={"url": generated.uint16, "max_size": 16})
    )
    assert array.shape == (3, 16, 16)
    values = band_values(GRID_SIZE, GRID_SIZE)
    # Nearest: one pixel of each 4x4 block.
    assert array[0, 0, 0] in values[0, :4, :4]
    assert array[0, -1, -1] in values[0, -4:, -4:]


def test_preview_width_and_height(client: TestClient, generated: Generated) -> None:
    url = generated.uint16
    array = image_of(client.get("/cog/preview.npy", params={"url": url, "width": 20, "height": 10}))
    assert array.shape == (3, 10, 20)
    array = image_of(client.get("/cog/preview.npy", params={"url": url, "width": 16}))
    assert array.shape == (3, 16, 16)  # the other side keeps the aspect ratio


@pytest.mark.parametrize(
    ("width", "height", "fmt"), [(20, 10, "png"), (7, 33, "tif"), (32, 32, "jpg")]
)
def test_preview_with_size(
    client: TestClient, generated: Generated, width: int, height: int, fmt: str
) -> None:
    response = client.get(
        f"/cog/preview/{width}x{height}.{fmt}", params={"url": generated.uint16, "bidx": 1}
    )
    image = image_of(response)
    assert (image.width, image.height) == (width, height)
    if fmt != "jpg":
        values = band_values(GRID_SIZE, GRID_SIZE)[0]
        assert set(numpy.unique(image.data)) <= set(values.ravel())


def test_preview_with_size_ignores_max_size(client: TestClient, generated: Generated) -> None:
    image = image_of(
        client.get(
            "/cog/preview/40x20.png", params={"url": generated.uint16, "bidx": 1, "max_size": 8}
        )
    )
    assert (image.width, image.height) == (40, 20)


def test_preview_dst_crs(client: TestClient, generated: Generated) -> None:
    response = client.get(
        "/cog/preview.tif", params={"url": generated.uint16, "dst_crs": "EPSG:3857", "max_size": 32}
    )
    image = image_of(response)
    assert image.profile["crs"].to_epsg() == 3857
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    west, _south, _east, north = transform_bounds("EPSG:4326", "EPSG:3857", 0, 0, 45, 45)
    bbox = [float(value) for value in response.headers["content-bbox"].split(",")]
    assert bbox[0] == pytest.approx(west, abs=1)
    assert bbox[3] == pytest.approx(north, rel=1e-3)
    transform = image.profile["transform"]
    assert transform.c == pytest.approx(bbox[0]) and transform.f == pytest.approx(bbox[3])
    assert max(image.width, image.height) == 32


def test_preview_rendering_parameters(client: TestClient, generated: Generated) -> None:
    url = generated.uint16
    rescaled = image_of(
        client.get("/cog/preview.png", params={"url": url, "bidx": 1, "rescale": "1,6364"})
    )
    assert rescaled.data.dtype == numpy.uint8
    assert rescaled.data[0, 0, 0] == 0 and rescaled.data[0, -1, -1] == 255
    coloured = image_of(
        client.get(
            "/cog/preview.png",
            params={"url": url, "bidx": 1, "rescale": "1,6364", "colormap_name": "greys_r"},
        )
    )
    assert coloured.data.shape[0] == 3
    greys = client.get("/colorMaps/greys_r").json()
    assert list(coloured.data[:, 0, 0]) == greys["0"][:3]
    expression = image_of(
        client.get("/cog/preview.npy", params={"url": url, "expression": "b2/b1"})
    )
    values = band_values(GRID_SIZE, GRID_SIZE).astype("float64")
    numpy.testing.assert_allclose(expression[0], values[1] / values[0], rtol=1e-6)
    unmasked = image_of(
        client.get(
            "/cog/preview.png",
            params={"url": generated.uint16_nodata, "bidx": 1, "return_mask": "false"},
        )
    )
    assert unmasked.mask is None and unmasked.data.shape[0] == 1
    assert unmasked.data[0, -1, -1] == 1  # the nodata value, written as is


def test_preview_nodata_and_unscale(client: TestClient, generated: Generated) -> None:
    masked = image_of(
        client.get("/cog/preview.npy", params={"url": generated.uint16, "bidx": 1, "nodata": 1})
    )
    assert masked[1, 0, 0] == 0 and (masked[1].ravel()[1:] == 65535).all()
    scaled = image_of(
        client.get("/cog/preview.npy", params={"url": generated.int16_scaled, "unscale": "true"})
    )
    raw = band_values(GRID_SIZE, GRID_SIZE)[0].astype("float64") - 3000
    numpy.testing.assert_allclose(scaled[0], raw * 0.5 - 10)


def test_preview_resampling(client: TestClient, generated: Generated) -> None:
    params: dict[str, Any] = {"url": generated.uint16, "bidx": 1, "max_size": 32}
    nearest = image_of(client.get("/cog/preview.npy", params=params))[0]
    average = image_of(client.get("/cog/preview.npy", params={**params, "resampling": "average"}))[
        0
    ]
    blocks = band_values(GRID_SIZE, GRID_SIZE)[0].reshape(32, 2, 32, 2).mean(axis=(1, 3))
    assert numpy.abs(average.astype(float) - blocks).max() <= 1
    assert not numpy.array_equal(nearest, average)


def test_preview_of_the_generated_colormap_and_alpha(
    client: TestClient, generated: Generated
) -> None:
    image = image_of(client.get("/cog/preview", params={"url": generated.classes_cmap}))
    assert list(image.data[:, 20, 0]) == [255, 0, 0]
    assert list(image.data[:, 20, 40]) == [0, 255, 0]
    assert image.mask[0, 0] == 0
    image = image_of(client.get("/cog/preview.png", params={"url": generated.rgba}))
    assert image.data.shape[0] == 3
    assert (image.mask[:32] == 0).all() and (image.mask[32:] == 255).all()
    numpy.testing.assert_array_equal(image.data[2, 32:], 77)


@pytest.mark.parametrize("name", READABLE_FILES)
def test_preview_of_every_real_file(client: TestClient, name: str) -> None:
    url = data_path(name)
    info = client.get("/cog/info", params={"url": url}).json()
    params: dict[str, Any] = {"url": url, "max_size": 64}
    if info["count"] == 2 and info["nodata_type"] != "Alpha":
        params["bidx"] = 1
    image = image_of(client.get("/cog/preview.png", params=params))
    assert max(image.width, image.height) == min(64, max(info["width"], info["height"]))
    aspect = info["width"] / info["height"]
    assert image.width / image.height == pytest.approx(aspect, rel=0.1)
    assert image.mask is not None
    assert (image.mask > 0).any()
    # The preview is transparent where statistics (same read) count every band masked; they
    # also skip a few NaN or single-band nodata pixels that the image still shows.
    stats = client.get("/cog/statistics", params=params).json()
    masked = (image.mask == 0).sum()
    fewest = min(band["masked_pixels"] for band in stats.values())
    assert masked <= fewest
    assert masked == pytest.approx(fewest, rel=0.01, abs=2)


def test_preview_of_masked_real_files_is_transparent_outside_the_data(client: TestClient) -> None:
    for name in ("RGB.byte.tif", "RGBA.byte.tif", "cog_rgb_mask.tif", "cog_nodata_nan.tif"):
        image = image_of(
            client.get("/cog/preview", params={"url": data_path(name), "max_size": 64})
        )
        assert image.profile["driver"] == "PNG", name
        assert (image.mask == 0).any() and (image.mask == 255).any(), name


def test_preview_of_the_gcps_file_is_warped(client: TestClient) -> None:
    response = client.get(
        "/cog/preview.tif", params={"url": data_path("cog_gcps.tif"), "max_size": 64}
    )
    image = image_of(response)
    assert image.profile["crs"].to_epsg() == 4326
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"


def test_preview_of_the_mars_file_keeps_its_crs(client: TestClient) -> None:
    response = client.get(
        "/cog/preview.tif", params={"url": data_path("cog_hirise_mars.tif"), "max_size": 32}
    )
    image = image_of(response)
    assert "MARS" in image.profile["crs"].to_wkt()
    assert max(image.width, image.height) == 32


# --- /cog/bbox ----------------------------------------------------------------------------------


def test_bbox_returns_the_exact_pixels(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/bbox/0,0,11.25,11.25.npy", params={"url": generated.uint16})
    array = image_of(response)
    # lon 0..11.25, lat 0..11.25 is rows 48..63, columns 0..15 of the grid.
    assert array.shape == (3, 16, 16)
    numpy.testing.assert_array_equal(array[:2], band_values(GRID_SIZE, GRID_SIZE)[:, 48:, :16])
    assert response.headers["content-bbox"] == "0.0,0.0,11.25,11.25"


def test_bbox_with_size(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/bbox/0,0,11.25,11.25/8x4.npy", params={"url": generated.uint16})
    array = image_of(response)
    assert array.shape == (3, 4, 8)
    values = band_values(GRID_SIZE, GRID_SIZE)[0, 48:, :16]
    assert array[0, 0, 0] in values[:4, :2]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_bbox_in_every_format(client: TestClient, generated: Generated, fmt: str) -> None:
    # lon 0..22.5, lat 11.25..33.75 is rows 16..47, columns 0..31 of the RGBA grid, whose alpha
    # hides rows 0..31: at 16x16 the top 8 rows are transparent, the bottom 8 opaque.
    response = client.get(
        f"/cog/bbox/0,11.25,22.5,33.75/16x16.{fmt}", params={"url": generated.rgba}
    )
    decoded = image_of(response)
    if fmt == "npy":
        assert decoded.shape == (4, 16, 16)
        assert (decoded[3, :8] == 0).all() and (decoded[3, 8:] == 255).all()
        assert (decoded[2, 8:] == 77).all()
        return
    assert (decoded.width, decoded.height) == (16, 16)
    blue = decoded.data[2, 9:, :].astype(float)
    assert abs(blue.mean() - 77) < 10  # exact for lossless formats, close for the others
    if fmt in ("png", "pngraw", "tif", "webp"):
        assert decoded.mask is not None
        assert (decoded.mask[:8] == 0).all() and (decoded.mask[8:] == 255).all()
    if fmt in ("png", "pngraw", "tif"):
        assert (decoded.data[2, 8:] == 77).all()


def test_bbox_coord_crs(client: TestClient, generated: Generated) -> None:
    xs, ys = transform_coords("EPSG:4326", "EPSG:3857", [0, 11.25], [0, 11.25])
    path = f"/cog/bbox/{xs[0]},{ys[0]},{xs[1]},{ys[1]}.tif"
    response = client.get(path, params={"url": generated.uint16, "coord_crs": "EPSG:3857"})
    image = image_of(response)
    # Without dst_crs the image is in the bbox's CRS.
    assert image.profile["crs"].to_epsg() == 3857
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    bbox = [float(v) for v in response.headers["content-bbox"].split(",")]
    assert bbox == pytest.approx([xs[0], ys[0], xs[1], ys[1]], abs=1e-3)
    assert set(numpy.unique(image.data[0])) <= set(band_values(64, 64)[0, 47:, :17].ravel())


def test_bbox_coord_crs_and_dst_crs(client: TestClient, generated: Generated) -> None:
    xs, ys = transform_coords("EPSG:4326", "EPSG:3857", [0, 11.25], [0, 11.25])
    path = f"/cog/bbox/{xs[0]},{ys[0]},{xs[1]},{ys[1]}.npy"
    response = client.get(
        path,
        params={"url": generated.uint16, "coord_crs": "EPSG:3857", "dst_crs": "EPSG:4326"},
    )
    array = image_of(response)
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert array.shape[1:] == (16, 16)
    numpy.testing.assert_array_equal(array[:2], band_values(GRID_SIZE, GRID_SIZE)[:, 48:, :16])


def test_bbox_dst_crs(client: TestClient, generated: Generated) -> None:
    response = client.get(
        "/cog/bbox/0,0,11.25,11.25.tif", params={"url": generated.uint16, "dst_crs": "EPSG:3857"}
    )
    image = image_of(response)
    assert image.profile["crs"].to_epsg() == 3857
    west, _south, _east, north = transform_bounds("EPSG:4326", "EPSG:3857", 0, 0, 11.25, 11.25)
    transform = image.profile["transform"]
    assert transform.c == pytest.approx(west, abs=1e-3)
    assert transform.f == pytest.approx(north, rel=1e-3)


def test_bbox_partly_outside_is_masked_there(client: TestClient, generated: Generated) -> None:
    array = image_of(
        client.get("/cog/bbox/-22.5,-22.5,22.5,22.5.npy", params={"url": generated.uint16})
    )
    assert array.shape == (3, 64, 64)
    assert (array[2, :32, 32:] == 65535).all()  # north-east quarter: the grid
    assert (array[2, 32:, :] == 0).all() and (array[2, :, :32] == 0).all()
    numpy.testing.assert_array_equal(array[0, :32, 32:], band_values(64, 64)[0, 32:, :32])


def test_bbox_outside_the_data_is_fully_masked(client: TestClient, generated: Generated) -> None:
    image = image_of(
        client.get(
            "/cog/bbox/-22.5,-22.5,-11.25,-11.25.png",
            params={"url": generated.uint16_nodata, "bidx": 1},
        )
    )
    assert image.mask is not None and (image.mask == 0).all()


def test_bbox_rendering_parameters(client: TestClient, generated: Generated) -> None:
    colormap = json.dumps({"1": "#0000ff", "2": "#ffff00"})
    image = image_of(
        client.get(
            "/cog/bbox/0,0,45,22.5.png",
            params={"url": generated.classes_cmap, "colormap": colormap},
        )
    )
    assert list(image.data[:, 0, 0]) == [0, 0, 255]
    assert list(image.data[:, 0, -1]) == [255, 255, 0]


@pytest.mark.parametrize(
    "name", ["RGB.byte.tif", "cog_dateline.tif", "cog_world.tif", "cog_cmap.tif", "cog_tags.tif"]
)
def test_bbox_of_real_files(client: TestClient, name: str) -> None:
    url = data_path(name)
    west, south, east, north = client.get("/cog/info.geojson", params={"url": url}).json()["bbox"]
    if west > east:  # across the antimeridian: take the eastern part
        east = 180.0
    cx, cy = (west + east) / 2, (south + north) / 2
    dx, dy = (east - west) / 8, (north - south) / 8
    response = client.get(
        f"/cog/bbox/{cx - dx},{cy - dy},{cx + dx},{cy + dy}/32x32.png", params={"url": url}
    )
    image = image_of(response)
    assert (image.width, image.height) == (32, 32)
    assert image.mask is not None and (image.mask > 0).any()


def test_bbox_of_the_mars_file_in_its_crs(client: TestClient) -> None:
    url = data_path("cog_hirise_mars.tif")
    info = client.get("/cog/info", params={"url": url}).json()
    west, south, east, north = info["bounds"]
    response = client.get(
        f"/cog/bbox/{west},{south},{(west + east) / 2},{(south + north) / 2}/16x16.png",
        params={"url": url, "coord_crs": info["crs"]},
    )
    image = image_of(response)
    assert (image.width, image.height) == (16, 16)


# --- /cog/feature -------------------------------------------------------------------------------


def byte_values() -> numpy.ndarray:
    """The single band of the generated uint8 rasters."""
    return (band_values(GRID_SIZE, GRID_SIZE)[0] % 200 + 10).astype("uint8")


def touched_by_triangle(size: int = 32) -> numpy.ndarray:
    row, col = numpy.mgrid[0:size, 0:size]
    return row + col <= size


def test_feature_masks_pixels_outside_the_polygon(client: TestClient, generated: Generated) -> None:
    response = client.post("/cog/feature.npy", params={"url": generated.uint16}, json=TRIANGLE)
    array = image_of(response)
    assert array.shape == (3, 32, 32)
    inside = touched_by_triangle()
    numpy.testing.assert_array_equal(array[2] > 0, inside)
    values = band_values(GRID_SIZE, GRID_SIZE)[:, :32, :32]
    numpy.testing.assert_array_equal(array[:2][:, inside], values[:, inside])
    assert response.headers["content-bbox"] == "0.0,22.5,22.5,45.0"


def test_feature_default_format_is_png_with_alpha(client: TestClient, generated: Generated) -> None:
    response = client.post(
        "/cog/feature", params={"url": generated.uint16, "bidx": 1}, json=TRIANGLE
    )
    assert response.headers["content-type"] == "image/png"
    image = image_of(response)
    numpy.testing.assert_array_equal(image.mask > 0, touched_by_triangle())


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_feature_in_every_format(client: TestClient, generated: Generated, fmt: str) -> None:
    # The same triangle over the east half (lon 22.5..45), where the masked raster is valid.
    east = feature(
        {"type": "Polygon", "coordinates": [[[22.5, 45], [45, 45], [22.5, 22.5], [22.5, 45]]]}
    )
    response = client.post(f"/cog/feature.{fmt}", params={"url": generated.uint8_mask}, json=east)
    decoded = image_of(response)
    inside = touched_by_triangle()
    values = byte_values()[:32, 32:]
    if fmt == "npy":
        assert decoded.shape == (2, 32, 32)
        numpy.testing.assert_array_equal(decoded[1] > 0, inside)
        numpy.testing.assert_array_equal(decoded[0][inside], values[inside])
        return
    assert (decoded.width, decoded.height) == (32, 32)
    difference = numpy.abs(decoded.data[0].astype(int) - values.astype(int))
    deep_inside = numpy.add.outer(numpy.arange(32), numpy.arange(32)) < 24  # off the edge
    if fmt in ("png", "pngraw", "tif"):
        numpy.testing.assert_array_equal(decoded.mask > 0, inside)
        assert (difference[inside] == 0).all()
    elif fmt == "webp":
        numpy.testing.assert_array_equal(decoded.mask > 0, inside)
        assert difference[deep_inside].mean() < 10
    else:  # jpeg and jp2: lossy, no alpha
        assert difference[:8, :8].mean() < 20


def test_feature_with_size(client: TestClient, generated: Generated) -> None:
    response = client.post(
        "/cog/feature/16x16.png", params={"url": generated.uint16, "bidx": 1}, json=TRIANGLE
    )
    image = image_of(response)
    assert (image.width, image.height) == (16, 16)
    assert image.mask is not None
    assert image.mask[0, 0] == 65535 and image.mask[-1, -1] == 0
    assert image.data.dtype == numpy.uint16


def test_feature_size_parameters(client: TestClient, generated: Generated) -> None:
    url = generated.uint16
    array = image_of(
        client.post("/cog/feature.npy", params={"url": url, "max_size": 8}, json=TRIANGLE)
    )
    assert array.shape == (3, 8, 8)
    array = image_of(
        client.post(
            "/cog/feature.npy", params={"url": url, "width": 10, "height": 5}, json=TRIANGLE
        )
    )
    assert array.shape == (3, 5, 10)


def test_feature_in_another_crs(client: TestClient, generated: Generated) -> None:
    ring = TRIANGLE["geometry"]["coordinates"][0]
    xs, ys = transform_coords("EPSG:4326", "EPSG:3857", [p[0] for p in ring], [p[1] for p in ring])
    shape = feature(
        {"type": "Polygon", "coordinates": [[[x, y] for x, y in zip(xs, ys, strict=True)]]}
    )
    response = client.post(
        "/cog/feature.tif",
        params={"url": generated.uint16, "coord_crs": "EPSG:3857", "bidx": 1},
        json=shape,
    )
    image = image_of(response)
    assert image.profile["crs"].to_epsg() == 3857
    assert image.mask[0, 0] > 0 and image.mask[-1, -1] == 0
    response = client.post(
        "/cog/feature.npy",
        params={"url": generated.uint16, "coord_crs": "EPSG:3857", "dst_crs": "EPSG:4326"},
        json=shape,
    )
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    array = image_of(response)
    assert array.shape[1:] == (32, 32)


def test_feature_dst_crs(client: TestClient, generated: Generated) -> None:
    response = client.post(
        "/cog/feature.tif",
        params={"url": generated.uint16, "dst_crs": "EPSG:3857", "bidx": 1},
        json=TRIANGLE,
    )
    image = image_of(response)
    assert image.profile["crs"].to_epsg() == 3857
    assert image.mask[0, 0] > 0 and image.mask[-1, -1] == 0


def test_feature_on_a_real_file(client: TestClient) -> None:
    url = data_path("cog.tif")
    west, south, east, north = client.get("/cog/info.geojson", params={"url": url}).json()["bbox"]
    cx, cy = (west + east) / 2, (south + north) / 2
    diamond = feature(
        {
            "type": "Polygon",
            "coordinates": [[[cx, north], [east, cy], [cx, south], [west, cy], [cx, north]]],
        }
    )
    response = client.post("/cog/feature/64x64.png", params={"url": url}, json=diamond)
    image = image_of(response)
    assert (image.width, image.height) == (64, 64)
    assert image.mask[32, 32] > 0
    assert image.mask[0, 0] == 0 and image.mask[-1, -1] == 0


def test_feature_accepts_a_multipolygon(client: TestClient, generated: Generated) -> None:
    squares = feature(
        {
            "type": "MultiPolygon",
            "coordinates": [
                [
                    [
                        [0, 45],
                        [PIXEL * 4, 45],
                        [PIXEL * 4, 45 - PIXEL * 4],
                        [0, 45 - PIXEL * 4],
                        [0, 45],
                    ]
                ],
                [
                    [
                        [PIXEL * 12, 45 - PIXEL * 12],
                        [PIXEL * 16, 45 - PIXEL * 12],
                        [PIXEL * 16, 45 - PIXEL * 16],
                        [PIXEL * 12, 45 - PIXEL * 16],
                        [PIXEL * 12, 45 - PIXEL * 12],
                    ]
                ],
            ],
        }
    )
    array = image_of(
        client.post("/cog/feature.npy", params={"url": generated.uint16}, json=squares)
    )
    assert array.shape == (3, 16, 16)
    valid = array[2] > 0
    assert valid[:4, :4].all() and valid[12:, 12:].all()
    assert not valid[6:10, 6:10].any()
