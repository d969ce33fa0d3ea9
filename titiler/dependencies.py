"""Query parameters, grouped into small dataclasses that document themselves in OpenAPI.

Each dataclass validates and converts its raw strings once, so routers receive ready values.
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from color_operations import parse_operations
from fastapi import Depends, Query
from rasterio.crs import CRS
from rasterio.errors import CRSError
from rio_tiler.colormap import cmap, parse_color
from rio_tiler.types import ColorMapType, RIOResampling, WarpResampling

from titiler.concurrency import on_event_loop
from titiler.errors import BadParameter

ColorMapName: Any = Literal[tuple(sorted(cmap.list()))]

_MAX_EXPRESSION_LENGTH = 1000
_FLOAT32_MAX = 3.4028234663852886e38
# Band math is evaluated by numexpr, which has no attribute access or calls beyond its own math
# functions; this whitelist also keeps quotes, brackets and dunder names out before it runs.
_EXPRESSION_CHARACTERS = re.compile(r"^[\w\s.+\-*/%<>=!&|~^(),;:?]+$")
_EXPRESSION_BANNED = re.compile(r"__|\blambda\b|\bimport\b")


def parse_crs(value: str | None, parameter: str) -> CRS | None:
    """`EPSG:4326`, a URI or WKT into a rasterio CRS; a 400 naming `parameter` otherwise."""
    if value is None:
        return None
    try:
        return CRS.from_user_input(value)
    except (CRSError, ValueError, TypeError) as exc:
        raise BadParameter(parameter, f"'{value[:80]}' is not a known coordinate system") from exc


def parse_rescale(
    values: list[str] | None, parameter: str = "rescale"
) -> list[tuple[float, float]] | None:
    """`["0,255", "10,20"]` (one entry per band, or one for all) into (min, max) pairs."""
    if not values:
        return None
    ranges = []
    for value in values:
        parts = value.strip().strip("[]").split(",")
        try:
            numbers = tuple(float(part) for part in parts)
        except ValueError as exc:
            raise BadParameter(parameter, f"'{value}' is not of the form 'min,max'") from exc
        if len(numbers) != 2 or not all(math.isfinite(n) for n in numbers):
            raise BadParameter(parameter, f"'{value}' is not of the form 'min,max'")
        ranges.append((numbers[0], numbers[1]))
    return ranges


def parse_colormap(value: str | None) -> ColorMapType | None:
    """A JSON colormap: `{"1": "#ff0000", ...}` or intervals `[[[min, max], color], ...]`."""
    if not value:
        return None
    try:
        raw = json.loads(value)
        if isinstance(raw, dict):
            return {int(key): parse_color(color) for key, color in raw.items()}
        if isinstance(raw, list):
            return [((float(a), float(b)), parse_color(color)) for (a, b), color in raw]
    except (ValueError, TypeError, KeyError) as exc:
        raise BadParameter("colormap", "could not parse the colormap value") from exc
    except Exception as exc:  # rio-tiler raises its own error for bad colours
        raise BadParameter("colormap", f"could not parse the colormap value: {exc}") from exc
    raise BadParameter("colormap", "expected a JSON object or a list of intervals")


def validate_expression(expression: str | None) -> str | None:
    """Reject band math that is not plain arithmetic on `b1`, `b2`, ... before it is evaluated."""
    if expression is None:
        return None
    if not expression.strip():
        raise BadParameter("expression", "the expression is empty")
    if len(expression) > _MAX_EXPRESSION_LENGTH:
        raise BadParameter("expression", f"longer than {_MAX_EXPRESSION_LENGTH} characters")
    if not _EXPRESSION_CHARACTERS.match(expression) or _EXPRESSION_BANNED.search(expression):
        raise BadParameter("expression", "only arithmetic on band names (b1, b2, ...) is allowed")
    if not re.search(r"\bb\d+\b", expression):
        raise BadParameter("expression", "the expression names no band (b1, b2, ...)")
    return expression


def validate_color_formula(formula: str | None) -> str | None:
    """Check a rio-color formula parses before any data is read."""
    if formula is None:
        return None
    try:
        list(parse_operations(formula))
    except Exception as exc:
        raise BadParameter("color_formula", f"'{formula[:80]}' is not a valid formula") from exc
    return formula


@dataclass
class Options:
    """Base of parameter groups: `as_dict()` gives the keyword arguments set by the client."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class BandParams(Options):
    """Which bands to read: indexes or a band math expression."""

    indexes: Annotated[
        list[int] | None,
        Query(alias="bidx", title="Band indexes", description="Dataset band indexes (1-based)."),
    ] = None
    expression: Annotated[
        str | None,
        Query(
            title="Band Math expression",
            description="Band math on b1, b2, ...; several outputs separated by `;` (b1/b2;b2+b3).",
        ),
    ] = None

    def __post_init__(self) -> None:
        self.expression = validate_expression(self.expression)
        if self.indexes is not None:
            if any(index < 1 for index in self.indexes):
                raise BadParameter("bidx", "band indexes start at 1")
            if len(self.indexes) > 256:
                raise BadParameter("bidx", "at most 256 bands")


