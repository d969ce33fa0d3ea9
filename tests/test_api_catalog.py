"""Catalogues and service pages: tile matrix sets, colormaps, health, OpenAPI and its HTML page."""

from typing import Any

import morecantile
import numpy
import pytest
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from rio_tiler.colormap import cmap
from starlette.responses import JSONResponse as StarletteJSONResponse

from tests.conftest import decode_image
from titiler.main import create_app
from titiler.responses import JSONResponse

#: Every endpoint of the TiTiler-compatible API, with its method.
ENDPOINTS = {
    ("get", "/cog/info"),
    ("get", "/cog/info.geojson"),
    ("get", "/cog/statistics"),
    ("post", "/cog/statistics"),
    ("get", "/cog/tiles"),
    ("get", "/cog/tiles/{tileMatrixSetId}"),
    ("get", "/cog/tiles/{tileMatrixSetId}/{z}/{x}/{y}"),
    ("get", "/cog/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}"),
    ("get", "/cog/{tileMatrixSetId}/tilejson.json"),
    ("get", "/cog/WMTSCapabilities.xml"),
    ("get", "/cog/point/{lon},{lat}"),
    ("get", "/cog/preview"),
    ("get", "/cog/preview.{format}"),
    ("get", "/cog/preview/{width}x{height}.{format}"),
    ("get", "/cog/bbox/{minx},{miny},{maxx},{maxy}.{format}"),
    ("get", "/cog/bbox/{minx},{miny},{maxx},{maxy}/{width}x{height}.{format}"),
    ("post", "/cog/feature"),
    ("post", "/cog/feature.{format}"),
    ("post", "/cog/feature/{width}x{height}.{format}"),
    ("get", "/cog/validate"),
    ("get", "/tileMatrixSets"),
    ("get", "/tileMatrixSets/{tileMatrixSetId}"),
    ("get", "/colorMaps"),
    ("get", "/colorMaps/{colorMapId}"),
    ("get", "/healthz"),
}

#: Query parameters the issue asks for, and an endpoint that must document each.
DOCUMENTED_PARAMETERS = {
    "/cog/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}": {
        "url",
        "bidx",
        "expression",
        "nodata",
        "unscale",
        "resampling",
        "reproject",
        "rescale",
        "color_formula",
        "colormap_name",
        "colormap",
        "return_mask",
        "buffer",
        "padding",
        "tilesize",
    },
    "/cog/preview": {"max_size", "width", "height", "dst_crs"},
    "/cog/bbox/{minx},{miny},{maxx},{maxy}.{format}": {"coord_crs", "dst_crs"},
    "/cog/statistics": {"categorical", "c", "p", "histogram_bins", "histogram_range"},
}


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/api")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


# --- /tileMatrixSets ----------------------------------------------------------------------------


def test_tile_matrix_sets_list(client: TestClient) -> None:
    response = client.get("/tileMatrixSets")
    assert response.status_code == 200
    listed = response.json()["tileMatrixSets"]
    assert [item["id"] for item in listed] == morecantile.tms.list()
    for item in listed:
        (link,) = item["links"]
        assert link["href"] == f"http://testserver/tileMatrixSets/{item['id']}"
        assert link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
    assert client.get("/tileMatrixSets", params={"f": "json"}).json()["tileMatrixSets"] == listed


@pytest.mark.parametrize(
    ("tms_id", "epsg", "zero_width"),
    [("WebMercatorQuad", 3857, 1), ("WorldCRS84Quad", None, 2), ("UTM31WGS84Quad", 32631, None)],
)
def test_tile_matrix_set_definition(
    client: TestClient, tms_id: str, epsg: int | None, zero_width: int | None
) -> None:
    response = client.get(f"/tileMatrixSets/{tms_id}")
    assert response.status_code == 200
    definition = response.json()
    assert definition["id"] == tms_id
    assert morecantile.TileMatrixSet.model_validate(definition).id == tms_id
    if epsg:
        assert definition["crs"] == f"http://www.opengis.net/def/crs/EPSG/0/{epsg}"
    matrices = {matrix["id"]: matrix for matrix in definition["tileMatrices"]}
    if zero_width:
        assert matrices["0"]["matrixWidth"] == zero_width
    assert all(matrix["tileWidth"] == 256 for matrix in matrices.values())


