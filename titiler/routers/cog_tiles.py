"""`/cog` tile endpoints: OGC tilesets, tiles, TileJSON and WMTS capabilities."""

import functools
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import morecantile
from fastapi import APIRouter, Path, Query, Request
from morecantile import TileMatrixSet
from rio_tiler.constants import WGS84_CRS
from rio_tiler.types import BBox
from rio_tiler.utils import CRS_to_uri
from starlette.responses import Response
from starlette.routing import NoMatchFound

from titiler.concurrency import in_worker_thread
from titiler.dependencies import (
    BandParams,
    Bands,
    DatasetOptions,
    DatasetParams,
    Rendering,
    RenderParams,
    TileOptions,
    TileParams,
    parse_crs,
)
from titiler.reader import check_indexes, open_source
from titiler.rendering import ImageFormat, image_response
from titiler.responses import JSONResponse, XMLResponse
from titiler.routers.common import TMS, Policy, SourceUrl, check_tile_index, load_tile_matrix_set

if TYPE_CHECKING:
    import jinja2

router = APIRouter(
    prefix="/cog", tags=["Cloud Optimized GeoTIFF"], default_response_class=JSONResponse
)


@functools.cache
def _wmts_template() -> "jinja2.Template":
    """The WMTS capabilities template, loaded on first use (Jinja2 stays out of cold starts)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("titiler", "templates"),
        autoescape=jinja2.select_autoescape(["xml", "html"]),
    )
    return environment.get_template("wmts.xml")


ZoomQuery = Annotated[
    int | None, Query(ge=0, le=30, description="Overwrite default zoom level (0 to 30).")
]
TileSizeQuery = Annotated[int | None, Query(gt=0, le=4096, description="Tilesize in pixels.")]


def query_without(request: Request, *names: str) -> list[tuple[str, str]]:
    """The request's query parameters in order, without `names` (case-insensitive)."""
    drop = {name.lower() for name in names}
    return [(k, v) for k, v in request.query_params.multi_items() if k.lower() not in drop]


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def tile_template_url(request: Request, tms_id: str, extension: str | None = None) -> str:
    """`.../tiles/{tms}/{z}/{x}/{y}[.ext]` with the braces kept literal for clients."""
    if extension:
        url = str(
            request.url_for(
                "tile_with_format",
                tileMatrixSetId=tms_id,
                z="{z}",
                x="{x}",
                y="{y}",
                format=extension,
            )
        )
    else:
        url = str(request.url_for("tile", tileMatrixSetId=tms_id, z="{z}", x="{x}", y="{y}"))
    return url.replace("%7B", "{").replace("%7D", "}")


#: Degrees the bounds are pulled in by, so a tile that only touches the data's edge is not listed.
_EDGE = 1e-9


def matrix_limits(
    tms: TileMatrixSet, bounds: BBox, minzoom: int, maxzoom: int, geographic_crs: Any = None
) -> list[dict[str, Any]]:
    """Per zoom level, the range of tile rows and columns that cover `bounds`."""
    limits = []
    for zoom in range(max(minzoom, tms.minzoom), maxzoom + 1):
        matrix = tms.matrix(zoom)
        west, south, east, north = bounds
        upper_left = tms.tile(west + _EDGE, north - _EDGE, zoom, geographic_crs=geographic_crs)
        lower_right = tms.tile(east - _EDGE, south + _EDGE, zoom, geographic_crs=geographic_crs)
        limits.append(
            {
                "tileMatrix": matrix.id,
                "minTileRow": max(min(upper_left.y, lower_right.y), 0),
                "maxTileRow": min(max(upper_left.y, lower_right.y), matrix.matrixHeight - 1),
                "minTileCol": max(min(upper_left.x, lower_right.x), 0),
                "maxTileCol": min(max(upper_left.x, lower_right.x), matrix.matrixWidth - 1),
            }
        )
    return limits


def _bounding_box(bounds: BBox, crs: Any) -> dict[str, Any]:
    return {
        "lowerLeft": [bounds[0], bounds[1]],
        "upperRight": [bounds[2], bounds[3]],
        "crs": CRS_to_uri(crs),
    }


@router.get(
    "/tiles",
    response_class=JSONResponse,
    summary="Retrieve a list of available raster tilesets for the specified dataset.",
)
@in_worker_thread
def tileset_list(
    request: Request,
    url: SourceUrl,
    policy: Policy,
    crs: Annotated[str | None, Query(description="CRS of the bounding box.")] = None,
    f: Annotated[str | None, Query(description="Response format (json).", pattern="^json$")] = None,
) -> Any:
    """One tileset per tile matrix set this server supports."""
    bbox_crs = parse_crs(crs, "crs") or WGS84_CRS
    with open_source(url, policy) as src:
        bounds = src.get_geographic_bounds(bbox_crs)
    query = query_without(request, "crs")
    tilesets = []
    for tms_id in morecantile.tms.list():
        tms = load_tile_matrix_set(tms_id)
        tilesets.append(
            {
                "title": f"tileset tiled using {tms_id} TileMatrixSet",
                "dataType": "map",
                "crs": tms.crs.srs,
                "boundingBox": _bounding_box(bounds, bbox_crs),
                "accessConstraints": "unclassified",
                "links": [
                    {
                        "href": with_query(
                            str(request.url_for("tileset", tileMatrixSetId=tms_id)), query
                        ),
                        "rel": "self",
                        "type": "application/json",
                        "title": f"Tileset tiled using {tms_id} TileMatrixSet",
                    },
                    {
                        "href": with_query(tile_template_url(request, tms_id), query),
                        "rel": "tile",
                        "title": "Templated link for retrieving Raster tiles",
                    },
                    {
                        "href": str(request.url_for("tile_matrix_set", tileMatrixSetId=tms_id)),
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                        "type": "application/json",
                        "title": f"Definition of '{tms_id}' tileMatrixSet",
                    },
                ],
            }
        )
    return {"tilesets": tilesets}


