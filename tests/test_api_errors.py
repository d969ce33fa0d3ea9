"""Errors: the status a client gets, a JSON `detail` naming what to fix, and no server internals."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import (
    CORRUPT_FILE,
    DATA_DIR,
    Generated,
    data_path,
    decode_image,
    error_detail,
    make_app,
)

TILE = "/cog/tiles/WorldCRS84Quad/2/4/1.png"
#: Fragments of a server's internals that must never reach a client.
LEAKS = ("Traceback", 'File "', "/work/", "/tmp/", ".venv", "site-packages")


def assert_clean_error(response: Any, status: int | tuple[int, ...], *names: str) -> str:
    """The error has the status, a JSON detail naming each of `names`, and no internals."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    detail = error_detail(response)
    for name in names:
        assert name in detail, detail
    for leak in LEAKS:
        assert leak not in response.text, response.text
    return detail


# --- rendering and band parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"colormap_name": "not_a_colormap"}, "colormap_name"),
        ({"colormap": "{not json"}, "colormap"),
        ({"colormap": '{"1": "notacolor"}'}, "colormap"),
        ({"colormap": '"a string"'}, "colormap"),
        ({"rescale": "0"}, "rescale"),
        ({"rescale": "a,b"}, "rescale"),
        ({"rescale": "0,1,2"}, "rescale"),
        ({"rescale": "0,inf"}, "rescale"),
        ({"expression": "b1+"}, "expression"),
        ({"expression": "__import__('os').system('id')"}, "expression"),
        ({"expression": "b1.real"}, "expression"),
        ({"expression": "foo"}, "expression"),
        ({"expression": "b9*2"}, "expression"),
        ({"expression": ""}, "expression"),
        ({"bidx": 5}, "bidx"),
        ({"bidx": 0}, "bidx"),
        ({"bidx": "x"}, "bidx"),
        ({"color_formula": "gamma Q x"}, "color_formula"),
        ({"nodata": "abc"}, "nodata"),
        ({"resampling": "sideways"}, "resampling"),
        ({"reproject": "sideways"}, "reproject"),
        ({"return_mask": "perhaps"}, "return_mask"),
        ({"unscale": "perhaps"}, "unscale"),
        ({"buffer": -1}, "buffer"),
        ({"padding": -1}, "padding"),
        ({"tilesize": 0}, "tilesize"),
        ({"tilesize": 100_000}, "tilesize"),
    ],
)
def test_bad_tile_parameters_are_client_errors_naming_the_parameter(
    client: TestClient, generated: Generated, params: dict[str, Any], parameter: str
) -> None:
    response = client.get(TILE, params={"url": generated.uint16, **params})
    assert_clean_error(response, (400, 422), parameter)


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/cog/statistics", {"histogram_bins": "abc"}, "histogram_bins"),
        ("/cog/statistics", {"histogram_bins": "1.5"}, "histogram_bins"),
        ("/cog/statistics", {"histogram_bins": "0"}, "histogram_bins"),
        ("/cog/statistics", {"histogram_bins": "10,5,1"}, "histogram_bins"),
        ("/cog/statistics", {"histogram_range": "5,1"}, "histogram_range"),
        ("/cog/statistics", {"histogram_range": "x"}, "histogram_range"),
        ("/cog/statistics", {"p": 101}, "'p'"),
        ("/cog/statistics", {"c": "x"}, "'c'"),
        ("/cog/statistics", {"categorical": "perhaps"}, "categorical"),
        ("/cog/point/1,44", {"coord_crs": "EPSG:999999"}, "coord_crs"),
        ("/cog/point/1,44", {"coord_crs": "not a crs"}, "coord_crs"),
        ("/cog/preview.png", {"dst_crs": "foo"}, "dst_crs"),
        ("/cog/bbox/0,0,10,10.png", {"coord_crs": "foo"}, "coord_crs"),
        ("/cog/info.geojson", {"crs": "foo"}, "crs"),
        ("/cog/tiles", {"crs": "foo"}, "crs"),
        ("/cog/preview.png", {"max_size": 0}, "max_size"),
        ("/cog/preview.png", {"width": -5}, "width"),
        ("/cog/point/east,44", {}, "lon"),
        ("/cog/validate", {"strict": "perhaps"}, "strict"),
        ("/cog/WMTSCapabilities.xml", {"tile_format": "gif"}, "tile_format"),
        ("/cog/WebMercatorQuad/tilejson.json", {"tile_format": "gif"}, "tile_format"),
    ],
)
def test_bad_parameters_on_other_endpoints(
    client: TestClient, generated: Generated, path: str, params: dict[str, Any], parameter: str
) -> None:
    response = client.get(path, params={"url": generated.uint16, **params})
    assert_clean_error(response, (400, 422), parameter)