@dataclass
class DatasetParams(Options):
    """How to read the data: nodata override, scale/offset and resampling."""

    nodata: Annotated[
        str | None,
        Query(
            title="Nodata value",
            description="Overwrite internal Nodata value; `nan`, `inf`, `-inf` or a number.",
        ),
    ] = None
    unscale: Annotated[
        bool | None,
        Query(title="Apply internal Scale/Offset", description="Apply internal scale/offset."),
    ] = None
    resampling_method: Annotated[
        RIOResampling | None,
        Query(alias="resampling", description="RasterIO resampling algorithm (`nearest`)."),
    ] = None
    reproject_method: Annotated[
        WarpResampling | None,
        Query(alias="reproject", description="Warp resampling algorithm used when reprojecting."),
    ] = None

    def as_dict(self) -> dict[str, Any]:
        values = super().as_dict()
        if self.nodata is not None:
            try:
                values["nodata"] = float(self.nodata)
            except ValueError as exc:
                raise BadParameter("nodata", "expected a number, nan, inf or -inf") from exc
        return values


@dataclass
class RenderParams(Options):
    """How to turn values into colours."""

    rescale: Annotated[
        list[str] | None,
        Query(
            title="Min/Max data rescaling",
            description="Comma delimited `min,max` range; repeat the parameter for each band.",
            examples=["0,2000"],
        ),
    ] = None
    color_formula: Annotated[
        str | None,
        Query(title="Color Formula", description="rio-color formula (e.g. `gamma RGB 1.5`)."),
    ] = None
    add_mask: Annotated[
        bool | None,
        Query(alias="return_mask", description="Add the mask to the output image (`true`)."),
    ] = None
    colormap_name: Annotated[
        ColorMapName | None, Query(description="Name of a colormap (see /colorMaps).")
    ] = None
    colormap: Annotated[
        str | None,
        Query(description='JSON encoded custom colormap (`{"1": "#ff0000"}` or intervals).'),
    ] = None
    parsed_rescale: list[tuple[float, float]] | None = field(default=None, init=False)
    parsed_colormap: ColorMapType | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.parsed_rescale = parse_rescale(self.rescale)
        self.color_formula = validate_color_formula(self.color_formula)
        if self.colormap_name:
            self.parsed_colormap = cmap.get(self.colormap_name)
        elif self.colormap:
            self.parsed_colormap = parse_colormap(self.colormap)


@dataclass
class TileParams(Options):
    """Tile reading options."""

    buffer: Annotated[
        float | None,
        Query(gt=0, le=512, description="Buffer on each side of the tile, in pixels."),
    ] = None
    padding: Annotated[
        int | None,
        Query(ge=0, le=512, description="Padding applied to each tile edge (for resampling)."),
    ] = None


