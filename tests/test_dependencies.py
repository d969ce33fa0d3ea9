"""Query parameter groups (`titiler.dependencies`) and the routers' shared checks."""

import math
from typing import Any

import morecantile
import pytest
from rasterio.crs import CRS
from rio_tiler.colormap import cmap

from titiler.dependencies import (
    BandParams,
    DatasetParams,
    PartSizeParams,
    PreviewSizeParams,
    RenderParams,
    StatisticsParams,
    TileParams,
    parse_colormap,
    parse_crs,
    parse_rescale,
    validate_color_formula,
    validate_expression,
)
from titiler.errors import BadParameter, OutputTooLarge
from titiler.routers.common import (
    EXTRA_ZOOM_LEVELS,
    check_output_size,
    check_tile_index,
    default_part_size,
    get_tile_matrix_set,
)
from titiler.settings import ApiSettings


def raises_naming(parameter: str) -> Any:
    """`pytest.raises` for a `BadParameter` about `parameter`."""
    return pytest.raises(BadParameter, match=f"'{parameter}'")


# --- parse_crs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "epsg"),
    [
        ("EPSG:4326", 4326),
        ("epsg:3857", 3857),
        ("http://www.opengis.net/def/crs/EPSG/0/32631", 32631),
        (CRS.from_epsg(2056).to_wkt(), 2056),
    ],
)
def test_parse_crs(value: str, epsg: int) -> None:
    crs = parse_crs(value, "dst_crs")
    assert crs is not None and crs.to_epsg() == epsg


def test_parse_crs_none_is_none() -> None:
    assert parse_crs(None, "crs") is None


@pytest.mark.parametrize("value", ["foo", "EPSG:999999", "", "x" * 500])
def test_parse_crs_rejects_unknown_systems(value: str) -> None:
    with raises_naming("coord_crs") as error:
        parse_crs(value, "coord_crs")
    assert len(str(error.value)) < 200  # a long input is not echoed whole


# --- parse_rescale ------------------------------------------------------------------------------


def test_parse_rescale() -> None:
    assert parse_rescale(["0,255"]) == [(0.0, 255.0)]
    assert parse_rescale(["0,1", "-10.5,1e3", "[5,6]"]) == [(0.0, 1.0), (-10.5, 1000.0), (5, 6)]
    assert parse_rescale(None) is None
    assert parse_rescale([]) is None


@pytest.mark.parametrize("value", ["0", "0,1,2", "a,b", "0,", ",1", "nan,1", "0,inf", ""])
def test_parse_rescale_rejects_malformed_ranges(value: str) -> None:
    with raises_naming("rescale"):
        parse_rescale([value])


def test_parse_rescale_names_the_parameter_it_parses() -> None:
    with raises_naming("histogram_range"):
        parse_rescale(["x"], "histogram_range")


# --- parse_colormap -----------------------------------------------------------------------------


def test_parse_colormap_values() -> None:
    colormap = parse_colormap('{"1": "#ff0000", "2": [0, 0, 255, 128], "3": "#00ff0080"}')
    assert colormap == {1: (255, 0, 0, 255), 2: (0, 0, 255, 128), 3: (0, 255, 0, 128)}


def test_parse_colormap_intervals() -> None:
    colormap = parse_colormap('[[[0, 10], "#000000"], [[10, 20.5], [255, 255, 255, 255]]]')
    assert colormap == [((0.0, 10.0), (0, 0, 0, 255)), ((10.0, 20.5), (255, 255, 255, 255))]


def test_parse_colormap_empty_is_none() -> None:
    assert parse_colormap(None) is None
    assert parse_colormap("") is None


@pytest.mark.parametrize(
    "value",
    [
        "{not json",
        '{"a": "#ff0000"}',
        '{"1": "notacolor"}',
        '{"1": [1, 2]}',
        "[[1, 2, 3]]",
        '"#ff0000"',
        "42",
        "null",
    ],
)
def test_parse_colormap_rejects_bad_values(value: str) -> None:
    with raises_naming("colormap"):
        parse_colormap(value)


