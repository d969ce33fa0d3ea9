"""Property-based fuzzing of every operation in the app's OpenAPI document (`/api`), in process.

Schemathesis generates parameters and bodies from the schema; the `url` of each request is
drawn from real files in an allowed directory (mostly cog.tif), so the generated values reach
the readers and renderers instead of stopping at the source policy; tile indexes are biased
towards tiles that cover the data. Checks: no 5xx, and every response whose status and media
type the OpenAPI declares matches the declared schema.

Bounded: a few examples per operation (FUZZ_EXAMPLES, default 12; FUZZ_RANDOM=1 for new ones)
and small output limits so a generated 4096x4096 preview is refused rather than rendered; the
module runs in about two minutes on two busy cores.
Nothing leaves the process: every `url` is a local path or refused by the policy before use.
"""

import os
from typing import Any

import morecantile
import pytest
import rasterio
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rasterio.warp import transform_bounds
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from titiler.main import create_app
from titiler.settings import ApiSettings

from .security_http import SHARED_DATA

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
#: Reproducible by default; FUZZ_RANDOM=1 explores new examples on each run.
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")

GOOD = str(SHARED_DATA / "cog.tif")
#: Sources a request reads: the main COG most of the time, then other data types and layouts,
#: a corrupt file, and a few refused ones.
URLS = (
    [GOOD] * 8
    + [
        str(SHARED_DATA / name)
        for name in (
            "cog_rgba.tif",
            "cog_int16.tif",
            "cog_nodata_nan.tif",
            "cog_cmap.tif",
            "cog_scale.tif",
            "cog_dateline.tif",
            "nocog.tif",
            "corrupt.tif",
        )
    ]
    + ["/etc/passwd", "https://169.254.169.254/latest/", "/vsicurl/http://127.0.0.1:9001/"]
)


def _tiles_over_the_data() -> list[dict[str, Any]]:
    with rasterio.open(GOOD) as dataset:
        bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds)
    tms = morecantile.tms.get("WebMercatorQuad")
    return [
        {"tileMatrixSetId": "WebMercatorQuad", "z": t.z, "x": t.x, "y": t.y}
        for t in tms.tiles(*bounds, zooms=[5, 6, 7, 8])
    ]


TILES = _tiles_over_the_data()

APP = create_app(
    ApiSettings(
        allowed_sources=[f"{SHARED_DATA}/"],
        max_output_width=1024,
        max_output_height=1024,
        max_output_pixels=1024 * 1024,
    )
)


def tuples_as_arrays(node: Any) -> Any:
    """`prefixItems` (a tuple in JSON Schema 2020-12, valid OpenAPI 3.1) as a plain array of the
    union of its items. Schemathesis 4.32 rewrites `prefixItems` into draft-4 `items: [...]` and
    then rejects its own rewrite as an invalid 3.1 schema (a two-line FastAPI model with a
    `tuple[str, str]` field reproduces it), so the copy it is given is loosened this way.
    """
    if isinstance(node, list):
        return [tuples_as_arrays(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: tuples_as_arrays(value) for key, value in node.items()}
    if "prefixItems" in converted:
        items = converted.pop("prefixItems")
        same = all(item == items[0] for item in items)
        converted["items"] = items[0] if same else {"anyOf": items}
    return converted


schema = schemathesis.openapi.from_dict(tuples_as_arrays(APP.openapi()))
schema.app = APP


@schema.hook("flatmap_query")
def _real_sources(context: Any, query: dict[str, Any] | None) -> Any:
    if not isinstance(query, dict) or "url" not in query:
        return st.just(query)
    return st.sampled_from(URLS).map(lambda url: {**query, "url": url})


@schema.hook("flatmap_path_parameters")
def _tiles_with_data(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    if not isinstance(path_parameters, dict) or not {"z", "x", "y"} <= set(path_parameters):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(TILES).map(lambda tile: {**path_parameters, **tile}),
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_never_fails_and_matches_its_schema(case: Any) -> None:
    case.call_and_validate(
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )


def test_schema_loaded_every_operation() -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    with_url = [op for op in operations if any(p.name == "url" for p in op.query)]
    assert len(with_url) >= 18


@pytest.mark.parametrize(
    "node",
    [
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}]},
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "object"}]},
    ],
)
def test_tuples_as_arrays(node: dict[str, Any]) -> None:
    converted = tuples_as_arrays({"a": [node]})["a"][0]
    assert "prefixItems" not in converted and converted["type"] == "array"


