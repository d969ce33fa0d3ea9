"""`/cog/info`, `/cog/info.geojson`, `/cog/statistics`, `/cog/point` and `/cog/validate`."""

from typing import Any

import numpy
import pytest
from fastapi.testclient import TestClient
from rasterio.warp import transform as transform_coords

from tests.conftest import (
    DATA_DIR,
    GRID_BOUNDS,
    GRID_SIZE,
    READABLE_FILES,
    Generated,
    band_values,
    data_path,
    grid_lonlat,
)

#: Real rasters whose CRS cannot be transformed to WGS84 (they are not on Earth).
OFF_EARTH = {"cog_hirise_mars.tif"}


def expected_statistics(band: numpy.ma.MaskedArray, bins: Any = 10) -> dict[str, Any]:
    """What `/cog/statistics` should answer for one band, computed with numpy."""
    values = band.compressed().astype("float64")
    counts, edges = numpy.histogram(values, bins=bins)
    unique, frequency = numpy.unique(values, return_counts=True)
    return {
        "min": values.min(),
        "max": values.max(),
        "mean": values.mean(),
        "count": float(values.size),
        "sum": values.sum(),
        "std": values.std(),
        # Statistics use the inverted CDF: a percentile is always a value of the data.
        "median": numpy.quantile(values, 0.5, method="inverted_cdf"),
        "percentile_2": numpy.quantile(values, 0.02, method="inverted_cdf"),
        "percentile_98": numpy.quantile(values, 0.98, method="inverted_cdf"),
        "majority": unique[frequency.argmax()],
        "minority": unique[frequency.argmin()],
        "unique": float(unique.size),
        "valid_pixels": float(values.size),
        "masked_pixels": float(band.size - values.size),
        "valid_percent": round(100 * values.size / band.size, 2),
        "histogram": [counts.tolist(), pytest.approx(edges.tolist())],
    }


def assert_statistics(actual: dict[str, Any], band: numpy.ma.MaskedArray) -> None:
    expected = expected_statistics(band)
    for key, value in expected.items():
        if isinstance(value, float | numpy.floating):
            assert actual[key] == pytest.approx(value), key
        else:
            assert actual[key] == value, key