# --- expressions and formulas -------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["b1", "b1+b2", "(b1-b2)/(b1+b2)", "b1*2;b2/3", "where(b1>2, b1, 0)", "b10 % 3", "-b1"],
)
def test_valid_expressions(expression: str) -> None:
    assert validate_expression(expression) == expression


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "   ",
        "__import__('os')",
        "b1.__class__",
        "lambda: b1",
        "import os",
        "b1[0]",
        "'b1'",
        "foo + bar",
        "1 + 2",
        "b1 + " * 300 + "b1",
    ],
)
def test_refused_expressions(expression: str) -> None:
    with raises_naming("expression"):
        validate_expression(expression)


def test_expression_none_is_none() -> None:
    assert validate_expression(None) is None


@pytest.mark.parametrize(
    "formula", ["gamma RGB 1.5", "sigmoidal RGB 10 0.3", "saturation 1.2", "Gamma R 2, Gamma B 0.9"]
)
def test_valid_color_formulas(formula: str) -> None:
    assert validate_color_formula(formula) == formula


@pytest.mark.parametrize("formula", ["gamma Q 2", "nonsense", "gamma RGB x"])
def test_refused_color_formulas(formula: str) -> None:
    with raises_naming("color_formula"):
        validate_color_formula(formula)


# --- parameter groups ---------------------------------------------------------------------------


def test_band_params() -> None:
    assert BandParams().as_dict() == {}
    assert BandParams(indexes=[1, 3]).as_dict() == {"indexes": [1, 3]}
    assert BandParams(expression="b1*2").as_dict() == {"expression": "b1*2"}
    with raises_naming("bidx"):
        BandParams(indexes=[0])
    with raises_naming("bidx"):
        BandParams(indexes=list(range(1, 300)))
    with raises_naming("expression"):
        BandParams(expression="os.system")


def test_dataset_params() -> None:
    assert DatasetParams().as_dict() == {}
    options = DatasetParams(nodata="-9999", unscale=True, resampling_method="bilinear").as_dict()
    assert options == {"nodata": -9999.0, "unscale": True, "resampling_method": "bilinear"}
    assert math.isnan(DatasetParams(nodata="nan").as_dict()["nodata"])
    assert DatasetParams(nodata="-inf").as_dict()["nodata"] == -math.inf
    assert DatasetParams(reproject_method="average").as_dict() == {"reproject_method": "average"}
    with raises_naming("nodata"):
        DatasetParams(nodata="zero").as_dict()


def test_render_params() -> None:
    params = RenderParams(rescale=["0,10", "5,6"], color_formula="gamma RGB 2")
    assert params.parsed_rescale == [(0.0, 10.0), (5.0, 6.0)]
    assert params.parsed_colormap is None
    named = RenderParams(colormap_name="viridis")
    assert named.parsed_colormap == cmap.get("viridis")
    custom = RenderParams(colormap='{"1": "#010203"}')
    assert custom.parsed_colormap == {1: (1, 2, 3, 255)}
    # A named colormap wins over a custom one.
    both = RenderParams(colormap_name="greys", colormap='{"1": "#010203"}')
    assert both.parsed_colormap == cmap.get("greys")
    with raises_naming("rescale"):
        RenderParams(rescale=["x"])
    with raises_naming("color_formula"):
        RenderParams(color_formula="gamma")


def test_tile_params() -> None:
    assert TileParams().as_dict() == {}
    assert TileParams(buffer=2, padding=1).as_dict() == {"buffer": 2, "padding": 1}


def test_preview_size_params() -> None:
    assert PreviewSizeParams().read_options() == {"max_size": 1024, "width": None, "height": None}
    assert PreviewSizeParams(max_size=64).read_options()["max_size"] == 64
    sized = PreviewSizeParams(max_size=64, width=10).read_options()
    assert sized == {"max_size": None, "width": 10, "height": None}
    assert PreviewSizeParams(height=5).read_options() == {
        "max_size": None,
        "width": None,
        "height": 5,
    }


def test_part_size_params_have_no_default_max_size() -> None:
    assert PartSizeParams().read_options() == {"max_size": None, "width": None, "height": None}