def test_validation_errors_keep_fastapi_shape(client: TestClient, generated: Generated) -> None:
    response = client.get(TILE, params={"url": generated.uint16, "colormap_name": "nope"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "colormap_name"]


def test_missing_url_is_a_422_naming_it(client: TestClient) -> None:
    for path in ("/cog/info", TILE, "/cog/preview.png", "/cog/statistics"):
        response = client.get(path)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "url"]


# --- tile indexes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/cog/tiles/WorldCRS84Quad/2/8/1.png", "'x'"),
        ("/cog/tiles/WorldCRS84Quad/2/-1/1.png", "'x'"),
        ("/cog/tiles/WorldCRS84Quad/2/4/4.png", "'y'"),
        ("/cog/tiles/WorldCRS84Quad/2/4/-1.png", "'y'"),
        ("/cog/tiles/WorldCRS84Quad/-1/0/0.png", "'z'"),
        ("/cog/tiles/WorldCRS84Quad/99/0/0.png", "'z'"),
        ("/cog/tiles/WebMercatorQuad/31/0/0", "'z'"),
        ("/cog/tiles/UTM31WGS84Quad/0/0/0.png", "'z'"),
        ("/cog/tiles/WebMercatorQuad/1/2/0", "'x'"),
    ],
)
def test_tile_index_outside_the_matrix_is_a_400(
    client: TestClient, generated: Generated, path: str, parameter: str
) -> None:
    assert_clean_error(client.get(path, params={"url": generated.uint16}), 400, parameter)


@pytest.mark.parametrize(
    "path",
    [
        "/cog/tiles/WorldCRS84Quad/99999999999999999999/0/0.png",
        "/cog/tiles/WorldCRS84Quad/2/99999999999999999999/0.png",
        "/cog/tiles/WorldCRS84Quad/two/4/1.png",
        "/cog/tiles/WorldCRS84Quad/2/4/1.gif",
        "/cog/tiles/NoSuchGrid/2/4/1.png",
        "/cog/NoSuchGrid/tilejson.json",
    ],
)
def test_malformed_tile_paths_are_client_errors(
    client: TestClient, generated: Generated, path: str
) -> None:
    assert_clean_error(client.get(path, params={"url": generated.uint16}), (400, 422))