# -- what the fuzzer found: each was a 500 ------------------------------------------------------

_HUGE_POINTS = {
    "type": "Feature",
    "properties": None,
    "geometry": {"type": "MultiPoint", "coordinates": [[0.0, 0.0], [4.156727796509759e305, 1.0]]},
}


_POINT = {
    "type": "Feature",
    "properties": None,
    "geometry": {"type": "Point", "coordinates": [-58, 73]},
}
_CATEGORIES = {"unscale": "true", "categorical": "true", "c": ["2.968226885111404e+169", "-5.9e16"]}


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status", "words"),
    [
        # morecantile overflowed computing matrices for an unbounded maxzoom.
        ("GET", "/cog/tiles/WGS1984Quad", {"maxzoom": 2099}, None, 422, "less than or equal"),
        ("GET", "/cog/WebMercatorQuad/tilejson.json", {"maxzoom": 31}, None, 422, "less than"),
        # A bbox without area divided by zero in rio-tiler; infinities overflowed.
        ("GET", "/cog/bbox/0.0,0.0,0.0,0.0/1x1.jp2", {}, None, 400, "enclosing an area"),
        ("GET", "/cog/bbox/-inf,0,1,1.png", {}, None, 400, "finite"),
        ("GET", "/cog/bbox/0,0,1e308,1e308.png", {}, None, 400, "out of range"),
        # A GeoJSON coordinate of 1e305 overflowed converting bounds to pixels.
        ("POST", "/cog/feature", {}, _HUGE_POINTS, 400, "out of range"),
        ("POST", "/cog/statistics", {}, _HUGE_POINTS, 400, "out of range"),
        # A nodata the data type cannot hold: numpy's masked arrays raised a TypeError.
        ("GET", "/cog/preview.png", {"nodata": "-1"}, None, 400, "not a uint16 value"),
        ("GET", "/cog/preview.png", {"nodata": "nan"}, None, 400, "not a uint16 value"),
        ("GET", "/cog/point/-58,73", {"nodata": "70000"}, None, 400, "not a uint16 value"),
        # Band math comparisons give booleans, which rio-tiler cannot mask or render.
        ("GET", "/cog/preview.jpeg", {"expression": "b1>0"}, None, 200, ""),
        ("GET", "/cog/tiles/WebMercatorQuad/8/87/49", {"expression": "b1>100"}, None, 200, ""),
        # A colour formula naming bands a one-band image lacks: IndexError in color-operations.
        ("GET", "/cog/preview.png", {"color_formula": "sigmoidal rgb 10 0.5"}, None, 400, "bands"),
        # A category past float32 was counted as inf and answered as null, against the schema.
        ("GET", "/cog/statistics", _CATEGORIES, None, 400, "float32"),
        # A point feature drawn at an explicit size divided by zero in rio-tiler.
        ("POST", "/cog/feature", {"height": 1}, _POINT, 400, "no area"),
        ("POST", "/cog/feature/10x10.png", {}, _POINT, 400, "no area"),
        # ... while its statistics still read the pixel under it.
        ("POST", "/cog/statistics", {"height": 1}, _POINT, 200, ""),
    ],
)
def test_fuzzer_findings_stay_fixed(
    method: str, path: str, params: dict, body: Any, status: int, words: str
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(APP, raise_server_exceptions=True) as client:
        response = client.request(
            method, path, params={"url": GOOD, "max_size": 64, **params}, json=body
        )
    assert response.status_code == status, response.text
    if status >= 400:
        assert words in str(response.json()["detail"]), response.text


def test_nodata_still_works_where_the_type_holds_it() -> None:
    from fastapi.testclient import TestClient

    with TestClient(APP, raise_server_exceptions=True) as client:
        nan = client.get(
            "/cog/preview.png",
            params={"url": str(SHARED_DATA / "cog_nodata_nan.tif"), "nodata": "nan"},
        )
        zero = client.get("/cog/preview.png", params={"url": GOOD, "nodata": "0"})
    assert nan.status_code == 200 and zero.status_code == 200