def grid_polygon(row0: int, col0: int, row1: int, col1: int) -> dict[str, Any]:
    """A polygon on the pixel edges of rows row0..row1-1, columns col0..col1-1 of the grid."""
    pixel = (GRID_BOUNDS[2] - GRID_BOUNDS[0]) / GRID_SIZE
    west, east = col0 * pixel, col1 * pixel
    north, south = GRID_BOUNDS[3] - row0 * pixel, GRID_BOUNDS[3] - row1 * pixel
    ring = [[west, north], [east, north], [east, south], [west, south], [west, north]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- /cog/info ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", READABLE_FILES)
def test_info_of_every_real_file(client: TestClient, name: str) -> None:
    response = client.get("/cog/info", params={"url": data_path(name)})
    assert response.status_code == 200
    info = response.json()
    assert info["count"] == len(info["band_descriptions"]) == len(info["colorinterp"])
    assert info["width"] > 0 and info["height"] > 0
    assert len(info["bounds"]) == 4
    assert info["bounds"][0] < info["bounds"][2] and info["bounds"][1] < info["bounds"][3]


@pytest.mark.parametrize(
    ("name", "dtype", "nodata_type", "extra"),
    [
        ("RGB.byte.tif", "uint8", "Nodata", {"nodata_value": 0.0}),
        ("RGBA.byte.tif", "uint8", "Alpha", {"colorinterp": ["red", "green", "blue", "alpha"]}),
        ("cog_rgb_mask.tif", "uint8", "Mask", {}),
        ("cog_int16.tif", "int16", "Nodata", {"nodata_value": -32768.0}),
        ("cog_nodata_nan.tif", "float32", "Nodata", {}),
        ("cog_fullearth.tif", "float64", "Nodata", {"bounds": [-180.0, -90.0, 180.0, 90.0]}),
        ("cog_tags.tif", "int16", "Nodata", {"nodata_value": -1000.0}),
        ("nocog.tif", "uint16", "None", {"overviews": []}),
        ("cog.tif", "uint16", "None", {"overviews": [2, 4, 8, 16]}),
    ],
)
def test_info_describes_the_real_file(
    client: TestClient, name: str, dtype: str, nodata_type: str, extra: dict[str, Any]
) -> None:
    info = client.get("/cog/info", params={"url": data_path(name)}).json()
    assert info["dtype"] == dtype
    assert info["nodata_type"] == nodata_type
    for key, value in extra.items():
        assert info[key] == value


def test_info_of_the_colormap_file_has_its_colormap(client: TestClient) -> None:
    info = client.get("/cog/info", params={"url": data_path("cog_cmap.tif")}).json()
    assert info["colorinterp"] == ["palette"]
    assert len(info["colormap"]) == 256
    assert all(len(color) == 4 for color in info["colormap"].values())


def test_info_of_scaled_files_reports_scale_and_offset(client: TestClient) -> None:
    info = client.get("/cog/info", params={"url": data_path("cog_scale.tif")}).json()
    assert info["count"] == 2
    assert all(scale != 1.0 for scale in info["scales"])
    assert all(offset != 0.0 for offset in info["offsets"])


def test_info_of_the_gcps_file_is_warped_to_the_gcps_crs(client: TestClient) -> None:
    info = client.get("/cog/info", params={"url": data_path("cog_gcps.tif")}).json()
    assert info["crs"] == "http://www.opengis.net/def/crs/EPSG/0/4326"
    west, south, east, north = info["bounds"]
    assert 75 < west < east < 79 and 9 < south < north < 12


def test_info_of_the_mars_file_keeps_its_crs_as_wkt(client: TestClient) -> None:
    info = client.get("/cog/info", params={"url": data_path("cog_hirise_mars.tif")}).json()
    assert "MARS" in info["crs"]
    assert info["count"] == 3


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("uint16", {"dtype": "uint16", "nodata_type": "None", "count": 2}),
        ("uint16_nodata", {"nodata_type": "Nodata", "nodata_value": 1.0}),
        ("uint8_mask", {"dtype": "uint8", "nodata_type": "Mask"}),
        ("rgba", {"nodata_type": "Alpha", "colorinterp": ["red", "green", "blue", "alpha"]}),
        ("float_nan", {"dtype": "float32", "nodata_type": "Nodata", "nodata_value": None}),
        ("int16_scaled", {"scales": [0.5], "offsets": [-10.0], "nodata_value": -9999.0}),
        ("classes_cmap", {"colorinterp": ["palette"]}),
    ],
)
def test_info_of_generated_rasters(
    client: TestClient, generated: Generated, case: str, expected: dict[str, Any]
) -> None:
    response = client.get("/cog/info", params={"url": getattr(generated, case)})
    assert response.status_code == 200
    info = response.json()
    assert info["bounds"] == list(GRID_BOUNDS)
    assert info["crs"] == "http://www.opengis.net/def/crs/EPSG/0/4326"
    assert (info["width"], info["height"]) == (GRID_SIZE, GRID_SIZE)
    for key, value in expected.items():
        assert info[key] == value


def test_info_of_the_generated_colormap(client: TestClient, generated: Generated) -> None:
    info = client.get("/cog/info", params={"url": generated.classes_cmap}).json()
    assert info["colormap"]["1"] == [255, 0, 0, 255]
    assert info["colormap"]["2"] == [0, 255, 0, 255]


