"""Health check with the versions a bug report needs."""

from typing import Any

import rasterio
from fastapi import APIRouter

from titiler import __version__
from titiler.concurrency import in_worker_thread
from titiler.responses import JSONResponse

router = APIRouter(tags=["Health Check"], default_response_class=JSONResponse)


@router.get("/healthz", response_class=JSONResponse, summary="Health check.")
@in_worker_thread
def health() -> Any:
    """Versions of the server and of the libraries that read the data."""
    return {
        "versions": {
            "titiler": __version__,
            "rasterio": rasterio.__version__,
            "gdal": rasterio.__gdal_version__,
            "proj": rasterio.__proj_version__,
            "geos": rasterio.__geos_version__,
        }
    }