def test_tile_outside_the_data_is_404(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/tiles/WorldCRS84Quad/2/0/0.png", params={"url": generated.uint16})
    detail = assert_clean_error(response, 404)
    assert "outside" in detail
    for name in ("RGB.byte.tif", "cog_dateline.tif", "cog_cmap.tif"):
        response = client.get(
            "/cog/tiles/WebMercatorQuad/12/0/0.png", params={"url": data_path(name)}
        )
        assert_clean_error(response, 404)


def test_point_outside_the_data_is_404(client: TestClient) -> None:
    response = client.get("/cog/point/0,0", params={"url": data_path("RGB.byte.tif")})
    assert_clean_error(response, 404)


# --- sources ------------------------------------------------------------------------------------


def test_missing_source_is_404_without_its_path(client: TestClient, generated: Generated) -> None:
    missing = str(generated.directory / "missing.tif")
    response = client.get("/cog/info", params={"url": missing})
    assert_clean_error(response, 404)
    assert "missing.tif" not in response.text


def test_source_that_is_not_a_raster(client: TestClient, generated: Generated) -> None:
    response = client.get("/cog/info", params={"url": generated.not_a_raster})
    assert_clean_error(response, (403, 415, 422))


def test_raster_without_georeferencing(client: TestClient, generated: Generated) -> None:
    for path in ("/cog/info", "/cog/preview.png", TILE):
        response = client.get(path, params={"url": generated.no_crs})
        assert_clean_error(response, 422)


@pytest.mark.parametrize(
    "url",
    [
        "/etc/passwd",
        "file:///etc/passwd",
        "relative/path.tif",
        f"{DATA_DIR}/../../etc/passwd",
        "/vsicurl/http://example.com/x.tif",
        "",
    ],
)
def test_refused_sources_never_echo_server_paths(client: TestClient, url: str) -> None:
    response = client.get("/cog/info", params={"url": url})
    assert_clean_error(response, (400, 403, 404, 422))


def test_directory_is_not_a_source(client: TestClient) -> None:
    assert_clean_error(client.get("/cog/info", params={"url": str(DATA_DIR)}), (403, 404, 422))


# --- corrupt.tif --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("get", "/cog/preview.png", {}),
        ("get", "/cog/preview", {"max_size": 1024}),
        ("get", "/cog/statistics", {}),
        ("get", "/cog/preview/1024x1024.png", {}),
    ],
)
def test_corrupt_pixels_fail_cleanly(
    client: TestClient, method: str, path: str, params: dict[str, Any]
) -> None:
    url = data_path(CORRUPT_FILE)
    response = client.request(method, path, params={"url": url, **params})
    assert_clean_error(response, (422, 500, 502))
    # The server keeps serving afterwards.
    assert client.get("/healthz").status_code == 200
    tile = client.get("/cog/tiles/WorldCRS84Quad/2/4/1.png", params={"url": data_path("cog.tif")})
    assert tile.status_code in (200, 404)


def test_corrupt_statistics_of_a_feature_fail_cleanly(client: TestClient) -> None:
    url = data_path(CORRUPT_FILE)
    west, south, east, north = client.get("/cog/info.geojson", params={"url": url}).json()["bbox"]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    body = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    response = client.post("/cog/statistics", params={"url": url}, json=body)
    assert_clean_error(response, (422, 500, 502))


def test_corrupt_file_header_is_still_readable(client: TestClient) -> None:
    url = data_path(CORRUPT_FILE)
    info = client.get("/cog/info", params={"url": url})
    assert info.status_code == 200
    assert info.json()["width"] == 1024
    assert client.get("/cog/validate", params={"url": url}).status_code == 200


# --- sources off Earth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/cog/tiles/WebMercatorQuad/0/0/0.png", "/cog/point/0,0", "/cog/bbox/0,0,1,1.png"]
)
def test_mars_in_earth_coordinates_fails_cleanly(client: TestClient, path: str) -> None:
    response = client.get(path, params={"url": data_path("cog_hirise_mars.tif")})
    assert_clean_error(response, (400, 422))
    assert "MARS" not in response.text or len(response.text) < 400


# --- size limits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/cog/preview.png", {"max_size": 100_000}, "max_size"),
        ("/cog/preview.png", {"width": 5000}, "width"),
        ("/cog/preview.png", {"height": 5000}, "height"),
        ("/cog/preview/5000x10.png", {}, "width"),
        ("/cog/preview/10x5000.png", {}, "height"),
        ("/cog/bbox/0,0,10,10.png", {"max_size": 100_000}, "max_size"),
        ("/cog/bbox/0,0,10,10/5000x10.png", {}, "width"),
        ("/cog/statistics", {"max_size": 100_000}, "max_size"),
        ("/cog/statistics", {"width": 100_000, "height": 10}, "width"),
    ],
)
def test_outputs_over_the_size_limits_are_a_400(
    client: TestClient, generated: Generated, path: str, params: dict[str, Any], parameter: str
) -> None:
    response = client.get(path, params={"url": generated.uint16, **params})
    assert_clean_error(response, 400, parameter)