def test_info_in_another_crs_keeps_native_bounds(client: TestClient, generated: Generated) -> None:
    info = client.get("/cog/info", params={"url": generated.mercator}).json()
    assert info["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert info["bounds"][0] == pytest.approx(0.0, abs=1e-6)
    assert info["bounds"][2] == pytest.approx(10018754.17, rel=1e-9)


# --- /cog/info.geojson ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(READABLE_FILES) - {"cog_dateline.tif"}))
def test_info_geojson_is_a_polygon_feature(client: TestClient, name: str) -> None:
    response = client.get("/cog/info.geojson", params={"url": data_path(name)})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "Polygon"
    west, south, east, north = feature["bbox"]
    assert -180 <= west < east <= 180 and -90 <= south < north <= 90
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert {round(x, 9) for x, _ in ring} == {round(west, 9), round(east, 9)}
    assert feature["properties"]["count"] >= 1


def test_info_geojson_across_the_antimeridian_is_a_multipolygon(client: TestClient) -> None:
    feature = client.get("/cog/info.geojson", params={"url": data_path("cog_dateline.tif")}).json()
    west, south, east, north = feature["bbox"]
    assert west > east  # the bbox crosses the antimeridian
    geometry = feature["geometry"]
    assert geometry["type"] == "MultiPolygon"
    longitudes = [sorted({x for x, _ in polygon[0]}) for polygon in geometry["coordinates"]]
    assert sorted(longitudes) == sorted([[-180.0, east], [west, 180.0]])
    for polygon in geometry["coordinates"]:
        assert sorted({y for _, y in polygon[0]}) == [south, north]


def test_info_geojson_of_the_generated_grid(client: TestClient, generated: Generated) -> None:
    feature = client.get("/cog/info.geojson", params={"url": generated.uint16}).json()
    assert feature["bbox"] == list(GRID_BOUNDS)
    assert feature["geometry"]["coordinates"][0] == [
        [0.0, 0.0],
        [45.0, 0.0],
        [45.0, 45.0],
        [0.0, 45.0],
        [0.0, 0.0],
    ]


def test_info_geojson_crs_parameter(client: TestClient, generated: Generated) -> None:
    feature = client.get(
        "/cog/info.geojson", params={"url": generated.uint16, "crs": "EPSG:3857"}
    ).json()
    xs, ys = transform_coords("EPSG:4326", "EPSG:3857", [45.0], [45.0])
    assert feature["bbox"][:2] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert feature["bbox"][2:] == pytest.approx([xs[0], ys[0]])


# --- /cog/statistics (GET) ------------------------------------------------------------------


def test_statistics_match_numpy_on_every_band(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/statistics", params={"url": generated.uint16})
    assert response.status_code == 200
    stats = response.json()
    assert list(stats) == ["b1", "b2"]
    values = band_values(GRID_SIZE, GRID_SIZE)
    for index, name in enumerate(stats):
        assert_statistics(stats[name], numpy.ma.masked_array(values[index]))
        assert stats[name]["description"] == name


def test_statistics_skip_nodata_pixels(client: TestClient, generated: Generated) -> None:
    stats = client.get("/cog/statistics", params={"url": generated.uint16_nodata}).json()
    values = band_values(GRID_SIZE, GRID_SIZE)
    values[:, 32:, 32:] = 1
    for index, name in enumerate(("b1", "b2")):
        band = numpy.ma.masked_equal(values[index], 1)
        assert_statistics(stats[name], band)
    assert stats["b1"]["masked_pixels"] == 32 * 32 + 1  # the block and pixel (0, 0)
    assert stats["b2"]["masked_pixels"] == 32 * 32


def test_statistics_of_masked_and_alpha_rasters(client: TestClient, generated: Generated) -> None:
    for case, valid in (
        ("uint8_mask", (slice(None), slice(32, None))),
        ("rgba", (slice(32, None),)),
    ):
        stats = client.get("/cog/statistics", params={"url": getattr(generated, case)}).json()
        assert list(stats) == (["b1"] if case == "uint8_mask" else ["b1", "b2", "b3"])
        assert stats["b1"]["valid_pixels"] == GRID_SIZE * GRID_SIZE / 2
        byte = (band_values(GRID_SIZE, GRID_SIZE)[0] % 200 + 10).astype("uint8")
        mask = numpy.ones(byte.shape, dtype=bool)
        mask[valid] = False
        assert_statistics(stats["b1"], numpy.ma.masked_array(byte, mask=mask))


def test_statistics_with_nan_nodata(client: TestClient, generated: Generated) -> None:
    stats = client.get("/cog/statistics", params={"url": generated.float_nan}).json()
    floats = band_values(GRID_SIZE, GRID_SIZE)[0].astype("float32") / 4
    mask = numpy.zeros(floats.shape, dtype=bool)
    mask[:32, :32] = True
    assert_statistics(stats["b1"], numpy.ma.masked_array(floats, mask=mask))


def test_statistics_of_an_all_nan_raster_are_null_not_nan(
    client: TestClient, generated: Generated
) -> None:
    response = client.get("/cog/statistics", params={"url": generated.float_all_nan})
    assert response.status_code == 200
    assert "NaN" not in response.text and "Infinity" not in response.text
    stats = response.json()["b1"]
    for key in ("min", "max", "mean", "std", "median", "percentile_2", "percentile_98"):
        assert stats[key] is None
    assert stats["valid_pixels"] == 0
    assert stats["masked_pixels"] == GRID_SIZE * GRID_SIZE


def test_statistics_of_the_real_nan_file_are_valid_json(client: TestClient) -> None:
    response = client.get(
        "/cog/statistics", params={"url": data_path("cog_nodata_nan.tif"), "max_size": 64}
    )
    assert response.status_code == 200
    assert "NaN" not in response.text
    stats = response.json()["b1"]
    assert 0 < stats["valid_percent"] < 100
    assert stats["min"] < stats["mean"] < stats["max"]


@pytest.mark.parametrize("name", sorted(set(READABLE_FILES) - {"cog_scale.tif"}))
def test_statistics_of_every_real_file(client: TestClient, name: str) -> None:
    response = client.get("/cog/statistics", params={"url": data_path(name), "max_size": 32})
    assert response.status_code == 200
    stats = response.json()
    info = client.get("/cog/info", params={"url": data_path(name)}).json()
    expected_bands = info["count"] - (1 if info["nodata_type"] == "Alpha" else 0)
    assert len(stats) == expected_bands
    for band in stats.values():
        if band["valid_pixels"]:
            assert band["min"] <= band["percentile_2"] <= band["median"] <= band["max"]
            assert sum(band["histogram"][0]) == band["valid_pixels"]


def test_statistics_bidx_and_expression(client: TestClient, generated: Generated) -> None:
    values = band_values(GRID_SIZE, GRID_SIZE).astype("float64")
    stats = client.get("/cog/statistics", params={"url": generated.uint16, "bidx": 2}).json()
    assert list(stats) == ["b2"]
    assert stats["b2"]["max"] == values[1].max()

    stats = client.get(
        "/cog/statistics", params={"url": generated.uint16, "expression": "b2-b1*3"}
    ).json()
    assert list(stats) == ["b1"]
    assert stats["b1"]["description"] == "b2-b1*3"
    assert stats["b1"]["min"] == stats["b1"]["max"] == 10000.0


def test_statistics_nodata_override(client: TestClient, generated: Generated) -> None:
    stats = client.get(
        "/cog/statistics", params={"url": generated.uint16, "bidx": 1, "nodata": 1}
    ).json()
    assert stats["b1"]["valid_pixels"] == GRID_SIZE * GRID_SIZE - 1
    assert stats["b1"]["min"] == 2.0


def test_statistics_unscale(client: TestClient, generated: Generated) -> None:
    raw = band_values(GRID_SIZE, GRID_SIZE)[0].astype("float64") - 3000
    plain = client.get("/cog/statistics", params={"url": generated.int16_scaled}).json()["b1"]
    scaled = client.get(
        "/cog/statistics", params={"url": generated.int16_scaled, "unscale": "true"}
    ).json()["b1"]
    assert plain["min"] == raw.min() and plain["max"] == raw.max()
    assert scaled["min"] == raw.min() * 0.5 - 10
    assert scaled["max"] == raw.max() * 0.5 - 10
    assert scaled["mean"] == pytest.approx(raw.mean() * 0.5 - 10)


def test_statistics_unscale_on_the_real_scaled_files(client: TestClient) -> None:
    for name in ("cog_scale.tif", "cog_tags.tif"):
        url = data_path(name)
        raw = client.get("/cog/statistics", params={"url": url, "max_size": 32}).json()
        info = client.get("/cog/info", params={"url": url}).json()
        unscaled = client.get(
            "/cog/statistics", params={"url": url, "max_size": 32, "unscale": "true"}
        ).json()
        for index, band in enumerate(raw):
            scale, offset = info["scales"][index], info["offsets"][index]
            assert unscaled[band]["min"] == pytest.approx(raw[band]["min"] * scale + offset)
            assert unscaled[band]["max"] == pytest.approx(raw[band]["max"] * scale + offset)


def test_statistics_size_parameters(client: TestClient, generated: Generated) -> None:
    url = generated.uint16
    small = client.get("/cog/statistics", params={"url": url, "max_size": 16}).json()
    assert small["b1"]["valid_pixels"] == 16 * 16
    sized = client.get(
        "/cog/statistics", params={"url": url, "width": 16, "height": 8, "bidx": 1}
    ).json()
    assert sized["b1"]["valid_pixels"] == 16 * 8


def test_statistics_resampling(client: TestClient, generated: Generated) -> None:
    url = generated.uint16
    params: dict[str, Any] = {"url": url, "bidx": 1, "width": 32, "height": 32}
    nearest = client.get("/cog/statistics", params={**params, "resampling": "nearest"}).json()
    average = client.get("/cog/statistics", params={**params, "resampling": "average"}).json()
    # Averaging 2x2 blocks of 100*row+col+1 gives each block's mean; nearest picks one of them.
    blocks = band_values(GRID_SIZE, GRID_SIZE)[0].reshape(32, 2, 32, 2).astype(float)
    assert average["b1"]["min"] == pytest.approx(blocks.mean(axis=(1, 3)).min(), abs=1)
    assert nearest["b1"]["min"] != average["b1"]["min"]
    assert nearest["b1"]["min"] in blocks[0, :, 0, :].ravel()


def test_statistics_categorical(client: TestClient, generated: Generated) -> None:
    stats = client.get(
        "/cog/statistics",
        params=[
            ("url", generated.classes_cmap),
            ("categorical", "true"),
            ("c", "1"),
            ("c", "2"),
            ("c", "3"),
        ],
    ).json()["b1"]
    assert stats["histogram"] == [[32 * 64 - 64, 32 * 64, 0], [1, 2, 3]]
    all_classes = client.get(
        "/cog/statistics", params={"url": generated.classes_cmap, "categorical": "true"}
    ).json()["b1"]
    assert all_classes["histogram"] == [[32 * 64 - 64, 32 * 64], [1, 2]]


def test_statistics_percentiles(client: TestClient, generated: Generated) -> None:
    stats = client.get(
        "/cog/statistics",
        params=[("url", generated.uint16), ("bidx", "1"), ("p", "10"), ("p", "50"), ("p", "90")],
    ).json()["b1"]
    values = band_values(GRID_SIZE, GRID_SIZE)[0].ravel()
    for p in (10, 50, 90):
        expected = numpy.quantile(values, p / 100, method="inverted_cdf")
        assert stats[f"percentile_{p}"] == expected
    assert "percentile_2" not in stats


def test_statistics_histogram_bins_and_range(client: TestClient, generated: Generated) -> None:
    values = band_values(GRID_SIZE, GRID_SIZE)[0].ravel()
    params = {"url": generated.uint16, "bidx": 1}
    stats = client.get(
        "/cog/statistics", params={**params, "histogram_bins": 4, "histogram_range": "0,100"}
    ).json()["b1"]
    counts, edges = numpy.histogram(values, bins=4, range=(0, 100))
    assert stats["histogram"] == [counts.tolist(), edges.tolist()]

    stats = client.get(
        "/cog/statistics", params={**params, "histogram_bins": "0,1000,7000"}
    ).json()["b1"]
    counts, _ = numpy.histogram(values, bins=[0, 1000, 7000])
    assert stats["histogram"] == [counts.tolist(), [0.0, 1000.0, 7000.0]]


def test_statistics_histogram_bin_edges_may_be_decimal_or_negative(
    client: TestClient, generated: Generated
) -> None:
    floats = band_values(GRID_SIZE, GRID_SIZE)[0].astype("float32") / 4
    valid = floats[32:, :].tolist() + floats[:32, 32:].tolist()
    edges = [-0.5, 0.25, 400.75, 2000.5]
    response = client.get(
        "/cog/statistics",
        params={"url": generated.float_nan, "histogram_bins": ",".join(map(str, edges))},
    )
    assert response.status_code == 200, response.text
    counts, _ = numpy.histogram(numpy.concatenate(valid), bins=edges)
    assert response.json()["b1"]["histogram"] == [counts.tolist(), edges]


# --- /cog/statistics (POST) -----------------------------------------------------------------


def test_statistics_of_a_feature(client: TestClient, generated: Generated) -> None:
    feature = {
        "type": "Feature",
        "properties": {"name": "nw"},
        "geometry": grid_polygon(0, 0, 16, 16),
    }
    response = client.post("/cog/statistics", params={"url": generated.uint16}, json=feature)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "Feature"
    assert body["geometry"] == feature["geometry"]
    assert body["properties"]["name"] == "nw"
    values = band_values(GRID_SIZE, GRID_SIZE)
    stats = body["properties"]["statistics"]
    for index, name in enumerate(("b1", "b2")):
        assert_statistics(stats[name], numpy.ma.masked_array(values[index, :16, :16]))


def test_statistics_of_a_feature_collection(client: TestClient, generated: Generated) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"id": 1}, "geometry": grid_polygon(0, 0, 16, 16)},
            {"type": "Feature", "properties": {"id": 2}, "geometry": grid_polygon(16, 32, 32, 64)},
        ],
    }
    response = client.post(
        "/cog/statistics", params={"url": generated.uint16, "bidx": 1}, json=collection
    )
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [feature["properties"]["id"] for feature in body["features"]] == [1, 2]
    values = band_values(GRID_SIZE, GRID_SIZE)[0]
    first, second = (feature["properties"]["statistics"] for feature in body["features"])
    assert list(first) == ["b1"]
    assert_statistics(first["b1"], numpy.ma.masked_array(values[:16, :16]))
    assert_statistics(second["b1"], numpy.ma.masked_array(values[16:32, 32:64]))


