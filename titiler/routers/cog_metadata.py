"""`/cog` metadata endpoints: info, statistics, point values and COG validation."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from geojson_pydantic import Feature, FeatureCollection
from geojson_pydantic.geometries import MultiPolygon, Polygon
from pydantic import BaseModel
from rasterio.crs import CRS
from rio_cogeo.cogeo import cog_info
from rio_cogeo.models import Info as CogInfo
from rio_tiler.constants import WGS84_CRS
from rio_tiler.models import BandStatistics, Info
from rio_tiler.types import BBox

from titiler.concurrency import in_worker_thread
from titiler.dependencies import (
    Bands,
    DatasetOptions,
    PartSize,
    PreviewSize,
    StatisticsOptions,
    parse_crs,
)
from titiler.reader import check_indexes, open_source
from titiler.responses import GeoJSONResponse, JSONResponse
from titiler.routers.common import Policy, Settings, SourceUrl, check_output_size, default_part_size

router = APIRouter(
    prefix="/cog", tags=["Cloud Optimized GeoTIFF"], default_response_class=JSONResponse
)

CrsQuery = Annotated[str | None, Query(description="Coordinate Reference System.")]
CoordCrsQuery = Annotated[
    str | None,
    Query(description="Coordinate Reference System of the input coords. Default to `epsg:4326`."),
]
DstCrsQuery = Annotated[str | None, Query(description="Output Coordinate Reference System.")]


class Point(BaseModel):
    """Values of every band at one coordinate."""

    coordinates: list[float]
    values: list[float | None]
    band_names: list[str]
    band_descriptions: list[str] | None = None


def bounds_to_geometry(bounds: BBox) -> Polygon | MultiPolygon:
    """A polygon for the bounds, or two when they cross the antimeridian (minx > maxx)."""
    minx, miny, maxx, maxy = bounds
    if minx > maxx:
        west = Polygon.from_bounds(-180, miny, maxx, maxy)
        east = Polygon.from_bounds(minx, miny, 180, maxy)
        return MultiPolygon(type="MultiPolygon", coordinates=[west.coordinates, east.coordinates])
    return Polygon.from_bounds(minx, miny, maxx, maxy)


@router.get(
    "/info",
    response_model=Info,
    response_model_exclude_none=True,
    response_class=JSONResponse,
    summary="Return dataset's basic info.",
)
@in_worker_thread
def info(url: SourceUrl, policy: Policy) -> Any:
    """Return dataset's basic info."""
    with open_source(url, policy) as src:
        return src.info()


@router.get(
    "/info.geojson",
    response_model=Feature[Polygon | MultiPolygon, Info],
    response_model_exclude_none=True,
    response_class=GeoJSONResponse,
    summary="Return dataset's basic info as a GeoJSON feature.",
)
@in_worker_thread
def info_geojson(url: SourceUrl, policy: Policy, crs: CrsQuery = None) -> Any:
    """Return dataset's basic info as a GeoJSON feature."""
    geographic_crs = parse_crs(crs, "crs") or WGS84_CRS
    with open_source(url, policy) as src:
        bounds = src.get_geographic_bounds(geographic_crs)
        return {
            "type": "Feature",
            "bbox": bounds,
            "geometry": bounds_to_geometry(bounds),
            "properties": src.info(),
        }


@router.get(
    "/statistics",
    response_model=dict[str, BandStatistics],
    response_class=JSONResponse,
    summary="Return dataset's statistics.",
)
@in_worker_thread
def statistics(
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    bands: Bands,
    dataset: DatasetOptions,
    size: PreviewSize,
    stats: StatisticsOptions,
) -> Any:
    """Get dataset statistics, computed on a preview (`max_size` 1024 by default)."""
    check_output_size(settings, size.width, size.height, size.max_size)
    options = stats.statistics_options()
    with open_source(url, policy) as src:
        check_indexes(src, bands.indexes, bands.expression)
        image = src.preview(**bands.as_dict(), **size.read_options(), **dataset.as_dict())
    return image.statistics(**options)