def test_feature_over_the_size_limits_is_a_400(client: TestClient, generated: Generated) -> None:
    body = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }
    response = client.post(
        "/cog/feature/5000x5000.png", params={"url": generated.uint16}, json=body
    )
    assert_clean_error(response, 400, "width")
    response = client.post(
        "/cog/feature.png", params={"url": generated.uint16, "max_size": 99_999}, json=body
    )
    assert_clean_error(response, 400, "max_size")


def test_pixel_count_limit(generated: Generated) -> None:
    app = make_app(generated.directory, max_output_pixels=100 * 100)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/cog/preview/200x200.png", params={"url": generated.uint16})
        assert_clean_error(response, 400, "width x height")
        ok = client.get("/cog/preview/100x100.png", params={"url": generated.uint16, "bidx": 1})
        assert ok.status_code == 200
        assert decode_image(ok.content).width == 100


def test_configured_size_limits(generated: Generated) -> None:
    app = make_app(generated.directory, max_output_width=32, max_output_height=16)
    with TestClient(app, raise_server_exceptions=False) as client:
        url = generated.uint16
        assert_clean_error(client.get("/cog/preview/33x8.png", params={"url": url}), 400, "width")
        assert_clean_error(client.get("/cog/preview/8x17.png", params={"url": url}), 400, "height")
        image = decode_image(
            client.get("/cog/preview/32x16.png", params={"url": url, "bidx": 1}).content
        )
        assert (image.width, image.height) == (32, 16)
        # With no size asked for, a bbox image stays within the limits.
        response = client.get("/cog/bbox/0,0,45,45.png", params={"url": url, "bidx": 1})
        assert response.status_code == 200
        assert decode_image(response.content).width <= 16


def test_response_too_large_for_lambda_is_a_400(generated: Generated) -> None:
    app = make_app(generated.directory, max_response_bytes=2_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(
            "/cog/preview.npy", params={"url": generated.uint16}
        )  # 3 x 64 x 64 x 2 bytes
        detail = assert_clean_error(response, 400)
        assert "smaller" in detail
        small = client.get("/cog/preview/8x8.png", params={"url": generated.uint16, "bidx": 1})
        assert small.status_code == 200


def test_request_body_too_large_is_a_413(generated: Generated, tmp_path: Path) -> None:
    app = make_app(generated.directory, max_body_bytes=1_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        ring = [[0.001 * i, 0.0] for i in range(200)] + [[0.0, 1.0], [0.0, 0.0]]
        body = {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        response = client.post("/cog/feature.png", params={"url": generated.uint16}, json=body)
        assert_clean_error(response, 413)


# --- bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": []}},
        {"not": "geojson"},
    ],
)
def test_bad_geojson_bodies_are_client_errors(
    client: TestClient, generated: Generated, body: dict[str, Any]
) -> None:
    for path in ("/cog/feature.png", "/cog/statistics"):
        response = client.post(path, params={"url": generated.uint16}, json=body)
        assert_clean_error(response, (400, 422))


def test_non_json_body_is_a_client_error(client: TestClient, generated: Generated) -> None:
    response = client.post(
        "/cog/feature.png",
        params={"url": generated.uint16},
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_clean_error(response, 422)


def test_unknown_route_and_method(client: TestClient) -> None:
    assert_clean_error(client.get("/cog/nothing-here"), 404)
    assert_clean_error(client.delete("/cog/info"), 405)