def test_statistics_defaults() -> None:
    options = StatisticsParams().statistics_options()
    assert options == {"percentiles": [2, 98], "hist_options": {"bins": 10}}


def test_statistics_options() -> None:
    options = StatisticsParams(
        categorical=True,
        categories=[1, 2.5],
        percentiles=[5, 50],
        histogram_bins="20",
        histogram_range="0,100",
    ).statistics_options()
    assert options == {
        "percentiles": [5, 50],
        "categorical": True,
        "categories": [1, 2.5],
        "hist_options": {"bins": 20, "range": [0.0, 100.0]},
    }


def test_statistics_bin_edges() -> None:
    options = StatisticsParams(histogram_bins="-1.5,0,2.25").statistics_options()
    assert options["hist_options"] == {"bins": [-1.5, 0.0, 2.25]}


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"percentiles": [101]}, "p"),
        ({"percentiles": [-1]}, "p"),
        ({"histogram_bins": "0"}, "histogram_bins"),
        ({"histogram_bins": "10001"}, "histogram_bins"),
        ({"histogram_bins": "1.5"}, "histogram_bins"),
        ({"histogram_bins": "5,1"}, "histogram_bins"),
        ({"histogram_range": "10,0"}, "histogram_range"),
        ({"histogram_range": "0"}, "histogram_range"),
    ],
)
def test_statistics_refused_options(options: dict[str, Any], parameter: str) -> None:
    with raises_naming(parameter):
        StatisticsParams(**options).statistics_options()


# --- tile indexes and output limits -------------------------------------------------------------


@pytest.mark.parametrize("tms_id", ["WebMercatorQuad", "WorldCRS84Quad", "UTM31WGS84Quad"])
def test_check_tile_index_accepts_the_corners_of_each_level(tms_id: str) -> None:
    tms = get_tile_matrix_set(tms_id)
    for z in (tms.minzoom, tms.minzoom + 3, tms.maxzoom):
        matrix = tms.matrix(z)
        check_tile_index(tms, z, 0, 0)
        check_tile_index(tms, z, matrix.matrixWidth - 1, matrix.matrixHeight - 1)


@pytest.mark.parametrize(
    ("z", "x", "y", "parameter"),
    [
        (-1, 0, 0, "z"),
        (24 + EXTRA_ZOOM_LEVELS + 1, 0, 0, "z"),
        (10**6, 0, 0, "z"),
        (2, 4, 0, "x"),
        (2, -1, 0, "x"),
        (2, 0, 4, "y"),
        (2, 0, -1, "y"),
        (0, 1, 0, "x"),
    ],
)
def test_check_tile_index_refuses(z: int, x: int, y: int, parameter: str) -> None:
    with raises_naming(parameter):
        check_tile_index(morecantile.tms.get("WebMercatorQuad"), z, x, y)


def test_check_tile_index_allows_a_few_extrapolated_levels() -> None:
    tms = morecantile.tms.get("WebMercatorQuad")
    check_tile_index(tms, tms.maxzoom + EXTRA_ZOOM_LEVELS, 0, 0)


def test_check_tile_index_of_a_grid_not_starting_at_zero() -> None:
    tms = morecantile.tms.get("UTM31WGS84Quad")
    with raises_naming("z"):
        check_tile_index(tms, 0, 0, 0)
    check_tile_index(tms, tms.minzoom, 0, 0)


def test_check_output_size() -> None:
    settings = ApiSettings(max_output_width=100, max_output_height=50, max_output_pixels=2000)
    check_output_size(settings, 100, 20, None)
    check_output_size(settings, None, None, 100)
    with pytest.raises(OutputTooLarge, match="width"):
        check_output_size(settings, 101, 1)
    with pytest.raises(OutputTooLarge, match="height"):
        check_output_size(settings, 1, 51)
    with pytest.raises(OutputTooLarge, match="max_size"):
        check_output_size(settings, None, None, 101)
    with pytest.raises(OutputTooLarge, match="pixels"):
        check_output_size(settings, 100, 21)


def test_default_part_size() -> None:
    assert default_part_size(ApiSettings(max_output_width=300, max_output_height=200)) == 200