@router.get(
    "/tiles/{tileMatrixSetId}",
    response_class=JSONResponse,
    summary="Retrieve the raster tileset metadata for the dataset and tile matrix set.",
)
@in_worker_thread
def tileset(
    request: Request,
    tms: TMS,
    url: SourceUrl,
    policy: Policy,
    minzoom: ZoomQuery = None,
    maxzoom: ZoomQuery = None,
    f: Annotated[str | None, Query(description="Response format (json).", pattern="^json$")] = None,
) -> Any:
    """The tileset: bounds, tile URL template and the tile limits of each zoom level."""
    with open_source(url, policy, tms) as src:
        geographic_crs = tms.rasterio_geographic_crs
        bounds = src.get_geographic_bounds(geographic_crs)
        low = minzoom if minzoom is not None else src.minzoom
        high = maxzoom if maxzoom is not None else src.maxzoom
        limits = matrix_limits(tms, bounds, low, high)
    query = list(request.query_params.multi_items())
    tms_id = str(tms.id)
    return {
        "title": f"tileset tiled using {tms_id} TileMatrixSet",
        "dataType": "map",
        "crs": tms.crs.srs,
        "links": [
            {
                "href": str(request.url_for("tileset", tileMatrixSetId=tms_id)),
                "rel": "self",
                "type": "application/json",
                "title": f"Tileset tiled using {tms_id} TileMatrixSet",
            },
            {
                "href": with_query(tile_template_url(request, tms_id), query),
                "rel": "tile",
                "templated": True,
                "title": "Templated link for retrieving Raster tiles",
            },
            {
                "href": str(request.url_for("tile_matrix_set", tileMatrixSetId=tms_id)),
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
                "title": f"Definition of '{tms_id}' tileMatrixSet",
            },
            *_viewer_links(request, tms_id, query),
        ],
        "tileMatrixSetLimits": limits,
        "boundingBox": _bounding_box(bounds, geographic_crs),
        "accessConstraints": "unclassified",
    }