def test_statistics_of_a_feature_skip_nodata(client: TestClient, generated: Generated) -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": grid_polygon(24, 24, 40, 40)}
    body = client.post(
        "/cog/statistics", params={"url": generated.uint16_nodata, "bidx": 1}, json=feature
    ).json()
    stats = body["properties"]["statistics"]["b1"]
    assert stats["valid_pixels"] == 16 * 16 - 8 * 8
    assert stats["masked_pixels"] == 8 * 8


def test_statistics_of_a_feature_in_another_crs(client: TestClient, generated: Generated) -> None:
    ring = grid_polygon(0, 0, 16, 16)["coordinates"][0]
    xs, ys = transform_coords("EPSG:4326", "EPSG:3857", [x for x, _ in ring], [y for _, y in ring])
    geometry = {"type": "Polygon", "coordinates": [[list(p) for p in zip(xs, ys, strict=True)]]}
    feature = {"type": "Feature", "properties": {}, "geometry": geometry}
    params = {"url": generated.uint16, "bidx": 1, "coord_crs": "EPSG:3857"}
    expected = band_values(GRID_SIZE, GRID_SIZE)[0, :16, :16].astype(float)

    # In the dataset's CRS the feature covers the same 16x16 pixels as in EPSG:4326 (the round
    # trip through EPSG:3857 moves its edges by a hair, so neighbours get a ~0 coverage).
    body = client.post(
        "/cog/statistics", params={**params, "dst_crs": "EPSG:4326"}, json=feature
    ).json()
    stats = body["properties"]["statistics"]["b1"]
    assert stats["min"] == 1.0
    assert stats["count"] == pytest.approx(16 * 16, rel=1e-4)
    assert stats["mean"] == pytest.approx(expected.mean(), rel=1e-4)

    # Without dst_crs the pixels are resampled onto the feature's CRS (more rows in Mercator).
    body = client.post("/cog/statistics", params=params, json=feature).json()
    stats = body["properties"]["statistics"]["b1"]
    assert stats["min"] == 1.0
    assert stats["valid_pixels"] > 16 * 16
    assert stats["median"] in expected


