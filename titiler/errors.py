"""Exceptions of the tile server and the one table that maps every exception to an HTTP status."""

import logging
import re
from collections.abc import Mapping
from typing import Any

import morecantile.errors
import rasterio.errors
import rio_tiler.errors
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rasterio._err import CPLE_BaseError, CPLE_NotSupportedError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("titiler")


class TilerError(Exception):
    """Base class of the errors this server raises itself."""


class BadParameter(TilerError):
    """A query or path parameter has a value the server cannot use."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        super().__init__(f"Invalid value for '{parameter}': {reason}")


class SourceRefused(TilerError):
    """The source policy refuses to open this `url`."""

    def __init__(self, rule: str, reason: str) -> None:
        self.rule = rule
        super().__init__(f"Source refused ({rule}): {reason}")


class SourceNotFound(TilerError):
    """The source does not exist or cannot be reached."""


class SourceUnreadable(TilerError):
    """The source exists but its content cannot be decoded."""


class SourceUnavailable(TilerError):
    """The remote source is down, too slow or answers with a server error (a bad gateway)."""


class OutputTooLarge(TilerError):
    """The requested image is larger than the server's output limits."""


class ResponseTooLarge(TilerError):
    """The encoded response would not fit in a Lambda response."""


class RequestTooLarge(TilerError):
    """The request body is larger than the server accepts."""


#: Exception class -> HTTP status. The most specific class listed wins (see `status_for`).
STATUS_CODES: Mapping[type[Exception], int] = {
    BadParameter: 400,
    SourceRefused: 403,
    SourceNotFound: 404,
    SourceUnreadable: 422,
    SourceUnavailable: 502,
    OutputTooLarge: 400,
    ResponseTooLarge: 400,
    RequestTooLarge: 413,
    rio_tiler.errors.TileOutsideBounds: 404,
    rio_tiler.errors.PointOutsideBounds: 404,
    rio_tiler.errors.EmptyMosaicError: 404,
    rio_tiler.errors.InvalidBandName: 400,
    rio_tiler.errors.MissingBands: 400,
    rio_tiler.errors.InvalidExpression: 400,
    rio_tiler.errors.InvalidFormat: 400,
    rio_tiler.errors.InvalidColorFormat: 400,
    rio_tiler.errors.InvalidColorMapName: 400,
    rio_tiler.errors.InvalidBufferSize: 400,
    rio_tiler.errors.InvalidDatatypeWarning: 400,
    rio_tiler.errors.RioTilerError: 400,
    morecantile.errors.InvalidZoomError: 400,
    morecantile.errors.TileArgParsingError: 400,
    morecantile.errors.PointOutsideTMSBounds: 404,
    morecantile.errors.MorecantileError: 400,
    rasterio.errors.CRSError: 400,
    # GDAL/PROJ failures raised outside a rasterio error class, e.g. "Cannot find coordinate
    # operations" for a Mars dataset asked in a web mercator grid: the request cannot be served.
    CPLE_NotSupportedError: 400,
    CPLE_BaseError: 422,
    rasterio.errors.WindowError: 400,
    rasterio.errors.RasterioIOError: 422,
    rasterio.errors.RasterioError: 422,
    # Client numbers too large for the arithmetic they feed (a GeoJSON coordinate of 1e305).
    OverflowError: 400,
    ValueError: 400,
}

# Absolute paths (server file names) and GDAL's internal prefixes never go back to a client.
_PATH_PATTERN = re.compile(r"(?<![\w:/])/(?:[\w.\-]+/)*[\w.\-]*")
# PROJ quotes whole PROJJSON documents in its messages; a client needs only the gist.
_JSON_BLOB_PATTERN = re.compile(r"'\{.*?\}'(?=\s|$|[.,;)])")
_MAX_DETAIL = 300


def status_for(exc: BaseException) -> int:
    """The status code for an exception: the entry of its nearest class in `STATUS_CODES`."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


def public_detail(exc: BaseException) -> str:
    """A short message for the client: no traceback, no server path, no long GDAL dump."""
    if isinstance(exc, TilerError) and not isinstance(exc, SourceNotFound | SourceUnreadable):
        return str(exc)
    text = " ".join(str(exc).split())
    if "see previous exception" in text.lower() and exc.__cause__ is not None:
        # rasterio's "Read failed. See previous exception for details." says nothing by itself.
        text = "The source could not be read: " + " ".join(str(exc.__cause__).split())
    if isinstance(exc, OverflowError):
        text = f"A number in the request is out of range ({text})."
    text = _JSON_BLOB_PATTERN.sub("<crs>", text)
    text = _PATH_PATTERN.sub("<path>", text)
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 3] + "..."
    return text or type(exc).__name__


async def _tiler_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if status >= 500 and not isinstance(exc, TilerError):
        logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"detail": "Internal server error."}, status_code=500)
    return JSONResponse({"detail": public_detail(exc)}, status_code=status)


async def _http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through `STATUS_CODES` into a JSON `{"detail": ...}` response."""
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    for exc_class in STATUS_CODES:
        app.add_exception_handler(exc_class, _tiler_exception_handler)
    # The catch-all runs in Starlette's outermost middleware: a bug still answers JSON, not a trace.
    app.add_exception_handler(Exception, _tiler_exception_handler)
    _document_string_details(app)


def _document_string_details(app: FastAPI) -> None:
    """FastAPI documents every 422 as a list of validation errors, but an unreadable source is a
    422 with a string `detail`: the OpenAPI `detail` of a 422 says it can be either.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError", {})
        detail = error.get("properties", {}).get("detail")
        if detail is not None and "anyOf" not in detail:
            error["properties"]["detail"] = {
                "anyOf": [{k: v for k, v in detail.items() if k != "title"}, {"type": "string"}],
                "title": detail.get("title", "Detail"),
            }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
