"""Catalogues that need no dataset: tile matrix sets and colormaps."""

from typing import Annotated, Any, Literal

import morecantile
import numpy
from fastapi import APIRouter, Path, Query, Request
from rio_tiler.colormap import cmap as colormaps
from rio_tiler.models import ImageData
from starlette.responses import Response

from titiler.concurrency import in_worker_thread
from titiler.dependencies import ColorMapName
from titiler.errors import BadParameter
from titiler.rendering import ImageFormat
from titiler.responses import JSONResponse
from titiler.routers.common import TileMatrixSetId, load_tile_matrix_set

router = APIRouter(default_response_class=JSONResponse)

FormatQuery = Annotated[
    str | None, Query(description="Response format: json, or an image format for a colormap.")
]


def _json_only(f: str | None) -> None:
    if f not in (None, "json"):
        raise BadParameter("f", "only 'json' is available")


@router.get("/tileMatrixSets", response_class=JSONResponse, tags=["Tiling Schemes"])
@in_worker_thread
def tile_matrix_sets(request: Request, f: FormatQuery = None) -> Any:
    """Retrieve the list of available tiling schemes (tile matrix sets)."""
    _json_only(f)
    return {
        "tileMatrixSets": [
            {
                "id": tms_id,
                "links": [
                    {
                        "href": str(request.url_for("tile_matrix_set", tileMatrixSetId=tms_id)),
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                        "type": "application/json",
                        "title": f"Definition of {tms_id} tileMatrixSet",
                    }
                ],
            }
            for tms_id in morecantile.tms.list()
        ]
    }


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    response_class=JSONResponse,
    name="tile_matrix_set",
    tags=["Tiling Schemes"],
)
@in_worker_thread
def tile_matrix_set(
    tileMatrixSetId: Annotated[TileMatrixSetId, Path(description="Tile matrix set identifier.")],
    f: FormatQuery = None,
) -> Any:
    """Retrieve the definition of the specified tiling scheme (tile matrix set)."""
    _json_only(f)
    tms = load_tile_matrix_set(tileMatrixSetId)
    return tms.model_dump(exclude_none=True, mode="json")


@router.get("/colorMaps", response_class=JSONResponse, tags=["ColorMaps"])
@in_worker_thread
def colormap_list(request: Request, f: FormatQuery = None) -> Any:
    """Retrieve the list of available colormaps."""
    _json_only(f)
    return {
        "colormaps": [
            {
                "id": name,
                "links": [
                    {
                        "href": str(request.url_for("colormap", colorMapId=name)),
                        "rel": "item",
                        "type": "application/json",
                        "title": f"Definition of {name} ColorMap",
                    }
                ],
            }
            for name in colormaps.list()
        ]
    }


def legend_image(
    colormap: Any,
    orientation: Literal["vertical", "horizontal"],
    width: int | None,
    height: int | None,
) -> ImageData:
    """A strip of every colormap entry (256 steps for a continuous map), for legends."""
    if isinstance(colormap, list | tuple):
        values = [low for ((low, _high), _color) in colormap]
    elif len(colormap) == 256 and min(colormap) >= 0 and max(colormap) < 256:
        values = list(range(256))
    else:
        values = list(colormap)
    strip = numpy.array([values] * 20)
    if orientation == "vertical":
        strip = strip.T
    image = ImageData(strip[numpy.newaxis, ...] if strip.ndim == 2 else strip)
    out_width = width or (image.width if orientation == "vertical" else max(256, len(values)))
    out_height = height or (max(256, len(values)) if orientation == "vertical" else image.height)
    if (out_width, out_height) != (image.width, image.height):
        image = image.resize(out_height, out_width)
    return image


@router.get(
    "/colorMaps/{colorMapId}",
    response_class=JSONResponse,
    name="colormap",
    tags=["ColorMaps"],
    responses={200: {"content": {"application/json": {}, "image/png": {}}}},
)
@in_worker_thread
def colormap(
    colorMapId: Annotated[ColorMapName, Path(description="Colormap name.")],
    f: FormatQuery = None,
    orientation: Annotated[
        Literal["vertical", "horizontal"] | None,
        Query(description="Legend orientation (horizontal)."),
    ] = None,
    width: Annotated[int | None, Query(gt=0, le=4096, description="Legend width.")] = None,
    height: Annotated[int | None, Query(gt=0, le=4096, description="Legend height.")] = None,
) -> Any:
    """Retrieve a colormap as JSON (`{value: [r, g, b, a]}`) or as a legend image (`f=png`)."""
    cmap: Any = colormaps.get(colorMapId)
    if f in (None, "json"):
        if isinstance(cmap, list | tuple):
            return [[list(interval), list(color)] for interval, color in cmap]
        return {str(key): list(map(int, color)) for key, color in cmap.items()}
    try:
        image_format = ImageFormat(f)
    except ValueError as exc:
        raise BadParameter("f", "expected json or an image format (png, jpeg, ...)") from exc
    image = legend_image(cmap, orientation or "horizontal", width, height)
    content = image.render(img_format=image_format.driver, colormap=cmap)
    return Response(content, media_type=image_format.media_type)
