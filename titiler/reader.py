"""Opening sources: the source policy first, then rasterio with an allow-list of drivers."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import rasterio
from morecantile import TileMatrixSet
from rasterio.errors import RasterioIOError
from rio_tiler.io import Reader

from titiler.errors import BadParameter, SourceNotFound, SourceUnreadable
from titiler.sources import SourcePolicy

#: The one GDAL driver allowed to open a source. VRT, GTI, WMS and the like would let a source pull
#: in other files or URLs behind the policy's back, so only GeoTIFF (and so COG) is opened.
ALLOWED_DRIVER = "GTiff"

_NOT_FOUND_HINTS = ("no such file", "does not exist", "http response code: 404", "http 404")


def classify_open_error(exc: RasterioIOError) -> Exception:
    """A missing source is a 404; anything else that fails to open is unreadable (422)."""
    message = str(exc).lower()
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
    with ExitStack() as stack:
        try:
            dataset = stack.enter_context(rasterio.open(path, driver=ALLOWED_DRIVER))
        except RasterioIOError as exc:
            raise classify_open_error(exc) from None
        reader = Reader(path, dataset=dataset, tms=tms) if tms else Reader(path, dataset=dataset)
        yield stack.enter_context(reader)


def check_indexes(reader: Reader, indexes: list[int] | None) -> None:
    """Band indexes beyond the dataset's band count are a client error, not a GDAL crash."""
    count = reader.dataset.count if reader.dataset is not None else 0
    if indexes and max(indexes) > count:
        raise BadParameter("bidx", f"the dataset has {count} band(s)")
