"""`/cog` image endpoints: preview, bounding box and GeoJSON feature images."""

import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from geojson_pydantic import Feature
from rio_tiler.constants import WGS84_CRS
from starlette.responses import Response

from titiler.concurrency import in_worker_thread
from titiler.dependencies import (
    BandParams,
    Bands,
    DatasetOptions,
    DatasetParams,
    PartSize,
    PreviewSize,
    Rendering,
    RenderParams,
    parse_crs,
)
from titiler.errors import BadParameter
from titiler.reader import check_indexes, open_source
from titiler.rendering import ImageFormat, image_response
from titiler.responses import JSONResponse
from titiler.routers.cog_tiles import _IMAGE_RESPONSES
from titiler.routers.common import Policy, Settings, SourceUrl, check_output_size, default_part_size

router = APIRouter(
    prefix="/cog", tags=["Cloud Optimized GeoTIFF"], default_response_class=JSONResponse
)

FormatQuery = Annotated[ImageFormat | None, Query(description="Output image format.")]
FormatPath = Annotated[ImageFormat, Path(description="Output image format.")]
WidthPath = Annotated[int, Path(gt=0, description="Output image width.")]
HeightPath = Annotated[int, Path(gt=0, description="Output image height.")]
CoordCrsQuery = Annotated[
    str | None,
    Query(description="Coordinate Reference System of the input coords. Default to `epsg:4326`."),
]
DstCrsQuery = Annotated[str | None, Query(description="Output Coordinate Reference System.")]
MinX = Annotated[float, Path(description="Bounding box min X")]
MinY = Annotated[float, Path(description="Bounding box min Y")]
MaxX = Annotated[float, Path(description="Bounding box max X")]
MaxY = Annotated[float, Path(description="Bounding box max Y")]


def _preview(
    output_format: ImageFormat | None,
    url: str,
    policy: Policy,
    settings: Settings,
    read_size: dict[str, Any],
    dst_crs: str | None,
    bands: BandParams,
    dataset: DatasetParams,
    render: RenderParams,
) -> Response:
    check_output_size(settings, read_size["width"], read_size["height"], read_size["max_size"])
    output_crs = parse_crs(dst_crs, "dst_crs")
    with open_source(url, policy) as src:
        check_indexes(src, bands.indexes, bands.expression)
        image = src.preview(**bands.as_dict(), **read_size, **dataset.as_dict(), dst_crs=output_crs)
        dataset_colormap = src.colormap
    return image_response(image, output_format, render, dataset_colormap)