def _viewer_links(
    request: Request, tms_id: str, query: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The map viewer link, when the app serves the viewer."""
    try:
        viewer = str(request.url_for("map_viewer", tileMatrixSetId=tms_id))
    except NoMatchFound:
        return []
    return [
        {
            "href": with_query(viewer, query),
            "rel": "data",
            "type": "text/html",
            "title": f"Map viewer for '{tms_id}' tileMatrixSet",
        }
    ]


def _tile(
    z: int,
    x: int,
    y: int,
    tms: TileMatrixSet,
    output_format: ImageFormat | None,
    url: str,
    policy: Any,
    tilesize: int | None,
    tile_options: TileParams,
    bands: BandParams,
    dataset: DatasetParams,
    render: RenderParams,
) -> Response:
    check_tile_index(tms, z, x, y)
    with open_source(url, policy, tms) as src:
        check_indexes(src, bands.indexes, bands.expression)
        image = src.tile(
            x,
            y,
            z,
            tilesize=tilesize,
            **tile_options.as_dict(),
            **bands.as_dict(),
            **dataset.as_dict(),
        )
        dataset_colormap = src.colormap
    return image_response(image, output_format, render, dataset_colormap)


ZPath = Annotated[int, Path(description="Zoom level (tile matrix identifier).")]
XPath = Annotated[int, Path(description="Column (X) index of the tile on the tile matrix.")]
YPath = Annotated[int, Path(description="Row (Y) index of the tile on the tile matrix.")]
_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "image/png": {},
            "image/jpeg": {},
            "image/jpg": {},
            "image/webp": {},
            "image/jp2": {},
            "image/tiff; application=geotiff": {},
            "application/x-binary": {},
        },
        "description": "Return an image.",
    }
}


@router.get(
    "/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    name="tile_with_format",
    summary="Create a map tile in the given format.",
)
@in_worker_thread
def tile_with_format(
    z: ZPath,
    x: XPath,
    y: YPath,
    tms: TMS,
    format: Annotated[ImageFormat, Path(description="Output image format.")],
    url: SourceUrl,
    policy: Policy,
    tile_options: TileOptions,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    tilesize: TileSizeQuery = None,
) -> Response:
    """Create a map tile from a dataset, in the format of the extension."""
    return _tile(z, x, y, tms, format, url, policy, tilesize, tile_options, bands, dataset, render)


@router.get(
    "/tiles/{tileMatrixSetId}/{z}/{x}/{y}",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    name="tile",
    summary="Create a map tile (PNG when any pixel is masked, JPEG otherwise).",
)
@in_worker_thread
def tile(
    z: ZPath,
    x: XPath,
    y: YPath,
    tms: TMS,
    url: SourceUrl,
    policy: Policy,
    tile_options: TileOptions,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    tilesize: TileSizeQuery = None,
    format: Annotated[ImageFormat | None, Query(description="Output image format.")] = None,
) -> Response:
    """Create a map tile from a dataset."""
    return _tile(z, x, y, tms, format, url, policy, tilesize, tile_options, bands, dataset, render)


@router.get(
    "/{tileMatrixSetId}/tilejson.json",
    response_class=JSONResponse,
    summary="Return a TileJSON document for the dataset.",
)
@in_worker_thread
def tilejson(
    request: Request,
    tms: TMS,
    url: SourceUrl,
    policy: Policy,
    tile_options: TileOptions,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    tilesize: TileSizeQuery = 512,
    tile_format: Annotated[
        ImageFormat | None, Query(description="Output image format of the tiles.")
    ] = None,
    minzoom: ZoomQuery = None,
    maxzoom: ZoomQuery = None,
) -> Any:
    """TileJSON 3.0.0: the tile URL carries every rendering parameter of this request."""
    tms_id = str(tms.id)
    template = tile_template_url(request, tms_id, tile_format.value if tile_format else None)
    query = query_without(request, "tileMatrixSetId", "tile_format", "minzoom", "maxzoom")
    if "tilesize" not in request.query_params:
        query.append(("tilesize", str(tilesize)))
    with open_source(url, policy, tms) as src:
        bounds = src.get_geographic_bounds(tms.rasterio_geographic_crs)
        low = minzoom if minzoom is not None else src.minzoom
        high = maxzoom if maxzoom is not None else src.maxzoom
        info = src.info()
    center_x = (bounds[0] + bounds[2]) / 2
    if bounds[0] > bounds[2]:  # across the antimeridian
        center_x = ((bounds[0] + bounds[2] + 360) / 2 + 180) % 360 - 180
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [with_query(template, query)],
        "minzoom": low,
        "maxzoom": high,
        "bounds": list(bounds),
        "center": [center_x, (bounds[1] + bounds[3]) / 2, low],
        "raster_layers": {},
        "band_descriptions": [list(item) for item in info.band_descriptions],
        "data_type": info.dtype,
    }
    # Datasets carrying STATISTICS_* tags expose their value range, as TiTiler does.
    minmax = getattr(info, "minmax", None)
    if minmax is not None:
        body["minmax"] = minmax
    return body


@router.get(
    "/WMTSCapabilities.xml",
    response_class=XMLResponse,
    summary="OGC WMTS (RESTful) capabilities document.",
)
@in_worker_thread
def wmts(
    request: Request,
    url: SourceUrl,
    policy: Policy,
    tile_options: TileOptions,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    tile_format: Annotated[ImageFormat, Query(description="Output image type (png).")] = (
        ImageFormat.png
    ),
    use_epsg: Annotated[
        bool, Query(description="Write `EPSG:code` as SupportedCRS (for ArcMap).")
    ] = False,
) -> Response:
    """One layer per tile matrix set; QGIS and ArcGIS read this to add the dataset."""
    query = query_without(
        request,
        "tile_format",
        "use_epsg",
        "tilesize",
        "zooms",
        "service",
        "request",
        "acceptversions",
        "sections",
        "updatesequence",
        "acceptformats",
    )
    query_string = urlencode(query)
    layers = []
    matrix_sets = []
    with open_source(url, policy) as src:
        bounds = src.get_geographic_bounds(WGS84_CRS)
        for tms_id in morecantile.tms.list():
            tms = load_tile_matrix_set(tms_id)
            try:
                with open_source(url, policy, tms) as tiled:
                    zooms = (tiled.minzoom, tiled.maxzoom)
            except Exception:  # a dataset outside a regional grid still lists the grid
                zooms = (tms.minzoom, tms.maxzoom)
            template = tile_template_url(request, tms_id, tile_format.value)
            template = template.replace("{z}", "{TileMatrix}")
            template = template.replace("{x}", "{TileCol}").replace("{y}", "{TileRow}")
            layers.append(
                {
                    "identifier": f"{url}_{tms_id}_default",
                    "tms_id": tms_id,
                    "bbox": bounds,
                    "limits": matrix_limits(tms, bounds, *zooms, geographic_crs=WGS84_CRS),
                    "template": f"{template}?{query_string}" if query_string else template,
                }
            )
            crs = f"EPSG:{tms.crs.to_epsg()}" if use_epsg else str(tms.crs.srs)
            matrix_sets.append({"id": tms_id, "crs": crs, "matrices": tms.tileMatrices})
    content = _wmts_template().render(
        title=request.app.title,
        self_url=str(request.url),
        layers=layers,
        matrix_sets=matrix_sets,
        media_type=tile_format.media_type,
    )
    return XMLResponse(content)