@pytest.mark.parametrize("tms_id", morecantile.tms.list())
def test_every_tile_matrix_set_has_a_definition(client: TestClient, tms_id: str) -> None:
    definition = client.get(f"/tileMatrixSets/{tms_id}").json()
    assert definition["id"] == tms_id
    assert definition["tileMatrices"]


def test_unknown_tile_matrix_set_is_a_client_error(client: TestClient) -> None:
    response = client.get("/tileMatrixSets/NoSuchGrid")
    assert response.status_code == 422
    assert "tileMatrixSetId" in str(response.json()["detail"])


def test_tile_matrix_sets_only_speak_json(client: TestClient) -> None:
    response = client.get("/tileMatrixSets", params={"f": "html"})
    assert response.status_code == 400
    assert "'f'" in response.json()["detail"]


# --- /colorMaps ---------------------------------------------------------------------------------


def test_colormaps_list(client: TestClient) -> None:
    response = client.get("/colorMaps")
    assert response.status_code == 200
    listed = response.json()["colormaps"]
    names = [item["id"] for item in listed]
    assert sorted(names) == sorted(cmap.list())
    assert {"viridis", "greys_r", "rdylgn"} <= set(names)
    viridis = next(item for item in listed if item["id"] == "viridis")
    assert viridis["links"][0]["href"] == "http://testserver/colorMaps/viridis"


def test_colormap_as_json(client: TestClient) -> None:
    response = client.get("/colorMaps/viridis")
    assert response.status_code == 200
    colormap = response.json()
    assert len(colormap) == 256
    assert colormap["0"] == [68, 1, 84, 255]
    assert colormap["255"] == [253, 231, 36, 255]
    assert client.get("/colorMaps/viridis", params={"f": "json"}).json() == colormap


