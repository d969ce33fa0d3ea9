"""Dependencies shared by the routers: the source `url`, the policy, tile matrix sets, limits."""

import functools
from typing import Annotated, Any, Literal

import morecantile
from fastapi import Depends, Path, Query, Request
from morecantile import TileMatrixSet

from titiler.concurrency import on_event_loop
from titiler.errors import BadParameter, OutputTooLarge
from titiler.settings import ApiSettings
from titiler.sources import SourcePolicy

TileMatrixSetId: Any = Literal[tuple(morecantile.tms.list())]

#: How far past a matrix set's last defined level tiles may be asked (morecantile extrapolates).
EXTRA_ZOOM_LEVELS = 6


async def get_app_settings(request: Request) -> ApiSettings:
    """The settings the app was built with (tests build apps with their own)."""
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_source_policy(request: Request) -> SourcePolicy:
    """The source policy the app was built with."""
    policy: SourcePolicy = request.app.state.source_policy
    return policy


SourceUrl = Annotated[str, Query(description="Dataset URL (a path, https:// or s3:// URL).")]
Policy = Annotated[SourcePolicy, Depends(get_source_policy)]
Settings = Annotated[ApiSettings, Depends(get_app_settings)]


def get_tile_matrix_set(
    tileMatrixSetId: Annotated[
        TileMatrixSetId,
        Path(description="Identifier selecting one of the TileMatrixSetId supported."),
    ],
) -> TileMatrixSet:
    """The tile matrix set named in the path."""
    return load_tile_matrix_set(tileMatrixSetId)


@functools.cache
def load_tile_matrix_set(identifier: str) -> TileMatrixSet:
    """One instance per identifier for the process's life.

    morecantile hands out a fresh copy on every `get` (0.2 ms, its transformers rebuilt); nothing
    here modifies a tile matrix set, and pyproj's transformers are thread-safe since 3.1.
    """
    return morecantile.tms.get(identifier)


TMS = Annotated[TileMatrixSet, Depends(on_event_loop(get_tile_matrix_set))]


def check_tile_index(tms: TileMatrixSet, z: int, x: int, y: int) -> None:
    """z within the matrix set's levels and x/y within that level's matrix, else a 400."""
    highest = tms.maxzoom + EXTRA_ZOOM_LEVELS
    if not tms.minzoom <= z <= highest:
        raise BadParameter("z", f"must be between {tms.minzoom} and {highest} for {tms.id}")
    matrix = tms.matrix(z)
    if not 0 <= x < matrix.matrixWidth:
        raise BadParameter("x", f"must be between 0 and {matrix.matrixWidth - 1} at zoom {z}")
    if not 0 <= y < matrix.matrixHeight:
        raise BadParameter("y", f"must be between 0 and {matrix.matrixHeight - 1} at zoom {z}")


def check_output_size(
    settings: ApiSettings,
    width: int | None,
    height: int | None,
    max_size: int | None = None,
) -> None:
    """Refuse outputs larger than the configured limits before any pixel is read."""
    longest = max(settings.max_output_width, settings.max_output_height)
    if max_size is not None and max_size > longest:
        raise OutputTooLarge(f"max_size must be at most {longest}; ask for a smaller image.")
    if width is not None and width > settings.max_output_width:
        raise OutputTooLarge(
            f"width must be at most {settings.max_output_width}; ask for a smaller image."
        )
    if height is not None and height > settings.max_output_height:
        raise OutputTooLarge(
            f"height must be at most {settings.max_output_height}; ask for a smaller image."
        )
    if width and height and width * height > settings.max_output_pixels:
        raise OutputTooLarge(
            f"width x height must be at most {settings.max_output_pixels} pixels; "
            "ask for a smaller image."
        )


def default_part_size(settings: ApiSettings) -> int:
    """The longest side a bbox/feature image gets when the client sets no size at all."""
    return min(settings.max_output_width, settings.max_output_height)