@dataclass
class PreviewSizeParams(Options):
    """Output size of a preview: the longest side (`max_size`) or an exact width/height."""

    max_size: Annotated[
        int | None, Query(gt=0, description="Maximum image size to read onto (1024).")
    ] = 1024
    height: Annotated[int | None, Query(gt=0, description="Force output image height.")] = None
    width: Annotated[int | None, Query(gt=0, description="Force output image width.")] = None

    def read_options(self) -> dict[str, Any]:
        """Keyword arguments for rio-tiler: an explicit size switches `max_size` off."""
        if self.width or self.height:
            return {"max_size": None, "width": self.width, "height": self.height}
        return {"max_size": self.max_size, "width": None, "height": None}


@dataclass
class PartSizeParams(PreviewSizeParams):
    """Output size of a bbox or feature image (no limit on `max_size` by default)."""

    max_size: Annotated[int | None, Query(gt=0, description="Maximum image size to read onto.")] = (
        None
    )


@dataclass
class StatisticsParams(Options):
    """Which statistics to compute."""

    categorical: Annotated[
        bool | None, Query(description="Return statistics for categorical dataset (`false`).")
    ] = None
    categories: Annotated[
        list[float] | None,
        Query(alias="c", title="Pixels values for categories.", description="Values to count."),
    ] = None
    percentiles: Annotated[
        list[int] | None,
        Query(alias="p", title="Percentile values", description="Percentiles (default 2, 98)."),
    ] = None
    histogram_bins: Annotated[
        str | None,
        Query(
            description="Number of equal-width bins (10), or comma delimited bin edges.",
            pattern=r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?)*$",
        ),
    ] = None
    histogram_range: Annotated[
        str | None,
        Query(description="Comma delimited `min,max` range of the histogram."),
    ] = None

    def statistics_options(self) -> dict[str, Any]:
        """Keyword arguments for `ImageData.statistics`."""
        percentiles = self.percentiles or [2, 98]
        if any(p < 0 or p > 100 for p in percentiles):
            raise BadParameter("p", "percentiles must be between 0 and 100")
        options: dict[str, Any] = {"percentiles": percentiles}
        if self.categorical is not None:
            options["categorical"] = self.categorical
        if self.categories is not None:
            # Counted in float32: a larger value becomes inf, and inf is no JSON number.
            if not all(math.isfinite(c) and abs(c) <= _FLOAT32_MAX for c in self.categories):
                raise BadParameter("c", "categories must be finite numbers within float32 range")
            options["categories"] = self.categories
        options["hist_options"] = self._histogram_options()
        return options

    def _histogram_options(self) -> dict[str, Any]:
        bins: int | list[float] = 10
        if self.histogram_bins:
            edges = self.histogram_bins.split(",")
            if len(edges) == 1:
                if not edges[0].isdigit():
                    raise BadParameter("histogram_bins", "a bin count is a positive integer")
                bins = int(edges[0])
                if not 1 <= bins <= 10_000:
                    raise BadParameter("histogram_bins", "between 1 and 10000 bins")
            else:
                bins = [float(edge) for edge in edges]
                if bins != sorted(bins):
                    raise BadParameter("histogram_bins", "bin edges must increase")
        options: dict[str, Any] = {"bins": bins}
        if self.histogram_range:
            parsed = parse_rescale([self.histogram_range], "histogram_range")
            assert parsed is not None
            low, high = parsed[0]
            if low > high:
                raise BadParameter("histogram_range", "min must not exceed max")
            options["range"] = [low, high]
        return options


# Parameter groups as FastAPI dependencies, parsed on the event loop (no worker-thread hop).
Bands = Annotated[BandParams, Depends(on_event_loop(BandParams))]
DatasetOptions = Annotated[DatasetParams, Depends(on_event_loop(DatasetParams))]
TileOptions = Annotated[TileParams, Depends(on_event_loop(TileParams))]
Rendering = Annotated[RenderParams, Depends(on_event_loop(RenderParams))]
PreviewSize = Annotated[PreviewSizeParams, Depends(on_event_loop(PreviewSizeParams))]
PartSize = Annotated[PartSizeParams, Depends(on_event_loop(PartSizeParams))]
StatisticsOptions = Annotated[StatisticsParams, Depends(on_event_loop(StatisticsParams))]
