"""Opening sources: the source policy first, then rasterio with an allow-list of drivers."""

import math
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy
import rasterio
import rasterio.features
from morecantile import TileMatrixSet
from rasterio.errors import RasterioIOError
from rio_tiler.io import Reader

from titiler.errors import BadParameter, SourceNotFound, SourceUnavailable, SourceUnreadable
from titiler.gdal import forget_remote_file
from titiler.sources import SourcePolicy, check_signature, follow_redirects

#: The one GDAL driver allowed to open a source. VRT, GTI, WMS and the like would let a source pull
#: in other files or URLs behind the policy's back, so only GeoTIFF (and so COG) is opened.
ALLOWED_DRIVER = "GTiff"

_NOT_FOUND_HINTS = ("no such file", "does not exist", "http response code: 404", "http 404")
_UNAVAILABLE_HINTS = (
    "timed out",
    "couldn't connect",
    "could not connect",
    "connection refused",
    "connection reset",
    "couldn't resolve",
    "http response code: 5",
)


def classify_open_error(exc: RasterioIOError) -> Exception:
    """A missing source is a 404, one down or too slow a 502; anything else is unreadable (422)."""
    message = str(exc).lower()
    if any(hint in message for hint in _UNAVAILABLE_HINTS):
        return SourceUnavailable("The source did not answer in time or could not be reached.")
    if any(hint in message for hint in _NOT_FOUND_HINTS):
        return SourceNotFound("The source does not exist or could not be reached.")
    if "not recognized" in message or "not a supported" in message:
        return SourceUnreadable("The source is not a GeoTIFF this server can read.")
    return SourceUnreadable(f"The source could not be opened: {exc}")


@contextmanager
def open_source(
    url: str, policy: SourcePolicy, tms: TileMatrixSet | None = None
) -> Iterator[Reader]:
    """Check `url` against `policy`, open it, and yield a rio-tiler `Reader`."""
    path = policy.check(url)
    if path.lower().startswith(("http://", "https://")):
        path = follow_redirects(path, policy)
    elif not path.lower().startswith("s3://"):
        check_signature(_first_bytes(path))
    with ExitStack() as stack:
        try:
            dataset = stack.enter_context(rasterio.open(path, driver=ALLOWED_DRIVER))
        except RasterioIOError as exc:
            forget_remote_file(path)
            raise classify_open_error(exc) from None
        if dataset.crs is None and not dataset.gcps[0]:
            raise SourceUnreadable("The source has no georeferencing (no CRS and no GCPs).")
        reader = _Reader(path, dataset=dataset, tms=tms) if tms else _Reader(path, dataset=dataset)
        yield stack.enter_context(reader)


class _Reader(Reader):
    """rio-tiler's Reader, refusing a `nodata` the dataset's data type cannot hold: numpy would
    raise a TypeError deep in its masked arrays (-1 or nan for uint16 was a 500).
    """

    def read(self, *args: Any, **kwargs: Any) -> Any:
        _check_nodata(self, kwargs.get("nodata"))
        return super().read(*args, **kwargs)

    def part(self, *args: Any, **kwargs: Any) -> Any:
        _check_nodata(self, kwargs.get("nodata"))
        return super().part(*args, **kwargs)

    def point(self, *args: Any, **kwargs: Any) -> Any:
        _check_nodata(self, kwargs.get("nodata"))
        return super().point(*args, **kwargs)

    def feature(self, shape: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        # A point or a straight axis-aligned line has no area: rio-tiler divided by zero (500).
        # Statistics align the bounds to the pixel grid first, so they still read its pixels.
        if not kwargs.get("align_bounds_with_dataset"):
            try:
                minx, miny, maxx, maxy = rasterio.features.bounds(shape)
            except (IndexError, KeyError, TypeError, ValueError):
                raise BadParameter("geojson", "the geometry has no coordinates") from None
            if minx == maxx or miny == maxy:
                raise BadParameter("geojson", "the feature has no area to draw (a point or line)")
        return super().feature(shape, *args, **kwargs)


def _check_nodata(reader: Reader, nodata: float | None) -> None:
    if nodata is None or reader.dataset is None:
        return
    dtype = numpy.dtype(reader.dataset.dtypes[0])
    if dtype.kind in "iu":
        limits = numpy.iinfo(dtype)
        if not math.isfinite(nodata) or not limits.min <= nodata <= limits.max:
            raise BadParameter(
                "nodata", f"{nodata} is not a {dtype} value ({limits.min} to {limits.max})"
            )


def _first_bytes(path: str) -> bytes:
    """The first bytes of a local file, read before GDAL is allowed anywhere near it."""
    if not os.path.exists(path):
        raise SourceNotFound("The source does not exist or could not be reached.")
    if not os.path.isfile(path):  # a directory, a FIFO that would block, a device
        raise SourceUnreadable("The source is not a regular file.")
    try:
        with open(path, "rb") as file:
            return file.read(4)
    except OSError:
        raise SourceUnreadable("The source is not a file this server can read.") from None


def check_indexes(reader: Reader, indexes: list[int] | None, expression: str | None = None) -> None:
    """Band indexes beyond the dataset's band count are a client error, not a GDAL crash."""
    count = reader.dataset.count if reader.dataset is not None else 0
    if indexes and max(indexes) > count:
        raise BadParameter("bidx", f"the dataset has {count} band(s)")
    named = [int(index) for index in re.findall(r"\bb(\d+)\b", expression or "")]
    if named and not 1 <= min(named) <= max(named) <= count:
        raise BadParameter("expression", f"the dataset has {count} band(s) (b1 to b{count})")