def test_colormap_legend_as_png(client: TestClient) -> None:
    response = client.get("/colorMaps/viridis", params={"f": "png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = decode_image(response.content)
    assert (image.width, image.height) == (256, 20)
    assert list(image.data[:, 0, 0]) == [68, 1, 84]
    assert list(image.data[:, 10, -1]) == [253, 231, 36]
    assert image.mask is not None and (image.mask == 255).all()
    # Left to right the legend walks the colormap.
    viridis = client.get("/colorMaps/viridis").json()
    for column in (0, 64, 128, 255):
        assert list(image.data[:, 5, column]) == viridis[str(column)][:3]


def test_colormap_legend_orientation_and_size(client: TestClient) -> None:
    response = client.get(
        "/colorMaps/viridis",
        params={"f": "png", "orientation": "vertical", "width": 10, "height": 300},
    )
    image = decode_image(response.content)
    assert (image.width, image.height) == (10, 300)
    assert list(image.data[:, 0, 5]) == [68, 1, 84]
    assert list(image.data[:, -1, 5]) == [253, 231, 36]


def test_colormap_legend_in_jpeg(client: TestClient) -> None:
    response = client.get("/colorMaps/greys", params={"f": "jpeg", "height": 8})
    assert response.headers["content-type"] == "image/jpeg"
    image = decode_image(response.content)
    assert image.height == 8
    row = image.data[0, 4].astype(int)
    assert row[0] > 240 and row[-1] < 15  # greys goes from white to black


def test_colormap_unknown_format(client: TestClient) -> None:
    response = client.get("/colorMaps/viridis", params={"f": "xyz"})
    assert response.status_code == 400
    assert "'f'" in response.json()["detail"]


def test_unknown_colormap_is_a_client_error(client: TestClient) -> None:
    response = client.get("/colorMaps/not_a_colormap")
    assert response.status_code == 422
    assert "colorMapId" in str(response.json()["detail"])


# --- /healthz, /api, /api.html ------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    versions = response.json()["versions"]
    assert set(versions) == {"titiler", "rasterio", "gdal", "proj", "geos"}
    assert all(isinstance(version, str) and version for version in versions.values())


def test_openapi_has_every_endpoint(openapi: dict[str, Any]) -> None:
    listed = {(method, path) for path, item in openapi["paths"].items() for method in item}
    assert listed >= ENDPOINTS


def test_openapi_describes_every_parameter(openapi: dict[str, Any]) -> None:
    undocumented = [
        (path, method, parameter["name"])
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undocumented == []


@pytest.mark.parametrize("path", sorted(DOCUMENTED_PARAMETERS))
def test_openapi_documents_the_issue_parameters(openapi: dict[str, Any], path: str) -> None:
    operation = openapi["paths"][path]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert DOCUMENTED_PARAMETERS[path] <= names


def test_openapi_documents_repeatable_parameters(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/cog/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    for name in ("rescale", "bidx"):
        schema = parameter_schema(parameters[name])
        assert "array" in schema_types(schema), name


def test_openapi_tile_matrix_set_ids_are_an_enum(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/cog/tiles/{tileMatrixSetId}"]["get"]
    parameter = next(p for p in operation["parameters"] if p["name"] == "tileMatrixSetId")
    schema = resolve(openapi, parameter_schema(parameter))
    assert set(schema["enum"]) == set(morecantile.tms.list())


def test_openapi_post_bodies_are_geojson(openapi: dict[str, Any]) -> None:
    for path in ("/cog/statistics", "/cog/feature", "/cog/feature.{format}"):
        body = openapi["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        assert "application/json" in body["content"]


def test_openapi_image_responses_list_image_types(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/cog/preview.{format}"]["get"]
    content = operation["responses"]["200"]["content"]
    assert {"image/png", "image/jpeg", "image/webp", "image/tiff; application=geotiff"} <= set(
        content
    )


def test_api_html_is_the_interactive_documentation(client: TestClient) -> None:
    response = client.get("/api.html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "/api" in response.text


def parameter_schema(parameter: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = parameter["schema"]
    return schema


def schema_types(schema: dict[str, Any]) -> set[str]:
    """Every `type` in a schema, through `anyOf`."""
    types = {schema["type"]} if "type" in schema else set()
    for option in schema.get("anyOf", []):
        types |= schema_types(option)
    return types


def resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` (and a single-entry `anyOf`/`allOf`) to the schema it names."""
    for key in ("anyOf", "allOf"):
        options = [option for option in schema.get(key, []) if option.get("type") != "null"]
        if len(options) == 1:
            schema = options[0]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        resolved: dict[str, Any] = openapi["components"]["schemas"][name]
        return resolved
    return schema


def test_viridis_json_matches_rio_tiler(client: TestClient) -> None:
    colormap = client.get("/colorMaps/viridis").json()
    expected = cmap.get("viridis")
    for key in (0, 100, 255):
        assert colormap[str(key)] == list(map(int, expected[key]))
    assert numpy.array(list(colormap.values())).shape == (256, 4)


def test_every_route_answers_json_with_the_apps_response_class() -> None:
    """Routes join the app's router directly (main.py), so the app-wide default response class
    does not reach them: each router must set titiler's JSONResponse (NaN/Inf as null)."""
    routes = [route for route in create_app().routes if isinstance(route, APIRoute)]
    assert len(routes) > 20
    for route in routes:
        response_class = route.response_class
        if isinstance(response_class, DefaultPlaceholder):
            response_class = response_class.value
        if issubclass(response_class, StarletteJSONResponse):
            assert issubclass(response_class, JSONResponse), (route.path, response_class)