def test_statistics_of_a_feature_on_a_real_file(client: TestClient) -> None:
    url = data_path("cog.tif")
    feature = client.get("/cog/info.geojson", params={"url": url}).json()
    west, south, east, north = feature["bbox"]
    inner = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [west + 1, south + 0.5],
                    [east - 1, south + 0.5],
                    [east - 1, north - 0.5],
                    [west + 1, south + 0.5],
                ]
            ],
        },
    }
    response = client.post("/cog/statistics", params={"url": url, "max_size": 64}, json=inner)
    assert response.status_code == 200
    stats = response.json()["properties"]["statistics"]["b1"]
    whole = client.get("/cog/statistics", params={"url": url, "max_size": 64}).json()["b1"]
    assert whole["min"] <= stats["min"] <= stats["max"] <= whole["max"]


def test_statistics_post_refuses_other_geojson(client: TestClient, generated: Generated) -> None:
    response = client.post(
        "/cog/statistics", params={"url": generated.uint16}, json=grid_polygon(0, 0, 1, 1)
    )
    assert response.status_code == 422
    assert "detail" in response.json()


# --- /cog/point -----------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "col"), [(0, 0), (1, 2), (31, 40), (63, 63)])
def test_point_returns_the_exact_pixel_values(
    client: TestClient, generated: Generated, row: int, col: int
) -> None:
    lon, lat = grid_lonlat(row, col)
    response = client.get(f"/cog/point/{lon},{lat}", params={"url": generated.uint16})
    assert response.status_code == 200
    body = response.json()
    values = band_values(GRID_SIZE, GRID_SIZE)
    assert body["coordinates"] == [lon, lat]
    assert body["values"] == [values[0, row, col], values[1, row, col]]
    assert body["band_names"] == ["b1", "b2"]