@router.get("/preview", responses=_IMAGE_RESPONSES, response_class=Response)
@in_worker_thread
def preview(
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    size: PreviewSize,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    format: FormatQuery = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create a preview of a dataset (at most `max_size` pixels on its longest side)."""
    return _preview(
        format, url, policy, settings, size.read_options(), dst_crs, bands, dataset, render
    )


@router.get("/preview.{format}", responses=_IMAGE_RESPONSES, response_class=Response)
@in_worker_thread
def preview_with_format(
    format: FormatPath,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    size: PreviewSize,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create a preview of a dataset in the format of the extension."""
    return _preview(
        format, url, policy, settings, size.read_options(), dst_crs, bands, dataset, render
    )


@router.get(
    "/preview/{width}x{height}.{format}", responses=_IMAGE_RESPONSES, response_class=Response
)
@in_worker_thread
def preview_with_size(
    width: WidthPath,
    height: HeightPath,
    format: FormatPath,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    max_size: Annotated[int | None, Query(gt=0, description="Ignored with a size.")] = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create a preview of a dataset with an exact size."""
    read_size = {"max_size": None, "width": width, "height": height}
    return _preview(format, url, policy, settings, read_size, dst_crs, bands, dataset, render)


def _part(
    bbox: tuple[float, float, float, float],
    output_format: ImageFormat | None,
    url: str,
    policy: Policy,
    settings: Settings,
    read_size: dict[str, Any],
    coord_crs: str | None,
    dst_crs: str | None,
    bands: BandParams,
    dataset: DatasetParams,
    render: RenderParams,
) -> Response:
    check_output_size(settings, read_size["width"], read_size["height"], read_size["max_size"])
    if not all(math.isfinite(value) for value in bbox) or bbox[0] == bbox[2] or bbox[1] == bbox[3]:
        raise BadParameter("bbox", "the bounds must be finite numbers enclosing an area")
    if read_size["max_size"] is None and not (read_size["width"] or read_size["height"]):
        read_size = {**read_size, "max_size": default_part_size(settings)}
    bounds_crs = parse_crs(coord_crs, "coord_crs") or WGS84_CRS
    output_crs = parse_crs(dst_crs, "dst_crs")
    with open_source(url, policy) as src:
        check_indexes(src, bands.indexes, bands.expression)
        image = src.part(
            bbox,
            dst_crs=output_crs,
            bounds_crs=bounds_crs,
            **bands.as_dict(),
            **read_size,
            **dataset.as_dict(),
        )
        dataset_colormap = src.colormap
    return image_response(image, output_format, render, dataset_colormap)


@router.get(
    "/bbox/{minx},{miny},{maxx},{maxy}.{format}",
    responses=_IMAGE_RESPONSES,
    response_class=Response,
)
@in_worker_thread
def bbox_image(
    minx: MinX,
    miny: MinY,
    maxx: MaxX,
    maxy: MaxY,
    format: FormatPath,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    size: PartSize,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    coord_crs: CoordCrsQuery = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create an image of a bounding box."""
    return _part(
        (minx, miny, maxx, maxy),
        format,
        url,
        policy,
        settings,
        size.read_options(),
        coord_crs,
        dst_crs,
        bands,
        dataset,
        render,
    )


@router.get(
    "/bbox/{minx},{miny},{maxx},{maxy}/{width}x{height}.{format}",
    responses=_IMAGE_RESPONSES,
    response_class=Response,
)
@in_worker_thread
def bbox_image_with_size(
    minx: MinX,
    miny: MinY,
    maxx: MaxX,
    maxy: MaxY,
    width: WidthPath,
    height: HeightPath,
    format: FormatPath,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    max_size: Annotated[int | None, Query(gt=0, description="Ignored with a size.")] = None,
    coord_crs: CoordCrsQuery = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create an image of a bounding box with an exact size."""
    return _part(
        (minx, miny, maxx, maxy),
        format,
        url,
        policy,
        settings,
        {"max_size": None, "width": width, "height": height},
        coord_crs,
        dst_crs,
        bands,
        dataset,
        render,
    )


def _feature(
    geojson: Feature,
    output_format: ImageFormat | None,
    url: str,
    policy: Policy,
    settings: Settings,
    read_size: dict[str, Any],
    coord_crs: str | None,
    dst_crs: str | None,
    bands: BandParams,
    dataset: DatasetParams,
    render: RenderParams,
) -> Response:
    check_output_size(settings, read_size["width"], read_size["height"], read_size["max_size"])
    if read_size["max_size"] is None and not (read_size["width"] or read_size["height"]):
        read_size = {**read_size, "max_size": default_part_size(settings)}
    shape_crs = parse_crs(coord_crs, "coord_crs") or WGS84_CRS
    output_crs = parse_crs(dst_crs, "dst_crs")
    with open_source(url, policy) as src:
        check_indexes(src, bands.indexes, bands.expression)
        image = src.feature(
            geojson.model_dump(exclude_none=True),
            shape_crs=shape_crs,
            dst_crs=output_crs,
            **bands.as_dict(),
            **read_size,
            **dataset.as_dict(),
        )
        dataset_colormap = src.colormap
    return image_response(image, output_format, render, dataset_colormap)


GeoJSONBody = Annotated[Feature, Body(description="GeoJSON Feature.")]


@router.post("/feature", responses=_IMAGE_RESPONSES, response_class=Response)
@in_worker_thread
def feature_image(
    geojson: GeoJSONBody,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    size: PartSize,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    format: FormatQuery = None,
    coord_crs: CoordCrsQuery = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create an image of the area of a GeoJSON feature (pixels outside it are masked)."""
    return _feature(
        geojson,
        format,
        url,
        policy,
        settings,
        size.read_options(),
        coord_crs,
        dst_crs,
        bands,
        dataset,
        render,
    )


@router.post("/feature.{format}", responses=_IMAGE_RESPONSES, response_class=Response)
@in_worker_thread
def feature_image_with_format(
    geojson: GeoJSONBody,
    format: FormatPath,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    size: PartSize,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    coord_crs: CoordCrsQuery = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create an image of a GeoJSON feature in the format of the extension."""
    return _feature(
        geojson,
        format,
        url,
        policy,
        settings,
        size.read_options(),
        coord_crs,
        dst_crs,
        bands,
        dataset,
        render,
    )


@router.post(
    "/feature/{width}x{height}.{format}", responses=_IMAGE_RESPONSES, response_class=Response
)
@in_worker_thread
def feature_image_with_size(
    geojson: GeoJSONBody,
    width: WidthPath,
    height: HeightPath,
    format: FormatPath,
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    bands: Bands,
    dataset: DatasetOptions,
    render: Rendering,
    max_size: Annotated[int | None, Query(gt=0, description="Ignored with a size.")] = None,
    coord_crs: CoordCrsQuery = None,
    dst_crs: DstCrsQuery = None,
) -> Response:
    """Create an image of a GeoJSON feature with an exact size."""
    return _feature(
        geojson,
        format,
        url,
        policy,
        settings,
        {"max_size": None, "width": width, "height": height},
        coord_crs,
        dst_crs,
        bands,
        dataset,
        render,
    )