@router.post(
    "/statistics",
    response_model=Feature | FeatureCollection,
    response_model_exclude_none=True,
    response_class=GeoJSONResponse,
    summary="Return dataset's statistics from a Feature or FeatureCollection.",
)
@in_worker_thread
def geojson_statistics(
    geojson: Annotated[
        FeatureCollection | Feature, Body(description="GeoJSON Feature or FeatureCollection.")
    ],
    url: SourceUrl,
    policy: Policy,
    settings: Settings,
    bands: Bands,
    dataset: DatasetOptions,
    size: PartSize,
    stats: StatisticsOptions,
    coord_crs: CoordCrsQuery = None,
    dst_crs: DstCrsQuery = None,
    cover_scale: Annotated[
        int | None,
        Query(gt=0, le=1000, description="Oversampling used to estimate pixel coverage (10)."),
    ] = None,
) -> Any:
    """Statistics of the pixels under each feature, weighted by how much of a pixel it covers."""
    shape_crs = parse_crs(coord_crs, "coord_crs") or WGS84_CRS
    output_crs = parse_crs(dst_crs, "dst_crs")
    check_output_size(settings, size.width, size.height, size.max_size)
    read_size = size.read_options()
    if read_size["max_size"] is None and not (size.width or size.height):
        read_size["max_size"] = default_part_size(settings)
    options = stats.statistics_options()
    collection = (
        geojson
        if isinstance(geojson, FeatureCollection)
        else FeatureCollection(type="FeatureCollection", features=[geojson])
    )
    with open_source(url, policy) as src:
        check_indexes(src, bands.indexes, bands.expression)
        for feature in collection.features:
            shape = feature.model_dump(exclude_none=True)
            image = src.feature(
                shape,
                shape_crs=shape_crs,
                dst_crs=output_crs,
                align_bounds_with_dataset=True,
                **bands.as_dict(),
                **read_size,
                **dataset.as_dict(),
            )
            coverage = image.get_coverage_array(
                shape, shape_crs=shape_crs, cover_scale=cover_scale or 10
            )
            result = image.statistics(**options, coverage=coverage)
            feature.properties = {**(feature.properties or {}), "statistics": result}
    return collection.features[0] if isinstance(geojson, Feature) else collection


@router.get(
    "/point/{lon},{lat}",
    response_model=Point,
    response_class=JSONResponse,
    summary="Return a value for a point.",
)
@in_worker_thread
def point(
    lon: Annotated[float, Path(description="Longitude (or X in coord_crs).")],
    lat: Annotated[float, Path(description="Latitude (or Y in coord_crs).")],
    url: SourceUrl,
    policy: Policy,
    bands: Bands,
    dataset: DatasetOptions,
    coord_crs: CoordCrsQuery = None,
) -> Any:
    """Get the values of a dataset at one coordinate."""
    crs: CRS = parse_crs(coord_crs, "coord_crs") or WGS84_CRS
    with open_source(url, policy) as src:
        check_indexes(src, bands.indexes, bands.expression)
        values = src.point(lon, lat, coord_crs=crs, **bands.as_dict(), **dataset.as_dict())
    return {
        "coordinates": [lon, lat],
        "values": values.array.tolist(),
        "band_names": values.band_names,
        "band_descriptions": values.band_descriptions,
    }


@router.get(
    "/validate",
    response_model=CogInfo,
    response_class=JSONResponse,
    summary="Validate a Cloud Optimized GeoTIFF.",
)
@in_worker_thread
def validate(
    url: SourceUrl,
    policy: Policy,
    strict: Annotated[bool, Query(description="Treat warnings as errors.")] = False,
) -> Any:
    """Is the source a valid COG? With the reasons when it is not."""
    with open_source(url, policy) as src:
        report = cog_info(str(src.input), strict=strict)
    # Echo the client's url, not the resolved server path.
    return report.model_copy(update={"Path": url})