def test_point_in_another_crs(client: TestClient, generated: Generated) -> None:
    lon, lat = grid_lonlat(10, 20)
    xs, ys = transform_coords("EPSG:4326", "EPSG:3857", [lon], [lat])
    body = client.get(
        f"/cog/point/{xs[0]},{ys[0]}", params={"url": generated.uint16, "coord_crs": "EPSG:3857"}
    ).json()
    assert body["values"][0] == 100 * 10 + 20 + 1


def test_point_on_a_projected_raster(client: TestClient, generated: Generated) -> None:
    # The mercator raster is 64x64 pixels over WebMercatorQuad tile 2/2/1 (x 0..1e7, y 0..1e7).
    size = 10018754.17139462 / GRID_SIZE
    x, y = (5 + 0.5) * size, 10018754.17139462 - (7 + 0.5) * size
    body = client.get(
        f"/cog/point/{x},{y}", params={"url": generated.mercator, "coord_crs": "EPSG:3857"}
    ).json()
    assert body["values"] == [100 * 7 + 5 + 1, 10000 + 3 * (100 * 7 + 5 + 1)]


def test_point_bidx_expression_nodata_unscale(client: TestClient, generated: Generated) -> None:
    lon, lat = grid_lonlat(1, 1)
    url = generated.uint16
    assert client.get(f"/cog/point/{lon},{lat}", params={"url": url, "bidx": 2}).json()[
        "values"
    ] == [10306]
    body = client.get(
        f"/cog/point/{lon},{lat}", params={"url": url, "expression": "b1+b2;b2-b1"}
    ).json()
    assert body["values"] == [102 + 10306, 10306 - 102]
    assert body["band_descriptions"] == ["b1+b2", "b2-b1"]
    body = client.get(f"/cog/point/{lon},{lat}", params={"url": url, "nodata": 102}).json()
    assert body["values"] == [None, 10306]

    scaled = generated.int16_scaled
    raw = client.get(f"/cog/point/{lon},{lat}", params={"url": scaled}).json()["values"]
    assert raw == [102 - 3000]
    unscaled = client.get(
        f"/cog/point/{lon},{lat}", params={"url": scaled, "unscale": "true"}
    ).json()["values"]
    assert unscaled == [(102 - 3000) * 0.5 - 10]


@pytest.mark.parametrize(
    ("case", "row", "col", "expected"),
    [
        ("uint16_nodata", 0, 0, [None, 10003]),
        ("uint16_nodata", 40, 40, [None, None]),
        ("uint8_mask", 5, 5, [None]),
        ("uint8_mask", 40, 40, [(100 * 40 + 40 + 1) % 200 + 10]),
        ("rgba", 5, 40, [None, None, None]),
        ("rgba", 40, 40, [51, 204, 77]),
        ("float_nan", 5, 5, [None]),
        ("float_nan", 40, 40, [(100 * 40 + 40 + 1) / 4]),
    ],
)
def test_point_on_masked_pixels_is_null(
    client: TestClient, generated: Generated, case: str, row: int, col: int, expected: list[Any]
) -> None:
    lon, lat = grid_lonlat(row, col)
    response = client.get(f"/cog/point/{lon},{lat}", params={"url": getattr(generated, case)})
    assert response.status_code == 200
    assert response.json()["values"] == expected


@pytest.mark.parametrize("name", sorted(set(READABLE_FILES) - OFF_EARTH))
def test_point_at_the_centre_of_every_real_file(client: TestClient, name: str) -> None:
    url = data_path(name)
    west, south, east, north = client.get("/cog/info.geojson", params={"url": url}).json()["bbox"]
    if west > east:
        east += 360
    lon = ((west + east) / 2 + 180) % 360 - 180
    response = client.get(f"/cog/point/{lon},{(south + north) / 2}", params={"url": url})
    assert response.status_code == 200
    body = response.json()
    assert len(body["values"]) == len(body["band_names"]) >= 1


def test_point_on_real_files_at_known_coordinates(client: TestClient) -> None:
    # world.rgb.tif is a 512x256 global image: pixel (0, 0) covers lon -180..-179.3.
    body = client.get("/cog/point/-179.9,89.9", params={"url": data_path("world.rgb.tif")}).json()
    assert len(body["values"]) == 3
    # RGB.byte.tif has nodata=0 in its corners.
    info = client.get("/cog/info", params={"url": data_path("RGB.byte.tif")}).json()
    west, _, _, north = info["bounds"]
    body = client.get(
        f"/cog/point/{west + 10},{north - 10}",
        params={"url": data_path("RGB.byte.tif"), "coord_crs": "EPSG:32618"},
    ).json()
    assert body["values"] == [None, None, None]


def test_point_on_the_mars_file_in_its_own_crs(client: TestClient) -> None:
    url = data_path("cog_hirise_mars.tif")
    info = client.get("/cog/info", params={"url": url}).json()
    x = (info["bounds"][0] + info["bounds"][2]) / 2
    y = (info["bounds"][1] + info["bounds"][3]) / 2
    response = client.get(f"/cog/point/{x},{y}", params={"url": url, "coord_crs": info["crs"]})
    assert response.status_code == 200
    assert len(response.json()["values"]) == 3


def test_point_outside_the_data_is_404(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/point/-10,-10", params={"url": generated.uint16})
    assert response.status_code == 404
    assert "outside" in response.json()["detail"]


# --- /cog/validate --------------------------------------------------------------------------


def test_validate_a_cog(client: TestClient) -> None:
    url = data_path("cog.tif")
    response = client.get("/cog/validate", params={"url": url})
    assert response.status_code == 200
    report = response.json()
    assert report["COG"] is True
    assert not report["COG_errors"]
    assert report["Path"] == url
    assert report["Profile"]["Tiled"] is True


def test_validate_a_non_cog_gives_reasons(client: TestClient) -> None:
    report = client.get("/cog/validate", params={"url": data_path("nocog.tif")}).json()
    assert report["COG"] is False
    assert any("tiled" in error for error in report["COG_errors"])
    assert any("overviews" in warning for warning in report["COG_warnings"])


@pytest.mark.parametrize(
    "name", ["cog_cmap.tif", "cog_dateline.tif", "cog_gcps.tif", "cog_world.tif", "cog_scale.tif"]
)
def test_validate_real_cogs(client: TestClient, name: str) -> None:
    report = client.get("/cog/validate", params={"url": data_path(name)}).json()
    assert report["COG"] is True


def test_validate_strict_turns_warnings_into_errors(client: TestClient) -> None:
    url = data_path("RGB.byte.tif")
    lenient = client.get("/cog/validate", params={"url": url}).json()
    strict = client.get("/cog/validate", params={"url": url, "strict": "true"}).json()
    assert lenient["COG_warnings"]
    assert strict["COG"] is False


def test_validate_echoes_the_url_not_the_resolved_path(
    client: TestClient, generated: Generated
) -> None:
    alias = f"{DATA_DIR}/../data/cog.tif"
    report = client.get("/cog/validate", params={"url": alias}).json()
    assert report["Path"] == alias
